//! Compressed elementary streams from files: format detection and a packet-at-a-time reader
//! over IVF, AV1 Section 5 / Annex B `.obu` and H.264 Annex B.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use bytes::Bytes;

use crate::container::av1_stream::{self, Av1StreamFormat, detect_av1_stream_format};
use crate::container::ivf::IvfReader;
use crate::encoded::CodecKind;
use crate::error::{ContainerError, Error};
use crate::h264::bitstream::AnnexBReader;

/// What kind of file a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// YUV4MPEG2 raw video.
    Y4m,
    /// IVF (AV1 inside).
    Ivf,
    /// AV1 low-overhead OBU stream (Section 5).
    Av1Section5,
    /// AV1 Annex B length-delimited stream.
    Av1AnnexB,
    /// H.264 Annex B byte stream.
    H264AnnexB,
}

fn looks_like_h264(head: &[u8]) -> bool {
    head.starts_with(&[0, 0, 1]) || head.starts_with(&[0, 0, 0, 1])
}

/// Detects the format from the first bytes of a file and its name.
pub fn detect_format(path: &Path) -> Result<FileFormat, Error> {
    let mut f = File::open(path)?;
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let head = &head[..n];
    if head.starts_with(b"YUV4MPEG2") {
        return Ok(FileFormat::Y4m);
    }
    match detect_av1_stream_format(head) {
        Some(Av1StreamFormat::Ivf) => return Ok(FileFormat::Ivf),
        Some(Av1StreamFormat::Section5) => return Ok(FileFormat::Av1Section5),
        Some(Av1StreamFormat::AnnexB) if !looks_like_h264(head) => {
            return Ok(FileFormat::Av1AnnexB);
        }
        _ => {}
    }
    if looks_like_h264(head) {
        return Ok(FileFormat::H264AnnexB);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "264" | "h264" | "avc" | "jsv" | "26l" | "jvt" => Ok(FileFormat::H264AnnexB),
        _ => Err(ContainerError::UnknownFormat {
            path: path.display().to_string(),
            hint: "supported: .y4m, AV1 .ivf / .obu (Section 5 or Annex B), H.264 Annex B .264/.h264",
        }
        .into()),
    }
}

/// Reads a compressed stream one packet (H.264 access unit / AV1 temporal unit) at a time.
#[derive(Debug)]
pub enum StreamReader<R: Read> {
    /// H.264 Annex B.
    H264(AnnexBReader<R>),
    /// AV1 in IVF.
    Ivf(IvfReader<R>),
    /// AV1 Section 5.
    Section5(av1_stream::Section5Reader<R>),
    /// AV1 Annex B (returned converted to Section 5 OBUs).
    Av1AnnexB(av1_stream::AnnexBReader<R>),
}

impl StreamReader<BufReader<File>> {
    /// Opens `path`, detecting its format.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let format = detect_format(path)?;
        let f = BufReader::new(File::open(path)?);
        Self::new(f, format)
    }
}

impl<R: Read> StreamReader<R> {
    /// A reader of `format` over `input`.
    pub fn new(input: R, format: FileFormat) -> Result<Self, Error> {
        Ok(match format {
            FileFormat::H264AnnexB => StreamReader::H264(AnnexBReader::new(input)),
            FileFormat::Ivf => StreamReader::Ivf(IvfReader::new(input)?),
            FileFormat::Av1Section5 => {
                StreamReader::Section5(av1_stream::Section5Reader::new(input))
            }
            FileFormat::Av1AnnexB => StreamReader::Av1AnnexB(av1_stream::AnnexBReader::new(input)),
            FileFormat::Y4m => {
                return Err(ContainerError::Unsupported {
                    format: "y4m",
                    reason: "raw video, not a compressed stream".into(),
                }
                .into());
            }
        })
    }

    /// Codec of the stream.
    pub fn codec(&self) -> CodecKind {
        match self {
            StreamReader::H264(_) => CodecKind::H264,
            _ => CodecKind::Av1,
        }
    }

    /// Frame rate from the container (IVF timebase), when it is plausible.
    pub fn framerate_hint(&self) -> Option<f64> {
        match self {
            StreamReader::Ivf(r) => {
                let h = r.header();
                let fps = f64::from(h.timebase_den) / f64::from(h.timebase_num.max(1));
                (1.0..=240.0).contains(&fps).then_some(fps)
            }
            _ => None,
        }
    }

    /// The next packet, `None` at the end.
    pub fn next_packet(&mut self) -> Result<Option<Bytes>, Error> {
        Ok(match self {
            StreamReader::H264(r) => r.next_access_unit()?.map(Bytes::from),
            StreamReader::Ivf(r) => r.next_frame()?.map(|f| f.data),
            StreamReader::Section5(r) => r.next_temporal_unit()?,
            StreamReader::Av1AnnexB(r) => r.next_temporal_unit()?,
        })
    }
}
