//! `aems forecast pv`: an array's PV output over a weather series, every intermediate
//! of the chain written as CSV, optionally corrected by factors learned from measured
//! history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;
use serde_json::{json, Value};

use forecast::pv::chain::{energy_kwh, format_time, write_csv, CSV_COLUMNS};
use forecast::pv::correction::{accuracy, CorrectionConfig};
use forecast::pv::{
    read_measured_csv, read_weather_csv, PvArray, PvChain, PvCorrection, PvStep, Weather,
};
use forecast::timeseries::SeriesReport;

/// Arguments of `aems forecast pv`.
#[derive(Debug, ClapArgs)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The array: JSON with `lat`, `lon` (degrees), `alt` (m), `tilt`, `az` (degrees,
    /// clockwise from north), `kwp`, `inv_kw`, and optionally `albedo`,
    /// `gamma_pdc_per_c`, `system_losses`, `inverter_nominal_efficiency`, `faiman_u0`,
    /// `faiman_u1` (the keys of the pvlib fixtures).
    #[arg(long, value_name = "ARRAY.json")]
    pub array: PathBuf,
    /// Weather CSV with `time` (RFC 3339 with a UTC offset), `ghi_w_m2`, `temp_air_c`,
    /// `wind_m_s`; other columns are ignored.
    #[arg(long, value_name = "WEATHER.csv")]
    pub weather: PathBuf,
    /// Where to write the result: the weather columns, every intermediate of the chain
    /// and `ac_kw` (plus `correction_factor`, `ac_corrected_kw` with a correction).
    #[arg(long, value_name = "OUT.csv")]
    pub out: PathBuf,
    /// Measured PV history to learn a correction from: CSV with `time` and the
    /// `--measured-column` (AC kW). The chain is run on the weather of the history
    /// period (`--history-weather`, or the rows of `--weather` at the same times).
    #[arg(long, value_name = "MEASURED.csv", requires = "measured_column")]
    pub history: Option<PathBuf>,
    /// The column of `--history` holding the measured AC power, kW.
    #[arg(long, value_name = "NAME", requires = "history")]
    pub measured_column: Option<String>,
    /// Weather of the history period, if `--weather` does not cover it (same columns).
    #[arg(long, value_name = "WEATHER.csv", requires = "history")]
    pub history_weather: Option<PathBuf>,
    /// Save the learned correction as JSON, to apply later with `--correction`.
    #[arg(long, value_name = "CORRECTION.json", requires = "history")]
    pub save_correction: Option<PathBuf>,
    /// Apply a correction saved earlier with `--save-correction`.
    #[arg(long, value_name = "CORRECTION.json", conflicts_with = "history")]
    pub correction: Option<PathBuf>,
    /// Longest run of missing steps (rows or values) that is interpolated; longer gaps
    /// between rows are kept as breaks, longer runs of missing weather values are errors.
    #[arg(long, value_name = "STEPS", default_value_t = 4)]
    pub max_gap_steps: usize,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
}

const AFTER_HELP: &str = "\
Examples:
  aems forecast pv --array roof.json --weather forecast.csv --out pv.csv
  aems forecast pv --array roof.json --weather year.csv --out pv.csv \\
      --history meter.csv --measured-column pv_kw --save-correction roof-correction.json
  aems forecast pv --array roof.json --weather tomorrow.csv --out pv.csv \\
      --correction roof-correction.json

Input rules: times must strictly increase (duplicates or unsorted rows are errors);
up to --max-gap-steps missing steps are interpolated and counted; GHI from -50 to 0 W/m2
is set to 0; measured PV from -5 % of kWp to 0 is set to 0. Any other bad value is an
error naming the file, the line and the column.

The correction multiplies ac_kw by a factor per hour of mean solar time and sky class
(clearness index), learned as measured/modelled energy with shrinkage to the hourly and
global factors; it absorbs shading, soiling and rating or orientation errors.";

/// One corrected series and where its factors came from.
struct Corrected {
    factors: Vec<f64>,
    ac_kw: Vec<f64>,
    correction: PvCorrection,
    source: String,
    in_sample: Option<(f64, f64)>,
}

