//! Just enough H.264 syntax (ITU-T Rec. H.264) to frame and classify a stream: Annex B NAL
//! units, RBSP extraction and exp-Golomb bit reading, sequence and picture parameter sets, the
//! slice header fields that tell pictures apart, and access-unit splitting (spec §7.4.1.2.3 and
//! §7.4.1.2.4), both in memory ([`AccessUnitSplitter`]) and streaming ([`AnnexBReader`]).
//!
//! Everything here works on untrusted bytes: malformed input gives a [`BitstreamError`] (or a
//! conservative fallback in the splitter), never a panic, and the streaming reader bounds the
//! memory it holds.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::ops::{Range, RangeInclusive};

/// `nal_unit_type` of a coded slice of a non-IDR picture.
pub const NAL_SLICE: u8 = 1;
/// `nal_unit_type` of coded slice data partition A (carries the slice header).
pub const NAL_SLICE_PARTITION_A: u8 = 2;
/// `nal_unit_type` of a coded slice of an IDR picture.
pub const NAL_IDR_SLICE: u8 = 5;
/// `nal_unit_type` of supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// `nal_unit_type` of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// `nal_unit_type` of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// `nal_unit_type` of an access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// Largest NAL unit an [`AnnexBReader`] accepts by default (32 MiB).
pub const MAX_NAL_BYTES: usize = 32 << 20;
/// Largest access unit an [`AnnexBReader`] accepts by default (64 MiB).
pub const MAX_ACCESS_UNIT_BYTES: usize = 64 << 20;

/// How many bytes [`AnnexBReader`] asks its source for at a time.
const READ_CHUNK: usize = 64 << 10;
/// The start code written before every NAL unit of an access unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Escaped slice bytes that always hold every field of a [`SliceHeaderPrefix`]: at most 46
/// bytes of RBSP, plus one emulation-prevention byte per two bytes in the worst case.
const SLICE_HEADER_PREFIX_MAX_EBSP: usize = 128;
/// Largest picture dimension accepted in an SPS, in macroblocks (262 144 samples).
const MAX_MBS_PER_DIMENSION: u32 = 1 << 14;

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

fn invalid(field: &'static str, value: impl Into<i64>) -> BitstreamError {
    BitstreamError::InvalidValue {
        field,
        value: value.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Annex B framing
// ---------------------------------------------------------------------------------------------

/// Index of the first `00 00 01` in `data`.
fn find_start_code(data: &[u8]) -> Option<usize> {
    let mut i = 2;
    while i < data.len() {
        match data[i] {
            1 if data[i - 1] == 0 && data[i - 2] == 0 => return Some(i - 2),
            // A start code may end one or two bytes later.
            0 => i += 1,
            // No start code can end at i, i + 1 or i + 2.
            _ => i += 3,
        }
    }
    None
}

/// `nal` without its trailing zero bytes (`trailing_zero_8bits` and the first byte of a 4-byte
/// start code). A NAL unit itself always ends in a non-zero byte.
fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &nal[..end]
}

/// Iterator over the NAL units of an Annex B byte stream; see [`nal_units`].
#[derive(Debug, Clone)]
pub struct NalUnits<'a> {
    /// The bytes after the last start code found.
    rest: &'a [u8],
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let (nal, rest) = match find_start_code(self.rest) {
                Some(i) => (&self.rest[..i], &self.rest[i + 3..]),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let nal = trim_trailing_zeros(nal);
            if !nal.is_empty() {
                return Some(nal);
            }
        }
        None
    }
}

/// Splits an Annex B byte stream into NAL units.
///
/// Each item starts with the NAL header byte and excludes the start code (`00 00 01` or
/// `00 00 00 01`) and any zero bytes before the next start code. Bytes before the first start
/// code are skipped, and empty NAL units are not yielded.
pub fn nal_units(data: &[u8]) -> NalUnits<'_> {
    let rest = find_start_code(data).map_or(&[][..], |i| &data[i + 3..]);
    NalUnits { rest }
}

/// `nal_unit_type` of a NAL unit (0..=31), or `None` for an empty slice.
pub fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}

/// `nal_ref_idc` of a NAL unit (0..=3; 0 means "not used for reference"), or `None` for an
/// empty slice.
pub fn nal_ref_idc(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| (b >> 5) & 3)
}

/// Whether the access unit `au` (Annex B bytes) holds an IDR slice (NAL unit type 5).
pub fn is_idr_access_unit(au: &[u8]) -> bool {
    nal_units(au).any(|nal| nal_type(nal) == Some(NAL_IDR_SLICE))
}

/// Whether the access unit `au` (Annex B bytes) carries both an SPS and a PPS, so that a
/// decoder can start from it.
pub fn parameter_sets_present(au: &[u8]) -> bool {
    let (mut sps, mut pps) = (false, false);
    for nal in nal_units(au) {
        match nal_type(nal) {
            Some(NAL_SPS) => sps = true,
            Some(NAL_PPS) => pps = true,
            _ => {}
        }
    }
    sps && pps
}

// ---------------------------------------------------------------------------------------------
// RBSP and bit reading
// ---------------------------------------------------------------------------------------------

/// Turns NAL unit payload bytes into RBSP bytes by removing emulation-prevention bytes: every
/// `00 00 03` becomes `00 00`. Borrows the input when there is nothing to remove.
pub fn remove_emulation_prevention(ebsp: &[u8]) -> Cow<'_, [u8]> {
    if !ebsp.windows(3).any(|w| w == [0, 0, 3]) {
        return Cow::Borrowed(ebsp);
    }
    let mut out = Vec::with_capacity(ebsp.len());
    let mut zeros = 0;
    for &b in ebsp {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    Cow::Owned(out)
}

/// The RBSP of `nal` after checking its type.
fn rbsp_of<'a>(
    nal: &'a [u8],
    expected_type: u8,
    expected: &'static str,
) -> Result<Cow<'a, [u8]>, BitstreamError> {
    let (&header, payload) = nal.split_first().ok_or(BitstreamError::Truncated)?;
    let found = header & 0x1f;
    if found != expected_type {
        return Err(BitstreamError::WrongNalType { expected, found });
    }
    Ok(remove_emulation_prevention(payload))
}

