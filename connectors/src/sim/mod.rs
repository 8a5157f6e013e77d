//! [`Simulator`]: the district's devices, served over Modbus TCP from their profiles, with
//! simple physics; what tests, demos and new users run instead of hardware.
//!
//! - One Modbus TCP server (tokio-modbus) per `host:port` of the `devices.toml`, answering
//!   for every unit id behind it; port 0 binds an ephemeral port ([`Simulator::devices`]
//!   gives the file's devices with the ports actually bound).
//! - Each device's registers are laid out by its profile. Reads of unmapped registers,
//!   writes to registers not declared writable and values outside a setpoint's limits are
//!   answered with Modbus exceptions, as a strict device would.
//! - Physics ([`physics`]): batteries integrate power with efficiencies and limits, zones
//!   follow the RC model under a thermostat, generators follow start/stop and setpoint, and
//!   meters sum their nodes. A device obeys its setpoints only while under remote control
//!   (its profile's `acquire` values hold) and while the setpoints are fresh (rewritten
//!   within 2 × `refresh_s`); otherwise it runs on its own (battery idle, thermostat at the
//!   local setpoint, generator as it was).
//! - Time is simulated: [`Simulator::step`] advances it by hand (tests),
//!   [`Simulator::run_clock`] with a speed factor (demos: `--speed 60` runs an hour a
//!   minute).
//! - Faults ([`Fault`]) make a unit time out, answer with an exception, or close the
//!   connection, to test the client's behaviour; [`Simulator::set_grid_lost`] opens a
//!   connection's PCC breaker (the district islands; its meter reports `grid_available` 0).
//! - A tie line's switch (`line` profiles) carries the flow set while it is closed, under
//!   remote control and fresh; otherwise it is open.
//! - [`Simulator::publish_telemetry`] publishes each asset's readings over MQTT.

pub mod config;
mod echonet;
mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

pub use config::{Metered, SimConfig, SimMeter};

use crate::devices::{DeviceEntry, DevicesConfig};
use crate::error::ConfigError;
use crate::mqtt::{MqttLink, Topics};
use crate::profile::{DeviceFamily, Profile, RegisterKind};
use crate::telemetry::Reading;
use physics::device::Quantity;
use physics::{Battery, Commands, District, HvacControl};

/// A fault injected into one simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Requests get no answer (the client times out).
    NoResponse,
    /// Requests are answered with this Modbus exception code.
    Exception(u8),
    /// The next request closes the TCP connection instead of answering.
    CloseConnection,
}

/// Why the simulator cannot start.
#[derive(Debug)]
pub enum SimError {
    /// The devices file does not fit the district.
    Config(ConfigError),
    /// A server could not bind its endpoint.
    Bind {
        /// `host:port`.
        endpoint: String,
        /// The error.
        message: String,
    },
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Config(e) => write!(f, "{e}"),
            SimError::Bind { endpoint, message } => write!(f, "cannot serve {endpoint}: {message}"),
        }
    }
}

impl std::error::Error for SimError {}

/// Which physical model a device shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    Battery(usize),
    Hvac(usize),
    Generator(usize),
    Meter(usize),
    /// A line (index into the district's lines).
    Line(usize),
    /// A node's PV (index into the district's nodes).
    Pv(usize),
}

/// One simulated device: its registers and its link to the physics.
#[derive(Debug)]
pub(crate) struct SimDevice {
    entry: DeviceEntry,
    model: Model,
    bank: BTreeMap<(RegisterKind, u16), u16>,
    /// Wall-clock time of the last write, per writable point.
    last_write: BTreeMap<String, Instant>,
    fault: Option<Fault>,
    writes: u64,
}

impl SimDevice {
    fn profile(&self) -> &Profile {
        &self.entry.profile
    }

    fn words(&self, kind: RegisterKind, address: u16, count: u16) -> Option<Vec<u16>> {
        (0..count)
            .map(|i| {
                let a = address.checked_add(i)?;
                self.bank.get(&(kind, a)).copied()
            })
            .collect()
    }

    fn scale_factor(&self, name: &Option<String>) -> Option<i16> {
        let p = self.profile().telemetry_point(name.as_ref()?)?;
        let w = self.words(p.register.kind, p.register.address, p.register.len())?;
        p.decode(&w, None).map(|v| v as i16)
    }

    /// The present value of a point (telemetry or setpoint) named `name`.
    fn value(&self, name: &str) -> Option<f64> {
        let p = self
            .profile()
            .setpoint(name)
            .map(|s| &s.point)
            .or_else(|| self.profile().telemetry_point(name))?;
        let w = self.words(p.register.kind, p.register.address, p.register.len())?;
        p.decode(&w, self.scale_factor(&p.scale_factor))
    }

