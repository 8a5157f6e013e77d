//! The simulated district: it applies a controller's decisions to the actual series, step
//! by step, and records what happened.
//!
//! Batteries integrate their power with the spec's energy recursion, zones follow the RC
//! model with the actual weather and gains, generators run as told; decisions outside a
//! device's limits or its stored energy are clipped (never applied raw). What the
//! buildings then draw or give back is balanced by the grid connections, PV curtailment
//! and the private lines: directly when every node has its own meter and no lines join
//! them, otherwise by a one-step dispatch of the network with the device powers fixed.

use anyhow::{anyhow, bail, Result};
use chrono::Datelike;

use engine::schedule::{
    BatterySchedule, GeneratorSchedule, GridSchedule, HvacSchedule, LineSchedule, PvSchedule,
};
use engine::{optimize, Scenario, Schedule, SolveOptions, Status};

/// What a controller decides for one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Per battery: (charge kW, discharge kW).
    pub battery_kw: Vec<(f64, f64)>,
    /// Per HVAC unit: electric kW.
    pub hvac_kw: Vec<f64>,
    /// Per generator: kW (0 = off).
    pub generator_kw: Vec<f64>,
}

/// The state of the district between steps.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantState {
    /// Stored energy per battery, kWh.
    pub battery_kwh: Vec<f64>,
    /// Zone temperature per HVAC unit, °C.
    pub zone_c: Vec<f64>,
    /// Whether each generator ran in the last step.
    pub generator_on: Vec<bool>,
    /// Per grid connection: this month's billed peak so far, kW.
    pub month_peak_kw: Vec<f64>,
    /// Per grid connection: peaks of the months before (for a ratchet).
    pub past_month_peaks_kw: Vec<Vec<f64>>,
    /// Per grid connection: energy imported in the current 30-minute interval, kWh.
    pub interval_kwh: Vec<f64>,
    /// Hours of the current 30-minute interval passed.
    pub interval_hours: f64,
    /// (year, month) of the current billing month.
    pub month: (i32, u32),
}

impl PlantState {
    /// The state at the start of `sc`.
    pub fn initial(sc: &Scenario) -> Self {
        let t0 = sc.times[0];
        Self {
            battery_kwh: sc.batteries.iter().map(|k| k.initial_kwh).collect(),
            zone_c: sc.hvacs.iter().map(|h| h.initial_temp_c).collect(),
            generator_on: sc.generators.iter().map(|j| j.initially_on).collect(),
            month_peak_kw: sc.grids.iter().map(|g| g.peak_so_far_kw).collect(),
            past_month_peaks_kw: vec![Vec::new(); sc.grids.len()],
            interval_kwh: vec![0.0; sc.grids.len()],
            interval_hours: 0.0,
            month: (t0.year(), t0.month()),
        }
    }

    /// The billed peak so far of connection `g` under a ratchet of `months` (≤ 1: this
    /// month only).
    pub fn billed_peak_kw(&self, g: usize, months: usize) -> f64 {
        let past = &self.past_month_peaks_kw[g];
        let keep = months.saturating_sub(1).min(past.len());
        past[past.len() - keep..]
            .iter()
            .fold(self.month_peak_kw[g], |a, b| a.max(*b))
    }
}

/// An empty schedule with room for `steps` steps of `sc`'s assets.
pub fn empty_schedule(sc: &Scenario, steps: usize) -> Schedule {
    let v = || Vec::<f64>::with_capacity(steps);
    let b = || Vec::<bool>::with_capacity(steps);
    Schedule {
        grids: sc
            .grids
            .iter()
            .map(|_| GridSchedule {
                import_kw: v(),
                export_kw: v(),
            })
            .collect(),
        pvs: sc.pvs.iter().map(|_| PvSchedule { used_kw: v() }).collect(),
        batteries: sc
            .batteries
            .iter()
            .map(|k| BatterySchedule {
                charge_kw: v(),
                discharge_kw: v(),
                energy_kwh: vec![k.initial_kwh],
            })
            .collect(),
        hvacs: sc
            .hvacs
            .iter()
            .map(|h| HvacSchedule {
                power_kw: v(),
                on: b(),
                temp_c: vec![h.initial_temp_c],
            })
            .collect(),
        generators: sc
            .generators
            .iter()
            .map(|_| GeneratorSchedule {
                power_kw: v(),
                on: b(),
            })
            .collect(),
        lines: sc
            .lines
            .iter()
            .map(|_| LineSchedule {
                fwd_kw: v(),
                rev_kw: v(),
            })
            .collect(),
    }
}

