//! `rtvc rc`: rate control evaluated on bandwidth traces.
//!
//! A clip (looped) is encoded in real time order against a simulated bottleneck: a FIFO drained at
//! the trace's capacity ([`rtvc_netsim::Link`], packets of at most 1500 bytes). A
//! bandwidth-estimator model ([`rtvc_netsim::bwe`]) turns the capacity into targets that lag and
//! undershoot it; transport feedback ([`rtvc_netsim::feedback`]) gives the controller RTTs. Our [`rtvc_codec::rate::RateController`] turns targets
//! into per-frame decisions; with `--baseline` the same run is repeated with only the encoder's
//! own rate control fed the target (no dropper, no adjuster, no ladder), and both are reported
//! side by side. Simulated time: runs go as fast as the encoder.

pub mod plot;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rtvc_codec::quality::frame_mse;
use rtvc_codec::rate::{RateControlConfig, RateController, SkipReason};
use rtvc_codec::scale::Scaler;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncodedFrame, EncoderConfig, Frame,
    Packet, Rates, VideoDecoder, VideoEncoder,
};
use serde::Serialize;

use crate::CliError;
use crate::encode::parse_codec;
use crate::source::LoopingClip;
use rtvc_netsim::bottleneck::{packet_sizes, wire_bytes};
use rtvc_netsim::bwe::Bwe;
use rtvc_netsim::feedback::Feedback;
use rtvc_netsim::metrics::{FrameRecord, Metrics, RunLog, Sample};
use rtvc_netsim::{Link, LinkConfig, Trace, TraceError};

/// Path round-trip time without queueing, ms.
const BASE_RTT_MS: f64 = 40.0;
/// How long a delivery takes to be reported back to the sender, ms.
const FEEDBACK_DELAY_MS: f64 = 20.0;
/// Receiver playout deadline: pictures whose queueing delay exceeds it count as lost in
/// `psnr_y_display`, ms.
pub const PLAYOUT_DEADLINE_MS: f64 = 150.0;
/// Transport feedback period, ms.
const FEEDBACK_INTERVAL_MS: f64 = 50.0;

/// Arguments of `rtvc rc`.
#[derive(Debug, Args)]
pub struct RcArgs {
    /// Codec.
    #[arg(long, value_parser = parse_codec)]
    pub codec: CodecKind,
    /// Encoder backend (default: the registry's call encoder).
    #[arg(long)]
    pub encoder: Option<String>,
    /// Clip (looped): .264, .ivf, .y4m, or synthetic:WxH.
    #[arg(long)]
    pub input: String,
    /// Mahimahi trace file, or builtin:steps / builtin:aimd / builtin:lte.
    #[arg(long)]
    pub trace: String,
    /// Multiply the trace's capacity (e.g. 0.1 to bring LTE into the 0.1–3 Mbps range).
    #[arg(long, default_value_t = 1.0)]
    pub trace_scale: f64,
    /// Seconds to simulate (default: 60).
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
    /// Seed of builtin:lte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also run the baseline (encoder rate control only) and report both.
    #[arg(long)]
    pub baseline: bool,
    /// Write an SVG plot.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Resolution ladder as HEIGHT:BITRATE,... (default: tuned per codec, see README).
    #[arg(long)]
    pub ladder: Option<String>,
    /// Write every captured frame of our run as CSV (time, size, bytes, skip, delay, PSNR, target,
    /// capacity, RTT, queue guard, encoder rate) for your own analysis.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Frame rate of the clip (default: from the file, else 30).
    #[arg(long)]
    pub fps: Option<f64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What each packet on the link carries: its frame, and whether it is the frame's last.
#[derive(Debug, Clone, Copy)]
struct Tag {
    frame: u64,
    last: bool,
}

pub(crate) fn trace_error(e: TraceError) -> CliError {
    match e {
        TraceError::Io { path, source } => CliError::io(&path, source),
        TraceError::BadScale(x) => CliError::Usage(format!("--trace-scale {x} must be > 0")),
        other => CliError::Usage(other.to_string()),
    }
}

struct Sim<'a> {
    args: &'a RcArgs,
    ours: bool,
}

