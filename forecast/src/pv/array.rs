//! A PV array: where it is, how it faces, how big it is and the model parameters of
//! its chain, read from the JSON of `../shared/fixtures/pv/*.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::solar_position::DEFAULT_DELTA_T_S;
use crate::error::InputError;

/// One PV array (modules on one plane behind one inverter) and its model parameters.
///
/// The JSON keys are those of the fixture files (`lat`, `lon`, `alt`, `tilt`, `az`,
/// `kwp`, `inv_kw`, `albedo`, `gamma_pdc_per_c`, `system_losses`,
/// `inverter_nominal_efficiency`, `faiman_u0`, `faiman_u1`); the required ones are the
/// site, the orientation, `kwp` and `inv_kw`, the others default to the values of the
/// fixtures (pvlib's defaults). Keys this model does not use (the fixtures' `step` and
/// `pvlib_version`, or a misspelt key) are kept in [`PvArray::ignored`] so that a caller
/// can say they were ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PvArray {
    /// A name for messages and summaries.
    #[serde(default)]
    pub name: Option<String>,
    /// Latitude, degrees north (negative south).
    #[serde(rename = "lat")]
    pub latitude_deg: f64,
    /// Longitude, degrees east (negative west).
    #[serde(rename = "lon")]
    pub longitude_deg: f64,
    /// Altitude above sea level, metres.
    #[serde(rename = "alt")]
    pub altitude_m: f64,
    /// Tilt of the modules from horizontal, degrees (0 = flat, 90 = vertical).
    #[serde(rename = "tilt")]
    pub tilt_deg: f64,
    /// Azimuth the modules face, degrees clockwise from north (180 = south).
    #[serde(rename = "az")]
    pub azimuth_deg: f64,
    /// DC nameplate at 1000 W/m² and 25 °C, kW (PVWatts `pdc0` of the DC model).
    #[serde(rename = "kwp")]
    pub kwp: f64,
    /// Inverter DC input limit, kW (PVWatts `pdc0` of the inverter model); the AC
    /// output is at most `inverter_nominal_efficiency × inv_kw`.
    #[serde(rename = "inv_kw")]
    pub inv_kw: f64,
    /// Ground albedo for the ground-reflected irradiance.
    #[serde(default = "default_albedo")]
    pub albedo: f64,
    /// DC power temperature coefficient, 1/°C (negative).
    #[serde(rename = "gamma_pdc_per_c", default = "default_gamma")]
    pub gamma_pdc_per_c: f64,
    /// Fraction of DC power lost before the inverter (soiling, wiring, mismatch, …).
    #[serde(default = "default_losses")]
    pub system_losses: f64,
    /// PVWatts inverter nominal efficiency (`eta_inv_nom`).
    #[serde(default = "default_eta_nom")]
    pub inverter_nominal_efficiency: f64,
    /// PVWatts inverter reference efficiency (`eta_inv_ref`, pvlib's 0.9637).
    #[serde(default = "default_eta_ref")]
    pub inverter_reference_efficiency: f64,
    /// Faiman constant heat loss factor, W/(m²·°C).
    #[serde(default = "default_u0")]
    pub faiman_u0: f64,
    /// Faiman wind heat loss factor, W·s/(m³·°C).
    #[serde(default = "default_u1")]
    pub faiman_u1: f64,
    /// TT − UT1 for the solar position, seconds (pvlib's `spa_python` default 67).
    #[serde(rename = "delta_t_s", default = "default_delta_t")]
    pub delta_t_s: f64,
    /// Keys present in the JSON that this model does not use.
    #[serde(flatten, skip_serializing)]
    pub ignored: BTreeMap<String, serde_json::Value>,
}

fn default_albedo() -> f64 {
    0.2
}
fn default_gamma() -> f64 {
    -0.004
}
fn default_losses() -> f64 {
    0.14
}
fn default_eta_nom() -> f64 {
    0.96
}
fn default_eta_ref() -> f64 {
    0.9637
}
fn default_u0() -> f64 {
    25.0
}
fn default_u1() -> f64 {
    6.84
}
fn default_delta_t() -> f64 {
    DEFAULT_DELTA_T_S
}

