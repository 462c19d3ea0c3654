//! `rtvc bench`: what each device class can do, from costs measured here and the class's
//! declared speed.
//!
//! For every call mode of a profile (`benches/profiles/*.toml`), the policy decides what to send
//! (codec, size, frame rate, hardware or software: the decision `rtvc_policy_decide` returns);
//! then this machine encodes and decodes the clip at that size with the profile's thread count
//! and measures wall time per frame (p50, p99), CPU time per frame (all threads) and the heap one
//! encoder and one decoder instance take. The device's headroom is its CPU budget per frame
//! interval over the estimated CPU the mode needs there (this machine's CPU time divided by the
//! declared per-core speed factor): an **estimate** for devices we do not run on. Both codecs are
//! also measured in software at the mode's size, so a team sees what it would cost without the
//! hardware path.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rtvc_benches::cost::{Cost, measure};
use rtvc_benches::profile::{Mode, Profile, size_16_9};
use rtvc_codec::scale::Scaler;
use rtvc_codec::{CodecKind, Frame};
use rtvc_webrtc::policy::{CodecPath, Decision};
use serde::Serialize;

use crate::CliError;
use crate::source::FrameSource;
use crate::util::round;

/// `rtvc bench` arguments.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A built-in profile (iphone-flagship, iphone-5yo, android-low-end, laptop, this-machine)
    /// or a profile file (.toml); all built-in profiles when absent.
    #[arg(long)]
    pub profile: Option<String>,
    /// The clip (Y4M, H.264 Annex B, AV1 IVF) or `synthetic:WxH`; default the shared
    /// talking-head clip (`$RTVC_SHARED/clips/talking_head_1280x720_30fps.264`).
    #[arg(long)]
    pub clip: Option<String>,
    /// Frames per measurement.
    #[arg(long, default_value_t = 150)]
    pub frames: usize,
    /// Geekbench 6 single-core score of the machine running this (default: the built-in
    /// `this-machine` profile's, the machine the profiles' factors were declared against).
    #[arg(long)]
    pub host_score: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print the report as a Markdown table.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
}

/// A codec's software cost in a mode and what it leaves of the device's budget.
#[derive(Debug, Clone, Serialize)]
pub struct Software {
    /// "av1" or "h264".
    pub codec: String,
    /// Encoder and decoder implementations.
    pub encoder: String,
    /// Decoder implementation.
    pub decoder: String,
    /// Encode wall time per frame here, ms (p50 / p99).
    pub encode_ms_p50: f64,
    /// p99.
    pub encode_ms_p99: f64,
    /// Encode CPU time per frame here (all threads), ms.
    pub encode_cpu_ms: f64,
    /// Decode wall time per frame here, ms (p50).
    pub decode_ms_p50: f64,
    /// Decode CPU time per frame here, ms.
    pub decode_cpu_ms: f64,
    /// Bitrate produced, kbps.
    pub kbps: f64,
    /// Peak heap of one encoder instance, MiB.
    pub encoder_heap_mib: Option<f64>,
    /// Peak heap of one decoder instance, MiB.
    pub decoder_heap_mib: Option<f64>,
    /// Budget over need with everything in software (one encode, every remote stream decoded):
    /// an estimate through the declared speed factor.
    pub headroom_estimate: f64,
}

/// What the policy picks in one mode, and what it costs.
#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    /// The mode's name.
    pub mode: String,
    /// Remote streams decoded.
    pub remote_streams: u32,
    /// Codec the policy picks.
    pub codec: String,
    /// "hardware" or "software".
    pub path: String,
    /// Size it sends.
    pub width: u32,
    /// Size it sends.
    pub height: u32,
    /// Frame rate.
    pub fps: f64,
    /// The policy's own estimate of the budget used (from its built-in cost table).
    pub policy_budget_used: f64,
    /// The policy's reason.
    pub reason: String,
    /// Software encode wall time of the picked codec at the picked size here, ms (p50).
    pub encode_ms_p50: f64,
    /// p99.
    pub encode_ms_p99: f64,
    /// Decode wall time per remote stream here, ms (p50).
    pub decode_ms_p50: f64,
    /// CPU time the device needs per frame interval (encode unless in hardware, plus every
    /// remote stream's decode unless in hardware), device milliseconds: an estimate.
    pub cpu_ms_per_interval_estimate: f64,
    /// The device's CPU budget per frame interval (cores × budget share × interval), ms.
    pub budget_ms_per_interval: f64,
    /// Budget over need (≥ 1 fits): an estimate; `None` when everything is in hardware.
    pub headroom_estimate: Option<f64>,
    /// The p99 encode time on the device (this machine's over the speed factor) is under the
    /// frame interval: an estimate. Always true with a hardware encoder.
    pub realtime_estimate: bool,
    /// Peak heap of one encoder instance of the picked codec, MiB (software).
    pub encoder_heap_mib: Option<f64>,
    /// Peak heap of one decoder instance, MiB (software).
    pub decoder_heap_mib: Option<f64>,
    /// Both codecs in software at the mode's own size.
    pub software: Vec<Software>,
}

