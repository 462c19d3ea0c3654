//! `rtvc call`: a simulated call between rtvc endpoints (str0m + our factories) over an
//! emulated network — see `rtvc_webrtc::call`. With no arguments it is the README's demo: a
//! 20 s 1:1 AV1 call on the synthetic scene over `builtin:lte`, with a camera switch at 8 s and
//! a 2 s outage at 12 s, a live progress line, a table per stream and a plot.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use plotters::prelude::*;
use rtvc_codec::{CodecKind, Frame};
use rtvc_netsim::{Loss, Outage};
use rtvc_webrtc::call::camera::{Camera, CameraMaker};
use rtvc_webrtc::call::{
    Call, CallConfig, CallError, CallReport, CostModel, MeshEncoding, NetworkConfig, Progress,
    StreamReport,
};

use crate::CliError;
use crate::encode::parse_codec;
use crate::source::LoopingClip;

/// Arguments of `rtvc call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Codec.
    #[arg(long, value_parser = parse_codec, default_value = "av1")]
    pub codec: CodecKind,
    /// Participants (2 = 1:1, up to 4: mesh).
    #[arg(long, default_value_t = 2)]
    pub peers: usize,
    /// Camera: a clip (looped; .264, .ivf, .y4m) or synthetic:WxH; its size is the send size.
    #[arg(long, default_value = "synthetic:1280x720")]
    pub input: String,
    /// builtin:good (steady 2.5 Mbps), builtin:lte, builtin:steps, builtin:aimd, or a Mahimahi
    /// trace file; per direction of every pair.
    #[arg(long, default_value = "builtin:lte")]
    pub network: String,
    /// Multiply the trace's capacity.
    #[arg(long, default_value_t = 1.0)]
    pub trace_scale: f64,
    /// Round trip of the path without queueing, ms.
    #[arg(long, default_value_t = 40.0)]
    pub rtt: f64,
    /// Jitter, ± ms per packet (one way).
    #[arg(long, default_value_t = 0.0)]
    pub jitter: f64,
    /// Random loss, % of packets.
    #[arg(long)]
    pub loss: Option<f64>,
    /// Burst loss (Gilbert-Elliott, bursts of 3 packets on average), % of packets.
    #[arg(long)]
    pub burst_loss: Option<f64>,
    /// Participant 0's network drops at AT seconds for DUR seconds (AT+DUR; repeatable).
    #[arg(long)]
    pub outage: Vec<String>,
    /// Participant 0 switches to its rear camera (1920x1080) at this second.
    #[arg(long)]
    pub camera_switch: Option<f64>,
    /// Participant 0 turns its camera off at AT seconds for DUR seconds (AT+DUR).
    #[arg(long)]
    pub camera_off: Option<String>,
    /// Seconds to simulate.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seed of the network's randomness (and of builtin:lte).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CPU times from a per-resolution table instead of measured: the same seed gives the same
    /// run.
    #[arg(long)]
    pub fixed_cost: bool,
    /// Mesh: one encode for all connections (shared), one per connection (per-link), or one
    /// with two temporal layers whose base layer alone goes to weaker links (layered).
    #[arg(long, default_value = "shared", value_parser = parse_mesh)]
    pub mesh: MeshEncoding,
    /// Cores per participant.
    #[arg(long, default_value_t = 2)]
    pub cores: u32,
    /// The baseline: str0m's estimate straight into the codec's own rate control (with its
    /// frame dropping), without rtvc's rate controller.
    #[arg(long)]
    pub baseline: bool,
    /// Write a plot (capacity, estimate, sent rate, g2g latency, freezes, events) here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print `{"streams": [...], "summary": {...}}`.
    #[arg(long)]
    pub json: bool,
}

fn parse_mesh(s: &str) -> Result<MeshEncoding, String> {
    match s {
        "shared" => Ok(MeshEncoding::Shared),
        "per-link" => Ok(MeshEncoding::PerLink),
        "layered" => Ok(MeshEncoding::Layered),
        _ => Err(format!("{s:?}: shared, per-link or layered")),
    }
}

