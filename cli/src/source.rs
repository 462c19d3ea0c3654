//! Where frames come from: Y4M files, H.264 Annex B and AV1 IVF files (decoded with our
//! decoders), or the built-in synthetic scene.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use rtvc_codec::container::stream::{FileFormat, StreamReader, detect_format};
use rtvc_codec::container::y4m::Y4mReader;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{CodecKind, CodecRegistry, DecoderConfig, Frame, Packet, VideoDecoder};

use crate::CliError;

/// Decodes a compressed file into frames.
pub struct DecodingSource {
    reader: StreamReader<BufReader<File>>,
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
    pub fn open(path: &Path, config: &DecoderConfig, fps: Option<f64>) -> Result<Self, CliError> {
        let reader = StreamReader::open(path).map_err(|e| CliError::input(path, e))?;
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
                    self.ready.extend(self.decoder.take_ready());
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
        match detect_format(path).map_err(|e| CliError::input(path, e))? {
            FileFormat::Y4m => {
                let f = BufReader::new(File::open(path).map_err(|e| CliError::io(path, e))?);
                Ok(FrameSource::Y4m(Box::new(Y4mReader::new(f)?)))
            }
            _ => Ok(FrameSource::Decoded(Box::new(DecodingSource::open(
                path,
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

/// A clip that loops forever.
pub struct LoopingClip {
    spec: String,
    fps_override: Option<f64>,
    source: FrameSource,
    /// Frames per second of the clip.
    pub fps: f64,
}

impl LoopingClip {
    /// Opens `spec` (see [`FrameSource::open`]).
    pub fn open(spec: &str, fps_override: Option<f64>) -> Result<Self, CliError> {
        let source = FrameSource::open(spec, fps_override)?;
        let fps = source.fps(fps_override);
        Ok(Self {
            spec: spec.into(),
            fps_override,
            source,
            fps,
        })
    }

    /// The next frame, from the start again after the last.
    pub fn next(&mut self) -> Result<Frame, CliError> {
        if let Some(f) = self.source.next_frame()? {
            return Ok(f);
        }
        self.source = FrameSource::open(&self.spec, self.fps_override)?;
        self.source
            .next_frame()?
            .ok_or_else(|| CliError::Usage(format!("{} holds no frames", self.spec)))
    }
}
