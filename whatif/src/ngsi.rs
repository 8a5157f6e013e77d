//! The district's KPIs as NGSI-LD entities for a city data platform (FIWARE context
//! brokers: Orion-LD, Scorpio, Stellio), in the normalized representation:
//!
//! - one `Building` entity per node (`urn:ngsi-ld:Building:<district>:<node>`, its `name`);
//! - one `KeyPerformanceIndicator` entity (FIWARE Smart Data Model
//!   `dataModel.KeyPerformanceIndicator`) per KPI and scope — the district, and each
//!   building — `urn:ngsi-ld:KeyPerformanceIndicator:<district>:<scope>:<kpi>`, with
//!   `kpiValue` as a Property holding `unitCode` (UN/CEFACT common codes: `KWH`, `KWT`,
//!   `KGM`, `C62` for a share; yen have no UN/CEFACT code: `unitText` `JPY`) and
//!   `observedAt`, `calculationPeriod`, `category`, `calculationMethod`, `area` and, for a
//!   building's KPI, the Relationship `refBuilding`.
//!
//! Every entity carries the `@context` [`CONTEXT`] (the Smart Data Models context, then
//! the NGSI-LD core context). [`write`] saves them for offline exchange; [`upsert`] sends
//! them to a broker's `/ngsi-ld/v1/entityOperations/upsert`.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, FixedOffset};
use engine::kpi::{KpiSet, Kpis};
use serde_json::{json, Value};

/// The JSON-LD context of every entity: FIWARE Smart Data Models, then the NGSI-LD core.
pub const CONTEXT: [&str; 2] = [
    "https://smartdatamodels.org/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
];

/// One KPI: its attribute name in the id, its name in words, the unit (a UN/CEFACT common
/// code, or a text for yen), and how to read it off a KPI set.
struct Kpi {
    key: &'static str,
    name: &'static str,
    unit_code: Option<&'static str>,
    unit_text: Option<&'static str>,
    value: fn(&KpiSet) -> f64,
}

const KPIS: [Kpi; 8] = [
    Kpi {
        key: "cost",
        name: "Cost of energy, demand charge, fuel, wear, comfort and carbon",
        unit_code: None,
        unit_text: Some("JPY"),
        value: |k| k.cost_yen,
    },
    Kpi {
        key: "co2",
        name: "CO2 emitted (grid imports and fuel)",
        unit_code: Some("KGM"),
        unit_text: None,
        value: |k| k.co2_kg,
    },
    Kpi {
        key: "import",
        name: "Energy imported from the grid",
        unit_code: Some("KWH"),
        unit_text: None,
        value: |k| k.import_kwh,
    },
    Kpi {
        key: "consumption",
        name: "Energy consumed",
        unit_code: Some("KWH"),
        unit_text: None,
        value: |k| k.consumption_kwh,
    },
    Kpi {
        key: "peak",
        name: "Peak 30-minute import",
        unit_code: Some("KWT"),
        unit_text: None,
        value: |k| k.peak_kw,
    },
    Kpi {
        key: "pvUsed",
        name: "PV energy used",
        unit_code: Some("KWH"),
        unit_text: None,
        value: |k| k.pv_used_kwh,
    },
    Kpi {
        key: "selfSufficiency",
        name: "Self-sufficiency (share of consumption not imported)",
        unit_code: Some("C62"),
        unit_text: None,
        value: |k| k.self_sufficiency,
    },
    Kpi {
        key: "unserved",
        name: "Load not served (grid outages)",
        unit_code: Some("KWH"),
        unit_text: None,
        value: |k| k.unserved_kwh,
    },
];

/// An id segment: the characters NGSI-LD ids allow, others as `_`.
fn segment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The id of node `node`'s Building entity.
pub fn building_id(district: &str, node: &str) -> String {
    format!(
        "urn:ngsi-ld:Building:{}:{}",
        segment(district),
        segment(node)
    )
}

fn property(value: Value) -> Value {
    json!({"type": "Property", "value": value})
}

