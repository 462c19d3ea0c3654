//! Per-frame encode and decode cost at 360p (camera content from the synthetic scene).
//!
//! `cargo bench -p rtvc-benches --bench codecs`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncodedFrame, EncoderConfig, Packet,
};

fn encode_stream(name: &str, codec: CodecKind, n: u64) -> Vec<EncodedFrame> {
    let reg = CodecRegistry::with_builtin();
    let mut cfg = EncoderConfig::new(codec, 640, 360, 500_000, 30.0);
    cfg.frame_dropping = false;
    cfg.threads = Some(2);
    let mut enc = reg.create_encoder_named(name, &cfg).unwrap();
    let scene = SyntheticScene::new(640, 360, 30.0).unwrap();
    (0..n)
        .filter_map(|i| match enc.encode(&scene.frame(i), false).unwrap() {
            EncodeOutcome::Encoded(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn codecs(c: &mut Criterion) {
    let reg = CodecRegistry::with_builtin();
    let scene = SyntheticScene::new(640, 360, 30.0).unwrap();
    let frames: Vec<_> = (0..60).map(|i| scene.frame(i)).collect();

    let mut g = c.benchmark_group("encode_360p_500k");
    g.throughput(Throughput::Elements(1));
    for (name, codec) in [("libaom", CodecKind::Av1), ("openh264", CodecKind::H264)] {
        let mut cfg = EncoderConfig::new(codec, 640, 360, 500_000, 30.0);
        cfg.threads = Some(2);
        let mut enc = reg.create_encoder_named(name, &cfg).unwrap();
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                // The frames repeat, their capture times must not: a clone shares the pixels.
                let mut f = frames[i % frames.len()].clone();
                f.set_timestamp_us(i as i64 * 33_333);
                enc.encode(&f, false).unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decode_360p_500k_60_frames");
    g.throughput(Throughput::Elements(60));
    for (name, codec) in [("libaom", CodecKind::Av1), ("openh264", CodecKind::H264)] {
        let stream = encode_stream(name, codec, 60);
        g.bench_function(codec.name(), |b| {
            b.iter_batched(
                || {
                    reg.create_decoder(codec, &DecoderConfig::default())
                        .unwrap()
                },
                |mut dec| {
                    for p in &stream {
                        dec.decode(&Packet::from(p)).unwrap();
                    }
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = codecs
}
criterion_main!(benches);