impl Sim<'_> {
    fn run(&self) -> Result<(RunLog, String, Trace), CliError> {
        let args = self.args;
        let trace = Trace::load(&args.trace, args.trace_scale, args.seed).map_err(trace_error)?;
        // The bottleneck alone: the path's base RTT is in the feedback model.
        let mut link: Link<Tag> = Link::new(LinkConfig::new(trace.clone()))
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let mut arrivals = Vec::new();
        let mut bwe = Bwe::new(link.bottleneck());
        let mut clip = LoopingClip::open(&args.input, args.fps)?;
        let fps = clip.fps;
        let first = clip.next()?;
        let (sw, sh) = (first.width(), first.height());
        let registry = CodecRegistry::with_builtin();
        let initial = Rates {
            bitrate_bps: bwe.target_bps().round() as u32,
            framerate: fps,
        };
        let mut cfg = EncoderConfig::new(args.codec, sw, sh, initial.bitrate_bps, fps);
        cfg.max_size = Some((sw, sh));
        // With our controller, it does the dropping; the baseline keeps the encoder's own rate
        // control as libwebrtc configures it (its frame dropping on).
        if self.ours {
            rtvc_codec::rate::configure_encoder(&mut cfg);
        } else {
            cfg.frame_dropping = true;
        }
        let mut encoder: Box<dyn VideoEncoder> = match &args.encoder {
            Some(name) => registry.create_encoder_named(name, &cfg)?,
            None => registry.create_call_encoder(&cfg)?,
        };
        let name = encoder.info().implementation.to_string();
        let mut decoder: Box<dyn VideoDecoder> =
            registry.create_decoder(args.codec, &DecoderConfig::default())?;
        let mut rc_cfg = RateControlConfig::for_codec(args.codec, sw, sh, fps);
        if let Some(l) = &args.ladder {
            let t = crate::util::parse_ladder(l).map_err(CliError::Usage)?;
            rc_cfg.rungs = rtvc_codec::rate::ladder::rungs_from(&t, sw, sh);
        }
        if !self.ours {
            rc_cfg.drop_frames = false;
            rc_cfg.adjust_bitrate = false;
            rc_cfg.use_ladder = false;
        }
        if args.codec == CodecKind::H264 {
            // H.264 needs even sizes: keep the ladder's rungs even (they are) and the source too.
            if sw % 2 != 0 || sh % 2 != 0 {
                return Err(CliError::Usage(format!(
                    "H.264 needs an even clip size, got {sw}x{sh}"
                )));
            }
        }
        let mut ctrl = RateController::new(rc_cfg, initial);
        let (mut down, mut up) = (Scaler::new(), Scaler::new());
        let mut log = RunLog::default();
        // Latest decoded picture (coding quality, no network delay) ...
        let mut shown: Option<Frame> = None;
        // ... and what the receiver really has on screen: pictures in flight wait for their
        // last byte to arrive.
        let mut in_flight: std::collections::HashMap<u64, Frame> = Default::default();
        // Captured frames waiting for the picture that stands for them: (index, capture, still
        // in the encoder). A frame an encoder holds back (rav1e: 4 frames) is judged by its own
        // decoded picture once it comes out, so `psnr_y` is coding quality and drops, not
        // encoder latency; frames skipped after it repeat it.
        let mut pending: std::collections::VecDeque<(u64, Frame, bool)> = Default::default();
        let mut on_screen: Option<Frame> = None;
        let mut size = (sw, sh);
        let duration_ms = args.duration * 1000.0;
        let mut index_of_ts = std::collections::HashMap::new();
        let mut next_frame = Some(first);
        let mut n: u64 = 0;
        let mut next_sample_ms = 0.0;
        let mut encoder_bps = initial.bitrate_bps;
        let mut feedback = Feedback::new(BASE_RTT_MS, FEEDBACK_DELAY_MS, FEEDBACK_INTERVAL_MS);
        loop {
            let t_ms = n as f64 * 1000.0 / fps;
            if t_ms >= duration_ms {
                break;
            }
            link.advance(t_ms, &mut arrivals);
            for a in arrivals.drain(..).filter(|a| a.packet.last) {
                let (frame, delay) = (a.packet.frame, a.arrived_ms - a.sent_ms);
                if let Some(f) = log.frames.get_mut(frame as usize) {
                    f.delay_ms = Some(delay);
                    f.arrival_ms = Some(a.arrived_ms);
                }
                feedback.on_delivered(frame, a.arrived_ms, delay);
                // A picture later than the playout deadline is useless: the receiver keeps
                // showing the previous one.
                if let Some(pic) = in_flight.remove(&frame)
                    && delay <= PLAYOUT_DEADLINE_MS
                {
                    on_screen = Some(pic);
                }
            }
            feedback.poll(t_ms, |s| {
                ctrl.on_rtt(
                    Duration::from_secs_f64(s.at_ms / 1000.0),
                    Duration::from_secs_f64(s.rtt_ms / 1000.0),
                );
            });
            if bwe.update(t_ms as u64, link.bottleneck()) {
                let target = Rates {
                    bitrate_bps: bwe.target_bps().round() as u32,
                    framerate: fps,
                };
                ctrl.set_target(Duration::from_secs_f64(t_ms / 1000.0), target);
                if !self.ours {
                    encoder.set_rates(target)?;
                    encoder_bps = target.bitrate_bps;
                }
            }
            while next_sample_ms <= t_ms {
                log.samples.push(Sample {
                    t_ms: next_sample_ms,
                    capacity_bps: trace
                        .capacity_bps(next_sample_ms as u64, next_sample_ms as u64 + 100),
                    target_bps: bwe.target_bps(),
                });
                next_sample_ms += 100.0;
            }
            let mut src = match next_frame.take() {
                Some(f) => f,
                None => clip.next()?,
            };
            let ts = (t_ms * 1000.0).round() as i64;
            src.set_timestamp_us(ts);
            let now = Duration::from_secs_f64(t_ms / 1000.0);
            let decision = ctrl.decide(now);
            if self.ours {
                if let Some(r) = decision.rates {
                    encoder.set_rates(r)?;
                    encoder_bps = r.bitrate_bps;
                }
                if let Some(caps) = decision.frame_size_caps {
                    encoder.set_frame_size_caps(caps)?;
                }
                if (decision.width, decision.height) != size {
                    size = (decision.width, decision.height);
                    log.resolution_changes.push((t_ms, size.0, size.1));
                }
            }
            let mut record = FrameRecord {
                t_ms,
                wire_bytes: 0,
                skip: None,
                keyframe: false,
                width: size.0,
                height: size.1,
                mse_y: 0.0,
                mse_y_display: None,
                delay_ms: None,
                arrival_ms: None,
                rtt_ms: ctrl.rtt().map(|r| r.as_secs_f64() * 1e3),
                guard: ctrl.queue_guard(),
                encoder_bps,
            };
            let mut outputs = Vec::new();
            match decision.skip {
                Some(SkipReason::Bucket) => record.skip = Some("bucket"),
                Some(SkipReason::FrameRate) => record.skip = Some("framerate"),
                Some(SkipReason::Paused) => record.skip = Some("paused"),
                None => {
                    let scaled;
                    let input = if size != (sw, sh) {
                        scaled = down
                            .scale(&src, size.0, size.1)
                            .map_err(rtvc_codec::Error::from)?;
                        &scaled
                    } else {
                        &src
                    };
                    index_of_ts.insert(ts, n);
                    match encoder.encode(input, false)? {
                        EncodeOutcome::Encoded(e) => outputs.push(e),
                        EncodeOutcome::Dropped(_) => record.skip = Some("encoder"),
                        _ => {}
                    }
                    outputs.extend(encoder.take_ready());
                }
            }
            let in_encoder = decision.skip.is_none() && record.skip.is_none();
            log.frames.push(record);
            // Frames share their pixels: these clones (here and for pictures in flight) are
            // reference counts, not copies.
            pending.push_back((n, src.clone(), in_encoder));
            for e in outputs {
                let idx = index_of_ts.remove(&e.timestamp_us).unwrap_or(n);
                let wire = wire_bytes(e.data.len());
                let mut sizes = packet_sizes(e.data.len()).peekable();
                while let Some(size) = sizes.next() {
                    let last = sizes.peek().is_none();
                    // Unbounded queue, no outage: the link takes everything.
                    let _ = link.send(t_ms, size, Tag { frame: idx, last });
                }
                feedback.on_sent(idx, t_ms);
                // The controller accounts what goes on the wire, packet overhead included.
                ctrl.on_encoded(now, wire, e.keyframe);
                if let Some(r) = log.frames.get_mut(idx as usize) {
                    r.wire_bytes = wire;
                    r.keyframe = e.keyframe;
                }
                if let Some(pic) = decode_at(decoder.as_mut(), &mut up, &e, (sw, sh))? {
                    in_flight.insert(idx, pic.clone());
                    // Frames captured before this one were shown the previous picture.
                    judge(&mut pending, &mut log, shown.as_ref(), |i, _| i < idx)?;
                    shown = Some(pic);
                }
                judge(&mut pending, &mut log, shown.as_ref(), |i, _| i <= idx)?;
            }
            // Frames not in the encoder repeat the latest picture, unless an earlier frame is
            // still in it.
            judge(&mut pending, &mut log, shown.as_ref(), |_, in_encoder| {
                !in_encoder
            })?;
            let mse_display = match &on_screen {
                Some(s) => Some(frame_mse(&src, s).map_err(rtvc_codec::Error::from)?.y),
                None => None, // start-up: nothing on screen yet
            };
            if let Some(r) = log.frames.last_mut() {
                r.mse_y_display = mse_display;
            }
            n += 1;
        }
        // Frames the encoder still holds at the end are judged by their own pictures too (they
        // are not sent: the run is over).
        for e in encoder.flush()? {
            let idx = index_of_ts.remove(&e.timestamp_us).unwrap_or(n);
            if let Some(pic) = decode_at(decoder.as_mut(), &mut up, &e, (sw, sh))? {
                judge(&mut pending, &mut log, shown.as_ref(), |i, _| i < idx)?;
                shown = Some(pic);
            }
            judge(&mut pending, &mut log, shown.as_ref(), |i, _| i <= idx)?;
        }
        judge(&mut pending, &mut log, shown.as_ref(), |_, _| true)?;
        // Let the queue drain (up to 10 s) so every sent frame has its delay.
        let end = duration_ms + 10_000.0;
        let mut t = duration_ms;
        while t < end && link.in_flight() > 0 {
            t += 100.0;
            link.advance(t, &mut arrivals);
            for a in arrivals.drain(..).filter(|a| a.packet.last) {
                if let Some(f) = log.frames.get_mut(a.packet.frame as usize) {
                    f.delay_ms = Some(a.arrived_ms - a.sent_ms);
                    f.arrival_ms = Some(a.arrived_ms);
                }
            }
        }
        Ok((log, name, trace))
    }
}

