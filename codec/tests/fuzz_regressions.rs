//! Replays every input the fuzzers found interesting (`fuzz/regressions/<target>/`) through the
//! same harness the cargo-fuzz targets use (`fuzz/harness.rs`), plus freshly encoded streams and
//! their damaged variants, so fixed crashes stay fixed without a fuzzer installed.

#[path = "../../fuzz/harness.rs"]
mod harness;

mod common;

use std::path::Path;

use rtvc_codec::CodecKind;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("decode_av1", harness::decode_av1),
    ("decode_h264", harness::decode_h264),
    ("read_ivf", harness::read_ivf),
    ("read_annexb", harness::read_annexb),
    ("read_y4m", harness::read_y4m),
    ("read_av1_obu", harness::read_av1_obu),
];

#[test]
fn fuzz_regressions_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut replayed = 0;
    for (name, run) in TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps its inputs)", dir.display()));
        let mut here = 0;
        for e in entries {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            println!("{name}: {}", path.display());
            run(&data);
            here += 1;
        }
        assert!(
            here > 0,
            "{name}: no regression inputs in {}",
            dir.display()
        );
        replayed += here;
    }
    println!("replayed {replayed} fuzz regression inputs");
    // 56 inputs are committed; the count only grows as fuzzers find more.
    assert!(
        replayed >= 56,
        "only {replayed} fuzz regression inputs replayed"
    );
}

#[test]
fn harness_on_real_and_damaged_streams() {
    for (enc, codec, run) in [
        ("libaom", CodecKind::Av1, harness::decode_av1 as Target),
        ("openh264", CodecKind::H264, harness::decode_h264 as Target),
    ] {
        let mut e = common::encoder(enc, codec, 96, 64, 200_000);
        let (packets, _) = common::encode_scene(e.as_mut(), 96, 64, 6, &[3]);
        let refs: Vec<&[u8]> = packets.iter().map(|p| p.data.as_ref()).collect();
        let stream = harness::join(&refs);
        run(&stream);
        // Every truncation and a sweep of single-byte corruptions.
        for cut in (0..stream.len()).step_by(97) {
            run(&stream[..cut]);
        }
        for i in (0..stream.len()).step_by(53) {
            let mut d = stream.clone();
            d[i] ^= 0xA5;
            run(&d);
        }
    }
}
