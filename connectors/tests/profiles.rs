//! Profiles: every bundled profile loads and decodes its recorded register dump; bad profile
//! files are refused with file, line and field.

use std::path::{Path, PathBuf};

use connectors::dump::RegisterDump;
use connectors::Profile;

fn profiles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.dump.toml"))
}

#[test]
fn every_shipped_profile_loads_from_disk_and_matches_the_bundled_copy() {
    let mut names = Vec::new();
    for e in std::fs::read_dir(profiles_dir()).unwrap() {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let p = Profile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let b = Profile::bundled(&p.name)
            .unwrap_or_else(|| panic!("{} is not bundled", p.name))
            .unwrap();
        assert_eq!(p.telemetry, b.telemetry);
        assert_eq!(p.setpoints, b.setpoints);
        names.push(p.name);
    }
    names.sort();
    let mut bundled = Profile::bundled_names();
    bundled.sort();
    assert_eq!(names, bundled);
}

#[test]
fn every_profile_decodes_its_recorded_dump() {
    for name in Profile::bundled_names() {
        let profile = Profile::bundled(name).unwrap().unwrap();
        let dump = RegisterDump::load(&fixture(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dump.profile, name);
        assert!(!dump.expect.is_empty(), "{name}: fixture has no [expect]");
        let got = dump.decode(&profile);
        for (q, want) in &dump.expect {
            let r = got
                .get(q)
                .unwrap_or_else(|| panic!("{name}: {q} not decoded from the dump"));
            let v = r
                .value
                .unwrap_or_else(|| panic!("{name}: {q} reads 'not available'"));
            assert!(
                (v - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {q} = {v}, expected {want}"
            );
        }
        for q in &dump.expect_not_available {
            let r = got.get(q).unwrap_or_else(|| panic!("{name}: {q} missing"));
            assert_eq!(r.value, None, "{name}: {q} should read 'not available'");
        }
        // Every telemetry point is in the dump's blocks.
        assert_eq!(
            got.len(),
            profile.telemetry.len(),
            "{name}: dump does not cover every telemetry point"
        );
    }
}

/// A valid base profile; each bad case edits one line.
const BASE: &str = r#"[profile]
name = "t"
family = "battery"

[[telemetry]]
name = "soc_pct"
kind = "input"
address = 0
type = "u16"
scale = 0.1

[[telemetry]]
name = "power_kw"
kind = "input"
address = 1
type = "i32"

[[setpoint]]
name = "power_kw"
kind = "holding"
address = 10
type = "i32"
min = -5.0
max = 5.0
"#;

fn refuse(text: &str) -> connectors::ConfigError {
    match Profile::parse(Path::new("bad.toml"), text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn base_profile_is_valid() {
    let p = Profile::parse(Path::new("ok.toml"), BASE).unwrap();
    assert_eq!(p.blocks.len(), 1);
    assert_eq!(p.blocks[0].count, 3);
}

#[test]
fn unknown_data_type_is_refused_with_line_and_field() {
    let e = refuse(&BASE.replace(
        "type = \"i32\"\n\n[[setpoint]]",
        "type = \"f128\"\n\n[[setpoint]]",
    ));
    assert_eq!(e.file, Path::new("bad.toml"));
    assert_eq!(e.line, Some(16), "{e}");
    assert_eq!(e.field.as_deref(), Some("type"), "{e}");
    assert!(
        e.table.as_deref().unwrap().contains("[[telemetry]] #1"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("bad.toml:16: [[telemetry]] #1 ('power_kw'): field 'type'"),
        "{e}"
    );
}

#[test]
fn overlapping_registers_are_refused() {
    let e = refuse(&BASE.replace("address = 1\n", "address = 0\n"));
    assert_eq!(e.line, Some(15), "{e}");
    assert_eq!(e.field.as_deref(), Some("address"));
    assert!(e.reason.contains("overlaps"), "{e}");
    assert!(e.reason.contains("soc_pct"), "{e}");
}

#[test]
fn setpoint_partly_overlapping_telemetry_is_refused() {
    let text = format!(
        "{BASE}\n[[telemetry]]\nname = \"x\"\nkind = \"holding\"\naddress = 11\ntype = \"u16\"\n"
    );
    // The telemetry point comes after the setpoint table in the file, but the check is
    // made on the setpoint.
    let e = refuse(&text);
    assert_eq!(e.field.as_deref(), Some("address"), "{e}");
    assert!(e.reason.contains("partly overlaps"), "{e}");
}

#[test]
fn min_above_max_is_refused() {
    let e = refuse(&BASE.replace("min = -5.0", "min = 6.0"));
    assert_eq!(e.line, Some(23), "{e}");
    assert_eq!(e.field.as_deref(), Some("min"));
    assert!(e.reason.contains("above max"), "{e}");
    assert!(
        e.to_string().contains("[[setpoint]] #0 ('power_kw')"),
        "{e}"
    );
}

#[test]
fn other_mistakes_are_refused_naming_the_field() {
    let cases: Vec<(String, &str)> = vec![
        (BASE.replace("scale = 0.1", "scale = 0.0"), "scale"),
        (BASE.replace("scale = 0.1", "scael = 0.1"), "scael"),
        (BASE.replace("type = \"u16\"", "type = \"bool\""), "type"),
        (
            BASE.replace("kind = \"holding\"", "kind = \"input\""),
            "kind",
        ),
        (BASE.replace("min = -5.0\n", ""), "min"),
        (BASE.replace("address = 10", "address = 65535"), "address"),
        (
            BASE.replace("family = \"battery\"", "family = \"toaster\""),
            "family",
        ),
        (format!("{BASE}sign = 2\n"), "sign"),
        (
            format!("{BASE}\n[[release]]\npoint = \"soc_pct\"\nvalue = 0\n"),
            "point",
        ),
        (
            format!("{BASE}\n[[acquire]]\npoint = \"power_kw\"\nvalue = 9\n"),
            "value",
        ),
        (
            format!("{BASE}\n[[block]]\nkind = \"input\"\nstart = 0\ncount = 126\n"),
            "count",
        ),
        (
            format!("{BASE}\n[[block]]\nkind = \"input\"\nstart = 0\ncount = 2\n"),
            "address",
        ),
        (
            BASE.replace("scale = 0.1", "scale = 0.1\nnot_available = [70000]"),
            "not_available",
        ),
        (
            BASE.replace("scale = 0.1", "scale = 0.1\nscale_factor = \"nope\""),
            "scale_factor",
        ),
        (
            BASE.replace("max = 5.0", "max = 5.0\nrefresh_s = -1"),
            "refresh_s",
        ),
    ];
    for (text, field) in cases {
        let e = refuse(&text);
        assert_eq!(e.field.as_deref(), Some(field), "{e}\n{text}");
        assert!(e.line.is_some(), "{e}");
    }
}

#[test]
fn garbage_never_panics() {
    // Truncations and byte flips of a real profile: refused or accepted, never a panic.
    let text = std::fs::read_to_string(profiles_dir().join("sunspec_storage.toml")).unwrap();
    for cut in (0..text.len()).step_by(97) {
        let _ = Profile::parse(Path::new("cut.toml"), &text[..cut]);
    }
    let bytes = text.as_bytes();
    for i in (0..bytes.len()).step_by(53) {
        let mut b = bytes.to_vec();
        b[i] = b"=]\"x9[-"[i % 7];
        if let Ok(s) = String::from_utf8(b) {
            let _ = Profile::parse(Path::new("flip.toml"), &s);
        }
    }
}

#[test]
fn the_bundled_district_devices_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/gate_square/devices.toml");
    let cfg = connectors::DevicesConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.district, "gate_square");
    assert_eq!(cfg.devices.len(), 10);
    assert!(cfg.mqtt.is_some());
}

#[test]
fn a_devices_file_with_an_error_is_refused_naming_the_entry_and_field() {
    let base = "[district]\nid = \"d\"\n\n[[device]]\nasset = \"b\"\nprofile = \"battery_inverter\"\nhost = \"127.0.0.1\"\nport = 502\nunit_id = 1\n";
    let cases = [
        (base.replace("unit_id = 1", "unit_id = 0"), "unit_id", 9),
        (base.replace("battery_inverter", "toaster"), "profile", 6),
        (
            format!("{base}limits = {{ power_kw = [-5000.0, 10.0] }}\n"),
            "limits",
            10,
        ),
        (
            format!("{base}limits = {{ soc_pct = [0.0, 10.0] }}\n"),
            "limits",
            10,
        ),
        (
            format!(
                "{base}\n[[device]]\nasset = \"b\"\nprofile = \"meter\"\nhost = \"h\"\nport = 1\n"
            ),
            "asset",
            12,
        ),
        (base.replace("port = 502", "port = 70000"), "port", 8),
    ];
    for (text, field, line) in cases {
        let e = connectors::DevicesConfig::parse(Path::new("devices.toml"), &text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert_eq!(e.line, Some(line), "{e}");
    }
}

/// Registers that could not be read (a failed block, a short answer) give readings that are
/// not available, every one of them, never zeros and never silently absent.
#[test]
fn unread_registers_read_as_not_available() {
    let p = Profile::bundled("battery_inverter").unwrap().unwrap();
    let none = p.decode_all(&|_, _, _| None);
    let short = p.decode_all(&|_, _, n| Some(vec![0; usize::from(n) - 1]));
    for values in [none, short] {
        assert_eq!(values.len(), p.telemetry.len());
        for (q, r) in &values {
            assert_eq!(r.value, None, "{q}");
        }
    }
}
