//! AV1 elementary streams without a container, as used by the conformance files `*.obu`:
//! low-overhead OBU streams (AV1 spec section 5) and length-delimited Annex B streams.
//!
//! Both readers return one temporal unit at a time in low-overhead form (every OBU with a size
//! field, starting with its temporal delimiter), which is what AV1 decoders take.
//!
//! ```
//! use rtvc_codec::container::av1_stream::{AnnexBReader, Av1StreamFormat, detect_av1_stream_format};
//!
//! // temporal_unit_size 5, frame_unit_size 4, then two OBUs without size fields, each after
//! // its obu_length: a temporal delimiter (0x10) and an empty padding OBU (0x78).
//! let annexb = [0x05, 0x04, 0x01, 0x10, 0x01, 0x78];
//! assert_eq!(detect_av1_stream_format(&annexb), Some(Av1StreamFormat::AnnexB));
//! let mut r = AnnexBReader::new(&annexb[..]);
//! let tu = r.next_temporal_unit().unwrap().unwrap();
//! assert_eq!(&tu[..], &[0x12, 0x00, 0x7a, 0x00]);
//! assert!(r.next_temporal_unit().unwrap().is_none());
//! ```

use std::io::{self, BufRead, BufReader, Read};

use bytes::Bytes;

use crate::av1::obu::{ObuType, TEMPORAL_DELIMITER, read_leb128, write_leb128};
use crate::error::{ContainerError, Error};

/// Largest temporal unit either reader accepts (64 MiB).
pub const MAX_TEMPORAL_UNIT_BYTES: usize = 64 << 20;

/// Format name of Section 5 streams in errors.
const SECTION5: &str = "obu";
/// Format name of Annex B streams in errors.
const ANNEXB: &str = "annexb";

/// Bytes reserved up front for a unit; buffers grow only as data arrives.
const READ_CHUNK: usize = 64 << 10;

/// `obu_has_size_field` in an OBU header byte.
const HAS_SIZE_FIELD: u8 = 0x02;
/// `obu_extension_flag` in an OBU header byte.
const HAS_EXTENSION: u8 = 0x04;
/// `obu_forbidden_bit` in an OBU header byte.
const FORBIDDEN_BIT: u8 = 0x80;

/// How an AV1 stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Av1StreamFormat {
    /// An IVF file (`DKIF`); read it with [`super::ivf::IvfReader`].
    Ivf,
    /// A low-overhead OBU stream; read it with [`Section5Reader`].
    Section5,
    /// An Annex B length-delimited stream; read it with [`AnnexBReader`].
    AnnexB,
}

/// Guesses the framing of an AV1 stream from its first bytes (a few dozen are plenty):
/// `DKIF` is IVF; a temporal delimiter with a zero size field (`12 00`) is Section 5; a
/// `temporal_unit_size`, a `frame_unit_size` that fits in it, an `obu_length` that fits in
/// that, and a temporal delimiter header without a size field (`0x10`) is Annex B.
pub fn detect_av1_stream_format(first_bytes: &[u8]) -> Option<Av1StreamFormat> {
    if first_bytes.starts_with(b"DKIF") {
        return Some(Av1StreamFormat::Ivf);
    }
    if first_bytes.starts_with(&TEMPORAL_DELIMITER) {
        return Some(Av1StreamFormat::Section5);
    }
    let (tu_size, n) = read_leb128(first_bytes)?;
    let rest = &first_bytes[n..];
    let (fu_size, n) = read_leb128(rest)?;
    if fu_size + n as u64 > tu_size {
        return None;
    }
    let rest = &rest[n..];
    let (obu_length, n) = read_leb128(rest)?;
    if obu_length == 0 || obu_length + n as u64 > fu_size {
        return None;
    }
    // forbidden bit 0, type TD, extension flag either way, no size field, reserved bit 0.
    let header = *rest.get(n)?;
    (header & !HAS_EXTENSION == (ObuType::TemporalDelimiter as u8) << 3)
        .then_some(Av1StreamFormat::AnnexB)
}

