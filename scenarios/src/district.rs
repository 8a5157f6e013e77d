//! A large synthetic district for benchmarks (`aems scenario generate --buildings N`): a
//! substation hub and N buildings of a seeded mix of types, each on a private line to the
//! hub, with PV, batteries, one cooling (or heating) zone each and gas engines, over any
//! horizon at 1–60 minute steps — by default 288 steps of 5 minutes from
//! 2025-08-05 00:00 JST. It follows the shape of the shared reference case
//! `e_midsize_20x96` (same ids, column names and equipment types) so that a
//! 100-building × 288-step case can be rebuilt in the repository and solved by this engine
//! and by other implementations of `dispatch-model.md` (e.g. linopy) alike.
//!
//! The same [`DistrictOptions`] always write byte-identical files: every random number
//! comes from ChaCha8 (`rand_chacha`) seeded with [`DistrictOptions::seed`], on separate
//! streams for the layout, the weather and each building, and every number is written with
//! fixed decimals. The output folder is not written into the files, so two folders made
//! with the same options compare equal byte for byte. (Sines, cosines and exponentials
//! come from the platform's maths library; a different platform could in principle round
//! a last written decimal differently.)
//!
//! # Layout
//!
//! - Node `hub` (no load) holds the utility connection `pcc` and the district's gas
//!   engine. Buildings `off_001`, `ret_002`, `hot_003`, `res_004`, … (type prefix and
//!   1-based number) each join the hub by a private line `hub_<id>`.
//! - Building types: offices 40 %, retail 20 %, hotels 10 %, residential blocks 30 %. The
//!   counts are the largest-remainder apportionment of N (ties to the type listed first),
//!   so they depend on N only; their order is a seeded shuffle.
//! - PV on `round(0.8 N)` buildings and batteries on `round(0.35 N)` buildings (halves
//!   rounded up), each set a seeded choice; each PV array has, with probability 0.3, a
//!   curtailment penalty of 0.5 yen/kWh (the rest curtail freely).
//!
//! # Buildings (per type, each value drawn uniformly in its range)
//!
//! | | office | retail | hotel | residential |
//! | --- | --- | --- | --- | --- |
//! | nominal peak of the non-HVAC load, kW | 100–600 | 150–800 | 150–450 | 60–250 |
//! | night base, share of peak | 0.26–0.36 | 0.25–0.35 | 0.50–0.65 | 0.30–0.40 |
//! | envelope conductance UA, kW/K per kW of peak | 0.03–0.06 | 0.05–0.09 | 0.05–0.09 | 0.12–0.25 |
//! | thermal capacitance C, kWh/K per kW of peak | 0.3–0.7 | 0.3–0.5 | 0.5–0.9 | 2.0–3.5 |
//! | heat gains: base / occupancy / sun, kW per kW of peak | 0.05 / 0.35 / 0.12 | 0.06 / 0.42 / 0.08 | 0.30 / 0.07 / 0.06 | 0.60 / 0.28 / 0.20 |
//! | PV, kWp per kW of peak | 0.25–0.45 | 0.15–0.35 | 0.12–0.25 | 0.35–0.70 |
//! | PV tilt, degrees | 5–15 | 3–10 | 5–15 | 15–30 |
//!
//! (gain coefficients are the centres of ±10 % ranges.) The PV azimuth is 150–210° (south
//! ± 30°), the inverter 0.9 × kWp; batteries hold 0.8–1.6 h of the building's peak load
//! (rounded to 10 kWh) with charge and discharge power 0.40–0.55 × capacity per hour
//! (rounded to 5 kW), usable 10–95 % of capacity, starting (and by default ending) at 50 %,
//! efficiencies 0.95 each way, self-discharge 0.05 %/h and 3 yen/kWh degradation cost —
//! the values of the reference case.
//!
//! **Load** (the non-HVAC electric load; the HVAC power is the model's decision) =
//! peak × (base + (1 − base) × profile) × (1 + smooth noise + white noise), where the
//! profile of the local hour is built from smooth windows (smoothstep ramps one hour wide,
//! exactly zero outside each window, so the profile is continuous across midnight and
//! across day types): offices open at 7:30–9:00 and close at 17:30–20:00 on workdays (a
//! lunch dip, a tail after closing, a third of the activity on Saturday morning, closed on
//! Sundays and holidays); retail opens at 9:30–10:30 and closes at 20:00–22:00 every day
//! (12 % busier on Saturdays and holidays); hotels have a breakfast and an evening peak;
//! residential blocks a morning and an evening peak, busier in the daytime on days off.
//! Day types come from the Japanese calendar (national holidays, New Year and Obon
//! closures). Retail and hotel loads (refrigeration) rise 1 %/K above 26 °C. Smooth noise
//! is an Ornstein–Uhlenbeck process (time constant 45 min, σ 4 %), white noise σ 0.7 %;
//! both are discretised exactly for the step, so their statistics do not depend on it.
//!
//! **HVAC** `<id>_vrf`: one zone per building (a VRF system, aggregated as one continuous
//! unit, `min_kw = 0`), RC model with `r_k_per_kw = 1 / UA`. Mode: cooling when Kashiwa's
//! normal temperature on the start date is at least 16 °C (roughly May to October),
//! heating otherwise. Heat gains = (base + occupancy share × occupancy) × peak × (1 +
//! smooth noise, τ 60 min, σ 5 %) + sun × peak × GHI / 1000 W/m². COP: cooling
//! 3.3–3.9 at 26.5 °C falling 0.08 per K (clamped to 2.0–5.5); heating 3.0–3.6 at 7 °C
//! rising 0.05 per K (clamped to 1.8–5.0). Size: 0.95–1.25 × the steady-state need at the
//! design day (cooling: 35 °C outdoors, zone at 26 °C, full gains; heating: −1 °C
//! outdoors, zone at 21 °C, no gains). Comfort bands (cooling): offices and retail
//! 24–26.5 °C from 30 minutes before opening to closing, else 18–30 °C; hotels 23–26 °C;
//! residential 24–27 °C (28 °C on workdays 9:00–17:00). Heating: offices and retail
//! 20–24 °C when open, else 15–28 °C; hotels 21–25 °C; residential 20–24 °C (18–24 °C
//! from 23:00 to 6:00). The zone starts at 26 °C (cooling) or 21 °C (heating); the comfort
//! penalty is 4–6.5 yen/K·h per kW of HVAC size.
//!
//! # Weather and PV (Kashiwanoha, 35.893 N, 139.952 E)
//!
//! - Temperature: Kashiwa's monthly normal (JMA 1991–2020, Abiko; interpolated between
//!   month centres) + an anomaly (Ornstein–Uhlenbeck, τ 48 h, σ 1.5 K) + a diurnal cosine
//!   peaking at 14:30 whose range is the month's normal range × (0.6 + 0.5 × the day's
//!   clearness), interpolated between noons, + short noise (τ 1 h, σ 0.3 K).
//! - Sky: clear-sky GHI (Haurwitz) on the NREL SPA sun position at mid-step; each day is
//!   clear (35 %, clearness 0.85–1.0), broken (40 %, 0.5–0.85) or overcast (25 %,
//!   0.15–0.45), a mix whose mean (≈ 0.67 of clear sky) matches Kashiwa's summer
//!   irradiation; within the day the clearness moves as an Ornstein–Uhlenbeck process
//!   (τ 20 min; σ 0.03, 0.18 or 0.08 for the three kinds), clamped to 0.05–1.05.
//! - PV available power: the forecast crate's PV chain (Erbs, Hay–Davies, Faiman,
//!   PVWatts) on that weather for each array, times a local factor for passing cloud
//!   edges (1 + half the day's variability × an Ornstein–Uhlenbeck process of τ 10 min,
//!   clamped to 0.6–1.1), never above the inverter's rating.
//!
//! # Hub, tariff, grid
//!
//! - Gas engine `gas_engine_1` at the hub (a base-load CHP): `max_kw` = 12 % of the
//!   district's design mean load (the sum of each building's noiseless workday mean),
//!   rounded to 10 kW (at least 10 kW), `min_kw` half of it, efficiency 0.388, fuel
//!   8.2 yen/kWh and 0.202 kg/kWh, start-up 3,000 yen, off at the start. When the district
//!   has a hotel, the first hotel has a second engine `gas_engine_2`: 0.6 × its peak load,
//!   rounded to 10 kW, half of it as `min_kw`, efficiency 0.411, otherwise the same.
//! - Grid `pcc`: TOU import price 17 yen/kWh at night (22:00–8:00) and all day on
//!   Saturdays, Sundays and holidays, 24 yen/kWh in the daytime of workdays, 26.5 yen/kWh
//!   13:00–16:00 on July–September workdays; no export (the format's default); CO2
//!   0.462 kg/kWh less up to 0.07 at midday (the national PV fleet, by the day's
//!   clearness) plus 0.014 in the evening ramp (17:00–21:00) and small noise (τ 2 h, σ
//!   0.003); demand charge 1,800 yen/kW; `import_limit_kw` 1.2 × (the generated horizon's
//!   peak district load + every HVAC unit at full power), rounded up to 100 kW.
//! - Lines: capacity 1.25 × the larger of (the building's generated peak load + its HVAC
//!   size + battery charge power) and (its PV kWp + battery discharge power + its gas
//!   engine), rounded up to 50 kW; `loss_fraction` 0.003–0.008.
//!
//! # Series CSV
//!
//! `time` (RFC 3339, +09:00), `t_out` (°C, 2 decimals), `price_imp` (yen/kWh, 2),
//! `co2` (kg/kWh, 4), then per building `load_<id>`, `pv_<id>` (only with PV), `gain_<id>`
//! (kW, 3), `cop_<id>` (3), `tlo_<id>`, `thi_<id>` (°C, 1): the column names of the
//! reference case. The scenario uses only keys of the scenario format (version 1).

