//! Live encoder controls: keyframe on demand, bitrate changes without keyframes, resolution
//! changes mid-stream, pause, and the zero-delay contract.

mod common;

use common::*;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, DropReason, EncodeOutcome, EncoderConfig, Error, FrameError, FrameTiming, Packet,
    RateBuffer, Rates,
};

const ZERO_DELAY: [(&str, CodecKind); 2] =
    [("libaom", CodecKind::Av1), ("openh264", CodecKind::H264)];

#[test]
fn zero_delay_n_in_n_out_without_flush() {
    for (name, codec) in ZERO_DELAY {
        let mut enc = encoder(name, codec, 320, 180, 500_000);
        assert_eq!(enc.info().frame_delay, 0);
        let mut dec = decoder(codec);
        let scene = SyntheticScene::new(320, 180, 30.0).unwrap();
        for n in 0..40 {
            let f = scene.frame(n);
            let EncodeOutcome::Encoded(out) = enc.encode(&f, false).unwrap() else {
                panic!("{name}: frame {n} did not come out of encode()");
            };
            assert_eq!(
                out.timestamp_us,
                f.timestamp_us(),
                "{name}: output is this frame"
            );
            assert!(enc.take_ready().is_empty());
            let pic = dec
                .decode(&Packet::from(&out))
                .unwrap()
                .expect("decoder returns the frame");
            assert_eq!(pic.timestamp_us(), f.timestamp_us());
        }
        assert!(enc.flush().unwrap().is_empty(), "{name}: nothing held back");
        assert!(dec.flush().unwrap().is_empty(), "decoder held nothing back");
    }
}

#[test]
fn keyframe_on_demand_is_decodable_from_scratch() {
    for (name, codec) in [
        ("libaom", CodecKind::Av1),
        ("openh264", CodecKind::H264),
        ("rav1e", CodecKind::Av1),
    ] {
        let mut enc = encoder(name, codec, 160, 96, 300_000);
        let (packets, sources) = encode_scene(enc.as_mut(), 160, 96, 16, &[9]);
        let keys: Vec<usize> = packets
            .iter()
            .enumerate()
            .filter(|(_, p)| p.keyframe)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            keys,
            [0, 9],
            "{name}: keyframes exactly at 0 and the requested frame"
        );
        // A receiver joining at the forced keyframe decodes everything from there.
        let mut dec = decoder(codec);
        let (decoded, psnr) = decode_all(dec.as_mut(), &packets[9..], &sources);
        assert_eq!(decoded.len(), 7);
        assert!(psnr.psnr_y().unwrap() > 30.0, "{name}: {:?}", psnr.psnr_y());
        // Joining at an inter frame is refused until the keyframe.
        let mut late = decoder(codec);
        let err = late.decode(&Packet::from(&packets[5])).unwrap_err();
        assert_eq!(
            err.action(),
            rtvc_codec::RecoveryAction::RequestKeyframe,
            "{name}: {err}"
        );
    }
}

fn mean_size(p: &[rtvc_codec::EncodedFrame]) -> f64 {
    p.iter().map(|f| f.data.len() as f64).sum::<f64>() / p.len() as f64
}

#[test]
fn live_bitrate_change_without_keyframe() {
    for (name, codec) in ZERO_DELAY {
        let mut enc = encoder(name, codec, 320, 180, 1_200_000);
        let scene = SyntheticScene::new(320, 180, 30.0).unwrap();
        let mut out = Vec::new();
        for n in 0..150 {
            if n == 60 {
                enc.set_rates(rates_30fps(200_000)).unwrap();
            }
            if n == 110 {
                enc.set_rates(rates_30fps(1_200_000)).unwrap();
            }
            match enc.encode(&scene.frame(n), false).unwrap() {
                EncodeOutcome::Encoded(e) => out.push((n, e)),
                EncodeOutcome::Dropped(DropReason::RateControl) => {}
                other => panic!("{other:?}"),
            }
        }
        let keys = out.iter().filter(|(_, e)| e.keyframe).count();
        assert_eq!(keys, 1, "{name}: only the first frame is a keyframe");
        let phase = |a: u64, b: u64| {
            let v: Vec<_> = out
                .iter()
                .filter(|(n, _)| (a..b).contains(n))
                .map(|(_, e)| e.clone())
                .collect();
            mean_size(&v) * (v.len() as f64) / ((b - a) as f64)
        };
        let (high, low, high2) = (phase(30, 60), phase(80, 110), phase(130, 150));
        println!("{name}: bytes/frame {high:.0} -> {low:.0} -> {high2:.0}");
        assert!(
            low < 0.6 * high,
            "{name}: lowering the rate lowers the output ({high:.0} -> {low:.0})"
        );
        assert!(
            high2 > 1.5 * low,
            "{name}: raising it again raises the output ({low:.0} -> {high2:.0})"
        );
    }
}

