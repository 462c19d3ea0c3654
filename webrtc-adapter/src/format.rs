//! Video formats as WebRTC negotiates them (libwebrtc's `SdpVideoFormat`): a codec name, its
//! `fmtp` parameters and the scalability modes an encoder offers for it.
//!
//! Two formats name the same codec configuration when the names match (case-insensitively)
//! and, as libwebrtc compares them:
//! - **H.264**: the *profile* of `profile-level-id` (absent = Constrained Baseline) and
//!   `packetization-mode` (absent = 0) are equal — levels may differ (`level-asymmetry-allowed`);
//! - **AV1**: `profile` is equal (absent = 0).
//!
//! ```
//! use rtvc_webrtc::format::VideoFormat;
//!
//! let offered = VideoFormat::parse("H264", "profile-level-id=42e034;packetization-mode=1").unwrap();
//! let ours = VideoFormat::h264("42e01f", 1);
//! assert!(ours.is_same_codec(&offered)); // same profile and mode; levels may differ
//! assert_eq!(ours.fmtp(), "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use rtvc_codec::CodecKind;

use crate::h264_profile::H264ProfileLevelId;

/// Longest `fmtp` string accepted (bytes).
pub const MAX_FMTP_LEN: usize = 4096;
/// Most parameters accepted in one `fmtp` string.
pub const MAX_PARAMETERS: usize = 64;

/// A format that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The `fmtp` text is longer than [`MAX_FMTP_LEN`] or has more than [`MAX_PARAMETERS`]
    /// parameters.
    #[error("fmtp too large ({what}; limits: {MAX_FMTP_LEN} bytes, {MAX_PARAMETERS} parameters)")]
    TooLarge {
        /// What was too large.
        what: String,
    },
    /// A parameter is not `key=value`, or its key is empty.
    #[error("fmtp parameter {parameter:?} is not key=value")]
    Malformed {
        /// The offending piece (at most 64 characters of it).
        parameter: String,
    },
    /// The same key appears twice.
    #[error("fmtp parameter {key:?} appears twice")]
    Duplicate {
        /// The key.
        key: String,
    },
    /// The codec name is empty or not a token.
    #[error("invalid codec name {name:?}")]
    Name {
        /// The name given (at most 64 characters of it).
        name: String,
    },
    /// An H.264 `profile-level-id` that is not six hex digits naming a known profile and level.
    #[error("invalid profile-level-id {value:?}: {reason}")]
    ProfileLevelId {
        /// The value given (at most 16 characters of it).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A numeric parameter (`packetization-mode`, AV1 `profile`) that is not a small number.
    #[error("invalid {key}={value:?}")]
    Value {
        /// The key.
        key: &'static str,
        /// The value given (at most 16 characters of it).
        value: String,
    },
}

/// A scalability mode (W3C webrtc-svc names). Only temporal layering, one spatial layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalabilityMode {
    /// One layer.
    L1T1,
    /// Two temporal layers.
    L1T2,
    /// Three temporal layers.
    L1T3,
}

impl ScalabilityMode {
    /// The W3C name, e.g. `L1T2`.
    pub fn name(self) -> &'static str {
        match self {
            Self::L1T1 => "L1T1",
            Self::L1T2 => "L1T2",
            Self::L1T3 => "L1T3",
        }
    }

    /// Parses a W3C name (only the modes above).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "L1T1" => Self::L1T1,
            "L1T2" => Self::L1T2,
            "L1T3" => Self::L1T3,
            _ => return None,
        })
    }

    /// Number of temporal layers.
    pub fn temporal_layers(self) -> u8 {
        match self {
            Self::L1T1 => 1,
            Self::L1T2 => 2,
            Self::L1T3 => 3,
        }
    }
}

