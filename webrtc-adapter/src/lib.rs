//! # rtvc-webrtc
//!
//! rtvc as a WebRTC codec plugin: encoder and decoder factories with libwebrtc's semantics on
//! top of the codec core (`rtvc-codec`).
//!
//! | module | what |
//! |---|---|
//! | [`format`](mod@format) | video formats as SDP negotiates them, `fmtp` parsing, libwebrtc's format matching |
//! | [`h264_profile`] | H.264 `profile-level-id`: profile and level |
//! | [`encoder`] | [`EncoderFactory`] and the encoder with libwebrtc's lifecycle, our rate controller inside |
//! | [`decoder`] | [`DecoderFactory`] and the decoder: picture, nothing, or "request a keyframe" |
//! | [`fallback`] | hardware first, our software when the hardware fails, reported |
//! | [`policy`] | codec, hardware or software, size and frame rate from the device and the network, with the reason |
//! | `rtc` (feature `str0m`) | the binding to str0m: a peer connection whose codecs are ours, keyframe requests, AV1 sequence headers |
//! | `call` (feature `str0m`) | the call harness: participants over emulated links, jitter buffer, CPU model, per-stream metrics |
//!
//! ```
//! use rtvc_codec::CodecRegistry;
//! use rtvc_webrtc::format::VideoFormat;
//!
//! let registry = CodecRegistry::with_builtin();
//! let ours = rtvc_webrtc::encoder_formats(&registry);
//! assert!(ours[0].is_same_codec(&VideoFormat::av1()));
//! assert_eq!(ours[0].scalability_modes.len(), 3); // L1T1, L1T2, L1T3
//! let offer = VideoFormat::parse("H264", "profile-level-id=42e01f;packetization-mode=1").unwrap();
//! assert!(ours.iter().any(|f| f.is_same_codec(&offer)));
//! ```

#![deny(missing_docs)]

#[cfg(feature = "str0m")]
pub mod call;
pub mod decoder;
pub mod encoder;
pub mod fallback;
pub mod format;
pub mod h264_profile;
pub mod policy;
#[cfg(feature = "str0m")]
pub mod rtc;

use rtvc_codec::{CodecKind, CodecRegistry, FrameError};

use crate::format::{FormatError, ScalabilityMode, VideoFormat};
pub use decoder::{DecodeResult, DecoderFactory, DecoderSettings, ReceivedImage, WebRtcDecoder};
pub use encoder::{
    EncodeResult, EncodedImage, EncoderFactory, EncoderSettings, FrameDropReason,
    RateControlParameters, VideoFrameType, WebRtcEncoder,
};
pub use fallback::{FallbackEvent, FallbackReason};

/// Everything that can go wrong in the adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// A call that needs `init`/`configure` first.
    #[error("not initialised: call init (encoder) or configure (decoder) first")]
    Uninitialized,
    /// The format (or scalability mode) is not one we support.
    #[error("unsupported format {format}: {reason}")]
    UnsupportedFormat {
        /// The format asked for.
        format: String,
        /// What is unsupported.
        reason: String,
    },
    /// A setting out of range.
    #[error("{field} = {value} is out of range (valid: {valid})")]
    Settings {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is valid.
        valid: &'static str,
    },
    /// A format that cannot be read.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A frame that does not fit (e.g. a timestamp that does not increase).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The codec core failed.
    #[error(transparent)]
    Codec(#[from] rtvc_codec::Error),
}

/// H.264 `profile-level-id`s our encoders produce, in preference order: Constrained Baseline,
/// then Baseline (level 3.1; level asymmetry is allowed, so any level matches).
const H264_ENCODE_PROFILES: [&str; 2] = ["42e01f", "42001f"];

/// H.264 profiles our decoder accepts, in preference order: the encode profiles, then Main and
/// Constrained High (what VideoToolbox sends in calls). openh264 decodes what real-time
/// encoders produce in those profiles — no B-frames, CABAC, weighted P prediction, the 8x8
/// transform — bit-exactly (checked against libx264 streams and ffmpeg's MD5s in
/// `tests/h264_decoder_profiles.rs`); plain High and Main with B-frames are not offered: it fails
/// some of those conformance streams (B-slices, weighted bi-prediction).
pub const H264_DECODE_PROFILES: [&str; 4] = ["42e01f", "42001f", "4d001f", "640c1f"];

