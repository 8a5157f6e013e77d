//! [`District`]: the district as a physical system — batteries, zones and their HVAC
//! units, generators, PV, loads and the network — advanced in time under commands. The
//! closed-loop plant of `aems simulate` and the device simulator both run this one model,
//! so the same commands give the same trajectories in both.
//!
//! Time advances in substeps of at most [`SUBSTEP_H`] (30 s): in each, the units' powers
//! are chosen (commanded, or by their own thermostat or management), the zones and
//! batteries move by their laws ([`crate::zone`], [`crate::battery`]), and the network
//! ([`crate::network`]) says what the grid connections import and export. The exogenous
//! series (loads, PV, weather) are held for each step of `step_hours`; past their end the
//! last value holds.

use serde::{Deserialize, Serialize};

use crate::battery::Battery;
use crate::fuel::FuelTank;
use crate::generator::Generator;
use crate::network::{Flows, Network, NodeDemand, Violation};
use crate::zone::{Conditions, Zone};

/// Longest substep, hours (30 s).
pub const SUBSTEP_H: f64 = 30.0 / 3600.0;

/// A node: its own load and the PV available there, per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Node id.
    pub id: String,
    /// Load that is not controlled, per step, kW.
    pub load_kw: Vec<f64>,
    /// PV power available per step (all arrays of the node), kW.
    pub pv_kw: Vec<f64>,
    /// Its load split into classes per step, kW, highest priority first (lifeline,
    /// critical, normal, sheddable): what an island sheds last to first. Empty: the whole
    /// load in one class.
    #[serde(default)]
    pub classes_kw: Vec<[f64; 4]>,
}

/// A battery at a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatterySpec {
    /// Asset id.
    pub id: String,
    /// Node index.
    pub node: usize,
    /// Nameplate energy, kWh (state of charge is relative to it).
    pub capacity_kwh: f64,
    /// Its ratings.
    pub battery: Battery,
    /// Stored energy at the start, kWh.
    pub initial_kwh: f64,
    /// Its inverter keeps to the node's meter (self-consumption mode): whatever it is told,
    /// it never discharges more than the node draws and takes the node's PV surplus. Only
    /// for a node with its own connection and no lines.
    pub follows_meter: bool,
}

/// An HVAC unit and its zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HvacSpec {
    /// Asset id.
    pub id: String,
    /// Node index.
    pub node: usize,
    /// The zone and the unit.
    pub zone: Zone,
    /// Zone temperature at the start, °C.
    pub initial_temp_c: f64,
    /// Outdoor temperature per step, °C.
    pub outdoor_temp_c: Vec<f64>,
    /// Thermal gains per step, kW.
    pub heat_gain_kw: Vec<f64>,
    /// Coefficient of performance per step.
    pub cop: Vec<f64>,
    /// The setpoint its own thermostat keeps when nobody commands it, per step, °C.
    pub local_setpoint_c: Vec<f64>,
    /// How far past its setpoint its thermostat lets the zone drift before running below
    /// its least power, per step, K.
    pub deadband_c: Vec<f64>,
}

/// A generator at a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorSpec {
    /// Asset id.
    pub id: String,
    /// Node index.
    pub node: usize,
    /// Its range.
    pub generator: Generator,
    /// Running (at its least power) when nobody commands it.
    pub initially_on: bool,
    /// Can start while a grid connection is out; without it, a generator that is off when
    /// the grid is lost stays off until it returns.
    #[serde(default)]
    pub black_start: bool,
    /// Its fuel store, when limited: it stops when the store is empty.
    #[serde(default)]
    pub fuel: Option<GeneratorFuel>,
}

/// A generator's limited fuel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeneratorFuel {
    /// Electric output / fuel input.
    pub efficiency: f64,
    /// Fuel at the start, kWh.
    pub initial_kwh: f64,
    /// The store.
    pub tank: FuelTank,
}

/// A grid connection lost over `[from_h, until_h)` hours from the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridOutage {
    /// The connection (index into the network's grids).
    pub grid: usize,
    /// Hours from the start when it is lost.
    pub from_h: f64,
    /// Hours from the start when it returns.
    pub until_h: f64,
}

/// A district to advance.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictSpec {
    /// Length of a step of the series, hours.
    pub step_hours: f64,
    /// Nodes.
    pub nodes: Vec<NodeSpec>,
    /// Batteries.
    pub batteries: Vec<BatterySpec>,
    /// HVAC units.
    pub hvacs: Vec<HvacSpec>,
    /// Generators.
    pub generators: Vec<GeneratorSpec>,
    /// Lines and grid connections (ids of lines, then connections, in order).
    pub network: Network,
    /// Line ids.
    pub line_ids: Vec<String>,
    /// Grid connection ids.
    pub grid_ids: Vec<String>,
    /// Grid outages: while one lasts, its connection neither imports nor exports; each
    /// island's batteries hold its balance as grid-forming inverters (up to their limits),
    /// then its loads are shed by class, lowest first.
    pub outages: Vec<GridOutage>,
}

