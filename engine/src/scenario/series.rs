//! The scenario's CSV of time series: a `time` column and numeric columns, one row per step.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use crate::error::{Ctx, ScenarioError};

/// The series CSV as read from disk: timestamps checked, values kept as text until a
/// scenario key asks for a column (only the rows it uses are validated).
#[derive(Debug, Clone)]
pub struct SeriesTable {
    path: PathBuf,
    names: Vec<String>,
    index: HashMap<String, usize>,
    times: Vec<DateTime<FixedOffset>>,
    rows: Vec<csv::StringRecord>,
}

impl SeriesTable {
    /// Reads `path` and checks its structure: a header whose first column is `time`, unique
    /// column names, the same number of cells in every row, and RFC 3339 times strictly
    /// increasing by exactly `step_minutes`.
    pub fn read(path: &Path, step_minutes: u32) -> Result<Self, ScenarioError> {
        let bytes = std::fs::read(path)
            .map_err(|e| ScenarioError::file(path, format!("cannot read series file: {e}")))?;
        Self::parse(path, &bytes, step_minutes)
    }

    /// Parses CSV text (see [`SeriesTable::read`]); `path` is used in error messages only.
    pub fn parse(path: &Path, bytes: &[u8], step_minutes: u32) -> Result<Self, ScenarioError> {
        let file_err = |reason: String| ScenarioError::file(path, reason);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header = reader
            .headers()
            .map_err(|e| file_err(format!("cannot read the CSV header: {e}")))?
            .clone();
        let names: Vec<String> = header.iter().map(str::to_string).collect();
        if names.first().map(String::as_str) != Some("time") {
            return Err(file_err(format!(
                "the first column must be 'time', found '{}'",
                names.first().map(String::as_str).unwrap_or("")
            )));
        }
        let mut index = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(file_err(format!("column {} has an empty name", i + 1)));
            }
            if index.insert(name.clone(), i).is_some() {
                return Err(file_err(format!(
                    "column '{name}' appears twice in the header"
                )));
            }
        }
        let step_seconds = i64::from(step_minutes) * 60;
        let mut times: Vec<DateTime<FixedOffset>> = Vec::new();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| file_err(format!("malformed CSV: {e}")))?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() != names.len() {
                return Err(file_err(format!(
                    "line {line}: {} cells, the header has {} columns",
                    record.len(),
                    names.len()
                )));
            }
            let text = record.get(0).unwrap_or("");
            let time = DateTime::parse_from_rfc3339(text).map_err(|e| ScenarioError {
                file: path.to_path_buf(),
                table: None,
                field: Some("time".into()),
                reason: format!("line {line}: '{text}' is not an RFC 3339 time with offset ({e})"),
            })?;
            if let Some(prev) = times.last() {
                let gap = (time - *prev).num_seconds();
                if gap != step_seconds {
                    return Err(ScenarioError {
                        file: path.to_path_buf(),
                        table: None,
                        field: Some("time".into()),
                        reason: format!(
                            "line {line}: {text} follows {prev} by {gap} s; rows must be exactly \
                             step_minutes = {step_minutes} apart"
                        ),
                    });
                }
            }
            times.push(time);
            rows.push(record);
        }
        Ok(Self {
            path: path.to_path_buf(),
            names,
            index,
            times,
            rows,
        })
    }

    /// The file this table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Column names, `time` first.
    pub fn column_names(&self) -> &[String] {
        &self.names
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The timestamp of every row.
    pub fn times(&self) -> &[DateTime<FixedOffset>] {
        &self.times
    }

    /// The row whose instant equals `start`, if any.
    pub fn row_of(&self, start: DateTime<FixedOffset>) -> Option<usize> {
        self.times.binary_search(&start).ok()
    }

    /// Whether the table has a column of that exact name.
    pub fn has_column(&self, name: &str) -> bool {
        name != "time" && self.index.contains_key(name)
    }

    /// The values of `column` on `rows`, each checked to be present, numeric and finite.
    /// `ctx` and `key` say which scenario key uses the column, for error messages.
    pub fn values(
        &self,
        ctx: &Ctx<'_>,
        key: &str,
        column: &str,
        rows: Range<usize>,
    ) -> Result<Vec<f64>, ScenarioError> {
        let col = match self.index.get(column) {
            Some(&c) if column != "time" => c,
            _ => {
                return Err(ctx.err(
                    key,
                    format!(
                        "column '{column}' does not exist in {}",
                        self.path
                            .file_name()
                            .map(|f| f.to_string_lossy())
                            .unwrap_or_default()
                    ),
                ))
            }
        };
        let csv_ctx = ctx.in_file(&self.path);
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let record = &self.rows[r];
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let text = record.get(col).unwrap_or("");
            let at = || {
                format!(
                    "at line {line} ({}) (column used by '{key}')",
                    self.times[r].to_rfc3339()
                )
            };
            if text.is_empty() {
                return Err(csv_ctx.err(column, format!("missing value {}", at())));
            }
            let value: f64 = text
                .parse()
                .map_err(|_| csv_ctx.err(column, format!("non-numeric value '{text}' {}", at())))?;
            if !value.is_finite() {
                return Err(csv_ctx.err(column, format!("non-finite value '{text}' {}", at())));
            }
            out.push(value);
        }
        Ok(out)
    }
}