/// The formats this registry's zero-delay encoders can produce, in preference order: AV1
/// profile 0, then H.264 Constrained Baseline (packetization mode 1, then 0), then Baseline
/// (1, then 0). A codec without a zero-delay encoder in the registry is left out.
pub fn encoder_formats(registry: &CodecRegistry) -> Vec<VideoFormat> {
    let has_encoder = |codec| {
        registry
            .encoders(codec)
            .iter()
            .any(|e| e.info.frame_delay == 0)
    };
    let modes = [
        ScalabilityMode::L1T1,
        ScalabilityMode::L1T2,
        ScalabilityMode::L1T3,
    ];
    let mut out = Vec::new();
    if has_encoder(CodecKind::Av1) {
        out.push(VideoFormat::av1().with_scalability_modes(&modes));
    }
    if has_encoder(CodecKind::H264) {
        for profile in H264_ENCODE_PROFILES {
            for mode in [1, 0] {
                out.push(VideoFormat::h264(profile, mode).with_scalability_modes(&modes));
            }
        }
    }
    out
}

/// `preferred` formats first, then `rest`, each codec configuration once.
pub(crate) fn preferred_first(
    preferred: impl IntoIterator<Item = VideoFormat>,
    rest: impl IntoIterator<Item = VideoFormat>,
) -> Vec<VideoFormat> {
    let mut out: Vec<VideoFormat> = Vec::new();
    for f in preferred.into_iter().chain(rest) {
        if !out.iter().any(|o| o.is_same_codec(&f)) {
            out.push(f);
        }
    }
    out
}

/// The formats this registry's decoders accept, in preference order (see
/// [`H264_DECODE_PROFILES`]).
pub fn decoder_formats(registry: &CodecRegistry) -> Vec<VideoFormat> {
    let has_decoder = |codec| !registry.decoders(codec).is_empty();
    let mut out = Vec::new();
    if has_decoder(CodecKind::Av1) {
        out.push(VideoFormat::av1());
    }
    if has_decoder(CodecKind::H264) {
        for profile in H264_DECODE_PROFILES {
            for mode in [1, 0] {
                out.push(VideoFormat::h264(profile, mode));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264_profile::{H264Profile, H264ProfileLevelId};

    #[test]
    fn preference_order_follows_libwebrtc() {
        let registry = CodecRegistry::with_builtin();
        let enc: Vec<String> = encoder_formats(&registry)
            .iter()
            .map(|f| format!("{} {}", f.name, f.fmtp()))
            .collect();
        assert_eq!(
            enc,
            [
                "AV1 level-idx=5;profile=0;tier=0",
                "H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                "H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
                "H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
                "H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
            ]
        );
        let dec = decoder_formats(&registry);
        assert_eq!(dec.len(), 1 + 2 * H264_DECODE_PROFILES.len());
        let profiles: Vec<H264Profile> = dec
            .iter()
            .filter(|f| f.codec() == Some(CodecKind::H264))
            .map(|f| f.h264_profile_level_id().unwrap().profile)
            .collect();
        assert!(profiles.contains(&H264Profile::ConstrainedHigh));
        assert!(!profiles.contains(&H264Profile::High));
        // Every encoder format can be decoded by us.
        for e in encoder_formats(&registry) {
            assert!(dec.iter().any(|d| d.is_same_codec(&e)), "{e}");
        }
        assert_eq!(
            H264ProfileLevelId::parse(H264_DECODE_PROFILES[3])
                .unwrap()
                .profile,
            H264Profile::ConstrainedHigh
        );
    }

    #[test]
    fn formats_follow_the_registry() {
        assert!(encoder_formats(&CodecRegistry::new()).is_empty());
        assert!(decoder_formats(&CodecRegistry::new()).is_empty());
    }
}
