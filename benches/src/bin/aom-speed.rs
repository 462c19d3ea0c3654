//! libaom's speed per frame size: bitrate, PSNR-Y and encode time of rtvc's libaom encoder at
//! each `cpu-used` on the same frames — the data the default speed table (`speed_for` in
//! `codec/src/av1/aom/mod.rs`) was chosen from.
//!
//! ```text
//! cargo run --release -p rtvc-benches --bin aom-speed [-- CLIP] [--reps N] [--json]
//! ```
//!
//! Environment: `SPEEDS` (default `6,7,8,9,10`), `THREADS` (default 2), `HEIGHT` (one of 180,
//! 360, 720, 1080; default all), `BUFFER` (libaom's rate buffer `initial,optimal,size` in ms;
//! default libwebrtc's 600,600,1000). The clip is scaled to each size; 150 frames at 30 fps;
//! a three-point ladder per size; the fastest of `--reps` runs is reported (PSNR and bytes do not
//! change between runs). Time is inside the encode calls; PSNR-Y is ffmpeg-style against the
//! encoder's input, frames the encoder skipped are counted in the `frames` column.

use rtvc_benches::{BenchArgs, Measure, Run, load_clip};
use rtvc_codec::encoder::RateBuffer;
use rtvc_codec::{CodecKind, CodecRegistry, EncodeOutcome, EncoderConfig, Frame};

/// Sizes and their bitrate ladders (kbps).
const SIZES: [((u32, u32), [u32; 3]); 4] = [
    ((320, 180), [60, 120, 240]),
    ((640, 360), [200, 400, 800]),
    ((1280, 720), [600, 1200, 2400]),
    ((1920, 1080), [1200, 2400, 4800]),
];

fn env_list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    let v = std::env::var(name).unwrap_or_else(|_| default.to_string());
    v.split(',')
        .map(|s| {
            s.trim().parse().unwrap_or_else(|_| {
                eprintln!("{name}: cannot parse {s:?}");
                std::process::exit(2)
            })
        })
        .collect()
}

fn encode(frames: &[Frame], kbps: u32, speed: u8, threads: u32, buffer: RateBuffer) -> Run {
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut cfg = EncoderConfig::new(CodecKind::Av1, w, h, kbps * 1000, 30.0);
    cfg.threads = Some(threads);
    cfg.speed = Some(speed);
    cfg.rate_buffer = buffer;
    let mut enc = CodecRegistry::with_builtin()
        .create_encoder_named("libaom", &cfg)
        .expect("encoder");
    let mut m = Measure::new(&format!("libaom speed {speed}"), CodecKind::Av1, (w, h));
    for f in frames {
        let t0 = std::time::Instant::now();
        let out = enc.encode(f, false).expect("encode");
        m.time(t0.elapsed());
        if let EncodeOutcome::Encoded(e) = out {
            m.output(f, &e.data, e.keyframe);
        }
    }
    m.finish()
}

fn main() {
    let args = BenchArgs::from_env();
    let speeds: Vec<u8> = env_list("SPEEDS", "6,7,8,9,10");
    let threads: u32 = env_list("THREADS", "2")[0];
    let only: Option<u32> = std::env::var("HEIGHT").ok().and_then(|v| v.parse().ok());
    let buffer = match std::env::var("BUFFER") {
        Ok(_) => {
            let v: Vec<u32> = env_list("BUFFER", "");
            if v.len() != 3 {
                eprintln!("BUFFER: initial,optimal,size in ms");
                std::process::exit(2);
            }
            RateBuffer {
                initial_ms: v[0],
                optimal_ms: v[1],
                size_ms: v[2],
            }
        }
        Err(_) => RateBuffer::default(),
    };
    for (size, ladder) in SIZES {
        if only.is_some_and(|h| h != size.1) {
            continue;
        }
        let frames = load_clip(&args.clip, Some(size), 150).expect("clip");
        for &speed in &speeds {
            for kbps in ladder {
                let r = (0..args.reps)
                    .map(|_| encode(&frames, kbps, speed, threads, buffer))
                    .max_by(|a, b| a.fps.total_cmp(&b.fps))
                    .expect("one rep");
                if args.json {
                    println!("{}", serde_json::to_string(&r).expect("json"));
                } else {
                    println!(
                        "{}x{} speed {speed:>2} {threads} threads {kbps:>5}k: {:>7.1} kbps \
                         PSNR-Y {:.2} dB {:>6.0} fps p99 {:>5.1} ms frames {}",
                        size.0, size.1, r.kbps, r.psnr_y, r.fps, r.p99_ms, r.frames
                    );
                }
            }
        }
    }
}
