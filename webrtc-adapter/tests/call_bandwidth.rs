//! A bandwidth step (builtin:steps: 1.5 Mbps, then 500 kbps at 15 s): the estimate follows, the
//! encoder follows the estimate, latency stays bounded.

mod common;

use common::call::{run, stream};
use rtvc_codec::CodecKind;

#[test]
fn bandwidth_step_keeps_delay_bounded() {
    let r = run(CodecKind::Av1, 20.0, |c| {
        c.network.trace = "builtin:steps".into()
    });
    for (from, to) in [(0, 1), (1, 0)] {
        let s = stream(&r, from, to);
        assert!(s.g2g_ms_p95 <= 300.0, "{s:?}");
        assert!(s.max_freeze_ms <= 500.0, "{s:?}");
        assert!(
            s.frames_decoded as f64 >= 0.9 * s.frames_sent as f64,
            "{s:?}"
        );
    }
    // After the step the sender sends at most what the link carries.
    let k = 0;
    let tl = &r.timeline[k];
    let after: Vec<_> = tl.iter().filter(|p| p.t_ms >= 17_000.0).collect();
    let sent = after.iter().map(|p| p.sent_bps).sum::<f64>() / after.len() as f64;
    assert!(sent <= 520_000.0, "{sent}");
}
