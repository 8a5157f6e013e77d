//! The Kashiwanoha reference district (`aems scenario generate`) — a Gate Square-like
//! district for a full fiscal year at 30-minute steps — made from the documented facts and
//! assumptions in `scenarios/kashiwanoha/README.md`, with a fixed seed so the same command
//! always writes the same files.
//!
//! Weather: daily mean temperature follows Kashiwa's monthly normals (smoothly between
//! month centres) plus a persistent random anomaly; the diurnal swing peaks mid-afternoon
//! and narrows on cloudy days. Irradiance: a clear-sky model (Haurwitz) on the NREL SPA
//! sun position, dimmed by a random daily cloudiness scaled to each month's normal
//! irradiation. PV: the forecast crate's PV chain on that weather. Loads: hourly shapes per
//! building type and Japanese day type (national holidays, New Year and Obon closures),
//! with temperature-dependent heating in the loads and random noise. HVAC: one controllable
//! cooling zone per building (RC model; heating stays in the loads).

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Timelike};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use forecast::calendar::{Calendar, DayType};
use forecast::pv::solar_position::{solar_position, Observer};
use forecast::pv::{ac_kw, PvArray, WeatherStep};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where to write scenario.toml and series.csv.
    pub out: PathBuf,
    /// The fiscal year (April to March) to generate.
    pub fiscal_year: i32,
    /// Random seed (weather, noise).
    pub seed: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Its series CSV.
    pub series: PathBuf,
    /// Steps of 30 minutes.
    pub steps: usize,
    /// The first step (1 April, 00:00 +09:00).
    pub start: DateTime<FixedOffset>,
}

/// The fiscal year `fiscal_year` (1 April to the next 1 April, at +09:00): its start and
/// its end (exclusive), or `None` if that is not a year chrono can represent.
pub fn fiscal_year(fiscal_year: i32) -> Option<(DateTime<FixedOffset>, DateTime<FixedOffset>)> {
    let offset = FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    let start = offset
        .with_ymd_and_hms(fiscal_year, 4, 1, 0, 0, 0)
        .single()?;
    let end = offset
        .with_ymd_and_hms(fiscal_year.checked_add(1)?, 4, 1, 0, 0, 0)
        .single()?;
    Some((start, end))
}

/// Kashiwanoha-campus (35.893 N, 139.952 E, 15 m).
const SITE: (f64, f64, f64) = (35.893, 139.952, 15.0);

/// Monthly mean air temperature at Kashiwa, °C, January first (JMA normals 1991–2020 of the
/// nearest station, Abiko, rounded to 0.5 °C).
const MONTHLY_MEAN_C: [f64; 12] = [
    4.0, 5.0, 8.5, 13.5, 18.0, 21.5, 25.0, 26.5, 23.0, 17.5, 11.5, 6.5,
];
/// Mean diurnal range, K, January first (same normals, rounded).
const MONTHLY_RANGE_K: [f64; 12] = [10.0, 9.5, 9.0, 9.0, 8.5, 7.0, 7.0, 7.5, 7.0, 8.0, 9.0, 10.0];
/// Mean daily global horizontal irradiation, kWh/m²/day, January first (NEDO MONSOLA-20 for
/// the Kashiwa area, rounded to 0.1).
const MONTHLY_GHI_KWH_M2: [f64; 12] = [2.7, 3.3, 3.8, 4.3, 4.7, 3.9, 4.2, 4.5, 3.4, 2.8, 2.4, 2.3];

/// Grid CO2 intensity, kg/kWh (TEPCO Energy Partner's adjusted emission factor, recent years).
const GRID_CO2_KG_KWH: f64 = 0.45;
/// The same in FY2013, the national base year, kg/kWh.
const GRID_CO2_2013_KG_KWH: f64 = 0.525;

/// A building of the district: its load shape and cooling zone.
struct Building {
    id: &'static str,
    /// Non-HVAC load by hour of day: (workday, Saturday, holiday), kW.
    shape: fn(u32, DayType) -> f64,
    /// Electric heating in the load per K below 16 °C, kW/K.
    heating_kw_per_k: f64,
    /// Internal + solar heat gains by hour and day type, kW thermal.
    gains: fn(u32, DayType, f64) -> f64,
    /// Occupied hours (comfort band 24–27 °C in the cooling season, else 20–30 °C).
    occupied: fn(u32, DayType) -> bool,
    pv_kwp: f64,
    pv_tilt_deg: f64,
    hvac_max_kw: f64,
    hvac_min_kw: f64,
    r_k_per_kw: f64,
    c_kwh_per_k: f64,
}

