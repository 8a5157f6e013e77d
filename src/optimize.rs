//! `aems optimize`: one dispatch solve of a scenario, reported as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, ValueEnum};

use engine::solve::DEFAULT_MIP_GAP;
use engine::{optimize, Scenario, SolveOptions, Status, Strategy};

/// Arguments of `aems optimize`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Scenario TOML file (its series CSV is read from beside it).
    pub scenario: PathBuf,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
    /// Write the schedule to this CSV: one row per step, one column per decision.
    #[arg(long, value_name = "FILE.csv")]
    pub schedule: Option<PathBuf>,
    /// Stop after this many seconds with the best schedule found (and its gap).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub time_limit_s: Option<f64>,
    /// Relative MIP gap at which a schedule counts as optimal.
    #[arg(long, value_name = "GAP", default_value_t = DEFAULT_MIP_GAP, allow_negative_numbers = true)]
    pub mip_gap: f64,
    /// HiGHS threads (default: HiGHS chooses).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Exact solution strategy: `lazy` relaxes on/off variables and makes binary only
    /// those the relaxed optimum needs; `direct` solves the full MILP at once.
    #[arg(long, value_enum, default_value_t = StrategyArg::Lazy)]
    pub strategy: StrategyArg,
    /// Show HiGHS's log on the console.
    #[arg(long)]
    pub verbose: bool,
    /// Pass an option to HiGHS (repeatable), e.g. `--highs-option presolve=off`.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub highs_option: Vec<(String, String)>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected NAME=VALUE, got '{s}'")),
    }
}

/// `--strategy` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StrategyArg {
    /// Relaxations tightened until exact (default).
    Lazy,
    /// One MILP with every binary.
    Direct,
}

/// Runs `aems optimize`.
pub fn run(args: &Args) -> Result<ExitCode> {
    if !(args.mip_gap >= 0.0 && args.mip_gap.is_finite()) {
        bail!("--mip-gap must be a number ≥ 0, got {}", args.mip_gap);
    }
    if let Some(t) = args.time_limit_s {
        if t.is_nan() || t <= 0.0 {
            bail!("--time-limit-s must be positive, got {t}");
        }
    }
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let sc = Scenario::load(&args.scenario)?;
    let asset_steps = sc.steps
        * (sc.nodes.len()
            + sc.grids.len()
            + sc.pvs.len()
            + sc.batteries.len()
            + sc.hvacs.len()
            + sc.generators.len()
            + sc.lines.len());
    if asset_steps >= crate::alloc::LARGE_MODEL_ASSET_STEPS {
        crate::alloc::return_freed_pages_at_once();
    }
    let opts = SolveOptions {
        time_limit_s: args.time_limit_s,
        mip_gap: args.mip_gap,
        threads: args.threads,
        strategy: match args.strategy {
            StrategyArg::Lazy => Strategy::Lazy,
            StrategyArg::Direct => Strategy::Direct,
        },
        verbose: args.verbose,
        highs_options: args.highs_option.clone(),
    };
    // On a terminal, the solve says it is at work (stderr; indicatif draws nothing elsewhere).
    let spinner = (!args.json && !args.verbose).then(|| {
        let s = indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} solving… {elapsed} (--verbose shows HiGHS's log)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        s.enable_steady_tick(std::time::Duration::from_millis(250));
        s
    });
    let outcome = optimize(&sc, &opts);
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let outcome = outcome?;
    if let (Some(path), Some(schedule)) = (&args.schedule, &outcome.schedule) {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        schedule
            .write_csv(&sc, std::io::BufWriter::new(file))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&engine::report::outcome_json(&outcome))?
        );
    } else {
        print!(
            "{}",
            whatif::summary::optimize_text(&sc, &outcome, args.schedule.as_deref())
        );
    }
    if let (Some(m), true) = (&outcome.message, outcome.schedule.is_none()) {
        eprintln!("{m}");
    }
    Ok(ExitCode::from(match outcome.status {
        Status::Optimal | Status::TimeLimit => 0,
        Status::Infeasible => 2,
        Status::Unbounded => 3,
        Status::NoSolution => 4,
    }))
}