/// What an HVAC unit is told.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum HvacControl {
    /// Nobody commands it: its own thermostat keeps its local setpoint.
    Local,
    /// Run at this power (0 when off), within its range.
    Power {
        /// Running.
        on: bool,
        /// Electric power, kW.
        power_kw: f64,
    },
    /// Its own thermostat keeps this setpoint (off: the unit is off).
    Setpoint {
        /// Running.
        on: bool,
        /// Zone setpoint, °C.
        setpoint_c: f64,
    },
}

/// What every unit is told for the coming interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Commands {
    /// Per battery: power asked, kW (+ discharging); `None`: idle under its own control.
    pub battery_kw: Vec<Option<f64>>,
    /// Per HVAC unit.
    pub hvac: Vec<HvacControl>,
    /// Per generator: (running, kW); `None`: as it runs on its own.
    pub generator: Vec<Option<(bool, f64)>>,
    /// Per line: the flow a tie line is told to carry (+ from → to), kW; other lines'
    /// entries are ignored.
    pub tie_kw: Vec<f64>,
}

impl Commands {
    /// Every unit on its own control, tie lines idle.
    pub fn local(spec: &DistrictSpec) -> Self {
        Self {
            battery_kw: vec![None; spec.batteries.len()],
            hvac: vec![HvacControl::Local; spec.hvacs.len()],
            generator: vec![None; spec.generators.len()],
            tie_kw: vec![0.0; spec.network.lines().len()],
        }
    }
}

/// The state of the district, as its meters and sensors would read it: states now, powers
/// over the last substep.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct State {
    /// Hours since the start.
    pub elapsed_h: f64,
    /// Stored energy per battery, kWh.
    pub battery_kwh: Vec<f64>,
    /// Power per battery, kW (+ discharging).
    pub battery_kw: Vec<f64>,
    /// Zone temperature per HVAC unit, °C.
    pub zone_c: Vec<f64>,
    /// Electric power per HVAC unit, kW.
    pub hvac_kw: Vec<f64>,
    /// Power per generator, kW.
    pub generator_kw: Vec<f64>,
    /// Per connection: import − export, kW.
    pub grid_kw: Vec<f64>,
    /// Per connection: energy imported since the start, kWh (the meter's counter).
    pub import_kwh: Vec<f64>,
    /// Per connection: energy exported since the start, kWh.
    pub export_kwh: Vec<f64>,
    /// Per node: what its own loads and units draw, PV and batteries and generators
    /// netted, kW (a meter at the node, before its lines).
    pub node_kw: Vec<f64>,
    /// Per node: energy drawn since the start, kWh (the node meter's import counter).
    pub node_import_kwh: Vec<f64>,
    /// Per node: energy given back since the start, kWh.
    pub node_export_kwh: Vec<f64>,
    /// Per generator: fuel left, kWh (`None`: not limited).
    #[serde(default)]
    pub fuel_kwh: Vec<Option<f64>>,
    /// Per node: load shed per class (highest priority first) over the last substep, kW.
    #[serde(default)]
    pub unserved_kw: Vec<[f64; 4]>,
    /// Per line: what it carries, kW (+ from → to, as sent).
    #[serde(default)]
    pub line_kw: Vec<f64>,
}

/// Energy over an interval (what [`District::take_totals`] hands over), kWh, and the
/// interval's length.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    /// Hours covered.
    pub hours: f64,
    /// Per connection: imported.
    pub import_kwh: Vec<f64>,
    /// Per connection: exported.
    pub export_kwh: Vec<f64>,
    /// Per node: PV used.
    pub pv_used_kwh: Vec<f64>,
    /// Per battery: charged (AC side).
    pub charge_kwh: Vec<f64>,
    /// Per battery: discharged (AC side).
    pub discharge_kwh: Vec<f64>,
    /// Per HVAC unit: electric energy.
    pub hvac_kwh: Vec<f64>,
    /// Per generator: electric energy.
    pub generator_kwh: Vec<f64>,
    /// Per line: sent from → to.
    pub fwd_kwh: Vec<f64>,
    /// Per line: sent to → from.
    pub rev_kwh: Vec<f64>,
    /// Per node: load shed per class (highest priority first).
    pub unserved_kwh: Vec<[f64; 4]>,
}

/// A physical problem met while advancing: when, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Trouble {
    /// Hours since the start.
    pub elapsed_h: f64,
    /// What.
    pub violation: Violation,
}

/// The district in time.
#[derive(Debug, Clone)]
pub struct District {
    spec: DistrictSpec,
    state: State,
    totals: Totals,
    /// Per grid connection: lost now whatever the outage windows say (a PCC breaker
    /// opened by hand, or by the device simulator's fault schedule).
    lost: Vec<bool>,
}

fn at(series: &[f64], k: usize) -> f64 {
    series
        .get(k)
        .or_else(|| series.last())
        .copied()
        .unwrap_or(0.0)
}

