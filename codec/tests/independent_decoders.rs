//! Our encoders' output must be accepted by decoders we did not write, bit-exactly: for every
//! encoder × setting (sizes including odd ones, bitrate changes, forced keyframes, a resolution
//! change mid-stream), Debian's ffmpeg (libavcodec H.264, libdav1d, libaom), `dav1d` and `aomdec`
//! must decode the same number of frames to the same MD5 as our decoder.
//!
//! The same harness produces the small vectors committed in `test-vectors/rtvc/` with their
//! manifest; `own_vectors_are_stable` fails when an encoder's bitstream changes, so that such a
//! change is made on purpose: regenerate with
//! `RTVC_REGENERATE_VECTORS=1 cargo test --release -p rtvc-codec --test independent_decoders`.

mod common;

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use rtvc_codec::container::ivf::{FOURCC_AV1, IvfWriter};
use rtvc_codec::quality::FrameMd5;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncoderConfig, Packet, Rates,
};
use sha2::Digest;

/// One way of exercising an encoder.
#[derive(Debug, Clone, Copy)]
enum Case {
    /// Plain stream.
    Plain { w: u32, h: u32, frames: u64 },
    /// 800 → 150 → 600 kbps at frames 20 and 40.
    Rates,
    /// Keyframes forced at 10 and 20.
    Keyframes,
    /// 320x180 → 160x90 → 256x144, 10 frames each.
    Resize,
}

impl Case {
    fn name(self) -> String {
        match self {
            Case::Plain { w, h, .. } => format!("{w}x{h}"),
            Case::Rates => "bitrate-changes".into(),
            Case::Keyframes => "forced-keyframes".into(),
            Case::Resize => "resize".into(),
        }
    }
}

/// Encodes a case with one thread (deterministic output) into a file's bytes.
fn encode(encoder: &str, codec: CodecKind, case: Case) -> Vec<u8> {
    let (w0, h0) = match case {
        Case::Plain { w, h, .. } => (w, h),
        Case::Rates | Case::Resize => (320, 180),
        Case::Keyframes => (176, 144),
    };
    let mut cfg = EncoderConfig::new(codec, w0, h0, 300_000, 30.0);
    cfg.threads = Some(1);
    cfg.cores = Some(1);
    cfg.frame_dropping = false;
    if let Case::Rates = case {
        cfg.bitrate_bps = 800_000;
    }
    let mut enc = CodecRegistry::with_builtin()
        .create_encoder_named(encoder, &cfg)
        .unwrap();
    let frames = match case {
        Case::Plain { frames, .. } => frames,
        Case::Rates => 60,
        Case::Keyframes | Case::Resize => 30,
    };
    let mut packets = Vec::new();
    let mut scenes = std::collections::HashMap::new();
    for n in 0..frames {
        let (w, h) = match (case, n) {
            (Case::Resize, 10..=19) => (160, 90),
            (Case::Resize, 20..) => (256, 144),
            _ => (w0, h0),
        };
        let scene = scenes
            .entry((w, h))
            .or_insert_with(|| SyntheticScene::new(w, h, 30.0).unwrap());
        if let Case::Rates = case {
            let bps = match n {
                20 => Some(150_000),
                40 => Some(600_000),
                _ => None,
            };
            if let Some(bps) = bps {
                enc.set_rates(Rates {
                    bitrate_bps: bps,
                    framerate: 30.0,
                })
                .unwrap();
            }
        }
        let force = matches!(case, Case::Keyframes) && (n == 10 || n == 20);
        match enc.encode(&scene.frame(n), force).unwrap() {
            EncodeOutcome::Encoded(e) => packets.push(e),
            EncodeOutcome::Queued => {}
            other => panic!("{encoder} {}: frame {n}: {other:?}", case.name()),
        }
        packets.extend(enc.take_ready());
    }
    packets.extend(enc.flush().unwrap());
    assert_eq!(packets.len() as u64, frames, "{encoder} {}", case.name());
    match codec {
        CodecKind::Av1 => {
            let mut w = IvfWriter::new(
                Cursor::new(Vec::new()),
                FOURCC_AV1,
                w0 as u16,
                h0 as u16,
                1,
                30,
            )
            .unwrap();
            for (i, p) in packets.iter().enumerate() {
                w.write_frame(&p.data, i as u64).unwrap();
            }
            w.finish().unwrap().into_inner()
        }
        CodecKind::H264 => packets
            .iter()
            .flat_map(|p| p.data.iter().copied())
            .collect(),
    }
}

