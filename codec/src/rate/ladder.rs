//! Resolution and frame-rate ladder with hysteresis.
//!
//! Generic rungs (for a 16:9 720p source): 1280x720 from 1.2 Mbps, 960x540 from 700 kbps,
//! 640x360 from 300 kbps, 320x180 below that; per-codec rungs ([`rungs_for`]) sit much lower,
//! because measured against the capture a smaller picture loses more than the bits it saves
//! (see [`AV1_THRESHOLDS`]). On the bottom rung the frame rate steps 30 → 15 fps under 60 kbps
//! and → 10 fps under 40 kbps. Other aspect ratios keep their shape; rungs above the source size
//! are left out.
//!
//! Down is fast, up is slow: a step down happens once the target has been below the rung's
//! threshold for 200 ms (and may skip rungs); a step up needs the target 15 % above the next
//! rung's threshold for 2 s, at least 4 s after the previous change, and loss under 5 %. Under a
//! constant target the ladder therefore never moves after its first decision.

use std::time::Duration;

/// One resolution of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Lowest target (bits/s) this rung is used at.
    pub min_bps: u32,
}

/// A frame-rate step on the bottom rung.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FpsStep {
    /// Lowest target for this frame rate.
    pub min_bps: u32,
    /// Frames per second (capped at the source rate).
    pub fps: f64,
}

fn even(v: f64) -> u32 {
    ((v / 2.0).round() as u32).max(1) * 2
}

/// Rung heights with the lowest target (bits/s) each is used at; the last one is used below.
pub type RungThresholds = [(u32, u32)];

/// The thresholds of the module docs (720p from 1.2 Mbps, 540p from 700 kbps, 360p from
/// 300 kbps, 180p below).
pub const GENERIC_THRESHOLDS: [(u32, u32); 4] =
    [(720, 1_200_000), (540, 700_000), (360, 300_000), (180, 0)];

/// AV1 (libaom realtime) keeps the capture resolution far down: on the talking-head clip, PSNR
/// against the 720p capture is higher at 720p than at any lower size down to ~300 kbps (and a
/// resolution change costs a keyframe); `rtvc rc` measured these rungs against 350/250/150 kbps
/// ones (README, rate control).
pub const AV1_THRESHOLDS: [(u32, u32); 3] = [(720, 150_000), (360, 80_000), (180, 0)];

/// H.264 (openh264, Constrained Baseline): the same measurement put its rungs a little higher.
pub const H264_THRESHOLDS: [(u32, u32); 3] = [(720, 250_000), (360, 100_000), (180, 0)];

/// Rungs for a source of `width`x`height` from `thresholds` (heights above the source are left
/// out; a source between rungs becomes its own top rung; the bottom rung has threshold 0).
pub fn rungs_from(thresholds: &RungThresholds, width: u32, height: u32) -> Vec<Rung> {
    let aspect = f64::from(width) / f64::from(height.max(1));
    let mut rungs: Vec<Rung> = thresholds
        .iter()
        .filter(|&&(h, _)| h <= height)
        .map(|&(h, min_bps)| Rung {
            width: even(f64::from(h) * aspect).min(width),
            height: h,
            min_bps,
        })
        .collect();
    let top = thresholds.iter().map(|t| t.0).max().unwrap_or(height);
    if rungs
        .first()
        .is_none_or(|r| r.height < height && height < top)
    {
        // A source between rungs: its own size is the top rung, at the next rung's threshold.
        let min_bps = rungs.first().map_or(0, |r| r.min_bps);
        rungs.insert(
            0,
            Rung {
                width,
                height,
                min_bps,
            },
        );
    }
    if let Some(last) = rungs.last_mut() {
        last.min_bps = 0;
    }
    rungs
}

/// The generic rungs for a source of `width`x`height` (see the module docs).
pub fn default_rungs(width: u32, height: u32) -> Vec<Rung> {
    rungs_from(&GENERIC_THRESHOLDS, width, height)
}

/// The rungs for `codec`.
pub fn rungs_for(codec: crate::encoded::CodecKind, width: u32, height: u32) -> Vec<Rung> {
    match codec {
        crate::encoded::CodecKind::Av1 => rungs_from(&AV1_THRESHOLDS, width, height),
        crate::encoded::CodecKind::H264 => rungs_from(&H264_THRESHOLDS, width, height),
    }
}