/// The simulated district over `actual` (the real series).
pub struct Plant<'a> {
    actual: &'a Scenario,
    /// The state now.
    pub state: PlantState,
    /// What happened so far.
    pub realized: Schedule,
    direct: bool,
    /// Per node: batteries there keep to the meter (see [`Plant::step`]).
    follows_meter: Vec<bool>,
    solve: SolveOptions,
}

impl<'a> Plant<'a> {
    /// A plant at the start of `actual`, recording up to `steps` steps. With
    /// `batteries_follow_meter`, a battery at a node with its own meter and no lines never
    /// discharges into an unpaid export and takes PV surplus that would be exported
    /// unpaid, whatever its setpoint (as home batteries in self-consumption mode do).
    pub fn new(actual: &'a Scenario, steps: usize, batteries_follow_meter: bool) -> Self {
        let mut per_node = vec![0usize; actual.nodes.len()];
        for g in &actual.grids {
            per_node[g.node] += 1;
        }
        let direct = actual.lines.is_empty() && per_node.iter().all(|&n| n <= 1);
        Self {
            actual,
            state: PlantState::initial(actual),
            realized: empty_schedule(actual, steps),
            direct,
            follows_meter: per_node
                .iter()
                .map(|&n| batteries_follow_meter && direct && n == 1)
                .collect(),
            solve: SolveOptions {
                threads: Some(1),
                ..SolveOptions::default()
            },
        }
    }

