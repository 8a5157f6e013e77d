//! A time-stamped CSV read by column name, with one set of documented rules for bad
//! rows, shared by the PV weather ([`crate::pv::weather`]), the measured PV history
//! ([`crate::pv::measured`]) and the demand history and weather
//! ([`crate::demand::input`]).
//!
//! # Rules
//!
//! - **Header**: a `time` column and every requested column must be present (other
//!   columns are ignored); a missing or duplicated one is an error on line 1.
//! - **Time**: RFC 3339 with a UTC offset (`2025-01-15T00:00:00Z`,
//!   `2016-08-01T00:00:00-08:00`; a space instead of `T` is accepted). A time without
//!   an offset is an error: it would be ambiguous.
//! - **Order**: times must strictly increase. A duplicate or an earlier time is an
//!   error naming both lines: the file is not silently re-sorted or de-duplicated.
//! - **Step**: the series' step is the most common interval between rows; every
//!   interval must be a whole multiple of it (else an error on the offending line).
//! - **Missing rows**: an interval of k steps leaves k − 1 rows missing. Up to
//!   `max_gap_steps` missing rows are inserted and their values interpolated (and
//!   counted); a longer gap is a *break*: nothing is inserted, the rows on each side are
//!   kept as they are, and the break is reported.
//! - **Missing values**: an empty cell or `NaN`/`NA`/`null` (any case) is missing. Runs
//!   of up to `max_gap_steps` missing values with a value on both sides (within the same
//!   unbroken stretch) are interpolated linearly in time and counted. A longer run, or
//!   one at the start or end of a stretch, is an error naming its first line and the
//!   column ([`LongGap::Error`], for weather) or is left missing as NaN and counted
//!   ([`LongGap::LeaveMissing`], for a history used for fitting).
//! - **Values**: text that is not a number, ±infinity, or a value outside the column's
//!   range is an error naming line and column. A column may allow small negatives (a
//!   pyranometer's night offset, an inverter's standby draw): values in
//!   [`ColumnSpec::negative_floor`, 0) are set to 0 and counted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat};

use crate::error::InputError;

/// What to do with a run of missing values too long to interpolate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongGap {
    /// Report it as an error (file, line, column).
    Error,
    /// Leave the values missing (NaN) and count them.
    LeaveMissing,
}

/// A column to read and its valid range.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Column name in the header.
    pub name: String,
    /// Smallest valid value (after the negative rule).
    pub min: f64,
    /// Largest valid value.
    pub max: f64,
    /// If set, values in [`negative_floor`, 0) are set to 0 and counted; values below it
    /// are errors.
    pub negative_floor: Option<f64>,
    /// Unit, for messages.
    pub unit: String,
}

impl ColumnSpec {
    /// A column valid in `min ..= max` (`unit` labels messages).
    pub fn new(name: &str, min: f64, max: f64, unit: &str) -> Self {
        ColumnSpec {
            name: name.to_string(),
            min,
            max,
            negative_floor: None,
            unit: unit.to_string(),
        }
    }

    /// Values in `floor ..< 0` are set to 0 (and counted) instead of being errors.
    pub fn zero_negatives_above(mut self, floor: f64) -> Self {
        self.negative_floor = Some(floor);
        self
    }
}

/// How to read a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesRules {
    /// Longest run of missing rows or values that is interpolated, in steps.
    pub max_gap_steps: usize,
    /// What to do with longer runs of missing values.
    pub long_gap: LongGap,
}

impl Default for SeriesRules {
    /// Up to 4 missing steps are interpolated; longer runs of missing values are errors.
    fn default() -> Self {
        SeriesRules {
            max_gap_steps: 4,
            long_gap: LongGap::Error,
        }
    }
}

/// A break in the time series: consecutive rows further apart than `max_gap_steps + 1`
/// steps, left as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesBreak {
    /// The last time before the break.
    pub after: DateTime<FixedOffset>,
    /// The first time after it.
    pub before: DateTime<FixedOffset>,
    /// Line of the row after the break.
    pub line: u64,
}

