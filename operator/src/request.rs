//! What an operator may ask of the running loop, as typed requests: each action's JSON
//! body is read strictly (unknown keys refused) and checked against the district
//! ([`Catalog`]); a malformed body or an unknown asset is a [`BadRequest`] naming the
//! field.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The district's ids an operator may name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Commanded assets (batteries, HVAC units, generators, tie lines) and their building
    /// (node).
    pub assets: BTreeMap<String, String>,
    /// Buildings (nodes).
    pub buildings: BTreeSet<String>,
    /// Grid connections.
    pub grids: BTreeSet<String>,
}

/// An operator's request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Put assets in manual: released to their own control, planned idle, sent nothing.
    Manual {
        /// The assets (one, or every commanded asset of a building).
        assets: Vec<String>,
        /// What was named (`asset X` or `building Y`).
        target: String,
    },
    /// Take assets back under the loop's control.
    Auto {
        /// The assets.
        assets: Vec<String>,
        /// What was named.
        target: String,
    },
    /// Pause control: every device released, no plan, nothing sent until resumed.
    Pause,
    /// Resume control.
    Resume,
    /// Cap a connection's import over a window.
    ImportCap {
        /// Grid connection.
        grid: String,
        /// Cap, kW.
        kw: f64,
        /// From.
        from: DateTime<FixedOffset>,
        /// Until.
        until: DateTime<FixedOffset>,
    },
    /// Remove a connection's import caps.
    ClearImportCap {
        /// Grid connection.
        grid: String,
    },
    /// Acknowledge an asset's flags (one quantity, or all).
    Acknowledge {
        /// Asset.
        asset: String,
        /// Quantity (`None`: every flag of the asset).
        quantity: Option<String>,
    },
}

/// A request that cannot be taken: 400, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// The field (`body` for the body as a whole, `action` for the path).
    pub field: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field '{}': {}", self.field, self.reason)
    }
}

