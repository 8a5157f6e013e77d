//! Loading and validating a scenario: one TOML file plus one CSV of time series beside it
//! (`spec/scenario-format.md`, version 1).
//!
//! [`ScenarioFile::read`] parses both files and checks their structure;
//! [`ScenarioFile::scenario`] resolves the horizon the file declares (or
//! [`ScenarioFile::window`] any other) into a validated [`Scenario`] that the model reads.
//! Every refusal is a [`ScenarioError`] naming the file, the table and id, and the field.

pub mod series;
pub mod spec;

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Timelike};
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::asset::battery::RawBattery;
use crate::asset::generator::RawGenerator;
use crate::asset::grid::RawGrid;
use crate::asset::hvac::RawHvac;
use crate::asset::line::RawLine;
use crate::asset::node::RawNode;
use crate::asset::outage::RawOutage;
use crate::asset::pv::RawPv;
use crate::asset::{Battery, Generator, GridConnection, Hvac, Line, Node, Outage, PvArray};
use crate::error::{Ctx, ScenarioError};
use series::SeriesTable;
use spec::Resolver;

/// A validated scenario over one horizon: every series holds exactly `steps` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Free-text name.
    pub name: String,
    /// IANA time zone, for calendars and reports.
    pub timezone: Tz,
    /// Start of the horizon (on a 30-minute boundary).
    pub start: DateTime<FixedOffset>,
    /// Step length, minutes (60 or a divisor of 30).
    pub step_minutes: u32,
    /// Number of steps T.
    pub steps: usize,
    /// Start time of every step.
    pub times: Vec<DateTime<FixedOffset>>,
    /// Price of emitted CO2, yen/kg.
    pub carbon_price_yen_per_kg: f64,
    /// Nodes, in file order.
    pub nodes: Vec<Node>,
    /// Grid connections, in file order.
    pub grids: Vec<GridConnection>,
    /// PV arrays, in file order.
    pub pvs: Vec<PvArray>,
    /// Batteries, in file order.
    pub batteries: Vec<Battery>,
    /// HVAC units, in file order.
    pub hvacs: Vec<Hvac>,
    /// Generators, in file order.
    pub generators: Vec<Generator>,
    /// Lines, in file order.
    pub lines: Vec<Line>,
    /// Windows in which a grid connection is lost (extension `[[outage]]`), in file order.
    pub outages: Vec<Outage>,
    /// Units whose first-step decision is one and the same: a plan over several forecast
    /// scenarios, each a copy of the district, where what is done now cannot depend on
    /// which scenario comes true. Not in the file format: set by a controller that builds
    /// such a plan (empty otherwise).
    pub first_step_shared: FirstStepShared,
    /// The scenario TOML it came from.
    pub path: PathBuf,
}

/// Groups of units (indices into the scenario's lists) whose first-step decisions are
/// equal: batteries' `ch` and `dis`, HVAC units' `q` and `on`, generators' `p` and `w` at
/// step 0 (`docs/extensions.md`, "Shared first step").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstStepShared {
    /// Groups of batteries.
    pub batteries: Vec<Vec<usize>>,
    /// Groups of HVAC units.
    pub hvacs: Vec<Vec<usize>>,
    /// Groups of generators.
    pub generators: Vec<Vec<usize>>,
}