    /// Stores `value` in the telemetry point `name`, if the profile has it.
    fn set(&mut self, name: &str, value: f64) {
        let Some(p) = self.profile().telemetry_point(name).cloned() else {
            return;
        };
        let sf = self.scale_factor(&p.scale_factor);
        let words = match p.encode(value, sf) {
            Ok(w) => w,
            Err(_) => match p.not_available.first() {
                Some(bits) => p.register.words_of(*bits),
                None => return,
            },
        };
        for (i, w) in words.into_iter().enumerate() {
            self.bank.insert(
                (p.register.kind, p.register.address.wrapping_add(i as u16)),
                w,
            );
        }
    }

    /// Stores `value` in the telemetry point `name` as a broken sensor would: a finite value
    /// as [`SimDevice::set`] does; NaN or ±inf as that bit pattern in an `f32` register, else
    /// as the point's first "not available" pattern (integers cannot hold NaN).
    fn set_raw_value(&mut self, name: &str, value: f64) {
        if value.is_finite() {
            self.set(name, value);
            return;
        }
        let Some(p) = self.profile().telemetry_point(name).cloned() else {
            return;
        };
        let words = if p.register.data_type == crate::profile::DataType::F32 {
            p.register.words_of(u64::from((value as f32).to_bits()))
        } else if p.register.data_type == crate::profile::DataType::F64 {
            p.register.words_of(value.to_bits())
        } else {
            match p.not_available.first() {
                Some(bits) => p.register.words_of(*bits),
                None => return,
            }
        };
        for (i, w) in words.into_iter().enumerate() {
            self.bank.insert(
                (p.register.kind, p.register.address.wrapping_add(i as u16)),
                w,
            );
        }
    }

    /// Whether every `acquire` point holds its acquire value.
    fn under_control(&self) -> bool {
        self.profile().acquire.iter().all(|s| {
            self.value(&s.point)
                .is_some_and(|v| (v - s.value).abs() < 1e-9)
        })
    }

    /// The value of setpoint `name` if it was written and is still fresh (written within
    /// 2 × `refresh_s` when the point has a refresh period).
    fn fresh(&self, name: &str, now: Instant) -> Option<f64> {
        let sp = self.profile().setpoint(name)?;
        let at = self.last_write.get(name)?;
        if let Some(r) = sp.refresh_s {
            if now.duration_since(*at).as_secs_f64() > 2.0 * r {
                return None;
            }
        }
        self.value(name)
    }

    /// A write request: only declared writable registers, whole points, within limits.
    fn write(&mut self, kind: RegisterKind, address: u16, words: &[u16]) -> Result<(), u8> {
        let count = words.len() as u16;
        if !self.profile().is_writable_range(kind, address, count) {
            return Err(0x02); // illegal data address
        }
        // Check every point's value before storing any.
        let mut a = address;
        let mut names = Vec::new();
        while u32::from(a) < u32::from(address) + u32::from(count) {
            let sp = self
                .profile()
                .setpoints
                .iter()
                .find(|s| s.point.register.kind == kind && s.point.register.address == a)
                .cloned()
                .ok_or(0x02u8)?;
            let off = usize::from(a - address);
            let w = &words[off..off + usize::from(sp.point.register.len())];
            let v = sp
                .point
                .decode(w, self.scale_factor(&sp.point.scale_factor))
                .ok_or(0x03u8)?;
            let tol = 1e-9 * sp.max.abs().max(1.0);
            if v < sp.min - tol || v > sp.max + tol {
                return Err(0x03); // illegal data value
            }
            names.push(sp.point.name.clone());
            a = a.wrapping_add(sp.point.register.len());
        }
        for (i, w) in words.iter().enumerate() {
            self.bank.insert((kind, address.wrapping_add(i as u16)), *w);
        }
        let now = Instant::now();
        for n in names {
            self.last_write.insert(n, now);
        }
        self.writes += 1;
        Ok(())
    }
}

/// The simulated district and the devices that show it.
#[derive(Debug)]
pub(crate) struct World {
    config: SimConfig,
    district: District,
    pub(crate) devices: Vec<SimDevice>,
    /// ECHONET Lite objects.
    pub(crate) echonet: Vec<echonet::EchoObject>,
    /// Sensor faults: (asset, telemetry point) → the value served instead of the physics'.
    overrides: BTreeMap<(String, String), f64>,
    /// Physical problems already logged (logged once each).
    warned: usize,
}

impl World {
    fn now(&self) -> DateTime<FixedOffset> {
        self.config.start
            + chrono::Duration::milliseconds(
                (self.district.state().elapsed_h * 3.6e6).round() as i64
            )
    }

    fn device_of(&self, model: Model) -> Option<&SimDevice> {
        self.devices.iter().find(|d| d.model == model)
    }

