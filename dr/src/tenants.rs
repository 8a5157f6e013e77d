//! The requests to tenants and residents ([`control::request`]) as the live loop publishes
//! them: the versioned MQTT messages (the district's topic and one per building), the
//! HTTP view (`GET /requests`) and the audit log's notes.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use connectors::mqtt::{RequestsMessage, TenantRequest, SCHEMA_VERSION};
use control::request::{Desk, Reason, Request, Response};

use crate::Notes;

fn reason(r: Reason) -> &'static str {
    match r {
        Reason::Peak => "peak",
        Reason::DemandResponse => "demand_response",
        Reason::Carbon => "carbon",
    }
}

/// The wire form of one request, ranked `rank` among those in force.
pub fn wire(r: &Request, rank: usize) -> TenantRequest {
    TenantRequest {
        id: r.id.clone(),
        building: r.building.clone(),
        grid: r.grid.clone(),
        from: r.from.to_rfc3339(),
        until: r.until.to_rfc3339(),
        reduce_kw: r.reduce_kw,
        reasons: r.reasons.iter().map(|x| reason(*x).to_string()).collect(),
        value_yen: r.value_yen,
        value_yen_per_kwh: r.value_yen_per_kwh,
        co2_kg: r.co2_kg,
        co2_kg_per_kwh: r.co2_kg_per_kwh,
        expected_kw: r.expected_kw,
        rank,
        issued: r.issued.to_rfc3339(),
        message_en: r.message_en.clone(),
        message_ja: r.message_ja.clone(),
    }
}

/// The messages for `buildings` at `now`: the district's (every request in force, ranked)
/// and one per building (its own; an empty list replaces a retained one that ended).
pub fn messages(
    district: &str,
    desk: &Desk,
    buildings: &[String],
    now: DateTime<FixedOffset>,
) -> Vec<RequestsMessage> {
    let ranked: Vec<TenantRequest> = desk
        .in_force(now)
        .into_iter()
        .enumerate()
        .map(|(i, r)| wire(r, i + 1))
        .collect();
    let time = now.with_timezone(&chrono::Utc);
    let msg = |building: Option<&String>, requests: Vec<TenantRequest>| RequestsMessage {
        v: SCHEMA_VERSION,
        district: district.to_string(),
        time,
        building: building.cloned(),
        requests,
        learned_rates: desk.rates(),
    };
    let mut out = vec![msg(None, ranked.clone())];
    for b in buildings {
        let own = ranked
            .iter()
            .filter(|r| &r.building == b)
            .cloned()
            .collect();
        out.push(msg(Some(b), own));
    }
    out
}

/// The ids of the requests in force at `now` (to publish only when they change).
pub fn in_force_ids(desk: &Desk, now: DateTime<FixedOffset>) -> BTreeSet<String> {
    desk.in_force(now)
        .into_iter()
        .map(|r| r.id.clone())
        .collect()
}

/// `GET /requests`: the requests in force (ranked), the last measured responses and the
/// learned rates.
pub fn view(desk: &Desk, now: DateTime<FixedOffset>) -> Value {
    let responses = desk.responses();
    json!({
        "time": now.to_rfc3339(),
        "policy": desk.policy(),
        "requests": desk.in_force(now).into_iter().enumerate().map(|(i, r)| wire(r, i + 1)).collect::<Vec<_>>(),
        "responses": responses[responses.len().saturating_sub(20)..].to_vec(),
        "learned_rates": desk.rates(),
        "issued": desk.requests().len(),
    })
}

/// The audit log's notes of a cycle: each request issued and each response measured.
pub fn notes(issued: &[Request], measured: &[Response]) -> Notes {
    let mut n: Notes = Vec::new();
    for r in issued {
        n.push((
            "tenant_request",
            r.id.clone(),
            format!(
                "rank {}: {} kW from {} to {}, worth {:.0} yen, {:.1} kg CO2 if met: {}",
                r.rank,
                r.reduce_kw,
                r.from.to_rfc3339(),
                r.until.to_rfc3339(),
                r.value_yen,
                r.co2_kg,
                r.message_en
            ),
        ));
    }
    for x in measured {
        let detail = match (x.measured_kw, x.response_kw, x.rate) {
            (Some(m), Some(d), Some(rate)) => format!(
                "baseline {:.1} kW, measured {m:.1} kW: response {d:.1} kW of {:.1} asked ({:.0} %); learned rate {:.0} %",
                x.baseline_kw,
                x.requested_kw,
                100.0 * rate,
                100.0 * x.learned_rate
            ),
            _ => x.note.clone().unwrap_or_else(|| "not measured".into()),
        };
        n.push(("tenant_response", x.request.clone(), detail));
    }
    n
}
