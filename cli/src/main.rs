//! `rtvc`: the command-line front door to the rtvc codec layer.

mod bench;
mod call;
mod compare;
mod conformance;
mod decode;
mod encode;
mod interop;
mod join;
mod rc;
mod serve;
mod soak;
mod source;
mod util;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Low-latency AV1 / H.264 video pipeline for calls.
#[derive(Debug, Parser)]
#[command(name = "rtvc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Encode a file or the synthetic scene and report speed, bitrate and quality.
    Encode(encode::EncodeArgs),
    /// Decode an AV1 or H.264 file; print its MD5, write Y4M.
    Decode(decode::DecodeArgs),
    /// Decode every vector of a conformance manifest and compare MD5s.
    Conformance(conformance::ConformanceArgs),
    /// Evaluate rate control against a bandwidth trace (simulated bottleneck link).
    Rc(rc::RcArgs),
    /// A simulated call between rtvc endpoints (str0m + our codecs) over an emulated network;
    /// with no arguments, the demo (20 s, AV1, LTE-like network, camera switch, outage).
    Call(call::CallArgs),
    /// Encode/decode continuously with random rate, keyframe, size changes and damaged packets;
    /// report memory over time and error counts.
    Soak(soak::SoakArgs),
    /// The signaling server (rooms of up to 4 over WebSocket) and the browser page.
    Serve(serve::ServeArgs),
    /// Join a room of `rtvc serve` as a native endpoint (str0m on UDP, our codecs, Opus audio)
    /// and call everyone in it, in real time.
    Join(join::JoinArgs),
    /// A call between rtvc and headless Chromium through an in-process `rtvc serve`.
    Interop(interop::InteropArgs),
    /// rtvc's encoders against ffmpeg's (libx264, libaom, SVT-AV1) on the same frames over a
    /// bitrate ladder: speed, delay, rate accuracy, PSNR-Y, SSIM, BD-rates.
    Compare(compare::CompareArgs),
    /// What each device class can do: per call mode the policy's pick, encode/decode times and
    /// heap measured here, and the headroom estimated through the class's declared speed.
    Bench(bench::BenchArgs),
    /// Print a token that lets its holder join one room of `rtvc serve --secret`.
    Token(serve::TokenArgs),
}

/// Everything a subcommand can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Wrong arguments or unusable input.
    #[error("{0}")]
    Usage(String),
    /// A codec-layer error.
    #[error(transparent)]
    Codec(#[from] rtvc_codec::Error),
    /// Reading an input file failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Writing output failed.
    #[error("writing output: {0}")]
    Write(std::io::Error),
    /// A self-check failed (e.g. our decoder rejected our encoder's output).
    #[error("check failed: {0}")]
    Check(String),
    /// The run finished but found problems (non-zero exit).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// A codec-layer error about an input file, with the path in the message.
    fn input(path: &Path, e: rtvc_codec::Error) -> Self {
        match e {
            rtvc_codec::Error::Io(source) => CliError::io(path, source),
            e => CliError::Usage(format!("{}: {e}", path.display())),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> Result<(), CliError> {
    let s = serde_json::to_string(v).map_err(|e| CliError::Check(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Call(args) => call::run(&args, std::env::args_os().count() == 2)?,
        Command::Encode(args) => {
            let report = encode::run(&args)?;
            if args.json {
                print_json(&report)?;
            } else {
                encode::print_summary(&report);
            }
        }
        Command::Conformance(args) => conformance::run(&args)?,
        Command::Soak(args) => soak::run(&args)?,
        Command::Rc(args) => rc::run(&args)?,
        Command::Serve(args) => serve::serve(&args)?,
        Command::Token(args) => serve::token(&args)?,
        Command::Bench(args) => {
            let report = bench::run(&args)?;
            if args.json {
                print_json(&report)?;
            } else if args.markdown {
                bench::print_markdown(&report);
            } else {
                bench::print(&report);
            }
        }
        Command::Compare(args) => {
            let report = compare::run(&args)?;
            if args.json {
                print_json(&report)?;
            } else {
                compare::print(&report);
            }
        }
        Command::Interop(args) => {
            let report = interop::run(&args)?;
            if args.json {
                print_json(&report)?;
            } else {
                interop::print(&report);
            }
        }
        Command::Join(args) => {
            let report = join::run(&args)?;
            if args.json {
                print_json(&report)?;
            } else {
                join::print_table(&report);
            }
        }
        Command::Decode(args) => {
            let report = decode::run(&args)?;
            if args.json {
                print_json(&report)?;
            } else {
                println!(
                    "{} {}: {} frames, {}x{} (last), {:.1} fps{}",
                    report.decoder,
                    report.codec,
                    report.frames,
                    report.width,
                    report.height,
                    report.fps,
                    report
                        .output
                        .as_ref()
                        .map(|o| format!(", wrote {o}"))
                        .unwrap_or_default()
                );
                if args.md5 {
                    println!("md5 {}", report.md5);
                }
            }
            if report.errors > 0 {
                return Err(CliError::Failed(format!(
                    "{} packets could not be decoded (first: {})",
                    report.errors,
                    report.first_error.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rtvc: {e}");
            ExitCode::FAILURE
        }
    }
}