    fn echonet_of(&self, model: Model) -> Option<&echonet::EchoObject> {
        self.echonet.iter().find(|d| d.model == model)
    }

    /// What the devices' registers tell the district's units to do.
    fn commands(&self) -> Commands {
        let now = Instant::now();
        let spec = self.district.spec();
        let mut c = Commands::local(spec);
        for (i, b) in spec.batteries.iter().enumerate() {
            c.battery_kw[i] = match self.device_of(Model::Battery(i)) {
                Some(d) => battery_command(d, &b.battery, now),
                None => self
                    .echonet_of(Model::Battery(i))
                    .and_then(|o| o.battery_command()),
            };
        }
        for (i, h) in spec.hvacs.iter().enumerate() {
            c.hvac[i] = match self.device_of(Model::Hvac(i)) {
                Some(d) if d.under_control() => {
                    let on = d.value(Quantity::On.name()).unwrap_or(1.0) >= 0.5;
                    match d.fresh(Quantity::PowerKw.name(), now) {
                        Some(power_kw) => HvacControl::Power { on, power_kw },
                        None => HvacControl::Setpoint {
                            on,
                            setpoint_c: d.value(Quantity::ZoneSetpointC.name()).unwrap_or_else(
                                || h.local_setpoint_c.first().copied().unwrap_or(25.0),
                            ),
                        },
                    }
                }
                Some(_) => HvacControl::Local,
                None => match self.echonet_of(Model::Hvac(i)) {
                    Some(o) => o.hvac_control(h.local_setpoint_c.first().copied().unwrap_or(25.0)),
                    None => HvacControl::Local,
                },
            };
        }
        for (l, x) in c.tie_kw.iter_mut().enumerate() {
            *x = self
                .device_of(Model::Line(l))
                .and_then(|d| line_command(d, now))
                .unwrap_or(0.0);
        }
        for (i, g) in spec.generators.iter().enumerate() {
            c.generator[i] = match self.device_of(Model::Generator(i)) {
                Some(d) if d.under_control() => Some((
                    d.value(Quantity::On.name()).unwrap_or(0.0) >= 0.5,
                    d.value(Quantity::PowerKw.name())
                        .unwrap_or(g.generator.min_kw),
                )),
                _ => None,
            };
        }
        c
    }

    /// Advances the district by `dt_h` hours under what the registers say (0: applies them
    /// at once), and refreshes the registers.
    fn advance(&mut self, dt_h: f64) {
        let cmds = self.commands();
        if dt_h <= 0.0 {
            // New setpoints take effect at once.
            let _ = self.district.settle(&cmds);
        } else {
            let trouble = self.district.advance(dt_h, &cmds);
            if self.warned < 10 {
                for t in trouble.iter().take(10 - self.warned) {
                    tracing::warn!(target: "aems::sim", elapsed_h = t.elapsed_h, "the simulated network cannot do it: {:?}", t.violation);
                }
                self.warned += trouble.len().min(10);
            }
        }
        self.write_registers();
    }

    /// Writes the physics' values into the devices' telemetry registers.
    fn write_registers(&mut self) {
        let st = self.district.state();
        let now = Instant::now();
        let closed: Vec<bool> = (0..st.line_kw.len())
            .map(|l| {
                self.device_of(Model::Line(l))
                    .is_some_and(|d| line_command(d, now).is_some())
            })
            .collect();
        for di in 0..self.devices.len() {
            let model = self.devices[di].model;
            let values = self.model_values(model, &closed);
            let d = &mut self.devices[di];
            for (name, v) in values {
                // A register that is also a setpoint's belongs to the AEMS, not the physics.
                let owned = d.profile().telemetry_point(name).is_some_and(|t| {
                    d.profile()
                        .setpoints
                        .iter()
                        .any(|s| s.point.register == t.register)
                });
                if !owned {
                    d.set(name, v);
                }
            }
            let asset = d.entry.asset.clone();
            for ((a, name), v) in &self.overrides {
                if *a == asset {
                    d.set_raw_value(name, *v);
                }
            }
        }
        for oi in 0..self.echonet.len() {
            let values = self.model_values(self.echonet[oi].model, &closed);
            let o = &mut self.echonet[oi];
            for (name, v) in values {
                o.set_quantity(name, v);
            }
            let asset = o.entry.asset.clone();
            for ((a, name), v) in &self.overrides {
                if *a == asset {
                    o.set_quantity(name, *v);
                }
            }
        }
    }

