//! The leading slice header fields that decide whether a slice starts a new primary coded
//! picture (spec §7.4.1.2.4).

use super::BitstreamError;
use super::nal::{NAL_IDR_SLICE, NAL_SLICE, NAL_SLICE_PARTITION_A};
use super::params::ParameterSets;
use super::rbsp::{BitReader, remove_emulation_prevention};

/// Escaped slice bytes that always hold every field of a [`SliceHeaderPrefix`]: at most 46
/// bytes of RBSP, plus one emulation-prevention byte per two bytes in the worst case.
const SLICE_HEADER_PREFIX_MAX_EBSP: usize = 128;

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
pub(super) fn first_mb_in_slice(nal: &[u8]) -> Option<u32> {
    let payload = nal.get(1..)?;
    let rbsp = remove_emulation_prevention(&payload[..payload.len().min(8)]);
    BitReader::new(&rbsp).ue().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::bitstream::testutil::{
        BitWriter, SPS_720P, Structure, TestSlice, TestSps, params, random_sps, test_pps,
    };
    use crate::h264::bitstream::{Pps, Sps, parse_pps, parse_sps};
    use h264_reader::Context;
    use h264_reader::nal::pps::PicParameterSet;
    use h264_reader::nal::slice::{
        ColourPlane, Field, FieldPic, PicOrderCountLsb, SliceExclusive, SliceFamily, SliceHeader,
    };
    use h264_reader::nal::sps::SeqParameterSet;
    use h264_reader::nal::{Nal, NalHeader, RefNal};
    use proptest::prelude::*;
    use rtvc_testkit::rng::XorShift64;

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

    /// A PPS for `sps` with random fields that change how a slice header is coded, and no
    /// weighted prediction or slice groups.
    fn random_slice_pps(rng: &mut XorShift64, sps: &Sps) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.ue(rng.below(256) as u32).ue(sps.sps_id);
        w.flag(rng.chance(500)).flag(rng.chance(500)).ue(0);
        w.ue(rng.below(32) as u32).ue(rng.below(32) as u32);
        w.flag(false).u(2, 0).se(0).se(0).se(0);
        w.flag(rng.chance(500))
            .flag(rng.chance(500))
            .flag(rng.chance(500));
        w.nal(0x68)
    }

    /// A complete, valid random slice header for `sps` and `pps`, followed by slice data: a
    /// non-IDR, partition A or IDR slice of a P, B or I picture.
    fn random_slice(rng: &mut XorShift64, sps: &Sps, pps: &Pps) -> Vec<u8> {
        let nal_unit_type = [1, 2, 5][rng.below(3) as usize];
        let idr = nal_unit_type == 5;
        let ref_idc = if idr { 1 + rng.below(3) } else { rng.below(4) } as u8;
        let types: &[u32] = if idr { &[2, 7] } else { &[0, 1, 2, 5, 6, 7] };
        let slice_type = types[rng.below(types.len() as u64) as usize];
        let (p, b) = (slice_type.is_multiple_of(5), slice_type % 5 == 1);
        let mut w = BitWriter::default();
        let mbs = sps.pic_width_in_mbs * sps.pic_height_in_map_units;
        w.ue(rng.below(mbs.into()) as u32)
            .ue(slice_type)
            .ue(pps.pps_id);
        if sps.separate_colour_plane_flag {
            w.u(2, rng.below(3));
        }
        w.u(sps.log2_max_frame_num.into(), rng.next_u64());
        let mut field = false;
        if !sps.frame_mbs_only_flag {
            field = rng.chance(500);
            w.flag(field);
            if field {
                w.flag(rng.chance(500));
            }
        }
        if idr {
            w.ue(rng.below(65536) as u32);
        }
        let bottom = pps.bottom_field_pic_order_in_frame_present_flag && !field;
        let delta = |rng: &mut XorShift64| rng.below(2001) as i32 - 1000;
        match sps.pic_order_cnt_type {
            0 => {
                w.u(sps.log2_max_pic_order_cnt_lsb.into(), rng.next_u64());
                if bottom {
                    w.se(delta(rng));
                }
            }
            1 if !sps.delta_pic_order_always_zero_flag => {
                w.se(delta(rng));
                if bottom {
                    w.se(delta(rng));
                }
            }
            _ => {}
        }
        if pps.redundant_pic_cnt_present_flag {
            w.ue(rng.below(128) as u32);
        }
        if b {
            w.flag(rng.chance(500)); // direct_spatial_mv_pred_flag
        }
        if p || b {
            // No num_ref_idx_active_override_flag, no ref_pic_list_modification_flag_l0 (l1).
            w.flag(false).flag(false);
            if b {
                w.flag(false);
            }
        }
        if ref_idc != 0 {
            if idr {
                w.flag(rng.chance(500)).flag(rng.chance(500));
            } else {
                w.flag(false); // adaptive_ref_pic_marking_mode_flag
            }
        }
        if pps.entropy_coding_mode_flag && (p || b) {
            w.ue(rng.below(3) as u32);
        }
        w.se(0); // slice_qp_delta
        if pps.deblocking_filter_control_present_flag {
            let idc = rng.below(3) as u32;
            w.ue(idc);
            if idc != 1 {
                w.se(rng.below(13) as i32 - 6).se(rng.below(13) as i32 - 6);
            }
        }
        w.u(8, 0xa5); // slice data (or partition A's slice_id)
        w.nal(ref_idc << 5 | nal_unit_type)
    }

    /// h264-reader's reading of the slice `nal`, in our terms.
    fn reference_slice(nal: &[u8], sps_nal: &[u8], pps_nal: &[u8]) -> SliceHeaderPrefix {
        let mut ctx = Context::new();
        let rbsp = |nal| RefNal::new(nal, &[], true).rbsp_bits();
        ctx.put_seq_param_set(SeqParameterSet::from_bits(rbsp(sps_nal)).unwrap());
        let pps = PicParameterSet::from_bits(&ctx, rbsp(pps_nal)).unwrap();
        ctx.put_pic_param_set(pps);
        let header = NalHeader::new(nal[0]).unwrap();
        let (h, sps, pps) = SliceHeader::from_bits(&ctx, &mut rbsp(nal), header, None).unwrap();
        let family = match h.slice_type.family {
            SliceFamily::P => 0,
            SliceFamily::B => 1,
            SliceFamily::I => 2,
            SliceFamily::SP => 3,
            SliceFamily::SI => 4,
        };
        let exclusive = h.slice_type.exclusive == SliceExclusive::Exclusive;
        let (field_pic_flag, bottom_field_flag) = match h.field_pic {
            FieldPic::Frame => (false, false),
            FieldPic::Field(field) => (true, field == Field::Bottom),
        };
        let (pic_order_cnt_lsb, delta_pic_order_cnt_bottom, delta_pic_order_cnt) =
            match h.pic_order_cnt_lsb {
                Some(PicOrderCountLsb::Frame(lsb)) => (lsb, 0, [0; 2]),
                Some(PicOrderCountLsb::FieldsAbsolute {
                    pic_order_cnt_lsb,
                    delta_pic_order_cnt_bottom,
                }) => (pic_order_cnt_lsb, delta_pic_order_cnt_bottom, [0; 2]),
                Some(PicOrderCountLsb::FieldsDelta(delta)) => (0, 0, delta),
                None => (0, 0, [0; 2]),
            };
        SliceHeaderPrefix {
            nal_unit_type: nal[0] & 0x1f,
            nal_ref_idc: header.nal_ref_idc(),
            first_mb_in_slice: h.first_mb_in_slice,
            slice_type: family + if exclusive { 5 } else { 0 },
            pps_id: pps.pic_parameter_set_id.id().into(),
            colour_plane_id: match h.colour_plane {
                None | Some(ColourPlane::Y) => 0,
                Some(ColourPlane::Cb) => 1,
                Some(ColourPlane::Cr) => 2,
            },
            frame_num: h.frame_num.into(),
            field_pic_flag,
            bottom_field_flag,
            idr_pic_id: h.idr_pic_id.unwrap_or(0),
            pic_order_cnt_type: match sps.pic_order_cnt {
                h264_reader::nal::sps::PicOrderCntType::TypeZero { .. } => 0,
                h264_reader::nal::sps::PicOrderCntType::TypeOne { .. } => 1,
                h264_reader::nal::sps::PicOrderCntType::TypeTwo => 2,
            },
            pic_order_cnt_lsb,
            delta_pic_order_cnt_bottom,
            delta_pic_order_cnt,
            redundant_pic_cnt: h.redundant_pic_cnt.unwrap_or(0),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Generated slice headers (of every picture structure, POC type, IDR or not,
        /// redundant or not) give the same prefix as h264-reader's full parse.
        #[test]
        fn slice_header_prefix_agrees_with_h264_reader(seed in any::<u64>()) {
            let mut rng = XorShift64::from_state(seed | 1);
            let sps_nal = random_sps(&mut rng);
            let sps = parse_sps(&sps_nal).unwrap();
            let pps_nal = random_slice_pps(&mut rng, &sps);
            let pps = parse_pps(&pps_nal).unwrap();
            let params = self::params(&[sps_nal.clone(), pps_nal.clone()]);
            for _ in 0..4 {
                let nal = random_slice(&mut rng, &sps, &pps);
                prop_assert_eq!(
                    SliceHeaderPrefix::parse(&nal, &params).unwrap(),
                    reference_slice(&nal, &sps_nal, &pps_nal)
                );
            }
        }
    }
}