impl District {
    /// The district at its start: every state at its initial value, meters at 0.
    pub fn new(spec: DistrictSpec) -> Self {
        let state = State {
            elapsed_h: 0.0,
            battery_kwh: spec.batteries.iter().map(|b| b.initial_kwh).collect(),
            battery_kw: vec![0.0; spec.batteries.len()],
            zone_c: spec.hvacs.iter().map(|h| h.initial_temp_c).collect(),
            hvac_kw: vec![0.0; spec.hvacs.len()],
            generator_kw: vec![0.0; spec.generators.len()],
            grid_kw: vec![0.0; spec.network.grids().len()],
            import_kwh: vec![0.0; spec.network.grids().len()],
            export_kwh: vec![0.0; spec.network.grids().len()],
            node_kw: vec![0.0; spec.nodes.len()],
            node_import_kwh: vec![0.0; spec.nodes.len()],
            node_export_kwh: vec![0.0; spec.nodes.len()],
            fuel_kwh: spec
                .generators
                .iter()
                .map(|g| g.fuel.map(|f| f.initial_kwh))
                .collect(),
            unserved_kw: vec![[0.0; 4]; spec.nodes.len()],
            line_kw: vec![0.0; spec.network.lines().len()],
        };
        let totals = Self::zero_totals(&spec);
        let lost = vec![false; spec.network.grids().len()];
        let mut d = Self {
            spec,
            state,
            totals,
            lost,
        };
        // Powers at the start, under local control, so that the first readings are real.
        let _ = d.substep(0.0, &Commands::local(&d.spec));
        d
    }

    fn zero_totals(spec: &DistrictSpec) -> Totals {
        Totals {
            hours: 0.0,
            import_kwh: vec![0.0; spec.network.grids().len()],
            export_kwh: vec![0.0; spec.network.grids().len()],
            pv_used_kwh: vec![0.0; spec.nodes.len()],
            charge_kwh: vec![0.0; spec.batteries.len()],
            discharge_kwh: vec![0.0; spec.batteries.len()],
            hvac_kwh: vec![0.0; spec.hvacs.len()],
            generator_kwh: vec![0.0; spec.generators.len()],
            fwd_kwh: vec![0.0; spec.network.lines().len()],
            rev_kwh: vec![0.0; spec.network.lines().len()],
            unserved_kwh: vec![[0.0; 4]; spec.nodes.len()],
        }
    }

    /// Which grid connections are out at `elapsed_h` (by the outage windows, or lost by
    /// [`District::set_grid_lost`]).
    pub fn grid_out(&self, elapsed_h: f64) -> Vec<bool> {
        let mut out = grids_out(&self.spec, elapsed_h);
        for (o, l) in out.iter_mut().zip(&self.lost) {
            *o |= *l;
        }
        out
    }

    /// Loses grid connection `g` from now on (`lost`), or gives it back; the outage
    /// windows of the description still hold. Returns false when there is no such
    /// connection.
    pub fn set_grid_lost(&mut self, g: usize, lost: bool) -> bool {
        match self.lost.get_mut(g) {
            Some(l) => {
                *l = lost;
                true
            }
            None => false,
        }
    }

    /// Energy over the interval since the last [`District::take_totals`] (or the start).
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// The description.
    pub fn spec(&self) -> &DistrictSpec {
        &self.spec
    }

    /// Lowers node `node`'s load at step `k` by `kw` (its people using less: the
    /// lowest-priority classes first), never below zero. Returns the kW taken off.
    pub fn reduce_load(&mut self, node: usize, k: usize, kw: f64) -> f64 {
        let Some(n) = self.spec.nodes.get_mut(node) else {
            return 0.0;
        };
        let Some(l) = n.load_kw.get_mut(k) else {
            return 0.0;
        };
        let cut = kw.clamp(0.0, l.max(0.0));
        *l -= cut;
        if let Some(c) = n.classes_kw.get_mut(k) {
            let mut left = cut;
            for x in c.iter_mut().rev() {
                let d = left.min(*x);
                *x -= d;
                left -= d;
            }
        }
        cut
    }

    /// The state now.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Sets the stored energy of battery `i` and the temperature of zone `j` (a resumed
    /// run starts where the stored one left off).
    pub fn set_states(&mut self, battery_kwh: &[(usize, f64)], zone_c: &[(usize, f64)]) {
        for &(i, e) in battery_kwh {
            if let (Some(s), Some(b)) = (
                self.state.battery_kwh.get_mut(i),
                self.spec.batteries.get(i),
            ) {
                *s = e.clamp(b.battery.min_kwh, b.battery.max_kwh);
            }
        }
        for &(j, t) in zone_c {
            if let Some(s) = self.state.zone_c.get_mut(j) {
                *s = t;
            }
        }
    }

    /// The step of the series the district is in.
    pub fn step_index(&self) -> usize {
        (self.state.elapsed_h / self.spec.step_hours + 1e-9)
            .floor()
            .max(0.0) as usize
    }

    /// The energy since the last call (or the start), and starts a new interval.
    pub fn take_totals(&mut self) -> Totals {
        std::mem::replace(&mut self.totals, Self::zero_totals(&self.spec))
    }

    /// Applies `cmds` at once without moving time: the powers (and what the meters read)
    /// become those the units take under them; energies and temperatures stay.
    pub fn settle(&mut self, cmds: &Commands) -> Vec<Violation> {
        self.substep(0.0, cmds)
    }

