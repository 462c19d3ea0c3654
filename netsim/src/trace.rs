//! Link capacity over time: Mahimahi trace files or built-in synthetic traces, at 1 ms
//! resolution, repeating when they end.

use std::path::{Path, PathBuf};

/// Why a trace could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A line is not a millisecond count, or one too far out (more than 10^8 ms).
    #[error("{}:{line}: not a usable millisecond count: {text:?}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// Line number (from 1).
        line: usize,
        /// The line.
        text: String,
    },
    /// The file holds no delivery opportunity.
    #[error("{}: empty trace", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// `builtin:` with a name we do not have.
    #[error("unknown built-in trace {0:?} (good, steps, aimd, lte)")]
    UnknownBuiltin(String),
    /// The capacity scale is not a finite positive number.
    #[error("trace scale {0} must be > 0")]
    BadScale(f64),
}

/// Capacity in bytes per millisecond, repeating.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Name for reports (file name or `builtin:...`).
    pub name: String,
    /// Bytes the link can carry in each millisecond.
    slots: Vec<f64>,
}

/// Bytes of one Mahimahi delivery opportunity (one MTU-sized packet).
pub const MTU: f64 = 1500.0;

impl Trace {
    /// Loads `builtin:good|steps|aimd|lte` or a Mahimahi file, with capacity × `scale`; `seed`
    /// seeds `builtin:lte`.
    pub fn load(spec: &str, scale: f64, seed: u64) -> Result<Self, TraceError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(TraceError::BadScale(scale));
        }
        let mut t = match spec.strip_prefix("builtin:") {
            Some("good") => Self::good(),
            Some("steps") => Self::steps(),
            Some("aimd") => Self::aimd(),
            Some("lte") => Self::lte(seed),
            Some(other) => return Err(TraceError::UnknownBuiltin(other.into())),
            None => Self::mahimahi(Path::new(spec))?,
        };
        for s in &mut t.slots {
            *s *= scale;
        }
        if scale != 1.0 {
            t.name = format!("{} ×{scale}", t.name);
        }
        Ok(t)
    }

    /// A Mahimahi file: one line per delivery opportunity of a 1500-byte packet, the number is
    /// the millisecond it happens at.
    pub fn mahimahi(path: &Path) -> Result<Self, TraceError> {
        let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
            path: path.into(),
            source,
        })?;
        let bad_line = |i: usize, line: &str| TraceError::Line {
            path: path.into(),
            line: i + 1,
            text: line.chars().take(40).collect(),
        };
        let mut slots: Vec<f64> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let ms: usize = line.parse().map_err(|_| bad_line(i, line))?;
            if ms > 100_000_000 {
                return Err(bad_line(i, line));
            }
            if slots.len() <= ms {
                slots.resize(ms + 1, 0.0);
            }
            slots[ms] += MTU;
        }
        if slots.iter().all(|&s| s == 0.0) {
            return Err(TraceError::Empty { path: path.into() });
        }
        Ok(Self {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
            slots,
        })
    }

    /// One capacity per millisecond, bits/s (repeating after the last one). An empty iterator
    /// gives a link that never carries anything.
    pub fn from_rates(name: &str, rates_bps: impl Iterator<Item = f64>) -> Self {
        let mut slots: Vec<f64> = rates_bps.map(|bps| bps.max(0.0) / 8000.0).collect();
        if slots.is_empty() {
            slots.push(0.0);
        }
        Self {
            name: name.into(),
            slots,
        }
    }

    /// A steady `bps`.
    pub fn constant(name: &str, bps: f64) -> Self {
        Self::from_rates(name, std::iter::once(bps))
    }

    /// A steady 2.5 Mbps.
    pub fn good() -> Self {
        Self::constant("builtin:good", 2_500_000.0)
    }

    /// 1.5 Mbps → 500 kbps → 2.5 Mbps → 300 kbps, 15 s each.
    pub fn steps() -> Self {
        let rates = [1_500_000.0, 500_000.0, 2_500_000.0, 300_000.0];
        Self::from_rates(
            "builtin:steps",
            (0..60_000).map(move |ms| rates[ms / 15_000]),
        )
    }

    /// A GCC-like sawtooth: ramps 600 kbps → 1.8 Mbps over 8 s, falls back, repeats.
    pub fn aimd() -> Self {
        Self::from_rates(
            "builtin:aimd",
            (0..48_000).map(|ms| 600_000.0 + 1_200_000.0 * ((ms % 8000) as f64 / 8000.0)),
        )
    }

    /// Cellular-like: a seeded log-normal random walk around 1.2 Mbps (100 ms steps), clamped to
    /// 150 kbps – 3 Mbps, with a deep fade (to 15 %) of 1–2 s about every 20 s.
    pub fn lte(seed: u64) -> Self {
        let mut rng = crate::rng::XorShift64::seeded(seed);
        let mut next = || rng.next_f64();
        let mut log_rate = (1_200_000.0f64).ln();
        let mut fade_left = 0;
        let mut rates = Vec::with_capacity(1200);
        for _ in 0..1200 {
            // Mean-reverting walk (σ ≈ 12 % per step).
            let gauss = (0..4).map(|_| next()).sum::<f64>() - 2.0;
            log_rate += 0.05 * ((1_200_000.0f64).ln() - log_rate) + 0.2 * gauss;
            log_rate = log_rate.clamp((150_000.0f64).ln(), (3_000_000.0f64).ln());
            if fade_left == 0 && next() < 1.0 / 200.0 {
                fade_left = 10 + (next() * 10.0) as u32;
            }
            let mut rate = log_rate.exp();
            if fade_left > 0 {
                rate = (rate * 0.15).max(100_000.0);
                fade_left -= 1;
            }
            rates.push(rate);
        }
        Self::from_rates("builtin:lte", (0..120_000).map(move |ms| rates[ms / 100]))
    }

    /// Bytes the link carries in millisecond `ms`.
    pub fn bytes_at(&self, ms: u64) -> f64 {
        self.slots[(ms % self.slots.len() as u64) as usize]
    }

    /// Mean capacity over `[from_ms, to_ms)`, bits/s.
    pub fn capacity_bps(&self, from_ms: u64, to_ms: u64) -> f64 {
        if to_ms <= from_ms {
            return 0.0;
        }
        let bytes: f64 = (from_ms..to_ms).map(|ms| self.bytes_at(ms)).sum();
        bytes * 8000.0 / (to_ms - from_ms) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_the_documented_rates() {
        let t = Trace::steps();
        assert!((t.capacity_bps(0, 15_000) - 1_500_000.0).abs() < 1.0);
        assert!((t.capacity_bps(45_000, 60_000) - 300_000.0).abs() < 1.0);
        assert!(
            (t.capacity_bps(60_000, 61_000) - 1_500_000.0).abs() < 1.0,
            "repeats"
        );
        let l = Trace::lte(1);
        let mean = l.capacity_bps(0, 120_000);
        assert!((400_000.0..2_000_000.0).contains(&mean), "{mean}");
        assert_eq!(
            Trace::lte(1).capacity_bps(0, 5000),
            Trace::lte(1).capacity_bps(0, 5000)
        );
    }

    #[test]
    fn mahimahi_and_scaling() {
        let dir = std::env::temp_dir().join(format!("rtvc-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.up");
        // Two packets in ms 0, one in ms 2: 3 × 1500 bytes over 3 ms.
        std::fs::write(&p, "0\n0\n2\n").unwrap();
        let t = Trace::load(p.to_str().unwrap(), 0.5, 0).unwrap();
        assert_eq!(t.bytes_at(0), 1500.0);
        assert_eq!(t.bytes_at(5), 750.0);
        std::fs::write(&p, "0\nx\n").unwrap();
        assert!(Trace::load(p.to_str().unwrap(), 1.0, 0).is_err());
        assert!(Trace::load("builtin:nope", 1.0, 0).is_err());
        assert!(Trace::load("builtin:steps", 0.0, 0).is_err());
    }
}
