//! Per-frame encode and decode cost by codec and backend at 360p, 540p, 720p and 1080p, with 1
//! and 2 threads.
//!
//! ```text
//! cargo bench -p rtvc-benches --bench codecs
//! scripts/bench-table encode decode
//! ```
//!
//! | id | what |
//! |---|---|
//! | `encode/av1-libaom/<size>/t1`, `t2` | libaom realtime, the call encoder |
//! | `encode/av1-rav1e/<size>/t1`, `t2` | rav1e (speed 10, low latency); 360p and 720p only, it runs ~10× slower than libaom |
//! | `encode/h264-openh264/<size>/t1` | openh264 |
//! | `decode/av1-dav1d/<size>/t1`, `t2` | dav1d |
//! | `decode/h264-openh264/<size>/t1` | openh264 |
//!
//! openh264 has `t1` only: our openh264 encoder is configured single-threaded (one slice per
//! picture, `iMultipleThreadIdc = 1`) and its decoder has no threads, so a `t2` row would only
//! repeat `t1`.
//!
//! Encoders get the camera frames (the shared talking-head clip, scaled; the synthetic scene if the
//! clip is missing, which is printed) played forwards and backwards with increasing capture
//! times, at a call's bitrate for the size (400 kbps at 360p, 700 kbps at 540p, 1.2 Mbps at 720p,
//! 2.5 Mbps at 1080p) and with frame dropping off: each measured call codes one inter frame (the
//! keyframe falls into the warm-up). The time is per `encode` call; rav1e returns each frame four
//! calls late, but every call does one frame's work.
//!
//! Decoders loop over a 240-frame stream of the same frames made by libaom (with 2 threads, so
//! with 2 tile columns, as a call at these sizes sends) or openh264: one keyframe per 240 frames.
//! The time is per `decode` call.

mod common;

use std::rc::Rc;
use std::time::Duration;

use common::{
    Camera, CameraCache, Incoming, SIZES, STREAM_FRAMES, Size, THREADS, bench_id, encode_stream,
    encoder_config,
};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncodedFrame, VideoDecoder,
    VideoEncoder,
};

/// (bench name, registry backend, codec, threads).
const ENCODERS: [(&str, &str, CodecKind, &[u32]); 3] = [
    ("av1-libaom", "libaom", CodecKind::Av1, &THREADS),
    ("av1-rav1e", "rav1e", CodecKind::Av1, &THREADS),
    ("h264-openh264", "openh264", CodecKind::H264, &[1]),
];

/// The sizes rav1e is measured at.
const RAV1E_SIZES: [Size; 2] = [Size::P360, Size::P720];

/// (bench name, encoder of the stream, codec, threads).
const DECODERS: [(&str, &str, CodecKind, &[u32]); 2] = [
    ("av1-dav1d", "libaom", CodecKind::Av1, &THREADS),
    ("h264-openh264", "openh264", CodecKind::H264, &[1]),
];

fn encode(c: &mut Criterion, camera: &mut CameraCache, size: Size) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1))
        .sampling_mode(SamplingMode::Flat);
    for (what, backend, codec, threads) in ENCODERS {
        if backend == "rav1e" && !RAV1E_SIZES.contains(&size) {
            continue;
        }
        for &t in threads {
            let mut state: Option<(Box<dyn VideoEncoder>, Camera)> = None;
            g.bench_function(bench_id(what, size, t), |b| {
                let (enc, cam) = state.get_or_insert_with(|| {
                    let enc = CodecRegistry::with_builtin()
                        .create_encoder_named(backend, &encoder_config(codec, size, t))
                        .expect("encoder");
                    (enc, Camera::new(camera.get(size), 0))
                });
                b.iter(|| {
                    let out = enc.encode(&cam.next_frame(), false).expect("encode");
                    assert!(
                        !matches!(out, EncodeOutcome::Dropped(_)),
                        "{backend} dropped a frame: {out:?}"
                    );
                    out
                })
            });
        }
    }
    g.finish();
}

fn decode(c: &mut Criterion, camera: &mut CameraCache, size: Size) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1))
        .sampling_mode(SamplingMode::Flat);
    for (what, encoder, codec, threads) in DECODERS {
        let mut stream: Option<Rc<Vec<EncodedFrame>>> = None;
        for &t in threads {
            let mut state: Option<(Box<dyn VideoDecoder>, Incoming)> = None;
            g.bench_function(bench_id(what, size, t), |b| {
                let (dec, incoming) = state.get_or_insert_with(|| {
                    let stream = stream.get_or_insert_with(|| {
                        Rc::new(encode_stream(
                            encoder,
                            codec,
                            camera.get(size),
                            0,
                            STREAM_FRAMES,
                        ))
                    });
                    let mut cfg = DecoderConfig::default();
                    cfg.threads = Some(t);
                    let dec = CodecRegistry::with_builtin()
                        .create_decoder(codec, &cfg)
                        .expect("decoder");
                    (dec, Incoming::new(Rc::clone(stream)))
                });
                b.iter(|| {
                    dec.decode(&incoming.next_packet())
                        .expect("decode")
                        .expect("one picture per packet")
                })
            });
        }
    }
    g.finish();
}

fn codecs(c: &mut Criterion) {
    let mut camera = CameraCache::default();
    for size in SIZES {
        encode(c, &mut camera, size);
        decode(c, &mut camera, size);
    }
}

criterion_group! {
    name = benches;
    // 28 benchmarks of ~6 s (criterion takes at least 10 iterations: rav1e at 720p, ~0.15 s a
    // frame, needs ~2 s of them) plus ~30 s of loading and encoding streams: about 3.5 minutes on
    // 2 cores. `--warm-up-time` / `--measurement-time` on the command line override these.
    config = common::criterion(10, Duration::from_secs(5));
    targets = codecs
}
criterion_main!(benches);