/// `AT+DUR` in seconds → ms.
fn parse_span(s: &str, what: &str) -> Result<(f64, f64), CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--{what} {s:?}: expected AT+DUR in seconds, e.g. 12+2"
        ))
    };
    let (a, d) = s.split_once('+').ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let d: f64 = d.trim().parse().map_err(|_| bad())?;
    if !(a.is_finite() && d.is_finite() && a >= 0.0 && d > 0.0) {
        return Err(bad());
    }
    Ok((a * 1000.0, d * 1000.0))
}

struct ClipCamera(LoopingClip);

impl Camera for ClipCamera {
    fn frame(&mut self, _n: u64) -> Result<Frame, CallError> {
        self.0
            .next()
            .map_err(|e| CallError::Setup(format!("camera: {e}")))
    }
}

/// Cameras from `--input`: the clip (or scene) in front; at the back a 1920x1080 clip beside
/// it when there is one (`*_1920x1080_*`), else the synthetic scene at 1920x1080.
fn cameras(input: &str, fps: f64) -> Result<(CameraMaker, u32, u32), CliError> {
    if let Some(size) = input.strip_prefix("synthetic:") {
        let (w, h) = crate::util::parse_size(size).map_err(CliError::Usage)?;
        return Ok((
            rtvc_webrtc::call::camera::synthetic_cameras(w, h, fps),
            w,
            h,
        ));
    }
    let mut probe = LoopingClip::open(input, None)?;
    let first = probe.next()?;
    let (w, h) = (first.width(), first.height());
    let rear = Path::new(input)
        .parent()
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().contains("_1920x1080_"))
        })
        .map(|p| p.display().to_string());
    let front = input.to_string();
    let maker: CameraMaker = Box::new(move |_participant, position| {
        let spec = match (position, &rear) {
            (0, _) => front.clone(),
            (_, Some(r)) => r.clone(),
            (_, None) => "synthetic:1920x1080".into(),
        };
        let clip = LoopingClip::open(&spec, None)
            .map_err(|e| CallError::Setup(format!("camera {spec}: {e}")))?;
        Ok(Box::new(ClipCamera(clip)) as Box<dyn Camera>)
    });
    Ok((maker, w, h))
}

