//! Sequence and picture parameter sets: the fields up to the SPS's VUI and the PPS's
//! `transform_8x8_mode_flag`, and the table of sets by id that slice headers are read against.

use std::collections::HashMap;

use super::nal::{NAL_PPS, NAL_SPS, nal_type};
use super::rbsp::{BitReader, rbsp_of};
use super::{BitstreamError, invalid};

/// Largest picture dimension accepted in an SPS, in macroblocks (262 144 samples).
const MAX_MBS_PER_DIMENSION: u32 = 1 << 14;

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
    pub(super) fn crop_units(&self) -> (u32, u32) {
        let field_factor = if self.frame_mbs_only_flag { 1 } else { 2 };
        match self.chroma_array_type() {
            0 => (1, field_factor),
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        }
    }

    /// Frame height in macroblocks (`FrameHeightInMbs`).
    pub(super) fn frame_height_in_mbs(&self) -> u32 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::bitstream::testutil::{
        BitWriter, SPS_720P, TestSps, random_pps, random_sps, test_pps,
    };
    use h264_reader::Context;
    use h264_reader::nal::pps::{PicParameterSet, SliceGroup, SliceGroupChangeType};
    use h264_reader::nal::sps::{FrameMbsFlags, PicOrderCntType, SeqParameterSet, SpsError};
    use h264_reader::nal::{Nal, RefNal};
    use proptest::prelude::*;
    use rtvc_testkit::rng::XorShift64;

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

    /// h264-reader's reading of the SPS `nal`, in our terms.
    fn reference_sps(nal: &[u8]) -> Result<(Sps, (u32, u32)), SpsError> {
        let s = SeqParameterSet::from_bits(RefNal::new(nal, &[], true).rbsp_bits())?;
        let (pic_order_cnt_type, log2_max_pic_order_cnt_lsb, delta_pic_order_always_zero_flag) =
            match s.pic_order_cnt {
                PicOrderCntType::TypeZero {
                    log2_max_pic_order_cnt_lsb_minus4,
                } => (0, log2_max_pic_order_cnt_lsb_minus4 + 4, false),
                PicOrderCntType::TypeOne {
                    delta_pic_order_always_zero_flag,
                    ..
                } => (1, 0, delta_pic_order_always_zero_flag),
                PicOrderCntType::TypeTwo => (2, 0, false),
            };
        let (frame_mbs_only_flag, mb_adaptive_frame_field_flag) = match s.frame_mbs_flags {
            FrameMbsFlags::Frames => (true, false),
            FrameMbsFlags::Fields {
                mb_adaptive_frame_field_flag,
            } => (false, mb_adaptive_frame_field_flag),
        };
        let crop = s.frame_cropping.clone().unwrap_or_default();
        let sps = Sps {
            profile_idc: s.profile_idc.into(),
            constraint_flags: s.constraint_flags.into(),
            level_idc: s.level_idc,
            sps_id: s.seq_parameter_set_id.id().into(),
            chroma_format_idc: s.chroma_info.chroma_format.to_u32() as u8,
            separate_colour_plane_flag: s.chroma_info.separate_colour_plane_flag,
            bit_depth_luma: s.chroma_info.bit_depth_luma_minus8 + 8,
            bit_depth_chroma: s.chroma_info.bit_depth_chroma_minus8 + 8,
            log2_max_frame_num: s.log2_max_frame_num(),
            pic_order_cnt_type,
            log2_max_pic_order_cnt_lsb,
            delta_pic_order_always_zero_flag,
            max_num_ref_frames: s.max_num_ref_frames,
            gaps_in_frame_num_allowed: s.gaps_in_frame_num_value_allowed_flag,
            pic_width_in_mbs: s.pic_width_in_mbs(),
            pic_height_in_map_units: s.pic_height_in_map_units(),
            frame_mbs_only_flag,
            mb_adaptive_frame_field_flag,
            direct_8x8_inference_flag: s.direct_8x8_inference_flag,
            frame_crop_left_offset: crop.left_offset,
            frame_crop_right_offset: crop.right_offset,
            frame_crop_top_offset: crop.top_offset,
            frame_crop_bottom_offset: crop.bottom_offset,
            vui_parameters_present_flag: s.vui_parameters.is_some(),
        };
        Ok((sps, s.pixel_dimensions()?))
    }

    /// h264-reader's reading of the PPS `nal` (with the SPS `sps_nal`), in our terms.
    fn reference_pps(nal: &[u8], sps_nal: &[u8]) -> Pps {
        let mut ctx = Context::new();
        ctx.put_seq_param_set(
            SeqParameterSet::from_bits(RefNal::new(sps_nal, &[], true).rbsp_bits()).unwrap(),
        );
        let p = PicParameterSet::from_bits(&ctx, RefNal::new(nal, &[], true).rbsp_bits()).unwrap();
        let (num_slice_groups, slice_group_map_type) = match &p.slice_groups {
            None => (1, 0),
            Some(SliceGroup::Interleaved { run_length_minus1 }) => (run_length_minus1.len(), 0),
            Some(SliceGroup::Dispersed {
                num_slice_groups_minus1,
            }) => (*num_slice_groups_minus1 as usize + 1, 1),
            Some(SliceGroup::ForegroundAndLeftover { rectangles }) => (rectangles.len() + 1, 2),
            Some(SliceGroup::Changing {
                change_type,
                num_slice_groups_minus1,
                ..
            }) => {
                let map_type = match change_type {
                    SliceGroupChangeType::BoxOut => 3,
                    SliceGroupChangeType::RasterScan => 4,
                    SliceGroupChangeType::WipeOut => 5,
                };
                (*num_slice_groups_minus1 as usize + 1, map_type)
            }
            Some(SliceGroup::ExplicitAssignment {
                num_slice_groups_minus1,
                ..
            }) => (*num_slice_groups_minus1 as usize + 1, 6),
        };
        Pps {
            pps_id: p.pic_parameter_set_id.id().into(),
            sps_id: p.seq_parameter_set_id.id().into(),
            entropy_coding_mode_flag: p.entropy_coding_mode_flag,
            bottom_field_pic_order_in_frame_present_flag: p
                .bottom_field_pic_order_in_frame_present_flag,
            num_slice_groups: num_slice_groups as u32,
            slice_group_map_type,
            num_ref_idx_l0_default_active: p.num_ref_idx_l0_default_active_minus1 + 1,
            num_ref_idx_l1_default_active: p.num_ref_idx_l1_default_active_minus1 + 1,
            weighted_pred_flag: p.weighted_pred_flag,
            weighted_bipred_idc: p.weighted_bipred_idc,
            pic_init_qp: 26 + p.pic_init_qp_minus26,
            pic_init_qs: 26 + p.pic_init_qs_minus26,
            chroma_qp_index_offset: p.chroma_qp_index_offset,
            deblocking_filter_control_present_flag: p.deblocking_filter_control_present_flag,
            constrained_intra_pred_flag: p.constrained_intra_pred_flag,
            redundant_pic_cnt_present_flag: p.redundant_pic_cnt_present_flag,
            transform_8x8_mode_flag: p.extension.is_some_and(|e| e.transform_8x8_mode_flag),
        }
    }

    #[test]
    fn sps_agree_with_h264_reader_on_real_and_hand_made_streams() {
        let high_422 = {
            // The 4:2:2 SPS of `high_profile_sps_with_scaling_lists`, without its VUI.
            let mut w = BitWriter::default();
            w.u(8, 122)
                .u(8, 0)
                .u(8, 40)
                .ue(3)
                .ue(2)
                .ue(2)
                .ue(2)
                .flag(false)
                .flag(true);
            w.flag(true);
            for i in 0..16 {
                w.se(if i % 2 == 0 { 5 } else { -3 });
            }
            w.flag(false)
                .flag(true)
                .se(-8)
                .flag(false)
                .flag(false)
                .flag(false);
            w.flag(true);
            for _ in 0..64 {
                w.se(1);
            }
            w.flag(false)
                .ue(5)
                .ue(2)
                .ue(4)
                .flag(true)
                .ue(119)
                .ue(67)
                .flag(true)
                .flag(true);
            w.flag(true).ue(0).ue(0).ue(0).ue(4).flag(false);
            w.nal(0x67)
        };
        let fields = TestSps {
            frame_mbs_only: false,
            crop: Some([0, 0, 0, 2]),
            poc_type: 1,
            ..TestSps::frame(45, 18)
        };
        for nal in [
            SPS_720P.to_vec(),
            SPS_1080P.to_vec(),
            high_422,
            fields.nal(),
            TestSps::frame(19, 11).nal(),
        ] {
            let ours = parse_sps(&nal).unwrap();
            let (theirs, size) = reference_sps(&nal).unwrap();
            assert_eq!(ours, theirs);
            assert_eq!((ours.width(), ours.height()), size);
        }
    }

    /// The reasons the module docs give for reading SPSs ourselves. openh264 decodes the 720p
    /// camera clip with its SPS changed in each of these ways to the same MD5 as the original
    /// (checked with `rtvc decode --md5`), and we read them; h264-reader refuses them. When
    /// this test fails h264-reader has relaxed, and the module docs need another look.
    #[test]
    fn h264_reader_refuses_sps_that_openh264_decodes() {
        // Level 3.0 allows 1620 macroblocks a frame, 720p has 3600.
        let mut level_3 = SPS_720P;
        level_3[3] = 30;
        // max_dec_frame_buffering 4 in the VUI, below max_num_ref_frames 5.
        let mut dpb_4 = SPS_720P;
        dpb_4[23] = 0x25;
        // A stray byte after the stop bit.
        let stray_byte = [&SPS_720P[..], &[0x04]].concat();
        let original = parse_sps(&SPS_720P).unwrap();
        for (nal, what) in [
            (&level_3[..], "level"),
            (&dpb_4, "DPB size"),
            (&stray_byte, "stray byte"),
        ] {
            let sps = parse_sps(nal).unwrap();
            assert_eq!((sps.width(), sps.height()), (1280, 720), "{what}");
            assert_eq!(
                sps.max_num_ref_frames, original.max_num_ref_frames,
                "{what}"
            );
            let refused = reference_sps(nal).map(|(_, size)| size).unwrap_err();
            assert!(
                matches!(
                    (what, &refused),
                    ("level", SpsError::FieldValueTooLarge { .. })
                        | ("DPB size", SpsError::FieldValueTooSmall { .. })
                        | ("stray byte", SpsError::RbspReaderError(_))
                ),
                "{what}: {refused:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Generated SPSs and PPSs read the same with h264-reader.
        #[test]
        fn parameter_sets_agree_with_h264_reader(seed in any::<u64>()) {
            let mut rng = XorShift64::from_state(seed | 1);
            let sps_nal = random_sps(&mut rng);
            let sps = parse_sps(&sps_nal).unwrap();
            let (theirs, size) = reference_sps(&sps_nal).unwrap();
            prop_assert_eq!(&sps, &theirs);
            prop_assert_eq!((sps.width(), sps.height()), size);
            let pps_nal = random_pps(&mut rng, &sps);
            prop_assert_eq!(parse_pps(&pps_nal).unwrap(), reference_pps(&pps_nal, &sps_nal));
        }
    }
}
