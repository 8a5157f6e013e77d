//! Key performance indicators and billing: the one place where a schedule — planned,
//! simulated or metered — becomes money, energy, CO2 and comfort.
//!
//! - [`Tally`] adds up one step at a time what each asset did: energy bought and sold,
//!   fuel, start-ups, wear, curtailment, comfort, CO2 (per building and per fiscal year).
//!   The dispatch objective's figures ([`crate::report::Figures`]), the closed-loop KPIs
//!   ([`compute`]) and the live loop's metered KPIs all tally with it.
//! - [`MonthlyPeaks`] is the Japanese demand charge: each calendar month's largest 30-minute
//!   mean import, billed on that month's peak or, under a ratchet ([`Billing`]), on the
//!   largest of the last N months.
//! - Months and fiscal years (April–March) are those of the scenario's IANA time zone
//!   ([`month_of`], [`fiscal_year_of`]).
//!
//! Unlike the figures — the objective over one horizon, whose demand part is the *increase*
//! of the peak — KPIs are bills: each month's full demand charge.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, FixedOffset};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;
use crate::schedule::Schedule;

/// A billing month: (year, month) in the scenario's time zone.
pub type Month = (i32, u32);

/// The billing month holding `t` in time zone `tz`.
pub fn month_of(t: DateTime<FixedOffset>, tz: Tz) -> Month {
    let local = t.with_timezone(&tz);
    (local.year(), local.month())
}

/// The Japanese fiscal year (April–March, named by the year it starts in) holding `t`.
pub fn fiscal_year_of(t: DateTime<FixedOffset>, tz: Tz) -> i32 {
    let (y, m) = month_of(t, tz);
    if m >= 4 {
        y
    } else {
        y - 1
    }
}

/// How the demand charge is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Billing {
    /// 0 or 1: each month billed on its own peak. N > 1: on the largest peak of the last N
    /// months (12 for the Japanese high-voltage ratchet); months before the record are not
    /// known and count as the peak before it (the scenario's `peak_so_far_kw`).
    pub ratchet_months: usize,
}

/// One connection's monthly peaks (largest 30-minute mean import), in time order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MonthlyPeaks {
    /// The billed peak before the first recorded month, kW.
    pub before_kw: f64,
    /// Each month and its peak, kW.
    pub months: Vec<(Month, f64)>,
}

impl MonthlyPeaks {
    /// No month yet; `before_kw` was billed before.
    pub fn new(before_kw: f64) -> Self {
        Self {
            before_kw,
            months: Vec::new(),
        }
    }

    /// Raises `month`'s peak to `kw` (a month after the last starts a new entry).
    pub fn raise(&mut self, month: Month, kw: f64) {
        match self.months.last_mut() {
            Some((m, p)) if *m == month => *p = p.max(kw),
            Some((m, _)) if *m > month => {
                if let Some(e) = self.months.iter_mut().find(|(m, _)| *m == month) {
                    e.1 = e.1.max(kw);
                }
            }
            _ => self.months.push((month, kw)),
        }
    }

    /// The peak of `month` so far (0 before its first interval).
    pub fn month_kw(&self, month: Month) -> f64 {
        self.months
            .iter()
            .find(|(m, _)| *m == month)
            .map_or(0.0, |(_, p)| *p)
    }

    /// The kW billed for `month` under `billing` as of its peak so far (a month not yet
    /// recorded counts as the next one, with no peak yet).
    pub fn billed_kw(&self, month: Month, billing: Billing) -> f64 {
        let i = self
            .months
            .iter()
            .position(|(m, _)| *m >= month)
            .unwrap_or(self.months.len());
        let here = self
            .months
            .get(i)
            .filter(|(m, _)| *m == month)
            .map_or(0.0, |e| e.1);
        let window = billing.ratchet_months.max(1);
        let from = (i + 1).saturating_sub(window);
        let mut billed = self.months[from..i].iter().fold(here, |a, e| a.max(e.1));
        if i < window {
            billed = billed.max(self.before_kw);
        }
        billed
    }

    /// Every recorded month with its billed kW.
    pub fn bill(&self, billing: Billing) -> Vec<(Month, f64)> {
        self.months
            .iter()
            .map(|(m, _)| (*m, self.billed_kw(*m, billing)))
            .collect()
    }
}

