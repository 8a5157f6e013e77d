//! Measurements → state: one frozen set of readings checked reading by reading (device
//! error, missing, not a number, out of physical range, stale), the plant's state for the
//! next plan (battery energy, zone temperatures, generators running), the powers measured
//! now (for the fast layer and the rule), and the grid meters' 30-minute intervals: the
//! energy imported so far in the current one, each month's peak and the billed peak under
//! the scenario's billing (one month rule: the scenario's time zone; one ratchet:
//! [`engine::kpi::MonthlyPeaks`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use engine::kpi::{month_of, Billing, MonthlyPeaks};
use engine::Scenario;
use physics::device::{Kind, Quantity, Reading};

/// What every device reported at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// When.
    pub time: DateTime<FixedOffset>,
    /// Per asset id (a meter's: its grid connection's or node's id): its reading, or why it
    /// could not be read.
    pub readings: BTreeMap<String, Result<Reading, String>>,
}

/// What is wrong with a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The device could not be read.
    DeviceError,
    /// The quantity was not reported, or reported "not available".
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// A good value and when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Good {
    value: f64,
    time: DateTime<FixedOffset>,
}

/// A meter's counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When.
    pub time: DateTime<FixedOffset>,
    /// Import counter, kWh.
    pub import_kwh: f64,
    /// Export counter, kWh.
    pub export_kwh: f64,
}

/// One completed 30-minute interval of a grid meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// A grid connection as measured now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GridState {
    /// Meter power now, kW (+ import), if read.
    pub meter_kw: Option<f64>,
    /// Energy imported since the current 30-minute interval began, kWh (from the counters,
    /// or the meter's power × the time passed when they do not cover it).
    pub interval_so_far_kwh: f64,
    /// This month's peak so far, kW.
    pub month_peak_kw: f64,
    /// The peak billed for this month so far (under a ratchet, the largest of its
    /// window), kW.
    pub billed_peak_kw: f64,
}

/// The plant as the next plan starts from it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct State {
    /// When it was measured.
    pub time: Option<DateTime<FixedOffset>>,
    /// Stored energy per battery, kWh.
    pub battery_kwh: BTreeMap<String, f64>,
    /// Zone temperature per HVAC unit, °C.
    pub zone_c: BTreeMap<String, f64>,
    /// Running per generator.
    pub generator_on: BTreeMap<String, bool>,
    /// Battery power now, kW (+ discharging), where read this cycle.
    pub battery_kw: BTreeMap<String, f64>,
    /// HVAC power now, kW, where read this cycle.
    pub hvac_kw: BTreeMap<String, f64>,
    /// Generator power now, kW, where read this cycle.
    pub generator_kw: BTreeMap<String, f64>,
    /// Per grid connection.
    pub grids: BTreeMap<String, GridState>,
    /// Intervals the meters completed since the last state.
    pub completed: Vec<Interval>,
    /// Devices that cannot be trusted this cycle: planned conservatively, released to
    /// their own control, sent nothing.
    pub unhealthy: BTreeSet<String>,
    /// Every flagged reading.
    pub flags: Vec<Flag>,
    /// Fuel left per generator with a fuel stock, kWh: its stock less what the measured
    /// power burnt since the first state, plus its refuelling.
    #[serde(default)]
    pub fuel_kwh: BTreeMap<String, f64>,
    /// Grid connections lost now: their meter reports the utility supply gone (the PCC
    /// breaker open). A connection whose meter does not say keeps its last known status
    /// (available, if it never said).
    #[serde(default)]
    pub grids_lost: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct MeterTrack {
    last: Option<Sample>,
    /// The counters at the start of the current interval (interpolated between the
    /// samples around the boundary when no reading fell on it).
    at_start: Option<Sample>,
}

/// Start of the 30-minute interval holding `t`.
pub fn interval_start(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let s = t.timestamp();
    t - chrono::Duration::seconds(s.rem_euclid(1800))
        - chrono::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()))
}