impl Scenario {
    /// Reads and validates the scenario at `path` over the horizon it declares.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        ScenarioFile::read(path.as_ref())?.scenario()
    }

    /// The scenario over `steps` of its horizon (a sub-horizon: every series cut to it,
    /// states and settings unchanged) — what a receding-horizon controller solves.
    ///
    /// Only the steps kept are copied (a controller slices a year's data every replan).
    pub fn slice(&self, steps: std::ops::Range<usize>) -> Scenario {
        let cut = |v: &[f64]| v[steps.clone()].to_vec();
        Scenario {
            name: self.name.clone(),
            timezone: self.timezone,
            start: self.times[steps.start],
            step_minutes: self.step_minutes,
            steps: steps.len(),
            times: self.times[steps.clone()].to_vec(),
            carbon_price_yen_per_kg: self.carbon_price_yen_per_kg,
            nodes: self
                .nodes
                .iter()
                .map(|n| Node {
                    id: n.id.clone(),
                    load_kw: cut(&n.load_kw),
                    classes: n.classes.slice(steps.clone()),
                })
                .collect(),
            grids: self
                .grids
                .iter()
                .map(|g| GridConnection {
                    id: g.id.clone(),
                    node: g.node,
                    import_price_yen_per_kwh: cut(&g.import_price_yen_per_kwh),
                    export_price_yen_per_kwh: cut(&g.export_price_yen_per_kwh),
                    import_limit_kw: g.import_limit_kw,
                    export_limit_kw: g.export_limit_kw,
                    carbon_intensity_kg_per_kwh: cut(&g.carbon_intensity_kg_per_kwh),
                    demand_charge_yen_per_kw: g.demand_charge_yen_per_kw,
                    peak_so_far_kw: g.peak_so_far_kw,
                    interval_import_so_far_kwh: g.interval_import_so_far_kwh,
                    import_cap_kw: if g.import_cap_kw.is_empty() {
                        Vec::new()
                    } else {
                        cut(&g.import_cap_kw)
                    },
                })
                .collect(),
            pvs: self
                .pvs
                .iter()
                .map(|p| PvArray {
                    id: p.id.clone(),
                    node: p.node,
                    available_kw: cut(&p.available_kw),
                    curtailable: p.curtailable,
                    curtail_penalty_yen_per_kwh: p.curtail_penalty_yen_per_kwh,
                })
                .collect(),
            batteries: self.batteries.clone(),
            hvacs: self
                .hvacs
                .iter()
                .map(|h| Hvac {
                    id: h.id.clone(),
                    node: h.node,
                    mode: h.mode,
                    min_kw: h.min_kw,
                    max_kw: h.max_kw,
                    cop: cut(&h.cop),
                    r_k_per_kw: h.r_k_per_kw,
                    c_kwh_per_k: h.c_kwh_per_k,
                    initial_temp_c: h.initial_temp_c,
                    outdoor_temp_c: cut(&h.outdoor_temp_c),
                    heat_gain_kw: cut(&h.heat_gain_kw),
                    comfort_low_c: cut(&h.comfort_low_c),
                    comfort_high_c: cut(&h.comfort_high_c),
                    comfort_penalty_yen_per_kh: h.comfort_penalty_yen_per_kh,
                })
                .collect(),
            generators: self.generators.clone(),
            lines: self.lines.clone(),
            outages: self.outages.clone(),
            first_step_shared: self.first_step_shared.clone(),
            path: self.path.clone(),
        }
    }

    /// Replaces every time series of the scenario (loads, prices, CO2 intensities, PV,
    /// HVAC inputs and comfort bands) with `f` of it; `start`, `steps` and `times` are the
    /// caller's to keep in step.
    pub fn map_series(&mut self, f: impl Fn(&[f64]) -> Vec<f64>) {
        for n in &mut self.nodes {
            n.load_kw = f(&n.load_kw);
            n.classes.map_series(&f);
        }
        for g in &mut self.grids {
            g.import_price_yen_per_kwh = f(&g.import_price_yen_per_kwh);
            g.export_price_yen_per_kwh = f(&g.export_price_yen_per_kwh);
            g.carbon_intensity_kg_per_kwh = f(&g.carbon_intensity_kg_per_kwh);
            if !g.import_cap_kw.is_empty() {
                g.import_cap_kw = f(&g.import_cap_kw);
            }
        }
        for p in &mut self.pvs {
            p.available_kw = f(&p.available_kw);
        }
        for h in &mut self.hvacs {
            h.cop = f(&h.cop);
            h.outdoor_temp_c = f(&h.outdoor_temp_c);
            h.heat_gain_kw = f(&h.heat_gain_kw);
            h.comfort_low_c = f(&h.comfort_low_c);
            h.comfort_high_c = f(&h.comfort_high_c);
        }
    }

    /// Whether grid connection `g` is out (an [`Outage`] overlaps step `t`).
    pub fn grid_out(&self, g: usize, t: usize) -> bool {
        self.outages
            .iter()
            .any(|o| o.grid == g && o.covers(self.times[t], self.step_minutes))
    }

    /// Whether any grid connection is out at step `t`: the steps where load may go
    /// unserved, emergency generators run and emergency lines carry power.
    pub fn emergency_at(&self, t: usize) -> bool {
        self.outages
            .iter()
            .any(|o| o.covers(self.times[t], self.step_minutes))
    }

    /// Whether any outage falls in the horizon.
    pub fn has_emergency(&self) -> bool {
        (0..self.steps).any(|t| self.emergency_at(t))
    }

    /// The step holding instant `t`, if `t` is inside the horizon.
    pub fn step_at(&self, t: DateTime<FixedOffset>) -> Option<usize> {
        let s = (t - self.start).num_seconds();
        if s < 0 {
            return None;
        }
        let k = (s / (i64::from(self.step_minutes) * 60)) as usize;
        (k < self.steps).then_some(k)
    }

    /// Step length Δ in hours.
    pub fn step_hours(&self) -> f64 {
        f64::from(self.step_minutes) / 60.0
    }

    /// The 30-minute demand intervals of the horizon (each step its own interval when
    /// `step_minutes = 60`; the last one may be partial). When the horizon starts inside an
    /// interval (a replan at, say, 10:10 with 5-minute steps), the first interval holds the
    /// steps up to the next 30-minute boundary and records the time already elapsed in it.
    pub fn demand_intervals(&self) -> Vec<DemandInterval> {
        if self.step_minutes >= 30 {
            return (0..self.steps)
                .map(|t| DemandInterval {
                    steps: t..t + 1,
                    elapsed_hours: 0.0,
                })
                .collect();
        }
        let per = (30 / self.step_minutes) as usize;
        let offset_min = (self.start.minute() % 30) as usize;
        let first = ((30 - offset_min) / self.step_minutes as usize).clamp(1, per);
        let mut out = vec![DemandInterval {
            steps: 0..first.min(self.steps),
            elapsed_hours: offset_min as f64 / 60.0,
        }];
        let mut s = first;
        while s < self.steps {
            out.push(DemandInterval {
                steps: s..(s + per).min(self.steps),
                elapsed_hours: 0.0,
            });
            s += per;
        }
        out
    }

    /// The most 30-minute intervals a horizon of this many steps can meet, whatever its
    /// start: [`Scenario::demand_intervals`] of a start one step into an interval.
    pub fn most_demand_intervals(&self) -> usize {
        if self.step_minutes >= 30 || self.steps == 0 {
            return self.steps;
        }
        let per = (30 / self.step_minutes) as usize;
        1 + (self.steps - 1).div_ceil(per)
    }
}

