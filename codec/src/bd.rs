//! Bjøntegaard-delta metrics (VCEG-M33) with piecewise cubic Hermite interpolation (PCHIP), as
//! in the JCT-VC common test conditions' sheet (JCTVC-L1100) — the variant that does not
//! overshoot between points the way VCEG-M33's single cubic fit does.
//!
//! [`bd_rate`]: the average difference in bitrate, in percent, of `test` against `anchor` for
//! the same quality over the quality range both curves cover (negative: `test` needs fewer
//! bits). [`bd_psnr`]: the average quality difference, dB, over the common log-rate range.
//!
//! Each curve is interpolated with monotone PCHIP slopes (Fritsch–Carlson: a weighted harmonic
//! mean of the neighbouring secants inside, zero at a local extremum, a one-sided three-point
//! formula at the ends) and integrated exactly, piece by piece.

/// Why BD metrics could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BdError {
    /// Fewer than two points in a curve.
    #[error("a curve needs at least 2 points")]
    TooFewPoints,
    /// Rates and qualities of different lengths.
    #[error("rates and qualities differ in length")]
    LengthMismatch,
    /// A rate that is not positive, or a value that is not finite.
    #[error("rates must be positive and every value finite")]
    BadValue,
    /// Two points of one curve share an x value (after sorting): no function of it.
    #[error("two points of a curve have the same quality (or rate)")]
    Duplicate,
    /// The curves do not overlap.
    #[error("the curves' ranges do not overlap")]
    NoOverlap,
}

/// A curve `y(x)` through points sorted by `x`, with PCHIP slopes.
#[derive(Debug)]
struct Pchip {
    x: Vec<f64>,
    y: Vec<f64>,
    m: Vec<f64>,
}

impl Pchip {
    fn new(mut pts: Vec<(f64, f64)>) -> Result<Self, BdError> {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        if pts.windows(2).any(|w| w[1].0 <= w[0].0) {
            return Err(BdError::Duplicate);
        }
        let (x, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        let n = x.len();
        let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        let d: Vec<f64> = (0..n - 1).map(|k| (y[k + 1] - y[k]) / h[k]).collect();
        let mut m = vec![0.0; n];
        if n == 2 {
            m[0] = d[0];
            m[1] = d[0];
        } else {
            for k in 1..n - 1 {
                if d[k - 1] * d[k] > 0.0 {
                    let w1 = 2.0 * h[k] + h[k - 1];
                    let w2 = h[k] + 2.0 * h[k - 1];
                    m[k] = (w1 + w2) / (w1 / d[k - 1] + w2 / d[k]);
                }
            }
            m[0] = edge(h[0], h[1], d[0], d[1]);
            m[n - 1] = edge(h[n - 2], h[n - 3], d[n - 2], d[n - 3]);
        }
        Ok(Self { x, y, m })
    }

    /// ∫ y dx over [a, b] (inside the points' range).
    fn integral(&self, a: f64, b: f64) -> f64 {
        let mut total = 0.0;
        for k in 0..self.x.len() - 1 {
            let (x0, x1) = (self.x[k], self.x[k + 1]);
            let lo = a.max(x0);
            let hi = b.min(x1);
            if hi <= lo {
                continue;
            }
            total += self.segment_integral(k, hi) - self.segment_integral(k, lo);
        }
        total
    }

    /// ∫ from x[k] to `x` of segment `k`'s Hermite cubic.
    fn segment_integral(&self, k: usize, x: f64) -> f64 {
        let h = self.x[k + 1] - self.x[k];
        let t = (x - self.x[k]) / h;
        let (y0, y1, m0, m1) = (self.y[k], self.y[k + 1], self.m[k], self.m[k + 1]);
        // Antiderivatives (in t) of the Hermite basis functions, from 0 to t.
        let t2 = t * t;
        let t3 = t2 * t;
        let t4 = t3 * t;
        let h00 = t4 / 2.0 - t3 + t;
        let h10 = t4 / 4.0 - 2.0 * t3 / 3.0 + t2 / 2.0;
        let h01 = -t4 / 2.0 + t3;
        let h11 = t4 / 4.0 - t3 / 3.0;
        h * (y0 * h00 + h * m0 * h10 + y1 * h01 + h * m1 * h11)
    }
}

/// The end slope: a three-point estimate, kept monotone (as SciPy's `PchipInterpolator`).
fn edge(h0: f64, h1: f64, d0: f64, d1: f64) -> f64 {
    let m = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
    if m.signum() != d0.signum() || d0 == 0.0 {
        0.0
    } else if d0.signum() != d1.signum() && m.abs() > 3.0 * d0.abs() {
        3.0 * d0
    } else {
        m
    }
}

fn check(rates: &[f64], quality: &[f64]) -> Result<(), BdError> {
    if rates.len() != quality.len() {
        return Err(BdError::LengthMismatch);
    }
    if rates.len() < 2 {
        return Err(BdError::TooFewPoints);
    }
    if rates.iter().any(|&r| !(r.is_finite() && r > 0.0)) || quality.iter().any(|q| !q.is_finite())
    {
        return Err(BdError::BadValue);
    }
    Ok(())
}

/// Checks both curves, maps each (rate, quality) point to (x, y) with `point`, and averages
/// `test − anchor` over the common x range.
fn average_gap(
    anchor: (&[f64], &[f64]),
    test: (&[f64], &[f64]),
    point: fn(f64, f64) -> (f64, f64),
) -> Result<f64, BdError> {
    check(anchor.0, anchor.1)?;
    check(test.0, test.1)?;
    let curve = |(r, q): (&[f64], &[f64])| r.iter().zip(q).map(|(&r, &q)| point(r, q)).collect();
    let (p1, p2) = (Pchip::new(curve(anchor))?, Pchip::new(curve(test))?);
    let lo = p1.x[0].max(p2.x[0]);
    let hi = p1.x[p1.x.len() - 1].min(p2.x[p2.x.len() - 1]);
    if hi <= lo {
        return Err(BdError::NoOverlap);
    }
    Ok((p2.integral(lo, hi) - p1.integral(lo, hi)) / (hi - lo))
}

/// BD-rate of `test` against `anchor`, percent (negative: fewer bits for the same quality).
/// Rates in any unit (the same for both), quality in dB (or any quality score).
pub fn bd_rate(
    anchor_rates: &[f64],
    anchor_quality: &[f64],
    test_rates: &[f64],
    test_quality: &[f64],
) -> Result<f64, BdError> {
    // log10(rate) as a function of quality.
    let gap = average_gap(
        (anchor_rates, anchor_quality),
        (test_rates, test_quality),
        |r, q| (q, r.log10()),
    )?;
    Ok((10f64.powf(gap) - 1.0) * 100.0)
}

/// BD-PSNR of `test` against `anchor`, dB (positive: better quality for the same bits).
pub fn bd_psnr(
    anchor_rates: &[f64],
    anchor_quality: &[f64],
    test_rates: &[f64],
    test_quality: &[f64],
) -> Result<f64, BdError> {
    // Quality as a function of log10(rate).
    average_gap(
        (anchor_rates, anchor_quality),
        (test_rates, test_quality),
        |r, q| (r.log10(), q),
    )
}
#[cfg(test)]
mod tests {
    use super::*;