impl MeterTrack {
    /// Adds a sample of `grid`; returns the intervals it completes.
    fn add(&mut self, grid: &str, s: Sample) -> Vec<Interval> {
        let mut done = Vec::new();
        if let Some(prev) = self.last {
            let mut b = interval_start(prev.time) + chrono::Duration::minutes(30);
            while b <= s.time {
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
                if let Some(a) = self.at_start {
                    if a.time + chrono::Duration::minutes(30) == b {
                        let import_kwh = (at_b.import_kwh - a.import_kwh).max(0.0);
                        done.push(Interval {
                            grid: grid.into(),
                            start: a.time,
                            import_kwh,
                            export_kwh: (at_b.export_kwh - a.export_kwh).max(0.0),
                            mean_kw: import_kwh / 0.5,
                        });
                    }
                }
                self.at_start = Some(at_b);
                b += chrono::Duration::minutes(30);
            }
        }
        if self.at_start.is_none() && s.time == interval_start(s.time) {
            self.at_start = Some(s);
        }
        self.last = Some(s);
        done
    }

    /// Energy imported since the start of the interval holding `now`, if the counters
    /// cover it.
    fn so_far_kwh(&self, now: DateTime<FixedOffset>) -> Option<f64> {
        let (a, l) = (self.at_start?, self.last?);
        (a.time == interval_start(now) && l.time == now)
            .then(|| (l.import_kwh - a.import_kwh).max(0.0))
    }
}

/// The physical range of a quantity of a device (inclusive).
fn range(kind: Kind, q: Quantity, sc: &Scenario, asset: &str) -> Option<(f64, f64)> {
    match (kind, q) {
        (Kind::Battery, Quantity::EnergyKwh) => {
            let cap = sc.batteries.iter().find(|b| b.id == asset)?.capacity_kwh;
            Some((0.0, cap * 1.02))
        }
        (Kind::Battery, Quantity::SocPct) => Some((0.0, 100.0)),
        (Kind::Battery, Quantity::PowerKw) => {
            let b = sc.batteries.iter().find(|b| b.id == asset)?;
            Some((-1.1 * b.charge_kw - 1.0, 1.1 * b.discharge_kw + 1.0))
        }
        (Kind::Battery, Quantity::MaxChargeKw) => Some((0.0, 1e6)),
        (Kind::Hvac, Quantity::ZoneTempC) => Some((-30.0, 60.0)),
        (Kind::Hvac, Quantity::PowerKw) => Some((0.0, 1e5)),
        (Kind::Generator, Quantity::PowerKw) => {
            let g = sc.generators.iter().find(|g| g.id == asset)?;
            Some((0.0, 1.1 * g.max_kw + 1.0))
        }
        (Kind::Generator, Quantity::Running) => Some((0.0, 1.0)),
        (Kind::Meter, Quantity::PowerKw) => Some((-1e6, 1e6)),
        (Kind::Meter, Quantity::ImportKwh | Quantity::ExportKwh) => Some((0.0, 1e12)),
        (Kind::Meter, Quantity::GridAvailable) | (Kind::Line, Quantity::Closed) => Some((0.0, 1.0)),
        (Kind::Line, Quantity::PowerKw) => Some((-1e6, 1e6)),
        _ => None,
    }
}

/// The quantities the controller needs of each kind (the first available of each group).
fn needed(kind: Kind) -> &'static [&'static [Quantity]] {
    match kind {
        Kind::Battery => &[&[Quantity::EnergyKwh, Quantity::SocPct]],
        Kind::Hvac => &[&[Quantity::ZoneTempC]],
        Kind::Generator => &[&[Quantity::PowerKw, Quantity::Running]],
        Kind::Meter => &[&[Quantity::ImportKwh], &[Quantity::PowerKw]],
        Kind::Line => &[],
    }
}

