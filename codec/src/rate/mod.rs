//! Rate control for links whose bandwidth changes every second.
//!
//! A [`RateController`] sits between the bandwidth estimator and the encoder. It is sans-IO:
//! time is a parameter (`now`, any monotonic origin), nothing sleeps or reads a clock, so a
//! simulated call runs faster than real time and every test is deterministic.
//!
//! Inputs: target updates from the estimator ([`RateController::set_target`], libwebrtc
//! `SetRates` semantics: 0 bps pauses), the real size of every encoded frame
//! ([`RateController::on_encoded`]), loss and RTT hints. Output, before every captured frame
//! ([`RateController::decide`]): encode or drop, the rates to hand the encoder, frame size caps
//! (keyframe and inter), and the resolution and frame rate to encode at. Loss above 5 % holds
//! the ladder from stepping up.
//!
//! | piece | what it does |
//! |---|---|
//! | [`dropper::FrameDropper`] | leaky bucket on actual bytes, drained at the target: a frame is encoded only if it fits; the room left is its byte budget (keyframes included) |
//! | [`adjuster::BitrateAdjuster`] | measures each encoder's real output per ask and corrects the ask (an encoder overshooting by 15 % is asked for 15 % less) |
//! | [`ladder::Ladder`] | resolution / frame-rate ladder with hysteresis (down fast, up slow) |
//! | queue guard | RTT above its recent minimum (beyond what the bucket's bytes take at the target rate) means a queue is building faster than the estimator reports: the rate the bucket drains at and the encoder's ask shrink with it (from 30 ms of excess, down to 30 % at 110 ms) until the queue is gone; the ladder waits meanwhile, since a resolution change means a keyframe |
//!
//! Frames are never held back longer than [`MAX_GAP`] while the path shows no queue: after that
//! long without a frame, one small frame is admitted whatever the bucket says, so the receiver's
//! picture never freezes for long. When the RTT excess reaches 1 s the link is treated as down
//! and nothing is sent until it answers again (frames would only arrive stale) but one small
//! probe frame every [`PROBE_GAP`]: without it nothing would come back to say it is up again.
//!
//! Resolution changes reach the encoder as frames of the new size (its live resize); rav1e, which
//! cannot change its rate live, restarts only on large sustained changes by itself. The
//! controller is the frame dropper; [`configure_encoder`] prepares an encoder configuration for
//! it: [`crate::EncoderConfig::frame_dropping`] off, or the encoder's own dropper (libaom's CBR
//! buffer, openh264's frame skip) will fight this one after every keyframe;
//! [`crate::EncoderConfig::drop_overshoot`] on, so that the first frames after a deep rate cut
//! do not come out at many times their budget (on the step trace's 2.5 → 0.3 Mbps cut: PSNR-Y
//! +3.3 dB, a third fewer skipped frames, worst 500 ms window 1.72 → 1.36×); and the encoder's own
//! buffer shrunk to [`crate::RateBuffer::UNDER_CONTROLLER`], so that its frame sizes come back to
//! the target before this dropper's 120 ms bucket overflows.

pub mod adjuster;
pub mod dropper;
pub mod ladder;

use std::time::Duration;

use crate::encoder::{FrameSizeCaps, Rates};
use adjuster::BitrateAdjuster;
use dropper::{Admission, FrameDropper};
use ladder::{FpsStep, Ladder, Rung};

/// Settings of a [`RateController`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RateControlConfig {
    /// Capture size.
    pub source_width: u32,
    /// Capture size.
    pub source_height: u32,
    /// Capture frame rate.
    pub source_fps: f64,
    /// Resolution ladder (default: [`ladder::default_rungs`] for the source).
    pub rungs: Vec<Rung>,
    /// Frame-rate steps on the bottom rung.
    pub fps_steps: Vec<FpsStep>,
    /// Size of the dropper's bucket in time at the target rate.
    pub bucket: Duration,
    /// Use the frame dropper.
    pub drop_frames: bool,
    /// Use the bitrate adjuster.
    pub adjust_bitrate: bool,
    /// Use the resolution/frame-rate ladder.
    pub use_ladder: bool,
}

impl RateControlConfig {
    /// Everything on, with the ladder tuned for `codec` ([`ladder::rungs_for`]).
    pub fn for_codec(
        codec: crate::encoded::CodecKind,
        source_width: u32,
        source_height: u32,
        source_fps: f64,
    ) -> Self {
        let mut c = Self::new(source_width, source_height, source_fps);
        c.rungs = ladder::rungs_for(codec, source_width, source_height);
        c
    }

