//! `rtvc encode`: encode a file or the synthetic scene, report speed, rate and quality.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use rtvc_codec::container::ivf::{self, FOURCC_AV1, IvfWriter};
use rtvc_codec::quality::PsnrAccumulator;
use rtvc_codec::scale::Scaler;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncodedFrame, EncoderConfig, Frame,
    Packet, VideoDecoder,
};
use serde::Serialize;

use crate::CliError;
use crate::source::FrameSource;
use crate::util::{parse_bitrate, parse_size, percentile_ms, progress, round};

/// Arguments of `rtvc encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// Input: .y4m, H.264 Annex B (.264/.h264), AV1 .ivf, or synthetic:WIDTHxHEIGHT.
    #[arg(long)]
    pub input: String,
    /// Output: .ivf for AV1, .264/.h264 for H.264.
    #[arg(long)]
    pub output: PathBuf,
    /// Codec to encode.
    #[arg(long, value_parser = parse_codec)]
    pub codec: CodecKind,
    /// Encoder backend (default: the registry's call encoder for the codec).
    #[arg(long)]
    pub encoder: Option<String>,
    /// Target bitrate, e.g. 1200k, 1.2M or 800000.
    #[arg(long, value_parser = parse_bitrate)]
    pub bitrate: u32,
    /// Frame rate (default: from the input, else 30).
    #[arg(long)]
    pub fps: Option<f64>,
    /// Scale the input to WIDTHxHEIGHT before encoding.
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(u32, u32)>,
    /// Encoder threads (default: by resolution and cores).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Stop after N frames (the synthetic scene defaults to 300).
    #[arg(long)]
    pub frames: Option<u64>,
    /// Decode the output and report PSNR against the encoder's input (ffmpeg-style y/average).
    #[arg(long)]
    pub psnr: bool,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Temporal layers: L1T1 (default), L1T2 or L1T3. AV1 frames then carry their layer in
    /// every OBU's extension header, so any tool can drop the highest layer.
    #[arg(long, value_parser = parse_scalability_mode, default_value = "L1T1")]
    pub scalability_mode: u8,
}

/// Parses `L1T1` / `L1T2` / `L1T3` into a number of temporal layers.
pub(crate) fn parse_scalability_mode(s: &str) -> Result<u8, String> {
    match s.to_ascii_uppercase().as_str() {
        "L1T1" => Ok(1),
        "L1T2" => Ok(2),
        "L1T3" => Ok(3),
        _ => Err(format!(
            "unsupported scalability mode {s:?} (L1T1, L1T2 or L1T3)"
        )),
    }
}

pub(crate) fn parse_codec(s: &str) -> Result<CodecKind, String> {
    CodecKind::parse(s).ok_or_else(|| format!("unknown codec {s:?} (av1 or h264)"))
}

/// The report `--json` prints.
#[derive(Debug, Serialize)]
pub struct EncodeReport {
    pub encoder: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames_in: u64,
    pub frames_out: u64,
    pub frames_dropped: u64,
    pub keyframes: u64,
    pub max_frame_delay: u64,
    pub target_kbps: f64,
    pub kbps: f64,
    pub bytes: u64,
    pub fps: f64,
    pub wall_fps: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub threads: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psnr_y: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psnr_avg: Option<f64>,
    pub output: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub input_decode_errors: u64,
    /// `L1T1`, `L1T2` or `L1T3`.
    pub scalability_mode: String,
    /// Frames out per temporal layer (index = temporal id).
    pub frames_per_layer: Vec<u64>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

enum Sink {
    Ivf(IvfWriter<BufWriter<File>>, (u32, u32)),
    AnnexB(BufWriter<File>),
}

impl Sink {
    fn open(
        path: &std::path::Path,
        codec: CodecKind,
        w: u32,
        h: u32,
        fps: f64,
    ) -> Result<Self, CliError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let f = || {
            File::create(path)
                .map(BufWriter::new)
                .map_err(|e| CliError::io(path, e))
        };
        match (codec, ext.as_str()) {
            (CodecKind::Av1, "ivf") => {
                // A timebase in which every frame time is a whole number (1/30 at 30 fps).
                let timebase = ivf::timebase_for_fps(fps);
                let (w16, h16) = (u16::try_from(w), u16::try_from(h));
                let (Ok(w16), Ok(h16)) = (w16, h16) else {
                    return Err(CliError::Usage(
                        "IVF cannot describe sizes above 65535".into(),
                    ));
                };
                Ok(Sink::Ivf(
                    IvfWriter::new(f()?, FOURCC_AV1, w16, h16, timebase.0, timebase.1)?,
                    timebase,
                ))
            }
            (CodecKind::H264, "264" | "h264") => Ok(Sink::AnnexB(f()?)),
            (c, e) => Err(CliError::Usage(format!(
                "output {} does not fit {c}: use .ivf for AV1 and .264/.h264 for H.264 (got .{e})",
                path.display()
            ))),
        }
    }

