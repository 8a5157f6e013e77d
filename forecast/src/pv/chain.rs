//! The whole PV chain of `../shared/fixtures/pv/README.md`, row by row: solar position
//! (SPA) → extraterrestrial irradiance (Spencer) → Erbs → Hay-Davies plane of array →
//! Faiman cell temperature → PVWatts DC with system losses → PVWatts inverter, keeping
//! every intermediate.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, Utc};

use super::array::PvArray;
use super::irradiance::{erbs, extraterrestrial_normal_w_m2, Plane};
use super::pvwatts::{dc_kw, inverter_ac_kw};
use super::solar_position::{Observer, SolarPosition, SunEphemeris};
use super::temperature::faiman_cell_temp_c;
use super::weather::WeatherStep;
use crate::error::InputError;

/// One time step through the chain: the inputs and every intermediate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PvStep {
    /// The instant.
    pub time: DateTime<FixedOffset>,
    /// Input: global horizontal irradiance, W/m².
    pub ghi_w_m2: f64,
    /// Input: air temperature, °C.
    pub temp_air_c: f64,
    /// Input: wind speed, m/s.
    pub wind_m_s: f64,
    /// True (unrefracted) solar zenith, degrees.
    pub zenith_deg: f64,
    /// Solar azimuth, degrees clockwise from north.
    pub azimuth_deg: f64,
    /// Extraterrestrial normal irradiance, W/m².
    pub dni_extra_w_m2: f64,
    /// Clearness index kt of the Erbs decomposition (GHI over extraterrestrial
    /// horizontal, clipped to [0, 1]).
    pub clearness_index: f64,
    /// Direct normal irradiance (Erbs), W/m².
    pub dni_w_m2: f64,
    /// Diffuse horizontal irradiance (Erbs), W/m².
    pub dhi_w_m2: f64,
    /// Plane-of-array global irradiance (Hay-Davies + ground), W/m².
    pub poa_global_w_m2: f64,
    /// Cell temperature (Faiman), °C.
    pub cell_temp_c: f64,
    /// DC power after system losses, kW.
    pub dc_kw: f64,
    /// AC power out of the inverter, kW.
    pub ac_kw: f64,
}

/// The chain for one array, with its site and plane prepared once.
#[derive(Debug, Clone)]
pub struct PvChain {
    array: PvArray,
    observer: Observer,
    plane: Plane,
}

/// Seconds since 1970 (UTC) of a time, with its sub-second part.
pub fn unix_seconds(time: &DateTime<FixedOffset>) -> f64 {
    time.timestamp() as f64 + f64::from(time.timestamp_subsec_nanos()) * 1e-9
}

