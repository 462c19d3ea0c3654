//! Frame plumbing costs per frame: camera imports, render exports, scaling.
//!
//! `cargo bench -p rtvc-benches --bench frames`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtvc_codec::container::y4m::{Y4mReader, Y4mWriter};
use rtvc_codec::convert::{I420Ref, Nv12Ref, PackedFormat, PackedRef};
use rtvc_codec::scale::Scaler;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{ColorSpace, Frame, FramePool};

fn frames(c: &mut Criterion) {
    let (w, h) = (1280u32, 720u32);
    let src = SyntheticScene::new(w, h, 30.0).unwrap().frame(5);
    let mut nv12_y = vec![0u8; (w * h) as usize];
    let mut nv12_uv = vec![0u8; (w * h / 2) as usize];
    src.export_nv12(&mut nv12_y, w as usize, &mut nv12_uv, w as usize)
        .unwrap();
    let mut bgra = vec![0u8; (w * h * 4) as usize];
    src.export_packed(&mut bgra, 4 * w as usize, PackedFormat::Bgra)
        .unwrap();
    let mut dst = Frame::new(w, h).unwrap();

    let mut g = c.benchmark_group("convert_720p");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nv12_to_i420", |b| {
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
            .unwrap()
        })
    });
    g.bench_function("bgra_to_i420", |b| {
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
            .unwrap()
        })
    });
    g.bench_function("i420_to_bgra", |b| {
        b.iter(|| {
            src.export_packed(&mut bgra, 4 * w as usize, PackedFormat::Bgra)
                .unwrap()
        })
    });
    g.finish();

    let hd = SyntheticScene::new(1920, 1080, 30.0).unwrap().frame(5);
    let mut g = c.benchmark_group("scale");
    g.throughput(Throughput::Elements(1));
    let mut scaler = Scaler::new();
    let mut out720 = Frame::new(1280, 720).unwrap();
    g.bench_function("1080p_to_720p", |b| {
        b.iter(|| scaler.scale_into(&hd, &mut out720).unwrap())
    });
    let mut out360 = Frame::new(640, 360).unwrap();
    let mut scaler2 = Scaler::new();
    g.bench_function("720p_to_360p", |b| {
        b.iter(|| scaler2.scale_into(&src, &mut out360).unwrap())
    });
    g.finish();

    // Reading Y4M: our reader against the `y4m` crate (then copied into a frame, which is what
    // an encoder needs), 30 frames of 720p from memory.
    let scene = SyntheticScene::new(w, h, 30.0).unwrap();
    let mut file = Y4mWriter::new(Vec::new(), w, h, 30, 1).unwrap();
    for n in 0..30 {
        file.write_frame(&scene.frame(n)).unwrap();
    }
    let file = file.finish().unwrap();
    let mut g = c.benchmark_group("y4m_read_720p_30_frames");
    g.throughput(Throughput::Elements(30));
    g.bench_function("rtvc", |b| {
        b.iter(|| {
            let mut r = Y4mReader::new(file.as_slice()).unwrap();
            let mut n = 0;
            while let Some(f) = r.next_frame().unwrap() {
                n += f.width() as usize;
            }
            n
        })
    });
    let pool = FramePool::new(2);
    g.bench_function("y4m_crate", |b| {
        b.iter(|| {
            let mut r = y4m::Decoder::new(file.as_slice()).unwrap();
            let mut n = 0;
            while let Ok(f) = r.read_frame() {
                let mut frame = pool.frame(w, h).unwrap();
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
                    .unwrap();
                n += frame.width() as usize;
            }
            n
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = frames
}
criterion_main!(benches);