    /// Everything on, generic ladder for the source.
    pub fn new(source_width: u32, source_height: u32, source_fps: f64) -> Self {
        Self {
            source_width,
            source_height,
            source_fps,
            rungs: ladder::default_rungs(source_width, source_height),
            fps_steps: ladder::default_fps_steps(),
            bucket: Duration::from_millis(120),
            drop_frames: true,
            adjust_bitrate: true,
            use_ladder: true,
        }
    }
}

/// Why the controller skipped a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The target is 0 (paused).
    Paused,
    /// The leaky bucket is too full.
    Bucket,
    /// Frame-rate step: fewer frames per second than the camera delivers.
    FrameRate,
}

/// What to do with the frame captured now.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameDecision {
    /// `None`: encode it. `Some`: skip it, and why.
    pub skip: Option<SkipReason>,
    /// Size to encode at (scale the capture to it).
    pub width: u32,
    /// Size to encode at.
    pub height: u32,
    /// Rates to give the encoder before this frame, when they changed since the last decision.
    pub rates: Option<Rates>,
    /// Frame size caps (percent of an average frame at the encoder's rate) from the room left in
    /// the bucket, when they changed (for encoders that support caps).
    pub frame_size_caps: Option<FrameSizeCaps>,
}

/// The encoder is asked for slightly less than the bucket drains, so the bucket empties again
/// after a burst (a keyframe, a complex frame) instead of sitting full and dropping frames.
const ASK_HEADROOM: f64 = 0.97;

/// Longest time without an admitted frame (while not paused and not stepping the frame rate).
pub const MAX_GAP: Duration = Duration::from_millis(200);
/// RTT excess over the recent minimum below which no queue is assumed.
const QUEUE_FREE: Duration = Duration::from_millis(30);
/// RTT excess at which the guard bottoms out (at [`GUARD_FLOOR`]).
const QUEUE_FULL: Duration = Duration::from_millis(110);
/// Lowest fraction of the target the guard goes to (`rtvc rc` on the step and LTE traces: 0.1
/// drains faster but drops a third more frames; 0.5 keeps more frames but queues longer).
const GUARD_FLOOR: f64 = 0.3;
/// RTT excess from which the link is treated as down (the guard stops sending). Below it, a
/// long queue still gets frames at the guard's floor: stopping earlier (tried: 400 ms) froze the
/// picture for seconds after the deep capacity drop of the step trace.
const OUTAGE: Duration = Duration::from_millis(1000);
/// While the link looks down, one small frame this often probes it.
pub const PROBE_GAP: Duration = Duration::from_millis(400);
/// How long RTT samples are kept for the minimum.
const RTT_WINDOW: Duration = Duration::from_secs(10);

/// Largest inter-frame cap: beyond 3 average frames a single inter frame is a burst.
const INTER_CAP_MAX_PCT: u32 = 300;

/// Steps the keyframe cap moves between (changing it costs the encoder a reconfiguration).
const KEYFRAME_CAP_STEPS: [u32; 8] = [100, 150, 200, 300, 500, 800, 1200, 2000];

/// Prepares an encoder configuration for use under [`RateController`] (see the module docs):
/// the encoder's own frame dropping off, overshoot take-back on, its rate buffer
/// [`crate::RateBuffer::UNDER_CONTROLLER`], and nominal frame timing
/// ([`crate::encoder::FrameTiming::Nominal`]: the frames the controller skips must not be
/// handed to the encoder as extra bits).
pub fn configure_encoder(config: &mut crate::EncoderConfig) {
    config.frame_dropping = false;
    config.drop_overshoot = true;
    config.rate_buffer = crate::RateBuffer::UNDER_CONTROLLER;
    config.timing = crate::encoder::FrameTiming::Nominal;
}

/// The rate controller (see the module docs).
#[derive(Debug, Clone)]
pub struct RateController {
    config: RateControlConfig,
    target: Rates,
    dropper: FrameDropper,
    adjuster: BitrateAdjuster,
    ladder: Ladder,
    loss: f64,
    /// (time, RTT) samples of the last [`RTT_WINDOW`].
    rtts: std::collections::VecDeque<(Duration, Duration)>,
    /// Fraction of the target the queue guard allows (1.0 = no queue).
    guard: f64,
    last_admitted: Option<Duration>,
    given: Option<Rates>,
    given_caps: Option<FrameSizeCaps>,
    fps: f64,
    /// Rate the dropper currently drains at.
    dropper_rate: f64,
}

