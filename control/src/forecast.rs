//! State → forecasts: what the controller believes about the coming hours, issued at the
//! start of the step it plans from, from data before it only.
//!
//! A forecaster gives the exogenous series of the horizon as a window of the district's
//! data on its own step, with the uncertain series replaced by forecasts:
//!
//! - [`Perfect`] (`--forecast perfect`; the live loop's `scenario`): the actual series —
//!   perfect foresight of everything, and said so.
//! - [`SeriesForecaster`] (`naive`, `model`): every node's load and every array's PV from
//!   the same slot one day before, or from the forecast crate's models (ridge, GBT,
//!   ensemble, seasonal naive) fitted on the rows before the step only and refitted weekly;
//!   the HVAC units' outdoor temperature, heat gains and COP from the data's forecast
//!   columns (`{L}h_forecast_{column}`, the freshest issued before the step) where it has
//!   them, else the actual values — perfect information, and said so.
//! - [`Persistence`] (the live loop's `persistence`): the loads from the district's base load
//!   measured one day earlier, shaped onto the nodes by the data's loads.
//!
//! Tariffs and schedules — import and export prices, the grid's CO2 intensity, comfort
//! bands — are taken as known in advance (published); [`Information`] lists them with what
//! a forecaster takes from the actual future, for every run's output.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use engine::{Scenario, ScenarioFile};
use forecast::calendar::{japanese_closed_days, Calendar, ClosedPeriod, Holidays};
use forecast::demand::input::{read, InputSpec};
use forecast::demand::{DemandData, FitConfig, FittedModel, ModelKind, TrainOrigins, WeatherVar};

use crate::settings::SimulationSection;
use crate::state::State;

/// What a run knows of the future besides forecasts.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Information {
    /// Series taken from the actual future (perfect information).
    pub perfect: Vec<String>,
    /// Tariffs and schedules taken as known in advance.
    pub known_in_advance: Vec<String>,
}

impl Information {
    /// The tariffs and schedules of `data` (what every forecaster takes as known).
    pub fn tariffs(data: &Scenario) -> Vec<String> {
        let mut v = vec![
            "import_price_yen_per_kwh".to_string(),
            "export_price_yen_per_kwh".to_string(),
            "carbon_intensity_kg_per_kwh".to_string(),
        ];
        if !data.hvacs.is_empty() {
            v.push("comfort_band_c".into());
        }
        if !data.outages.is_empty() {
            // The plans know when each outage starts and ends ([[outage]]).
            v.push("grid_outages".into());
        }
        v
    }
}

/// A forecast window as a JSON document: loads per node, PV per array, import price and
/// carbon intensity per connection, outdoor temperature; made by `forecaster` at `now`.
pub fn to_json(f: &Scenario, forecaster: &str, now: DateTime<FixedOffset>) -> serde_json::Value {
    use serde_json::json;
    let mut series = Vec::new();
    for n in &f.nodes {
        series.push(json!({"id": n.id, "quantity": "load_kw", "values": n.load_kw}));
    }
    for p in &f.pvs {
        series.push(json!({"id": p.id, "quantity": "pv_available_kw", "values": p.available_kw}));
    }
    for g in &f.grids {
        series.push(json!({"id": g.id, "quantity": "import_price_yen_per_kwh", "values": g.import_price_yen_per_kwh}));
        series.push(json!({"id": g.id, "quantity": "carbon_intensity_kg_per_kwh", "values": g.carbon_intensity_kg_per_kwh}));
    }
    if let Some(h) = f.hvacs.first() {
        series.push(json!({"id": "outdoor", "quantity": "temp_c", "values": h.outdoor_temp_c}));
    }
    json!({
        "forecaster": forecaster,
        "made_at": now.to_rfc3339(),
        "start": f.start.to_rfc3339(),
        "step_minutes": f.step_minutes,
        "steps": f.steps,
        "series": series,
    })
}

/// Series kinds a run may take from the actual future, as named in [`Information`].
fn uncertain(data: &Scenario) -> Vec<&'static str> {
    let mut v = vec!["load_kw"];
    if !data.pvs.is_empty() {
        v.push("pv_available_kw");
    }
    if !data.hvacs.is_empty() {
        v.extend(["outdoor_temp_c", "heat_gain_kw", "cop"]);
    }
    v
}

