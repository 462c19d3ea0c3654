//! `rtvc compare` end to end on a short synthetic clip: every encoder of the issue is there,
//! quality grows with rate, delays are what the encoders promise, BD-rates are computed against
//! libx264 and ffmpeg's libaom, the plot is written.

use std::process::Command;

use serde_json::Value;

#[test]
fn compares_every_encoder_on_the_same_frames() {
    if !rtvc_testkit::shared::require_tool("compare", "ffmpeg") {
        return;
    }
    let plot = std::env::temp_dir().join(format!("rtvc-compare-{}.svg", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_rtvc"))
        .args([
            "compare",
            "--clip",
            "synthetic:320x180",
            "--resolution",
            "320x180",
        ])
        .args([
            "--bitrates",
            "150k,300k,600k,1200k",
            "--frames",
            "30",
            "--json",
            "--plot",
        ])
        .arg(&plot)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let encoders = r["encoders"].as_array().expect("encoders");
    let names: Vec<&str> = encoders
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "rtvc-av1-libaom",
            "rtvc-av1-rav1e",
            "rtvc-h264-openh264",
            "ffmpeg-libx264",
            "ffmpeg-libaom",
            "ffmpeg-libsvtav1"
        ]
    );
    for e in encoders {
        let points = e["points"].as_array().expect("points");
        if e["unavailable"].is_string() {
            assert!(points.is_empty(), "{e}");
            continue;
        }
        assert_eq!(points.len(), 4, "{e}");
        let psnr: Vec<f64> = points
            .iter()
            .map(|p| p["psnr_y"].as_f64().expect("psnr"))
            .collect();
        for w in psnr.windows(2) {
            assert!(w[1] > w[0] - 0.1, "quality grows with rate: {e}");
        }
        for p in points {
            let ssim = p["ssim"].as_f64().expect("ssim");
            assert!(ssim > 0.5 && ssim <= 1.0, "{p}");
            assert!(p["frames_out"].as_u64().expect("count") <= 30, "{p}");
            assert!(p["fps"].as_f64().expect("fps") > 0.0);
        }
        // rtvc's libaom and openh264 are zero-delay; rav1e holds a few frames.
        let name = e["name"].as_str().expect("name");
        if name == "rtvc-av1-libaom" || name == "rtvc-h264-openh264" {
            assert_eq!(e["frame_delay"], 0, "{e}");
        }
    }
    let x264 = encoders
        .iter()
        .find(|e| e["name"] == "ffmpeg-libx264")
        .expect("x264");
    assert_eq!(x264["bd_rate_vs_x264"].as_f64(), Some(0.0));
    let aom = encoders
        .iter()
        .find(|e| e["name"] == "ffmpeg-libaom")
        .expect("libaom");
    assert_eq!(aom["bd_rate_vs_ffmpeg_libaom"].as_f64(), Some(0.0));
    // On this clip every curve overlaps both anchors' quality range: all BD-rates exist.
    for e in encoders.iter().filter(|e| !e["unavailable"].is_string()) {
        assert!(e["bd_rate_vs_x264"].is_number(), "{e}");
        assert!(e["bd_rate_vs_ffmpeg_libaom"].is_number(), "{e}");
    }
    // A against B and B against A are reciprocal rate ratios.
    let ab = 1.0 + x264["bd_rate_vs_ffmpeg_libaom"].as_f64().expect("bd") / 100.0;
    let ba = 1.0 + aom["bd_rate_vs_x264"].as_f64().expect("bd") / 100.0;
    assert!((ab * ba - 1.0).abs() < 2e-3, "{ab} × {ba}");
    let svg = std::fs::read_to_string(&plot).expect("plot written");
    let _ = std::fs::remove_file(&plot);
    assert!(svg.contains("<svg") && svg.contains("rtvc-av1-libaom"));
}