/// Runs `aems forecast pv`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let array = PvArray::load(&args.array)?;
    let weather = read_weather_csv(&args.weather, args.max_gap_steps)?;
    let chain = PvChain::new(&array);
    let steps = chain.run(&weather.steps);

    let corrected = if let (Some(history), Some(column)) = (&args.history, &args.measured_column) {
        Some(fit(args, &array, &chain, &steps, history, column)?)
    } else if let Some(path) = &args.correction {
        let c = PvCorrection::load(path)?;
        if (c.longitude_deg - array.longitude_deg).abs() > 1.0 {
            eprintln!(
                "warning: {} was fitted at longitude {}°, the array is at {}°",
                path.display(),
                c.longitude_deg,
                array.longitude_deg
            );
        }
        Some(Corrected {
            factors: steps.iter().map(|s| c.factor(s)).collect(),
            ac_kw: c.apply(&steps, array.ac_max_kw()),
            correction: c,
            source: path.display().to_string(),
            in_sample: None,
        })
    } else {
        None
    };

    let extra: Vec<(&str, &[f64])> = match &corrected {
        Some(c) => vec![
            ("correction_factor", &c.factors[..]),
            ("ac_corrected_kw", &c.ac_kw[..]),
        ],
        None => Vec::new(),
    };
    write_csv(&args.out, &steps, &extra)?;
    if let (Some(path), Some(c)) = (&args.save_correction, &corrected) {
        c.correction.save(path)?;
    }

    let summary = Summary {
        array: &array,
        weather: &weather,
        steps: &steps,
        corrected: corrected.as_ref(),
        args,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    } else {
        summary.print();
    }
    Ok(ExitCode::SUCCESS)
}

/// Fits a correction on the history and applies it to `steps`.
fn fit(
    args: &Args,
    array: &PvArray,
    chain: &PvChain,
    steps: &[PvStep],
    history: &Path,
    column: &str,
) -> Result<Corrected> {
    let measured = read_measured_csv(history, column, array.kwp, args.max_gap_steps)?;
    let history_steps = match &args.history_weather {
        Some(path) => chain.run(&read_weather_csv(path, args.max_gap_steps)?.steps),
        None => steps.to_vec(),
    };
    let correction = match PvCorrection::fit(
        array,
        &history_steps,
        &measured,
        &CorrectionConfig::default(),
    ) {
        Ok(c) => c,
        Err(mut e) => {
            e.file = Some(history.to_path_buf());
            e.column = Some(column.to_string());
            if args.history_weather.is_none() {
                e.message.push_str(
                    "; the history must overlap the --weather times, or give --history-weather",
                );
            }
            bail!(e)
        }
    };
    // In-sample check on the fitted steps: model and corrected MAE against the meter.
    let by_time: std::collections::HashMap<i64, usize> = measured
        .times
        .iter()
        .enumerate()
        .map(|(i, t)| (t.timestamp_millis(), i))
        .collect();
    let (mut model, mut fixed, mut meas) = (Vec::new(), Vec::new(), Vec::new());
    for s in &history_steps {
        if let Some(&i) = by_time.get(&s.time.timestamp_millis()) {
            if !measured.filled[i] && measured.ac_kw[i].is_finite() {
                model.push(s.ac_kw);
                fixed.push(
                    (correction.factor(s) * s.ac_kw)
                        .max(0.0)
                        .min(array.ac_max_kw()),
                );
                meas.push(measured.ac_kw[i]);
            }
        }
    }
    let in_sample = Some((
        accuracy(&model, &meas).mae_kw,
        accuracy(&fixed, &meas).mae_kw,
    ));
    let mut source = format!("'{column}' of {}", history.display());
    let r = &measured.report;
    let mut notes = Vec::new();
    if r.total_zeroed() > 0 {
        notes.push(format!("{} small negatives set to 0", r.total_zeroed()));
    }
    if r.total_interpolated() > 0 {
        notes.push(format!(
            "{} interpolated values not fitted on",
            r.total_interpolated()
        ));
    }
    if r.total_left_missing() > 0 {
        notes.push(format!("{} missing", r.total_left_missing()));
    }
    if !notes.is_empty() {
        source.push_str(&format!(" ({})", notes.join(", ")));
    }
    Ok(Corrected {
        factors: steps.iter().map(|s| correction.factor(s)).collect(),
        ac_kw: correction.apply(steps, array.ac_max_kw()),
        correction,
        source,
        in_sample,
    })
}

struct Summary<'a> {
    array: &'a PvArray,
    weather: &'a Weather,
    steps: &'a [PvStep],
    corrected: Option<&'a Corrected>,
    args: &'a Args,
}

fn peak(steps: &[PvStep], kw: &[f64]) -> (f64, String) {
    kw.iter()
        .zip(steps)
        .fold((0.0, String::from("-")), |best, (&p, s)| {
            if p > best.0 {
                (p, format_time(&s.time))
            } else {
                best
            }
        })
}