/// One 30-minute demand interval within a horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandInterval {
    /// The horizon's steps in it.
    pub steps: std::ops::Range<usize>,
    /// Hours of it that passed before the horizon (its imported energy is the grid's
    /// `interval_import_so_far_kwh`).
    pub elapsed_hours: f64,
}

impl DemandInterval {
    /// Mean import over the interval (its part before the horizon included) of `import_kw`
    /// per step, given `so_far_kwh` imported before the horizon and steps of `step_hours`.
    pub fn mean_kw(&self, import_kw: &[f64], so_far_kwh: f64, step_hours: f64) -> f64 {
        let inside: f64 = import_kw[self.steps.clone()].iter().sum::<f64>() * step_hours;
        let before = if self.elapsed_hours > 0.0 {
            so_far_kwh
        } else {
            0.0
        };
        (before + inside) / (self.elapsed_hours + self.steps.len() as f64 * step_hours)
    }
}

/// The `[scenario]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    timezone: String,
    start: toml::Value,
    step_minutes: i64,
    steps: i64,
    series: String,
}

/// The `[objective]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    #[serde(default)]
    carbon_price_yen_per_kg: Option<f64>,
}

/// One table entry with the context its errors are reported in.
#[derive(Debug, Clone)]
struct Entry<T> {
    index: usize,
    id: String,
    raw: T,
}