#[test]
fn resolution_change_mid_stream() {
    for (name, codec) in [
        ("libaom", CodecKind::Av1),
        ("openh264", CodecKind::H264),
        ("rav1e", CodecKind::Av1),
    ] {
        let mut cfg = EncoderConfig::new(codec, 320, 180, 500_000, 30.0);
        cfg.threads = Some(2);
        cfg.frame_dropping = false;
        // libaom allocates for up to 480x270; the last step goes beyond and re-creates it.
        cfg.max_size = Some((480, 270));
        let mut enc = registry().create_encoder_named(name, &cfg).unwrap();
        let mut dec = decoder(codec);
        let sizes = [(320, 180), (480, 270), (160, 90), (640, 360)];
        let mut packets = Vec::new();
        let mut n = 0;
        for &(w, h) in &sizes {
            let scene = SyntheticScene::new(w, h, 30.0).unwrap();
            for _ in 0..6 {
                let f = scene.frame(n);
                if let EncodeOutcome::Encoded(e) = enc.encode(&f, false).unwrap() {
                    packets.push(e);
                }
                packets.extend(enc.take_ready());
                n += 1;
            }
        }
        packets.extend(enc.flush().unwrap());
        assert_eq!(packets.len(), 24, "{name}");
        for (i, p) in packets.iter().enumerate() {
            let (w, h) = sizes[i / 6];
            assert_eq!((p.width, p.height), (w, h), "{name}: packet {i}");
            assert_eq!(
                p.keyframe,
                i % 6 == 0,
                "{name}: packet {i} keyframe exactly at each size change"
            );
            let pic = dec.decode(&Packet::from(p)).unwrap().unwrap();
            assert_eq!(
                (pic.width(), pic.height()),
                (w, h),
                "{name}: decoded size of packet {i}"
            );
        }
    }
}

#[test]
fn pause_and_resume() {
    for (name, codec) in ZERO_DELAY {
        let mut enc = encoder(name, codec, 160, 90, 300_000);
        let scene = SyntheticScene::new(160, 90, 30.0).unwrap();
        assert!(matches!(
            enc.encode(&scene.frame(0), false).unwrap(),
            EncodeOutcome::Encoded(_)
        ));
        enc.set_rates(rates_30fps(0)).unwrap();
        assert_eq!(
            enc.encode(&scene.frame(1), false).unwrap(),
            EncodeOutcome::Dropped(DropReason::Paused)
        );
        enc.set_rates(rates_30fps(300_000)).unwrap();
        assert!(
            matches!(
                enc.encode(&scene.frame(2), false).unwrap(),
                EncodeOutcome::Encoded(_)
            ),
            "{name}"
        );
        assert!(
            enc.set_rates(Rates {
                bitrate_bps: 5,
                framerate: 30.0
            })
            .is_err()
        );
        assert!(
            enc.set_rates(Rates {
                bitrate_bps: 300_000,
                framerate: f64::INFINITY
            })
            .is_err()
        );
    }
}

#[test]
fn rav1e_restarts_only_on_large_sustained_changes() {
    let mut enc = encoder("rav1e", CodecKind::Av1, 160, 90, 400_000);
    assert_eq!(enc.info().frame_delay, 4);
    let scene = SyntheticScene::new(160, 90, 30.0).unwrap();
    let mut out = Vec::new();
    for n in 0..90 {
        if n == 10 {
            // Small change: applied at the next keyframe, no restart.
            enc.set_rates(rates_30fps(350_000)).unwrap();
        }
        if n == 30 {
            // Large change, held for > 1 s: one restart (a keyframe) about 30 frames later.
            enc.set_rates(rates_30fps(100_000)).unwrap();
        }
        match enc.encode(&scene.frame(n), false).unwrap() {
            EncodeOutcome::Encoded(e) => out.push(e),
            EncodeOutcome::Queued => {}
            other => panic!("{other:?}"),
        }
        out.extend(enc.take_ready());
    }
    out.extend(enc.flush().unwrap());
    assert_eq!(out.len(), 90, "no frame lost across the restart");
    let keys: Vec<i64> = out
        .iter()
        .filter(|e| e.keyframe)
        .map(|e| e.timestamp_us)
        .collect();
    assert_eq!(keys.len(), 2, "start + one restart: {keys:?}");
    let restart_frame = (keys[1] as f64 * 30.0 / 1e6).round() as i64;
    assert!(
        (59..=62).contains(&restart_frame),
        "restart after ~1 s at the new rate: frame {restart_frame}"
    );
    // Timestamps come out in order.
    assert!(
        out.windows(2)
            .all(|w| w[0].timestamp_us < w[1].timestamp_us)
    );
}

