//! A hardware encoder that fails mid-call (VideoToolbox after backgrounding): our software
//! encoder takes over, the call goes on, the receiver sees one keyframe for the switch.

mod common;

use common::call::{run, stream};
use common::hardware::{Breaks, factory_with_hardware};
use rtvc_codec::CodecKind;
use rtvc_webrtc::fallback::FallbackReason;
use std::sync::{Arc, Mutex};

#[test]
fn hardware_failing_mid_call_falls_back_to_software() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let r = run(CodecKind::H264, 6.0, move |c| {
        c.encoder_factory = Box::new(move |participant, registry| {
            if participant != 0 {
                return rtvc_webrtc::EncoderFactory::new(registry);
            }
            let (f, e) = factory_with_hardware(Breaks::ErrorsFrom(60), false);
            *sink.lock().unwrap() = vec![e];
            f
        });
    });
    let events = events.lock().unwrap()[0].lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(events[0].reason, FallbackReason::Error(_)),
        "{events:?}"
    );
    let s = stream(&r, 0, 1);
    assert_eq!(s.keyframes, 2, "the first and the one at the switch: {s:?}");
    assert_eq!(s.freezes, 0, "{s:?}");
    assert_eq!(s.keyframe_requests, 0, "{s:?}");
    // Every frame sent is shown but those still on their way when the call ends.
    assert!(
        s.frames_decoded + 3 >= s.frames_sent && s.frames_sent > 150,
        "{s:?}"
    );
}