    /// What the physics says of a device of `model`: quantity name → value.
    fn model_values(&self, model: Model, closed: &[bool]) -> Vec<(&'static str, f64)> {
        let k = self.district.step_index();
        let spec = self.district.spec();
        let st = self.district.state();
        let out = self.district.grid_out(st.elapsed_h);
        let status = |p: f64, charging: f64, discharging: f64, idle: f64| {
            if p > 1e-9 {
                discharging
            } else if p < -1e-9 {
                charging
            } else {
                idle
            }
        };
        match model {
            Model::Battery(i) => {
                let b = &spec.batteries[i];
                let p = st.battery_kw[i];
                vec![
                    (
                        Quantity::SocPct.name(),
                        100.0 * st.battery_kwh[i] / b.capacity_kwh.max(1e-9),
                    ),
                    (Quantity::EnergyKwh.name(), st.battery_kwh[i]),
                    (Quantity::PowerKw.name(), p),
                    (Quantity::MaxChargeKw.name(), b.battery.charge_kw),
                    ("max_discharge_kw", b.battery.discharge_kw),
                    ("status_code", status(p, 1.0, 2.0, 0.0)),
                    ("charge_status", status(p, 4.0, 3.0, 6.0)),
                ]
            }
            Model::Hvac(i) => {
                let h = &spec.hvacs[i];
                let outdoor = h
                    .outdoor_temp_c
                    .get(k)
                    .or(h.outdoor_temp_c.last())
                    .copied()
                    .unwrap_or(f64::NAN);
                vec![
                    (Quantity::ZoneTempC.name(), st.zone_c[i]),
                    (Quantity::PowerKw.name(), st.hvac_kw[i]),
                    (
                        Quantity::Running.name(),
                        if st.hvac_kw[i] > 1e-9 { 1.0 } else { 0.0 },
                    ),
                    ("outdoor_temp_c", outdoor),
                ]
            }
            Model::Generator(i) => {
                let run = st.generator_kw[i] > 1e-9;
                vec![
                    (Quantity::PowerKw.name(), st.generator_kw[i]),
                    (Quantity::Running.name(), if run { 1.0 } else { 0.0 }),
                    ("state_code", if run { 2.0 } else { 0.0 }),
                ]
            }
            Model::Meter(i) => {
                let (p, imp, exp, available) = match self.config.meters[i].of {
                    Metered::Grid(g) => (
                        st.grid_kw[g],
                        st.import_kwh[g],
                        st.export_kwh[g],
                        !out.get(g).copied().unwrap_or(false),
                    ),
                    Metered::Node(n) => (
                        st.node_kw[n],
                        st.node_import_kwh[n],
                        st.node_export_kwh[n],
                        true,
                    ),
                };
                vec![
                    (Quantity::PowerKw.name(), p),
                    (Quantity::ImportKwh.name(), imp),
                    (Quantity::ExportKwh.name(), exp),
                    (
                        Quantity::GridAvailable.name(),
                        if available { 1.0 } else { 0.0 },
                    ),
                ]
            }
            Model::Line(l) => vec![
                (
                    Quantity::PowerKw.name(),
                    st.line_kw.get(l).copied().unwrap_or(0.0),
                ),
                (Quantity::Closed.name(), if closed[l] { 1.0 } else { 0.0 }),
            ],
            Model::Pv(n) => {
                let pv = &spec.nodes[n].pv_kw;
                vec![("pv_kw", pv.get(k).or(pv.last()).copied().unwrap_or(0.0))]
            }
        }
    }

    /// The physics' own values of `asset` (for tests and the console).
    fn state_of(&self, asset: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let model = match self.devices.iter().find(|d| d.entry.asset == asset) {
            Some(d) => d.model,
            None => match self.echonet.iter().find(|o| o.entry.asset == asset) {
                Some(o) => o.model,
                None => return out,
            },
        };
        let st = self.district.state();
        let mut put = |q: Quantity, v: f64| {
            out.insert(q.name().to_string(), v);
        };
        match model {
            Model::Pv(n) => {
                let pv = &self.district.spec().nodes[n].pv_kw;
                let k = self.district.step_index();
                out.insert(
                    "pv_kw".into(),
                    pv.get(k).or(pv.last()).copied().unwrap_or(0.0),
                );
            }
            Model::Battery(i) => {
                put(Quantity::EnergyKwh, st.battery_kwh[i]);
                put(Quantity::PowerKw, st.battery_kw[i]);
            }
            Model::Hvac(i) => {
                put(Quantity::ZoneTempC, st.zone_c[i]);
                put(Quantity::PowerKw, st.hvac_kw[i]);
            }
            Model::Generator(i) => put(Quantity::PowerKw, st.generator_kw[i]),
            Model::Line(l) => put(Quantity::PowerKw, st.line_kw.get(l).copied().unwrap_or(0.0)),
            Model::Meter(i) => match self.config.meters[i].of {
                Metered::Grid(g) => {
                    put(Quantity::PowerKw, st.grid_kw[g]);
                    put(Quantity::ImportKwh, st.import_kwh[g]);
                    put(Quantity::ExportKwh, st.export_kwh[g]);
                }
                Metered::Node(n) => {
                    put(Quantity::PowerKw, st.node_kw[n]);
                    put(Quantity::ImportKwh, st.node_import_kwh[n]);
                    put(Quantity::ExportKwh, st.node_export_kwh[n]);
                }
            },
        }
        out
    }
}

