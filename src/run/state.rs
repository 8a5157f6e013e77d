//! Telemetry → state: one frozen snapshot checked reading by reading (error, missing, not a
//! number, out of physical range, stale), the plant's state for the next horizon (battery
//! energy, zone temperatures, generator running), and the meters' 30-minute intervals:
//! the energy imported so far in the current one and this month's peak.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, FixedOffset};
use connectors::{DeviceFamily, DevicesConfig, Telemetry};
use engine::Scenario;
use serde::Serialize;

/// What is wrong with a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The device could not be read.
    DeviceError,
    /// The quantity was not reported, or reported "not available" (a sentinel, or NaN on
    /// the wire, which the connectors decode as not available).
    Missing,
    /// The value is NaN or infinite.
    NotFinite,
    /// The value is outside its physical range.
    OutOfRange,
    /// No good value newer than `stale_after_s`: the last one is too old to plan with.
    Stale,
}

impl FlagKind {
    /// Its name in the store, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::DeviceError => "device_error",
            FlagKind::Missing => "missing",
            FlagKind::NotFinite => "not_finite",
            FlagKind::OutOfRange => "out_of_range",
            FlagKind::Stale => "stale",
        }
    }
}

/// One flagged reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// Asset id.
    pub asset: String,
    /// Quantity (`-` for the whole device).
    pub quantity: String,
    /// What is wrong.
    pub kind: FlagKind,
    /// In words.
    pub detail: String,
}

/// A good value and when (simulated time) it was read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Good {
    /// The value.
    pub value: f64,
    /// When.
    pub time: DateTime<FixedOffset>,
}

/// The last good value of every (asset, quantity), kept across cycles.
pub type LastGood = BTreeMap<(String, String), Good>;

/// The plant as the next horizon starts from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlantState {
    /// Stored energy per battery, kWh.
    pub battery_kwh: BTreeMap<String, f64>,
    /// Zone temperature per HVAC unit, °C.
    pub zone_c: BTreeMap<String, f64>,
    /// Running per generator.
    pub generator_on: BTreeMap<String, bool>,
    /// Generator power, kW (fuel KPIs).
    pub generator_kw: BTreeMap<String, f64>,
    /// Meter energy counter per grid connection, kWh imported.
    pub meter_import_kwh: BTreeMap<String, f64>,
    /// Meter energy counter per grid connection, kWh exported.
    pub meter_export_kwh: BTreeMap<String, f64>,
    /// Meter power per grid connection, kW (+ import).
    pub meter_kw: BTreeMap<String, f64>,
    /// Battery `max_charge_kw` as the device reports it (SunSpec's rate base).
    pub battery_rate_kw: BTreeMap<String, f64>,
    /// Devices that cannot be trusted this cycle: planned conservatively, released to
    /// their own control, sent nothing.
    pub unhealthy: BTreeSet<String>,
    /// Every flagged reading.
    pub flags: Vec<Flag>,
}

/// Physical range of a quantity of a device family (inclusive).
fn range(family: DeviceFamily, quantity: &str, sc: &Scenario, asset: &str) -> Option<(f64, f64)> {
    match (family, quantity) {
        (DeviceFamily::Battery, "energy_kwh") => {
            let cap = sc
                .batteries
                .iter()
                .find(|b| b.id == asset)
                .map(|b| b.capacity_kwh)?;
            Some((0.0, cap * 1.02))
        }
        (DeviceFamily::Battery, "soc_pct") => Some((0.0, 100.0)),
        (DeviceFamily::Battery, "power_kw") => {
            let b = sc.batteries.iter().find(|b| b.id == asset)?;
            Some((-1.1 * b.charge_kw - 1.0, 1.1 * b.discharge_kw + 1.0))
        }
        (DeviceFamily::Battery, "max_charge_kw") => Some((0.0, 1e6)),
        (DeviceFamily::Hvac, "zone_temp_c") => Some((-30.0, 60.0)),
        (DeviceFamily::Hvac, "power_kw") => Some((0.0, 1e5)),
        (DeviceFamily::Generator, "power_kw") => {
            let g = sc.generators.iter().find(|g| g.id == asset)?;
            Some((0.0, 1.1 * g.max_kw + 1.0))
        }
        (DeviceFamily::Meter, "power_kw") => Some((-1e6, 1e6)),
        (DeviceFamily::Meter, "import_kwh" | "export_kwh") => Some((0.0, 1e12)),
        _ => None,
    }
}

