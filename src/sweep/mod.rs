//! `aems sweep`: what-if parameter sweeps. Every combination of `--set KEY=V1,V2,…` values
//! is applied to the scenario file, simulated in closed loop (as `aems simulate`) with its
//! own baseline, and reported as one row of parameters and KPIs; runs go in parallel on
//! all cores (rayon). `--shard I/N` runs a deterministic slice of the combinations, and
//! `--merge` joins the shards' tables into the table of the unsharded sweep.

mod pareto;
mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args as ClapArgs;
use rayon::prelude::*;

use engine::{ScenarioError, ScenarioFile};

use crate::simulate::RunArgs;
use control::simulation::{self, Run, Setup};
pub use table::{Row, Table};

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
    /// Run only shard I of N (1-based), e.g. `--shard 2/8`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
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

/// A deterministic slice of a sweep: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Whether run number `run` belongs to this shard.
    pub fn holds(&self, run: usize) -> bool {
        run % self.count == self.index - 1
    }
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("'{s}' is not I/N"))?;
    let index: usize = i
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': I is not a number"))?;
    let count: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': N is not a number"))?;
    if count == 0 || index == 0 || index > count {
        return Err(format!("'{s}': need 1 ≤ I ≤ N"));
    }
    Ok(Shard { index, count })
}

/// One swept parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The key, as given.
    pub key: String,
    /// The values, as given.
    pub values: Vec<String>,
}

/// Parses `KEY=V1,V2,…`.
pub fn parse_set(text: &str) -> Result<Param> {
    let (key, values) = text
        .split_once('=')
        .ok_or_else(|| anyhow!("--set '{text}': expected KEY=V1,V2,…"))?;
    let key = key.trim().to_string();
    if key.is_empty() {
        bail!("--set '{text}': no key");
    }
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().any(String::is_empty) {
        bail!("--set {key}: an empty value in '{text}'");
    }
    let mut seen = std::collections::HashSet::new();
    for v in &values {
        if !seen.insert(v) {
            bail!("--set {key}: value {v} given twice");
        }
    }
    Ok(Param { key, values })
}

/// Every combination's values, in run order (the last parameter varies fastest).
pub fn combinations(params: &[Param]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for p in params {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                p.values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(v.clone());
                    c
                })
            })
            .collect();
    }
    out
}

const ASSET_KINDS: [&str; 7] = ["node", "grid", "pv", "battery", "hvac", "generator", "line"];
const SECTIONS: [&str; 4] = ["scenario", "objective", "simulation", "kpi"];

/// A value from the command line as TOML: a number, boolean, array… or else text.
fn toml_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// Sets `key` to `raw` in the scenario document `root`.
pub fn apply(root: &mut toml::Table, key: &str, raw: &str) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    let value = toml_value(raw);
    match parts.as_slice() {
        [kind, id, field] if ASSET_KINDS.contains(kind) => {
            let entries = root
                .get_mut(*kind)
                .and_then(|v| v.as_array_mut())
                .ok_or_else(|| anyhow!("--set {key}: the scenario has no [[{kind}]]"))?;
            let entry = entries
                .iter_mut()
                .filter_map(|e| e.as_table_mut())
                .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(*id))
                .ok_or_else(|| anyhow!("--set {key}: the scenario has no [[{kind}]] '{id}'"))?;
            if *field == "id" {
                bail!("--set {key}: ids cannot be swept");
            }
            entry.insert(field.to_string(), value);
        }
        [section, field] if SECTIONS.contains(section) => {
            let table = root
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| anyhow!("--set {key}: [{section}] is not a table"))?;
            table.insert(field.to_string(), value);
        }
        _ => bail!(
            "--set {key}: expected SECTION.FIELD ({}) or KIND.ID.FIELD ({})",
            SECTIONS.join(", "),
            ASSET_KINDS.join(", ")
        ),
    }
    Ok(())
}

/// The scenario file as text and its series CSV's bytes, read once and shared by the runs.
struct Base {
    path: PathBuf,
    root: toml::Table,
    series: HashMap<String, (PathBuf, Arc<Vec<u8>>)>,
}

impl Base {
    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("{}: cannot read scenario file: {e}", path.display()))?;
        // Full validation (with line numbers) by the engine's reader first.
        ScenarioFile::read(path)?;
        let root: toml::Table = text
            .parse()
            .map_err(|e| anyhow!("{}: invalid TOML: {e}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            root,
            series: HashMap::new(),
        })
    }

    /// Loads the series CSV a run names (each distinct file once).
    fn preload(&mut self, name: &str) -> Result<()> {
        if self.series.contains_key(name) {
            return Ok(());
        }
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let csv = dir.join(name);
        let bytes = std::fs::read(&csv).map_err(|e| {
            anyhow!(
                "{}: cannot read series file {}: {e}",
                self.path.display(),
                csv.display()
            )
        })?;
        self.series.insert(name.to_string(), (csv, Arc::new(bytes)));
        Ok(())
    }

    /// The scenario with `values` of `params` applied.
    fn with(&self, params: &[Param], values: &[String]) -> Result<(toml::Table, String)> {
        let mut root = self.root.clone();
        for (p, v) in params.iter().zip(values) {
            apply(&mut root, &p.key, v)?;
        }
        let series = root
            .get("scenario")
            .and_then(|s| s.get("series"))
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        Ok((root, series))
    }

    /// Parses a modified scenario (with its series from memory).
    fn file(&self, root: &toml::Table, label: &str) -> Result<ScenarioFile> {
        let text = toml::to_string(root)
            .map_err(|e| anyhow!("{}: cannot write the swept scenario: {e}", label))?;
        let shown = PathBuf::from(format!("{} [{label}]", self.path.display()));
        let file = ScenarioFile::parse(&shown, &text, |name| {
            self.series
                .get(name)
                .map(|(p, b)| (p.clone(), b.as_ref().clone()))
                .ok_or_else(|| {
                    ScenarioError::file(&shown, format!("series '{name}' was not loaded"))
                })
        })?;
        Ok(file)
    }
}