/// The power a battery device is commanded to deliver (+ discharging), kW; `None` when it
/// is on its own control.
fn battery_command(d: &SimDevice, b: &Battery, now: Instant) -> Option<f64> {
    if !d.under_control() {
        return None;
    }
    if d.profile().setpoint(Quantity::PowerKw.name()).is_some() {
        return Some(d.fresh(Quantity::PowerKw.name(), now).unwrap_or(0.0));
    }
    // SunSpec model 124: a window [−charge limit, +discharge limit] in % of WChaMax
    // around the device's own target (idle).
    let (ch_q, dis_q) = (
        Quantity::ChargeRatePct.name(),
        Quantity::DischargeRatePct.name(),
    );
    if d.profile().setpoint(ch_q).is_some() || d.profile().setpoint(dis_q).is_some() {
        let wmax = b.charge_kw;
        let mode = d.value("storage_control_mode").unwrap_or(0.0) as u16;
        let dis = match d.fresh(dis_q, now) {
            Some(pct) if mode & 2 != 0 => pct / 100.0 * wmax,
            _ => wmax,
        };
        let ch = match d.fresh(ch_q, now) {
            Some(pct) if mode & 1 != 0 => pct / 100.0 * wmax,
            _ => wmax,
        };
        if -ch > dis {
            return Some(0.0);
        }
        return Some(0.0f64.clamp(-ch, dis));
    }
    Some(0.0)
}

/// The flow a line's switch is told to carry (+ from → to), kW; `None` when it is open:
/// not under remote control, not told to close, or its commands are no longer fresh.
fn line_command(d: &SimDevice, now: Instant) -> Option<f64> {
    if !d.under_control() {
        return None;
    }
    let closed = match d.profile().setpoint(Quantity::Closed.name()) {
        Some(_) => d.fresh(Quantity::Closed.name(), now)? >= 0.5,
        None => true,
    };
    if !closed {
        return None;
    }
    match d.profile().setpoint(Quantity::PowerKw.name()) {
        Some(_) => d.fresh(Quantity::PowerKw.name(), now),
        None => Some(0.0),
    }
}

/// What the simulated district went through, as its physics counted it (not what any
/// device reports): for tests and for the record of a simulated run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IslandReport {
    /// Simulated time.
    pub time: DateTime<FixedOffset>,
    /// Grid connections out now.
    pub grids_out: Vec<String>,
    /// Per node: load shed since the start per class (lifeline, critical, normal,
    /// sheddable), kWh.
    pub unserved_kwh: BTreeMap<String, [f64; 4]>,
    /// Per node: load shed now per class, kW.
    pub unserved_kw: BTreeMap<String, [f64; 4]>,
    /// Per line: flow now, kW (+ from → to).
    pub line_kw: BTreeMap<String, f64>,
}

