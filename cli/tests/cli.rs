//! The `rtvc` command as users run it: flags, JSON fields, exit codes, file round trips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rtvc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtvc"))
        .args(args)
        .output()
        .expect("run rtvc")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "rtvc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn encode_json_has_the_contract_fields_and_decode_agrees() {
    let out = tmp("synthetic.ivf");
    let o = out.to_str().unwrap();
    let r = json(&rtvc(&[
        "encode",
        "--input",
        "synthetic:320x180",
        "--output",
        o,
        "--codec",
        "av1",
        "--bitrate",
        "300k",
        "--frames",
        "90",
        "--psnr",
        "--json",
    ]));
    for key in [
        "encoder",
        "width",
        "height",
        "frames_in",
        "frames_out",
        "frames_dropped",
        "keyframes",
        "max_frame_delay",
        "kbps",
        "fps",
        "latency_ms_p50",
        "latency_ms_p99",
        "psnr_y",
        "psnr_avg",
    ] {
        assert!(r.get(key).is_some(), "missing {key} in {r}");
    }
    assert_eq!(r["encoder"], "libaom");
    assert_eq!(r["frames_in"], 90);
    assert_eq!(r["max_frame_delay"], 0);
    assert_eq!(r["keyframes"], 1);
    let frames_out = r["frames_out"].as_u64().unwrap();
    assert_eq!(frames_out + r["frames_dropped"].as_u64().unwrap(), 90);
    let kbps = r["kbps"].as_f64().unwrap();
    assert!(
        (210.0..=390.0).contains(&kbps),
        "kbps {kbps} far from the 300 kbps target"
    );
    assert!(r["psnr_y"].as_f64().unwrap() > 30.0);

    let d = json(&rtvc(&["decode", "--input", o, "--md5", "--json"]));
    assert_eq!(d["frames"].as_u64().unwrap(), frames_out);
    assert_eq!(
        (d["width"].as_u64(), d["height"].as_u64()),
        (Some(320), Some(180))
    );
    assert_eq!(d["md5"].as_str().unwrap().len(), 32);
    // Plain mode prints the same MD5.
    let plain = rtvc(&["decode", "--input", o, "--md5"]);
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(
        text.contains(&format!("md5 {}", d["md5"].as_str().unwrap())),
        "{text}"
    );
}

