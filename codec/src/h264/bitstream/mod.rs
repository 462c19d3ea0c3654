//! Just enough H.264 syntax (ITU-T Rec. H.264) to frame and classify a stream: Annex B NAL
//! units, RBSP extraction and exp-Golomb bit reading, sequence and picture parameter sets, the
//! slice header fields that tell pictures apart, and access-unit splitting (spec §7.4.1.2.3 and
//! §7.4.1.2.4), both in memory ([`AccessUnitSplitter`]) and streaming ([`AnnexBReader`]).
//!
//! Everything here works on untrusted bytes: malformed input gives a [`BitstreamError`] (or a
//! conservative fallback in the splitter), never a panic, and the streaming reader bounds the
//! memory it holds.
//!
//! | file | what |
//! |---|---|
//! | `nal.rs` | start codes, [`nal_units`] over a byte slice, [`nal_type`] and friends |
//! | `rbsp.rs` | [`remove_emulation_prevention`], the exp-Golomb [`BitReader`] |
//! | `params.rs` | [`parse_sps`] / [`Sps`], [`parse_pps`] / [`Pps`], [`ParameterSets`] |
//! | `slice.rs` | [`SliceHeaderPrefix`]: does a slice start a new picture (§7.4.1.2.4) |
//! | `access_unit.rs` | [`AccessUnitSplitter`] and the bounded [`AnnexBReader`] |
//!
//! # Our parser, not `h264-reader`
//!
//! All of this is our own code. We tried the `h264-reader` crate (0.9.0) for NAL units,
//! parameter sets and slice headers, to keep only what it lacks (access-unit splitting, the
//! bounded reader). On valid streams it agrees with us: over the 60 H.264 conformance streams
//! and 5 camera clips of `../shared` it reads all 398 SPSs, 2224 PPSs and 13233 slice headers
//! to the same values as ours, and the tests here compare the two on generated parameter sets
//! and slice headers. It is not used by the library because, for what we need, it is less
//! robust (file:line in h264-reader 0.9.0):
//!
//! - **SPS: it refuses streams that openh264 decodes.** `SeqParameterSet::from_bits` also
//!   validates what we never use and encoders get wrong: the frame size against the level's
//!   MaxFS (`nal/sps.rs:1843`), the VUI's `max_dec_frame_buffering` against
//!   `max_num_ref_frames` and the level (`nal/sps.rs:1627`, `:1634`), and that nothing follows
//!   the RBSP stop bit (`finish_rbsp`, `nal/sps.rs:1857`; Reolink cameras send such SPSs, see
//!   scottlamb/retina#102: retina, an h264-reader user, wraps the bit reader to let them
//!   through). The 1280x720 camera clip with its SPS changed in any one of these ways (level
//!   3.1 → 3.0, `max_dec_frame_buffering` 5 → 4, one stray byte at the end) still decodes with
//!   openh264 to the same MD5 (200 frames, no error), but h264-reader refuses its SPS, and the
//!   openh264 decoder here refuses an access unit with an unreadable SPS as corrupt: no picture
//!   from such a sender at all. We read the SPS up to the VUI and stop.
//! - **PPS: it needs the SPS first.** `PicParameterSet::from_bits` takes a `Context` that must
//!   already hold the referenced SPS (`nal/pps.rs:340`) and validates against it; the decoder
//!   reads a PPS on its own ([`parse_pps`]) to key the parameter sets it replays, and the
//!   fields up to `transform_8x8_mode_flag` do not depend on the SPS. It also accepts the
//!   reserved `weighted_bipred_idc` 3 (`nal/pps.rs:359`).
//! - **Slice headers: it can panic, allocates without bound and refuses more than it must.**
//!   `SliceHeader::from_bits` parses the whole header. `26 + pic_init_qp_minus26 +
//!   slice_qp_delta` (`nal/slice/mod.rs:672`, and `:683` for QS) overflows `i32` for a large
//!   coded delta: a panic wherever overflow checks are on (debug builds, `cargo test` without
//!   `--release`). The loops reading `ref_pic_list_modification()` and
//!   `dec_ref_pic_marking()` push into a `Vec` until their terminator (`nal/slice/mod.rs:243`,
//!   `:422`), 8 bytes of heap per 2 bits of input, so a 1 MiB slice made it allocate over
//!   32 MiB, and [`AnnexBReader`] admits 32 MiB NAL units. And a slice damaged after the
//!   fields §7.4.1.2.4 compares (say, an invalid `memory_management_control_operation`) is
//!   refused as a whole, where [`SliceHeaderPrefix`] reads just those fields from the first
//!   128 bytes.
//! - **Annex B framing: push-based.** Its `AnnexBReader::push` (`annexb.rs:130`) hands NAL
//!   fragments to a handler, `NalAccumulator` buffers them without a limit
//!   (`push/mod.rs:146`), and bytes before a start code are logged at error level
//!   (`annexb.rs:254`). [`nal_units`] is a zero-copy iterator over a byte slice, which is what
//!   the decoders and the splitter need, and [`AnnexBReader`] bounds what it holds. h264-reader
//!   has no access-unit splitting.
//!
//! `h264-reader` is therefore a dev-dependency only: the differential tests, and a test that
//! it still refuses the three SPS variants above (when that fails, the first reason is gone
//! and the SPS question is worth asking again).