/// What was read and what the rules changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesReport {
    /// Data rows in the file.
    pub rows_read: usize,
    /// The series' step (the most common interval).
    pub step: Duration,
    /// Rows inserted into short gaps.
    pub rows_inserted: usize,
    /// Per column: values interpolated (in inserted rows and in missing cells).
    pub interpolated: Vec<(String, usize)>,
    /// Per column: small negatives set to 0.
    pub zeroed_negatives: Vec<(String, usize)>,
    /// Per column: values left missing (only with [`LongGap::LeaveMissing`]).
    pub left_missing: Vec<(String, usize)>,
    /// Gaps longer than `max_gap_steps`, left as they are.
    pub breaks: Vec<SeriesBreak>,
}

impl SeriesReport {
    /// Total values interpolated over all columns.
    pub fn total_interpolated(&self) -> usize {
        self.interpolated.iter().map(|(_, n)| n).sum()
    }

    /// Total small negatives set to 0 over all columns.
    pub fn total_zeroed(&self) -> usize {
        self.zeroed_negatives.iter().map(|(_, n)| n).sum()
    }

    /// Total values left missing over all columns.
    pub fn total_left_missing(&self) -> usize {
        self.left_missing.iter().map(|(_, n)| n).sum()
    }
}

/// A regular (apart from reported breaks) time series of named columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Row times, strictly increasing.
    pub times: Vec<DateTime<FixedOffset>>,
    /// The columns in the order of the specs, one value per row (NaN where left missing).
    pub columns: Vec<Vec<f64>>,
    /// Per row: true if any value in it was interpolated or the row was inserted.
    pub filled: Vec<bool>,
    /// Per row: its line in the file (`None` for inserted rows).
    pub lines: Vec<Option<u64>>,
    /// What was read and changed.
    pub report: SeriesReport,
}

/// Parses a time with a UTC offset (RFC 3339; a space may replace the `T`).
pub fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%#z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, fmt) {
            return Ok(d);
        }
    }
    if chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_ok()
        || chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_ok()
    {
        return Err(format!(
            "time '{t}' has no UTC offset: write e.g. '{t}Z' for UTC or '{t}+09:00'"
        ));
    }
    Err(format!(
        "'{t}' is not a time: expected RFC 3339 like 2025-01-15T00:00:00Z"
    ))
}

fn is_missing(cell: &str) -> bool {
    cell.is_empty()
        || cell.eq_ignore_ascii_case("nan")
        || cell.eq_ignore_ascii_case("na")
        || cell.eq_ignore_ascii_case("n/a")
        || cell.eq_ignore_ascii_case("null")
}