impl fmt::Display for ScalabilityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A codec name with its `fmtp` parameters and the scalability modes offered for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoFormat {
    /// Codec name as in SDP (`AV1`, `H264`).
    pub name: String,
    /// `fmtp` parameters.
    pub parameters: BTreeMap<String, String>,
    /// Scalability modes an encoder supports for this format (empty for decoder formats).
    pub scalability_modes: Vec<ScalabilityMode>,
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl VideoFormat {
    /// A format with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            parameters: BTreeMap::new(),
            scalability_modes: Vec::new(),
        }
    }

    /// AV1 profile 0 (Main: 8/10-bit 4:2:0), `level-idx=5` (level 3.1), `tier=0`, as libwebrtc
    /// offers it.
    pub fn av1() -> Self {
        Self::new("AV1")
            .with("profile", "0")
            .with("level-idx", "5")
            .with("tier", "0")
    }

    /// H.264 with the given `profile-level-id` and `packetization-mode` (0: single NAL unit, 1:
    /// non-interleaved), and `level-asymmetry-allowed=1`.
    pub fn h264(profile_level_id: &str, packetization_mode: u8) -> Self {
        Self::new("H264")
            .with("profile-level-id", profile_level_id)
            .with("packetization-mode", &packetization_mode.to_string())
            .with("level-asymmetry-allowed", "1")
    }

    /// This format with one more parameter.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }

    /// This format with these scalability modes.
    pub fn with_scalability_modes(mut self, modes: &[ScalabilityMode]) -> Self {
        self.scalability_modes = modes.to_vec();
        self
    }

    /// Reads a codec name and an `fmtp` string (`key=value;key=value`, spaces around pieces
    /// allowed, empty pieces skipped). Bounded: see [`MAX_FMTP_LEN`], [`MAX_PARAMETERS`].
    pub fn parse(name: &str, fmtp: &str) -> Result<Self, FormatError> {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid_name {
            return Err(FormatError::Name {
                name: clip(name, 64),
            });
        }
        if fmtp.len() > MAX_FMTP_LEN {
            return Err(FormatError::TooLarge {
                what: format!("{} bytes", fmtp.len()),
            });
        }
        let mut format = Self::new(name);
        for piece in fmtp.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = piece
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| FormatError::Malformed {
                    parameter: clip(piece, 64),
                })?;
            if format.parameters.len() == MAX_PARAMETERS {
                return Err(FormatError::TooLarge {
                    what: format!("more than {MAX_PARAMETERS} parameters"),
                });
            }
            if format
                .parameters
                .insert(key.to_string(), value.to_string())
                .is_some()
            {
                return Err(FormatError::Duplicate { key: clip(key, 64) });
            }
        }
        Ok(format)
    }

    /// The `fmtp` string, parameters in key order.
    pub fn fmtp(&self) -> String {
        let pairs: Vec<String> = self
            .parameters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join(";")
    }

    /// The codec, if it is one rtvc has.
    pub fn codec(&self) -> Option<CodecKind> {
        if self.name.eq_ignore_ascii_case("AV1") {
            Some(CodecKind::Av1)
        } else if self.name.eq_ignore_ascii_case("H264") {
            Some(CodecKind::H264)
        } else {
            None
        }
    }

    fn small_number(&self, key: &'static str) -> Result<u8, FormatError> {
        match self.parameters.get(key) {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| FormatError::Value {
                key,
                value: clip(v, 16),
            }),
        }
    }

    /// H.264 `packetization-mode` (absent = 0).
    pub fn packetization_mode(&self) -> Result<u8, FormatError> {
        self.small_number("packetization-mode")
    }

    /// AV1 `profile` (absent = 0).
    pub fn av1_profile(&self) -> Result<u8, FormatError> {
        self.small_number("profile")
    }

    /// H.264 `profile-level-id` (absent = Constrained Baseline 3.1).
    pub fn h264_profile_level_id(&self) -> Result<H264ProfileLevelId, FormatError> {
        H264ProfileLevelId::from_parameters(&self.parameters)
    }

    /// True when both name the same codec configuration (see the module docs). Unreadable
    /// parameters never match.
    pub fn is_same_codec(&self, other: &VideoFormat) -> bool {
        if !self.name.eq_ignore_ascii_case(&other.name) {
            return false;
        }
        match self.codec() {
            Some(CodecKind::H264) => {
                let key = |f: &VideoFormat| {
                    Some((
                        f.h264_profile_level_id().ok()?.profile,
                        f.packetization_mode().ok()?,
                    ))
                };
                key(self).is_some_and(|k| Some(k) == key(other))
            }
            Some(CodecKind::Av1) => {
                let key = |f: &VideoFormat| f.av1_profile().ok();
                key(self).is_some_and(|k| Some(k) == key(other))
            }
            None => self.parameters == other.parameters,
        }
    }
}