/// The indicators of one building or of the district.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KpiSet {
    /// Total cost: energy + demand + fuel + start-ups + degradation + curtailment +
    /// comfort + carbon, yen.
    pub cost_yen: f64,
    /// Energy bought less energy sold, yen.
    pub energy_yen: f64,
    /// Demand charges, yen.
    pub demand_yen: f64,
    /// Generator fuel, yen.
    pub fuel_yen: f64,
    /// Generator start-ups, yen.
    pub startup_yen: f64,
    /// Battery wear, yen.
    pub degradation_yen: f64,
    /// Load not served while a grid connection was out, at its value of lost load, yen.
    #[serde(default)]
    pub unserved_yen: f64,
    /// Curtailment penalties, yen.
    pub curtailment_yen: f64,
    /// Comfort penalties, yen.
    pub comfort_yen: f64,
    /// CO2 price on the emissions, yen.
    pub carbon_yen: f64,
    /// Largest 30-minute mean import over the period, kW.
    pub peak_kw: f64,
    /// Energy imported, kWh.
    pub import_kwh: f64,
    /// Energy exported, kWh.
    pub export_kwh: f64,
    /// CO2 of imports and fuel, kg.
    pub co2_kg: f64,
    /// Generator fuel energy, kWh.
    pub fuel_kwh: f64,
    /// Load not served (while a grid connection was out), kWh.
    #[serde(default)]
    pub unserved_kwh: f64,
    /// The same per class: lifeline, critical, normal, sheddable, kWh.
    #[serde(default)]
    pub unserved_class_kwh: [f64; 4],
    /// Electricity consumed: loads and HVAC, kWh.
    pub consumption_kwh: f64,
    /// PV energy available, kWh.
    pub pv_available_kwh: f64,
    /// PV energy used (not curtailed), kWh.
    pub pv_used_kwh: f64,
    /// Share of PV energy used on site rather than exported (1 − export / PV used,
    /// within [0, 1]; NaN without PV).
    pub pv_self_consumption: f64,
    /// Share of consumption not imported (1 − import / consumption, within [0, 1]).
    pub self_sufficiency: f64,
    /// K·h outside the comfort bands.
    pub comfort_violation_kh: f64,
    /// Energy discharged by the batteries, kWh.
    pub battery_throughput_kwh: f64,
    /// Throughput / usable capacity (max − min), full cycles.
    pub battery_cycles: f64,
    /// Energy sent over private lines (district: all lines; building: its lines' flows
    /// out of it), kWh.
    pub interchange_kwh: f64,
    /// Energy lost in lines and battery round trips, kWh (district only).
    pub losses_kwh: f64,
}

impl KpiSet {
    /// Sets `cost_yen` and the shares from the other fields.
    pub fn finish(&mut self, carbon_price_yen_per_kg: f64) {
        self.carbon_yen = carbon_price_yen_per_kg * self.co2_kg;
        self.cost_yen = self.energy_yen
            + self.demand_yen
            + self.fuel_yen
            + self.startup_yen
            + self.degradation_yen
            + self.curtailment_yen
            + self.comfort_yen
            + self.unserved_yen
            + self.carbon_yen;
        self.pv_self_consumption = if self.pv_used_kwh > 0.0 {
            (1.0 - self.export_kwh / self.pv_used_kwh).clamp(0.0, 1.0)
        } else {
            f64::NAN
        };
        self.self_sufficiency = if self.consumption_kwh > 0.0 {
            (1.0 - self.import_kwh / self.consumption_kwh).clamp(0.0, 1.0)
        } else {
            f64::NAN
        };
    }

