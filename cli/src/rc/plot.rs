//! The SVG people look at first: capacity, target and sent bitrate; queueing delay; PSNR — over
//! time, resolution changes marked, ours against the baseline.

use std::path::Path;

use plotters::prelude::*;

use super::metrics::RunLog;
use crate::CliError;

fn bins(log: &RunLog, duration_ms: f64, bin_ms: f64) -> Vec<(f64, f64)> {
    let n = (duration_ms / bin_ms).ceil() as usize;
    let mut sent = vec![0.0; n];
    for f in &log.frames {
        let i = ((f.t_ms / bin_ms) as usize).min(n.saturating_sub(1));
        sent[i] += f.wire_bytes as f64 * 8.0;
    }
    sent.iter()
        .enumerate()
        .map(|(i, b)| (i as f64 * bin_ms / 1000.0, b / bin_ms)) // kbps
        .collect()
}

fn plot_err(e: impl std::fmt::Display) -> CliError {
    CliError::Write(std::io::Error::other(format!("plot: {e}")))
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
    let ours_color = RGBColor(0, 114, 178);
    let base_color = RGBColor(213, 94, 0);

    // Panel 1: rates.
    let cap: Vec<(f64, f64)> = ours
        .samples
        .iter()
        .map(|s| (s.t_ms / 1000.0, s.capacity_bps / 1e3))
        .collect();
    let tgt: Vec<(f64, f64)> = ours
        .samples
        .iter()
        .map(|s| (s.t_ms / 1000.0, s.target_bps / 1e3))
        .collect();
    let sent = bins(ours, duration_ms, 200.0);
    let base_sent = baseline.map(|b| bins(b, duration_ms, 200.0));
    let max_rate = cap
        .iter()
        .chain(&sent)
        .chain(base_sent.iter().flatten())
        .map(|p| p.1)
        .fold(100.0, f64::max)
        * 1.1;
    let mut c = ChartBuilder::on(&panels[0])
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..secs, 0.0..max_rate)
        .map_err(plot_err)?;
    c.configure_mesh()
        .y_desc("kbps")
        .x_desc("s")
        .draw()
        .map_err(plot_err)?;
    c.draw_series(LineSeries::new(cap, BLACK.stroke_width(2)))
        .map_err(plot_err)?
        .label("capacity")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    c.draw_series(LineSeries::new(tgt, RGBColor(0, 158, 115).stroke_width(1)))
        .map_err(plot_err)?
        .label("target (BWE)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(0, 158, 115)));
    c.draw_series(LineSeries::new(sent, ours_color.stroke_width(2)))
        .map_err(plot_err)?
        .label("sent (rtvc, 200 ms)")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], ours_color.stroke_width(2))
        });
    if let Some(b) = base_sent {
        c.draw_series(LineSeries::new(b, base_color.stroke_width(1)))
            .map_err(plot_err)?
            .label("sent (baseline)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], base_color));
    }
    for &(t, w, h) in &ours.resolution_changes {
        let x = t / 1000.0;
        c.draw_series(std::iter::once(PathElement::new(
            vec![(x, 0.0), (x, max_rate)],
            RGBColor(150, 150, 150).stroke_width(1),
        )))
        .map_err(plot_err)?;
        c.draw_series(std::iter::once(Text::new(
            format!("{h}p"),
            (x, max_rate * 0.95),
            ("sans-serif", 12),
        )))
        .map_err(plot_err)?;
        let _ = w;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_err)?;

    // Panel 2: queueing delay.
    let delay = |log: &RunLog| -> Vec<(f64, f64)> {
        log.frames
            .iter()
            .filter_map(|f| f.delay_ms.map(|d| (f.t_ms / 1000.0, d)))
            .collect()
    };
    let d_ours = delay(ours);
    let d_base = baseline.map(delay);
    let max_delay = d_ours
        .iter()
        .chain(d_base.iter().flatten())
        .map(|p| p.1)
        .fold(100.0, f64::max)
        * 1.1;
    let mut c = ChartBuilder::on(&panels[1])
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..secs, 0.0..max_delay)
        .map_err(plot_err)?;
    c.configure_mesh()
        .y_desc("queueing delay, ms")
        .x_desc("s")
        .draw()
        .map_err(plot_err)?;
    c.draw_series(LineSeries::new(d_ours, ours_color.stroke_width(2)))
        .map_err(plot_err)?
        .label("rtvc")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], ours_color.stroke_width(2))
        });
    if let Some(b) = d_base {
        c.draw_series(LineSeries::new(b, base_color.stroke_width(1)))
            .map_err(plot_err)?
            .label("baseline")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], base_color));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_err)?;

    // Panel 3: PSNR of what the receiver shows.
    let q = |log: &RunLog| -> Vec<(f64, f64)> {
        log.frames
            .iter()
            .map(|f| {
                (
                    f.t_ms / 1000.0,
                    rtvc_codec::quality::psnr_from_mse(f.mse_y).min(60.0),
                )
            })
            .collect()
    };
    let q_ours = q(ours);
    let q_base = baseline.map(q);
    let lo = q_ours
        .iter()
        .chain(q_base.iter().flatten())
        .map(|p| p.1)
        .fold(60.0, f64::min);
    let mut c = ChartBuilder::on(&panels[2])
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..secs, (lo - 1.0).max(0.0)..60.0)
        .map_err(plot_err)?;
    c.configure_mesh()
        .y_desc("PSNR-Y, dB")
        .x_desc("s")
        .draw()
        .map_err(plot_err)?;
    c.draw_series(LineSeries::new(q_ours, ours_color.stroke_width(1)))
        .map_err(plot_err)?
        .label("rtvc")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], ours_color.stroke_width(2))
        });
    if let Some(b) = q_base {
        c.draw_series(LineSeries::new(b, base_color.stroke_width(1)))
            .map_err(plot_err)?
            .label("baseline")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], base_color));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}
