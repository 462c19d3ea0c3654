//! Short simulated calls for the call tests.

use rtvc_codec::CodecKind;
use rtvc_webrtc::call::{Call, CallConfig, CallReport, CostModel, StreamReport};

/// A 1:1 call at 640x360 over builtin:good with fixed costs, `seconds` long; `tweak` changes the
/// rest.
pub fn run(codec: CodecKind, seconds: f64, tweak: impl FnOnce(&mut CallConfig)) -> CallReport {
    let mut config = CallConfig::new(codec, 640, 360);
    config.duration_ms = seconds * 1000.0;
    config.cost = CostModel::Fixed;
    tweak(&mut config);
    let report = Call::new(config)
        .expect("call set up")
        .run(|_| {})
        .expect("call ran");
    for s in &report.streams {
        eprintln!("{}", serde_json_line(s));
    }
    for e in &report.events {
        eprintln!("  {:8.0} ms  {}", e.t_ms, e.what);
    }
    report
}

/// The stream `from` → `to`.
pub fn stream(r: &CallReport, from: usize, to: usize) -> &StreamReport {
    let (f, t) = (format!("p{from}"), format!("p{to}"));
    r.streams
        .iter()
        .find(|s| s.from == f && s.to == t)
        .expect("the stream exists")
}

/// Times (ms) of events whose text contains `what`.
pub fn event_times(r: &CallReport, what: &str) -> Vec<f64> {
    r.events
        .iter()
        .filter(|e| e.what.contains(what))
        .map(|e| e.t_ms)
        .collect()
}

fn serde_json_line(s: &StreamReport) -> String {
    format!(
        "{}→{} {}: sent {} decoded {} freezes {} (max {} ms, gap {} ms) nacks {} cam-on {:?} g2g p50 {} p95 {} psnr {} pli {} recovery {:?} kbps {} bwe {} kf {} jb {} res {}",
        s.from,
        s.to,
        s.codec,
        s.frames_sent,
        s.frames_decoded,
        s.freezes,
        s.max_freeze_ms,
        s.max_gap_ms,
        s.nacks,
        s.camera_on_ms,
        s.g2g_ms_p50,
        s.g2g_ms_p95,
        s.psnr_y,
        s.keyframe_requests,
        s.recovery_ms,
        s.kbps,
        s.bwe_kbps,
        s.keyframes,
        s.jitter_buffer_ms,
        s.resolution_changes
    )
}
