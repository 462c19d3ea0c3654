//! Encode → decode round trips for every encoder/decoder pair, at three sizes including odd
//! ones, with PSNR floors.

mod common;

use common::*;
use rtvc_codec::CodecKind;

fn round_trip(name: &str, codec: CodecKind, w: u32, h: u32, bps: u32, frames: u64, floor_db: f64) {
    let mut enc = encoder(name, codec, w, h, bps);
    let (packets, sources) = encode_scene(enc.as_mut(), w, h, frames, &[]);
    assert_eq!(
        packets.len() as u64,
        frames,
        "{name} {w}x{h}: every frame encoded"
    );
    assert!(packets[0].keyframe, "first frame is a keyframe");
    assert!(
        packets[1..].iter().all(|p| !p.keyframe),
        "no unrequested keyframes"
    );
    assert!(packets.iter().all(|p| (p.width, p.height) == (w, h)));
    let mut dec = decoder(codec);
    let (decoded, psnr) = decode_all(dec.as_mut(), &packets, &sources);
    assert_eq!(decoded.len() as u64, frames);
    assert!(decoded.iter().all(|f| (f.width(), f.height()) == (w, h)));
    let y = psnr.psnr_y().unwrap();
    let avg = psnr.psnr_avg().unwrap();
    println!(
        "{name} {w}x{h} @ {} kbps: {frames} frames, PSNR y {y:.2} dB avg {avg:.2} dB",
        bps / 1000
    );
    assert!(
        y >= floor_db,
        "{name} {w}x{h}: PSNR-Y {y:.2} dB below floor {floor_db} dB"
    );
}

#[test]
fn libaom_to_dav1d() {
    round_trip("libaom", CodecKind::Av1, 320, 180, 400_000, 30, 35.0);
    round_trip("libaom", CodecKind::Av1, 161, 97, 200_000, 30, 35.0);
    round_trip("libaom", CodecKind::Av1, 640, 360, 800_000, 20, 32.0);
}

#[test]
fn rav1e_to_dav1d() {
    round_trip("rav1e", CodecKind::Av1, 160, 90, 200_000, 12, 35.0);
    round_trip("rav1e", CodecKind::Av1, 99, 61, 150_000, 12, 36.0);
    round_trip("rav1e", CodecKind::Av1, 320, 180, 400_000, 10, 34.0);
}

#[test]
fn openh264_to_openh264() {
    round_trip("openh264", CodecKind::H264, 320, 180, 400_000, 30, 34.0);
    round_trip("openh264", CodecKind::H264, 162, 98, 200_000, 30, 35.0);
    round_trip("openh264", CodecKind::H264, 640, 360, 800_000, 20, 32.0);
}
