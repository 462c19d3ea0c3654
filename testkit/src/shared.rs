//! The shared test data (conformance vectors, camera clips, bandwidth traces) lives beside the
//! repository in `../shared`, or wherever `$RTVC_SHARED` points; it is never copied into the
//! repository. External tools (ffmpeg, dav1d, aomdec) are installed by `scripts/bootstrap`.
//!
//! A test that needs either asks through [`require_shared`] or [`require_tool`]:
//!
//! - present: it gets the path (or `true`) and runs;
//! - missing under `CI=true`: the test **fails**, with the message — CI must never pass by
//!   skipping the checks it exists for;
//! - missing locally: the test returns early, and the skip is written straight to the terminal
//!   (stderr, past the test harness's output capture), so `cargo test` shows it:
//!   `SKIPPED conformance_vectors: ../shared/test-vectors not found (set RTVC_SHARED)`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The shared data folder: `$RTVC_SHARED`, else `shared` beside the repository. `None` when it
/// does not exist.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RTVC_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    dir.is_dir().then_some(dir)
}

/// True when running under CI (`CI=true`, as CI services set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Reports a missing prerequisite of `test`: a panic under CI, a visible skip line otherwise.
fn missing(test: &str, what: &str) {
    // Straight to the terminal: the test harness captures `println!`/`eprintln!` output of
    // passing tests, which would hide the skip.
    if let Err(message) = report_missing(test, what, in_ci(), &mut std::io::stderr().lock()) {
        panic!("{message}");
    }
}

/// The decision behind [`missing`]: under CI an error (the test fails with it), otherwise the
/// skip line written to `out`.
fn report_missing(test: &str, what: &str, ci: bool, out: &mut dyn Write) -> Result<(), String> {
    let line = format!("SKIPPED {test}: {what}");
    if ci {
        return Err(format!(
            "{line} — CI=true: a missing prerequisite fails the run"
        ));
    }
    let _ = writeln!(out, "{line}");
    Ok(())
}

/// The path of `relative` inside the shared data folder, if it exists; see the module docs for
/// what happens when it does not.
pub fn require_shared(test: &str, relative: &str) -> Option<PathBuf> {
    let found = shared_dir()
        .map(|d| d.join(relative))
        .filter(|p| p.exists());
    if found.is_none() {
        missing(
            test,
            &format!("../shared/{relative} not found (set RTVC_SHARED)"),
        );
    }
    found
}

/// True when the command `tool` runs (`tool -version` or `tool --version`); see the module docs
/// for what happens when it does not.
pub fn require_tool(test: &str, tool: &str) -> bool {
    let runs = |flag: &str| {
        Command::new(tool)
            .arg(flag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    let found = runs("-version") || runs("--version");
    if !found {
        missing(
            test,
            &format!("`{tool}` is not installed (scripts/bootstrap installs it)"),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_prerequisite_fails_under_ci_and_is_shown_otherwise() {
        let mut out = Vec::new();
        let ci = report_missing("t", "../shared/x not found", true, &mut out);
        assert!(ci.is_err_and(|m| m.contains("SKIPPED t: ../shared/x not found")));
        assert!(out.is_empty());
        assert_eq!(report_missing("t", "gone", false, &mut out), Ok(()));
        assert_eq!(String::from_utf8(out).unwrap(), "SKIPPED t: gone\n");
    }

    #[test]
    fn tools_that_run_are_found() {
        assert!(require_tool("tools_that_run_are_found", "cargo"));
    }
}