    fn add(&mut self, o: &KpiSet) {
        self.energy_yen += o.energy_yen;
        self.demand_yen += o.demand_yen;
        self.fuel_yen += o.fuel_yen;
        self.startup_yen += o.startup_yen;
        self.degradation_yen += o.degradation_yen;
        self.curtailment_yen += o.curtailment_yen;
        self.comfort_yen += o.comfort_yen;
        self.unserved_yen += o.unserved_yen;
        self.unserved_kwh += o.unserved_kwh;
        for c in 0..4 {
            self.unserved_class_kwh[c] += o.unserved_class_kwh[c];
        }
        self.import_kwh += o.import_kwh;
        self.export_kwh += o.export_kwh;
        self.co2_kg += o.co2_kg;
        self.fuel_kwh += o.fuel_kwh;
        self.consumption_kwh += o.consumption_kwh;
        self.pv_available_kwh += o.pv_available_kwh;
        self.pv_used_kwh += o.pv_used_kwh;
        self.comfort_violation_kh += o.comfort_violation_kh;
        self.battery_throughput_kwh += o.battery_throughput_kwh;
    }
}

/// Running totals per building (node), tallied one asset and step at a time. Every
/// `t` is a step of the tally's scenario (its prices, bands and times); `hours` the length
/// of what is tallied (a step of the scenario, or a shorter cycle within it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Per node.
    pub buildings: Vec<KpiSet>,
    /// Energy sent over lines, all directions, kWh.
    pub interchange_kwh: f64,
    /// Losses in lines and battery round trips, kWh.
    pub losses_kwh: f64,
    /// CO2 per fiscal year, kg, and the hours tallied in it.
    pub co2_by_fiscal_year: BTreeMap<i32, (f64, f64)>,
}

impl Tally {
    /// Nothing yet, for the nodes of `sc`.
    pub fn new(sc: &Scenario) -> Self {
        Self {
            buildings: vec![KpiSet::default(); sc.nodes.len()],
            interchange_kwh: 0.0,
            losses_kwh: 0.0,
            co2_by_fiscal_year: BTreeMap::new(),
        }
    }

    fn co2(&mut self, sc: &Scenario, t: usize, kg: f64) {
        let fy = fiscal_year_of(sc.times[t], sc.timezone);
        self.co2_by_fiscal_year.entry(fy).or_insert((0.0, 0.0)).0 += kg;
    }

    /// Marks `hours` of step `t` as tallied (for the fiscal years' coverage).
    pub fn span(&mut self, sc: &Scenario, t: usize, hours: f64) {
        let fy = fiscal_year_of(sc.times[t], sc.timezone);
        self.co2_by_fiscal_year.entry(fy).or_insert((0.0, 0.0)).1 += hours;
    }

    /// Grid connection `g` imported `import_kw` and exported `export_kw` at step `t`.
    pub fn grid(
        &mut self,
        sc: &Scenario,
        g: usize,
        t: usize,
        import_kw: f64,
        export_kw: f64,
        hours: f64,
    ) {
        let c = &sc.grids[g];
        let kg = hours * c.carbon_intensity_kg_per_kwh[t] * import_kw;
        let k = &mut self.buildings[c.node];
        k.energy_yen += hours
            * (c.import_price_yen_per_kwh[t] * import_kw
                - c.export_price_yen_per_kwh[t] * export_kw);
        k.import_kwh += hours * import_kw;
        k.export_kwh += hours * export_kw;
        k.co2_kg += kg;
        self.co2(sc, t, kg);
    }

    /// Node `n`'s own load at step `t` was served.
    pub fn load(&mut self, sc: &Scenario, n: usize, t: usize, hours: f64) {
        self.buildings[n].consumption_kwh += hours * sc.nodes[n].load_kw[t];
    }

    /// Node `n` left `shed_kw` of its load classes ([`crate::asset::ClassKind::ALL`]
    /// order) unserved at step `t`: not consumed, and priced at their values of lost load.
    pub fn unserved(&mut self, sc: &Scenario, n: usize, shed_kw: [f64; 4], hours: f64) {
        let classes = &sc.nodes[n].classes;
        let k = &mut self.buildings[n];
        for kind in crate::asset::ClassKind::ALL {
            let kwh = hours * shed_kw[kind.index()];
            k.unserved_kwh += kwh;
            k.unserved_class_kwh[kind.index()] += kwh;
            k.consumption_kwh -= kwh;
            k.unserved_yen += classes.value_yen_per_kwh(kind) * kwh;
        }
    }