/// The default frame-rate steps of the bottom rung.
pub fn default_fps_steps() -> Vec<FpsStep> {
    vec![
        FpsStep {
            min_bps: 60_000,
            fps: 30.0,
        },
        FpsStep {
            min_bps: 40_000,
            fps: 15.0,
        },
        FpsStep {
            min_bps: 0,
            fps: 10.0,
        },
    ]
}

/// What the ladder decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LadderState {
    /// Frame size to encode.
    pub width: u32,
    /// Frame size to encode.
    pub height: u32,
    /// Frame rate to encode.
    pub fps: f64,
}

/// The ladder state machine.
#[derive(Debug, Clone)]
pub struct Ladder {
    rungs: Vec<Rung>,
    fps_steps: Vec<FpsStep>,
    source_fps: f64,
    rung: usize,
    fps_step: usize,
    last_change: Option<Duration>,
    below_since: Option<Duration>,
    above_since: Option<Duration>,
    changes: u64,
}

/// Factor above the next rung's threshold needed to step up.
pub const UP_MARGIN: f64 = 1.15;
const DOWN_HOLD: Duration = Duration::from_millis(200);
const UP_HOLD: Duration = Duration::from_millis(2000);
const MIN_DWELL: Duration = Duration::from_millis(4000);

impl Ladder {
    /// A ladder starting on the rung the initial target allows.
    pub fn new(
        rungs: Vec<Rung>,
        fps_steps: Vec<FpsStep>,
        source_fps: f64,
        target_bps: u32,
    ) -> Self {
        let rungs = if rungs.is_empty() {
            vec![Rung {
                width: 320,
                height: 180,
                min_bps: 0,
            }]
        } else {
            rungs
        };
        let mut l = Self {
            rung: 0,
            fps_step: 0,
            rungs,
            fps_steps: if fps_steps.is_empty() {
                default_fps_steps()
            } else {
                fps_steps
            },
            source_fps: source_fps.max(1.0),
            last_change: None,
            below_since: None,
            above_since: None,
            changes: 0,
        };
        (l.rung, l.fps_step) = l.wanted(target_bps);
        l
    }

    /// The (rung, fps step) a target calls for, without hysteresis; frame-rate steps apply on
    /// the bottom rung only.
    fn wanted(&self, bps: u32) -> (usize, usize) {
        let rung = self
            .rungs
            .iter()
            .position(|r| bps >= r.min_bps)
            .unwrap_or(self.rungs.len() - 1);
        if rung + 1 < self.rungs.len() {
            return (rung, 0);
        }
        let fps = self
            .fps_steps
            .iter()
            .position(|s| bps >= s.min_bps)
            .unwrap_or(self.fps_steps.len() - 1);
        (rung, fps)
    }

    /// Current decision.
    pub fn state(&self) -> LadderState {
        let r = self.rungs[self.rung];
        LadderState {
            width: r.width,
            height: r.height,
            fps: self.fps_steps[self.fps_step].fps.min(self.source_fps),
        }
    }

    /// How many times the ladder moved.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Position as (rung, fps step): 0 is the top.
    fn position(&self) -> (usize, usize) {
        (self.rung, self.fps_step)
    }

    /// Feeds the current target and loss; returns the (possibly new) state.
    pub fn update(&mut self, now: Duration, target_bps: u32, loss: f64) -> LadderState {
        let want = self.wanted(target_bps);
        let here = self.position();
        if want > here {
            // Worse than we are: step down once it has lasted DOWN_HOLD.
            self.above_since = None;
            let since = *self.below_since.get_or_insert(now);
            if now.saturating_sub(since) >= DOWN_HOLD {
                self.move_to(want, now);
            }
        } else if want < here {
            self.below_since = None;
            // One step up, with margin, held, after a dwell, and not while losing packets.
            let next = if here.1 > 0 {
                (here.0, here.1 - 1)
            } else {
                (here.0 - 1, 0)
            };
            let next_min = if next.0 < here.0 {
                self.rungs[next.0].min_bps
            } else {
                self.fps_steps[next.1].min_bps
            };
            let clear = f64::from(target_bps) >= f64::from(next_min) * UP_MARGIN && loss < 0.05;
            if clear {
                let since = *self.above_since.get_or_insert(now);
                let dwelt = self
                    .last_change
                    .is_none_or(|t| now.saturating_sub(t) >= MIN_DWELL);
                if now.saturating_sub(since) >= UP_HOLD && dwelt {
                    self.move_to(next, now);
                }
            } else {
                self.above_since = None;
            }
        } else {
            self.below_since = None;
            self.above_since = None;
        }
        self.state()
    }

