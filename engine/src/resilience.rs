//! The islanded plan: how a district carries its loads when its grid connections are lost
//! (`aems resilience`, `docs/resilience.md`).
//!
//! [`islanded`] cuts the scenario to the outage — from its start, for its hours — with
//! every chosen connection out for the whole window and the batteries free to end empty;
//! the engine then plans it like any other horizon: unserved load priced at each class's
//! value of lost load, fuel rationed over the outage ([`crate::model`], extension
//! *Resilience*). [`assess`] solves it and reads off what an area manager asks: per
//! building and class, the hours carried, the energy served, the first step where a class
//! is shed and why; the largest power carried against the normal peak; fuel and battery
//! energy left. [`sweep`] does it for many starts in parallel.

use chrono::{DateTime, Duration, FixedOffset};
use serde::Serialize;

use crate::asset::{ClassKind, Outage};
use crate::scenario::{Scenario, ScenarioFile};
use crate::schedule::Schedule;
use crate::solve::{optimize, EngineError, SolveOptions, Status};
use crate::ScenarioError;

/// Share of a class's load at a step that may go unserved while it still counts as
/// carried (the solver's tolerance, not a policy).
const CARRIED_TOL: f64 = 1e-6;

/// An outage to plan for.
#[derive(Debug, Clone, PartialEq)]
pub struct OutageRequest {
    /// When the grid is lost (a step of the scenario's series).
    pub from: DateTime<FixedOffset>,
    /// How long it lasts, hours (whole steps; rounded up).
    pub hours: f64,
    /// Ids of the connections lost (empty: every connection).
    pub grids: Vec<String>,
    /// Every battery's state of charge at the start, as a share of `max_kwh` (clamped
    /// to `[min_kwh, max_kwh]`); `None`: the scenario's `initial_kwh`.
    pub battery_soc: Option<f64>,
}

/// Why there is no assessment.
#[derive(Debug)]
pub enum ResilienceError {
    /// The scenario cannot be cut to the outage (a start without a row, too few rows, an
    /// unknown grid).
    Scenario(ScenarioError),
    /// The request itself is wrong.
    Request(String),
    /// The solver failed.
    Engine(EngineError),
}

impl std::fmt::Display for ResilienceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResilienceError::Scenario(e) => write!(f, "{e}"),
            ResilienceError::Request(m) => write!(f, "{m}"),
            ResilienceError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ResilienceError {}