/// Turns measurements into states, cycle after cycle: the last good readings and the
/// meters' intervals are kept (and saved with a run, to resume it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimator {
    /// The devices read: asset id and kind.
    expected: Vec<(String, Kind)>,
    stale_after_s: f64,
    billing: Billing,
    #[serde(with = "tz_name")]
    tz: Tz,
    /// Per "asset/quantity".
    last_good: BTreeMap<String, Good>,
    meters: BTreeMap<String, MeterTrack>,
    /// Per grid connection: its monthly peaks, from the scenario's `peak_so_far_kw`.
    peaks: BTreeMap<String, MonthlyPeaks>,
    /// Per generator with a fuel stock: fuel left and when it was last counted.
    #[serde(default)]
    fuel: BTreeMap<String, (f64, DateTime<FixedOffset>)>,
    /// Grid connections last reported lost.
    #[serde(default)]
    lost: BTreeSet<String>,
}

mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl Estimator {
    /// An estimator for the devices `expected` of the district `data`: readings older than
    /// `stale_after_s` are stale; the demand charge is billed by `billing`, from each
    /// connection's `peak_so_far_kw` in the month the first reading falls in.
    pub fn new(
        data: &Scenario,
        expected: Vec<(String, Kind)>,
        stale_after_s: f64,
        billing: Billing,
    ) -> Self {
        Self {
            expected,
            stale_after_s,
            billing,
            tz: data.timezone,
            last_good: BTreeMap::new(),
            meters: BTreeMap::new(),
            peaks: data
                .grids
                .iter()
                .map(|g| (g.id.clone(), MonthlyPeaks::new(g.peak_so_far_kw)))
                .collect(),
            fuel: BTreeMap::new(),
            lost: BTreeSet::new(),
        }
    }

    /// Counts each fuel stock down by what its generator's measured power burnt since the
    /// last state (the power read now is the power of the interval that just ended: the
    /// command held over it), up by its refuelling.
    fn count_fuel(&mut self, st: &mut State, data: &Scenario, now: DateTime<FixedOffset>) {
        for g in &data.generators {
            let Some(stock) = g.fuel else { continue };
            let entry = self
                .fuel
                .entry(g.id.clone())
                .or_insert((stock.initial_kwh, now));
            let hours = (now - entry.1).num_milliseconds() as f64 / 3.6e6;
            if hours > 0.0 {
                let p = st.generator_kw.get(&g.id).copied().unwrap_or(0.0).max(0.0);
                entry.0 = stock
                    .tank
                    .next_kwh(entry.0, physics::fuel::fuel_kw(p, g.efficiency), hours)
                    .max(0.0);
                entry.1 = now;
            }
            st.fuel_kwh.insert(g.id.clone(), entry.0);
        }
    }

    /// The monthly peaks of every grid connection so far.
    pub fn peaks(&self) -> &BTreeMap<String, MonthlyPeaks> {
        &self.peaks
    }

    /// Raises a connection's peaks with intervals recorded elsewhere (a resumed run's
    /// stored intervals).
    pub fn raise_peak(&mut self, grid: &str, start: DateTime<FixedOffset>, mean_kw: f64) {
        if let Some(p) = self.peaks.get_mut(grid) {
            p.raise(month_of(start, self.tz), mean_kw);
        }
    }

    /// Checks `m` and derives the state. A value that fails a check is flagged and not
    /// used; the last good value stands in while it is younger than `stale_after_s`, after
    /// which the device is unhealthy. Never fails.
    pub fn update(&mut self, m: &Measurements, data: &Scenario) -> State {
        let now = m.time;
        let mut st = State {
            time: Some(now),
            ..State::default()
        };
        let expected = self.expected.clone();
        for (asset, kind) in &expected {
            let asset = asset.as_str();
            let mut fresh: BTreeMap<Quantity, f64> = BTreeMap::new();
            let flag = |st: &mut State, q: &str, kind: FlagKind, detail: String| {
                st.flags.push(Flag {
                    asset: asset.into(),
                    quantity: q.into(),
                    kind,
                    detail,
                })
            };
            let read_ok = match m.readings.get(asset) {
                None => {
                    flag(
                        &mut st,
                        "-",
                        FlagKind::DeviceError,
                        "not in the measurements".into(),
                    );
                    false
                }
                Some(Err(e)) => {
                    flag(&mut st, "-", FlagKind::DeviceError, e.clone());
                    false
                }
                Some(Ok(r)) if r.kind() != *kind => {
                    flag(
                        &mut st,
                        "-",
                        FlagKind::DeviceError,
                        format!("a {} reading for a {} device", r.kind().name(), kind.name()),
                    );
                    false
                }
                Some(Ok(r)) => {
                    let values = r.values();
                    // A needed group none of whose quantities the device reports.
                    for group in needed(*kind) {
                        let reported = values.iter().any(|(q, v)| group.contains(q) && v.is_some());
                        if !reported {
                            let names: Vec<&str> = group.iter().map(|q| q.name()).collect();
                            flag(
                                &mut st,
                                &names.join("|"),
                                FlagKind::Missing,
                                "not available".into(),
                            );
                        }
                    }
                    for (q, v) in values {
                        let Some(v) = v else { continue };
                        if !v.is_finite() {
                            flag(&mut st, q.name(), FlagKind::NotFinite, format!("{v}"));
                            continue;
                        }
                        if let Some((lo, hi)) = range(*kind, q, data, asset) {
                            if v < lo || v > hi {
                                flag(
                                    &mut st,
                                    q.name(),
                                    FlagKind::OutOfRange,
                                    format!("{v} outside [{lo}, {hi}]"),
                                );
                                continue;
                            }
                        }
                        if *kind == Kind::Meter && q == Quantity::ImportKwh {
                            if let Some(prev) = self.last_good.get(&key(asset, q)) {
                                if v + 1e-6 < prev.value {
                                    flag(
                                        &mut st,
                                        q.name(),
                                        FlagKind::OutOfRange,
                                        format!(
                                            "energy counter went back from {} to {v}",
                                            prev.value
                                        ),
                                    );
                                    continue;
                                }
                            }
                        }
                        fresh.insert(q, v);
                    }
                    true
                }
            };
            for (q, v) in &fresh {
                self.last_good.insert(
                    key(asset, *q),
                    Good {
                        value: *v,
                        time: now,
                    },
                );
            }
            // A needed quantity: fresh, else the last good one while not stale.
            let stale_after_s = self.stale_after_s;
            let last_good = &self.last_good;
            let value_of = |q: Quantity, st: &mut State| -> Option<f64> {
                if let Some(v) = fresh.get(&q) {
                    return Some(*v);
                }
                let g = last_good.get(&key(asset, q))?;
                let age_s = (now - g.time).num_milliseconds() as f64 / 1000.0;
                if age_s > stale_after_s {
                    flag(
                        st,
                        q.name(),
                        FlagKind::Stale,
                        format!(
                            "last good value {} is {age_s:.0} s old (limit {stale_after_s} s)",
                            g.value
                        ),
                    );
                    return None;
                }
                Some(g.value)
            };
            let mut healthy = true;
            match kind {
                Kind::Battery => {
                    let e = value_of(Quantity::EnergyKwh, &mut st).or_else(|| {
                        let cap = data.batteries.iter().find(|b| b.id == asset)?.capacity_kwh;
                        value_of(Quantity::SocPct, &mut st).map(|s| s / 100.0 * cap)
                    });
                    match e {
                        Some(e) => {
                            st.battery_kwh.insert(asset.into(), e);
                        }
                        None => healthy = false,
                    }
                    if let Some(p) = fresh.get(&Quantity::PowerKw) {
                        st.battery_kw.insert(asset.into(), *p);
                    }
                }
                Kind::Hvac => {
                    match value_of(Quantity::ZoneTempC, &mut st) {
                        Some(t) => {
                            st.zone_c.insert(asset.into(), t);
                        }
                        None => healthy = false,
                    }
                    if let Some(p) = fresh.get(&Quantity::PowerKw) {
                        st.hvac_kw.insert(asset.into(), *p);
                    }
                }
                Kind::Generator => {
                    let p = value_of(Quantity::PowerKw, &mut st);
                    let running = value_of(Quantity::Running, &mut st);
                    match (p, running) {
                        (None, None) => healthy = false,
                        _ => {
                            let on = running.map(|r| r >= 0.5).unwrap_or(false)
                                || p.unwrap_or(0.0) > 1e-6;
                            st.generator_on.insert(asset.into(), on);
                            if let Some(p) = fresh.get(&Quantity::PowerKw) {
                                st.generator_kw.insert(asset.into(), *p);
                            }
                        }
                    }
                }
                Kind::Meter => {
                    let imp = value_of(Quantity::ImportKwh, &mut st);
                    let p = value_of(Quantity::PowerKw, &mut st);
                    if imp.is_none() || p.is_none() {
                        healthy = false;
                    }
                    if data.grids.iter().any(|g| g.id == asset) {
                        match value_of(Quantity::GridAvailable, &mut st) {
                            Some(v) if v < 0.5 => {
                                self.lost.insert(asset.into());
                            }
                            Some(_) => {
                                self.lost.remove(asset);
                            }
                            None => {}
                        }
                        let g = st.grids.entry(asset.into()).or_default();
                        g.meter_kw = p;
                        if let Some(imp) = imp {
                            let s = Sample {
                                time: now,
                                import_kwh: imp,
                                export_kwh: fresh
                                    .get(&Quantity::ExportKwh)
                                    .copied()
                                    .unwrap_or_else(|| {
                                        self.meters
                                            .get(asset)
                                            .and_then(|t| t.last)
                                            .map_or(0.0, |l| l.export_kwh)
                                    }),
                            };
                            let done = self.meters.entry(asset.into()).or_default().add(asset, s);
                            for iv in done {
                                if let Some(p) = self.peaks.get_mut(asset) {
                                    p.raise(month_of(iv.start, self.tz), iv.mean_kw);
                                }
                                st.completed.push(iv);
                            }
                        }
                    }
                }
                Kind::Line => {}
            }
            if !healthy || !read_ok {
                st.unhealthy.insert(asset.into());
            }
        }
        // Every connection: the interval so far and the billed peak.
        let month = month_of(now, self.tz);
        for g in &data.grids {
            let gs = st.grids.entry(g.id.clone()).or_default();
            gs.interval_so_far_kwh = match self.meters.get(&g.id).and_then(|t| t.so_far_kwh(now)) {
                Some(e) => e,
                None => {
                    let elapsed_h = (now - interval_start(now)).num_seconds() as f64 / 3600.0;
                    gs.meter_kw.map(|p| p.max(0.0) * elapsed_h).unwrap_or(0.0)
                }
            };
            if let Some(p) = self.peaks.get(&g.id) {
                gs.month_peak_kw = p.month_kw(month);
                gs.billed_peak_kw = p.billed_kw(month, self.billing);
            }
        }
        self.count_fuel(&mut st, data, now);
        st.grids_lost = self.lost.clone();
        st
    }
}