#[derive(Debug, Serialize)]
struct Report {
    codec: String,
    encoder: String,
    input: String,
    trace: String,
    trace_scale: f64,
    duration_s: f64,
    #[serde(flatten)]
    ours: Metrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Metrics>,
}

fn row(name: &str, a: f64, b: Option<f64>) {
    match b {
        Some(b) => println!("  {name:22} {a:>12.3} {b:>12.3}"),
        None => println!("  {name:22} {a:>12.3}"),
    }
}

/// Decodes one of our frames and scales the picture to the capture size.
fn decode_at(
    decoder: &mut dyn VideoDecoder,
    up: &mut Scaler,
    e: &EncodedFrame,
    (w, h): (u32, u32),
) -> Result<Option<Frame>, CliError> {
    let Some(pic) = decoder
        .decode(&Packet::from(e))
        .map_err(|err| CliError::Check(format!("decoding our own stream: {err}")))?
    else {
        return Ok(None);
    };
    if (pic.width(), pic.height()) == (w, h) {
        return Ok(Some(pic));
    }
    Ok(Some(up.scale(&pic, w, h).map_err(rtvc_codec::Error::from)?))
}

/// Pops the pending captures at the front that pass `take(index, in_encoder)` and records their
/// luma MSE against `picture` (the worst possible MSE before the first picture).
fn judge(
    pending: &mut std::collections::VecDeque<(u64, Frame, bool)>,
    log: &mut RunLog,
    picture: Option<&Frame>,
    take: impl Fn(u64, bool) -> bool,
) -> Result<(), CliError> {
    while let Some((idx, _, in_encoder)) = pending.front()
        && take(*idx, *in_encoder)
    {
        let (idx, src, _) = pending.pop_front().expect("front exists");
        let mse = match picture {
            Some(p) => frame_mse(&src, p).map_err(rtvc_codec::Error::from)?.y,
            None => 65025.0,
        };
        if let Some(r) = log.frames.get_mut(idx as usize) {
            r.mse_y = mse;
        }
    }
    Ok(())
}