fn bad(field: &str, reason: impl Into<String>) -> BadRequest {
    BadRequest {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Reads `body` strictly as `T`, naming the field of the first error.
fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, BadRequest> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        // Missing and unknown keys are reported at the enclosing level: name the key.
        let field = if path == "." || path == "?" || path.is_empty() {
            msg.split('`').nth(1).unwrap_or("body").to_string()
        } else {
            path
        };
        bad(&field, msg)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    #[serde(default)]
    asset: Option<String>,
    #[serde(default)]
    building: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyBody {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapBody {
    grid: String,
    kw: f64,
    from: String,
    until: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridBody {
    grid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    asset: String,
    #[serde(default)]
    quantity: Option<String>,
}

fn time(field: &str, s: &str) -> Result<DateTime<FixedOffset>, BadRequest> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        bad(
            field,
            format!("'{s}' is not an RFC 3339 time with offset ({e})"),
        )
    })
}

impl Catalog {
    fn grid(&self, g: &str) -> Result<String, BadRequest> {
        if self.grids.contains(g) {
            Ok(g.to_string())
        } else {
            Err(bad(
                "grid",
                format!(
                    "'{g}' is not a grid connection of the district (it has: {})",
                    self.grids.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    }

    fn targets(&self, b: TargetBody) -> Result<(Vec<String>, String), BadRequest> {
        match (b.asset, b.building) {
            (Some(a), None) => {
                if self.assets.contains_key(&a) {
                    Ok((vec![a.clone()], format!("asset {a}")))
                } else {
                    Err(bad(
                        "asset",
                        format!("'{a}' is not a commanded asset of the district"),
                    ))
                }
            }
            (None, Some(n)) => {
                if !self.buildings.contains(&n) {
                    return Err(bad(
                        "building",
                        format!("'{n}' is not a building (node) of the district"),
                    ));
                }
                let assets: Vec<String> = self
                    .assets
                    .iter()
                    .filter(|(_, node)| **node == n)
                    .map(|(a, _)| a.clone())
                    .collect();
                if assets.is_empty() {
                    return Err(bad(
                        "building",
                        format!("building '{n}' has no commanded asset"),
                    ));
                }
                Ok((assets, format!("building {n}")))
            }
            (Some(_), Some(_)) => Err(bad(
                "building",
                "give either 'asset' or 'building', not both",
            )),
            (None, None) => Err(bad("asset", "missing: give 'asset' or 'building'")),
        }
    }
}

impl Request {
    /// The actions, as the API's paths name them.
    pub const ACTIONS: [&'static str; 7] = [
        "manual",
        "auto",
        "pause",
        "resume",
        "import-cap",
        "clear-import-cap",
        "ack",
    ];

    /// Reads the request for `action` from its JSON `body`, checked against `catalog`.
    pub fn parse(action: &str, body: &[u8], catalog: &Catalog) -> Result<Self, BadRequest> {
        Ok(match action {
            "manual" | "auto" => {
                let (assets, target) = catalog.targets(read(body)?)?;
                if action == "manual" {
                    Request::Manual { assets, target }
                } else {
                    Request::Auto { assets, target }
                }
            }
            "pause" | "resume" => {
                let _: EmptyBody = read(body)?;
                if action == "pause" {
                    Request::Pause
                } else {
                    Request::Resume
                }
            }
            "import-cap" => {
                let b: CapBody = read(body)?;
                if !(b.kw.is_finite() && b.kw >= 0.0) {
                    return Err(bad("kw", format!("{} must be a number ≥ 0", b.kw)));
                }
                let from = time("from", &b.from)?;
                let until = time("until", &b.until)?;
                if until <= from {
                    return Err(bad(
                        "until",
                        format!("{} is not after from = {}", b.until, b.from),
                    ));
                }
                Request::ImportCap {
                    grid: catalog.grid(&b.grid)?,
                    kw: b.kw,
                    from,
                    until,
                }
            }
            "clear-import-cap" => {
                let b: GridBody = read(body)?;
                Request::ClearImportCap {
                    grid: catalog.grid(&b.grid)?,
                }
            }
            "ack" => {
                let b: AckBody = read(body)?;
                if !catalog.assets.contains_key(&b.asset) && !catalog.grids.contains(&b.asset) {
                    return Err(bad(
                        "asset",
                        format!("'{}' is not a device of the district", b.asset),
                    ));
                }
                Request::Acknowledge {
                    asset: b.asset,
                    quantity: b.quantity,
                }
            }
            other => {
                return Err(bad(
                    "action",
                    format!(
                        "unknown action '{other}' (actions: {})",
                        Self::ACTIONS.join(", ")
                    ),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog {
            assets: [
                ("hub_bat", "hub"),
                ("office_a_ac", "office_a"),
                ("office_a_bat", "office_a"),
            ]
            .iter()
            .map(|(a, n)| (a.to_string(), n.to_string()))
            .collect(),
            buildings: ["hub", "office_a", "resi_d"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            grids: ["pcc".to_string()].into(),
        }
    }

    #[test]
    fn bodies_are_read_strictly_and_name_the_field() {
        let c = catalog();
        let r = Request::parse("manual", br#"{"building":"office_a"}"#, &c).unwrap();
        assert_eq!(
            r,
            Request::Manual {
                assets: vec!["office_a_ac".into(), "office_a_bat".into()],
                target: "building office_a".into()
            }
        );
        let e = Request::parse("manual", br#"{"assset":"hub_bat"}"#, &c).unwrap_err();
        assert_eq!(e.field, "assset", "{e}");
        let e = Request::parse("manual", br#"{"asset":"nope"}"#, &c).unwrap_err();
        assert_eq!(e.field, "asset");
        let e = Request::parse("manual", br#"{"building":"resi_d"}"#, &c).unwrap_err();
        assert!(e.reason.contains("no commanded asset"), "{e}");
        let e = Request::parse(
            "import-cap",
            br#"{"grid":"pcc","kw":"x","from":"a","until":"b"}"#,
            &c,
        )
        .unwrap_err();
        assert_eq!(e.field, "kw", "{e}");
        let e = Request::parse("import-cap", br#"{"grid":"pcc","kw":10}"#, &c).unwrap_err();
        assert_eq!(e.field, "from", "{e}");
        let e = Request::parse(
            "import-cap",
            br#"{"grid":"pcc","kw":10,"from":"2025-08-04T12:00:00+09:00","until":"2025-08-04T11:00:00+09:00"}"#,
            &c,
        )
        .unwrap_err();
        assert_eq!(e.field, "until");
        let e = Request::parse("import-cap", br#"{"grid":"pcc","kw":-1,"from":"2025-08-04T12:00:00+09:00","until":"2025-08-04T13:00:00+09:00"}"#, &c).unwrap_err();
        assert_eq!(e.field, "kw");
        assert_eq!(Request::parse("pause", b"", &c).unwrap(), Request::Pause);
        assert_eq!(
            Request::parse("pause", b"{not json", &c).unwrap_err().field,
            "body"
        );
        assert_eq!(
            Request::parse("jump", b"{}", &c).unwrap_err().field,
            "action"
        );
    }
}
