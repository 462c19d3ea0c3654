//! The per-frame cost of what sits around the codecs: the rate controller (`rtvc_codec::rate`)
//! and the WebRTC adapter's encoder and decoder (`rtvc_webrtc`'s factories).
//!
//! ```text
//! cargo bench -p rtvc-benches --bench overhead
//! scripts/bench-table rate adapter
//! ```
//!
//! | id | what, per frame |
//! |---|---|
//! | `rate/controller/<size>/t1` | one frame interval of `RateController`: its decision, the encoded size of an admitted frame, an RTT sample every 3rd frame, a new target every 10th (±10 % around the size's call bitrate) |
//! | `adapter/encoder/<size>/t1` | `WebRtcEncoder::encode` from `EncoderFactory` (AV1), frame dropping off |
//! | `adapter/encoder-rate-control/<size>/t1` | the same with frame dropping on: our rate controller inside the adapter |
//! | `adapter/decoder/<size>/t1` | `WebRtcDecoder::decode` from `DecoderFactory` (AV1) |
//!
//! The adapter runs over a codec that does no coding: its "encoder" hands back, for each frame,
//! the next frame of a real stream (libaom's, 240 camera frames at this size and its call bitrate,
//! encoded ahead of time), and its "decoder" a ready picture. So the time is the adapter's own
//! (plus the replay's clone of a payload handle, tens of nanoseconds); the real codecs' cost is in
//! `codecs.rs`, and `cargo run --release -p rtvc-benches --bin adapter-overhead` compares the
//! adapter with the bare codec core on real encodes. With its rate controller on, the adapter
//! skips 1–2 % of the frames (after each replayed keyframe), which costs less than encoding them;
//! it never scales here (checked: that would be pixel work, not overhead). Sizes 360p and 720p,
//! all on the calling thread.

mod common;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use common::{
    Camera, CameraCache, Incoming, STREAM_FRAMES, Size, bench_id, encode_stream, timestamp_us,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtvc_codec::decoder::DecoderInfo;
use rtvc_codec::rate::{RateControlConfig, RateController};
use rtvc_codec::{
    CodecKind, CodecRegistry, DecodeError, EncodeOutcome, EncodedFrame, EncoderInfo, Frame, Packet,
    Rates, Tier, VideoDecoder, VideoEncoder,
};
use rtvc_webrtc::format::VideoFormat;
use rtvc_webrtc::{
    DecodeResult, DecoderFactory, DecoderSettings, EncodeResult, EncoderFactory, EncoderSettings,
    ReceivedImage, VideoFrameType, WebRtcDecoder, WebRtcEncoder,
};

const SIZES: [Size; 2] = [Size::P360, Size::P720];

/// One frame interval of a call as the rate controller sees it (see the module docs). Returns
/// whether the frame was admitted.
fn frame_interval(ctrl: &mut RateController, n: &mut u64, size: Size) -> bool {
    const TARGET_STEPS: [f64; 5] = [1.0, 1.1, 0.95, 0.9, 1.05];
    let i = *n;
    *n += 1;
    let now = Duration::from_micros(timestamp_us(i).unsigned_abs());
    let bps = f64::from(size.call_bitrate());
    if i.is_multiple_of(10) {
        let step = TARGET_STEPS[(i / 10 % TARGET_STEPS.len() as u64) as usize];
        ctrl.set_target(
            now,
            Rates {
                bitrate_bps: (bps * step) as u32,
                framerate: 30.0,
            },
        );
    }
    if i.is_multiple_of(3) {
        ctrl.on_rtt(now, Duration::from_millis(50 + i % 11));
    }
    let d = ctrl.decide(now);
    let admitted = d.skip.is_none();
    if admitted {
        // 70–130 % of an average frame; the first is a keyframe of 6 average frames.
        let average = bps / 30.0 / 8.0;
        let share = if i == 0 {
            6.0
        } else {
            0.7 + 0.6 * ((i * 37) % 100) as f64 / 100.0
        };
        ctrl.on_encoded(now, (average * share) as usize, i == 0);
    }
    admitted
}

fn rate(c: &mut Criterion) {
    let mut g = c.benchmark_group("rate");
    g.throughput(Throughput::Elements(1));
    for size in SIZES {
        let mut ctrl = RateController::new(
            RateControlConfig::for_codec(CodecKind::Av1, size.width, size.height, 30.0),
            Rates {
                bitrate_bps: size.call_bitrate(),
                framerate: 30.0,
            },
        );
        let mut n = 0;
        g.bench_function(bench_id("controller", size, 1), |b| {
            b.iter(|| frame_interval(&mut ctrl, &mut n, size))
        });
    }
    g.finish();
}

/// An encoder that codes nothing: each frame gets the next frame of a stream encoded ahead of
/// time (see the module docs).
struct ReplayEncoder {
    info: EncoderInfo,
    stream: Arc<Vec<EncodedFrame>>,
    n: usize,
}

impl VideoEncoder for ReplayEncoder {
    fn info(&self) -> EncoderInfo {
        self.info.clone()
    }

    fn encode(
        &mut self,
        frame: &Frame,
        force_keyframe: bool,
    ) -> Result<EncodeOutcome, rtvc_codec::Error> {
        let e = &self.stream[self.n % self.stream.len()];
        self.n += 1;
        Ok(EncodeOutcome::Encoded(EncodedFrame {
            keyframe: e.keyframe || force_keyframe,
            timestamp_us: frame.timestamp_us(),
            width: frame.width(),
            height: frame.height(),
            rotation: frame.rotation(),
            ..e.clone()
        }))
    }

    fn set_rates(&mut self, _rates: Rates) -> Result<(), rtvc_codec::Error> {
        Ok(())
    }

