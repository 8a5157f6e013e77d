//! The closed-loop plant of `aems simulate`: the district's actual series played through
//! the physical district of the `physics` crate — the same model the device simulator
//! serves over Modbus — step by step under the controller's decisions. It reads its
//! meters and sensors as exactly as a device would at the start of each step
//! ([`Plant::measure`]) and records what happened ([`Plant::realized`]).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use engine::asset::HvacMode;
use engine::schedule::{
    BatterySchedule, GeneratorSchedule, GridSchedule, HvacSchedule, LineSchedule, PvSchedule,
    UnservedSchedule,
};
use engine::{Scenario, Schedule};
use physics::device::{
    BatteryReading, Command, GeneratorReading, HvacReading, Kind, MeterReading, Reading,
};
use physics::district::{
    BatterySpec, GeneratorFuel, GeneratorSpec, GridOutage, HvacSpec, NodeSpec,
};
use physics::network::Violation;
use physics::{Commands, District, DistrictSpec, Grid, HvacControl, Network};

use crate::decision::Decisions;
use crate::state::Measurements;

/// The network of `sc`: its lines and grid connections.
pub fn network(sc: &Scenario) -> Network {
    Network::new(
        sc.nodes.len(),
        sc.lines.iter().map(|l| l.physics()).collect(),
        sc.grids
            .iter()
            .map(|g| Grid {
                node: g.node,
                import_limit_kw: g.import_limit_kw,
                export_limit_kw: g.export_limit_kw,
            })
            .collect(),
    )
}

