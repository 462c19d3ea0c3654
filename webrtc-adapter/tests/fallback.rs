//! Hardware first, software when it fails: a "hardware" encoder/decoder (ours underneath, so
//! that its output is real, reporting itself as hardware) breaks in the ways VideoToolbox does —
//! at creation, at init, mid-call with an error (`kVTInvalidSessionErr` after backgrounding),
//! or by going silent — and the call goes on with our software, without losing a frame to the
//! switch, starting with a keyframe at the rates the hardware had, the switch reported.

mod common;

use std::sync::Arc;

use common::hardware::*;
use common::*;
use rtvc_codec::CodecKind;
use rtvc_webrtc::decoder::{DecoderInfo, WebRtcDecoder};
use rtvc_webrtc::fallback::{
    FallbackEvent, FallbackReason, MAX_FAILED_KEYFRAMES, MAX_SILENT_FRAMES, Side,
};
use rtvc_webrtc::format::VideoFormat;
use rtvc_webrtc::{
    AdapterError, DecodeResult, DecoderFactory, DecoderSettings, EncodeResult, EncoderFactory,
    EncoderSettings, RateControlParameters, ReceivedImage, VideoFrameType,
};

const DELTA: &[VideoFrameType] = &[VideoFrameType::Delta];

fn settings() -> EncoderSettings {
    let mut s = EncoderSettings::new(640, 360, 30.0, 600_000);
    s.frame_dropping = false;
    s.number_of_cores = 2;
    s
}

/// Runs 60 frames; returns (implementation per frame, keyframe flags, bytes per frame, drops).
fn run(factory: &EncoderFactory) -> (Vec<String>, Vec<bool>, Vec<usize>, u32) {
    let mut e = factory.create(&h264(1)).unwrap();
    e.init(&settings()).unwrap();
    e.set_rates(&RateControlParameters::new(250_000, 30.0))
        .unwrap();
    let mut d = started_decoder(&h264(1));
    let mut cam = Camera::new(640, 360);
    let (mut names, mut keys, mut sizes, mut dropped) = (vec![], vec![], vec![], 0);
    for _ in 0..60 {
        let result = e.encode(&cam.next(), DELTA).unwrap();
        names.push(e.encoder_info().implementation_name);
        match result {
            EncodeResult::Encoded(img) => {
                keys.push(img.info.keyframe);
                sizes.push(img.data.len());
                // The stream decodes across the switch, frame for frame.
                picture(d.as_mut(), &img);
            }
            EncodeResult::Dropped(_) => {
                keys.push(false);
                sizes.push(0);
                dropped += 1;
            }
        }
    }
    (names, keys, sizes, dropped)
}

#[test]
fn hardware_is_preferred_and_power_efficient() {
    let (f, _) = factory_with_hardware(Breaks::Never, false);
    assert!(
        f.supported_formats()[0].is_same_codec(&h264(1)),
        "hardware listed first"
    );
    assert_eq!(
        f.supported_formats().len(),
        encoder_factory().supported_formats().len()
    );
    assert!(f.query_codec_support(&h264(1), None).is_power_efficient);
    assert!(!f.query_codec_support(&av1(), None).is_power_efficient);
    let e = f.create(&h264(1)).unwrap();
    let info = e.encoder_info();
    assert_eq!(info.implementation_name, "FakeVT");
    assert!(info.is_hardware_accelerated);
    let (names, keys, _, dropped) = run(&f);
    assert!(names.iter().all(|n| n == "FakeVT"));
    assert_eq!((keys.iter().filter(|&&k| k).count(), dropped), (1, 0));
}

#[test]
fn a_hardware_error_mid_call_switches_to_software_without_losing_a_frame() {
    let (f, events) = factory_with_hardware(Breaks::ErrorsFrom(20), false);
    let (names, keys, sizes, dropped) = run(&f);
    assert!(names[..20].iter().all(|n| n == "FakeVT"));
    assert!(names[20..].iter().all(|n| n == "openh264"), "{names:?}");
    assert_eq!(
        dropped, 0,
        "the frame the hardware failed on was encoded by software"
    );
    let key_frames: Vec<usize> = (0..60).filter(|&i| keys[i]).collect();
    assert_eq!(key_frames, [0, 20], "the software starts with a keyframe");
    // Software got the hardware's rates (250 kbps, not the 600 kbps of the settings): the
    // second after the switch's keyframe stays near 250 kbps.
    let kbps = sizes[21..51].iter().sum::<usize>() as f64 * 8.0 / 1000.0;
    assert!(
        kbps < 400.0,
        "{kbps:.0} kbps after the switch: rates were not carried over"
    );
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!((e.side, e.codec), (Side::Encoder, CodecKind::H264));
    assert_eq!((e.from.as_str(), e.to.as_str()), ("FakeVT", "openh264"));
    assert!(
        matches!(&e.reason, FallbackReason::Error(m) if m.contains("-12903")),
        "{e}"
    );
}

#[test]
fn a_hardware_encoder_that_fails_to_start_is_replaced_at_once() {
    for create_fails in [false, true] {
        let breaks = if create_fails {
            Breaks::Never
        } else {
            Breaks::AtInit
        };
        let (f, events) = factory_with_hardware(breaks, create_fails);
        let (names, keys, _, dropped) = run(&f);
        assert!(names.iter().all(|n| n == "openh264"), "{names:?}");
        assert!(keys[0] && dropped == 0);
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert!(
            matches!(events[0].reason, FallbackReason::InitFailed(_)),
            "{}",
            events[0]
        );
    }
}