/// The quantities the loop needs from each family (the first available of each group).
fn needed(family: DeviceFamily) -> &'static [&'static [&'static str]] {
    match family {
        DeviceFamily::Battery => &[&["energy_kwh", "soc_pct"]],
        DeviceFamily::Hvac => &[&["zone_temp_c"]],
        DeviceFamily::Generator => &[&["power_kw", "running"]],
        DeviceFamily::Meter => &[&["import_kwh"], &["power_kw"]],
    }
}

/// Checks `snapshot` (read at simulated time `now`) and derives the plant's state. A value
/// that fails a check is flagged and not used; the last good value stands in while it is
/// younger than `stale_after_s`, after which the device is unhealthy. Never fails.
pub fn assess(
    snapshot: &Telemetry,
    now: DateTime<FixedOffset>,
    sc: &Scenario,
    devices: &DevicesConfig,
    last_good: &mut LastGood,
    stale_after_s: f64,
) -> PlantState {
    let mut st = PlantState::default();
    for dev in &devices.devices {
        let asset = dev.asset.as_str();
        let family = dev.profile.family;
        let mut fresh: BTreeMap<String, f64> = BTreeMap::new();
        match snapshot.assets.get(asset) {
            None => st.flags.push(Flag {
                asset: asset.into(),
                quantity: "-".into(),
                kind: FlagKind::DeviceError,
                detail: "not in the snapshot".into(),
            }),
            Some(a) if a.error.is_some() => st.flags.push(Flag {
                asset: asset.into(),
                quantity: "-".into(),
                kind: FlagKind::DeviceError,
                detail: a.error.clone().unwrap_or_default(),
            }),
            Some(a) => {
                for (q, r) in &a.values {
                    let Some(v) = r.value else {
                        if needed(family).iter().any(|g| g.contains(&q.as_str())) {
                            st.flags.push(Flag {
                                asset: asset.into(),
                                quantity: q.clone(),
                                kind: FlagKind::Missing,
                                detail: "not available (sentinel or NaN on the wire)".into(),
                            });
                        }
                        continue;
                    };
                    if !v.is_finite() {
                        st.flags.push(Flag {
                            asset: asset.into(),
                            quantity: q.clone(),
                            kind: FlagKind::NotFinite,
                            detail: format!("{v}"),
                        });
                        continue;
                    }
                    if let Some((lo, hi)) = range(family, q, sc, asset) {
                        if v < lo || v > hi {
                            st.flags.push(Flag {
                                asset: asset.into(),
                                quantity: q.clone(),
                                kind: FlagKind::OutOfRange,
                                detail: format!("{v} outside [{lo}, {hi}]"),
                            });
                            continue;
                        }
                    }
                    if family == DeviceFamily::Meter && q == "import_kwh" {
                        if let Some(prev) = last_good.get(&(asset.to_string(), q.clone())) {
                            if v + 1e-6 < prev.value {
                                st.flags.push(Flag {
                                    asset: asset.into(),
                                    quantity: q.clone(),
                                    kind: FlagKind::OutOfRange,
                                    detail: format!(
                                        "energy counter went back from {} to {v}",
                                        prev.value
                                    ),
                                });
                                continue;
                            }
                        }
                    }
                    fresh.insert(q.clone(), v);
                }
            }
        }
        for (q, v) in &fresh {
            last_good.insert(
                (asset.to_string(), q.clone()),
                Good {
                    value: *v,
                    time: now,
                },
            );
        }
        // The value of a needed quantity: fresh, else the last good one while not stale.
        let value_of = |q: &str, st: &mut PlantState| -> Option<f64> {
            if let Some(v) = fresh.get(q) {
                return Some(*v);
            }
            let g = last_good.get(&(asset.to_string(), q.to_string()))?;
            let age_s = (now - g.time).num_milliseconds() as f64 / 1000.0;
            if age_s > stale_after_s {
                st.flags.push(Flag {
                    asset: asset.into(),
                    quantity: q.into(),
                    kind: FlagKind::Stale,
                    detail: format!(
                        "last good value {} is {age_s:.0} s old (limit {stale_after_s} s)",
                        g.value
                    ),
                });
                return None;
            }
            Some(g.value)
        };
        let mut healthy = true;
        match family {
            DeviceFamily::Battery => {
                let e = value_of("energy_kwh", &mut st).or_else(|| {
                    let cap = sc.batteries.iter().find(|b| b.id == asset)?.capacity_kwh;
                    value_of("soc_pct", &mut st).map(|s| s / 100.0 * cap)
                });
                match e {
                    Some(e) => {
                        st.battery_kwh.insert(asset.into(), e);
                    }
                    None => healthy = false,
                }
                if let Some(w) = fresh.get("max_charge_kw").filter(|w| **w > 0.0) {
                    st.battery_rate_kw.insert(asset.into(), *w);
                }
            }
            DeviceFamily::Hvac => match value_of("zone_temp_c", &mut st) {
                Some(t) => {
                    st.zone_c.insert(asset.into(), t);
                }
                None => healthy = false,
            },
            DeviceFamily::Generator => {
                let p = value_of("power_kw", &mut st);
                let running = value_of("running", &mut st);
                match (p, running) {
                    (None, None) => healthy = false,
                    _ => {
                        let on =
                            running.map(|r| r >= 0.5).unwrap_or(false) || p.unwrap_or(0.0) > 1e-6;
                        st.generator_on.insert(asset.into(), on);
                        st.generator_kw.insert(asset.into(), p.unwrap_or(0.0));
                    }
                }
            }
            DeviceFamily::Meter => {
                match value_of("import_kwh", &mut st) {
                    Some(v) => {
                        st.meter_import_kwh.insert(asset.into(), v);
                    }
                    None => healthy = false,
                }
                if let Some(v) = fresh.get("export_kwh") {
                    st.meter_export_kwh.insert(asset.into(), *v);
                }
                match value_of("power_kw", &mut st) {
                    Some(v) => {
                        st.meter_kw.insert(asset.into(), v);
                    }
                    None => healthy = false,
                }
            }
        }
        // A device that could not be read this cycle is not sent setpoints either.
        let read_failed = snapshot.assets.get(asset).is_none_or(|a| a.error.is_some());
        if !healthy || read_failed {
            st.unhealthy.insert(asset.into());
        }
    }
    st
}

