//! Decoder conformance: decode test vectors listed in a manifest and compare the hash of all
//! decoded frames with the reference.
//!
//! The manifest is a TSV file with a header row (the columns of
//! `../shared/test-vectors/MANIFEST.tsv`; `local_path` and `codec` are required). For each row:
//!
//! * `expected_decoded_md5` — MD5 of every decoded frame as planar I420, rows at the cropped
//!   width ([`rtvc_codec::quality::FrameMd5`]);
//! * otherwise an `openh264 sha1=<hex>` in `other_refs` — the SHA-1 of the same bytes;
//! * otherwise the row is a robustness stream (damaged on purpose): it must decode to the end
//!   without panic or hang; decode errors are expected and counted.
//!
//! Additional references in `other_refs` written as `<md5> [--filmgrain 1]` or
//! `<md5> [--alllayers 0 --oppoint 1]` (separated by ` | `) are checked with those decoder
//! options, each as its own variant.
//!
//! Known gaps live in an expected-failures list (`path<TAB>variant<TAB>reason`); a listed check
//! that fails is [`Status::ExpectedFail`], one that passes is [`Status::UnexpectedPass`] so a fix
//! is noticed as surely as a regression.

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rtvc_codec::container::stream::StreamReader;
use rtvc_codec::decoder::DecoderConfig;
use rtvc_codec::encoded::{CodecKind, Packet};
use rtvc_codec::error::{ContainerError, Error};
use rtvc_codec::quality::{FrameMd5, FrameSha1};
use rtvc_codec::registry::CodecRegistry;

/// One manifest row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    /// Path of the bitstream, relative to the manifest's root.
    pub local_path: String,
    /// Codec (`None` for an unknown value).
    pub codec: Option<CodecKind>,
    /// Profile name as written (`Constrained Baseline`, `Main`, ...).
    pub profile: String,
    /// Frame size, when given.
    pub size: Option<(u32, u32)>,
    /// Frame count, when given.
    pub frames: Option<u64>,
    /// MD5 of all decoded frames, when given.
    pub expected_md5: Option<String>,
    /// Decoder options the main MD5 was made with (`--filmgrain 1`, ...), written after it in
    /// brackets; empty for the defaults.
    pub expected_options: String,
    /// Further references (`openh264 sha1=...`, `<md5> [options]`).
    pub other_refs: String,
    /// How the reference was verified.
    pub local_verification: String,
}

/// Parses a manifest (TSV with a header row).
pub fn parse_manifest(text: &str) -> Result<Vec<ManifestRow>, Error> {
    let invalid = |reason: String| -> Error {
        ContainerError::Invalid {
            format: "manifest",
            reason,
        }
        .into()
    };
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| invalid("empty file".into()))?
        .split('\t')
        .map(str::trim)
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let path_col = col("local_path").ok_or_else(|| invalid("no local_path column".into()))?;
    let codec_col = col("codec").ok_or_else(|| invalid("no codec column".into()))?;
    let (profile_col, size_col, frames_col, md5_col, refs_col, verif_col) = (
        col("profile"),
        col("WxH"),
        col("frames"),
        col("expected_decoded_md5"),
        col("other_refs"),
        col("local_verification"),
    );
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |c: Option<usize>| c.and_then(|c| f.get(c)).map_or("", |s| s.trim());
        let local_path = get(Some(path_col)).to_string();
        if local_path.is_empty() {
            return Err(invalid(format!("row {} has no local_path", i + 2)));
        }
        let size = get(size_col)
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
        // "<md5>" or "<md5> [--filmgrain 1]".
        let (md5, options) = match get(md5_col).split_once('[') {
            Some((h, o)) => (h.trim(), o.trim_end_matches(']').trim()),
            None => (get(md5_col), ""),
        };
        rows.push(ManifestRow {
            local_path,
            codec: CodecKind::parse(get(Some(codec_col))),
            profile: get(profile_col).to_string(),
            size,
            frames: get(frames_col).parse().ok(),
            expected_md5: (md5.len() == 32).then(|| md5.to_ascii_lowercase()),
            expected_options: options.to_string(),
            other_refs: get(refs_col).to_string(),
            local_verification: get(verif_col).to_string(),
        });
    }
    Ok(rows)
}

/// Decoder options a reference was produced with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Apply AV1 film grain.
    pub film_grain: bool,
    /// AV1 operating point.
    pub oppoint: u8,
    /// Output all AV1 spatial layers.
    pub all_layers: bool,
}