/// Where the horizon's exogenous series come from.
pub trait Forecaster: Send {
    /// Its name (`perfect`, `naive`, `model(ridge)`, `persistence`).
    fn name(&self) -> String;
    /// The series of `rows` rows of `data` from `row`, as known at the start of row `row`.
    fn forecast(&mut self, data: &Scenario, row: usize, rows: usize) -> Result<Scenario>;
    /// What it takes from the actual future.
    fn perfect_information(&self, data: &Scenario) -> Vec<String>;
    /// Sees each cycle's state (for forecasters that learn from measurements).
    fn observe(&mut self, _state: &State, _data: &Scenario) {}
    /// Forecasts that fell back to a simpler method for lack of history.
    fn fallbacks(&self) -> usize {
        0
    }
    /// Takes a district base load measured at `t` before this forecaster existed (a
    /// resumed run's history); forecasters that do not learn from measurements ignore it.
    fn record_base_load(&mut self, _t: DateTime<FixedOffset>, _kw: f64) {}
}

/// Which forecaster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// [`Perfect`].
    Perfect,
    /// [`SeriesForecaster`] with [`Method::Naive`].
    Naive,
    /// [`SeriesForecaster`] with a fitted model.
    Model(ModelKind),
    /// [`Persistence`], matching measurements within this many seconds.
    Persistence(i64),
}

/// Series a forecasting run takes from the actual future on purpose, to measure what a
/// better forecast would be worth (`aems simulate --perfect …`); each is listed in the
/// run's [`Information`]. Only [`SeriesForecaster`] (`naive`, `model`) uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerfectSeries {
    /// Every node's load over the whole horizon.
    pub load: bool,
    /// Every node's load in the step being decided only; the rest of the horizon forecast.
    pub load_first_step: bool,
    /// Every array's PV over the whole horizon.
    pub pv: bool,
}

