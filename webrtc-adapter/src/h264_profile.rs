//! H.264 `profile-level-id` (RFC 6184 §8.1): three bytes in hex — `profile_idc`,
//! `profile_iop` (the constraint flags) and `level_idc` — as SDP carries them.
//!
//! Which profile a value names follows the table libwebrtc uses (its `h264_profile_level_id`):
//! the constraint flags decide, e.g. `42e0` is Constrained Baseline and `4200` Baseline, `640c`
//! Constrained High (High with `constraint_set4/5`: no B-slices, what VideoToolbox sends in
//! calls) and `6400` High. Level 1b is signalled with `level_idc = 11` plus `constraint_set3`
//! for the Baseline family, and as `level_idc = 9` otherwise.

use std::fmt;

use crate::format::FormatError;

/// An H.264 profile, as WebRTC negotiates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum H264Profile {
    /// Constrained Baseline (`42e0`, also `4d80`/`58c0` forms): what every WebRTC endpoint has.
    ConstrainedBaseline,
    /// Baseline (`4200`).
    Baseline,
    /// Main (`4d00`).
    Main,
    /// Constrained High (`640c`): High without B-slices.
    ConstrainedHigh,
    /// High (`6400`).
    High,
    /// Predictive High 4:4:4 (`f400`).
    PredictiveHigh444,
}

impl H264Profile {
    /// The name used in logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::ConstrainedBaseline => "Constrained Baseline",
            Self::Baseline => "Baseline",
            Self::Main => "Main",
            Self::ConstrainedHigh => "Constrained High",
            Self::High => "High",
            Self::PredictiveHigh444 => "Predictive High 4:4:4",
        }
    }
}

/// An H.264 level. The discriminant is ten times the level number, except level 1b.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum H264Level {
    L1b = 0,
    L1 = 10,
    L1_1 = 11,
    L1_2 = 12,
    L1_3 = 13,
    L2 = 20,
    L2_1 = 21,
    L2_2 = 22,
    L3 = 30,
    L3_1 = 31,
    L3_2 = 32,
    L4 = 40,
    L4_1 = 41,
    L4_2 = 42,
    L5 = 50,
    L5_1 = 51,
    L5_2 = 52,
}

impl H264Level {
    fn from_level_idc(idc: u8) -> Option<Self> {
        use H264Level::*;
        Some(match idc {
            9 => L1b,
            10 => L1,
            11 => L1_1,
            12 => L1_2,
            13 => L1_3,
            20 => L2,
            21 => L2_1,
            22 => L2_2,
            30 => L3,
            31 => L3_1,
            32 => L3_2,
            40 => L4,
            41 => L4_1,
            42 => L4_2,
            50 => L5,
            51 => L5_1,
            52 => L5_2,
            _ => return None,
        })
    }
}

/// `constraint_set3_flag` in `profile_iop`: with `level_idc = 11` in the Baseline family it means
/// level 1b.
const CONSTRAINT_SET3: u8 = 0x10;

/// A `profile_iop` pattern: for each of the 8 bits (most significant first) `Some(bit)` must
/// match, `None` is free.
struct IopPattern([Option<bool>; 8]);

impl IopPattern {
    const fn parse(s: &[u8; 8]) -> Self {
        let mut bits = [None; 8];
        let mut i = 0;
        while i < 8 {
            bits[i] = match s[i] {
                b'0' => Some(false),
                b'1' => Some(true),
                _ => None,
            };
            i += 1;
        }
        Self(bits)
    }

    fn matches(&self, iop: u8) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(i, bit)| bit.is_none_or(|b| ((iop >> (7 - i)) & 1 == 1) == b))
    }
}

/// (profile_idc, profile_iop pattern, profile), in the order they are tried.
const PROFILE_PATTERNS: [(u8, IopPattern, H264Profile); 9] = [
    (
        0x42,
        IopPattern::parse(b"x1xx0000"),
        H264Profile::ConstrainedBaseline,
    ),
    (
        0x4d,
        IopPattern::parse(b"1xxx0000"),
        H264Profile::ConstrainedBaseline,
    ),
    (
        0x58,
        IopPattern::parse(b"11xx0000"),
        H264Profile::ConstrainedBaseline,
    ),
    (0x42, IopPattern::parse(b"x0xx0000"), H264Profile::Baseline),
    (0x58, IopPattern::parse(b"10xx0000"), H264Profile::Baseline),
    (0x4d, IopPattern::parse(b"0x0x0000"), H264Profile::Main),
    (0x64, IopPattern::parse(b"00000000"), H264Profile::High),
    (
        0x64,
        IopPattern::parse(b"00001100"),
        H264Profile::ConstrainedHigh,
    ),
    (
        0xf4,
        IopPattern::parse(b"00000000"),
        H264Profile::PredictiveHigh444,
    ),
];

/// A parsed `profile-level-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct H264ProfileLevelId {
    /// The profile.
    pub profile: H264Profile,
    /// The level.
    pub level: H264Level,
}

