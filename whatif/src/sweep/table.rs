//! The sweep's table: one row per run (its number, the swept values, the district KPIs and
//! those against its baseline), written as CSV or Parquet and merged from shards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use polars::prelude::{Column, DataFrame, ParquetReader, ParquetWriter, SerReader};

use super::Param;
use control::simulation::Outcome;

/// The KPI columns, in order.
pub const KPI_COLUMNS: [&str; 26] = [
    "cost_yen",
    "energy_yen",
    "demand_yen",
    "fuel_yen",
    "startup_yen",
    "degradation_yen",
    "curtailment_yen",
    "comfort_yen",
    "carbon_yen",
    "peak_kw",
    "import_kwh",
    "export_kwh",
    "co2_kg",
    "pv_self_consumption",
    "self_sufficiency",
    "comfort_violation_kh",
    "battery_throughput_kwh",
    "battery_cycles",
    "interchange_kwh",
    "solves",
    "fallbacks",
    "baseline_cost_yen",
    "baseline_co2_kg",
    "baseline_peak_kw",
    "cost_saving_yen",
    "co2_saved_kg",
];

/// One run's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Run number (the combination's index).
    pub run: usize,
    /// The swept values, as given.
    pub values: Vec<String>,
    /// [`KPI_COLUMNS`] (NaN when failed or without baseline).
    pub kpis: Vec<f64>,
    /// Why the run failed.
    pub error: Option<String>,
}

impl Row {
    /// The row of a finished run.
    pub fn of(run: usize, values: Vec<String>, out: &Outcome, baseline: Option<&Outcome>) -> Row {
        let d = &out.kpis.district;
        let b = baseline.map(|b| &b.kpis.district);
        let nan = f64::NAN;
        let kpis = vec![
            d.cost_yen,
            d.energy_yen,
            d.demand_yen,
            d.fuel_yen,
            d.startup_yen,
            d.degradation_yen,
            d.curtailment_yen,
            d.comfort_yen,
            d.carbon_yen,
            d.peak_kw,
            d.import_kwh,
            d.export_kwh,
            d.co2_kg,
            d.pv_self_consumption,
            d.self_sufficiency,
            d.comfort_violation_kh,
            d.battery_throughput_kwh,
            d.battery_cycles,
            d.interchange_kwh,
            out.stats.solves as f64,
            out.stats.fallbacks as f64,
            b.map_or(nan, |b| b.cost_yen),
            b.map_or(nan, |b| b.co2_kg),
            b.map_or(nan, |b| b.peak_kw),
            b.map_or(nan, |b| b.cost_yen - d.cost_yen),
            b.map_or(nan, |b| b.co2_kg - d.co2_kg),
        ];
        Row {
            run,
            values,
            kpis,
            error: None,
        }
    }

    /// The row of a failed run.
    pub fn failed(run: usize, values: Vec<String>, error: String) -> Row {
        Row {
            run,
            values,
            kpis: vec![f64::NAN; KPI_COLUMNS.len()],
            error: Some(error),
        }
    }

    /// A KPI by column name.
    pub fn kpi(&self, name: &str) -> f64 {
        KPI_COLUMNS
            .iter()
            .position(|c| *c == name)
            .and_then(|i| self.kpis.get(i).copied())
            .unwrap_or(f64::NAN)
    }
}

/// The table of a sweep (or of one shard).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The swept keys (the parameter columns).
    pub keys: Vec<String>,
    /// Rows by run number.
    pub rows: Vec<Row>,
}

/// Refuses an output path that is neither CSV nor Parquet, before any work.
pub fn check_out(path: &Path) -> Result<()> {
    match ext(path).as_str() {
        "csv" | "parquet" => Ok(()),
        _ => bail!(
            "--out {}: the table is written as .csv or .parquet",
            path.display()
        ),
    }
}

