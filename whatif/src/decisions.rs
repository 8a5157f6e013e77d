//! The decisions log of a simulation (`aems simulate --decisions FILE.csv`): what the
//! controller told every unit at every step and where it came from, one row per step and
//! unit — the same columns as the live loop's `decisions` table, so a what-if and a live
//! run compare row by row.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use control::Cycle;

/// The header.
pub const COLUMNS: &str = "time,source,asset,command,on,power_kw,setpoint_c";

/// A CSV decisions log.
pub struct DecisionLog {
    out: std::io::BufWriter<std::fs::File>,
    path: std::path::PathBuf,
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

impl DecisionLog {
    /// Creates `path` and writes the header.
    pub fn create(path: &Path) -> Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("--decisions {}: cannot create it", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        writeln!(out, "{COLUMNS}").with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            out,
            path: path.to_path_buf(),
        })
    }

    /// Adds a cycle's decisions.
    pub fn add(&mut self, c: &Cycle) -> Result<()> {
        let time = c.time.to_rfc3339();
        for (asset, cmd) in &c.decisions.commands {
            let r = cmd.row();
            let on = r.on.map(|o| if o { "1" } else { "0" }).unwrap_or_default();
            writeln!(
                self.out,
                "{time},{},{asset},{},{on},{},{}",
                c.source.as_str(),
                r.kind,
                num(r.power_kw),
                num(r.setpoint_c)
            )
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        }
        Ok(())
    }

    /// Flushes the file.
    pub fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}
