//! Shared helpers of the engine's integration tests.

#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/cases` beside the checkout (or `AEMS_CASES_DIR`). Panics when it is missing:
/// a test that silently finds no case could not fail.
pub fn cases_dir() -> PathBuf {
    let dir = std::env::var_os("AEMS_CASES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/cases"));
    assert!(
        dir.is_dir(),
        "reference cases not found at {} (set AEMS_CASES_DIR)",
        dir.display()
    );
    dir
}

/// Sub-directories of `dir` holding a `scenario.toml`, sorted.
pub fn case_dirs(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read cases dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.toml").is_file())
        .collect();
    out.sort();
    out
}

/// The case's `expected.json`.
pub fn expected(case: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(case.join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}