impl RateController {
    /// A controller starting at `initial`.
    pub fn new(config: RateControlConfig, initial: Rates) -> Self {
        let fps = config.source_fps.max(1.0);
        Self {
            dropper: FrameDropper::new(f64::from(initial.bitrate_bps), fps, config.bucket),
            adjuster: BitrateAdjuster::new(f64::from(initial.bitrate_bps)),
            ladder: Ladder::new(
                config.rungs.clone(),
                config.fps_steps.clone(),
                fps,
                initial.bitrate_bps,
            ),
            target: initial,
            loss: 0.0,
            rtts: std::collections::VecDeque::new(),
            guard: 1.0,
            last_admitted: None,
            given: None,
            given_caps: None,
            fps,
            dropper_rate: f64::from(initial.bitrate_bps),
            config,
        }
    }

    /// A new target from the bandwidth estimator (0 bps pauses).
    pub fn set_target(&mut self, now: Duration, target: Rates) {
        self.target = target;
        self.dropper
            .set_rate(now, f64::from(target.bitrate_bps), self.fps);
        self.adjuster.set_target(f64::from(target.bitrate_bps));
    }

    /// The current target.
    pub fn target(&self) -> Rates {
        self.target
    }

    /// Packet loss fraction reported by the receiver (0..=1). High loss holds the ladder.
    pub fn on_loss(&mut self, fraction: f64) {
        self.loss = fraction.clamp(0.0, 1.0);
    }

    /// A round-trip-time sample (from RTCP or transport feedback). RTT above its minimum of the
    /// last 10 s is queueing on the path: the queue guard slows down until it is gone.
    pub fn on_rtt(&mut self, now: Duration, rtt: Duration) {
        self.rtts.push_back((now, rtt));
        while self
            .rtts
            .front()
            .is_some_and(|&(t, _)| now.saturating_sub(t) > RTT_WINDOW)
        {
            self.rtts.pop_front();
        }
        let min = self.rtts.iter().map(|&(_, r)| r).min().unwrap_or(rtt);
        // Our own bursts queue up too (a big frame takes a while to drain at the target rate):
        // only queueing beyond what the bucket accounts for means the link is slower than the
        // target.
        // At the target rate, not the guard's: the guard slows the bucket down, which would make
        // its backlog look longer and the guard let go again.
        let own = if self.target.bitrate_bps > 0 {
            Duration::from_secs_f64(self.dropper.level_bits() / f64::from(self.target.bitrate_bps))
        } else {
            Duration::ZERO
        };
        let excess = rtt.saturating_sub(min).saturating_sub(own);
        let g = if excess <= QUEUE_FREE {
            1.0
        } else if excess >= OUTAGE {
            // Nothing has come back for this long: the link is down. Frames sent now would only
            // wait in the queue and arrive stale; send none until it answers again.
            0.0
        } else {
            let span = (QUEUE_FULL - QUEUE_FREE).as_secs_f64();
            (1.0 - (1.0 - GUARD_FLOOR) * (excess - QUEUE_FREE).as_secs_f64() / span)
                .max(GUARD_FLOOR)
        };
        // Quantised, so the encoder is not reconfigured for every sample.
        self.guard = (g * 20.0).round() / 20.0;
    }