/// A time as written in the output CSV: RFC 3339, `Z` for UTC, seconds only when
/// needed.
pub fn format_time(time: &DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Day of the year (1–366) of a time's UTC date, for the extraterrestrial irradiance.
pub fn utc_day_of_year(time: &DateTime<FixedOffset>) -> u32 {
    time.with_timezone(&Utc).ordinal()
}

impl PvChain {
    /// Prepares the chain for `array` (assumed valid, see [`PvArray::validate`]).
    pub fn new(array: &PvArray) -> Self {
        PvChain {
            array: array.clone(),
            observer: Observer::new(array.latitude_deg, array.longitude_deg, array.altitude_m),
            plane: Plane::new(array.tilt_deg, array.azimuth_deg),
        }
    }

    /// The array modelled.
    pub fn array(&self) -> &PvArray {
        &self.array
    }

    /// The site as an SPA observer.
    pub fn observer(&self) -> &Observer {
        &self.observer
    }

    /// The Sun's position for this array at `time`.
    pub fn solar_position(&self, time: &DateTime<FixedOffset>) -> SolarPosition {
        SunEphemeris::at_unix(unix_seconds(time), self.array.delta_t_s).position(&self.observer)
    }

    /// One step, computing the solar position.
    pub fn step(&self, weather: &WeatherStep) -> PvStep {
        let eph = SunEphemeris::at_unix(unix_seconds(&weather.time), self.array.delta_t_s);
        self.step_with(&eph, weather)
    }

    /// One step with a precomputed ephemeris for `weather.time` (shared between arrays;
    /// it must have been computed with this array's ΔT for identical results).
    pub fn step_with(&self, ephemeris: &SunEphemeris, weather: &WeatherStep) -> PvStep {
        let a = &self.array;
        let sun = ephemeris.position(&self.observer);
        let dni_extra = extraterrestrial_normal_w_m2(utc_day_of_year(&weather.time));
        let split = erbs(weather.ghi_w_m2, sun.zenith_deg, dni_extra);
        let poa = self.plane.poa_hay_davies(
            weather.ghi_w_m2,
            split.dni_w_m2,
            split.dhi_w_m2,
            dni_extra,
            sun.zenith_deg,
            sun.azimuth_deg,
            a.albedo,
        );
        let cell = faiman_cell_temp_c(
            poa.global_w_m2,
            weather.temp_air_c,
            weather.wind_m_s,
            a.faiman_u0,
            a.faiman_u1,
        );
        let dc = dc_kw(poa.global_w_m2, cell, a.kwp, a.gamma_pdc_per_c) * (1.0 - a.system_losses);
        let ac = inverter_ac_kw(
            dc,
            a.inv_kw,
            a.inverter_nominal_efficiency,
            a.inverter_reference_efficiency,
        );
        PvStep {
            time: weather.time,
            ghi_w_m2: weather.ghi_w_m2,
            temp_air_c: weather.temp_air_c,
            wind_m_s: weather.wind_m_s,
            zenith_deg: sun.zenith_deg,
            azimuth_deg: sun.azimuth_deg,
            dni_extra_w_m2: dni_extra,
            clearness_index: split.clearness_index,
            dni_w_m2: split.dni_w_m2,
            dhi_w_m2: split.dhi_w_m2,
            poa_global_w_m2: poa.global_w_m2,
            cell_temp_c: cell,
            dc_kw: dc,
            ac_kw: ac,
        }
    }

    /// The chain over a weather series.
    pub fn run(&self, weather: &[WeatherStep]) -> Vec<PvStep> {
        weather.iter().map(|w| self.step(w)).collect()
    }
}

/// The chain for several arrays over one weather series (e.g. the arrays of a
/// district under one forecast), one result series per array. The time-only part of
/// the solar position is computed once per step for all arrays with the same ΔT.
pub fn run_arrays(arrays: &[PvArray], weather: &[WeatherStep]) -> Vec<Vec<PvStep>> {
    let chains: Vec<PvChain> = arrays.iter().map(PvChain::new).collect();
    let mut out: Vec<Vec<PvStep>> = chains
        .iter()
        .map(|_| Vec::with_capacity(weather.len()))
        .collect();
    for w in weather {
        let unix = unix_seconds(&w.time);
        let mut shared: Option<(f64, SunEphemeris)> = None;
        for (chain, series) in chains.iter().zip(out.iter_mut()) {
            let dt = chain.array.delta_t_s;
            let eph = match shared {
                Some((d, e)) if d == dt => e,
                _ => {
                    let e = SunEphemeris::at_unix(unix, dt);
                    shared = Some((dt, e));
                    e
                }
            };
            series.push(chain.step_with(&eph, w));
        }
    }
    out
}

/// AC power, kW, of one array at each weather step: the chain's final output, for
/// callers that need only that (demand netting, simulation).
pub fn ac_kw(array: &PvArray, weather: &[WeatherStep]) -> Vec<f64> {
    PvChain::new(array)
        .run(weather)
        .iter()
        .map(|s| s.ac_kw)
        .collect()
}

/// The CSV columns written by [`write_csv`], in order (the fixtures' columns).
pub const CSV_COLUMNS: [&str; 13] = [
    "time",
    "ghi_w_m2",
    "temp_air_c",
    "wind_m_s",
    "zenith_deg",
    "azimuth_deg",
    "dni_extra_w_m2",
    "dni_w_m2",
    "dhi_w_m2",
    "poa_global_w_m2",
    "cell_temp_c",
    "dc_kw",
    "ac_kw",
];

/// Writes the steps as CSV with the fixtures' columns ([`CSV_COLUMNS`]) and six
/// decimals, then the `extra` columns (name and one value per step), to `out`.
pub fn write_csv_to<W: Write>(
    out: W,
    steps: &[PvStep],
    extra: &[(&str, &[f64])],
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(out);
    let mut header = CSV_COLUMNS.join(",");
    for (name, _) in extra {
        header.push(',');
        header.push_str(name);
    }
    writeln!(w, "{header}")?;
    for (i, s) in steps.iter().enumerate() {
        write!(
            w,
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6}",
            format_time(&s.time),
            s.ghi_w_m2,
            s.temp_air_c,
            s.wind_m_s,
            s.zenith_deg,
            s.azimuth_deg,
            s.dni_extra_w_m2,
            s.dni_w_m2,
            s.dhi_w_m2,
            s.poa_global_w_m2,
            s.cell_temp_c,
            s.dc_kw,
            s.ac_kw
        )?;
        for (_, values) in extra {
            write!(w, ",{:.6}", values.get(i).copied().unwrap_or(f64::NAN))?;
        }
        writeln!(w)?;
    }
    w.flush()
}