use std::f64::consts::PI;
use std::fmt::{self, Write as _};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Timelike};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use forecast::calendar::{Calendar, DayType};
use forecast::pv::solar_position::{solar_position, Observer};
use forecast::pv::{run_arrays, PvArray, PvStep, WeatherStep};

/// Default horizon: 288 steps (24 h at 5 minutes).
pub const DEFAULT_STEPS: usize = 288;
/// Default step length, minutes.
pub const DEFAULT_STEP_MINUTES: u32 = 5;
/// Default start: Tuesday 5 August 2025, 00:00 JST.
pub const DEFAULT_START: &str = "2025-08-05T00:00:00+09:00";
/// Default seed.
pub const DEFAULT_SEED: u64 = 2014;
/// Step lengths the scenario format accepts: 60, or a divisor of 30 minutes.
pub const STEP_MINUTES: [u32; 9] = [1, 2, 3, 5, 6, 10, 15, 30, 60];
/// Most buildings.
pub const MAX_BUILDINGS: usize = 1000;
/// Most buildings × steps (the series is built in memory: about 70 bytes each).
pub const MAX_BUILDING_STEPS: usize = 5_000_000;
/// Longest horizon, minutes (366 days).
pub const MAX_HORIZON_MINUTES: u64 = 366 * 24 * 60;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistrictOptions {
    /// Number of buildings (at least 1, at most [`MAX_BUILDINGS`]).
    pub buildings: usize,
    /// Number of steps of the horizon (at least 1).
    pub steps: usize,
    /// Step length, minutes: one of [`STEP_MINUTES`].
    pub step_minutes: u32,
    /// The first step; on a 30-minute boundary. Written at +09:00 (Asia/Tokyo).
    pub start: DateTime<FixedOffset>,
    /// Random seed.
    pub seed: u64,
    /// Where to write scenario.toml and series.csv.
    pub out: PathBuf,
}

impl DistrictOptions {
    /// `buildings` buildings written to `out`, every other option at its default.
    pub fn new(buildings: usize, out: impl Into<PathBuf>) -> Self {
        DistrictOptions {
            buildings,
            steps: DEFAULT_STEPS,
            step_minutes: DEFAULT_STEP_MINUTES,
            start: default_start(),
            seed: DEFAULT_SEED,
            out: out.into(),
        }
    }

    /// Checks the options; the error names the option (field name) and the reason.
    pub fn check(&self) -> Result<(), BadOption> {
        let bad = |option, reason: String| Err(BadOption { option, reason });
        if self.buildings < 1 || self.buildings > MAX_BUILDINGS {
            return bad(
                "buildings",
                format!("{} is not in 1..={MAX_BUILDINGS}", self.buildings),
            );
        }
        if self.steps < 1 {
            return bad("steps", "must be at least 1".into());
        }
        if !STEP_MINUTES.contains(&self.step_minutes) {
            return bad(
                "step_minutes",
                format!(
                    "{} is not 60 or a divisor of 30 (the scenario format's steps: {STEP_MINUTES:?})",
                    self.step_minutes
                ),
            );
        }
        let horizon = self.steps as u64 * u64::from(self.step_minutes);
        if horizon > MAX_HORIZON_MINUTES {
            return bad(
                "steps",
                format!(
                    "{} steps of {} min exceed 366 days",
                    self.steps, self.step_minutes
                ),
            );
        }
        if self.buildings.saturating_mul(self.steps) > MAX_BUILDING_STEPS {
            return bad(
                "steps",
                format!(
                    "{} buildings × {} steps exceed {MAX_BUILDING_STEPS} building-steps",
                    self.buildings, self.steps
                ),
            );
        }
        if self.start.timestamp() % 1800 != 0 || self.start.timestamp_subsec_nanos() != 0 {
            return bad(
                "start",
                format!(
                    "{} is not on a 30-minute boundary (in Japan time)",
                    self.start.to_rfc3339()
                ),
            );
        }
        let end = i64::try_from(horizon)
            .ok()
            .and_then(|m| self.start.checked_add_signed(Duration::minutes(m)));
        let years = 1901..=2199;
        if !years.contains(&self.start.year()) || end.is_none_or(|e| !years.contains(&e.year())) {
            return bad(
                "start",
                format!(
                    "{}: the horizon must lie within the years 1901–2199",
                    self.start.to_rfc3339()
                ),
            );
        }
        Ok(())
    }
}