/// One profile's report.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    /// Profile name.
    pub name: String,
    /// What it stands for.
    pub description: String,
    /// Cores video may use.
    pub cores: u32,
    /// Share of them video may take.
    pub cpu_budget: f64,
    /// Threads the measurements here used (the profile's cores, at most this machine's).
    pub threads: u32,
    /// Declared per-core speed over this machine's (an estimate).
    pub relative_speed: f64,
    /// Where the device's score comes from.
    pub speed_source: String,
    /// Its modes.
    pub modes: Vec<ModeReport>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The clip measured.
    pub clip: String,
    /// Frames per measurement.
    pub frames: usize,
    /// This machine's cores.
    pub host_cores: u32,
    /// This machine's declared Geekbench 6 single-core score.
    pub host_score: u32,
    /// Every profile.
    pub profiles: Vec<ProfileReport>,
}

/// One measurement's key: codec, height, fps, kbps, threads.
type Key = (CodecKind, u32, u32, u32, u32);

/// A profile, the threads it is measured with, and the policy's decision per mode.
type Plan = Vec<(Profile, u32, Vec<(Mode, Decision)>)>;

fn mib(b: Option<u64>) -> Option<f64> {
    b.map(|b| round(b as f64 / (1 << 20) as f64, 1))
}

fn default_clip() -> Result<String, CliError> {
    let path = rtvc_testkit::shared::shared_dir()
        .map(|d| d.join("clips/talking_head_1280x720_30fps.264"))
        .filter(|p| p.exists());
    match path {
        Some(p) => Ok(p.canonicalize().unwrap_or(p).display().to_string()),
        None => Err(CliError::Usage(
            "no --clip given and the shared talking-head clip is not found (set RTVC_SHARED or \
             pass --clip FILE or --clip synthetic:1280x720)"
                .into(),
        )),
    }
}

/// The frames of the clip at its own size (at most `n`).
fn load(spec: &str, n: usize) -> Result<Vec<Frame>, CliError> {
    let mut source = FrameSource::open(spec, None)?;
    let mut frames = Vec::with_capacity(n);
    while frames.len() < n {
        let Some(f) = source.next_frame()? else { break };
        frames.push(f);
    }
    if frames.len() < 10 {
        return Err(CliError::Usage(format!("{spec} has fewer than 10 frames")));
    }
    Ok(frames)
}

/// The clip at `size`, timestamped at `fps`.
fn frames_at(
    clip: &[Frame],
    size: (u32, u32),
    fps: f64,
    scaler: &mut Scaler,
) -> Result<Vec<Frame>, CliError> {
    clip.iter()
        .enumerate()
        .map(|(i, f)| {
            let mut f = if (f.width(), f.height()) == size {
                f.clone()
            } else {
                scaler
                    .scale(f, size.0, size.1)
                    .map_err(rtvc_codec::Error::from)?
            };
            f.set_timestamp_us((i as f64 * 1e6 / fps).round() as i64);
            Ok(f)
        })
        .collect()
}

