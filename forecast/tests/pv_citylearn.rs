//! The learned correction on real data: the five CityLearn 2022 homes (Fontana, CA,
//! hourly PV, `../shared/data/citylearn_2022_phase_1`, or `AEMS_DATA_DIR` holding that
//! folder). The folder must exist: a missing one fails the test.
//!
//! What is derived, and how:
//! - **GHI**: the data's `diffuse_w_m2` column is used as GHI. Despite its name it
//!   behaves as global horizontal irradiance: it never exceeds the extraterrestrial
//!   irradiance on the horizontal at mid-hour (checked below), while "DHI + DNI·cos z"
//!   built from it and `direct_w_m2` would exceed that physical bound in about half of
//!   the daylight hours. `direct_w_m2` is not used (Erbs splits GHI).
//! - **Time**: rows are hourly means stamped with the hour's start (−08:00), so the
//!   chain is evaluated at mid-hour (+30 min), for weather and PV alike.
//! - **Array**: the data give only the nominal kW (`buildings.json`: 4 kW, home 4 5 kW);
//!   tilt 20°, azimuth 180°, inverter = nominal, 14 % losses and wind 1 m/s (not in the
//!   data; pvlib's default) are assumptions, exactly what a correction has to absorb.
//! - **Protocol**: fit on the first four months (Aug–Nov 2016), evaluate on the eight
//!   months after (Dec 2016–Jul 2017), never seen by the fit; and a rolling variant:
//!   each month from December corrected with factors fitted on all months before it
//!   (30-day half-life), as a deployment refitting monthly would.
//!
//! Run with `--nocapture` to see the figures.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration};
use forecast::pv::correction::{accuracy, Accuracy, CorrectionConfig};
use forecast::pv::irradiance::extraterrestrial_normal_w_m2;
use forecast::pv::measured::{measured_column, Measured};
use forecast::pv::{PvArray, PvChain, PvCorrection, PvStep, WeatherStep};
use forecast::timeseries::{self, ColumnSpec, LongGap, SeriesRules};

const LAT: f64 = 34.0922;
const LON: f64 = -117.435;
const ALT_M: f64 = 377.0;

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("AEMS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
        .join("citylearn_2022_phase_1");
    assert!(
        dir.join("weather.csv").exists() && dir.join("buildings.csv").exists(),
        "CityLearn data missing in {}; set AEMS_DATA_DIR to the folder holding citylearn_2022_phase_1/",
        dir.display()
    );
    dir
}

fn rules() -> SeriesRules {
    SeriesRules {
        max_gap_steps: 2,
        long_gap: LongGap::Error,
    }
}

/// The weather at mid-hour, GHI from `diffuse_w_m2` (see the module docs).
fn weather(dir: &Path) -> Vec<WeatherStep> {
    let specs = [
        ColumnSpec::new("diffuse_w_m2", 0.0, 1500.0, "W/m²"),
        ColumnSpec::new("temp_c", -90.0, 70.0, "°C"),
    ];
    let s = timeseries::read_csv(&dir.join("weather.csv"), &specs, rules()).unwrap();
    assert_eq!(s.times.len(), 8760);
    s.times
        .iter()
        .enumerate()
        .map(|(i, t)| WeatherStep {
            time: *t + Duration::minutes(30),
            ghi_w_m2: s.columns[0][i],
            temp_air_c: s.columns[1][i],
            wind_m_s: 1.0,
        })
        .collect()
}

fn measured(dir: &Path, building: usize, kwp: f64) -> Measured {
    let column = format!("Building_{building}_pv_kw");
    let s = timeseries::read_csv(
        &dir.join("buildings.csv"),
        &[measured_column(&column, kwp)],
        SeriesRules {
            max_gap_steps: 2,
            long_gap: LongGap::LeaveMissing,
        },
    )
    .unwrap();
    let mut m = Measured::from_series(&column, s);
    for t in m.times.iter_mut() {
        *t += Duration::minutes(30);
    }
    m
}

fn slice(m: &Measured, end: usize) -> Measured {
    Measured {
        times: m.times[..end].to_vec(),
        ac_kw: m.ac_kw[..end].to_vec(),
        filled: m.filled[..end].to_vec(),
        ..m.clone()
    }
}

fn ac(steps: &[PvStep]) -> Vec<f64> {
    steps.iter().map(|s| s.ac_kw).collect()
}

fn show(label: &str, a: &Accuracy, kwp: f64) -> String {
    format!(
        "{label:<18} MAE {:.3} kW ({:.1} % of kWp)  RMSE {:.3} kW ({:.1} %)  energy {:.3}",
        a.mae_kw,
        100.0 * a.mae_kw / kwp,
        a.rmse_kw,
        100.0 * a.rmse_kw / kwp,
        a.energy_ratio
    )
}

