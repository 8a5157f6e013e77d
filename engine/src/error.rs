//! Errors of the engine: a refused scenario names the file, the table and id, and the field.

use std::fmt;
use std::path::{Path, PathBuf};

/// A scenario that cannot be loaded or is refused by validation.
///
/// Displayed on one line as `FILE: [[table]] #i (id 'x'): field 'f': reason`, with the parts
/// that do not apply left out.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file in which the problem was found (scenario TOML or series CSV).
    pub file: PathBuf,
    /// The table and entry, e.g. `[[battery]] #0 (id 'office_bat')` or `[scenario]`.
    pub table: Option<String>,
    /// The key (or, for a series value, the CSV column) at fault.
    pub field: Option<String>,
    /// What is wrong, with the offending value.
    pub reason: String,
}

impl ScenarioError {
    /// An error about the file as a whole.
    pub fn file(file: &Path, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            table: None,
            field: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(table) = &self.table {
            write!(f, ": {table}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field '{field}'")?;
        }
        // Keep the message on one line whatever the underlying parser said.
        let reason = self.reason.split_whitespace().collect::<Vec<_>>().join(" ");
        write!(f, ": {reason}")
    }
}

impl std::error::Error for ScenarioError {}

/// The place in a scenario that a check is about: a file and, optionally, a table entry.
///
/// Validation code holds one of these per table entry and turns failed checks into
/// [`ScenarioError`]s with [`Ctx::err`].
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    file: &'a Path,
    table: String,
}

impl<'a> Ctx<'a> {
    /// A context for the `[name]` section.
    pub fn section(file: &'a Path, name: &str) -> Self {
        Self {
            file,
            table: format!("[{name}]"),
        }
    }

    /// A context for entry `index` of the `[[kind]]` array, with its id once known.
    pub fn entry(file: &'a Path, kind: &str, index: usize, id: Option<&str>) -> Self {
        let table = match id {
            Some(id) => format!("[[{kind}]] #{index} (id '{id}')"),
            None => format!("[[{kind}]] #{index}"),
        };
        Self { file, table }
    }

    /// The same table, reported against another file (e.g. the series CSV).
    pub fn in_file(&self, file: &'a Path) -> Self {
        Self {
            file,
            table: self.table.clone(),
        }
    }

    /// An error about `field` of this table.
    pub fn err(&self, field: &str, reason: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_path_buf(),
            table: Some(self.table.clone()),
            field: Some(field.to_string()),
            reason: reason.into(),
        }
    }

    /// An error about this table as a whole (e.g. a TOML type error whose key serde names).
    pub fn err_table(&self, reason: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_path_buf(),
            table: Some(self.table.clone()),
            field: None,
            reason: reason.into(),
        }
    }

    /// The file this context reports against.
    pub fn file_path(&self) -> &'a Path {
        self.file
    }
}
