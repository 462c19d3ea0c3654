//! Decoder conformance against ../shared/test-vectors: every H.264 Constrained Baseline /
//! Baseline vector and every AV1 8-bit vector must decode to its reference hash, and the
//! committed expected-failures list must match reality exactly.

use std::path::Path;
use std::time::Duration;

use rtvc_codec::CodecKind;
use rtvc_testkit::conformance::{
    ExpectedFailures, Status, Summary, checks, parse_manifest, run_check,
};
use rtvc_testkit::shared::require_shared;

fn expected_failures() -> ExpectedFailures {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/expected-failures.tsv");
    ExpectedFailures::parse(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn shared_vectors_decode_bit_exactly() {
    let Some(manifest) = require_shared(
        "shared_vectors_decode_bit_exactly",
        "test-vectors/MANIFEST.tsv",
    ) else {
        return;
    };
    let root = manifest.parent().unwrap().to_path_buf();
    let text = std::fs::read_to_string(&manifest).unwrap();
    let rows = parse_manifest(&text).unwrap();
    let expected = expected_failures();
    let mut results = Vec::new();
    let (mut h264_base, mut av1) = (0, 0);
    for row in &rows {
        for check in checks(row) {
            let r = run_check(&root, row, &check, &expected, Duration::from_secs(120));
            let must_pass = match row.codec {
                Some(CodecKind::H264) => row.profile.contains("Baseline"),
                Some(CodecKind::Av1) => row.local_path.contains("/8-bit/") && row.profile == "Main",
                None => false,
            };
            if must_pass {
                match row.codec {
                    Some(CodecKind::H264) => h264_base += 1,
                    _ => av1 += 1,
                }
                assert!(
                    matches!(r.status, Status::Pass | Status::Robust),
                    "{} [{}]: {} (md5 {}, expected {}, {} frames, {})",
                    r.path,
                    r.variant,
                    r.status,
                    r.hash,
                    r.expected,
                    r.frames,
                    r.detail
                );
            }
            results.push(r);
        }
    }
    let s = Summary::of(&results);
    println!(
        "conformance: {} checks ran ({h264_base} H.264 Constrained Baseline/Baseline, {av1} AV1 8-bit Main): \
         {} passed, {} robustness streams decoded, {} expected failures, {} failed, {} unexpected passes, {} errors",
        results.len(),
        s.passed,
        s.robust,
        s.expected_fail,
        s.failed,
        s.unexpected_pass,
        s.errors
    );
    for r in results.iter().filter(|r| r.status.is_unexpected()) {
        println!("  {} {} [{}]: {}", r.status, r.path, r.variant, r.detail);
    }
    assert!(
        s.ok(),
        "unexpected conformance results (see above); the expected-failures list must match reality"
    );
    assert_eq!(
        s.expected_fail,
        expected.len(),
        "every listed failure is still present in the manifest"
    );
    // The robustness streams (lost IDR, lost P, error stream) must decode to the end with
    // errors reported, not silently.
    for r in results.iter().filter(|r| r.status == Status::Robust) {
        assert!(
            r.decode_errors > 0,
            "{}: damaged stream decoded without a single error",
            r.path
        );
        assert!(
            r.frames > 0,
            "{}: no frame recovered after the damage",
            r.path
        );
    }
}

#[test]
fn reordered_h264_keeps_each_pictures_timestamp() {
    use rtvc_codec::container::stream::StreamReader;
    use rtvc_codec::{CodecRegistry, DecoderConfig, Packet};
    let Some(path) = require_shared(
        "reordered_h264_keeps_each_pictures_timestamp",
        "test-vectors/cisco+openh264/res/Cisco_Men_whisper_640x320_CAVLC_Bframe_9.264",
    ) else {
        return;
    };
    // Main profile with B-frames: pictures come out in display order, later than their packets.
    let mut reader = StreamReader::open(&path).unwrap();
    let mut dec = CodecRegistry::with_builtin()
        .create_decoder(CodecKind::H264, &DecoderConfig::default())
        .unwrap();
    let mut sent = Vec::new();
    let mut out = Vec::new();
    let mut ts = 1000;
    while let Some(p) = reader.next_packet().unwrap() {
        sent.push(ts);
        if let Some(f) = dec.decode(&Packet::new(p, ts)).unwrap() {
            out.push(f.timestamp_us());
        }
        ts += 1000;
    }
    out.extend(dec.flush().unwrap().iter().map(|f| f.timestamp_us()));
    assert_eq!(out.len(), 9);
    let mut sorted = out.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        9,
        "every picture keeps a distinct packet timestamp: {out:?}"
    );
    assert!(out.iter().all(|t| sent.contains(t)));
    assert_ne!(
        out, sent,
        "B-frames: display order differs from decode order"
    );
}