/// The label of a combination: `key=value, …`.
fn label(params: &[Param], values: &[String]) -> String {
    params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{}={v}", p.key))
        .collect::<Vec<_>>()
        .join(", ")
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
    let mut base = Base::read(&args.scenario)?;
    let base_series = base
        .with(&[], &[])
        .map(|(_, s)| s)
        .context("reading the scenario")?;
    base.preload(&base_series)?;
    for p in &params {
        for v in &p.values {
            let (root, series) = base.with(std::slice::from_ref(p), std::slice::from_ref(v))?;
            base.preload(&series)?;
            let file = base.file(&root, &format!("{}={v}", p.key))?;
            Setup::new(file, &args.run.options())?;
        }
    }
    let mine: Vec<usize> = (0..combos.len())
        .filter(|&i| args.shard.is_none_or(|s| s.holds(i)))
        .collect();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let steps = {
        let (root, _) = base.with(&[], &[])?;
        Setup::new(base.file(&root, "base")?, &args.run.options())?.steps
    };
    let per_run = steps
        * if args.no_baseline || run_kind == Run::None {
            1
        } else {
            2
        };
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
            "sweep: {} combinations of {} parameter(s){}; {} run(s) here, {} in parallel, {} of {} steps each",
            combos.len(),
            params.len(),
            args.shard
                .map(|s| format!(", shard {}/{}", s.index, s.count))
                .unwrap_or_default(),
            mine.len(),
            jobs.min(mine.len().max(1)),
            run_kind.label(),
            steps
        );
    }
    let started = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| anyhow!("cannot start {jobs} worker threads: {e}"))?;
    let rows: Vec<Row> = pool.install(|| {
        mine.par_iter()
            .map(|&i| {
                let values = &combos[i];
                let lbl = label(&params, values);
                let last = std::cell::Cell::new(0usize);
                let tick = |d: usize, _n: usize| {
                    bar.inc(d.saturating_sub(last.get()) as u64);
                    last.set(d);
                };
                let result = (|| -> Result<Row> {
                    let (root, _) = base.with(&params, values)?;
                    let setup = Setup::new(base.file(&root, &lbl)?, &args.run.options())?;
                    let out = simulation::simulate(&setup, run_kind, tick)?;
                    last.set(0);
                    let baseline = if args.no_baseline || run_kind == Run::None {
                        None
                    } else {
                        Some(simulation::simulate(&setup, Run::None, tick)?)
                    };
                    Ok(Row::of(i, values.clone(), &out, baseline.as_ref()))
                })();
                let row = result.unwrap_or_else(|e| {
                    bar.suspend(|| eprintln!("run {i} ({lbl}) failed: {e:#}"));
                    Row::failed(i, values.clone(), format!("{e:#}"))
                });
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                bar.set_message(format!("{n}/{} runs", mine.len()));
                row
            })
            .collect()
    });
    bar.finish_and_clear();
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    let table = Table {
        keys: params.iter().map(|p| p.key.clone()).collect(),
        rows,
    };
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
        table.print_summary();
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_vary_the_last_parameter_fastest() {
        let a = parse_set("a=1,2").unwrap();
        let b = parse_set("b.x=x,y,z").unwrap();
        let c = combinations(&[a, b]);
        assert_eq!(c.len(), 6);
        assert_eq!(c[0], vec!["1", "x"]);
        assert_eq!(c[1], vec!["1", "y"]);
        assert_eq!(c[3], vec!["2", "x"]);
    }

    #[test]
    fn shards_partition_the_runs() {
        let shards: Vec<Shard> = (1..=3)
            .map(|i| parse_shard(&format!("{i}/3")).unwrap())
            .collect();
        for run in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(run)).count(), 1);
        }
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("1-3").is_err());
    }

    #[test]
    fn bad_sets_are_refused() {
        assert!(parse_set("novalue").is_err());
        assert!(parse_set("a=1,,2").is_err());
        assert!(parse_set("a=1,1").is_err());
        let mut root: toml::Table =
            "[objective]\nx = 1\n[[battery]]\nid = \"b\"\ncapacity_kwh = 1.0\n"
                .parse()
                .unwrap();
        apply(&mut root, "battery.b.capacity_kwh", "5").unwrap();
        assert_eq!(
            root["battery"][0]["capacity_kwh"].as_integer(),
            Some(5),
            "{root:?}"
        );
        apply(&mut root, "objective.carbon_price_yen_per_kg", "2.5").unwrap();
        assert_eq!(
            root["objective"]["carbon_price_yen_per_kg"].as_float(),
            Some(2.5)
        );
        let e = apply(&mut root, "battery.zz.capacity_kwh", "5").unwrap_err();
        assert!(e.to_string().contains("no [[battery]] 'zz'"), "{e}");
        let e = apply(&mut root, "hvac.a.max_kw", "5").unwrap_err();
        assert!(e.to_string().contains("no [[hvac]]"), "{e}");
        assert!(apply(&mut root, "nonsense", "5").is_err());
    }
}