/// Runs `rtvc call`; `bare` = no arguments at all (the demo).
pub fn run(args: &CallArgs, bare: bool) -> Result<(), CliError> {
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 3600.0) {
        return Err(CliError::Usage(
            "--duration must be in (0, 3600] seconds".into(),
        ));
    }
    let pct = |v: Option<f64>, what: &str| -> Result<Option<f64>, CliError> {
        match v {
            Some(p) if !(0.0..=50.0).contains(&p) => Err(CliError::Usage(format!(
                "--{what} {p}: a percentage in 0..=50"
            ))),
            other => Ok(other.map(|p| p / 100.0)),
        }
    };
    let loss = match (pct(args.loss, "loss")?, pct(args.burst_loss, "burst-loss")?) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage(
                "--loss and --burst-loss: one or the other".into(),
            ));
        }
        (Some(p), None) => Loss::Random(p),
        (None, Some(p)) => Loss::bursts(p, 3.0),
        (None, None) => Loss::None,
    };
    let mut outages: Vec<Outage> = args
        .outage
        .iter()
        .map(|s| {
            parse_span(s, "outage").map(|(a, d)| Outage {
                start_ms: a,
                duration_ms: d,
            })
        })
        .collect::<Result<_, _>>()?;
    let mut camera_switch = args.camera_switch.map(|s| s * 1000.0);
    let camera_off = args
        .camera_off
        .as_deref()
        .map(|s| parse_span(s, "camera-off"))
        .transpose()?;
    let mut plot = args.plot.clone();
    if bare {
        camera_switch = Some(8000.0);
        outages.push(Outage {
            start_ms: 12_000.0,
            duration_ms: 2000.0,
        });
        plot = Some(PathBuf::from("rtvc-call.svg"));
    }
    let fps = 30.0;
    let (cameras, width, height) = cameras(&args.input, fps)?;
    let mut config = CallConfig::new(args.codec, width, height);
    config.participants = args.peers;
    config.fps = fps;
    config.network = NetworkConfig {
        trace: args.network.clone(),
        trace_scale: args.trace_scale,
        rtt_ms: args.rtt,
        jitter_ms: args.jitter,
        loss,
        outages,
        ..NetworkConfig::default()
    };
    config.duration_ms = args.duration * 1000.0;
    config.seed = args.seed;
    config.cost = if args.fixed_cost {
        CostModel::Fixed
    } else {
        CostModel::Measured
    };
    config.cores = args.cores;
    config.camera_switch_ms = camera_switch;
    config.camera_off = camera_off;
    config.mesh = args.mesh;
    config.rtvc_rate_control = !args.baseline;
    config.cameras = cameras;
    let live = !args.json && std::io::stderr().is_terminal();
    if !args.json {
        println!(
            "rtvc call: {} participants, {} {}x{} from {}, network {} (×{}), RTT {} ms, {:.0} s{}",
            args.peers,
            args.codec,
            width,
            height,
            args.input,
            args.network,
            args.trace_scale,
            args.rtt,
            args.duration,
            if bare {
                " — demo: camera switch at 8 s, outage at 12 s for 2 s"
            } else {
                ""
            }
        );
    }
    let call = Call::new(config).map_err(call_error)?;
    let report = call
        .run(|p| {
            if live {
                progress_line(p);
            }
        })
        .map_err(call_error)?;
    if live {
        eprintln!();
    }
    if let Some(path) = &plot {
        let title = format!(
            "rtvc call: {} {}, {} participants, {}",
            args.codec, args.input, args.peers, args.network
        );
        write_plot(path, &title, &report)?;
    }
    if args.json {
        return crate::print_json(&report);
    }
    print_table(&report);
    println!(
        "simulated {:.0} s in {:.1} s of wall-clock ({:.1}× real time)",
        report.simulated_s,
        report.wall_s,
        report.simulated_s / report.wall_s.max(1e-9)
    );
    for e in report
        .events
        .iter()
        .filter(|e| !e.what.contains("ICE with"))
    {
        println!("  {:7.2} s  {}", e.t_ms / 1000.0, e.what);
    }
    if let Some(p) = &plot {
        println!("plot: {}", p.display());
    }
    Ok(())
}

fn call_error(e: CallError) -> CliError {
    match e {
        CallError::Setup(m) => CliError::Usage(m),
        CallError::Trace(t) => crate::rc::trace_error(t),
        CallError::Link(l) => CliError::Usage(l.to_string()),
        other => CliError::Check(other.to_string()),
    }
}

