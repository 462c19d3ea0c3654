//! The whole media path per frame, and what one participant of a 4-party mesh call does per
//! frame interval.
//!
//! ```text
//! cargo bench -p rtvc-benches --bench pipeline
//! scripts/bench-table pipeline mesh
//! ```
//!
//! | id | what |
//! |---|---|
//! | `pipeline/av1-libaom-dav1d/<size>/t1`, `t2` | frame in (an NV12 camera buffer imported into a pooled frame) → libaom → dav1d → frame out (NV12 into a display buffer) |
//! | `pipeline/h264-openh264/<size>/t1` | the same through openh264 both ways (single-threaded, see `codecs.rs`) |
//! | `mesh/av1/360p/t1`, `t2` | one libaom encode of our camera and three dav1d decodes of the other participants' streams, 360p |
//! | `mesh/h264/360p/t1` | the same with openh264 |
//!
//! The threads are the encoder's and each decoder's. The time is per frame (pipeline) or per
//! frame interval (mesh: 4 × 360p of codec work, 0.92 megapixels, though the table's per-megapixel
//! column counts one 360p frame). Frames, bitrates and streams as in `codecs.rs`: the camera frames
//! played forwards and backwards at a call's bitrate, encoder frame dropping off; the received
//! streams are 240 frames each, starting 40 and 80 and 120 frames into the camera's sequence.

mod common;

use std::rc::Rc;
use std::time::Duration;

use common::{
    Camera, CameraCache, Incoming, SIZES, STREAM_FRAMES, Size, THREADS, bench_id, encode_stream,
    encoder_config, ping_pong, timestamp_us,
};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rtvc_codec::convert::Nv12Ref;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncodedFrame, Frame, FramePool, Packet,
    VideoDecoder, VideoEncoder,
};

/// (bench name, encoder backend, codec, threads); the decoder is the registry's for the codec.
const PATHS: [(&str, &str, CodecKind, &[u32]); 2] = [
    ("av1-libaom-dav1d", "libaom", CodecKind::Av1, &THREADS),
    ("h264-openh264", "openh264", CodecKind::H264, &[1]),
];

/// (bench name, encoder backend, codec, threads) of the mesh step.
const MESH: [(&str, &str, CodecKind, &[u32]); 2] = [
    ("av1", "libaom", CodecKind::Av1, &THREADS),
    ("h264", "openh264", CodecKind::H264, &[1]),
];

fn encoder(backend: &str, codec: CodecKind, size: Size, threads: u32) -> Box<dyn VideoEncoder> {
    CodecRegistry::with_builtin()
        .create_encoder_named(backend, &encoder_config(codec, size, threads))
        .expect("encoder")
}

fn decoder(codec: CodecKind, threads: u32) -> Box<dyn VideoDecoder> {
    let mut cfg = DecoderConfig::default();
    cfg.threads = Some(threads);
    CodecRegistry::with_builtin()
        .create_decoder(codec, &cfg)
        .expect("decoder")
}

fn encoded(out: EncodeOutcome) -> EncodedFrame {
    match out {
        EncodeOutcome::Encoded(e) => e,
        other => panic!("a call encoder returned {other:?}"),
    }
}

/// An NV12 picture (what an iOS camera delivers, and what the display takes).
struct Nv12 {
    y: Vec<u8>,
    uv: Vec<u8>,
}

impl Nv12 {
    fn of(frame: &Frame) -> Self {
        let w = frame.width() as usize;
        let mut p = Self::blank(frame.width(), frame.height());
        frame
            .export_nv12(&mut p.y, w, &mut p.uv, w)
            .expect("export NV12");
        p
    }

    fn blank(width: u32, height: u32) -> Self {
        let px = width as usize * height as usize;
        Self {
            y: vec![0; px],
            uv: vec![0; px / 2],
        }
    }
}

/// Camera buffer → frame → encoder → decoder → display buffer.
struct Pipeline {
    enc: Box<dyn VideoEncoder>,
    dec: Box<dyn VideoDecoder>,
    camera: Vec<(Nv12, rtvc_codec::ColorSpace)>,
    pool: FramePool,
    display: Nv12,
    size: Size,
    n: u64,
}

