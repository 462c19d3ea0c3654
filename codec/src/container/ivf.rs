//! IVF: the minimal container libvpx and libaom use for VP8/VP9/AV1 test streams.
//!
//! A 32-byte file header (`DKIF`, version, header length, fourcc, size, timebase, frame count)
//! is followed by frames, each a 12-byte header (`u32` size, `u64` pts, little endian) and the
//! frame's bytes. For AV1 every frame is one temporal unit in low-overhead (Section 5) form.
//!
//! ```
//! use std::io::Cursor;
//! use rtvc_codec::container::ivf::{IvfReader, IvfWriter, FOURCC_AV1};
//!
//! let mut w = IvfWriter::new(Cursor::new(Vec::new()), FOURCC_AV1, 64, 48, 1, 30).unwrap();
//! w.write_frame(&[0x32, 0x00], 0).unwrap(); // a padding OBU; a temporal delimiter is added
//! let file = w.finish().unwrap().into_inner();
//!
//! let mut r = IvfReader::new(file.as_slice()).unwrap();
//! assert_eq!(r.header().frame_count, 1);
//! let frame = r.next_frame().unwrap().unwrap();
//! assert_eq!(&frame.data[..], &[0x12, 0x00, 0x32, 0x00]);
//! assert!(r.next_frame().unwrap().is_none());
//! ```

use std::io::{self, Read, Seek, SeekFrom, Write};

use bytes::Bytes;

use crate::av1::obu::{ObuType, TEMPORAL_DELIMITER, obus};
use crate::error::{ConfigError, ContainerError, Error};

/// Largest frame [`IvfReader`] accepts and [`IvfWriter`] writes (64 MiB).
pub const MAX_IVF_FRAME_BYTES: usize = 64 << 20;

/// Length of the IVF file header this module writes (readers accept longer headers).
pub const IVF_HEADER_LEN: usize = 32;

/// Length of the header in front of every frame.
const FRAME_HEADER_LEN: usize = 12;

/// Offset of the frame count in the file header.
const FRAME_COUNT_OFFSET: u64 = 24;

/// The fourcc of AV1 streams.
pub const FOURCC_AV1: [u8; 4] = *b"AV01";

/// Format name used in errors.
const FORMAT: &str = "ivf";

/// Bytes reserved up front when reading a frame; the buffer grows only as data arrives.
const READ_CHUNK: usize = 64 << 10;

/// An IVF timebase, `(num, den)` seconds per pts unit, in which frames at `fps` land exactly on
/// whole units: the frame rate's own when it is a ratio with a small numerator (1/30, 1/25,
/// 1001/30000 for 29.97, 2/25 for 12.5), else 1/90000 as RTP uses. Tools that pair frames by
/// timestamp (ffmpeg's `psnr` and `ssim` filters against the source `.y4m`) then line frames up
/// as they are, where a 1 ms timebase (0, 33, 67, ... ms at 30 fps) makes them pair the wrong
/// ones.
pub fn timebase_for_fps(fps: f64) -> (u32, u32) {
    const RTP: (u32, u32) = (1, 90_000);
    if !fps.is_finite() || fps <= 0.0 {
        return RTP;
    }
    for num in [1u32, 2, 4, 5, 8, 10, 100, 1000, 1001] {
        let den = fps * f64::from(num);
        if den >= 1.0 && den <= f64::from(u32::MAX) && (den - den.round()).abs() < 1e-9 * den {
            return (num, den.round() as u32);
        }
    }
    RTP
}

/// A timestamp in microseconds as a pts in `timebase` (see [`timebase_for_fps`]), rounded to
/// the nearest unit; negative times become 0.
pub fn pts_from_us(timestamp_us: i64, (num, den): (u32, u32)) -> u64 {
    let t = i128::from(timestamp_us.max(0)) * i128::from(den);
    let unit = i128::from(num) * 1_000_000;
    u64::try_from((t + unit / 2) / unit).unwrap_or(u64::MAX)
}

/// The fields of an IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IvfHeader {
    /// Codec fourcc, e.g. `*b"AV01"`, `*b"VP80"`, `*b"VP90"`.
    pub fourcc: [u8; 4],
    /// Width in pixels (of the first frame; streams may change size).
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Timebase numerator: a pts of 1 lasts `timebase_num / timebase_den` seconds.
    pub timebase_num: u32,
    /// Timebase denominator (for a timebase of 1/30, `timebase_num = 1`, `timebase_den = 30`).
    pub timebase_den: u32,
    /// Frame count recorded in the header. Writers that cannot seek leave it 0 and some
    /// tools write the count of shown frames, so do not rely on it to size buffers.
    pub frame_count: u32,
}

