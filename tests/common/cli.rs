//! Running the `aems` binary from the integration tests.

use std::process::{Command, Output};

/// Runs `aems` with `args`.
pub fn aems(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aems"))
        .args(args)
        .output()
        .expect("aems runs")
}

/// Runs `aems` with `args` and fails the test, with its output, unless it succeeds.
pub fn ok(args: &[&str]) -> Output {
    let out = aems(args);
    assert!(
        out.status.success(),
        "aems {}: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}