#[test]
fn the_diffuse_column_is_ghi_by_its_physical_bound() {
    let dir = data_dir();
    let w = weather(&dir);
    let chain = PvChain::new(&PvArray::new(LAT, LON, ALT_M, 20.0, 180.0, 4.0, 4.0));
    let specs = [
        ColumnSpec::new("diffuse_w_m2", 0.0, 1500.0, "W/m²"),
        ColumnSpec::new("direct_w_m2", 0.0, 1500.0, "W/m²"),
    ];
    let s = timeseries::read_csv(&dir.join("weather.csv"), &specs, rules()).unwrap();
    let (mut daylight, mut above_as_ghi, mut above_as_dhi) = (0, 0, 0);
    for (i, step) in w.iter().enumerate() {
        let cos_z = chain
            .solar_position(&step.time)
            .zenith_deg
            .to_radians()
            .cos();
        if cos_z < 0.1 {
            continue;
        }
        let bound = extraterrestrial_normal_w_m2(step.time.ordinal()) * cos_z;
        daylight += 1;
        above_as_ghi += usize::from(s.columns[0][i] > bound);
        above_as_dhi += usize::from(s.columns[0][i] + s.columns[1][i] * cos_z > bound);
    }
    println!(
        "{daylight} daylight hours: diffuse_w_m2 above the extraterrestrial horizontal \
         irradiance in {above_as_ghi}; diffuse + direct·cos z above it in {above_as_dhi}"
    );
    assert_eq!(above_as_ghi, 0);
    assert!(above_as_dhi > daylight / 4);
}

#[test]
fn the_learned_correction_improves_unseen_months_for_every_home() {
    let dir = data_dir();
    let w = weather(&dir);
    let split = w
        .iter()
        .position(|s| s.time.month() == 12)
        .expect("the data reach December");
    println!(
        "fit on rows 0..{split} (to {}), evaluate on {}..{} ({} hours)",
        w[split - 1].time,
        w[split].time,
        w[w.len() - 1].time,
        w.len() - split
    );
    // Summed over homes: MAE and RMSE of the model, the correction, the rolling one.
    let mut total = [[0.0f64; 2]; 3];
    for building in 1..=5 {
        let kwp = if building == 4 { 5.0 } else { 4.0 };
        let array = PvArray::new(LAT, LON, ALT_M, 20.0, 180.0, kwp, kwp);
        let m = measured(&dir, building, kwp);
        assert_eq!(m.times.len(), w.len());
        let steps = PvChain::new(&array).run(&w);

        let config = CorrectionConfig::default();
        let c = PvCorrection::fit(&array, &steps[..split], &slice(&m, split), &config).unwrap();
        let raw = accuracy(&ac(&steps[split..]), &m.ac_kw[split..]);
        let fixed = accuracy(
            &c.apply(&steps[split..], array.ac_max_kw()),
            &m.ac_kw[split..],
        );

        // Rolling: each month corrected by a fit on everything before it.
        let rolling_config = CorrectionConfig {
            half_life_days: Some(30.0),
            ..CorrectionConfig::default()
        };
        let mut rolling = vec![f64::NAN; w.len()];
        let mut start = split;
        while start < w.len() {
            let month = w[start].time.month();
            let end = (start..w.len())
                .find(|&i| w[i].time.month() != month)
                .unwrap_or(w.len());
            let c = PvCorrection::fit(&array, &steps[..start], &slice(&m, start), &rolling_config)
                .unwrap();
            rolling[start..end].copy_from_slice(&c.apply(&steps[start..end], array.ac_max_kw()));
            start = end;
        }
        let roll = accuracy(&rolling[split..], &m.ac_kw[split..]);

        println!(
            "Building_{building} ({kwp} kW): fit on {} hours, global factor {:.3}, {} outage hours skipped",
            c.fit.samples, c.global_factor, c.fit.outages
        );
        println!("  {}", show("model", &raw, kwp));
        println!("  {}", show("corrected", &fixed, kwp));
        println!("  {}", show("rolling monthly", &roll, kwp));
        assert!(
            fixed.rmse_kw < raw.rmse_kw && fixed.mae_kw < raw.mae_kw,
            "Building_{building}: correction did not help: {raw:?} → {fixed:?}"
        );
        assert!(
            roll.rmse_kw < raw.rmse_kw && roll.mae_kw < raw.mae_kw,
            "Building_{building}: rolling correction did not help: {raw:?} → {roll:?}"
        );
        for (k, a) in [raw, fixed, roll].iter().enumerate() {
            total[k][0] += a.mae_kw / 5.0;
            total[k][1] += a.rmse_kw / 5.0;
        }
    }
    let change = |k: usize, j: usize| 100.0 * (total[k][j] / total[0][j] - 1.0);
    println!(
        "mean over homes: MAE {:.3} kW, corrected {:.3} ({:+.1} %), rolling {:.3} ({:+.1} %); \
         RMSE {:.3} kW, corrected {:.3} ({:+.1} %), rolling {:.3} ({:+.1} %)",
        total[0][0],
        total[1][0],
        change(1, 0),
        total[2][0],
        change(2, 0),
        total[0][1],
        total[1][1],
        change(1, 1),
        total[2][1],
        change(2, 1)
    );
}
