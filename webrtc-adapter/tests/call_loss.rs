//! Loss: 5 % random loss and 5 % burst loss. NACK/RTX repairs most of it; what it cannot
//! repair is healed by keyframe requests that are answered; freezes stay short.

mod common;

use common::call::{event_times, run, stream};
use rtvc_codec::CodecKind;
use rtvc_netsim::Loss;

fn lossy(codec: CodecKind, loss: Loss) {
    let r = run(codec, 10.0, |c| c.network.loss = loss);
    for (from, to) in [(0, 1), (1, 0)] {
        let s = stream(&r, from, to);
        assert!(s.nacks > 0, "NACKs used: {s:?}");
        assert!(
            s.frames_decoded as f64 >= 0.9 * s.frames_sent as f64,
            "{s:?}"
        );
        // A loss NACK cannot repair costs str0m's wait for it (5 NACKs + 3 RTTs), a PLI and a
        // keyframe: under a second.
        assert!(s.max_freeze_ms <= 1000.0, "{s:?}");
        // Every keyframe request that arrives (a PLI can be lost too) is answered: the sender
        // encodes one within 300 ms (the request may come before the first keyframe arrived, when that one was lost, so the
        // count of keyframes received says nothing more).
        let asks = event_times(&r, &format!("p{to} asks p{from} for a keyframe"));
        let keys = event_times(&r, &format!("p{from} encodes a keyframe"));
        assert!(asks.len() as u64 <= s.keyframe_requests, "{s:?}");
        for a in asks {
            assert!(
                keys.iter().any(|&k| k >= a && k <= a + 300.0),
                "request at {a} ms unanswered: {keys:?}"
            );
        }
        assert!(s.keyframes >= 1, "{s:?}");
        assert!(s.psnr_y > 28.0, "{s:?}");
    }
}

#[test]
fn random_loss_5_percent_av1() {
    lossy(CodecKind::Av1, Loss::Random(0.05));
}

#[test]
fn burst_loss_5_percent_h264() {
    lossy(CodecKind::H264, Loss::bursts(0.05, 3.0));
}
