//! Bitrate adjuster: measures how much an encoder really produces for what it is asked, and
//! corrects the ask (libwebrtc's `BitrateAdjuster` idea). An encoder that overshoots by 15 % is
//! asked for 15 % less.
//!
//! Utilisation is measured over the delta frames of the last `window` (keyframes are capped
//! separately and would make every keyframe look like an overshoot; frames the dropper skipped
//! are not asks at all): `u = Σ actual bits / Σ asked bits`, where each encoded frame's ask is
//! the rate it was given divided by the frame rate. The ask is `target / u`, smoothed and clamped
//! to `[0.5, 1.5] × target`.

use std::collections::VecDeque;
use std::time::Duration;

/// The adjuster.
#[derive(Debug, Clone)]
pub struct BitrateAdjuster {
    target_bps: f64,
    ask_bps: f64,
    /// (time, asked bits, actual bits) of recent delta frames.
    frames: VecDeque<(Duration, f64, f64)>,
    window: Duration,
    last_update: Option<Duration>,
    update_interval: Duration,
    utilisation: f64,
}

/// Clamp of the correction, as a factor of the target.
pub const CORRECTION_RANGE: (f64, f64) = (0.5, 1.5);

impl BitrateAdjuster {
    /// An adjuster starting with no correction.
    pub fn new(target_bps: f64) -> Self {
        Self {
            target_bps,
            ask_bps: target_bps,
            frames: VecDeque::new(),
            window: Duration::from_millis(2000),
            last_update: None,
            update_interval: Duration::from_millis(500),
            utilisation: 1.0,
        }
    }

    /// A new target (the current correction carries over).
    pub fn set_target(&mut self, target_bps: f64) {
        self.target_bps = target_bps.max(0.0);
        self.ask_bps = self.clamped(self.target_bps / self.utilisation);
    }

    fn clamped(&self, ask: f64) -> f64 {
        ask.clamp(
            CORRECTION_RANGE.0 * self.target_bps,
            CORRECTION_RANGE.1 * self.target_bps,
        )
    }

    /// What to ask the encoder for now.
    pub fn ask_bps(&self) -> f64 {
        self.ask_bps
    }

    /// Measured utilisation (actual / asked) of the recent window.
    pub fn utilisation(&self) -> f64 {
        self.utilisation
    }

