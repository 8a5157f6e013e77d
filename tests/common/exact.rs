//! What the one-physics and one-controller tests share: the Gate Square devices with the
//! exact (IEEE 754 double) test profiles of `tests/fixtures/exact/`.

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every unit and meter of `sc` with the exact test profiles, on ephemeral ports of
/// 127.0.0.1, one unit id each: `dir/devices.toml`.
pub fn exact_devices(dir: &Path, district: &str, sc: &engine::Scenario) -> PathBuf {
    let profiles = root().join("tests/fixtures/exact");
    let mut text = format!("[district]\nid = \"{district}\"\n\n[modbus]\ntimeout_ms = 2000\n");
    let mut unit = 1;
    let mut add = |asset: &str, profile: &str| {
        text.push_str(&format!(
            "\n[[device]]\nasset = \"{asset}\"\nprofile = \"{}\"\nhost = \"127.0.0.1\"\nport = 0\nunit_id = {unit}\n",
            profiles.join(format!("{profile}.toml")).display()
        ));
        unit += 1;
    };
    for b in &sc.batteries {
        add(&b.id, "battery_f64");
    }
    for h in &sc.hvacs {
        add(&h.id, "hvac_f64");
    }
    for g in &sc.generators {
        add(&g.id, "generator_f64");
    }
    for g in &sc.grids {
        add(&g.id, "meter_f64");
    }
    let p = dir.join("devices.toml");
    std::fs::write(&p, text).unwrap();
    p
}