/// Reads bits, most significant first, from RBSP bytes (see [`remove_emulation_prevention`]).
///
/// Every read checks the remaining length and returns [`BitstreamError::Truncated`] instead of
/// panicking. After an error the read position is unspecified: stop reading.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `rbsp`.
    pub fn new(rbsp: &'a [u8]) -> Self {
        Self { data: rbsp, pos: 0 }
    }

    /// Bits not read yet.
    pub fn bits_remaining(&self) -> usize {
        self.data.len() * 8 - self.pos
    }

    fn bit(&mut self) -> Result<u32, BitstreamError> {
        let byte = *self
            .data
            .get(self.pos / 8)
            .ok_or(BitstreamError::Truncated)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }

    /// Reads one bit as a flag: `u(1)`.
    pub fn flag(&mut self) -> Result<bool, BitstreamError> {
        Ok(self.bit()? == 1)
    }

    /// Reads an unsigned `bits`-bit number: `u(n)`, `n` in 0..=32.
    pub fn u(&mut self, bits: u32) -> Result<u32, BitstreamError> {
        if bits > 32 {
            return Err(invalid("bit count", bits));
        }
        if bits as usize > self.bits_remaining() {
            return Err(BitstreamError::Truncated);
        }
        (0..bits).try_fold(0, |v, _| Ok(v << 1 | self.bit()?))
    }

    /// Skips `bits` bits.
    pub fn skip(&mut self, bits: usize) -> Result<(), BitstreamError> {
        if bits > self.bits_remaining() {
            return Err(BitstreamError::Truncated);
        }
        self.pos += bits;
        Ok(())
    }

    /// Reads an unsigned exp-Golomb number: `ue(v)`. Codes with more than 32 leading zero
    /// bits, or values above `u32::MAX`, are rejected.
    pub fn ue(&mut self) -> Result<u32, BitstreamError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 32 {
                return Err(invalid("exp-Golomb prefix length", zeros));
            }
        }
        let value = (1u64 << zeros) - 1 + u64::from(self.u(zeros)?);
        u32::try_from(value).map_err(|_| invalid("exp-Golomb value", value as i64))
    }

    /// Reads a signed exp-Golomb number: `se(v)`.
    pub fn se(&mut self) -> Result<i32, BitstreamError> {
        let code = i64::from(self.ue()?);
        let value = if code % 2 == 1 {
            (code + 1) / 2
        } else {
            -(code / 2)
        };
        i32::try_from(value).map_err(|_| invalid("signed exp-Golomb value", value))
    }

    /// Whether RBSP data remains before the `rbsp_trailing_bits` (the last 1 bit of the data):
    /// `more_rbsp_data()`.
    pub fn more_rbsp_data(&self) -> bool {
        let Some(last) = self.data.iter().rposition(|&b| b != 0) else {
            return false;
        };
        let stop_bit = last * 8 + 7 - self.data[last].trailing_zeros() as usize;
        self.pos < stop_bit
    }

    /// `ue(v)` that must not exceed `max`.
    fn ue_max(&mut self, field: &'static str, max: u32) -> Result<u32, BitstreamError> {
        match self.ue()? {
            v if v <= max => Ok(v),
            v => Err(invalid(field, v)),
        }
    }

    /// `se(v)` that must lie in `range`.
    fn se_in(
        &mut self,
        field: &'static str,
        range: RangeInclusive<i32>,
    ) -> Result<i32, BitstreamError> {
        match self.se()? {
            v if range.contains(&v) => Ok(v),
            v => Err(invalid(field, v)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sequence parameter set
// ---------------------------------------------------------------------------------------------

/// The fields of a sequence parameter set (spec §7.3.2.1.1) up to, not including, the VUI.
///
/// Derived values (`+ 1`, `+ 4`, `+ 8`) are stored instead of the coded `_minus` forms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sps {
    /// `profile_idc` (66 Baseline, 77 Main, 88 Extended, 100 High, ...).
    pub profile_idc: u8,
    /// The byte holding `constraint_set0_flag` (bit 7) to `constraint_set5_flag` (bit 2).
    pub constraint_flags: u8,
    /// `level_idc` (level × 10, e.g. 31 for level 3.1).
    pub level_idc: u8,
    /// `seq_parameter_set_id` (0..=31).
    pub sps_id: u32,
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    /// `separate_colour_plane_flag` (4:4:4 coded as three monochrome planes).
    pub separate_colour_plane_flag: bool,
    /// Luma bit depth (`bit_depth_luma_minus8 + 8`).
    pub bit_depth_luma: u8,
    /// Chroma bit depth (`bit_depth_chroma_minus8 + 8`).
    pub bit_depth_chroma: u8,
    /// `log2_max_frame_num_minus4 + 4` (4..=16): the width of `frame_num` in bits.
    pub log2_max_frame_num: u8,
    /// `pic_order_cnt_type` (0..=2).
    pub pic_order_cnt_type: u8,
    /// `log2_max_pic_order_cnt_lsb_minus4 + 4` (4..=16); 0 unless `pic_order_cnt_type == 0`.
    pub log2_max_pic_order_cnt_lsb: u8,
    /// `delta_pic_order_always_zero_flag`; false unless `pic_order_cnt_type == 1`.
    pub delta_pic_order_always_zero_flag: bool,
    /// `max_num_ref_frames`.
    pub max_num_ref_frames: u32,
    /// `gaps_in_frame_num_value_allowed_flag`.
    pub gaps_in_frame_num_allowed: bool,
    /// Picture width in macroblocks (`pic_width_in_mbs_minus1 + 1`).
    pub pic_width_in_mbs: u32,
    /// Picture height in map units (`pic_height_in_map_units_minus1 + 1`): macroblocks for
    /// frame-only streams, macroblock pairs otherwise.
    pub pic_height_in_map_units: u32,
    /// `frame_mbs_only_flag`: false when the stream may hold field pictures or MBAFF frames.
    pub frame_mbs_only_flag: bool,
    /// `mb_adaptive_frame_field_flag`.
    pub mb_adaptive_frame_field_flag: bool,
    /// `direct_8x8_inference_flag`.
    pub direct_8x8_inference_flag: bool,
    /// `frame_crop_left_offset` in crop units (0 without cropping).
    pub frame_crop_left_offset: u32,
    /// `frame_crop_right_offset` in crop units.
    pub frame_crop_right_offset: u32,
    /// `frame_crop_top_offset` in crop units.
    pub frame_crop_top_offset: u32,
    /// `frame_crop_bottom_offset` in crop units.
    pub frame_crop_bottom_offset: u32,
    /// `vui_parameters_present_flag` (the VUI itself is not parsed).
    pub vui_parameters_present_flag: bool,
}

impl Sps {
    /// `ChromaArrayType`: `chroma_format_idc`, or 0 when colour planes are coded separately.
    pub fn chroma_array_type(&self) -> u8 {
        if self.separate_colour_plane_flag {
            0
        } else {
            self.chroma_format_idc
        }
    }

    /// `(CropUnitX, CropUnitY)`: luma samples per unit of the frame crop offsets.
    fn crop_units(&self) -> (u32, u32) {
        let field_factor = if self.frame_mbs_only_flag { 1 } else { 2 };
        match self.chroma_array_type() {
            0 => (1, field_factor),
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        }
    }

    /// Frame height in macroblocks (`FrameHeightInMbs`).
    fn frame_height_in_mbs(&self) -> u32 {
        let field_factor = if self.frame_mbs_only_flag { 1 } else { 2 };
        self.pic_height_in_map_units.saturating_mul(field_factor)
    }

    /// Width of the decoded frames in luma samples, after cropping.
    pub fn width(&self) -> u32 {
        let crop = self
            .frame_crop_left_offset
            .saturating_add(self.frame_crop_right_offset)
            .saturating_mul(self.crop_units().0);
        self.pic_width_in_mbs
            .saturating_mul(16)
            .saturating_sub(crop)
    }

    /// Height of the decoded frames in luma samples, after cropping.
    pub fn height(&self) -> u32 {
        let crop = self
            .frame_crop_top_offset
            .saturating_add(self.frame_crop_bottom_offset)
            .saturating_mul(self.crop_units().1);
        self.frame_height_in_mbs()
            .saturating_mul(16)
            .saturating_sub(crop)
    }

    /// The profile's name (spec Annex A), taking the constraint flags into account:
    /// "Constrained Baseline", "Baseline", "Main", "Extended", "High", "Progressive High",
    /// "Constrained High", "High 10", ..., or "Unknown".
    pub fn profile_name(&self) -> &'static str {
        let set = |n: u8| self.constraint_flags & (0x80 >> n) != 0;
        match self.profile_idc {
            66 if set(1) => "Constrained Baseline",
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 if set(4) && set(5) => "Constrained High",
            100 if set(4) => "Progressive High",
            100 => "High",
            110 if set(3) => "High 10 Intra",
            110 if set(4) => "Progressive High 10",
            110 => "High 10",
            122 if set(3) => "High 4:2:2 Intra",
            122 => "High 4:2:2",
            244 if set(3) => "High 4:4:4 Intra",
            244 => "High 4:4:4 Predictive",
            44 => "CAVLC 4:4:4 Intra",
            83 if set(5) => "Scalable Constrained Baseline",
            83 => "Scalable Baseline",
            86 if set(3) => "Scalable High Intra",
            86 if set(5) => "Scalable Constrained High",
            86 => "Scalable High",
            118 => "Multiview High",
            128 => "Stereo High",
            134 => "MFC High",
            135 => "MFC Depth High",
            138 => "Multiview Depth High",
            139 => "Enhanced Multiview Depth High",
            _ => "Unknown",
        }
    }
}

/// Profiles whose SPS carries chroma format, bit depths and scaling matrices.
fn has_high_profile_fields(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// Reads past a `scaling_list()` of `size` coefficients (spec §7.3.2.1.1.1).
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), BitstreamError> {
    let (mut last, mut next) = (8, 8);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se_in("delta_scale", -128..=127)?;
            next = (last + delta + 256) % 256;
        }
        if next == 0 {
            // The rest of the list repeats the last scale: nothing more is coded.
            break;
        }
        last = next;
    }
    Ok(())
}

/// Parses a sequence parameter set NAL unit (type 7, header byte included, emulation
/// prevention still in place) up to the VUI.
pub fn parse_sps(nal: &[u8]) -> Result<Sps, BitstreamError> {
    let rbsp = rbsp_of(nal, NAL_SPS, "SPS")?;
    let mut r = BitReader::new(&rbsp);
    let profile_idc = r.u(8)? as u8;
    let constraint_flags = r.u(8)? as u8;
    let level_idc = r.u(8)? as u8;
    let sps_id = r.ue_max("seq_parameter_set_id", 31)?;

    let (mut chroma_format_idc, mut separate_colour_plane_flag) = (1, false);
    let (mut bit_depth_luma, mut bit_depth_chroma) = (8, 8);
    if has_high_profile_fields(profile_idc) {
        chroma_format_idc = r.ue_max("chroma_format_idc", 3)? as u8;
        if chroma_format_idc == 3 {
            separate_colour_plane_flag = r.flag()?;
        }
        bit_depth_luma = 8 + r.ue_max("bit_depth_luma_minus8", 6)? as u8;
        bit_depth_chroma = 8 + r.ue_max("bit_depth_chroma_minus8", 6)? as u8;
        let _qpprime_y_zero_transform_bypass_flag = r.flag()?;
        if r.flag()? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.flag()? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }

    let log2_max_frame_num = 4 + r.ue_max("log2_max_frame_num_minus4", 12)? as u8;
    let pic_order_cnt_type = r.ue_max("pic_order_cnt_type", 2)? as u8;
    let (mut log2_max_pic_order_cnt_lsb, mut delta_pic_order_always_zero_flag) = (0, false);
    match pic_order_cnt_type {
        0 => {
            log2_max_pic_order_cnt_lsb =
                4 + r.ue_max("log2_max_pic_order_cnt_lsb_minus4", 12)? as u8;
        }
        1 => {
            delta_pic_order_always_zero_flag = r.flag()?;
            let _offset_for_non_ref_pic = r.se()?;
            let _offset_for_top_to_bottom_field = r.se()?;
            let cycle = r.ue_max("num_ref_frames_in_pic_order_cnt_cycle", 255)?;
            for _ in 0..cycle {
                let _offset_for_ref_frame = r.se()?;
            }
        }
        _ => {}
    }
    let max_num_ref_frames = r.ue()?;
    let gaps_in_frame_num_allowed = r.flag()?;
    let pic_width_in_mbs = 1 + r.ue_max("pic_width_in_mbs_minus1", MAX_MBS_PER_DIMENSION - 1)?;
    let pic_height_in_map_units =
        1 + r.ue_max("pic_height_in_map_units_minus1", MAX_MBS_PER_DIMENSION - 1)?;
    let frame_mbs_only_flag = r.flag()?;
    let mb_adaptive_frame_field_flag = !frame_mbs_only_flag && r.flag()?;
    let direct_8x8_inference_flag = r.flag()?;
    let mut crop = [0; 4];
    if r.flag()? {
        for offset in &mut crop {
            *offset = r.ue()?;
        }
    }
    let vui_parameters_present_flag = r.flag()?;

    let sps = Sps {
        profile_idc,
        constraint_flags,
        level_idc,
        sps_id,
        chroma_format_idc,
        separate_colour_plane_flag,
        bit_depth_luma,
        bit_depth_chroma,
        log2_max_frame_num,
        pic_order_cnt_type,
        log2_max_pic_order_cnt_lsb,
        delta_pic_order_always_zero_flag,
        max_num_ref_frames,
        gaps_in_frame_num_allowed,
        pic_width_in_mbs,
        pic_height_in_map_units,
        frame_mbs_only_flag,
        mb_adaptive_frame_field_flag,
        direct_8x8_inference_flag,
        frame_crop_left_offset: crop[0],
        frame_crop_right_offset: crop[1],
        frame_crop_top_offset: crop[2],
        frame_crop_bottom_offset: crop[3],
        vui_parameters_present_flag,
    };
    // The cropping window must keep at least one sample in each direction.
    let (unit_x, unit_y) = sps.crop_units();
    let crop_x = (u64::from(crop[0]) + u64::from(crop[1])) * u64::from(unit_x);
    let crop_y = (u64::from(crop[2]) + u64::from(crop[3])) * u64::from(unit_y);
    if crop_x >= u64::from(pic_width_in_mbs) * 16 {
        return Err(invalid("frame_crop_left/right_offset", crop_x as i64));
    }
    if crop_y >= u64::from(sps.frame_height_in_mbs()) * 16 {
        return Err(invalid("frame_crop_top/bottom_offset", crop_y as i64));
    }
    Ok(sps)
}

