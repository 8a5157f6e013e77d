//! `[[outage]]` (extension, `docs/extensions.md`, *Resilience*): a window in which a grid
//! connection is lost — no import, no export — and the district is islanded behind it.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::error::{Ctx, ScenarioError};

/// A grid connection lost over `[from, until)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    /// Its id in the file, if it has one (for messages).
    pub id: Option<String>,
    /// Index of the grid connection lost.
    pub grid: usize,
    /// When it is lost.
    pub from: DateTime<FixedOffset>,
    /// When it returns.
    pub until: DateTime<FixedOffset>,
}

impl Outage {
    /// Whether the step `[start, start + step)` overlaps the outage.
    pub fn covers(&self, start: DateTime<FixedOffset>, step_minutes: u32) -> bool {
        let end = start + chrono::Duration::minutes(i64::from(step_minutes));
        start < self.until && end > self.from
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutage {
    #[serde(default)]
    pub id: Option<String>,
    pub grid: String,
    pub from: toml::Value,
    pub until: toml::Value,
}

fn instant(
    ctx: &Ctx<'_>,
    key: &str,
    v: &toml::Value,
) -> Result<DateTime<FixedOffset>, ScenarioError> {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => {
            return Err(ctx.err(
                key,
                format!("expected an RFC 3339 time, found {}", other.type_str()),
            ))
        }
    };
    DateTime::parse_from_rfc3339(&text).map_err(|e| {
        ctx.err(
            key,
            format!("'{text}' is not an RFC 3339 time with offset ({e})"),
        )
    })
}

impl RawOutage {
    /// Resolves the outage against the file's grid connections.
    pub(crate) fn resolve(
        &self,
        ctx: &Ctx<'_>,
        grid_ids: &[String],
    ) -> Result<Outage, ScenarioError> {
        let grid = grid_ids
            .iter()
            .position(|g| *g == self.grid)
            .ok_or_else(|| {
                ctx.err(
                    "grid",
                    format!(
                        "'{}' is not a grid connection (the file has: {})",
                        self.grid,
                        if grid_ids.is_empty() {
                            "none".to_string()
                        } else {
                            grid_ids.join(", ")
                        }
                    ),
                )
            })?;
        let from = instant(ctx, "from", &self.from)?;
        let until = instant(ctx, "until", &self.until)?;
        if until <= from {
            return Err(ctx.err(
                "until",
                format!(
                    "{} is not after from = {}",
                    until.to_rfc3339(),
                    from.to_rfc3339()
                ),
            ));
        }
        Ok(Outage {
            id: self.id.clone(),
            grid,
            from,
            until,
        })
    }
}
