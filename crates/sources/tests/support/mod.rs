//! What the test files share.

use std::path::{Path, PathBuf};

/// The shared corpus: `$SPOOR_CORPUS`, else `../../../shared/corpus` from this crate. When it is
/// missing, a test fails under CI (`CI` set) and is skipped otherwise (None).
pub fn corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("SPOOR_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "the corpus is missing at {}; set SPOOR_CORPUS to the shared corpus folder",
            dir.display()
        );
    }
    eprintln!("skipped: no corpus at {} (set SPOOR_CORPUS)", dir.display());
    None
}
