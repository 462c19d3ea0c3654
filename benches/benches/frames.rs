//! Frame plumbing cost per frame at 360p, 540p, 720p and 1080p: the camera imports (NV12 → I420,
//! BGRA → I420), the render export (I420 → BGRA), scaling (1080p → 720p, 720p → 360p) and
//! reading Y4M from memory.
//!
//! ```text
//! cargo bench -p rtvc-benches --bench frames
//! scripts/bench-table convert scale y4m-read
//! ```
//!
//! | id | what |
//! |---|---|
//! | `convert/nv12-to-i420/<size>/t1` | `Frame::import_nv12` (iOS camera buffer) |
//! | `convert/bgra-to-i420/<size>/t1` | `Frame::import_packed` from BGRA, BT.709 limited |
//! | `convert/i420-to-bgra/<size>/t1` | `Frame::export_packed` to BGRA (rendering) |
//! | `scale/to-720p/1080p/t1`, `scale/to-360p/720p/t1` | `Scaler::scale_into` (the size in the id is the source's) |
//! | `y4m-read/rtvc/720p/t1`, `y4m-read/y4m-crate/720p/t1` | 30 frames of Y4M from memory into frames, per frame |
//!
//! All of these run on the calling thread: the `yuv` and `pic-scale` kernels are built without
//! their thread pools, so there is no 2-thread variant. The pixels are the synthetic scene's: these
//! kernels cost the same whatever the picture shows.

mod common;

use std::time::Duration;

use common::{SIZES, Size, bench_id};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtvc_codec::container::y4m::{Y4mReader, Y4mWriter};
use rtvc_codec::convert::{I420Ref, Nv12Ref, PackedFormat, PackedRef};
use rtvc_codec::scale::Scaler;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{ColorSpace, Frame, FramePool};

fn scene_frame(size: Size) -> Frame {
    SyntheticScene::new(size.width, size.height, 30.0)
        .expect("benchmark size")
        .frame(5)
}

fn convert(c: &mut Criterion) {
    let mut g = c.benchmark_group("convert");
    g.throughput(Throughput::Elements(1));
    for size in SIZES {
        let (w, h) = (size.width, size.height);
        let src = scene_frame(size);
        let mut nv12_y = vec![0u8; size.pixels()];
        let mut nv12_uv = vec![0u8; size.pixels() / 2];
        src.export_nv12(&mut nv12_y, w as usize, &mut nv12_uv, w as usize)
            .expect("export NV12");
        let mut bgra = vec![0u8; 4 * size.pixels()];
        src.export_packed(&mut bgra, 4 * w as usize, PackedFormat::Bgra)
            .expect("export BGRA");
        let mut dst = Frame::new(w, h).expect("benchmark size");

        g.bench_function(bench_id("nv12-to-i420", size, 1), |b| {
            b.iter(|| {
                dst.import_nv12(&Nv12Ref {
                    y: &nv12_y,
                    y_stride: w as usize,
                    uv: &nv12_uv,
                    uv_stride: w as usize,
                    width: w,
                    height: h,
                    color: ColorSpace::BT709_LIMITED,
                })
                .expect("import NV12")
            })
        });
        g.bench_function(bench_id("bgra-to-i420", size, 1), |b| {
            b.iter(|| {
                dst.import_packed(
                    &PackedRef {
                        data: &bgra,
                        stride: 4 * w as usize,
                        width: w,
                        height: h,
                        format: PackedFormat::Bgra,
                    },
                    ColorSpace::BT709_LIMITED,
                )
                .expect("import BGRA")
            })
        });
        g.bench_function(bench_id("i420-to-bgra", size, 1), |b| {
            b.iter(|| {
                src.export_packed(&mut bgra, 4 * w as usize, PackedFormat::Bgra)
                    .expect("export BGRA")
            })
        });
    }
    g.finish();
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.throughput(Throughput::Elements(1));
    for (from, to) in [(Size::P1080, Size::P720), (Size::P720, Size::P360)] {
        let src = scene_frame(from);
        let mut dst = Frame::new(to.width, to.height).expect("benchmark size");
        let mut scaler = Scaler::new();
        let what = format!("to-{}", to.label());
        g.bench_function(bench_id(&what, from, 1), |b| {
            b.iter(|| scaler.scale_into(&src, &mut dst).expect("scale"))
        });
    }
    g.finish();
}

/// Reading Y4M: our reader against the `y4m` crate (then copied into a frame, which is what an
/// encoder needs), 30 frames of 720p from memory; criterion's time is per 30 frames, the table's
/// per frame.
fn y4m_read(c: &mut Criterion) {
    const FRAMES: u64 = 30;
    let size = Size::P720;
    let (w, h) = (size.width, size.height);
    let scene = SyntheticScene::new(w, h, 30.0).expect("benchmark size");
    let mut file = Y4mWriter::new(Vec::new(), w, h, 30, 1).expect("Y4M writer");
    for n in 0..FRAMES {
        file.write_frame(&scene.frame(n)).expect("write Y4M");
    }
    let file = file.finish().expect("finish Y4M");
    let mut g = c.benchmark_group("y4m-read");
    g.throughput(Throughput::Elements(FRAMES));
    g.bench_function(bench_id("rtvc", size, 1), |b| {
        b.iter(|| {
            let mut r = Y4mReader::new(file.as_slice()).expect("Y4M header");
            let mut n = 0;
            while let Some(f) = r.next_frame().expect("Y4M frame") {
                n += f.width() as usize;
            }
            n
        })
    });
    let pool = FramePool::new(2);
    g.bench_function(bench_id("y4m-crate", size, 1), |b| {
        b.iter(|| {
            let mut r = y4m::Decoder::new(file.as_slice()).expect("Y4M header");
            let mut n = 0;
            while let Ok(f) = r.read_frame() {
                let mut frame = pool.frame(w, h).expect("benchmark size");
                frame
                    .import_i420(&I420Ref {
                        y: f.get_y_plane(),
                        y_stride: w as usize,
                        u: f.get_u_plane(),
                        u_stride: (w / 2) as usize,
                        v: f.get_v_plane(),
                        v_stride: (w / 2) as usize,
                        width: w,
                        height: h,
                    })
                    .expect("import I420");
                n += frame.width() as usize;
            }
            n
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // ~3 s per benchmark, 16 benchmarks: about a minute. `--warm-up-time` / `--measurement-time`
    // on the command line override these.
    config = common::criterion(30, Duration::from_secs(2));
    targets = convert, scale, y4m_read
}
criterion_main!(benches);