/// A running simulator. Dropping it stops its servers and tasks.
#[derive(Debug)]
pub struct Simulator {
    world: Arc<Mutex<World>>,
    devices: DevicesConfig,
    servers: Vec<server::ServerHandle>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The physics model of the `family` device `asset` in `config`, if the district has one.
fn model_of(config: &SimConfig, family: DeviceFamily, asset: &str) -> Option<Model> {
    let spec = &config.spec;
    match family {
        DeviceFamily::Battery => {
            (spec.batteries.iter().position(|b| b.id == asset)).map(Model::Battery)
        }
        DeviceFamily::Hvac => spec
            .hvacs
            .iter()
            .position(|h| h.id == asset)
            .map(Model::Hvac),
        DeviceFamily::Generator => {
            (spec.generators.iter().position(|g| g.id == asset)).map(Model::Generator)
        }
        DeviceFamily::Meter => config
            .meters
            .iter()
            .position(|m| m.id == asset)
            .map(Model::Meter),
        DeviceFamily::Line => spec
            .line_ids
            .iter()
            .position(|id| id == asset)
            .map(Model::Line),
    }
}

impl Simulator {
    /// Lays out every device of `devices` over the district `config` and starts serving.
    /// Each device's asset must be a battery, HVAC unit, generator or meter of `config`
    /// matching its profile's family.
    pub async fn start(config: SimConfig, devices: &DevicesConfig) -> Result<Self, SimError> {
        let mut sim_devices = Vec::new();
        for (i, e) in devices.devices.iter().enumerate() {
            let model = model_of(&config, e.profile.family, &e.asset);
            let asset_error = |reason: String| {
                SimError::Config(ConfigError {
                    file: devices.path.clone(),
                    line: None,
                    table: Some(format!("[[device]] #{i} ('{}')", e.asset)),
                    field: Some("asset".into()),
                    reason,
                })
            };
            if let Some(Model::Line(l)) = model {
                if !config.spec.network.ties().contains(&l) {
                    return Err(asset_error(format!(
                        "line '{}' is not a tie line (the network fixes its flow): a switch there has nothing to set",
                        e.asset
                    )));
                }
            }
            let Some(model) = model else {
                return Err(asset_error(format!(
                    "the district has no {} '{}' (profile '{}' is a {} profile)",
                    e.profile.family.name(),
                    e.asset,
                    e.profile.name,
                    e.profile.family.name()
                )));
            };
            sim_devices.push(SimDevice {
                entry: e.clone(),
                model,
                bank: initial_bank(&e.profile, model, &config),
                last_write: BTreeMap::new(),
                fault: None,
                writes: 0,
            });
        }
        let mut echo_objects = Vec::new();
        for (i, e) in devices.echonet_devices.iter().enumerate() {
            // A class of a device family is laid out as a Modbus device of it; PV (no
            // family the controller commands) is its node's arrays.
            let model = match e.class.family.device_family() {
                Some(f) => model_of(&config, f, &e.asset),
                None => config
                    .spec
                    .nodes
                    .iter()
                    .position(|n| n.id == e.asset)
                    .map(Model::Pv),
            };
            let Some(model) = model else {
                return Err(SimError::Config(ConfigError {
                    file: devices.path.clone(),
                    line: None,
                    table: Some(format!("ECHONET [[device]] #{i} ('{}')", e.asset)),
                    field: Some("asset".into()),
                    reason: format!(
                        "the district has no {} '{}' (ECHONET class '{}')",
                        echonet::family_name(e.class.family),
                        e.asset,
                        e.class.name
                    ),
                }));
            };
            let local = match model {
                Model::Hvac(h) => config.spec.hvacs[h].local_setpoint_c.first().copied(),
                _ => None,
            };
            echo_objects.push(echonet::EchoObject::new(e.clone(), model, local));
        }
        let world = World {
            district: District::new(config.spec.clone()),
            overrides: BTreeMap::new(),
            echonet: echo_objects,
            devices: sim_devices,
            config,
            warned: 0,
        };
        let world = Arc::new(Mutex::new(world));
        lock(&world).advance(0.0);

        // One server per configured endpoint.
        let mut endpoints: Vec<String> = devices.devices.iter().map(|d| d.endpoint()).collect();
        endpoints.sort();
        endpoints.dedup();
        let mut servers = Vec::new();
        let mut actual = devices.clone();
        for ep in endpoints {
            let handle =
                server::serve(world.clone(), &ep)
                    .await
                    .map_err(|message| SimError::Bind {
                        endpoint: ep.clone(),
                        message,
                    })?;
            for d in actual.devices.iter_mut().filter(|d| d.endpoint() == ep) {
                d.port = handle.addr.port();
                d.host = handle.addr.ip().to_string();
            }
            servers.push(handle);
        }
        // One UDP socket (one ECHONET node) per ECHONET endpoint.
        let mut tasks = Vec::new();
        let mut echo_endpoints: Vec<String> = devices
            .echonet_devices
            .iter()
            .map(|d| d.endpoint())
            .collect();
        echo_endpoints.sort();
        echo_endpoints.dedup();
        for ep in echo_endpoints {
            let assets: Vec<String> = devices
                .echonet_devices
                .iter()
                .filter(|d| d.endpoint() == ep)
                .map(|d| d.asset.clone())
                .collect();
            let (addr, task) =
                echonet::serve(world.clone(), &ep, assets)
                    .await
                    .map_err(|message| SimError::Bind {
                        endpoint: ep.clone(),
                        message,
                    })?;
            for d in actual
                .echonet_devices
                .iter_mut()
                .filter(|d| d.endpoint() == ep)
            {
                d.port = addr.port();
                d.host = addr.ip().to_string();
            }
            tasks.push(task);
        }
        Ok(Self {
            world,
            devices: actual,
            servers,
            tasks,
        })
    }

    /// The devices file with the host and port each device is actually served on.
    pub fn devices(&self) -> &DevicesConfig {
        &self.devices
    }

    /// The address `asset` is served on.
    pub fn addr_of(&self, asset: &str) -> Option<SocketAddr> {
        match self.devices.device(asset) {
            Some(d) => format!("{}:{}", d.host, d.port).parse().ok(),
            None => self.devices.echonet_device(asset)?.addr().ok(),
        }
    }

    /// Simulated time.
    pub fn now(&self) -> DateTime<FixedOffset> {
        lock(&self.world).now()
    }