#[test]
fn a_silent_hardware_encoder_is_given_up_after_a_second() {
    let (f, events) = factory_with_hardware(Breaks::SilentFrom(10), false);
    let (names, keys, _, dropped) = run(&f);
    let switch = 10 + MAX_SILENT_FRAMES as usize - 1;
    assert_eq!(
        dropped,
        MAX_SILENT_FRAMES - 1,
        "silent frames before the switch"
    );
    assert!(names[switch..].iter().all(|n| n == "openh264"));
    assert!(keys[switch], "software starts with a keyframe");
    let events = events.lock().unwrap();
    assert_eq!(events[0].reason, FallbackReason::Silent(MAX_SILENT_FRAMES));
}

/// Our decoder dressed up as a hardware one that breaks as told.
struct FakeHardwareDecoder {
    inner: Box<dyn WebRtcDecoder>,
    /// Errors from this frame on.
    errors_from: Option<u32>,
    /// Never decodes anything (asks for keyframes forever).
    broken: bool,
    frames: u32,
}

impl WebRtcDecoder for FakeHardwareDecoder {
    fn configure(&mut self, s: &DecoderSettings) -> Result<(), AdapterError> {
        self.inner.configure(s)
    }
    fn decode(&mut self, image: &ReceivedImage) -> Result<DecodeResult, AdapterError> {
        self.frames += 1;
        if self.broken {
            return Ok(DecodeResult::RequestKeyframe(
                "hardware decoder stuck".into(),
            ));
        }
        if self.errors_from.is_some_and(|n| self.frames > n) {
            return Err(hw_error());
        }
        self.inner.decode(image)
    }
    fn decoder_info(&self) -> DecoderInfo {
        DecoderInfo::hardware("FakeVTDecoder")
    }
    fn release(&mut self) {
        self.inner.release()
    }
}

fn decoder_factory_with_hardware(
    errors_from: Option<u32>,
    broken: bool,
) -> (DecoderFactory, Events) {
    let mut f = decoder_factory();
    f.register_hardware(h264(1), move |format: &VideoFormat| {
        Ok(Box::new(FakeHardwareDecoder {
            inner: decoder_factory().create(format)?,
            errors_from,
            broken,
            frames: 0,
        }) as Box<dyn WebRtcDecoder>)
    });
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    f.set_fallback_listener(Arc::new(move |e: &FallbackEvent| {
        sink.lock().unwrap().push(e.clone())
    }));
    (f, events)
}

/// A stream with keyframes at 0, 15, 30, 45.
fn stream() -> Vec<rtvc_webrtc::EncodedImage> {
    let mut e = encoder_factory().create(&h264(1)).unwrap();
    e.init(&settings()).unwrap();
    let mut cam = Camera::new(640, 360);
    (0..60)
        .map(|n| {
            let t = if n % 15 == 0 {
                &[VideoFrameType::Key][..]
            } else {
                DELTA
            };
            encoded(e.encode(&cam.next(), t).unwrap())
        })
        .collect()
}

#[test]
fn a_failing_hardware_decoder_is_replaced_and_heals_at_the_next_keyframe() {
    let images = stream();
    let (f, events) = decoder_factory_with_hardware(Some(20), false);
    let mut d = f.create(&h264(1)).unwrap();
    d.configure(&DecoderSettings::new(640, 360, 2)).unwrap();
    let mut shown = Vec::new();
    for img in &images {
        match d.decode(&receive(img, false)).unwrap() {
            DecodeResult::Picture(_) => shown.push(true),
            DecodeResult::RequestKeyframe(_) => shown.push(false),
            DecodeResult::NoOutput => panic!("a picture or a keyframe request per frame"),
        }
    }
    // Frames 0..20 on hardware; 20..30 wait for the keyframe at 30; from there all shown.
    assert!(shown[..20].iter().all(|&s| s));
    assert!(shown[20..30].iter().all(|&s| !s));
    assert!(shown[30..].iter().all(|&s| s));
    assert_eq!(d.decoder_info().implementation_name, "openh264");
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].side, events[0].from.as_str()),
        (Side::Decoder, "FakeVTDecoder")
    );
}

#[test]
fn a_hardware_decoder_that_never_decodes_a_keyframe_is_given_up() {
    let images = stream();
    let (f, events) = decoder_factory_with_hardware(None, true);
    let mut d = f.create(&h264(1)).unwrap();
    d.configure(&DecoderSettings::new(640, 360, 2)).unwrap();
    let mut first_shown = None;
    for (i, img) in images.iter().enumerate() {
        if let DecodeResult::Picture(_) = d.decode(&receive(img, false)).unwrap() {
            first_shown.get_or_insert(i);
        }
    }
    // Keyframes at 0, 15 and 30 fail on hardware; the third failure switches, and software
    // decodes that very keyframe.
    let third = 15 * (MAX_FAILED_KEYFRAMES as usize - 1);
    assert_eq!(first_shown, Some(third));
    assert_eq!(
        events.lock().unwrap()[0].reason,
        FallbackReason::KeyframesFailed(MAX_FAILED_KEYFRAMES)
    );
}