use std::fmt;

mod access_unit;
mod nal;
mod params;
mod rbsp;
mod slice;
#[cfg(test)]
mod testutil;

pub use access_unit::{AccessUnitSplitter, AnnexBReader, MAX_ACCESS_UNIT_BYTES, MAX_NAL_BYTES};
pub use nal::{
    NAL_AUD, NAL_IDR_SLICE, NAL_PPS, NAL_SEI, NAL_SLICE, NAL_SLICE_PARTITION_A, NAL_SPS, NalUnits,
    is_idr_access_unit, nal_ref_idc, nal_type, nal_units, parameter_sets_present,
};
pub use params::{ParameterSets, Pps, Sps, parse_pps, parse_sps};
pub use rbsp::{BitReader, remove_emulation_prevention};
pub use slice::SliceHeaderPrefix;

/// What can be wrong with H.264 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BitstreamError {
    /// The data ended in the middle of a syntax element.
    Truncated,
    /// A syntax element has a value the spec does not allow (or that does not fit our types).
    InvalidValue {
        /// The syntax element, named as in the spec.
        field: &'static str,
        /// The value read.
        value: i64,
    },
    /// A slice refers to a parameter set that has not been seen.
    UnknownParameterSet {
        /// `"SPS"` or `"PPS"`.
        kind: &'static str,
        /// The missing id.
        id: u32,
    },
    /// A parser was handed a NAL unit of the wrong type.
    WrongNalType {
        /// What the parser expects (`"SPS"`, `"PPS"`, `"slice"`).
        expected: &'static str,
        /// The `nal_unit_type` found.
        found: u8,
    },
    /// A NAL unit or access unit is larger than the reader's limit.
    TooLarge {
        /// `"NAL unit"` or `"access unit"`.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for BitstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("H.264 data ends in the middle of a syntax element"),
            Self::InvalidValue { field, value } => write!(f, "invalid H.264 {field}: {value}"),
            Self::UnknownParameterSet { kind, id } => write!(f, "unknown H.264 {kind} id {id}"),
            Self::WrongNalType { expected, found } => {
                write!(
                    f,
                    "expected an H.264 {expected} NAL unit, found type {found}"
                )
            }
            Self::TooLarge { what, limit } => {
                write!(f, "H.264 {what} larger than the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for BitstreamError {}

pub(super) fn invalid(field: &'static str, value: impl Into<i64>) -> BitstreamError {
    BitstreamError::InvalidValue {
        field,
        value: value.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::bitstream::testutil::{SPS_720P, params, split_bytes, test_pps};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            for header in [0x67, 0x68, 0x65, 0x41] {
                let nal = [&[header][..], &data].concat();
                let _ = parse_sps(&nal);
                let _ = parse_pps(&nal);
                let params = self::params(&[SPS_720P.to_vec(), test_pps(0, 0, true, true)]);
                let _ = SliceHeaderPrefix::parse(&nal, &params);
            }
            let mut r = BitReader::new(&data);
            while r.ue().is_ok() && r.se().is_ok() && r.u(13).is_ok() {}
            let _ = split_bytes(&data);
        }
    }
}