/// [`DEFAULT_START`] as a time.
pub fn default_start() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(DEFAULT_START).expect("DEFAULT_START is RFC 3339")
}

/// An option [`DistrictOptions::check`] refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOption {
    /// The option's field name in [`DistrictOptions`] (`buildings`, `steps`,
    /// `step_minutes`, `start`).
    pub option: &'static str,
    /// Why.
    pub reason: String,
}

impl fmt::Display for BadOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.option, self.reason)
    }
}

impl std::error::Error for BadOption {}

/// A building type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildingType {
    /// Offices (`off_…`).
    Office,
    /// Retail (`ret_…`).
    Retail,
    /// Hotels (`hot_…`).
    Hotel,
    /// Residential blocks (`res_…`).
    Residential,
}

impl BuildingType {
    /// Every type, in the order of the mix.
    pub const ALL: [BuildingType; 4] = [
        BuildingType::Office,
        BuildingType::Retail,
        BuildingType::Hotel,
        BuildingType::Residential,
    ];

    /// The id prefix (`off`, `ret`, `hot`, `res`).
    pub fn prefix(self) -> &'static str {
        match self {
            BuildingType::Office => "off",
            BuildingType::Retail => "ret",
            BuildingType::Hotel => "hot",
            BuildingType::Residential => "res",
        }
    }

    /// Share of the mix, percent.
    fn share_pct(self) -> usize {
        match self {
            BuildingType::Office => 40,
            BuildingType::Retail => 20,
            BuildingType::Hotel => 10,
            BuildingType::Residential => 30,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedDistrict {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Its series CSV.
    pub series: PathBuf,
    /// The first step (+09:00).
    pub start: DateTime<FixedOffset>,
    /// Steps.
    pub steps: usize,
    /// Step length, minutes.
    pub step_minutes: u32,
    /// Buildings of each type, in the order of [`BuildingType::ALL`].
    pub buildings_by_type: [usize; 4],
    /// Nodes (the hub and the buildings).
    pub nodes: usize,
    /// Private lines (one per building).
    pub lines: usize,
    /// PV arrays.
    pub pv: usize,
    /// PV arrays with a curtailment penalty.
    pub pv_with_penalty: usize,
    /// Batteries.
    pub batteries: usize,
    /// HVAC zones (one per building).
    pub hvac: usize,
    /// Gas engines.
    pub generators: usize,
    /// Whether the HVAC zones cool (else they heat).
    pub cooling: bool,
    /// Total PV, kWp.
    pub pv_kwp: f64,
    /// Total battery capacity, kWh.
    pub battery_kwh: f64,
    /// Largest district non-HVAC load over the horizon, kW.
    pub peak_load_kw: f64,
    /// Mean district non-HVAC load over the horizon, kW.
    pub mean_load_kw: f64,
    /// The hub gas engine's `max_kw`.
    pub hub_engine_kw: f64,
    /// The grid's `import_limit_kw`.
    pub import_limit_kw: f64,
}

impl GeneratedDistrict {
    /// Number of buildings.
    pub fn buildings(&self) -> usize {
        self.buildings_by_type.iter().sum()
    }
}

/// One line: the buildings by type, the equipment, the horizon and the load.
impl fmt::Display for GeneratedDistrict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [off, ret, hot, res] = self.buildings_by_type;
        write!(
            f,
            "{} buildings ({off} offices, {ret} retail, {hot} hotels, {res} residential), {} PV \
             ({:.0} kWp), {} batteries ({:.0} kWh), {} HVAC ({}), {} gas engines, {} lines; {} \
             steps of {} min from {}; load mean {:.0} kW, peak {:.0} kW",
            self.buildings(),
            self.pv,
            self.pv_kwp,
            self.batteries,
            self.battery_kwh,
            self.hvac,
            if self.cooling { "cooling" } else { "heating" },
            self.generators,
            self.lines,
            self.steps,
            self.step_minutes,
            self.start.to_rfc3339(),
            self.mean_load_kw,
            self.peak_load_kw
        )
    }
}

/// Kashiwanoha campus (35.893 N, 139.952 E, 15 m).
const SITE: (f64, f64, f64) = (35.893, 139.952, 15.0);
/// ΔT = TT − UT for the solar position, seconds (2025).
const DELTA_T_S: f64 = 69.0;
/// Japan Standard Time, seconds east of UTC (no daylight saving time since 1951).
const JST_S: i32 = 9 * 3600;
/// Monthly mean air temperature at Kashiwa, °C, January first (JMA normals 1991–2020 of
/// the nearest station, Abiko, rounded to 0.5 °C; as in [`crate::generate`]).
const MONTHLY_MEAN_C: [f64; 12] = [
    4.0, 5.0, 8.5, 13.5, 18.0, 21.5, 25.0, 26.5, 23.0, 17.5, 11.5, 6.5,
];
/// Mean diurnal range, K, January first (same normals).
const MONTHLY_RANGE_K: [f64; 12] = [10.0, 9.5, 9.0, 9.0, 8.5, 7.0, 7.0, 7.5, 7.0, 8.0, 9.0, 10.0];
/// Normal temperature on the start date from which the zones cool rather than heat, °C.
const COOLING_FROM_C: f64 = 16.0;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(1e-12..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

/// A uniform draw in `[lo, hi)`.
fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random_range(0.0..1.0)
}

/// An Ornstein–Uhlenbeck process sampled exactly at a fixed step, started in its
/// stationary distribution.
struct Ou {
    x: f64,
    phi: f64,
    innovation: f64,
}

impl Ou {
    fn new(rng: &mut ChaCha8Rng, tau_h: f64, sigma: f64, step_h: f64) -> Self {
        let phi = (-step_h / tau_h).exp();
        Ou {
            x: sigma * normal(rng),
            phi,
            innovation: sigma * (1.0 - phi * phi).sqrt(),
        }
    }

    /// The current value, then one step on.
    fn next(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        let x = self.x;
        self.x = self.phi * self.x + self.innovation * normal(rng);
        x
    }
}

fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// 0 before `at − width/2`, 1 after `at + width/2`, smooth between.
fn ramp(h: f64, at: f64, width: f64) -> f64 {
    smoothstep((h - at) / width + 0.5)
}

/// 1 between `from` and `to`, 0 outside `[from − width/2, to + width/2]`, smooth ramps.
fn window(h: f64, from: f64, to: f64, width: f64) -> f64 {
    ramp(h, from, width) * (1.0 - ramp(h, to, width))
}

/// Linear interpolation of a monthly value at a date, between month centres.
fn monthly(values: &[f64; 12], date: NaiveDate) -> f64 {
    let m = date.month0() as f64 + (date.day() as f64 - 0.5) / 30.5 - 0.5;
    let i = m.floor();
    let frac = m - i;
    let a = values[i.rem_euclid(12.0) as usize];
    let b = values[(i + 1.0).rem_euclid(12.0) as usize];
    a + frac * (b - a)
}