fn fmt_time(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn fmt_step(d: Duration) -> String {
    let s = d.num_seconds();
    if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The column names of a CSV file's header.
pub fn read_header(path: &Path) -> Result<Vec<String>, InputError> {
    let file = std::fs::File::open(path)
        .map_err(|e| InputError::new(Some(path), format!("cannot open: {e}")))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(file));
    let headers = rdr.headers().map_err(|e| {
        InputError::new(Some(path), format!("cannot read the header: {e}")).at_line(1)
    })?;
    Ok(headers.iter().map(str::to_string).collect())
}

/// Reads the `time` column and the `specs` columns of a CSV file by the rules of this
/// module.
pub fn read_csv(
    path: &Path,
    specs: &[ColumnSpec],
    rules: SeriesRules,
) -> Result<TimeSeries, InputError> {
    let file = std::fs::File::open(path)
        .map_err(|e| InputError::new(Some(path), format!("cannot open: {e}")))?;
    read_from(std::io::BufReader::new(file), Some(path), specs, rules)
}

/// Reads CSV text from any reader (`file` only labels errors) by the rules of this
/// module.
pub fn read_from<R: std::io::Read>(
    reader: R,
    file: Option<&Path>,
    specs: &[ColumnSpec],
    rules: SeriesRules,
) -> Result<TimeSeries, InputError> {
    let err = |msg: String| InputError::new(file, msg);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| err(format!("cannot read the header: {e}")).at_line(1))?
        .clone();
    let find = |name: &str| -> Result<usize, InputError> {
        let hits: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| *h == name)
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [i] => Ok(*i),
            [] => Err(err(format!(
                "missing column (the header has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            ))
            .at_line(1)
            .in_column(name)),
            _ => Err(
                err(format!("column appears {} times in the header", hits.len()))
                    .at_line(1)
                    .in_column(name),
            ),
        }
    };
    let time_idx = find("time")?;
    let idx: Vec<usize> = specs
        .iter()
        .map(|s| find(&s.name))
        .collect::<Result<_, _>>()?;

    // Pass 1: rows as in the file.
    let mut times: Vec<DateTime<FixedOffset>> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); specs.len()];
    let mut zeroed = vec![0usize; specs.len()];
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line());
                let mut ie = err(format!("bad CSV row: {e}"));
                if let Some(l) = line {
                    ie = ie.at_line(l);
                }
                return Err(ie);
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cell = |i: usize| record.get(i).unwrap_or("");
        let t = parse_time(cell(time_idx)).map_err(|m| err(m).at_line(line).in_column("time"))?;
        if let (Some(prev), Some(prev_line)) = (times.last(), lines.last()) {
            if t == *prev {
                return Err(err(format!(
                    "duplicate time {} (also on line {prev_line})",
                    cell(time_idx)
                ))
                .at_line(line)
                .in_column("time"));
            }
            if t < *prev {
                return Err(err(format!(
                    "time {} is earlier than line {prev_line} ({}): rows must be sorted by time",
                    cell(time_idx),
                    fmt_time(prev)
                ))
                .at_line(line)
                .in_column("time"));
            }
        }
        for (k, spec) in specs.iter().enumerate() {
            let text = cell(idx[k]);
            let value = if is_missing(text) {
                None
            } else {
                let v: f64 = text.parse().map_err(|_| {
                    err(format!("'{text}' is not a number ({})", spec.unit))
                        .at_line(line)
                        .in_column(&spec.name)
                })?;
                if !v.is_finite() {
                    return Err(err(format!("'{text}' is not a finite number"))
                        .at_line(line)
                        .in_column(&spec.name));
                }
                let v = match spec.negative_floor {
                    Some(floor) if v < 0.0 && v >= floor => {
                        zeroed[k] += 1;
                        0.0
                    }
                    _ => v,
                };
                if let (Some(floor), true) = (spec.negative_floor, v < 0.0) {
                    return Err(err(format!(
                        "{v} is negative beyond {floor} {}: small negatives down to {floor} \
                         are set to 0, larger ones are errors",
                        spec.unit
                    ))
                    .at_line(line)
                    .in_column(&spec.name));
                }
                if v < spec.min || v > spec.max {
                    return Err(err(format!(
                        "{v} is out of range: expected {} ..= {} {}",
                        spec.min, spec.max, spec.unit
                    ))
                    .at_line(line)
                    .in_column(&spec.name));
                }
                Some(v)
            };
            cols[k].push(value);
        }
        times.push(t);
        lines.push(line);
    }
    if times.len() < 2 {
        return Err(err(format!(
            "{} data row(s): at least two are needed to know the time step",
            times.len()
        )));
    }

    // The step: the most common interval (the shortest among equally common ones).
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for w in times.windows(2) {
        *counts.entry((w[1] - w[0]).num_milliseconds()).or_default() += 1;
    }
    let step_ms = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(ms, _)| *ms)
        .unwrap_or(0);
    if step_ms <= 0 {
        return Err(err("cannot determine the time step".to_string()));
    }
    let step = Duration::milliseconds(step_ms);

    // Pass 2: insert short gaps, note breaks.
    let n_specs = specs.len();
    let mut out_times = Vec::with_capacity(times.len());
    let mut out_lines: Vec<Option<u64>> = Vec::with_capacity(times.len());
    let mut out_cols: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(times.len()); n_specs];
    let mut segment_start: Vec<bool> = Vec::with_capacity(times.len());
    let mut breaks = Vec::new();
    let mut inserted = 0usize;
    for i in 0..times.len() {
        let mut starts_segment = i == 0;
        if i > 0 {
            let gap_ms = (times[i] - times[i - 1]).num_milliseconds();
            if gap_ms % step_ms != 0 {
                return Err(err(format!(
                    "{} after line {} is not a whole number of the series' {} step",
                    fmt_step(Duration::milliseconds(gap_ms)),
                    lines[i - 1],
                    fmt_step(step)
                ))
                .at_line(lines[i])
                .in_column("time"));
            }
            let missing = (gap_ms / step_ms - 1) as usize;
            if missing > rules.max_gap_steps {
                breaks.push(SeriesBreak {
                    after: times[i - 1],
                    before: times[i],
                    line: lines[i],
                });
                starts_segment = true;
            } else {
                for j in 1..=missing {
                    out_times.push(times[i - 1] + step * j as i32);
                    out_lines.push(None);
                    for c in out_cols.iter_mut() {
                        c.push(None);
                    }
                    segment_start.push(false);
                    inserted += 1;
                }
            }
        }
        out_times.push(times[i]);
        out_lines.push(Some(lines[i]));
        for (k, c) in out_cols.iter_mut().enumerate() {
            c.push(cols[k][i]);
        }
        segment_start.push(starts_segment);
    }

    // Pass 3: interpolate short runs of missing values within each stretch.
    let n = out_times.len();
    let mut filled = vec![false; n];
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(n_specs);
    let mut interpolated = vec![0usize; n_specs];
    let mut left_missing = vec![0usize; n_specs];
    let unix = |t: &DateTime<FixedOffset>| t.timestamp_millis() as f64;
    for (k, spec) in specs.iter().enumerate() {
        let src = &out_cols[k];
        let mut dst: Vec<f64> = src.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        let mut i = 0;
        while i < n {
            if src[i].is_some() {
                i += 1;
                continue;
            }
            // A run of missing values i..j within one stretch.
            let mut j = i;
            while j < n && src[j].is_none() && (j == i || !segment_start[j]) {
                j += 1;
            }
            let has_before = !segment_start[i] && i > 0 && src[i - 1].is_some();
            let has_after = j < n && !segment_start[j] && src[j].is_some();
            let run = j - i;
            if has_before && has_after && run <= rules.max_gap_steps {
                let (t0, v0) = (unix(&out_times[i - 1]), dst[i - 1]);
                let (t1, v1) = (unix(&out_times[j]), dst[j]);
                for m in i..j {
                    let f = (unix(&out_times[m]) - t0) / (t1 - t0);
                    dst[m] = v0 + (v1 - v0) * f;
                    filled[m] = true;
                }
                interpolated[k] += run;
            } else {
                match rules.long_gap {
                    LongGap::LeaveMissing => left_missing[k] += run,
                    LongGap::Error => {
                        let why = if !has_before {
                            "at the start of the series or after a break: nothing to interpolate from".to_string()
                        } else if !has_after {
                            "at the end of the series or before a break: nothing to interpolate to"
                                .to_string()
                        } else {
                            format!(
                                "{run} missing values in a row, more than the {} that are interpolated",
                                rules.max_gap_steps
                            )
                        };
                        // Name the first real line of the run (or the line after it).
                        let line = out_lines[i..]
                            .iter()
                            .flatten()
                            .next()
                            .copied()
                            .or_else(|| out_lines[..i].iter().rev().flatten().next().copied());
                        let mut e = err(format!(
                            "missing value from {} ({why})",
                            fmt_time(&out_times[i])
                        ))
                        .in_column(&spec.name);
                        if let Some(l) = line {
                            e = e.at_line(l);
                        }
                        return Err(e);
                    }
                }
            }
            i = j.max(i + 1);
        }
        columns.push(dst);
    }

    let named = |v: &[usize]| -> Vec<(String, usize)> {
        specs
            .iter()
            .zip(v)
            .filter(|(_, &c)| c > 0)
            .map(|(s, &c)| (s.name.clone(), c))
            .collect()
    };
    let report = SeriesReport {
        rows_read: times.len(),
        step,
        rows_inserted: inserted,
        interpolated: named(&interpolated),
        zeroed_negatives: named(&zeroed),
        left_missing: named(&left_missing),
        breaks,
    };
    Ok(TimeSeries {
        file: file.map(Path::to_path_buf),
        times: out_times,
        columns,
        filled,
        lines: out_lines,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<ColumnSpec> {
        vec![
            ColumnSpec::new("a", 0.0, 100.0, "W/m²").zero_negatives_above(-5.0),
            ColumnSpec::new("b", -50.0, 50.0, "°C"),
        ]
    }

    fn read(text: &str, rules: SeriesRules) -> Result<TimeSeries, InputError> {
        read_from(text.as_bytes(), Some(Path::new("x.csv")), &specs(), rules)
    }

    fn ok(text: &str) -> TimeSeries {
        read(text, SeriesRules::default()).unwrap()
    }

    fn fails(text: &str) -> String {
        read(text, SeriesRules::default()).unwrap_err().to_string()
    }

    #[test]
    fn reads_columns_by_name_and_ignores_others() {
        let s = ok("b,time,zzz,a\n1,2025-01-01T00:00:00Z,x,10\n2,2025-01-01T00:15:00Z,y,20\n");
        assert_eq!(s.columns, vec![vec![10.0, 20.0], vec![1.0, 2.0]]);
        assert_eq!(s.report.step, Duration::minutes(15));
        assert_eq!(s.lines, vec![Some(2), Some(3)]);
    }

    #[test]
    fn interpolates_short_runs_of_missing_cells_and_rows() {
        let s = ok("time,a,b\n\
                    2025-01-01T00:00:00Z,0,0\n\
                    2025-01-01T00:15:00Z,NaN,\n\
                    2025-01-01T00:30:00Z,20,2\n\
                    2025-01-01T01:15:00Z,50,5\n");
        // 00:45 and 01:00 were missing rows: inserted and interpolated.
        assert_eq!(s.times.len(), 6);
        assert_eq!(s.columns[0], vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(s.columns[1], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.filled, vec![false, true, false, true, true, false]);
        assert_eq!(s.report.rows_inserted, 2);
        assert_eq!(
            s.report.interpolated,
            vec![("a".to_string(), 3), ("b".to_string(), 3)]
        );
    }

    #[test]
    fn long_gaps_between_rows_are_breaks_not_errors() {
        let s = ok("time,a,b\n\
                    2025-01-01T00:00:00Z,1,1\n\
                    2025-01-01T00:15:00Z,2,2\n\
                    2025-03-01T00:00:00Z,3,3\n");
        assert_eq!(s.times.len(), 3);
        assert_eq!(s.report.breaks.len(), 1);
        assert_eq!(s.report.breaks[0].line, 4);
    }

    #[test]
    fn small_negatives_are_zeroed_and_counted_large_ones_are_errors() {
        let s = ok("time,a,b\n2025-01-01T00:00:00Z,-3,-10\n2025-01-01T00:15:00Z,4,1\n");
        assert_eq!(s.columns[0][0], 0.0);
        assert_eq!(s.columns[1][0], -10.0);
        assert_eq!(s.report.zeroed_negatives, vec![("a".to_string(), 1)]);
        let e = fails("time,a,b\n2025-01-01T00:00:00Z,-30,1\n2025-01-01T00:15:00Z,4,1\n");
        assert!(
            e.starts_with("x.csv: line 2, column 'a': -30 is negative beyond -5 W/m²"),
            "{e}"
        );
        let e = fails("time,a,b\n2025-01-01T00:00:00Z,130,1\n2025-01-01T00:15:00Z,4,1\n");
        assert_eq!(
            e,
            "x.csv: line 2, column 'a': 130 is out of range: expected 0 ..= 100 W/m²"
        );
    }

    #[test]
    fn bad_rows_are_named_by_file_line_and_column() {
        let h = "time,a,b\n";
        let e = fails(&format!(
            "{h}2025-01-01T00:00:00Z,1,1\n2025-01-01T00:15:00Z,abc,1\n"
        ));
        assert_eq!(e, "x.csv: line 3, column 'a': 'abc' is not a number (W/m²)");
        let e = fails(&format!(
            "{h}2025-01-01T00:00:00Z,1,1\n2025-01-01T00:00:00Z,1,1\n"
        ));
        assert!(
            e.starts_with("x.csv: line 3, column 'time': duplicate time"),
            "{e}"
        );
        let e = fails(&format!(
            "{h}2025-01-01T00:15:00Z,1,1\n2025-01-01T00:00:00Z,1,1\n"
        ));
        assert!(
            e.contains("line 3, column 'time'") && e.contains("sorted"),
            "{e}"
        );
        let e = fails(&format!(
            "{h}2025-01-01T00:00:00,1,1\n2025-01-01T00:15:00Z,1,1\n"
        ));
        assert!(
            e.contains("line 2, column 'time'") && e.contains("no UTC offset"),
            "{e}"
        );
        let e = fails(&format!(
            "{h}2025-01-01T00:00:00Z,inf,1\n2025-01-01T00:15:00Z,1,1\n"
        ));
        assert!(
            e.contains("line 2, column 'a'") && e.contains("finite"),
            "{e}"
        );
        let e = fails("time,a\n2025-01-01T00:00:00Z,1\n");
        assert!(e.contains("line 1, column 'b': missing column"), "{e}");
        let e = fails(&format!(
            "{h}2025-01-01T00:00:00Z,1,1\n2025-01-01T00:15:00Z,1\n"
        ));
        assert!(e.starts_with("x.csv: line 3: bad CSV row"), "{e}");
        let e = fails(&format!("{h}2025-01-01T00:00:00Z,1,1\n"));
        assert!(e.contains("at least two"), "{e}");
    }

    #[test]
    fn irregular_steps_are_errors() {
        let e = fails(
            "time,a,b\n\
             2025-01-01T00:00:00Z,1,1\n\
             2025-01-01T00:15:00Z,1,1\n\
             2025-01-01T00:30:00Z,1,1\n\
             2025-01-01T00:40:00Z,1,1\n",
        );
        assert!(
            e.contains("line 5, column 'time'") && e.contains("10 min"),
            "{e}"
        );
    }

    #[test]
    fn long_runs_of_missing_values_are_errors_or_left_missing() {
        let text = "time,a,b\n\
                    2025-01-01T00:00:00Z,1,1\n\
                    2025-01-01T00:15:00Z,,1\n\
                    2025-01-01T00:30:00Z,,1\n\
                    2025-01-01T00:45:00Z,4,1\n";
        let rules = SeriesRules {
            max_gap_steps: 1,
            long_gap: LongGap::Error,
        };
        let e = read(text, rules).unwrap_err().to_string();
        assert!(
            e.starts_with("x.csv: line 3, column 'a': missing value from 2025-01-01T00:15:00Z (2 missing values"),
            "{e}"
        );
        let s = read(
            text,
            SeriesRules {
                max_gap_steps: 1,
                long_gap: LongGap::LeaveMissing,
            },
        )
        .unwrap();
        assert!(s.columns[0][1].is_nan() && s.columns[0][2].is_nan());
        assert_eq!(s.report.left_missing, vec![("a".to_string(), 2)]);
        // Missing at the start: nothing to interpolate from.
        let e = fails("time,a,b\n2025-01-01T00:00:00Z,,1\n2025-01-01T00:15:00Z,1,1\n");
        assert!(
            e.contains("line 2, column 'a'") && e.contains("start"),
            "{e}"
        );
    }

    #[test]
    fn accepts_offsets_and_a_space_separator() {
        let s = ok("time,a,b\n2016-08-01 00:00:00-08:00,1,1\n2016-08-01T01:00:00-08:00,2,2\n");
        assert_eq!(s.report.step, Duration::hours(1));
        assert_eq!(s.times[0].offset().local_minus_utc(), -8 * 3600);
    }
}
