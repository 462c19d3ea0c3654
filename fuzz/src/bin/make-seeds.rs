//! Writes seed corpora for the fuzz targets from the committed vectors in `test-vectors/rtvc`
//! (the first packets of each stream), so the fuzzer starts from valid bitstreams.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --bin make-seeds`

#[path = "../../harness.rs"]
mod harness;

use std::path::Path;

use rtvc_codec::container::stream::StreamReader;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let vectors = root.join("../test-vectors/rtvc");
    for entry in std::fs::read_dir(&vectors).expect("test-vectors/rtvc") {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let (target, reader_target) = match ext {
            "ivf" => ("decode_av1", "read_ivf"),
            "264" => ("decode_h264", "read_annexb"),
            _ => continue,
        };
        let mut r = StreamReader::open(&path).unwrap();
        let mut pkts = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            pkts.push(p);
            if pkts.len() == 3 {
                break;
            }
        }
        let refs: Vec<&[u8]> = pkts.iter().map(|p| p.as_ref()).collect();
        let name = path.file_stem().unwrap().to_str().unwrap();
        for (t, data) in [
            (target, harness::join(&refs)),
            (reader_target, std::fs::read(&path).unwrap()),
        ] {
            let dir = root.join("corpus").join(t);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), data).unwrap();
        }
    }
    // Y4M: a few tiny frames of the synthetic scene; AV1 Section 5: our IVF frames as a raw
    // OBU stream (every frame starts with a temporal delimiter).
    let mut y4m = rtvc_codec::container::y4m::Y4mWriter::new(Vec::new(), 17, 9, 30, 1).unwrap();
    let scene = rtvc_codec::synthetic::SyntheticScene::new(17, 9, 30.0).unwrap();
    for n in 0..3 {
        y4m.write_frame(&scene.frame(n)).unwrap();
    }
    let dir = root.join("corpus/read_y4m");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("synthetic-17x9"), y4m.finish().unwrap()).unwrap();
    let mut r = StreamReader::open(&vectors.join("av1-libaom-161x97.ivf")).unwrap();
    let mut section5 = Vec::new();
    for _ in 0..3 {
        if let Some(p) = r.next_packet().unwrap() {
            section5.extend_from_slice(&p);
        }
    }
    let dir = root.join("corpus/read_av1_obu");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("section5"), section5).unwrap();
    println!("seeds written to fuzz/corpus/");
}
