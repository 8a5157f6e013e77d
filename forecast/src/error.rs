//! Bad input, located: the file, the line and the column (or JSON key) at fault.

use std::fmt;
use std::path::{Path, PathBuf};

/// An input file the forecasts cannot use, with where the problem is.
///
/// Displays on one line as `FILE: line N, column 'NAME': MESSAGE` (the parts that are
/// known), so a command line can print it as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// The file read, if the data came from one.
    pub file: Option<PathBuf>,
    /// 1-based line in the file (the header is line 1), if the problem has one.
    pub line: Option<u64>,
    /// The CSV column or JSON key at fault, if any.
    pub column: Option<String>,
    /// What is wrong, and where useful what was expected.
    pub message: String,
}

impl InputError {
    /// An error about the whole input (no line, no column).
    pub fn new(file: Option<&Path>, message: impl Into<String>) -> Self {
        InputError {
            file: file.map(Path::to_path_buf),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// Sets the line.
    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the column (or JSON key).
    pub fn in_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(file) = &self.file {
            parts.push(file.display().to_string());
        }
        let mut place: Vec<String> = Vec::new();
        if let Some(line) = self.line {
            place.push(format!("line {line}"));
        }
        if let Some(column) = &self.column {
            place.push(format!("column '{column}'"));
        }
        if !place.is_empty() {
            parts.push(place.join(", "));
        }
        if parts.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", parts.join(": "), self.message)
        }
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_file_line_and_column_on_one_line() {
        let e = InputError::new(Some(Path::new("w.csv")), "not a number: 'x'")
            .at_line(7)
            .in_column("ghi_w_m2");
        assert_eq!(
            e.to_string(),
            "w.csv: line 7, column 'ghi_w_m2': not a number: 'x'"
        );
        let e = InputError::new(None, "empty");
        assert_eq!(e.to_string(), "empty");
    }
}