/// The entities of `kpis` over `[from, until)` of district `district`, observed at
/// `observed_at` (the end of the period).
pub fn entities(
    district: &str,
    kpis: &Kpis,
    from: DateTime<FixedOffset>,
    until: DateTime<FixedOffset>,
    observed_at: DateTime<FixedOffset>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let observed = observed_at.to_rfc3339();
    for (node, _) in &kpis.buildings {
        out.push(json!({
            "id": building_id(district, node),
            "type": "Building",
            "name": property(json!(node)),
            "@context": CONTEXT,
        }));
    }
    let scopes = std::iter::once(("district".to_string(), &kpis.district, None)).chain(
        kpis.buildings
            .iter()
            .map(|(n, k)| (n.clone(), k, Some(building_id(district, n)))),
    );
    for (scope, set, building) in scopes {
        for kpi in &KPIS {
            let v = (kpi.value)(set);
            if !v.is_finite() {
                continue;
            }
            let mut value = json!({"type": "Property", "value": v, "observedAt": observed});
            if let Some(u) = kpi.unit_code {
                value["unitCode"] = json!(u);
            }
            if let Some(u) = kpi.unit_text {
                value["unitText"] = json!(u);
            }
            let mut e = json!({
                "id": format!(
                    "urn:ngsi-ld:KeyPerformanceIndicator:{}:{}:{}",
                    segment(district),
                    segment(&scope),
                    kpi.key
                ),
                "type": "KeyPerformanceIndicator",
                "name": property(json!(format!("{}, {}", kpi.name, scope))),
                "category": property(json!(["quantitative"])),
                "calculationMethod": property(json!("automatic")),
                "calculatedBy": property(json!("aems")),
                "area": property(json!(district)),
                "calculationPeriod": property(json!({
                    "from": from.date_naive().to_string(),
                    "to": until.date_naive().to_string(),
                })),
                "kpiValue": value,
                "@context": CONTEXT,
            });
            if let Some(b) = &building {
                e["refBuilding"] = json!({"type": "Relationship", "object": b});
            }
            out.push(e);
        }
    }
    out
}

/// Writes `entities` to `path` as one JSON-LD array (for offline exchange).
pub fn write(path: &Path, entities: &[Value]) -> Result<()> {
    let text = serde_json::to_string_pretty(entities)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Upserts `entities` to the NGSI-LD broker at `broker` (its base URL, e.g.
/// `http://orion-ld:1026`): `POST <broker>/ngsi-ld/v1/entityOperations/upsert` with
/// `application/ld+json`. Returns the HTTP status (201 or 204 when all were taken).
pub fn upsert(broker: &str, entities: &[Value]) -> Result<u16> {
    let url = format!(
        "{}/ngsi-ld/v1/entityOperations/upsert",
        broker.trim_end_matches('/')
    );
    let body = serde_json::to_string(entities)?;
    match ureq::post(&url)
        .set("Content-Type", "application/ld+json")
        .timeout(std::time::Duration::from_secs(30))
        .send_string(&body)
    {
        Ok(r) => Ok(r.status()),
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            bail!("{url}: the broker answered {code}: {}", text.trim())
        }
        Err(e) => Err(anyhow!("{url}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kpis() -> Kpis {
        let mut d = KpiSet {
            cost_yen: 1000.0,
            co2_kg: 20.0,
            import_kwh: 50.0,
            consumption_kwh: 80.0,
            peak_kw: 12.0,
            pv_used_kwh: 30.0,
            self_sufficiency: 0.375,
            ..KpiSet::default()
        };
        d.unserved_kwh = 0.0;
        Kpis {
            district: d.clone(),
            buildings: vec![("office a".into(), d)],
            billed_kw: vec![],
            co2_by_fiscal_year: Default::default(),
        }
    }

    /// The NGSI-LD rules the entities must keep: ids are URNs, every attribute other than
    /// id, type and @context is a Property with a value or a Relationship with an object,
    /// the KPI values carry observedAt and a unit, the core context comes last.
    #[test]
    fn entities_follow_the_ngsi_ld_rules() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let es = entities(
            "gate square",
            &kpis(),
            t("2025-07-01T00:00:00+09:00"),
            t("2025-07-08T00:00:00+09:00"),
            t("2025-07-08T00:00:00+09:00"),
        );
        // 1 building + 8 KPIs × 2 scopes.
        assert_eq!(es.len(), 17);
        for e in &es {
            let id = e["id"].as_str().unwrap();
            assert!(id.starts_with("urn:ngsi-ld:"), "{id}");
            assert!(!id.contains(' '), "{id}");
            assert_eq!(e["@context"][1].as_str().unwrap(), CONTEXT[1]);
            for (k, v) in e.as_object().unwrap() {
                if matches!(k.as_str(), "id" | "type" | "@context") {
                    continue;
                }
                match v["type"].as_str() {
                    Some("Property") => assert!(!v["value"].is_null(), "{k}"),
                    Some("Relationship") => {
                        assert!(v["object"].as_str().unwrap().starts_with("urn:ngsi-ld:"))
                    }
                    other => panic!("{k}: {other:?}"),
                }
            }
            if e["type"] == "KeyPerformanceIndicator" {
                let v = &e["kpiValue"];
                assert!(DateTime::parse_from_rfc3339(v["observedAt"].as_str().unwrap()).is_ok());
                assert!(v.get("unitCode").is_some() || v.get("unitText").is_some());
            }
        }
        let co2 = es
            .iter()
            .find(|e| e["id"] == "urn:ngsi-ld:KeyPerformanceIndicator:gate_square:office_a:co2")
            .unwrap();
        assert_eq!(co2["kpiValue"]["value"], 20.0);
        assert_eq!(co2["kpiValue"]["unitCode"], "KGM");
        assert_eq!(
            co2["refBuilding"]["object"],
            "urn:ngsi-ld:Building:gate_square:office_a"
        );
        assert_eq!(co2["calculationPeriod"]["value"]["from"], "2025-07-01");
    }
}
