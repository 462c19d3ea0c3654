//! What a rate-control run is judged by (`rtvc rc`): per-frame records and 100 ms samples in,
//! accuracy, utilisation, delay, reaction, drops, freezes and quality out.

use serde::Serialize;

use crate::trace::Trace;

/// `v` rounded to `d` decimals.
fn round(v: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (v * m).round() / m
}

/// PSNR cap for identical pictures, dB (as `rtvc_codec::quality`).
const PSNR_CAP_DB: f64 = 100.0;

/// One captured frame of a run.
#[derive(Debug, Clone)]
pub struct FrameRecord {
    /// Capture time, ms.
    pub t_ms: f64,
    /// Bytes put on the link (payload + packet overhead); 0 when not sent.
    pub wire_bytes: usize,
    /// Why it was not sent: `bucket`, `encoder`, `framerate`, `paused`.
    pub skip: Option<&'static str>,
    /// Keyframe.
    pub keyframe: bool,
    /// Encoded size.
    pub width: u32,
    /// Encoded size.
    pub height: u32,
    /// Luma MSE of the decoded picture standing for this capture (its own; dropped frames repeat
    /// the previous one): coding quality and drops, ignoring network and encoder delay.
    pub mse_y: f64,
    /// Luma MSE of what the receiver really has on screen at this instant (the latest picture
    /// that arrived within the playout deadline) against the captured frame: delay counts too.
    /// `None` before the first picture arrived.
    pub mse_y_display: Option<f64>,
    /// Queueing delay of this frame (last byte out − first byte in), ms.
    pub delay_ms: Option<f64>,
    /// When its last byte left the bottleneck, ms.
    pub arrival_ms: Option<f64>,
    /// The controller's latest RTT sample when the frame was captured, ms.
    pub rtt_ms: Option<f64>,
    /// The controller's queue guard (fraction of the target allowed).
    pub guard: f64,
    /// Bitrate the encoder was running at for this frame, bits/s.
    pub encoder_bps: u32,
}

/// A 100 ms sample of the link and the estimator.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Start of the 100 ms, ms.
    pub t_ms: f64,
    /// Link capacity in it, bits/s.
    pub capacity_bps: f64,
    /// Target the estimator gave, bits/s.
    pub target_bps: f64,
}

/// A run's log.
#[derive(Debug, Clone, Default)]
pub struct RunLog {
    /// Every captured frame.
    pub frames: Vec<FrameRecord>,
    /// Every 100 ms.
    pub samples: Vec<Sample>,
    /// (time ms, width, height) of each resolution change.
    pub resolution_changes: Vec<(f64, u32, u32)>,
}

