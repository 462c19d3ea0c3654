//! `rtvc decode`: decode a file with our decoders; optionally write Y4M and print the MD5.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use rtvc_codec::DecoderConfig;
use rtvc_codec::container::y4m::Y4mWriter;
use rtvc_codec::quality::FrameMd5;
use serde::Serialize;

use crate::CliError;
use crate::source::DecodingSource;
use crate::util::{progress, round};

/// Arguments of `rtvc decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Input: AV1 .ivf / .obu (Section 5 or Annex B), or H.264 Annex B.
    #[arg(long)]
    pub input: PathBuf,
    /// Write the decoded frames as Y4M.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Print the MD5 of all decoded frames (planar I420, cropped rows).
    #[arg(long)]
    pub md5: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// AV1: apply film grain synthesis.
    #[arg(long)]
    pub film_grain: bool,
    /// AV1: operating point to decode.
    #[arg(long, default_value_t = 0)]
    pub oppoint: u8,
    /// AV1: output all spatial layers.
    #[arg(long)]
    pub all_layers: bool,
    /// Decoder threads (default: by cores).
    #[arg(long)]
    pub threads: Option<u32>,
}

/// The report `--json` prints.
#[derive(Debug, Serialize)]
pub struct DecodeReport {
    pub decoder: String,
    pub codec: String,
    pub frames: u64,
    pub width: u32,
    pub height: u32,
    pub md5: String,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    pub fps: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// Decodes `input` with `config`, feeding every frame to `each`.
pub fn decode_file(
    input: &Path,
    config: &DecoderConfig,
    mut each: impl FnMut(&rtvc_codec::Frame) -> Result<(), CliError>,
) -> Result<DecodingSourceSummary, CliError> {
    let mut src = DecodingSource::open(input, config, None)?;
    let mut frames = 0;
    let mut size = (0, 0);
    while let Some(f) = src.next_frame()? {
        frames += 1;
        size = (f.width(), f.height());
        each(&f)?;
    }
    Ok(DecodingSourceSummary {
        decoder: src.decoder_name(),
        codec: src.codec(),
        frames,
        last_size: size,
        errors: src.errors,
        first_error: src.first_error.take(),
    })
}

/// What [`decode_file`] saw.
#[derive(Debug)]
pub struct DecodingSourceSummary {
    pub decoder: &'static str,
    pub codec: rtvc_codec::CodecKind,
    pub frames: u64,
    pub last_size: (u32, u32),
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Runs `rtvc decode`.
pub fn run(args: &DecodeArgs) -> Result<DecodeReport, CliError> {
    let mut config = DecoderConfig::default();
    config.apply_film_grain = args.film_grain;
    config.operating_point = args.oppoint;
    config.all_layers = args.all_layers;
    config.threads = args.threads;
    let mut md5 = FrameMd5::new();
    let mut writer: Option<Y4mWriter<BufWriter<File>>> = None;
    let bar = progress(None, args.json);
    let started = Instant::now();
    let summary = decode_file(&args.input, &config, |f| {
        md5.add(f);
        if let Some(path) = &args.output {
            if writer.is_none() {
                let file = File::create(path).map_err(|e| CliError::io(path, e))?;
                writer = Some(Y4mWriter::new(
                    BufWriter::new(file),
                    f.width(),
                    f.height(),
                    30,
                    1,
                )?);
            }
            if let Some(w) = writer.as_mut() {
                w.write_frame(f).map_err(|e| match e {
                    rtvc_codec::Error::Frame(rtvc_codec::FrameError::SizeMismatch { .. }) => CliError::Usage(
                        "the stream changes resolution; Y4M cannot hold that (use --md5 without --output)".into(),
                    ),
                    e => e.into(),
                })?;
            }
        }
        bar.inc(1);
        Ok(())
    })?;
    if let Some(w) = writer {
        w.finish()?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    Ok(DecodeReport {
        decoder: summary.decoder.to_string(),
        codec: summary.codec.to_string(),
        frames: summary.frames,
        width: summary.last_size.0,
        height: summary.last_size.1,
        md5: md5.hex(),
        errors: summary.errors,
        first_error: summary.first_error,
        fps: round(summary.frames as f64 / secs.max(1e-9), 1),
        output: args.output.as_ref().map(|p| p.display().to_string()),
    })
}