    /// Records an encoded frame of `bits` produced while the encoder was given `asked_bps` at
    /// `framerate` (what it was really given, which may differ from [`Self::ask_bps`] when the
    /// caller scaled it).
    pub fn on_encoded(
        &mut self,
        now: Duration,
        bits: f64,
        keyframe: bool,
        asked_bps: f64,
        framerate: f64,
    ) {
        if !keyframe && asked_bps > 0.0 {
            self.frames
                .push_back((now, asked_bps / framerate.max(1.0), bits.max(0.0)));
        }
        while let Some(&(t, _, _)) = self.frames.front() {
            if now.saturating_sub(t) > self.window {
                self.frames.pop_front();
            } else {
                break;
            }
        }
        let due = self
            .last_update
            .is_none_or(|t| now.saturating_sub(t) >= self.update_interval);
        if due && self.frames.len() >= 10 {
            let asked: f64 = self.frames.iter().map(|f| f.1).sum();
            let actual: f64 = self.frames.iter().map(|f| f.2).sum();
            if asked > 0.0 {
                let measured = (actual / asked).clamp(0.2, 5.0);
                // The ask changed over the window too: `measured` is relative to the asks made.
                self.utilisation = 0.5 * self.utilisation + 0.5 * measured;
                self.ask_bps = self.clamped(self.target_bps / self.utilisation);
            }
            self.last_update = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// An encoder that systematically over- or undershoots by a factor `k` (with frame-to-frame
        /// noise) ends up delivering the target once the correction has converged.
        #[test]
        fn correction_converges(k in 0.7f64..1.45, target in 100_000f64..3_000_000.0, seed in any::<u64>()) {
            let (delivered, mean_u) = simulate(k, target, seed);
            prop_assert!((delivered - 1.0).abs() < DELIVERED_TOL, "k {k}: delivered {delivered:.3} of target");
            prop_assert!((mean_u / k - 1.0).abs() < UTILISATION_TOL, "k {k}: measured utilisation {mean_u:.3}");
        }
    }

    /// Tolerances for [`correction_converges`]. The per-frame noise is uniform in ±20 %, so one
    /// 2 s window (60 frames) measures utilisation with a standard deviation of about 1.5 %. Over
    /// 10^6 random cases (`spread_of_the_estimate`) the largest deviations were 1.6 % (delivered)
    /// and 3.1 % (mean measured utilisation); the bounds sit at 2.5× and 2× those, so the test is
    /// not flaky, yet an adjuster that does not correct (delivered = k, off by up to 45 %) or
    /// corrects the wrong way fails it at once.
    const DELIVERED_TOL: f64 = 0.04;
    const UTILISATION_TOL: f64 = 0.06;

    /// Runs an encoder that produces `k ×` what it is asked (±20 % noise per frame) for 30 s at
    /// 30 fps and returns (delivered / target, mean measured utilisation) over the last 10 s.
    fn simulate(k: f64, target: f64, seed: u64) -> (f64, f64) {
        let mut a = BitrateAdjuster::new(target);
        let fps = 30.0;
        let mut rng = rtvc_testkit::rng::XorShift64::from_state(seed | 1);
        let (mut produced, mut counted, mut u_sum, mut u_n) = (0.0, 0.0, 0.0, 0.0);
        for n in 0..900u64 {
            let noise = 0.8 + 0.4 * rng.next_f64();
            let asked = a.ask_bps();
            let bits = k * asked / fps * noise;
            let now = Duration::from_millis(n * 1000 / 30);
            a.on_encoded(now, bits, false, asked, fps);
            if n >= 600 {
                produced += bits;
                counted += target / fps;
                u_sum += a.utilisation();
                u_n += 1.0;
            }
        }
        (produced / counted, u_sum / u_n)
    }

    /// Not a check: prints the largest deviations over many cases (how the tolerances above were
    /// chosen). `cargo test --release -p rtvc-codec spread_of_the_estimate -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn spread_of_the_estimate() {
        let mut rng = rtvc_testkit::rng::XorShift64::seeded(99);
        let (mut worst_d, mut worst_u) = (0.0f64, 0.0f64);
        for _ in 0..1_000_000 {
            let k = 0.7 + 0.75 * rng.next_f64();
            let target = 100_000.0 + 2_900_000.0 * rng.next_f64();
            let (d, u) = simulate(k, target, rng.next_u64());
            worst_d = worst_d.max((d - 1.0).abs());
            worst_u = worst_u.max((u / k - 1.0).abs());
        }
        println!("worst |delivered - 1| {worst_d:.4}, worst |u/k - 1| {worst_u:.4}");
    }

    #[test]
    fn keyframes_do_not_look_like_overshoot() {
        let mut a = BitrateAdjuster::new(1_000_000.0);
        for n in 0..120u64 {
            let now = Duration::from_millis(n * 33);
            let key = n % 30 == 0;
            let bits = if key { 300_000.0 } else { a.ask_bps() / 30.0 };
            let asked = a.ask_bps();
            a.on_encoded(now, bits, key, asked, 30.0);
        }
        assert!(
            (a.ask_bps() - 1_000_000.0).abs() < 10_000.0,
            "{}",
            a.ask_bps()
        );
    }

    #[test]
    fn correction_is_clamped() {
        let mut a = BitrateAdjuster::new(1_000_000.0);
        for n in 0..300u64 {
            let asked = a.ask_bps();
            a.on_encoded(
                Duration::from_millis(n * 33),
                10.0 * asked / 30.0,
                false,
                asked,
                30.0,
            );
        }
        assert_eq!(a.ask_bps(), 500_000.0);
    }
}
