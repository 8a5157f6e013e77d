//! The typed device vocabulary over profiles: a device's telemetry as a typed
//! [`Reading`], and a typed [`Command`] as the setpoints of the device's own profile —
//! a battery's signed kW, or SunSpec model 124's charge and discharge window in percent;
//! an HVAC unit's on/off, its power (where the unit takes a capacity command) and its zone
//! setpoint; a generator's start/stop and power. The quantity names come from
//! [`Quantity::name`], so a misspelt one is a compile error here rather than a device that
//! never answers.

use physics::device::{
    BatteryReading, Command, GeneratorReading, HvacReading, Kind, LineReading, MeterReading,
    Quantity, Reading,
};

use crate::devices::{DeviceEntry, DevicesConfig};
use crate::profile::DeviceFamily;
use crate::setpoint::Setpoint;
use crate::telemetry::AssetTelemetry;

impl DeviceFamily {
    /// The kind of device it is.
    pub fn kind(self) -> Kind {
        match self {
            DeviceFamily::Battery => Kind::Battery,
            DeviceFamily::Hvac => Kind::Hvac,
            DeviceFamily::Generator => Kind::Generator,
            DeviceFamily::Meter => Kind::Meter,
            DeviceFamily::Line => Kind::Line,
        }
    }
}

/// `a`'s telemetry as the typed reading of a `family` device, or why it could not be read.
pub fn reading(family: DeviceFamily, a: &AssetTelemetry) -> Result<Reading, String> {
    if let Some(e) = &a.error {
        return Err(e.clone());
    }
    // A quantity that was reported: its value (NaN where not a number); not reported or
    // "not available": None.
    let v = |q: Quantity| a.values.get(q.name()).and_then(|r| r.value);
    Ok(match family {
        DeviceFamily::Battery => Reading::Battery(BatteryReading {
            energy_kwh: v(Quantity::EnergyKwh),
            soc_pct: v(Quantity::SocPct),
            power_kw: v(Quantity::PowerKw),
            max_charge_kw: v(Quantity::MaxChargeKw),
        }),
        DeviceFamily::Hvac => Reading::Hvac(HvacReading {
            zone_temp_c: v(Quantity::ZoneTempC),
            power_kw: v(Quantity::PowerKw),
        }),
        DeviceFamily::Generator => Reading::Generator(GeneratorReading {
            power_kw: v(Quantity::PowerKw),
            running: v(Quantity::Running),
        }),
        DeviceFamily::Meter => Reading::Meter(MeterReading {
            power_kw: v(Quantity::PowerKw),
            import_kwh: v(Quantity::ImportKwh),
            export_kwh: v(Quantity::ExportKwh),
            grid_available: v(Quantity::GridAvailable),
        }),
        DeviceFamily::Line => Reading::Line(LineReading {
            power_kw: v(Quantity::PowerKw),
            closed: v(Quantity::Closed),
        }),
    })
}

/// The setpoints that make `dev` follow `cmd` (values in engineering units; the limits,
/// resolution and ramp are the safety path's, see [`crate::safety`]). `rate_kw` is a
/// SunSpec battery's rate base (`max_charge_kw`, WChaMax) as read this cycle.
/// [`Command::Release`] has no setpoints: release the device instead.
pub fn setpoints(
    dev: &DeviceEntry,
    cmd: &Command,
    rate_kw: Option<f64>,
) -> Result<Vec<Setpoint>, String> {
    let p = &dev.profile;
    let has = |name: &str| p.setpoint(name).is_some();
    follow(&dev.asset, p.family, &p.name, &has, cmd, rate_kw)
}

/// The setpoints that make `asset`'s device follow `cmd`, whichever its protocol (a
/// Modbus profile's or an ECHONET Lite class's quantities); `None` when the asset has no
/// device, or its device is of no kind the controller commands (an ECHONET PV system).
pub fn for_asset(
    devices: &DevicesConfig,
    asset: &str,
    cmd: &Command,
    rate_kw: Option<f64>,
) -> Option<Result<Vec<Setpoint>, String>> {
    if let Some(e) = devices.echonet_device(asset) {
        let family = e.class.family.device_family()?;
        let has = |name: &str| e.class.setpoint(name).is_some();
        return Some(follow(asset, family, &e.class.name, &has, cmd, rate_kw));
    }
    devices.device(asset).map(|d| setpoints(d, cmd, rate_kw))
}

/// Every device of `devices` (Modbus, then ECHONET Lite) with the family it reads as; an
/// ECHONET Lite class of no family the controller reads (PV) is left out.
pub fn families(devices: &DevicesConfig) -> Vec<(String, DeviceFamily)> {
    let modbus = devices
        .devices
        .iter()
        .map(|d| (d.asset.clone(), d.profile.family));
    let echonet = devices
        .echonet_devices
        .iter()
        .filter_map(|e| Some((e.asset.clone(), e.class.family.device_family()?)));
    modbus.chain(echonet).collect()
}

