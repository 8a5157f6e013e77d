//! The solved dispatch: every decision per asset and step, and the states on step boundaries.

use std::io::Write;

use crate::model::{Col, Vars};
use crate::scenario::Scenario;

/// Grid connection decisions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridSchedule {
    /// Import per step, kW.
    pub import_kw: Vec<f64>,
    /// Export per step, kW.
    pub export_kw: Vec<f64>,
}

/// PV decisions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PvSchedule {
    /// Power used per step, kW (available − used is curtailed).
    pub used_kw: Vec<f64>,
}

/// Battery decisions and stored energy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatterySchedule {
    /// Charging power per step, kW.
    pub charge_kw: Vec<f64>,
    /// Discharging power per step, kW.
    pub discharge_kw: Vec<f64>,
    /// Stored energy on the boundaries t = 0…T, kWh.
    pub energy_kwh: Vec<f64>,
}

/// HVAC decisions and zone temperature.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HvacSchedule {
    /// Electric power per step, kW.
    pub power_kw: Vec<f64>,
    /// On/off per step.
    pub on: Vec<bool>,
    /// Zone temperature on the boundaries t = 0…T, °C.
    pub temp_c: Vec<f64>,
}

/// Generator decisions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GeneratorSchedule {
    /// Electric power per step, kW.
    pub power_kw: Vec<f64>,
    /// Running per step.
    pub on: Vec<bool>,
}

/// Line flows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineSchedule {
    /// Power sent from → to per step, kW.
    pub fwd_kw: Vec<f64>,
    /// Power sent to → from per step, kW.
    pub rev_kw: Vec<f64>,
}

/// A dispatch schedule over a scenario's horizon; lists are indexed like the scenario's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    /// Per grid connection.
    pub grids: Vec<GridSchedule>,
    /// Per PV array.
    pub pvs: Vec<PvSchedule>,
    /// Per battery.
    pub batteries: Vec<BatterySchedule>,
    /// Per HVAC unit.
    pub hvacs: Vec<HvacSchedule>,
    /// Per generator.
    pub generators: Vec<GeneratorSchedule>,
    /// Per line.
    pub lines: Vec<LineSchedule>,
}

fn values(cols: &[Col], x: &[f64]) -> Vec<f64> {
    cols.iter().map(|c| c.value(x)).collect()
}

fn flags(cols: &[Col], x: &[f64]) -> Vec<bool> {
    cols.iter().map(|c| c.value(x) > 0.5).collect()
}

impl Schedule {
    /// Reads the schedule out of a solver's column values.
    pub fn from_columns(vars: &Vars, x: &[f64]) -> Self {
        Self {
            grids: vars
                .grids
                .iter()
                .map(|g| GridSchedule {
                    import_kw: values(&g.imp, x),
                    export_kw: values(&g.exp, x),
                })
                .collect(),
            pvs: vars
                .pvs
                .iter()
                .map(|p| PvSchedule {
                    used_kw: values(&p.pv, x),
                })
                .collect(),
            batteries: vars
                .batteries
                .iter()
                .map(|k| BatterySchedule {
                    charge_kw: values(&k.ch, x),
                    discharge_kw: values(&k.dis, x),
                    energy_kwh: values(&k.e, x),
                })
                .collect(),
            hvacs: vars
                .hvacs
                .iter()
                .map(|h| HvacSchedule {
                    power_kw: values(&h.q, x),
                    on: flags(&h.on, x),
                    temp_c: values(&h.theta, x),
                })
                .collect(),
            generators: vars
                .generators
                .iter()
                .map(|j| GeneratorSchedule {
                    power_kw: values(&j.p, x),
                    on: flags(&j.w, x),
                })
                .collect(),
            lines: vars
                .lines
                .iter()
                .map(|l| LineSchedule {
                    fwd_kw: values(&l.fwd, x),
                    rev_kw: values(&l.rev, x),
                })
                .collect(),
        }
    }