#[test]
fn encoder_frame_dropping_is_reported() {
    // 640x360 detailed content at 60 kbps: the encoders' rate control must skip frames, and
    // every skipped frame is reported as a drop, never silently lost.
    for (name, codec) in ZERO_DELAY {
        let mut cfg = EncoderConfig::new(codec, 640, 360, 60_000, 30.0);
        cfg.threads = Some(2);
        let mut enc = registry().create_encoder_named(name, &cfg).unwrap();
        let scene = SyntheticScene::new(640, 360, 30.0).unwrap();
        let (mut encoded, mut dropped) = (0, 0);
        for n in 0..60 {
            match enc.encode(&scene.frame(n), false).unwrap() {
                EncodeOutcome::Encoded(_) => encoded += 1,
                EncodeOutcome::Dropped(DropReason::RateControl) => dropped += 1,
                other => panic!("{other:?}"),
            }
        }
        println!("{name}: {encoded} encoded, {dropped} dropped");
        assert_eq!(encoded + dropped, 60);
        assert!(
            dropped > 0,
            "{name}: expected rate-control drops at 60 kbps"
        );
    }
}

#[test]
fn payloads_follow_webrtc_framing() {
    use rtvc_codec::av1::obu::{inspect_temporal_unit, leading_temporal_delimiter_len};
    use rtvc_codec::h264::bitstream::{nal_type, nal_units, parse_sps};
    // AV1: no temporal delimiter; a sequence header exactly on keyframes.
    for name in ["libaom", "rav1e"] {
        let mut enc = encoder(name, CodecKind::Av1, 160, 96, 300_000);
        let (packets, _) = encode_scene(enc.as_mut(), 160, 96, 12, &[6]);
        for p in &packets {
            assert_eq!(
                leading_temporal_delimiter_len(&p.data),
                0,
                "{name}: TD stripped"
            );
            let tu = inspect_temporal_unit(&p.data).unwrap();
            assert_eq!(
                tu.has_sequence_header, p.keyframe,
                "{name}: sequence header iff keyframe"
            );
            assert_eq!(tu.is_random_access_point(), p.keyframe);
            assert!(p.qp.is_some_and(|q| q <= 255));
        }
    }
    // H.264: Annex B, SPS + PPS before every IDR, Constrained Baseline.
    let mut enc = encoder("openh264", CodecKind::H264, 160, 96, 300_000);
    let (packets, _) = encode_scene(enc.as_mut(), 160, 96, 12, &[6]);
    for p in &packets {
        assert!(p.data.starts_with(&[0, 0, 0, 1]) || p.data.starts_with(&[0, 0, 1]));
        let types: Vec<u8> = nal_units(&p.data).filter_map(nal_type).collect();
        if p.keyframe {
            assert_eq!(&types[..3], &[7, 8, 5], "SPS, PPS, IDR: {types:?}");
            let sps = parse_sps(nal_units(&p.data).next().unwrap()).unwrap();
            assert_eq!(sps.profile_name(), "Constrained Baseline");
            assert_eq!((sps.width(), sps.height()), (160, 96));
        } else {
            assert!(
                types.iter().all(|&t| t == 1),
                "P-frames only carry non-IDR slices: {types:?}"
            );
        }
        assert!(
            p.qp.is_some_and(|q| (12..=42).contains(&q)),
            "qp {:?}",
            p.qp
        );
    }
}