/// Rounds `x` to a multiple of `unit`.
fn round_to(x: f64, unit: f64) -> f64 {
    (x / unit).round() * unit
}

/// Rounds `x` up to a multiple of `unit`.
fn ceil_to(x: f64, unit: f64) -> f64 {
    (x / unit).ceil() * unit
}

/// Writes `x` with `decimals` decimals, never as `-0.0…`.
fn num(out: &mut String, x: f64, decimals: usize) {
    let scale = 10f64.powi(decimals as i32);
    let r = (x * scale).round() / scale;
    let r = if r == 0.0 { 0.0 } else { r };
    let _ = write!(out, "{r:.decimals$}");
}

/// PV of a building.
struct Pv {
    kwp: f64,
    tilt_deg: f64,
    azimuth_deg: f64,
    penalty: bool,
}

/// A battery of a building.
struct Battery {
    capacity_kwh: f64,
    power_kw: f64,
}

/// A building's drawn parameters.
struct Building {
    id: String,
    kind: BuildingType,
    peak_kw: f64,
    base: f64,
    open_h: f64,
    close_h: f64,
    ua_kw_per_k: f64,
    c_kwh_per_k: f64,
    /// Gains per kW of peak: base, occupancy, sun.
    gains: [f64; 3],
    cop_ref: f64,
    hvac_kw: f64,
    penalty_yen_per_kh: f64,
    loss_fraction: f64,
    pv: Option<Pv>,
    battery: Option<Battery>,
    engine_kw: f64,
}

impl Building {
    /// The variable part of the load (about 0–1) at local hour `h` of a day of type `d`.
    fn profile(&self, h: f64, d: DayType) -> f64 {
        let (open, close) = (self.open_h, self.close_h);
        let off = d != DayType::Workday;
        match self.kind {
            BuildingType::Office => match d {
                DayType::Workday => {
                    window(h, open, close, 1.0) * (1.0 - 0.1 * window(h, 12.0, 13.0, 0.4))
                        + 0.15 * window(h, close, close + 2.0, 1.0)
                }
                DayType::Saturday => 0.3 * window(h, open + 0.5, 16.0, 1.0),
                DayType::Holiday => 0.0,
            },
            BuildingType::Retail => {
                let busy = if off { 1.12 } else { 1.0 };
                busy * window(h, open - 1.0, close + 0.5, 0.8)
                    * (0.85 + 0.15 * window(h, 13.0, 19.0, 2.0))
            }
            BuildingType::Hotel => {
                let busy = if off { 1.08 } else { 1.0 };
                busy * (0.55 * window(h, 6.0, 9.5, 1.0)
                    + 0.25 * window(h, 9.5, 17.0, 1.0)
                    + 0.85 * window(h, 17.0, 23.0, 1.0))
            }
            BuildingType::Residential if off => {
                0.45 * window(h, 7.0, 10.0, 1.0)
                    + 0.45 * window(h, 10.0, 17.0, 1.0)
                    + window(h, 17.0, 23.0, 1.2)
            }
            BuildingType::Residential => {
                0.55 * window(h, 5.5, 8.5, 1.0)
                    + 0.15 * window(h, 9.0, 16.5, 1.0)
                    + window(h, 17.0, 23.0, 1.2)
            }
        }
    }

    /// Occupancy (0–1, about) for the heat gains.
    fn occupancy(&self, h: f64, d: DayType) -> f64 {
        let off = d != DayType::Workday;
        match self.kind {
            BuildingType::Office => match d {
                DayType::Workday => window(h, self.open_h, self.close_h, 1.0),
                DayType::Saturday => 0.2 * window(h, self.open_h + 0.5, 16.0, 1.0),
                DayType::Holiday => 0.0,
            },
            BuildingType::Retail => {
                (if off { 1.12 } else { 1.0 }) * window(h, self.open_h, self.close_h, 0.8)
            }
            BuildingType::Hotel => 1.0 - 0.6 * window(h, 10.0, 16.0, 1.5),
            BuildingType::Residential if off => 1.0 - 0.3 * window(h, 10.0, 17.0, 1.0),
            BuildingType::Residential => 1.0 - 0.6 * window(h, 8.5, 17.0, 1.0),
        }
    }

    /// The comfort band (low, high) at local hour `h`, °C.
    fn band(&self, h: f64, d: DayType, cooling: bool) -> (f64, f64) {
        let open = h >= self.open_h - 0.5 && h < self.close_h;
        match (self.kind, cooling) {
            (BuildingType::Office, true) if d == DayType::Workday && open => (24.0, 26.5),
            (BuildingType::Retail, true) if open => (24.0, 26.5),
            (BuildingType::Office | BuildingType::Retail, true) => (18.0, 30.0),
            (BuildingType::Hotel, true) => (23.0, 26.0),
            (BuildingType::Residential, true) => {
                if d == DayType::Workday && (9.0..17.0).contains(&h) {
                    (24.0, 28.0)
                } else {
                    (24.0, 27.0)
                }
            }
            (BuildingType::Office, false) if d == DayType::Workday && open => (20.0, 24.0),
            (BuildingType::Retail, false) if open => (20.0, 24.0),
            (BuildingType::Office | BuildingType::Retail, false) => (15.0, 28.0),
            (BuildingType::Hotel, false) => (21.0, 25.0),
            (BuildingType::Residential, false) => {
                if !(6.0..23.0).contains(&h) {
                    (18.0, 24.0)
                } else {
                    (20.0, 24.0)
                }
            }
        }
    }

    /// The noiseless mean load over a workday, kW.
    fn design_mean_kw(&self) -> f64 {
        let n = 288;
        (0..n)
            .map(|i| {
                let h = (i as f64 + 0.5) * 24.0 / n as f64;
                self.peak_kw * (self.base + (1.0 - self.base) * self.profile(h, DayType::Workday))
            })
            .sum::<f64>()
            / n as f64
    }
}