// ---------------------------------------------------------------------------------------------
// Picture parameter set
// ---------------------------------------------------------------------------------------------

/// The fields of a picture parameter set (spec §7.3.2.2) up to `transform_8x8_mode_flag`.
///
/// Derived values (`+ 1`, `26 +`) are stored instead of the coded `_minus` forms; the slice
/// group map is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pps {
    /// `pic_parameter_set_id` (0..=255).
    pub pps_id: u32,
    /// `seq_parameter_set_id` of the SPS this PPS refers to (0..=31).
    pub sps_id: u32,
    /// `entropy_coding_mode_flag`: true for CABAC, false for CAVLC.
    pub entropy_coding_mode_flag: bool,
    /// `bottom_field_pic_order_in_frame_present_flag`.
    pub bottom_field_pic_order_in_frame_present_flag: bool,
    /// Number of slice groups (`num_slice_groups_minus1 + 1`, 1..=8).
    pub num_slice_groups: u32,
    /// `slice_group_map_type` (0..=6); 0 when there is a single slice group.
    pub slice_group_map_type: u8,
    /// `num_ref_idx_l0_default_active_minus1 + 1` (1..=32).
    pub num_ref_idx_l0_default_active: u32,
    /// `num_ref_idx_l1_default_active_minus1 + 1` (1..=32).
    pub num_ref_idx_l1_default_active: u32,
    /// `weighted_pred_flag`.
    pub weighted_pred_flag: bool,
    /// `weighted_bipred_idc` (0..=2).
    pub weighted_bipred_idc: u8,
    /// Initial luma QP of the slices (`26 + pic_init_qp_minus26`).
    pub pic_init_qp: i32,
    /// Initial QS of SP/SI slices (`26 + pic_init_qs_minus26`).
    pub pic_init_qs: i32,
    /// `chroma_qp_index_offset` (-12..=12).
    pub chroma_qp_index_offset: i32,
    /// `deblocking_filter_control_present_flag`.
    pub deblocking_filter_control_present_flag: bool,
    /// `constrained_intra_pred_flag`.
    pub constrained_intra_pred_flag: bool,
    /// `redundant_pic_cnt_present_flag`.
    pub redundant_pic_cnt_present_flag: bool,
    /// `transform_8x8_mode_flag` (false when the High-profile extension is absent).
    pub transform_8x8_mode_flag: bool,
}

/// Parses a picture parameter set NAL unit (type 8, header byte included, emulation prevention
/// still in place).
pub fn parse_pps(nal: &[u8]) -> Result<Pps, BitstreamError> {
    let rbsp = rbsp_of(nal, NAL_PPS, "PPS")?;
    let mut r = BitReader::new(&rbsp);
    let pps_id = r.ue_max("pic_parameter_set_id", 255)?;
    let sps_id = r.ue_max("seq_parameter_set_id", 31)?;
    let entropy_coding_mode_flag = r.flag()?;
    let bottom_field_pic_order_in_frame_present_flag = r.flag()?;
    let num_slice_groups = 1 + r.ue_max("num_slice_groups_minus1", 7)?;
    let mut slice_group_map_type = 0;
    if num_slice_groups > 1 {
        slice_group_map_type = r.ue_max("slice_group_map_type", 6)? as u8;
        match slice_group_map_type {
            0 => {
                for _ in 0..num_slice_groups {
                    let _run_length_minus1 = r.ue()?;
                }
            }
            2 => {
                for _ in 1..num_slice_groups {
                    let _top_left = r.ue()?;
                    let _bottom_right = r.ue()?;
                }
            }
            3..=5 => {
                let _slice_group_change_direction_flag = r.flag()?;
                let _slice_group_change_rate_minus1 = r.ue()?;
            }
            6 => {
                let map_units = u64::from(r.ue()?) + 1;
                // Ceil(Log2(num_slice_groups)) bits per map unit.
                let bits = u64::from(32 - (num_slice_groups - 1).leading_zeros());
                let total = usize::try_from(map_units * bits).unwrap_or(usize::MAX);
                r.skip(total)?;
            }
            _ => {}
        }
    }
    let num_ref_idx_l0_default_active = 1 + r.ue_max("num_ref_idx_l0_default_active_minus1", 31)?;
    let num_ref_idx_l1_default_active = 1 + r.ue_max("num_ref_idx_l1_default_active_minus1", 31)?;
    let weighted_pred_flag = r.flag()?;
    let weighted_bipred_idc = match r.u(2)? {
        3 => return Err(invalid("weighted_bipred_idc", 3)),
        v => v as u8,
    };
    // The lower bound allows for 14-bit video (QpBdOffsetY = 36).
    let pic_init_qp = 26 + r.se_in("pic_init_qp_minus26", -62..=25)?;
    let pic_init_qs = 26 + r.se_in("pic_init_qs_minus26", -26..=25)?;
    let chroma_qp_index_offset = r.se_in("chroma_qp_index_offset", -12..=12)?;
    let deblocking_filter_control_present_flag = r.flag()?;
    let constrained_intra_pred_flag = r.flag()?;
    let redundant_pic_cnt_present_flag = r.flag()?;
    let transform_8x8_mode_flag = r.more_rbsp_data() && r.flag()?;
    Ok(Pps {
        pps_id,
        sps_id,
        entropy_coding_mode_flag,
        bottom_field_pic_order_in_frame_present_flag,
        num_slice_groups,
        slice_group_map_type,
        num_ref_idx_l0_default_active,
        num_ref_idx_l1_default_active,
        weighted_pred_flag,
        weighted_bipred_idc,
        pic_init_qp,
        pic_init_qs,
        chroma_qp_index_offset,
        deblocking_filter_control_present_flag,
        constrained_intra_pred_flag,
        redundant_pic_cnt_present_flag,
        transform_8x8_mode_flag,
    })
}

/// The active parameter sets of a stream, by id: what slice headers are parsed against.
#[derive(Debug, Clone, Default)]
pub struct ParameterSets {
    sps: HashMap<u32, Sps>,
    pps: HashMap<u32, Pps>,
}

impl ParameterSets {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The SPS with `seq_parameter_set_id == id`, if one has been stored.
    pub fn sps(&self, id: u32) -> Option<&Sps> {
        self.sps.get(&id)
    }

    /// The PPS with `pic_parameter_set_id == id`, if one has been stored.
    pub fn pps(&self, id: u32) -> Option<&Pps> {
        self.pps.get(&id)
    }