/// Reads a low-overhead (Section 5) OBU stream one temporal unit at a time.
///
/// Every OBU must carry a size field. Temporal units are split at temporal delimiter OBUs, and
/// each returned unit starts with its delimiter (OBUs before the first delimiter, if any, form a
/// unit of their own).
#[derive(Debug)]
pub struct Section5Reader<R: Read> {
    input: BufReader<R>,
    /// A temporal delimiter already read that starts the next unit.
    pending: Vec<u8>,
    /// Bytes consumed so far, for error messages.
    offset: u64,
}

impl<R: Read> Section5Reader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        Self {
            input: BufReader::new(input),
            pending: Vec::new(),
            offset: 0,
        }
    }

    /// The next temporal unit, or `None` at the end of the input. Errors with
    /// [`ContainerError::Invalid`] for an OBU without a size field, with the forbidden bit, with
    /// a malformed size, or a unit above [`MAX_TEMPORAL_UNIT_BYTES`]; and with
    /// [`ContainerError::Truncated`] when the input ends inside an OBU.
    pub fn next_temporal_unit(&mut self) -> Result<Option<Bytes>, Error> {
        let mut unit = std::mem::take(&mut self.pending);
        loop {
            let start = unit.len();
            let Some(obu_type) = self.read_obu(&mut unit)? else {
                break;
            };
            if obu_type == ObuType::TemporalDelimiter as u8 && start > 0 {
                self.pending = unit.split_off(start);
                break;
            }
        }
        Ok((!unit.is_empty()).then(|| Bytes::from(unit)))
    }

    /// Appends one whole OBU to `unit` and returns its type, or `None` at a clean end of input.
    fn read_obu(&mut self, unit: &mut Vec<u8>) -> Result<Option<u8>, Error> {
        let at = self.offset;
        let Some(header) = read_byte(&mut self.input)? else {
            return Ok(None);
        };
        if header & FORBIDDEN_BIT != 0 {
            return Err(invalid(
                SECTION5,
                format!("OBU at byte {at} has the forbidden bit set"),
            ));
        }
        if header & HAS_SIZE_FIELD == 0 {
            return Err(invalid(
                SECTION5,
                format!("OBU at byte {at} has no size field (obu_has_size_field = 0)"),
            ));
        }
        let mut head = [header, 0];
        let head_len = if header & HAS_EXTENSION != 0 {
            head[1] = read_byte(&mut self.input)?
                .ok_or_else(|| truncated(SECTION5, "OBU header", 2, 1))?;
            2
        } else {
            1
        };
        let (size, leb) = read_stream_leb128(&mut self.input, SECTION5, "OBU size")?
            .ok_or_else(|| truncated(SECTION5, "OBU size", 1, 0))?;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let total = size.saturating_add(head_len + leb.len);
        if unit.len().saturating_add(total) > MAX_TEMPORAL_UNIT_BYTES {
            return Err(too_large(SECTION5, unit.len().saturating_add(total)));
        }
        unit.extend_from_slice(&head[..head_len]);
        unit.extend_from_slice(leb.as_slice());
        let got = read_up_to(&mut self.input, size, unit)?;
        if got < size {
            return Err(truncated(SECTION5, "OBU payload", size, got));
        }
        self.offset += total as u64;
        Ok(Some((header >> 3) & 0x0f))
    }
}

/// Reads an Annex B (length-delimited) AV1 stream one temporal unit at a time, converting each
/// to low-overhead form: every OBU gets `obu_has_size_field = 1` and a LEB128 size after its
/// header (extension byte kept), so the unit can go straight to a decoder.
#[derive(Debug)]
pub struct AnnexBReader<R: Read> {
    input: BufReader<R>,
    /// The raw temporal unit being converted (reused).
    raw: Vec<u8>,
}