/// Draws building `index`'s parameters from its own stream (a fixed number of draws, so
/// its noise that follows does not depend on which equipment it has).
fn draw_building(
    rng: &mut ChaCha8Rng,
    index: usize,
    kind: BuildingType,
    has_pv: bool,
    pv_penalty: bool,
    has_battery: bool,
    cooling: bool,
) -> Building {
    use BuildingType::*;
    let u = |rng: &mut ChaCha8Rng, lo, hi| uniform(rng, lo, hi);
    let (peak, base, ua, c, gains, pv_per_kw, tilt) = match kind {
        Office => (
            (100.0, 600.0),
            (0.26, 0.36),
            (0.03, 0.06),
            (0.3, 0.7),
            [0.05, 0.35, 0.12],
            (0.25, 0.45),
            (5.0, 15.0),
        ),
        Retail => (
            (150.0, 800.0),
            (0.25, 0.35),
            (0.05, 0.09),
            (0.3, 0.5),
            [0.06, 0.42, 0.08],
            (0.15, 0.35),
            (3.0, 10.0),
        ),
        Hotel => (
            (150.0, 450.0),
            (0.50, 0.65),
            (0.05, 0.09),
            (0.5, 0.9),
            [0.30, 0.07, 0.06],
            (0.12, 0.25),
            (5.0, 15.0),
        ),
        Residential => (
            (60.0, 250.0),
            (0.30, 0.40),
            (0.12, 0.25),
            (2.0, 3.5),
            [0.60, 0.28, 0.20],
            (0.35, 0.70),
            (15.0, 30.0),
        ),
    };
    let peak_kw = round_to(u(rng, peak.0, peak.1), 1.0);
    let base = u(rng, base.0, base.1);
    let (open_h, close_h) = match kind {
        Office => (
            7.5 + 0.5 * f64::from(rng.random_range(0..4u8)),
            17.5 + 0.5 * f64::from(rng.random_range(0..6u8)),
        ),
        Retail => (
            9.5 + 0.5 * f64::from(rng.random_range(0..3u8)),
            20.0 + 0.5 * f64::from(rng.random_range(0..5u8)),
        ),
        Hotel | Residential => {
            let _ = rng.random_range(0..4u8);
            let _ = rng.random_range(0..6u8);
            (0.0, 24.0)
        }
    };
    let ua_kw_per_k = peak_kw * u(rng, ua.0, ua.1);
    let c_kwh_per_k = round_to(peak_kw * u(rng, c.0, c.1), 0.01);
    let gains = gains.map(|g| g * u(rng, 0.9, 1.1));
    let (cop_ref, hvac_kw) = if cooling {
        let cop = u(rng, 3.3, 3.9);
        let full_gains = peak_kw * ((gains[0] + 1.12 * gains[1]) * 1.1 + gains[2]);
        let need = (ua_kw_per_k * (35.0 - 26.0) + full_gains) / (cop - 0.08 * 8.5);
        (cop, round_to(need * u(rng, 0.95, 1.25), 0.1))
    } else {
        let cop = u(rng, 3.0, 3.6);
        let need = ua_kw_per_k * (21.0 + 1.0) / (cop - 0.05 * 8.0);
        (cop, round_to(need * u(rng, 0.95, 1.25), 0.1))
    };
    let penalty_yen_per_kh = round_to(hvac_kw * u(rng, 4.0, 6.5), 1.0).max(100.0);
    let loss_fraction = round_to(u(rng, 0.003, 0.008), 0.0001);
    let kwp = round_to(peak_kw * u(rng, pv_per_kw.0, pv_per_kw.1), 0.1);
    let tilt_deg = round_to(u(rng, tilt.0, tilt.1), 1.0);
    let azimuth_deg = round_to(u(rng, 150.0, 210.0), 5.0);
    let capacity_kwh = round_to(peak_kw * u(rng, 0.8, 1.6), 10.0).max(10.0);
    let power_kw = round_to(capacity_kwh * u(rng, 0.40, 0.55), 5.0).max(5.0);
    Building {
        id: format!("{}_{:03}", kind.prefix(), index + 1),
        kind,
        peak_kw,
        base,
        open_h,
        close_h,
        ua_kw_per_k,
        c_kwh_per_k,
        gains,
        cop_ref,
        hvac_kw,
        penalty_yen_per_kh,
        loss_fraction,
        pv: has_pv.then_some(Pv {
            kwp,
            tilt_deg,
            azimuth_deg,
            penalty: pv_penalty,
        }),
        battery: has_battery.then_some(Battery {
            capacity_kwh,
            power_kw,
        }),
        engine_kw: 0.0,
    }
}

/// A seeded permutation of `0..n` (Fisher–Yates).
fn shuffled(rng: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
    v
}

/// The building types of `n` buildings: largest-remainder counts, seeded order.
fn building_types(rng: &mut ChaCha8Rng, n: usize) -> Vec<BuildingType> {
    let mut counts: Vec<(BuildingType, usize, usize)> = BuildingType::ALL
        .iter()
        .map(|&k| (k, k.share_pct() * n / 100, k.share_pct() * n % 100))
        .collect();
    let mut left = n - counts.iter().map(|c| c.1).sum::<usize>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    // Largest remainder first; ties to the type listed first (the sort is stable).
    order.sort_by(|&a, &b| counts[b].2.cmp(&counts[a].2));
    for i in order {
        if left == 0 {
            break;
        }
        counts[i].1 += 1;
        left -= 1;
    }
    let deck: Vec<BuildingType> = counts
        .iter()
        .flat_map(|&(k, c, _)| std::iter::repeat_n(k, c))
        .collect();
    shuffled(rng, n).into_iter().map(|i| deck[i]).collect()
}

/// The steps of the horizon and what the profiles, bands and tariff look at: the local
/// (+09:00) hour and day type at mid-step.
struct Horizon {
    /// Start of each step, +09:00.
    times: Vec<DateTime<FixedOffset>>,
    /// Middle of each step.
    mids: Vec<DateTime<FixedOffset>>,
    /// Local hour of day at mid-step (0–24).
    hours: Vec<f64>,
    day_types: Vec<DayType>,
    step_h: f64,
}

impl Horizon {
    fn new(start: DateTime<FixedOffset>, steps: usize, step_minutes: u32) -> Self {
        let step = Duration::minutes(i64::from(step_minutes));
        let times: Vec<_> = (0..steps).map(|k| start + step * k as i32).collect();
        let mids: Vec<_> = times.iter().map(|&t| t + step / 2).collect();
        let hours = mids
            .iter()
            .map(|t| f64::from(t.num_seconds_from_midnight()) / 3600.0)
            .collect();
        let calendar = Calendar::japan();
        let day_types = mids
            .iter()
            .map(|t| calendar.day_type(t.date_naive()))
            .collect();
        Horizon {
            times,
            mids,
            hours,
            day_types,
            step_h: f64::from(step_minutes) / 60.0,
        }
    }
}

/// The district's weather and grid signals, one value per step.
struct Weather {
    t_out_c: Vec<f64>,
    ghi_w_m2: Vec<f64>,
    co2_kg_per_kwh: Vec<f64>,
    /// The day's cloud variability (σ of the clearness), for the PV's local factor.
    variability: Vec<f64>,
}

