//! The C programs in `tests/c/`, compiled with the system C compiler against `librtvc.a` and
//! `include/rtvc.h` and run: round trips for both codecs (I420 and NV12), formats, layers and
//! policy, a C hardware vtable that fails at init and one that fails mid-stream, and misuse.
//! Each also runs under valgrind memcheck (zero errors, zero definite or indirect leaks) and
//! built with AddressSanitizer + UndefinedBehaviorSanitizer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

use common::{cargo_rustc, ffi_dir, target_dir};
use rtvc_testkit::shared::require_tool;

const PROGRAMS: &[(&str, &str)] = &[
    ("roundtrip", "decoded 30"),
    ("layers", "layers ok"),
    ("hardware", "hardware ok"),
    ("misuse", "misuse ok"),
];

/// Builds `librtvc.a` (this crate's default features) and returns it with the native libraries
/// it needs (rustc's `native-static-libs`).
fn static_lib() -> &'static (PathBuf, Vec<String>) {
    static LIB: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();
    LIB.get_or_init(|| {
        let out = cargo_rustc(
            &[
                "--crate-type",
                "staticlib",
                "--",
                "--print",
                "native-static-libs",
            ],
            "librtvc.a",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let libs = stderr
            .lines()
            .find_map(|l| {
                l.split_once("native-static-libs:")
                    .map(|(_, r)| r.trim().to_string())
            })
            .expect("rustc printed the native libraries");
        let lib = target_dir().join("release/librtvc.a");
        assert!(lib.exists(), "{} not built", lib.display());
        (lib, libs.split_whitespace().map(String::from).collect())
    })
}

/// Compiles `name.c` (with `extra` compiler flags) and returns the executable.
fn compile(name: &str, tag: &str, extra: &[&str]) -> PathBuf {
    let (lib, libs) = static_lib();
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c-{name}-{tag}"));
    let out = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
        .args(extra)
        .arg("-I")
        .arg(ffi_dir().join("include"))
        .arg(ffi_dir().join(format!("tests/c/{name}.c")))
        .arg(lib)
        .args(libs)
        .arg("-lm")
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cc {name}.c failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn run(cmd: &mut Command, name: &str, expect: &str) {
    let out = cmd.output().expect("run the program");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(expect), "{name}: {stdout}");
}

#[test]
fn c_programs_pass() {
    for (name, expect) in PROGRAMS {
        let exe = compile(name, "plain", &[]);
        run(&mut Command::new(&exe), name, expect);
    }
}

#[test]
fn c_programs_are_clean_under_valgrind() {
    if !require_tool("c_programs_are_clean_under_valgrind", "valgrind") {
        return;
    }
    for (name, expect) in PROGRAMS {
        let exe = compile(name, "plain", &[]);
        run(
            Command::new("valgrind")
                .args([
                    "--error-exitcode=99",
                    "--leak-check=full",
                    "--errors-for-leak-kinds=definite,indirect",
                    "--show-leak-kinds=definite,indirect",
                    "-q",
                ])
                .arg(&exe),
            name,
            expect,
        );
    }
}

#[test]
fn c_programs_are_clean_under_asan_and_ubsan() {
    for (name, expect) in PROGRAMS {
        let exe = compile(
            name,
            "asan",
            &[
                "-fsanitize=address,undefined",
                "-fno-sanitize-recover=undefined",
                "-fno-omit-frame-pointer",
            ],
        );
        run(
            Command::new(&exe).env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"),
            name,
            expect,
        );
    }
}

#[test]
fn the_header_compiles_alone_as_c99_and_as_cpp17() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = dir.join("header-only.c");
    std::fs::write(&src, "#include \"rtvc.h\"\nint main(void) { return 0; }\n").unwrap();
    let cpp = dir.join("header-only.cpp");
    std::fs::copy(&src, &cpp).unwrap();
    for (compiler, std, file) in [("cc", "-std=c99", &src), ("c++", "-std=c++17", &cpp)] {
        let out = Command::new(compiler)
            .args([std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", "-o"])
            .arg(dir.join("header-only.o"))
            .arg("-I")
            .arg(ffi_dir().join("include"))
            .arg(file)
            .output()
            .expect("run the compiler");
        assert!(
            out.status.success(),
            "{compiler} {std}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_shared_library_exports_only_rtvc_symbols() {
    if !require_tool("the_shared_library_exports_only_rtvc_symbols", "nm") {
        return;
    }
    cargo_rustc(&["--crate-type", "cdylib"], "librtvc.so");
    let so = target_dir().join("release/librtvc.so");
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("run nm");
    assert!(nm.status.success());
    let symbols: Vec<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(String::from))
        .collect();
    assert!(
        symbols.iter().any(|s| s == "rtvc_encoder_new"),
        "{symbols:?}"
    );
    let foreign: Vec<&String> = symbols.iter().filter(|s| !s.starts_with("rtvc_")).collect();
    assert!(foreign.is_empty(), "exported beyond rtvc_*: {foreign:?}");
}
