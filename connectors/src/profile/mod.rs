//! Device profiles: a device family's register map as data (TOML).
//!
//! A [`Profile`] says which register blocks to poll, how each telemetry [`Point`] is encoded
//! (type, word order, scale, sign, "not available" sentinels), which points may be written
//! ([`WritablePoint`]: limits, ramp limit, refresh period, what to do out of range), how to
//! take control of the device ([`Profile::acquire`]) and how to hand it back
//! ([`Profile::release`]), and fixed registers that identify the device
//! ([`Profile::identify`]). The code reads any profile: adding a device family is adding a
//! file (see `connectors/README.md`, "Adding a device profile").
//!
//! Profiles shipped in `connectors/profiles/` are also compiled in ([`Profile::bundled`]), so
//! `profile = "battery_inverter"` in a `devices.toml` works without the source tree.

pub(crate) mod load;
pub mod register;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use register::{DataType, Register, RegisterKind, WordOrder};

use crate::error::ConfigError;
use crate::telemetry::Reading;

/// What kind of equipment a profile drives; the simulator picks its physics from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceFamily {
    /// A battery (inverter + storage): power setpoint, state of charge.
    Battery,
    /// An HVAC controller for one thermal zone.
    Hvac,
    /// An electricity meter.
    Meter,
    /// A dispatchable generator (gas engine).
    Generator,
    /// A line's switch with a flow setpoint (a tie line).
    Line,
}

impl DeviceFamily {
    /// The name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            DeviceFamily::Battery => "battery",
            DeviceFamily::Hvac => "hvac",
            DeviceFamily::Meter => "meter",
            DeviceFamily::Generator => "generator",
            DeviceFamily::Line => "line",
        }
    }
}

/// A telemetry point: a named, scaled quantity read from a register.
///
/// `value = raw × scale × 10^sf × sign + offset`, where `sf` is the value of the
/// `scale_factor` point (SunSpec style) or 0. A raw bit pattern listed in `not_available`
/// reads as "not available" (`None`), never as a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Quantity name, with its unit (`soc_pct`, `power_kw`, `zone_temp_c`, ...).
    pub name: String,
    /// Where and how it is stored.
    pub register: Register,
    /// Multiplier from raw to engineering units.
    pub scale: f64,
    /// +1, or −1 when the device counts the other way (e.g. charging positive).
    pub sign: f64,
    /// Added after scaling.
    pub offset: f64,
    /// Name of an `i16` point holding a power-of-ten exponent (SunSpec scale factor).
    pub scale_factor: Option<String>,
    /// Engineering unit, e.g. `kW`, `%`, `°C` (empty for codes and counts).
    pub unit: String,
    /// Raw bit patterns meaning "not available" (e.g. `0xFFFF`, `0x8000`).
    pub not_available: Vec<u64>,
    /// The value a simulator serves when its physics does not compute this quantity.
    pub sim_value: Option<f64>,
    /// Free text.
    pub description: String,
    /// Line of the point in its profile file.
    pub line: usize,
}

/// The next `f32` above `v` (`f32::next_up`, stable only after this crate's MSRV).
fn next_up_f32(v: f32) -> f32 {
    if !v.is_finite() {
        v
    } else if v == 0.0 {
        f32::from_bits(1)
    } else if v > 0.0 {
        f32::from_bits(v.to_bits() + 1)
    } else {
        f32::from_bits(v.to_bits() - 1)
    }
}

/// The next `f64` above `v` (`f64::next_up`, stable only after this crate's MSRV).
fn next_up_f64(v: f64) -> f64 {
    if !v.is_finite() {
        v
    } else if v == 0.0 {
        f64::from_bits(1)
    } else if v > 0.0 {
        f64::from_bits(v.to_bits() + 1)
    } else {
        f64::from_bits(v.to_bits() - 1)
    }
}

impl Point {
    /// The engineering value of `words` (`None` for a "not available" sentinel, or when
    /// `words` is not exactly the register's length). `sf` is the exponent read from the
    /// `scale_factor` point, if the point has one.
    pub fn decode(&self, words: &[u16], sf: Option<i16>) -> Option<f64> {
        // A short (or long) read is no value, never zeros for the missing words.
        if words.len() != usize::from(self.register.len()) {
            return None;
        }
        let bits = self.register.bits(words);
        if self.not_available.contains(&bits) {
            return None;
        }
        let raw = self.register.decode(words);
        if !raw.is_finite() {
            return None;
        }
        Some(raw * self.factor(sf) * self.sign + self.offset)
    }

    /// The words encoding the engineering value `value`, rounding to the register's
    /// resolution. Fails if it does not fit the register or hits a sentinel.
    pub fn encode(&self, value: f64, sf: Option<i16>) -> Result<Vec<u16>, String> {
        if !value.is_finite() {
            return Err(format!("{value} is not a finite number"));
        }
        let raw = (value - self.offset) * self.sign / self.factor(sf);
        let words = self.register.encode(raw)?;
        if self.not_available.contains(&self.register.bits(&words)) {
            return Err(format!(
                "{value} {} encodes as the 'not available' pattern {:#x}",
                self.unit,
                self.register.bits(&words)
            ));
        }
        Ok(words)
    }