/// Temperature, irradiance and grid CO2 over the horizon (see the module documentation).
fn weather(h: &Horizon, rng: &mut ChaCha8Rng) -> Weather {
    // Days from the day before the first step (index 0) to the day after the last.
    let first_day = h.mids[0].date_naive();
    let day_index = |t: &DateTime<FixedOffset>| (t.date_naive() - first_day).num_days() + 1;
    let days = usize::try_from(day_index(&h.mids[h.mids.len() - 1]) + 2).unwrap_or(3);
    let mut clearness = Vec::with_capacity(days);
    let mut variability = Vec::with_capacity(days);
    for _ in 0..days {
        let (c, s) = match rng.random_range(0.0..1.0) {
            x if x < 0.35 => (uniform(rng, 0.85, 1.0), 0.03),
            x if x < 0.75 => (uniform(rng, 0.5, 0.85), 0.18),
            _ => (uniform(rng, 0.15, 0.45), 0.08),
        };
        clearness.push(c);
        variability.push(s);
    }
    // The diurnal range of day index i, at its noon.
    let range_of = |i: usize| {
        let date = first_day + Duration::days(i as i64 - 1);
        monthly(&MONTHLY_RANGE_K, date) * (0.6 + 0.5 * clearness[i])
    };
    let observer = Observer::new(SITE.0, SITE.1, SITE.2);
    let mut anomaly = Ou::new(rng, 48.0, 1.5, h.step_h);
    let mut jitter = Ou::new(rng, 1.0, 0.3, h.step_h);
    let mut cloud = Ou::new(rng, 20.0 / 60.0, 1.0, h.step_h);
    let mut co2_noise = Ou::new(rng, 2.0, 0.003, h.step_h);
    let steps = h.times.len();
    let mut w = Weather {
        t_out_c: Vec::with_capacity(steps),
        ghi_w_m2: Vec::with_capacity(steps),
        co2_kg_per_kwh: Vec::with_capacity(steps),
        variability: Vec::with_capacity(steps),
    };
    for (mid, &hour) in h.mids.iter().zip(&h.hours) {
        let d = usize::try_from(day_index(mid)).unwrap_or(1);
        let range = if hour >= 12.0 {
            let f = (hour - 12.0) / 24.0;
            (1.0 - f) * range_of(d) + f * range_of(d + 1)
        } else {
            let f = (hour + 12.0) / 24.0;
            (1.0 - f) * range_of(d - 1) + f * range_of(d)
        };
        let mean = monthly(&MONTHLY_MEAN_C, mid.date_naive());
        w.t_out_c.push(
            mean + anomaly.next(rng)
                + 0.5 * range * (2.0 * PI * (hour - 14.5) / 24.0).cos()
                + jitter.next(rng),
        );
        // Clear-sky GHI (Haurwitz) on the SPA sun position.
        let cz = solar_position(mid.timestamp() as f64, &observer, DELTA_T_S)
            .zenith_deg
            .to_radians()
            .cos();
        let clear = if cz <= 0.0 {
            0.0
        } else {
            1098.0 * cz * (-0.057 / cz).exp()
        };
        let kt = (clearness[d] + variability[d] * cloud.next(rng)).clamp(0.05, 1.05);
        w.ghi_w_m2.push(clear * kt);
        w.variability.push(variability[d]);
        w.co2_kg_per_kwh.push(
            0.462 - 0.07 * (clear / 1000.0) * (0.4 + 0.6 * clearness[d])
                + 0.014 * window(hour, 17.0, 21.0, 1.5)
                + co2_noise.next(rng),
        );
    }
    w
}

/// The TOU import price of each step, yen/kWh.
fn import_price(h: &Horizon) -> Vec<f64> {
    (0..h.times.len())
        .map(|k| {
            let (hour, month) = (h.hours[k], h.mids[k].month());
            if h.day_types[k] != DayType::Workday || !(8.0..22.0).contains(&hour) {
                17.0
            } else if (7..=9).contains(&month) && (13.0..16.0).contains(&hour) {
                26.5
            } else {
                24.0
            }
        })
        .collect()
}

/// A building's series.
struct Series {
    load_kw: Vec<f64>,
    pv_kw: Option<Vec<f64>>,
    gain_kw: Vec<f64>,
    cop: Vec<f64>,
    band_c: Vec<(f64, f64)>,
}

/// A building's series from its own stream; `ac` is its array's output from the PV chain
/// on the district's weather (for a building with PV).
fn building_series(
    b: &Building,
    rng: &mut ChaCha8Rng,
    h: &Horizon,
    w: &Weather,
    ac: Option<Vec<PvStep>>,
    cooling: bool,
) -> Series {
    let steps = h.times.len();
    let mut load_noise = Ou::new(rng, 0.75, 0.04, h.step_h);
    let mut gain_noise = Ou::new(rng, 1.0, 0.05, h.step_h);
    let mut local = Ou::new(rng, 10.0 / 60.0, 1.0, h.step_h);
    let mut load_kw = Vec::with_capacity(steps);
    let mut gain_kw = Vec::with_capacity(steps);
    let mut pv_kw = ac.as_ref().map(|_| Vec::with_capacity(steps));
    let [g_base, g_occ, g_sun] = b.gains;
    for k in 0..steps {
        let (hour, d, t) = (h.hours[k], h.day_types[k], w.t_out_c[k]);
        let warm = match b.kind {
            BuildingType::Retail | BuildingType::Hotel => 1.0 + 0.01 * (t - 26.0).max(0.0),
            _ => 1.0,
        };
        let noise = load_noise.next(rng) + 0.007 * normal(rng);
        let shape = b.base + (1.0 - b.base) * b.profile(hour, d);
        load_kw.push((b.peak_kw * shape * warm * (1.0 + noise)).max(0.2 * b.base * b.peak_kw));
        gain_kw.push(
            b.peak_kw * (g_base + g_occ * b.occupancy(hour, d)) * (1.0 + gain_noise.next(rng))
                + b.peak_kw * g_sun * w.ghi_w_m2[k] / 1000.0,
        );
        let f = (1.0 + 0.5 * w.variability[k] * local.next(rng)).clamp(0.6, 1.1);
        if let (Some(pv), Some(ac), Some(p)) = (pv_kw.as_mut(), ac.as_ref(), b.pv.as_ref()) {
            pv.push((ac[k].ac_kw * f).clamp(0.0, 0.9 * p.kwp));
        }
    }
    let cop = w
        .t_out_c
        .iter()
        .map(|&t| {
            if cooling {
                (b.cop_ref - 0.08 * (t - 26.5)).clamp(2.0, 5.5)
            } else {
                (b.cop_ref + 0.05 * (t - 7.0)).clamp(1.8, 5.0)
            }
        })
        .collect();
    let band_c = (0..steps)
        .map(|k| b.band(h.hours[k], h.day_types[k], cooling))
        .collect();
    Series {
        load_kw,
        pv_kw,
        gain_kw,
        cop,
        band_c,
    }
}

/// Writes series.csv.
fn write_series(
    path: &Path,
    h: &Horizon,
    w: &Weather,
    price: &[f64],
    buildings: &[Building],
    series: &[Series],
) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let mut line = String::from("time,t_out,price_imp,co2");
    for (b, s) in buildings.iter().zip(series) {
        let id = &b.id;
        let _ = write!(line, ",load_{id}");
        if s.pv_kw.is_some() {
            let _ = write!(line, ",pv_{id}");
        }
        let _ = write!(line, ",gain_{id},cop_{id},tlo_{id},thi_{id}");
    }
    line.push('\n');
    for k in 0..h.times.len() {
        line.push_str(&h.times[k].to_rfc3339());
        let mut cols = vec![(w.t_out_c[k], 2), (price[k], 2), (w.co2_kg_per_kwh[k], 4)];
        for s in series {
            cols.push((s.load_kw[k], 3));
            if let Some(pv) = &s.pv_kw {
                cols.push((pv[k], 3));
            }
            let (lo, hi) = s.band_c[k];
            cols.extend([(s.gain_kw[k], 3), (s.cop[k], 3), (lo, 1), (hi, 1)]);
        }
        for (x, decimals) in cols {
            line.push(',');
            num(&mut line, x, decimals);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        line.clear();
    }
    out.flush()
}