    /// PV array `p` gave `used_kw` at step `t` (the rest of what was available curtailed).
    pub fn pv(&mut self, sc: &Scenario, p: usize, t: usize, used_kw: f64, hours: f64) {
        let a = &sc.pvs[p];
        let k = &mut self.buildings[a.node];
        k.pv_available_kwh += hours * a.available_kw[t];
        k.pv_used_kwh += hours * used_kw;
        k.curtailment_yen += hours * a.curtail_penalty_yen_per_kwh * (a.available_kw[t] - used_kw);
    }

    /// Battery `b` charged and discharged at these powers; its stored energy changed by
    /// `stored_kwh`.
    pub fn battery(
        &mut self,
        sc: &Scenario,
        b: usize,
        charge_kw: f64,
        discharge_kw: f64,
        stored_kwh: f64,
        hours: f64,
    ) {
        let kb = &sc.batteries[b];
        let k = &mut self.buildings[kb.node];
        let dis = hours * discharge_kw;
        k.battery_throughput_kwh += dis;
        k.degradation_yen += kb.degradation_yen_per_kwh * dis;
        let usable = kb.max_kwh - kb.min_kwh;
        if usable > 0.0 {
            k.battery_cycles += dis / usable;
        }
        self.losses_kwh += hours * charge_kw - dis - stored_kwh;
    }

    /// HVAC unit `h` drew `power_kw` at step `t` and left its zone at `temp_end_c`.
    pub fn hvac(
        &mut self,
        sc: &Scenario,
        h: usize,
        t: usize,
        power_kw: f64,
        temp_end_c: f64,
        hours: f64,
    ) {
        let u = &sc.hvacs[h];
        let outside = (u.comfort_low_c[t] - temp_end_c).max(0.0)
            + (temp_end_c - u.comfort_high_c[t]).max(0.0);
        let k = &mut self.buildings[u.node];
        k.consumption_kwh += hours * power_kw;
        k.comfort_violation_kh += hours * outside;
        k.comfort_yen += hours * u.comfort_penalty_yen_per_kh * outside;
    }

    /// Generator `j` ran at `power_kw` at step `t`; `started`: it started then.
    pub fn generator(
        &mut self,
        sc: &Scenario,
        j: usize,
        t: usize,
        power_kw: f64,
        started: bool,
        hours: f64,
    ) {
        let g = &sc.generators[j];
        let fuel_kwh = hours * power_kw / g.efficiency;
        let kg = g.fuel_carbon_kg_per_kwh * fuel_kwh;
        let k = &mut self.buildings[g.node];
        k.fuel_kwh += fuel_kwh;
        k.fuel_yen += g.fuel_price_yen_per_kwh * fuel_kwh;
        k.co2_kg += kg;
        if started {
            k.startup_yen += g.startup_cost_yen;
        }
        self.co2(sc, t, kg);
    }

    /// Line `l` carried `fwd_kw` from → to and `rev_kw` to → from.
    pub fn line(&mut self, sc: &Scenario, l: usize, fwd_kw: f64, rev_kw: f64, hours: f64) {
        let line = &sc.lines[l];
        let (fwd, rev) = (hours * fwd_kw, hours * rev_kw);
        self.buildings[line.from].interchange_kwh += fwd;
        self.buildings[line.to].interchange_kwh += rev;
        self.interchange_kwh += fwd + rev;
        self.losses_kwh += line.loss_fraction * (fwd + rev);
    }

    /// Every asset of `s` at step `t` of `sc` (`s` indexed like `sc`).
    pub fn step(&mut self, sc: &Scenario, s: &Schedule, t: usize) {
        let dt = sc.step_hours();
        self.span(sc, t, dt);
        for (g, gs) in s.grids.iter().enumerate() {
            self.grid(sc, g, t, gs.import_kw[t], gs.export_kw[t], dt);
        }
        for n in 0..sc.nodes.len() {
            self.load(sc, n, t, dt);
            if !s.unserved.is_empty() {
                self.unserved(sc, n, s.unserved_kw(n, t), dt);
            }
        }
        for (p, ps) in s.pvs.iter().enumerate() {
            self.pv(sc, p, t, ps.used_kw[t], dt);
        }
        for (b, bs) in s.batteries.iter().enumerate() {
            let stored = bs.energy_kwh[t + 1] - bs.energy_kwh[t];
            self.battery(sc, b, bs.charge_kw[t], bs.discharge_kw[t], stored, dt);
        }
        for (h, hs) in s.hvacs.iter().enumerate() {
            self.hvac(sc, h, t, hs.power_kw[t], hs.temp_c[t + 1], dt);
        }
        for (j, js) in s.generators.iter().enumerate() {
            let before = if t == 0 {
                sc.generators[j].initially_on
            } else {
                js.on[t - 1]
            };
            self.generator(sc, j, t, js.power_kw[t], js.on[t] && !before, dt);
        }
        for (l, ls) in s.lines.iter().enumerate() {
            self.line(sc, l, ls.fwd_kw[t], ls.rev_kw[t], dt);
        }
    }

