//! The typed device vocabulary: what devices report ([`Reading`]) and what the controller
//! tells them ([`Command`]), as fields rather than strings. Device profiles are data and name
//! their points with [`Quantity::name`]; the connectors turn a device's points into these
//! types, and the controller reads and writes only the types.

use serde::{Deserialize, Serialize};

/// A quantity a device reports or is told, as device profiles name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Quantity {
    /// State of charge, % of nameplate energy.
    SocPct,
    /// Stored energy, kWh.
    EnergyKwh,
    /// Power, kW: + delivered to the node (battery discharging, generator running), −
    /// drawn (battery charging); an HVAC unit's electric power; a meter's import − export.
    PowerKw,
    /// A battery's largest charging power as it reports it, kW (SunSpec's `WChaMax`).
    MaxChargeKw,
    /// A battery's charge limit in % of its largest charging power (SunSpec).
    ChargeRatePct,
    /// A battery's discharge limit in % of its largest charging power (SunSpec).
    DischargeRatePct,
    /// Zone temperature, °C.
    ZoneTempC,
    /// Zone temperature setpoint, °C.
    ZoneSetpointC,
    /// Switched on (1) or off (0).
    On,
    /// Running (1) or not (0).
    Running,
    /// A meter's import counter, kWh.
    ImportKwh,
    /// A meter's export counter, kWh.
    ExportKwh,
    /// Utility supply present at a grid connection (1), or lost with its breaker open (0).
    GridAvailable,
    /// A line's switch closed (1, the line energised) or open (0).
    Closed,
}

impl Quantity {
    /// Every quantity.
    pub const ALL: [Quantity; 14] = [
        Quantity::SocPct,
        Quantity::EnergyKwh,
        Quantity::PowerKw,
        Quantity::MaxChargeKw,
        Quantity::ChargeRatePct,
        Quantity::DischargeRatePct,
        Quantity::ZoneTempC,
        Quantity::ZoneSetpointC,
        Quantity::On,
        Quantity::Running,
        Quantity::ImportKwh,
        Quantity::ExportKwh,
        Quantity::GridAvailable,
        Quantity::Closed,
    ];

    /// Its name in device profiles, MQTT payloads and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Quantity::SocPct => "soc_pct",
            Quantity::EnergyKwh => "energy_kwh",
            Quantity::PowerKw => "power_kw",
            Quantity::MaxChargeKw => "max_charge_kw",
            Quantity::ChargeRatePct => "charge_rate_pct",
            Quantity::DischargeRatePct => "discharge_rate_pct",
            Quantity::ZoneTempC => "zone_temp_c",
            Quantity::ZoneSetpointC => "zone_setpoint_c",
            Quantity::On => "on",
            Quantity::Running => "running",
            Quantity::ImportKwh => "import_kwh",
            Quantity::ExportKwh => "export_kwh",
            Quantity::GridAvailable => "grid_available",
            Quantity::Closed => "closed",
        }
    }

    /// The quantity named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.name() == name)
    }

    /// Its unit (`kW`, `kWh`, `%`, `°C`, empty for states).
    pub const fn unit(self) -> &'static str {
        match self {
            Quantity::SocPct | Quantity::ChargeRatePct | Quantity::DischargeRatePct => "%",
            Quantity::EnergyKwh | Quantity::ImportKwh | Quantity::ExportKwh => "kWh",
            Quantity::PowerKw | Quantity::MaxChargeKw => "kW",
            Quantity::ZoneTempC | Quantity::ZoneSetpointC => "°C",
            Quantity::On | Quantity::Running | Quantity::GridAvailable | Quantity::Closed => "",
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of device the AEMS reads and commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A battery (its inverter).
    Battery,
    /// An HVAC unit and its zone.
    Hvac,
    /// A generator.
    Generator,
    /// A meter (a grid connection's or a node's).
    Meter,
    /// A line's switch (a tie line whose flow the AEMS sets, e.g. an emergency tie).
    Line,
}

impl Kind {
    /// Its name (`battery`, `hvac`, `generator`, `meter`, `line`).
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Battery => "battery",
            Kind::Hvac => "hvac",
            Kind::Generator => "generator",
            Kind::Meter => "meter",
            Kind::Line => "line",
        }
    }
}

/// What a battery reports (`None`: not reported, or "not available").
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BatteryReading {
    /// Stored energy, kWh.
    pub energy_kwh: Option<f64>,
    /// State of charge, %.
    pub soc_pct: Option<f64>,
    /// Power, kW (+ discharging).
    pub power_kw: Option<f64>,
    /// Largest charging power it reports, kW.
    pub max_charge_kw: Option<f64>,
}

/// What an HVAC unit reports.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct HvacReading {
    /// Zone temperature, °C.
    pub zone_temp_c: Option<f64>,
    /// Electric power, kW.
    pub power_kw: Option<f64>,
}

