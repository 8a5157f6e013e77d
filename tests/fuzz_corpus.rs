//! Replays every kept fuzz input — the corpora `cargo fuzz` grew and any crash it found
//! (`fuzz/corpus/<target>/`, `fuzz/artifacts/<target>/`) — through the same harness the
//! libFuzzer targets run (`fuzz/harness.rs`): bad input gives an error, never a panic.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_kept_fuzz_input_is_handled_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, run) in harness::TARGETS {
        let mut n = 0;
        for dir in ["corpus", "artifacts"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                if path.is_file() {
                    let data = std::fs::read(&path).unwrap();
                    let r = std::panic::catch_unwind(|| run(&data));
                    assert!(r.is_ok(), "{name}: {} panics", path.display());
                    n += 1;
                }
            }
        }
        assert!(n > 0, "{name}: no corpus in fuzz/corpus/{name}");
    }
}