/// One completed 30-minute interval of a meter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// Grid connection id.
    pub grid: String,
    /// Start of the interval.
    pub start: DateTime<FixedOffset>,
    /// Energy imported in it, kWh.
    pub import_kwh: f64,
    /// Energy exported in it, kWh.
    pub export_kwh: f64,
    /// Mean import, kW (= import_kwh / 0.5 h).
    pub mean_kw: f64,
}

/// A meter's energy counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Sample {
    /// Simulated time.
    pub time: DateTime<FixedOffset>,
    /// Import counter, kWh.
    pub import_kwh: f64,
    /// Export counter, kWh.
    pub export_kwh: f64,
}

/// The 30-minute demand intervals of each grid meter: the energy of the current one so
/// far, completed ones, and the month's peak.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Intervals {
    /// Per grid: the last sample.
    pub last: BTreeMap<String, Sample>,
    /// Per grid: the counters at the start of the current interval (interpolated between
    /// the samples around the boundary when no cycle fell on it).
    pub at_start: BTreeMap<String, Sample>,
    /// Per grid: the month (year, month in the scenario's zone) and its peak so far, kW.
    pub month_peak: BTreeMap<String, ((i32, u32), f64)>,
}

/// Start of the 30-minute interval holding `t`.
pub fn interval_start(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    super::clock::floor_to(t, 30)
}