/// One frame read from an IVF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// The frame's bytes (for AV1, one temporal unit).
    pub data: Bytes,
    /// Presentation timestamp in timebase units (see [`IvfHeader`]).
    pub pts: u64,
}

/// Reads IVF files frame by frame.
///
/// Frames are read with their length bounded by [`MAX_IVF_FRAME_BYTES`], and the buffer for a
/// frame only grows as its bytes arrive, so a hostile size field cannot make the reader allocate
/// much more than the input holds.
#[derive(Debug)]
pub struct IvfReader<R: Read> {
    input: R,
    header: IvfHeader,
}

impl<R: Read> IvfReader<R> {
    /// Reads and checks the file header. Errors with [`ContainerError::Invalid`] when the magic
    /// or header length is wrong, [`ContainerError::Unsupported`] for a version other than 0 and
    /// [`ContainerError::Truncated`] when the input ends inside the header.
    pub fn new(mut input: R) -> Result<Self, Error> {
        let mut h = [0u8; IVF_HEADER_LEN];
        let got = read_full(&mut input, &mut h)?;
        if got < h.len() {
            return Err(truncated("file header", h.len(), got));
        }
        if &h[0..4] != b"DKIF" {
            return Err(invalid(format!(
                "bad signature {:02x?} (expected \"DKIF\")",
                &h[0..4]
            )));
        }
        let version = u16::from_le_bytes([h[4], h[5]]);
        if version != 0 {
            return Err(ContainerError::Unsupported {
                format: FORMAT,
                reason: format!("version {version} (only 0 is defined)"),
            }
            .into());
        }
        let header_len = usize::from(u16::from_le_bytes([h[6], h[7]]));
        if header_len < IVF_HEADER_LEN {
            return Err(invalid(format!(
                "header length {header_len} is shorter than {IVF_HEADER_LEN}"
            )));
        }
        let extra = header_len - IVF_HEADER_LEN;
        let skipped = io::copy(&mut (&mut input).take(extra as u64), &mut io::sink())?;
        if skipped < extra as u64 {
            return Err(truncated(
                "file header",
                header_len,
                IVF_HEADER_LEN + skipped as usize,
            ));
        }
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let header = IvfHeader {
            fourcc: [h[8], h[9], h[10], h[11]],
            width: u16::from_le_bytes([h[12], h[13]]),
            height: u16::from_le_bytes([h[14], h[15]]),
            timebase_den: u32_at(16),
            timebase_num: u32_at(20),
            frame_count: u32_at(24),
        };
        Ok(Self { input, header })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// The next frame, or `None` when the input ends cleanly between frames. A frame larger than
    /// [`MAX_IVF_FRAME_BYTES`] is [`ContainerError::Invalid`]; input ending inside a frame
    /// header or frame is [`ContainerError::Truncated`].
    pub fn next_frame(&mut self) -> Result<Option<IvfFrame>, Error> {
        let mut fh = [0u8; FRAME_HEADER_LEN];
        match read_full(&mut self.input, &mut fh)? {
            0 => return Ok(None),
            FRAME_HEADER_LEN => {}
            got => return Err(truncated("frame header", FRAME_HEADER_LEN, got)),
        }
        let size = u32::from_le_bytes([fh[0], fh[1], fh[2], fh[3]]) as usize;
        let pts = u64::from_le_bytes([fh[4], fh[5], fh[6], fh[7], fh[8], fh[9], fh[10], fh[11]]);
        if size > MAX_IVF_FRAME_BYTES {
            return Err(invalid(format!(
                "frame of {size} bytes exceeds the limit of {MAX_IVF_FRAME_BYTES}"
            )));
        }
        let mut data = Vec::with_capacity(size.min(READ_CHUNK));
        let got = (&mut self.input).take(size as u64).read_to_end(&mut data)?;
        if got < size {
            return Err(truncated("frame", size, got));
        }
        Ok(Some(IvfFrame {
            data: Bytes::from(data),
            pts,
        }))
    }
}

/// Writes IVF files. The frame count in the header is patched by [`IvfWriter::finish`]; a writer
/// dropped without it leaves a count of 0 (which readers, including ours, accept).
#[derive(Debug)]
pub struct IvfWriter<W: Write + Seek> {
    output: W,
    /// Stream position of the file header (the writer need not start at offset 0).
    start: u64,
    fourcc: [u8; 4],
    frames: u32,
}

impl<W: Write + Seek> IvfWriter<W> {
    /// Writes the file header. The timebase is `timebase_num / timebase_den` seconds per pts
    /// unit (1/90000 for RTP-style timestamps, 1/30 for frame numbers at 30 fps); both parts
    /// and the size must be non-zero ([`ConfigError::OutOfRange`] otherwise).
    pub fn new(
        mut output: W,
        fourcc: [u8; 4],
        width: u16,
        height: u16,
        timebase_num: u32,
        timebase_den: u32,
    ) -> Result<Self, Error> {
        for (field, value, valid) in [
            ("width", u32::from(width), "1..=65535"),
            ("height", u32::from(height), "1..=65535"),
            ("timebase_num", timebase_num, "1..=4294967295"),
            ("timebase_den", timebase_den, "1..=4294967295"),
        ] {
            if value == 0 {
                return Err(ConfigError::out_of_range(field, value, valid).into());
            }
        }
        let start = output.stream_position()?;
        let mut h = [0u8; IVF_HEADER_LEN];
        h[0..4].copy_from_slice(b"DKIF");
        h[6..8].copy_from_slice(&(IVF_HEADER_LEN as u16).to_le_bytes());
        h[8..12].copy_from_slice(&fourcc);
        h[12..14].copy_from_slice(&width.to_le_bytes());
        h[14..16].copy_from_slice(&height.to_le_bytes());
        h[16..20].copy_from_slice(&timebase_den.to_le_bytes());
        h[20..24].copy_from_slice(&timebase_num.to_le_bytes());
        output.write_all(&h)?;
        Ok(Self {
            output,
            start,
            fourcc,
            frames: 0,
        })
    }