fn key(asset: &str, q: Quantity) -> String {
    format!("{asset}/{}", q.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use physics::device::{HvacReading, MeterReading};

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn gate_square() -> Scenario {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        Scenario::load(p).unwrap()
    }

    fn meter(imp: f64, p: f64) -> Result<Reading, String> {
        Ok(Reading::Meter(MeterReading {
            power_kw: Some(p),
            import_kwh: Some(imp),
            export_kwh: Some(0.0),
            grid_available: None,
        }))
    }

    fn hvac(temp: Option<f64>) -> Result<Reading, String> {
        Ok(Reading::Hvac(HvacReading {
            zone_temp_c: temp,
            power_kw: Some(10.0),
        }))
    }

    /// A bad value is flagged and not used; the last good one stands in until it is stale.
    #[test]
    fn bad_and_old_readings_are_flagged() {
        let sc = gate_square();
        let mut e = Estimator::new(
            &sc,
            vec![("office_a_ac".into(), Kind::Hvac)],
            600.0,
            Billing::default(),
        );
        let m = |time: &str, r: Result<Reading, String>| Measurements {
            time: t(time),
            readings: [("office_a_ac".to_string(), r)].into_iter().collect(),
        };
        let s = e.update(&m("2025-08-04T10:00:00+09:00", hvac(Some(24.0))), &sc);
        assert_eq!(s.zone_c["office_a_ac"], 24.0);
        assert!(s.flags.is_empty());
        let s = e.update(&m("2025-08-04T10:05:00+09:00", hvac(Some(f64::NAN))), &sc);
        assert_eq!(s.zone_c["office_a_ac"], 24.0);
        assert_eq!(s.flags[0].kind, FlagKind::NotFinite);
        let s = e.update(&m("2025-08-04T10:06:00+09:00", hvac(Some(99.0))), &sc);
        assert_eq!(s.flags[0].kind, FlagKind::OutOfRange);
        let s = e.update(&m("2025-08-04T10:07:00+09:00", Err("timeout".into())), &sc);
        assert_eq!(s.zone_c["office_a_ac"], 24.0);
        assert!(
            s.unhealthy.contains("office_a_ac"),
            "not read this cycle: sent nothing"
        );
        let s = e.update(&m("2025-08-04T10:15:00+09:00", hvac(None)), &sc);
        assert!(!s.zone_c.contains_key("office_a_ac"));
        assert!(s.flags.iter().any(|f| f.kind == FlagKind::Stale));
        assert!(s.flags.iter().any(|f| f.kind == FlagKind::Missing));
    }

    /// Intervals from the counters, boundaries interpolated; the month's peak and the
    /// scenario's peak before the run; a new month starts from 0 (without a ratchet).
    #[test]
    fn meters_give_intervals_and_the_billed_peak() {
        let sc = gate_square();
        let mut e = Estimator::new(
            &sc,
            vec![("pcc".into(), Kind::Meter)],
            3600.0,
            Billing::default(),
        );
        let m = |time: &str, kwh: f64| Measurements {
            time: t(time),
            readings: [("pcc".to_string(), meter(kwh, 200.0))]
                .into_iter()
                .collect(),
        };
        let before = sc.grids[0].peak_so_far_kw;
        let s = e.update(&m("2025-08-04T10:00:00+09:00", 1000.0), &sc);
        assert_eq!(s.grids["pcc"].billed_peak_kw, before);
        let s = e.update(&m("2025-08-04T10:20:00+09:00", 1100.0), &sc);
        assert_eq!(s.grids["pcc"].interval_so_far_kwh, 100.0);
        let s = e.update(&m("2025-08-04T10:40:00+09:00", 1500.0), &sc);
        assert_eq!(s.completed.len(), 1);
        // 10:30 interpolated at 1300 kWh: 300 kWh in the half hour, 600 kW.
        assert!((s.completed[0].mean_kw - 600.0).abs() < 1e-9);
        assert!((s.grids["pcc"].interval_so_far_kwh - 200.0).abs() < 1e-9);
        assert_eq!(s.grids["pcc"].month_peak_kw, 600.0);
        assert_eq!(s.grids["pcc"].billed_peak_kw, before.max(600.0));
        let s = e.update(&m("2025-09-01T00:10:00+09:00", 1600.0), &sc);
        assert_eq!(s.grids["pcc"].month_peak_kw, 0.0);
        // It resumes as it was.
        let j = serde_json::to_string(&e).unwrap();
        let back: Estimator = serde_json::from_str(&j).unwrap();
        assert_eq!(back, e);
    }
}