    /// Power into node `n` at step `t` from every grid connection, PV array, battery,
    /// generator and line there, less its HVAC power (kW), i.e. the left side of the
    /// spec's node balance before the load.
    pub fn node_inflow_kw(&self, sc: &Scenario, n: usize, t: usize) -> f64 {
        let mut sum = 0.0;
        for (g, s) in sc.grids.iter().zip(&self.grids) {
            if g.node == n {
                sum += s.import_kw[t] - s.export_kw[t];
            }
        }
        for (p, s) in sc.pvs.iter().zip(&self.pvs) {
            if p.node == n {
                sum += s.used_kw[t];
            }
        }
        for (k, s) in sc.batteries.iter().zip(&self.batteries) {
            if k.node == n {
                sum += s.discharge_kw[t] - s.charge_kw[t];
            }
        }
        for (j, s) in sc.generators.iter().zip(&self.generators) {
            if j.node == n {
                sum += s.power_kw[t];
            }
        }
        for (h, s) in sc.hvacs.iter().zip(&self.hvacs) {
            if h.node == n {
                sum -= s.power_kw[t];
            }
        }
        for (l, s) in sc.lines.iter().zip(&self.lines) {
            let kept = 1.0 - l.loss_fraction;
            if l.from == n {
                sum += -s.fwd_kw[t] + kept * s.rev_kw[t];
            }
            if l.to == n {
                sum += kept * s.fwd_kw[t] - s.rev_kw[t];
            }
        }
        sum
    }

    /// Node balance residual (inflow − load) of node `n` at step `t`, kW; 0 when balanced.
    pub fn balance_residual_kw(&self, sc: &Scenario, n: usize, t: usize) -> f64 {
        self.node_inflow_kw(sc, n, t) - sc.nodes[n].load_kw[t]
    }

    /// Writes the schedule as CSV: one row per step (`time` = step start), one column per
    /// decision named `<asset id>.<quantity>_<unit>`, states at the end of each step, and
    /// each node's balance residual.
    pub fn write_csv(&self, sc: &Scenario, out: impl Write) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let mut header = vec!["time".to_string()];
        let mut push = |id: &str, q: &str| header.push(format!("{id}.{q}"));
        for g in &sc.grids {
            push(&g.id, "import_kw");
            push(&g.id, "export_kw");
        }
        for p in &sc.pvs {
            push(&p.id, "used_kw");
            push(&p.id, "curtailed_kw");
        }
        for k in &sc.batteries {
            push(&k.id, "charge_kw");
            push(&k.id, "discharge_kw");
            push(&k.id, "energy_end_kwh");
        }
        for h in &sc.hvacs {
            push(&h.id, "power_kw");
            push(&h.id, "on");
            push(&h.id, "temp_end_c");
        }
        for j in &sc.generators {
            push(&j.id, "power_kw");
            push(&j.id, "on");
            push(&j.id, "startup");
        }
        for l in &sc.lines {
            push(&l.id, "fwd_kw");
            push(&l.id, "rev_kw");
        }
        for n in &sc.nodes {
            push(&n.id, "load_kw");
            push(&n.id, "balance_residual_kw");
        }
        w.write_record(&header)?;
        let num = |x: f64| format!("{x:.6}");
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        for t in 0..sc.steps {
            let mut row = vec![sc.times[t].to_rfc3339()];
            for s in &self.grids {
                row.push(num(s.import_kw[t]));
                row.push(num(s.export_kw[t]));
            }
            for (p, s) in sc.pvs.iter().zip(&self.pvs) {
                row.push(num(s.used_kw[t]));
                row.push(num(p.available_kw[t] - s.used_kw[t]));
            }
            for s in &self.batteries {
                row.push(num(s.charge_kw[t]));
                row.push(num(s.discharge_kw[t]));
                row.push(num(s.energy_kwh[t + 1]));
            }
            for s in &self.hvacs {
                row.push(num(s.power_kw[t]));
                row.push(flag(s.on[t]));
                row.push(num(s.temp_c[t + 1]));
            }
            for (j, s) in sc.generators.iter().zip(&self.generators) {
                row.push(num(s.power_kw[t]));
                row.push(flag(s.on[t]));
                let before = if t == 0 { j.initially_on } else { s.on[t - 1] };
                row.push(flag(s.on[t] && !before));
            }
            for s in &self.lines {
                row.push(num(s.fwd_kw[t]));
                row.push(num(s.rev_kw[t]));
            }
            for (n, node) in sc.nodes.iter().enumerate() {
                row.push(num(node.load_kw[t]));
                row.push(format!("{:.3e}", self.balance_residual_kw(sc, n, t)));
            }
            w.write_record(&row)?;
        }
        w.flush()?;
        Ok(())
    }
}
