//! `rtvc bench` end to end: every profile's modes are measured on real encodes and decodes, the
//! decision is the policy's, the headroom follows from the measured CPU and the declared speed,
//! and bad arguments are clear errors.

use std::process::Command;

use serde_json::Value;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rtvc"))
        .arg("bench")
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn measures_every_mode_of_a_profile() {
    let out = bench(&[
        "--profile",
        "android-low-end",
        "--clip",
        "synthetic:640x360",
        "--frames",
        "20",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["frames"], 20);
    let profiles = r["profiles"].as_array().expect("profiles");
    assert_eq!(profiles.len(), 1);
    let p = &profiles[0];
    assert_eq!(p["name"], "android-low-end");
    let speed = p["relative_speed"].as_f64().expect("speed");
    assert!(speed > 0.05 && speed < 1.0, "a low-end phone: {speed}");
    let modes = p["modes"].as_array().expect("modes");
    assert_eq!(modes.len(), 3);
    for m in modes {
        let name = m["mode"].as_str().expect("mode");
        assert!(["av1", "h264"].contains(&m["codec"].as_str().expect("codec")));
        assert!(["hardware", "software"].contains(&m["path"].as_str().expect("path")));
        assert!(m["encode_ms_p50"].as_f64().expect("p50") > 0.0, "{name}");
        assert!(
            m["encode_ms_p99"].as_f64() >= m["encode_ms_p50"].as_f64(),
            "{name}"
        );
        assert!(m["decode_ms_p50"].as_f64().expect("decode") > 0.0, "{name}");
        assert!(m["reason"].as_str().is_some_and(|s| !s.is_empty()));
        // The budget: 2 cores × 50 % × the frame interval.
        let fps = m["fps"].as_f64().expect("fps");
        let budget = m["budget_ms_per_interval"].as_f64().expect("budget");
        assert!(
            (budget - 1000.0 / fps).abs() < 0.02,
            "{name}: {budget} at {fps} fps"
        );
        let sw = m["software"].as_array().expect("software");
        assert_eq!(sw.len(), 2, "{name}: both codecs in software");
        for s in sw {
            let cpu = s["encode_cpu_ms"].as_f64().expect("cpu")
                + m["remote_streams"].as_f64().expect("streams")
                    * s["decode_cpu_ms"].as_f64().expect("cpu");
            let h = s["headroom_estimate"].as_f64().expect("headroom");
            if cpu > 0.0 {
                // Headroom = budget / (CPU here / speed), to the report's rounding.
                let want = budget / (cpu / speed);
                assert!(
                    (h - want).abs() <= 0.01 + want * 0.01,
                    "{name}: {h} vs {want}"
                );
            }
            if let Some(heap) = s["encoder_heap_mib"].as_f64() {
                assert!(heap > 0.5, "{name}: an encoder takes memory ({heap} MiB)");
            }
        }
    }
    // On this phone the policy keeps 720p in hardware H.264 (its cores are too slow for AV1
    // 720p in software), and the low-bandwidth mode is 180p at 15 fps.
    assert_eq!(modes[0]["codec"], "h264");
    assert_eq!(modes[0]["path"], "hardware");
    assert_eq!(modes[2]["height"], 180);
    assert_eq!(modes[2]["fps"], 15.0);
}

#[test]
fn the_table_and_markdown_name_every_profile() {
    let out = bench(&[
        "--clip",
        "synthetic:320x180",
        "--frames",
        "10",
        "--markdown",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "iphone-flagship",
        "iphone-5yo",
        "android-low-end",
        "laptop",
        "this-machine",
    ] {
        assert_eq!(
            text.matches(name).count(),
            3,
            "{name}: one row per mode\n{text}"
        );
    }
    assert_eq!(text.lines().filter(|l| l.starts_with("| ")).count(), 16);
}

#[test]
fn bad_arguments_are_clear_errors() {
    for (args, want) in [
        (&["--profile", "no-such-phone"][..], "no profile"),
        (
            &["--profile", "/nonexistent/x.toml"][..],
            "/nonexistent/x.toml",
        ),
        (
            &["--host-score", "5", "--clip", "synthetic:320x180"][..],
            "--host-score",
        ),
        (
            &["--frames", "3", "--clip", "synthetic:320x180"][..],
            "--frames",
        ),
    ] {
        let out = bench(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn a_profile_file_of_ones_own() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/profiles/laptop.toml"),
    )
    .expect("shipped profile");
    // A slower laptop with one core for video and a 30 % budget.
    let mine = shipped
        .replace("name = \"laptop\"", "name = \"old-laptop\"")
        .replace("cores = 2", "cores = 1")
        .replace("cpu_budget = 0.5", "cpu_budget = 0.3");
    let path = std::env::temp_dir().join(format!("rtvc-bench-{}.toml", std::process::id()));
    std::fs::write(&path, mine).expect("write");
    let out = bench(&[
        "--profile",
        path.to_str().expect("utf-8 path"),
        "--clip",
        "synthetic:320x180",
        "--frames",
        "12",
        "--json",
    ]);
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    let p = &r["profiles"][0];
    assert_eq!(p["name"], "old-laptop");
    assert_eq!(p["threads"], 1, "measured with the profile's one core");
    for m in p["modes"].as_array().expect("modes") {
        // One core at 30 % of the frame interval.
        let want = 1000.0 / m["fps"].as_f64().expect("fps") * 0.3;
        let budget = m["budget_ms_per_interval"].as_f64().expect("budget");
        assert!((budget - want).abs() < 0.02, "{budget} vs {want}");
    }
}
