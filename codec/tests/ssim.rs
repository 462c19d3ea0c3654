//! Our luma SSIM against ffmpeg's `ssim` filter on the same frames (a scene and a damaged copy
//! of it, written as Y4M), at a size that is not a multiple of 8; and its basic properties.

use std::process::Command;

use rtvc_codec::container::y4m::Y4mWriter;
use rtvc_codec::frame::Frame;
use rtvc_codec::quality::frame_ssim_y;
use rtvc_codec::synthetic::SyntheticScene;

/// A damaged copy: ripple noise everywhere and a flattened band.
fn damaged(f: &Frame, n: u64) -> Frame {
    let mut d = f.clone();
    let (w, h, stride) = (d.width() as usize, d.height() as usize, d.y_stride());
    let (y, _, _) = d.planes_mut();
    for r in 0..h {
        for c in 0..w {
            let p = &mut y[r * stride + c];
            let noise = ((c * 7 + r * 13 + n as usize * 5) % 11) as i32 - 5;
            let v = if (h / 3..h / 2).contains(&r) {
                128
            } else {
                i32::from(*p) + noise
            };
            *p = v.clamp(0, 255) as u8;
        }
    }
    d
}

#[test]
fn properties() {
    let scene = SyntheticScene::new(64, 48, 30.0).expect("scene");
    let f = scene.frame(3);
    assert_eq!(frame_ssim_y(&f, &f).expect("same size"), Some(1.0));
    let s = frame_ssim_y(&f, &damaged(&f, 3))
        .expect("same size")
        .expect("windows");
    assert!(s > 0.0 && s < 0.99, "{s}");
    let small = SyntheticScene::new(6, 6, 30.0).expect("scene").frame(0);
    assert_eq!(frame_ssim_y(&small, &small).expect("same size"), None);
    let other = SyntheticScene::new(64, 32, 30.0).expect("scene").frame(0);
    assert!(frame_ssim_y(&f, &other).is_err());
}

#[test]
fn matches_ffmpeg() {
    if !rtvc_testkit::shared::require_tool("ssim::matches_ffmpeg", "ffmpeg") {
        return;
    }
    let (w, h) = (322, 182);
    let scene = SyntheticScene::new(w, h, 30.0).expect("scene");
    let dir = std::env::temp_dir();
    let a = dir.join(format!("rtvc-ssim-a-{}.y4m", std::process::id()));
    let b = dir.join(format!("rtvc-ssim-b-{}.y4m", std::process::id()));
    let mut wa =
        Y4mWriter::new(std::fs::File::create(&a).expect("file"), w, h, 30, 1).expect("y4m");
    let mut wb =
        Y4mWriter::new(std::fs::File::create(&b).expect("file"), w, h, 30, 1).expect("y4m");
    let mut ours = Vec::new();
    for n in 0..10 {
        let f = scene.frame(n);
        let d = damaged(&f, n);
        ours.push(frame_ssim_y(&f, &d).expect("same size").expect("windows"));
        wa.write_frame(&f).expect("written");
        wb.write_frame(&d).expect("written");
    }
    wa.finish().expect("written");
    wb.finish().expect("written");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(&b)
        .arg("-i")
        .arg(&a)
        .args(["-lavfi", "ssim", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
    let log = String::from_utf8_lossy(&out.stderr);
    let theirs: f64 = log
        .lines()
        .find_map(|l| l.split_once("SSIM Y:").map(|(_, r)| r))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no SSIM line from ffmpeg:\n{log}"));
    let mean = ours.iter().sum::<f64>() / ours.len() as f64;
    eprintln!("SSIM-Y: ours {mean:.6}, ffmpeg {theirs:.6}");
    assert!(
        (mean - theirs).abs() < 1e-5,
        "ours {mean} vs ffmpeg {theirs}"
    );
}
