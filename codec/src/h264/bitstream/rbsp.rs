//! RBSP extraction (emulation-prevention removal) and the exp-Golomb [`BitReader`].

use std::borrow::Cow;
use std::ops::RangeInclusive;

use super::{BitstreamError, invalid};

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
pub(super) fn rbsp_of<'a>(
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
    pub(super) fn ue_max(&mut self, field: &'static str, max: u32) -> Result<u32, BitstreamError> {
        match self.ue()? {
            v if v <= max => Ok(v),
            v => Err(invalid(field, v)),
        }
    }

    /// `se(v)` that must lie in `range`.
    pub(super) fn se_in(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::bitstream::testutil::{BitWriter, escape};
    use proptest::prelude::*;

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
    }
}