impl DecodeOptions {
    fn parse(s: &str) -> Option<Self> {
        let mut o = DecodeOptions::default();
        let mut it = s.split_whitespace();
        while let Some(flag) = it.next() {
            let v: u8 = it.next()?.parse().ok()?;
            match flag {
                "--filmgrain" => o.film_grain = v != 0,
                "--oppoint" => o.oppoint = v,
                "--alllayers" => o.all_layers = v != 0,
                _ => return None,
            }
        }
        Some(o)
    }

    fn decoder_config(&self) -> DecoderConfig {
        let mut config = DecoderConfig::default();
        config.apply_film_grain = self.film_grain;
        config.operating_point = self.oppoint;
        config.all_layers = self.all_layers;
        config
    }
}

/// What a check compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// MD5 of all decoded frames.
    Md5(String),
    /// SHA-1 of all decoded frames (openh264's test hashes).
    Sha1(String),
    /// No reference: a damaged stream that must only decode without panic or hang.
    Robustness,
}

/// One thing to verify about a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Empty for the main check, else the options as written (e.g. `--oppoint 1`).
    pub variant: String,
    /// Decoder options.
    pub options: DecodeOptions,
    /// Expected hash.
    pub reference: Reference,
}

/// The checks for a row: the main one, then one per option variant in `other_refs`.
pub fn checks(row: &ManifestRow) -> Vec<Check> {
    let refs: Vec<&str> = row
        .other_refs
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let sha1 = refs.iter().find_map(|r| {
        r.strip_prefix("openh264 sha1=")
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| h.len() == 40)
    });
    let main = match (&row.expected_md5, sha1) {
        (Some(md5), _) => Reference::Md5(md5.clone()),
        (None, Some(sha1)) => Reference::Sha1(sha1),
        (None, None) => Reference::Robustness,
    };
    let mut out = vec![Check {
        variant: row.expected_options.clone(),
        options: DecodeOptions::parse(&row.expected_options).unwrap_or_default(),
        reference: main,
    }];
    for r in refs {
        let Some((hash, rest)) = r.split_once('[') else {
            continue;
        };
        let hash = hash.trim();
        let opts = rest.trim_end_matches(']').trim();
        if hash.len() != 32 {
            continue;
        }
        if let Some(options) = DecodeOptions::parse(opts) {
            out.push(Check {
                variant: opts.to_string(),
                options,
                reference: Reference::Md5(hash.to_ascii_lowercase()),
            });
        }
    }
    out
}

/// Known failures: `(path, variant) → reason`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    entries: HashMap<(String, String), String>,
}

impl ExpectedFailures {
    /// Parses `path<TAB>variant<TAB>reason` lines (`#` comments; variant may be empty).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut entries = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() != 3 || f[2].trim().is_empty() {
                return Err(ContainerError::Invalid {
                    format: "expected-failures",
                    reason: format!("line {}: want path<TAB>variant<TAB>reason", i + 1),
                }
                .into());
            }
            entries.insert(
                (f[0].trim().to_string(), f[1].trim().to_string()),
                f[2].trim().to_string(),
            );
        }
        Ok(Self { entries })
    }

    /// The reason a check is expected to fail, if it is listed.
    pub fn reason(&self, path: &str, variant: &str) -> Option<&str> {
        self.entries
            .get(&(path.to_string(), variant.to_string()))
            .map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries as (path, variant, reason), sorted.
    pub fn entries(&self) -> Vec<(&str, &str, &str)> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .map(|((p, var), r)| (p.as_str(), var.as_str(), r.as_str()))
            .collect();
        v.sort();
        v
    }
}

/// Result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The hash matched.
    Pass,
    /// The hash differs (or decoding stopped early).
    Fail,
    /// Failed, and listed as a known failure.
    ExpectedFail,
    /// Listed as a known failure but passed: update the list.
    UnexpectedPass,
    /// A robustness stream decoded to the end without panic or hang.
    Robust,
    /// Could not run (missing file, unreadable container, panic, timeout).
    Error,
}

impl Status {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::ExpectedFail => "expected_fail",
            Status::UnexpectedPass => "unexpected_pass",
            Status::Robust => "robust",
            Status::Error => "error",
        }
    }

    /// True for outcomes that should fail a run.
    pub fn is_unexpected(self) -> bool {
        matches!(self, Status::Fail | Status::UnexpectedPass | Status::Error)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened when a check ran.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// Row path.
    pub path: String,
    /// Check variant (empty for the main check).
    pub variant: String,
    /// Outcome.
    pub status: Status,
    /// MD5 of our decoded frames.
    pub md5: String,
    /// The hash compared (MD5, or SHA-1 for openh264 references) — ours.
    pub hash: String,
    /// The expected hash (empty for robustness streams).
    pub expected: String,
    /// Frames we decoded.
    pub frames: u64,
    /// Packets the decoder rejected.
    pub decode_errors: u64,
    /// Wall time, ms.
    pub ms: f64,
    /// Why (error text, expected-failure reason, first decode error).
    pub detail: String,
}

