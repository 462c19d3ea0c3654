//! YUV4MPEG2 (`.y4m`): raw 8-bit 4:2:0 (or greyscale) video with a one-line text header, the
//! usual input and output of encoder and decoder test tools.
//!
//! The header is `YUV4MPEG2` followed by space-separated tags (`W` width, `H` height, `F` frame
//! rate `num:den`, `A` pixel aspect, `I` interlacing, `C` colourspace, `X` extensions) and a
//! newline. Each frame is a `FRAME` line (which may carry tags of its own) and the planes: Y, then
//! Cb, then Cr, visible samples only.
//!
//! Why ours and not the `y4m` crate (in the dependency tree through rav1e): at the end of a
//! file cut inside a frame that crate returns the same `EOF` as at a clean end, so the damage
//! goes unnoticed (we report [`ContainerError::Truncated`]); it allocates the whole frame the
//! header announces before reading any of it (1 GiB allowed by default), where ours grows with
//! the bytes that really arrive; it has no way to write frames with strides; and reading 30
//! frames of 720p from memory into frames took 2.34 ms with it against 2.02 ms with ours, and
//! 2.58 against 1.94 ms in a second run (`cargo bench -p rtvc-benches --bench frames -- y4m`,
//! both in the same run).
//!
//! ```
//! use rtvc_codec::container::y4m::{Y4mReader, Y4mWriter};
//! use rtvc_codec::frame::Frame;
//!
//! let mut frame = Frame::new(33, 17).unwrap();
//! frame.fill(90, 60, 200);
//! let mut w = Y4mWriter::new(Vec::new(), 33, 17, 30000, 1001).unwrap();
//! w.write_frame(&frame).unwrap();
//! let file = w.finish().unwrap();
//!
//! let mut r = Y4mReader::new(file.as_slice()).unwrap();
//! assert_eq!((r.width(), r.height(), r.framerate()), (33, 17, (30000, 1001)));
//! let back = r.next_frame().unwrap().unwrap();
//! assert!(back.same_pixels(&frame));
//! assert!(r.next_frame().unwrap().is_none());
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};

use crate::error::{ConfigError, ContainerError, Error, FrameError};
use crate::frame::{ColorSpace, Frame, FramePool, Range, check_dimensions};

/// Longest header line accepted, in bytes (without the newline).
pub const MAX_HEADER_LINE: usize = 4096;

/// Longest `FRAME` line accepted, in bytes (without the newline).
pub const MAX_FRAME_LINE: usize = 1024;

/// Frame rate assumed when the header has no (or an unknown, `F0:0`) frame rate.
pub const DEFAULT_FRAMERATE: (u32, u32) = (25, 1);

/// Format name used in errors.
const FORMAT: &str = "y4m";

/// Bytes reserved up front for a frame; the staging buffer grows only as data arrives.
const READ_CHUNK: usize = 64 << 10;

/// Buffers a [`Y4mReader::next_frame`] pool keeps for reuse.
const POOL_SIZE: usize = 4;

/// The colourspaces (`C` tag) [`Y4mReader`] accepts. All are 8-bit; the 4:2:0 variants differ
/// only in chroma siting, which does not change how samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Y4mColorspace {
    /// `C420jpeg` (also assumed when there is no `C` tag): chroma centred between luma samples.
    C420Jpeg,
    /// `C420paldv`: PAL DV chroma siting.
    C420Paldv,
    /// `C420mpeg2`: chroma co-sited horizontally with luma.
    C420Mpeg2,
    /// `C420`: 4:2:0 with unspecified siting.
    C420,
    /// `Cmono`: luma only; frames read from it get neutral chroma (128).
    Mono,
}

impl Y4mColorspace {
    /// From the text after `C`, or `None` for colourspaces we cannot read.
    fn parse(tag: &str) -> Option<Self> {
        Some(match tag {
            "420jpeg" => Self::C420Jpeg,
            "420paldv" => Self::C420Paldv,
            "420mpeg2" => Self::C420Mpeg2,
            "420" => Self::C420,
            "mono" => Self::Mono,
            _ => return None,
        })
    }
}

/// Reads Y4M files frame by frame into [`Frame`]s.
#[derive(Debug)]
pub struct Y4mReader<R: Read> {
    input: BufReader<R>,
    width: u32,
    height: u32,
    framerate: (u32, u32),
    pixel_aspect: (u32, u32),
    colorspace: Y4mColorspace,
    range: Range,
    frames_read: u64,
    line: Vec<u8>,
    staging: Vec<u8>,
    pool: FramePool,
}