    // The example of FAU-LMS/bjontegaard's README (libx265 presets, measured with ffmpeg); the
    // expected values are what that package (PCHIP, equal to the JCT-VC sheet to 10 decimals)
    // prints for them: -4.4175 % and 0.1197 dB.
    const R1: [f64; 4] = [9487.76, 4593.60, 2486.44, 1358.24];
    const Q1: [f64; 4] = [40.037, 38.615, 36.845, 34.851];
    const R2: [f64; 4] = [9787.80, 4469.00, 2451.52, 1356.24];
    const Q2: [f64; 4] = [40.121, 38.651, 36.970, 34.987];

    #[test]
    fn published_example_matches_the_reference_implementation() {
        let r = bd_rate(&R1, &Q1, &R2, &Q2).expect("computes");
        assert!((r - -4.417_485).abs() < 1e-4, "{r}");
        let p = bd_psnr(&R1, &Q1, &R2, &Q2).expect("computes");
        assert!((p - 0.119_693).abs() < 1e-5, "{p}");
    }

    #[test]
    fn a_second_example_with_a_worse_test_curve() {
        // From the demo of Anserw/Bjontegaard_metric; the reference package gives +31.3799 %
        // and -1.1835 dB with PCHIP.
        let (r1, q1) = (
            [686.76, 309.58, 157.11, 85.95],
            [40.28, 37.18, 34.24, 31.42],
        );
        let (r2, q2) = (
            [893.34, 407.8, 204.93, 112.75],
            [40.39, 37.21, 34.17, 31.24],
        );
        let r = bd_rate(&r1, &q1, &r2, &q2).expect("computes");
        assert!((r - 31.379_878).abs() < 1e-4, "{r}");
        let p = bd_psnr(&r1, &q1, &r2, &q2).expect("computes");
        assert!((p - -1.183_472).abs() < 1e-5, "{p}");
    }

    #[test]
    fn identities_and_scaling() {
        assert!(bd_rate(&R1, &Q1, &R1, &Q1).expect("computes").abs() < 1e-12);
        // Half the bits for the same quality: -50 % whatever the curve.
        let half: Vec<f64> = R1.iter().map(|r| r / 2.0).collect();
        let r = bd_rate(&R1, &Q1, &half, &Q1).expect("computes");
        assert!((r - -50.0).abs() < 1e-9, "{r}");
        // Swapping anchor and test inverts the rate ratio.
        let a = bd_rate(&R1, &Q1, &R2, &Q2).expect("computes") / 100.0 + 1.0;
        let b = bd_rate(&R2, &Q2, &R1, &Q1).expect("computes") / 100.0 + 1.0;
        assert!((a * b - 1.0).abs() < 1e-9, "{a} {b}");
        // Order of points does not matter.
        let mut r_rev = R2;
        let mut q_rev = Q2;
        r_rev.reverse();
        q_rev.reverse();
        let r = bd_rate(&R1, &Q1, &r_rev, &q_rev).expect("computes");
        assert!((r - -4.417_485).abs() < 1e-4);
    }

    #[test]
    fn bad_curves_get_typed_errors() {
        assert_eq!(
            bd_rate(&[1.0], &[30.0], &R2, &Q2),
            Err(BdError::TooFewPoints)
        );
        assert_eq!(
            bd_rate(&[1.0, 2.0], &[30.0], &R2, &Q2),
            Err(BdError::LengthMismatch)
        );
        assert_eq!(
            bd_rate(&[0.0, 2.0], &[30.0, 31.0], &R2, &Q2),
            Err(BdError::BadValue)
        );
        assert_eq!(
            bd_rate(&[1.0, 2.0], &[30.0, f64::NAN], &R2, &Q2),
            Err(BdError::BadValue)
        );
        assert_eq!(
            bd_rate(&[1.0, 2.0], &[30.0, 30.0], &R2, &Q2),
            Err(BdError::Duplicate)
        );
        assert_eq!(
            bd_rate(&[100.0, 200.0], &[20.0, 25.0], &R2, &Q2),
            Err(BdError::NoOverlap)
        );
    }
}
