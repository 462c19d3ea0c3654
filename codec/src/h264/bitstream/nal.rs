//! Annex B framing: start codes, iteration over the NAL units of a byte slice, and NAL unit
//! classification by header byte.

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

/// The start code written before every NAL unit of an access unit.
pub(super) const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Index of the first `00 00 01` in `data`.
pub(super) fn find_start_code(data: &[u8]) -> Option<usize> {
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
pub(super) fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::bitstream::testutil::escape;
    use proptest::prelude::*;

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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

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
    }
}