    /// Advances simulated time by `dt` (a manual clock, for tests and external drivers).
    pub fn step(&self, dt: Duration) {
        lock(&self.world).advance(dt.as_secs_f64() / 3600.0);
    }

    /// Runs the clock: every `tick` of real time, simulated time advances by
    /// `tick × speed`.
    pub fn run_clock(&mut self, speed: f64, tick: Duration) {
        let world = self.world.clone();
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        self.tasks.push(tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = tokio::time::Instant::now();
            loop {
                interval.tick().await;
                let now = tokio::time::Instant::now();
                let dt = now.duration_since(last).as_secs_f64() * speed / 3600.0;
                last = now;
                lock(&world).advance(dt);
            }
        }));
    }

    /// Publishes every asset's readings (decoded from its registers, as a Modbus client
    /// would read them) over `link` every `every` of real time, on
    /// `aems/v1/<district>/<asset>/telemetry` (QoS 0).
    pub fn publish_telemetry(&mut self, link: Arc<MqttLink>, every: Duration) {
        let world = self.world.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                let messages: Vec<(String, String)> = {
                    let w = lock(&world);
                    let time = w.now();
                    w.devices
                        .iter()
                        .map(|d| {
                            let values = d.profile().decode_all(&|k, a, n| d.words(k, a, n));
                            let topics = Topics::new(&w.config.district);
                            let msg = crate::mqtt::TelemetryMessage::new(
                                &d.entry.asset,
                                time.with_timezone(&chrono::Utc),
                                values,
                            );
                            (topics.telemetry(&d.entry.asset), msg.to_json())
                        })
                        .collect()
                };
                for (topic, payload) in messages {
                    link.publish_telemetry_raw(&topic, payload);
                }
            }
        }));
    }

    /// Loses the grid connection `grid` (its PCC breaker opens: no import, no export; its
    /// meter reports `grid_available` 0), or gives it back with `lost` false.
    pub fn set_grid_lost(&self, grid: &str, lost: bool) -> Result<(), String> {
        let mut w = lock(&self.world);
        let g = w
            .district
            .spec()
            .grid_ids
            .iter()
            .position(|id| id == grid)
            .ok_or_else(|| {
                format!(
                    "no grid connection '{grid}' in the simulated district (it has: {})",
                    w.district.spec().grid_ids.join(", ")
                )
            })?;
        w.district.set_grid_lost(g, lost);
        w.advance(0.0);
        Ok(())
    }

    /// The grid connections of the simulated district.
    pub fn grid_ids(&self) -> Vec<String> {
        lock(&self.world).district.spec().grid_ids.clone()
    }

    /// What the simulated district went through so far (its physics' own count).
    pub fn island_report(&self) -> IslandReport {
        let w = lock(&self.world);
        let spec = w.district.spec();
        let st = w.district.state();
        let totals = w.district.totals();
        let out = w.district.grid_out(st.elapsed_h);
        let by_node = |v: &[[f64; 4]]| -> BTreeMap<String, [f64; 4]> {
            spec.nodes
                .iter()
                .zip(v)
                .map(|(n, u)| (n.id.clone(), *u))
                .collect()
        };
        IslandReport {
            time: w.now(),
            grids_out: spec
                .grid_ids
                .iter()
                .zip(&out)
                .filter(|(_, o)| **o)
                .map(|(id, _)| id.clone())
                .collect(),
            unserved_kwh: by_node(&totals.unserved_kwh),
            unserved_kw: by_node(&st.unserved_kw),
            line_kw: spec
                .line_ids
                .iter()
                .cloned()
                .zip(st.line_kw.iter().copied())
                .collect(),
        }
    }

    /// Makes `asset` misbehave (or behave again, with `None`).
    pub fn set_fault(&self, asset: &str, fault: Option<Fault>) -> Result<(), String> {
        let mut w = lock(&self.world);
        let d = w
            .devices
            .iter_mut()
            .find(|d| d.entry.asset == asset)
            .ok_or_else(|| format!("no simulated device '{asset}'"))?;
        d.fault = fault;
        Ok(())
    }

    /// Makes a sensor of `asset` report `value` for its telemetry point `quantity` instead of
    /// the physics (or report the physics again, with `None`): a stuck or broken sensor.
    /// NaN and ±inf reach the wire as that IEEE 754 pattern in an `f32` register (the
    /// client decodes it as "not available"), and as the point's "not available" pattern in
    /// integer registers. The physics itself is unchanged.
    pub fn override_reading(
        &self,
        asset: &str,
        quantity: &str,
        value: Option<f64>,
    ) -> Result<(), String> {
        let mut w = lock(&self.world);
        let d = w
            .devices
            .iter()
            .find(|d| d.entry.asset == asset)
            .ok_or_else(|| format!("no simulated device '{asset}'"))?;
        if d.profile().telemetry_point(quantity).is_none() {
            return Err(format!(
                "'{quantity}' is not a telemetry point of '{asset}' (profile '{}')",
                d.profile().name
            ));
        }
        let key = (asset.to_string(), quantity.to_string());
        match value {
            Some(v) => w.overrides.insert(key, v),
            None => w.overrides.remove(&key),
        };
        w.write_registers();
        Ok(())
    }

    /// Number of write requests `asset` accepted.
    pub fn write_count(&self, asset: &str) -> u64 {
        let w = lock(&self.world);
        w.devices
            .iter()
            .find(|d| d.entry.asset == asset)
            .map(|d| d.writes)
            .or_else(|| {
                w.echonet
                    .iter()
                    .find(|o| o.entry.asset == asset)
                    .map(|o| o.writes)
            })
            .unwrap_or(0)
    }

    /// The readings of `asset` as its profile decodes its registers right now.
    pub fn readings(&self, asset: &str) -> BTreeMap<String, Reading> {
        let w = lock(&self.world);
        w.devices
            .iter()
            .find(|d| d.entry.asset == asset)
            .map(|d| d.profile().decode_all(&|k, a, n| d.words(k, a, n)))
            .or_else(|| {
                w.echonet
                    .iter()
                    .find(|o| o.entry.asset == asset)
                    .map(|o| o.readings())
            })
            .unwrap_or_default()
    }

    /// The physics' own state of `asset` (energy, power, zone temperature...).
    pub fn physics(&self, asset: &str) -> BTreeMap<String, f64> {
        lock(&self.world).state_of(asset)
    }

    /// Stops serving: closes the listeners and every open connection.
    pub async fn shutdown(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        for s in self.servers.drain(..) {
            s.stop().await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for s in &self.servers {
            s.abort();
        }
    }
}