fn write_csv(path: &std::path::Path, log: &RunLog) -> Result<(), CliError> {
    use std::fmt::Write as _;
    let mut out = String::from(
        "t_ms,width,height,wire_bytes,keyframe,skip,delay_ms,psnr_y,target_kbps,capacity_kbps,\
         rtt_ms,guard,encoder_kbps\n",
    );
    for f in &log.frames {
        let s = log.samples.iter().rev().find(|s| s.t_ms <= f.t_ms);
        let _ = writeln!(
            out,
            "{:.1},{},{},{},{},{},{},{:.2},{:.1},{:.1},{},{:.2},{:.1}",
            f.t_ms,
            f.width,
            f.height,
            f.wire_bytes,
            u8::from(f.keyframe),
            f.skip.unwrap_or(""),
            f.delay_ms.map_or(String::new(), |d| format!("{d:.1}")),
            rtvc_codec::quality::psnr_from_mse(f.mse_y),
            s.map_or(0.0, |s| s.target_bps / 1e3),
            s.map_or(0.0, |s| s.capacity_bps / 1e3),
            f.rtt_ms.map_or(String::new(), |r| format!("{r:.1}")),
            f.guard,
            f64::from(f.encoder_bps) / 1e3,
        );
    }
    std::fs::write(path, out).map_err(|e| CliError::io(path, e))
}