    fn move_to(&mut self, to: (usize, usize), now: Duration) {
        if to != self.position() {
            self.rung = to.0;
            self.fps_step = to.1;
            self.changes += 1;
            self.last_change = Some(now);
        }
        self.below_since = None;
        self.above_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ladder(bps: u32) -> Ladder {
        Ladder::new(default_rungs(1280, 720), default_fps_steps(), 30.0, bps)
    }

    #[test]
    fn rungs_for_common_sources() {
        let r = default_rungs(1280, 720);
        assert_eq!(
            r.iter()
                .map(|r| (r.width, r.height, r.min_bps))
                .collect::<Vec<_>>(),
            [
                (1280, 720, 1_200_000),
                (960, 540, 700_000),
                (640, 360, 300_000),
                (320, 180, 0)
            ]
        );
        let r = default_rungs(640, 480);
        assert_eq!((r[0].width, r[0].height), (640, 480));
        assert_eq!((r[1].width, r[1].height), (480, 360));
        assert_eq!(r.last().unwrap().min_bps, 0);
        assert_eq!(default_rungs(1920, 1080)[0].height, 720);
    }

    fn step(l: &mut Ladder, t: &mut Duration, ms: u64, bps: u32, loss: f64) -> u32 {
        *t += Duration::from_millis(ms);
        l.update(*t, bps, loss).height
    }

    #[test]
    fn down_fast_up_slow() {
        let mut l = ladder(2_000_000);
        assert_eq!(l.state().height, 720);
        let mut t = Duration::ZERO;
        // Capacity collapses to 250 kbps: down to 180p within ~200 ms, in one jump.
        assert_eq!(step(&mut l, &mut t, 100, 250_000, 0.0), 720);
        assert_eq!(step(&mut l, &mut t, 150, 250_000, 0.0), 720);
        assert_eq!(step(&mut l, &mut t, 60, 250_000, 0.0), 180);
        assert_eq!(l.changes(), 1);
        // Back to 2 Mbps: one rung at a time, each after the hold and the dwell.
        assert_eq!(step(&mut l, &mut t, 1000, 2_000_000, 0.0), 180);
        assert_eq!(step(&mut l, &mut t, 3100, 2_000_000, 0.0), 360);
        assert_eq!(step(&mut l, &mut t, 2000, 2_000_000, 0.0), 360);
        assert_eq!(step(&mut l, &mut t, 2100, 2_000_000, 0.0), 540);
        // Loss blocks stepping up.
        for _ in 0..20 {
            assert_eq!(step(&mut l, &mut t, 500, 2_000_000, 0.08), 540);
        }
        assert_eq!(step(&mut l, &mut t, 2100, 2_000_000, 0.0), 540);
        assert_eq!(step(&mut l, &mut t, 2100, 2_000_000, 0.0), 720);
    }

    #[test]
    fn frame_rate_steps_on_the_bottom_rung() {
        let mut l = ladder(30_000);
        assert_eq!((l.state().height, l.state().fps), (180, 10.0));
        let mut t = Duration::ZERO;
        for _ in 0..20 {
            t += Duration::from_millis(500);
            l.update(t, 80_000, 0.0);
        }
        assert_eq!((l.state().height, l.state().fps), (180, 30.0));
    }

    proptest! {
        /// Under a constant target the ladder never moves after its first decision.
        #[test]
        fn no_oscillation_under_a_constant_rate(bps in 0u32..4_000_000, ticks in 10usize..400, dt in 10u64..1000) {
            let mut l = ladder(bps);
            let first = l.state();
            let mut t = Duration::ZERO;
            for _ in 0..ticks {
                t += Duration::from_millis(dt);
                prop_assert_eq!(l.update(t, bps, 0.0), first);
            }
            prop_assert_eq!(l.changes(), 0);
        }

        /// Starting from any rung, a constant target settles with at most one change per rung
        /// and then stays.
        #[test]
        fn settles_once(start in 0u32..4_000_000, bps in 0u32..4_000_000) {
            let mut l = ladder(start);
            let mut t = Duration::ZERO;
            let mut states = Vec::new();
            for _ in 0..600 {
                t += Duration::from_millis(100);
                states.push(l.update(t, bps, 0.0));
            }
            // At most 3 rungs and 2 frame-rate steps to climb or one jump down.
            prop_assert!(l.changes() <= 5, "{} changes", l.changes());
            // The last 10 s are stable.
            let tail = &states[states.len() - 100..];
            prop_assert!(tail.iter().all(|s| *s == tail[0]));
        }
    }
}
