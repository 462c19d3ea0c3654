//! A clean 1:1 call per codec: every frame sent is decoded, quality above a floor, no freeze,
//! latency as the path allows.

mod common;

use rtvc_codec::CodecKind;

fn clean(codec: CodecKind) {
    let r = common::call::run(codec, 6.0, |c| c.network.rtt_ms = 50.0);
    assert_eq!(r.streams.len(), 2);
    for s in &r.streams {
        assert!(s.frames_sent > 150, "{s:?}");
        assert!(s.frames_decoded + 2 >= s.frames_sent, "{s:?}");
        assert_eq!(s.freezes, 0, "{s:?}");
        assert!(s.psnr_y > 30.0, "{s:?}");
        assert!(s.g2g_ms_p50 < 100.0, "{s:?}");
    }
}

#[test]
fn clean_call_av1() {
    clean(CodecKind::Av1);
}

#[test]
fn clean_call_h264() {
    clean(CodecKind::H264);
}