    /// Applies `d` at step `t` (clipped to what the devices can do) and advances.
    pub fn step(&mut self, t: usize, d: &Decision) -> Result<()> {
        let sc = self.actual;
        let dt = sc.step_hours();
        let time = sc.times[t];
        // Billing month: a new month starts a new peak.
        if (time.year(), time.month()) != self.state.month {
            for (g, past) in self.state.past_month_peaks_kw.iter_mut().enumerate() {
                past.push(self.state.month_peak_kw[g]);
                self.state.month_peak_kw[g] = 0.0;
            }
            self.state.month = (time.year(), time.month());
        }
        let mut extra_load = vec![0.0; sc.nodes.len()];
        for (i, h) in sc.hvacs.iter().enumerate() {
            let q = d.hvac_kw[i].clamp(0.0, h.max_kw);
            let q = if q > 0.0 && q < h.min_kw { h.min_kw } else { q };
            let a = h.decay(dt);
            let next = a * self.state.zone_c[i]
                + (1.0 - a)
                    * (h.outdoor_temp_c[t]
                        + h.r_k_per_kw * (h.heat_gain_kw[t] - h.mode.sign() * h.cop[t] * q));
            self.state.zone_c[i] = next;
            let r = &mut self.realized.hvacs[i];
            r.power_kw.push(q);
            r.on.push(q > 0.0);
            r.temp_c.push(next);
            extra_load[h.node] += q;
        }
        for (i, j) in sc.generators.iter().enumerate() {
            let p = d.generator_kw[i];
            let p = if p <= 0.0 {
                0.0
            } else {
                p.clamp(j.min_kw, j.max_kw)
            };
            self.state.generator_on[i] = p > 0.0;
            let r = &mut self.realized.generators[i];
            r.power_kw.push(p);
            r.on.push(p > 0.0);
            extra_load[j.node] -= p;
        }
        // What each node needs from its batteries and meter now (PV at its maximum).
        let mut net: Vec<f64> = sc
            .nodes
            .iter()
            .zip(&extra_load)
            .map(|(n, e)| n.load_kw[t] + e)
            .collect();
        for p in &sc.pvs {
            net[p.node] -= p.available_kw[t];
        }
        for (i, k) in sc.batteries.iter().enumerate() {
            let (ch, dis) = d.battery_kw[i];
            let e = self.state.battery_kwh[i];
            let keep = 1.0 - k.self_discharge_per_hour * dt;
            let mut ch = ch.clamp(0.0, k.charge_kw);
            let mut dis = dis.clamp(0.0, k.discharge_kw);
            if ch > 0.0 && dis > 0.0 {
                // Never both: keep the net.
                let v = ch - dis;
                (ch, dis) = if v >= 0.0 { (v, 0.0) } else { (0.0, -v) };
            }
            if self.follows_meter[k.node] && self.export_unpaid(k.node, t) {
                // The inverter keeps to the meter: it never discharges into an unpaid
                // export, and takes PV surplus that would go out unpaid.
                let need = net[k.node];
                if dis > 0.0 {
                    dis = dis.min(need.max(0.0));
                } else if need < 0.0 {
                    ch = ch.max((-need).min(k.charge_kw));
                }
            }
            // Stay within [min_kwh, max_kwh]; the battery's own management holds the floor
            // against self-discharge, as the dispatch model's energy bounds assume.
            let room = (k.max_kwh - e * keep) / (k.charge_efficiency * dt);
            ch = ch.min(room.max(0.0));
            let avail = (e * keep - k.min_kwh) * k.discharge_efficiency / dt;
            dis = dis.min(avail.max(0.0));
            if e * keep < k.min_kwh {
                let hold = (k.min_kwh - e * keep) / (k.charge_efficiency * dt);
                ch = ch.max(hold.min(k.charge_kw));
            }
            let next = e * keep + (k.charge_efficiency * ch - dis / k.discharge_efficiency) * dt;
            self.state.battery_kwh[i] = next;
            let r = &mut self.realized.batteries[i];
            r.charge_kw.push(ch);
            r.discharge_kw.push(dis);
            r.energy_kwh.push(next);
            extra_load[k.node] += ch - dis;
            net[k.node] += ch - dis;
        }
        if self.direct {
            self.balance_direct(t, &extra_load)?;
        } else {
            self.balance_network(t, &extra_load)?;
        }
        // 30-minute demand intervals.
        for (g, r) in self.realized.grids.iter().enumerate() {
            self.state.interval_kwh[g] += r.import_kw[t] * dt;
        }
        self.state.interval_hours += dt;
        let end = time + chrono::Duration::minutes(i64::from(sc.step_minutes));
        if self.state.interval_hours >= 0.5 - 1e-9 || end.timestamp() % 1800 == 0 {
            for g in 0..sc.grids.len() {
                let mean = self.state.interval_kwh[g] / self.state.interval_hours.max(dt);
                self.state.month_peak_kw[g] = self.state.month_peak_kw[g].max(mean);
                self.state.interval_kwh[g] = 0.0;
            }
            self.state.interval_hours = 0.0;
        }
        Ok(())
    }

    /// Whether node `n`'s meter is paid nothing for exports at step `t`.
    fn export_unpaid(&self, n: usize, t: usize) -> bool {
        self.actual
            .grids
            .iter()
            .any(|g| g.node == n && g.export_price_yen_per_kwh[t] <= 0.0)
    }

