//! The SVG people look at first: capacity, target and sent bitrate; queueing delay; PSNR — over
//! time, resolution changes marked, ours against the baseline.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::CliError;
use rtvc_netsim::metrics::RunLog;

const OURS: RGBColor = RGBColor(0, 114, 178);
const BASELINE: RGBColor = RGBColor(213, 94, 0);
const TARGET: RGBColor = RGBColor(0, 158, 115);
const MARKER: RGBColor = RGBColor(150, 150, 150);

fn plot_err(e: impl std::fmt::Display) -> CliError {
    CliError::Write(std::io::Error::other(format!("plot: {e}")))
}

/// One line of a panel.
struct Line {
    label: &'static str,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    width: u32,
}

/// Sent bitrate in `bin_ms` bins, kbps.
fn sent_kbps(log: &RunLog, duration_ms: f64, bin_ms: f64) -> Vec<(f64, f64)> {
    let n = (duration_ms / bin_ms).ceil() as usize;
    let mut bits = vec![0.0; n];
    for f in &log.frames {
        let i = ((f.t_ms / bin_ms) as usize).min(n.saturating_sub(1));
        bits[i] += f.wire_bytes as f64 * 8.0;
    }
    bits.iter()
        .enumerate()
        .map(|(i, b)| (i as f64 * bin_ms / 1000.0, b / bin_ms))
        .collect()
}

/// Draws one panel: lines over time, optional vertical markers with labels.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    secs: f64,
    y: std::ops::Range<f64>,
    y_desc: &str,
    lines: Vec<Line>,
    markers: &[(f64, String)],
    legend: SeriesLabelPosition,
) -> Result<(), CliError> {
    let top = y.end;
    let mut c = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..secs, y)
        .map_err(plot_err)?;
    c.configure_mesh()
        .y_desc(y_desc)
        .x_desc("s")
        .draw()
        .map_err(plot_err)?;
    for line in lines {
        let (color, width) = (line.color, line.width);
        c.draw_series(LineSeries::new(line.points, color.stroke_width(width)))
            .map_err(plot_err)?
            .label(line.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
            });
    }
    for (x, label) in markers {
        c.draw_series(std::iter::once(PathElement::new(
            vec![(*x, 0.0), (*x, top)],
            MARKER.stroke_width(1),
        )))
        .map_err(plot_err)?;
        c.draw_series(std::iter::once(Text::new(
            label.clone(),
            (*x, top * 0.95),
            ("sans-serif", 12),
        )))
        .map_err(plot_err)?;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(legend)
        .draw()
        .map_err(plot_err)?;
    Ok(())
}

fn max_of<'a>(points: impl Iterator<Item = &'a (f64, f64)>, floor: f64) -> f64 {
    points.map(|p| p.1).fold(floor, f64::max) * 1.1
}

/// Writes the plot.
pub fn write_svg(
    path: &Path,
    title: &str,
    ours: &RunLog,
    baseline: Option<&RunLog>,
    duration_ms: f64,
) -> Result<(), CliError> {
    let root = SVGBackend::new(path, (1400, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(plot_err)?;
    let panels = root.split_evenly((3, 1));
    let secs = duration_ms / 1000.0;
    let line = |label, points, color, width| Line {
        label,
        points,
        color,
        width,
    };

    // Rates.
    let mut rates = vec![
        line(
            "capacity",
            ours.samples
                .iter()
                .map(|s| (s.t_ms / 1e3, s.capacity_bps / 1e3))
                .collect(),
            BLACK,
            2,
        ),
        line(
            "target (BWE)",
            ours.samples
                .iter()
                .map(|s| (s.t_ms / 1e3, s.target_bps / 1e3))
                .collect(),
            TARGET,
            1,
        ),
        line(
            "sent (rtvc, 200 ms)",
            sent_kbps(ours, duration_ms, 200.0),
            OURS,
            2,
        ),
    ];
    if let Some(b) = baseline {
        rates.push(line(
            "sent (baseline)",
            sent_kbps(b, duration_ms, 200.0),
            BASELINE,
            1,
        ));
    }
    let top = max_of(rates.iter().flat_map(|l| l.points.iter()), 100.0);
    let markers: Vec<(f64, String)> = ours
        .resolution_changes
        .iter()
        .map(|&(t, _, h)| (t / 1000.0, format!("{h}p")))
        .collect();
    panel(
        &panels[0],
        secs,
        0.0..top,
        "kbps",
        rates,
        &markers,
        SeriesLabelPosition::UpperRight,
    )?;

    // Queueing delay.
    let delay = |log: &RunLog| -> Vec<(f64, f64)> {
        log.frames
            .iter()
            .filter_map(|f| f.delay_ms.map(|d| (f.t_ms / 1e3, d)))
            .collect()
    };
    let mut delays = vec![line("rtvc", delay(ours), OURS, 2)];
    if let Some(b) = baseline {
        delays.push(line("baseline", delay(b), BASELINE, 1));
    }
    let top = max_of(delays.iter().flat_map(|l| l.points.iter()), 100.0);
    panel(
        &panels[1],
        secs,
        0.0..top,
        "queueing delay, ms",
        delays,
        &[],
        SeriesLabelPosition::UpperRight,
    )?;

    // PSNR of the latest decoded picture.
    let quality = |log: &RunLog| -> Vec<(f64, f64)> {
        log.frames
            .iter()
            .map(|f| {
                (
                    f.t_ms / 1e3,
                    rtvc_codec::quality::psnr_from_mse(f.mse_y).min(60.0),
                )
            })
            .collect()
    };
    let mut psnr = vec![line("rtvc", quality(ours), OURS, 1)];
    if let Some(b) = baseline {
        psnr.push(line("baseline", quality(b), BASELINE, 1));
    }
    let low = psnr
        .iter()
        .flat_map(|l| l.points.iter())
        .map(|p| p.1)
        .fold(60.0, f64::min);
    panel(
        &panels[2],
        secs,
        (low - 1.0).max(0.0)..60.0,
        "PSNR-Y, dB",
        psnr,
        &[],
        SeriesLabelPosition::LowerRight,
    )?;
    root.present().map_err(plot_err)?;
    Ok(())
}
