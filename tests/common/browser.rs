//! Headless Chromium for the tests that render pages (Debian's `chromium`; `.ci/run`
//! installs it and sets `AEMS_TEST_CHROMIUM=1`, which makes a missing browser a failure,
//! as `CI=true` does).

use std::process::Command;

/// The Chromium command on this machine, if any.
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

/// Whether a missing Chromium must fail the test (`AEMS_TEST_CHROMIUM` or `CI=true`).
pub fn required() -> bool {
    std::env::var_os("AEMS_TEST_CHROMIUM").is_some() || std::env::var("CI").as_deref() == Ok("true")
}

/// The flags every headless run takes.
pub const HEADLESS: [&str; 6] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-dev-shm-usage",
];