struct Decoded {
    md5: String,
    sha1: String,
    frames: u64,
    errors: u64,
    first_error: Option<String>,
}

fn decode_file(path: &Path, options: DecodeOptions) -> Result<Decoded, Error> {
    let mut reader = StreamReader::open(path)?;
    let mut dec =
        CodecRegistry::with_builtin().create_decoder(reader.codec(), &options.decoder_config())?;
    let (mut md5, mut sha1) = (FrameMd5::new(), FrameSha1::new());
    let (mut errors, mut first_error, mut n) = (0, None, 0i64);
    let mut add = |f: &rtvc_codec::Frame| {
        md5.add(f);
        sha1.add(f);
    };
    while let Some(data) = reader.next_packet()? {
        match dec.decode(&Packet::new(data, n)) {
            Ok(Some(f)) => add(&f),
            Ok(None) => {}
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
        dec.take_ready().iter().for_each(&mut add);
        n += 1;
    }
    match dec.flush() {
        Ok(rest) => rest.iter().for_each(&mut add),
        Err(e) => {
            errors += 1;
            first_error.get_or_insert_with(|| e.to_string());
        }
    }
    Ok(Decoded {
        frames: md5.frames(),
        md5: md5.hex(),
        sha1: sha1.hex(),
        errors,
        first_error,
    })
}

/// Runs one check on the file at `root/row.local_path`. Decoding happens on a worker thread:
/// a panic becomes [`Status::Error`], and so does running past `timeout` (the worker is then
/// abandoned).
pub fn run_check(
    root: &Path,
    row: &ManifestRow,
    check: &Check,
    expected_failures: &ExpectedFailures,
    timeout: Duration,
) -> CheckResult {
    let path: PathBuf = root.join(&row.local_path);
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let options = check.options;
    let worker_path = path.clone();
    let spawned = std::thread::Builder::new()
        .name("conformance".into())
        .spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| decode_file(&worker_path, options)));
            let _ = tx.send(r);
        });
    let outcome = match spawned {
        Ok(_) => rx.recv_timeout(timeout),
        Err(e) => Ok(Ok(Err(Error::Io(e)))),
    };
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let expected = match &check.reference {
        Reference::Md5(h) | Reference::Sha1(h) => h.clone(),
        Reference::Robustness => String::new(),
    };
    let mut result = CheckResult {
        path: row.local_path.clone(),
        variant: check.variant.clone(),
        status: Status::Error,
        md5: String::new(),
        hash: String::new(),
        expected,
        frames: 0,
        decode_errors: 0,
        ms,
        detail: String::new(),
    };
    let decoded = match outcome {
        Err(_) => {
            result.detail = format!("timed out after {:.0} s", timeout.as_secs_f64());
            return result;
        }
        Ok(Err(_panic)) => {
            result.detail = "decoder panicked".into();
            return result;
        }
        Ok(Ok(Err(e))) => {
            result.detail = e.to_string();
            return result;
        }
        Ok(Ok(Ok(d))) => d,
    };
    result.frames = decoded.frames;
    result.decode_errors = decoded.errors;
    result.md5 = decoded.md5.clone();
    let matched = match &check.reference {
        Reference::Md5(h) => {
            result.hash = decoded.md5;
            Some(&result.hash == h)
        }
        Reference::Sha1(h) => {
            result.hash = decoded.sha1;
            Some(&result.hash == h)
        }
        Reference::Robustness => {
            result.hash = decoded.md5;
            None
        }
    };
    let listed = expected_failures.reason(&row.local_path, &check.variant);
    result.status = match (matched, listed) {
        (None, _) => Status::Robust,
        (Some(true), None) => Status::Pass,
        (Some(true), Some(_)) => Status::UnexpectedPass,
        (Some(false), None) => Status::Fail,
        (Some(false), Some(_)) => Status::ExpectedFail,
    };
    result.detail = match (listed, decoded.first_error) {
        (Some(reason), _) => reason.to_string(),
        (None, Some(e)) => format!("{} decode errors, first: {e}", decoded.errors),
        (None, None) => String::new(),
    };
    result
}

