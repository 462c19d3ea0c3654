//! Camera off and on: the sender sends nothing (0 bps to the encoder), the receiver notices the
//! pause without asking for keyframes, and when the camera comes back the first frame is a
//! keyframe that shows without a keyframe-request round trip.

mod common;

use common::call::{event_times, run, stream};
use rtvc_codec::CodecKind;

#[test]
fn camera_off_and_on() {
    let r = run(CodecKind::H264, 8.0, |c| {
        c.camera_off = Some((2000.0, 3000.0))
    });
    assert_eq!(event_times(&r, "turns its camera off"), [2000.0]);
    assert_eq!(event_times(&r, "turns its camera on"), [5000.0]);
    let s = stream(&r, 0, 1);
    assert_eq!(s.camera_off_seen, Some(true), "{s:?}");
    assert_eq!(
        s.keyframe_requests, 0,
        "no keyframe requests while off: {s:?}"
    );
    assert_eq!(
        s.keyframes, 2,
        "the first frame, and the first after the camera is on: {s:?}"
    );
    // Camera on → the next capture (≤ 33 ms), its encode, one way (20 ms), the keyframe's
    // transmission: well under a keyframe-request round trip on top.
    let on = s.camera_on_ms.expect("camera on measured");
    assert!(on < 120.0, "{s:?}");
    assert_eq!(s.freezes, 0, "the pause is not a freeze: {s:?}");
    // Nothing was sent while off: 3 s of 30 fps missing.
    let other = stream(&r, 1, 0);
    assert!(s.frames_sent + 80 < other.frames_sent, "{s:?} vs {other:?}");
    assert_eq!(other.freezes, 0, "{other:?}");
}
