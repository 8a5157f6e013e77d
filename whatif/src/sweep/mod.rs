//! What-if parameter sweeps (`aems sweep`): every combination of swept values ([`Param`],
//! [`combinations`]) is applied to the scenario file ([`apply`]), simulated in closed loop
//! with its own baseline, and reported as one [`Row`] of parameters and KPIs; [`Sweep::run`]
//! runs a list of combinations in parallel (rayon). A [`Shard`] is a deterministic slice
//! of the combinations, and [`Table::merge`] joins the shards' tables into the table of the
//! unsharded sweep; [`pareto`] draws the cost-vs-CO2 chart.

pub mod pareto;
pub mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;

use control::simulation::{self, Run, RunOptions, Setup};
use engine::{ScenarioError, ScenarioFile};
pub use table::{Row, Table};

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

/// The shard a batch scheduler's array task is: Slurm's `SLURM_ARRAY_TASK_ID` (counted
/// from `SLURM_ARRAY_TASK_MIN`, 0 when absent) of `SLURM_ARRAY_TASK_COUNT`, or a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` (from 0)
/// of `AEMS_SHARD_COUNT` (the Job's `completions`, which Kubernetes does not pass on: the
/// manifest sets it). `var` reads the environment.
pub fn shard_from_env(var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let num = |name: &str| -> Result<Option<usize>, String> {
        match var(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{name}={v:?} is not a whole number")),
        }
    };
    let (index, count) = if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let count = num("SLURM_ARRAY_TASK_COUNT")?
            .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")?;
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        if id < min {
            return Err(format!(
                "SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"
            ));
        }
        (id - min + 1, count)
    } else if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        let count = num("AEMS_SHARD_COUNT")?.ok_or(
            "JOB_COMPLETION_INDEX is set but AEMS_SHARD_COUNT is not (set it to the Job's completions)",
        )?;
        (i + 1, count)
    } else {
        return Err(
            "--shard without I/N takes the shard from a batch scheduler, and none is set: \
             SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (Slurm job array) or \
             JOB_COMPLETION_INDEX/AEMS_SHARD_COUNT (Kubernetes Indexed Job)"
                .into(),
        );
    };
    if count == 0 || index > count {
        return Err(format!(
            "the scheduler's task {index} of {count} is not a shard (1 ≤ I ≤ N): an array with gaps or a step is not supported, use --array=1-N"
        ));
    }
    Ok(Shard { index, count })
}

/// Parses `I/N` (1 ≤ I ≤ N), the form of `--shard`; `env` (what `--shard` alone gives)
/// takes it from the batch scheduler's environment ([`shard_from_env`]).
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    if s == "env" {
        return shard_from_env(|k| std::env::var(k).ok());
    }
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
#[derive(Debug, Clone)]
pub struct Base {
    path: PathBuf,
    root: toml::Table,
    series: HashMap<String, (PathBuf, Arc<Vec<u8>>)>,
}

