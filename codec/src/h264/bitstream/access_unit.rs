//! Access units (spec §7.4.1.2.3): grouping NAL units in memory ([`AccessUnitSplitter`]) and
//! reading them from a byte source with bounded memory ([`AnnexBReader`]).

use std::fmt;
use std::io::{self, Read};
use std::ops::Range;

use super::BitstreamError;
use super::nal::{
    NAL_AUD, NAL_PPS, NAL_SEI, NAL_SPS, START_CODE, find_start_code, nal_type, trim_trailing_zeros,
};
use super::params::ParameterSets;
use super::slice::{SliceHeaderPrefix, first_mb_in_slice};

/// Largest NAL unit an [`AnnexBReader`] accepts by default (32 MiB).
pub const MAX_NAL_BYTES: usize = 32 << 20;
/// Largest access unit an [`AnnexBReader`] accepts by default (64 MiB).
pub const MAX_ACCESS_UNIT_BYTES: usize = 64 << 20;

/// How many bytes [`AnnexBReader`] asks its source for at a time.
const READ_CHUNK: usize = 64 << 10;

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
    use crate::h264::bitstream::testutil::{
        Structure, TestSlice, TestSps, annex_b, split_bytes, test_pps,
    };
    use crate::h264::bitstream::{
        Sps, is_idr_access_unit, nal_units, parameter_sets_present, parse_pps, parse_sps,
    };
    use proptest::prelude::*;

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
