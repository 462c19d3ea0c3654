//! Small helpers shared by the subcommands.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Parses a bitrate: `1200k`, `1.2M`, `800000`, `64kbps`. Returns bits per second.
pub fn parse_bitrate(s: &str) -> Result<u32, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix("bps").unwrap_or(&t);
    let (num, mul) = if let Some(n) = t.strip_suffix('k') {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 1e6)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid bitrate {s:?} (examples: 1200k, 1.2M, 800000)"))?;
    let bps = v * mul;
    if !bps.is_finite() || bps < 0.0 || bps > u32::MAX as f64 {
        return Err(format!("bitrate {s:?} out of range"));
    }
    Ok(bps.round() as u32)
}

/// Parses a ladder, `HEIGHT:BITRATE,...` (e.g. `720:1.2M,540:700k,360:300k,180:0`), into
/// (height, minimum bits/s) thresholds, tallest first.
pub fn parse_ladder(s: &str) -> Result<Vec<(u32, u32)>, String> {
    let usage = || {
        format!("--ladder {s:?}: expected HEIGHT:BITRATE,... e.g. 720:1.2M,540:700k,360:300k,180:0")
    };
    let mut v = s
        .split(',')
        .map(|part| {
            let (h, b) = part.trim().split_once(':').ok_or_else(usage)?;
            let height = h.trim().parse::<u32>().map_err(|_| usage())?;
            Ok((height, parse_bitrate(b)?))
        })
        .collect::<Result<Vec<_>, String>>()?;
    v.sort_by_key(|t| std::cmp::Reverse(t.0));
    Ok(v)
}

/// Parses `WIDTHxHEIGHT`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    rtvc_codec::synthetic::SyntheticScene::parse_size(s)
        .filter(|&(w, h)| w > 0 && h > 0)
        .ok_or_else(|| format!("invalid size {s:?} (expected WIDTHxHEIGHT, e.g. 1280x720)"))
}

/// Percentile (0..=100) of durations, in milliseconds (nearest-rank).
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

/// A progress bar on stderr when it is a terminal (and not in JSON mode); hidden otherwise so
/// piped output stays plain.
pub fn progress(total: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Rounds to `d` decimals for reports.
pub fn round(v: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (v * m).round() / m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates() {
        assert_eq!(parse_bitrate("1200k"), Ok(1_200_000));
        assert_eq!(parse_bitrate("1.2M"), Ok(1_200_000));
        assert_eq!(parse_bitrate("800000"), Ok(800_000));
        assert_eq!(parse_bitrate("64kbps"), Ok(64_000));
        assert!(parse_bitrate("fast").is_err());
        assert!(parse_bitrate("-5k").is_err());
    }

    #[test]
    fn ladders_parse_tallest_first() {
        assert_eq!(
            parse_ladder("360:300k, 720:1.2m,180:0"),
            Ok(vec![(720, 1_200_000), (360, 300_000), (180, 0)])
        );
        assert!(parse_ladder("720").is_err());
        assert!(parse_ladder("720:fast").is_err());
        assert!(parse_ladder("").is_err());
    }

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&v, 50.0), 50.0);
        assert_eq!(percentile_ms(&v, 99.0), 99.0);
        assert_eq!(percentile_ms(&[], 99.0), 0.0);
    }
}