/// The setpoints of a `family` device whose writable quantities `has` tells, named
/// `what` (its profile or class) in errors.
fn follow(
    asset: &str,
    family: DeviceFamily,
    what: &str,
    has: &dyn Fn(&str) -> bool,
    cmd: &Command,
    rate_kw: Option<f64>,
) -> Result<Vec<Setpoint>, String> {
    let has = |q: Quantity| has(q.name());
    let sp = |q: Quantity, v: f64| Setpoint::new(asset, q.name(), v, q.unit());
    match (family, cmd) {
        (_, Command::Release) => Ok(Vec::new()),
        (DeviceFamily::Battery, Command::Battery { power_kw }) => {
            if has(Quantity::PowerKw) {
                Ok(vec![sp(Quantity::PowerKw, *power_kw)])
            } else if has(Quantity::ChargeRatePct) && has(Quantity::DischargeRatePct) {
                // SunSpec model 124: P = +discharge: the window [P, P] in % of WChaMax.
                let w = rate_kw.filter(|w| *w > 0.0).ok_or_else(|| {
                    format!("{asset}: no max_charge_kw (WChaMax) read: cannot turn kW into a charge/discharge rate")
                })?;
                let pct = 100.0 * power_kw / w;
                Ok(vec![
                    sp(Quantity::DischargeRatePct, pct),
                    sp(Quantity::ChargeRatePct, -pct),
                ])
            } else {
                Err(format!(
                    "{asset}: profile '{what}' has no power or rate setpoint"
                ))
            }
        }
        (
            DeviceFamily::Hvac,
            Command::Hvac {
                on,
                power_kw,
                setpoint_c,
            },
        ) => {
            let mut v = Vec::new();
            if has(Quantity::ZoneSetpointC) {
                v.push(sp(Quantity::ZoneSetpointC, *setpoint_c));
            }
            if let (Some(q), true) = (power_kw, has(Quantity::PowerKw)) {
                v.push(sp(Quantity::PowerKw, if *on { *q } else { 0.0 }));
            }
            if has(Quantity::On) {
                v.push(sp(Quantity::On, if *on { 1.0 } else { 0.0 }));
            }
            Ok(v)
        }
        (DeviceFamily::Generator, Command::Generator { on, power_kw }) => {
            let mut v = Vec::new();
            if *on && has(Quantity::PowerKw) {
                v.push(sp(Quantity::PowerKw, *power_kw));
            }
            if has(Quantity::On) {
                v.push(sp(Quantity::On, if *on { 1.0 } else { 0.0 }));
            }
            Ok(v)
        }
        (DeviceFamily::Line, Command::Line { closed, power_kw }) => {
            // Open: the flow setpoint goes to 0 first (nothing to carry), then the switch.
            let mut v = Vec::new();
            if has(Quantity::PowerKw) {
                v.push(sp(Quantity::PowerKw, if *closed { *power_kw } else { 0.0 }));
            }
            if has(Quantity::Closed) {
                v.push(sp(Quantity::Closed, if *closed { 1.0 } else { 0.0 }));
            }
            if v.is_empty() {
                return Err(format!(
                    "{asset}: profile '{what}' has no closed or power_kw setpoint"
                ));
            }
            Ok(v)
        }
        (f, c) => Err(format!(
            "{asset}: a {} device cannot follow {c:?}",
            f.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::DevicesConfig;

    fn devices() -> DevicesConfig {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/devices.toml");
        DevicesConfig::load(&p).unwrap()
    }

    #[test]
    fn each_profile_gets_its_own_quantities() {
        let d = devices();
        let s = setpoints(
            d.device("hub_bat").unwrap(),
            &Command::Battery { power_kw: -200.04 },
            None,
        )
        .unwrap();
        assert_eq!(s, vec![Setpoint::new("hub_bat", "power_kw", -200.04, "kW")]);
        // SunSpec: 70 kW discharging of a 140 kW rate base = a [50 %, 50 %] window.
        let s = setpoints(
            d.device("resi_d_bat").unwrap(),
            &Command::Battery { power_kw: 70.0 },
            Some(140.0),
        )
        .unwrap();
        assert_eq!(
            s[0],
            Setpoint::new("resi_d_bat", "discharge_rate_pct", 50.0, "%")
        );
        assert_eq!(
            s[1],
            Setpoint::new("resi_d_bat", "charge_rate_pct", -50.0, "%")
        );
        assert!(setpoints(
            d.device("resi_d_bat").unwrap(),
            &Command::Battery { power_kw: 70.0 },
            None
        )
        .is_err());
        let hvac = Command::Hvac {
            on: true,
            power_kw: Some(40.0),
            setpoint_c: 25.04,
        };
        let s = setpoints(d.device("office_a_ac").unwrap(), &hvac, None).unwrap();
        assert_eq!(
            s,
            vec![
                Setpoint::new("office_a_ac", "zone_setpoint_c", 25.04, "°C"),
                Setpoint::new("office_a_ac", "power_kw", 40.0, "kW"),
                Setpoint::new("office_a_ac", "on", 1.0, "")
            ]
        );
        let off = Command::Generator {
            on: false,
            power_kw: 0.0,
        };
        let s = setpoints(d.device("gas_engine_1").unwrap(), &off, None).unwrap();
        assert_eq!(s, vec![Setpoint::new("gas_engine_1", "on", 0.0, "")]);
        assert!(setpoints(
            d.device("pcc").unwrap(),
            &Command::Battery { power_kw: 1.0 },
            None
        )
        .is_err());
        assert!(setpoints(d.device("pcc").unwrap(), &Command::Release, None)
            .unwrap()
            .is_empty());
    }
}