/// The metrics (`rtvc rc --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// |Σ sent − Σ target| / Σ target over the run.
    pub total_err: f64,
    /// Mean over 1 s windows of |sent − target| / target.
    pub acc_1s_mean: f64,
    /// 95th percentile of the same.
    pub acc_1s_p95: f64,
    /// Max sent/target over 500 ms windows (sliding by 100 ms).
    pub worst_500ms: f64,
    /// The same over windows without a keyframe.
    pub worst_500ms_no_kf: f64,
    /// Σ sent / Σ capacity.
    pub utilisation: f64,
    /// Σ sent / Σ capacity over 1 s windows whose capacity had been steady (±10 %) for 5 s.
    pub utilisation_steady: f64,
    /// 95th percentile of frames' queueing delay, ms.
    pub delay_p95_ms: f64,
    /// Largest queueing delay, ms.
    pub delay_max_ms: f64,
    /// After each ≥ 2× capacity drop (from the first 100 ms at half the capacity of the second
    /// before, or less): time until the 500 ms window of sent data fits the capacity; the worst
    /// such time, ms.
    pub t_react_down_ms: f64,
    /// How many ≥ 2× drops the trace had.
    pub capacity_drops: usize,
    /// Frames dropped by the dropper or the encoder, % of captured frames.
    pub drops_pct: f64,
    /// Frames skipped on purpose by a frame-rate step, % of captured frames.
    pub fps_skips_pct: f64,
    /// Longest gap between frames arriving at the receiver, ms.
    pub max_freeze_ms: f64,
    /// Keyframes sent.
    pub keyframes: usize,
    /// ffmpeg-style PSNR-Y (of the mean MSE) of every captured frame against the decoded
    /// picture that stands for it (its own; a dropped frame repeats the previous one), upscaled
    /// to the capture size. Network delay and encoder frame delay are not counted here; see
    /// `psnr_y_display`.
    pub psnr_y: f64,
    /// 5th percentile of the per-instant PSNR-Y.
    pub psnr_y_p05: f64,
    /// The same as `psnr_y` for what is on the receiver's screen at each capture instant, with a
    /// 150 ms playout deadline: a picture that queued longer is lost (the previous one stays).
    pub psnr_y_display: f64,
    /// Resolution changes.
    pub resolution_changes: usize,
    /// Frames captured.
    pub frames: usize,
    /// Mean sent rate, kbps.
    pub sent_kbps: f64,
    /// Mean target, kbps.
    pub target_kbps: f64,
    /// Mean capacity, kbps.
    pub capacity_kbps: f64,
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// 8-bit PSNR of a mean squared error, capped at 100 dB.
pub fn psnr(mse: f64) -> f64 {
    if mse <= 0.0 {
        PSNR_CAP_DB
    } else {
        (10.0 * (255.0f64 * 255.0 / mse).log10()).min(PSNR_CAP_DB)
    }
}

impl RunLog {
    fn sent_bits(&self, from: f64, to: f64) -> f64 {
        self.frames
            .iter()
            .filter(|f| f.t_ms >= from && f.t_ms < to)
            .map(|f| f.wire_bytes as f64 * 8.0)
            .sum()
    }