    /// Latest RTT sample.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtts.back().map(|&(_, r)| r)
    }

    /// Fraction of the target the queue guard currently allows.
    pub fn queue_guard(&self) -> f64 {
        self.guard
    }

    /// How many times the ladder moved.
    pub fn resolution_changes(&self) -> u64 {
        self.ladder.changes()
    }

    /// The adjuster's measured utilisation of the encoder.
    pub fn encoder_utilisation(&self) -> f64 {
        self.adjuster.utilisation()
    }

    /// Queue the dropper's bucket represents at the current rate.
    pub fn backlog(&self) -> Duration {
        self.dropper.backlog()
    }

    /// Decides about the frame captured at `now`.
    pub fn decide(&mut self, now: Duration) -> FrameDecision {
        let state = if self.config.use_ladder && self.guard >= 1.0 {
            self.ladder.update(now, self.target.bitrate_bps, self.loss)
        } else if self.config.use_ladder {
            // A queue is draining: a resolution change now would add a keyframe to it.
            self.ladder.state()
        } else {
            ladder::LadderState {
                width: self.config.source_width,
                height: self.config.source_height,
                fps: self.config.source_fps,
            }
        };
        // The bucket drains at the target scaled by the queue guard.
        let drain = f64::from(self.target.bitrate_bps) * self.guard;
        if (state.fps - self.fps).abs() > f64::EPSILON || (drain - self.dropper_rate).abs() > 1.0 {
            self.fps = state.fps;
            self.dropper_rate = drain;
            self.dropper.set_rate(now, drain, self.fps);
        }
        let mut decision = FrameDecision {
            skip: None,
            width: state.width,
            height: state.height,
            rates: None,
            frame_size_caps: None,
        };
        if self.target.bitrate_bps == 0 {
            decision.skip = Some(SkipReason::Paused);
            return decision;
        }
        if self.fps + 0.01 < self.config.source_fps
            && let Some(last) = self.last_admitted
        {
            // Keep frames at least one encode interval apart (with 1/4 frame of slack for
            // capture jitter).
            let interval = 1.0 / self.fps - 0.25 / self.config.source_fps.max(1.0);
            if now.saturating_sub(last).as_secs_f64() < interval {
                decision.skip = Some(SkipReason::FrameRate);
                return decision;
            }
        }
        let room_bits = if self.config.drop_frames {
            match self.dropper.admit(now) {
                Admission::Encode { max_frame_bits } => max_frame_bits,
                Admission::Drop
                    if self.guard >= 1.0
                        && self
                            .last_admitted
                            .is_some_and(|t| now.saturating_sub(t) >= MAX_GAP) =>
                {
                    // Too long without a picture: one frame of average size gets through.
                    self.dropper_rate / self.fps
                }
                Admission::Drop
                    if self.guard == 0.0
                        && self
                            .last_admitted
                            .is_some_and(|t| now.saturating_sub(t) >= PROBE_GAP) =>
                {
                    // The link looks down, but only because what we sent last has not come back:
                    // a small probe frame now and then tells when it is up again (nothing else
                    // would: no frames, no feedback).
                    GUARD_FLOOR * f64::from(self.target.bitrate_bps) / self.fps
                }
                Admission::Drop => {
                    decision.skip = Some(SkipReason::Bucket);
                    return decision;
                }
            }
        } else {
            f64::INFINITY
        };
        self.last_admitted = Some(now);
        let ask = if self.config.adjust_bitrate {
            // While a queue drains, the encoder's frames shrink with the guard too (the encoder
            // must not drop frames itself: see the module docs).
            ASK_HEADROOM * self.adjuster.ask_bps() * self.guard.max(GUARD_FLOOR)
        } else {
            f64::from(self.target.bitrate_bps)
        };
        let rates = Rates {
            bitrate_bps: (ask.round() as u32).max(crate::encoder::MIN_BITRATE_BPS),
            framerate: self.fps,
        };
        let changed = self.given.is_none_or(|g| {
            g.framerate != rates.framerate
                || (f64::from(g.bitrate_bps) - f64::from(rates.bitrate_bps)).abs()
                    > 0.005 * f64::from(g.bitrate_bps)
        });
        if changed {
            self.given = Some(rates);
            decision.rates = Some(rates);
        }
        if self.config.drop_frames {
            let average = f64::from(rates.bitrate_bps) / self.fps;
            let pct = 100.0 * room_bits / average.max(1.0);
            let step = KEYFRAME_CAP_STEPS
                .iter()
                .rev()
                .copied()
                .find(|&s| f64::from(s) <= pct)
                .unwrap_or(KEYFRAME_CAP_STEPS[0]);
            let caps = FrameSizeCaps {
                keyframe_pct: Some(step),
                inter_pct: Some(step.min(INTER_CAP_MAX_PCT)),
            };
            if self.given_caps != Some(caps) {
                self.given_caps = Some(caps);
                decision.frame_size_caps = Some(caps);
            }
        }
        decision
    }

    /// The frame admitted by the last [`RateController::decide`] was encoded into `bytes`.
    pub fn on_encoded(&mut self, now: Duration, bytes: usize, keyframe: bool) {
        let bits = bytes as f64 * 8.0;
        self.dropper.on_encoded(bits);
        // While the guard squeezes the encoder its frames say nothing about its normal
        // utilisation (it cannot go below its quantizer limit): the adjuster does not learn then.
        if self.guard >= 1.0 {
            let asked = self.given.map_or(f64::from(self.target.bitrate_bps), |g| {
                f64::from(g.bitrate_bps)
            });
            self.adjuster
                .on_encoded(now, bits, keyframe, asked, self.fps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(bps: u32) -> Rates {
        Rates {
            bitrate_bps: bps,
            framerate: 30.0,
        }
    }

    /// A fake encoder producing `k` × its ask per frame, 6× that on keyframes.
    fn run(ctrl: &mut RateController, seconds: f64, k: f64, start: Duration) -> (u64, u64, f64) {
        let mut encoder_bps = 0.0;
        let (mut sent, mut skipped, mut bits) = (0, 0, 0.0);
        let frames = (seconds * 30.0) as u64;
        for n in 0..frames {
            let now = start + Duration::from_micros(n * 33_333);
            let d = ctrl.decide(now);
            if let Some(r) = d.rates {
                encoder_bps = f64::from(r.bitrate_bps);
            }
            if d.skip.is_some() {
                skipped += 1;
                continue;
            }
            let key = n == 0 && start.is_zero();
            let b = k * encoder_bps / 30.0 * if key { 6.0 } else { 1.0 };
            ctrl.on_encoded(now, (b / 8.0) as usize, key);
            sent += 1;
            bits += b;
        }
        (sent, skipped, bits)
    }

    #[test]
    fn overshooting_encoder_is_corrected_and_held_to_the_target() {
        let mut c = RateController::new(RateControlConfig::new(1280, 720, 30.0), rates(1_000_000));
        let (_, _, _) = run(&mut c, 10.0, 1.15, Duration::ZERO);
        let (sent, skipped, bits) = run(&mut c, 10.0, 1.15, Duration::from_secs(10));
        let kbps = bits / 10.0 / 1e3;
        assert!(
            (950.0..=1005.0).contains(&kbps),
            "delivered {kbps:.0} kbps, {sent} sent, {skipped} skipped"
        );
        assert!(
            skipped <= 3,
            "{skipped} frames skipped of {}",
            sent + skipped
        );
        assert!((c.encoder_utilisation() - 1.15).abs() < 0.05);
    }

    #[test]
    fn capacity_drop_steps_down_and_drops_instead_of_queueing() {
        let mut c = RateController::new(RateControlConfig::new(1280, 720, 30.0), rates(1_500_000));
        run(&mut c, 5.0, 1.0, Duration::ZERO);
        assert_eq!(c.decide(Duration::from_secs(5)).height, 720);
        c.set_target(Duration::from_secs(5), rates(250_000));
        let (_, _, bits) = run(&mut c, 5.0, 1.0, Duration::from_millis(5033));
        let d = c.decide(Duration::from_secs(11));
        assert_eq!(d.height, 180);
        assert!(bits / 5.0 < 1.05 * 250_000.0, "{}", bits / 5.0);
        assert!(c.backlog() <= Duration::from_millis(500));
    }

    #[test]
    fn pause_and_frame_rate_steps() {
        let mut c = RateController::new(RateControlConfig::new(1280, 720, 30.0), rates(0));
        assert_eq!(c.decide(Duration::ZERO).skip, Some(SkipReason::Paused));
        c.set_target(Duration::ZERO, rates(30_000));
        let (sent, skipped, _) = run(&mut c, 4.0, 1.0, Duration::from_millis(1));
        // 30 kbps: the bottom rung at 10 fps.
        assert!(
            (38..=42).contains(&sent),
            "{sent} sent, {skipped} skipped in 4 s"
        );
    }

    /// A 360p controller at `bps` that has seen 1 s of 40 ms RTT samples.
    fn settled(bps: u32) -> RateController {
        let mut c = RateController::new(RateControlConfig::new(640, 360, 30.0), rates(bps));
        for i in 0..20 {
            c.on_rtt(Duration::from_millis(i * 50), Duration::from_millis(40));
        }
        c
    }

    #[test]
    fn queue_guard_slows_down_while_rtt_is_inflated() {
        let mut c = settled(800_000);
        let ms = Duration::from_millis;
        assert_eq!(c.queue_guard(), 1.0);
        // 70 ms of queueing: half way between free (30 ms) and full (110 ms).
        c.on_rtt(ms(1000), ms(110));
        assert!((c.queue_guard() - 0.65).abs() < 0.03, "{}", c.queue_guard());
        let d = c.decide(ms(1001));
        assert!(d.rates.is_some_and(|r| r.bitrate_bps < 600_000), "{d:?}");
        // Way beyond: the floor.
        c.on_rtt(ms(1050), ms(300));
        assert_eq!(c.queue_guard(), 0.3);
        // No answer for more than a second: the link is down, nothing is sent.
        c.on_rtt(ms(1080), ms(1100));
        assert_eq!(c.queue_guard(), 0.0);
        assert_eq!(c.decide(ms(1090)).skip, Some(SkipReason::Bucket));
        // Queue gone: full speed again.
        c.on_rtt(ms(1100), ms(45));
        assert_eq!(c.queue_guard(), 1.0);
        let d = c.decide(ms(1134));
        assert!(d.rates.is_some_and(|r| r.bitrate_bps > 700_000), "{d:?}");
    }

    #[test]
    fn the_guard_does_not_let_go_because_it_slowed_the_bucket_down() {
        let mut c = settled(2_000_000);
        let ms = Duration::from_millis;
        let t = ms(1000);
        assert!(c.decide(t).skip.is_none());
        // 60 kbit in flight: 30 ms of our own queue at the 2 Mbps target.
        c.on_encoded(t, 60_000 / 8, false);
        c.on_rtt(t, ms(200));
        assert_eq!(c.queue_guard(), 0.3);
        // The bucket now drains at 30 % of the target: the same 60 kbit are 100 ms of it, but
        // the RTT still says 130 ms more than our own bytes explain.
        c.decide(t);
        c.on_rtt(t, ms(200));
        assert_eq!(c.queue_guard(), 0.3);
    }

    #[test]
    fn a_link_that_looks_down_is_probed_with_small_frames() {
        let mut c = settled(1_000_000);
        let ms = Duration::from_millis;
        assert!(c.decide(ms(1000)).skip.is_none());
        c.on_encoded(ms(1000), 4000, false);
        // Nothing has come back for 1.1 s: down.
        c.on_rtt(ms(1050), ms(1150));
        assert_eq!(c.queue_guard(), 0.0);
        let skipped = (1..12)
            .filter(|i| c.decide(ms(1000 + i * 33)).skip.is_some())
            .count();
        assert_eq!(skipped, 11, "nothing but probes while down");
        // 400 ms after the last frame: one probe, asked for the guard's floor at most.
        let probe = c.decide(ms(1400));
        assert!(probe.skip.is_none(), "{probe:?}");
        let r = probe.rates.expect("the encoder is slowed down for it");
        assert!(r.bitrate_bps <= 300_000, "{r:?}");
        c.on_encoded(ms(1400), 1000, false);
        assert!(c.decide(ms(1433)).skip.is_some());
        // It came back quickly: the link is up, frames flow again.
        c.on_rtt(ms(1500), ms(60));
        assert_eq!(c.queue_guard(), 1.0);
        assert!(c.decide(ms(1533)).skip.is_none());
    }

    #[test]
    fn frames_are_never_held_back_longer_than_max_gap() {
        let mut c = RateController::new(RateControlConfig::new(640, 360, 30.0), rates(500_000));
        // An encoder that produces 10× what it is asked: the bucket stays over-full.
        let (mut last_sent, mut worst_gap) = (Duration::ZERO, Duration::ZERO);
        for n in 0..300u64 {
            let now = Duration::from_micros(n * 33_333);
            if c.decide(now).skip.is_none() {
                worst_gap = worst_gap.max(now - last_sent);
                last_sent = now;
                c.on_encoded(now, 500_000 / 30 * 10 / 8, false);
            }
        }
        assert!(
            worst_gap <= MAX_GAP + Duration::from_millis(34),
            "{worst_gap:?}"
        );
    }

    #[test]
    fn everything_off_is_a_pass_through() {
        let mut cfg = RateControlConfig::new(640, 360, 30.0);
        cfg.drop_frames = false;
        cfg.adjust_bitrate = false;
        cfg.use_ladder = false;
        let mut c = RateController::new(cfg, rates(500_000));
        let (sent, skipped, _) = run(&mut c, 3.0, 3.0, Duration::ZERO);
        assert_eq!((sent, skipped), (90, 0));
        let d = c.decide(Duration::from_secs(4));
        assert_eq!((d.width, d.height), (640, 360));
    }
}
