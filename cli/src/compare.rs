//! `rtvc compare`: rtvc's encoders against what users would pick instead through Debian's
//! ffmpeg, on the same frames, over a bitrate ladder.
//!
//! The clip is decoded and scaled to the comparison size once; those frames are the reference
//! for everyone and, written as Y4M, ffmpeg's input. rtvc's encoders run in process (encode
//! time only); ffmpeg's run as processes (whole process: reading the Y4M is a small part).
//! Each output is decoded (rtvc: dav1d for AV1 — neither encoder's own — and openh264; ffmpeg's
//! with ffmpeg) and paired with the reference **by timestamp**: a frame an encoder skipped
//! counts as the previous picture shown again, so skipping gains nothing. PSNR-Y is ffmpeg's
//! (PSNR of the mean MSE), SSIM-Y ffmpeg's `ssim` filter's; BD-rates with PCHIP
//! ([`rtvc_codec::bd`]).
//!
//! With `--content screen` rtvc's encoders that have a screen-content mode run a second time
//! with [`ContentKind::Screen`] (libaom: `AV1E_SET_TUNE_CONTENT` screen and palette; openh264:
//! `SCREEN_CONTENT_REAL_TIME`), as `<name>-screen`, each with its BD-rate against the same
//! encoder in camera mode (`bd_rate_vs_camera`). rav1e has no screen mode; ffmpeg's encoders
//! run as configured. `--encoders` keeps only the encoders named; a BD-rate whose anchor was
//! left out is null.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;
use rtvc_codec::container::y4m::Y4mWriter;
use rtvc_codec::encoder::ContentKind;
use rtvc_codec::quality::{PsnrAccumulator, frame_ssim_y};
use rtvc_codec::scale::Scaler;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncoderConfig, Frame, Packet,
};
use serde::Serialize;

use crate::CliError;
use crate::source::FrameSource;
use crate::util::{parse_bitrate, parse_size};

/// `rtvc compare` arguments.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The clip (Y4M, H.264 Annex B, AV1 IVF).
    #[arg(long)]
    pub clip: String,
    /// Size to compare at (the clip is scaled).
    #[arg(long, value_parser = parse_size)]
    pub resolution: (u32, u32),
    /// The bitrate ladder, e.g. 300k,600k,1200k.
    #[arg(long, value_delimiter = ',', value_parser = parse_bitrate, required = true)]
    pub bitrates: Vec<u32>,
    /// Frames from the start of the clip.
    #[arg(long, default_value_t = 150)]
    pub frames: u64,
    /// Threads for every encoder.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw the rate-distortion curves (PSNR-Y over kbps) to this SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// What the clip shows: `screen` also runs rtvc's encoders in their screen-content mode
    /// (as `<name>-screen`, with BD-rates against camera mode).
    #[arg(long, value_parser = parse_content, default_value = "camera")]
    pub content: ContentKind,
    /// Only these encoders (default: all), e.g. rtvc-av1-libaom,rtvc-h264-openh264.
    #[arg(long, value_delimiter = ',')]
    pub encoders: Vec<String>,
}

fn parse_content(s: &str) -> Result<ContentKind, String> {
    match s {
        "camera" => Ok(ContentKind::Camera),
        "screen" => Ok(ContentKind::Screen),
        _ => Err(format!("invalid content {s:?} (camera or screen)")),
    }
}

fn content_name(c: ContentKind) -> &'static str {
    match c {
        ContentKind::Camera => "camera",
        ContentKind::Screen => "screen",
    }
}

/// One encoder at one bitrate.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub target_kbps: f64,
    pub kbps: f64,
    pub fps: f64,
    pub frame_delay: u64,
    pub frames_out: u64,
    pub psnr_y: f64,
    pub ssim: f64,
}

/// One encoder over the ladder (means over its points) and its BD-rates.
#[derive(Debug, Clone, Serialize)]
pub struct EncoderResult {
    pub name: String,
    /// Why it has no points (e.g. the installed ffmpeg lacks it).
    pub unavailable: Option<String>,
    pub fps: f64,
    pub frame_delay: u64,
    pub kbps: f64,
    pub psnr_y: f64,
    pub ssim: f64,
    pub bd_rate_vs_x264: Option<f64>,
    pub bd_rate_vs_ffmpeg_libaom: Option<f64>,
    /// Against rtvc's own H.264 (openh264).
    pub bd_rate_vs_rtvc_h264: Option<f64>,
    /// Screen-content rows: against the same encoder in camera mode.
    pub bd_rate_vs_camera: Option<f64>,
    pub points: Vec<Point>,
}

