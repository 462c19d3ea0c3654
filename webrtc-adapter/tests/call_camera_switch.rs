//! Switching from the front camera (640x360) to the rear one (1920x1080) mid-call: the new
//! pictures are scaled to the send size, nothing is renegotiated, at most one keyframe, and
//! the picture does not stop for more than 200 ms.

mod common;

use common::call::{event_times, run, stream};
use rtvc_codec::CodecKind;

fn switch(codec: CodecKind) {
    let r = run(codec, 6.0, |c| c.camera_switch_ms = Some(3000.0));
    assert_eq!(event_times(&r, "rear camera"), [3000.0]);
    let s = stream(&r, 0, 1);
    // The first keyframe, and at most one more.
    assert!(s.keyframes <= 2, "{s:?}");
    assert!(s.max_gap_ms <= 200.0, "{s:?}");
    assert_eq!(s.freezes, 0, "{s:?}");
    assert_eq!(s.resolution_changes, 0, "sent at the same size: {s:?}");
    assert!(s.psnr_y > 28.0, "{s:?}");
    assert!(s.frames_decoded + 2 >= s.frames_sent, "{s:?}");
}

#[test]
fn camera_switch_av1() {
    switch(CodecKind::Av1);
}

#[test]
fn camera_switch_h264() {
    switch(CodecKind::H264);
}