    /// Advances by `dt_h` hours with `cmds` held, in equal substeps of at most
    /// [`SUBSTEP_H`]. Returns what the network could not do (the district still moves:
    /// imports beyond a limit are imported, and so on).
    pub fn advance(&mut self, dt_h: f64, cmds: &Commands) -> Vec<Trouble> {
        let mut trouble = Vec::new();
        if dt_h.is_nan() || dt_h <= 0.0 {
            return trouble;
        }
        let n = (dt_h / SUBSTEP_H - 1e-9).ceil().max(1.0) as usize;
        let h = dt_h / n as f64;
        for _ in 0..n {
            for v in self.substep(h, cmds) {
                trouble.push(Trouble {
                    elapsed_h: self.state.elapsed_h,
                    violation: v,
                });
            }
            self.state.elapsed_h += h;
        }
        trouble
    }

    fn substep(&mut self, h: f64, cmds: &Commands) -> Vec<Violation> {
        let k = self.step_index();
        let spec = &self.spec;
        let st = &mut self.state;
        let mut base: Vec<f64> = spec.nodes.iter().map(|n| at(&n.load_kw, k)).collect();
        let pv: Vec<f64> = spec
            .nodes
            .iter()
            .map(|n| at(&n.pv_kw, k).max(0.0))
            .collect();
        // HVAC units and their zones (each zone's start and conditions kept, should an
        // island shed the unit).
        let mut zone_start: Vec<(f64, Conditions)> = Vec::with_capacity(spec.hvacs.len());
        for (i, u) in spec.hvacs.iter().enumerate() {
            let c = Conditions {
                outdoor_c: at(&u.outdoor_temp_c, k),
                gain_kw: at(&u.heat_gain_kw, k),
                cop: at(&u.cop, k),
            };
            let theta = st.zone_c[i];
            zone_start.push((theta, c));
            let deadband = at(&u.deadband_c, k);
            let q = match cmds.hvac.get(i).copied().unwrap_or(HvacControl::Local) {
                HvacControl::Local => {
                    u.zone
                        .thermostat_kw(theta, at(&u.local_setpoint_c, k), deadband, &c, h)
                }
                HvacControl::Power { on, power_kw } => u.zone.commanded_kw(on, power_kw),
                HvacControl::Setpoint { on: false, .. } => 0.0,
                HvacControl::Setpoint {
                    on: true,
                    setpoint_c,
                } => u.zone.thermostat_kw(theta, setpoint_c, deadband, &c, h),
            };
            if h > 0.0 {
                st.zone_c[i] = u.zone.next_temp_c(theta, q, &c, h);
            }
            st.hvac_kw[i] = q;
            base[u.node] += q;
        }
        // Grid outages now.
        let mut out = grids_out(spec, st.elapsed_h);
        for (o, l) in out.iter_mut().zip(&self.lost) {
            *o |= *l;
        }
        let emergency = out.iter().any(|o| *o);
        // Generators.
        for (j, g) in spec.generators.iter().enumerate() {
            let mut p = match cmds.generator.get(j).copied().flatten() {
                Some((on, kw)) => g.generator.output_kw(on, kw),
                None if g.initially_on => g.generator.min_kw,
                None => 0.0,
            };
            // No start without the grid unless it can black-start.
            if emergency && !g.black_start && st.generator_kw[j] <= 0.0 && h > 0.0 {
                p = 0.0;
            }
            if let (Some(fuel), Some(Some(left))) = (g.fuel, st.fuel_kwh.get(j).copied()) {
                // It stops when its fuel is gone (within the substep: what the store holds).
                let dt = if h > 0.0 { h } else { SUBSTEP_H };
                let most = (left + fuel.tank.refuel_kwh_per_h * dt).max(0.0) / dt * fuel.efficiency;
                if p > most + 1e-9 {
                    p = if most >= g.generator.min_kw {
                        most
                    } else {
                        0.0
                    };
                }
                if h > 0.0 {
                    st.fuel_kwh[j] = Some(
                        fuel.tank
                            .next_kwh(left, crate::fuel::fuel_kw(p, fuel.efficiency), h)
                            .max(0.0),
                    );
                }
            }
            st.generator_kw[j] = p;
            base[g.node] -= p;
        }
        // Batteries: what they are asked for (kept to the meter where they follow it).
        let mut want: Vec<f64> = spec
            .batteries
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut p = cmds.battery_kw.get(i).copied().flatten().unwrap_or(0.0);
                if b.follows_meter {
                    let need = base[b.node] - pv[b.node];
                    if p > 0.0 {
                        p = p.min(need.max(0.0));
                    } else if need < 0.0 {
                        p = p.min(need);
                    }
                }
                p
            })
            .collect();
        // (Settling, with no time passing, the powers are those of the next substep.)
        let dt = if h > 0.0 { h } else { SUBSTEP_H };
        let respond = |i: usize, p: f64, st: &State| {
            spec.batteries[i].battery.respond(st.battery_kwh[i], p, dt)
        };
        let mut demand = bare_demand(&base, &pv);
        for (i, b) in spec.batteries.iter().enumerate() {
            let r = respond(i, want[i], st);
            demand[b.node].charge_kw += r.charge_kw;
            demand[b.node].discharge_kw += r.discharge_kw;
            want[i] = r.power_kw();
        }
        let mut flows = spec.network.balance_with(&demand, &cmds.tie_kw, &out);
        let mut shed = vec![[0.0; 4]; spec.nodes.len()];
        if emergency {
            let hvac_cut = island_response(
                spec,
                st,
                &out,
                dt,
                &cmds.tie_kw,
                (&base, &pv),
                (&mut want, &mut shed, &mut demand, &mut flows),
            );
            for (i, u) in spec.hvacs.iter().enumerate() {
                if hvac_cut[i] > 0.0 {
                    // The unit tripped for part of its power: its zone follows what it drew.
                    let q = (st.hvac_kw[i] - hvac_cut[i]).max(0.0);
                    let (theta, c) = zone_start[i];
                    if h > 0.0 {
                        st.zone_c[i] = u.zone.next_temp_c(theta, q, &c, h);
                    }
                    st.hvac_kw[i] = q;
                }
            }
        }
        // Batteries held back by the network (from what they could deliver).
        for (i, b) in spec.batteries.iter().enumerate() {
            if want[i] < 0.0 {
                want[i] *= flows.charge_share[b.node];
            } else {
                want[i] *= flows.discharge_share[b.node];
            }
            let r = respond(i, want[i], st);
            if h > 0.0 {
                st.battery_kwh[i] = r.energy_kwh;
            }
            st.battery_kw[i] = r.power_kw();
            self.totals.charge_kwh[i] += r.charge_kw * h;
            self.totals.discharge_kwh[i] += r.discharge_kw * h;
        }
        for (n, s) in shed.iter().enumerate() {
            st.unserved_kw[n] = *s;
            for (total, kw) in self.totals.unserved_kwh[n].iter_mut().zip(s) {
                *total += kw * h;
            }
        }
        for (n, d) in demand.iter().enumerate() {
            let used = flows.pv_share[n] * d.pv_kw;
            let p = d.base_kw - used + flows.charge_share[n] * d.charge_kw
                - flows.discharge_share[n] * d.discharge_kw;
            st.node_kw[n] = p;
            st.node_import_kwh[n] += p.max(0.0) * h;
            st.node_export_kwh[n] += (-p).max(0.0) * h;
            self.totals.pv_used_kwh[n] += used * h;
        }
        for g in 0..st.grid_kw.len() {
            let (imp, exp) = (flows.import_kw[g], flows.export_kw[g]);
            st.grid_kw[g] = imp - exp;
            st.import_kwh[g] += imp * h;
            st.export_kwh[g] += exp * h;
            self.totals.import_kwh[g] += imp * h;
            self.totals.export_kwh[g] += exp * h;
        }
        for (i, q) in st.hvac_kw.iter().enumerate() {
            self.totals.hvac_kwh[i] += q * h;
        }
        for (j, p) in st.generator_kw.iter().enumerate() {
            self.totals.generator_kwh[j] += p * h;
        }
        for l in 0..flows.fwd_kw.len() {
            if let Some(x) = st.line_kw.get_mut(l) {
                *x = flows.fwd_kw[l] - flows.rev_kw[l];
            }
            self.totals.fwd_kwh[l] += flows.fwd_kw[l] * h;
            self.totals.rev_kwh[l] += flows.rev_kw[l] * h;
        }
        self.totals.hours += h;
        flows.violations
    }
}

