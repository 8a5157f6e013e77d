//! Schedule → setpoints: what each device is told for the step that starts now, in the
//! quantities of its profile (a battery's signed kW, or SunSpec model 124's charge and
//! discharge window in percent; an HVAC unit's on/off and zone setpoint; a generator's
//! start/stop and power).

use connectors::{DeviceEntry, DeviceFamily, Setpoint};
use engine::{Scenario, Schedule};
use serde::Serialize;

/// What one asset should do for the coming step, in the AEMS's own terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Battery power, kW, + discharging.
    Battery {
        /// Net power.
        power_kw: f64,
    },
    /// HVAC unit: running, and the zone temperature to reach by the end of the step.
    Hvac {
        /// On.
        on: bool,
        /// Zone setpoint, °C.
        setpoint_c: f64,
    },
    /// Generator.
    Generator {
        /// Running.
        on: bool,
        /// Power, kW.
        power_kw: f64,
    },
}

/// The commands of step `k` of `schedule` (solved over `sc`), per asset id.
pub fn commands_at(sc: &Scenario, schedule: &Schedule, k: usize) -> Vec<(String, Command)> {
    let mut out = Vec::new();
    for (b, s) in sc.batteries.iter().zip(&schedule.batteries) {
        if let (Some(d), Some(c)) = (s.discharge_kw.get(k), s.charge_kw.get(k)) {
            out.push((b.id.clone(), Command::Battery { power_kw: d - c }));
        }
    }
    for (h, s) in sc.hvacs.iter().zip(&schedule.hvacs) {
        if let (Some(on), Some(temp)) = (s.on.get(k), s.temp_c.get(k + 1)) {
            out.push((
                h.id.clone(),
                Command::Hvac {
                    on: *on,
                    setpoint_c: *temp,
                },
            ));
        }
    }
    for (g, s) in sc.generators.iter().zip(&schedule.generators) {
        if let (Some(on), Some(p)) = (s.on.get(k), s.power_kw.get(k)) {
            out.push((
                g.id.clone(),
                Command::Generator {
                    on: *on,
                    power_kw: *p,
                },
            ));
        }
    }
    out
}

/// The setpoints that make `dev` follow `cmd`. `rate_kw` is a SunSpec battery's rate base
/// (`max_charge_kw`, WChaMax) as read this cycle. Powers are rounded to 0.1 kW and
/// temperatures to 0.1 °C (the registers' resolution); limits are the connectors' job.
pub fn setpoints_for(
    dev: &DeviceEntry,
    cmd: &Command,
    rate_kw: Option<f64>,
) -> Result<Vec<Setpoint>, String> {
    let p = &dev.profile;
    let has = |q: &str| p.setpoint(q).is_some();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let asset = dev.asset.as_str();
    match (p.family, cmd) {
        (DeviceFamily::Battery, Command::Battery { power_kw }) => {
            if has("power_kw") {
                Ok(vec![Setpoint::new(
                    asset,
                    "power_kw",
                    round(*power_kw),
                    "kW",
                )])
            } else if has("charge_rate_pct") && has("discharge_rate_pct") {
                // SunSpec model 124: P = +discharge: the window [P, P] in % of WChaMax.
                let w = rate_kw.filter(|w| *w > 0.0).ok_or_else(|| {
                    format!("{asset}: no max_charge_kw (WChaMax) read: cannot turn kW into a charge/discharge rate")
                })?;
                let pct = round(100.0 * power_kw / w);
                Ok(vec![
                    Setpoint::new(asset, "discharge_rate_pct", pct, "%"),
                    Setpoint::new(asset, "charge_rate_pct", -pct, "%"),
                ])
            } else {
                Err(format!(
                    "{asset}: profile '{}' has no power or rate setpoint",
                    p.name
                ))
            }
        }
        (DeviceFamily::Hvac, Command::Hvac { on, setpoint_c }) => {
            let mut v = Vec::new();
            if has("zone_setpoint_c") {
                v.push(Setpoint::new(
                    asset,
                    "zone_setpoint_c",
                    round(*setpoint_c),
                    "°C",
                ));
            }
            if has("on") {
                v.push(Setpoint::new(asset, "on", if *on { 1.0 } else { 0.0 }, ""));
            }
            Ok(v)
        }
        (DeviceFamily::Generator, Command::Generator { on, power_kw }) => {
            let mut v = Vec::new();
            if *on && has("power_kw") {
                v.push(Setpoint::new(asset, "power_kw", power_kw.round(), "kW"));
            }
            if has("on") {
                v.push(Setpoint::new(asset, "on", if *on { 1.0 } else { 0.0 }, ""));
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
    use connectors::DevicesConfig;

    fn devices() -> DevicesConfig {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/gate_square/devices.toml");
        DevicesConfig::load(&p).unwrap()
    }

    #[test]
    fn each_profile_gets_its_own_quantities() {
        let d = devices();
        let sp = setpoints_for(
            d.device("hub_bat").unwrap(),
            &Command::Battery { power_kw: -200.04 },
            None,
        )
        .unwrap();
        assert_eq!(sp, vec![Setpoint::new("hub_bat", "power_kw", -200.0, "kW")]);
        // SunSpec: 70 kW discharging of a 140 kW rate base = a [50 %, 50 %] window.
        let sp = setpoints_for(
            d.device("resi_d_bat").unwrap(),
            &Command::Battery { power_kw: 70.0 },
            Some(140.0),
        )
        .unwrap();
        assert_eq!(
            sp[0],
            Setpoint::new("resi_d_bat", "discharge_rate_pct", 50.0, "%")
        );
        assert_eq!(
            sp[1],
            Setpoint::new("resi_d_bat", "charge_rate_pct", -50.0, "%")
        );
        assert!(setpoints_for(
            d.device("resi_d_bat").unwrap(),
            &Command::Battery { power_kw: 70.0 },
            None
        )
        .is_err());
        let sp = setpoints_for(
            d.device("office_a_ac").unwrap(),
            &Command::Hvac {
                on: true,
                setpoint_c: 25.04,
            },
            None,
        )
        .unwrap();
        assert_eq!(
            sp,
            vec![
                Setpoint::new("office_a_ac", "zone_setpoint_c", 25.0, "°C"),
                Setpoint::new("office_a_ac", "on", 1.0, "")
            ]
        );
        let sp = setpoints_for(
            d.device("gas_engine_1").unwrap(),
            &Command::Generator {
                on: false,
                power_kw: 0.0,
            },
            None,
        )
        .unwrap();
        assert_eq!(sp, vec![Setpoint::new("gas_engine_1", "on", 0.0, "")]);
        assert!(setpoints_for(
            d.device("pcc").unwrap(),
            &Command::Battery { power_kw: 1.0 },
            None
        )
        .is_err());
    }
}
