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
/// `all` its targets name (an event naming no connection but one of `own` — this VEN's name,
/// the district's id — or naming nothing applies to the book's connections). An event whose
/// targets name only resources this district does not have is refused (`Err`, the reason in
/// words): it never reaches the plan.
pub fn to_event(
    e: &DrEvent,
    all: &[String],
    own: &[String],
    offset: FixedOffset,
) -> Result<Event, String> {
    let grids: Vec<String> = e
        .targets
        .iter()
        .filter(|t| all.contains(t))
        .cloned()
        .collect();
    if !e.targets.is_empty() && grids.is_empty() && !e.targets.iter().any(|t| own.contains(t)) {
        return Err(format!(
            "its targets ({}) name no grid connection of this district ({}){}",
            e.targets.join(", "),
            all.join(", "),
            if own.is_empty() {
                String::new()
            } else {
                format!(" nor this VEN ({})", own.join(", "))
            }
        ));
    }
    Ok(Event {
        id: e.id.clone(),
        grids,
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
    })
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

    #[test]
    fn an_event_for_resources_the_district_does_not_have_is_refused() {
        let all = ["pcc".to_string(), "condo_pcc".to_string()];
        let own = ["gate-square-ven".to_string()];
        let jst = FixedOffset::east_opt(9 * 3600).unwrap();
        let event = |targets: &[&str]| DrEvent {
            id: "e1".into(),
            program_id: "p1".into(),
            name: None,
            targets: targets.iter().map(|t| t.to_string()).collect(),
            signals: Vec::new(),
            ignored: Vec::new(),
        };
        // No targets, or this VEN: the book's connections; a connection: that one.
        assert!(to_event(&event(&[]), &all, &own, jst)
            .unwrap()
            .grids
            .is_empty());
        assert!(to_event(&event(&["gate-square-ven"]), &all, &own, jst)
            .unwrap()
            .grids
            .is_empty());
        assert_eq!(
            to_event(&event(&["condo_pcc", "osaka_pcc"]), &all, &own, jst)
                .unwrap()
                .grids,
            ["condo_pcc"]
        );
        assert_eq!(
            to_event(&event(&["osaka_pcc"]), &all, &own, jst).unwrap_err(),
            "its targets (osaka_pcc) name no grid connection of this district (pcc, condo_pcc) \
             nor this VEN (gate-square-ven)"
        );
    }
}
