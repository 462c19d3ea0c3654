//! What the WebRTC adapter costs per frame: the same frames through a bare codec-core encoder and
//! through `rtvc-webrtc`'s encoder (created by the factory, frame dropping off, so both do the
//! same encoding work — their outputs are checked to be byte-identical), alternating, time
//! inside the encode calls only, median of `--reps` runs. A third line runs the adapter with
//! frame dropping on (our rate controller inside, at the same target): informational, since the
//! controller may then skip or resize frames.
//!
//! ```text
//! cargo run --release -p rtvc-benches --bin adapter-overhead [-- CLIP] [--reps N]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtvc_benches::{BenchArgs, load_clip};
use rtvc_codec::{CodecKind, CodecRegistry, EncodeOutcome, EncoderConfig, Frame};
use rtvc_webrtc::format::VideoFormat;
use rtvc_webrtc::{EncodeResult, EncoderFactory, EncoderSettings, VideoFrameType};

struct Timing {
    total: Duration,
    bytes: Vec<u8>,
    encoded: usize,
}

fn core(codec: CodecKind, frames: &[Frame], bps: u32) -> Timing {
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut cfg = EncoderConfig::new(codec, w, h, bps, 30.0);
    cfg.cores = Some(2);
    cfg.max_size = Some((w, h));
    cfg.frame_dropping = false;
    let mut enc = CodecRegistry::with_builtin()
        .create_call_encoder(&cfg)
        .expect("encoder");
    let mut t = Timing {
        total: Duration::ZERO,
        bytes: Vec::new(),
        encoded: 0,
    };
    for f in frames {
        let t0 = Instant::now();
        let out = enc.encode(f, false).expect("encode");
        t.total += t0.elapsed();
        if let EncodeOutcome::Encoded(e) = out {
            t.bytes.extend_from_slice(&e.data);
            t.encoded += 1;
        }
    }
    t
}

fn adapter(format: &VideoFormat, frames: &[Frame], bps: u32, frame_dropping: bool) -> Timing {
    let (w, h) = (frames[0].width(), frames[0].height());
    let factory = EncoderFactory::new(Arc::new(CodecRegistry::with_builtin()));
    let mut enc = factory.create(format).expect("encoder");
    let mut s = EncoderSettings::new(w, h, 30.0, bps);
    s.number_of_cores = 2;
    s.frame_dropping = frame_dropping;
    enc.init(&s).expect("init");
    let mut t = Timing {
        total: Duration::ZERO,
        bytes: Vec::new(),
        encoded: 0,
    };
    for f in frames {
        let t0 = Instant::now();
        let out = enc.encode(f, &[VideoFrameType::Delta]).expect("encode");
        t.total += t0.elapsed();
        if let EncodeResult::Encoded(e) = out {
            t.bytes.extend_from_slice(&e.data);
            t.encoded += 1;
        }
    }
    t
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let BenchArgs { clip, reps, .. } = BenchArgs::from_env();
    println!(
        "| codec | size | bare codec core fps | adapter fps | overhead | adapter + rate controller fps (frames encoded) |"
    );
    println!("|---|---|---|---|---|---|");
    for ((w, h), kbps) in [((1280, 720), 1200u32), ((640, 360), 400u32)] {
        let frames = load_clip(&clip, Some((w, h)), 10_000).expect("clip");
        let n = frames.len();
        for (codec, format) in [
            (CodecKind::Av1, VideoFormat::av1()),
            (CodecKind::H264, VideoFormat::h264("42e01f", 1)),
        ] {
            let bps = kbps * 1000;
            let (mut c, mut a, mut rc) = (Vec::new(), Vec::new(), Vec::new());
            let mut rc_frames = 0;
            for _ in 0..reps {
                let bare = core(codec, &frames, bps);
                let wrapped = adapter(&format, &frames, bps, false);
                assert!(
                    bare.bytes == wrapped.bytes,
                    "{codec} {w}x{h}: the adapter's output differs from the bare encoder's"
                );
                let controlled = adapter(&format, &frames, bps, true);
                c.push(n as f64 / bare.total.as_secs_f64());
                a.push(n as f64 / wrapped.total.as_secs_f64());
                rc.push(n as f64 / controlled.total.as_secs_f64());
                rc_frames = controlled.encoded;
            }
            let (cm, am, rcm) = (median(&mut c), median(&mut a), median(&mut rc));
            println!(
                "| {codec} | {w}x{h} @ {kbps} kbps | {cm:.1} | {am:.1} | {:+.1} % | {rcm:.1} ({rc_frames} of {n}) |",
                100.0 * (cm / am - 1.0)
            );
        }
    }
}