/// The sizes [`scenario_toml`] needs besides the buildings.
struct Plant {
    by_type: [usize; 4],
    cooling: bool,
    hub_engine_kw: f64,
    import_limit_kw: f64,
}

/// The scenario file's text.
fn scenario_toml(
    opts: &DistrictOptions,
    start: DateTime<FixedOffset>,
    plant: &Plant,
    buildings: &[Building],
    series: &[Series],
) -> String {
    let (n, steps, [off, ret, hot, res]) = (buildings.len(), opts.steps, plant.by_type);
    let mut toml = String::new();
    let _ = write!(
        toml,
        "# Synthetic district: a hub and {n} buildings ({off} offices, {ret} retail, {hot} hotels,\n\
         # {res} residential), {steps} steps of {m} min. Made by `aems scenario generate\n\
         # --buildings {n} --steps {steps} --step-minutes {m} --start {start} --seed {seed}`;\n\
         # the model and its assumptions: scenarios/src/district.rs.\n\n\
         [scenario]\nname = \"synthetic district {n}x{steps}\"\ntimezone = \"Asia/Tokyo\"\n\
         start = \"{start}\"\nstep_minutes = {m}\nsteps = {steps}\nseries = \"series.csv\"\n\n\
         [objective]\ncarbon_price_yen_per_kg = 0.0\n\n[[node]]\nid = \"hub\"\n",
        m = opts.step_minutes,
        start = start.to_rfc3339(),
        seed = opts.seed,
    );
    for b in buildings {
        let _ = write!(
            toml,
            "\n[[node]]\nid = \"{0}\"\nload_kw = \"load_{0}\"\n",
            b.id
        );
    }
    let _ = write!(
        toml,
        "\n[[grid]]\nid = \"pcc\"\nnode = \"hub\"\nimport_price_yen_per_kwh = \"price_imp\"\n\
         import_limit_kw = {:.1}\ncarbon_intensity_kg_per_kwh = \"co2\"\n\
         demand_charge_yen_per_kw = 1800.0\n",
        plant.import_limit_kw
    );
    for b in buildings {
        if let Some(p) = &b.pv {
            let _ = write!(
                toml,
                "\n[[pv]]\nid = \"{0}_pv\"\nnode = \"{0}\"\navailable_kw = \"pv_{0}\"  \
                 # {1:.1} kWp, tilt {2:.0}, azimuth {3:.0}\n",
                b.id, p.kwp, p.tilt_deg, p.azimuth_deg
            );
            if p.penalty {
                toml.push_str("curtail_penalty_yen_per_kwh = 0.5\n");
            }
        }
    }
    for b in buildings {
        if let Some(bat) = &b.battery {
            let cap = bat.capacity_kwh;
            let _ = write!(
                toml,
                "\n[[battery]]\nid = \"{0}_bat\"\nnode = \"{0}\"\ncapacity_kwh = {cap:.1}\n\
                 min_kwh = {1:.1}\nmax_kwh = {2:.1}\ncharge_kw = {3:.1}\ndischarge_kw = {3:.1}\n\
                 charge_efficiency = 0.95\ndischarge_efficiency = 0.95\n\
                 self_discharge_per_hour = 0.0005\ninitial_kwh = {4:.1}\n\
                 degradation_yen_per_kwh = 3.0\n",
                b.id,
                0.1 * cap,
                0.95 * cap,
                bat.power_kw,
                0.5 * cap,
            );
        }
    }
    let (mode, initial_c) = if plant.cooling {
        ("cooling", 26.0)
    } else {
        ("heating", 21.0)
    };
    for b in buildings {
        let _ = write!(
            toml,
            "\n[[hvac]]\nid = \"{0}_vrf\"\nnode = \"{0}\"\nmode = \"{mode}\"\nmin_kw = 0.0\n\
             max_kw = {1:.1}\ncop = \"cop_{0}\"\nr_k_per_kw = {2:.6}\nc_kwh_per_k = {3:.2}\n\
             initial_temp_c = {initial_c:.1}\noutdoor_temp_c = \"t_out\"\n\
             heat_gain_kw = \"gain_{0}\"\ncomfort_low_c = \"tlo_{0}\"\n\
             comfort_high_c = \"thi_{0}\"\ncomfort_penalty_yen_per_kh = {4:.1}\n",
            b.id,
            b.hvac_kw,
            1.0 / b.ua_kw_per_k,
            b.c_kwh_per_k,
            b.penalty_yen_per_kh,
        );
    }
    let mut gas_engine = |id: &str, node: &str, max_kw: f64, efficiency: f64| {
        let _ = write!(
            toml,
            "\n[[generator]]\nid = \"{id}\"\nnode = \"{node}\"\nmin_kw = {:.1}\n\
             max_kw = {max_kw:.1}\nefficiency = {efficiency}\nfuel_price_yen_per_kwh = 8.2\n\
             fuel_carbon_kg_per_kwh = 0.202\nstartup_cost_yen = 3000.0\ninitially_on = false\n",
            0.5 * max_kw
        );
    };
    gas_engine("gas_engine_1", "hub", plant.hub_engine_kw, 0.388);
    if let Some(b) = buildings.iter().find(|b| b.engine_kw > 0.0) {
        gas_engine("gas_engine_2", &b.id, b.engine_kw, 0.411);
    }
    for (b, s) in buildings.iter().zip(series) {
        let peak = s.load_kw.iter().copied().fold(0.0, f64::max);
        let bat = b.battery.as_ref().map_or(0.0, |x| x.power_kw);
        let kwp = b.pv.as_ref().map_or(0.0, |p| p.kwp);
        let need = (peak + b.hvac_kw + bat).max(kwp + bat + b.engine_kw);
        let _ = write!(
            toml,
            "\n[[line]]\nid = \"hub_{0}\"\nfrom = \"hub\"\nto = \"{0}\"\ncapacity_kw = {1:.1}\n\
             loss_fraction = {2:.4}\n",
            b.id,
            ceil_to(1.25 * need, 50.0),
            b.loss_fraction
        );
    }
    toml
}