impl PvArray {
    /// An array with the given site, orientation and sizes and every other parameter at
    /// its default (albedo 0.2, γ −0.004/°C, 14 % losses, inverter 0.96/0.9637, Faiman
    /// 25/6.84, ΔT 67 s).
    pub fn new(
        latitude_deg: f64,
        longitude_deg: f64,
        altitude_m: f64,
        tilt_deg: f64,
        azimuth_deg: f64,
        kwp: f64,
        inv_kw: f64,
    ) -> Self {
        PvArray {
            name: None,
            latitude_deg,
            longitude_deg,
            altitude_m,
            tilt_deg,
            azimuth_deg,
            kwp,
            inv_kw,
            albedo: default_albedo(),
            gamma_pdc_per_c: default_gamma(),
            system_losses: default_losses(),
            inverter_nominal_efficiency: default_eta_nom(),
            inverter_reference_efficiency: default_eta_ref(),
            faiman_u0: default_u0(),
            faiman_u1: default_u1(),
            delta_t_s: default_delta_t(),
            ignored: BTreeMap::new(),
        }
    }

    /// Reads and validates an array JSON file.
    pub fn load(path: &Path) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(Some(path), format!("cannot read: {e}")))?;
        Self::from_json(&text, Some(path))
    }

    /// Parses and validates an array from JSON text (`file` only labels errors).
    pub fn from_json(text: &str, file: Option<&Path>) -> Result<Self, InputError> {
        let array: PvArray = serde_json::from_str(text).map_err(|e| {
            let mut err = InputError::new(file, format!("not a valid array description: {e}"));
            if e.line() > 0 {
                err = err.at_line(e.line() as u64);
            }
            err
        })?;
        array.validate().map_err(|mut e| {
            e.file = file.map(Path::to_path_buf);
            e
        })?;
        Ok(array)
    }

    /// The AC output limit, kW: `inverter_nominal_efficiency × inv_kw`.
    pub fn ac_max_kw(&self) -> f64 {
        self.inverter_nominal_efficiency * self.inv_kw
    }

    /// A label for messages: the name, or the position and size.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!(
                "{} kWp at {:.4}°, {:.4}°",
                self.kwp, self.latitude_deg, self.longitude_deg
            ),
        }
    }

    /// Checks every parameter is a finite number in its physical range; the error names
    /// the JSON key.
    pub fn validate(&self) -> Result<(), InputError> {
        let checks: [(&str, f64, f64, f64, &str); 15] = [
            ("lat", self.latitude_deg, -90.0, 90.0, "degrees north"),
            ("lon", self.longitude_deg, -180.0, 180.0, "degrees east"),
            ("alt", self.altitude_m, -500.0, 9000.0, "metres"),
            ("tilt", self.tilt_deg, 0.0, 180.0, "degrees from horizontal"),
            (
                "az",
                self.azimuth_deg,
                0.0,
                360.0,
                "degrees clockwise from north",
            ),
            ("kwp", self.kwp, f64::MIN_POSITIVE, 1e7, "kW, positive"),
            (
                "inv_kw",
                self.inv_kw,
                f64::MIN_POSITIVE,
                1e7,
                "kW, positive",
            ),
            ("albedo", self.albedo, 0.0, 1.0, "fraction"),
            ("gamma_pdc_per_c", self.gamma_pdc_per_c, -0.1, 0.1, "1/°C"),
            ("system_losses", self.system_losses, 0.0, 0.99, "fraction"),
            (
                "inverter_nominal_efficiency",
                self.inverter_nominal_efficiency,
                0.01,
                1.0,
                "fraction",
            ),
            (
                "inverter_reference_efficiency",
                self.inverter_reference_efficiency,
                0.01,
                1.0,
                "fraction",
            ),
            (
                "faiman_u0",
                self.faiman_u0,
                f64::MIN_POSITIVE,
                1000.0,
                "W/(m²·°C)",
            ),
            ("faiman_u1", self.faiman_u1, 0.0, 1000.0, "W·s/(m³·°C)"),
            ("delta_t_s", self.delta_t_s, -1000.0, 1000.0, "seconds"),
        ];
        for (key, value, lo, hi, unit) in checks {
            if !(value.is_finite() && value >= lo && value <= hi) {
                let lo = if lo == f64::MIN_POSITIVE {
                    "0 (exclusive)".to_string()
                } else {
                    lo.to_string()
                };
                return Err(InputError::new(
                    None,
                    format!("{value} is out of range: expected {lo} ..= {hi} ({unit})"),
                )
                .in_column(key));
            }
        }
        Ok(())
    }

    /// The JSON keys that were present but are not used by the model, sorted.
    pub fn ignored_keys(&self) -> Vec<&str> {
        self.ignored.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"{
      "name": "kashiwa_south_20", "lat": 35.893, "lon": 139.952, "alt": 15,
      "tilt": 20, "az": 180, "kwp": 100.0, "inv_kw": 90.0, "albedo": 0.2,
      "gamma_pdc_per_c": -0.004, "system_losses": 0.14,
      "inverter_nominal_efficiency": 0.96, "faiman_u0": 25.0, "faiman_u1": 6.84,
      "step": "15min", "pvlib_version": "0.16.1"
    }"#;

    #[test]
    fn reads_the_fixture_keys_and_keeps_the_unused_ones() {
        let a = PvArray::from_json(FIXTURE, None).unwrap();
        assert_eq!(a.latitude_deg, 35.893);
        assert_eq!(a.altitude_m, 15.0);
        assert_eq!(a.tilt_deg, 20.0);
        assert_eq!(a.azimuth_deg, 180.0);
        assert_eq!(a.inv_kw, 90.0);
        assert_eq!(a.inverter_reference_efficiency, 0.9637);
        assert_eq!(a.delta_t_s, 67.0);
        assert_eq!(a.ignored_keys(), ["pvlib_version", "step"]);
        assert!((a.ac_max_kw() - 86.4).abs() < 1e-12);
    }

    #[test]
    fn defaults_fill_the_model_parameters() {
        let a = PvArray::from_json(
            r#"{"lat": 1, "lon": 2, "alt": 0, "tilt": 10, "az": 180, "kwp": 5, "inv_kw": 4}"#,
            None,
        )
        .unwrap();
        let b = PvArray::new(1.0, 2.0, 0.0, 10.0, 180.0, 5.0, 4.0);
        assert_eq!(a, b);
    }

    #[test]
    fn missing_or_out_of_range_keys_are_named() {
        let e =
            PvArray::from_json(r#"{"lat": 1, "lon": 2}"#, Some(Path::new("a.json"))).unwrap_err();
        assert!(e.to_string().starts_with("a.json: line 1"), "{e}");
        assert!(e.message.contains("missing field `alt`"), "{e}");

        let e = PvArray::from_json(
            r#"{"lat": 91, "lon": 2, "alt": 0, "tilt": 10, "az": 180, "kwp": 5, "inv_kw": 4}"#,
            Some(Path::new("a.json")),
        )
        .unwrap_err();
        assert_eq!(e.column.as_deref(), Some("lat"));
        assert!(e
            .to_string()
            .starts_with("a.json: column 'lat': 91 is out of range"));

        let e = PvArray::from_json(
            r#"{"lat": 1, "lon": 2, "alt": 0, "tilt": 10, "az": 180, "kwp": 0, "inv_kw": 4}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(e.column.as_deref(), Some("kwp"));

        let e = PvArray::from_json(
            r#"{"lat": 1, "lon": 2, "alt": 0, "tilt": 10, "az": 180, "kwp": "5", "inv_kw": 4}"#,
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("invalid type"), "{e}");
    }
}