/// A scenario file as read from disk: TOML parsed, header checked, CSV read; series not yet
/// resolved to a horizon.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    path: PathBuf,
    name: String,
    timezone: Tz,
    start: DateTime<FixedOffset>,
    step_minutes: u32,
    steps: usize,
    carbon_price_yen_per_kg: f64,
    nodes: Vec<Entry<RawNode>>,
    grids: Vec<Entry<RawGrid>>,
    pvs: Vec<Entry<RawPv>>,
    batteries: Vec<Entry<RawBattery>>,
    hvacs: Vec<Entry<RawHvac>>,
    generators: Vec<Entry<RawGenerator>>,
    lines: Vec<Entry<RawLine>>,
    outages: Vec<Outage>,
    table: SeriesTable,
    extensions: toml::Table,
}

const KINDS: [&str; 7] = ["node", "grid", "pv", "battery", "hvac", "generator", "line"];

/// Arrays of tables this project adds to the scenario format (`docs/extensions.md`).
pub const EXTENSION_ARRAYS: [&str; 1] = ["outage"];

/// Sections this project adds to the scenario format (kept as TOML for the tools that read
/// them; the dispatch model ignores them): `[simulation]` (closed-loop simulation
/// settings), `[kpi]` (reporting settings such as the CO2 base year) and `[requests]` (how a
/// what-if asks tenants and residents for help).
pub const EXTENSION_SECTIONS: [&str; 3] = ["simulation", "kpi", "requests"];