/// What `rtvc compare --json` prints.
#[derive(Debug, Serialize)]
pub struct CompareReport {
    pub clip: String,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    pub fps: f64,
    pub threads: u32,
    /// `camera` or `screen` (`--content`).
    pub content: &'static str,
    pub encoders: Vec<EncoderResult>,
}

/// A rate-distortion curve: its points' kbps and PSNR-Y.
type Curve = (Vec<f64>, Vec<f64>);

fn round(v: f64, d: i32) -> f64 {
    let p = 10f64.powi(d);
    (v * p).round() / p
}

/// Scores pictures paired by source index against the reference; a missing index shows the
/// previous picture (the first available one before any).
fn score(reference: &[Frame], shown: &[Option<Frame>]) -> Result<(f64, f64), CliError> {
    let first = shown
        .iter()
        .flatten()
        .next()
        .ok_or_else(|| CliError::Check("no picture decoded".into()))?;
    let mut last = first;
    let mut psnr = PsnrAccumulator::new();
    let mut ssim = 0.0;
    for (r, s) in reference.iter().zip(shown) {
        if let Some(s) = s {
            last = s;
        }
        psnr.add(r, last).map_err(rtvc_codec::Error::from)?;
        ssim += frame_ssim_y(r, last)
            .map_err(rtvc_codec::Error::from)?
            .unwrap_or(1.0);
    }
    let p = psnr
        .psnr_y()
        .ok_or_else(|| CliError::Check("no frames scored".into()))?;
    Ok((p, ssim / reference.len() as f64))
}

/// One of rtvc's encoders as `rtvc compare` runs it.
struct RtvcEncoder {
    name: &'static str,
    backend: &'static str,
    codec: CodecKind,
    /// It has a screen-content mode ([`ContentKind::Screen`] changes its tools).
    screen_mode: bool,
}

const RTVC: [RtvcEncoder; 3] = [
    RtvcEncoder {
        name: "rtvc-av1-libaom",
        backend: "libaom",
        codec: CodecKind::Av1,
        screen_mode: true,
    },
    // rav1e has no screen-content tools (its backend ignores `ContentKind`).
    RtvcEncoder {
        name: "rtvc-av1-rav1e",
        backend: "rav1e",
        codec: CodecKind::Av1,
        screen_mode: false,
    },
    RtvcEncoder {
        name: "rtvc-h264-openh264",
        backend: "openh264",
        codec: CodecKind::H264,
        screen_mode: true,
    },
];

/// The name of an encoder's screen-content row.
fn screen_name(name: &str) -> String {
    format!("{name}-screen")
}

/// What every rtvc run shares.
struct RtvcRun<'a> {
    reference: &'a [Frame],
    fps: f64,
    threads: u32,
}

