//! `.ci/run` under `CI=true` fails when a tool it needs cannot be installed: here chromium
//! is made uninstallable (a PATH without it, an `apt-get` that always fails).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[test]
fn ci_fails_when_chromium_cannot_be_installed() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path();
    // Only what the script needs before its first install: no chromium, no mosquitto.
    for tool in ["id", "dirname"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} not found"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    let apt = bin.join("apt-get");
    std::fs::write(&apt, "#!/bin/sh\necho 'E: no network' >&2\nexit 100\n").unwrap();
    std::fs::set_permissions(&apt, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run");
    // The script stops at its first install, before any build or test.
    let run = |ci: &str| {
        Command::new("/bin/sh")
            .arg(&script)
            .env_clear()
            .env("PATH", bin)
            .env("CI", ci)
            .output()
            .unwrap()
    };
    let out = run("true");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "exit {:?}; stderr:\n{err}",
        out.status
    );
    assert!(err.contains("chromium is not installed"), "{err}");
    assert!(err.contains("CI=true: failing"), "{err}");
}