/// Our decoder: (frames, md5).
fn ours(path: &Path) -> (u64, String) {
    let mut reader = rtvc_codec::container::stream::StreamReader::open(path).unwrap();
    let mut dec = CodecRegistry::with_builtin()
        .create_decoder(reader.codec(), &DecoderConfig::default())
        .unwrap();
    let mut md5 = FrameMd5::new();
    let mut n = 0;
    while let Some(p) = reader.next_packet().unwrap() {
        let f = dec.decode(&Packet::new(p, n)).unwrap();
        md5.add(&f.expect("one frame per packet"));
        n += 1;
    }
    assert!(dec.flush().unwrap().is_empty());
    (md5.frames(), md5.hex())
}

/// An independent decoder.
struct Tool {
    name: &'static str,
    codec: CodecKind,
    version: String,
}

fn version_of(cmd: &str, arg: &str) -> Option<String> {
    let out = Command::new(cmd).arg(arg).output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// The independent decoders installed here.
fn tools() -> Vec<Tool> {
    let mut t = Vec::new();
    if let Some(v) = version_of("ffmpeg", "-version") {
        let decoders = Command::new("ffmpeg")
            .args(["-hide_banner", "-decoders"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        let v = v.split(" Copyright").next().unwrap_or(&v).to_string();
        for (name, dec, codec) in [
            ("ffmpeg-h264", " h264 ", CodecKind::H264),
            ("ffmpeg-libdav1d", " libdav1d ", CodecKind::Av1),
            ("ffmpeg-libaom-av1", " libaom-av1 ", CodecKind::Av1),
        ] {
            if decoders.contains(dec) {
                t.push(Tool {
                    name,
                    codec,
                    version: v.clone(),
                });
            }
        }
    }
    if let Some(v) = version_of("dav1d", "--version") {
        t.push(Tool {
            name: "dav1d",
            codec: CodecKind::Av1,
            version: format!("dav1d {v}"),
        });
    }
    if let Some(v) = version_of("aomdec", "--help").filter(|v| v.contains("Usage")) {
        let _ = v;
        let ver = Command::new("aomdec")
            .arg("--help")
            .output()
            .ok()
            .and_then(|o| {
                let s = String::from_utf8_lossy(&o.stdout).to_string()
                    + &String::from_utf8_lossy(&o.stderr);
                s.lines()
                    .find(|l| l.contains("av1") && l.contains("AOMedia"))
                    .map(|l| l.trim().to_string())
            });
        t.push(Tool {
            name: "aomdec",
            codec: CodecKind::Av1,
            version: ver.unwrap_or_else(|| "aomdec".into()),
        });
    }
    t
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest as _, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs a tool on `path`: (frames, md5) of all decoded frames as planar I420.
fn run_tool(tool: &Tool, path: &Path) -> Result<(u64, String), String> {
    let p = path.to_str().unwrap();
    let run = |cmd: &str, args: &[&str]| -> Result<std::process::Output, String> {
        let out = Command::new(cmd)
            .args(args)
            .output()
            .map_err(|e| format!("{cmd}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{cmd} {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(out)
    };
    match tool.name {
        n if n.starts_with("ffmpeg") => {
            let dec = &n["ffmpeg-".len()..];
            let base = [
                "-v",
                "error",
                "-c:v",
                dec,
                "-i",
                p,
                "-autoscale",
                "0",
                "-pix_fmt",
                "yuv420p",
            ];
            let raw = run("ffmpeg", &[&base[..], &["-f", "rawvideo", "-"]].concat())?;
            let fmd5 = run("ffmpeg", &[&base[..], &["-f", "framemd5", "-"]].concat())?;
            let frames = String::from_utf8_lossy(&fmd5.stdout)
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .count() as u64;
            Ok((frames, md5_hex(&raw.stdout)))
        }
        "dav1d" => {
            let out = run("dav1d", &["-i", p, "--muxer", "md5", "-o", "-"])?;
            let md5 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .chars()
                .take(32)
                .collect();
            let err = String::from_utf8_lossy(&out.stderr);
            let frames = err
                .split("Decoded ")
                .last()
                .and_then(|s| s.split('/').next())
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| format!("dav1d: no frame count in {err:?}"))?;
            Ok((frames, md5))
        }
        "aomdec" => {
            let out = run("aomdec", &["--rawvideo", "--md5", "--summary", p])?;
            let md5 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .chars()
                .take(32)
                .collect();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let frames = all
                .lines()
                .find_map(|l| l.split(" decoded frames/").nth(1))
                .and_then(|s| s.split(' ').next())
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("aomdec: no frame count in {all:?}"))?;
            Ok((frames, md5))
        }
        other => Err(format!("unknown tool {other}")),
    }
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("independent-decoders");
    std::fs::create_dir_all(&d).unwrap();
    d
}

const MATRIX: [(&str, CodecKind, Case); 14] = [
    (
        "libaom",
        CodecKind::Av1,
        Case::Plain {
            w: 176,
            h: 144,
            frames: 30,
        },
    ),
    (
        "libaom",
        CodecKind::Av1,
        Case::Plain {
            w: 161,
            h: 97,
            frames: 30,
        },
    ),
    ("libaom", CodecKind::Av1, Case::Rates),
    ("libaom", CodecKind::Av1, Case::Keyframes),
    ("libaom", CodecKind::Av1, Case::Resize),
    (
        "rav1e",
        CodecKind::Av1,
        Case::Plain {
            w: 176,
            h: 144,
            frames: 12,
        },
    ),
    (
        "rav1e",
        CodecKind::Av1,
        Case::Plain {
            w: 99,
            h: 61,
            frames: 12,
        },
    ),
    ("rav1e", CodecKind::Av1, Case::Keyframes),
    ("rav1e", CodecKind::Av1, Case::Resize),
    (
        "openh264",
        CodecKind::H264,
        Case::Plain {
            w: 176,
            h: 144,
            frames: 30,
        },
    ),
    (
        "openh264",
        CodecKind::H264,
        Case::Plain {
            w: 162,
            h: 98,
            frames: 30,
        },
    ),
    ("openh264", CodecKind::H264, Case::Rates),
    ("openh264", CodecKind::H264, Case::Keyframes),
    ("openh264", CodecKind::H264, Case::Resize),
];

#[test]
fn independent_decoders_agree_with_ours() {
    // scripts/bootstrap installs all three; under CI=true a missing one fails the test.
    let test = "independent_decoders_agree_with_ours";
    let present =
        ["ffmpeg", "dav1d", "aomdec"].map(|t| rtvc_testkit::shared::require_tool(test, t));
    let tools = tools();
    if !present.contains(&true) || tools.is_empty() {
        return;
    }
    let mut report = String::from("| encoder | case | frames | md5 (ours) |");
    for t in &tools {
        let _ = write!(report, " {} |", t.name);
    }
    report.push_str("\n|---|---|---|---|");
    report.push_str(&"---|".repeat(tools.len()));
    report.push('\n');
    let mut failures = Vec::new();
    for (encoder, codec, case) in MATRIX {
        let ext = if codec == CodecKind::Av1 {
            "ivf"
        } else {
            "264"
        };
        let path = out_dir().join(format!("{encoder}-{}.{ext}", case.name()));
        std::fs::write(&path, encode(encoder, codec, case)).unwrap();
        let (frames, md5) = ours(&path);
        let _ = write!(
            report,
            "| {encoder} | {} | {frames} | `{}` |",
            case.name(),
            &md5[..8]
        );
        for t in &tools {
            if t.codec != codec {
                report.push_str(" — |");
                continue;
            }
            match run_tool(t, &path) {
                Ok((f, m)) if f == frames && m == md5 => report.push_str(" same |"),
                Ok((f, m)) => {
                    report.push_str(" **differs** |");
                    failures.push(format!(
                        "{encoder} {}: {} gave {f} frames md5 {m}, ours {frames} frames md5 {md5}",
                        case.name(),
                        t.name
                    ));
                }
                Err(e) => {
                    report.push_str(" **error** |");
                    failures.push(format!("{encoder} {}: {}: {e}", case.name(), t.name));
                }
            }
        }
        report.push('\n');
    }
    report.push_str("\nTools:\n");
    for t in &tools {
        let _ = writeln!(report, "- {}: {}", t.name, t.version);
    }
    let report_path = out_dir().join("report.md");
    std::fs::write(&report_path, &report).unwrap();
    println!("{report}\n(written to {})", report_path.display());
    assert!(
        failures.is_empty(),
        "independent decoders disagree:\n{}",
        failures.join("\n")
    );
}

/// Our committed vectors: (file name, encoder, codec, case).
const OWN_VECTORS: [(&str, &str, CodecKind, Case); 6] = [
    (
        "av1-libaom-161x97.ivf",
        "libaom",
        CodecKind::Av1,
        Case::Plain {
            w: 161,
            h: 97,
            frames: 30,
        },
    ),
    (
        "av1-libaom-forced-keyframes.ivf",
        "libaom",
        CodecKind::Av1,
        Case::Keyframes,
    ),
    (
        "av1-libaom-resize.ivf",
        "libaom",
        CodecKind::Av1,
        Case::Resize,
    ),
    (
        "av1-rav1e-99x61.ivf",
        "rav1e",
        CodecKind::Av1,
        Case::Plain {
            w: 99,
            h: 61,
            frames: 12,
        },
    ),
    (
        "h264-openh264-forced-keyframes.264",
        "openh264",
        CodecKind::H264,
        Case::Keyframes,
    ),
    (
        "h264-openh264-resize.264",
        "openh264",
        CodecKind::H264,
        Case::Resize,
    ),
];

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/rtvc")
}

#[test]
fn own_vectors_are_stable() {
    let dir = vectors_dir();
    let regenerate = std::env::var_os("RTVC_REGENERATE_VECTORS").is_some();
    let mut manifest = String::from(
        "local_path\trepo\tcommit\trepo_path\tsize\tsha256\tcodec\tprofile\tWxH\tframes\texpected_decoded_md5\tmd5_source\tother_refs\tlocal_verification\n",
    );
    let tools = tools();
    for (name, encoder, codec, case) in OWN_VECTORS {
        let bytes = encode(encoder, codec, case);
        let path = dir.join(name);
        if regenerate {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let committed =
                std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                committed == bytes,
                "{name}: {encoder}'s bitstream changed ({} bytes committed, {} now). If intended, regenerate: \
                 RTVC_REGENERATE_VECTORS=1 cargo test --release -p rtvc-codec --test independent_decoders",
                committed.len(),
                bytes.len()
            );
        }
        let (frames, md5) = ours(&path);
        let mut agreed = Vec::new();
        for t in tools.iter().filter(|t| t.codec == codec) {
            let (f, m) = run_tool(t, &path).unwrap();
            assert_eq!(
                (f, &m),
                (frames, &md5),
                "{name}: {} disagrees with our decoder",
                t.name
            );
            agreed.push(t.name);
        }
        let size = match case {
            Case::Plain { w, h, .. } => format!("{w}x{h}"),
            Case::Keyframes => "176x144".into(),
            Case::Rates | Case::Resize => "320x180".into(),
        };
        let profile = if codec == CodecKind::Av1 {
            "Main"
        } else {
            "Constrained Baseline"
        };
        let sha: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(
            manifest,
            "{name}\trtvc\t\ttest-vectors/rtvc/{name}\t{}\t{sha}\t{}\t{profile}\t{size}\t{frames}\t{md5}\trtvc {encoder}, synthetic scene, {} (1 thread)\t\t{}",
            bytes.len(),
            codec,
            case.name(),
            if agreed.is_empty() {
                "our decoder only".to_string()
            } else {
                format!("same md5 and frame count from: {}", agreed.join(", "))
            }
        );
    }
    let manifest_path = dir.join("MANIFEST.tsv");
    if regenerate {
        std::fs::write(&manifest_path, &manifest).unwrap();
        println!(
            "regenerated {} vectors in {}",
            OWN_VECTORS.len(),
            dir.display()
        );
    } else {
        // Hashes and sizes in the committed manifest match the files (tool lists may differ
        // between machines, so only the first 11 columns are compared).
        let committed = std::fs::read_to_string(&manifest_path).unwrap();
        let key = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.split('\t').take(11).collect::<Vec<_>>().join("\t"))
                .collect()
        };
        assert_eq!(
            key(&committed),
            key(&manifest),
            "test-vectors/rtvc/MANIFEST.tsv is out of date"
        );
    }
}