fn mall_load(h: u32, d: DayType) -> f64 {
    let open = (10..21).contains(&h);
    let base = if open { 900.0 } else { 260.0 };
    let prep = if h == 9 || h == 21 { 350.0 } else { 0.0 };
    (base + prep) * if d == DayType::Workday { 1.0 } else { 1.15 }
}
fn office_load(h: u32, d: DayType) -> f64 {
    match d {
        DayType::Workday if (8..19).contains(&h) => 460.0,
        DayType::Workday if h == 7 || h == 19 || h == 20 => 300.0,
        DayType::Saturday if (9..17).contains(&h) => 210.0,
        _ => 120.0,
    }
}
fn hotel_load(h: u32, d: DayType) -> f64 {
    let bump = match h {
        6..=9 => 90.0,
        17..=22 => 110.0,
        _ => 0.0,
    };
    (190.0 + bump) * if d == DayType::Workday { 1.0 } else { 1.1 }
}
fn resi_load(h: u32, d: DayType) -> f64 {
    let day = d != DayType::Workday;
    match h {
        0..=5 => 160.0,
        6..=8 => 330.0,
        9..=16 if day => 330.0,
        9..=16 => 210.0,
        17..=22 => 470.0,
        _ => 260.0,
    }
}
/// The two condominiums' common areas (elevators, water pumps, corridors, parking), kW:
/// on their own utility connection, joined to the district's private network only in an
/// emergency.
fn condo_load(h: u32, d: DayType) -> f64 {
    let rush = match h {
        6..=8 => 40.0,
        17..=21 => 45.0,
        9..=16 if d != DayType::Workday => 20.0,
        _ => 0.0,
    };
    70.0 + rush
}

/// Load classes per node (shares of its load; `normal` is the rest): what is kept first
/// when the grid is lost (assumed shares for each building type).
const LOAD_CLASSES: [(&str, f64, f64, f64); 5] = [
    // node, lifeline (elevators, water pumps, emergency lighting), critical, sheddable
    ("mall", 0.05, 0.15, 0.40),
    ("office", 0.08, 0.20, 0.30),
    ("hotel", 0.10, 0.30, 0.20),
    ("residences", 0.10, 0.20, 0.20),
    ("condominiums", 0.60, 0.0, 0.10),
];

fn mall_gains(h: u32, d: DayType, sun: f64) -> f64 {
    let people = if (10..21).contains(&h) {
        if d == DayType::Workday {
            1400.0
        } else {
            1800.0
        }
    } else {
        250.0
    };
    people + 0.4 * sun
}
fn office_gains(h: u32, d: DayType, sun: f64) -> f64 {
    let people = if d == DayType::Workday && (8..19).contains(&h) {
        650.0
    } else {
        90.0
    };
    people + 0.25 * sun
}
fn hotel_gains(h: u32, _d: DayType, sun: f64) -> f64 {
    (if (17..24).contains(&h) || h < 8 {
        260.0
    } else {
        150.0
    }) + 0.12 * sun
}
fn resi_gains(h: u32, _d: DayType, sun: f64) -> f64 {
    (if (17..24).contains(&h) {
        420.0
    } else if h < 7 {
        200.0
    } else {
        220.0
    }) + 0.2 * sun
}
fn mall_open(h: u32, _d: DayType) -> bool {
    (10..21).contains(&h)
}
fn office_open(h: u32, d: DayType) -> bool {
    d == DayType::Workday && (8..19).contains(&h)
}
fn always(_h: u32, _d: DayType) -> bool {
    true
}
fn evenings(h: u32, _d: DayType) -> bool {
    !(8..17).contains(&h)
}