#[test]
fn h264_with_scaling_and_y4m_round_trip() {
    let h264 = tmp("scaled.264");
    let r = json(&rtvc(&[
        "encode",
        "--input",
        "synthetic:640x360",
        "--size",
        "320x180",
        "--output",
        h264.to_str().unwrap(),
        "--codec",
        "h264",
        "--bitrate",
        "400k",
        "--frames",
        "30",
        "--json",
    ]));
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(320), Some(180))
    );
    assert_eq!(r["encoder"], "openh264");
    // Decode to Y4M, then use that Y4M as encoder input.
    let y4m = tmp("decoded.y4m");
    let d = json(&rtvc(&[
        "decode",
        "--input",
        h264.to_str().unwrap(),
        "--output",
        y4m.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(d["frames"], r["frames_out"]);
    let ivf = tmp("from_y4m.ivf");
    let r2 = json(&rtvc(&[
        "encode",
        "--input",
        y4m.to_str().unwrap(),
        "--output",
        ivf.to_str().unwrap(),
        "--codec",
        "av1",
        "--bitrate",
        "300k",
        "--psnr",
        "--json",
    ]));
    assert_eq!(r2["frames_in"], d["frames"]);
    assert!(r2["psnr_avg"].as_f64().unwrap() > 30.0);
}

#[test]
fn rav1e_reports_its_frame_delay() {
    let out = tmp("rav1e.ivf");
    let r = json(&rtvc(&[
        "encode",
        "--input",
        "synthetic:128x72",
        "--output",
        out.to_str().unwrap(),
        "--codec",
        "av1",
        "--encoder",
        "rav1e",
        "--bitrate",
        "150k",
        "--frames",
        "12",
        "--json",
    ]));
    assert_eq!(r["encoder"], "rav1e");
    assert_eq!(r["frames_out"], 12, "flushed at the end, nothing lost");
    assert_eq!(r["max_frame_delay"], 4);
}

#[test]
fn bad_inputs_fail_with_clear_messages() {
    let out = tmp("bad.264");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "encode",
                "--input",
                "synthetic:321x180",
                "--output",
                o,
                "--codec",
                "h264",
                "--bitrate",
                "300k",
                "--frames",
                "2",
            ],
            "even",
        ),
        (
            &[
                "encode",
                "--input",
                "synthetic:320x180",
                "--output",
                o,
                "--codec",
                "h264",
                "--bitrate",
                "3",
                "--frames",
                "2",
            ],
            "bitrate_bps",
        ),
        (
            &[
                "encode",
                "--input",
                "synthetic:320x180",
                "--output",
                o,
                "--codec",
                "av1",
                "--bitrate",
                "300k",
            ],
            "use .ivf for AV1",
        ),
        (
            &[
                "encode",
                "--input",
                "/nonexistent/file.y4m",
                "--output",
                o,
                "--codec",
                "h264",
                "--bitrate",
                "300k",
            ],
            "/nonexistent/file.y4m",
        ),
        (
            &[
                "encode",
                "--input",
                "synthetic:320x180",
                "--output",
                o,
                "--codec",
                "vp9",
                "--bitrate",
                "300k",
            ],
            "unknown codec",
        ),
        (
            &[
                "encode",
                "--input",
                "synthetic:320x180",
                "--output",
                o,
                "--codec",
                "av1",
                "--encoder",
                "x264",
                "--bitrate",
                "300k",
            ],
            "no backend named",
        ),
    ];
    for (args, needle) in cases {
        let r = rtvc(args);
        assert!(!r.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            err.contains(needle),
            "{args:?}: stderr {err:?} lacks {needle:?}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    // Garbage as a compressed input: decode fails with a count, no panic.
    let junk = tmp("junk.264");
    std::fs::write(&junk, [0u8, 0, 0, 1, 0x65, 1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
    let r = rtvc(&["decode", "--input", junk.to_str().unwrap(), "--md5"]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("could not be decoded") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn real_clip_encodes_at_target_rate() {
    let Some(clip) = rtvc_testkit::shared::require_shared(
        "real_clip_encodes_at_target_rate",
        "clips/foreman_352x288_25fps.264",
    ) else {
        return;
    };
    let out = tmp("foreman.ivf");
    let r = json(&rtvc(&[
        "encode",
        "--input",
        clip.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--codec",
        "av1",
        "--bitrate",
        "300k",
        "--fps",
        "25",
        "--frames",
        "100",
        "--psnr",
        "--json",
    ]));
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(352), Some(288))
    );
    assert_eq!(r["frames_in"], 100);
    let kbps = r["kbps"].as_f64().unwrap();
    assert!(
        (270.0..=330.0).contains(&kbps),
        "kbps {kbps} not within 10 % of 300"
    );
    assert!(r["psnr_y"].as_f64().unwrap() > 32.0, "{r}");
}

#[test]
fn conformance_on_our_vectors_and_a_broken_manifest() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/rtvc/MANIFEST.tsv");
    let r = json(&rtvc(&[
        "conformance",
        "--manifest",
        manifest.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(r["passed"], 6, "{r}");
    assert_eq!(r["failed"], 0);
    assert_eq!(r["errors"], 0);
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    for res in results {
        for key in ["path", "status", "md5", "expected", "frames", "ms"] {
            assert!(res.get(key).is_some(), "missing {key} in {res}");
        }
        assert_eq!(res["md5"], res["expected"]);
    }
    // --codec filters rows.
    let h = json(&rtvc(&[
        "conformance",
        "--manifest",
        manifest.to_str().unwrap(),
        "--codec",
        "h264",
        "--json",
    ]));
    assert_eq!(h["passed"], 2);
    // A wrong reference and a missing file: non-zero exit, reported per row.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[1] = lines[1].replacen(
        &lines[1].split('\t').nth(10).unwrap().to_string(),
        "00000000000000000000000000000000",
        1,
    );
    lines[2] = lines[2].replacen(".ivf", "-missing.ivf", 1);
    let broken = tmp("broken-manifest.tsv");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let root = manifest.parent().unwrap();
    let out = rtvc(&[
        "conformance",
        "--manifest",
        broken.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--json",
    ]);
    assert!(!out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            r["passed"].as_u64(),
            r["failed"].as_u64(),
            r["errors"].as_u64()
        ),
        (Some(4), Some(1), Some(1)),
        "{r}"
    );
}

#[test]
fn rc_reports_every_metric_against_the_baseline_and_plots() {
    let svg = tmp("rc.svg");
    let csv = tmp("rc.csv");
    let r = json(&rtvc(&[
        "rc",
        "--codec",
        "av1",
        "--input",
        "synthetic:320x180",
        "--trace",
        "builtin:steps",
        "--trace-scale",
        "0.3",
        "--duration",
        "4",
        "--baseline",
        "--plot",
        svg.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
        "--json",
    ]));
    for key in [
        "total_err",
        "acc_1s_mean",
        "acc_1s_p95",
        "worst_500ms",
        "worst_500ms_no_kf",
        "utilisation",
        "delay_p95_ms",
        "delay_max_ms",
        "t_react_down_ms",
        "drops_pct",
        "max_freeze_ms",
        "keyframes",
        "psnr_y",
        "psnr_y_p05",
        "resolution_changes",
    ] {
        assert!(r.get(key).is_some(), "missing {key} in {r}");
        assert!(r["baseline"].get(key).is_some(), "baseline lacks {key}");
    }
    assert_eq!(r["frames"], 120);
    assert_eq!(r["encoder"], "libaom");
    assert!(r["psnr_y"].as_f64().unwrap() > 20.0);
    // rav1e holds 4 frames back: each picture is judged against its own capture, not against
    // the capture 4 frames later (which on the moving scene would cost >10 dB).
    let r2 = json(&rtvc(&[
        "rc",
        "--codec",
        "av1",
        "--encoder",
        "rav1e",
        "--input",
        "synthetic:320x180",
        "--trace",
        "builtin:steps",
        "--duration",
        "2",
        "--json",
    ]));
    assert_eq!(r2["encoder"], "rav1e");
    assert_eq!(r2["drops_pct"], 0.0, "{r2}");
    assert!(r2["psnr_y_p05"].as_f64().unwrap() > 40.0, "{r2}");
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.contains("capacity") && plot.contains("baseline"));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 121);
    // Bad arguments are clear errors.
    for (args, needle) in [
        (vec!["--trace", "builtin:nope"], "unknown built-in trace"),
        (vec!["--trace", "/nonexistent.up"], "/nonexistent.up"),
        (
            vec!["--trace", "builtin:lte", "--trace-scale", "0"],
            "--trace-scale",
        ),
        (
            vec!["--trace", "builtin:lte", "--ladder", "720"],
            "--ladder",
        ),
    ] {
        let mut all = vec![
            "rc",
            "--codec",
            "h264",
            "--input",
            "synthetic:320x180",
            "--duration",
            "1",
        ];
        all.extend(args);
        let out = rtvc(&all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{all:?}: {err}");
    }
}

/// Our IVF files use a timebase in which the frame times are exact (1/30 at 30 fps), so that
/// ffmpeg run the plain way pairs each decoded frame with its source frame and reports the PSNR
/// we report (with a 1 ms timebase it paired the wrong frames: 38.8 dB for a 43.1 dB stream).
#[test]
fn ivf_output_lines_up_with_its_source_in_plain_ffmpeg() {
    let test = "ivf_output_lines_up_with_its_source_in_plain_ffmpeg";
    if !rtvc_testkit::shared::require_tool(test, "ffmpeg") {
        return;
    }
    use rtvc_codec::container::y4m::Y4mWriter;
    use rtvc_codec::synthetic::SyntheticScene;
    let src = tmp("lineup-source.y4m");
    let out = tmp("lineup.ivf");
    let scene = SyntheticScene::new(320, 180, 30.0).unwrap();
    let mut w = Y4mWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&src).unwrap()),
        320,
        180,
        30,
        1,
    )
    .unwrap();
    for n in 0..60 {
        w.write_frame(&scene.frame(n)).unwrap();
    }
    w.finish().unwrap();
    let (s, o) = (src.to_str().unwrap(), out.to_str().unwrap());
    let r = json(&rtvc(&[
        "encode",
        "--input",
        s,
        "--output",
        o,
        "--codec",
        "av1",
        "--bitrate",
        "250k",
        "--psnr",
        "--json",
    ]));
    let ours = r["psnr_y"].as_f64().unwrap();
    let ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i", o, "-i", s])
        .args(["-lavfi", "psnr", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&ff.stderr);
    let theirs: f64 = log
        .lines()
        .find_map(|l| l.split_once("PSNR y:").map(|(_, rest)| rest))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no PSNR line from ffmpeg:\n{log}"));
    println!("PSNR-Y: rtvc {ours:.3} dB, plain ffmpeg {theirs:.3} dB");
    assert!(
        (ours - theirs).abs() < 0.05,
        "ffmpeg paired other frames: {theirs:.3} dB vs our {ours:.3} dB"
    );
}