fn rtvc_point(
    encoder: &str,
    codec: CodecKind,
    content: ContentKind,
    run: &RtvcRun<'_>,
    bps: u32,
) -> Result<Point, CliError> {
    let RtvcRun {
        reference,
        fps,
        threads,
    } = *run;
    let (w, h) = (reference[0].width(), reference[0].height());
    let registry = CodecRegistry::with_builtin();
    let mut cfg = EncoderConfig::new(codec, w, h, bps, fps);
    cfg.threads = Some(threads);
    cfg.content = content;
    let mut enc = registry.create_encoder_named(encoder, &cfg)?;
    let mut dec = registry.create_decoder(codec, &DecoderConfig::default())?;
    let mut shown: Vec<Option<Frame>> = vec![None; reference.len()];
    let (mut bytes, mut frames_out, mut delay) = (0u64, 0u64, 0u64);
    let mut spent = Duration::ZERO;
    let frame_us = 1e6 / fps;
    let mut handle = |e: rtvc_codec::EncodedFrame, fed: u64| -> Result<(), CliError> {
        bytes += e.data.len() as u64;
        frames_out += 1;
        let index = (e.timestamp_us as f64 / frame_us).round() as usize;
        delay = delay.max(fed.saturating_sub(index as u64 + 1));
        let pic = dec
            .decode(&Packet::from(&e))
            .map_err(|err| CliError::Check(format!("decoding {encoder}'s output: {err}")))?;
        if let (Some(p), Some(slot)) = (pic, shown.get_mut(index)) {
            *slot = Some(p);
        }
        Ok(())
    };
    for (n, f) in reference.iter().enumerate() {
        let mut input = f.clone();
        input.set_timestamp_us((n as f64 * frame_us).round() as i64);
        let t0 = Instant::now();
        let outcome = enc.encode(&input, false)?;
        let ready = enc.take_ready();
        spent += t0.elapsed();
        if let EncodeOutcome::Encoded(e) = outcome {
            handle(e, n as u64 + 1)?;
        }
        for e in ready {
            handle(e, n as u64 + 1)?;
        }
    }
    let t0 = Instant::now();
    let rest = enc.flush()?;
    spent += t0.elapsed();
    for e in rest {
        handle(e, reference.len() as u64)?;
    }
    let (psnr_y, ssim) = score(reference, &shown)?;
    let seconds = reference.len() as f64 / fps;
    Ok(Point {
        target_kbps: f64::from(bps) / 1e3,
        kbps: round(bytes as f64 * 8.0 / seconds / 1e3, 1),
        fps: round(reference.len() as f64 / spent.as_secs_f64().max(1e-9), 1),
        frame_delay: delay,
        frames_out,
        psnr_y: round(psnr_y, 3),
        ssim: round(ssim, 5),
    })
}

/// The ffmpeg encoders: name, encoder, its options (the bitrate is added).
const FFMPEG: [(&str, &str, &[&str]); 3] = [
    (
        "ffmpeg-libx264",
        "libx264",
        &["-preset", "ultrafast", "-tune", "zerolatency"],
    ),
    (
        "ffmpeg-libaom",
        "libaom-av1",
        &[
            "-usage",
            "realtime",
            "-cpu-used",
            "8",
            "-lag-in-frames",
            "0",
        ],
    ),
    (
        "ffmpeg-libsvtav1",
        "libsvtav1",
        // Preset 12, low-delay prediction structure (CBR: its only mode there).
        &["-preset", "12", "-svtav1-params", "pred-struct=1"],
    ),
];

fn ffmpeg_has(encoder: &str) -> bool {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(encoder))
        })
        .unwrap_or(false)
}

/// What every ffmpeg run shares.
struct FfmpegRun<'a> {
    y4m: &'a Path,
    work: &'a Path,
    reference: &'a [Frame],
    fps: f64,
    threads: u32,
}

fn ffmpeg_point(
    encoder: &str,
    options: &[&str],
    run: &FfmpegRun<'_>,
    bps: u32,
) -> Result<Point, CliError> {
    let FfmpegRun {
        y4m,
        work,
        reference,
        fps,
        threads,
    } = *run;
    let out = work.join(format!("{encoder}-{bps}.mkv"));
    let rate = format!("{}k", bps / 1000);
    let t0 = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(y4m)
        .args(["-c:v", encoder])
        .args(options)
        .args(["-b:v", &rate, "-threads", &threads.to_string()])
        .arg(&out)
        // SVT-AV1 prints its banner to stderr whatever ffmpeg's log level: keep it for errors.
        .output()
        .map_err(|e| CliError::Usage(format!("ffmpeg: {e}")))?;
    let wall = t0.elapsed();
    if !status.status.success() {
        let err = String::from_utf8_lossy(&status.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(CliError::Check(format!(
            "ffmpeg {encoder} failed ({}): {}",
            status.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        )));
    }
    let bytes = ffprobe_video_bytes(&out)?;
    let pts = ffprobe_pts(&out)?;
    let decoded = work.join(format!("{encoder}-{bps}.y4m"));
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&out)
        .args([
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "yuv4mpegpipe",
        ])
        .arg(&decoded)
        .status()
        .map_err(|e| CliError::Usage(format!("ffmpeg: {e}")))?;
    if !status.success() {
        return Err(CliError::Check(format!(
            "ffmpeg could not decode its {encoder} output"
        )));
    }
    let mut src = FrameSource::open(decoded.to_str().unwrap_or_default(), Some(fps))?;
    let mut shown: Vec<Option<Frame>> = vec![None; reference.len()];
    let mut frames_out = 0;
    for t in &pts {
        let Some(f) = src.next_frame()? else { break };
        frames_out += 1;
        let index = (t * fps).round() as usize;
        if let Some(slot) = shown.get_mut(index) {
            *slot = Some(f);
        }
    }
    let (psnr_y, ssim) = score(reference, &shown)?;
    let _ = (std::fs::remove_file(&out), std::fs::remove_file(&decoded));
    let seconds = reference.len() as f64 / fps;
    Ok(Point {
        target_kbps: f64::from(bps) / 1e3,
        kbps: round(bytes as f64 * 8.0 / seconds / 1e3, 1),
        fps: round(reference.len() as f64 / wall.as_secs_f64().max(1e-9), 1),
        // As configured: zerolatency, lag-in-frames 0, low-delay prediction.
        frame_delay: 0,
        frames_out,
        psnr_y: round(psnr_y, 3),
        ssim: round(ssim, 5),
    })
}