fn buildings() -> [Building; 4] {
    [
        Building {
            id: "mall",
            shape: mall_load,
            heating_kw_per_k: 35.0,
            gains: mall_gains,
            occupied: mall_open,
            pv_kwp: 500.0,
            pv_tilt_deg: 5.0,
            hvac_max_kw: 900.0,
            hvac_min_kw: 0.0, // staged chillers, aggregated as one continuous unit
            r_k_per_kw: 0.012,
            c_kwh_per_k: 600.0,
        },
        Building {
            id: "office",
            shape: office_load,
            heating_kw_per_k: 14.0,
            gains: office_gains,
            occupied: office_open,
            pv_kwp: 100.0,
            pv_tilt_deg: 10.0,
            hvac_max_kw: 350.0,
            hvac_min_kw: 0.0,
            r_k_per_kw: 0.03,
            c_kwh_per_k: 250.0,
        },
        Building {
            id: "hotel",
            shape: hotel_load,
            heating_kw_per_k: 9.0,
            gains: hotel_gains,
            occupied: always,
            pv_kwp: 60.0,
            pv_tilt_deg: 10.0,
            hvac_max_kw: 220.0,
            hvac_min_kw: 0.0,
            r_k_per_kw: 0.05,
            c_kwh_per_k: 200.0,
        },
        Building {
            id: "residences",
            shape: resi_load,
            heating_kw_per_k: 16.0,
            gains: resi_gains,
            occupied: evenings,
            pv_kwp: 60.0,
            pv_tilt_deg: 20.0,
            hvac_max_kw: 420.0,
            hvac_min_kw: 0.0,
            r_k_per_kw: 0.03,
            c_kwh_per_k: 400.0,
        },
    ]
}