impl Pipeline {
    fn new(backend: &str, codec: CodecKind, frames: &[Frame], threads: u32) -> Self {
        let size = Size {
            width: frames[0].width(),
            height: frames[0].height(),
        };
        Self {
            enc: encoder(backend, codec, size, threads),
            dec: decoder(codec, threads),
            camera: frames
                .iter()
                .map(|f| (Nv12::of(f), f.color_space()))
                .collect(),
            pool: FramePool::new(2),
            display: Nv12::blank(size.width, size.height),
            size,
            n: 0,
        }
    }

    fn step(&mut self) {
        let (w, h) = (self.size.width, self.size.height);
        let (cam, color) = &self.camera[ping_pong(self.n, self.camera.len())];
        let mut frame = self.pool.frame(w, h).expect("benchmark size");
        frame
            .import_nv12(&Nv12Ref {
                y: &cam.y,
                y_stride: w as usize,
                uv: &cam.uv,
                uv_stride: w as usize,
                width: w,
                height: h,
                color: *color,
            })
            .expect("import NV12");
        frame.set_timestamp_us(timestamp_us(self.n));
        self.n += 1;
        let out = encoded(self.enc.encode(&frame, false).expect("encode"));
        drop(frame);
        let picture = self
            .dec
            .decode(&Packet::from(out))
            .expect("decode")
            .expect("one picture per packet");
        picture
            .export_nv12(
                &mut self.display.y,
                w as usize,
                &mut self.display.uv,
                w as usize,
            )
            .expect("export NV12");
    }
}

fn pipeline(c: &mut Criterion) {
    let mut camera = CameraCache::default();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(1))
        .sampling_mode(SamplingMode::Flat);
    for size in SIZES {
        for (what, backend, codec, threads) in PATHS {
            for &t in threads {
                let mut state: Option<Pipeline> = None;
                g.bench_function(bench_id(what, size, t), |b| {
                    let p = state
                        .get_or_insert_with(|| Pipeline::new(backend, codec, &camera.get(size), t));
                    b.iter(|| p.step())
                });
            }
        }
    }
    g.finish();
}

/// One participant's work per frame interval in a 4-party mesh: our camera encoded once (and sent
/// to three peers), three peers' streams decoded.
struct MeshStep {
    enc: Box<dyn VideoEncoder>,
    camera: Camera,
    peers: Vec<(Box<dyn VideoDecoder>, Incoming)>,
}

impl MeshStep {
    fn step(&mut self) {
        encoded(
            self.enc
                .encode(&self.camera.next_frame(), false)
                .expect("encode"),
        );
        for (dec, incoming) in &mut self.peers {
            dec.decode(&incoming.next_packet())
                .expect("decode")
                .expect("one picture per packet");
        }
    }
}

fn mesh(c: &mut Criterion) {
    const PEERS: u64 = 3;
    let size = Size::P360;
    let mut camera = CameraCache::default();
    let mut g = c.benchmark_group("mesh");
    g.throughput(Throughput::Elements(1))
        .sampling_mode(SamplingMode::Flat);
    for (what, backend, codec, threads) in MESH {
        let mut streams: Option<Vec<Rc<Vec<EncodedFrame>>>> = None;
        for &t in threads {
            let mut state: Option<MeshStep> = None;
            g.bench_function(bench_id(what, size, t), |b| {
                let m = state.get_or_insert_with(|| {
                    let frames = camera.get(size);
                    let streams = streams.get_or_insert_with(|| {
                        (1..=PEERS)
                            .map(|k| {
                                let start = 40 * k;
                                Rc::new(encode_stream(
                                    backend,
                                    codec,
                                    Rc::clone(&frames),
                                    start,
                                    STREAM_FRAMES,
                                ))
                            })
                            .collect()
                    });
                    MeshStep {
                        enc: encoder(backend, codec, size, t),
                        camera: Camera::new(frames, 0),
                        peers: streams
                            .iter()
                            .map(|s| (decoder(codec, t), Incoming::new(Rc::clone(s))))
                            .collect(),
                    }
                });
                b.iter(|| m.step())
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // 15 benchmarks of ~6 s plus ~20 s of loading and encoding streams: about 2 minutes on
    // 2 cores. `--warm-up-time` / `--measurement-time` on the command line override these.
    config = common::criterion(10, Duration::from_secs(5));
    targets = pipeline, mesh
}
criterion_main!(benches);
