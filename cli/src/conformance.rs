//! `rtvc conformance`: decode every vector of a manifest and compare hashes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use rtvc_codec::CodecKind;
use rtvc_testkit::conformance::{
    CheckResult, ExpectedFailures, Summary, checks, parse_manifest, run_check,
};
use serde::Serialize;

use crate::CliError;
use crate::encode::parse_codec;
use crate::util::{progress, round};

/// The committed list of known failures (see `test-vectors/expected-failures.tsv`).
pub const EXPECTED_FAILURES: &str = include_str!("../../test-vectors/expected-failures.tsv");

/// Arguments of `rtvc conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Manifest (TSV with the columns of ../shared/test-vectors/MANIFEST.tsv).
    #[arg(long)]
    pub manifest: PathBuf,
    /// Folder the manifest's paths are relative to (default: the manifest's folder).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Only rows of this codec.
    #[arg(long, value_parser = parse_codec)]
    pub codec: Option<CodecKind>,
    /// Only rows whose path contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Known failures (default: the list built into rtvc, test-vectors/expected-failures.tsv).
    #[arg(long)]
    pub expected_failures: Option<PathBuf>,
    /// Per-check timeout in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct JsonResult {
    path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    variant: String,
    status: &'static str,
    md5: String,
    expected: String,
    frames: u64,
    ms: f64,
    #[serde(skip_serializing_if = "is_zero")]
    decode_errors: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    detail: String,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Serialize)]
struct JsonReport {
    passed: usize,
    failed: usize,
    expected_fail: usize,
    unexpected_pass: usize,
    robust: usize,
    errors: usize,
    results: Vec<JsonResult>,
}

/// Runs the checks; returns the results.
pub fn run_checks(args: &ConformanceArgs) -> Result<Vec<CheckResult>, CliError> {
    let text =
        std::fs::read_to_string(&args.manifest).map_err(|e| CliError::io(&args.manifest, e))?;
    let rows = parse_manifest(&text)?;
    let root = args.root.clone().unwrap_or_else(|| {
        args.manifest
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf()
    });
    let expected = match &args.expected_failures {
        Some(p) => {
            ExpectedFailures::parse(&std::fs::read_to_string(p).map_err(|e| CliError::io(p, e))?)?
        }
        None => ExpectedFailures::parse(EXPECTED_FAILURES)?,
    };
    let selected: Vec<_> = rows
        .iter()
        .filter(|r| args.codec.is_none_or(|c| r.codec == Some(c)))
        .filter(|r| {
            args.filter
                .as_ref()
                .is_none_or(|f| r.local_path.contains(f.as_str()))
        })
        .collect();
    let all: Vec<_> = selected
        .iter()
        .flat_map(|r| checks(r).into_iter().map(move |c| (*r, c)))
        .collect();
    let bar = progress(Some(all.len() as u64), args.json);
    let mut results = Vec::new();
    for (row, check) in all {
        let r = run_check(
            &root,
            row,
            &check,
            &expected,
            Duration::from_secs(args.timeout),
        );
        if !args.json {
            bar.suspend(|| {
                println!(
                    "{:15} {}{}  frames {}  {:.0} ms{}",
                    r.status.name().to_uppercase(),
                    r.path,
                    if r.variant.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", r.variant)
                    },
                    r.frames,
                    r.ms,
                    if r.detail.is_empty() {
                        String::new()
                    } else {
                        format!("  ({})", r.detail)
                    }
                )
            });
        }
        bar.inc(1);
        results.push(r);
    }
    bar.finish_and_clear();
    Ok(results)
}

/// Runs `rtvc conformance`; fails when anything unexpected happened.
pub fn run(args: &ConformanceArgs) -> Result<(), CliError> {
    let results = run_checks(args)?;
    let s = Summary::of(&results);
    if args.json {
        let report = JsonReport {
            passed: s.passed,
            failed: s.failed,
            expected_fail: s.expected_fail,
            unexpected_pass: s.unexpected_pass,
            robust: s.robust,
            errors: s.errors,
            results: results
                .iter()
                .map(|r| JsonResult {
                    path: r.path.clone(),
                    variant: r.variant.clone(),
                    status: r.status.name(),
                    md5: r.md5.clone(),
                    expected: r.expected.clone(),
                    frames: r.frames,
                    ms: round(r.ms, 1),
                    decode_errors: r.decode_errors,
                    detail: r.detail.clone(),
                })
                .collect(),
        };
        crate::print_json(&report)?;
    } else {
        println!(
            "{} checks: {} passed, {} failed, {} expected failures, {} unexpected passes, {} robustness streams decoded, {} errors",
            results.len(),
            s.passed,
            s.failed,
            s.expected_fail,
            s.unexpected_pass,
            s.robust,
            s.errors
        );
    }
    if s.ok() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "conformance: {} failed, {} unexpected passes (update test-vectors/expected-failures.tsv), {} errors",
            s.failed, s.unexpected_pass, s.errors
        )))
    }
}