#[test]
fn libaom_takes_back_overshoot_after_a_deep_rate_cut() {
    // A sender's rate controller cuts the rate 20× and skips frames while the link queue drains
    // (with nominal timing, as under the controller, libaom does not count them). Without help
    // libaom raises its quantizer only a little per frame and the next frames come out at many
    // times their budget; with `drop_overshoot` such a frame is taken back (reported as a drop)
    // and the next one is encoded small.
    let run = |drop_overshoot: bool| {
        let mut cfg = EncoderConfig::new(CodecKind::Av1, 640, 360, 2_000_000, 30.0);
        cfg.threads = Some(2);
        cfg.frame_dropping = false;
        cfg.drop_overshoot = drop_overshoot;
        cfg.timing = FrameTiming::Nominal;
        let mut enc = registry().create_encoder_named("libaom", &cfg).unwrap();
        let mut dec = decoder(CodecKind::Av1);
        let scene = SyntheticScene::new(640, 360, 30.0).unwrap();
        let (mut largest, mut dropped, mut decoded) = (0usize, 0, 0);
        for n in 0..60 {
            if n == 30 {
                enc.set_rates(rates_30fps(100_000)).unwrap();
            }
            if (30..40).contains(&n) {
                continue;
            }
            match enc.encode(&scene.frame(n), false).unwrap() {
                EncodeOutcome::Encoded(e) => {
                    if n >= 40 {
                        largest = largest.max(e.data.len());
                    }
                    // Whatever was taken back never reached the stream: it decodes cleanly.
                    dec.decode(&Packet::from(&e)).unwrap().unwrap();
                    decoded += 1;
                }
                EncodeOutcome::Dropped(DropReason::RateControl) => dropped += 1,
                other => panic!("{other:?}"),
            }
        }
        (largest, dropped, decoded)
    };
    let budget = 100_000 / 30 / 8;
    let (plain, plain_dropped, _) = run(false);
    let (guarded, dropped, decoded) = run(true);
    println!(
        "largest frame after the cut: {plain} B without, {guarded} B with drop_overshoot \
         (budget {budget} B/frame); {dropped} taken back, {decoded} decoded"
    );
    assert_eq!(plain_dropped, 0, "no drops without frame dropping");
    assert!((1..=4).contains(&dropped), "{dropped} frames taken back");
    assert_eq!(decoded + dropped, 50);
    assert!(
        guarded <= 8 * budget,
        "{guarded} B after the cut with drop_overshoot (budget {budget} B)"
    );
}

#[test]
fn libaom_small_rate_buffer_pays_back_a_scene_cut_sooner() {
    // Under the rate controller the encoder's own buffer is shrunk (RateBuffer::UNDER_CONTROLLER)
    // so that after a big frame (a scene cut) its next frames come back under the target sooner
    // than with libwebrtc's 1 s buffer, before the controller's 120 ms bucket overflows.
    let run = |buffer: RateBuffer| {
        let mut cfg = EncoderConfig::new(CodecKind::Av1, 640, 360, 600_000, 30.0);
        cfg.threads = Some(2);
        cfg.frame_dropping = false;
        cfg.rate_buffer = buffer;
        let mut enc = registry().create_encoder_named("libaom", &cfg).unwrap();
        let scene = SyntheticScene::new(640, 360, 30.0).unwrap();
        let mut sizes = Vec::new();
        for n in 0..60u64 {
            // A cut to a far-away part of the scene at frame 45.
            let f = if n < 45 { n } else { 100_000 + n };
            match enc.encode(&scene.frame(f), false).unwrap() {
                EncodeOutcome::Encoded(e) => sizes.push(e.data.len()),
                other => panic!("{other:?}"),
            }
        }
        let budget = 600_000.0 / 8.0 / 30.0;
        (
            sizes[45] as f64 / budget,
            sizes[46..56].iter().sum::<usize>() as f64 / budget,
        )
    };
    // (the cut frame, the next 10 frames) in average frames at the target.
    let (cut_webrtc, next_webrtc) = run(RateBuffer::WEBRTC);
    let (cut_small, next_small) = run(RateBuffer::UNDER_CONTROLLER);
    println!(
        "cut frame {cut_webrtc:.1} / {cut_small:.1} average frames, next 10 frames \
         {next_webrtc:.1} / {next_small:.1} (1 s / 300 ms buffer)"
    );
    assert!(cut_small >= 5.0 && cut_webrtc >= 5.0, "not a scene cut");
    assert!(
        next_small <= 0.9 * next_webrtc,
        "the small buffer should pay the cut back sooner: next 10 frames {next_small:.1} vs \
         {next_webrtc:.1} average frames"
    );
}