impl ScenarioFile {
    /// Reads the scenario TOML at `path` and the series CSV it names.
    pub fn read(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::file(path, format!("cannot read scenario file: {e}")))?;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        Self::parse(path, &text, |series| {
            let csv = dir.join(series);
            let bytes = std::fs::read(&csv).map_err(|e| {
                ScenarioError::file(
                    path,
                    format!("cannot read series file {}: {e}", csv.display()),
                )
            })?;
            Ok((csv, bytes))
        })
    }

    /// Parses scenario TOML text; `load_series` returns the CSV's path and bytes for the
    /// `series` key. `path` is used in messages and as the scenario's path.
    pub fn parse(
        path: &Path,
        text: &str,
        load_series: impl FnOnce(&str) -> Result<(PathBuf, Vec<u8>), ScenarioError>,
    ) -> Result<Self, ScenarioError> {
        let root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| {
                    format!(
                        "line {}: ",
                        text[..s.start.min(text.len())].lines().count().max(1)
                    )
                })
                .unwrap_or_default();
            ScenarioError::file(path, format!("{line}invalid TOML: {}", e.message()))
        })?;
        for key in root.keys() {
            if key != "scenario"
                && key != "objective"
                && !KINDS.contains(&key.as_str())
                && !EXTENSION_SECTIONS.contains(&key.as_str())
                && !EXTENSION_ARRAYS.contains(&key.as_str())
            {
                return Err(ScenarioError::file(
                    path,
                    format!(
                        "unknown section '{key}' (expected scenario, objective, {}, {}, {})",
                        KINDS.join(", "),
                        EXTENSION_SECTIONS.join(", "),
                        EXTENSION_ARRAYS.join(", ")
                    ),
                ));
            }
            if EXTENSION_SECTIONS.contains(&key.as_str()) && !root[key].is_table() {
                return Err(ScenarioError::file(
                    path,
                    format!("'{key}' must be a table ([{key}])"),
                ));
            }
        }

        let head_ctx = Ctx::section(path, "scenario");
        let header: RawHeader = match root.get("scenario") {
            Some(v) => decode(v.clone(), &head_ctx)?,
            None => return Err(ScenarioError::file(path, "missing section [scenario]")),
        };
        let obj_ctx = Ctx::section(path, "objective");
        let objective: RawObjective = match root.get("objective") {
            Some(v) => decode(v.clone(), &obj_ctx)?,
            None => RawObjective::default(),
        };
        let carbon_price_yen_per_kg = objective.carbon_price_yen_per_kg.unwrap_or(0.0);
        if !carbon_price_yen_per_kg.is_finite() || carbon_price_yen_per_kg < 0.0 {
            return Err(obj_ctx.err(
                "carbon_price_yen_per_kg",
                format!("{carbon_price_yen_per_kg}: must be a finite number ≥ 0"),
            ));
        }

        let timezone: Tz = header.timezone.parse().map_err(|_| {
            head_ctx.err(
                "timezone",
                format!("'{}' is not an IANA time zone name", header.timezone),
            )
        })?;
        let start_text = match &header.start {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                return Err(head_ctx.err(
                    "start",
                    format!("expected an RFC 3339 time, found {}", other.type_str()),
                ))
            }
        };
        let start = DateTime::parse_from_rfc3339(&start_text).map_err(|e| {
            head_ctx.err(
                "start",
                format!("'{start_text}' is not an RFC 3339 time with offset ({e})"),
            )
        })?;
        if start.minute() % 30 != 0 || start.second() != 0 || start.nanosecond() != 0 {
            return Err(head_ctx.err(
                "start",
                format!("{start_text} is not on a 30-minute boundary"),
            ));
        }
        let step_minutes = header.step_minutes;
        if !(step_minutes == 60 || (1..=30).contains(&step_minutes) && 30 % step_minutes == 0) {
            return Err(head_ctx.err(
                "step_minutes",
                format!("{step_minutes} does not divide 30 minutes and is not 60"),
            ));
        }
        let step_minutes = step_minutes as u32;
        if header.steps < 1 {
            return Err(head_ctx.err("steps", format!("{} must be at least 1", header.steps)));
        }
        let steps = header.steps as usize;

        let nodes = entries::<RawNode>(&root, "node", path)?;
        let grids = entries::<RawGrid>(&root, "grid", path)?;
        let pvs = entries::<RawPv>(&root, "pv", path)?;
        let batteries = entries::<RawBattery>(&root, "battery", path)?;
        let hvacs = entries::<RawHvac>(&root, "hvac", path)?;
        let generators = entries::<RawGenerator>(&root, "generator", path)?;
        let lines = entries::<RawLine>(&root, "line", path)?;
        let grid_ids: Vec<String> = grids.iter().map(|e| e.id.clone()).collect();
        let outages = outages(&root, path, &grid_ids)?;

        // Every id is unique across all tables.
        let mut seen: Vec<(&str, String)> = Vec::new();
        let all = [
            ("node", ids(&nodes)),
            ("grid", ids(&grids)),
            ("pv", ids(&pvs)),
            ("battery", ids(&batteries)),
            ("hvac", ids(&hvacs)),
            ("generator", ids(&generators)),
            ("line", ids(&lines)),
        ];
        for (kind, list) in &all {
            for (index, id) in list {
                let here = Ctx::entry(path, kind, *index, Some(id));
                if id.is_empty() {
                    return Err(here.err("id", "id must not be empty"));
                }
                if let Some((_, first)) = seen.iter().find(|(s, _)| s == id) {
                    return Err(here.err("id", format!("id '{id}' repeats (also used in {first})")));
                }
                seen.push((id, format!("[[{kind}]] #{index} (id '{id}')")));
            }
        }

        let (csv_path, bytes) = load_series(&header.series)?;
        let table = SeriesTable::parse(&csv_path, &bytes, step_minutes)?;

        Ok(Self {
            path: path.to_path_buf(),
            name: header.name,
            timezone,
            start,
            step_minutes,
            steps,
            carbon_price_yen_per_kg,
            nodes,
            grids,
            pvs,
            batteries,
            hvacs,
            generators,
            lines,
            outages,
            table,
            extensions: root
                .iter()
                .filter(|(k, _)| EXTENSION_SECTIONS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// The CSV column a node's `load_kw` or a PV array's `available_kw` reads (`None` when
    /// it is a constant, or no such asset exists): what a forecaster must predict.
    pub fn series_column(&self, table: &str, id: &str) -> Option<&str> {
        use spec::SeriesSpec;
        let spec = match table {
            "node" => self
                .nodes
                .iter()
                .find(|e| e.id == id)?
                .raw
                .load_kw
                .as_ref()?,
            "pv" => &self.pvs.iter().find(|e| e.id == id)?.raw.available_kw,
            _ => return None,
        };
        match spec {
            SeriesSpec::Column(c) => Some(c.as_str()),
            SeriesSpec::Constant(_) => None,
        }
    }

    /// The CSV column an HVAC unit's series `field` (`outdoor_temp_c`, `heat_gain_kw`,
    /// `cop`, `comfort_low_c`, `comfort_high_c`) reads (`None` when it is a constant, or no
    /// such unit or field exists).
    pub fn hvac_column(&self, id: &str, field: &str) -> Option<&str> {
        use spec::SeriesSpec;
        let h = &self.hvacs.iter().find(|e| e.id == id)?.raw;
        let spec = match field {
            "outdoor_temp_c" => &h.outdoor_temp_c,
            "heat_gain_kw" => &h.heat_gain_kw,
            "cop" => &h.cop,
            "comfort_low_c" => &h.comfort_low_c,
            "comfort_high_c" => &h.comfort_high_c,
            _ => return None,
        };
        match spec {
            SeriesSpec::Column(c) => Some(c.as_str()),
            SeriesSpec::Constant(_) => None,
        }
    }

    /// Every row of CSV column `name`, checked to be present, numeric and finite.
    pub fn column(&self, name: &str) -> Result<Vec<f64>, ScenarioError> {
        let ctx = Ctx::section(&self.path, "series");
        self.table.values(&ctx, name, name, 0..self.table.len())
    }

    /// An extension section (`[simulation]`, `[kpi]`), as TOML, if the file has it.
    pub fn extension(&self, name: &str) -> Option<&toml::Table> {
        self.extensions.get(name).and_then(|v| v.as_table())
    }

    /// The scenario file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The scenario's IANA time zone.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The series CSV.
    pub fn table(&self) -> &SeriesTable {
        &self.table
    }

    /// The declared start of the horizon.
    pub fn start(&self) -> DateTime<FixedOffset> {
        self.start
    }

    /// The declared number of steps.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The step length, minutes.
    pub fn step_minutes(&self) -> u32 {
        self.step_minutes
    }

    /// The scenario over the horizon the file declares (`start`, `steps`).
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        self.window(self.start, self.steps)
    }

    /// The scenario over `steps` steps from `start` (which must be the time of a CSV row),
    /// validating the rows it uses.
    pub fn window(
        &self,
        start: DateTime<FixedOffset>,
        steps: usize,
    ) -> Result<Scenario, ScenarioError> {
        let head_ctx = Ctx::section(&self.path, "scenario");
        let csv_name = self.table.path().display().to_string();
        let first = self.table.row_of(start).ok_or_else(|| {
            head_ctx.err(
                "start",
                format!("no row of {csv_name} has time {}", start.to_rfc3339()),
            )
        })?;
        if steps < 1 {
            return Err(head_ctx.err("steps", "must be at least 1"));
        }
        let available = self.table.len() - first;
        if available < steps {
            return Err(head_ctx.err(
                "steps",
                format!(
                    "{steps} steps from {} need {steps} rows of {csv_name}, it has {available}",
                    start.to_rfc3339()
                ),
            ));
        }
        let rows = first..first + steps;
        let step_hours = f64::from(self.step_minutes) / 60.0;
        let node_ids: Vec<String> = self.nodes.iter().map(|e| e.id.clone()).collect();
        let resolver = |kind: &str, e_index: usize, id: &str| Resolver {
            ctx: Ctx::entry(&self.path, kind, e_index, Some(id)),
            table: &self.table,
            rows: rows.clone(),
            node_ids: &node_ids,
            step_hours,
        };
        macro_rules! resolve_all {
            ($list:expr, $kind:literal) => {
                $list
                    .iter()
                    .map(|e| e.raw.clone().resolve(&resolver($kind, e.index, &e.id)))
                    .collect::<Result<Vec<_>, _>>()?
            };
        }
        Ok(Scenario {
            name: self.name.clone(),
            timezone: self.timezone,
            start,
            step_minutes: self.step_minutes,
            steps,
            times: self.table.times()[rows.clone()].to_vec(),
            carbon_price_yen_per_kg: self.carbon_price_yen_per_kg,
            nodes: resolve_all!(self.nodes, "node"),
            grids: resolve_all!(self.grids, "grid"),
            pvs: resolve_all!(self.pvs, "pv"),
            batteries: resolve_all!(self.batteries, "battery"),
            hvacs: resolve_all!(self.hvacs, "hvac"),
            generators: resolve_all!(self.generators, "generator"),
            lines: resolve_all!(self.lines, "line"),
            outages: self.outages.clone(),
            first_step_shared: FirstStepShared::default(),
            path: self.path.clone(),
        })
    }
}

/// The `[[outage]]` entries (their `id` is optional), resolved against the grid ids.
fn outages(
    root: &toml::Table,
    path: &Path,
    grid_ids: &[String],
) -> Result<Vec<Outage>, ScenarioError> {
    let Some(value) = root.get("outage") else {
        return Ok(Vec::new());
    };
    let Some(array) = value.as_array() else {
        return Err(ScenarioError::file(
            path,
            "'outage' must be an array of tables ([[outage]])",
        ));
    };
    array
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let id = v.get("id").and_then(|i| i.as_str());
            let ctx = Ctx::entry(path, "outage", index, id);
            decode::<RawOutage>(v.clone(), &ctx)?.resolve(&ctx, grid_ids)
        })
        .collect()
}

