//! What a call is judged by, per received stream: frames, freezes, glass-to-glass latency,
//! quality, keyframe requests, recovery after an outage, rates.

use serde::Serialize;

/// Mean inter-frame gap over this many frames decides what a freeze is.
const FREEZE_WINDOW: usize = 30;

/// One received stream (`from` → `to`), as `rtvc call --json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StreamReport {
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Codec.
    pub codec: String,
    /// Frames the sender's camera captured for this connection (while connected, camera on).
    pub frames_captured: u64,
    /// Frames the sender encoded and handed to this connection.
    pub frames_sent: u64,
    /// Captured frames not sent (rate controller or encoder drops, video held), %.
    pub drops_pct: f64,
    /// Pictures the receiver decoded and showed.
    pub frames_decoded: u64,
    /// Freezes: a gap between shown pictures ≥ max(3 × the mean gap, mean + 150 ms)
    /// (libwebrtc's definition); a camera-off pause is not one.
    pub freezes: u64,
    /// Longest such gap, ms (0 without freezes).
    pub max_freeze_ms: f64,
    /// Longest gap between shown pictures, freeze or not (camera-off pauses excepted), ms.
    pub max_gap_ms: f64,
    /// Median capture → shown (encode, network, jitter buffer, decode), ms.
    pub g2g_ms_p50: f64,
    /// 95th percentile of the same, ms.
    pub g2g_ms_p95: f64,
    /// PSNR-Y of shown pictures against the frames captured for them (mean MSE, ffmpeg-style).
    pub psnr_y: f64,
    /// PSNR-Y of what a player with a fixed 150 ms playout delay shows for each captured frame
    /// (the frame itself if it was decoded within 150 ms of capture, else the latest earlier one
    /// that was) against the captured frame: drops, freezes and lateness count (`rtvc rc`'s
    /// `psnr_y_display`).
    pub psnr_y_display: f64,
    /// Keyframe requests (PLI) the receiver sent.
    pub keyframe_requests: u64,
    /// Retransmission requests (NACK) the sender received for this stream.
    pub nacks: u64,
    /// From the link coming back after an outage to the first picture shown, ms (the worst over
    /// outages; `null` without an outage on this path).
    pub recovery_ms: Option<f64>,
    /// Media received, kbps.
    pub kbps: f64,
    /// Mean of the sender's bandwidth estimate for this connection, kbps.
    pub bwe_kbps: f64,
    /// Changes of the decoded picture size.
    pub resolution_changes: u64,
    /// Keyframes received.
    pub keyframes: u64,
    /// Mean target delay of the jitter buffer, ms.
    pub jitter_buffer_ms: f64,
    /// The receiver saw the sender pause (camera off); `null` when the sender never paused.
    pub camera_off_seen: Option<bool>,
    /// Camera on again → first picture shown, ms (`null` without camera-off).
    pub camera_on_ms: Option<f64>,
}

/// Accumulates one stream.
#[derive(Debug, Default, Clone)]
pub struct StreamStats {
    /// Frames captured for the connection.
    pub captured: u64,
    /// Frames handed to the connection.
    pub frames_sent: u64,
    /// Pictures shown in the last seconds: (shown ms, capture µs, picture).
    pub screen: std::collections::VecDeque<(f64, i64, rtvc_codec::Frame)>,
    /// Captures to judge on screen: (capture µs, when, ms).
    pub to_judge: std::collections::VecDeque<(i64, f64)>,
    /// Sum and count of on-screen MSE.
    pub display_mse_sum: f64,
    /// Count of on-screen MSE samples.
    pub display_n: u64,
    /// PLIs sent.
    pub keyframe_requests: u64,
    /// Media bytes received.
    pub bytes: u64,
    /// Keyframes received.
    pub keyframes: u64,
    /// Sum and count of estimate samples, bits/s.
    pub bwe_sum: f64,
    /// Count of estimate samples.
    pub bwe_n: u64,
    /// Sum and count of jitter-buffer targets.
    pub jb_sum: f64,
    /// Count of jitter-buffer samples.
    pub jb_n: u64,
    /// Shown pictures: (shown ms, capture ms).
    pub shown: Vec<(f64, f64)>,
    /// Sum of luma MSE of shown pictures, and how many.
    pub mse_sum: f64,
    /// Count of MSE samples.
    pub mse_n: u64,
    /// Size of the last picture.
    pub size: Option<(u32, u32)>,
    /// Size changes.
    pub resolution_changes: u64,
    /// The receiver saw the sender pause.
    pub paused_seen: bool,
    /// NACKs the sender received (str0m's cumulative count).
    pub nacks: u64,
}

impl StreamStats {
    /// A picture of `size` captured at `capture_ms` was shown at `shown_ms`.
    pub fn on_shown(&mut self, shown_ms: f64, capture_ms: f64, size: (u32, u32), mse: Option<f64>) {
        self.shown.push((shown_ms, capture_ms));
        if let Some(m) = mse {
            self.mse_sum += m;
            self.mse_n += 1;
        }
        if self.size.is_some_and(|s| s != size) {
            self.resolution_changes += 1;
        }
        self.size = Some(size);
    }

    /// Times pictures were shown, and `end_ms` (the end of the call) after them, so that a
    /// stream stuck at the end counts too.
    fn shown_until(&self, end_ms: f64) -> Vec<f64> {
        let mut v: Vec<f64> = self.shown.iter().map(|s| s.0).collect();
        if v.last().is_some_and(|&l| l < end_ms) {
            v.push(end_ms);
        }
        v
    }