/// What a generator reports.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GeneratorReading {
    /// Power, kW.
    pub power_kw: Option<f64>,
    /// Running (≥ 0.5) or not.
    pub running: Option<f64>,
}

/// What a meter reports.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MeterReading {
    /// Import − export, kW.
    pub power_kw: Option<f64>,
    /// Import counter, kWh.
    pub import_kwh: Option<f64>,
    /// Export counter, kWh.
    pub export_kwh: Option<f64>,
    /// At a grid connection: utility supply present (≥ 0.5) or lost (PCC breaker open).
    #[serde(default)]
    pub grid_available: Option<f64>,
}

/// What a line's switch reports.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LineReading {
    /// Flow, kW (+ from → to).
    pub power_kw: Option<f64>,
    /// Closed (≥ 0.5) or open.
    pub closed: Option<f64>,
}

/// A device's readings, by the kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reading {
    /// A battery.
    Battery(BatteryReading),
    /// An HVAC unit.
    Hvac(HvacReading),
    /// A generator.
    Generator(GeneratorReading),
    /// A meter.
    Meter(MeterReading),
    /// A line's switch.
    Line(LineReading),
}

impl Reading {
    /// The kind of device it comes from.
    pub fn kind(&self) -> Kind {
        match self {
            Reading::Battery(_) => Kind::Battery,
            Reading::Hvac(_) => Kind::Hvac,
            Reading::Generator(_) => Kind::Generator,
            Reading::Meter(_) => Kind::Meter,
            Reading::Line(_) => Kind::Line,
        }
    }

    /// Its values as (quantity, value), in a fixed order.
    pub fn values(&self) -> Vec<(Quantity, Option<f64>)> {
        match self {
            Reading::Battery(b) => vec![
                (Quantity::EnergyKwh, b.energy_kwh),
                (Quantity::SocPct, b.soc_pct),
                (Quantity::PowerKw, b.power_kw),
                (Quantity::MaxChargeKw, b.max_charge_kw),
            ],
            Reading::Hvac(h) => vec![
                (Quantity::ZoneTempC, h.zone_temp_c),
                (Quantity::PowerKw, h.power_kw),
            ],
            Reading::Generator(g) => vec![
                (Quantity::PowerKw, g.power_kw),
                (Quantity::Running, g.running),
            ],
            Reading::Meter(m) => vec![
                (Quantity::PowerKw, m.power_kw),
                (Quantity::ImportKwh, m.import_kwh),
                (Quantity::ExportKwh, m.export_kwh),
                (Quantity::GridAvailable, m.grid_available),
            ],
            Reading::Line(l) => vec![
                (Quantity::PowerKw, l.power_kw),
                (Quantity::Closed, l.closed),
            ],
        }
    }
}

/// What the controller tells one asset for the coming interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// A battery: net power, kW (+ discharging).
    Battery {
        /// Power.
        power_kw: f64,
    },
    /// An HVAC unit: running, the power to run at (where the unit takes a power command)
    /// and the zone temperature its thermostat should keep (where it takes a setpoint).
    Hvac {
        /// Running.
        on: bool,
        /// Electric power, kW; `None`: let its thermostat choose.
        power_kw: Option<f64>,
        /// Zone setpoint, °C.
        setpoint_c: f64,
    },
    /// A generator: running, and its power.
    Generator {
        /// Running.
        on: bool,
        /// Power, kW.
        power_kw: f64,
    },
    /// A line's switch: closed (energised) or open, and the flow it is set to carry, kW
    /// (+ from → to).
    Line {
        /// Closed.
        closed: bool,
        /// Flow, kW.
        power_kw: f64,
    },
    /// Back to the device's own control.
    Release,
}

/// A command as a flat record (a decisions log's columns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommandRow {
    /// `battery`, `hvac`, `generator`, `line` or `release`.
    pub kind: &'static str,
    /// Running, for HVAC units and generators; closed, for lines.
    pub on: Option<bool>,
    /// Power, kW (+ delivered for batteries and generators).
    pub power_kw: Option<f64>,
    /// Zone setpoint, °C, for HVAC units.
    pub setpoint_c: Option<f64>,
}

impl Command {
    /// The command as a flat record.
    pub fn row(&self) -> CommandRow {
        let row = |kind, on, power_kw, setpoint_c| CommandRow {
            kind,
            on,
            power_kw,
            setpoint_c,
        };
        match *self {
            Command::Battery { power_kw } => row("battery", None, Some(power_kw), None),
            Command::Hvac {
                on,
                power_kw,
                setpoint_c,
            } => row("hvac", Some(on), power_kw, Some(setpoint_c)),
            Command::Generator { on, power_kw } => row("generator", Some(on), Some(power_kw), None),
            Command::Line { closed, power_kw } => row("line", Some(closed), Some(power_kw), None),
            Command::Release => row("release", None, None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for q in Quantity::ALL {
            assert_eq!(Quantity::parse(q.name()), Some(q));
        }
        assert_eq!(Quantity::parse("soc_pc"), None);
    }
}