/// Writes the steps as CSV (see [`write_csv_to`]) to a file.
pub fn write_csv(
    path: &Path,
    steps: &[PvStep],
    extra: &[(&str, &[f64])],
) -> Result<(), InputError> {
    let file = std::fs::File::create(path)
        .map_err(|e| InputError::new(Some(path), format!("cannot create: {e}")))?;
    write_csv_to(file, steps, extra)
        .map_err(|e| InputError::new(Some(path), format!("cannot write: {e}")))
}

/// Energy, kWh, of a power series with a constant step of `step_h` hours.
pub fn energy_kwh(power_kw: impl IntoIterator<Item = f64>, step_h: f64) -> f64 {
    power_kw.into_iter().sum::<f64>() * step_h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather(hour: u32, ghi: f64) -> WeatherStep {
        WeatherStep {
            time: DateTime::parse_from_rfc3339(&format!("2025-06-21T{hour:02}:00:00Z")).unwrap(),
            ghi_w_m2: ghi,
            temp_air_c: 25.0,
            wind_m_s: 1.0,
        }
    }

    #[test]
    fn no_sun_no_power_and_clipping_at_the_inverter() {
        let mut a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 60.0);
        a.system_losses = 0.0;
        let c = PvChain::new(&a);
        let night = c.step(&weather(15, 0.0));
        assert!(night.zenith_deg > 90.0);
        assert_eq!((night.dc_kw, night.ac_kw), (0.0, 0.0));
        assert_eq!(night.cell_temp_c, 25.0);
        let noon = c.step(&weather(3, 1000.0));
        assert!(noon.dc_kw > 60.0, "{noon:?}");
        assert!((noon.ac_kw - 0.96 * 60.0).abs() < 1e-12);
    }

    #[test]
    fn arrays_together_equal_arrays_alone() {
        let a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
        let mut b = PvArray::new(35.0, 135.0, 100.0, 5.0, 170.0, 300.0, 250.0);
        let ws: Vec<WeatherStep> = (0..24).map(|h| weather(h, 400.0)).collect();
        let together = run_arrays(&[a.clone(), b.clone()], &ws);
        assert_eq!(together[0], PvChain::new(&a).run(&ws));
        assert_eq!(together[1], PvChain::new(&b).run(&ws));
        b.delta_t_s = 69.0;
        let together = run_arrays(&[a.clone(), b.clone()], &ws);
        assert_eq!(together[1], PvChain::new(&b).run(&ws));
        assert_eq!(
            ac_kw(&a, &ws),
            together[0].iter().map(|s| s.ac_kw).collect::<Vec<_>>()
        );
    }

    #[test]
    fn csv_has_the_fixture_columns_then_the_extras() {
        let a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
        let steps = PvChain::new(&a).run(&[weather(3, 500.0)]);
        let mut buf = Vec::new();
        write_csv_to(&mut buf, &steps, &[("ac_corrected_kw", &[1.5])]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            format!("{},ac_corrected_kw", CSV_COLUMNS.join(","))
        );
        let row = lines.next().unwrap();
        assert!(row.starts_with("2025-06-21T03:00:00Z,500.000000,"), "{row}");
        assert!(row.ends_with(",1.500000"), "{row}");
    }
}