impl Intervals {
    /// Adds `sample` of `grid`; returns the intervals it completes (their mean imports also
    /// raise the month's peak).
    pub fn add(&mut self, grid: &str, s: Sample, tz: chrono_tz::Tz) -> Vec<Interval> {
        let mut done = Vec::new();
        let start_now = interval_start(s.time);
        if let Some(prev) = self.last.get(grid).copied() {
            let mut b = interval_start(prev.time) + chrono::Duration::minutes(30);
            while b <= s.time {
                // Counters at boundary b, interpolated between prev and s.
                let span = (s.time - prev.time).num_milliseconds() as f64;
                let w = if span > 0.0 {
                    (b - prev.time).num_milliseconds() as f64 / span
                } else {
                    1.0
                };
                let at_b = Sample {
                    time: b,
                    import_kwh: prev.import_kwh + w * (s.import_kwh - prev.import_kwh),
                    export_kwh: prev.export_kwh + w * (s.export_kwh - prev.export_kwh),
                };
                if let Some(a) = self.at_start.get(grid) {
                    if a.time + chrono::Duration::minutes(30) == b {
                        let import_kwh = (at_b.import_kwh - a.import_kwh).max(0.0);
                        let iv = Interval {
                            grid: grid.into(),
                            start: a.time,
                            import_kwh,
                            export_kwh: (at_b.export_kwh - a.export_kwh).max(0.0),
                            mean_kw: import_kwh / 0.5,
                        };
                        self.raise_peak(grid, iv.start, iv.mean_kw, tz);
                        done.push(iv);
                    }
                }
                self.at_start.insert(grid.into(), at_b);
                b += chrono::Duration::minutes(30);
            }
        }
        if !self.at_start.contains_key(grid) && s.time == start_now {
            self.at_start.insert(grid.into(), s);
        }
        self.last.insert(grid.into(), s);
        done
    }

    /// Raises the month's peak of `grid` with an interval starting at `start`.
    pub fn raise_peak(
        &mut self,
        grid: &str,
        start: DateTime<FixedOffset>,
        mean_kw: f64,
        tz: chrono_tz::Tz,
    ) {
        let local = start.with_timezone(&tz);
        let month = (local.year(), local.month());
        let e = self.month_peak.entry(grid.into()).or_insert((month, 0.0));
        if e.0 != month {
            *e = (month, 0.0);
        }
        e.1 = e.1.max(mean_kw);
    }

    /// The month's peak of `grid` as of `now` (0 in a month with no interval yet).
    pub fn peak_kw(&self, grid: &str, now: DateTime<FixedOffset>, tz: chrono_tz::Tz) -> f64 {
        let local = now.with_timezone(&tz);
        match self.month_peak.get(grid) {
            Some((m, p)) if *m == (local.year(), local.month()) => *p,
            _ => 0.0,
        }
    }