/// The physical district of `sc`. HVAC units left to their own thermostats keep the
/// comfortable quarter of the band (the upper quarter when cooling, the lower when
/// heating) and run below their least power only when the zone would otherwise leave the
/// band. With `follows_meter`, batteries at a node with its own connection, no lines and
/// unpaid exports keep to the meter (see [`BatterySpec::follows_meter`]).
pub fn district_spec(sc: &Scenario, follows_meter: bool) -> DistrictSpec {
    let net = network(sc);
    let mut grids_at = vec![0usize; sc.nodes.len()];
    for g in &sc.grids {
        grids_at[g.node] += 1;
    }
    let lined: BTreeSet<usize> = sc.lines.iter().flat_map(|l| [l.from, l.to]).collect();
    let unpaid = |n: usize| {
        sc.grids
            .iter()
            .filter(|g| g.node == n)
            .all(|g| g.export_price_yen_per_kwh.iter().all(|p| *p <= 0.0))
    };
    DistrictSpec {
        step_hours: sc.step_hours(),
        nodes: sc
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut pv = vec![0.0; sc.steps];
                for p in sc.pvs.iter().filter(|p| p.node == i) {
                    for (t, v) in p.available_kw.iter().enumerate() {
                        pv[t] += v;
                    }
                }
                NodeSpec {
                    id: n.id.clone(),
                    load_kw: n.load_kw.clone(),
                    pv_kw: pv,
                    classes_kw: if n.classes.declared() {
                        (0..sc.steps)
                            .map(|t| n.classes.split_kw(n.load_kw[t], t))
                            .collect()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect(),
        batteries: sc
            .batteries
            .iter()
            .map(|b| BatterySpec {
                id: b.id.clone(),
                node: b.node,
                capacity_kwh: b.capacity_kwh,
                battery: b.physics(),
                initial_kwh: b.initial_kwh,
                follows_meter: follows_meter
                    && grids_at[b.node] == 1
                    && !lined.contains(&b.node)
                    && unpaid(b.node),
            })
            .collect(),
        hvacs: sc
            .hvacs
            .iter()
            .map(|h| {
                let width: Vec<f64> = h
                    .comfort_low_c
                    .iter()
                    .zip(&h.comfort_high_c)
                    .map(|(lo, hi)| (hi - lo).max(0.0))
                    .collect();
                let setpoint = h
                    .comfort_low_c
                    .iter()
                    .zip(&h.comfort_high_c)
                    .zip(&width)
                    .map(|((lo, hi), w)| match h.mode {
                        HvacMode::Cooling => hi - 0.25 * w,
                        HvacMode::Heating => lo + 0.25 * w,
                    })
                    .collect();
                HvacSpec {
                    id: h.id.clone(),
                    node: h.node,
                    zone: h.zone(),
                    initial_temp_c: h.initial_temp_c,
                    outdoor_temp_c: h.outdoor_temp_c.clone(),
                    heat_gain_kw: h.heat_gain_kw.clone(),
                    cop: h.cop.clone(),
                    local_setpoint_c: setpoint,
                    deadband_c: width.iter().map(|w| 0.25 * w).collect(),
                }
            })
            .collect(),
        generators: sc
            .generators
            .iter()
            .map(|g| GeneratorSpec {
                id: g.id.clone(),
                node: g.node,
                generator: g.physics(),
                initially_on: g.initially_on,
                black_start: g.black_start,
                fuel: g.fuel.map(|f| GeneratorFuel {
                    efficiency: g.efficiency,
                    initial_kwh: f.initial_kwh,
                    tank: f.tank,
                }),
            })
            .collect(),
        network: net,
        line_ids: sc.lines.iter().map(|l| l.id.clone()).collect(),
        grid_ids: sc.grids.iter().map(|g| g.id.clone()).collect(),
        outages: sc
            .outages
            .iter()
            .filter(|o| o.grid < sc.grids.len())
            .map(|o| GridOutage {
                grid: o.grid,
                from_h: (o.from - sc.start).num_seconds() as f64 / 3600.0,
                until_h: (o.until - sc.start).num_seconds() as f64 / 3600.0,
            })
            .collect(),
    }
}

/// The devices a plant reads: every battery, HVAC unit, generator and grid meter.
pub fn every_device(sc: &Scenario) -> Vec<(String, Kind)> {
    let mut v: Vec<(String, Kind)> = sc
        .batteries
        .iter()
        .map(|b| (b.id.clone(), Kind::Battery))
        .collect();
    v.extend(sc.hvacs.iter().map(|h| (h.id.clone(), Kind::Hvac)));
    v.extend(
        sc.generators
            .iter()
            .map(|g| (g.id.clone(), Kind::Generator)),
    );
    v.extend(sc.grids.iter().map(|g| (g.id.clone(), Kind::Meter)));
    v
}

/// The commands of `d` for the units of `spec` (a unit without a command, or told
/// [`Command::Release`], is on its own control).
pub fn commands(spec: &DistrictSpec, d: &Decisions) -> Commands {
    let mut c = Commands::local(spec);
    let by_id: BTreeMap<&str, &Command> = d.commands.iter().map(|(a, c)| (a.as_str(), c)).collect();
    for (i, b) in spec.batteries.iter().enumerate() {
        if let Some(Command::Battery { power_kw }) = by_id.get(b.id.as_str()) {
            c.battery_kw[i] = Some(*power_kw);
        }
    }
    for (i, h) in spec.hvacs.iter().enumerate() {
        if let Some(Command::Hvac {
            on,
            power_kw,
            setpoint_c,
        }) = by_id.get(h.id.as_str())
        {
            c.hvac[i] = match power_kw {
                Some(q) => HvacControl::Power {
                    on: *on,
                    power_kw: *q,
                },
                None => HvacControl::Setpoint {
                    on: *on,
                    setpoint_c: *setpoint_c,
                },
            };
        }
    }
    for (i, g) in spec.generators.iter().enumerate() {
        if let Some(Command::Generator { on, power_kw }) = by_id.get(g.id.as_str()) {
            c.generator[i] = Some((*on, *power_kw));
        }
    }
    for (line, kw) in &d.tie_kw {
        if let Some(l) = spec.line_ids.iter().position(|id| id == line) {
            c.tie_kw[l] = *kw;
        }
    }
    c
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
            .map(|g| GeneratorSchedule {
                power_kw: v(),
                on: b(),
                fuel_kwh: g.fuel.map_or_else(Vec::new, |f| vec![f.initial_kwh]),
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
        // Load can go unserved only in an outage: a district without one keeps none.
        unserved: if sc.outages.is_empty() {
            Vec::new()
        } else {
            sc.nodes
                .iter()
                .map(|_| UnservedSchedule {
                    shed_kw: Vec::with_capacity(steps),
                })
                .collect()
        },
    }
}

/// The simulated district over its actual series.
pub struct Plant<'a> {
    actual: &'a Scenario,
    district: District,
    realized: Schedule,
    t: usize,
}

impl<'a> Plant<'a> {
    /// A plant at the start of `actual`, recording up to `steps` steps (batteries keep to
    /// their meters with `follows_meter`, see [`district_spec`]).
    pub fn new(actual: &'a Scenario, steps: usize, follows_meter: bool) -> Self {
        Self {
            actual,
            district: District::new(district_spec(actual, follows_meter)),
            realized: empty_schedule(actual, steps),
            t: 0,
        }
    }

    /// The physical district (its state, its description).
    pub fn district(&self) -> &District {
        &self.district
    }

    /// The people of node `node` use `kw` less over the steps from `from` to `until`
    /// (exclusive) of the actual series (a request's response).
    pub fn reduce_load(&mut self, node: usize, from: usize, until: usize, kw: f64) {
        for k in from..until {
            self.district.reduce_load(node, k, kw);
        }
    }

    /// The steps done.
    pub fn steps_done(&self) -> usize {
        self.t
    }

    /// What every device reads at the start of the next step: battery energy, state of
    /// charge and power, zone temperatures and HVAC power, generator power, and each grid
    /// connection's and node's meter (power and energy counters) — exactly, as the
    /// devices' registers would hold them.
    pub fn measure(&self) -> Measurements {
        let spec = self.district.spec();
        let st = self.district.state();
        let mut readings = BTreeMap::new();
        for (i, b) in spec.batteries.iter().enumerate() {
            readings.insert(
                b.id.clone(),
                Ok(Reading::Battery(BatteryReading {
                    energy_kwh: Some(st.battery_kwh[i]),
                    soc_pct: Some(100.0 * st.battery_kwh[i] / b.capacity_kwh.max(1e-9)),
                    power_kw: Some(st.battery_kw[i]),
                    max_charge_kw: Some(b.battery.charge_kw),
                })),
            );
        }
        for (i, h) in spec.hvacs.iter().enumerate() {
            readings.insert(
                h.id.clone(),
                Ok(Reading::Hvac(HvacReading {
                    zone_temp_c: Some(st.zone_c[i]),
                    power_kw: Some(st.hvac_kw[i]),
                })),
            );
        }
        for (j, g) in spec.generators.iter().enumerate() {
            readings.insert(
                g.id.clone(),
                Ok(Reading::Generator(GeneratorReading {
                    power_kw: Some(st.generator_kw[j]),
                    running: Some(if st.generator_kw[j] > 1e-9 { 1.0 } else { 0.0 }),
                })),
            );
        }
        let out = self.district.grid_out(st.elapsed_h);
        for (g, id) in spec.grid_ids.iter().enumerate() {
            readings.insert(
                id.clone(),
                Ok(Reading::Meter(MeterReading {
                    power_kw: Some(st.grid_kw[g]),
                    import_kwh: Some(st.import_kwh[g]),
                    export_kwh: Some(st.export_kwh[g]),
                    grid_available: Some(if out[g] { 0.0 } else { 1.0 }),
                })),
            );
        }
        for (n, node) in spec.nodes.iter().enumerate() {
            readings.insert(
                node.id.clone(),
                Ok(Reading::Meter(MeterReading {
                    power_kw: Some(st.node_kw[n]),
                    import_kwh: Some(st.node_import_kwh[n]),
                    export_kwh: Some(st.node_export_kwh[n]),
                    grid_available: None,
                })),
            );
        }
        let time = self.actual.start
            + chrono::Duration::minutes(i64::from(self.actual.step_minutes) * self.t as i64);
        Measurements { time, readings }
    }

    /// Advances one step under `d`, and records what happened. Fails when the network
    /// cannot carry it (an import beyond a connection's limit, a line beyond its capacity,
    /// an island short of power), naming the time.
    pub fn apply(&mut self, d: &Decisions) -> Result<()> {
        let sc = self.actual;
        let t = self.t;
        if t >= sc.steps {
            bail!("the plant's series end at {} steps", sc.steps);
        }
        let cmds = commands(self.district.spec(), d);
        let trouble = self.district.advance(sc.step_hours(), &cmds);
        if let Some(x) = trouble.first() {
            let spec = self.district.spec();
            let what = match &x.violation {
                Violation::Import { node, excess_kw } => format!(
                    "node '{}' needs {excess_kw:.3} kW more than its grid connections may import",
                    spec.nodes[*node].id
                ),
                Violation::Export { node, excess_kw } => format!(
                    "node '{}' has {excess_kw:.3} kW more than it can use, export or curtail",
                    spec.nodes[*node].id
                ),
                Violation::Line { line, flow_kw } => format!(
                    "line '{}' would carry {flow_kw:.3} kW, beyond its capacity",
                    spec.line_ids[*line]
                ),
            };
            bail!(
                "the network cannot carry it at {}: {what}",
                sc.times[t].to_rfc3339()
            );
        }
        let tot = self.district.take_totals();
        let st = self.district.state();
        let h = tot.hours;
        let r = &mut self.realized;
        for (g, gs) in r.grids.iter_mut().enumerate() {
            gs.import_kw.push(tot.import_kwh[g] / h);
            gs.export_kw.push(tot.export_kwh[g] / h);
        }
        let spec = self.district.spec();
        for (p, ps) in r.pvs.iter_mut().enumerate() {
            let node = sc.pvs[p].node;
            let avail = spec.nodes[node].pv_kw[t];
            let share = if avail > 0.0 {
                sc.pvs[p].available_kw[t] / avail
            } else {
                0.0
            };
            ps.used_kw.push(share * tot.pv_used_kwh[node] / h);
        }
        for (i, bs) in r.batteries.iter_mut().enumerate() {
            bs.charge_kw.push(tot.charge_kwh[i] / h);
            bs.discharge_kw.push(tot.discharge_kwh[i] / h);
            bs.energy_kwh.push(st.battery_kwh[i]);
        }
        for (i, hs) in r.hvacs.iter_mut().enumerate() {
            let q = tot.hvac_kwh[i] / h;
            hs.power_kw.push(q);
            hs.on.push(q > 1e-9);
            hs.temp_c.push(st.zone_c[i]);
        }
        for (j, gs) in r.generators.iter_mut().enumerate() {
            let p = tot.generator_kwh[j] / h;
            gs.power_kw.push(p);
            gs.on.push(p > 1e-9);
            if let Some(Some(f)) = st.fuel_kwh.get(j) {
                gs.fuel_kwh.push(*f);
            }
        }
        for (n, us) in r.unserved.iter_mut().enumerate() {
            let kwh = tot.unserved_kwh[n];
            us.shed_kw.push(kwh.map(|e| e / h));
        }
        for (l, ls) in r.lines.iter_mut().enumerate() {
            ls.fwd_kw.push(tot.fwd_kwh[l] / h);
            ls.rev_kw.push(tot.rev_kwh[l] / h);
        }
        self.t += 1;
        Ok(())
    }

    /// What happened so far.
    pub fn realized(&self) -> &Schedule {
        &self.realized
    }

    /// What happened, consumed.
    pub fn into_realized(self) -> Schedule {
        self.realized
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline;

    fn gate_square() -> Scenario {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        Scenario::load(p).unwrap()
    }

    /// What the plant records balances every node (the spec's equation, line losses
    /// included) and follows the battery and zone laws; what it reads is its state.
    #[test]
    fn the_plant_balances_and_reads_its_own_state() {
        let sc = gate_square().slice(20..28);
        let mut plant = Plant::new(&sc, 8, false);
        let mut d = baseline::decide(&sc);
        for (i, b) in sc.batteries.iter().enumerate() {
            *d.get_mut(&b.id).unwrap() = Command::Battery {
                power_kw: if i % 2 == 0 { 50.0 } else { -40.0 },
            };
        }
        for t in 0..8 {
            let m = plant.measure();
            assert_eq!(m.time, sc.times[t]);
            let e = plant.district().state().battery_kwh[0];
            match &m.readings[&sc.batteries[0].id] {
                Ok(Reading::Battery(r)) => assert_eq!(r.energy_kwh, Some(e)),
                other => panic!("{other:?}"),
            }
            plant.apply(&d).unwrap();
        }
        let r = plant.realized();
        for n in 0..sc.nodes.len() {
            for t in 0..8 {
                assert!(
                    r.balance_residual_kw(&sc, n, t).abs() < 1e-6,
                    "node {n} step {t}"
                );
            }
        }
        let dt = sc.step_hours();
        for (b, bs) in sc.batteries.iter().zip(&r.batteries) {
            for t in 0..8 {
                let law = b.physics();
                let want =
                    law.next_energy_kwh(bs.energy_kwh[t], bs.charge_kw[t], bs.discharge_kw[t], dt);
                // Self-discharge acts on what the step charges (or gives) too.
                let moved = (law.charge_efficiency * bs.charge_kw[t]
                    + bs.discharge_kw[t] / law.discharge_efficiency)
                    * dt;
                let slack = law.self_discharge_per_hour * dt * moved + 1e-9;
                assert!((bs.energy_kwh[t + 1] - want).abs() <= slack, "{}", b.id);
            }
        }
        assert!(plant.apply(&d).is_err(), "past the series' end");
    }
}
