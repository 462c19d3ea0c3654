//! The decoder as libwebrtc drives it: configure, decode; after damage or a gap it asks for a
//! keyframe, shows nothing until one arrives, then decodes again. Garbage never panics.

mod common;

use bytes::Bytes;
use common::*;
use rtvc_codec::Rotation;
use rtvc_webrtc::{AdapterError, DecodeResult, EncoderSettings, ReceivedImage, VideoFrameType};

const KEY: &[VideoFrameType] = &[VideoFrameType::Key];
const DELTA: &[VideoFrameType] = &[VideoFrameType::Delta];

fn is_request(r: &DecodeResult) -> bool {
    matches!(r, DecodeResult::RequestKeyframe(_))
}

#[test]
fn gaps_and_damage_ask_for_a_keyframe_and_heal_on_it() {
    for format in [av1(), h264(1)] {
        let mut s = EncoderSettings::new(320, 180, 30.0, 300_000);
        s.frame_dropping = false;
        let mut e = started_encoder(&format, &s);
        let mut cam = Camera::new(320, 180);
        let images: Vec<_> = (0..12)
            .map(|n| {
                encoded(
                    e.encode(&cam.next(), if n == 8 { KEY } else { DELTA })
                        .unwrap(),
                )
            })
            .collect();
        let mut d = decoder_factory().create(&format).unwrap();
        assert!(matches!(
            d.decode(&receive(&images[0], false)),
            Err(AdapterError::Uninitialized)
        ));
        d.configure(&rtvc_webrtc::DecoderSettings::new(320, 180, 2))
            .unwrap();
        assert!(
            d.decoder_info().implementation_name == "dav1d"
                || d.decoder_info().implementation_name == "openh264"
        );
        for img in &images[0..3] {
            picture(d.as_mut(), img);
        }
        // Frame 3 is lost; frame 4 arrives flagged: not shown, a keyframe is asked for, and
        // nothing is shown until it comes.
        for img in &images[4..8] {
            let missing = std::ptr::eq(img, &images[4]);
            let r = d.decode(&receive(img, missing)).unwrap();
            assert!(is_request(&r), "{format}: {r:?}");
        }
        assert!(images[8].info.keyframe);
        picture(d.as_mut(), &images[8]);
        picture(d.as_mut(), &images[9]);
        // Damage: a truncated frame is refused; the next inter frames wait for a keyframe.
        let mut cut = images[10].clone();
        cut.data = cut.data.slice(..cut.data.len() / 3);
        let r = d.decode(&receive(&cut, false)).unwrap();
        assert!(is_request(&r), "{format}: truncated frame gave {r:?}");
        let r = d.decode(&receive(&images[11], false)).unwrap();
        assert!(is_request(&r), "{format}: {r:?}");
        let key = encoded(e.encode(&cam.next(), KEY).unwrap());
        picture(d.as_mut(), &key);
    }
}

#[test]
fn garbage_is_a_keyframe_request_not_a_crash() {
    for format in [av1(), h264(1)] {
        let mut d = started_decoder(&format);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in [0usize, 1, 3, 7, 64, 1000, 5000] {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let r = d
                .decode(&ReceivedImage {
                    data: Bytes::from(bytes),
                    capture_time_us: 0,
                    rotation: Rotation::Deg0,
                    missing_frames: false,
                })
                .unwrap();
            assert!(
                is_request(&r) || matches!(r, DecodeResult::NoOutput),
                "{format}: {len} garbage bytes gave {r:?}"
            );
        }
    }
}