impl<R: Read> AnnexBReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        Self {
            input: BufReader::new(input),
            raw: Vec::new(),
        }
    }

    /// The next temporal unit in low-overhead form, or `None` at the end of the input. Empty
    /// temporal units are skipped. Errors with [`ContainerError::Invalid`] when the frame unit
    /// and OBU sizes do not add up to their enclosing size, an OBU's own size field disagrees
    /// with its `obu_length`, or a unit exceeds [`MAX_TEMPORAL_UNIT_BYTES`]; and with
    /// [`ContainerError::Truncated`] when the input ends inside a temporal unit.
    pub fn next_temporal_unit(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let Some((size, _)) =
                read_stream_leb128(&mut self.input, ANNEXB, "temporal_unit_size")?
            else {
                return Ok(None);
            };
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if size > MAX_TEMPORAL_UNIT_BYTES {
                return Err(too_large(ANNEXB, size));
            }
            if size == 0 {
                continue;
            }
            self.raw.clear();
            let got = read_up_to(&mut self.input, size, &mut self.raw)?;
            if got < size {
                return Err(truncated(ANNEXB, "temporal unit", size, got));
            }
            // Never larger than the input: each OBU's size field is no longer than the
            // obu_length it replaces, and the frame_unit_size fields go.
            let mut unit = Vec::with_capacity(size);
            annexb_to_section5(&self.raw, &mut unit)?;
            return Ok(Some(Bytes::from(unit)));
        }
    }
}

/// Converts one Annex B `temporal_unit` payload (its frame units) to low-overhead OBUs.
fn annexb_to_section5(mut tu: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    while !tu.is_empty() {
        let mut frame_unit = take_sized(&mut tu, "frame_unit_size", "temporal unit")?;
        while !frame_unit.is_empty() {
            let obu = take_sized(&mut frame_unit, "obu_length", "frame unit")?;
            rewrite_obu(obu, out)?;
        }
    }
    Ok(())
}

/// Splits a LEB128 size and that many bytes off the front of `data`.
fn take_sized<'a>(data: &mut &'a [u8], what: &str, within: &str) -> Result<&'a [u8], Error> {
    let (size, n) = read_leb128(data)
        .ok_or_else(|| invalid(ANNEXB, format!("malformed {what} in {within}")))?;
    let rest = &data[n..];
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s <= rest.len())
        .ok_or_else(|| {
            invalid(
                ANNEXB,
                format!(
                    "{what} {size} exceeds the {} bytes left in the {within}",
                    rest.len()
                ),
            )
        })?;
    let (unit, rest) = rest.split_at(size);
    *data = rest;
    Ok(unit)
}

/// Appends the Annex B OBU `obu` (exactly `obu_length` bytes) with a size field.
fn rewrite_obu(obu: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let header = *obu
        .first()
        .ok_or_else(|| invalid(ANNEXB, "obu_length 0".to_string()))?;
    if header & FORBIDDEN_BIT != 0 {
        return Err(invalid(ANNEXB, "OBU has the forbidden bit set".to_string()));
    }
    let head_len = if header & HAS_EXTENSION != 0 { 2 } else { 1 };
    let body = obu.get(head_len..).ok_or_else(|| {
        invalid(
            ANNEXB,
            "obu_length 1 leaves no room for the extension byte".to_string(),
        )
    })?;
    let payload = if header & HAS_SIZE_FIELD != 0 {
        match read_leb128(body) {
            Some((size, n)) if size == (body.len() - n) as u64 => &body[n..],
            _ => {
                return Err(invalid(
                    ANNEXB,
                    format!("OBU size field disagrees with obu_length {}", obu.len()),
                ));
            }
        }
    } else {
        body
    };
    out.push(header | HAS_SIZE_FIELD);
    out.extend_from_slice(&obu[1..head_len]);
    write_leb128(payload.len() as u64, out);
    out.extend_from_slice(payload);
    Ok(())
}

