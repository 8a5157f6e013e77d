//! `aems sweep`: what-if parameter sweeps. Every combination of `--set KEY=V1,V2,…` values
//! is applied to the scenario file, simulated in closed loop (as `aems simulate`) with its
//! own baseline, and reported as one row of parameters and KPIs; runs go in parallel on
//! all cores. `--shard I/N` runs a deterministic slice of the combinations, and `--merge`
//! joins the shards' tables into the table of the unsharded sweep. The sweep itself is
//! `whatif::sweep`; this module holds the arguments, the progress bar and the printing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;

use crate::simulate::RunArgs;
use whatif::sweep::{self, combinations, pareto, parse_set, table, Param, Shard, Sweep, Table};

/// Arguments of `aems sweep`.
#[derive(Debug, Clone, ClapArgs)]
#[command(after_help = "\
KEYS name a field of the scenario file: `SECTION.FIELD` for [scenario], [objective],
[simulation] and [kpi] (e.g. objective.carbon_price_yen_per_kg, simulation.horizon_hours),
`KIND.ID.FIELD` for an asset (e.g. battery.gate_bat.capacity_kwh, line.interchange.capacity_kw,
grid.mall_pcc.demand_charge_yen_per_kw). Values are TOML values (numbers, true/false, or
text such as a series column name).

Runs are numbered 0.. in the order of the combinations (the last --set varies fastest);
shard I of N runs those with number % N = I - 1. Merge the shards' files with
`aems sweep S.toml --set … --merge a.csv b.csv … --out all.csv`.

Example: storage and carbon price on a July fortnight of the reference district:
  aems sweep scenarios/kashiwanoha/scenario.toml --from 2025-07-01 --to 2025-07-15 \\
      --set battery.gate_bat.capacity_kwh=3800,5800 \\
      --set objective.carbon_price_yen_per_kg=0,10,30 --out sweep.csv")]
pub struct Args {
    /// Scenario TOML (its series CSV beside it).
    pub scenario: PathBuf,
    /// A parameter and its values, `KEY=V1,V2,…` (repeatable; every combination is run).
    #[arg(long = "set", value_name = "KEY=V1,V2,…", required = true)]
    pub sets: Vec<String>,
    /// The period, the controller and its settings, as `aems simulate`.
    #[command(flatten)]
    pub run: RunArgs,
    /// Skip the baseline runs (no savings columns).
    #[arg(long)]
    pub no_baseline: bool,
    /// Run only shard I of N (1-based), e.g. `--shard 2/8`; `--shard` alone takes it from
    /// the batch scheduler (a Slurm job array's SLURM_ARRAY_TASK_ID/COUNT, a Kubernetes
    /// Indexed Job's JOB_COMPLETION_INDEX with AEMS_SHARD_COUNT; deploy/).
    #[arg(long, value_name = "I/N", num_args = 0..=1, default_missing_value = "env", value_parser = sweep::parse_shard)]
    pub shard: Option<Shard>,
    /// Merge these shard tables (CSV or Parquet) instead of running.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub merge: Vec<PathBuf>,
    /// The table: `.csv` or `.parquet`.
    #[arg(long, default_value = "sweep.csv")]
    pub out: PathBuf,
    /// The cost-vs-CO2 Pareto chart (SVG); default: beside --out, `<stem>-pareto.svg`.
    #[arg(long, value_name = "FILE")]
    pub pareto: Option<PathBuf>,
    /// Parallel runs (default: every core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Do not show progress.
    #[arg(long)]
    pub quiet: bool,
}

/// `--perfect`'s series, as the sweep's first line names them (empty without).
fn what_if(perfect: &control::simulation::PerfectSeries) -> String {
    let names = perfect.names();
    if names.is_empty() {
        return String::new();
    }
    format!("; from the actual future: {}", names.join(", "))
}

/// The sweep's progress on a progress bar.
struct Bar(indicatif::ProgressBar);

impl sweep::Progress for Bar {
    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }

    fn failed(&self, run: usize, label: &str, error: &anyhow::Error) {
        self.0
            .suspend(|| eprintln!("run {run} ({label}) failed: {error:#}"));
    }

    fn finished(&self, done: usize, total: usize) {
        self.0.set_message(format!("{done}/{total} runs"));
    }
}

/// The Pareto chart's path.
fn pareto_path(args: &Args) -> PathBuf {
    args.pareto.clone().unwrap_or_else(|| {
        let stem = args
            .out
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "sweep".into());
        args.out.with_file_name(format!("{stem}-pareto.svg"))
    })
}

/// Runs `aems sweep`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut params: Vec<Param> = Vec::new();
    for s in &args.sets {
        let p = parse_set(s)?;
        if params.iter().any(|q| q.key == p.key) {
            bail!("--set {}: given twice", p.key);
        }
        params.push(p);
    }
    let combos = combinations(&params);
    table::check_out(&args.out)?;
    if !args.merge.is_empty() {
        let merged = Table::merge(&args.merge, &params, combos.len())?;
        merged.write(&args.out)?;
        let chart = pareto_path(args);
        pareto::write(&chart, &merged)?;
        println!(
            "merged {} runs from {} files into {}; Pareto chart {}",
            merged.rows.len(),
            args.merge.len(),
            args.out.display(),
            chart.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let run_kind = args.run.run()?;

    // Check every key and value against the scenario before starting (each value alone).
    let sweep = Sweep::new(
        &args.scenario,
        params,
        args.run.options(),
        run_kind,
        !args.no_baseline,
    )?;
    let mine: Vec<usize> = (0..combos.len())
        .filter(|&i| args.shard.is_none_or(|s| s.holds(i)))
        .collect();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let steps = sweep.steps()?;
    let per_run = steps * sweep.simulations_per_run();
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new((mine.len() * per_run) as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {percent:>3}% elapsed {elapsed}, ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_message(format!("0/{} runs", mine.len()));
        b
    };
    if !args.quiet {
        eprintln!(
            "sweep: {} combinations of {} parameter(s){}; {} run(s) here, {} in parallel, {} of {} steps each{}",
            combos.len(),
            sweep.params.len(),
            args.shard
                .map(|s| format!(", shard {}/{}", s.index, s.count))
                .unwrap_or_default(),
            mine.len(),
            jobs.min(mine.len().max(1)),
            run_kind.label(),
            steps,
            what_if(&args.run.options().perfect)
        );
    }
    let started = Instant::now();
    let bar = Bar(bar);
    let rows = sweep.run(&mine, jobs, &bar)?;
    bar.0.finish_and_clear();
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    let table = sweep.table(rows);
    table.write(&args.out)?;
    let chart = pareto_path(args);
    pareto::write(&chart, &table)?;
    if !args.quiet {
        eprintln!(
            "sweep: {} run(s) in {:.1} s ({} failed); table {}, Pareto chart {}",
            table.rows.len(),
            started.elapsed().as_secs_f64(),
            failed,
            args.out.display(),
            chart.display()
        );
    }
    if !args.quiet {
        print!("{}", table.summary());
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