/// Each node's demand from its base load and PV, before the batteries are added.
fn bare_demand(base: &[f64], pv: &[f64]) -> Vec<NodeDemand> {
    base.iter()
        .zip(pv)
        .map(|(b, p)| NodeDemand {
            base_kw: *b,
            pv_kw: *p,
            charge_kw: 0.0,
            discharge_kw: 0.0,
        })
        .collect()
}

/// Which grid connections of `spec` are out at `elapsed_h` hours.
fn grids_out(spec: &DistrictSpec, elapsed_h: f64) -> Vec<bool> {
    let mut out = vec![false; spec.network.grids().len()];
    for o in &spec.outages {
        if o.from_h <= elapsed_h + 1e-9 && elapsed_h + 1e-9 < o.until_h {
            if let Some(x) = out.get_mut(o.grid) {
                *x = true;
            }
        }
    }
    out
}

/// A node's load per class at step `k`, highest priority first (the whole load `normal`
/// when the node declares no classes).
fn classes_at(node: &NodeSpec, k: usize) -> [f64; 4] {
    match node.classes_kw.get(k).or_else(|| node.classes_kw.last()) {
        Some(c) => *c,
        None => [0.0, 0.0, at(&node.load_kw, k).max(0.0), 0.0],
    }
}

/// The smallest `x` in [0, 1] for which `ok(x)` holds, where `ok` holds for every `x`
/// above some threshold (1 if it never holds): [`crate::network::bisect`] mirrored.
fn smallest(mut ok: impl FnMut(f64) -> bool) -> f64 {
    1.0 - crate::network::bisect(|y| ok(1.0 - y))
}

