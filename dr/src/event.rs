//! The one mapping from what the VEN reads (`connectors::openadr::DrEvent`) to what the
//! controller takes (`control::demand_response::Event`), used by the live link and by events
//! files; and the connections `[openadr] grids` names, checked once.

use chrono::FixedOffset;
use connectors::openadr::{DrEvent, SignalKind as Wire};
use control::demand_response::{Event, EventInterval};
use control::problem::SignalKind;

/// The connections events apply to: `names` (each must be one of `all`, the scenario's), or
/// every connection when none is named. Err: the first name that is not a connection, in
/// words naming the scenario's.
pub fn applies_to(names: &[String], all: &[String]) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    match names.iter().find(|g| !all.contains(g)) {
        Some(g) => Err(format!(
            "'{g}' is not a grid connection (it has: {})",
            all.join(", ")
        )),
        None => Ok(names.to_vec()),
    }
}

/// `e` in the controller's terms: its signals as intervals in `offset`; the connections among
/// `all` its targets name (the others name resources or groups the AEMS does not map: an event
/// naming no connection applies to the book's).
pub fn to_event(e: &DrEvent, all: &[String], offset: FixedOffset) -> Event {
    Event {
        id: e.id.clone(),
        grids: e
            .targets
            .iter()
            .filter(|t| all.contains(t))
            .cloned()
            .collect(),
        intervals: e
            .signals
            .iter()
            .map(|s| EventInterval {
                kind: match s.kind {
                    Wire::ImportCapacityLimit => SignalKind::ImportCapKw,
                    Wire::Price => SignalKind::ImportPriceYenPerKwh,
                    Wire::Ghg => SignalKind::CarbonKgPerKwh,
                },
                value: s.value,
                from: s.from.with_timezone(&offset),
                until: s.until.with_timezone(&offset),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_connections_are_checked_and_none_means_all() {
        let all = ["pcc".to_string(), "condo_pcc".to_string()];
        assert_eq!(applies_to(&[], &all).unwrap(), all);
        assert_eq!(applies_to(&["pcc".into()], &all).unwrap(), ["pcc"]);
        assert_eq!(
            applies_to(&["pcc_9".into()], &all).unwrap_err(),
            "'pcc_9' is not a grid connection (it has: pcc, condo_pcc)"
        );
    }
}
