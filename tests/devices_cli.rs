//! `aems devices`: the simulator in one process, `read` and `write` from others, on
//! 127.0.0.1 with an ephemeral port. Every child process is bounded in time.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

fn aems() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aems"))
}

/// Kills the child when dropped (the simulator must not outlive the test).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` to completion within [`LIMIT`]: (exit code, stdout, stderr).
fn run(mut cmd: Command) -> (i32, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aems runs");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("aems did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        t_out.join().unwrap(),
        t_err.join().unwrap(),
    )
}

fn devices_file(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join(format!("devices-{port}.toml"));
    let mut text = String::from("[district]\nid = \"gate_square\"\n\n[modbus]\ntimeout_ms = 500\n");
    for (asset, profile, unit, limits) in [
        (
            "hub_bat",
            "battery_inverter",
            1,
            "limits = { power_kw = [-820.0, 820.0] }",
        ),
        ("gas_engine_1", "gas_engine", 2, ""),
        ("pcc", "meter", 3, ""),
        ("office_a_ac", "hvac_controller", 4, ""),
        ("resi_d_bat", "sunspec_storage", 5, ""),
    ] {
        text.push_str(&format!(
            "\n[[device]]\nasset = \"{asset}\"\nprofile = \"{profile}\"\nhost = \"127.0.0.1\"\nport = {port}\nunit_id = {unit}\n{limits}\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The same with an ECHONET Lite storage battery (retail_b_bat) on UDP `echonet_port`.
fn with_echonet(dir: &Path, port: u16, echonet_port: u16) -> PathBuf {
    let path = devices_file(dir, port);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "\n[[device]]\nasset = \"retail_b_bat\"\nprotocol = \"echonet\"\nclass = \"storage_battery\"\n\
         host = \"127.0.0.1\"\nport = {echonet_port}\nlimits = {{ power_kw = [-5.0, 5.0] }}\n"
    ));
    let path = dir.join(format!("devices-{port}-{echonet_port}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn simulate_then_read_and_write_from_other_processes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("aems-devices-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sim_devices = with_echonet(&dir, 0, 0);

    let mut sim = aems();
    sim.args([
        "devices",
        "simulate",
        "--speed",
        "60",
        "--duration-s",
        "120",
    ])
    .arg("--scenario")
    .arg(root.join("scenarios/gate_square/scenario.toml"))
    .arg("--devices")
    .arg(&sim_devices)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = Guard(sim.spawn().expect("simulator runs"));
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The simulator prints where it serves each device, then "Ctrl-C stops.".
    let (mut port, mut echonet_port) = (None, None);
    let t0 = Instant::now();
    loop {
        let line = rx
            .recv_timeout(LIMIT.saturating_sub(t0.elapsed()))
            .expect("the simulator did not start");
        let after = |tag: &str| {
            let rest = line.split(tag).nth(1)?;
            rest.split_whitespace().next()?.parse::<u16>().ok()
        };
        if let Some(p) = after("modbus 127.0.0.1:") {
            port = Some(p);
        }
        if let Some(p) = after("echonet 127.0.0.1:") {
            echonet_port = Some(p);
        }
        if line.starts_with("Ctrl-C stops.") {
            break;
        }
    }
    let port = port.expect("a port in the simulator's output");
    assert_ne!(port, 0);
    let echonet_port = echonet_port.expect("the ECHONET Lite port in the simulator's output");
    let devices = with_echonet(&dir, port, echonet_port);

    // read: every device, as JSON.
    let mut cmd = aems();
    cmd.args(["devices", "read", "--json"]).arg(&devices);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let assets = json["assets"].as_object().unwrap();
    assert_eq!(assets.len(), 6);
    for (id, a) in assets {
        assert!(a["error"].is_null(), "{id}: {}", a["error"]);
    }
    assert!(
        (json["assets"]["hub_bat"]["values"]["soc_pct"]["value"]
            .as_f64()
            .unwrap()
            - 40.0)
            .abs()
            < 0.2
    );

    // write: clamped to the device's limits, written, read back.
    let mut cmd = aems();
    cmd.args(["devices", "write"])
        .arg(&devices)
        .args(["hub_bat", "-1000", "--unit", "kW", "--json"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    let rec: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rec["written"].as_f64(), Some(-820.0));
    assert_eq!(rec["outcome"]["status"], "confirmed");
    assert!(rec["clamped"].as_str().unwrap().contains("[-820, 820]"));
    assert!(err.contains("aems::write"), "every write is logged: {err}");

    // The simulated battery now charges.
    let mut cmd = aems();
    cmd.args(["devices", "read", "--json"]).arg(&devices);
    let (_, out, _) = run(cmd);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["assets"]["hub_bat"]["values"]["power_kw"]["value"].as_f64(),
        Some(-820.0)
    );

    // The ECHONET Lite battery: beyond its limits, clamped, written as mode + power in one
    // SetC and read back; then it charges.
    let mut cmd = aems();
    cmd.args(["devices", "write"]).arg(&devices).args([
        "retail_b_bat",
        "-50",
        "--unit",
        "kW",
        "--json",
    ]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    let rec: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rec["written"].as_f64(), Some(-5.0), "{rec}");
    assert_eq!(rec["outcome"]["status"], "confirmed");
    assert_eq!(rec["register"], "EPC 0xDA + EPC 0xEB", "{rec}");
    let mut cmd = aems();
    cmd.args(["devices", "read", "--json"]).arg(&devices);
    let (_, out, _) = run(cmd);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["assets"]["retail_b_bat"]["values"]["power_kw"]["value"].as_f64(),
        Some(-5.0),
        "{}",
        json["assets"]["retail_b_bat"]
    );

    // A read-only quantity is refused: exit 1, nothing written.
    let mut cmd = aems();
    cmd.args(["devices", "write"])
        .arg(&devices)
        .args(["hub_bat", "10", "--quantity", "soc_pct"]);
    let (code, out, _) = run(cmd);
    assert_eq!(code, 1);
    assert!(out.contains("read-only"), "{out}");

    // A devices file with an error: exit 1, file, line and field named.
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[district]\nid = \"x\"\n\n[[device]]\nasset = \"a\"\nprofile = \"meter\"\nhost = \"127.0.0.1\"\nport = 1\nunit_id = 300\n",
    )
    .unwrap();
    let mut cmd = aems();
    cmd.args(["devices", "read"]).arg(&bad);
    let (code, _, err) = run(cmd);
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.toml:9: [[device]] #0 ('a'): field 'unit_id'"),
        "{err}"
    );

    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