fn ffprobe(path: &Path, entries: &str) -> Result<String, CliError> {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .map_err(|e| CliError::Usage(format!("ffprobe: {e}")))?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Payload bytes of the video stream (packet sizes: no container overhead).
fn ffprobe_video_bytes(path: &Path) -> Result<u64, CliError> {
    Ok(ffprobe(path, "packet=size")?
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<u64>().ok())
        .sum())
}

/// Presentation times of the decoded frames, seconds.
fn ffprobe_pts(path: &Path) -> Result<Vec<f64>, CliError> {
    Ok(ffprobe(path, "frame=pts_time")?
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
        .collect())
}

/// Runs the comparison.
pub fn run(args: &CompareArgs) -> Result<CompareReport, CliError> {
    let (w, h) = args.resolution;
    if args.frames < 10 || args.frames > 3000 {
        return Err(CliError::Usage("--frames is 10–3000".into()));
    }
    let mut ladder = args.bitrates.clone();
    ladder.sort_unstable();
    ladder.dedup();
    if ladder.len() < 2 {
        return Err(CliError::Usage(
            "--bitrates needs at least 2 rates (for BD-rates 4)".into(),
        ));
    }
    let known: Vec<&str> = RTVC
        .iter()
        .map(|e| e.name)
        .chain(FFMPEG.iter().map(|e| e.0))
        .collect();
    if let Some(bad) = args.encoders.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(CliError::Usage(format!(
            "--encoders: unknown encoder {bad:?} (one of {})",
            known.join(", ")
        )));
    }
    let wanted = |name: &str| args.encoders.is_empty() || args.encoders.iter().any(|n| n == name);
    // The reference frames.
    let mut source = FrameSource::open(&args.clip, None)?;
    let fps = source.fps(None);
    let mut scaler = Scaler::new();
    let mut reference = Vec::new();
    while (reference.len() as u64) < args.frames {
        let Some(f) = source.next_frame()? else { break };
        let f = if (f.width(), f.height()) == (w, h) {
            f
        } else {
            scaler.scale(&f, w, h).map_err(rtvc_codec::Error::from)?
        };
        reference.push(f);
    }
    if reference.len() < 10 {
        return Err(CliError::Usage(format!(
            "{} has fewer than 10 frames",
            args.clip
        )));
    }
    let work = std::env::temp_dir().join(format!("rtvc-compare-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| CliError::io(&work, e))?;
    let y4m = work.join("reference.y4m");
    // ffmpeg's input (only ffmpeg reads it).
    if FFMPEG.iter().any(|e| wanted(e.0)) {
        let file = std::fs::File::create(&y4m).map_err(|e| CliError::io(&y4m, e))?;
        let (num, den) = ((fps * 1000.0).round() as u32, 1000);
        let mut wr = Y4mWriter::new(std::io::BufWriter::new(file), w, h, num, den)?;
        for f in &reference {
            wr.write_frame(f)?;
        }
        wr.finish()?;
    }
    let mut encoders = Vec::new();
    let rtvc = RtvcRun {
        reference: &reference,
        fps,
        threads: args.threads,
    };
    for e in RTVC.iter().filter(|e| wanted(e.name)) {
        let mut runs = vec![(e.name.to_owned(), ContentKind::Camera)];
        if args.content == ContentKind::Screen {
            if e.screen_mode {
                runs.push((screen_name(e.name), ContentKind::Screen));
            } else {
                eprintln!(
                    "rtvc compare: {} has no screen-content mode (camera mode only)",
                    e.name
                );
            }
        }
        for (name, content) in runs {
            eprintln!("rtvc compare: {name}");
            let points = ladder
                .iter()
                .map(|&b| rtvc_point(e.backend, e.codec, content, &rtvc, b))
                .collect::<Result<Vec<_>, _>>()?;
            encoders.push(summarize(&name, points, None));
        }
    }
    let have_ffmpeg = Command::new("ffmpeg").arg("-version").output().is_ok();
    let run = FfmpegRun {
        y4m: &y4m,
        work: &work,
        reference: &reference,
        fps,
        threads: args.threads,
    };
    for (name, encoder, options) in FFMPEG {
        if !wanted(name) {
            continue;
        }
        if !have_ffmpeg || !ffmpeg_has(encoder) {
            encoders.push(summarize(
                name,
                Vec::new(),
                Some(format!("the installed ffmpeg has no {encoder}")),
            ));
            continue;
        }
        eprintln!("rtvc compare: {name}");
        let points = ladder
            .iter()
            .map(|&b| ffmpeg_point(encoder, options, &run, b))
            .collect::<Result<Vec<_>, _>>()?;
        encoders.push(summarize(name, points, None));
    }
    let _ = std::fs::remove_dir_all(&work);
    let curve = |name: &str| {
        encoders
            .iter()
            .find(|e| e.name == name && !e.points.is_empty())
            .map(|e| {
                (
                    e.points.iter().map(|p| p.kbps).collect::<Vec<_>>(),
                    e.points.iter().map(|p| p.psnr_y).collect::<Vec<_>>(),
                )
            })
    };
    let x264 = curve("ffmpeg-libx264");
    let aom = curve("ffmpeg-libaom");
    let h264 = curve("rtvc-h264-openh264");
    // Each screen-content row's anchor: its encoder in camera mode.
    let camera: Vec<(String, Option<Curve>)> = RTVC
        .iter()
        .filter(|e| e.screen_mode)
        .map(|e| (screen_name(e.name), curve(e.name)))
        .collect();
    for e in &mut encoders {
        if e.points.is_empty() {
            continue;
        }
        let r: Vec<f64> = e.points.iter().map(|p| p.kbps).collect();
        let q: Vec<f64> = e.points.iter().map(|p| p.psnr_y).collect();
        let bd = |anchor: &Option<Curve>| {
            anchor.as_ref().and_then(|(ar, aq)| {
                rtvc_codec::bd::bd_rate(ar, aq, &r, &q)
                    .ok()
                    .map(|v| round(v, 2))
            })
        };
        e.bd_rate_vs_x264 = bd(&x264);
        e.bd_rate_vs_ffmpeg_libaom = bd(&aom);
        e.bd_rate_vs_rtvc_h264 = bd(&h264);
        if let Some((_, anchor)) = camera.iter().find(|(screen, _)| *screen == e.name) {
            e.bd_rate_vs_camera = bd(anchor);
        }
    }
    let report = CompareReport {
        clip: args.clip.clone(),
        width: w,
        height: h,
        frames: reference.len() as u64,
        fps: round(fps, 3),
        threads: args.threads,
        content: content_name(args.content),
        encoders,
    };
    if let Some(path) = &args.plot {
        plot(&report, path)?;
    }
    Ok(report)
}

fn summarize(name: &str, points: Vec<Point>, unavailable: Option<String>) -> EncoderResult {
    let n = points.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Point) -> f64| points.iter().map(f).sum::<f64>() / n;
    EncoderResult {
        name: name.to_owned(),
        unavailable,
        fps: round(mean(&|p| p.fps), 1),
        frame_delay: points.iter().map(|p| p.frame_delay).max().unwrap_or(0),
        kbps: round(mean(&|p| p.kbps), 1),
        psnr_y: round(mean(&|p| p.psnr_y), 3),
        ssim: round(mean(&|p| p.ssim), 5),
        bd_rate_vs_x264: None,
        bd_rate_vs_ffmpeg_libaom: None,
        bd_rate_vs_rtvc_h264: None,
        bd_rate_vs_camera: None,
        points,
    }
}