    /// The district: the buildings' sums (battery cycles over the district's usable
    /// capacity), with interchange and losses; demand and cost are the caller's to finish.
    pub fn district(&self, sc: &Scenario) -> KpiSet {
        let mut d = KpiSet::default();
        for k in &self.buildings {
            d.add(k);
        }
        let usable: f64 = sc.batteries.iter().map(|k| k.max_kwh - k.min_kwh).sum();
        if usable > 0.0 {
            d.battery_cycles = d.battery_throughput_kwh / usable;
        }
        d.interchange_kwh = self.interchange_kwh;
        d.losses_kwh = self.losses_kwh;
        d
    }
}

/// The indicators of a schedule: the district, then every node in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// The whole district.
    pub district: KpiSet,
    /// Per node (building or hub), by id.
    pub buildings: Vec<(String, KpiSet)>,
    /// Per grid connection: (id, month "YYYY-MM", billed kW) for every month billed.
    pub billed_kw: Vec<(String, String, f64)>,
    /// CO2 per fiscal year, kg, and the hours of it covered.
    pub co2_by_fiscal_year: BTreeMap<i32, (f64, f64)>,
}

/// Each connection's monthly peaks over `s` (its 30-minute interval means, the part of an
/// interval before the horizon included), starting from its `peak_so_far_kw`.
pub fn monthly_peaks(sc: &Scenario, s: &Schedule) -> Vec<MonthlyPeaks> {
    let intervals = sc.demand_intervals();
    sc.grids
        .iter()
        .zip(&s.grids)
        .map(|(g, gs)| {
            let mut mp = MonthlyPeaks::new(g.peak_so_far_kw);
            for m in &intervals {
                let mean = m.mean_kw(&gs.import_kw, g.interval_import_so_far_kwh, sc.step_hours());
                mp.raise(month_of(sc.times[m.steps.start], sc.timezone), mean);
            }
            mp
        })
        .collect()
}

/// Computes the indicators of `s` on `sc` under `billing`.
pub fn compute(sc: &Scenario, s: &Schedule, billing: Billing) -> Kpis {
    let mut tally = Tally::new(sc);
    for t in 0..sc.steps {
        tally.step(sc, s, t);
    }
    let mut billed_kw = Vec::new();
    for (g, peaks) in sc.grids.iter().zip(monthly_peaks(sc, s)) {
        let k = &mut tally.buildings[g.node];
        for (month, kw) in peaks.bill(billing) {
            k.demand_yen += g.demand_charge_yen_per_kw * kw;
            billed_kw.push((g.id.clone(), format!("{:04}-{:02}", month.0, month.1), kw));
        }
        let peak = peaks.months.iter().map(|m| m.1).fold(0.0, f64::max);
        k.peak_kw = k.peak_kw.max(peak);
    }
    // Demand charges are in the buildings before the district sums them.
    let mut district = tally.district(sc);
    // The district's peak is coincident: over all connections together.
    let mut total_import = vec![0.0; sc.steps];
    for gs in &s.grids {
        for (a, v) in total_import.iter_mut().zip(&gs.import_kw) {
            *a += v;
        }
    }
    let so_far: f64 = sc.grids.iter().map(|g| g.interval_import_so_far_kwh).sum();
    district.peak_kw = sc
        .demand_intervals()
        .iter()
        .map(|m| m.mean_kw(&total_import, so_far, sc.step_hours()))
        .fold(0.0, f64::max);
    district.finish(sc.carbon_price_yen_per_kg);
    for k in &mut tally.buildings {
        k.finish(sc.carbon_price_yen_per_kg);
    }
    Kpis {
        district,
        buildings: sc
            .nodes
            .iter()
            .map(|n| n.id.clone())
            .zip(tally.buildings)
            .collect(),
        billed_kw,
        co2_by_fiscal_year: tally.co2_by_fiscal_year,
    }
}

