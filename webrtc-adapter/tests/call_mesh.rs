//! A 4-party mesh at 360p: every participant sends to and receives from the other three — all
//! 12 streams decode, without freezes.

mod common;

use common::call::run;
use rtvc_codec::CodecKind;

#[test]
fn mesh_of_four_decodes_all_twelve_streams() {
    let r = run(CodecKind::Av1, 5.0, |c| c.participants = 4);
    assert_eq!(r.streams.len(), 12);
    for s in &r.streams {
        assert!(s.frames_sent > 120, "{s:?}");
        assert!(s.frames_decoded + 2 >= s.frames_sent, "{s:?}");
        assert_eq!(s.freezes, 0, "{s:?}");
        assert!(s.psnr_y > 30.0, "{s:?}");
    }
}

/// `--mesh layered` on LTE links of different capacity: one L1T2 encode per participant; a link
/// that cannot carry it all gets the base layer alone (fewer frames), and every frame a
/// receiver gets decodes — the base layer needs nothing from the layer it did not get.
#[test]
fn layered_mesh_sends_the_base_layer_alone_to_weaker_links() {
    let r = run(CodecKind::Av1, 12.0, |c| {
        c.participants = 3;
        c.mesh = rtvc_webrtc::call::MeshEncoding::Layered;
        c.network.trace = "builtin:lte".into();
    });
    assert_eq!(r.streams.len(), 6);
    let mut thinned = 0;
    for s in &r.streams {
        assert!(s.frames_sent > 100, "{s:?}");
        // (LTE queues hold up to a second of video when the call ends.)
        assert!(
            s.frames_decoded as f64 >= 0.95 * s.frames_sent as f64,
            "{s:?}"
        );
        // A base-layer-only receiver never needs a keyframe for what it did not get.
        assert!(s.keyframe_requests <= 1, "{s:?}");
        let most = r
            .streams
            .iter()
            .filter(|o| o.from == s.from)
            .map(|o| o.frames_sent)
            .max()
            .expect("a stream");
        if (s.frames_sent as f64) < 0.9 * most as f64 {
            thinned += 1;
        }
    }
    assert!(
        thinned >= 1,
        "no link got the base layer alone: {:?}",
        r.streams
    );
}
