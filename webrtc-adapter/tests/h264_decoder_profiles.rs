//! The H.264 profiles we advertise for decoding beyond Baseline (Main, Constrained High) are
//! backed by what real-time encoders send in them: libx264 streams made the way a call would
//! (`-bf 0 -tune zerolatency`: no B-frames, CABAC, weighted P prediction on fades, the 8x8
//! transform in High) must decode with our decoder to exactly ffmpeg's frames.

use std::path::{Path, PathBuf};
use std::process::Command;

use rtvc_codec::h264::bitstream::{
    AnnexBReader, NAL_PPS, NAL_SPS, nal_type, nal_units, parse_pps, parse_sps,
};
use rtvc_codec::quality::FrameMd5;
use rtvc_codec::{CodecKind, CodecRegistry, DecoderConfig, Packet};
use rtvc_testkit::shared::{require_shared, require_tool};
use rtvc_webrtc::H264_DECODE_PROFILES;
use rtvc_webrtc::h264_profile::{H264Profile, H264ProfileLevelId};

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("h264-decoder-profiles");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// MD5 of every frame ffmpeg decodes, as planar I420.
fn ffmpeg_md5(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use md5::{Digest, Md5};
    format!("{:x}", Md5::digest(&out.stdout))
}

/// What our decoder makes of the stream: (frames, MD5, errors), plus the stream's tools.
struct Ours {
    frames: u64,
    md5: String,
    errors: u64,
    profile_idc: u8,
    cabac: bool,
    transform_8x8: bool,
    weighted_p: bool,
}

fn decode_ours(path: &Path) -> Ours {
    let mut dec = CodecRegistry::with_builtin()
        .create_decoder(CodecKind::H264, &DecoderConfig::default())
        .unwrap();
    let mut reader = AnnexBReader::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut md5 = FrameMd5::new();
    let mut ours = Ours {
        frames: 0,
        md5: String::new(),
        errors: 0,
        profile_idc: 0,
        cabac: false,
        transform_8x8: false,
        weighted_p: false,
    };
    let mut n = 0i64;
    while let Some(au) = reader.next_access_unit().unwrap() {
        for nal in nal_units(&au) {
            match nal_type(nal) {
                Some(NAL_SPS) => ours.profile_idc = parse_sps(nal).unwrap().profile_idc,
                Some(NAL_PPS) => {
                    let pps = parse_pps(nal).unwrap();
                    ours.cabac |= pps.entropy_coding_mode_flag;
                    ours.transform_8x8 |= pps.transform_8x8_mode_flag;
                    ours.weighted_p |= pps.weighted_pred_flag;
                }
                _ => {}
            }
        }
        n += 1;
        match dec.decode(&Packet::new(au, n * 33_333)) {
            Ok(Some(f)) => {
                md5.add(&f);
                ours.frames += 1;
            }
            Ok(None) => {}
            Err(_) => ours.errors += 1,
        }
    }
    for f in dec.flush().unwrap() {
        md5.add(&f);
        ours.frames += 1;
    }
    ours.md5 = md5.hex();
    ours
}

#[test]
fn advertised_h264_profiles_decode_libx264_realtime_streams_bit_exactly() {
    let test = "advertised_h264_profiles_decode_libx264_realtime_streams_bit_exactly";
    let Some(clip) = require_shared(test, "clips/talking_head_1280x720_30fps.264") else {
        return;
    };
    if !require_tool(test, "ffmpeg") {
        return;
    }
    let encoders = Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&encoders.stdout).contains("libx264"),
        "this ffmpeg has no libx264 (Debian's has)"
    );
    let mut checked = Vec::new();
    for text in H264_DECODE_PROFILES {
        let profile = H264ProfileLevelId::parse(text).unwrap().profile;
        let (x264_profile, profile_idc) = match profile {
            // Baseline streams are covered by the conformance vectors and our own encoder.
            H264Profile::ConstrainedBaseline | H264Profile::Baseline => continue,
            H264Profile::Main => ("main", 77),
            // High without B-frames: what Constrained High allows.
            H264Profile::ConstrainedHigh => ("high", 100),
            other => panic!("{other:?} is advertised but has no check here"),
        };
        // The plain clip, and a fade in and out (libx264 then uses weighted P prediction).
        for (label, filter) in [
            ("plain", "scale=640:360"),
            ("fade", "scale=640:360,fade=in:0:30,fade=out:60:30"),
        ] {
            let path = out_dir().join(format!("x264-{x264_profile}-{label}.264"));
            let made = Command::new("ffmpeg")
                .args([
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-y",
                    "-framerate",
                    "30",
                    "-i",
                ])
                .arg(&clip)
                .args(["-frames:v", "90", "-vf", filter, "-c:v", "libx264"])
                .args([
                    "-profile:v",
                    x264_profile,
                    "-bf",
                    "0",
                    "-tune",
                    "zerolatency",
                ])
                .args(["-b:v", "600k"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                made.status.success(),
                "{}",
                String::from_utf8_lossy(&made.stderr)
            );
            let reference = ffmpeg_md5(&path);
            let ours = decode_ours(&path);
            println!(
                "{} {label}: {} frames, errors {}, CABAC {}, 8x8 {}, weighted P {}, md5 {} \
                 (ffmpeg {reference})",
                profile.name(),
                ours.frames,
                ours.errors,
                ours.cabac,
                ours.transform_8x8,
                ours.weighted_p,
                ours.md5
            );
            assert_eq!(
                ours.profile_idc, profile_idc,
                "{label}: not the profile asked for"
            );
            assert!(ours.cabac, "{label}: libx264 {x264_profile} uses CABAC");
            assert_eq!(ours.transform_8x8, profile == H264Profile::ConstrainedHigh);
            assert_eq!(
                (ours.frames, ours.errors),
                (90, 0),
                "{} {label}",
                profile.name()
            );
            assert_eq!(ours.md5, reference, "{} {label}", profile.name());
            checked.push(profile);
        }
    }
    assert!(
        checked.contains(&H264Profile::Main) && checked.contains(&H264Profile::ConstrainedHigh)
    );
}
