//! The CityLearn 2022 phase-1 data set as a scenario the engine runs on, data it did not
//! make (`aems scenario import-citylearn DIR`).
//!
//! Five homes (Fontana, California), one year, hourly: each home is a node with its own
//! meter (a grid connection: import at the time-of-use price, exports allowed but unpaid,
//! as CityLearn scores them), its PV (available = the measured PV output) and its battery
//! (6.4 kWh, 5 kW; initial state of charge as given; CityLearn 2.1.2's default curves, as
//! CityLearn uses them in place of the data's `battery_efficiency`: the part-load round
//! trip of its `power_efficiency_curve`, each way its square root, as `efficiency_curve`,
//! and the power derated above 80 % charge of its `capacity_power_curve` as `power_curve`;
//! extensions in `docs/extensions.md`). Prices in USD/kWh are converted to yen at
//! [`Options::usd_to_yen`] (`--usd-to-yen`, default 150; every cost ratio is independent of
//! it). The weather columns
//! and their 6/12/24-h forecast columns go into the series CSV for the forecast models.
//!
//! The objective is the benchmark's: CityLearn scores cost and CO2, each against the
//! no-battery baseline and averaged over the homes, with equal weight (as the 2022 challenge
//! did). For one home, `cost/cost₀ + co2/co2₀` is minimised by `cost + λ·co2` with
//! `λ = cost₀/co2₀`, the baseline's yen per kg; the homes share no line, so each home's
//! plan is its own and only its λ matters. The scenario format has one carbon price, so
//! the importer sets the mean of the homes' λ (they differ by ±7 % on phase 1) and writes
//! each home's beside it; `--carbon-price-yen-per-kg 0` optimises cost alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use forecast::timeseries::{read_csv, ColumnSpec, SeriesRules, TimeSeries};

/// What to import and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The data folder (buildings.csv, buildings.json, weather.csv, pricing.csv, carbon.csv).
    pub dir: PathBuf,
    /// Where to write scenario.toml and series.csv.
    pub out: PathBuf,
    /// Yen per US dollar for the prices (positive).
    pub usd_to_yen: f64,
    /// The objective's carbon price; `None`: the benchmark's balance (module docs).
    pub carbon_price_yen_per_kg: Option<f64>,
}

/// What [`import`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Its series CSV.
    pub series: PathBuf,
    /// Homes (nodes) in the scenario.
    pub homes: usize,
    /// Hourly steps.
    pub steps: usize,
    /// The first step.
    pub start: DateTime<FixedOffset>,
    /// The carbon price written.
    pub carbon_price_yen_per_kg: f64,
}

#[derive(Debug, Deserialize)]
struct Home {
    pv_nominal_kw: f64,
    battery_capacity_kwh: f64,
    battery_nominal_power_kw: f64,
    battery_efficiency: f64,
    battery_initial_soc: f64,
}

const WEATHER: [&str; 3] = ["temp_c", "diffuse_w_m2", "direct_w_m2"];

fn any(name: &str) -> ColumnSpec {
    ColumnSpec::new(name, f64::NEG_INFINITY, f64::INFINITY, "")
}

fn read(dir: &Path, file: &str, cols: &[ColumnSpec]) -> Result<TimeSeries> {
    read_csv(&dir.join(file), cols, SeriesRules::default()).map_err(|e| anyhow!("{e}"))
}