pub(crate) fn lock(world: &Arc<Mutex<World>>) -> MutexGuard<'_, World> {
    // The physics never panics half-way through an update it cares about; use the state
    // as it is rather than stop serving.
    world.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers at start: identification words, setpoints at their released (local) values,
/// constants from `sim_value`, the rest 0 until the physics fills them.
fn initial_bank(
    profile: &Profile,
    model: Model,
    config: &SimConfig,
) -> BTreeMap<(RegisterKind, u16), u16> {
    let mut bank = BTreeMap::new();
    // Registers inside a declared block but of no point read as 0, as on most devices.
    for b in &profile.blocks {
        for i in 0..b.count {
            bank.insert((b.kind, b.start.wrapping_add(i)), 0);
        }
    }
    for id in &profile.identify {
        for (i, w) in id.words.iter().enumerate() {
            bank.insert((id.kind, id.address.wrapping_add(i as u16)), *w);
        }
    }
    // Scale factors first, so that scaled points encode with them.
    let put = |bank: &mut BTreeMap<(RegisterKind, u16), u16>, p: &crate::profile::Point, v: f64| {
        let sf = p
            .scale_factor
            .as_ref()
            .and_then(|n| profile.telemetry_point(n))
            .and_then(|sfp| {
                let w: Option<Vec<u16>> = (0..sfp.register.len())
                    .map(|i| {
                        bank.get(&(sfp.register.kind, sfp.register.address + i))
                            .copied()
                    })
                    .collect();
                sfp.decode(&w?, None).map(|x| x as i16)
            });
        let words = p
            .encode(v, sf)
            .or_else(|_| p.encode(0.0, sf))
            .unwrap_or_else(|_| vec![0; usize::from(p.register.len())]);
        for (i, w) in words.into_iter().enumerate() {
            bank.insert(
                (p.register.kind, p.register.address.wrapping_add(i as u16)),
                w,
            );
        }
    };
    let sf_names = profile.scale_factor_names();
    for p in profile
        .telemetry
        .iter()
        .filter(|p| sf_names.contains(&p.name))
    {
        put(&mut bank, p, p.sim_value.unwrap_or(0.0));
    }
    for p in profile
        .telemetry
        .iter()
        .filter(|p| !sf_names.contains(&p.name))
    {
        put(&mut bank, p, p.sim_value.unwrap_or(0.0));
    }
    for sp in &profile.setpoints {
        let released = profile
            .release
            .iter()
            .find(|s| s.point == sp.point.name)
            .map(|s| s.value);
        let local = match (model, sp.point.name.as_str()) {
            (Model::Hvac(i), "zone_setpoint_c") => {
                config.spec.hvacs[i].local_setpoint_c.first().copied()
            }
            (Model::Hvac(_), "on") => Some(1.0),
            _ => None,
        };
        let v = local
            .or(released)
            .or(sp.point.sim_value)
            .unwrap_or(0.0)
            .clamp(sp.min, sp.max);
        put(&mut bank, &sp.point, v);
    }
    bank
}