#[test]
fn libaom_meets_its_bitrate_when_frames_arrive_slower_than_configured() {
    // Configured for 30 fps, the camera delivers 15 (capture times 66.7 ms apart) and nobody
    // tells the encoder. With capture timing libaom gives each frame the bits of its real
    // interval and meets the target; believing 30 fps (nominal timing) it sends about half.
    let target = 500_000;
    let run = |timing: FrameTiming| {
        let mut cfg = EncoderConfig::new(CodecKind::Av1, 640, 360, target, 30.0);
        cfg.threads = Some(2);
        cfg.frame_dropping = false;
        cfg.timing = timing;
        let mut enc = registry().create_encoder_named("libaom", &cfg).unwrap();
        let scene = SyntheticScene::new(640, 360, 30.0).unwrap();
        let frames = 150u64; // 10 s at 15 fps
        let mut bytes = 0;
        for n in 0..frames {
            let mut f = scene.frame(2 * n);
            f.set_timestamp_us((n as f64 * 1e6 / 15.0).round() as i64);
            match enc.encode(&f, false).unwrap() {
                // The first second settles the rate control; count the rest.
                EncodeOutcome::Encoded(e) if n >= 15 => bytes += e.data.len(),
                EncodeOutcome::Encoded(_) => {}
                other => panic!("{other:?}"),
            }
        }
        let seconds = (frames - 15) as f64 / 15.0;
        bytes as f64 * 8.0 / seconds / f64::from(target)
    };
    let capture = run(FrameTiming::Capture);
    let nominal = run(FrameTiming::Nominal);
    println!("sent / target at 15 of 30 fps: capture timing {capture:.3}, nominal {nominal:.3}");
    assert!(
        (0.85..=1.15).contains(&capture),
        "capture timing: {capture:.3} of the target"
    );
    assert!(
        nominal <= 0.75,
        "nominal timing: {nominal:.3} of the target"
    );
}

#[test]
fn timestamps_that_do_not_increase_are_refused_by_every_encoder() {
    for (name, codec) in [
        ("libaom", CodecKind::Av1),
        ("rav1e", CodecKind::Av1),
        ("openh264", CodecKind::H264),
    ] {
        let mut enc = encoder(name, codec, 160, 90, 300_000);
        let scene = SyntheticScene::new(160, 90, 30.0).unwrap();
        let first = scene.frame(3);
        assert!(enc.encode(&first, false).is_ok());
        for ts in [first.timestamp_us(), first.timestamp_us() - 1, i64::MIN] {
            let mut f = scene.frame(4);
            f.set_timestamp_us(ts);
            match enc.encode(&f, false) {
                Err(Error::Frame(FrameError::TimestampNotIncreasing {
                    previous_us,
                    timestamp_us,
                })) => {
                    assert_eq!((previous_us, timestamp_us), (first.timestamp_us(), ts));
                }
                other => panic!(
                    "{name}: timestamp {ts} after {}: {other:?}",
                    first.timestamp_us()
                ),
            }
        }
        // A refused frame changes nothing: the next later frame is fine.
        assert!(enc.encode(&scene.frame(4), false).is_ok(), "{name}");
    }
}

#[test]
fn openh264_cuts_pictures_into_nal_units_that_fit_a_packet() {
    // RTP packetization mode 0 carries one NAL unit per packet: with `max_nal_bytes` every NAL
    // unit fits, the keyframe included, and the stream still decodes frame for frame.
    use rtvc_codec::h264::bitstream::nal_units;
    let mut cfg = EncoderConfig::new(CodecKind::H264, 640, 360, 1_500_000, 30.0);
    cfg.frame_dropping = false;
    cfg.max_nal_bytes = Some(1100);
    let mut enc = registry().create_encoder_named("openh264", &cfg).unwrap();
    let mut dec = decoder(CodecKind::H264);
    let scene = SyntheticScene::new(640, 360, 30.0).unwrap();
    let (mut largest, mut nals, mut frames) = (0, 0, 0);
    for n in 0..30 {
        let EncodeOutcome::Encoded(e) = enc.encode(&scene.frame(n), n == 15).unwrap() else {
            panic!("frame {n} not encoded");
        };
        for nal in nal_units(&e.data) {
            largest = largest.max(nal.len());
            nals += 1;
        }
        dec.decode(&Packet::from(&e)).unwrap().expect("a picture");
        frames += 1;
    }
    println!("{frames} frames in {nals} NAL units, the largest {largest} bytes");
    assert!(largest <= 1100, "a NAL unit of {largest} bytes");
    assert!(
        nals > 2 * frames,
        "pictures were not cut into slices ({nals} NAL units)"
    );
    cfg.max_nal_bytes = Some(10);
    assert!(matches!(
        registry().create_encoder_named("openh264", &cfg),
        Err(Error::Config(rtvc_codec::ConfigError::OutOfRange {
            field: "max_nal_bytes",
            ..
        }))
    ));
}
