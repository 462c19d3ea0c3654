//! A simple bandwidth-estimator model: what a sender's congestion controller would tell the rate
//! controller. It deliberately lags and undershoots the true capacity, like a real one:
//!
//! * it sees capacity 200 ms late, averaged over 500 ms (feedback delay and smoothing);
//! * it targets 90 % of that (headroom);
//! * it increases by at most 50 % per second (GCC's multiplicative increase helped by probing),
//!   and decreases at once;
//! * when the bottleneck queue holds data older than 80 ms (delay-based overuse, as GCC's
//!   trendline detector would flag), it drops to 85 % of the rate actually delivered over the last
//!   250 ms.
//!
//! It updates every 200 ms (WebRTC sends new rates every 100 ms – 1 s).

use crate::bottleneck::Bottleneck;

/// Update period, ms.
pub const PERIOD_MS: u64 = 200;

/// The model.
#[derive(Debug, Clone)]
pub struct Bwe {
    estimate_bps: f64,
    last_update_ms: Option<u64>,
}

impl Bwe {
    /// Starts at 90 % of the link's first second (as if start-up probing had succeeded).
    pub fn new<T>(link: &Bottleneck<T>) -> Self {
        Self {
            estimate_bps: (0.9 * link.capacity_bps(0, 1000)).clamp(30_000.0, 5_000_000.0),
            last_update_ms: None,
        }
    }

    /// Current target, bits/s.
    pub fn target_bps(&self) -> f64 {
        self.estimate_bps
    }

    /// Updates at `now_ms` if a period has passed; returns whether the target changed.
    pub fn update<T>(&mut self, now_ms: u64, link: &Bottleneck<T>) -> bool {
        if self.last_update_ms.is_some_and(|t| now_ms < t + PERIOD_MS) {
            return false;
        }
        let dt = self
            .last_update_ms
            .map_or(0.0, |t| (now_ms - t) as f64 / 1000.0);
        self.last_update_ms = Some(now_ms);
        let seen = link.capacity_bps(
            now_ms.saturating_sub(700),
            now_ms.saturating_sub(200).max(1),
        );
        let mut next = 0.9 * seen;
        if next > self.estimate_bps {
            next = next.min(self.estimate_bps * 1.5f64.powf(dt.max(0.0)));
        }
        if link.head_wait_ms(now_ms as f64) > 80.0 {
            next = next.min(0.85 * link.delivered_bps(250));
        }
        let next = next.clamp(30_000.0, 5_000_000.0);
        let changed = (next - self.estimate_bps).abs() > 1.0;
        self.estimate_bps = next;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Trace;

    #[test]
    fn lags_undershoots_and_ramps_slowly() {
        let link = Bottleneck::<()>::new(Trace::steps());
        let mut b = Bwe::new(&link);
        assert!((b.target_bps() - 1_350_000.0).abs() < 1.0);
        // 300 ms after the drop to 500 kbps (at 15 s) it has not seen it yet; by 800 ms it has.
        // Updates every period from `from` through `to` (ms) and returns the target.
        let mut run = |from: u64, to: u64| {
            for t in (from..=to).step_by(PERIOD_MS as usize) {
                b.update(t, &link);
            }
            b.target_bps()
        };
        assert!(run(14_000, 15_200) > 1_000_000.0);
        let after_drop = run(15_400, 15_800);
        assert!((after_drop - 450_000.0).abs() < 1.0, "{after_drop}");
        // Up to 2.5 Mbps at 30 s: at most +50 %/s, so 2 s later it is still below 1.1 Mbps and
        // after 6 s it has arrived at 90 % of it.
        let ramping = run(30_000, 32_400);
        assert!(ramping < 1_100_000.0, "{ramping}");
        let arrived = run(32_600, 36_000);
        assert!((arrived - 2_250_000.0).abs() < 1.0, "{arrived}");
    }
}
