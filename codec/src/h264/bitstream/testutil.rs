//! Builders for hand-made H.264 NAL units and streams, shared by the tests of this module.

use rtvc_testkit::rng::XorShift64;

use super::nal::{START_CODE, nal_units};
use super::{AccessUnitSplitter, ParameterSets, Sps};

/// Writes RBSP bits, for hand-made NAL units.
#[derive(Default)]
pub(super) struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    pub(super) fn flag(&mut self, bit: bool) -> &mut Self {
        if self.bits.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit {
            *self.bytes.last_mut().unwrap() |= 0x80 >> (self.bits % 8);
        }
        self.bits += 1;
        self
    }

    pub(super) fn u(&mut self, bits: u32, value: u64) -> &mut Self {
        for i in (0..bits).rev() {
            self.flag(value >> i & 1 == 1);
        }
        self
    }

    pub(super) fn ue(&mut self, value: u32) -> &mut Self {
        let code = u64::from(value) + 1;
        let len = 64 - code.leading_zeros();
        self.u(len - 1, 0).u(len, code)
    }

    pub(super) fn se(&mut self, value: i32) -> &mut Self {
        let value = i64::from(value);
        let code = if value > 0 { 2 * value - 1 } else { -2 * value };
        self.ue(u32::try_from(code).unwrap())
    }

    /// The bits written, followed by `rbsp_trailing_bits`.
    pub(super) fn rbsp(&self) -> Vec<u8> {
        let mut w = BitWriter {
            bytes: self.bytes.clone(),
            bits: self.bits,
        };
        w.flag(true);
        w.bytes
    }

    /// A NAL unit with header byte `header` and the bits written as its RBSP.
    pub(super) fn nal(&self, header: u8) -> Vec<u8> {
        let mut nal = vec![header];
        nal.extend(escape(&self.rbsp()));
        nal
    }
}