impl fmt::Display for VideoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if !self.parameters.is_empty() {
            write!(f, " ({})", self.fmtp())?;
        }
        if !self.scalability_modes.is_empty() {
            let modes: Vec<&str> = self.scalability_modes.iter().map(|m| m.name()).collect();
            write!(f, " [{}]", modes.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmtp_round_trip() {
        let f = VideoFormat::parse(
            "H264",
            " packetization-mode=1 ; profile-level-id=42e01f;level-asymmetry-allowed=1;",
        )
        .unwrap();
        assert_eq!(f, VideoFormat::h264("42e01f", 1));
        assert_eq!(VideoFormat::parse("H264", &f.fmtp()).unwrap(), f);
        assert_eq!(VideoFormat::parse("AV1", "").unwrap().fmtp(), "");
        assert_eq!(
            VideoFormat::av1().to_string(),
            "AV1 (level-idx=5;profile=0;tier=0)"
        );
    }

    #[test]
    fn bad_fmtp_is_a_typed_error() {
        let e = |name: &str, fmtp: &str| VideoFormat::parse(name, fmtp).unwrap_err();
        assert!(matches!(
            e("H264", "profile-level-id"),
            FormatError::Malformed { .. }
        ));
        assert!(matches!(e("H264", "=1"), FormatError::Malformed { .. }));
        assert!(matches!(
            e("H264", "a=1;a=2"),
            FormatError::Duplicate { .. }
        ));
        assert!(matches!(e("", "a=1"), FormatError::Name { .. }));
        assert!(matches!(e("H 264", ""), FormatError::Name { .. }));
        assert!(matches!(
            e("AV1", &"x".repeat(5000)),
            FormatError::TooLarge { .. }
        ));
        let many: Vec<String> = (0..65).map(|i| format!("k{i}=v")).collect();
        assert!(matches!(
            e("AV1", &many.join(";")),
            FormatError::TooLarge { .. }
        ));
    }

    #[test]
    fn h264_matching_compares_profile_and_packetization_mode() {
        let ours = VideoFormat::h264("42e01f", 1);
        let same = |fmtp: &str| ours.is_same_codec(&VideoFormat::parse("h264", fmtp).unwrap());
        assert!(
            same("profile-level-id=42e034;packetization-mode=1"),
            "another level"
        );
        assert!(
            same("profile-level-id=4d801f;packetization-mode=1"),
            "CB written as 4d80"
        );
        assert!(
            !same("profile-level-id=42001f;packetization-mode=1"),
            "Baseline"
        );
        assert!(!same("profile-level-id=42e01f"), "mode absent = 0");
        assert!(
            !same("profile-level-id=640c1f;packetization-mode=1"),
            "Constrained High"
        );
        assert!(
            same("packetization-mode=1"),
            "absent profile = Constrained Baseline"
        );
        assert!(
            !same("profile-level-id=zz;packetization-mode=1"),
            "unreadable never matches"
        );
        assert!(
            VideoFormat::h264("42e01f", 0)
                .is_same_codec(&VideoFormat::parse("H264", "profile-level-id=42e01f").unwrap())
        );
        assert!(!ours.is_same_codec(&VideoFormat::av1()));
    }

    #[test]
    fn av1_matching_compares_profile() {
        let ours = VideoFormat::av1();
        assert!(
            ours.is_same_codec(&VideoFormat::new("av1")),
            "absent profile = 0"
        );
        assert!(ours.is_same_codec(&VideoFormat::new("AV1").with("level-idx", "9")));
        assert!(!ours.is_same_codec(&VideoFormat::new("AV1").with("profile", "1")));
        assert!(!ours.is_same_codec(&VideoFormat::new("AV1").with("profile", "x")));
    }

    #[test]
    fn scalability_modes() {
        for m in [
            ScalabilityMode::L1T1,
            ScalabilityMode::L1T2,
            ScalabilityMode::L1T3,
        ] {
            assert_eq!(ScalabilityMode::parse(m.name()), Some(m));
        }
        assert_eq!(ScalabilityMode::L1T3.temporal_layers(), 3);
        assert_eq!(ScalabilityMode::parse("L2T2"), None);
    }
}
