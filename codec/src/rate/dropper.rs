//! A leaky-bucket frame dropper on actual bytes (libwebrtc's `FrameDropper` idea).
//!
//! The bucket drains at the target rate. Every encoded frame adds its real size. A frame is
//! admitted only if it can fit into what is left of the bucket (`size - level`), and the encoder
//! is told that room as the frame's byte budget (keyframes included); when the bucket is too full
//! for even a small frame, the frame is dropped before encoding. The bucket size is a time window
//! at the target rate (120 ms in [`crate::rate::RateControlConfig`]): that bounds how much the
//! sender can put in flight beyond what the link drains, i.e. the queueing delay it can cause,
//! and the worst 500 ms window to (500 + 120) / 500 = 1.24× the target.

use std::time::Duration;

/// Why a frame may not be encoded now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Encode it; it may use up to this many bits.
    Encode {
        /// Room left in the bucket, bits.
        max_frame_bits: f64,
    },
    /// The bucket is too full: skip this frame.
    Drop,
}

/// The leaky bucket.
#[derive(Debug, Clone)]
pub struct FrameDropper {
    level_bits: f64,
    rate_bps: f64,
    window: Duration,
    last: Option<Duration>,
    /// Frames smaller than this fraction of an average frame are not worth sending.
    min_frame_fraction: f64,
    framerate: f64,
}

impl FrameDropper {
    /// A dropper for `rate_bps` with a bucket of `window` at that rate.
    pub fn new(rate_bps: f64, framerate: f64, window: Duration) -> Self {
        Self {
            level_bits: 0.0,
            rate_bps: rate_bps.max(0.0),
            window,
            last: None,
            min_frame_fraction: 0.5,
            framerate: framerate.max(1.0),
        }
    }

    /// Bucket size in bits at the current rate.
    pub fn size_bits(&self) -> f64 {
        self.rate_bps * self.window.as_secs_f64()
    }

    /// Bits currently in the bucket.
    pub fn level_bits(&self) -> f64 {
        self.level_bits
    }

    /// How long the bucket takes to drain at the current rate.
    pub fn backlog(&self) -> Duration {
        if self.rate_bps <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.level_bits / self.rate_bps)
    }

    /// Drains the bucket up to `now`.
    pub fn advance(&mut self, now: Duration) {
        if let Some(last) = self.last {
            let dt = now.saturating_sub(last).as_secs_f64();
            self.level_bits = (self.level_bits - self.rate_bps * dt).max(0.0);
        }
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
    }

    /// New drain rate and frame rate (from `now` on). The bits already in the bucket stay: they
    /// are real bytes in flight.
    pub fn set_rate(&mut self, now: Duration, rate_bps: f64, framerate: f64) {
        self.advance(now);
        self.rate_bps = rate_bps.max(0.0);
        self.framerate = framerate.max(1.0);
    }

    /// Decides whether the frame captured at `now` may be encoded.
    pub fn admit(&mut self, now: Duration) -> Admission {
        self.advance(now);
        let room = self.size_bits() - self.level_bits;
        let average_frame = self.rate_bps / self.framerate;
        if self.rate_bps <= 0.0 || room < self.min_frame_fraction * average_frame {
            Admission::Drop
        } else {
            Admission::Encode {
                max_frame_bits: room,
            }
        }
    }

    /// Accounts an encoded frame of `bits` (sent at the time of the last `admit`).
    pub fn on_encoded(&mut self, bits: f64) {
        self.level_bits += bits.max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Event {
        Tick(u64),
        Rate(u32),
        Frame(f64),
    }

    fn events() -> impl Strategy<Value = Vec<Event>> {
        proptest::collection::vec(
            prop_oneof![
                6 => (1u64..200).prop_map(Event::Tick),
                1 => (0u32..5_000_000).prop_map(Event::Rate),
                6 => (0.0f64..=1.0).prop_map(Event::Frame),
            ],
            1..400,
        )
    }

    proptest! {
        /// Frames that keep within the budget the dropper hands out never overfill the bucket,
        /// and after a rate drop leaves it over-full, nothing is admitted until it has drained.
        #[test]
        fn bucket_never_exceeds_its_size(evs in events(), start in 10_000u32..3_000_000) {
            let mut d = FrameDropper::new(f64::from(start), 30.0, Duration::from_millis(500));
            let mut now = Duration::ZERO;
            for e in evs {
                match e {
                    Event::Tick(ms) => now += Duration::from_millis(ms),
                    Event::Rate(bps) => d.set_rate(now, f64::from(bps), 30.0),
                    Event::Frame(fraction) => {
                        match d.admit(now) {
                            Admission::Encode { max_frame_bits } => {
                                d.on_encoded(fraction * max_frame_bits);
                                prop_assert!(d.level_bits() <= d.size_bits() + 1e-6,
                                    "level {} > size {}", d.level_bits(), d.size_bits());
                            }
                            Admission::Drop => {}
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn drops_while_full_then_recovers() {
        let mut d = FrameDropper::new(300_000.0, 30.0, Duration::from_millis(500));
        let mut now = Duration::ZERO;
        // A 150 kbit frame fills the 150 kbit bucket.
        assert!(matches!(d.admit(now), Admission::Encode { .. }));
        d.on_encoded(150_000.0);
        assert_eq!(d.admit(now), Admission::Drop);
        // 10 ms later 3 kbit have drained: still less than half an average frame (5 kbit).
        now += Duration::from_millis(10);
        assert_eq!(d.admit(now), Admission::Drop);
        // 100 ms later 30 kbit have left: room for a frame again.
        now += Duration::from_millis(90);
        assert!(matches!(d.admit(now), Admission::Encode { .. }));
        assert!(d.backlog() < Duration::from_millis(500));
    }

    #[test]
    fn zero_rate_pauses() {
        let mut d = FrameDropper::new(0.0, 30.0, Duration::from_millis(500));
        assert_eq!(d.admit(Duration::ZERO), Admission::Drop);
    }
}