fn plot(r: &CompareReport, path: &Path) -> Result<(), CliError> {
    use plotters::prelude::*;
    let all: Vec<&Point> = r.encoders.iter().flat_map(|e| &e.points).collect();
    if all.is_empty() {
        return Ok(());
    }
    let (k0, k1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(p.kbps), b.max(p.kbps))
    });
    let (q0, q1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(p.psnr_y), b.max(p.psnr_y))
    });
    let fail = |e: String| CliError::Check(format!("plot: {e}"));
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{} at {}x{}, {} frames: PSNR-Y over rate",
                r.clip, r.width, r.height, r.frames
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(k0 * 0.9..k1 * 1.05, (q0 - 0.5)..(q1 + 0.5))
        .map_err(|e| fail(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("kbps")
        .y_desc("PSNR-Y dB")
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    for (i, e) in r
        .encoders
        .iter()
        .filter(|e| !e.points.is_empty())
        .enumerate()
    {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = e.points.iter().map(|p| (p.kbps, p.psnr_y)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| fail(e.to_string()))?
            .label(e.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(|e| fail(e.to_string()))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}

/// Prints the report as a table.
pub fn print(r: &CompareReport) {
    println!(
        "{} at {}x{}, {} frames, {} threads, {} content",
        r.clip, r.width, r.height, r.frames, r.threads, r.content
    );
    println!(
        "{:<26} {:>8} {:>6} {:>8} {:>8} {:>8} {:>10} {:>12} {:>12}",
        "encoder",
        "fps",
        "delay",
        "kbps",
        "PSNR-Y",
        "SSIM",
        "BD vs x264",
        "BD vs libaom",
        "BD vs camera"
    );
    let bd = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:+.1} %"));
    for e in &r.encoders {
        if let Some(why) = &e.unavailable {
            println!("{:<26} {why}", e.name);
            continue;
        }
        println!(
            "{:<26} {:>8.1} {:>6} {:>8.1} {:>8.3} {:>8.5} {:>10} {:>12} {:>12}",
            e.name,
            e.fps,
            e.frame_delay,
            e.kbps,
            e.psnr_y,
            e.ssim,
            bd(e.bd_rate_vs_x264),
            bd(e.bd_rate_vs_ffmpeg_libaom),
            bd(e.bd_rate_vs_camera)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtvc_codec::synthetic::SyntheticScene;

    #[test]
    fn skipped_frames_count_as_the_previous_picture_shown_again() {
        let scene = SyntheticScene::new(64, 48, 30.0).expect("scene");
        let reference: Vec<Frame> = (0..10).map(|n| scene.frame(n)).collect();
        let all: Vec<Option<Frame>> = reference.iter().cloned().map(Some).collect();
        let (p_all, s_all) = score(&reference, &all).expect("scores");
        assert!(p_all.is_infinite() || p_all > 90.0, "identical: {p_all}");
        assert!((s_all - 1.0).abs() < 1e-12);
        // Every other frame skipped: those slots show the frame before.
        let half: Vec<Option<Frame>> = reference
            .iter()
            .enumerate()
            .map(|(n, f)| (n % 2 == 0).then(|| f.clone()))
            .collect();
        let (p_half, s_half) = score(&reference, &half).expect("scores");
        let mut expected = PsnrAccumulator::new();
        for n in 0..10 {
            expected
                .add(&reference[n], &reference[n - n % 2])
                .expect("same size");
        }
        assert_eq!(p_half, expected.psnr_y().expect("frames"));
        assert!(p_half < 60.0 && s_half < 1.0, "{p_half} {s_half}");
        // Nothing decoded: an error, not a score.
        assert!(score(&reference, &vec![None; 10]).is_err());
    }
}
