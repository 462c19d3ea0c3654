//! The encoder as libwebrtc drives it, for both codecs: info before init, init, encode with
//! keyframe requests, rate changes, pause and resume, a camera switch, release; every output
//! decodes with our decoder factory's decoder.

mod common;

use std::time::Duration;

use common::*;
use rtvc_codec::h264::bitstream::nal_units;
use rtvc_codec::{CodecKind, FrameError};
use rtvc_webrtc::format::VideoFormat;
use rtvc_webrtc::{
    AdapterError, EncodeResult, EncoderSettings, FrameDropReason, RateControlParameters,
    VideoFrameType,
};

const KEY: &[VideoFrameType] = &[VideoFrameType::Key];
const DELTA: &[VideoFrameType] = &[VideoFrameType::Delta];

fn formats() -> [(VideoFormat, &'static str, u32, u32); 3] {
    // (format, implementation, QP thresholds low/high)
    [
        (av1(), "libaom", 145, 205),
        (h264(1), "openh264", 24, 37),
        (h264(0), "openh264", 24, 37),
    ]
}

fn settings(w: u32, h: u32, bps: u32) -> EncoderSettings {
    let mut s = EncoderSettings::new(w, h, 30.0, bps);
    s.number_of_cores = 2;
    s
}

#[test]
fn info_is_valid_before_init_and_encode_needs_init() {
    for (format, name, low, high) in formats() {
        let mut e = encoder_factory().create(&format).unwrap();
        let info = e.encoder_info();
        assert_eq!(info.implementation_name, name);
        assert!(!info.is_hardware_accelerated);
        assert!(info.has_trusted_rate_controller);
        assert_eq!(
            (info.qp_thresholds.low, info.qp_thresholds.high),
            (low, high)
        );
        let align = if format.codec() == Some(CodecKind::H264) {
            2
        } else {
            1
        };
        assert_eq!(info.resolution_alignment, align);
        assert_eq!(info.fps_allocation, vec![255]);
        assert!(!info.resolution_bitrate_limits.is_empty());
        let frame = Camera::new(320, 180).next();
        assert!(matches!(
            e.encode(&frame, DELTA),
            Err(AdapterError::Uninitialized)
        ));
        assert!(matches!(
            e.set_rates(&RateControlParameters::new(300_000, 30.0)),
            Err(AdapterError::Uninitialized)
        ));
        let mut bad = settings(320, 180, 300_000);
        bad.min_bitrate_bps = 400_000;
        assert!(matches!(e.init(&bad), Err(AdapterError::Settings { .. })));
    }
}

#[test]
fn keyframes_rates_pause_resume_and_camera_switch() {
    for (format, name, _, _) in formats() {
        let mut s = settings(640, 360, 600_000);
        // Every frame encoded: this test checks the lifecycle, not the rate controller.
        s.frame_dropping = false;
        let mut e = started_encoder(&format, &s);
        let mut d = started_decoder(&format);
        let mut cam = Camera::new(640, 360);
        let mut keyframes = Vec::new();
        for n in 0..60u64 {
            let types = if n == 20 { KEY } else { DELTA };
            if n == 30 {
                // A live rate change: no keyframe.
                e.set_rates(&RateControlParameters::new(300_000, 30.0))
                    .unwrap();
            }
            let img = encoded(e.encode(&cam.next(), types).unwrap());
            if img.info.keyframe {
                keyframes.push(n);
            }
            assert_eq!(img.info.codec, format.codec().unwrap());
            let expected_mode = (format.codec() == Some(CodecKind::H264))
                .then(|| format.packetization_mode().unwrap());
            assert_eq!(img.info.h264_packetization_mode, expected_mode);
            assert_eq!(img.info.temporal_id, 0);
            assert!(img.info.qp.is_some(), "{name}: QP reported");
            let pic = picture(d.as_mut(), &img);
            assert_eq!((pic.width(), pic.height()), (640, 360));
            assert_eq!(pic.timestamp_us(), img.capture_time_us);
        }
        assert_eq!(
            keyframes,
            [0, 20],
            "{format}: keyframes only at the start and on request"
        );

        // Pause: frames are dropped (and say why); resuming starts with a keyframe.
        e.set_rates(&RateControlParameters::new(0, 30.0)).unwrap();
        for _ in 0..5 {
            assert_eq!(
                e.encode(&cam.next(), DELTA).unwrap(),
                EncodeResult::Dropped(FrameDropReason::Paused)
            );
        }
        e.set_rates(&RateControlParameters::new(400_000, 30.0))
            .unwrap();
        let img = encoded(e.encode(&cam.next(), DELTA).unwrap());
        assert!(img.info.keyframe, "{format}: resume with a keyframe");
        picture(d.as_mut(), &img);

        // The camera switches to a smaller size: a keyframe at that size, decodable.
        let mut small = Camera::new(480, 270);
        small.n = cam.n;
        let img = encoded(e.encode(&small.next(), DELTA).unwrap());
        assert!(img.info.keyframe);
        assert_eq!((img.width, img.height), (480, 270));
        assert_eq!(picture(d.as_mut(), &img).width(), 480);
        let img = encoded(e.encode(&small.next(), DELTA).unwrap());
        assert!(!img.info.keyframe);
        picture(d.as_mut(), &img);

        // Capture times must increase.
        let mut again = small.next();
        again.set_timestamp_us(0);
        assert!(matches!(
            e.encode(&again, DELTA),
            Err(AdapterError::Frame(
                FrameError::TimestampNotIncreasing { .. }
            ))
        ));

        // Release, and start again.
        e.release();
        assert!(matches!(
            e.encode(&small.next(), DELTA),
            Err(AdapterError::Uninitialized)
        ));
        e.init(&s).unwrap();
        assert!(encoded(e.encode(&cam.next(), DELTA).unwrap()).info.keyframe);
    }
}

#[test]
fn packetization_mode_0_keeps_every_nal_unit_under_the_payload_size() {
    let mut s = settings(1280, 720, 2_000_000);
    s.frame_dropping = false;
    s.max_payload_bytes = 1000;
    let mut e = started_encoder(&h264(0), &s);
    let mut d = started_decoder(&h264(0));
    let mut cam = Camera::new(1280, 720);
    let mut largest = 0;
    for n in 0..20 {
        let img = encoded(
            e.encode(&cam.next(), if n == 10 { KEY } else { DELTA })
                .unwrap(),
        );
        largest = nal_units(&img.data)
            .map(<[u8]>::len)
            .fold(largest, usize::max);
        picture(d.as_mut(), &img);
    }
    assert!(largest <= 1000, "a NAL unit of {largest} bytes in mode 0");
    // Mode 1 does not cut pictures: its keyframe is one big slice.
    let mut e = started_encoder(&h264(1), &s);
    let img = encoded(e.encode(&Camera::new(1280, 720).next(), KEY).unwrap());
    assert!(nal_units(&img.data).any(|n| n.len() > 1000));
}

#[test]
fn loss_notifications_and_hints() {
    for (format, _, _, _) in formats() {
        let mut s = settings(320, 180, 300_000);
        s.frame_dropping = false;
        let mut e = started_encoder(&format, &s);
        let mut cam = Camera::new(320, 180);
        encoded(e.encode(&cam.next(), DELTA).unwrap());
        assert!(!encoded(e.encode(&cam.next(), DELTA).unwrap()).info.keyframe);
        e.on_packet_loss_rate(0.1);
        e.on_rtt(Duration::from_millis(80));
        e.on_loss_notification(rtvc_webrtc::encoder::LossNotification {
            timestamp_of_last_decodable: 0,
            timestamp_of_last_received: 3000,
            dependencies_of_last_received_decodable: Some(true),
            last_received_decodable: Some(true),
        });
        assert!(!encoded(e.encode(&cam.next(), DELTA).unwrap()).info.keyframe);
        e.on_loss_notification(rtvc_webrtc::encoder::LossNotification {
            timestamp_of_last_decodable: 0,
            timestamp_of_last_received: 6000,
            dependencies_of_last_received_decodable: Some(false),
            last_received_decodable: None,
        });
        assert!(
            encoded(e.encode(&cam.next(), DELTA).unwrap()).info.keyframe,
            "{format}: a broken reference chain is repaired with a keyframe"
        );
    }
}

#[test]
fn with_frame_dropping_our_rate_controller_holds_the_target() {
    // 360p of the (hard, all-moving) synthetic scene at 300 kbps for 4 s, then cut to 100 kbps
    // for 4 s: the controller inside skips and scales as it must, what comes out stays near each
    // target (the first second after the cut excluded), and every frame decodes.
    for (format, _, _, _) in formats() {
        let s = settings(640, 360, 300_000);
        let mut e = started_encoder(&format, &s);
        let mut d = started_decoder(&format);
        let mut cam = Camera::new(640, 360);
        // (bytes, frames encoded, frames dropped) per second.
        let mut per_second = vec![(0usize, 0u32, 0u32); 8];
        let mut sizes = Vec::new();
        for n in 0..30 * 8 {
            if n == 30 * 4 {
                e.set_rates(&RateControlParameters::new(100_000, 30.0))
                    .unwrap();
            }
            let sec = &mut per_second[n / 30];
            match e.encode(&cam.next(), DELTA).unwrap() {
                EncodeResult::Encoded(img) => {
                    sec.0 += img.data.len();
                    sec.1 += 1;
                    if !sizes.contains(&(img.width, img.height)) {
                        sizes.push((img.width, img.height));
                    }
                    picture(d.as_mut(), &img);
                }
                // The controller's skips, and libaom taking back an oversized frame.
                EncodeResult::Dropped(why) => {
                    assert_ne!(why, FrameDropReason::Paused, "{format}");
                    sec.2 += 1;
                }
            }
        }
        let kbps = |secs: std::ops::Range<usize>| {
            let n = secs.len() as f64;
            per_second[secs].iter().map(|s| s.0).sum::<usize>() as f64 * 8.0 / n / 1000.0
        };
        let (before, after) = (kbps(0..4), kbps(5..8));
        let frames_after: u32 = per_second[5..8].iter().map(|s| s.1).sum();
        println!(
            "{format}: {before:.0} kbps at 300, {after:.0} kbps at 100 ({frames_after} frames in \
             3 s), sizes {sizes:?}, per second {per_second:?}"
        );
        assert!(
            (150.0..=360.0).contains(&before),
            "{format}: {before:.0} kbps for 300"
        );
        assert!(
            (40.0..=125.0).contains(&after),
            "{format}: {after:.0} kbps for 100"
        );
        assert!(
            frames_after >= 30,
            "{format}: {frames_after} frames in 3 s after the cut"
        );
    }
}
