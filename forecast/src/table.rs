//! Time-indexed CSV tables (history, weather): a `time` column of RFC 3339 timestamps with
//! offset and numeric columns.
//!
//! # Rules for bad data
//!
//! - Timestamps must parse and strictly increase: a duplicate or out-of-order timestamp is
//!   an error naming the file and line.
//! - The step is the most common spacing of consecutive rows. A spacing that is not a
//!   multiple of the step is an error; whole missing steps are a gap.
//! - Empty cells and `NaN` are missing values; missing rows and missing values are filled by
//!   linear interpolation when a run is at most `max_gap_steps` long (default 3), and
//!   counted ([`TimeTable::filled`]); a longer run, or one at the start or end of the file,
//!   is an error naming the file, line and column.
//! - Non-numeric or infinite values are errors naming the file, line and column.
//! - Negative values are refused where a column must not be negative (see
//!   [`TimeTable::nonnegative`]).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

/// A problem with a data file, naming the file, line and column where known.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line in the file (the header is line 1).
    pub line: Option<u64>,
    /// The column.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ": line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ": column '{column}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for DataError {}

/// Options for reading a [`TimeTable`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadOptions {
    /// Longest run of missing steps or values filled by interpolation.
    pub max_gap_steps: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { max_gap_steps: 3 }
    }
}

/// A regular time series table: every step present after gap filling.
#[derive(Debug, Clone)]
pub struct TimeTable {
    path: PathBuf,
    times: Vec<DateTime<FixedOffset>>,
    step_minutes: u32,
    /// Source line of each row (`None` for a row inserted to fill a gap).
    lines: Vec<Option<u64>>,
    header: Vec<String>,
    index: HashMap<String, usize>,
    raw: Vec<csv::StringRecord>,
    filled: usize,
    max_gap_steps: usize,
}

