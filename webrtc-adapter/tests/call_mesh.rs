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