fn ext(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn number(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

impl Table {
    fn header(&self) -> Vec<String> {
        let mut h = vec!["run".to_string()];
        h.extend(self.keys.iter().cloned());
        h.extend(KPI_COLUMNS.iter().map(|c| c.to_string()));
        h.push("error".into());
        h
    }

    fn sorted(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| r.run);
        rows
    }

    /// Writes the table (sorted by run) as CSV or Parquet, by the path's extension.
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        match ext(path).as_str() {
            "csv" => self.write_csv(path),
            "parquet" => self.write_parquet(path),
            _ => check_out(path),
        }
    }

    fn write_csv(&self, path: &Path) -> Result<()> {
        let err = |e: csv::Error| anyhow!("cannot write {}: {e}", path.display());
        let mut w = csv::Writer::from_path(path).map_err(err)?;
        w.write_record(self.header()).map_err(err)?;
        for r in self.sorted() {
            let mut f = vec![r.run.to_string()];
            f.extend(r.values.iter().cloned());
            f.extend(r.kpis.iter().map(|v| number(*v)));
            f.push(r.error.clone().unwrap_or_default());
            w.write_record(&f).map_err(err)?;
        }
        w.flush()
            .with_context(|| format!("cannot write {}", path.display()))
    }

    fn write_parquet(&self, path: &Path) -> Result<()> {
        let rows = self.sorted();
        let n = rows.len();
        let mut cols: Vec<Column> = Vec::new();
        cols.push(Column::new(
            "run".into(),
            rows.iter().map(|r| r.run as u64).collect::<Vec<u64>>(),
        ));
        for (k, key) in self.keys.iter().enumerate() {
            cols.push(Column::new(
                key.as_str().into(),
                rows.iter()
                    .map(|r| r.values.get(k).cloned().unwrap_or_default())
                    .collect::<Vec<String>>(),
            ));
        }
        for (c, name) in KPI_COLUMNS.iter().enumerate() {
            cols.push(Column::new(
                (*name).into(),
                rows.iter()
                    .map(|r| r.kpis.get(c).copied().filter(|v| !v.is_nan()))
                    .collect::<Vec<Option<f64>>>(),
            ));
        }
        cols.push(Column::new(
            "error".into(),
            rows.iter()
                .map(|r| r.error.clone())
                .collect::<Vec<Option<String>>>(),
        ));
        let mut df = DataFrame::new(n, cols).map_err(|e| anyhow!("sweep table: {e}"))?;
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        ParquetWriter::new(file)
            .finish(&mut df)
            .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
        Ok(())
    }

    /// Reads a table written by [`Table::write`].
    pub fn read(path: &Path) -> Result<Table> {
        match ext(path).as_str() {
            "csv" => Self::read_csv(path),
            "parquet" => Self::read_parquet(path),
            _ => bail!("{}: not a .csv or .parquet sweep table", path.display()),
        }
    }

    fn layout(path: &Path, header: &[String]) -> Result<Vec<String>> {
        let k = header.len().saturating_sub(KPI_COLUMNS.len() + 2);
        let ok = header.len() >= KPI_COLUMNS.len() + 2
            && header[0] == "run"
            && header[header.len() - 1] == "error"
            && header[1 + k..header.len() - 1]
                .iter()
                .zip(KPI_COLUMNS)
                .all(|(a, b)| a == b);
        if !ok {
            bail!(
                "{}: not a sweep table (expected columns run, the swept keys, {}…, error)",
                path.display(),
                KPI_COLUMNS[0]
            );
        }
        Ok(header[1..1 + k].to_vec())
    }

    fn read_csv(path: &Path) -> Result<Table> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut records = r.records();
        let header: Vec<String> = match records.next() {
            Some(h) => h
                .with_context(|| format!("{}: the header", path.display()))?
                .iter()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        let keys = Self::layout(path, &header)?;
        let mut rows = Vec::new();
        for rec in records {
            let rec = rec.with_context(|| format!("cannot read {}", path.display()))?;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let f: Vec<String> = rec.iter().map(str::to_string).collect();
            let at = || format!("{}: line {line}", path.display());
            if f.len() != header.len() {
                bail!(
                    "{}: {} fields, the header has {}",
                    at(),
                    f.len(),
                    header.len()
                );
            }
            let run = f[0]
                .parse()
                .map_err(|_| anyhow!("{}: field 'run': '{}' is not a run number", at(), f[0]))?;
            let values = f[1..1 + keys.len()].to_vec();
            let mut kpis = Vec::with_capacity(KPI_COLUMNS.len());
            for (c, v) in KPI_COLUMNS.iter().zip(&f[1 + keys.len()..f.len() - 1]) {
                kpis.push(if v.is_empty() {
                    f64::NAN
                } else {
                    v.parse()
                        .map_err(|_| anyhow!("{}: field '{c}': '{v}' is not a number", at()))?
                });
            }
            let error = Some(f[f.len() - 1].clone()).filter(|e| !e.is_empty());
            rows.push(Row {
                run,
                values,
                kpis,
                error,
            });
        }
        Ok(Table { keys, rows })
    }

    fn read_parquet(path: &Path) -> Result<Table> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| anyhow!("{}: cannot read Parquet: {e}", path.display()))?;
        let header: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let keys = Self::layout(path, &header)?;
        let bad =
            |c: &str, e: &dyn std::fmt::Display| anyhow!("{}: column '{c}': {e}", path.display());
        let h = df.height();
        let run_col = df
            .column("run")
            .and_then(|c| c.u64().cloned())
            .map_err(|e| bad("run", &e))?;
        let mut rows: Vec<Row> = (0..h)
            .map(|i| Row {
                run: run_col.get(i).unwrap_or(0) as usize,
                values: Vec::with_capacity(keys.len()),
                kpis: Vec::with_capacity(KPI_COLUMNS.len()),
                error: None,
            })
            .collect();
        for k in &keys {
            let col = df
                .column(k)
                .and_then(|c| c.str().cloned())
                .map_err(|e| bad(k, &e))?;
            for (i, r) in rows.iter_mut().enumerate() {
                r.values.push(col.get(i).unwrap_or("").to_string());
            }
        }
        for c in KPI_COLUMNS {
            let col = df
                .column(c)
                .and_then(|s| s.f64().cloned())
                .map_err(|e| bad(c, &e))?;
            for (i, r) in rows.iter_mut().enumerate() {
                r.kpis.push(col.get(i).unwrap_or(f64::NAN));
            }
        }
        let errors = df
            .column("error")
            .and_then(|c| c.str().cloned())
            .map_err(|e| bad("error", &e))?;
        for (i, r) in rows.iter_mut().enumerate() {
            r.error = errors.get(i).map(str::to_string);
        }
        Ok(Table { keys, rows })
    }

    /// Merges shard tables of the sweep over `params` (with `total` combinations): every
    /// run exactly once, each with the values its number stands for.
    pub fn merge(files: &[PathBuf], params: &[Param], total: usize) -> Result<Table> {
        let keys: Vec<String> = params.iter().map(|p| p.key.clone()).collect();
        let combos = super::combinations(params);
        let mut by_run: BTreeMap<usize, (Row, &Path)> = BTreeMap::new();
        for f in files {
            let t = Self::read(f)?;
            if t.keys != keys {
                bail!(
                    "{}: swept keys {:?}, but --set gives {:?}",
                    f.display(),
                    t.keys,
                    keys
                );
            }
            for r in t.rows {
                if r.run >= total || combos[r.run] != r.values {
                    bail!(
                        "{}: run {} has values {:?}, not those of this sweep's run {}",
                        f.display(),
                        r.run,
                        r.values,
                        r.run
                    );
                }
                if let Some((_, other)) = by_run.get(&r.run) {
                    bail!(
                        "run {} is in both {} and {}",
                        r.run,
                        other.display(),
                        f.display()
                    );
                }
                by_run.insert(r.run, (r, f.as_path()));
            }
        }
        let missing: Vec<usize> = (0..total).filter(|i| !by_run.contains_key(i)).collect();
        if !missing.is_empty() {
            bail!(
                "{} of {} runs missing from the merged files (first: run {}); is a shard left out?",
                missing.len(),
                total,
                missing[0]
            );
        }
        Ok(Table {
            keys,
            rows: by_run.into_values().map(|(r, _)| r).collect(),
        })
    }

    /// The rows as a short table (values, cost, CO2 and their savings), one line each,
    /// every line ending in a newline.
    pub fn summary(&self) -> String {
        let w = self.keys.iter().map(|k| k.len().max(8)).collect::<Vec<_>>();
        let mut head = format!("{:>5}", "run");
        for (k, w) in self.keys.iter().zip(&w) {
            head.push_str(&format!("  {k:>w$}"));
        }
        head.push_str(&format!(
            "  {:>14}  {:>12}  {:>10}  {:>14}  {:>12}",
            "cost (yen)", "CO2 (kg)", "peak (kW)", "saving (yen)", "CO2 saved"
        ));
        let mut out = head;
        out.push('\n');
        for r in self.sorted() {
            let mut line = format!("{:>5}", r.run);
            for (v, w) in r.values.iter().zip(&w) {
                line.push_str(&format!("  {v:>w$}"));
            }
            if let Some(e) = &r.error {
                line.push_str(&format!("  failed: {e}"));
            } else {
                line.push_str(&format!(
                    "  {:>14.0}  {:>12.0}  {:>10.1}  {:>14.0}  {:>12.0}",
                    r.kpi("cost_yen"),
                    r.kpi("co2_kg"),
                    r.kpi("peak_kw"),
                    r.kpi("cost_saving_yen"),
                    r.kpi("co2_saved_kg")
                ));
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut a = Row::failed(
            1,
            vec!["2,\n3".into(), "\"free\"\r\nor not".into()],
            String::new(),
        );
        a.error = Some("it, \"failed\":\nsolver said\r\n\"no\", twice".into());
        let mut b = Row::failed(0, vec!["1".into(), "x".into()], String::new());
        b.error = None;
        b.kpis = (0..KPI_COLUMNS.len())
            .map(|i| i as f64 * 0.1 + 1e-17)
            .collect();
        b.kpis[3] = f64::NAN;
        Table {
            keys: vec![
                "battery.b.capacity_kwh".into(),
                "simulation.terminal".into(),
            ],
            rows: vec![a, b],
        }
    }

    fn same(a: &Table, b: &Table) {
        assert_eq!(a.keys, b.keys);
        let (ra, rb) = (a.sorted(), b.sorted());
        assert_eq!(ra.len(), rb.len());
        for (x, y) in ra.iter().zip(rb) {
            assert_eq!(x.run, y.run);
            assert_eq!(x.values, y.values);
            assert_eq!(x.error, y.error);
            for (p, q) in x.kpis.iter().zip(&y.kpis) {
                assert!(p == q || (p.is_nan() && q.is_nan()), "{p} {q}");
            }
        }
    }

    #[test]
    fn tables_round_trip_through_csv_and_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let t = table();
        for name in ["t.csv", "t.parquet"] {
            let p = dir.path().join(name);
            t.write(&p).unwrap();
            same(&t, &Table::read(&p).unwrap());
        }
        assert!(check_out(Path::new("x.json")).is_err());
    }

    #[test]
    fn merging_checks_that_every_run_is_there_once() {
        let dir = tempfile::tempdir().unwrap();
        let params = vec![
            Param {
                key: "battery.b.capacity_kwh".into(),
                values: vec!["1".into(), "2".into()],
            },
            Param {
                key: "simulation.terminal".into(),
                values: vec!["x".into(), "\"free\"".into()],
            },
        ];
        let mk = |run: usize| {
            let mut r = Row::failed(
                run,
                super::super::combinations(&params)[run].clone(),
                "e".into(),
            );
            // A run whose error spans lines, with commas and quotes, in the CSV shard.
            r.error = (run == 2).then(|| "solve failed:\n\"infeasible\", step 3\r\n".into());
            r
        };
        let keys = vec![
            "battery.b.capacity_kwh".into(),
            "simulation.terminal".into(),
        ];
        let a = Table {
            keys: keys.clone(),
            rows: vec![mk(0), mk(2)],
        };
        let b = Table {
            keys: keys.clone(),
            rows: vec![mk(1), mk(3)],
        };
        let (pa, pb) = (dir.path().join("a.csv"), dir.path().join("b.parquet"));
        a.write(&pa).unwrap();
        b.write(&pb).unwrap();
        let m = Table::merge(&[pa.clone(), pb.clone()], &params, 4).unwrap();
        same(
            &m,
            &Table {
                keys,
                rows: vec![mk(0), mk(1), mk(2), mk(3)],
            },
        );
        let e = Table::merge(std::slice::from_ref(&pa), &params, 4).unwrap_err();
        assert!(e.to_string().contains("2 of 4 runs missing"), "{e}");
        let e = Table::merge(&[pa.clone(), pa.clone(), pb], &params, 4).unwrap_err();
        assert!(e.to_string().contains("run 0 is in both"), "{e}");
    }
}