    /// Parses `nal` if it is an SPS or PPS and stores it, replacing any set with the same id.
    /// Other NAL unit types are ignored; a malformed parameter set is not stored.
    pub fn update(&mut self, nal: &[u8]) -> Result<(), BitstreamError> {
        match nal_type(nal) {
            Some(NAL_SPS) => {
                let sps = parse_sps(nal)?;
                self.sps.insert(sps.sps_id, sps);
            }
            Some(NAL_PPS) => {
                let pps = parse_pps(nal)?;
                self.pps.insert(pps.pps_id, pps);
            }
            _ => {}
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Slice header
// ---------------------------------------------------------------------------------------------

/// The leading slice header fields (spec §7.3.3) that decide whether a slice starts a new
/// primary coded picture (§7.4.1.2.4). Fields absent from the slice hold their inferred value
/// (0 / false).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SliceHeaderPrefix {
    /// `nal_unit_type` of the slice NAL unit (1, 2 or 5).
    pub nal_unit_type: u8,
    /// `nal_ref_idc` of the slice NAL unit.
    pub nal_ref_idc: u8,
    /// `first_mb_in_slice`.
    pub first_mb_in_slice: u32,
    /// `slice_type` as coded (0..=9; 5..=9 mean "all slices of the picture have this type").
    pub slice_type: u8,
    /// `pic_parameter_set_id`.
    pub pps_id: u32,
    /// `colour_plane_id` (only coded with separate colour planes).
    pub colour_plane_id: u8,
    /// `frame_num`.
    pub frame_num: u32,
    /// `field_pic_flag`.
    pub field_pic_flag: bool,
    /// `bottom_field_flag`.
    pub bottom_field_flag: bool,
    /// `idr_pic_id` (IDR slices only).
    pub idr_pic_id: u32,
    /// `pic_order_cnt_type` of the active SPS (not a slice field, but needed to compare).
    pub pic_order_cnt_type: u8,
    /// `pic_order_cnt_lsb` (picture order count type 0).
    pub pic_order_cnt_lsb: u32,
    /// `delta_pic_order_cnt_bottom` (picture order count type 0).
    pub delta_pic_order_cnt_bottom: i32,
    /// `delta_pic_order_cnt[0]` and `[1]` (picture order count type 1).
    pub delta_pic_order_cnt: [i32; 2],
    /// `redundant_pic_cnt`: greater than 0 for slices of redundant pictures.
    pub redundant_pic_cnt: u32,
}

impl SliceHeaderPrefix {
    /// Parses the header prefix of a slice NAL unit (type 1, 2 or 5, header byte included)
    /// against the parameter sets in `params`.
    pub fn parse(nal: &[u8], params: &ParameterSets) -> Result<Self, BitstreamError> {
        let (&header, payload) = nal.split_first().ok_or(BitstreamError::Truncated)?;
        let nal_unit_type = header & 0x1f;
        if !matches!(
            nal_unit_type,
            NAL_SLICE | NAL_SLICE_PARTITION_A | NAL_IDR_SLICE
        ) {
            return Err(BitstreamError::WrongNalType {
                expected: "slice",
                found: nal_unit_type,
            });
        }
        let prefix = &payload[..payload.len().min(SLICE_HEADER_PREFIX_MAX_EBSP)];
        let rbsp = remove_emulation_prevention(prefix);
        let mut r = BitReader::new(&rbsp);
        let first_mb_in_slice = r.ue()?;
        let slice_type = r.ue_max("slice_type", 9)? as u8;
        let pps_id = r.ue_max("pic_parameter_set_id", 255)?;
        let pps = params
            .pps(pps_id)
            .ok_or(BitstreamError::UnknownParameterSet {
                kind: "PPS",
                id: pps_id,
            })?;
        let sps = params
            .sps(pps.sps_id)
            .ok_or(BitstreamError::UnknownParameterSet {
                kind: "SPS",
                id: pps.sps_id,
            })?;
        let idr = nal_unit_type == NAL_IDR_SLICE;

        let colour_plane_id = if sps.separate_colour_plane_flag {
            r.u(2)? as u8
        } else {
            0
        };
        let frame_num = r.u(sps.log2_max_frame_num.into())?;
        let field_pic_flag = !sps.frame_mbs_only_flag && r.flag()?;
        let bottom_field_flag = field_pic_flag && r.flag()?;
        let idr_pic_id = if idr {
            r.ue_max("idr_pic_id", 65535)?
        } else {
            0
        };
        let bottom_present = pps.bottom_field_pic_order_in_frame_present_flag && !field_pic_flag;
        let (mut pic_order_cnt_lsb, mut delta_pic_order_cnt_bottom) = (0, 0);
        let mut delta_pic_order_cnt = [0; 2];
        match sps.pic_order_cnt_type {
            0 => {
                pic_order_cnt_lsb = r.u(sps.log2_max_pic_order_cnt_lsb.into())?;
                if bottom_present {
                    delta_pic_order_cnt_bottom = r.se()?;
                }
            }
            1 if !sps.delta_pic_order_always_zero_flag => {
                delta_pic_order_cnt[0] = r.se()?;
                if bottom_present {
                    delta_pic_order_cnt[1] = r.se()?;
                }
            }
            _ => {}
        }
        let redundant_pic_cnt = if pps.redundant_pic_cnt_present_flag {
            r.ue_max("redundant_pic_cnt", 127)?
        } else {
            0
        };
        Ok(Self {
            nal_unit_type,
            nal_ref_idc: header >> 5 & 3,
            first_mb_in_slice,
            slice_type,
            pps_id,
            colour_plane_id,
            frame_num,
            field_pic_flag,
            bottom_field_flag,
            idr_pic_id,
            pic_order_cnt_type: sps.pic_order_cnt_type,
            pic_order_cnt_lsb,
            delta_pic_order_cnt_bottom,
            delta_pic_order_cnt,
            redundant_pic_cnt,
        })
    }

    /// Whether this is a slice of an IDR picture (`IdrPicFlag`).
    pub fn is_idr(&self) -> bool {
        self.nal_unit_type == NAL_IDR_SLICE
    }

    /// Whether this slice belongs to a different primary coded picture than `previous`, the
    /// preceding slice of a primary picture (spec §7.4.1.2.4). Slice order
    /// (`first_mb_in_slice`) plays no part, so arbitrary slice order is handled; redundant
    /// slices (`redundant_pic_cnt > 0`) must not be compared.
    pub fn starts_new_picture(&self, previous: &Self) -> bool {
        let (a, b) = (self, previous);
        a.frame_num != b.frame_num
            || a.pps_id != b.pps_id
            || a.field_pic_flag != b.field_pic_flag
            || a.bottom_field_flag != b.bottom_field_flag
            || (a.nal_ref_idc != b.nal_ref_idc && (a.nal_ref_idc == 0 || b.nal_ref_idc == 0))
            || (a.pic_order_cnt_type == 0
                && b.pic_order_cnt_type == 0
                && (a.pic_order_cnt_lsb != b.pic_order_cnt_lsb
                    || a.delta_pic_order_cnt_bottom != b.delta_pic_order_cnt_bottom))
            || (a.pic_order_cnt_type == 1
                && b.pic_order_cnt_type == 1
                && a.delta_pic_order_cnt != b.delta_pic_order_cnt)
            || a.is_idr() != b.is_idr()
            || (a.is_idr() && b.is_idr() && a.idr_pic_id != b.idr_pic_id)
    }
}

/// `first_mb_in_slice` of a slice NAL unit, readable without parameter sets.
fn first_mb_in_slice(nal: &[u8]) -> Option<u32> {
    let payload = nal.get(1..)?;
    let rbsp = remove_emulation_prevention(&payload[..payload.len().min(8)]);
    BitReader::new(&rbsp).ue().ok()
}

// ---------------------------------------------------------------------------------------------
// Access units
// ---------------------------------------------------------------------------------------------

/// Groups NAL units into access units (spec §7.4.1.2.3): feed NAL units in stream order with
/// [`push`](Self::push), which returns each access unit once the first NAL unit of the next
/// one arrives, then call [`finish`](Self::finish) for the last.
///
/// A new access unit starts at an access unit delimiter, SPS, PPS, SEI or NAL unit of type
/// 14..=18 that follows a slice, and at a slice that begins a new primary coded picture by the
/// rules of §7.4.1.2.4 (see [`SliceHeaderPrefix::starts_new_picture`]), parsed against the
/// parameter sets seen so far. Redundant slices, arbitrary slice order, end of sequence/stream
/// and filler data stay in the current access unit. When a slice header cannot be parsed
/// (unknown parameter sets, damaged data) a slice with `first_mb_in_slice == 0` starts a new
/// picture.
///
/// Access units are returned as Annex B bytes with `00 00 00 01` before every NAL unit.
#[derive(Default)]
pub struct AccessUnitSplitter {
    params: ParameterSets,
    /// The access unit being built, in Annex B form.
    pending: Vec<u8>,
    /// Whether `pending` holds a slice.
    has_vcl: bool,
    /// The last parsed slice of a primary picture in `pending`.
    last_slice: Option<SliceHeaderPrefix>,
}

impl fmt::Debug for AccessUnitSplitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessUnitSplitter")
            .field("params", &self.params)
            .field("pending_bytes", &self.pending.len())
            .field("has_vcl", &self.has_vcl)
            .field("last_slice", &self.last_slice)
            .finish()
    }
}

impl AccessUnitSplitter {
    /// A splitter with no parameter sets and no pending data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next NAL unit (header byte first, no start code). Returns the previous access
    /// unit when `nal` starts a new one. Empty input is ignored.
    pub fn push(&mut self, nal: &[u8]) -> Option<Vec<u8>> {
        let nal_unit_type = nal_type(nal)?;
        let starts_access_unit = match nal_unit_type {
            NAL_SEI | NAL_SPS | NAL_PPS | NAL_AUD | 14..=18 => self.has_vcl,
            1..=5 => self.slice_starts_picture(nal) && self.has_vcl,
            _ => false,
        };
        let done = starts_access_unit.then(|| {
            self.has_vcl = false;
            std::mem::take(&mut self.pending)
        });
        if (1..=5).contains(&nal_unit_type) {
            self.has_vcl = true;
        }
        // A malformed parameter set is simply not stored: slices using it fall back.
        let _ = self.params.update(nal);
        self.pending.extend_from_slice(&START_CODE);
        self.pending.extend_from_slice(nal);
        done
    }

    /// Whether the slice `nal` begins a new primary picture, compared with the last slice;
    /// remembers it for the next comparison.
    fn slice_starts_picture(&mut self, nal: &[u8]) -> bool {
        if matches!(nal_type(nal), Some(3 | 4)) {
            // Data partitions B and C follow their partition A.
            return false;
        }
        match SliceHeaderPrefix::parse(nal, &self.params) {
            Ok(slice) if slice.redundant_pic_cnt > 0 => false,
            Ok(slice) => {
                let new = match &self.last_slice {
                    Some(previous) => slice.starts_new_picture(previous),
                    None => slice.first_mb_in_slice == 0,
                };
                self.last_slice = Some(slice);
                new
            }
            Err(_) => {
                self.last_slice = None;
                first_mb_in_slice(nal) == Some(0)
            }
        }
    }

    /// Returns the access unit being built, if any, and starts afresh (the parameter sets are
    /// kept). Call at the end of the stream.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.has_vcl = false;
        self.last_slice = None;
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }

    /// Size in bytes of the access unit being built.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// The parameter sets seen so far.
    pub fn parameter_sets(&self) -> &ParameterSets {
        &self.params
    }
}

/// Reads access units from an Annex B byte stream, `64 KiB` at a time.
///
/// It holds at most the NAL unit being read (plus one read chunk) and the access unit being
/// built, and refuses NAL units and access units above its limits ([`MAX_NAL_BYTES`] and
/// [`MAX_ACCESS_UNIT_BYTES`] by default) instead of growing without bound.
///
/// Errors from the source are returned as they are (the call may be retried). A unit over a
/// limit gives an [`io::ErrorKind::InvalidData`] error wrapping [`BitstreamError::TooLarge`],
/// after which the reader is exhausted and returns `Ok(None)`.
pub struct AnnexBReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes of `buf` (the current NAL unit once `synced`).
    pos: usize,
    /// Where to resume looking for the next start code.
    scanned: usize,
    /// Whether the first start code has been found.
    synced: bool,
    eof: bool,
    max_nal_bytes: usize,
    max_access_unit_bytes: usize,
    splitter: AccessUnitSplitter,
}

impl<R> fmt::Debug for AnnexBReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnnexBReader")
            .field("buffered_bytes", &(self.buf.len() - self.pos))
            .field("synced", &self.synced)
            .field("eof", &self.eof)
            .field("max_nal_bytes", &self.max_nal_bytes)
            .field("max_access_unit_bytes", &self.max_access_unit_bytes)
            .field("splitter", &self.splitter)
            .finish()
    }
}

