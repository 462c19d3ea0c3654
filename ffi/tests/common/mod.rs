//! Shared by the C ABI's tests: building librtvc with cargo from inside a test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `ffi/`.
pub fn ffi_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ffi_dir().join("../target"))
}

/// `cargo rustc --release -p rtvc-ffi --lib <args>`; panics with cargo's output on failure.
pub fn cargo_rustc(args: &[&str], what: &str) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(ffi_dir())
        .args(["rustc", "--release", "-p", "rtvc-ffi", "--lib"])
        .args(args)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building {what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