    fn write(&mut self, e: &EncodedFrame) -> Result<(), CliError> {
        match self {
            Sink::Ivf(w, timebase) => {
                w.write_frame(&e.data, ivf::pts_from_us(e.timestamp_us, *timebase))?
            }
            Sink::AnnexB(w) => w.write_all(&e.data).map_err(CliError::Write)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<(), CliError> {
        match self {
            Sink::Ivf(w, _) => {
                w.finish()?.flush().map_err(CliError::Write)?;
            }
            Sink::AnnexB(mut w) => w.flush().map_err(CliError::Write)?,
        }
        Ok(())
    }
}

/// Bookkeeping of encoder outputs: counts, delay, and PSNR against the inputs they came from.
#[derive(Default)]
struct Tally {
    frames_out: u64,
    keyframes: u64,
    bytes: u64,
    max_delay: u64,
    psnr: PsnrAccumulator,
    /// Inputs waiting for their output (delayed encoders), by timestamp: (index, frame).
    waiting: HashMap<i64, (u64, Option<Frame>)>,
    order: VecDeque<i64>,
}

impl Tally {
    fn expect(&mut self, ts: i64, index: u64, frame: Option<Frame>) {
        self.waiting.insert(ts, (index, frame));
        self.order.push_back(ts);
        // Bound the bookkeeping even if an encoder never answers for some timestamp.
        while self.order.len() > 64 {
            if let Some(old) = self.order.pop_front() {
                self.waiting.remove(&old);
            }
        }
    }

    fn forget(&mut self, ts: i64) {
        self.waiting.remove(&ts);
    }

    fn output(
        &mut self,
        e: EncodedFrame,
        frames_in: u64,
        decoder: &mut Option<Box<dyn VideoDecoder>>,
        sink: &mut Sink,
    ) -> Result<(), CliError> {
        self.frames_out += 1;
        self.keyframes += u64::from(e.keyframe);
        self.bytes += e.data.len() as u64;
        let (index, src) = self
            .waiting
            .remove(&e.timestamp_us)
            .unwrap_or((frames_in - 1, None));
        self.max_delay = self.max_delay.max(frames_in - 1 - index);
        sink.write(&e)?;
        if let (Some(dec), Some(src)) = (decoder.as_mut(), src) {
            let pic = dec
                .decode(&Packet::from(&e))
                .map_err(|err| {
                    CliError::Check(format!("our decoder rejected our own output: {err}"))
                })?
                .ok_or_else(|| {
                    CliError::Check("our decoder returned no picture for a frame".into())
                })?;
            self.psnr.add(&src, &pic).map_err(rtvc_codec::Error::from)?;
        }
        Ok(())
    }
}

/// Runs `rtvc encode`.
pub fn run(args: &EncodeArgs) -> Result<EncodeReport, CliError> {
    let mut source = FrameSource::open(&args.input, args.fps)?;
    let fps = source.fps(args.fps);
    let limit = args.frames.or(match source {
        FrameSource::Synthetic { .. } => Some(300),
        _ => None,
    });
    let Some(first) = source.next_frame()? else {
        return Err(CliError::Usage(format!("{} holds no frames", args.input)));
    };
    let (w, h) = args.size.unwrap_or((first.width(), first.height()));

    let registry = CodecRegistry::with_builtin();
    let mut cfg = EncoderConfig::new(args.codec, w, h, args.bitrate, fps);
    cfg.threads = args.threads;
    cfg.temporal_layers = args.scalability_mode;
    let mut encoder = match &args.encoder {
        Some(name) => registry.create_encoder_named(name, &cfg)?,
        None => registry.create_call_encoder(&cfg)?,
    };
    let info = encoder.info();
    let mut decoder: Option<Box<dyn VideoDecoder>> = if args.psnr {
        Some(registry.create_decoder(args.codec, &DecoderConfig::default())?)
    } else {
        None
    };
    let mut sink = Sink::open(&args.output, args.codec, w, h, fps)?;
    let mut scaler = Scaler::new();
    let bar = progress(limit, args.json);

    let mut tally = Tally::default();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut encode_total = Duration::ZERO;
    let (mut frames_in, mut dropped) = (0u64, 0u64);
    let mut per_layer = vec![0u64; usize::from(args.scalability_mode)];
    let started = Instant::now();

    let mut next = Some(first);
    while let Some(mut frame) = next.take() {
        if limit.is_some_and(|l| frames_in >= l) {
            break;
        }
        // Timestamps follow the encode frame rate, whatever the source said.
        frame.set_timestamp_us((frames_in as f64 * 1e6 / fps).round() as i64);
        let input = if (frame.width(), frame.height()) != (w, h) {
            scaler
                .scale(&frame, w, h)
                .map_err(rtvc_codec::Error::from)?
        } else {
            frame
        };
        let ts = input.timestamp_us();
        // Latency is what the caller waits for: the whole encode() call, drops included.
        let t0 = Instant::now();
        let outcome = encoder.encode(&input, false)?;
        let dt = t0.elapsed();
        latencies.push(dt);
        encode_total += dt;
        frames_in += 1;
        tally.expect(ts, frames_in - 1, args.psnr.then_some(input));
        let mut outputs = Vec::new();
        match outcome {
            EncodeOutcome::Encoded(e) => outputs.push(e),
            EncodeOutcome::Dropped(_) => {
                dropped += 1;
                tally.forget(ts);
            }
            _ => {}
        }
        outputs.extend(encoder.take_ready());
        for e in outputs {
            let layer = usize::from(e.temporal_id);
            if per_layer.len() <= layer {
                per_layer.resize(layer + 1, 0);
            }
            per_layer[layer] += 1;
            tally.output(e, frames_in, &mut decoder, &mut sink)?;
        }
        bar.inc(1);
        next = source.next_frame()?;
    }
    let t0 = Instant::now();
    let rest = encoder.flush()?;
    encode_total += t0.elapsed();
    for e in rest {
        tally.output(e, frames_in, &mut decoder, &mut sink)?;
    }
    sink.finish()?;
    bar.finish_and_clear();
    let wall = started.elapsed();
    let Tally {
        frames_out,
        keyframes,
        bytes,
        max_delay,
        psnr,
        ..
    } = tally;

    latencies.sort();
    let seconds = frames_in as f64 / fps;
    Ok(EncodeReport {
        encoder: info.implementation.to_string(),
        codec: args.codec.to_string(),
        width: w,
        height: h,
        frames_in,
        frames_out,
        frames_dropped: dropped,
        keyframes,
        max_frame_delay: max_delay,
        target_kbps: round(f64::from(args.bitrate) / 1e3, 1),
        kbps: round(
            if seconds > 0.0 {
                bytes as f64 * 8.0 / seconds / 1e3
            } else {
                0.0
            },
            1,
        ),
        bytes,
        fps: round(frames_in as f64 / encode_total.as_secs_f64().max(1e-9), 1),
        wall_fps: round(frames_in as f64 / wall.as_secs_f64().max(1e-9), 1),
        latency_ms_p50: round(percentile_ms(&latencies, 50.0), 2),
        latency_ms_p99: round(percentile_ms(&latencies, 99.0), 2),
        latency_ms_max: round(latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3), 2),
        threads: args.threads,
        psnr_y: psnr.psnr_y().map(|v| round(v, 3)),
        psnr_avg: psnr.psnr_avg().map(|v| round(v, 3)),
        output: args.output.display().to_string(),
        input_decode_errors: source.decode_errors(),
        scalability_mode: format!("L1T{}", args.scalability_mode),
        frames_per_layer: per_layer,
    })
}

/// Prints the human summary.
pub fn print_summary(r: &EncodeReport) {
    println!(
        "{} {} {}x{}: {} frames in, {} out, {} dropped, {} keyframes, max delay {} frames",
        r.encoder,
        r.codec,
        r.width,
        r.height,
        r.frames_in,
        r.frames_out,
        r.frames_dropped,
        r.keyframes,
        r.max_frame_delay
    );
    println!(
        "rate: {:.1} kbps (target {:.1} kbps, {:+.1} %), {} bytes -> {}",
        r.kbps,
        r.target_kbps,
        if r.target_kbps > 0.0 {
            100.0 * (r.kbps / r.target_kbps - 1.0)
        } else {
            0.0
        },
        r.bytes,
        r.output
    );
    println!(
        "speed: {:.1} fps encoding ({:.1} fps wall), latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.fps, r.wall_fps, r.latency_ms_p50, r.latency_ms_p99, r.latency_ms_max
    );
    if let (Some(y), Some(a)) = (r.psnr_y, r.psnr_avg) {
        println!("quality: PSNR y {y:.2} dB, average {a:.2} dB");
    }
    if r.input_decode_errors > 0 {
        println!(
            "warning: {} input packets could not be decoded",
            r.input_decode_errors
        );
    }
}