impl Base {
    /// Reads (and fully validates) the scenario file at `path`.
    pub fn read(path: &Path) -> Result<Self> {
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
    pub fn preload(&mut self, name: &str) -> Result<()> {
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

    /// The scenario with `values` of `params` applied, and the series file it names.
    pub fn with(&self, params: &[Param], values: &[String]) -> Result<(toml::Table, String)> {
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

    /// Parses a modified scenario (with its series from memory: [`Base::preload`] it
    /// first), shown as `PATH [label]` in messages.
    pub fn file(&self, root: &toml::Table, label: &str) -> Result<ScenarioFile> {
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
pub fn label(params: &[Param], values: &[String]) -> String {
    params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{}={v}", p.key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a sweep's runs report as they go (called from the worker threads).
pub trait Progress: Sync {
    /// `steps` more simulated steps are done.
    fn advance(&self, steps: u64);
    /// Run `run` (`label`) failed with `error`; its row records the error.
    fn failed(&self, run: usize, label: &str, error: &anyhow::Error);
    /// `done` of `total` runs are finished.
    fn finished(&self, done: usize, total: usize);
}

/// No progress reports.
impl Progress for () {
    fn advance(&self, _steps: u64) {}
    fn failed(&self, _run: usize, _label: &str, _error: &anyhow::Error) {}
    fn finished(&self, _done: usize, _total: usize) {}
}

/// A sweep ready to run: the scenario, the swept parameters and their combinations, and
/// how each combination is simulated.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The swept parameters.
    pub params: Vec<Param>,
    /// Every combination's values, in run order ([`combinations`]).
    pub combos: Vec<Vec<String>>,
    /// The period and settings of every run.
    pub options: RunOptions,
    /// Who decides.
    pub run: Run,
    /// Whether each run also simulates its baseline (never when `run` is the baseline).
    pub baseline: bool,
    base: Base,
}

impl Sweep {
    /// Reads the scenario at `path` and checks every key and value of `params` against it
    /// (each value alone) before anything runs.
    pub fn new(
        path: &Path,
        params: Vec<Param>,
        options: RunOptions,
        run: Run,
        baseline: bool,
    ) -> Result<Self> {
        let mut base = Base::read(path)?;
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
                Setup::new(file, &options)?;
            }
        }
        Ok(Self {
            combos: combinations(&params),
            params,
            options,
            baseline: baseline && run != Run::None,
            run,
            base,
        })
    }

    /// Steps of one simulation of the unmodified scenario.
    pub fn steps(&self) -> Result<usize> {
        let (root, _) = self.base.with(&[], &[])?;
        Ok(Setup::new(self.base.file(&root, "base")?, &self.options)?.steps)
    }

    /// Simulations per run: 2 with the baseline, else 1.
    pub fn simulations_per_run(&self) -> usize {
        if self.baseline {
            2
        } else {
            1
        }
    }

    /// Runs the combinations numbered `runs` on `jobs` threads (at least 1), reporting to
    /// `progress`; a run that fails is a row with its error ([`Row::failed`]).
    pub fn run(&self, runs: &[usize], jobs: usize, progress: &dyn Progress) -> Result<Vec<Row>> {
        let jobs = jobs.max(1);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| anyhow!("cannot start {jobs} worker threads: {e}"))?;
        Ok(pool.install(|| {
            runs.par_iter()
                .map(|&i| {
                    let values = &self.combos[i];
                    let lbl = label(&self.params, values);
                    let last = std::cell::Cell::new(0usize);
                    let tick = |d: usize, _n: usize| {
                        progress.advance(d.saturating_sub(last.get()) as u64);
                        last.set(d);
                    };
                    let result = (|| -> Result<Row> {
                        let (root, _) = self.base.with(&self.params, values)?;
                        let setup = Setup::new(self.base.file(&root, &lbl)?, &self.options)?;
                        let out = simulation::simulate(&setup, self.run, tick)?;
                        last.set(0);
                        let baseline = if self.baseline {
                            Some(simulation::simulate(&setup, Run::None, tick)?)
                        } else {
                            None
                        };
                        Ok(Row::of(i, values.clone(), &out, baseline.as_ref()))
                    })();
                    let row = result.unwrap_or_else(|e| {
                        progress.failed(i, &lbl, &e);
                        Row::failed(i, values.clone(), format!("{e:#}"))
                    });
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress.finished(n, runs.len());
                    row
                })
                .collect()
        }))
    }

    /// The table of `rows` of this sweep.
    pub fn table(&self, rows: Vec<Row>) -> Table {
        Table {
            keys: self.params.iter().map(|p| p.key.clone()).collect(),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_schedulers_array_task_is_a_shard() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        // Slurm, --array=1-4: task 3 of 4.
        let s = shard_from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]))
        .unwrap();
        assert_eq!((s.index, s.count), (3, 4));
        // Slurm, --array=0-3: task 0 is shard 1.
        let s = shard_from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
        ]))
        .unwrap();
        assert_eq!((s.index, s.count), (1, 4));
        // Kubernetes Indexed Job.
        let s = shard_from_env(env(&[
            ("JOB_COMPLETION_INDEX", "7"),
            ("AEMS_SHARD_COUNT", "8"),
        ]))
        .unwrap();
        assert_eq!((s.index, s.count), (8, 8));
        assert!(shard_from_env(env(&[("JOB_COMPLETION_INDEX", "7")]))
            .unwrap_err()
            .contains("AEMS_SHARD_COUNT"));
        assert!(shard_from_env(env(&[]))
            .unwrap_err()
            .contains("SLURM_ARRAY_TASK_ID"));
        assert!(shard_from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "x"),
            ("SLURM_ARRAY_TASK_COUNT", "2")
        ]))
        .unwrap_err()
        .contains("not a whole number"));
        // A stepped array (--array=1-8:2) leaves gaps: task 7 of 4 is refused.
        assert!(shard_from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]))
        .is_err());
    }

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