impl<R: Read> AnnexBReader<R> {
    /// A reader over `inner` with the default limits.
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, MAX_NAL_BYTES, MAX_ACCESS_UNIT_BYTES)
    }

    /// A reader over `inner` that refuses NAL units larger than `max_nal_bytes` and access
    /// units larger than `max_access_unit_bytes` (Annex B size, start codes included).
    pub fn with_limits(inner: R, max_nal_bytes: usize, max_access_unit_bytes: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            synced: false,
            eof: false,
            max_nal_bytes,
            max_access_unit_bytes,
            splitter: AccessUnitSplitter::new(),
        }
    }

    /// The next access unit as Annex B bytes (`00 00 00 01` before every NAL unit), or
    /// `Ok(None)` at the end of the stream.
    pub fn next_access_unit(&mut self) -> io::Result<Option<Vec<u8>>> {
        while let Some(range) = self.next_nal()? {
            let au = self.splitter.push(&self.buf[range]);
            if self.splitter.pending_bytes() > self.max_access_unit_bytes {
                return Err(self.too_large("access unit", self.max_access_unit_bytes));
            }
            if au.is_some() {
                return Ok(au);
            }
        }
        Ok(self.splitter.finish())
    }

    /// The parameter sets seen so far.
    pub fn parameter_sets(&self) -> &ParameterSets {
        self.splitter.parameter_sets()
    }

    /// The position in `buf` of the next non-empty NAL unit, or `None` at the end.
    fn next_nal(&mut self) -> io::Result<Option<Range<usize>>> {
        loop {
            if !self.synced {
                match find_start_code(&self.buf[self.pos..]) {
                    Some(i) => {
                        self.pos += i + 3;
                        self.scanned = self.pos;
                        self.synced = true;
                    }
                    // Drop the garbage, keeping two bytes that may begin a start code.
                    None => self.pos = self.pos.max(self.buf.len().saturating_sub(2)),
                }
            }
            if self.synced {
                if let Some(i) = find_start_code(&self.buf[self.scanned..]) {
                    let end = self.scanned + i;
                    let nal =
                        self.pos..self.pos + trim_trailing_zeros(&self.buf[self.pos..end]).len();
                    self.pos = end + 3;
                    self.scanned = self.pos;
                    if !nal.is_empty() {
                        return Ok(Some(nal));
                    }
                    continue;
                }
                self.scanned = self.pos.max(self.buf.len().saturating_sub(2));
                if self.buf.len() - self.pos > self.max_nal_bytes {
                    return Err(self.too_large("NAL unit", self.max_nal_bytes));
                }
                if self.eof {
                    let nal = self.pos..self.pos + trim_trailing_zeros(&self.buf[self.pos..]).len();
                    self.pos = self.buf.len();
                    if !nal.is_empty() {
                        return Ok(Some(nal));
                    }
                }
            }
            if self.eof {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    /// Drops consumed bytes and reads one more chunk, setting `eof` when the source is done.
    fn fill(&mut self) -> io::Result<()> {
        self.buf.drain(..self.pos);
        self.scanned -= self.pos.min(self.scanned);
        self.pos = 0;
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        let read = loop {
            match self.inner.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(len + read);
        self.eof = read == 0;
        Ok(())
    }

    /// Gives up on the stream after a unit over a limit.
    fn too_large(&mut self, what: &'static str, limit: usize) -> io::Error {
        self.buf = Vec::new();
        self.pos = 0;
        self.scanned = 0;
        self.eof = true;
        self.splitter = AccessUnitSplitter::new();
        io::Error::new(
            io::ErrorKind::InvalidData,
            BitstreamError::TooLarge { what, limit },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes RBSP bits, for hand-made NAL units.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        bits: usize,
    }

    impl BitWriter {
        fn flag(&mut self, bit: bool) -> &mut Self {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if bit {
                *self.bytes.last_mut().unwrap() |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
            self
        }

        fn u(&mut self, bits: u32, value: u64) -> &mut Self {
            for i in (0..bits).rev() {
                self.flag(value >> i & 1 == 1);
            }
            self
        }

        fn ue(&mut self, value: u32) -> &mut Self {
            let code = u64::from(value) + 1;
            let len = 64 - code.leading_zeros();
            self.u(len - 1, 0).u(len, code)
        }

        fn se(&mut self, value: i32) -> &mut Self {
            let value = i64::from(value);
            let code = if value > 0 { 2 * value - 1 } else { -2 * value };
            self.ue(u32::try_from(code).unwrap())
        }

        /// The bits written, followed by `rbsp_trailing_bits`.
        fn rbsp(&self) -> Vec<u8> {
            let mut w = BitWriter {
                bytes: self.bytes.clone(),
                bits: self.bits,
            };
            w.flag(true);
            w.bytes
        }

        /// A NAL unit with header byte `header` and the bits written as its RBSP.
        fn nal(&self, header: u8) -> Vec<u8> {
            let mut nal = vec![header];
            nal.extend(escape(&self.rbsp()));
            nal
        }
    }

    /// Inserts emulation-prevention bytes.
    fn escape(rbsp: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(rbsp.len() * 3 / 2);
        let mut zeros = 0;
        for &b in rbsp {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            out.push(b);
        }
        out
    }

    /// Joins NAL units into an Annex B stream, alternating 4- and 3-byte start codes.
    fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, nal) in nals.iter().enumerate() {
            out.extend_from_slice(if i % 2 == 0 {
                &START_CODE
            } else {
                &START_CODE[1..]
            });
            out.extend_from_slice(nal);
        }
        out
    }

    /// A Baseline SPS with a 4-bit `frame_num` and, for POC type 0, a 6-bit
    /// `pic_order_cnt_lsb`.
    struct TestSps {
        sps_id: u32,
        width_mbs: u32,
        height_map_units: u32,
        frame_mbs_only: bool,
        poc_type: u32,
        crop: Option<[u32; 4]>,
    }

    impl TestSps {
        fn frame(width_mbs: u32, height_mbs: u32) -> Self {
            Self {
                sps_id: 0,
                width_mbs,
                height_map_units: height_mbs,
                frame_mbs_only: true,
                poc_type: 0,
                crop: None,
            }
        }

        fn nal(&self) -> Vec<u8> {
            let mut w = BitWriter::default();
            w.u(8, 66).u(8, 0xc0).u(8, 30).ue(self.sps_id).ue(0);
            w.ue(self.poc_type);
            match self.poc_type {
                0 => w.ue(2),
                1 => w.flag(false).se(0).se(-1).ue(2).se(4).se(-4),
                _ => &mut w,
            };
            w.ue(1).flag(false);
            w.ue(self.width_mbs - 1).ue(self.height_map_units - 1);
            w.flag(self.frame_mbs_only);
            if !self.frame_mbs_only {
                w.flag(false);
            }
            w.flag(true);
            w.flag(self.crop.is_some());
            for offset in self.crop.unwrap_or_default() {
                w.ue(offset);
            }
            w.flag(false).nal(0x67)
        }
    }

    fn test_pps(pps_id: u32, sps_id: u32, bottom_field_poc: bool, redundant: bool) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.ue(pps_id)
            .ue(sps_id)
            .flag(false)
            .flag(bottom_field_poc)
            .ue(0);
        w.ue(0).ue(0).flag(false).u(2, 0).se(0).se(0).se(0);
        w.flag(true).flag(false).flag(redundant).nal(0x68)
    }

    /// How a slice's picture structure is coded.
    #[derive(Clone, Copy)]
    enum Structure {
        /// `frame_mbs_only_flag` is set: nothing coded.
        FrameOnly,
        Frame,
        Top,
        Bottom,
    }

    /// A slice header; `None` fields are not coded.
    #[derive(Clone)]
    struct TestSlice {
        nal_type: u8,
        ref_idc: u8,
        first_mb: u32,
        pps_id: u32,
        frame_num: u32,
        structure: Structure,
        idr_pic_id: Option<u32>,
        poc_lsb: Option<u32>,
        delta_bottom: Option<i32>,
        delta_poc: Vec<i32>,
        redundant: Option<u32>,
    }

    impl TestSlice {
        /// A reference P slice of a frame-only stream with POC type 0.
        fn p(frame_num: u32, poc_lsb: u32, first_mb: u32) -> Self {
            Self {
                nal_type: 1,
                ref_idc: 2,
                first_mb,
                pps_id: 0,
                frame_num,
                structure: Structure::FrameOnly,
                idr_pic_id: None,
                poc_lsb: Some(poc_lsb),
                delta_bottom: None,
                delta_poc: Vec::new(),
                redundant: None,
            }
        }

        fn idr(idr_pic_id: u32, first_mb: u32) -> Self {
            Self {
                nal_type: 5,
                ref_idc: 3,
                idr_pic_id: Some(idr_pic_id),
                ..Self::p(0, 0, first_mb)
            }
        }

        fn nal(&self) -> Vec<u8> {
            let mut w = BitWriter::default();
            let slice_type = if self.nal_type == 5 { 7 } else { 5 };
            w.ue(self.first_mb).ue(slice_type).ue(self.pps_id);
            w.u(4, self.frame_num.into());
            match self.structure {
                Structure::FrameOnly => &mut w,
                Structure::Frame => w.flag(false),
                Structure::Top => w.flag(true).flag(false),
                Structure::Bottom => w.flag(true).flag(true),
            };
            if let Some(id) = self.idr_pic_id {
                w.ue(id);
            }
            if let Some(lsb) = self.poc_lsb {
                w.u(6, lsb.into());
            }
            if let Some(delta) = self.delta_bottom {
                w.se(delta);
            }
            for &delta in &self.delta_poc {
                w.se(delta);
            }
            if let Some(cnt) = self.redundant {
                w.ue(cnt);
            }
            // Some slice data.
            w.se(-3).u(24, 0);
            w.nal(self.ref_idc << 5 | self.nal_type)
        }
    }

    fn params(nals: &[Vec<u8>]) -> ParameterSets {
        let mut params = ParameterSets::new();
        for nal in nals {
            params.update(nal).unwrap();
        }
        params
    }

    /// Splits NAL units into access units, each as its list of NAL units.
    fn split(nals: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
        let mut splitter = AccessUnitSplitter::new();
        let mut aus: Vec<_> = nals.iter().filter_map(|nal| splitter.push(nal)).collect();
        aus.extend(splitter.finish());
        aus.iter()
            .map(|au| {
                assert!(au.starts_with(&START_CODE));
                nal_units(au).map(<[u8]>::to_vec).collect()
            })
            .collect()
    }

    fn types(aus: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
        aus.iter()
            .map(|au| au.iter().map(|nal| nal[0] & 0x1f).collect())
            .collect()
    }

    /// Access units of an Annex B stream, read through `source`.
    fn read_all(source: impl Read) -> Vec<Vec<u8>> {
        let mut reader = AnnexBReader::new(source);
        std::iter::from_fn(|| reader.next_access_unit().unwrap()).collect()
    }

    /// Access units of an Annex B stream split in memory.
    fn split_bytes(data: &[u8]) -> Vec<Vec<u8>> {
        let mut splitter = AccessUnitSplitter::new();
        let mut aus: Vec<_> = nal_units(data)
            .filter_map(|nal| splitter.push(nal))
            .collect();
        aus.extend(splitter.finish());
        aus
    }

    /// A source that returns `Interrupted` every other call and at most `chunk` bytes.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn trickle(data: &[u8], chunk: usize) -> Trickle<'_> {
        Trickle {
            data,
            chunk,
            interrupt: false,
        }
    }

    #[test]
    fn exp_golomb_codes() {
        // 1 | 010 | 011 | 00100, then padding.
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(
            [r.ue(), r.ue(), r.ue(), r.ue()],
            [Ok(0), Ok(1), Ok(2), Ok(3)]
        );
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(
            [r.se(), r.se(), r.se(), r.se()],
            [Ok(0), Ok(1), Ok(-1), Ok(2)]
        );

        let mut w = BitWriter::default();
        w.u(7, 0x55);
        for v in [0, 1, 2, 3, 4, 7, 255, 65535, u32::MAX - 1, u32::MAX] {
            w.ue(v);
        }
        for v in [0, 1, -1, 2, -2, 1000, i32::MAX, i32::MIN + 1] {
            w.se(v);
        }
        w.u(32, 0xdead_beef);
        let rbsp = w.rbsp();
        let mut r = BitReader::new(&rbsp);
        assert_eq!(r.u(7), Ok(0x55));
        for v in [0, 1, 2, 3, 4, 7, 255, 65535, u32::MAX - 1, u32::MAX] {
            assert_eq!(r.ue(), Ok(v));
        }
        for v in [0, 1, -1, 2, -2, 1000, i32::MAX, i32::MIN + 1] {
            assert_eq!(r.se(), Ok(v));
        }
        assert_eq!(r.u(32), Ok(0xdead_beef));
        assert!(!r.more_rbsp_data());
        assert_eq!(r.flag(), Ok(true), "stop bit");
        let padding = r.bits_remaining();
        assert!(padding < 8);
        assert_eq!(r.u(padding as u32), Ok(0));
        assert_eq!(r.flag(), Err(BitstreamError::Truncated));
    }

    #[test]
    fn exp_golomb_limits() {
        // 32 leading zeros: only the value u32::MAX fits.
        let max = [0, 0, 0, 0, 0x80, 0, 0, 0, 0];
        assert_eq!(BitReader::new(&max).ue(), Ok(u32::MAX));
        let over = [0, 0, 0, 0, 0x80, 0, 0, 0, 0x80];
        assert!(matches!(
            BitReader::new(&over).ue(),
            Err(BitstreamError::InvalidValue { .. })
        ));
        // 33 leading zeros are rejected before the data runs out.
        let mut long = vec![0; 5];
        long.extend([0xff; 8]);
        assert_eq!(
            BitReader::new(&long).ue(),
            Err(invalid("exp-Golomb prefix length", 33))
        );
        assert_eq!(BitReader::new(&[0, 0]).ue(), Err(BitstreamError::Truncated));
        assert_eq!(BitReader::new(&[0x01]).ue(), Err(BitstreamError::Truncated));
        // u32::MAX as se would be 2^31.
        assert!(BitReader::new(&max).se().is_err());
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.u(9), Err(BitstreamError::Truncated));
        assert!(matches!(r.u(33), Err(BitstreamError::InvalidValue { .. })));
        assert_eq!(r.skip(9), Err(BitstreamError::Truncated));
        assert_eq!(r.u(8), Ok(0xff), "failed reads consume nothing");
        assert_eq!(r.bits_remaining(), 0);
    }

    #[test]
    fn more_rbsp_data_finds_the_stop_bit() {
        let data = [0b1010_0000, 0, 0];
        let mut r = BitReader::new(&data);
        assert!(r.more_rbsp_data());
        r.skip(1).unwrap();
        assert!(r.more_rbsp_data());
        r.skip(1).unwrap();
        assert!(!r.more_rbsp_data());
        assert!(!BitReader::new(&[0, 0]).more_rbsp_data());
        assert!(!BitReader::new(&[0x80]).more_rbsp_data());
    }

    #[test]
    fn emulation_prevention_is_removed() {
        let cases: [(&[u8], &[u8]); 5] = [
            (&[0, 0, 3, 1], &[0, 0, 1]),
            (&[0, 0, 3, 0, 0, 3], &[0, 0, 0, 0]),
            (&[0x25, 0, 0, 3, 3, 0, 3], &[0x25, 0, 0, 3, 0, 3]),
            (&[0, 3, 0, 3], &[0, 3, 0, 3]),
            (&[], &[]),
        ];
        for (ebsp, rbsp) in cases {
            assert_eq!(&*remove_emulation_prevention(ebsp), rbsp, "{ebsp:02x?}");
        }
        assert!(matches!(
            remove_emulation_prevention(&[0, 3, 0, 3]),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn nal_units_are_framed() {
        let data = [
            0xff, 0x00, 0x12, // garbage before the first start code
            0, 0, 1, 0x67, 0x42, // 3-byte start code
            0, 0, 0, 1, 0x68, 0xce, 0, 0, // 4-byte start code, trailing zeros
            0, 0, 1, 0, 0, // empty NAL unit
            0, 0, 1, 0x65, 0x88, 0x80, 0, 0,
        ];
        let nals: Vec<_> = nal_units(&data).collect();
        assert_eq!(
            nals,
            [&[0x67, 0x42][..], &[0x68, 0xce], &[0x65, 0x88, 0x80]]
        );
        assert_eq!(nal_type(nals[2]), Some(5));
        assert_eq!(nal_ref_idc(nals[2]), Some(3));
        assert_eq!(nal_ref_idc(&[0x41]), Some(2));
        assert_eq!(nal_type(&[]), None);
        assert_eq!(nal_units(&[1, 2, 3, 0, 0]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 1, 0, 0, 0, 1]).count(), 0);
    }

    /// SPS of `talking_head_1280x720_30fps.264` (x264, Constrained Baseline, level 3.1, VUI).
    const SPS_720P: [u8; 25] = [
        0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x80, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
        0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x26, 0x80,
    ];
    /// SPS of `talking_head_1920x1080_30fps.264` (1088 lines cropped to 1080).
    const SPS_1080P: [u8; 26] = [
        0x67, 0x42, 0xc0, 0x32, 0xd9, 0x80, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03,
        0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0xa0,
    ];

    #[test]
    fn sps_of_real_streams() {
        let sps = parse_sps(&SPS_720P).unwrap();
        assert_eq!((sps.width(), sps.height()), (1280, 720));
        assert_eq!(sps.profile_name(), "Constrained Baseline");
        assert_eq!(
            (sps.profile_idc, sps.constraint_flags, sps.level_idc),
            (66, 0xc0, 31)
        );
        assert_eq!(
            (sps.sps_id, sps.chroma_format_idc, sps.bit_depth_luma),
            (0, 1, 8)
        );
        assert_eq!(
            (sps.pic_width_in_mbs, sps.pic_height_in_map_units),
            (80, 45)
        );
        assert!(sps.frame_mbs_only_flag && sps.vui_parameters_present_flag);

        let sps = parse_sps(&SPS_1080P).unwrap();
        assert_eq!((sps.width(), sps.height()), (1920, 1080));
        assert_eq!(
            (sps.pic_height_in_map_units, sps.frame_crop_bottom_offset),
            (68, 4)
        );
        assert_eq!(sps.level_idc, 50);
    }

    #[test]
    fn sps_cropping_and_field_coding() {
        // 304x176 cropped by 2 samples left and right, 4 top and bottom: 300x168.
        let sps = TestSps {
            crop: Some([1, 1, 2, 2]),
            ..TestSps::frame(19, 11)
        };
        let sps = parse_sps(&sps.nal()).unwrap();
        assert_eq!((sps.width(), sps.height()), (300, 168));
        assert_eq!(sps.profile_name(), "Constrained Baseline");
        assert_eq!(
            (sps.log2_max_frame_num, sps.log2_max_pic_order_cnt_lsb),
            (4, 6)
        );

        // Field coding doubles the height and the vertical crop unit.
        let sps = TestSps {
            frame_mbs_only: false,
            crop: Some([0, 0, 0, 2]),
            poc_type: 1,
            ..TestSps::frame(45, 18)
        };
        let sps = parse_sps(&sps.nal()).unwrap();
        assert_eq!((sps.width(), sps.height()), (720, 568));
        assert_eq!(sps.pic_order_cnt_type, 1);
        assert!(!sps.delta_pic_order_always_zero_flag);

        // Cropping away the whole picture is refused.
        let sps = TestSps {
            crop: Some([4, 4, 0, 0]),
            ..TestSps::frame(1, 1)
        };
        assert!(matches!(
            parse_sps(&sps.nal()),
            Err(BitstreamError::InvalidValue { .. })
        ));
    }

    #[test]
    fn high_profile_sps_with_scaling_lists() {
        let mut w = BitWriter::default();
        w.u(8, 122).u(8, 0).u(8, 40).ue(3);
        w.ue(2).ue(2).ue(2).flag(false); // 4:2:2, 10-bit, no transform bypass
        w.flag(true); // seq_scaling_matrix_present_flag
        w.flag(true); // list 0: 16 coded deltas
        for i in 0..16 {
            w.se(if i % 2 == 0 { 5 } else { -3 });
        }
        w.flag(false);
        w.flag(true).se(-8); // list 2: ends at once (next scale 0)
        w.flag(false).flag(false).flag(false);
        w.flag(true); // list 6 (8x8): 64 coded deltas
        for _ in 0..64 {
            w.se(1);
        }
        w.flag(false);
        w.ue(5).ue(2).ue(4).flag(true); // frame_num bits, POC type 2, refs, gaps
        w.ue(119).ue(67).flag(true).flag(true);
        w.flag(true).ue(0).ue(0).ue(0).ue(4);
        w.flag(true);
        let sps = parse_sps(&w.nal(0x67)).unwrap();
        assert_eq!(sps.profile_name(), "High 4:2:2");
        assert_eq!((sps.sps_id, sps.chroma_format_idc), (3, 2));
        assert_eq!((sps.bit_depth_luma, sps.bit_depth_chroma), (10, 10));
        assert_eq!((sps.log2_max_frame_num, sps.pic_order_cnt_type), (9, 2));
        assert_eq!(
            (sps.max_num_ref_frames, sps.gaps_in_frame_num_allowed),
            (4, true)
        );
        // 4:2:2 crops vertically in single lines.
        assert_eq!((sps.width(), sps.height()), (1920, 1084));
        assert!(sps.vui_parameters_present_flag);

        // 4:4:4 with separate colour planes crops in single samples.
        let mut w = BitWriter::default();
        w.u(8, 244).u(8, 0x10).u(8, 10).ue(0);
        w.ue(3).flag(true).ue(0).ue(0).flag(false).flag(false);
        w.ue(0).ue(0).ue(2).ue(1).flag(false);
        w.ue(1).ue(1).flag(true).flag(false);
        w.flag(true).ue(0).ue(3).ue(1).ue(0).flag(false);
        let sps = parse_sps(&w.nal(0x67)).unwrap();
        assert_eq!(sps.profile_name(), "High 4:4:4 Intra");
        assert_eq!(
            (sps.chroma_array_type(), sps.separate_colour_plane_flag),
            (0, true)
        );
        assert_eq!((sps.width(), sps.height()), (29, 31));
    }

    #[test]
    fn sps_errors() {
        assert_eq!(parse_sps(&[]), Err(BitstreamError::Truncated));
        assert_eq!(
            parse_sps(&test_pps(0, 0, false, false)),
            Err(BitstreamError::WrongNalType {
                expected: "SPS",
                found: 8
            })
        );
        // A cut SPS parses to the same values (the cut was in the VUI) or not at all.
        let full = parse_sps(&SPS_720P);
        for len in 1..SPS_720P.len() {
            let cut = parse_sps(&SPS_720P[..len]);
            assert!(
                cut == full || cut == Err(BitstreamError::Truncated),
                "{len}"
            );
        }
        assert_eq!(parse_sps(&SPS_720P[..8]), Err(BitstreamError::Truncated));
        let sps = TestSps {
            sps_id: 32,
            ..TestSps::frame(1, 1)
        };
        assert_eq!(
            parse_sps(&sps.nal()),
            Err(invalid("seq_parameter_set_id", 32))
        );
    }

    #[test]
    fn profile_names() {
        let mut sps = parse_sps(&SPS_720P).unwrap();
        for (profile, flags, name) in [
            (66, 0x00, "Baseline"),
            (66, 0x40, "Constrained Baseline"),
            (77, 0x40, "Main"),
            (88, 0x00, "Extended"),
            (100, 0x00, "High"),
            (100, 0x08, "Progressive High"),
            (100, 0x0c, "Constrained High"),
            (110, 0x10, "High 10 Intra"),
            (7, 0x00, "Unknown"),
        ] {
            (sps.profile_idc, sps.constraint_flags) = (profile, flags);
            assert_eq!(sps.profile_name(), name);
        }
    }

    #[test]
    fn pps_fields() {
        let pps = parse_pps(&test_pps(3, 1, true, true)).unwrap();
        assert_eq!((pps.pps_id, pps.sps_id, pps.num_slice_groups), (3, 1, 1));
        assert!(pps.bottom_field_pic_order_in_frame_present_flag);
        assert!(pps.redundant_pic_cnt_present_flag && pps.deblocking_filter_control_present_flag);
        assert!(!pps.entropy_coding_mode_flag && !pps.transform_8x8_mode_flag);
        assert_eq!(
            (pps.pic_init_qp, pps.num_ref_idx_l0_default_active),
            (26, 1)
        );

        // Every slice group map type, followed by recognisable values.
        for map_type in 0..=6 {
            let mut w = BitWriter::default();
            w.ue(255).ue(31).flag(true).flag(false).ue(2).ue(map_type);
            match map_type {
                0 => w.ue(10).ue(20).ue(30),
                2 => w.ue(1).ue(50).ue(2).ue(60),
                3..=5 => w.flag(true).ue(7),
                6 => w.ue(98).u(99 * 2, 0),
                _ => &mut w,
            };
            w.ue(4).ue(31).flag(true).u(2, 2).se(-4).se(3).se(-12);
            w.flag(false).flag(true).flag(false);
            w.flag(true).flag(false).se(0); // transform_8x8_mode_flag, no matrix
            let pps = parse_pps(&w.nal(0x68)).unwrap();
            assert_eq!((pps.pps_id, pps.sps_id), (255, 31));
            assert_eq!(
                (pps.num_slice_groups, pps.slice_group_map_type),
                (3, map_type as u8)
            );
            assert!(pps.entropy_coding_mode_flag && pps.weighted_pred_flag);
            assert_eq!(pps.num_ref_idx_l0_default_active, 5);
            assert_eq!(pps.num_ref_idx_l1_default_active, 32);
            assert_eq!(
                (pps.weighted_bipred_idc, pps.pic_init_qp, pps.pic_init_qs),
                (2, 22, 29)
            );
            assert_eq!(pps.chroma_qp_index_offset, -12);
            assert!(pps.constrained_intra_pred_flag && pps.transform_8x8_mode_flag);
        }

        let mut w = BitWriter::default();
        w.ue(0)
            .ue(0)
            .flag(false)
            .flag(false)
            .ue(0)
            .ue(0)
            .ue(0)
            .flag(false)
            .u(2, 3);
        assert_eq!(
            parse_pps(&w.nal(0x68)),
            Err(invalid("weighted_bipred_idc", 3))
        );
        let pps = test_pps(0, 0, false, false);
        for len in 0..pps.len() - 1 {
            assert!(parse_pps(&pps[..len]).is_err());
        }
    }

    #[test]
    fn slice_header_prefix() {
        let sps = TestSps {
            frame_mbs_only: false,
            ..TestSps::frame(2, 2)
        };
        let params = params(&[sps.nal(), test_pps(0, 0, true, true)]);
        let slice = TestSlice {
            structure: Structure::Frame,
            delta_bottom: Some(-1),
            redundant: Some(2),
            ..TestSlice::idr(77, 3)
        };
        let header = SliceHeaderPrefix::parse(&slice.nal(), &params).unwrap();
        assert_eq!((header.nal_unit_type, header.nal_ref_idc), (5, 3));
        assert_eq!((header.first_mb_in_slice, header.slice_type), (3, 7));
        assert_eq!(
            (header.idr_pic_id, header.delta_pic_order_cnt_bottom),
            (77, -1)
        );
        assert_eq!(
            (header.redundant_pic_cnt, header.pic_order_cnt_type),
            (2, 0)
        );
        assert!(header.is_idr() && !header.field_pic_flag);

        // No delta_pic_order_cnt_bottom in a field.
        let slice = TestSlice {
            structure: Structure::Bottom,
            redundant: Some(0),
            ..TestSlice::p(9, 33, 0)
        };
        let header = SliceHeaderPrefix::parse(&slice.nal(), &params).unwrap();
        assert!(header.field_pic_flag && header.bottom_field_flag && !header.is_idr());
        assert_eq!((header.frame_num, header.pic_order_cnt_lsb), (9, 33));

        // POC type 1 codes deltas instead of an lsb.
        let sps = TestSps {
            poc_type: 1,
            ..TestSps::frame(2, 2)
        };
        let params = self::params(&[sps.nal(), test_pps(0, 0, true, false)]);
        let slice = TestSlice {
            poc_lsb: None,
            delta_poc: vec![3, -2],
            ..TestSlice::p(1, 0, 0)
        };
        let header = SliceHeaderPrefix::parse(&slice.nal(), &params).unwrap();
        assert_eq!(header.delta_pic_order_cnt, [3, -2]);

        let slice = TestSlice {
            pps_id: 7,
            ..TestSlice::p(1, 0, 0)
        };
        assert_eq!(
            SliceHeaderPrefix::parse(&slice.nal(), &params),
            Err(BitstreamError::UnknownParameterSet { kind: "PPS", id: 7 })
        );
        let params = self::params(&[test_pps(0, 4, false, false)]);
        assert_eq!(
            SliceHeaderPrefix::parse(&TestSlice::p(1, 0, 0).nal(), &params),
            Err(BitstreamError::UnknownParameterSet { kind: "SPS", id: 4 })
        );
        assert!(matches!(
            SliceHeaderPrefix::parse(&SPS_720P, &params),
            Err(BitstreamError::WrongNalType { found: 7, .. })
        ));
    }

    /// AUD, SPS, PPS and SEI; `redundant` sets `redundant_pic_cnt_present_flag`.
    fn stream_start(redundant: bool) -> Vec<Vec<u8>> {
        vec![
            vec![0x09, 0xf0],
            TestSps::frame(3, 3).nal(),
            test_pps(0, 0, false, redundant),
            vec![0x06, 0x05, 0x01, 0x00, 0x80],
        ]
    }

    #[test]
    fn splitter_groups_multi_slice_pictures() {
        let mut nals = stream_start(false);
        nals.extend([0, 3, 6].map(|mb| TestSlice::idr(0, mb).nal()));
        nals.push(vec![0x09, 0x30]);
        nals.extend([0, 3, 6].map(|mb| TestSlice::p(1, 2, mb).nal()));
        // No delimiter: the slice header alone starts the picture.
        nals.extend([0, 3].map(|mb| TestSlice::p(2, 4, mb).nal()));
        nals.push(vec![0x0c, 0xff, 0x80]); // filler data stays
        nals.push(vec![0x06, 0x05, 0x01, 0x00, 0x80]); // SEI starts the next
        nals.push(TestSlice::p(3, 6, 0).nal());
        nals.push(vec![0x0a]); // end of sequence stays
        nals.push(vec![0x0b]); // end of stream stays
        let aus = split(&nals);
        assert_eq!(
            types(&aus),
            [
                vec![9, 7, 8, 6, 5, 5, 5],
                vec![9, 1, 1, 1],
                vec![1, 1, 12],
                vec![6, 1, 10, 11]
            ]
        );
        assert_eq!(aus.concat(), nals, "every NAL unit kept, in order");

        let bytes: Vec<_> = split_bytes(&annex_b(&nals));
        assert!(is_idr_access_unit(&bytes[0]) && parameter_sets_present(&bytes[0]));
        assert!(!is_idr_access_unit(&bytes[1]) && !parameter_sets_present(&bytes[1]));
    }

    #[test]
    fn splitter_keeps_arbitrary_slice_order_and_redundant_slices() {
        let slice = |slice: TestSlice, redundant| {
            TestSlice {
                redundant: Some(redundant),
                ..slice
            }
            .nal()
        };
        let mut nals = stream_start(true);
        nals.extend([6, 0, 3].map(|mb| slice(TestSlice::idr(0, mb), 0)));
        nals.extend([3, 6, 0].map(|mb| slice(TestSlice::p(1, 2, mb), 0)));
        // A redundant copy of the picture, then the next picture.
        nals.push(slice(TestSlice::p(1, 2, 0), 1));
        nals.extend([6, 3, 0].map(|mb| slice(TestSlice::p(2, 4, mb), 0)));
        assert_eq!(
            types(&split(&nals)),
            [vec![9, 7, 8, 6, 5, 5, 5], vec![1, 1, 1, 1], vec![1, 1, 1]]
        );
    }

    #[test]
    fn splitter_applies_each_new_picture_rule() {
        let p = |frame_num, poc| TestSlice::p(frame_num, poc, 0);
        let cases: Vec<(TestSlice, TestSlice, bool)> = vec![
            (p(1, 2), p(1, 2), false),
            (p(1, 2), p(2, 2), true),
            (p(1, 2), p(1, 4), true),
            (
                p(1, 2),
                TestSlice {
                    ref_idc: 0,
                    ..p(1, 2)
                },
                true,
            ),
            (
                p(1, 2),
                TestSlice {
                    ref_idc: 1,
                    ..p(1, 2)
                },
                false,
            ),
            (TestSlice::idr(0, 0), TestSlice::idr(1, 0), true),
            (TestSlice::idr(0, 0), TestSlice::idr(0, 0), false),
            (TestSlice::idr(0, 0), p(0, 0), true),
            (
                p(1, 2),
                TestSlice {
                    pps_id: 1,
                    ..p(1, 2)
                },
                true,
            ),
        ];
        let sps = TestSps::frame(3, 3).nal();
        for (i, (a, b, new)) in cases.into_iter().enumerate() {
            let nals = [
                sps.clone(),
                test_pps(0, 0, false, false),
                test_pps(1, 0, false, false),
                a.nal(),
                b.nal(),
            ];
            assert_eq!(split(&nals).len(), 1 + usize::from(new), "case {i}");
        }

        // Fields of one frame are separate pictures; so are fields differing in POC deltas.
        let field_sps = TestSps {
            frame_mbs_only: false,
            poc_type: 1,
            ..TestSps::frame(3, 3)
        };
        let field = |structure, delta| TestSlice {
            structure,
            poc_lsb: None,
            delta_poc: vec![delta],
            ..TestSlice::p(1, 0, 0)
        };
        let nals = [
            field_sps.nal(),
            test_pps(0, 0, false, false),
            field(Structure::Top, 0).nal(),
            field(Structure::Top, 0).nal(),
            field(Structure::Bottom, 0).nal(),
            field(Structure::Bottom, 1).nal(),
        ];
        assert_eq!(types(&split(&nals)), [vec![7, 8, 1, 1], vec![1], vec![1]]);
    }

    #[test]
    fn splitter_falls_back_without_parameter_sets() {
        let slice = |mb| TestSlice::p(1, 2, mb).nal();
        let nals = [slice(0), slice(3), slice(0), vec![0x21], slice(6), slice(0)];
        assert_eq!(types(&split(&nals)), [vec![1, 1], vec![1, 1, 1], vec![1]]);
        assert_eq!(AccessUnitSplitter::new().push(&[]), None);
        assert_eq!(AccessUnitSplitter::new().finish(), None);
    }

    #[test]
    fn reader_matches_the_in_memory_splitter() {
        let mut nals = stream_start(false);
        nals.extend([0, 3, 6].map(|mb| TestSlice::idr(0, mb).nal()));
        for frame_num in 1..6 {
            nals.extend([6, 0, 3].map(|mb| TestSlice::p(frame_num, 2 * frame_num, mb).nal()));
        }
        let mut data = vec![0xab, 0xcd, 0];
        data.extend(annex_b(&nals));
        data.extend([0, 0, 0]);
        let expected = split_bytes(&data);
        assert_eq!(expected.len(), 6);
        for chunk in [1, 2, 3, 5, 1000] {
            assert_eq!(read_all(trickle(&data, chunk)), expected, "chunk {chunk}");
        }
        let mut reader = AnnexBReader::new(&data[..]);
        while reader.next_access_unit().unwrap().is_some() {}
        assert_eq!(reader.parameter_sets().sps(0).map(Sps::width), Some(48));
        assert!(reader.parameter_sets().pps(0).is_some());
    }

    #[test]
    fn reader_limits_units() {
        let too_large = |result: io::Result<Option<Vec<u8>>>| {
            let error = result.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            error
                .into_inner()
                .unwrap()
                .downcast::<BitstreamError>()
                .map(|e| *e)
                .unwrap()
        };
        let mut data = vec![0, 0, 1];
        data.extend([0x55; 101]);
        let mut reader = AnnexBReader::with_limits(trickle(&data, 7), 100, 1000);
        assert_eq!(
            too_large(reader.next_access_unit()),
            BitstreamError::TooLarge {
                what: "NAL unit",
                limit: 100
            }
        );
        assert_eq!(reader.next_access_unit().unwrap(), None, "exhausted");
        let mut reader = AnnexBReader::with_limits(&data[..3 + 100], 100, 1000);
        assert_eq!(
            reader.next_access_unit().unwrap().map(|au| au.len()),
            Some(104)
        );

        // Slices of one picture add up past the access unit limit.
        let nals = [0, 1, 2].map(|mb| TestSlice::p(1, 2, mb).nal());
        let data = annex_b(&nals);
        let mut reader = AnnexBReader::with_limits(&data[..], 100, 2 * (nals[0].len() + 4));
        assert_eq!(
            too_large(reader.next_access_unit()),
            BitstreamError::TooLarge {
                what: "access unit",
                limit: 2 * (nals[0].len() + 4)
            }
        );
        assert_eq!(reader.next_access_unit().unwrap(), None, "exhausted");
    }

    /// Bytes that look like an Annex B stream: start codes, zero runs and random NAL units.
    fn stream_like() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(vec![0, 0, 1]),
            Just(vec![0, 0, 0, 1]),
            Just(vec![0, 0, 3]),
            proptest::collection::vec(0u8..3, 0..4),
            proptest::collection::vec(any::<u8>(), 0..40),
            (0u8..32).prop_map(|t| vec![0, 0, 1, 0x60 | t]),
        ];
        proptest::collection::vec(piece, 0..60).prop_map(|p| p.concat())
    }

    /// A valid stream with random bytes overwritten or cut off.
    fn damaged_stream() -> impl Strategy<Value = Vec<u8>> {
        let mut nals = stream_start(false);
        nals.extend([0, 3, 6].map(|mb| TestSlice::idr(0, mb).nal()));
        nals.extend([3, 0, 6].map(|mb| TestSlice::p(1, 2, mb).nal()));
        let data = annex_b(&nals);
        let len = data.len();
        (
            proptest::collection::vec((0..len, any::<u8>()), 0..6),
            0..=len,
        )
            .prop_map(move |(edits, cut)| {
                let mut data = data.clone();
                for (i, b) in edits {
                    data[i] = b;
                }
                data.truncate(cut);
                data
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn exp_golomb_round_trips(
            unsigned in proptest::collection::vec(any::<u32>(), 0..20),
            signed in proptest::collection::vec((i32::MIN + 1).., 0..20),
        ) {
            let mut w = BitWriter::default();
            unsigned.iter().for_each(|&v| { w.ue(v); });
            signed.iter().for_each(|&v| { w.se(v); });
            let rbsp = w.rbsp();
            let mut r = BitReader::new(&rbsp);
            for &v in &unsigned {
                prop_assert_eq!(r.ue(), Ok(v));
            }
            for &v in &signed {
                prop_assert_eq!(r.se(), Ok(v));
            }
            prop_assert!(!r.more_rbsp_data());
        }

        #[test]
        fn emulation_prevention_round_trips(rbsp in proptest::collection::vec(0u8..5, 0..200)) {
            let ebsp = escape(&rbsp);
            prop_assert!(!ebsp.windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] < 3));
            prop_assert_eq!(&*remove_emulation_prevention(&ebsp), &rbsp[..]);
        }

        #[test]
        fn nal_units_round_trip(
            payloads in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..50), 0..10),
            long_start_codes in proptest::collection::vec(any::<bool>(), 10),
            trailing_zeros in 0usize..4,
        ) {
            // A NAL unit is escaped and ends with its stop bit.
            let nals: Vec<Vec<u8>> = payloads
                .iter()
                .map(|p| [&[0x41][..], &escape(p), &[0x80]].concat())
                .collect();
            let mut data = Vec::new();
            for (nal, long) in nals.iter().zip(&long_start_codes) {
                data.extend_from_slice(if *long { &START_CODE } else { &START_CODE[1..] });
                data.extend_from_slice(nal);
                data.extend(std::iter::repeat_n(0, trailing_zeros));
            }
            let found: Vec<_> = nal_units(&data).collect();
            prop_assert_eq!(found, nals.iter().map(Vec::as_slice).collect::<Vec<_>>());
        }

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

        #[test]
        fn reader_agrees_with_splitter(
            data in prop_oneof![stream_like(), damaged_stream()],
            chunk in 1usize..64,
        ) {
            let expected = split_bytes(&data);
            prop_assert_eq!(read_all(trickle(&data, chunk)), expected);
            for nal in nal_units(&data) {
                let _ = parse_sps(nal);
                let _ = parse_pps(nal);
            }
        }
    }
}
