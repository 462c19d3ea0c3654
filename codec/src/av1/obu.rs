//! Just enough AV1 OBU syntax (spec section 5) to frame and classify temporal units:
//! OBU headers, LEB128 sizes, temporal delimiters and "is this a keyframe".
//!
//! Everything here works on untrusted bytes and returns `None`/errors instead of panicking.

/// OBU types (AV1 spec 6.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ObuType {
    /// Sequence header.
    SequenceHeader = 1,
    /// Temporal delimiter.
    TemporalDelimiter = 2,
    /// Frame header.
    FrameHeader = 3,
    /// Tile group.
    TileGroup = 4,
    /// Metadata.
    Metadata = 5,
    /// Frame (header + tile group).
    Frame = 6,
    /// Redundant frame header.
    RedundantFrameHeader = 7,
    /// Tile list.
    TileList = 8,
    /// Padding.
    Padding = 15,
}

impl ObuType {
    /// From the 4-bit `obu_type` field; reserved values give `None`.
    pub fn from_bits(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::SequenceHeader,
            2 => Self::TemporalDelimiter,
            3 => Self::FrameHeader,
            4 => Self::TileGroup,
            5 => Self::Metadata,
            6 => Self::Frame,
            7 => Self::RedundantFrameHeader,
            8 => Self::TileList,
            15 => Self::Padding,
            _ => return None,
        })
    }
}

/// A temporal delimiter OBU with a zero size field: what a temporal unit starts with in IVF and
/// Section 5 streams.
pub const TEMPORAL_DELIMITER: [u8; 2] = [0x12, 0x00];

/// Reads an unsigned LEB128 value (at most 8 bytes, value < 2^32 as the spec requires).
/// Returns the value and the number of bytes used.
pub fn read_leb128(data: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for i in 0..8 {
        let b = *data.get(i)?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (value <= u64::from(u32::MAX)).then_some((value, i + 1));
        }
    }
    None
}

/// Appends `value` as LEB128 (minimal length).
pub fn write_leb128(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let mut b = (value & 0x7f) as u8;
        value >>= 7;
        if value != 0 {
            b |= 0x80;
        }
        out.push(b);
        if value == 0 {
            break;
        }
    }
}

/// One parsed OBU: its header fields and where its payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Obu<'a> {
    /// Raw `obu_type` (4 bits); see [`ObuType::from_bits`].
    pub obu_type: u8,
    /// Temporal layer id from the extension header (0 without it).
    pub temporal_id: u8,
    /// Spatial layer id from the extension header (0 without it).
    pub spatial_id: u8,
    /// Whether the header carried an extension byte.
    pub has_extension: bool,
    /// Whether the header carried a size field.
    pub has_size_field: bool,
    /// The payload.
    pub payload: &'a [u8],
    /// The whole OBU (header, size field, payload).
    pub raw: &'a [u8],
}

/// Why a buffer is not a valid OBU sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObuError {
    /// The forbidden bit is set.
    ForbiddenBit,
    /// A header, size field or payload runs past the end of the data.
    Truncated,
    /// A LEB128 size is malformed or larger than 2^32-1.
    BadSize,
}

impl std::fmt::Display for ObuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObuError::ForbiddenBit => "OBU forbidden bit set",
            ObuError::Truncated => "OBU runs past the end of the data",
            ObuError::BadSize => "malformed OBU size",
        })
    }
}

/// Iterates the OBUs of a low-overhead (Section 5) buffer. An OBU without a size field extends
/// to the end of the buffer. Stops at the first error, which it yields.
#[derive(Debug, Clone)]
pub struct ObuIter<'a> {
    data: &'a [u8],
    failed: bool,
}

/// OBUs of `data`.
pub fn obus(data: &[u8]) -> ObuIter<'_> {
    ObuIter {
        data,
        failed: false,
    }
}

