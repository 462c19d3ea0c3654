//! Hostile input to every decoder: garbage, truncated and bit-flipped packets give typed errors
//! (never a panic, hang or unbounded growth), and decoding recovers exactly at the next keyframe.

mod common;

use common::*;
use rtvc_codec::quality::FrameMd5;
use rtvc_codec::{CodecKind, DecodeError, EncodedFrame, Packet, RecoveryAction, VideoDecoder};
use rtvc_testkit::rng::XorShift64;

/// `n` random bytes.
fn random_bytes(rng: &mut XorShift64, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// 20 frames with keyframes at 0 and 10.
fn stream(name: &str, codec: CodecKind) -> Vec<EncodedFrame> {
    let mut enc = encoder(name, codec, 176, 144, 300_000);
    let (packets, _) = encode_scene(enc.as_mut(), 176, 144, 20, &[10]);
    assert!(packets[0].keyframe && packets[10].keyframe);
    packets
}

fn md5_of(f: &rtvc_codec::Frame) -> String {
    let mut h = FrameMd5::new();
    h.add(f);
    h.hex()
}

/// Reference decode of packets `from..` with a fresh decoder.
fn clean_md5s(codec: CodecKind, packets: &[EncodedFrame], from: usize) -> Vec<String> {
    let mut dec = decoder(codec);
    packets[from..]
        .iter()
        .map(|p| md5_of(&dec.decode(&Packet::from(p)).unwrap().unwrap()))
        .collect()
}

/// After whatever happened, the decoder refuses inter frames until the keyframe at 10, then
/// decodes 10.. bit-exactly like a fresh decoder.
fn assert_recovers(
    dec: &mut dyn VideoDecoder,
    codec: CodecKind,
    packets: &[EncodedFrame],
    what: &str,
) {
    let want = clean_md5s(codec, packets, 10);
    for (i, p) in packets[10..].iter().enumerate() {
        let f = dec
            .decode(&Packet::from(p))
            .unwrap_or_else(|e| panic!("{what}: frame {} after recovery: {e}", 10 + i))
            .expect("a frame");
        assert_eq!(
            md5_of(&f),
            want[i],
            "{what}: frame {} differs from a clean decode",
            10 + i
        );
    }
}

fn garbage_packet(codec: CodecKind, rng: &mut XorShift64) -> Vec<u8> {
    let len = 1 + (rng.next_u64() % 3000) as usize;
    let mut body = random_bytes(rng, len);
    match (codec, rng.next_u64() % 3) {
        // Plain garbage.
        (_, 0) => body,
        // Well-framed garbage that reaches the library: an AV1 frame OBU with a random
        // payload, or an H.264 slice NAL with random content.
        (CodecKind::Av1, _) => {
            let mut p = vec![0x32];
            rtvc_codec::av1::obu::write_leb128(body.len() as u64, &mut p);
            p.append(&mut body);
            p
        }
        (CodecKind::H264, _) => {
            let mut p = vec![
                0,
                0,
                0,
                1,
                if rng.next_u64().is_multiple_of(2) {
                    0x41
                } else {
                    0x65
                },
            ];
            p.append(&mut body);
            p
        }
    }
}

const DECODERS: [(&str, CodecKind); 2] =
    [("libaom", CodecKind::Av1), ("openh264", CodecKind::H264)];

#[test]
fn garbage_gives_typed_errors_then_recovery() {
    for (enc_name, codec) in DECODERS {
        let packets = stream(enc_name, codec);
        let mut rng = XorShift64::from_state(0x9e37_79b9_7f4a_7c15);
        let mut dec = decoder(codec);
        let mut errors = 0;
        for round in 0..300 {
            // Keep the decoder in the "has a reference" state half of the time so garbage
            // reaches the library instead of the keyframe gate.
            if round % 2 == 0 {
                dec.decode(&Packet::from(&packets[0])).unwrap().unwrap();
            }
            let g = garbage_packet(codec, &mut rng);
            // Random bytes can occasionally form something the library accepts as a (damaged)
            // frame; that is allowed, panicking or hanging is not.
            if let Err(e) = dec.decode(&Packet::new(g, 0)) {
                errors += 1;
                assert!(
                    matches!(
                        e.action(),
                        RecoveryAction::DropAndRequestKeyframe | RecoveryAction::RequestKeyframe
                    ),
                    "{codec}: garbage must ask for a keyframe, got {e:?}"
                );
            }
        }
        println!("{codec}: {errors}/300 garbage packets rejected with typed errors");
        assert!(
            errors > 250,
            "{codec}: only {errors}/300 garbage packets were rejected"
        );
        // The error left it waiting for a keyframe: an inter frame is refused ...
        let mut rng2 = XorShift64::from_state(7);
        let _ = dec.decode(&Packet::new(garbage_packet(codec, &mut rng2), 0));
        dec.reset();
        let e = dec.decode(&Packet::from(&packets[12])).unwrap_err();
        assert!(matches!(e, DecodeError::MissingReference { .. }), "{e:?}");
        // ... and the next keyframe brings back bit-exact output.
        assert_recovers(
            dec.as_mut(),
            codec,
            &packets,
            &format!("{codec} after garbage"),
        );
    }
}

#[test]
fn empty_and_truncated_packets() {
    for (enc_name, codec) in DECODERS {
        let packets = stream(enc_name, codec);
        let key = &packets[0].data;
        for cut in (0..key.len()).step_by((key.len() / 40).max(1)) {
            let mut dec = decoder(codec);
            match dec.decode(&Packet::new(key.slice(..cut), 0)) {
                Ok(_) => {}
                Err(e) => assert_ne!(
                    e.action(),
                    RecoveryAction::RecreateDecoder,
                    "{codec} cut {cut}: {e:?}"
                ),
            }
            assert_recovers(
                dec.as_mut(),
                codec,
                &packets,
                &format!("{codec} keyframe cut at {cut}"),
            );
        }
        // Truncated inter frames mid-stream.
        let mut dec = decoder(codec);
        dec.decode(&Packet::from(&packets[0])).unwrap();
        for p in &packets[1..10] {
            let _ = dec.decode(&Packet::new(
                p.data.slice(..p.data.len() / 2),
                p.timestamp_us,
            ));
        }
        assert_recovers(
            dec.as_mut(),
            codec,
            &packets,
            &format!("{codec} after truncated P-frames"),
        );
        let e = decoder(codec)
            .decode(&Packet::new(Vec::new(), 0))
            .unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt { .. }), "{e:?}");
    }
}