/// Linear interpolation of a monthly value at a day, between month centres.
fn monthly(values: &[f64; 12], t: DateTime<FixedOffset>) -> f64 {
    let m = t.month0() as f64 + (t.day() as f64 - 0.5) / 30.5 - 0.5;
    let i = m.floor();
    let frac = m - i;
    let a = values[(i.rem_euclid(12.0)) as usize];
    let b = values[((i + 1.0).rem_euclid(12.0)) as usize];
    a + frac * (b - a)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(1e-12..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

/// Writes the district of `opts.fiscal_year` into `opts.out` (`scenario.toml` and
/// `series.csv`, the same bytes for the same options) and checks that it loads.
pub fn generate(opts: &Options) -> Result<Generated> {
    let Some((start, end)) = fiscal_year(opts.fiscal_year) else {
        bail!("fiscal year {}: not a year", opts.fiscal_year);
    };
    let step = Duration::minutes(30);
    let steps = ((end - start).num_minutes() / 30) as usize;
    let times: Vec<DateTime<FixedOffset>> = (0..steps).map(|i| start + step * i as i32).collect();
    let calendar = Calendar::japan();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let observer = Observer::new(SITE.0, SITE.1, SITE.2);

    // Daily weather: temperature anomaly (AR(1)) and cloudiness.
    let days = steps / 48;
    let mut anomaly = 0.0;
    let mut day_anomaly = Vec::with_capacity(days);
    let mut day_cloud = Vec::with_capacity(days);
    for _ in 0..days {
        anomaly = 0.75 * anomaly + 1.6 * normal(&mut rng);
        day_anomaly.push(anomaly);
        // Clearness relative to clear sky: mixtures of clear, broken and overcast days.
        let c: f64 = match rng.random_range(0.0..1.0) {
            x if x < 0.35 => rng.random_range(0.8..1.0),
            x if x < 0.7 => rng.random_range(0.45..0.8),
            _ => rng.random_range(0.1..0.45),
        };
        day_cloud.push(c);
    }
    // Clear-sky GHI (Haurwitz) on the SPA sun position, at mid-step.
    let mid = |t: DateTime<FixedOffset>| (t + Duration::minutes(15)).timestamp() as f64;
    let clear: Vec<f64> = times
        .iter()
        .map(|t| {
            let z = solar_position(mid(*t), &observer, 67.0)
                .zenith_deg
                .to_radians();
            let cz = z.cos();
            if cz <= 0.0 {
                0.0
            } else {
                1098.0 * cz * (-0.057 / cz).exp()
            }
        })
        .collect();
    // Scale each month's cloudiness so its mean daily irradiation matches the normal.
    let mut ghi = vec![0.0; steps];
    for month in 0..12u32 {
        let idx: Vec<usize> = (0..steps).filter(|&i| times[i].month0() == month).collect();
        if idx.is_empty() {
            continue;
        }
        let raw: f64 = idx
            .iter()
            .map(|&i| clear[i] * day_cloud[i / 48])
            .sum::<f64>()
            * 0.5
            / 1000.0;
        let n_days = idx.len() as f64 / 48.0;
        let scale = MONTHLY_GHI_KWH_M2[month as usize] * n_days / raw.max(1e-9);
        for &i in &idx {
            ghi[i] = (clear[i] * day_cloud[i / 48] * scale).min(clear[i] * 1.05);
        }
    }
    let temp: Vec<f64> = (0..steps)
        .map(|i| {
            let t = times[i];
            let mean = monthly(&MONTHLY_MEAN_C, t) + day_anomaly[i / 48];
            let range = monthly(&MONTHLY_RANGE_K, t) * (0.6 + 0.5 * day_cloud[i / 48]);
            let hour = t.hour() as f64 + t.minute() as f64 / 60.0 + 0.25;
            mean + 0.5 * range * (2.0 * PI * (hour - 14.5) / 24.0).cos() + 0.3 * normal(&mut rng)
        })
        .collect();
    let weather: Vec<WeatherStep> = (0..steps)
        .map(|i| WeatherStep {
            time: times[i] + Duration::minutes(15),
            ghi_w_m2: ghi[i],
            temp_air_c: temp[i],
            wind_m_s: 2.5,
        })
        .collect();
    let bs = buildings();
    let pv: Vec<Vec<f64>> = bs
        .iter()
        .map(|b| {
            ac_kw(
                &PvArray::new(
                    SITE.0,
                    SITE.1,
                    SITE.2,
                    b.pv_tilt_deg,
                    180.0,
                    b.pv_kwp,
                    0.9 * b.pv_kwp,
                ),
                &weather,
            )
        })
        .collect();

    // Loads, gains, comfort bands, tariff.
    let day_types: Vec<DayType> = times
        .iter()
        .map(|t| calendar.day_type(t.date_naive()))
        .collect();
    let cooling_season = |t: DateTime<FixedOffset>| (6..=9).contains(&t.month());
    let mut csv = String::with_capacity(steps * 420);
    let mut header = vec!["time", "t_out", "ghi_w_m2", "price", "co2", "cop"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    for b in &bs {
        for c in ["load", "pv", "gain", "tlo", "thi"] {
            header.push(format!("{c}_{}", b.id));
        }
    }
    header.push("load_condominiums".to_string());
    csv.push_str(&header.join(","));
    csv.push('\n');
    // The condominiums' noise from its own stream, so the other columns stay as they were.
    let mut condo_rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(1));
    let mut base_year_kwh = 0.0;
    let mut zone: Vec<f64> = vec![25.0; bs.len()];
    for i in 0..steps {
        let t = times[i];
        let d = day_types[i];
        let h = t.hour();
        let summer = (7..=9).contains(&t.month());
        let price = if d == DayType::Workday && (8..22).contains(&h) {
            if summer {
                21.0
            } else {
                20.0
            }
        } else {
            15.0
        };
        let cop = (4.5 - 0.08 * (temp[i] - 20.0)).clamp(2.5, 5.0);
        let _ = write!(
            csv,
            "{},{:.2},{:.1},{price},{GRID_CO2_KG_KWH},{cop:.3}",
            t.to_rfc3339(),
            temp[i],
            ghi[i]
        );
        for (bi, b) in bs.iter().enumerate() {
            let heating = b.heating_kw_per_k * (16.0 - temp[i]).max(0.0);
            let load = ((b.shape)(h, d) + heating) * (1.0 + 0.04 * normal(&mut rng));
            let gain = (b.gains)(h, d, ghi[i]);
            let occupied = (b.occupied)(h, d);
            let (lo, hi) = if cooling_season(t) {
                if occupied {
                    (24.0, 27.0)
                } else {
                    (20.0, 30.0)
                }
            } else if occupied {
                (5.0, 26.0)
            } else {
                (5.0, 30.0)
            };
            let _ = write!(csv, ",{load:.2},{:.2},{gain:.1},{lo},{hi}", pv[bi][i]);
            // The base-year district: the same buildings, no PV or batteries, HVAC on its
            // thermostat (the simulator's baseline rule).
            let a = (-0.5 / (b.r_k_per_kw * b.c_kwh_per_k)).exp();
            let free = a * zone[bi] + (1.0 - a) * (temp[i] + b.r_k_per_kw * gain);
            let target = hi - 0.25 * (hi - lo);
            let per_kw = (1.0 - a) * b.r_k_per_kw * cop;
            let mut q = ((free - target) / per_kw).clamp(0.0, b.hvac_max_kw);
            if q > 0.0 && q < b.hvac_min_kw {
                q = if free > hi { b.hvac_min_kw } else { 0.0 };
            }
            zone[bi] = free - per_kw * q;
            base_year_kwh += 0.5 * (load + q);
        }
        let condo = condo_load(h, d) * (1.0 + 0.04 * normal(&mut condo_rng));
        let _ = write!(csv, ",{condo:.2}");
        base_year_kwh += 0.5 * condo;
        csv.push('\n');
    }
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let series = opts.out.join("series.csv");
    std::fs::write(&series, csv).with_context(|| format!("cannot write {}", series.display()))?;

    let mut toml = String::new();
    let _ = write!(
        toml,
        "# Kashiwanoha reference district (Gate Square-like), FY{fy} at 30-minute steps.\n\
         # Made by `aems scenario generate --fiscal-year {fy} --seed {seed}`; facts, assumptions\n\
         # and sources in README.md beside this file.\n\n\
         [scenario]\nname = \"Kashiwanoha Gate Square-like district, FY{fy}\"\ntimezone = \"Asia/Tokyo\"\n\
         start = \"{start}\"\nstep_minutes = 30\nsteps = {steps}\nseries = \"series.csv\"\n\n\
         [objective]\ncarbon_price_yen_per_kg = 0.0\n\n\
         [simulation]\nhorizon_hours = 24\nreplan_hours = 1\nterminal = \"initial\"\nholidays = \"japan\"\n\
         weather_temp_column = \"t_out\"\nweather_solar_columns = [\"ghi_w_m2\"]\n\
         demand_ratchet_months = 12\nmip_gap = 1e-3\n\n\
         [kpi]\nbase_year = 2013\n\
         # The same buildings in FY2013: no PV or batteries, HVAC on its thermostat, at the\n\
         # FY2013 grid factor {f13} kg/kWh.\n\
         base_year_co2_kg = {base:.0}\ntarget_year = 2030\ntarget_reduction = 0.46\n\n\
         [[node]]\nid = \"gate_hub\"\n",
        fy = opts.fiscal_year,
        seed = opts.seed,
        start = start.to_rfc3339(),
        f13 = GRID_CO2_2013_KG_KWH,
        base = base_year_kwh * GRID_CO2_2013_KG_KWH,
    );
    let ids: Vec<&str> = bs.iter().map(|b| b.id).chain(["condominiums"]).collect();
    for id in &ids {
        let _ = write!(toml, "\n[[node]]\nid = \"{id}\"\nload_kw = \"load_{id}\"\n");
        if let Some((_, life, crit, shed)) = LOAD_CLASSES.iter().find(|c| c.0 == *id) {
            let mut classes = vec![format!("{{ class = \"lifeline\", share = {life} }}")];
            if *crit > 0.0 {
                classes.push(format!("{{ class = \"critical\", share = {crit} }}"));
            }
            classes.push(format!("{{ class = \"sheddable\", share = {shed} }}"));
            let _ = writeln!(toml, "load_classes = [{}]", classes.join(", "));
        }
    }
    for (id, node, limit) in [
        ("mall_pcc", "mall", 4000.0),
        ("gate_pcc", "gate_hub", 4000.0),
        ("condo_pcc", "condominiums", 300.0),
    ] {
        let _ = write!(
            toml,
            "\n[[grid]]\nid = \"{id}\"\nnode = \"{node}\"\nimport_price_yen_per_kwh = \"price\"\n\
             import_limit_kw = {limit}\ncarbon_intensity_kg_per_kwh = \"co2\"\ndemand_charge_yen_per_kw = 1800.0\n"
        );
    }
    for b in &bs {
        let _ = write!(
            toml,
            "\n[[pv]]\nid = \"pv_{id}\"\nnode = \"{id}\"\navailable_kw = \"pv_{id}\"  # {kwp} kWp\n",
            id = b.id,
            kwp = b.pv_kwp
        );
    }
    let _ = write!(
        toml,
        "\n[[battery]]\nid = \"mall_bat\"\nnode = \"mall\"\ncapacity_kwh = 2000.0\nmin_kwh = 200.0\nmax_kwh = 1900.0\n\
         charge_kw = 500.0\ndischarge_kw = 500.0\ncharge_efficiency = 0.95\ndischarge_efficiency = 0.95\n\
         self_discharge_per_hour = 0.0002\ninitial_kwh = 1000.0\ndegradation_yen_per_kwh = 2.0\n\n\
         [[battery]]\nid = \"gate_bat\"\nnode = \"gate_hub\"\ncapacity_kwh = 3800.0\nmin_kwh = 380.0\nmax_kwh = 3610.0\n\
         charge_kw = 500.0\ndischarge_kw = 500.0\ncharge_efficiency = 0.95\ndischarge_efficiency = 0.95\n\
         self_discharge_per_hour = 0.0002\ninitial_kwh = 1900.0\ndegradation_yen_per_kwh = 2.0\n"
    );
    for b in &bs {
        let _ = write!(
            toml,
            "\n[[hvac]]\nid = \"ac_{id}\"\nnode = \"{id}\"\nmode = \"cooling\"\nmin_kw = {min}\nmax_kw = {max}\n\
             cop = \"cop\"\nr_k_per_kw = {r}\nc_kwh_per_k = {c}\ninitial_temp_c = 25.0\noutdoor_temp_c = \"t_out\"\n\
             heat_gain_kw = \"gain_{id}\"\ncomfort_low_c = \"tlo_{id}\"\ncomfort_high_c = \"thi_{id}\"\n\
             comfort_penalty_yen_per_kh = 30000.0\n",
            id = b.id,
            min = b.hvac_min_kw,
            max = b.hvac_max_kw,
            r = b.r_k_per_kw,
            c = b.c_kwh_per_k
        );
    }
    let _ = write!(
        toml,
        "\n[[generator]]\nid = \"gas_engine\"\nnode = \"gate_hub\"\nmin_kw = 175.0\nmax_kw = 350.0\nefficiency = 0.35\n\
         fuel_price_yen_per_kwh = 9.0\nfuel_carbon_kg_per_kwh = 0.202\nstartup_cost_yen = 2000.0\n\n\
         # The 2 MW emergency generator: runs only when the grid is lost, starts without it,\n\
         # burns kerosene from a 30,000 l tank (10.2 kWh/l; about 110 yen/l).\n\
         [[generator]]\nid = \"emergency_gen\"\nnode = \"gate_hub\"\nmin_kw = 400.0\nmax_kw = 2000.0\nefficiency = 0.28\n\
         fuel_price_yen_per_kwh = 10.8\nfuel_carbon_kg_per_kwh = 0.244\nstartup_cost_yen = 5000.0\n\
         emergency_only = true\nblack_start = true\nfuel_kwh_per_l = 10.2\nfuel_stock_l = 30000.0\n\n\
         [[line]]\nid = \"interchange\"\nfrom = \"mall\"\nto = \"gate_hub\"\ncapacity_kw = 1000.0\nloss_fraction = 0.005\n"
    );
    for (id, cap) in [("office", 1200.0), ("hotel", 800.0), ("residences", 1300.0)] {
        let _ = write!(
            toml,
            "\n[[line]]\nid = \"gate_{id}\"\nfrom = \"gate_hub\"\nto = \"{id}\"\ncapacity_kw = {cap}\nloss_fraction = 0.003\n"
        );
    }
    let _ = write!(
        toml,
        "\n# Closed only in an emergency: the condominiums' elevators and water pumps on the\n\
         # district's private network.\n\
         [[line]]\nid = \"condo_tie\"\nfrom = \"gate_hub\"\nto = \"condominiums\"\ncapacity_kw = 300.0\nloss_fraction = 0.003\n\
         emergency_only = true\n"
    );
    let path = opts.out.join("scenario.toml");
    std::fs::write(&path, toml).with_context(|| format!("cannot write {}", path.display()))?;
    engine::Scenario::load(&path)?;
    Ok(Generated {
        scenario: path,
        series,
        steps,
        start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fiscal_year_runs_from_april_to_april_in_japan() {
        let (start, end) = fiscal_year(2025).unwrap();
        assert_eq!(start.to_rfc3339(), "2025-04-01T00:00:00+09:00");
        assert_eq!((end - start).num_minutes() / 30, 17520);
        assert!(fiscal_year(i32::MAX).is_none());
        assert!(fiscal_year(1_000_000).is_none());
    }
}
