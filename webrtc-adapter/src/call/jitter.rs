//! The receive side's jitter buffer: complete frames wait until their playout time so that
//! pictures come out evenly although packets arrive unevenly.
//!
//! For each frame, `d = arrival − RTP time` (ms). The smallest `d` over the last 10 s is the
//! base (transit time plus the sender's clock offset); the target delay is the 95th percentile of
//! `d − base` over the last 2 s (the jitter this buffer absorbs), at most 500 ms. Frames later
//! than that (retransmissions after an outage) are outliers: they play on arrival and do not
//! raise the target. Frames that arrive in one burst (held back together upstream, e.g. by the
//! depacketizer waiting for a lost packet) count once, by the first of them: their spread says
//! nothing about the network's jitter. A frame plays
//! out at `RTP time + base + target`, never before it arrived and never before the frame ahead
//! of it. Simple, adaptive to measured jitter, and the target is reported.

use std::collections::VecDeque;
use std::sync::Arc;

/// Largest target delay, ms.
pub const MAX_TARGET_MS: f64 = 500.0;

/// A frame waiting in the buffer.
#[derive(Debug, Clone)]
pub struct Buffered {
    /// Payload.
    pub data: Arc<[u8]>,
    /// RTP timestamp (90 kHz, unwrapped).
    pub rtp_time: u64,
    /// When it arrived, ms.
    pub arrival_ms: f64,
    /// When it plays out, ms.
    pub release_ms: f64,
    /// Frames were missing before it.
    pub missing_before: bool,
    /// A keyframe.
    pub keyframe: bool,
}

/// The jitter buffer.
#[derive(Debug, Default)]
pub struct JitterBuffer {
    frames: VecDeque<Buffered>,
    /// (arrival ms, d) of recent frames.
    history: VecDeque<(f64, f64)>,
    target_ms: f64,
    last_release_ms: f64,
    last_arrival_ms: Option<f64>,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current target delay, ms.
    pub fn target_ms(&self) -> f64 {
        self.target_ms
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// A complete frame arrived at `arrival_ms`.
    pub fn insert(
        &mut self,
        arrival_ms: f64,
        rtp_time: u64,
        data: Arc<[u8]>,
        missing_before: bool,
        keyframe: bool,
    ) {
        let rtp_ms = rtp_time as f64 / 90.0;
        let d = arrival_ms - rtp_ms;
        let burst = self
            .last_arrival_ms
            .is_some_and(|last| arrival_ms - last < 0.5);
        self.last_arrival_ms = Some(arrival_ms);
        if !burst {
            self.history.push_back((arrival_ms, d));
        }
        while self
            .history
            .front()
            .is_some_and(|&(t, _)| t < arrival_ms - 10_000.0)
        {
            self.history.pop_front();
        }
        let base = self.history.iter().map(|h| h.1).fold(d, f64::min);
        let mut recent: Vec<f64> = self
            .history
            .iter()
            .filter(|h| h.0 >= arrival_ms - 2000.0)
            .map(|h| h.1 - base)
            .filter(|&j| j <= MAX_TARGET_MS)
            .collect();
        recent.sort_by(f64::total_cmp);
        let p95 = recent
            .get(((recent.len() as f64 * 0.95).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0);
        self.target_ms = p95.clamp(0.0, MAX_TARGET_MS);
        if keyframe {
            // A keyframe refers to nothing: frames still waiting before it would only be decoded
            // to be replaced (as libwebrtc's frame buffer, which skips to a decodable keyframe).
            self.frames.clear();
        }
        let release_ms = (rtp_ms + base + self.target_ms)
            .max(arrival_ms)
            .max(self.last_release_ms);
        self.last_release_ms = release_ms;
        self.frames.push_back(Buffered {
            data,
            rtp_time,
            arrival_ms,
            release_ms,
            missing_before,
            keyframe,
        });
    }

    /// The next frame due by `now_ms`.
    pub fn pop_due(&mut self, now_ms: f64) -> Option<Buffered> {
        if self.frames.front()?.release_ms <= now_ms + 1e-6 {
            self.frames.pop_front()
        } else {
            None
        }
    }

    /// Drops everything waiting (e.g. a keyframe is needed anyway).
    pub fn clear(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Arc<[u8]> {
        Arc::from(&[0u8][..])
    }

    #[test]
    fn steady_arrivals_pass_straight_through() {
        let mut j = JitterBuffer::new();
        for i in 0..100u64 {
            let rtp = i * 3000; // 30 fps
            j.insert(i as f64 * 1000.0 / 30.0 + 50.0, rtp, data(), false, false);
            let f = j
                .pop_due(i as f64 * 1000.0 / 30.0 + 50.0)
                .expect("due on arrival");
            assert!((f.release_ms - f.arrival_ms).abs() < 0.01);
        }
        assert!(j.target_ms() < 0.01);
    }

    #[test]
    fn jitter_is_absorbed_and_order_kept() {
        let mut j = JitterBuffer::new();
        let mut out = Vec::new();
        for i in 0..300u64 {
            let rtp = i * 3000;
            // Every fifth frame is 40 ms late.
            let late = if i % 5 == 0 { 40.0 } else { 0.0 };
            let arrival = i as f64 * 1000.0 / 30.0 + 50.0 + late;
            j.insert(arrival, rtp, data(), false, false);
            while let Some(f) = j.pop_due(arrival + 100.0) {
                out.push(f);
            }
        }
        assert!((j.target_ms() - 40.0).abs() < 0.1, "{}", j.target_ms());
        // Once the target covers the jitter, playout is even: 33.3 ms apart.
        let gaps: Vec<f64> = out[100..]
            .windows(2)
            .map(|w| w[1].release_ms - w[0].release_ms)
            .collect();
        assert!(
            gaps.iter().all(|g| (g - 1000.0 / 30.0).abs() < 0.01),
            "{gaps:?}"
        );
        assert!(out.windows(2).all(|w| w[0].rtp_time < w[1].rtp_time));
    }

    #[test]
    fn a_burst_of_held_frames_does_not_raise_the_target() {
        let mut j = JitterBuffer::new();
        for i in 0..60u64 {
            j.insert(
                i as f64 * 1000.0 / 30.0 + 50.0,
                i * 3000,
                data(),
                false,
                false,
            );
        }
        // 25 frames held upstream for 800 ms arrive together, then normal again.
        for i in 60..85u64 {
            j.insert(85.0 * 1000.0 / 30.0 + 50.0, i * 3000, data(), false, false);
        }
        for i in 85..90u64 {
            j.insert(
                i as f64 * 1000.0 / 30.0 + 50.0,
                i * 3000,
                data(),
                false,
                false,
            );
        }
        assert!(j.target_ms() < 0.01, "{}", j.target_ms());
    }

    #[test]
    fn a_very_late_frame_does_not_raise_the_target() {
        let mut j = JitterBuffer::new();
        for i in 0..60u64 {
            let late = if i == 30 { 2000.0 } else { 0.0 };
            j.insert(
                i as f64 * 1000.0 / 30.0 + 50.0 + late,
                i * 3000,
                data(),
                false,
                false,
            );
        }
        assert!(j.target_ms() < 0.01, "{}", j.target_ms());
    }
}