/// An island (a tree whose connection is out) that the network cannot balance: its
/// batteries, as grid-forming inverters, move from what they were asked toward their
/// limit (discharging for a deficit, charging for a surplus) as far as needed; a deficit
/// left is shed — sheddable loads, then the HVAC units, then normal, critical and
/// lifeline loads — the same share of a class at every node of the island. Updates the
/// batteries' asks, the shed load, the demand and the flows; returns the power cut from
/// each HVAC unit, kW.
fn island_response(
    spec: &DistrictSpec,
    st: &State,
    out: &[bool],
    dt: f64,
    tie_kw: &[f64],
    (base, pv): (&[f64], &[f64]),
    (want, shed, demand, flows): (
        &mut Vec<f64>,
        &mut Vec<[f64; 4]>,
        &mut Vec<NodeDemand>,
        &mut Flows,
    ),
) -> Vec<f64> {
    let mut hvac_cut = vec![0.0; spec.hvacs.len()];
    // What the tie lines carry, as islands before this one held theirs back.
    let mut ties_now: Vec<f64> = (0..spec.network.lines().len())
        .map(|l| tie_kw.get(l).copied().unwrap_or(0.0))
        .collect();
    let k = (st.elapsed_h / spec.step_hours + 1e-9).floor().max(0.0) as usize;
    let violated = |f: &Flows, root_of: usize, import: bool| {
        f.violations.iter().any(|v| match v {
            Violation::Import { node, .. } => {
                import && spec.network.tree_nodes(*node)[0] == root_of
            }
            Violation::Export { node, .. } => {
                !import && spec.network.tree_nodes(*node)[0] == root_of
            }
            Violation::Line { .. } => false,
        })
    };
    for _ in 0..spec.nodes.len() + 1 {
        let Some((root, import)) = flows.violations.iter().find_map(|v| match v {
            Violation::Import { node, .. } if spec.network.tree_islanded(*node, out) => {
                Some((spec.network.tree_nodes(*node)[0], true))
            }
            Violation::Export { node, .. } if spec.network.tree_islanded(*node, out) => {
                Some((spec.network.tree_nodes(*node)[0], false))
            }
            _ => None,
        }) else {
            return hvac_cut;
        };
        let members: Vec<usize> = spec.network.tree_nodes(root).to_vec();
        let inside = |n: usize| members.contains(&n);
        let target: Vec<f64> = spec
            .batteries
            .iter()
            .map(|b| {
                if import {
                    b.battery.discharge_kw
                } else {
                    -b.battery.charge_kw
                }
            })
            .collect();
        // The demand with the island's batteries moved a share `f` toward their limit,
        // `cut[c]` of each class shed at its nodes, `cut[4]` of its HVAC units' power and
        // `cut[5]` of what its tie lines send out of it.
        let eval = |f: f64, cut: [f64; 6]| {
            let ties: Vec<f64> = spec
                .network
                .lines()
                .iter()
                .enumerate()
                .map(|(l, line)| {
                    let s = ties_now[l];
                    let sender = if s >= 0.0 { line.from } else { line.to };
                    if inside(sender) && !inside(if s >= 0.0 { line.to } else { line.from }) {
                        s * (1.0 - cut[5])
                    } else {
                        s
                    }
                })
                .collect();
            let mut d = bare_demand(base, pv);
            let mut s = shed.clone();
            let mut hc = hvac_cut.clone();
            for (i, u) in spec.hvacs.iter().enumerate() {
                if inside(u.node) {
                    hc[i] = cut[4] * st.hvac_kw[i];
                }
                d[u.node].base_kw -= hc[i];
            }
            for &n in &members {
                let classes = classes_at(&spec.nodes[n], k);
                for c in 0..4 {
                    s[n][c] = cut[c] * classes[c];
                }
            }
            // Every island's shedding so far, this one's as tried.
            for (n, dn) in d.iter_mut().enumerate() {
                dn.base_kw -= s[n].iter().sum::<f64>();
            }
            let mut w = want.clone();
            for (i, b) in spec.batteries.iter().enumerate() {
                if inside(b.node) {
                    w[i] += f * (target[i] - w[i]);
                }
                let r = b.battery.respond(st.battery_kwh[i], w[i], dt);
                d[b.node].charge_kw += r.charge_kw;
                d[b.node].discharge_kw += r.discharge_kw;
                w[i] = r.power_kw();
            }
            let fl = spec.network.balance_with(&d, &ties, out);
            (d, w, s, fl, hc, ties)
        };
        let ok = |f: f64, cut: [f64; 6]| !violated(&eval(f, cut).3, root, import);
        let mut cut = [0.0; 6];
        let f = smallest(|x| ok(x, cut));
        if import && !ok(1.0, cut) {
            // Shed: sheddable loads, HVAC, normal and critical loads, what the island
            // sends to its neighbours, its lifeline loads.
            for c in [3, 4, 2, 1, 5, 0] {
                let mut trial = cut;
                trial[c] = 1.0;
                if ok(1.0, trial) {
                    cut[c] = smallest(|x| {
                        let mut t = cut;
                        t[c] = x;
                        ok(1.0, t)
                    });
                    break;
                }
                cut[c] = 1.0;
            }
        }
        let (d, w, s, fl, hc, ties) = eval(f, cut);
        *demand = d;
        *want = w;
        *shed = s;
        hvac_cut = hc;
        ties_now = ties;
        let unchanged = violated(&fl, root, import);
        *flows = fl;
        if unchanged {
            // Nothing more the island can do: the violation stands (an island short even
            // with every load shed, or with a surplus its batteries cannot take).
            return hvac_cut;
        }
    }
    hvac_cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Grid, Line};

    /// A hub with a connection, a building with load, PV, a battery and a cooled zone, a
    /// generator at the hub.
    pub(crate) fn two_nodes() -> DistrictSpec {
        DistrictSpec {
            step_hours: 0.25,
            nodes: vec![
                NodeSpec {
                    id: "hub".into(),
                    load_kw: vec![10.0],
                    pv_kw: vec![0.0],
                    classes_kw: vec![],
                },
                NodeSpec {
                    id: "b".into(),
                    load_kw: vec![100.0, 120.0, 80.0],
                    pv_kw: vec![30.0, 40.0, 50.0],
                    classes_kw: vec![],
                },
            ],
            batteries: vec![BatterySpec {
                id: "bat".into(),
                node: 1,
                capacity_kwh: 100.0,
                battery: Battery {
                    min_kwh: 10.0,
                    max_kwh: 90.0,
                    charge_kw: 50.0,
                    discharge_kw: 50.0,
                    charge_efficiency: 0.95,
                    discharge_efficiency: 0.95,
                    self_discharge_per_hour: 0.001,
                    capacity_kwh: 100.0,
                    power_curve: None,
                    efficiency_curve: None,
                },
                initial_kwh: 50.0,
                follows_meter: false,
            }],
            hvacs: vec![HvacSpec {
                id: "ac".into(),
                node: 1,
                zone: Zone {
                    r_k_per_kw: 0.05,
                    c_kwh_per_k: 40.0,
                    cooling: true,
                    min_kw: 5.0,
                    max_kw: 100.0,
                },
                initial_temp_c: 26.0,
                outdoor_temp_c: vec![33.0, 34.0, 32.0],
                heat_gain_kw: vec![20.0],
                cop: vec![3.0],
                local_setpoint_c: vec![25.0],
                deadband_c: vec![1.0],
            }],
            generators: vec![GeneratorSpec {
                id: "gen".into(),
                node: 0,
                generator: Generator {
                    min_kw: 20.0,
                    max_kw: 80.0,
                },
                initially_on: false,
                black_start: false,
                fuel: None,
            }],
            network: Network::new(
                2,
                vec![Line {
                    from: 0,
                    to: 1,
                    capacity_kw: 500.0,
                    loss_fraction: 0.01,
                }],
                vec![Grid {
                    node: 0,
                    import_limit_kw: 1000.0,
                    export_limit_kw: 0.0,
                }],
            ),
            line_ids: vec!["line".into()],
            grid_ids: vec!["pcc".into()],
            outages: vec![],
        }
    }

    fn commands(spec: &DistrictSpec, t: usize) -> Commands {
        Commands {
            battery_kw: vec![Some([-30.0, 20.0, 40.0][t % 3])],
            hvac: vec![HvacControl::Power {
                on: t != 1,
                power_kw: 15.0 + t as f64,
            }],
            generator: vec![Some((t == 2, 50.0))],
            ..Commands::local(spec)
        }
    }

    /// The grid lost over the first step: the battery holds the island as far as it can
    /// (50 kW), the load left over is shed sheddable first, then normal, never lifeline; no
    /// import. A generator with no black start, off when the grid went, stays off; one that
    /// may start runs until its fuel is gone.
    #[test]
    fn an_island_is_held_by_its_battery_then_sheds_by_class() {
        let mut spec = two_nodes();
        spec.outages = vec![GridOutage {
            grid: 0,
            from_h: 0.0,
            until_h: 0.25,
        }];
        // Node b: 100 kW at step 0 = 20 lifeline, 50 normal, 30 sheddable.
        spec.nodes[1].classes_kw = vec![[20.0, 0.0, 50.0, 30.0], [24.0, 0.0, 60.0, 36.0]];
        let cmds = Commands {
            battery_kw: vec![Some(0.0)],
            hvac: vec![HvacControl::Power {
                on: false,
                power_kw: 0.0,
            }],
            generator: vec![Some((true, 50.0))],
            ..Commands::local(&spec)
        };
        let mut d = District::new(spec.clone());
        assert!(d.advance(0.25, &cmds).is_empty());
        let t = d.take_totals();
        assert_eq!(t.import_kwh[0], 0.0);
        // No black start: the generator, off when the grid went, did not start.
        assert_eq!(t.generator_kwh[0], 0.0);
        // The battery at its limit, 50 kW.
        assert!(
            (t.discharge_kwh[0] - 50.0 * 0.25).abs() < 1e-6,
            "{}",
            t.discharge_kwh[0]
        );
        let u = t.unserved_kwh[1];
        assert_eq!(u[0], 0.0, "lifeline kept");
        assert!((u[3] - 30.0 * 0.25).abs() < 1e-6, "sheddable first: {u:?}");
        assert!(
            u[2] > 0.0 && u[2] < 50.0 * 0.25,
            "then part of normal: {u:?}"
        );
        // The hub's own 10 kW (no classes: all normal) is shed in the same share.
        let hub = t.unserved_kwh[0];
        assert!((hub[2] / 10.0 - u[2] / 50.0).abs() < 1e-6, "{hub:?} {u:?}");

        // With black start and 5 kWh of fuel at 50 %: 2.5 kWh of electricity, then it stops.
        spec.generators[0].black_start = true;
        spec.generators[0].fuel = Some(GeneratorFuel {
            efficiency: 0.5,
            initial_kwh: 5.0,
            tank: FuelTank {
                capacity_kwh: 5.0,
                refuel_kwh_per_h: 0.0,
            },
        });
        let mut d = District::new(spec);
        assert!(d.advance(0.25, &cmds).is_empty());
        let t = d.take_totals();
        assert!(
            (t.generator_kwh[0] - 2.5).abs() < 1e-6,
            "{}",
            t.generator_kwh[0]
        );
        assert_eq!(d.state().fuel_kwh[0], Some(0.0));
        assert_eq!(d.state().generator_kw[0], 0.0);
        assert_eq!(t.import_kwh[0], 0.0);
    }

    /// One step at a time, or in one-minute ticks: the same trajectory, to the last bit.
    #[test]
    fn how_time_is_cut_does_not_change_the_trajectory() {
        let spec = two_nodes();
        let mut a = District::new(spec.clone());
        let mut b = District::new(spec.clone());
        for t in 0..3 {
            let c = commands(&spec, t);
            assert!(a.advance(0.25, &c).is_empty());
            for _ in 0..15 {
                assert!(b.advance(1.0 / 60.0, &c).is_empty());
            }
            assert_eq!(a.state(), b.state(), "step {t}");
        }
        let s = a.state();
        assert_eq!(a.step_index(), 3);
        assert_eq!(s.generator_kw, vec![50.0]);
        assert_eq!(s.hvac_kw, vec![17.0]);
    }

    /// Over a step, the energy handed over balances every node with the spec's equation, and
    /// the battery and zone follow their recursions.
    #[test]
    fn totals_balance_and_follow_the_laws() {
        let spec = two_nodes();
        let mut d = District::new(spec.clone());
        let e0 = d.state().battery_kwh[0];
        let theta0 = d.state().zone_c[0];
        let c = commands(&spec, 0);
        d.advance(0.25, &c);
        let t = d.take_totals();
        let dt = t.hours;
        assert!((dt - 0.25).abs() < 1e-12);
        let (ch, dis) = (t.charge_kwh[0] / dt, t.discharge_kwh[0] / dt);
        assert!((ch - 30.0).abs() < 1e-9 && dis == 0.0);
        // Node b: line in (fwd, with losses) + PV + discharge = load + HVAC + charge.
        let inflow = 0.99 * t.fwd_kwh[0] / dt + t.pv_used_kwh[1] / dt;
        assert!((inflow - (100.0 + 15.0 + 30.0)).abs() < 1e-9, "{inflow}");
        // Hub: import = its load + what the line takes.
        assert!((t.import_kwh[0] / dt - (10.0 + t.fwd_kwh[0] / dt)).abs() < 1e-9);
        // Self-discharge acts continuously (on the energy charged during the step too):
        // within sd·Δ of the step's charged energy of the step recursion.
        let b = &spec.batteries[0].battery;
        let e1 = b.next_energy_kwh(e0, ch, dis, dt);
        let bound = b.self_discharge_per_hour * dt * b.charge_efficiency * ch * dt;
        let e = d.state().battery_kwh[0];
        assert!(e <= e1 && e1 - e <= bound, "{e} vs {e1}");
        let z = &spec.hvacs[0].zone;
        let c0 = Conditions {
            outdoor_c: 33.0,
            gain_kw: 20.0,
            cop: 3.0,
        };
        assert!((d.state().zone_c[0] - z.next_temp_c(theta0, 15.0, &c0, dt)).abs() < 1e-9);
        assert!((d.state().import_kwh[0] - t.import_kwh[0]).abs() < 1e-12);
    }

    #[test]
    fn left_alone_the_units_keep_their_own_settings() {
        let spec = two_nodes();
        let mut d = District::new(spec.clone());
        d.advance(1.0, &Commands::local(&spec));
        let s = d.state();
        assert_eq!(s.battery_kw, vec![0.0]);
        assert_eq!(s.generator_kw, vec![0.0]);
        assert!((s.zone_c[0] - 25.0).abs() < 0.05, "{}", s.zone_c[0]);
    }
}
