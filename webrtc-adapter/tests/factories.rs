//! What the factories offer and refuse, as a WebRTC stack asks them.

mod common;

use common::*;
use rtvc_webrtc::AdapterError;
use rtvc_webrtc::format::VideoFormat;

#[test]
fn every_offered_format_creates_an_encoder_and_a_decoder() {
    let enc = encoder_factory();
    let dec = decoder_factory();
    for f in enc.supported_formats() {
        let e = enc.create(&f).unwrap();
        let info = e.encoder_info();
        assert!(!info.is_hardware_accelerated, "{f}");
        assert_eq!(info.frame_delay, 0, "{f}");
        assert!(
            dec.supported_formats().iter().any(|d| d.is_same_codec(&f)),
            "{f}"
        );
    }
    for f in dec.supported_formats() {
        let d = dec.create(&f).unwrap();
        assert!(!d.decoder_info().is_hardware_accelerated, "{f}");
    }
}

#[test]
fn unsupported_formats_are_typed_errors_that_say_why() {
    let enc = encoder_factory();
    let reason = |f: VideoFormat| match enc.create(&f) {
        Err(AdapterError::UnsupportedFormat { reason, .. }) => reason,
        other => panic!("{f}: {other:?}"),
    };
    assert!(reason(VideoFormat::new("VP8")).contains("no encoder for codec VP8"));
    let high = reason(VideoFormat::h264("64001f", 1));
    assert!(high.contains("High"), "{high}");
    assert!(reason(VideoFormat::new("AV1").with("profile", "1")).contains("profile 1"));
    let junk = reason(VideoFormat::new("H264").with("profile-level-id", "nonsense"));
    assert!(junk.contains("profile-level-id"), "{junk}");
    // The decoder side takes Main and Constrained High, but not High (B-frames) or VP9.
    let dec = decoder_factory();
    assert!(dec.create(&VideoFormat::h264("4d001f", 1)).is_ok());
    assert!(dec.create(&VideoFormat::h264("640c1f", 0)).is_ok());
    assert!(matches!(
        dec.create(&VideoFormat::h264("64001f", 1)),
        Err(AdapterError::UnsupportedFormat { .. })
    ));
    assert!(dec.create(&VideoFormat::new("VP9")).is_err());
}

#[test]
fn codec_support_queries() {
    let enc = encoder_factory();
    let q = |f: &VideoFormat, m: Option<&str>| enc.query_codec_support(f, m);
    for f in [av1(), h264(1), h264(0)] {
        let s = q(&f, None);
        assert!(s.is_supported && !s.is_power_efficient, "{f}");
        assert!(q(&f, Some("L1T1")).is_supported, "{f}");
        assert!(!q(&f, Some("L2T2")).is_supported, "{f}: spatial layers");
        assert!(!q(&f, Some("garbage")).is_supported, "{f}");
    }
    assert!(!q(&VideoFormat::new("VP9"), None).is_supported);
}