/// The bytes of one LEB128 value as read from a stream.
#[derive(Debug, Clone, Copy)]
struct Leb128Bytes {
    bytes: [u8; 8],
    len: usize,
}

impl Leb128Bytes {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Reads a LEB128 value (as [`read_leb128`] accepts it) from a stream and returns it with its
/// encoded bytes; `None` when the input ends before its first byte.
fn read_stream_leb128<R: BufRead>(
    r: &mut R,
    format: &'static str,
    what: &'static str,
) -> Result<Option<(u64, Leb128Bytes)>, Error> {
    let mut leb = Leb128Bytes {
        bytes: [0; 8],
        len: 0,
    };
    while leb.len < leb.bytes.len() {
        let Some(b) = read_byte(r)? else {
            if leb.len == 0 {
                return Ok(None);
            }
            return Err(truncated(format, what, leb.len + 1, leb.len));
        };
        leb.bytes[leb.len] = b;
        leb.len += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    match read_leb128(leb.as_slice()) {
        Some((value, _)) => Ok(Some((value, leb))),
        None => Err(invalid(
            format,
            format!(
                "malformed {what} {:02x?} (more than 8 bytes or above 2^32-1)",
                leb.as_slice()
            ),
        )),
    }
}

/// One byte from a buffered stream, or `None` at its end.
fn read_byte<R: BufRead>(r: &mut R) -> io::Result<Option<u8>> {
    loop {
        match r.fill_buf() {
            Ok([]) => return Ok(None),
            Ok([b, ..]) => {
                let b = *b;
                r.consume(1);
                return Ok(Some(b));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Appends up to `len` bytes to `out`, growing it only as data arrives; returns the count read.
fn read_up_to<R: Read>(r: &mut R, len: usize, out: &mut Vec<u8>) -> io::Result<usize> {
    out.reserve(len.min(READ_CHUNK));
    r.take(len as u64).read_to_end(out)
}

fn too_large(format: &'static str, size: usize) -> Error {
    invalid(
        format,
        format!("temporal unit of {size} bytes exceeds the limit of {MAX_TEMPORAL_UNIT_BYTES}"),
    )
}

fn invalid(format: &'static str, reason: String) -> Error {
    ContainerError::Invalid { format, reason }.into()
}

fn truncated(format: &'static str, what: &'static str, wanted: usize, got: usize) -> Error {
    ContainerError::Truncated {
        format,
        what,
        wanted,
        got,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    use crate::av1::obu::obus;

    /// An OBU for building test streams: header byte, extension byte, payload.
    type TestObu = (u8, Option<u8>, &'static [u8]);

    /// A Section 5 stream of three temporal units and the same content in Annex B.
    fn sample_streams() -> (Vec<Vec<u8>>, Vec<u8>) {
        // Section 5 OBU headers (with size fields).
        let tus: [&[TestObu]; 3] = [
            &[
                (0x12, None, &[]),                    // TD
                (0x0a, None, &[0, 0, 0, 0x42, 0xab]), // sequence header
                (0x32, None, &[1, 2, 3]),             // frame
            ],
            &[
                (0x12, None, &[]),
                (0x36, Some(0x28), &[4; 130]), // frame with extension, 2-byte LEB size
            ],
            &[(0x12, None, &[]), (0x7a, None, &[])], // TD, empty padding
        ];
        let mut section5 = Vec::new();
        let mut annexb = Vec::new();
        for tu in tus {
            let mut s5 = Vec::new();
            let mut frame_unit = Vec::new();
            for &(header, ext, payload) in tu {
                s5.push(header);
                s5.extend(ext);
                write_leb128(payload.len() as u64, &mut s5);
                s5.extend_from_slice(payload);
                // Annex B: no size field, except the sequence header keeps its own.
                let mut obu = Vec::new();
                if header == 0x0a {
                    obu.push(header);
                    write_leb128(payload.len() as u64, &mut obu);
                } else {
                    obu.push(header & !HAS_SIZE_FIELD);
                }
                obu.extend(ext);
                obu.extend_from_slice(payload);
                write_leb128(obu.len() as u64, &mut frame_unit);
                frame_unit.extend_from_slice(&obu);
            }
            let mut temporal_unit = Vec::new();
            write_leb128(frame_unit.len() as u64, &mut temporal_unit);
            temporal_unit.extend_from_slice(&frame_unit);
            write_leb128(temporal_unit.len() as u64, &mut annexb);
            annexb.extend_from_slice(&temporal_unit);
            section5.push(s5);
        }
        (section5, annexb)
    }

    fn all_section5(data: &[u8]) -> Result<Vec<Bytes>, Error> {
        let mut r = Section5Reader::new(data);
        std::iter::from_fn(|| r.next_temporal_unit().transpose()).collect()
    }

    fn all_annexb(data: &[u8]) -> Result<Vec<Bytes>, Error> {
        let mut r = AnnexBReader::new(data);
        std::iter::from_fn(|| r.next_temporal_unit().transpose()).collect()
    }

    #[test]
    fn section5_splits_at_temporal_delimiters() {
        let (tus, _) = sample_streams();
        let got = all_section5(&tus.concat()).unwrap();
        assert_eq!(got, tus);
        // OBUs before the first delimiter form a unit of their own.
        let stream = [&[0x7a, 0x01, 0xff][..], &tus.concat()].concat();
        let got = all_section5(&stream).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(&got[0][..], &[0x7a, 0x01, 0xff]);
    }

    #[test]
    fn annexb_converts_to_section5() {
        let (tus, annexb) = sample_streams();
        let got = all_annexb(&annexb).unwrap();
        assert_eq!(got, tus);
        for tu in &got {
            assert!(obus(tu).all(|o| o.is_ok_and(|o| o.has_size_field)));
        }
        // An empty temporal unit is skipped.
        let with_empty = [&[0x00][..], &annexb].concat();
        assert_eq!(all_annexb(&with_empty).unwrap(), tus);
    }

    #[test]
    fn section5_rejects_missing_size_field_and_forbidden_bit() {
        for stream in [&[0x12, 0x00, 0x30, 0x01][..], &[0x92, 0x00]] {
            assert!(
                matches!(
                    all_section5(stream),
                    Err(Error::Container(ContainerError::Invalid { .. }))
                ),
                "{stream:02x?}"
            );
        }
        // A size above 2^32-1 or longer than 8 bytes.
        for size in [&[0xff, 0xff, 0xff, 0xff, 0x7f][..], &[0x80; 8]] {
            let stream = [&[0x32][..], size].concat();
            assert!(matches!(
                all_section5(&stream),
                Err(Error::Container(ContainerError::Invalid { .. }))
            ));
        }
    }

    #[test]
    fn annexb_rejects_inconsistent_sizes() {
        for stream in [
            &[0x03, 0x05, 0x01, 0x10][..], // frame unit larger than its temporal unit
            &[0x03, 0x02, 0x03, 0x10],     // OBU larger than its frame unit
            &[0x02, 0x01, 0x00],           // obu_length 0
            &[0x03, 0x02, 0x01, 0x14],     // extension flag but no extension byte
            &[0x04, 0x03, 0x02, 0x12, 0x01], // size field says 1, obu_length leaves 0
            &[0x03, 0x02, 0x01, 0x90],     // forbidden bit
            &[
                0x03, 0x02, 0x01, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
            ], // bad size
        ] {
            assert!(
                matches!(
                    all_annexb(stream),
                    Err(Error::Container(ContainerError::Invalid { .. }))
                ),
                "{stream:02x?}"
            );
        }
        let mut too_big = Vec::new();
        write_leb128(MAX_TEMPORAL_UNIT_BYTES as u64 + 1, &mut too_big);
        assert!(matches!(
            all_annexb(&too_big),
            Err(Error::Container(ContainerError::Invalid { .. }))
        ));
    }

    #[test]
    fn detects_formats() {
        let (tus, annexb) = sample_streams();
        assert_eq!(
            detect_av1_stream_format(&tus.concat()),
            Some(Av1StreamFormat::Section5)
        );
        assert_eq!(
            detect_av1_stream_format(&annexb),
            Some(Av1StreamFormat::AnnexB)
        );
        assert_eq!(
            detect_av1_stream_format(b"DKIF\0\0 \0AV01"),
            Some(Av1StreamFormat::Ivf)
        );
        for other in [
            &b""[..],
            b"YUV4MPEG2 ",
            &[0x0a, 0x0b, 0x00, 0x00],
            &[0x01, 0x02, 0x01, 0x10], // frame unit larger than the temporal unit
            &[0x05, 0x04, 0x01, 0x12], // TD with a size field inside Annex B framing
        ] {
            assert_eq!(detect_av1_stream_format(other), None, "{other:02x?}");
        }
    }

    /// Cut both sample streams at every offset: a clean shorter read, or an error.
    #[test]
    fn every_truncation_is_an_error_or_a_shorter_read() {
        let (tus, annexb) = sample_streams();
        let section5 = tus.concat();
        for cut in 0..section5.len() {
            match all_section5(&section5[..cut]) {
                Ok(got) => assert!(got.concat() == section5[..cut], "cut at {cut}"),
                Err(Error::Container(ContainerError::Truncated { .. })) => {}
                Err(e) => panic!("section 5 cut at {cut}: {e}"),
            }
        }
        for cut in 0..annexb.len() {
            match all_annexb(&annexb[..cut]) {
                Ok(got) => assert_eq!(got[..], tus[..got.len()], "cut at {cut}"),
                Err(Error::Container(ContainerError::Truncated { .. })) => {}
                Err(e) => panic!("annex b cut at {cut}: {e}"),
            }
        }
    }

    /// Counts the largest buffer a reader asks to fill, as a proxy for what it allocated.
    struct LargestRead<'a> {
        data: &'a [u8],
        largest: usize,
    }

    impl Read for LargestRead<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.largest = self.largest.max(buf.len());
            self.data.read(buf)
        }
    }

    #[test]
    fn huge_sizes_do_not_allocate_up_front() {
        let mut annexb = Vec::new();
        write_leb128(60 << 20, &mut annexb);
        annexb.resize(100, 0);
        let mut section5 = vec![0x12, 0x00, 0x32];
        write_leb128(60 << 20, &mut section5);
        section5.resize(100, 0);
        for (stream, is_annexb) in [(annexb, true), (section5, false)] {
            let mut input = LargestRead {
                data: &stream,
                largest: 0,
            };
            let r = if is_annexb {
                AnnexBReader::new(&mut input).next_temporal_unit()
            } else {
                Section5Reader::new(&mut input).next_temporal_unit()
            };
            assert!(matches!(
                r,
                Err(Error::Container(ContainerError::Truncated { .. }))
            ));
            assert!(input.largest <= READ_CHUNK, "{}", input.largest);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = detect_av1_stream_format(&data);
            let mut input = LargestRead { data: &data, largest: 0 };
            let mut r = Section5Reader::new(&mut input);
            while let Ok(Some(tu)) = r.next_temporal_unit() {
                prop_assert!(!tu.is_empty());
            }
            let mut r = AnnexBReader::new(&mut input);
            while let Ok(Some(tu)) = r.next_temporal_unit() {
                prop_assert!(!tu.is_empty());
            }
            prop_assert!(input.largest <= READ_CHUNK);
        }

        /// Whatever the Annex B reader returns is valid low-overhead OBU data.
        #[test]
        fn annexb_output_parses(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut r = AnnexBReader::new(data.as_slice());
            while let Ok(Some(tu)) = r.next_temporal_unit() {
                for obu in obus(&tu) {
                    prop_assert!(obu.is_ok_and(|o| o.has_size_field));
                }
            }
        }
    }
}