impl PerfectSeries {
    /// What it takes, as [`Information::perfect`] names it.
    pub fn names(self) -> Vec<String> {
        [
            (self.load, "load_kw (--perfect load)"),
            (
                self.load_first_step && !self.load,
                "load_kw of the step being decided (--perfect load-first-step)",
            ),
            (self.pv, "pv_available_kw (--perfect pv)"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect()
    }
}

impl Choice {
    /// Its name (`perfect`, `naive`, `model(ridge)`, `persistence`).
    pub fn name(self) -> String {
        match self {
            Choice::Perfect => "perfect".into(),
            Choice::Naive => "naive".into(),
            Choice::Model(m) => format!("model({})", m.name()),
            Choice::Persistence(_) => "persistence".into(),
        }
    }

    /// The forecaster for the district of `file` (its `[simulation]` section `sim`), with
    /// plans of `horizon_rows` rows of its data.
    pub fn build(
        self,
        file: &ScenarioFile,
        sim: &SimulationSection,
        horizon_rows: usize,
    ) -> Result<Box<dyn Forecaster>> {
        self.build_for(file, sim, horizon_rows, None, PerfectSeries::default())
    }

    /// [`Choice::build`] for the nodes, arrays and HVAC units of `part` only (an
    /// independent part of the district, `engine::decompose::subset`, with every row of its
    /// series), whose forecasts it then makes; `None`: the whole district. `perfect`: series
    /// taken from the actual future instead (only `naive` and `model` forecast; an error
    /// with any other choice).
    pub fn build_for(
        self,
        file: &ScenarioFile,
        sim: &SimulationSection,
        horizon_rows: usize,
        part: Option<&Scenario>,
        perfect: PerfectSeries,
    ) -> Result<Box<dyn Forecaster>> {
        let method = match self {
            Choice::Naive => Method::Naive,
            Choice::Model(m) => Method::Model(m),
            _ if perfect != PerfectSeries::default() => {
                bail!(
                    "--perfect takes series from the actual future instead of forecasts: \
                     only with the naive or model forecasts, not {}",
                    self.name()
                )
            }
            Choice::Perfect => return Ok(Box::new(Perfect)),
            Choice::Persistence(tolerance_s) => return Ok(Box::new(Persistence::new(tolerance_s))),
        };
        let mut f = SeriesForecaster::new(method, file, sim, horizon_rows, part)?;
        f.perfect = perfect;
        Ok(Box::new(f))
    }
}

/// The actual series.
#[derive(Debug, Default)]
pub struct Perfect;

impl Forecaster for Perfect {
    fn name(&self) -> String {
        "perfect".into()
    }

    fn forecast(&mut self, data: &Scenario, row: usize, rows: usize) -> Result<Scenario> {
        Ok(data.slice(row..row + rows))
    }

    fn perfect_information(&self, data: &Scenario) -> Vec<String> {
        uncertain(data).into_iter().map(String::from).collect()
    }
}

/// Which method a [`SeriesForecaster`] uses for loads and PV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The same slot one day before.
    Naive,
    /// A fitted demand model.
    Model(ModelKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Load(usize),
    Pv(usize),
}

struct Series {
    target: Target,
    data: DemandData,
    fitted: Option<FittedModel>,
    fitted_at: Option<usize>,
    /// The largest value so far, and up to which row it was taken.
    seen_max: f64,
    seen_upto: usize,
}

/// An HVAC input and its forecast columns.
struct HvacInput {
    hvac: usize,
    field: &'static str,
    var: WeatherVar,
}

/// A model's forecast is clipped to this multiple of the largest value in its history.
const MAX_OVER_SEEN: f64 = 1.5;

/// Loads and PV by a method, HVAC inputs from forecast columns.
pub struct SeriesForecaster {
    method: Method,
    series: Vec<Series>,
    hvac_inputs: Vec<HvacInput>,
    /// HVAC inputs without forecast columns (taken from the actual series).
    hvac_actual: Vec<String>,
    /// The demand models' weather inputs come from observations, not forecasts.
    weather_observed: bool,
    per_day: usize,
    fit: FitConfig,
    refit_steps: usize,
    naive_fallbacks: usize,
    /// Series taken from the actual future (the what-if of `--perfect`).
    perfect: PerfectSeries,
}

/// The calendar of the demand models, from `[simulation]`.
pub fn calendar(sim: &SimulationSection, file: &ScenarioFile) -> Result<Calendar> {
    let japan = match sim.holidays.as_deref() {
        Some("japan") => true,
        Some("none") => false,
        Some(other) => {
            return Err(anyhow!(
                "{}: [simulation]: field 'holidays': '{other}' is not japan or none",
                file.path().display()
            ))
        }
        None => file.timezone() == chrono_tz::Asia::Tokyo,
    };
    let closed = match &sim.closed_days {
        Some(list) => list
            .iter()
            .map(|c| {
                ClosedPeriod::parse(c).map_err(|e| {
                    anyhow!(
                        "{}: [simulation]: field 'closed_days': {e}",
                        file.path().display()
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?,
        None if japan => japanese_closed_days(),
        None => Vec::new(),
    };
    Ok(Calendar::new(
        if japan {
            Holidays::Japan
        } else {
            Holidays::None
        },
        closed,
    ))
}

/// The forecast columns `{L}h_forecast_{column}` of `file`: (lead in steps, values).
fn forecast_columns(file: &ScenarioFile, column: &str) -> Result<Vec<(usize, Vec<f64>)>> {
    let suffix = format!("h_forecast_{column}");
    let per_hour = 60 / file.step_minutes().min(60);
    let mut out = Vec::new();
    for name in file.table().column_names() {
        let Some(lead_h) = name
            .strip_suffix(&suffix)
            .and_then(|l| l.parse::<usize>().ok())
        else {
            continue;
        };
        let values = file.column(name).map_err(|e| anyhow!("{e}"))?;
        out.push((lead_h * per_hour as usize, values));
    }
    out.sort_by_key(|(l, _)| *l);
    Ok(out)
}

impl SeriesForecaster {
    /// Forecasts by `method` for the district of `file`, or for `part` of it (its nodes,
    /// arrays and HVAC units, with every row of the series; see [`Choice::build_for`]), with
    /// plans of `horizon_rows` rows of its data.
    pub fn new(
        method: Method,
        file: &ScenarioFile,
        sim: &SimulationSection,
        horizon_rows: usize,
        part: Option<&Scenario>,
    ) -> Result<Self> {
        let whole;
        let data = match part {
            Some(p) => p,
            None => {
                whole = file
                    .window(file.table().times()[0], file.table().len())
                    .map_err(|e| anyhow!("{e}"))?;
                &whole
            }
        };
        let per_day = (1440 / file.step_minutes()) as usize;
        let csv = file.table().path().to_path_buf();
        let cal = calendar(sim, file)?;
        let mut series = Vec::new();
        let mut weather_observed = false;
        let targets = data
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (Target::Load(i), file.series_column("node", &n.id)))
            .chain(
                data.pvs
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (Target::Pv(i), file.series_column("pv", &p.id))),
            );
        for (target, column) in targets {
            let Some(col) = column else { continue };
            let spec = InputSpec {
                target: col.to_string(),
                temp_column: sim.weather_temp_column.clone(),
                solar_columns: sim.weather_solar_columns.clone().unwrap_or_default(),
                calendar: cal.clone(),
                nonnegative: false,
                max_gap_steps: 0,
            };
            let (d, _) = read(&csv, None, &spec).map_err(|e| anyhow!("{e}"))?;
            let observed =
                |w: &Option<WeatherVar>| w.as_ref().is_some_and(|w| w.forecasts.is_empty());
            if matches!(method, Method::Model(_))
                && (observed(&d.temp_c) || observed(&d.solar_w_m2))
            {
                weather_observed = true;
            }
            series.push(Series {
                target,
                data: d,
                fitted: None,
                fitted_at: None,
                seen_max: 0.0,
                seen_upto: 0,
            });
        }
        let mut hvac_inputs = Vec::new();
        let mut hvac_actual = Vec::new();
        for (i, h) in data.hvacs.iter().enumerate() {
            for field in ["outdoor_temp_c", "heat_gain_kw", "cop"] {
                let Some(col) = file.hvac_column(&h.id, field) else {
                    continue;
                };
                let forecasts = forecast_columns(file, col)?;
                if forecasts.is_empty() {
                    if !hvac_actual.iter().any(|f| f == field) {
                        hvac_actual.push(field.to_string());
                    }
                    continue;
                }
                let actual = file.column(col).map_err(|e| anyhow!("{e}"))?;
                hvac_inputs.push(HvacInput {
                    hvac: i,
                    field,
                    var: WeatherVar { actual, forecasts },
                });
            }
        }
        Ok(Self {
            method,
            series,
            hvac_inputs,
            hvac_actual,
            weather_observed,
            per_day,
            fit: FitConfig {
                horizon_steps: horizon_rows,
                origins: TrainOrigins {
                    every_slots: (per_day / 2).max(1),
                },
                holdout_days: 28,
                nonnegative: true,
            },
            refit_steps: 7 * per_day,
            naive_fallbacks: 0,
            perfect: PerfectSeries::default(),
        })
    }

    /// The same slot one day before each of `steps` rows from `known` (before one day of
    /// history: the latest known value; at the very first row, the first value).
    fn naive(y: &[f64], known: usize, steps: usize, per_day: usize) -> Vec<f64> {
        (0..steps)
            .map(|k| {
                let back = (k + 1).div_ceil(per_day) * per_day;
                let target = known + k;
                if target >= back {
                    y[target - back]
                } else if known > 0 {
                    y[known - 1]
                } else {
                    y[0]
                }
            })
            .collect()
    }
}

impl Forecaster for SeriesForecaster {
    fn name(&self) -> String {
        match self.method {
            Method::Naive => "naive".into(),
            Method::Model(m) => format!("model({})", m.name()),
        }
    }

    fn forecast(&mut self, data: &Scenario, row: usize, rows: usize) -> Result<Scenario> {
        let mut window = data.slice(row..row + rows);
        let known = row;
        for s in &mut self.series {
            let taken = match s.target {
                Target::Load(_) => self.perfect.load,
                Target::Pv(_) => self.perfect.pv,
            };
            if taken {
                continue; // the window holds the actual series
            }
            let y = &s.data.load_kw;
            let values = match self.method {
                Method::Naive => Self::naive(y, known, rows, self.per_day),
                Method::Model(model) => {
                    if s.fitted_at.is_none_or(|at| known >= at + self.refit_steps) {
                        if let Ok(m) = FittedModel::fit(model, &s.data, known, &self.fit) {
                            s.fitted = Some(m);
                            s.fitted_at = Some(known);
                        }
                    }
                    // A model may extrapolate far past anything seen (a plan on such a
                    // forecast can be infeasible): clip to 1.5 × the largest value so far.
                    let upto = known.min(y.len());
                    if upto > s.seen_upto {
                        s.seen_max = y[s.seen_upto..upto]
                            .iter()
                            .fold(s.seen_max, |a, b| a.max(*b));
                        s.seen_upto = upto;
                    }
                    let cap = if s.seen_max > 0.0 {
                        MAX_OVER_SEEN * s.seen_max
                    } else {
                        f64::INFINITY
                    };
                    match s.fitted.as_ref().map(|m| m.forecast(&s.data, known, rows)) {
                        Some(Ok(f)) => f.mean_kw.into_iter().map(|v| v.min(cap)).collect(),
                        _ => {
                            self.naive_fallbacks += 1;
                            Self::naive(y, known, rows, self.per_day)
                        }
                    }
                }
            };
            match s.target {
                Target::Load(i) if self.perfect.load_first_step => {
                    let first = window.nodes[i].load_kw.first().copied();
                    window.nodes[i].load_kw = values;
                    if let (Some(v), Some(f)) = (first, window.nodes[i].load_kw.first_mut()) {
                        *f = v;
                    }
                }
                Target::Load(i) => window.nodes[i].load_kw = values,
                Target::Pv(i) => {
                    window.pvs[i].available_kw = values.into_iter().map(|v| v.max(0.0)).collect()
                }
            }
        }
        for inp in &self.hvac_inputs {
            let v: Vec<f64> = (row..row + rows)
                .map(|r| inp.var.as_known(known, r))
                .collect();
            let h = &mut window.hvacs[inp.hvac];
            match inp.field {
                "outdoor_temp_c" => h.outdoor_temp_c = v,
                "heat_gain_kw" => h.heat_gain_kw = v,
                _ => h.cop = v.into_iter().map(|c| c.max(1e-3)).collect(),
            }
        }
        Ok(window)
    }

    fn perfect_information(&self, _data: &Scenario) -> Vec<String> {
        let mut v = self.hvac_actual.clone();
        v.extend(self.perfect.names());
        if self.weather_observed {
            v.push("weather inputs of the demand models".into());
        }
        v
    }

    fn fallbacks(&self) -> usize {
        self.naive_fallbacks
    }
}

/// Seasonal naive (one day) on the district's measured base load.
#[derive(Debug, Default)]
pub struct Persistence {
    /// Measured base load (kW) by time (seconds since the epoch).
    history: BTreeMap<i64, f64>,
    /// How far from the wanted time a measurement may be, seconds.
    tolerance_s: i64,
    /// Steps forecast from the scenario's loads for want of a measurement a day before.
    fallbacks: usize,
}

impl Persistence {
    /// A persistence forecaster matching measurements within `tolerance_s` of the time a
    /// day before.
    pub fn new(tolerance_s: i64) -> Self {
        Self {
            history: BTreeMap::new(),
            tolerance_s,
            fallbacks: 0,
        }
    }

    /// Records a measured base load (a resumed run primes it from its store).
    pub fn record(&mut self, t: DateTime<FixedOffset>, base_load_kw: f64) {
        if base_load_kw.is_finite() {
            self.history.insert(t.timestamp(), base_load_kw);
        }
    }

    fn near(&self, t: DateTime<FixedOffset>) -> Option<f64> {
        let s = t.timestamp();
        self.history
            .range(s - self.tolerance_s..=s + self.tolerance_s)
            .min_by_key(|(k, _)| (*k - s).abs())
            .map(|(_, v)| *v)
    }
}

/// The district's base load measured in `state`: what its grid meters import less what its
/// controllable units draw (+ batteries discharging, generators), if every part was read.
pub fn measured_base_load_kw(state: &State, data: &Scenario) -> Option<f64> {
    let mut p = 0.0;
    for g in &data.grids {
        p += state.grids.get(&g.id)?.meter_kw?;
    }
    for b in &data.batteries {
        p += state.battery_kw.get(&b.id)?;
    }
    for h in &data.hvacs {
        p -= state.hvac_kw.get(&h.id)?;
    }
    for g in &data.generators {
        p += state.generator_kw.get(&g.id)?;
    }
    p.is_finite().then_some(p)
}

impl Forecaster for Persistence {
    fn name(&self) -> String {
        "persistence".into()
    }

    fn forecast(&mut self, data: &Scenario, row: usize, rows: usize) -> Result<Scenario> {
        let mut sc = data.slice(row..row + rows);
        for t in 0..sc.steps {
            let Some(measured_kw) = self.near(sc.times[t] - chrono::Duration::days(1)) else {
                // No measurement a day before (the run's first day, a gap): the scenario's
                // loads stand, and the step is counted.
                self.fallbacks += 1;
                continue;
            };
            // The data's base load at t: loads minus PV (what the meter sees without the
            // controllable units).
            let loads: f64 = sc.nodes.iter().map(|n| n.load_kw[t]).sum();
            let pv: f64 = sc.pvs.iter().map(|p| p.available_kw[t]).sum();
            let load_kw = (measured_kw + pv).max(0.0);
            if loads > 1e-9 {
                for n in &mut sc.nodes {
                    n.load_kw[t] *= load_kw / loads;
                }
            }
        }
        Ok(sc)
    }

    fn perfect_information(&self, data: &Scenario) -> Vec<String> {
        // Loads before a day of history, PV and the HVAC inputs are the data's own.
        uncertain(data).into_iter().map(String::from).collect()
    }

    fn observe(&mut self, state: &State, data: &Scenario) {
        if let (Some(t), Some(p)) = (state.time, measured_base_load_kw(state, data)) {
            self.record(t, p);
        }
    }

    fn record_base_load(&mut self, t: DateTime<FixedOffset>, kw: f64) {
        self.record(t, kw);
    }

    fn fallbacks(&self) -> usize {
        self.fallbacks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::GridState;

    fn gate_square() -> ScenarioFile {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        ScenarioFile::read(&p).unwrap()
    }

    fn data(file: &ScenarioFile) -> Scenario {
        file.window(file.table().times()[0], file.table().len())
            .unwrap()
    }

    #[test]
    fn perfect_is_the_actual_series_and_says_so() {
        let file = gate_square();
        let d = data(&file);
        let f = Perfect.forecast(&d, 10, 4).unwrap();
        assert_eq!(f.nodes[1].load_kw, d.nodes[1].load_kw[10..14].to_vec());
        let info = Perfect.perfect_information(&d);
        for s in ["load_kw", "pv_available_kw", "outdoor_temp_c"] {
            assert!(info.iter().any(|i| i == s), "{info:?}");
        }
    }

    #[test]
    fn naive_repeats_yesterday_from_the_rows_before_only() {
        let file = gate_square();
        let d = data(&file);
        let mut f = SeriesForecaster::new(
            Method::Naive,
            &file,
            &SimulationSection::default(),
            48,
            None,
        )
        .unwrap();
        let day = 48;
        let w = f.forecast(&d, day + 5, 3).unwrap();
        assert_eq!(w.nodes[1].load_kw, d.nodes[1].load_kw[5..8].to_vec());
        // Before a day of history: the latest known value.
        let w = f.forecast(&d, 5, 3).unwrap();
        assert_eq!(w.nodes[1].load_kw, vec![d.nodes[1].load_kw[4]; 3]);
        // Gate Square has no forecast columns: its HVAC inputs are the actual ones, said so.
        assert!(f
            .perfect_information(&d)
            .iter()
            .any(|s| s == "outdoor_temp_c"));
    }

    #[test]
    fn persistence_scales_the_loads_to_yesterdays_measured_base_load() {
        let file = gate_square();
        let d = data(&file);
        let row = 48 + 24; // day 2, 12:00
        let known = d.times[row] - chrono::Duration::days(1);
        let mut p = Persistence::new(60);
        // Yesterday at 12:00 the district's base load (loads − PV) was 1000 kW, as measured.
        let mut st = State {
            time: Some(known),
            ..State::default()
        };
        st.grids.insert(
            "pcc".into(),
            GridState {
                meter_kw: Some(1000.0),
                ..Default::default()
            },
        );
        for b in &d.batteries {
            st.battery_kw.insert(b.id.clone(), 0.0);
        }
        for h in &d.hvacs {
            st.hvac_kw.insert(h.id.clone(), 0.0);
        }
        for g in &d.generators {
            st.generator_kw.insert(g.id.clone(), 0.0);
        }
        p.observe(&st, &d);
        let sc = p.forecast(&d, row, 2).unwrap();
        let pv: f64 = sc.pvs.iter().map(|a| a.available_kw[0]).sum();
        let loads: f64 = sc.nodes.iter().map(|n| n.load_kw[0]).sum();
        assert!((loads - pv - 1000.0).abs() < 1e-6, "{loads} − {pv}");
        // Nothing measured for 12:30 yesterday: the data's own loads, and the step counted.
        assert_eq!(sc.nodes[1].load_kw[1], d.nodes[1].load_kw[row + 1]);
        assert_eq!(p.fallbacks(), 1);
    }
}