    /// The words encoding `value` whose decoded value lies within `[lo, hi]`: the nearest
    /// register value, or the next one toward the inside when rounding to the register's
    /// resolution would leave the limits (so a clamped setpoint never exceeds its limit by
    /// part of a step). Fails as [`Point::encode`] does, or when no register value lies
    /// within the limits.
    pub fn encode_within(
        &self,
        value: f64,
        lo: f64,
        hi: f64,
        sf: Option<i16>,
    ) -> Result<Vec<u16>, String> {
        let words = self.encode(value, sf)?;
        // Within the limits up to the float noise of decoding (not to a fraction of a step).
        let eps = 1e-12 * lo.abs().max(hi.abs()).max(1.0);
        let within = |w: &[u16]| {
            self.decode(w, sf)
                .is_some_and(|v| v >= lo - eps && v <= hi + eps)
        };
        if within(&words) {
            return Ok(words);
        }
        // The register values either side of the value: the nearer one within the limits.
        let raw = (value - self.offset) * self.sign / self.factor(sf);
        let candidates: Vec<f64> = match self.register.data_type {
            DataType::F32 => {
                let v = raw as f32;
                [v, -next_up_f32(-v), next_up_f32(v)]
                    .map(f64::from)
                    .to_vec()
            }
            DataType::F64 => vec![raw, -next_up_f64(-raw), next_up_f64(raw)],
            _ => vec![raw.floor(), raw.ceil()],
        };
        let best = candidates
            .into_iter()
            .filter_map(|c| self.register.encode(c).ok())
            .filter(|w| within(w) && !self.not_available.contains(&self.register.bits(w)))
            .min_by(|a, b| {
                let d = |w: &[u16]| {
                    self.decode(w, sf)
                        .map_or(f64::INFINITY, |v| (v - value).abs())
                };
                d(a).total_cmp(&d(b))
            });
        if let Some(w) = best {
            return Ok(w);
        }
        Err(format!(
            "no value of {} lies within [{lo}, {hi}] {} near {value}",
            self.register, self.unit
        ))
    }

    /// The value of one raw step (the resolution), in engineering units.
    pub fn resolution(&self, sf: Option<i16>) -> f64 {
        self.factor(sf).abs()
    }

    fn factor(&self, sf: Option<i16>) -> f64 {
        self.scale * 10f64.powi(i32::from(sf.unwrap_or(0)))
    }
}

/// What to do with a setpoint outside a point's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutOfRange {
    /// Write the nearest limit instead, and log it.
    #[default]
    Clamp,
    /// Write nothing, and log it.
    Refuse,
}

/// How a register is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteFunction {
    /// Write single register / single coil (function 6 / 5). Only for one-word points.
    Single,
    /// Write multiple registers / coils (function 16 / 15).
    Multiple,
}

/// A point the AEMS may write, with the limits that protect the equipment.
#[derive(Debug, Clone, PartialEq)]
pub struct WritablePoint {
    /// The register and its encoding (the same fields as a telemetry point).
    pub point: Point,
    /// Least value ever written (engineering units).
    pub min: f64,
    /// Largest value ever written.
    pub max: f64,
    /// Largest change from the device's present value in one write (ramp limit).
    pub ramp_max_step: Option<f64>,
    /// The device forgets the setpoint unless it is written again within this period:
    /// a [`crate::Fleet`] rewrites the last setpoint every `refresh_s` seconds.
    pub refresh_s: Option<f64>,
    /// Clamp or refuse a value outside `[min, max]` (or beyond the ramp limit).
    pub out_of_range: OutOfRange,
    /// Function used to write.
    pub write: WriteFunction,
}

/// One write of a control sequence (taking control of a device, or releasing it).
#[derive(Debug, Clone, PartialEq)]
pub struct ControlStep {
    /// A declared writable point.
    pub point: String,
    /// Engineering value to write.
    pub value: f64,
}

/// Fixed registers identifying a device (e.g. SunSpec's `SunS` marker and model ids),
/// checked before the first write and served by the simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct Identify {
    /// Data table.
    pub kind: RegisterKind,
    /// First address.
    pub address: u16,
    /// Expected words.
    pub words: Vec<u16>,
    /// What they mean.
    pub description: String,
}

/// A range of registers read in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Data table.
    pub kind: RegisterKind,
    /// First address.
    pub start: u16,
    /// Number of registers (or bits).
    pub count: u16,
}

impl Block {
    /// Whether the block covers the whole of `r`.
    pub fn covers(&self, r: &Register) -> bool {
        self.kind == r.kind
            && r.address >= self.start
            && r.last() < u32::from(self.start) + u32::from(self.count)
    }
}