impl<'a> Iterator for ObuIter<'a> {
    type Item = Result<Obu<'a>, ObuError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() || self.failed {
            return None;
        }
        let r = parse_one(self.data);
        match r {
            Ok((obu, used)) => {
                self.data = &self.data[used..];
                Some(Ok(obu))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn parse_one(data: &[u8]) -> Result<(Obu<'_>, usize), ObuError> {
    let h = *data.first().ok_or(ObuError::Truncated)?;
    if h & 0x80 != 0 {
        return Err(ObuError::ForbiddenBit);
    }
    let obu_type = (h >> 3) & 0x0f;
    let has_extension = h & 0x04 != 0;
    let has_size_field = h & 0x02 != 0;
    let mut pos = 1;
    let (mut temporal_id, mut spatial_id) = (0, 0);
    if has_extension {
        let e = *data.get(1).ok_or(ObuError::Truncated)?;
        temporal_id = e >> 5;
        spatial_id = (e >> 3) & 0x03;
        pos = 2;
    }
    let size = if has_size_field {
        let (v, n) = read_leb128(&data[pos..]).ok_or_else(|| {
            if data.len() - pos < 8 && data[pos..].iter().all(|b| b & 0x80 != 0) {
                ObuError::Truncated
            } else {
                ObuError::BadSize
            }
        })?;
        pos += n;
        usize::try_from(v).map_err(|_| ObuError::BadSize)?
    } else {
        data.len() - pos
    };
    let end = pos.checked_add(size).ok_or(ObuError::BadSize)?;
    if end > data.len() {
        return Err(ObuError::Truncated);
    }
    Ok((
        Obu {
            obu_type,
            temporal_id,
            spatial_id,
            has_extension,
            has_size_field,
            payload: &data[pos..end],
            raw: &data[..end],
        },
        end,
    ))
}

/// Length of the temporal delimiter OBU at the start of `data`, if there is one.
pub fn leading_temporal_delimiter_len(data: &[u8]) -> usize {
    match parse_one(data) {
        Ok((obu, used)) if obu.obu_type == ObuType::TemporalDelimiter as u8 => used,
        _ => 0,
    }
}

/// What a temporal unit contains, as far as starting to decode is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TemporalUnitInfo {
    /// A sequence header OBU is present.
    pub has_sequence_header: bool,
    /// The first frame header says `KEY_FRAME` (and is not `show_existing_frame`).
    pub key_frame: bool,
    /// Some frame header or frame OBU is present.
    pub has_frame: bool,
}

impl TemporalUnitInfo {
    /// True when decoding can start here: a sequence header and a key frame.
    pub fn is_random_access_point(&self) -> bool {
        self.has_sequence_header && self.key_frame
    }
}

/// Classifies a temporal unit (Section 5 OBUs). Errors when the OBU framing is broken.
pub fn inspect_temporal_unit(data: &[u8]) -> Result<TemporalUnitInfo, ObuError> {
    let mut info = TemporalUnitInfo::default();
    let mut reduced_still_picture_header = false;
    for obu in obus(data) {
        let obu = obu?;
        match ObuType::from_bits(obu.obu_type) {
            Some(ObuType::SequenceHeader) => {
                info.has_sequence_header = true;
                // seq_profile f(3), still_picture f(1), reduced_still_picture_header f(1)
                if let Some(&b) = obu.payload.first() {
                    reduced_still_picture_header = b & 0x08 != 0;
                }
            }
            Some(ObuType::FrameHeader | ObuType::Frame) if !info.has_frame => {
                info.has_frame = true;
                if reduced_still_picture_header {
                    info.key_frame = true;
                } else if let Some(&b) = obu.payload.first() {
                    // show_existing_frame f(1), frame_type f(2): KEY_FRAME = 0
                    let show_existing = b & 0x80 != 0;
                    info.key_frame = !show_existing && (b >> 5) & 0x03 == 0;
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn leb128_round_trip() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64] {
            let mut out = Vec::new();
            write_leb128(v, &mut out);
            assert_eq!(read_leb128(&out), Some((v, out.len())));
        }
        // Non-terminated and too large values are rejected.
        assert_eq!(read_leb128(&[0x80, 0x80]), None);
        assert_eq!(read_leb128(&[0xff; 8]), None);
        assert_eq!(read_leb128(&[0xff, 0xff, 0xff, 0xff, 0x7f]), None);
    }

    #[test]
    fn parses_and_strips_temporal_delimiter() {
        // TD, then a padding OBU with 2 payload bytes, then an OBU without size field.
        let data = [0x12, 0x00, 0x7a, 0x02, 0xaa, 0xbb, 0x78, 0x01, 0x02, 0x03];
        let v: Vec<_> = obus(&data).collect::<Result<_, _>>().unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].obu_type, 2);
        assert_eq!(v[1].obu_type, 15);
        assert_eq!(v[1].payload, &[0xaa, 0xbb]);
        assert!(!v[2].has_size_field);
        assert_eq!(v[2].payload, &[0x01, 0x02, 0x03]);
        assert_eq!(leading_temporal_delimiter_len(&data), 2);
        assert_eq!(leading_temporal_delimiter_len(&data[2..]), 0);
    }

    #[test]
    fn truncated_and_forbidden() {
        assert_eq!(
            obus(&[0x7a, 0x05, 0x00]).next(),
            Some(Err(ObuError::Truncated))
        );
        assert_eq!(
            obus(&[0x92, 0x00]).next(),
            Some(Err(ObuError::ForbiddenBit))
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            for obu in obus(&data) { let _ = obu; }
            let _ = inspect_temporal_unit(&data);
            let _ = leading_temporal_delimiter_len(&data);
        }
    }
}
