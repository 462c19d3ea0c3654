//! `rtvc soak`: encode and decode continuously with everything a call throws at the codecs —
//! random bitrate changes, keyframe requests, resolution changes and damaged packets — and
//! watch memory. Resident memory must stay flat; every error must be a typed, recoverable one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Args;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecodeError, DecoderConfig, EncodeOutcome, EncoderConfig, Packet,
    Rates, RecoveryAction, VideoDecoder, VideoEncoder,
};
use rtvc_testkit::rng::XorShift64;
use serde::Serialize;

use crate::CliError;
use crate::util::round;

/// Arguments of `rtvc soak`.
#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How long to run.
    #[arg(long, default_value_t = 1.0)]
    pub minutes: f64,
    /// Random seed (runs are reproducible per seed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Largest frame size of the resolution ladder.
    #[arg(long, default_value = "640x360", value_parser = crate::util::parse_size)]
    pub max_size: (u32, u32),
    /// Allowed growth of resident memory between the first and the last minute, MiB.
    #[arg(long, default_value_t = 16.0)]
    pub max_growth_mib: f64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Resident set size of this process, KiB (Linux `/proc/self/status`).
pub fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One encoder → (damaging channel) → decoder pipe.
struct Pipe {
    codec: CodecKind,
    enc: Box<dyn VideoEncoder>,
    dec: Box<dyn VideoDecoder>,
    keyframe_requested: bool,
    stats: PipeStats,
}

#[derive(Debug, Default, Clone, Serialize)]
struct PipeStats {
    frames: u64,
    encoded: u64,
    dropped: u64,
    keyframes: u64,
    decoded: u64,
    damaged_packets: u64,
    lost_packets: u64,
    decode_errors: BTreeMap<String, u64>,
    keyframe_requests: u64,
}

#[derive(Debug, Serialize)]
struct RssSample {
    minute: f64,
    rss_mib: f64,
}

#[derive(Debug, Serialize)]
struct SoakReport {
    minutes: f64,
    seed: u64,
    frames: u64,
    bitrate_changes: u64,
    resolution_changes: u64,
    av1: PipeStats,
    h264: PipeStats,
    rss_first_minute_max_mib: f64,
    rss_last_minute_max_mib: f64,
    rss_peak_mib: f64,
    rss_growth_mib: f64,
    rss_flat: bool,
    samples: Vec<RssSample>,
}

fn error_kind(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::Corrupt { .. } => "corrupt",
        DecodeError::MissingReference { .. } => "missing_reference",
        DecodeError::Unsupported { .. } => "unsupported",
        DecodeError::Backend { .. } => "backend",
        _ => "other",
    }
}

impl Pipe {
    fn new(codec: CodecKind, w: u32, h: u32, max: (u32, u32)) -> Result<Self, CliError> {
        let reg = CodecRegistry::with_builtin();
        let mut cfg = EncoderConfig::new(codec, w, h, 600_000, 30.0);
        cfg.max_size = Some(max);
        Ok(Self {
            codec,
            enc: reg.create_call_encoder(&cfg)?,
            dec: reg.create_decoder(codec, &DecoderConfig::default())?,
            keyframe_requested: false,
            stats: PipeStats::default(),
        })
    }