/// `--scalability-mode L1T3` writes an AV1 stream that any decoder thins by operating point:
/// dav1d's `--oppoint 1` keeps half the frames, `--oppoint 2` a quarter.
#[test]
fn scalability_mode_writes_a_stream_decoders_can_thin() {
    let test = "scalability_mode_writes_a_stream_decoders_can_thin";
    let out = tmp("l1t3.ivf");
    let o = out.to_str().unwrap();
    let r = json(&rtvc(&[
        "encode",
        "--input",
        "synthetic:320x180",
        "--output",
        o,
        "--codec",
        "av1",
        "--bitrate",
        "300k",
        "--frames",
        "60",
        "--scalability-mode",
        "L1T3",
        "--json",
    ]));
    assert_eq!(r["scalability_mode"], "L1T3");
    let per_layer: Vec<u64> = r["frames_per_layer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let total = r["frames_out"].as_u64().unwrap();
    assert_eq!(per_layer.iter().sum::<u64>(), total);
    assert_eq!(per_layer.len(), 3);
    let bad = rtvc(&[
        "encode",
        "--input",
        "synthetic:64x64",
        "--output",
        o,
        "--codec",
        "av1",
        "--bitrate",
        "300k",
        "--scalability-mode",
        "L2T2",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("L1T1, L1T2 or L1T3"));
    if !rtvc_testkit::shared::require_tool(test, "dav1d") {
        return;
    }
    for (oppoint, expected) in [
        (0, total),
        (1, per_layer[0] + per_layer[1]),
        (2, per_layer[0]),
    ] {
        let y4m = tmp(&format!("l1t3-op{oppoint}.y4m"));
        let d = Command::new("dav1d")
            .args(["-q", "-i", o, "--oppoint", &oppoint.to_string(), "-o"])
            .arg(&y4m)
            .output()
            .unwrap();
        assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
        let frames = std::fs::read(&y4m)
            .unwrap()
            .windows(6)
            .filter(|w| w == b"FRAME\n")
            .count() as u64;
        assert_eq!(frames, expected, "operating point {oppoint}");
    }
}

#[test]
fn call_json_has_the_contract_keys_per_stream_and_in_the_summary_and_plots() {
    let svg = tmp("call.svg");
    let r = json(&rtvc(&[
        "call",
        "--codec",
        "h264",
        "--input",
        "synthetic:320x180",
        "--network",
        "builtin:good",
        "--duration",
        "3",
        "--outage",
        "1.5+0.5",
        "--fixed-cost",
        "--plot",
        svg.to_str().unwrap(),
        "--json",
    ]));
    let streams = r["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 2);
    for s in streams.iter().chain(std::iter::once(&r["summary"])) {
        for key in [
            "from",
            "to",
            "codec",
            "frames_sent",
            "frames_decoded",
            "freezes",
            "max_freeze_ms",
            "g2g_ms_p50",
            "g2g_ms_p95",
            "psnr_y",
            "keyframe_requests",
            "recovery_ms",
            "kbps",
            "bwe_kbps",
            "resolution_changes",
        ] {
            assert!(s.get(key).is_some(), "missing {key} in {s}");
        }
        assert_eq!(s["codec"], "h264");
        assert!(s["recovery_ms"].is_number(), "an outage on every path: {s}");
        assert!(s["frames_decoded"].as_u64().unwrap() > 30, "{s}");
    }
    assert_eq!(streams[0]["from"], "p0");
    assert_eq!(streams[0]["to"], "p1");
    let svg = std::fs::read_to_string(&svg).expect("plot written");
    assert!(svg.contains("<svg") && svg.contains("glass-to-glass"));
}

#[test]
fn call_refuses_bad_arguments_with_a_message() {
    for (args, says) in [
        (&["call", "--peers", "5"][..], "participants"),
        (&["call", "--outage", "3"][..], "AT+DUR"),
        (&["call", "--loss", "80"][..], "percentage"),
        (
            &["call", "--network", "builtin:nope"][..],
            "unknown built-in trace",
        ),
        (&["call", "--rtt=5000"][..], "RTT"),
        (
            &["call", "--codec", "h264", "--input", "synthetic:321x181"][..],
            "even",
        ),
    ] {
        let out = rtvc(args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