    /// Appends one frame with its timestamp in timebase units.
    ///
    /// For [`FOURCC_AV1`] every IVF frame must be a whole temporal unit, which starts with a
    /// temporal delimiter OBU; when `data` does not, [`TEMPORAL_DELIMITER`] is written in front
    /// of it (and counted in the frame size). A frame above [`MAX_IVF_FRAME_BYTES`] is
    /// [`ContainerError::Invalid`].
    pub fn write_frame(&mut self, data: &[u8], pts: u64) -> Result<(), Error> {
        let prefix: &[u8] = if self.fourcc == FOURCC_AV1 && !starts_with_temporal_delimiter(data) {
            &TEMPORAL_DELIMITER
        } else {
            &[]
        };
        let size = prefix.len() + data.len();
        if size > MAX_IVF_FRAME_BYTES {
            return Err(invalid(format!(
                "frame of {size} bytes exceeds the limit of {MAX_IVF_FRAME_BYTES}"
            )));
        }
        let frames = self
            .frames
            .checked_add(1)
            .ok_or_else(|| invalid("more than 2^32-1 frames".to_string()))?;
        let mut fh = [0u8; FRAME_HEADER_LEN];
        fh[0..4].copy_from_slice(&(size as u32).to_le_bytes());
        fh[4..12].copy_from_slice(&pts.to_le_bytes());
        self.output.write_all(&fh)?;
        self.output.write_all(prefix)?;
        self.output.write_all(data)?;
        self.frames = frames;
        Ok(())
    }

    /// Number of frames written so far.
    pub fn frames_written(&self) -> u32 {
        self.frames
    }