    fn step(&mut self, frame: &rtvc_codec::Frame, rng: &mut XorShift64) -> Result<(), CliError> {
        self.stats.frames += 1;
        let force = std::mem::take(&mut self.keyframe_requested) || rng.chance(5);
        let out = match self.enc.encode(frame, force)? {
            EncodeOutcome::Encoded(e) => e,
            EncodeOutcome::Dropped(_) => {
                self.stats.dropped += 1;
                return Ok(());
            }
            other => {
                return Err(CliError::Check(format!(
                    "zero-delay encoder returned {other:?}"
                )));
            }
        };
        self.stats.encoded += 1;
        self.stats.keyframes += u64::from(out.keyframe);
        // The channel: lose 1 %, damage 2 % (bit flips or truncation).
        if rng.chance(10) {
            self.stats.lost_packets += 1;
            return Ok(());
        }
        let mut data = out.data.to_vec();
        if rng.chance(20) && !data.is_empty() {
            self.stats.damaged_packets += 1;
            if rng.chance(500) {
                data.truncate(rng.below(data.len() as u64) as usize);
            } else {
                for _ in 0..1 + rng.below(8) {
                    let bit = rng.below(data.len() as u64 * 8) as usize;
                    data[bit / 8] ^= 1 << (bit % 8);
                }
            }
        }
        match self.dec.decode(&Packet::new(data, out.timestamp_us)) {
            Ok(Some(_)) => self.stats.decoded += 1,
            Ok(None) => {}
            Err(e) => {
                *self
                    .stats
                    .decode_errors
                    .entry(error_kind(&e).to_string())
                    .or_default() += 1;
                match e.action() {
                    RecoveryAction::DropAndRequestKeyframe | RecoveryAction::RequestKeyframe => {
                        if !self.keyframe_requested {
                            self.stats.keyframe_requests += 1;
                        }
                        self.keyframe_requested = true;
                    }
                    RecoveryAction::SwitchDecoder | RecoveryAction::RecreateDecoder => {
                        return Err(CliError::Check(format!(
                            "{}: decoder needs replacing after damaged input: {e}",
                            self.codec
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Runs `rtvc soak`.
pub fn run(args: &SoakArgs) -> Result<(), CliError> {
    let (mw, mh) = args.max_size;
    let even = |v: u32| (v.max(16) / 2) * 2;
    let ladder: Vec<(u32, u32)> = [1.0, 0.75, 0.5, 0.25]
        .iter()
        .map(|s| (even((mw as f64 * s) as u32), even((mh as f64 * s) as u32)))
        .collect();
    let mut rng = XorShift64::seeded(args.seed.max(1));
    let mut size = ladder[0];
    let mut scene = SyntheticScene::new(size.0, size.1, 30.0).map_err(rtvc_codec::Error::from)?;
    let mut pipes = [
        Pipe::new(CodecKind::Av1, size.0, size.1, args.max_size)?,
        Pipe::new(CodecKind::H264, size.0, size.1, args.max_size)?,
    ];
    let duration = Duration::from_secs_f64(args.minutes.max(0.0) * 60.0);
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next_sample = Duration::ZERO;
    let (mut frames, mut bitrate_changes, mut resolution_changes) = (0u64, 0u64, 0u64);
    while started.elapsed() < duration || frames == 0 {
        let elapsed = started.elapsed();
        if elapsed >= next_sample {
            if let Some(kib) = rss_kib() {
                samples.push(RssSample {
                    minute: round(elapsed.as_secs_f64() / 60.0, 2),
                    rss_mib: round(kib as f64 / 1024.0, 1),
                });
                if !args.json {
                    eprintln!(
                        "[{:6.2} min] rss {:.1} MiB, {} frames",
                        elapsed.as_secs_f64() / 60.0,
                        kib as f64 / 1024.0,
                        frames
                    );
                }
            }
            next_sample += Duration::from_secs(10);
        }
        if rng.chance(8) {
            // Camera switch / ladder step.
            let next = ladder[rng.below(ladder.len() as u64) as usize];
            if next != size {
                size = next;
                scene =
                    SyntheticScene::new(size.0, size.1, 30.0).map_err(rtvc_codec::Error::from)?;
                resolution_changes += 1;
            }
        }
        if rng.chance(30) {
            let bps = 50_000 + rng.below(2_000_000) as u32;
            let rates = if rng.chance(20) {
                Rates {
                    bitrate_bps: 0,
                    framerate: 30.0,
                } // a pause now and then
            } else {
                Rates {
                    bitrate_bps: bps,
                    framerate: 15.0 + rng.below(16) as f64,
                }
            };
            for p in pipes.iter_mut() {
                p.enc.set_rates(rates)?;
            }
            bitrate_changes += 1;
        }
        let frame = scene.frame(frames);
        for p in pipes.iter_mut() {
            p.step(&frame, &mut rng)?;
        }
        frames += 1;
    }
    if let Some(kib) = rss_kib() {
        samples.push(RssSample {
            minute: round(started.elapsed().as_secs_f64() / 60.0, 2),
            rss_mib: round(kib as f64 / 1024.0, 1),
        });
    }
    let total_min = started.elapsed().as_secs_f64() / 60.0;
    let max_in = |from: f64, to: f64| {
        samples
            .iter()
            .filter(|s| s.minute >= from && s.minute <= to)
            .map(|s| s.rss_mib)
            .fold(0.0, f64::max)
    };
    let first = max_in(0.0, 1.0_f64.min(total_min));
    let last = max_in((total_min - 1.0).max(0.0), total_min);
    let peak = samples.iter().map(|s| s.rss_mib).fold(0.0, f64::max);
    let growth = last - first;
    let [av1, h264] = pipes.map(|p| p.stats);
    let report = SoakReport {
        minutes: round(total_min, 2),
        seed: args.seed,
        frames,
        bitrate_changes,
        resolution_changes,
        av1,
        h264,
        rss_first_minute_max_mib: first,
        rss_last_minute_max_mib: last,
        rss_peak_mib: peak,
        rss_growth_mib: round(growth, 1),
        rss_flat: growth <= args.max_growth_mib,
        samples,
    };
    if args.json {
        crate::print_json(&report)?;
    } else {
        println!(
            "soak {:.2} min, seed {}: {} frames, {} bitrate changes, {} resolution changes",
            report.minutes,
            report.seed,
            report.frames,
            report.bitrate_changes,
            report.resolution_changes
        );
        for (name, s) in [("av1", &report.av1), ("h264", &report.h264)] {
            println!(
                "  {name}: {} encoded, {} dropped, {} keyframes ({} requested), {} lost + {} damaged packets, {} decoded, errors {:?}",
                s.encoded,
                s.dropped,
                s.keyframes,
                s.keyframe_requests,
                s.lost_packets,
                s.damaged_packets,
                s.decoded,
                s.decode_errors
            );
        }
        println!(
            "  rss: first minute max {:.1} MiB, last minute max {:.1} MiB, peak {:.1} MiB, growth {:+.1} MiB -> {}",
            report.rss_first_minute_max_mib,
            report.rss_last_minute_max_mib,
            report.rss_peak_mib,
            report.rss_growth_mib,
            if report.rss_flat { "flat" } else { "GROWING" }
        );
    }
    if report.rss_flat {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "resident memory grew by {:.1} MiB (allowed {:.1})",
            report.rss_growth_mib, args.max_growth_mib
        )))
    }
}