/// Reads the data in `opts.dir`, writes `scenario.toml` and `series.csv` into `opts.out`
/// and checks that the scenario loads.
pub fn import(opts: &Options) -> Result<Imported> {
    if opts.usd_to_yen.is_nan() || opts.usd_to_yen <= 0.0 {
        bail!("the yen-per-dollar rate must be positive");
    }
    if let Some(p) = opts.carbon_price_yen_per_kg {
        if !(p.is_finite() && p >= 0.0) {
            bail!("the carbon price must be a finite number ≥ 0 yen/kg, not {p}");
        }
    }
    let dir = &opts.dir;
    let json_path = dir.join("buildings.json");
    let text = std::fs::read_to_string(&json_path)
        .with_context(|| format!("cannot read {}", json_path.display()))?;
    let homes: BTreeMap<String, Home> =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: {e}", json_path.display()))?;
    if homes.is_empty() {
        bail!("{}: no homes", json_path.display());
    }
    let mut names: Vec<&String> = homes.keys().collect();
    names.sort_by_key(|n| {
        n.trim_start_matches("Building_")
            .parse::<u32>()
            .unwrap_or(u32::MAX)
    });
    let mut building_cols = Vec::new();
    for n in &names {
        building_cols.push(ColumnSpec::new(
            &format!("{n}_load_kw"),
            0.0,
            f64::INFINITY,
            "kW",
        ));
        building_cols.push(
            ColumnSpec::new(&format!("{n}_pv_kw"), 0.0, f64::INFINITY, "kW")
                .zero_negatives_above(-0.5),
        );
    }
    let buildings = read(dir, "buildings.csv", &building_cols)?;
    let mut weather_cols: Vec<ColumnSpec> = WEATHER.iter().map(|c| any(c)).collect();
    for c in WEATHER {
        for h in [6, 12, 24] {
            weather_cols.push(any(&format!("{h}h_forecast_{c}")));
        }
    }
    let weather = read(dir, "weather.csv", &weather_cols)?;
    let pricing = read(
        dir,
        "pricing.csv",
        &[ColumnSpec::new("price_usd_per_kwh", 0.0, 100.0, "USD/kWh")],
    )?;
    let carbon = read(
        dir,
        "carbon.csv",
        &[ColumnSpec::new("carbon_kg_per_kwh", 0.0, 5.0, "kg/kWh")],
    )?;
    let n = buildings.times.len();
    for (name, s) in [
        ("weather.csv", &weather),
        ("pricing.csv", &pricing),
        ("carbon.csv", &carbon),
    ] {
        if s.times != buildings.times {
            bail!(
                "{}: its times differ from buildings.csv's",
                dir.join(name).display()
            );
        }
    }
    if buildings.report.step.num_minutes() != 60 || !buildings.report.breaks.is_empty() {
        bail!(
            "{}: expected a regular hourly series",
            dir.join("buildings.csv").display()
        );
    }

    // The no-battery baseline of each home (imports only, as CityLearn clips them): its
    // yen per kg.
    let price = |t: usize| pricing.columns[0][t] * opts.usd_to_yen;
    let mut lambdas = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (load, pv) = (&buildings.columns[2 * i], &buildings.columns[2 * i + 1]);
        let (mut yen, mut kg) = (0.0, 0.0);
        for t in 0..n {
            let imp = (load[t] - pv[t]).max(0.0);
            yen += imp * price(t);
            kg += imp * carbon.columns[0][t];
        }
        if kg > 0.0 {
            lambdas.push((name.as_str(), yen, kg, yen / kg));
        }
    }
    let balanced = if lambdas.is_empty() {
        0.0
    } else {
        lambdas.iter().map(|l| l.3).sum::<f64>() / lambdas.len() as f64
    };
    let carbon_price = opts.carbon_price_yen_per_kg.unwrap_or(balanced);

    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    // series.csv
    let mut csv = String::with_capacity(n * 400);
    let mut header = vec!["time".to_string()];
    header.extend(building_cols.iter().map(|c| c.name.clone()));
    header.push("price_yen_per_kwh".into());
    header.push("carbon_kg_per_kwh".into());
    header.extend(weather_cols.iter().map(|c| c.name.clone()));
    csv.push_str(&header.join(","));
    csv.push('\n');
    for t in 0..n {
        let _ = write!(csv, "{}", buildings.times[t].to_rfc3339());
        for c in &buildings.columns {
            let _ = write!(csv, ",{}", c[t]);
        }
        let _ = write!(csv, ",{}", pricing.columns[0][t] * opts.usd_to_yen);
        let _ = write!(csv, ",{}", carbon.columns[0][t]);
        for c in &weather.columns {
            let _ = write!(csv, ",{}", c[t]);
        }
        csv.push('\n');
    }
    let series_path = opts.out.join("series.csv");
    std::fs::write(&series_path, csv)
        .with_context(|| format!("cannot write {}", series_path.display()))?;

    // scenario.toml
    let mut toml = String::new();
    let _ = write!(
        toml,
        "# CityLearn Challenge 2022 phase 1 as an AEMS scenario, made by\n\
         # `aems scenario import-citylearn {}` (see scenarios/src/citylearn.rs).\n\
         # Five homes in Fontana, California, one year, hourly: each its own meter (exports\n\
         # allowed but unpaid), PV and a 6.4 kWh / 5 kW battery. Prices converted at\n\
         # {} yen/USD.\n\n\
         [scenario]\nname = \"CityLearn 2022 phase 1 (5 homes, Fontana CA)\"\n\
         timezone = \"America/Los_Angeles\"\nstart = \"{}\"\nstep_minutes = 60\nsteps = {n}\n\
         series = \"series.csv\"\n\n\
         [simulation]\nhorizon_hours = 24\nreplan_hours = 1\nterminal = \"initial\"\nholidays = \"none\"\n\
         weather_temp_column = \"temp_c\"\nweather_solar_columns = [\"diffuse_w_m2\", \"direct_w_m2\"]\n",
        dir.display(),
        opts.usd_to_yen,
        buildings.times[0].to_rfc3339()
    );
    let _ = write!(
        toml,
        "\n# The benchmark's objective: cost and CO2, each against the no-battery baseline,\n\
         # equally weighted. For a home that is cost + λ·CO2 with λ = its baseline's yen/kg:\n"
    );
    for (name, yen, kg, l) in &lambdas {
        let _ = writeln!(
            toml,
            "#   {name}: {yen:.0} yen / {kg:.1} kg = {l:.2} yen/kg"
        );
    }
    let _ = write!(
        toml,
        "# {}\n[objective]\ncarbon_price_yen_per_kg = {carbon_price}\n",
        match opts.carbon_price_yen_per_kg {
            None => "One price for all: their mean.".to_string(),
            Some(_) => format!("Set on the command line (the homes' mean would be {balanced:.2})."),
        }
    );
    for name in &names {
        let h = &homes[*name];
        if !(h.battery_efficiency > 0.0 && h.battery_efficiency <= 1.0) {
            bail!(
                "{}: {name}: battery_efficiency {} outside (0, 1]",
                json_path.display(),
                h.battery_efficiency
            );
        }
        let _ = write!(
            toml,
            "\n[[node]]\nid = \"{name}\"\nload_kw = \"{name}_load_kw\"\n\n\
             [[grid]]\nid = \"{name}_meter\"\nnode = \"{name}\"\nimport_price_yen_per_kwh = \"price_yen_per_kwh\"\n\
             export_price_yen_per_kwh = 0.0\nexport_limit_kw = inf\ncarbon_intensity_kg_per_kwh = \"carbon_kg_per_kwh\"\n\n\
             [[pv]]\nid = \"{name}_pv\"\nnode = \"{name}\"\navailable_kw = \"{name}_pv_kw\"  # {} kW nominal\n\n\
             [[battery]]\nid = \"{name}_battery\"\nnode = \"{name}\"\ncapacity_kwh = {}\nmin_kwh = 0.0\n\
             charge_kw = {}\ndischarge_kw = {}\n\
             initial_kwh = {}\n\
             # CityLearn 2.1.2 replaces the data's efficiency ({}) by its default curves:\n\
             efficiency_curve = [[0.0, 0.83], [0.3, 0.83], [0.7, 0.9], [0.8, 0.9], [1.0, 0.85]]  # round trip\n\
             power_curve = [[0.0, 1.0], [0.8, 1.0], [1.0, 0.2]]  # share of rated power by soc\n",
            h.pv_nominal_kw,
            h.battery_capacity_kwh,
            h.battery_nominal_power_kw,
            h.battery_nominal_power_kw,
            h.battery_initial_soc * h.battery_capacity_kwh,
            h.battery_efficiency
        );
    }
    let toml_path = opts.out.join("scenario.toml");
    std::fs::write(&toml_path, toml)
        .with_context(|| format!("cannot write {}", toml_path.display()))?;
    // Check that what was written loads.
    engine::Scenario::load(&toml_path)?;
    Ok(Imported {
        scenario: toml_path,
        series: series_path,
        homes: names.len(),
        steps: n,
        start: buildings.times[0],
        carbon_price_yen_per_kg: carbon_price,
    })
}