#[test]
fn bit_flips_then_recovery() {
    for (enc_name, codec) in DECODERS {
        let packets = stream(enc_name, codec);
        let mut rng = XorShift64::from_state(42);
        for trial in 0..20 {
            let mut dec = decoder(codec);
            for (i, p) in packets[..10].iter().enumerate() {
                let mut data = p.data.to_vec();
                if i > 0 || trial % 4 == 0 {
                    for _ in 0..1 + rng.next_u64() % 4 {
                        let bit = (rng.next_u64() % (data.len() as u64 * 8)) as usize;
                        data[bit / 8] ^= 1 << (bit % 8);
                    }
                }
                let _ = dec.decode(&Packet::new(data, p.timestamp_us));
            }
            assert_recovers(
                dec.as_mut(),
                codec,
                &packets,
                &format!("{codec} bit-flip trial {trial}"),
            );
        }
    }
}

#[test]
fn oversized_streams_are_refused_before_allocation() {
    // An H.264 SPS claiming 16384x16384 (far above the 8K default limit): refused as
    // unsupported without letting openh264 allocate for it.
    let mut dec = decoder(CodecKind::H264);
    // profile 66, level 51, sps_id 0, log2_max_frame_num-4 = 0, poc type 2, 1 ref, no gaps,
    // width/height in MBs minus 1 = 1023, frame_mbs_only, direct8x8, no crop, no VUI.
    let sps = [
        0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0x00, 0x33, 0xF4, 0x60, 0x00, 0x80, 0x01, 0x00, 0x02,
        0x00, 0x2C,
    ];
    let e = dec.decode(&Packet::new(sps.to_vec(), 0)).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::Unsupported { .. }
                | DecodeError::Corrupt { .. }
                | DecodeError::MissingReference { .. }
        ),
        "{e:?}"
    );
}
