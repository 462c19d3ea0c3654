//! What one codec costs here at one size: per-frame encode and decode times (wall, p50 and p99,
//! and CPU of all threads), bitrate, and the heap one encoder and one decoder instance take —
//! the measurements `rtvc bench` turns into a device class's headroom.

use std::time::Instant;

use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncoderConfig, Frame, Packet,
};
use serde::Serialize;

use crate::heap::{Peak, process_cpu_ms};

/// Per-frame times of one side (encode or decode).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Timing {
    /// Median wall time per call, ms.
    pub p50_ms: f64,
    /// 99th percentile wall time per call, ms.
    pub p99_ms: f64,
    /// CPU time of all the process's threads per frame, ms (over the whole run).
    pub cpu_ms: f64,
}

/// One codec at one size and thread count, measured here.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// Codec ("AV1", "H.264").
    #[serde(serialize_with = "codec_name")]
    pub codec: CodecKind,
    /// Encoder and decoder implementations (e.g. "libaom", "dav1d").
    pub encoder: String,
    /// Decoder implementation.
    pub decoder: String,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Frame rate the frames were timed at.
    pub fps: f64,
    /// Threads of the encoder and of the decoder.
    pub threads: u32,
    /// Frames encoded (the encoder may skip some).
    pub frames: usize,
    /// Encode-call times.
    pub encode: Timing,
    /// Decode-call times.
    pub decode: Timing,
    /// Bitrate produced, kbps.
    pub kbps: f64,
    /// Peak heap of one encoder instance (created, then every frame), bytes; `None` without
    /// glibc's `mallinfo2`.
    pub encoder_heap_bytes: Option<u64>,
    /// Peak heap of one decoder instance, bytes.
    pub decoder_heap_bytes: Option<u64>,
}

fn codec_name<S: serde::Serializer>(c: &CodecKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.name())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn timing(mut wall_ms: Vec<f64>, cpu_total_ms: Option<f64>, frames: usize) -> Timing {
    wall_ms.sort_by(f64::total_cmp);
    let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
    let sum: f64 = wall_ms.iter().sum();
    Timing {
        p50_ms: r3(percentile(&wall_ms, 50.0)),
        p99_ms: r3(percentile(&wall_ms, 99.0)),
        // Without /proc, the wall time is the best bound we have.
        cpu_ms: r3(cpu_total_ms.unwrap_or(sum) / frames.max(1) as f64),
    }
}

/// Encodes `frames` (timestamps already at `fps`) with the registry's default encoder for
/// `codec`, then decodes the output with its default decoder, both with `threads` threads;
/// measures each side separately (see [`Cost`]).
pub fn measure(
    codec: CodecKind,
    frames: &[Frame],
    fps: f64,
    bitrate_bps: u32,
    threads: u32,
) -> Result<Cost, rtvc_codec::Error> {
    let registry = CodecRegistry::with_builtin();
    let Some((w, h)) = frames.first().map(|f| (f.width(), f.height())) else {
        return Err(rtvc_codec::ConfigError::OutOfRange {
            field: "frames",
            value: "0".into(),
            valid: "at least 1".into(),
        }
        .into());
    };
    let mut cfg = EncoderConfig::new(codec, w, h, bitrate_bps, fps);
    cfg.threads = Some(threads);
    cfg.cores = Some(threads);

    let mut heap = Peak::start();
    let mut enc = registry.create_call_encoder(&cfg)?;
    heap.sample();
    let encoder = enc.info().implementation.to_string();
    let mut packets = Vec::with_capacity(frames.len());
    let mut wall = Vec::with_capacity(frames.len());
    let cpu0 = process_cpu_ms();
    for f in frames {
        let t0 = Instant::now();
        let out = enc.encode(f, false)?;
        wall.push(t0.elapsed().as_secs_f64() * 1e3);
        heap.sample();
        if let EncodeOutcome::Encoded(e) = out {
            packets.push(Packet::new(e.data, e.timestamp_us));
        }
    }
    let cpu = cpu0.zip(process_cpu_ms()).map(|(a, b)| b - a);
    let encode = timing(wall, cpu, frames.len());
    drop(enc);
    let encoder_heap_bytes = heap.bytes();

    let mut dcfg = DecoderConfig::default();
    dcfg.threads = Some(threads);
    let mut heap = Peak::start();
    let mut dec = registry.create_decoder(codec, &dcfg)?;
    heap.sample();
    let decoder = dec.info().implementation.to_string();
    let mut wall = Vec::with_capacity(packets.len());
    let cpu0 = process_cpu_ms();
    for p in &packets {
        let t0 = Instant::now();
        let pic = dec.decode(p)?;
        wall.push(t0.elapsed().as_secs_f64() * 1e3);
        heap.sample();
        drop(pic);
    }
    let cpu = cpu0.zip(process_cpu_ms()).map(|(a, b)| b - a);
    let decode = timing(wall, cpu, packets.len());
    drop(dec);
    let bytes: usize = packets.iter().map(|p| p.data.len()).sum();
    Ok(Cost {
        codec,
        encoder,
        decoder,
        width: w,
        height: h,
        fps,
        threads,
        frames: packets.len(),
        encode,
        decode,
        kbps: (bytes as f64 * 8.0 / (frames.len() as f64 / fps) / 1e3 * 10.0).round() / 10.0,
        encoder_heap_bytes,
        decoder_heap_bytes: heap.bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtvc_codec::synthetic::SyntheticScene;

    #[test]
    fn measures_both_codecs_on_real_frames() {
        let scene = SyntheticScene::new(320, 180, 30.0).expect("scene");
        let frames: Vec<Frame> = (0..20).map(|n| scene.frame(n)).collect();
        for codec in [CodecKind::Av1, CodecKind::H264] {
            let c = measure(codec, &frames, 30.0, 300_000, 1).expect("measure");
            assert!(c.frames >= 15, "{codec}: {} frames", c.frames);
            assert!(c.encode.p50_ms > 0.0 && c.encode.p99_ms >= c.encode.p50_ms);
            assert!(c.decode.p50_ms > 0.0);
            assert!(c.kbps > 10.0, "{codec}: {} kbps", c.kbps);
            if let Some(b) = c.encoder_heap_bytes {
                // An encoder keeps at least a few reference frames of 320x180 (86 kB each).
                assert!(b > 100_000, "{codec}: encoder heap {b}");
                assert!(c.decoder_heap_bytes.expect("glibc") > 50_000);
            }
        }
    }
}