/// Runs `rtvc rc`.
pub fn run(args: &RcArgs) -> Result<(), CliError> {
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 3600.0) {
        return Err(CliError::Usage(
            "--duration must be in (0, 3600] seconds".into(),
        ));
    }
    let (ours_log, encoder, trace) = Sim { args, ours: true }.run()?;
    let duration_ms = args.duration * 1000.0;
    let ours = ours_log.metrics(&trace, duration_ms);
    let base = if args.baseline {
        let (log, _, _) = Sim { args, ours: false }.run()?;
        Some((log.metrics(&trace, duration_ms), log))
    } else {
        None
    };
    if let Some(path) = &args.csv {
        write_csv(path, &ours_log)?;
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "{} {} on {} — {}",
            args.codec, encoder, trace.name, args.input
        );
        plot::write_svg(
            path,
            &title,
            &ours_log,
            base.as_ref().map(|b| &b.1),
            duration_ms,
        )?;
    }
    let report = Report {
        codec: args.codec.to_string(),
        encoder,
        input: args.input.clone(),
        trace: trace.name.clone(),
        trace_scale: args.trace_scale,
        duration_s: args.duration,
        ours,
        baseline: base.as_ref().map(|b| b.0.clone()),
    };
    if args.json {
        return crate::print_json(&report);
    }
    println!(
        "{} {} on {} ({:.0} s, capacity {:.0} kbps mean){}",
        report.codec,
        report.encoder,
        report.trace,
        report.duration_s,
        report.ours.capacity_kbps,
        if base.is_some() {
            "\n  metric                       rtvc        baseline"
        } else {
            ""
        }
    );
    // One row per metric, in the order of the struct, ours then the baseline.
    let ours = serde_json::to_value(&report.ours).map_err(|e| CliError::Check(e.to_string()))?;
    let base = report
        .baseline
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| CliError::Check(e.to_string()))?;
    if let serde_json::Value::Object(fields) = &ours {
        for (name, v) in fields {
            let b = base
                .as_ref()
                .and_then(|b| b.get(name))
                .and_then(|v| v.as_f64());
            row(name, v.as_f64().unwrap_or(0.0), b);
        }
    }
    if let Some(p) = &args.plot {
        println!("plot: {}", p.display());
    }
    Ok(())
}