    fn flush(&mut self) -> Result<Vec<EncodedFrame>, rtvc_codec::Error> {
        Ok(Vec::new())
    }
}

/// A decoder that decodes nothing: every packet shows the same ready picture.
struct ReplayDecoder {
    info: DecoderInfo,
    picture: Frame,
}

impl VideoDecoder for ReplayDecoder {
    fn info(&self) -> DecoderInfo {
        self.info.clone()
    }

    fn decode(&mut self, packet: &Packet) -> Result<Option<Frame>, DecodeError> {
        let mut f = self.picture.clone();
        f.set_timestamp_us(packet.timestamp_us);
        f.set_rotation(packet.rotation);
        Ok(Some(f))
    }

    fn flush(&mut self) -> Result<Vec<Frame>, DecodeError> {
        Ok(Vec::new())
    }

    fn reset(&mut self) {}
}

/// A registry with only the replay encoder and decoder for `codec`, described like the built-in
/// call codecs.
fn replay_registry(
    codec: CodecKind,
    stream: Arc<Vec<EncodedFrame>>,
    picture: Frame,
) -> Arc<CodecRegistry> {
    let builtin = CodecRegistry::with_builtin();
    let mut info = builtin
        .encoders(codec)
        .into_iter()
        .find(|e| e.info.frame_delay == 0)
        .expect("a call encoder")
        .info
        .clone();
    info.implementation = "replay";
    let mut dinfo = builtin
        .decoders(codec)
        .first()
        .expect("a decoder")
        .info
        .clone();
    dinfo.implementation = "replay";
    let mut r = CodecRegistry::new();
    let einfo = info.clone();
    r.register_encoder("replay", Tier::Standard, info, move |_| {
        Ok(Box::new(ReplayEncoder {
            info: einfo.clone(),
            stream: Arc::clone(&stream),
            n: 0,
        }))
    });
    let pinfo = dinfo.clone();
    r.register_decoder("replay", Tier::Standard, dinfo, move |_| {
        Ok(Box::new(ReplayDecoder {
            info: pinfo.clone(),
            picture: picture.clone(),
        }))
    });
    Arc::new(r)
}

/// The adapter's encoder over the replay codec.
fn adapter_encoder(
    registry: &Arc<CodecRegistry>,
    size: Size,
    frame_dropping: bool,
) -> Box<dyn WebRtcEncoder> {
    let mut enc = EncoderFactory::new(Arc::clone(registry))
        .create(&VideoFormat::av1())
        .expect("encoder");
    let mut s = EncoderSettings::new(size.width, size.height, 30.0, size.call_bitrate());
    s.number_of_cores = 1;
    s.frame_dropping = frame_dropping;
    enc.init(&s).expect("init");
    enc
}

fn adapter(c: &mut Criterion) {
    let mut camera = CameraCache::default();
    let mut g = c.benchmark_group("adapter");
    g.throughput(Throughput::Elements(1));
    for size in SIZES {
        // The stream and the registry, made when the first of this size's benchmarks runs.
        type Prepared = (Arc<CodecRegistry>, Rc<Vec<EncodedFrame>>, Rc<Vec<Frame>>);
        let mut prepared: Option<Prepared> = None;
        let mut prepare = || {
            prepared
                .get_or_insert_with(|| {
                    let frames = camera.get(size);
                    let stream = encode_stream(
                        "libaom",
                        CodecKind::Av1,
                        Rc::clone(&frames),
                        0,
                        STREAM_FRAMES,
                    );
                    let registry = replay_registry(
                        CodecKind::Av1,
                        Arc::new(stream.clone()),
                        frames[0].clone(),
                    );
                    (registry, Rc::new(stream), frames)
                })
                .clone()
        };
        for (what, frame_dropping) in [("encoder", false), ("encoder-rate-control", true)] {
            let mut state: Option<(Box<dyn WebRtcEncoder>, Camera)> = None;
            g.bench_function(bench_id(what, size, 1), |b| {
                let (enc, cam) = state.get_or_insert_with(|| {
                    let (registry, _, frames) = prepare();
                    (
                        adapter_encoder(&registry, size, frame_dropping),
                        Camera::new(frames, 0),
                    )
                });
                b.iter(|| {
                    let frame = cam.next_frame();
                    let out = enc
                        .encode(&frame, &[VideoFrameType::Delta])
                        .expect("encode");
                    if let EncodeResult::Encoded(e) = &out {
                        assert_eq!(
                            (e.width, e.height),
                            (frame.width(), frame.height()),
                            "the adapter scaled the frame: this is not its overhead any more"
                        );
                    }
                    out
                })
            });
        }
        let mut state: Option<(Box<dyn WebRtcDecoder>, Incoming)> = None;
        g.bench_function(bench_id("decoder", size, 1), |b| {
            let (dec, incoming) = state.get_or_insert_with(|| {
                let (registry, stream, _) = prepare();
                let mut dec = DecoderFactory::new(registry)
                    .create(&VideoFormat::av1())
                    .expect("decoder");
                dec.configure(&DecoderSettings::new(size.width, size.height, 1))
                    .expect("configure");
                (dec, Incoming::new(stream))
            });
            b.iter(|| {
                let p = incoming.next_packet();
                let out = dec
                    .decode(&ReceivedImage {
                        data: p.data,
                        capture_time_us: p.timestamp_us,
                        rotation: p.rotation,
                        missing_frames: false,
                    })
                    .expect("decode");
                assert!(matches!(out, DecodeResult::Picture(_)), "{out:?}");
                out
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // 8 benchmarks of ~3 s plus a few seconds of loading and encoding: well under a minute.
    // `--warm-up-time` / `--measurement-time` on the command line override these.
    config = common::criterion(100, Duration::from_secs(2));
    targets = rate, adapter
}
criterion_main!(benches);