/// Totals over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Hash matched.
    pub passed: usize,
    /// Hash differed.
    pub failed: usize,
    /// Known failures.
    pub expected_fail: usize,
    /// Known failures that now pass.
    pub unexpected_pass: usize,
    /// Robustness streams decoded to the end.
    pub robust: usize,
    /// Could not run.
    pub errors: usize,
}

impl Summary {
    /// Totals of `results`.
    pub fn of(results: &[CheckResult]) -> Self {
        let mut s = Summary::default();
        for r in results {
            match r.status {
                Status::Pass => s.passed += 1,
                Status::Fail => s.failed += 1,
                Status::ExpectedFail => s.expected_fail += 1,
                Status::UnexpectedPass => s.unexpected_pass += 1,
                Status::Robust => s.robust += 1,
                Status::Error => s.errors += 1,
            }
        }
        s
    }

    /// True when nothing unexpected happened.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.unexpected_pass == 0 && self.errors == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "local_path\trepo\tcodec\tprofile\tWxH\tframes\texpected_decoded_md5\tmd5_source\tother_refs\tlocal_verification\n\
a.264\tr\th264\tMain\t176x144\t17\t6d4277a7fc70ed1fbe3c5f10b0a70671\tjm\t\tok\n\
b.264\tr\th264\tBaseline\t352x288\t6\t\t\t\tno reference hash (loss/robustness stream)\n\
e.ivf\tr\tav1\tMain\t50x50\t10\t392a4adc567fa05b210eebe15bcbb491 [--filmgrain 1]\tm\t\tok\n\
c.264\tr\th264\tMain\t640x320\t9\t\t\topenh264 sha1=931ba1caf075e7b47445c1f4410ade77a46048f6\tx\n\
d.ivf\tr\tav1\tMain\t1280x720\t8\t0123456789abcdef0123456789abcdef\tm\t1e595312e1cebf280a4dc65e84f07544 [--alllayers 0 --oppoint 1] | 47df59c53e601d4addb9ac9c5fd6431e [--alllayers 1 --oppoint 0]\tok\n";

    #[test]
    fn manifest_rows_and_checks() {
        let rows = parse_manifest(MANIFEST).unwrap();
        assert_eq!(rows.len(), 5);
        let grain = rows.iter().find(|r| r.local_path == "e.ivf").unwrap();
        let c = checks(grain);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].variant, "--filmgrain 1");
        assert!(c[0].options.film_grain);
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r.local_path != "e.ivf")
            .collect();
        assert_eq!(rows[0].size, Some((176, 144)));
        assert_eq!(rows[0].frames, Some(17));
        assert_eq!(rows[0].codec, Some(CodecKind::H264));
        assert_eq!(
            checks(&rows[0])[0].reference,
            Reference::Md5("6d4277a7fc70ed1fbe3c5f10b0a70671".into())
        );
        assert_eq!(checks(&rows[1])[0].reference, Reference::Robustness);
        assert!(matches!(checks(&rows[2])[0].reference, Reference::Sha1(_)));
        let c = checks(&rows[3]);
        assert_eq!(c.len(), 3);
        assert_eq!(c[1].variant, "--alllayers 0 --oppoint 1");
        assert_eq!(
            c[1].options,
            DecodeOptions {
                film_grain: false,
                oppoint: 1,
                all_layers: false
            }
        );
        assert!(c[2].options.all_layers);
    }

    #[test]
    fn bad_files_are_errors() {
        assert!(parse_manifest("").is_err());
        assert!(parse_manifest("codec\nh264\n").is_err());
        assert!(ExpectedFailures::parse("a.264\tno reason\n").is_err());
        let e = ExpectedFailures::parse("# comment\na.264\t\tB-frames\n").unwrap();
        assert_eq!(e.reason("a.264", ""), Some("B-frames"));
        assert_eq!(e.reason("a.264", "--oppoint 1"), None);
    }

    #[test]
    fn missing_file_is_an_error_not_a_panic() {
        let rows = parse_manifest(MANIFEST).unwrap();
        let r = run_check(
            Path::new("/nonexistent"),
            &rows[0],
            &checks(&rows[0])[0],
            &ExpectedFailures::default(),
            Duration::from_secs(5),
        );
        assert_eq!(r.status, Status::Error);
        assert!(
            r.detail.contains("No such file") || r.detail.contains("not found"),
            "{}",
            r.detail
        );
    }
}
