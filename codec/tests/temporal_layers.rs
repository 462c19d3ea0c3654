//! Temporal layers (L1T2, L1T3): the pattern is kept (and restarts at keyframes), AV1 frames say
//! their layer in every OBU's extension header, and a stream with its highest layer dropped
//! decodes without an error — with our decoders and with independent ones (dav1d, ffmpeg) — at
//! half the frame rate.

mod common;

use std::io::Write;
use std::process::Command;

use common::*;
use rtvc_codec::av1::obu::{ObuType, obus};
use rtvc_codec::container::ivf::{FOURCC_AV1, IvfWriter};
use rtvc_codec::encoder::temporal_layer_of;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{CodecKind, EncodeOutcome, EncodedFrame, EncoderConfig, Packet};
use rtvc_testkit::shared::require_tool;

const FRAMES: u64 = 60;
const KEY_AT: u64 = 31;

fn encode(name: &str, codec: CodecKind, layers: u8) -> Vec<EncodedFrame> {
    let mut cfg = EncoderConfig::new(codec, 320, 180, 400_000, 30.0);
    cfg.threads = Some(2);
    cfg.frame_dropping = false;
    cfg.temporal_layers = layers;
    let mut enc = registry().create_encoder_named(name, &cfg).unwrap();
    let scene = SyntheticScene::new(320, 180, 30.0).unwrap();
    (0..FRAMES)
        .map(
            |n| match enc.encode(&scene.frame(n), n == KEY_AT).unwrap() {
                EncodeOutcome::Encoded(e) => e,
                other => panic!("{name} frame {n}: {other:?}"),
            },
        )
        .collect()
}

fn out_path(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("temporal-layers");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Writes the frames as a file the codec's usual tools read (IVF / Annex B).
fn write(codec: CodecKind, frames: &[&EncodedFrame], name: &str) -> std::path::PathBuf {
    let path = out_path(name);
    let file = std::fs::File::create(&path).unwrap();
    match codec {
        CodecKind::Av1 => {
            let mut w = IvfWriter::new(file, FOURCC_AV1, 320, 180, 1, 30).unwrap();
            for (i, f) in frames.iter().enumerate() {
                w.write_frame(&f.data, i as u64).unwrap();
            }
            w.finish().unwrap();
        }
        CodecKind::H264 => {
            let mut w = std::io::BufWriter::new(file);
            for f in frames {
                w.write_all(&f.data).unwrap();
            }
            w.flush().unwrap();
        }
    }
    path
}

/// Frames an independent decoder gets out of `path`, and whether it complained.
fn independent(codec: CodecKind, path: &std::path::Path) -> Option<(usize, String)> {
    let test = "temporal_layers_thin_cleanly";
    let (tool, out) = match codec {
        CodecKind::Av1 => {
            if !require_tool(test, "dav1d") {
                return None;
            }
            let o = Command::new("dav1d")
                .args(["-q", "-i"])
                .arg(path)
                .args(["-o", "-", "--muxer", "yuv"])
                .output()
                .unwrap();
            ("dav1d", o)
        }
        CodecKind::H264 => {
            if !require_tool(test, "ffmpeg") {
                return None;
            }
            let o = Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-i"])
                .arg(path)
                .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
                .output()
                .unwrap();
            ("ffmpeg", o)
        }
    };
    assert!(
        out.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frame_bytes = 320 * 180 * 3 / 2;
    Some((
        out.stdout.len() / frame_bytes,
        String::from_utf8_lossy(&out.stderr).to_string(),
    ))
}

#[test]
fn temporal_layers_thin_cleanly() {
    for (name, codec) in [("libaom", CodecKind::Av1), ("openh264", CodecKind::H264)] {
        for layers in [2u8, 3] {
            let frames = encode(name, codec, layers);
            // The pattern, restarting at the keyframe.
            for (n, f) in frames.iter().enumerate() {
                let since_key = if n as u64 >= KEY_AT {
                    n as u64 - KEY_AT
                } else {
                    n as u64
                };
                let expected = temporal_layer_of(layers, since_key);
                assert_eq!(f.temporal_id, expected, "{name} L1T{layers} frame {n}");
                assert_eq!(f.keyframe, n == 0 || n as u64 == KEY_AT, "{name} frame {n}");
                if codec == CodecKind::Av1 {
                    for obu in obus(&f.data) {
                        let obu = obu.unwrap();
                        if obu.obu_type == ObuType::SequenceHeader as u8 {
                            continue;
                        }
                        assert!(obu.has_extension, "{name} frame {n}: OBU without extension");
                        assert_eq!(obu.temporal_id, f.temporal_id, "{name} frame {n}");
                    }
                }
            }
            // Drop the highest layer; what is left decodes, every frame, everywhere.
            let kept: Vec<&EncodedFrame> = frames
                .iter()
                .filter(|f| f.temporal_id < layers - 1)
                .collect();
            let expected = frames.len()
                - frames
                    .iter()
                    .filter(|f| f.temporal_id == layers - 1)
                    .count();
            assert_eq!(kept.len(), expected);
            assert!(kept.len() * 2 >= frames.len() - 1 && kept.len() * 2 <= frames.len() + 2);
            let mut dec = decoder(codec);
            for f in &kept {
                dec.decode(&Packet::from(*f))
                    .unwrap_or_else(|e| panic!("{name} L1T{layers} thinned: {e}"))
                    .expect("a picture per frame");
            }
            let ext = if codec == CodecKind::Av1 {
                "ivf"
            } else {
                "264"
            };
            let path = write(codec, &kept, &format!("{name}-L1T{layers}-thinned.{ext}"));
            if let Some((decoded, complaints)) = independent(codec, &path) {
                println!(
                    "{name} L1T{layers}: {} of {} frames kept; independent decoder decoded {decoded}",
                    kept.len(),
                    frames.len()
                );
                assert_eq!(decoded, kept.len(), "{name} L1T{layers}: {complaints}");
                assert!(
                    complaints.trim().is_empty(),
                    "{name} L1T{layers}: {complaints}"
                );
            }
            // With three layers, the base layer alone decodes too (a quarter of the rate).
            if layers == 3 {
                let base: Vec<&EncodedFrame> =
                    frames.iter().filter(|f| f.temporal_id == 0).collect();
                let mut dec = decoder(codec);
                for f in &base {
                    dec.decode(&Packet::from(*f))
                        .unwrap()
                        .expect("a picture per frame");
                }
                assert!(
                    (15..=17).contains(&base.len()),
                    "{} base-layer frames",
                    base.len()
                );
            }
            // And the whole stream decodes too.
            let mut dec = decoder(codec);
            for f in &frames {
                dec.decode(&Packet::from(f))
                    .unwrap()
                    .expect("a picture per frame");
            }
        }
    }
}

#[test]
fn rav1e_refuses_temporal_layers() {
    let mut cfg = EncoderConfig::new(CodecKind::Av1, 320, 180, 400_000, 30.0);
    cfg.temporal_layers = 2;
    assert!(registry().create_encoder_named("rav1e", &cfg).is_err());
    cfg.temporal_layers = 4;
    assert!(matches!(
        registry().create_encoder_named("libaom", &cfg),
        Err(rtvc_codec::Error::Config(
            rtvc_codec::ConfigError::OutOfRange {
                field: "temporal_layers",
                ..
            }
        ))
    ));
}