    fn target_bits(&self, from: f64, to: f64) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.t_ms >= from && s.t_ms < to)
            .map(|s| s.target_bps * 0.1)
            .sum()
    }

    fn has_keyframe(&self, from: f64, to: f64) -> bool {
        self.frames
            .iter()
            .any(|f| f.keyframe && f.t_ms >= from && f.t_ms < to)
    }

    /// Computes the metrics over `duration_ms`.
    pub fn metrics(&self, trace: &Trace, duration_ms: f64) -> Metrics {
        let secs = (duration_ms / 1000.0).floor() as u64;
        // 1 s accuracy.
        let mut acc: Vec<f64> = (0..secs)
            .filter_map(|s| {
                let (a, b) = (s as f64 * 1000.0, (s + 1) as f64 * 1000.0);
                let target = self.target_bits(a, b);
                (target > 0.0).then(|| (self.sent_bits(a, b) - target).abs() / target)
            })
            .collect();
        let acc_mean = if acc.is_empty() {
            0.0
        } else {
            acc.iter().sum::<f64>() / acc.len() as f64
        };
        let acc_p95 = percentile(&mut acc, 95.0);
        let total_target = self.target_bits(0.0, duration_ms);
        let total_sent = self.sent_bits(0.0, duration_ms);
        // 500 ms windows.
        let (mut worst, mut worst_no_kf) = (0.0f64, 0.0f64);
        let mut start = 0.0;
        while start + 500.0 <= duration_ms {
            let target = self.target_bits(start, start + 500.0);
            if target > 0.0 {
                let r = self.sent_bits(start, start + 500.0) / target;
                worst = worst.max(r);
                if !self.has_keyframe(start, start + 500.0) {
                    worst_no_kf = worst_no_kf.max(r);
                }
            }
            start += 100.0;
        }
        // Utilisation.
        let capacity_bits =
            |a: f64, b: f64| trace.capacity_bps(a as u64, b as u64) * (b - a) / 1000.0;
        let total_capacity = capacity_bits(0.0, duration_ms);
        let (mut steady_sent, mut steady_cap) = (0.0, 0.0);
        for s in 5..secs {
            let (a, b) = (s as f64 * 1000.0, (s + 1) as f64 * 1000.0);
            let caps: Vec<f64> = (0..60)
                .map(|i| {
                    trace.capacity_bps(
                        (a - 5000.0) as u64 + i * 100,
                        (a - 5000.0) as u64 + i * 100 + 100,
                    )
                })
                .collect();
            let (lo, hi) = caps
                .iter()
                .fold((f64::MAX, 0.0f64), |(lo, hi), &c| (lo.min(c), hi.max(c)));
            if hi <= 1.1 * lo.max(1.0) {
                steady_sent += self.sent_bits(a, b);
                steady_cap += capacity_bits(a, b);
            }
        }
        // Delay.
        let mut delays: Vec<f64> = self.frames.iter().filter_map(|f| f.delay_ms).collect();
        let delay_max = delays.iter().copied().fold(0.0, f64::max);
        let delay_p95 = percentile(&mut delays, 95.0);
        // Reaction to capacity drops.
        let mut drops = 0;
        let mut react = 0.0f64;
        let mut t = 1000.0;
        while t + 500.0 <= duration_ms {
            let before = trace.capacity_bps((t - 1000.0) as u64, t as u64);
            let after = trace.capacity_bps(t as u64, (t + 500.0) as u64);
            if after > 0.0 && before >= 2.0 * after {
                drops += 1;
                // The clock starts when the capacity has really fallen (the first 100 ms at half
                // of before or less), not when the 500 ms average ahead first shows it.
                let at = (0..5)
                    .map(|k| t + 100.0 * f64::from(k))
                    .find(|&s| trace.capacity_bps(s as u64, s as u64 + 100) <= 0.5 * before)
                    .unwrap_or(t);
                let mut tau = 0.0;
                while at + tau + 500.0 <= duration_ms {
                    if self.sent_bits(at + tau, at + tau + 500.0)
                        <= capacity_bits(at + tau, at + tau + 500.0)
                    {
                        break;
                    }
                    tau += 50.0;
                }
                react = react.max(tau);
                t = at + 2000.0; // one event per drop
            } else {
                t += 100.0;
            }
        }
        // Drops, freezes, quality.
        let n = self.frames.len().max(1) as f64;
        let dropped = self
            .frames
            .iter()
            .filter(|f| matches!(f.skip, Some("bucket" | "encoder")))
            .count();
        let fps_skips = self
            .frames
            .iter()
            .filter(|f| f.skip == Some("framerate"))
            .count();
        let mut arrivals: Vec<f64> = self.frames.iter().filter_map(|f| f.arrival_ms).collect();
        arrivals.sort_by(|a, b| a.total_cmp(b));
        let max_freeze = arrivals.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        let mean_mse = self.frames.iter().map(|f| f.mse_y).sum::<f64>() / n;
        let shown: Vec<f64> = self.frames.iter().filter_map(|f| f.mse_y_display).collect();
        let mean_mse_display = shown.iter().sum::<f64>() / shown.len().max(1) as f64;
        let mut per_frame: Vec<f64> = self.frames.iter().map(|f| psnr(f.mse_y)).collect();
        let p05 = percentile(&mut per_frame, 5.0);
        let r3 = |v: f64| round(v, 3);
        Metrics {
            total_err: r3(if total_target > 0.0 {
                (total_sent - total_target).abs() / total_target
            } else {
                0.0
            }),
            acc_1s_mean: r3(acc_mean),
            acc_1s_p95: r3(acc_p95),
            worst_500ms: r3(worst),
            worst_500ms_no_kf: r3(worst_no_kf),
            utilisation: r3(if total_capacity > 0.0 {
                total_sent / total_capacity
            } else {
                0.0
            }),
            utilisation_steady: r3(if steady_cap > 0.0 {
                steady_sent / steady_cap
            } else {
                0.0
            }),
            delay_p95_ms: round(delay_p95, 1),
            delay_max_ms: round(delay_max, 1),
            t_react_down_ms: round(react, 0),
            capacity_drops: drops,
            drops_pct: round(100.0 * dropped as f64 / n, 2),
            fps_skips_pct: round(100.0 * fps_skips as f64 / n, 2),
            max_freeze_ms: round(max_freeze, 1),
            keyframes: self.frames.iter().filter(|f| f.keyframe).count(),
            psnr_y: round(psnr(mean_mse), 2),
            psnr_y_p05: round(p05, 2),
            psnr_y_display: round(psnr(mean_mse_display), 2),
            resolution_changes: self.resolution_changes.len(),
            frames: self.frames.len(),
            sent_kbps: round(total_sent / duration_ms, 1),
            target_kbps: round(total_target / duration_ms, 1),
            capacity_kbps: round(total_capacity / duration_ms, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(t_ms: f64, wire_bytes: usize, delay_ms: Option<f64>) -> FrameRecord {
        FrameRecord {
            t_ms,
            wire_bytes,
            skip: (wire_bytes == 0).then_some("bucket"),
            keyframe: false,
            width: 1280,
            height: 720,
            mse_y: 1.0,
            mse_y_display: Some(1.0),
            delay_ms,
            arrival_ms: delay_ms.map(|d| t_ms + d),
            rtt_ms: None,
            guard: 1.0,
            encoder_bps: 0,
        }
    }

    /// 10 s: 1 Mbps for 5 s, then 240 kbps; a sender that follows `sent_bps(t)` at 20 fps (10
    /// frames per 500 ms window), with the estimator's target equal to the capacity.
    fn run(sent_bps: impl Fn(f64) -> f64) -> (RunLog, Trace) {
        let trace = Trace::from_rates(
            "test",
            (0..10_000).map(|ms| if ms < 5000 { 1e6 } else { 240e3 }),
        );
        let mut log = RunLog::default();
        for i in 0..200 {
            let t = f64::from(i) * 50.0;
            let bytes = (sent_bps(t) * 0.050 / 8.0).round() as usize;
            log.frames.push(frame(
                t,
                bytes,
                (bytes > 0).then_some(10.0 + f64::from(i % 10)),
            ));
        }
        for i in 0..100 {
            let t = f64::from(i) * 100.0;
            let c = trace.capacity_bps(t as u64, t as u64 + 100);
            log.samples.push(Sample {
                t_ms: t,
                capacity_bps: c,
                target_bps: c,
            });
        }
        (log, trace)
    }

    #[test]
    fn a_sender_that_follows_the_capacity_scores_perfectly() {
        let (log, trace) = run(|t| if t < 5000.0 { 1e6 } else { 240e3 });
        let m = log.metrics(&trace, 10_000.0);
        assert_eq!(m.capacity_drops, 1);
        assert_eq!(m.t_react_down_ms, 0.0);
        assert!(m.acc_1s_mean < 0.01 && m.total_err < 0.01, "{m:?}");
        assert!((m.worst_500ms - 1.0).abs() < 0.02, "{}", m.worst_500ms);
        assert!((m.utilisation - 1.0).abs() < 0.01, "{}", m.utilisation);
        assert_eq!(m.drops_pct, 0.0);
        assert_eq!(m.delay_max_ms, 19.0);
        assert_eq!(m.delay_p95_ms, 19.0);
    }

    #[test]
    fn reaction_is_timed_from_the_drop_itself() {
        // Keeps sending 1 Mbps for 300 ms after the drop at 5 s, then nothing for 700 ms (the
        // queue drains), then the new capacity.
        let (log, trace) = run(|t| {
            if t < 5300.0 {
                1e6
            } else if t < 6000.0 {
                0.0
            } else {
                240e3
            }
        });
        let m = log.metrics(&trace, 10_000.0);
        assert_eq!(m.capacity_drops, 1);
        // The window [5000 + τ, 5500 + τ) fits its 120 kbit once it holds at most 2 of the
        // 50 kbit frames sent every 50 ms before 5300 ms: τ = 200 ms (the 500 ms average ahead
        // shows the drop from 4900 ms on; the clock does not start there).
        assert_eq!(m.t_react_down_ms, 200.0, "{m:?}");
        // 14 of 200 frames skipped.
        assert_eq!(m.drops_pct, 7.0);
        assert!(m.worst_500ms > 1.5, "{}", m.worst_500ms);
    }
}