    /// Writes the frame count into the header, flushes, and returns the output positioned at the
    /// end of the file.
    pub fn finish(mut self) -> Result<W, Error> {
        let end = self.output.stream_position()?;
        self.output
            .seek(SeekFrom::Start(self.start + FRAME_COUNT_OFFSET))?;
        self.output.write_all(&self.frames.to_le_bytes())?;
        self.output.seek(SeekFrom::Start(end))?;
        self.output.flush()?;
        Ok(self.output)
    }
}

/// True when `data` starts with a well-formed temporal delimiter OBU.
fn starts_with_temporal_delimiter(data: &[u8]) -> bool {
    matches!(obus(data).next(), Some(Ok(obu)) if obu.obu_type == ObuType::TemporalDelimiter as u8)
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn invalid(reason: String) -> Error {
    ContainerError::Invalid {
        format: FORMAT,
        reason,
    }
    .into()
}

fn truncated(what: &'static str, wanted: usize, got: usize) -> Error {
    ContainerError::Truncated {
        format: FORMAT,
        what,
        wanted,
        got,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    use proptest::prelude::*;

    fn write_file(fourcc: [u8; 4], frames: &[(&[u8], u64)]) -> Vec<u8> {
        let mut w = IvfWriter::new(Cursor::new(Vec::new()), fourcc, 33, 17, 1, 90_000).unwrap();
        for &(data, pts) in frames {
            w.write_frame(data, pts).unwrap();
        }
        assert_eq!(w.frames_written() as usize, frames.len());
        w.finish().unwrap().into_inner()
    }

    fn read_all(file: &[u8]) -> Result<(IvfHeader, Vec<IvfFrame>), Error> {
        let mut r = IvfReader::new(file)?;
        let mut frames = Vec::new();
        while let Some(f) = r.next_frame()? {
            frames.push(f);
        }
        Ok((*r.header(), frames))
    }

    #[test]
    fn round_trip_vp8() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let frames: [(&[u8], u64); 4] = [(b"abc", 0), (b"", 3000), (&big, 3001), (&[7], u64::MAX)];
        let file = write_file(*b"VP80", &frames);
        assert_eq!(file.len(), 32 + 4 * 12 + 3 + 200_000 + 1);
        let (h, got) = read_all(&file).unwrap();
        assert_eq!(
            h,
            IvfHeader {
                fourcc: *b"VP80",
                width: 33,
                height: 17,
                timebase_num: 1,
                timebase_den: 90_000,
                frame_count: 4,
            }
        );
        assert_eq!(got.len(), 4);
        for (f, (data, pts)) in got.iter().zip(frames) {
            assert_eq!(&f.data[..], data);
            assert_eq!(f.pts, pts);
        }
    }

    #[test]
    fn av1_frames_get_exactly_one_temporal_delimiter() {
        let padding: &[u8] = &[0x7a, 0x01, 0xaa]; // padding OBU, 1 payload byte
        let with_td: &[u8] = &[0x12, 0x00, 0x7a, 0x01, 0xbb];
        let file = write_file(FOURCC_AV1, &[(padding, 0), (with_td, 1), (&[], 2)]);
        let (h, got) = read_all(&file).unwrap();
        assert_eq!(h.fourcc, FOURCC_AV1);
        assert_eq!(h.frame_count, 3);
        assert_eq!(&got[0].data[..], &[0x12, 0x00, 0x7a, 0x01, 0xaa]);
        assert_eq!(&got[1].data[..], with_td);
        assert_eq!(&got[2].data[..], &TEMPORAL_DELIMITER);
        assert_eq!(got.iter().map(|f| f.pts).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn writer_may_start_mid_stream_and_ends_at_the_end() {
        let mut out = Cursor::new(b"prefix".to_vec());
        out.seek(SeekFrom::End(0)).unwrap();
        let mut w = IvfWriter::new(out, *b"VP90", 8, 8, 1, 30).unwrap();
        w.write_frame(b"xy", 5).unwrap();
        let mut out = w.finish().unwrap();
        assert_eq!(out.stream_position().unwrap(), 6 + 32 + 12 + 2);
        let file = out.into_inner();
        let (h, frames) = read_all(&file[6..]).unwrap();
        assert_eq!(h.frame_count, 1);
        assert_eq!(frames[0].pts, 5);
    }

    #[test]
    fn timebases_represent_frame_times_exactly() {
        assert_eq!(timebase_for_fps(30.0), (1, 30));
        assert_eq!(timebase_for_fps(25.0), (1, 25));
        assert_eq!(timebase_for_fps(30_000.0 / 1001.0), (1001, 30_000));
        assert_eq!(timebase_for_fps(24_000.0 / 1001.0), (1001, 24_000));
        assert_eq!(timebase_for_fps(12.5), (2, 25));
        assert_eq!(timebase_for_fps(f64::NAN), (1, 90_000));
        assert_eq!(timebase_for_fps(1.0 / 3.0), (1, 90_000));
        // Capture times of frame n at fps, as rtvc stamps them, come out as n.
        for fps in [30.0, 25.0, 24.0, 60.0, 30_000.0 / 1001.0, 12.5] {
            let tb = timebase_for_fps(fps);
            for n in [0u64, 1, 2, 3, 299, 12_345] {
                let us = (n as f64 * 1e6 / fps).round() as i64;
                assert_eq!(pts_from_us(us, tb), n, "fps {fps} frame {n}");
            }
        }
        assert_eq!(pts_from_us(-5, (1, 30)), 0);
        assert_eq!(pts_from_us(1_000_000, (1, 90_000)), 90_000);
    }

    #[test]
    fn writer_rejects_zero_sizes_and_timebases() {
        for (w, h, n, d) in [(0, 8, 1, 30), (8, 0, 1, 30), (8, 8, 0, 30), (8, 8, 1, 0)] {
            let r = IvfWriter::new(Cursor::new(Vec::new()), FOURCC_AV1, w, h, n, d);
            assert!(matches!(r, Err(Error::Config(_))), "{w}x{h} {n}/{d}");
        }
    }

    #[test]
    fn longer_header_is_skipped() {
        let mut file = write_file(*b"VP80", &[(b"hello", 9)]);
        file[6] = 40;
        file.splice(32..32, [0xee; 8]);
        let (_, frames) = read_all(&file).unwrap();
        assert_eq!(&frames[0].data[..], b"hello");
        // ... but it must be present.
        assert!(matches!(
            IvfReader::new(&file[..36]),
            Err(Error::Container(ContainerError::Truncated { .. }))
        ));
    }

    #[test]
    fn bad_headers() {
        let good = write_file(*b"VP80", &[]);
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        let mut bad_version = good.clone();
        bad_version[4] = 1;
        let mut short_header = good.clone();
        short_header[6] = 16;
        assert!(matches!(
            IvfReader::new(bad_magic.as_slice()),
            Err(Error::Container(ContainerError::Invalid { .. }))
        ));
        assert!(matches!(
            IvfReader::new(bad_version.as_slice()),
            Err(Error::Container(ContainerError::Unsupported { .. }))
        ));
        assert!(matches!(
            IvfReader::new(short_header.as_slice()),
            Err(Error::Container(ContainerError::Invalid { .. }))
        ));
    }

    #[test]
    fn oversized_frame_is_invalid() {
        let mut file = write_file(*b"VP80", &[(b"x", 0)]);
        file[32..36].copy_from_slice(&(MAX_IVF_FRAME_BYTES as u32 + 1).to_le_bytes());
        let mut r = IvfReader::new(file.as_slice()).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(Error::Container(ContainerError::Invalid { .. }))
        ));
    }

    /// A reader that records the largest buffer it was asked to fill: a reader that allocated
    /// a frame's claimed size up front would hand us a buffer that large.
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
    fn huge_size_field_does_not_allocate_up_front() {
        let mut file = write_file(*b"VP80", &[(&[1u8; 56], 0)]);
        file[32..36].copy_from_slice(&(60u32 << 20).to_le_bytes());
        assert_eq!(file.len(), 100);
        let mut input = LargestRead {
            data: &file,
            largest: 0,
        };
        let mut r = IvfReader::new(&mut input).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(Error::Container(ContainerError::Truncated {
                what: "frame",
                wanted,
                got: 56,
                ..
            })) if wanted == 60 << 20
        ));
        assert!(
            input.largest <= READ_CHUNK,
            "read into {} bytes",
            input.largest
        );
    }