/// Runs the benchmark.
pub fn run(args: &BenchArgs) -> Result<BenchReport, CliError> {
    if !(10..=10_000).contains(&args.frames) {
        return Err(CliError::Usage("--frames: 10..=10000".into()));
    }
    let profiles = match &args.profile {
        Some(p) => vec![Profile::find(p).map_err(|e| CliError::Usage(e.to_string()))?],
        None => Profile::builtin(),
    };
    let host_score = match args.host_score {
        Some(s) if (100..=20_000).contains(&s) => s,
        Some(s) => {
            return Err(CliError::Usage(format!(
                "--host-score {s}: a Geekbench 6 single-core score, 100..=20000"
            )));
        }
        None => Profile::reference()
            .map(|p| p.geekbench6_single_core)
            .ok_or_else(|| CliError::Usage("no reference profile built in".into()))?,
    };
    let host_cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let clip = match &args.clip {
        Some(c) => c.clone(),
        None => default_clip()?,
    };

    // What to measure: the policy's pick and both codecs in software at each mode's size.
    let plan: Plan = profiles
        .into_iter()
        .map(|p| {
            let threads = p.cores.min(host_cores).max(1);
            let modes = p
                .modes
                .iter()
                .map(|m| (m.clone(), p.decide(m, host_score)))
                .collect();
            (p, threads, modes)
        })
        .collect();
    let mut keys: Vec<Key> = Vec::new();
    for (_, threads, modes) in &plan {
        for (m, d) in modes {
            let kbps = m.bandwidth_kbps;
            for k in [
                (d.codec, d.height, d.fps.round() as u32, kbps, *threads),
                (CodecKind::Av1, m.height, m.fps, kbps, *threads),
                (CodecKind::H264, m.height, m.fps, kbps, *threads),
            ] {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    // Largest first: the clip is scaled once per size from the loaded frames.
    keys.sort_by_key(|k| std::cmp::Reverse(k.1));

    let bar = if args.json || args.markdown || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(keys.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} measurements {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    bar.set_message("loading the clip");
    let source = load(&clip, args.frames)?;
    let mut scaler = Scaler::new();
    let mut costs: BTreeMap<Key, Cost> = BTreeMap::new();
    for key in &keys {
        let (codec, height, fps, kbps, threads) = *key;
        bar.set_message(format!(
            "{codec} {height}p{fps} {kbps} kbps, {threads} threads"
        ));
        let frames = frames_at(&source, size_16_9(height), f64::from(fps), &mut scaler)?;
        let cost = measure(codec, &frames, f64::from(fps), kbps * 1000, threads)?;
        costs.insert(*key, cost);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let mut reports = Vec::new();
    for (p, threads, modes) in plan {
        let speed = p.relative_speed(host_score);
        let mut mode_reports = Vec::new();
        for (m, d) in modes {
            let fps = d.fps.round() as u32;
            let interval = 1000.0 / d.fps;
            let budget = interval * f64::from(p.cores) * p.cpu_budget;
            let hw_decode = match d.codec {
                CodecKind::Av1 => p.hardware.av1_decode,
                CodecKind::H264 => p.hardware.h264_decode,
            };
            let c = &costs[&(d.codec, d.height, fps, m.bandwidth_kbps, threads)];
            let hw_encode = d.path == CodecPath::Hardware;
            let need = (if hw_encode { 0.0 } else { c.encode.cpu_ms })
                + if hw_decode {
                    0.0
                } else {
                    f64::from(m.remote_streams) * c.decode.cpu_ms
                };
            let need = need / speed;
            let software = [CodecKind::Av1, CodecKind::H264]
                .into_iter()
                .map(|codec| {
                    let s = &costs[&(codec, m.height, m.fps, m.bandwidth_kbps, threads)];
                    let need =
                        (s.encode.cpu_ms + f64::from(m.remote_streams) * s.decode.cpu_ms) / speed;
                    let budget = 1000.0 / f64::from(m.fps) * f64::from(p.cores) * p.cpu_budget;
                    Software {
                        codec: codec.to_string(),
                        encoder: s.encoder.clone(),
                        decoder: s.decoder.clone(),
                        encode_ms_p50: s.encode.p50_ms,
                        encode_ms_p99: s.encode.p99_ms,
                        encode_cpu_ms: s.encode.cpu_ms,
                        decode_ms_p50: s.decode.p50_ms,
                        decode_cpu_ms: s.decode.cpu_ms,
                        kbps: s.kbps,
                        encoder_heap_mib: mib(s.encoder_heap_bytes),
                        decoder_heap_mib: mib(s.decoder_heap_bytes),
                        headroom_estimate: round(budget / need.max(1e-6), 2),
                    }
                })
                .collect();
            let (w, h) = size_16_9(d.height);
            mode_reports.push(ModeReport {
                mode: m.name.clone(),
                remote_streams: m.remote_streams,
                codec: d.codec.to_string(),
                path: match d.path {
                    CodecPath::Hardware => "hardware",
                    CodecPath::Software => "software",
                }
                .to_string(),
                width: w,
                height: h,
                fps: d.fps,
                policy_budget_used: round(d.budget_used, 3),
                reason: d.reason.clone(),
                encode_ms_p50: c.encode.p50_ms,
                encode_ms_p99: c.encode.p99_ms,
                decode_ms_p50: c.decode.p50_ms,
                cpu_ms_per_interval_estimate: round(need, 2),
                budget_ms_per_interval: round(budget, 2),
                headroom_estimate: (need > 0.0).then(|| round(budget / need, 2)),
                realtime_estimate: hw_encode || c.encode.p99_ms / speed < interval,
                encoder_heap_mib: mib(c.encoder_heap_bytes),
                decoder_heap_mib: mib(c.decoder_heap_bytes),
                software,
            });
        }
        reports.push(ProfileReport {
            name: p.name.clone(),
            description: p.description.clone(),
            cores: p.cores,
            cpu_budget: p.cpu_budget,
            threads,
            relative_speed: round(speed, 3),
            speed_source: p.speed_source.clone(),
            modes: mode_reports,
        });
    }
    Ok(BenchReport {
        clip,
        frames: args.frames,
        host_cores,
        host_score,
        profiles: reports,
    })
}

fn headroom(h: Option<f64>) -> String {
    h.map_or("∞ (all hardware)".into(), |h| format!("{h:.1}×"))
}

fn opt_mib(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

fn rows(r: &BenchReport) -> Vec<[String; 9]> {
    let mut out = Vec::new();
    for p in &r.profiles {
        for m in &p.modes {
            let sw = |codec: &str| {
                m.software
                    .iter()
                    .find(|s| s.codec == codec)
                    .map_or("–".into(), |s| headroom(Some(s.headroom_estimate)))
            };
            let hw = m.path == "hardware";
            out.push([
                format!("{} (×{:.2})", p.name, p.relative_speed),
                m.mode.clone(),
                format!("{} {} {}x{}@{}", m.codec, m.path, m.width, m.height, m.fps),
                if hw {
                    format!("hw ({:.1} / {:.1} sw)", m.encode_ms_p50, m.encode_ms_p99)
                } else {
                    format!("{:.1} / {:.1}", m.encode_ms_p50, m.encode_ms_p99)
                },
                format!("{:.1} ×{}", m.decode_ms_p50, m.remote_streams),
                format!(
                    "{} / {}",
                    opt_mib(m.encoder_heap_mib),
                    opt_mib(m.decoder_heap_mib)
                ),
                format!(
                    "{}{}",
                    headroom(m.headroom_estimate),
                    if m.realtime_estimate {
                        ""
                    } else {
                        " (p99 late)"
                    }
                ),
                sw("av1"),
                sw("h264"),
            ]);
        }
    }
    out
}

const HEADER: [&str; 9] = [
    "profile (speed)",
    "mode",
    "policy picks",
    "encode p50 / p99 ms (here)",
    "decode ms (here)",
    "heap MiB enc / dec",
    "headroom (est.)",
    "AV1 sw headroom",
    "H.264 sw headroom",
];

/// Prints the report as a Markdown table.
pub fn print_markdown(r: &BenchReport) {
    println!(
        "Measured here ({} cores, Geekbench 6 single-core {} declared), clip {}, {} frames per \
         measurement; headroom = CPU budget / estimated need on the device (estimate through \
         the declared speed factor).\n",
        r.host_cores, r.host_score, r.clip, r.frames
    );
    println!("| {} |", HEADER.join(" | "));
    println!("|{}", "---|".repeat(HEADER.len()));
    for row in rows(r) {
        println!("| {} |", row.join(" | "));
    }
}

/// Prints the report as a plain table.
pub fn print(r: &BenchReport) {
    let rows = rows(r);
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    println!(
        "clip {} · {} frames per measurement · this machine: {} cores, Geekbench 6 single-core {} \
         (declared) · headroom = budget / need, estimated through each profile's speed factor",
        r.clip, r.frames, r.host_cores, r.host_score
    );
    line(HEADER.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    for p in &r.profiles {
        for m in &p.modes {
            println!("{} · {}: {}", p.name, m.mode, m.reason);
        }
    }
}