fn ids<T>(list: &[Entry<T>]) -> Vec<(usize, String)> {
    list.iter().map(|e| (e.index, e.id.clone())).collect()
}

/// Deserialises one TOML table, reporting serde's message in `ctx` with the key at fault
/// (found by `serde_path_to_error`, or named by serde in backticks for missing and unknown
/// keys).
fn decode<T: DeserializeOwned>(value: toml::Value, ctx: &Ctx<'_>) -> Result<T, ScenarioError> {
    if !value.is_table() {
        return Err(ctx.err_table(format!("expected a table, found {}", value.type_str())));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().message().to_string();
        if path != "." && !path.is_empty() {
            return ctx.err(&path, message);
        }
        match message.split('`').nth(1) {
            Some(key) if message.contains("field") => ctx.err(key, message.clone()),
            _ => ctx.err_table(message),
        }
    })
}

/// The entries of the `[[kind]]` array of tables, each deserialised with its context.
fn entries<T: DeserializeOwned>(
    root: &toml::Table,
    kind: &str,
    path: &Path,
) -> Result<Vec<Entry<T>>, ScenarioError> {
    let Some(value) = root.get(kind) else {
        return Ok(Vec::new());
    };
    let Some(array) = value.as_array() else {
        return Err(ScenarioError::file(
            path,
            format!("'{kind}' must be an array of tables ([[{kind}]])"),
        ));
    };
    array
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let id = v.get("id").and_then(|i| i.as_str()).map(str::to_string);
            let ctx = Ctx::entry(path, kind, index, id.as_deref());
            let raw = decode::<T>(v.clone(), &ctx)?;
            let id = id.ok_or_else(|| ctx.err("id", "missing field `id` (a string)"))?;
            Ok(Entry { index, id, raw })
        })
        .collect()
}