/// The scenario of the outage: `hours` from `from`, the chosen connections out throughout,
/// the batteries' terminal energy at `min_kwh` (what is left has no use the plan can see).
pub fn islanded(file: &ScenarioFile, req: &OutageRequest) -> Result<Scenario, ResilienceError> {
    if !(req.hours.is_finite() && req.hours > 0.0) {
        return Err(ResilienceError::Request(format!(
            "--hours {}: must be a positive number of hours",
            req.hours
        )));
    }
    let step_h = f64::from(file.step_minutes()) / 60.0;
    let steps = (req.hours / step_h - 1e-9).ceil().max(1.0) as usize;
    let mut sc = file
        .window(req.from, steps)
        .map_err(ResilienceError::Scenario)?;
    let grids: Vec<usize> = if req.grids.is_empty() {
        (0..sc.grids.len()).collect()
    } else {
        req.grids
            .iter()
            .map(|id| {
                sc.grids.iter().position(|g| g.id == *id).ok_or_else(|| {
                    ResilienceError::Request(format!(
                        "--grid {id}: {} has no grid connection '{id}' (it has: {})",
                        file.path().display(),
                        sc.grids
                            .iter()
                            .map(|g| g.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if grids.is_empty() {
        return Err(ResilienceError::Request(format!(
            "{} has no grid connection to lose",
            file.path().display()
        )));
    }
    let until = req.from + Duration::minutes(i64::from(file.step_minutes()) * steps as i64);
    sc.outages = grids
        .into_iter()
        .map(|grid| Outage {
            id: Some("resilience".to_string()),
            grid,
            from: req.from,
            until,
        })
        .collect();
    if let Some(soc) = req.battery_soc {
        if !(0.0..=1.0).contains(&soc) {
            return Err(ResilienceError::Request(format!(
                "--battery-soc {soc}: must be within [0, 1]"
            )));
        }
    }
    for k in &mut sc.batteries {
        if let Some(soc) = req.battery_soc {
            k.initial_kwh = (soc * k.max_kwh).clamp(k.min_kwh, k.max_kwh);
        }
        k.terminal_kwh = k.min_kwh;
    }
    Ok(sc)
}

/// One class of one building over the outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFigures {
    /// `lifeline`, `critical`, `normal` or `sheddable`.
    pub class: &'static str,
    /// The class's demand over the outage, kWh.
    pub demand_kwh: f64,
    /// Served, kWh.
    pub served_kwh: f64,
    /// Served share of the demand (1 when there was none).
    pub served_share: f64,
    /// Hours from the outage's start until the class is first shed (the outage's hours
    /// when never).
    pub carried_hours: f64,
    /// Hours in which it was fully served.
    pub served_hours: f64,
    /// The first step at which part of it was shed, if any.
    pub first_shed: Option<DateTime<FixedOffset>>,
}

/// One building (node) over the outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeFigures {
    /// The node's id.
    pub id: String,
    /// Its classes, highest priority first (classes with no demand left out).
    pub classes: Vec<ClassFigures>,
    /// Its largest load over the year of data before the outage (or over the data there
    /// is), kW.
    pub normal_peak_kw: f64,
    /// The largest load it was served during the outage, kW.
    pub carried_peak_kw: f64,
    /// `carried_peak_kw / normal_peak_kw`.
    pub carried_share_of_peak: f64,
    /// Why load was first shed here: the island's supply at that step.
    pub first_shed_reason: Option<String>,
}

/// A generator's fuel over the outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FuelFigures {
    /// The generator's id.
    pub id: String,
    /// Fuel burnt, kWh.
    pub burnt_kwh: f64,
    /// Fuel left at the end, kWh (`None`: no fuel stock declared).
    pub left_kwh: Option<f64>,
    /// Hours it ran.
    pub running_hours: f64,
}

/// A battery's energy at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatteryFigures {
    /// The battery's id.
    pub id: String,
    /// Stored energy at the start, kWh.
    pub start_kwh: f64,
    /// Stored energy at the end, kWh.
    pub end_kwh: f64,
}

/// The islanded plan's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// When the grid is lost.
    pub from: DateTime<FixedOffset>,
    /// When it returns (the end of the plan).
    pub until: DateTime<FixedOffset>,
    /// The plan's hours.
    pub hours: f64,
    /// The connections lost.
    pub grids_out: Vec<String>,
    /// `optimal`, `time_limit` or why there is no plan.
    pub status: String,
    /// The plan's objective, yen (values of lost load included).
    pub objective_yen: Option<f64>,
    /// Per building.
    pub nodes: Vec<NodeFigures>,
    /// The district's classes, summed over the buildings.
    pub district: Vec<ClassFigures>,
    /// Served share of the district's whole demand.
    pub served_share: f64,
    /// The district's largest load carried / its normal peak (the buildings' loads summed
    /// per step).
    pub carried_share_of_peak: f64,
    /// Per generator.
    pub fuel: Vec<FuelFigures>,
    /// Per battery.
    pub batteries: Vec<BatteryFigures>,
    /// What the plan took as known: the loads and PV over the outage, the batteries' state
    /// at its start.
    pub perfect_information: Vec<String>,
    /// Seconds spent solving.
    pub solve_seconds: f64,
}

/// The largest load of each node, and of the district (sum per row), over the year of
/// rows before `from` (or every row when fewer).
fn normal_peaks(
    file: &ScenarioFile,
    sc: &Scenario,
    from: DateTime<FixedOffset>,
) -> Result<(Vec<f64>, f64), ResilienceError> {
    let table = file.table();
    let times = table.times();
    let end = times.partition_point(|t| *t < from);
    let year_ago = from - Duration::days(365);
    let mut start = times.partition_point(|t| *t < year_ago);
    if end - start < 2 {
        // No history before the outage: the whole file.
        start = 0;
    }
    let range = if end - start < 2 {
        0..times.len()
    } else {
        start..end
    };
    let mut per_node = Vec::with_capacity(sc.nodes.len());
    let mut district = vec![0.0; range.len()];
    for node in &sc.nodes {
        // A bad value in the year before the outage is an error, not a zero.
        let values: Vec<f64> = match file.series_column("node", &node.id) {
            Some(col) => {
                file.column(col).map_err(ResilienceError::Scenario)?[range.clone()].to_vec()
            }
            None => vec![node.load_kw.first().copied().unwrap_or(0.0); range.len()],
        };
        for (d, v) in district.iter_mut().zip(&values) {
            *d += v;
        }
        per_node.push(values.iter().copied().fold(0.0, f64::max));
    }
    // The outage's own loads count too (a year's peak may fall in it).
    for (n, node) in sc.nodes.iter().enumerate() {
        per_node[n] = node.load_kw.iter().copied().fold(per_node[n], f64::max);
    }
    let in_outage = (0..sc.steps)
        .map(|t| sc.nodes.iter().map(|n| n.load_kw[t]).sum::<f64>())
        .fold(0.0, f64::max);
    Ok((per_node, district.into_iter().fold(in_outage, f64::max)))
}

/// The class figures of demand `demand[t]` and unserved `shed[t]` (kW) per step.
fn class_figures(sc: &Scenario, kind: ClassKind, demand: &[f64], shed: &[f64]) -> ClassFigures {
    let dt = sc.step_hours();
    let d: f64 = demand.iter().sum::<f64>() * dt;
    let u: f64 = shed.iter().sum::<f64>() * dt;
    let carried = |t: usize| shed[t] <= CARRIED_TOL * demand[t].max(1.0);
    let first = (0..sc.steps).find(|&t| !carried(t));
    ClassFigures {
        class: kind.as_str(),
        demand_kwh: d,
        served_kwh: d - u,
        served_share: if d > 0.0 { (d - u) / d } else { 1.0 },
        carried_hours: first.unwrap_or(sc.steps) as f64 * dt,
        served_hours: (0..sc.steps).filter(|&t| carried(t)).count() as f64 * dt,
        first_shed: first.map(|t| sc.times[t]),
    }
}

/// The nodes joined to `n` at step `t` by lines that may carry power then.
fn island(sc: &Scenario, n: usize, t: usize) -> Vec<usize> {
    let mut seen = vec![false; sc.nodes.len()];
    let mut stack = vec![n];
    seen[n] = true;
    while let Some(a) = stack.pop() {
        for l in &sc.lines {
            if l.emergency_only && !sc.emergency_at(t) || l.capacity_kw <= 0.0 {
                continue;
            }
            for (x, y) in [(l.from, l.to), (l.to, l.from)] {
                if x == a && !seen[y] {
                    seen[y] = true;
                    stack.push(y);
                }
            }
        }
    }
    (0..sc.nodes.len()).filter(|&i| seen[i]).collect()
}

/// Why node `n` sheds load at step `t`: every source of its island and how far it was
/// used, and the lines into `n` at their capacity.
pub fn shortage_reason(sc: &Scenario, s: &Schedule, n: usize, t: usize) -> String {
    let nodes = island(sc, n, t);
    let dt = sc.step_hours();
    let tol = 1e-3;
    let mut parts: Vec<String> = Vec::new();
    for (j, js) in sc.generators.iter().zip(&s.generators) {
        if !nodes.contains(&j.node) {
            continue;
        }
        let p = js.power_kw[t];
        let fuel_left = js.fuel_kwh.get(t + 1).copied();
        let state = if p >= j.max_kw - tol {
            format!("at its maximum {:.0} kW", j.max_kw)
        } else if fuel_left.is_some_and(|f| f <= tol + p / j.efficiency * dt) {
            format!("{p:.0} kW, its fuel exhausted")
        } else if !js.on[t] && !j.black_start {
            "off: it cannot start without the grid (no black start)".to_string()
        } else if p > tol {
            format!("{p:.0} of {:.0} kW, keeping fuel for later", j.max_kw)
        } else {
            "off, keeping fuel for later".to_string()
        };
        parts.push(format!("generator {} {state}", j.id));
    }
    for (k, ks) in sc.batteries.iter().zip(&s.batteries) {
        if !nodes.contains(&k.node) {
            continue;
        }
        let e = ks.energy_kwh[t];
        let dis = ks.discharge_kw[t];
        let share = k.model_law().power_share(e, dt);
        // Within 1 % of its usable range of the minimum counts as empty (self-discharge
        // keeps a battery a little above it).
        let floor = k.min_kwh + (0.01 * (k.max_kwh - k.min_kwh)).max(tol);
        let above = (e - k.min_kwh).max(0.0);
        let state = if ks.energy_kwh[t + 1] <= floor && dis > tol {
            format!("{dis:.0} kW, empties in this step")
        } else if e <= floor {
            format!("empty (at its minimum, {:.0} kWh)", k.min_kwh)
        } else if dis >= k.discharge_kw * share - tol {
            format!("at its discharge limit {dis:.0} kW")
        } else if dis > tol {
            format!("{dis:.0} kW, keeping {above:.0} kWh above its minimum for later")
        } else {
            format!("holding {above:.0} kWh above its minimum for later")
        };
        parts.push(format!("battery {} {state}", k.id));
    }
    let (pv_used, pv_avail): (f64, f64) = sc
        .pvs
        .iter()
        .zip(&s.pvs)
        .filter(|(p, _)| nodes.contains(&p.node))
        .map(|(p, ps)| (ps.used_kw[t], p.available_kw[t]))
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    if pv_avail > tol {
        parts.push(format!("PV {pv_used:.0} of {pv_avail:.0} kW"));
    } else {
        parts.push("no PV".to_string());
    }
    for (l, ls) in sc.lines.iter().zip(&s.lines) {
        let into = if l.to == n {
            ls.fwd_kw[t]
        } else if l.from == n {
            ls.rev_kw[t]
        } else {
            continue;
        };
        if into >= l.capacity_kw - tol && l.capacity_kw > 0.0 {
            parts.push(format!(
                "line {} at its capacity {:.0} kW",
                l.id, l.capacity_kw
            ));
        }
    }
    let load: f64 = nodes.iter().map(|&i| sc.nodes[i].load_kw[t]).sum();
    let hvac: f64 = sc
        .hvacs
        .iter()
        .zip(&s.hvacs)
        .filter(|(h, _)| nodes.contains(&h.node))
        .map(|(_, hs)| hs.power_kw[t])
        .sum();
    let shed: f64 = nodes
        .iter()
        .map(|&i| s.unserved_kw(i, t).iter().sum::<f64>())
        .sum();
    format!(
        "at {}, the island of {} ({} node{}) needs {load:.0} kW of load{}, {shed:.0} kW of it shed: {}",
        sc.times[t].to_rfc3339(),
        sc.nodes[n].id,
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" },
        if hvac > tol {
            format!(" and {hvac:.0} kW of HVAC")
        } else {
            String::new()
        },
        parts.join("; ")
    )
}

/// Plans the outage `req` on `file` and reads off its figures.
pub fn assess(
    file: &ScenarioFile,
    req: &OutageRequest,
    opts: &SolveOptions,
) -> Result<Assessment, ResilienceError> {
    let (sc, outcome) = plan(file, req, opts)?;
    figures(file, req, &sc, &outcome)
}

/// The islanded scenario of `req` and its solve.
pub fn plan(
    file: &ScenarioFile,
    req: &OutageRequest,
    opts: &SolveOptions,
) -> Result<(Scenario, crate::Outcome), ResilienceError> {
    let sc = islanded(file, req)?;
    let outcome = optimize(&sc, opts).map_err(ResilienceError::Engine)?;
    Ok((sc, outcome))
}

/// The figures of the islanded plan `outcome` of `sc` (made by [`plan`] from `req`);
/// fails when the series of the year before the outage (the normal peaks) has a bad value.
pub fn figures(
    file: &ScenarioFile,
    req: &OutageRequest,
    sc: &Scenario,
    outcome: &crate::Outcome,
) -> Result<Assessment, ResilienceError> {
    let (node_peaks, district_peak) = normal_peaks(file, sc, req.from)?;
    let until = sc.times[sc.steps - 1] + Duration::minutes(i64::from(sc.step_minutes));
    let grids_out: Vec<String> = sc
        .outages
        .iter()
        .map(|o| sc.grids[o.grid].id.clone())
        .collect();
    let mut perfect_information =
        vec!["the buildings' loads and PV over the outage (the scenario's series)".to_string()];
    perfect_information.push(match req.battery_soc {
        Some(soc) => format!("every battery at {:.0} % at the start", soc * 100.0),
        None => "every battery at its initial_kwh at the start".to_string(),
    });
    let hours = sc.steps as f64 * sc.step_hours();
    let Some(s) = outcome.schedule.as_ref() else {
        let mut status = outcome.status.as_str().to_string();
        if let Some(m) = &outcome.message {
            status = format!("{status}: {m}");
        }
        return Ok(Assessment {
            from: req.from,
            until,
            hours,
            grids_out,
            status,
            objective_yen: None,
            nodes: Vec::new(),
            district: Vec::new(),
            served_share: f64::NAN,
            carried_share_of_peak: f64::NAN,
            fuel: Vec::new(),
            batteries: Vec::new(),
            perfect_information,
            solve_seconds: outcome.solve_seconds,
        });
    };
    let dt = sc.step_hours();
    let mut nodes = Vec::new();
    let mut district_demand = vec![vec![0.0; sc.steps]; 4];
    let mut district_shed = vec![vec![0.0; sc.steps]; 4];
    let mut served_total = vec![0.0; sc.steps];
    for (n, node) in sc.nodes.iter().enumerate() {
        let mut demand = vec![vec![0.0; sc.steps]; 4];
        let mut shed = vec![vec![0.0; sc.steps]; 4];
        for t in 0..sc.steps {
            let split = node.classes.split_kw(node.load_kw[t], t);
            let un = s.unserved_kw(n, t);
            for c in 0..4 {
                demand[c][t] = split[c];
                shed[c][t] = un[c].min(split[c]);
                district_demand[c][t] += split[c];
                district_shed[c][t] += shed[c][t];
            }
        }
        let served: Vec<f64> = (0..sc.steps)
            .map(|t| node.load_kw[t] - (0..4).map(|c| shed[c][t]).sum::<f64>())
            .collect();
        for (a, b) in served_total.iter_mut().zip(&served) {
            *a += b;
        }
        let classes: Vec<ClassFigures> = ClassKind::ALL
            .into_iter()
            .map(|k| class_figures(sc, k, &demand[k.index()], &shed[k.index()]))
            .filter(|c| c.demand_kwh > 0.0)
            .collect();
        let first_shed = classes
            .iter()
            .filter_map(|c| c.first_shed)
            .min()
            .and_then(|time| sc.times.iter().position(|x| *x == time));
        let carried_peak_kw = served.iter().copied().fold(0.0, f64::max);
        nodes.push(NodeFigures {
            id: node.id.clone(),
            classes,
            normal_peak_kw: node_peaks[n],
            carried_peak_kw,
            carried_share_of_peak: if node_peaks[n] > 0.0 {
                carried_peak_kw / node_peaks[n]
            } else {
                f64::NAN
            },
            first_shed_reason: first_shed.map(|t| shortage_reason(sc, s, n, t)),
        });
    }
    let district: Vec<ClassFigures> = ClassKind::ALL
        .into_iter()
        .map(|k| {
            class_figures(
                sc,
                k,
                &district_demand[k.index()],
                &district_shed[k.index()],
            )
        })
        .filter(|c| c.demand_kwh > 0.0)
        .collect();
    let demand_kwh: f64 = district.iter().map(|c| c.demand_kwh).sum();
    let served_kwh: f64 = district.iter().map(|c| c.served_kwh).sum();
    let fuel = sc
        .generators
        .iter()
        .zip(&s.generators)
        .map(|(j, js)| {
            let burnt: f64 = js
                .power_kw
                .iter()
                .map(|p| physics::fuel::fuel_kw(*p, j.efficiency) * dt)
                .sum();
            let left = j.fuel.map(|f| {
                js.power_kw.iter().fold(f.initial_kwh, |stock, p| {
                    f.tank
                        .next_kwh(stock, physics::fuel::fuel_kw(*p, j.efficiency), dt)
                })
            });
            FuelFigures {
                id: j.id.clone(),
                burnt_kwh: burnt,
                left_kwh: left,
                running_hours: js.on.iter().filter(|o| **o).count() as f64 * dt,
            }
        })
        .collect();
    let batteries = sc
        .batteries
        .iter()
        .zip(&s.batteries)
        .map(|(k, ks)| BatteryFigures {
            id: k.id.clone(),
            start_kwh: ks.energy_kwh[0],
            end_kwh: ks.energy_kwh[sc.steps],
        })
        .collect();
    let carried_peak = served_total.iter().copied().fold(0.0, f64::max);
    Ok(Assessment {
        from: req.from,
        until,
        hours,
        grids_out,
        status: match outcome.status {
            Status::Optimal => "optimal".to_string(),
            other => other.as_str().to_string(),
        },
        objective_yen: outcome.figures.as_ref().map(|f| f.objective_yen),
        nodes,
        district,
        served_share: if demand_kwh > 0.0 {
            served_kwh / demand_kwh
        } else {
            1.0
        },
        carried_share_of_peak: if district_peak > 0.0 {
            carried_peak / district_peak
        } else {
            f64::NAN
        },
        fuel,
        batteries,
        perfect_information,
        solve_seconds: outcome.solve_seconds,
    })
}

impl Assessment {
    /// The district's figures of class `kind`, if it had demand.
    pub fn class(&self, kind: ClassKind) -> Option<&ClassFigures> {
        self.district.iter().find(|c| c.class == kind.as_str())
    }

    /// The shortest time any building carried its lifeline loads, hours (the outage's
    /// hours when every building carried them throughout).
    pub fn lifeline_hours(&self) -> f64 {
        self.nodes
            .iter()
            .flat_map(|n| n.classes.iter())
            .filter(|c| c.class == ClassKind::Lifeline.as_str())
            .map(|c| c.carried_hours)
            .fold(self.hours, f64::min)
    }
}

/// The outage starts of a sweep: every `every_hours` from the first step of the file to
/// the last start that leaves `hours` of data.
pub fn sweep_starts(
    file: &ScenarioFile,
    first: DateTime<FixedOffset>,
    every_hours: f64,
    hours: f64,
) -> Result<Vec<DateTime<FixedOffset>>, ResilienceError> {
    if !(every_hours.is_finite() && every_hours > 0.0) {
        return Err(ResilienceError::Request(format!(
            "--every-hours {every_hours}: must be a positive number of hours"
        )));
    }
    let times = file.table().times();
    let step_min = i64::from(file.step_minutes());
    let needed = (hours * 60.0 / step_min as f64 - 1e-9).ceil().max(1.0) as usize;
    let Some(last_row) = times.len().checked_sub(needed) else {
        return Ok(Vec::new());
    };
    let last = times[last_row];
    let every = Duration::minutes((every_hours * 60.0).round() as i64);
    if every < Duration::minutes(step_min) {
        return Err(ResilienceError::Request(format!(
            "--every-hours {every_hours}: shorter than the scenario's step ({step_min} min)"
        )));
    }
    let mut out = Vec::new();
    let mut t = first;
    while t <= last {
        if times.binary_search(&t).is_ok() {
            out.push(t);
        }
        t += every;
    }
    Ok(out)
}

/// One start of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    /// When the grid is lost.
    pub from: DateTime<FixedOffset>,
    /// `optimal`, or why there is no plan.
    pub status: String,
    /// Served share of the whole demand.
    pub served_share: f64,
    /// Served share of the lifeline demand (1 when there is none).
    pub lifeline_share: f64,
    /// The shortest time a building carried its lifeline loads, hours.
    pub lifeline_hours: f64,
    /// The largest load carried / the normal peak.
    pub carried_share_of_peak: f64,
    /// Load not served, kWh.
    pub unserved_kwh: f64,
}

impl SweepPoint {
    fn of(a: &Assessment) -> Self {
        let demand: f64 = a.district.iter().map(|c| c.demand_kwh).sum();
        let served: f64 = a.district.iter().map(|c| c.served_kwh).sum();
        Self {
            from: a.from,
            status: a.status.clone(),
            served_share: a.served_share,
            lifeline_share: a.class(ClassKind::Lifeline).map_or(1.0, |c| c.served_share),
            lifeline_hours: a.lifeline_hours(),
            carried_share_of_peak: a.carried_share_of_peak,
            unserved_kwh: demand - served,
        }
    }
}

/// The sweep's summary: every start, the worst and the typical one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// The outage's hours.
    pub hours: f64,
    /// Every start, in time order.
    pub points: Vec<SweepPoint>,
    /// The worst start: least lifeline served, then least served overall.
    pub worst: Option<SweepPoint>,
    /// The median start by served share.
    pub typical: Option<SweepPoint>,
}

/// Assesses every start in `starts` (in parallel on every core); `progress` is called
/// after each with the number done.
pub fn sweep(
    file: &ScenarioFile,
    starts: &[DateTime<FixedOffset>],
    template: &OutageRequest,
    opts: &SolveOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Sweep, ResilienceError> {
    use rayon::prelude::*;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let points: Vec<SweepPoint> = starts
        .par_iter()
        .map(|&from| {
            let req = OutageRequest {
                from,
                ..template.clone()
            };
            let a = assess(file, &req, opts)?;
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
            Ok(SweepPoint::of(&a))
        })
        .collect::<Result<_, ResilienceError>>()?;
    let solved: Vec<&SweepPoint> = points
        .iter()
        .filter(|p| p.served_share.is_finite())
        .collect();
    let worst = solved
        .iter()
        .min_by(|a, b| {
            a.lifeline_share
                .total_cmp(&b.lifeline_share)
                .then(a.served_share.total_cmp(&b.served_share))
        })
        .map(|p| (*p).clone());
    let mut by_share = solved.clone();
    by_share.sort_by(|a, b| a.served_share.total_cmp(&b.served_share));
    let typical = by_share.get(by_share.len() / 2).map(|p| (*p).clone());
    Ok(Sweep {
        hours: template.hours,
        points,
        worst,
        typical,
    })
}