    /// Energy imported by `grid` since the start of the current interval, kWh, if the
    /// meter's counters cover it.
    pub fn so_far_kwh(&self, grid: &str, now: DateTime<FixedOffset>) -> Option<f64> {
        let a = self.at_start.get(grid)?;
        let l = self.last.get(grid)?;
        (a.time == interval_start(now) && l.time == now)
            .then(|| (l.import_kwh - a.import_kwh).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors::telemetry::{AssetTelemetry, Reading, Source};

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn fixture() -> (Scenario, DevicesConfig) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/gate_square");
        let sc = Scenario::load(root.join("scenario.toml")).unwrap();
        let dev = DevicesConfig::load(&root.join("devices.toml")).unwrap();
        (sc, dev)
    }

    fn asset(id: &str, values: &[(&str, Option<f64>)], error: Option<&str>) -> AssetTelemetry {
        AssetTelemetry {
            asset: id.into(),
            time: chrono::Utc::now(),
            source: Source::Mqtt {
                topic: "test".into(),
            },
            values: values
                .iter()
                .map(|(q, v)| (q.to_string(), Reading::new(*v, "")))
                .collect(),
            error: error.map(String::from),
        }
    }

    #[test]
    fn nan_out_of_range_missing_and_errors_are_flagged_never_used() {
        let (sc, dev) = fixture();
        let mut snap = Telemetry::new();
        for a in [
            asset(
                "hub_bat",
                &[("energy_kwh", Some(f64::NAN)), ("soc_pct", Some(40.0))],
                None,
            ),
            asset("retail_b_bat", &[("energy_kwh", Some(5000.0))], None),
            asset("hotel_c_bat", &[], Some("timeout after 3 attempts")),
            asset("office_a_ac", &[("zone_temp_c", None)], None),
            asset("retail_b_ac", &[("zone_temp_c", Some(25.5))], None),
            asset(
                "pcc",
                &[
                    ("import_kwh", Some(100.0)),
                    ("power_kw", Some(f64::INFINITY)),
                ],
                None,
            ),
        ] {
            snap.assets.insert(a.asset.clone(), a);
        }
        let mut lg = LastGood::new();
        let st = assess(
            &snap,
            t("2025-08-04T10:00:00+09:00"),
            &sc,
            &dev,
            &mut lg,
            600.0,
        );
        let has = |a: &str, k: FlagKind| st.flags.iter().any(|f| f.asset == a && f.kind == k);
        assert!(has("hub_bat", FlagKind::NotFinite));
        // SOC stands in for the NaN energy: 40 % of 1650 kWh.
        assert!((st.battery_kwh["hub_bat"] - 660.0).abs() < 1e-9);
        assert!(has("retail_b_bat", FlagKind::OutOfRange));
        assert!(has("hotel_c_bat", FlagKind::DeviceError));
        assert!(has("office_a_ac", FlagKind::Missing));
        assert!(has("pcc", FlagKind::NotFinite));
        assert_eq!(st.zone_c["retail_b_ac"], 25.5);
        for a in [
            "retail_b_bat",
            "hotel_c_bat",
            "office_a_ac",
            "pcc",
            "resi_d_bat",
            "gas_engine_1",
        ] {
            assert!(st.unhealthy.contains(a), "{a}");
        }
        assert!(!st.unhealthy.contains("hub_bat"));
        assert!(!st.unhealthy.contains("retail_b_ac"));
    }

    #[test]
    fn last_good_value_stands_in_until_stale() {
        let (sc, dev) = fixture();
        let mut lg = LastGood::new();
        let mut snap = Telemetry::new();
        snap.assets.insert(
            "office_a_ac".into(),
            asset("office_a_ac", &[("zone_temp_c", Some(24.0))], None),
        );
        assess(
            &snap,
            t("2025-08-04T10:00:00+09:00"),
            &sc,
            &dev,
            &mut lg,
            600.0,
        );
        let mut snap = Telemetry::new();
        snap.assets.insert(
            "office_a_ac".into(),
            asset("office_a_ac", &[], Some("timeout")),
        );
        let st = assess(
            &snap,
            t("2025-08-04T10:05:00+09:00"),
            &sc,
            &dev,
            &mut lg,
            600.0,
        );
        assert_eq!(st.zone_c["office_a_ac"], 24.0);
        assert!(
            st.unhealthy.contains("office_a_ac"),
            "not read this cycle: sent nothing"
        );
        let st = assess(
            &snap,
            t("2025-08-04T10:15:00+09:00"),
            &sc,
            &dev,
            &mut lg,
            600.0,
        );
        assert!(!st.zone_c.contains_key("office_a_ac"));
        assert!(st
            .flags
            .iter()
            .any(|f| f.asset == "office_a_ac" && f.kind == FlagKind::Stale));
    }

    #[test]
    fn intervals_interpolate_boundaries_and_track_the_month_peak() {
        let tz = chrono_tz::Asia::Tokyo;
        let mut iv = Intervals::default();
        let s = |time: &str, kwh: f64| Sample {
            time: t(time),
            import_kwh: kwh,
            export_kwh: 0.0,
        };
        assert!(iv
            .add("pcc", s("2025-08-04T10:00:00+09:00", 1000.0), tz)
            .is_empty());
        assert!(iv
            .add("pcc", s("2025-08-04T10:20:00+09:00", 1100.0), tz)
            .is_empty());
        assert_eq!(
            iv.so_far_kwh("pcc", t("2025-08-04T10:20:00+09:00")),
            Some(100.0)
        );
        // 10:40: the 10:30 boundary is interpolated (1150 kWh): interval 10:00 = 150 kWh.
        let done = iv.add("pcc", s("2025-08-04T10:40:00+09:00", 1200.0), tz);
        assert_eq!(done.len(), 1);
        assert!((done[0].import_kwh - 150.0).abs() < 1e-9);
        assert!((done[0].mean_kw - 300.0).abs() < 1e-9);
        assert!(
            (iv.so_far_kwh("pcc", t("2025-08-04T10:40:00+09:00"))
                .unwrap()
                - 50.0)
                .abs()
                < 1e-9
        );
        assert_eq!(iv.peak_kw("pcc", t("2025-08-04T10:40:00+09:00"), tz), 300.0);
        // A new month starts from 0.
        assert_eq!(iv.peak_kw("pcc", t("2025-09-01T00:10:00+09:00"), tz), 0.0);
    }
}