/// A zero-carbon target: CO2 of a base fiscal year and the reduction due by a target year
/// (the `[kpi]` section of a scenario).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The base fiscal year (e.g. 2013).
    pub base_year: i32,
    /// CO2 in the base year, kg.
    pub base_year_co2_kg: f64,
    /// The target fiscal year (e.g. 2030).
    pub target_year: i32,
    /// The reduction due by the target year (e.g. 0.46).
    pub target_reduction: f64,
}

/// One fiscal year against the target's straight trajectory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearAgainstTarget {
    /// Fiscal year.
    pub fiscal_year: i32,
    /// CO2 in the part of it covered, kg.
    pub co2_kg: f64,
    /// The same scaled to a whole year, kg.
    pub co2_kg_annualised: f64,
    /// Whether the whole year is covered.
    pub complete: bool,
    /// What the trajectory allows that year, kg.
    pub trajectory_kg: f64,
    /// 1 − annualised / base year.
    pub reduction_vs_base: f64,
    /// annualised ≤ trajectory.
    pub on_track: bool,
}

impl Target {
    /// Each fiscal year of `co2_by_fiscal_year` (kg and hours covered) against the
    /// straight trajectory from the base year to the target.
    pub fn years(&self, co2_by_fiscal_year: &BTreeMap<i32, (f64, f64)>) -> Vec<YearAgainstTarget> {
        const YEAR_H: f64 = 365.0 * 24.0;
        co2_by_fiscal_year
            .iter()
            .map(|(fy, (kg, hours))| {
                let share = ((fy - self.base_year) as f64
                    / (self.target_year - self.base_year).max(1) as f64)
                    .clamp(0.0, 1.0);
                let allowed = self.base_year_co2_kg * (1.0 - self.target_reduction * share);
                let annualised = if *hours > 0.0 {
                    kg * YEAR_H / hours
                } else {
                    0.0
                };
                YearAgainstTarget {
                    fiscal_year: *fy,
                    co2_kg: *kg,
                    co2_kg_annualised: annualised,
                    complete: *hours >= YEAR_H - 1e-6,
                    trajectory_kg: allowed,
                    reduction_vs_base: 1.0 - annualised / self.base_year_co2_kg,
                    on_track: annualised <= allowed,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{optimize, SolveOptions};
    use chrono::Timelike;
    use std::path::PathBuf;

    fn gate_square() -> Scenario {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        Scenario::load(p).expect("the bundled scenario loads")
    }

    /// Over one horizon, every part but the demand charge is the dispatch objective's: the
    /// KPIs and the optimiser price the same schedule the same way; the buildings add up
    /// to the district.
    #[test]
    fn kpis_agree_with_the_dispatch_objective() {
        let sc = gate_square();
        let out = optimize(&sc, &SolveOptions::default()).unwrap();
        let (s, f) = (out.schedule.unwrap(), out.figures.unwrap());
        let k = compute(&sc, &s, Billing::default());
        let d = &k.district;
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{what}: {a} vs {b}"
            )
        };
        close(d.energy_yen, f.parts.energy_yen, "energy");
        close(d.fuel_yen, f.parts.fuel_yen, "fuel");
        close(d.startup_yen, f.parts.startup_yen, "start-ups");
        close(d.degradation_yen, f.parts.degradation_yen, "degradation");
        close(d.curtailment_yen, f.parts.curtailment_yen, "curtailment");
        close(d.comfort_yen, f.parts.comfort_yen, "comfort");
        close(d.carbon_yen, f.parts.carbon_yen, "carbon");
        close(d.co2_kg, f.emissions_kg, "CO2");
        // The bill is on the whole peak; the objective only on its increase.
        let g = &sc.grids[0];
        let peak = k.billed_kw[0].2;
        close(d.demand_yen, g.demand_charge_yen_per_kw * peak, "demand");
        assert!(peak >= g.peak_so_far_kw - 1e-9);
        let sum: f64 = k.buildings.iter().map(|(_, b)| b.cost_yen).sum();
        close(sum, d.cost_yen, "buildings add up");
        assert!(d.self_sufficiency > 0.0 && d.self_sufficiency < 1.0);
        let fy: f64 = k.co2_by_fiscal_year.values().map(|v| v.0).sum();
        close(fy, d.co2_kg, "CO2 by fiscal year");
    }

    /// Three months of a bare meter (no assets: import = load) with peaks 100, 50 and 80 kW:
    /// billed per month, and with the 12-month ratchet on the largest so far.
    #[test]
    fn the_demand_charge_follows_the_billing_rules() {
        let dir = std::env::temp_dir().join(format!("aems-kpi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let start = chrono::DateTime::parse_from_rfc3339("2025-04-01T00:00:00+09:00").unwrap();
        let steps = (30 + 31 + 30) * 24;
        let mut csv = String::from("time,load\n");
        for i in 0..steps {
            let t = start + chrono::Duration::hours(i as i64);
            let peak = match t.month() {
                4 => 100.0,
                5 => 50.0,
                _ => 80.0,
            };
            let load = if t.day() == 10 && t.hour() == 14 {
                peak
            } else {
                20.0
            };
            csv.push_str(&format!("{},{load}\n", t.to_rfc3339()));
        }
        std::fs::write(dir.join("series.csv"), csv).unwrap();
        std::fs::write(
            dir.join("scenario.toml"),
            format!(
                "[scenario]\nname = \"meter\"\ntimezone = \"Asia/Tokyo\"\nstart = \"{}\"\n\
                 step_minutes = 60\nsteps = {steps}\nseries = \"series.csv\"\n\n\
                 [[node]]\nid = \"b\"\nload_kw = \"load\"\n\n\
                 [[grid]]\nid = \"m\"\nnode = \"b\"\nimport_price_yen_per_kwh = 10.0\n\
                 demand_charge_yen_per_kw = 1000.0\n",
                start.to_rfc3339()
            ),
        )
        .unwrap();
        let sc = Scenario::load(dir.join("scenario.toml")).unwrap();
        let out = optimize(&sc, &SolveOptions::default()).unwrap();
        let s = out.schedule.unwrap();
        let monthly = compute(&sc, &s, Billing { ratchet_months: 1 });
        let billed: Vec<f64> = monthly.billed_kw.iter().map(|b| b.2).collect();
        assert_eq!(billed.len(), 3);
        for (a, b) in billed.iter().zip([100.0, 50.0, 80.0]) {
            assert!((a - b).abs() < 1e-6, "{billed:?}");
        }
        assert!((monthly.district.demand_yen - 230_000.0).abs() < 1e-3);
        let ratchet = compute(&sc, &s, Billing { ratchet_months: 12 });
        assert!((ratchet.district.demand_yen - 300_000.0).abs() < 1e-3);
        assert!((ratchet.district.energy_yen - monthly.district.energy_yen).abs() < 1e-9);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_ratchet_bills_the_largest_of_its_window_and_the_peak_before_it() {
        let mut p = MonthlyPeaks::new(70.0);
        let b12 = Billing { ratchet_months: 12 };
        let b1 = Billing { ratchet_months: 1 };
        assert_eq!(p.billed_kw((2025, 4), b12), 70.0);
        assert_eq!(p.billed_kw((2025, 4), b1), 70.0);
        p.raise((2025, 4), 60.0);
        p.raise((2025, 5), 90.0);
        p.raise((2025, 5), 40.0);
        assert_eq!(p.month_kw((2025, 5)), 90.0);
        assert_eq!(p.billed_kw((2025, 6), b12), 90.0);
        assert_eq!(p.billed_kw((2025, 6), b1), 0.0);
        assert_eq!(p.bill(b1), vec![((2025, 4), 70.0), ((2025, 5), 90.0)]);
        let tz = chrono_tz::Asia::Tokyo;
        let t = DateTime::parse_from_rfc3339("2025-03-31T15:30:00Z").unwrap();
        assert_eq!(month_of(t, tz), (2025, 4));
        assert_eq!(fiscal_year_of(t, tz), 2025);
    }
}
