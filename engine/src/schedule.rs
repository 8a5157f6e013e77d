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
    /// Fuel in store on the boundaries t = 0…T, kWh (empty without a fuel stock).
    pub fuel_kwh: Vec<f64>,
}

/// A node's unserved load (only while a grid connection is out; extension).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnservedSchedule {
    /// Per step, per class ([`crate::asset::ClassKind::ALL`] order), kW not served.
    pub shed_kw: Vec<[f64; 4]>,
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
    /// Per node, its unserved load; empty when nothing can go unserved (no outage).
    pub unserved: Vec<UnservedSchedule>,
}

fn values(cols: &[Col], x: &[f64]) -> Vec<f64> {
    cols.iter().map(|c| c.value(x)).collect()
}

/// Power above which a unit without an on/off column counts as on, kW.
const ON_TOL_KW: f64 = 1e-6;

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
                    // (a unit without an `on` column is on when it draws power)
                    on: (0..h.q.len())
                        .map(|t| h.on_value(t, x, ON_TOL_KW) > 0.5)
                        .collect(),
                    temp_c: values(&h.theta, x),
                })
                .collect(),
            generators: vars
                .generators
                .iter()
                .map(|j| GeneratorSchedule {
                    power_kw: values(&j.p, x),
                    on: flags(&j.w, x),
                    fuel_kwh: values(&j.fuel, x),
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
            unserved: if vars
                .unserved
                .iter()
                .any(|u| u.shed.iter().flatten().any(Option::is_some))
            {
                vars.unserved
                    .iter()
                    .map(|u| UnservedSchedule {
                        shed_kw: u
                            .shed
                            .iter()
                            .map(|c| c.map(|col| col.map_or(0.0, |col| col.value(x).max(0.0))))
                            .collect(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Load of node `n` not served at step `t`, per class, kW (zeros when none).
    pub fn unserved_kw(&self, n: usize, t: usize) -> [f64; 4] {
        self.unserved
            .get(n)
            .and_then(|u| u.shed_kw.get(t))
            .copied()
            .unwrap_or([0.0; 4])
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
            let line = l.physics();
            if l.from == n {
                sum += -s.fwd_kw[t] + line.received_kw(s.rev_kw[t]);
            }
            if l.to == n {
                sum += line.received_kw(s.fwd_kw[t]) - s.rev_kw[t];
            }
        }
        sum
    }

    /// Node balance residual (inflow − load served) of node `n` at step `t`, kW; 0 when
    /// balanced.
    pub fn balance_residual_kw(&self, sc: &Scenario, n: usize, t: usize) -> f64 {
        let unserved: f64 = self.unserved_kw(n, t).iter().sum();
        self.node_inflow_kw(sc, n, t) - (sc.nodes[n].load_kw[t] - unserved)
    }

    /// Every decision as a named column of one value per step: `<asset id>.<quantity>_<unit>`
    /// (states at the end of each step, on/off as 0/1), then each node's load and balance
    /// residual. The order of [`Schedule::write_csv`].
    pub fn columns(&self, sc: &Scenario) -> Vec<(String, Vec<f64>)> {
        let steps = self
            .grids
            .first()
            .map_or(sc.steps, |g| g.import_kw.len())
            .min(sc.steps);
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        let mut push = |id: &str, q: &str, v: Vec<f64>| out.push((format!("{id}.{q}"), v));
        let flag = |v: &[bool]| -> Vec<f64> { v.iter().map(|b| f64::from(u8::from(*b))).collect() };
        for (g, s) in sc.grids.iter().zip(&self.grids) {
            push(&g.id, "import_kw", s.import_kw[..steps].to_vec());
            push(&g.id, "export_kw", s.export_kw[..steps].to_vec());
        }
        for (p, s) in sc.pvs.iter().zip(&self.pvs) {
            push(&p.id, "used_kw", s.used_kw[..steps].to_vec());
            let curtailed = (0..steps)
                .map(|t| p.available_kw[t] - s.used_kw[t])
                .collect();
            push(&p.id, "curtailed_kw", curtailed);
        }
        for (k, s) in sc.batteries.iter().zip(&self.batteries) {
            push(&k.id, "charge_kw", s.charge_kw[..steps].to_vec());
            push(&k.id, "discharge_kw", s.discharge_kw[..steps].to_vec());
            push(&k.id, "energy_end_kwh", s.energy_kwh[1..=steps].to_vec());
        }
        for (h, s) in sc.hvacs.iter().zip(&self.hvacs) {
            push(&h.id, "power_kw", s.power_kw[..steps].to_vec());
            push(&h.id, "on", flag(&s.on[..steps]));
            push(&h.id, "temp_end_c", s.temp_c[1..=steps].to_vec());
        }
        for (j, s) in sc.generators.iter().zip(&self.generators) {
            push(&j.id, "power_kw", s.power_kw[..steps].to_vec());
            push(&j.id, "on", flag(&s.on[..steps]));
            let startups = (0..steps)
                .map(|t| {
                    let before = if t == 0 { j.initially_on } else { s.on[t - 1] };
                    f64::from(u8::from(s.on[t] && !before))
                })
                .collect();
            push(&j.id, "startup", startups);
            if s.fuel_kwh.len() > steps {
                push(&j.id, "fuel_end_kwh", s.fuel_kwh[1..=steps].to_vec());
            }
        }
        for (l, s) in sc.lines.iter().zip(&self.lines) {
            push(&l.id, "fwd_kw", s.fwd_kw[..steps].to_vec());
            push(&l.id, "rev_kw", s.rev_kw[..steps].to_vec());
        }
        for (n, node) in sc.nodes.iter().enumerate() {
            push(&node.id, "load_kw", node.load_kw[..steps].to_vec());
            if !self.unserved.is_empty() {
                for kind in crate::asset::ClassKind::ALL {
                    let v = (0..steps)
                        .map(|t| self.unserved_kw(n, t)[kind.index()])
                        .collect();
                    push(&node.id, &format!("unserved_{}_kw", kind.as_str()), v);
                }
            }
            let residual = (0..steps)
                .map(|t| self.balance_residual_kw(sc, n, t))
                .collect();
            push(&node.id, "balance_residual_kw", residual);
        }
        out
    }

    /// Writes the schedule as CSV: one row per step (`time` = step start), one column per
    /// decision (see [`Schedule::columns`]), states at the end of each step, and each
    /// node's load and balance residual.
    pub fn write_csv(&self, sc: &Scenario, out: impl Write) -> csv::Result<()> {
        let columns = self.columns(sc);
        let mut w = csv::Writer::from_writer(out);
        let mut header = vec!["time".to_string()];
        header.extend(columns.iter().map(|(name, _)| name.clone()));
        w.write_record(&header)?;
        let steps = columns.first().map_or(0, |c| c.1.len());
        for t in 0..steps {
            let mut row = Vec::with_capacity(header.len());
            row.push(sc.times[t].to_rfc3339());
            for (name, values) in &columns {
                row.push(if name.ends_with("balance_residual_kw") {
                    format!("{:.3e}", values[t])
                } else if name.ends_with(".on") || name.ends_with(".startup") {
                    format!("{}", values[t] as u8)
                } else {
                    format!("{:.6}", values[t])
                });
            }
            w.write_record(&row)?;
        }
        w.flush()?;
        Ok(())
    }
}