impl TimeTable {
    /// Reads `path` and checks its timestamps (see the module's rules).
    pub fn read(path: &Path, opts: ReadOptions) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError {
            file: path.to_path_buf(),
            line: None,
            column: None,
            reason: format!("cannot read: {e}"),
        })?;
        Self::parse(path, &bytes, opts)
    }

    /// Parses CSV bytes; `path` names the source in errors.
    pub fn parse(path: &Path, bytes: &[u8], opts: ReadOptions) -> Result<Self, DataError> {
        let err = |line: Option<u64>, column: Option<&str>, reason: String| DataError {
            file: path.to_path_buf(),
            line,
            column: column.map(str::to_string),
            reason,
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| err(Some(1), None, format!("cannot read the header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut index = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            if index.insert(name.clone(), i).is_some() {
                return Err(err(Some(1), Some(name), "column appears twice".into()));
            }
        }
        let time_col = *index
            .get("time")
            .ok_or_else(|| err(Some(1), None, "no 'time' column".into()))?;
        let mut times = Vec::new();
        let mut raw = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| err(None, None, format!("malformed CSV: {e}")))?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() != header.len() {
                return Err(err(
                    Some(line),
                    None,
                    format!("{} cells, the header has {}", record.len(), header.len()),
                ));
            }
            let text = record.get(time_col).unwrap_or("");
            let t = DateTime::parse_from_rfc3339(text).map_err(|e| {
                err(
                    Some(line),
                    Some("time"),
                    format!("'{text}' is not an RFC 3339 time ({e})"),
                )
            })?;
            if let Some(prev) = times.last() {
                if t <= *prev {
                    return Err(err(
                        Some(line),
                        Some("time"),
                        format!(
                            "{text} does not come after the previous row's {} (duplicate or \
                             unsorted timestamps)",
                            prev.to_rfc3339()
                        ),
                    ));
                }
            }
            times.push(t);
            raw.push(record);
        }
        if times.len() < 2 {
            return Err(err(None, None, "needs at least two rows".into()));
        }
        // The step: the most common spacing.
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for w in times.windows(2) {
            *counts.entry((w[1] - w[0]).num_seconds()).or_default() += 1;
        }
        let step_s = counts
            .iter()
            .max_by_key(|(s, c)| (**c, -**s))
            .map(|(s, _)| *s)
            .unwrap_or(3600);
        if step_s % 60 != 0 || step_s <= 0 {
            return Err(err(
                None,
                Some("time"),
                format!("step of {step_s} s is not whole minutes"),
            ));
        }
        // Insert missing rows (as all-missing) where the spacing is a multiple of the step.
        let mut full_times: Vec<DateTime<FixedOffset>> = Vec::with_capacity(times.len());
        let mut lines = Vec::with_capacity(times.len());
        let mut rows: Vec<Option<usize>> = Vec::with_capacity(times.len());
        for (i, t) in times.iter().enumerate() {
            let line = raw[i].position().map(|p| p.line());
            if let Some(prev) = full_times.last().copied() {
                let gap = (*t - prev).num_seconds();
                if gap % step_s != 0 {
                    return Err(err(
                        line,
                        Some("time"),
                        format!(
                            "{} is {gap} s after the previous row; not a multiple of the \
                             {step_s} s step",
                            t.to_rfc3339()
                        ),
                    ));
                }
                let missing = (gap / step_s - 1) as usize;
                if missing > opts.max_gap_steps {
                    return Err(err(
                        line,
                        Some("time"),
                        format!(
                            "{missing} missing rows before {} (more than max_gap_steps = {})",
                            t.to_rfc3339(),
                            opts.max_gap_steps
                        ),
                    ));
                }
                for m in 1..=missing {
                    full_times.push(prev + chrono::Duration::seconds(step_s * m as i64));
                    lines.push(None);
                    rows.push(None);
                }
            }
            full_times.push(*t);
            lines.push(line);
            rows.push(Some(i));
        }
        let raw_by_row: Vec<csv::StringRecord> = rows
            .iter()
            .map(|r| r.map(|i| raw[i].clone()).unwrap_or_default())
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            times: full_times,
            step_minutes: (step_s / 60) as u32,
            lines,
            header,
            index,
            raw: raw_by_row,
            filled: 0,
            max_gap_steps: opts.max_gap_steps,
        })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Timestamps of every row (gaps filled).
    pub fn times(&self) -> &[DateTime<FixedOffset>] {
        &self.times
    }

    /// Step between rows, minutes.
    pub fn step_minutes(&self) -> u32 {
        self.step_minutes
    }

    /// Number of rows (gaps filled).
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Column names, in file order.
    pub fn columns(&self) -> &[String] {
        &self.header
    }

    /// Whether the table has a column of that name.
    pub fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Values filled by interpolation in the columns read so far (a missing row counts once
    /// per column).
    pub fn filled(&self) -> usize {
        self.filled
    }

    fn err(&self, row: Option<usize>, column: &str, reason: String) -> DataError {
        DataError {
            file: self.path.clone(),
            line: row.and_then(|r| self.lines.get(r).copied().flatten()),
            column: Some(column.to_string()),
            reason,
        }
    }

    /// The values of `name`, with missing values filled by the module's rule.
    pub fn column(&mut self, name: &str) -> Result<Vec<f64>, DataError> {
        let col = *self
            .index
            .get(name)
            .ok_or_else(|| self.err(None, name, "no such column".into()))?;
        let mut values: Vec<Option<f64>> = Vec::with_capacity(self.len());
        for (r, record) in self.raw.iter().enumerate() {
            let Some(text) = record.get(col) else {
                values.push(None);
                continue;
            };
            if text.is_empty() || text.eq_ignore_ascii_case("nan") {
                values.push(None);
                continue;
            }
            let v: f64 = text
                .parse()
                .map_err(|_| self.err(Some(r), name, format!("non-numeric value '{text}'")))?;
            if !v.is_finite() {
                return Err(self.err(Some(r), name, format!("non-finite value '{text}'")));
            }
            values.push(Some(v));
        }
        let (out, filled) = self.interpolate(name, &values)?;
        self.filled += filled;
        Ok(out)
    }

    /// Like [`TimeTable::column`], refusing negative values.
    pub fn nonnegative(&mut self, name: &str) -> Result<Vec<f64>, DataError> {
        let values = self.column(name)?;
        if let Some(r) = values.iter().position(|v| *v < 0.0) {
            return Err(self.err(Some(r), name, format!("negative value {}", values[r])));
        }
        Ok(values)
    }

    fn interpolate(
        &self,
        name: &str,
        values: &[Option<f64>],
    ) -> Result<(Vec<f64>, usize), DataError> {
        let n = values.len();
        let mut out = vec![0.0; n];
        let mut filled = 0;
        let mut r = 0;
        while r < n {
            if let Some(v) = values[r] {
                out[r] = v;
                r += 1;
                continue;
            }
            let start = r;
            while r < n && values[r].is_none() {
                r += 1;
            }
            let run = r - start;
            let where_ = |row: usize| self.err(Some(row), name, String::new());
            if start == 0 || r == n {
                let mut e = where_(if start == 0 { r.min(n - 1) } else { start - 1 });
                e.reason = format!(
                    "{run} missing value(s) at the {} of the file cannot be interpolated",
                    if start == 0 { "start" } else { "end" }
                );
                return Err(e);
            }
            if run > self.max_gap_steps {
                let mut e = where_(r);
                e.reason = format!(
                    "{run} missing values before this line (more than max_gap_steps = {})",
                    self.max_gap_steps
                );
                return Err(e);
            }
            let (a, b) = (out[start - 1], values[r].unwrap_or(0.0));
            for (i, slot) in out.iter_mut().enumerate().take(r).skip(start) {
                let w = (i - start + 1) as f64 / (run + 1) as f64;
                *slot = a + w * (b - a);
            }
            filled += run;
        }
        Ok((out, filled))
    }

    /// Row index of each of `times` in this table (by instant), or an error naming the
    /// first time this table lacks.
    pub fn align(
        &self,
        times: &[DateTime<FixedOffset>],
        other: &Path,
    ) -> Result<Vec<usize>, DataError> {
        let mut by_instant = HashMap::with_capacity(self.len());
        for (i, t) in self.times.iter().enumerate() {
            by_instant.insert(t.timestamp(), i);
        }
        times
            .iter()
            .map(|t| {
                by_instant
                    .get(&t.timestamp())
                    .copied()
                    .ok_or_else(|| DataError {
                        file: self.path.clone(),
                        line: None,
                        column: Some("time".into()),
                        reason: format!(
                            "no row for {} (a time of {})",
                            t.to_rfc3339(),
                            other.display()
                        ),
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TimeTable, DataError> {
        TimeTable::parse(Path::new("h.csv"), text.as_bytes(), ReadOptions::default())
    }

    #[test]
    fn gaps_and_missing_values_are_interpolated_and_counted() {
        let mut t = parse(
            "time,load\n2025-01-01T00:00:00+09:00,1\n2025-01-01T01:00:00+09:00,\n\
             2025-01-01T03:00:00+09:00,4\n2025-01-01T04:00:00+09:00,NaN\n2025-01-01T05:00:00+09:00,6\n",
        )
        .unwrap();
        assert_eq!(t.len(), 6);
        assert_eq!(t.step_minutes(), 60);
        assert_eq!(
            t.column("load").unwrap(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(t.filled(), 1 + 2);
    }

    #[test]
    fn bad_data_names_file_line_and_column() {
        let e = parse("time,load\n2025-01-01T00:00:00+09:00,1\n2025-01-01T00:00:00+09:00,2\n2025-01-01T01:00:00+09:00,2\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().contains("duplicate"), "{e}");
        let e = parse("time,load\n2025-01-01T01:00:00+09:00,1\n2025-01-01T00:00:00+09:00,2\n2025-01-01T02:00:00+09:00,2\n").unwrap_err();
        assert!(e.to_string().contains("unsorted"), "{e}");
        let mut t = parse("time,load\n2025-01-01T00:00:00+09:00,1\n2025-01-01T01:00:00+09:00,x\n2025-01-01T02:00:00+09:00,2\n").unwrap();
        let e = t.column("load").unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (Some(3), Some("load")));
        let mut t = parse("time,pv\n2025-01-01T00:00:00+09:00,1\n2025-01-01T01:00:00+09:00,-2\n2025-01-01T02:00:00+09:00,2\n").unwrap();
        let e = t.nonnegative("pv").unwrap_err();
        assert!(
            e.to_string()
                .contains("h.csv: line 3: column 'pv': negative"),
            "{e}"
        );
        let e = parse("time,load\n2025-01-01T00:00:00+09:00,1\n2025-01-01T01:00:00+09:00,1\n2025-01-01T09:00:00+09:00,2\n").unwrap_err();
        assert!(e.to_string().contains("7 missing rows"), "{e}");
        let mut t = parse("time,load\n2025-01-01T00:00:00+09:00,\n2025-01-01T01:00:00+09:00,1\n2025-01-01T02:00:00+09:00,2\n").unwrap();
        assert!(t.column("load").unwrap_err().to_string().contains("start"));
        let mut t = parse("time,load\n2025-01-01T00:00:00+09:00,1\n2025-01-01T01:00:00+09:00,inf\n2025-01-01T02:00:00+09:00,2\n").unwrap();
        assert!(t
            .column("load")
            .unwrap_err()
            .to_string()
            .contains("non-finite"));
        assert!(parse("when,load\n")
            .unwrap_err()
            .to_string()
            .contains("'time'"));
    }
}