    /// Every node has its own meter and no lines: import what is missing, export (up to
    /// the limit) what is left, curtail PV beyond that.
    fn balance_direct(&mut self, t: usize, extra_load: &[f64]) -> Result<()> {
        let sc = self.actual;
        let mut net: Vec<f64> = sc
            .nodes
            .iter()
            .zip(extra_load)
            .map(|(n, e)| n.load_kw[t] + e)
            .collect();
        let mut pv_avail = vec![0.0; sc.nodes.len()];
        for p in &sc.pvs {
            net[p.node] -= p.available_kw[t];
            pv_avail[p.node] += p.available_kw[t];
        }
        let mut curtail = vec![0.0; sc.nodes.len()];
        let mut grid_of = vec![None; sc.nodes.len()];
        for (gi, g) in sc.grids.iter().enumerate() {
            grid_of[g.node] = Some(gi);
        }
        let mut imports = vec![(0.0, 0.0); sc.grids.len()];
        for (n, &v) in net.iter().enumerate() {
            let node = &sc.nodes[n].id;
            match grid_of[n] {
                Some(gi) => {
                    let g = &sc.grids[gi];
                    if v > 0.0 {
                        if v > g.import_limit_kw + 1e-9 {
                            bail!(
                                "node '{node}' needs {v:.3} kW at {} beyond grid '{}' import limit {} kW",
                                sc.times[t].to_rfc3339(),
                                g.id,
                                g.import_limit_kw
                            );
                        }
                        imports[gi] = (v, 0.0);
                    } else {
                        let exp = (-v).min(g.export_limit_kw);
                        imports[gi] = (0.0, exp);
                        curtail[n] = -v - exp;
                    }
                }
                None if v > 1e-9 => bail!(
                    "node '{node}' needs {v:.3} kW at {} and has no grid connection or line",
                    sc.times[t].to_rfc3339()
                ),
                None => curtail[n] = -v,
            }
            if curtail[n] > pv_avail[n] + 1e-9 {
                bail!(
                    "node '{node}' has {:.3} kW more than it can use, export or curtail at {}",
                    curtail[n] - pv_avail[n],
                    sc.times[t].to_rfc3339()
                );
            }
        }
        for (gi, (imp, exp)) in imports.into_iter().enumerate() {
            self.realized.grids[gi].import_kw.push(imp);
            self.realized.grids[gi].export_kw.push(exp);
        }
        // Curtail each node's PV in proportion to what is available.
        for (pi, p) in sc.pvs.iter().enumerate() {
            let share = if pv_avail[p.node] > 0.0 {
                p.available_kw[t] / pv_avail[p.node]
            } else {
                0.0
            };
            let used = (p.available_kw[t] - share * curtail[p.node]).max(0.0);
            self.realized.pvs[pi].used_kw.push(used);
        }
        Ok(())
    }

    /// A one-step dispatch of the network (grids, PV, lines) with the device powers fixed
    /// as extra load.
    fn balance_network(&mut self, t: usize, extra_load: &[f64]) -> Result<()> {
        let mut one = self.actual.slice(t..t + 1);
        one.batteries.clear();
        one.hvacs.clear();
        one.generators.clear();
        for (n, e) in one.nodes.iter_mut().zip(extra_load) {
            n.load_kw[0] += e;
        }
        for (gi, g) in one.grids.iter_mut().enumerate() {
            g.peak_so_far_kw = self.state.month_peak_kw[gi];
            g.interval_import_so_far_kwh = self.state.interval_kwh[gi];
        }
        let out = optimize(&one, &self.solve).map_err(|e| anyhow!("{e}"))?;
        let Some(s) = out.schedule.filter(|_| out.status == Status::Optimal) else {
            bail!(
                "the network cannot be balanced at {}: {}",
                self.actual.times[t].to_rfc3339(),
                out.message.unwrap_or_else(|| out.status.to_string())
            );
        };
        for (r, g) in self.realized.grids.iter_mut().zip(&s.grids) {
            r.import_kw.push(g.import_kw[0]);
            r.export_kw.push(g.export_kw[0]);
        }
        for (r, p) in self.realized.pvs.iter_mut().zip(&s.pvs) {
            r.used_kw.push(p.used_kw[0]);
        }
        for (r, l) in self.realized.lines.iter_mut().zip(&s.lines) {
            r.fwd_kw.push(l.fwd_kw[0]);
            r.rev_kw.push(l.rev_kw[0]);
        }
        Ok(())
    }
}
