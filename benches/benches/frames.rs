//! Frame plumbing costs per frame: camera imports, render exports, scaling.
//!
//! `cargo bench -p rtvc-benches --bench frames`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtvc_codec::convert::{Nv12Ref, PackedFormat, PackedRef};
use rtvc_codec::scale::Scaler;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{ColorSpace, Frame};

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
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = frames
}
criterion_main!(benches);
