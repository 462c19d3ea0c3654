//! Where frames come from: Y4M files, H.264 Annex B and AV1 IVF files (decoded with our
//! decoders), or the built-in synthetic scene.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use rtvc_codec::container::ivf::IvfReader;
use rtvc_codec::container::y4m::Y4mReader;
use rtvc_codec::h264::bitstream::AnnexBReader;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{CodecKind, CodecRegistry, DecoderConfig, Frame, Packet, VideoDecoder};

use crate::CliError;

/// The kind of file, from its first bytes and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// YUV4MPEG2.
    Y4m,
    /// IVF (AV1 inside).
    Ivf,
    /// AV1 low-overhead OBU stream.
    Av1Section5,
    /// AV1 Annex B length-delimited stream.
    Av1AnnexB,
    /// H.264 Annex B.
    H264,
}

/// Detects the format of `path` from its magic bytes (falling back to the extension).
pub fn detect(path: &Path) -> Result<InputKind, CliError> {
    let mut head = [0u8; 64];
    let mut f = File::open(path).map_err(|e| CliError::io(path, e))?;
    let n = read_up_to(&mut f, &mut head).map_err(|e| CliError::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(b"YUV4MPEG2") {
        return Ok(InputKind::Y4m);
    }
    use rtvc_codec::container::av1_stream::{Av1StreamFormat, detect_av1_stream_format};
    match detect_av1_stream_format(head) {
        Some(Av1StreamFormat::Ivf) => return Ok(InputKind::Ivf),
        Some(Av1StreamFormat::Section5) => return Ok(InputKind::Av1Section5),
        Some(Av1StreamFormat::AnnexB) if !looks_like_h264(head) => return Ok(InputKind::Av1AnnexB),
        _ => {}
    }
    if looks_like_h264(head) {
        return Ok(InputKind::H264);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "264" | "h264" | "avc" | "jsv" | "26l" | "jvt" => Ok(InputKind::H264),
        _ => Err(CliError::Usage(format!(
            "cannot tell the format of {} (supported: .y4m, AV1 .ivf/.obu, H.264 Annex B .264/.h264)",
            path.display()
        ))),
    }
}

fn looks_like_h264(head: &[u8]) -> bool {
    head.starts_with(&[0, 0, 1]) || head.starts_with(&[0, 0, 0, 1])
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A compressed stream, one packet (access unit / temporal unit) at a time.
pub enum PacketReader {
    /// H.264 Annex B.
    H264(AnnexBReader<BufReader<File>>),
    /// AV1 in IVF.
    Ivf(IvfReader<BufReader<File>>),
    /// AV1 Section 5.
    Section5(rtvc_codec::container::av1_stream::Section5Reader<BufReader<File>>),
    /// AV1 Annex B.
    Av1AnnexB(rtvc_codec::container::av1_stream::AnnexBReader<BufReader<File>>),
}

impl PacketReader {
    /// Opens a compressed file of the given kind.
    pub fn open(path: &Path, kind: InputKind) -> Result<Self, CliError> {
        let f = BufReader::new(File::open(path).map_err(|e| CliError::io(path, e))?);
        Ok(match kind {
            InputKind::H264 => PacketReader::H264(AnnexBReader::new(f)),
            InputKind::Ivf => PacketReader::Ivf(IvfReader::new(f)?),
            InputKind::Av1Section5 => {
                PacketReader::Section5(rtvc_codec::container::av1_stream::Section5Reader::new(f))
            }
            InputKind::Av1AnnexB => {
                PacketReader::Av1AnnexB(rtvc_codec::container::av1_stream::AnnexBReader::new(f))
            }
            InputKind::Y4m => {
                return Err(CliError::Usage(format!(
                    "{} is raw video (Y4M), not a compressed stream",
                    path.display()
                )));
            }
        })
    }

    /// Codec of the stream.
    pub fn codec(&self) -> CodecKind {
        match self {
            PacketReader::H264(_) => CodecKind::H264,
            _ => CodecKind::Av1,
        }
    }

    /// IVF timebase-derived frame rate, when the container says.
    pub fn framerate_hint(&self) -> Option<f64> {
        match self {
            PacketReader::Ivf(r) => {
                let h = r.header();
                let fps = h.timebase_den as f64 / h.timebase_num.max(1) as f64;
                (1.0..=240.0).contains(&fps).then_some(fps)
            }
            _ => None,
        }
    }

    /// The next packet's bytes.
    pub fn next_packet(&mut self) -> Result<Option<bytes::Bytes>, CliError> {
        Ok(match self {
            PacketReader::H264(r) => r
                .next_access_unit()
                .map_err(CliError::Stream)?
                .map(bytes::Bytes::from),
            PacketReader::Ivf(r) => r.next_frame()?.map(|f| f.data),
            PacketReader::Section5(r) => r.next_temporal_unit()?,
            PacketReader::Av1AnnexB(r) => r.next_temporal_unit()?,
        })
    }
}

/// Decodes a compressed file into frames.
pub struct DecodingSource {
    reader: PacketReader,
    decoder: Box<dyn VideoDecoder>,
    ready: VecDeque<Frame>,
    eof: bool,
    /// Packets the decoder rejected.
    pub errors: u64,
    /// The first decode error, for the report.
    pub first_error: Option<String>,
    index: u64,
    fps: f64,
}

impl DecodingSource {
    /// Opens `path` and a decoder for it.
    pub fn open(
        path: &Path,
        kind: InputKind,
        config: &DecoderConfig,
        fps: Option<f64>,
    ) -> Result<Self, CliError> {
        let reader = PacketReader::open(path, kind)?;
        let decoder = CodecRegistry::with_builtin().create_decoder(reader.codec(), config)?;
        let fps = fps.or(reader.framerate_hint()).unwrap_or(30.0);
        Ok(Self {
            reader,
            decoder,
            ready: VecDeque::new(),
            eof: false,
            errors: 0,
            first_error: None,
            index: 0,
            fps,
        })
    }

    /// Codec of the file.
    pub fn codec(&self) -> CodecKind {
        self.reader.codec()
    }

    /// The decoder's implementation name.
    pub fn decoder_name(&self) -> &'static str {
        self.decoder.info().implementation
    }

    /// The next decoded frame (timestamps are re-assigned as index / fps).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CliError> {
        while self.ready.is_empty() && !self.eof {
            match self.reader.next_packet()? {
                Some(data) => {
                    let ts = (self.index as f64 * 1e6 / self.fps).round() as i64;
                    self.index += 1;
                    match self.decoder.decode(&Packet::new(data, ts)) {
                        Ok(Some(f)) => self.ready.push_back(f),
                        Ok(None) => {}
                        Err(e) => {
                            self.errors += 1;
                            self.first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                None => {
                    self.eof = true;
                    match self.decoder.flush() {
                        Ok(rest) => self.ready.extend(rest),
                        Err(e) => {
                            self.errors += 1;
                            self.first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
            }
        }
        Ok(self.ready.pop_front())
    }
}

/// Raw frames for the encoder.
pub enum FrameSource {
    /// A Y4M file.
    Y4m(Box<Y4mReader<BufReader<File>>>),
    /// A compressed file, decoded.
    Decoded(Box<DecodingSource>),
    /// The synthetic scene.
    Synthetic {
        /// The scene.
        scene: Box<SyntheticScene>,
        /// Next frame number.
        next: u64,
    },
}

impl FrameSource {
    /// Opens `spec`: a path, or `synthetic:WIDTHxHEIGHT`.
    pub fn open(spec: &str, fps: Option<f64>) -> Result<Self, CliError> {
        if let Some(size) = spec.strip_prefix("synthetic:") {
            let (w, h) = crate::util::parse_size(size).map_err(CliError::Usage)?;
            let scene =
                SyntheticScene::new(w, h, fps.unwrap_or(30.0)).map_err(rtvc_codec::Error::from)?;
            return Ok(FrameSource::Synthetic {
                scene: Box::new(scene),
                next: 0,
            });
        }
        let path = Path::new(spec);
        match detect(path)? {
            InputKind::Y4m => {
                let f = BufReader::new(File::open(path).map_err(|e| CliError::io(path, e))?);
                Ok(FrameSource::Y4m(Box::new(Y4mReader::new(f)?)))
            }
            kind => Ok(FrameSource::Decoded(Box::new(DecodingSource::open(
                path,
                kind,
                &DecoderConfig::default(),
                fps,
            )?))),
        }
    }

    /// Frames per second of the source (header, container, `--fps`, or 30).
    pub fn fps(&self, fps_override: Option<f64>) -> f64 {
        fps_override.unwrap_or(match self {
            FrameSource::Y4m(r) => r.framerate_f64(),
            FrameSource::Decoded(d) => d.fps,
            FrameSource::Synthetic { .. } => 30.0,
        })
    }

    /// The next frame, or `None` at the end (the synthetic scene never ends).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CliError> {
        match self {
            FrameSource::Y4m(r) => Ok(r.next_frame()?),
            FrameSource::Decoded(d) => d.next_frame(),
            FrameSource::Synthetic { scene, next } => {
                let f = scene.frame(*next);
                *next += 1;
                Ok(Some(f))
            }
        }
    }

    /// Decode errors met while reading a compressed input.
    pub fn decode_errors(&self) -> u64 {
        match self {
            FrameSource::Decoded(d) => d.errors,
            _ => 0,
        }
    }
}