fn progress_line(p: &Progress) {
    let mut line = format!("\r{:5.0} s", p.t_s);
    for (name, kbps, fps, g2g, freezes) in &p.streams {
        line.push_str(&format!(
            " | {name} {kbps:5.0} kbps {fps:3.0} fps g2g {} {freezes} frz",
            g2g.map_or("  -".to_string(), |g| format!("{g:3.0} ms"))
        ));
    }
    let mut err = std::io::stderr();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

fn print_table(r: &CallReport) {
    println!(
        "{:9} {:>5} {:>6} {:>6} {:>4} {:>7} {:>7} {:>7} {:>6} {:>6} {:>4} {:>5} {:>8} {:>6} {:>6}",
        "stream",
        "sent",
        "shown",
        "drop%",
        "frz",
        "max frz",
        "g2g p50",
        "g2g p95",
        "PSNR-Y",
        "screen",
        "PLI",
        "NACK",
        "recovery",
        "kbps",
        "bwe"
    );
    let row = |s: &StreamReport| {
        println!(
            "{:9} {:>5} {:>6} {:>6.1} {:>4} {:>7.0} {:>7.1} {:>7.1} {:>6.2} {:>6.2} {:>4} {:>5} {:>8} {:>6.0} {:>6.0}",
            format!("{}→{}", s.from, s.to),
            s.frames_sent,
            s.frames_decoded,
            s.drops_pct,
            s.freezes,
            s.max_freeze_ms,
            s.g2g_ms_p50,
            s.g2g_ms_p95,
            s.psnr_y,
            s.psnr_y_display,
            s.keyframe_requests,
            s.nacks,
            s.recovery_ms.map_or("-".into(), |v| format!("{v:.0} ms")),
            s.kbps,
            s.bwe_kbps,
        );
    };
    for s in &r.streams {
        row(s);
    }
    row(&r.summary);
    println!(
        "CPU for video, % of each participant's cores: {}",
        r.cpu_percent
            .iter()
            .enumerate()
            .map(|(i, c)| format!("p{i} {c:.0} %"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// One value of a timeline point.
type Metric = fn(&rtvc_webrtc::call::TimelinePoint) -> f64;

fn plot_err(e: impl std::fmt::Display) -> CliError {
    CliError::Write(std::io::Error::other(format!("plot: {e}")))
}

/// Rates (capacity, estimate, sent) and g2g latency per stream, freezes in red, events as
/// vertical lines.
fn write_plot(path: &Path, title: &str, r: &CallReport) -> Result<(), CliError> {
    let streams = r.streams.len().min(4);
    let root = SVGBackend::new(path, (1400, 360 * streams as u32 + 60)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(plot_err)?;
    let rows = root.split_evenly((streams, 2));
    let secs = r.simulated_s;
    let colors = [
        RGBColor(150, 150, 150),
        RGBColor(0, 158, 115),
        RGBColor(0, 114, 178),
    ];
    for (k, s) in r.streams.iter().take(streams).enumerate() {
        let tl = &r.timeline[k];
        let rate_max = tl
            .iter()
            .flat_map(|p| [p.capacity_bps, p.estimate_bps, p.sent_bps])
            .fold(100_000.0, f64::max)
            / 1000.0
            * 1.1;
        let mut c = ChartBuilder::on(&rows[2 * k])
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .caption(format!("{}→{} rates", s.from, s.to), ("sans-serif", 16))
            .build_cartesian_2d(0.0..secs, 0.0..rate_max)
            .map_err(plot_err)?;
        c.configure_mesh()
            .y_desc("kbps")
            .x_desc("s")
            .draw()
            .map_err(plot_err)?;
        let series: [(&str, Metric); 3] = [
            ("capacity", |p| p.capacity_bps),
            ("estimate", |p| p.estimate_bps),
            ("sent", |p| p.sent_bps),
        ];
        for (idx, (label, f)) in series.iter().enumerate() {
            let color = colors[idx];
            c.draw_series(LineSeries::new(
                tl.iter().map(|p| (p.t_ms / 1000.0, f(p) / 1000.0)),
                color.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        for e in &r.events {
            if e.what.contains("ICE with") || e.what.contains("connected") {
                continue;
            }
            let x = e.t_ms / 1000.0;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, rate_max)],
                RGBColor(200, 200, 200).stroke_width(1),
            )))
            .map_err(plot_err)?;
            c.draw_series(std::iter::once(Text::new(
                e.what.clone(),
                (x, rate_max * 0.95),
                ("sans-serif", 11),
            )))
            .map_err(plot_err)?;
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
        let g_max = tl
            .iter()
            .filter_map(|p| p.g2g_ms)
            .fold(100.0, f64::max)
            .min(3000.0)
            * 1.1;
        let mut g = ChartBuilder::on(&rows[2 * k + 1])
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .caption(
                format!("{}→{} glass-to-glass latency, freezes (red)", s.from, s.to),
                ("sans-serif", 16),
            )
            .build_cartesian_2d(0.0..secs, 0.0..g_max)
            .map_err(plot_err)?;
        g.configure_mesh()
            .y_desc("ms")
            .x_desc("s")
            .draw()
            .map_err(plot_err)?;
        g.draw_series(LineSeries::new(
            tl.iter()
                .filter_map(|p| p.g2g_ms.map(|v| (p.t_ms / 1000.0, v.min(g_max)))),
            RGBColor(0, 114, 178).stroke_width(2),
        ))
        .map_err(plot_err)?;
        for &(at, len) in &r.freezes[k] {
            let (a, b) = (at / 1000.0, (at + len) / 1000.0);
            g.draw_series(std::iter::once(Rectangle::new(
                [(a, 0.0), (b, g_max * 0.05)],
                RGBColor(213, 94, 0).filled(),
            )))
            .map_err(plot_err)?;
        }
    }
    root.present().map_err(plot_err)?;
    Ok(())
}