impl<R: Read> Y4mReader<R> {
    /// Reads and checks the header. Errors: [`ContainerError::Invalid`] for a malformed header
    /// (or one longer than [`MAX_HEADER_LINE`]), [`ContainerError::Unsupported`] for a
    /// colourspace other than 8-bit 4:2:0 or `mono` (the error names it),
    /// [`FrameError::InvalidDimensions`] for a size of 0 or above
    /// [`crate::frame::MAX_DIMENSION`], and [`ContainerError::Truncated`] when the input ends
    /// inside the header.
    pub fn new(input: R) -> Result<Self, Error> {
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        if !read_line(&mut input, MAX_HEADER_LINE, &mut line, "header")? {
            return Err(truncated("header", b"YUV4MPEG2 ".len(), 0));
        }
        // ASCII only, so that splitting a tag after its first byte cannot split a character.
        let text = std::str::from_utf8(&line)
            .ok()
            .filter(|t| t.is_ascii())
            .ok_or_else(|| invalid("header is not ASCII text".to_string()))?;
        let mut tags = text.split(' ');
        if tags.next() != Some("YUV4MPEG2") {
            return Err(invalid(
                "header does not start with \"YUV4MPEG2 \"".to_string(),
            ));
        }
        let (mut width, mut height) = (None, None);
        let mut framerate = DEFAULT_FRAMERATE;
        let mut pixel_aspect = (0, 0);
        let mut colorspace = Y4mColorspace::C420Jpeg;
        let mut range = Range::Limited;
        for tag in tags.filter(|t| !t.is_empty()) {
            let (key, value) = tag.split_at(1);
            match key {
                "W" => width = Some(parse_number(value, "width")?),
                "H" => height = Some(parse_number(value, "height")?),
                "F" => {
                    framerate = match parse_ratio(value, "frame rate")? {
                        (0, _) | (_, 0) => DEFAULT_FRAMERATE,
                        rate => rate,
                    }
                }
                "A" => pixel_aspect = parse_ratio(value, "pixel aspect")?,
                "C" => {
                    colorspace =
                        Y4mColorspace::parse(value).ok_or_else(|| ContainerError::Unsupported {
                            format: FORMAT,
                            reason: format!(
                                "colourspace C{value} (only 8-bit 4:2:0 and mono are supported)"
                            ),
                        })?
                }
                "X" => match value {
                    "COLORRANGE=FULL" => range = Range::Full,
                    "COLORRANGE=LIMITED" => range = Range::Limited,
                    _ => {}
                },
                // Interlacing (`I`) does not change how samples are stored; other tags are
                // reserved and ignored.
                _ => {}
            }
        }
        let width = width.ok_or_else(|| invalid("header has no W (width) tag".to_string()))?;
        let height = height.ok_or_else(|| invalid("header has no H (height) tag".to_string()))?;
        check_dimensions(width, height)?;
        Ok(Self {
            input,
            width,
            height,
            framerate,
            pixel_aspect,
            colorspace,
            range,
            frames_read: 0,
            line,
            staging: Vec::new(),
            pool: FramePool::new(POOL_SIZE),
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Frame rate as `(numerator, denominator)` frames per second, e.g. `(30000, 1001)`;
    /// [`DEFAULT_FRAMERATE`] when the header does not say.
    pub fn framerate(&self) -> (u32, u32) {
        self.framerate
    }

    /// Frame rate in frames per second.
    pub fn framerate_f64(&self) -> f64 {
        f64::from(self.framerate.0) / f64::from(self.framerate.1)
    }

    /// Pixel aspect ratio as `(numerator, denominator)`; `(0, 0)` when unknown.
    pub fn pixel_aspect(&self) -> (u32, u32) {
        self.pixel_aspect
    }

    /// The colourspace the header declares.
    pub fn colorspace(&self) -> Y4mColorspace {
        self.colorspace
    }

    /// Reads the next frame into `frame`, which must have the stream's size
    /// ([`FrameError::SizeMismatch`] otherwise). Returns `false` when the input ends cleanly
    /// before a `FRAME` line. The frame gets a timestamp from its index and the frame rate, the
    /// BT.601 matrix, and the range from an `XCOLORRANGE` tag (limited when absent).
    pub fn next_frame_into(&mut self, frame: &mut Frame) -> Result<bool, Error> {
        if (frame.width(), frame.height()) != (self.width, self.height) {
            return Err(FrameError::SizeMismatch {
                src_w: self.width,
                src_h: self.height,
                dst_w: frame.width(),
                dst_h: frame.height(),
            }
            .into());
        }
        if !self.read_frame_data()? {
            return Ok(false);
        }
        self.fill_from_staging(frame);
        Ok(true)
    }

    /// Reads the next frame into a buffer from a pool the reader owns (dropped frames return
    /// to it), or `None` at the end of the input. See [`Y4mReader::next_frame_into`]. The
    /// frame is taken from the pool only once its samples have been read.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, Error> {
        if !self.read_frame_data()? {
            return Ok(None);
        }
        let mut frame = self.pool.frame(self.width, self.height)?;
        self.fill_from_staging(&mut frame);
        Ok(Some(frame))
    }

    /// Copies the samples in `self.staging` into `frame` (of the stream's size) and stamps it.
    fn fill_from_staging(&mut self, frame: &mut Frame) {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let (y_stride, uv_stride) = (frame.y_stride(), frame.uv_stride());
        let (y, u, v) = frame.planes_mut();
        let (src_y, src_uv) = self.staging.split_at(w * h);
        copy_plane(src_y, w, y, y_stride);
        if self.colorspace == Y4mColorspace::Mono {
            u.fill(128);
            v.fill(128);
        } else {
            let (src_u, src_v) = src_uv.split_at(cw * ch);
            copy_plane(src_u, cw, u, uv_stride);
            copy_plane(src_v, cw, v, uv_stride);
        }
        frame.set_timestamp_us(self.timestamp_us(self.frames_read));
        frame.set_color_space(ColorSpace {
            range: self.range,
            ..ColorSpace::BT601_LIMITED
        });
        self.frames_read += 1;
    }

    /// Reads a `FRAME` line and the frame's samples into `self.staging`. The staging buffer
    /// grows only as bytes arrive, so a header claiming a huge size cannot make us allocate
    /// much more than the input holds. `false` at a clean end of input.
    fn read_frame_data(&mut self) -> Result<bool, Error> {
        if !read_line(
            &mut self.input,
            MAX_FRAME_LINE,
            &mut self.line,
            "FRAME line",
        )? {
            return Ok(false);
        }
        let magic = self.line.split(|&b| b == b' ').next().unwrap_or_default();
        if magic != b"FRAME" {
            return Err(invalid(format!(
                "frame {} does not start with \"FRAME\"",
                self.frames_read
            )));
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let chroma = if self.colorspace == Y4mColorspace::Mono {
            0
        } else {
            2 * w.div_ceil(2) * h.div_ceil(2)
        };
        let len = w * h + chroma;
        self.staging.clear();
        self.staging.reserve(len.min(READ_CHUNK));
        let got = (&mut self.input)
            .take(len as u64)
            .read_to_end(&mut self.staging)?;
        if got < len {
            return Err(truncated("frame data", len, got));
        }
        Ok(true)
    }

    /// Timestamp of frame `index` in microseconds.
    fn timestamp_us(&self, index: u64) -> i64 {
        let (num, den) = self.framerate;
        let us = u128::from(index) * 1_000_000 * u128::from(den) / u128::from(num);
        i64::try_from(us).unwrap_or(i64::MAX)
    }
}

/// Writes Y4M files (`C420jpeg`) from [`Frame`]s.
#[derive(Debug)]
pub struct Y4mWriter<W: Write> {
    output: W,
    width: u32,
    height: u32,
    buf: Vec<u8>,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the header for `width` x `height` frames at `fps_num / fps_den` frames per second.
    /// Errors with [`FrameError::InvalidDimensions`] for an invalid size and
    /// [`ConfigError::OutOfRange`] for a zero frame rate part.
    pub fn new(
        mut output: W,
        width: u32,
        height: u32,
        fps_num: u32,
        fps_den: u32,
    ) -> Result<Self, Error> {
        check_dimensions(width, height)?;
        for (field, value) in [("fps_num", fps_num), ("fps_den", fps_den)] {
            if value == 0 {
                return Err(ConfigError::out_of_range(field, value, "1..=4294967295").into());
            }
        }
        writeln!(
            output,
            "YUV4MPEG2 W{width} H{height} F{fps_num}:{fps_den} Ip A1:1 C420jpeg"
        )?;
        Ok(Self {
            output,
            width,
            height,
            buf: Vec::new(),
        })
    }

    /// Appends one frame: a `FRAME` line and its visible samples (no stride padding). A frame
    /// of another size than the header's is [`FrameError::SizeMismatch`].
    pub fn write_frame(&mut self, frame: &Frame) -> Result<(), Error> {
        if (frame.width(), frame.height()) != (self.width, self.height) {
            return Err(FrameError::SizeMismatch {
                src_w: frame.width(),
                src_h: frame.height(),
                dst_w: self.width,
                dst_h: self.height,
            }
            .into());
        }
        self.buf.clear();
        self.buf.extend_from_slice(b"FRAME\n");
        frame.write_packed_i420(&mut self.buf);
        self.output.write_all(&self.buf)?;
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> Result<W, Error> {
        self.output.flush()?;
        Ok(self.output)
    }
}

/// Copies a packed plane (`width` bytes per row) into a strided one.
fn copy_plane(src: &[u8], width: usize, dst: &mut [u8], stride: usize) {
    for (s, d) in src.chunks_exact(width).zip(dst.chunks_mut(stride)) {
        d[..width].copy_from_slice(s);
    }
}

/// Reads one `\n`-terminated line of at most `limit` bytes (newline excluded) into `line`.
/// Returns `false` when the input ends before the line's first byte.
fn read_line<R: BufRead>(
    r: &mut R,
    limit: usize,
    line: &mut Vec<u8>,
    what: &'static str,
) -> Result<bool, Error> {
    line.clear();
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if buf.is_empty() {
            if line.is_empty() {
                return Ok(false);
            }
            return Err(truncated(what, line.len() + 1, line.len()));
        }
        let room = limit - line.len();
        let window = &buf[..buf.len().min(room + 1)];
        if let Some(end) = window.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&window[..end]);
            r.consume(end + 1);
            return Ok(true);
        }
        if window.len() > room {
            return Err(invalid(format!("{what} is longer than {limit} bytes")));
        }
        let n = window.len();
        line.extend_from_slice(window);
        r.consume(n);
    }
}

fn parse_number(value: &str, what: &str) -> Result<u32, Error> {
    value
        .parse()
        .map_err(|_| invalid(format!("bad {what} {value:?}")))
}

fn parse_ratio(value: &str, what: &str) -> Result<(u32, u32), Error> {
    let (num, den) = value
        .split_once(':')
        .ok_or_else(|| invalid(format!("bad {what} {value:?} (expected num:den)")))?;
    Ok((parse_number(num, what)?, parse_number(den, what)?))
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
    use proptest::prelude::*;

    /// A frame whose every sample differs from its neighbours.
    fn pattern(width: u32, height: u32, seed: u8) -> Frame {
        let mut f = Frame::new(width, height).unwrap();
        let (ys, uvs) = (f.y_stride(), f.uv_stride());
        let (y, u, v) = f.planes_mut();
        for (i, b) in y.iter_mut().enumerate() {
            *b = (i % ys * 7 + i / ys * 13) as u8 ^ seed;
        }
        for (i, (bu, bv)) in u.iter_mut().zip(v.iter_mut()).enumerate() {
            *bu = (i % uvs * 3 + i / uvs * 5) as u8 ^ seed;
            *bv = (i % uvs * 11 + i / uvs) as u8 ^ seed;
        }
        f
    }

    fn write(frames: &[Frame], fps: (u32, u32)) -> Vec<u8> {
        let (w, h) = (frames[0].width(), frames[0].height());
        let mut wr = Y4mWriter::new(Vec::new(), w, h, fps.0, fps.1).unwrap();
        for f in frames {
            wr.write_frame(f).unwrap();
        }
        wr.finish().unwrap()
    }

    fn read_all(file: &[u8]) -> Result<Vec<Frame>, Error> {
        let mut r = Y4mReader::new(file)?;
        let mut frames = Vec::new();
        while let Some(f) = r.next_frame()? {
            frames.push(f);
        }
        Ok(frames)
    }

    #[test]
    fn round_trip_odd_size() {
        let frames = [pattern(33, 17, 0), pattern(33, 17, 0x55)];
        let file = write(&frames, (30000, 1001));
        let header = b"YUV4MPEG2 W33 H17 F30000:1001 Ip A1:1 C420jpeg\n";
        assert!(file.starts_with(header));
        // Visible samples only: 33*17 + 2 * 17*9 per frame.
        assert_eq!(file.len(), header.len() + 2 * (6 + 33 * 17 + 2 * 17 * 9));

        let mut r = Y4mReader::new(file.as_slice()).unwrap();
        assert_eq!((r.width(), r.height()), (33, 17));
        assert_eq!(r.framerate(), (30000, 1001));
        assert!((r.framerate_f64() - 29.970_029_97).abs() < 1e-6);
        assert_eq!(r.pixel_aspect(), (1, 1));
        assert_eq!(r.colorspace(), Y4mColorspace::C420Jpeg);
        let a = r.next_frame().unwrap().unwrap();
        let b = r.next_frame().unwrap().unwrap();
        assert!(r.next_frame().unwrap().is_none());
        assert!(a.same_pixels(&frames[0]));
        assert!(b.same_pixels(&frames[1]));
        assert!(!a.same_pixels(&b));
        assert_eq!((a.timestamp_us(), b.timestamp_us()), (0, 33_366));
        assert_eq!(a.color_space(), ColorSpace::BT601_LIMITED);
    }

    #[test]
    fn next_frame_into_checks_size_and_reuses_the_frame() {
        let src = pattern(8, 6, 1);
        let file = write(&[src.clone(), src.clone()], (25, 1));
        let mut r = Y4mReader::new(file.as_slice()).unwrap();
        let mut wrong = Frame::new(6, 8).unwrap();
        assert!(matches!(
            r.next_frame_into(&mut wrong),
            Err(Error::Frame(FrameError::SizeMismatch { .. }))
        ));
        let mut f = Frame::new(8, 6).unwrap();
        assert!(r.next_frame_into(&mut f).unwrap());
        assert!(f.same_pixels(&src));
        assert!(r.next_frame_into(&mut f).unwrap());
        assert_eq!(f.timestamp_us(), 40_000);
        assert!(!r.next_frame_into(&mut f).unwrap());
    }

    #[test]
    fn writer_rejects_other_sizes() {
        let mut w = Y4mWriter::new(Vec::new(), 16, 16, 30, 1).unwrap();
        assert!(matches!(
            w.write_frame(&Frame::new(16, 15).unwrap()),
            Err(Error::Frame(FrameError::SizeMismatch {
                src_w: 16,
                src_h: 15,
                dst_w: 16,
                dst_h: 16
            }))
        ));
        assert!(matches!(
            Y4mWriter::new(Vec::new(), 16, 16, 0, 1),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Y4mWriter::new(Vec::new(), 0, 16, 30, 1),
            Err(Error::Frame(FrameError::InvalidDimensions { .. }))
        ));
    }

    #[test]
    fn mono_gets_neutral_chroma() {
        let mut file = b"YUV4MPEG2 W3 H2 F30:1 Cmono XCOLORRANGE=FULL\nFRAME\n".to_vec();
        file.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        file.extend_from_slice(b"FRAME Ixyz\n");
        file.extend_from_slice(&[9; 6]);
        let mut r = Y4mReader::new(file.as_slice()).unwrap();
        assert_eq!(r.colorspace(), Y4mColorspace::Mono);
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(f.y_row(0), &[1, 2, 3]);
        assert_eq!(f.y_row(1), &[4, 5, 6]);
        assert_eq!(f.u_row(0), &[128, 128]);
        assert_eq!(f.v_row(0), &[128, 128]);
        assert_eq!(f.color_space(), ColorSpace::BT601_FULL);
        let g = r.next_frame().unwrap().unwrap();
        assert_eq!(g.y_row(1), &[9, 9, 9]);
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn header_variants() {
        for (cs, expected) in [
            ("", Y4mColorspace::C420Jpeg),
            (" C420jpeg", Y4mColorspace::C420Jpeg),
            (" C420paldv", Y4mColorspace::C420Paldv),
            (" C420mpeg2", Y4mColorspace::C420Mpeg2),
            (" C420", Y4mColorspace::C420),
        ] {
            let header = format!("YUV4MPEG2 H2 W2{cs} XYSCSS=420JPEG\nFRAME\n");
            let mut file = header.into_bytes();
            file.extend_from_slice(&[0, 1, 2, 3, 4, 5]);
            let mut r = Y4mReader::new(file.as_slice()).unwrap();
            assert_eq!(r.colorspace(), expected);
            assert_eq!(r.framerate(), DEFAULT_FRAMERATE);
            assert_eq!(r.pixel_aspect(), (0, 0));
            let f = r.next_frame().unwrap().unwrap();
            assert_eq!(
                (f.y_row(1), f.u_row(0), f.v_row(0)),
                (&[2, 3][..], &[4][..], &[5][..])
            );
        }
    }

    #[test]
    fn unsupported_colourspaces_are_named() {
        for cs in ["444", "420p10", "422", "mono16", "444alpha"] {
            let header = format!("YUV4MPEG2 W2 H2 F30:1 C{cs}\n");
            match Y4mReader::new(header.as_bytes()) {
                Err(Error::Container(ContainerError::Unsupported { reason, .. })) => {
                    assert!(reason.contains(&format!("C{cs} ")), "{reason}");
                }
                other => panic!("C{cs}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_headers_are_invalid() {
        let long = format!("YUV4MPEG2 W2 H2 X{}\n", "a".repeat(MAX_HEADER_LINE));
        for header in [
            "YUV4MPEG W2 H2\n",
            "YUV4MPEG2W2 H2\n",
            "YUV4MPEG2 W2\n",
            "YUV4MPEG2 W2 Hx\n",
            "YUV4MPEG2 W2 H2 F30\n",
            "YUV4MPEG2 W2 H2 A1:\n",
            "YUV4MPEG2 W-2 H2\n",
            "YUV4MPEG2 W2 H2 \u{e9}\n",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    Y4mReader::new(header.as_bytes()),
                    Err(Error::Container(ContainerError::Invalid { .. }))
                ),
                "{header:?}"
            );
        }
        assert!(matches!(
            Y4mReader::new(&b"YUV4MPEG2 W0 H2\n"[..]),
            Err(Error::Frame(FrameError::InvalidDimensions { .. }))
        ));
        let mut r = Y4mReader::new(&b"YUV4MPEG2 W2 H2\nFRAMES\n"[..]).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(Error::Container(ContainerError::Invalid { .. }))
        ));
        let long_frame = format!("YUV4MPEG2 W2 H2\nFRAME X{}\n", "a".repeat(MAX_FRAME_LINE));
        let mut r = Y4mReader::new(long_frame.as_bytes()).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(Error::Container(ContainerError::Invalid { .. }))
        ));
    }

    #[test]
    fn every_truncation_is_an_error_or_a_shorter_read() {
        let frames = [pattern(5, 3, 0), pattern(5, 3, 9)];
        let file = write(&frames, (30, 1));
        let header_len = file.iter().position(|&b| b == b'\n').unwrap() + 1;
        let frame_len = 6 + 15 + 2 * 3 * 2;
        let boundaries = [header_len, header_len + frame_len];
        for cut in 0..file.len() {
            match read_all(&file[..cut]) {
                Ok(got) => {
                    let n = boundaries.iter().position(|&b| b == cut);
                    assert_eq!(Some(got.len()), n, "cut at {cut}");
                }
                Err(Error::Container(ContainerError::Truncated { .. })) => {
                    assert!(!boundaries.contains(&cut), "cut at {cut}");
                }
                Err(e) => panic!("cut at {cut}: {e}"),
            }
        }
        assert_eq!(read_all(&file).unwrap().len(), 2);
    }

    /// Counts the largest buffer the reader asks to fill, as a proxy for what it allocated.
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
    fn huge_header_size_does_not_allocate_a_frame_up_front() {
        let mut file = b"YUV4MPEG2 W16384 H16384 F30:1\nFRAME\n".to_vec();
        file.resize(100, 7);
        let mut input = LargestRead {
            data: &file,
            largest: 0,
        };
        let mut r = Y4mReader::new(&mut input).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(Error::Container(ContainerError::Truncated { got: 64, .. }))
        ));
        assert_eq!(r.pool.allocations(), 0);
        assert!(r.staging.capacity() <= READ_CHUNK);
        drop(r);
        assert!(input.largest <= READ_CHUNK);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256),
                                       header in 0usize..3) {
            let prefix: &[u8] = match header {
                0 => b"",
                1 => b"YUV4MPEG2 W3 H3 F1:1\n",
                _ => b"YUV4MPEG2 W1000 H1000 Cmono\nFRAME\n",
            };
            let mut file = prefix.to_vec();
            file.extend_from_slice(&tail);
            let mut input = LargestRead { data: &file, largest: 0 };
            if let Ok(mut r) = Y4mReader::new(&mut input) {
                while let Ok(Some(_)) = r.next_frame() {}
            }
            prop_assert!(input.largest <= 1 << 20);
        }

        #[test]
        fn round_trips_any_size(w in 1u32..40, h in 1u32..40, seed in any::<u8>()) {
            let f = pattern(w, h, seed);
            let back = read_all(&write(std::slice::from_ref(&f), (30, 1))).unwrap();
            prop_assert_eq!(back.len(), 1);
            prop_assert!(back[0].same_pixels(&f));
        }
    }
}
