//! Heap allocations per frame in the steady state of a call's media path, counted by a global
//! allocator: capture (NV12 import into a pooled frame) → scale 720p → 360p → encode → decode →
//! export NV12 for rendering, for each encoder with its decoder.
//!
//! What remains per frame, and why (the README has the table):
//! - libaom → dav1d: 1, the payload's `Bytes` (one exact-size copy out of libaom's buffer).
//! - openh264 → openh264: 1, the payload's `Bytes`.
//! - rav1e → dav1d: about 1,060, nearly all inside rav1e (its frame, its packet and its
//!   per-frame analysis state); it is never the call encoder.
//!
//! Allocations inside the C libraries (libaom, dav1d, openh264) do not go through Rust's
//! allocator and are not counted here. This file is its own test binary with one test, so that
//! nothing else runs while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use rtvc_codec::convert::Nv12Ref;
use rtvc_codec::scale::Scaler;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncoderConfig, FramePool, Packet,
    VideoEncoder,
};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; we only count.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CAPTURE: (u32, u32) = (1280, 720);
const SEND: (u32, u32) = (640, 360);
const WARM_UP: u64 = 30;
const MEASURED: u64 = 60;

/// An app's NV12 camera buffer (the app owns it; we only read it).
struct Nv12Buffer {
    y: Vec<u8>,
    uv: Vec<u8>,
}

/// A few distinct camera pictures, made before counting starts.
fn camera_buffers() -> Vec<Nv12Buffer> {
    let (w, h) = CAPTURE;
    let scene = SyntheticScene::new(w, h, 30.0).unwrap();
    (0..8)
        .map(|n| {
            let f = scene.frame(n * 3);
            let mut b = Nv12Buffer {
                y: vec![0; (w * h) as usize],
                uv: vec![0; (w * h / 2) as usize],
            };
            f.export_nv12(&mut b.y, w as usize, &mut b.uv, w as usize)
                .unwrap();
            b
        })
        .collect()
}

/// Runs the pipeline and returns the allocations of each measured frame.
fn per_frame_allocations(encoder: &str, codec: CodecKind) -> Vec<u64> {
    let registry = CodecRegistry::with_builtin();
    let mut cfg = EncoderConfig::new(codec, SEND.0, SEND.1, 500_000, 30.0);
    cfg.threads = Some(2);
    cfg.frame_dropping = false;
    let mut enc: Box<dyn VideoEncoder> = registry.create_encoder_named(encoder, &cfg).unwrap();
    let mut dec = registry
        .create_decoder(codec, &DecoderConfig::default())
        .unwrap();
    let capture_pool = FramePool::new(2);
    let mut scaler = Scaler::new();
    let camera = camera_buffers();
    let (sw, sh) = (SEND.0 as usize, SEND.1 as usize);
    let mut display_y = vec![0u8; sw * sh];
    let mut display_uv = vec![0u8; sw * sh / 2];
    let mut counts = Vec::new();
    let mut decoded = 0u64;
    for n in 0..WARM_UP + MEASURED {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let cam = &camera[(n % camera.len() as u64) as usize];
        let mut frame = capture_pool.frame(CAPTURE.0, CAPTURE.1).unwrap();
        frame
            .import_nv12(&Nv12Ref {
                y: &cam.y,
                y_stride: CAPTURE.0 as usize,
                uv: &cam.uv,
                uv_stride: CAPTURE.0 as usize,
                width: CAPTURE.0,
                height: CAPTURE.1,
                color: Default::default(),
            })
            .unwrap();
        frame.set_timestamp_us((n as f64 * 1e6 / 30.0).round() as i64);
        let small = scaler.scale(&frame, SEND.0, SEND.1).unwrap();
        drop(frame);
        let out = match enc.encode(&small, false).unwrap() {
            EncodeOutcome::Encoded(e) => Some(e),
            EncodeOutcome::Queued => None,
            other => panic!("{encoder}: frame {n}: {other:?}"),
        };
        drop(small);
        if let Some(e) = out {
            let picture = dec
                .decode(&Packet::from(e))
                .unwrap()
                .expect("one picture per packet");
            picture
                .export_nv12(&mut display_y, sw, &mut display_uv, sw)
                .unwrap();
            decoded += 1;
        }
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        if n >= WARM_UP {
            counts.push(after - before);
        }
    }
    assert!(
        decoded >= WARM_UP + MEASURED - 4,
        "{encoder}: {decoded} decoded"
    );
    counts
}

fn summary(counts: &[u64]) -> (u64, f64) {
    let max = counts.iter().copied().max().unwrap_or(0);
    let mean = counts.iter().sum::<u64>() as f64 / counts.len().max(1) as f64;
    (max, mean)
}

#[test]
fn steady_state_allocations_per_frame() {
    let mut report = Vec::new();
    for (encoder, codec, allowed) in [
        ("libaom", CodecKind::Av1, 1),
        ("openh264", CodecKind::H264, 1),
    ] {
        let counts = per_frame_allocations(encoder, codec);
        let (max, mean) = summary(&counts);
        report.push(format!("{encoder}: max {max}, mean {mean:.2} per frame"));
        assert!(
            max <= allowed,
            "{encoder}: up to {max} allocations per frame (mean {mean:.2}), allowed {allowed}: {counts:?}"
        );
    }
    // rav1e allocates inside itself for every frame (about 1,060 here: its frame, packet and
    // per-frame analysis state); bound it so that a large regression shows.
    let counts = per_frame_allocations("rav1e", CodecKind::Av1);
    let (max, mean) = summary(&counts);
    report.push(format!("rav1e: max {max}, mean {mean:.2} per frame"));
    println!("{}", report.join("\n"));
    assert!(
        mean <= 1500.0,
        "rav1e: mean {mean:.2} allocations per frame"
    );
}
