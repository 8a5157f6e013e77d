//! The fuzz targets' bodies, one function per parser of outside input. The libFuzzer
//! binaries (`fuzz_targets/`) call them on generated inputs; `tests/fuzz_corpus.rs` calls
//! them on every kept corpus and crash file, so `cargo test` replays them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use connectors::mqtt::schema::{
    parse, ScheduleMessage, SetpointMessage, StatusMessage, TelemetryMessage,
};
use connectors::profile::{
    DataType, OutOfRange, Point, Register, RegisterKind, WordOrder, WriteFunction,
};
use connectors::{safety, WritablePoint};
use forecast::timeseries::{read_from, ColumnSpec, SeriesRules};

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets, by name (the corpus folder of each).
pub const TARGETS: [(&str, Target); 7] = [
    ("profile_toml", profile_toml),
    ("devices_toml", devices_toml),
    ("mqtt_payload", mqtt_payload),
    ("register_codec", register_codec),
    ("scenario", scenario),
    ("forecast_csv", forecast_csv),
    ("run_toml", run_toml),
];

/// A device profile (TOML): an error naming the field, never a panic.
pub fn profile_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = connectors::Profile::parse(Path::new("fuzz.toml"), &text);
}

/// A devices.toml: an error naming the entry and field, never a panic.
pub fn devices_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = connectors::DevicesConfig::parse(Path::new("devices.toml"), &text);
}

/// MQTT payloads the loop reads (telemetry, setpoints, schedules, status).
pub fn mqtt_payload(data: &[u8]) {
    let _ = parse::<TelemetryMessage>(data);
    if let Ok(m) = parse::<SetpointMessage>(data) {
        let _ = m.setpoint();
    }
    let _ = parse::<ScheduleMessage>(data);
    let _ = parse::<StatusMessage>(data);
}

fn f64_at(data: &[u8], at: usize) -> f64 {
    let mut b = [0u8; 8];
    for (i, x) in b.iter_mut().enumerate() {
        *x = data.get(at + i).copied().unwrap_or(0);
    }
    f64::from_le_bytes(b)
}

/// The register codec (Modbus responses of any length and content) and the write path's
/// guard: decoding, re-encoding what was decoded, and guarding a request from the bytes.
pub fn register_codec(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let data_type = match data[0] % 7 {
        0 => DataType::U16,
        1 => DataType::I16,
        2 => DataType::U32,
        3 => DataType::I32,
        4 => DataType::F32,
        5 => DataType::F64,
        _ => DataType::Bool,
    };
    let word_order = if data[1] & 1 == 0 {
        WordOrder::Big
    } else {
        WordOrder::Little
    };
    let kind = if data_type == DataType::Bool {
        RegisterKind::Coil
    } else {
        RegisterKind::Holding
    };
    let scale = [0.001, 0.1, 0.5, 1.0, 10.0][usize::from(data[2] % 5)];
    let sign = if data[1] & 2 == 0 { 1.0 } else { -1.0 };
    let point = Point {
        name: "power_kw".into(),
        register: Register {
            kind,
            address: 40000,
            data_type,
            word_order,
        },
        scale,
        sign,
        offset: 0.0,
        scale_factor: None,
        unit: "kW".into(),
        not_available: vec![0xFFFF, 0x8000],
        sim_value: None,
        description: String::new(),
        line: 1,
    };
    let rest = &data[3..];
    let words: Vec<u16> = rest
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    let sf = rest.first().map(|b| i16::from(*b as i8 % 4));
    let decoded = point.decode(&words, sf);
    if let Some(v) = decoded {
        let _ = point.encode(v, sf);
    }
    let (a, b) = (f64_at(rest, 0), f64_at(rest, 8));
    let wp = WritablePoint {
        point,
        min: a.min(b),
        max: a.max(b),
        ramp_max_step: (rest.len() % 3 == 0).then(|| f64_at(rest, 16).abs()),
        refresh_s: None,
        out_of_range: if rest.len() % 2 == 0 {
            OutOfRange::Clamp
        } else {
            OutOfRange::Refuse
        },
        write: WriteFunction::Multiple,
    };
    if wp.min.is_finite() && wp.max.is_finite() {
        let narrow = (rest.len() % 5 == 0).then(|| (f64_at(rest, 24), f64_at(rest, 32)));
        let _ = safety::guard(&wp, narrow, f64_at(rest, 40), decoded, sf);
    }
}

/// The reference district's first rows, the series of a scenario input without its own.
const SERIES: &str = include_str!("seeds/series_head.csv");

/// A scenario: the TOML before the first 0xFF byte, the series CSV after it (or the
/// reference district's first rows when there is none).
pub fn scenario(data: &[u8]) {
    let (toml, csv) = match data.iter().position(|b| *b == 0xFF) {
        Some(i) => (&data[..i], data[i + 1..].to_vec()),
        None => (data, SERIES.as_bytes().to_vec()),
    };
    let text = String::from_utf8_lossy(toml);
    let file = engine::ScenarioFile::parse(Path::new("fuzz.toml"), &text, |_| {
        Ok((PathBuf::from("series.csv"), csv))
    });
    if let Ok(f) = file {
        let _ = f.scenario();
    }
}

/// Forecast history CSV (a time column and value columns).
pub fn forecast_csv(data: &[u8]) {
    let specs = [
        ColumnSpec::new("load_kw", 0.0, 1e6, "kW"),
        ColumnSpec::new("pv_kw", -1.0, 1e6, "kW"),
    ];
    let _ = read_from(data, None, &specs, SeriesRules::default());
}

/// `aems run`'s settings (run.toml): the first byte picks the scenario's step and whether the
/// command line asks for the simulated clock and the embedded simulator, the rest is the
/// file. An error naming the field, never a panic.
pub fn run_toml(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let step_min = [1, 5, 15, 30, 60, 0, 7, 1440][usize::from(head % 8)];
    let overrides = runconfig::Overrides {
        clock: (head & 8 != 0).then_some(runconfig::ClockKind::Simulated),
        simulate: head & 16 != 0,
        ..Default::default()
    };
    let text = String::from_utf8_lossy(rest);
    let _ = runconfig::RunConfig::parse("run.toml", &text, Path::new("."), &overrides, step_min);
}
