//! `include/rtvc.h` is what cbindgen makes of the crate today: regenerated here and compared
//! with the committed file (set `RTVC_UPDATE_HEADER=1` to rewrite it after an ABI change).

use std::path::Path;

#[test]
fn the_committed_header_matches_the_crate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen parses the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8");
    let path = dir.join("include/rtvc.h");
    if std::env::var_os("RTVC_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/rtvc.h is out of date: run RTVC_UPDATE_HEADER=1 cargo test -p rtvc-ffi --test header"
    );
}