/// A device family's register map.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Profile name (`battery_inverter`, ...).
    pub name: String,
    /// Equipment kind.
    pub family: DeviceFamily,
    /// Free text (maker, model, manual version).
    pub description: String,
    /// Blocks polled to read all telemetry (declared, or derived from the points).
    pub blocks: Vec<Block>,
    /// Telemetry points.
    pub telemetry: Vec<Point>,
    /// Writable points.
    pub setpoints: Vec<WritablePoint>,
    /// Writes that put the device under remote control, done before the first setpoint.
    pub acquire: Vec<ControlStep>,
    /// Writes that hand control back to the device.
    pub release: Vec<ControlStep>,
    /// Fixed identification registers.
    pub identify: Vec<Identify>,
    /// The file it was read from (`bundled:NAME` for compiled-in profiles).
    pub source: PathBuf,
}

/// The profiles shipped in `connectors/profiles/`, compiled in.
const BUNDLED: [(&str, &str); 7] = [
    (
        "battery_inverter",
        include_str!("../../profiles/battery_inverter.toml"),
    ),
    (
        "hvac_controller",
        include_str!("../../profiles/hvac_controller.toml"),
    ),
    ("meter", include_str!("../../profiles/meter.toml")),
    ("gas_engine", include_str!("../../profiles/gas_engine.toml")),
    (
        "sunspec_storage",
        include_str!("../../profiles/sunspec_storage.toml"),
    ),
    (
        "emergency_generator",
        include_str!("../../profiles/emergency_generator.toml"),
    ),
    ("tie_switch", include_str!("../../profiles/tie_switch.toml")),
];

impl Profile {
    /// Reads and validates the profile file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(path, format!("cannot read profile: {e}")))?;
        Self::parse(path, &text)
    }

    /// Parses and validates profile text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        load::parse(path, text)
    }

    /// Names of the compiled-in profiles.
    pub fn bundled_names() -> Vec<&'static str> {
        BUNDLED.iter().map(|(n, _)| *n).collect()
    }

    /// The compiled-in profile `name`, if there is one.
    pub fn bundled(name: &str) -> Option<Result<Self, ConfigError>> {
        BUNDLED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Self::parse(Path::new(&format!("bundled:{n}.toml")), text))
    }

    /// The telemetry point `name`.
    pub fn telemetry_point(&self, name: &str) -> Option<&Point> {
        self.telemetry.iter().find(|p| p.name == name)
    }

    /// The writable point `name`.
    pub fn setpoint(&self, name: &str) -> Option<&WritablePoint> {
        self.setpoints.iter().find(|p| p.point.name == name)
    }

    /// Whether `count` registers (bits) of `kind` from `address` are exactly the registers
    /// of declared writable points. Anything else must never be written.
    pub fn is_writable_range(&self, kind: RegisterKind, address: u16, count: u16) -> bool {
        if count == 0 || !kind.is_writable() {
            return false;
        }
        let end = u32::from(address) + u32::from(count);
        let mut a = u32::from(address);
        while a < end {
            let Some(sp) = self.setpoints.iter().find(|sp| {
                sp.point.register.kind == kind && u32::from(sp.point.register.address) == a
            }) else {
                return false;
            };
            a = sp.point.register.last() + 1;
            if a > end {
                return false;
            }
        }
        true
    }

    /// Decodes every telemetry point from a source of words (`get(kind, address, count)`),
    /// scale-factor points first. Points whose words the source lacks read as not available.
    pub fn decode_all(
        &self,
        get: &dyn Fn(RegisterKind, u16, u16) -> Option<Vec<u16>>,
    ) -> BTreeMap<String, Reading> {
        let sfs = self.scale_factors(get);
        let mut out = BTreeMap::new();
        for p in &self.telemetry {
            let r = p.register;
            let Some(words) = get(r.kind, r.address, r.len()) else {
                // Not read: reported as not available (flagged upstream), not left out.
                out.insert(p.name.clone(), Reading::new(None, &p.unit));
                continue;
            };
            let sf = match &p.scale_factor {
                Some(name) => match sfs.get(name) {
                    Some(Some(sf)) => Some(*sf),
                    // Scale factor unknown or "not available": so is the value.
                    _ => {
                        out.insert(p.name.clone(), Reading::new(None, &p.unit));
                        continue;
                    }
                },
                None => None,
            };
            out.insert(p.name.clone(), Reading::new(p.decode(&words, sf), &p.unit));
        }
        out
    }

    /// The exponents of the scale-factor points (those named by some `scale_factor`), read
    /// from `get`; `None` where the device says "not available".
    pub fn scale_factors(
        &self,
        get: &dyn Fn(RegisterKind, u16, u16) -> Option<Vec<u16>>,
    ) -> BTreeMap<String, Option<i16>> {
        let mut sfs = BTreeMap::new();
        for name in self.scale_factor_names() {
            if let Some(p) = self.telemetry_point(&name) {
                let r = p.register;
                if let Some(words) = get(r.kind, r.address, r.len()) {
                    sfs.insert(name, p.decode(&words, None).map(|v| v as i16));
                }
            }
        }
        sfs
    }

    /// Names of the points used as scale factors.
    pub fn scale_factor_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .telemetry
            .iter()
            .chain(self.setpoints.iter().map(|s| &s.point))
            .filter_map(|p| p.scale_factor.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