/// Inserts emulation-prevention bytes.
pub(super) fn escape(rbsp: &[u8]) -> Vec<u8> {
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
pub(super) fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
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

/// SPS of `talking_head_1280x720_30fps.264` (x264, Constrained Baseline, level 3.1, VUI).
pub(super) const SPS_720P: [u8; 25] = [
    0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x80, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
    0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x26, 0x80,
];

/// A Baseline SPS with a 4-bit `frame_num` and, for POC type 0, a 6-bit
/// `pic_order_cnt_lsb`.
pub(super) struct TestSps {
    pub(super) sps_id: u32,
    pub(super) width_mbs: u32,
    pub(super) height_map_units: u32,
    pub(super) frame_mbs_only: bool,
    pub(super) poc_type: u32,
    pub(super) crop: Option<[u32; 4]>,
}

impl TestSps {
    pub(super) fn frame(width_mbs: u32, height_mbs: u32) -> Self {
        Self {
            sps_id: 0,
            width_mbs,
            height_map_units: height_mbs,
            frame_mbs_only: true,
            poc_type: 0,
            crop: None,
        }
    }

    pub(super) fn nal(&self) -> Vec<u8> {
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
        for offset in self.crop.into_iter().flatten() {
            w.ue(offset);
        }
        w.flag(false).nal(0x67)
    }
}

pub(super) fn test_pps(
    pps_id: u32,
    sps_id: u32,
    bottom_field_poc: bool,
    redundant: bool,
) -> Vec<u8> {
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
pub(super) enum Structure {
    /// `frame_mbs_only_flag` is set: nothing coded.
    FrameOnly,
    Frame,
    Top,
    Bottom,
}

/// A slice header; `None` fields are not coded.
#[derive(Clone)]
pub(super) struct TestSlice {
    pub(super) nal_type: u8,
    pub(super) ref_idc: u8,
    pub(super) first_mb: u32,
    pub(super) pps_id: u32,
    pub(super) frame_num: u32,
    pub(super) structure: Structure,
    pub(super) idr_pic_id: Option<u32>,
    pub(super) poc_lsb: Option<u32>,
    pub(super) delta_bottom: Option<i32>,
    pub(super) delta_poc: Vec<i32>,
    pub(super) redundant: Option<u32>,
}

impl TestSlice {
    /// A reference P slice of a frame-only stream with POC type 0.
    pub(super) fn p(frame_num: u32, poc_lsb: u32, first_mb: u32) -> Self {
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

    pub(super) fn idr(idr_pic_id: u32, first_mb: u32) -> Self {
        Self {
            nal_type: 5,
            ref_idc: 3,
            idr_pic_id: Some(idr_pic_id),
            ..Self::p(0, 0, first_mb)
        }
    }

    pub(super) fn nal(&self) -> Vec<u8> {
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

pub(super) fn params(nals: &[Vec<u8>]) -> ParameterSets {
    let mut params = ParameterSets::new();
    for nal in nals {
        params.update(nal).unwrap();
    }
    params
}

/// Access units of an Annex B stream split in memory.
pub(super) fn split_bytes(data: &[u8]) -> Vec<Vec<u8>> {
    let mut splitter = AccessUnitSplitter::new();
    let mut aus: Vec<_> = nal_units(data)
        .filter_map(|nal| splitter.push(nal))
        .collect();
    aus.extend(splitter.finish());
    aus
}

/// Writes a `scaling_list()` of `size` random coefficients (spec §7.3.2.1.1.1): deltas until
/// the list is full or a scale reaches 0.
fn random_scaling_list(w: &mut BitWriter, rng: &mut XorShift64, size: usize) {
    let mut last = 8;
    for _ in 0..size {
        let delta = rng.below(256) as i32 - 128;
        w.se(delta);
        last = (last + delta + 256) % 256;
        if last == 0 {
            break;
        }
    }
}

/// A random valid SPS of any profile, chroma format, picture order count type, picture
/// structure and cropping, up to 1920x1088 at level 5.1, with no VUI or an empty one.
pub(super) fn random_sps(rng: &mut XorShift64) -> Vec<u8> {
    let mut w = BitWriter::default();
    let profile = [66, 77, 88, 100, 110, 122, 244, 44, 118, 128][rng.below(10) as usize];
    w.u(8, profile).u(8, rng.below(64) << 2).u(8, 51);
    w.ue(rng.below(32) as u32);
    if profile >= 100 || profile == 44 {
        let chroma_format_idc = rng.below(4) as u32;
        w.ue(chroma_format_idc);
        if chroma_format_idc == 3 {
            w.flag(rng.chance(500));
        }
        w.ue(rng.below(7) as u32).ue(rng.below(7) as u32);
        w.flag(rng.chance(500));
        let matrix = rng.chance(500);
        w.flag(matrix);
        if matrix {
            for i in 0..if chroma_format_idc == 3 { 12 } else { 8 } {
                let present = rng.chance(500);
                w.flag(present);
                if present {
                    random_scaling_list(&mut w, rng, if i < 6 { 16 } else { 64 });
                }
            }
        }
    }
    w.ue(rng.below(13) as u32);
    let poc_type = rng.below(3) as u32;
    w.ue(poc_type);
    match poc_type {
        0 => {
            w.ue(rng.below(13) as u32);
        }
        1 => {
            let offset = |rng: &mut XorShift64| rng.below(2001) as i32 - 1000;
            w.flag(rng.chance(500)).se(offset(rng)).se(offset(rng));
            let cycle = rng.below(256) as u32;
            w.ue(cycle);
            for _ in 0..cycle {
                w.se(offset(rng));
            }
        }
        _ => {}
    }
    w.ue(rng.below(17) as u32).flag(rng.chance(500));
    w.ue(rng.below(120) as u32).ue(rng.below(68) as u32);
    let frame_mbs_only = rng.chance(500);
    w.flag(frame_mbs_only);
    if !frame_mbs_only {
        w.flag(rng.chance(500));
    }
    w.flag(rng.chance(500));
    // At most 6 crop units of at most 4 lines each: always less than one macroblock (pair).
    let crop = rng.chance(500);
    w.flag(crop);
    if crop {
        for _ in 0..4 {
            w.ue(rng.below(4) as u32);
        }
    }
    let vui = rng.chance(500);
    w.flag(vui);
    if vui {
        // aspect ratio, overscan, video signal, chroma location, timing, NAL and VCL HRD,
        // pic_struct_present_flag, bitstream restriction: all absent.
        for _ in 0..9 {
            w.flag(false);
        }
    }
    w.nal(0x67)
}

/// A random valid PPS for `sps`: any id, slice group map (with values that fit the picture),
/// reference counts, weighted prediction, QPs, and with or without the High-profile part
/// (scaling lists included).
pub(super) fn random_pps(rng: &mut XorShift64, sps: &Sps) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.ue(rng.below(256) as u32).ue(sps.sps_id);
    w.flag(rng.chance(500)).flag(rng.chance(500));
    let groups_minus1 = if rng.chance(500) {
        0
    } else {
        1 + rng.below(7) as u32
    };
    w.ue(groups_minus1);
    let (width, height) = (sps.pic_width_in_mbs, sps.pic_height_in_map_units);
    let size = width * height;
    let below = |rng: &mut XorShift64, n: u32| rng.below(n.into()) as u32;
    if groups_minus1 > 0 {
        let map_type = rng.below(7) as u32;
        w.ue(map_type);
        match map_type {
            0 => {
                for _ in 0..=groups_minus1 {
                    w.ue(below(rng, size));
                }
            }
            2 => {
                for _ in 0..groups_minus1 {
                    let (x0, y0) = (below(rng, width), below(rng, height));
                    let (x1, y1) = (x0 + below(rng, width - x0), y0 + below(rng, height - y0));
                    w.ue(y0 * width + x0).ue(y1 * width + x1);
                }
            }
            3..=5 => {
                w.flag(rng.chance(500)).ue(below(rng, size));
            }
            6 => {
                w.ue(size - 1);
                let bits = 32 - groups_minus1.leading_zeros();
                for _ in 0..size {
                    w.u(bits, rng.below(u64::from(groups_minus1) + 1));
                }
            }
            _ => {}
        }
    }
    w.ue(below(rng, 32)).ue(below(rng, 32));
    w.flag(rng.chance(500)).u(2, rng.below(3));
    let qp_min = -26 - 6 * i32::from(sps.bit_depth_luma - 8);
    w.se(qp_min + below(rng, (26 - qp_min) as u32) as i32);
    w.se(below(rng, 52) as i32 - 26)
        .se(below(rng, 25) as i32 - 12);
    w.flag(rng.chance(500))
        .flag(rng.chance(500))
        .flag(rng.chance(500));
    if rng.chance(500) {
        let transform_8x8 = rng.chance(500);
        w.flag(transform_8x8);
        let matrix = rng.chance(500);
        w.flag(matrix);
        if matrix {
            let lists_8x8 = match (transform_8x8, sps.chroma_format_idc) {
                (false, _) => 0,
                (true, 3) => 6,
                (true, _) => 2,
            };
            for i in 0..6 + lists_8x8 {
                let present = rng.chance(500);
                w.flag(present);
                if present {
                    random_scaling_list(&mut w, rng, if i < 6 { 16 } else { 64 });
                }
            }
        }
        w.se(below(rng, 25) as i32 - 12);
    }
    w.nal(0x68)
}