/// Writes the district of `opts` into `opts.out` (`scenario.toml` and `series.csv`, the
/// same bytes for the same options) and checks that it loads.
pub fn generate(opts: &DistrictOptions) -> Result<GeneratedDistrict> {
    opts.check()?;
    let n = opts.buildings;
    let jst = FixedOffset::east_opt(JST_S).expect("+09:00 is a valid offset");
    let start = opts.start.with_timezone(&jst);
    let horizon = Horizon::new(start, opts.steps, opts.step_minutes);
    let cooling = monthly(&MONTHLY_MEAN_C, start.date_naive()) >= COOLING_FROM_C;
    let seeded = |stream: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        rng.set_stream(stream);
        rng
    };

    // Layout: types, which buildings have PV (and a curtailment penalty) and batteries.
    let mut layout = seeded(1);
    let kinds = building_types(&mut layout, n);
    let with_pv = shuffled(&mut layout, n);
    let with_bat = shuffled(&mut layout, n);
    let penalties: Vec<bool> = (0..n)
        .map(|_| layout.random_range(0.0..1.0) < 0.3)
        .collect();
    let (n_pv, n_bat) = ((8 * n + 5) / 10, (35 * n + 50) / 100);
    let mut rngs: Vec<ChaCha8Rng> = (0..n).map(|i| seeded(1000 + i as u64)).collect();
    let mut buildings: Vec<Building> = (0..n)
        .map(|i| {
            let has_pv = with_pv[..n_pv].contains(&i);
            let has_bat = with_bat[..n_bat].contains(&i);
            let (rng, kind, penalty) = (&mut rngs[i], kinds[i], penalties[i]);
            draw_building(rng, i, kind, has_pv, penalty, has_bat, cooling)
        })
        .collect();
    let design_mean_kw: f64 = buildings.iter().map(Building::design_mean_kw).sum();
    let hub_engine_kw = round_to(0.12 * design_mean_kw, 10.0).max(10.0);
    if let Some(b) = buildings.iter_mut().find(|b| b.kind == BuildingType::Hotel) {
        b.engine_kw = round_to(0.6 * b.peak_kw, 10.0).max(10.0);
    }

    // Weather, PV, tariff, then each building's series from its own stream.
    let weather = weather(&horizon, &mut seeded(2));
    let steps: Vec<WeatherStep> = (0..opts.steps)
        .map(|k| WeatherStep {
            time: horizon.mids[k],
            ghi_w_m2: weather.ghi_w_m2[k],
            temp_air_c: weather.t_out_c[k],
            wind_m_s: 2.5,
        })
        .collect();
    let arrays: Vec<PvArray> = buildings
        .iter()
        .filter_map(|b| b.pv.as_ref())
        .map(|p| {
            let (kwp, inv_kw) = (p.kwp, 0.9 * p.kwp);
            PvArray::new(
                SITE.0,
                SITE.1,
                SITE.2,
                p.tilt_deg,
                p.azimuth_deg,
                kwp,
                inv_kw,
            )
        })
        .collect();
    let mut pv_ac = run_arrays(&arrays, &steps).into_iter();
    let price = import_price(&horizon);
    let series: Vec<Series> = buildings
        .iter()
        .zip(rngs.iter_mut())
        .map(|(b, rng)| {
            let ac = if b.pv.is_some() { pv_ac.next() } else { None };
            building_series(b, rng, &horizon, &weather, ac, cooling)
        })
        .collect();

    // Sizes that depend on the generated series.
    let district_load: Vec<f64> = (0..opts.steps)
        .map(|k| series.iter().map(|s| s.load_kw[k]).sum())
        .collect();
    let peak_load_kw = district_load.iter().copied().fold(0.0, f64::max);
    let mean_load_kw = district_load.iter().sum::<f64>() / opts.steps as f64;
    let hvac_total_kw: f64 = buildings.iter().map(|b| b.hvac_kw).sum();
    let mut by_type = [0usize; 4];
    for (i, kind) in BuildingType::ALL.iter().enumerate() {
        by_type[i] = buildings.iter().filter(|b| b.kind == *kind).count();
    }
    let plant = Plant {
        by_type,
        cooling,
        hub_engine_kw,
        import_limit_kw: ceil_to(1.2 * (peak_load_kw + hvac_total_kw), 100.0),
    };

    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let series_path = opts.out.join("series.csv");
    write_series(
        &series_path,
        &horizon,
        &weather,
        &price,
        &buildings,
        &series,
    )
    .with_context(|| format!("cannot write {}", series_path.display()))?;
    let path = opts.out.join("scenario.toml");
    let toml = scenario_toml(opts, start, &plant, &buildings, &series);
    std::fs::write(&path, toml).with_context(|| format!("cannot write {}", path.display()))?;
    engine::Scenario::load(&path)
        .with_context(|| format!("the generated scenario {} does not load", path.display()))?;

    let pv = || buildings.iter().filter_map(|b| b.pv.as_ref());
    Ok(GeneratedDistrict {
        scenario: path,
        series: series_path,
        start,
        steps: opts.steps,
        step_minutes: opts.step_minutes,
        buildings_by_type: by_type,
        nodes: n + 1,
        lines: n,
        pv: n_pv,
        pv_with_penalty: pv().filter(|p| p.penalty).count(),
        batteries: n_bat,
        hvac: n,
        generators: 1 + usize::from(buildings.iter().any(|b| b.engine_kw > 0.0)),
        cooling,
        pv_kwp: pv().map(|p| p.kwp).sum(),
        battery_kwh: buildings
            .iter()
            .filter_map(|b| b.battery.as_ref())
            .map(|x| x.capacity_kwh)
            .sum(),
        peak_load_kw,
        mean_load_kw,
        hub_engine_kw,
        import_limit_kw: plant.import_limit_kw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_exactly_zero_outside_and_one_inside() {
        assert_eq!(window(6.49, 7.0, 9.0, 1.0), 0.0);
        assert_eq!(window(8.0, 7.0, 9.0, 1.0), 1.0);
        assert_eq!(window(9.51, 7.0, 9.0, 1.0), 0.0);
        assert!((window(7.0, 7.0, 9.0, 1.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_mix_is_apportioned_by_largest_remainder() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let count = |v: &[BuildingType], k| v.iter().filter(|&&x| x == k).count();
        for (n, want) in [
            (1, [1, 0, 0, 0]),
            (6, [2, 1, 1, 2]),
            (100, [40, 20, 10, 30]),
        ] {
            let v = building_types(&mut rng, n);
            let got = BuildingType::ALL.map(|k| count(&v, k));
            assert_eq!(got, want, "{n} buildings");
        }
    }

    #[test]
    fn ou_noise_is_smooth_and_keeps_its_spread() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut ou = Ou::new(&mut rng, 0.75, 0.04, 5.0 / 60.0);
        let x: Vec<f64> = (0..20_000).map(|_| ou.next(&mut rng)).collect();
        let sd = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
        assert!((sd - 0.04).abs() < 0.008, "sd {sd}");
        // Smooth: a 5-minute change is a fraction of the spread (white noise: √2 times it).
        let d2 = x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / x.len() as f64;
        assert!(
            d2.sqrt() < 0.5 * sd,
            "rms 5-min change {} vs sd {sd}",
            d2.sqrt()
        );
    }
}