impl H264ProfileLevelId {
    /// What an absent `profile-level-id` means (RFC 6184: Constrained Baseline, level 3.1 as
    /// libwebrtc reads it).
    pub const DEFAULT: Self = Self {
        profile: H264Profile::ConstrainedBaseline,
        level: H264Level::L3_1,
    };

    /// Parses six hex digits (either case). Unknown profiles and levels are errors.
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        let bad = |reason: &'static str| FormatError::ProfileLevelId {
            value: s.chars().take(16).collect(),
            reason,
        };
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("expected six hex digits"));
        }
        let v = u32::from_str_radix(s, 16).map_err(|_| bad("expected six hex digits"))?;
        let (profile_idc, iop, level_idc) = ((v >> 16) as u8, (v >> 8) as u8, v as u8);
        let profile = PROFILE_PATTERNS
            .iter()
            .find(|(idc, pattern, _)| *idc == profile_idc && pattern.matches(iop))
            .map(|&(_, _, p)| p)
            .ok_or_else(|| bad("unknown profile (profile_idc and constraint flags)"))?;
        let level =
            if level_idc == 11 && iop & CONSTRAINT_SET3 != 0 && is_baseline_family(profile_idc) {
                H264Level::L1b
            } else {
                H264Level::from_level_idc(level_idc).ok_or_else(|| bad("unknown level"))?
            };
        Ok(Self { profile, level })
    }

    /// The profile from an `fmtp` map: its `profile-level-id`, or [`Self::DEFAULT`].
    pub fn from_parameters(
        parameters: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, FormatError> {
        match parameters.get("profile-level-id") {
            Some(v) => Self::parse(v),
            None => Ok(Self::DEFAULT),
        }
    }
}

fn is_baseline_family(profile_idc: u8) -> bool {
    matches!(profile_idc, 0x42 | 0x4d | 0x58)
}

impl fmt::Display for H264ProfileLevelId {
    /// The canonical six hex digits (lower case), as libwebrtc writes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (idc, iop) = match self.profile {
            H264Profile::ConstrainedBaseline => (0x42, 0xe0),
            H264Profile::Baseline => (0x42, 0x00),
            H264Profile::Main => (0x4d, 0x00),
            H264Profile::ConstrainedHigh => (0x64, 0x0c),
            H264Profile::High => (0x64, 0x00),
            H264Profile::PredictiveHigh444 => (0xf4, 0x00),
        };
        let (iop, level) = match self.level {
            // Level 1b: constraint_set3 with level_idc 11 for the Baseline family, else 9.
            H264Level::L1b if idc == 0x42 || idc == 0x4d => (iop | CONSTRAINT_SET3, 11),
            H264Level::L1b => (iop, 9),
            l => (iop, l as u8),
        };
        write!(f, "{idc:02x}{iop:02x}{level:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        use H264Level::*;
        use H264Profile::*;
        for (text, profile, level) in [
            ("42e01f", ConstrainedBaseline, L3_1),
            ("42E01F", ConstrainedBaseline, L3_1),
            ("42c02a", ConstrainedBaseline, L4_2),
            ("4d801f", ConstrainedBaseline, L3_1),
            ("58c01f", ConstrainedBaseline, L3_1),
            ("42001f", Baseline, L3_1),
            ("58801f", Baseline, L3_1),
            ("4d001f", Main, L3_1),
            ("4d0032", Main, L5),
            ("640c1f", ConstrainedHigh, L3_1),
            ("64001f", High, L3_1),
            ("f4001f", PredictiveHigh444, L3_1),
            ("42f00b", ConstrainedBaseline, L1b),
            ("42100b", Baseline, L1b),
            ("640009", High, L1b),
            ("42e00b", ConstrainedBaseline, L1_1),
        ] {
            let p = H264ProfileLevelId::parse(text).unwrap();
            assert_eq!((p.profile, p.level), (profile, level), "{text}");
        }
    }

    #[test]
    fn round_trips_through_canonical_text() {
        for text in [
            "42e01f", "42001f", "4d001f", "640c1f", "64001f", "f4001f", "42f00b", "640009",
        ] {
            let p = H264ProfileLevelId::parse(text).unwrap();
            assert_eq!(
                H264ProfileLevelId::parse(&p.to_string()).unwrap(),
                p,
                "{text}"
            );
        }
        assert_eq!(H264ProfileLevelId::DEFAULT.to_string(), "42e01f");
    }

    #[test]
    fn bad_values_are_typed_errors() {
        for text in [
            "", "42e01", "42e01f0", "zz001f", "42e0 f", "ff001f", "42e0ff", "640c0x", "6e001f",
        ] {
            assert!(
                matches!(
                    H264ProfileLevelId::parse(text),
                    Err(FormatError::ProfileLevelId { .. })
                ),
                "{text:?}"
            );
        }
        // Constraint flags that fit no profile: Main with constraint_set4.
        assert!(H264ProfileLevelId::parse("4d081f").is_err());
    }
}