    #[test]
    fn every_truncation_is_an_error_or_a_shorter_read() {
        let frames: [(&[u8], u64); 3] = [(&[1, 2, 3], 0), (&[4; 20], 1), (&[5], 2)];
        let file = write_file(FOURCC_AV1, &frames);
        let boundaries = [32, 32 + 12 + 5, 32 + 2 * 12 + 5 + 22];
        for cut in 0..file.len() {
            match read_all(&file[..cut]) {
                Ok((_, got)) => {
                    let n = boundaries.iter().position(|&b| b == cut);
                    assert_eq!(Some(got.len()), n, "cut at {cut}");
                }
                Err(Error::Container(ContainerError::Truncated { .. })) => {
                    assert!(!boundaries.contains(&cut), "cut at {cut}");
                }
                Err(e) => panic!("cut at {cut}: {e}"),
            }
        }
        assert_eq!(read_all(&file).unwrap().1.len(), 3);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256),
                                       raw in any::<bool>()) {
            // Either fully arbitrary bytes or a valid header followed by arbitrary frames.
            let mut file = if raw { Vec::new() } else { write_file(*b"AV01", &[]) };
            file.extend_from_slice(&tail);
            let mut input = LargestRead { data: &file, largest: 0 };
            if let Ok(mut r) = IvfReader::new(&mut input) {
                while let Ok(Some(_)) = r.next_frame() {}
            }
            prop_assert!(input.largest <= READ_CHUNK);
        }
    }
}