fn reading_notes(r: &SeriesReport) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut notes = vec![format!(
        "{} value{} interpolated ({} row{} inserted)",
        r.total_interpolated(),
        plural(r.total_interpolated()),
        r.rows_inserted,
        plural(r.rows_inserted)
    )];
    if r.total_zeroed() > 0 {
        notes.push(format!("{} negative GHI set to 0", r.total_zeroed()));
    }
    if !r.breaks.is_empty() {
        notes.push(format!(
            "{} gap(s) longer than the interpolation limit kept as breaks",
            r.breaks.len()
        ));
    }
    notes.join(", ")
}

impl Summary<'_> {
    fn ac(&self) -> Vec<f64> {
        self.steps.iter().map(|s| s.ac_kw).collect()
    }

    fn print(&self) {
        let a = self.array;
        let w = self.weather;
        let step_h = w.step_h();
        let ac = self.ac();
        let (peak_kw, peak_at) = peak(self.steps, &ac);
        println!(
            "PV {}: {} kWp, inverter {} kW (AC at most {:.1} kW), tilt {}°, azimuth {}°",
            a.label(),
            a.kwp,
            a.inv_kw,
            a.ac_max_kw(),
            a.tilt_deg,
            a.azimuth_deg
        );
        if let (Some(first), Some(last)) = (self.steps.first(), self.steps.last()) {
            println!(
                "  weather   {} rows of {} min, {} .. {}; {}",
                self.steps.len(),
                step_h * 60.0,
                format_time(&first.time),
                format_time(&last.time),
                reading_notes(&w.report)
            );
        }
        println!(
            "  model     {:.1} kWh AC, peak {:.2} kW at {}",
            energy_kwh(ac.iter().copied(), step_h),
            peak_kw,
            peak_at
        );
        if let Some(c) = self.corrected {
            let f = &c.correction.fit;
            println!(
                "  correction from {}: fitted on {} steps{}, global factor {:.3}",
                c.source,
                f.samples,
                match (f.first, f.last) {
                    (Some(a), Some(b)) => format!(" ({} .. {})", format_time(&a), format_time(&b)),
                    _ => String::new(),
                },
                c.correction.global_factor
            );
            if let Some((raw, fixed)) = c.in_sample {
                println!("            in-sample MAE {raw:.3} kW model, {fixed:.3} kW corrected");
            }
            let (cp, cp_at) = peak(self.steps, &c.ac_kw);
            println!(
                "  corrected {:.1} kWh AC, peak {:.2} kW at {}",
                energy_kwh(c.ac_kw.iter().copied(), step_h),
                cp,
                cp_at
            );
        }
        let columns = CSV_COLUMNS.len() + if self.corrected.is_some() { 2 } else { 0 };
        println!(
            "  written   {} ({} rows, {columns} columns)",
            self.args.out.display(),
            self.steps.len()
        );
        if !a.ignored.is_empty() {
            println!(
                "  note      keys not used in {}: {}",
                self.args.array.display(),
                a.ignored_keys().join(", ")
            );
        }
    }

    fn to_json(&self) -> Value {
        let step_h = self.weather.step_h();
        let ac = self.ac();
        let (peak_kw, peak_at) = peak(self.steps, &ac);
        let r = &self.weather.report;
        let mut v = json!({
            "array": self.array.label(),
            "rows": self.steps.len(),
            "step_min": step_h * 60.0,
            "energy_kwh": energy_kwh(ac.iter().copied(), step_h),
            "peak_kw": peak_kw,
            "peak_time": peak_at,
            "values_interpolated": r.total_interpolated(),
            "rows_inserted": r.rows_inserted,
            "negative_ghi_zeroed": r.total_zeroed(),
            "breaks": r.breaks.len(),
            "out": self.args.out.display().to_string(),
            "ignored_keys": self.array.ignored_keys(),
        });
        if let Some(c) = self.corrected {
            let (cp, cp_at) = peak(self.steps, &c.ac_kw);
            v["correction"] = json!({
                "source": c.source,
                "samples": c.correction.fit.samples,
                "global_factor": c.correction.global_factor,
                "in_sample_mae_kw": c.in_sample.map(|(raw, fixed)| json!({"model": raw, "corrected": fixed})),
                "energy_kwh": energy_kwh(c.ac_kw.iter().copied(), step_h),
                "peak_kw": cp,
                "peak_time": cp_at,
            });
        }
        v
    }
}