    /// Gaps between shown pictures (up to `end_ms`) that are freezes: (start, length) ms,
    /// ignoring gaps that overlap `excused`.
    pub fn freezes(&self, excused: &[(f64, f64)], end_ms: f64) -> Vec<(f64, f64)> {
        let mut gaps: std::collections::VecDeque<f64> = Default::default();
        let mut out = Vec::new();
        for w in self.shown_until(end_ms).windows(2) {
            let (a, b) = (w[0], w[1]);
            let gap = b - a;
            if gaps.len() >= 3 {
                let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
                let excuse = excused.iter().any(|&(s, e)| a < e && b > s);
                if gap >= (3.0 * mean).max(mean + 150.0) && !excuse {
                    out.push((a, gap));
                }
            }
            gaps.push_back(gap.min(1000.0));
            if gaps.len() > FREEZE_WINDOW {
                gaps.pop_front();
            }
        }
        out
    }

    /// The longest gap between shown pictures not overlapping `excused`, ms.
    pub fn max_gap(&self, excused: &[(f64, f64)], end_ms: f64) -> f64 {
        self.shown_until(end_ms)
            .windows(2)
            .filter(|w| !excused.iter().any(|&(s, e)| w[0] < e && w[1] > s))
            .map(|w| w[1] - w[0])
            .fold(0.0, f64::max)
    }

    /// Glass-to-glass latencies, ms.
    pub fn g2g(&self) -> Vec<f64> {
        self.shown.iter().map(|(s, c)| s - c).collect()
    }
}

/// Percentile `p` (0–100) of `v` (nearest rank), 0 when empty.
pub fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// `v` rounded to `d` decimals.
pub fn round(v: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (v * m).round() / m
}

/// The summary over all streams: sums of frames and requests, the worst freezes, recovery,
/// drops and PSNR, the median of latencies and rates.
pub fn summarize(streams: &[StreamReport], codec: &str) -> StreamReport {
    let median = |f: &dyn Fn(&StreamReport) -> f64| {
        let mut v: Vec<f64> = streams.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => round((v[n / 2 - 1] + v[n / 2]) / 2.0, 1),
        }
    };
    let max = |f: &dyn Fn(&StreamReport) -> f64| streams.iter().map(f).fold(0.0, f64::max);
    let opt_max =
        |f: &dyn Fn(&StreamReport) -> Option<f64>| streams.iter().filter_map(f).reduce(f64::max);
    StreamReport {
        from: "all".into(),
        to: "all".into(),
        codec: codec.into(),
        frames_captured: streams.iter().map(|s| s.frames_captured).sum(),
        frames_sent: streams.iter().map(|s| s.frames_sent).sum(),
        drops_pct: max(&|s| s.drops_pct),
        frames_decoded: streams.iter().map(|s| s.frames_decoded).sum(),
        freezes: streams.iter().map(|s| s.freezes).max().unwrap_or(0),
        max_freeze_ms: max(&|s| s.max_freeze_ms),
        max_gap_ms: max(&|s| s.max_gap_ms),
        g2g_ms_p50: median(&|s| s.g2g_ms_p50),
        g2g_ms_p95: median(&|s| s.g2g_ms_p95),
        psnr_y: streams
            .iter()
            .map(|s| s.psnr_y)
            .reduce(f64::min)
            .unwrap_or(0.0),
        psnr_y_display: streams
            .iter()
            .map(|s| s.psnr_y_display)
            .reduce(f64::min)
            .unwrap_or(0.0),
        keyframe_requests: streams.iter().map(|s| s.keyframe_requests).sum(),
        nacks: streams.iter().map(|s| s.nacks).sum(),
        recovery_ms: opt_max(&|s| s.recovery_ms),
        kbps: median(&|s| s.kbps),
        bwe_kbps: median(&|s| s.bwe_kbps),
        resolution_changes: streams
            .iter()
            .map(|s| s.resolution_changes)
            .max()
            .unwrap_or(0),
        keyframes: streams.iter().map(|s| s.keyframes).sum(),
        jitter_buffer_ms: median(&|s| s.jitter_buffer_ms),
        camera_off_seen: streams
            .iter()
            .filter_map(|s| s.camera_off_seen)
            .reduce(|a, b| a && b),
        camera_on_ms: opt_max(&|s| s.camera_on_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezes_follow_libwebrtcs_rule_and_pauses_are_excused() {
        let mut s = StreamStats::default();
        let mut t = 0.0;
        for i in 0..100 {
            t += if i == 50 {
                400.0
            } else if i == 80 {
                120.0
            } else {
                33.0
            };
            s.on_shown(t, t - 60.0, (640, 360), Some(1.0));
        }
        let f = s.freezes(&[], t);
        assert_eq!(f.len(), 1, "400 ms is one, 120 ms is not (< 33 + 150)");
        assert_eq!(f[0].1, 400.0);
        let at = f[0].0;
        assert!(s.freezes(&[(at + 10.0, at + 20.0)], t).is_empty());
        assert_eq!(s.freezes(&[], t + 1000.0).len(), 2, "stuck at the end");
        assert_eq!(s.max_gap(&[], t), 400.0);
        assert_eq!(percentile(&s.g2g(), 50.0), 60.0);
    }
}
