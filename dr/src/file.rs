//! An OpenADR events file for what-ifs (`aems simulate --dr-events FILE`): a JSON array of
//! OpenADR 3 event objects, as a VTN's `GET /events` returns them (or as its business logic
//! would post them: `id` optional), read with the same mapping as the live VEN
//! (`connectors::openadr::parse_event`). An event whose targets name grid connections applies
//! to those, one without targets to every connection given; one whose targets name only
//! other resources is not acted on (listed with the reason).

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::FixedOffset;
use connectors::openadr;
use control::demand_response::Book;
use control::problem::GridSignal;

/// The events in `path` as signals on `grids` (times in `offset`), with the payloads not
/// acted on (in words, per event).
pub fn signals(
    path: &Path,
    grids: &[String],
    offset: FixedOffset,
) -> Result<(Vec<GridSignal>, Vec<String>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the events file {}", path.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let Some(entries) = doc.as_array() else {
        bail!(
            "{}: expected a JSON array of OpenADR 3 events (as GET /events returns)",
            path.display()
        );
    };
    let mut events = Vec::new();
    let mut ignored = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let id = e
            .get("id")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{n}"));
        let req: openleadr_wire::event::EventRequest = serde_json::from_value(e.clone())
            .with_context(|| format!("{}: event {id} (entry {n})", path.display()))?;
        let ev = openadr::parse_event(&id, &req);
        if ev.signals.is_empty() {
            bail!(
                "{}: event {id} (entry {n}) asks nothing the dispatch model takes ({})",
                path.display(),
                if ev.ignored.is_empty() {
                    "no payload".to_string()
                } else {
                    ev.ignored.join("; ")
                }
            );
        }
        match crate::event::to_event(&ev, grids, &[], offset) {
            Ok(event) => {
                ignored.extend(ev.ignored.iter().map(|i| format!("event {id}: {i}")));
                events.push(event);
            }
            Err(why) => ignored.push(format!("event {id}: refused: {why}")),
        }
    }
    // As the live loop applies them (each event on the connections it names, else on all).
    let mut book = Book::new(grids.to_vec());
    book.update(events, None);
    Ok((book.signals(), ignored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vtns_events_as_signals_and_bad_files_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.json");
        std::fs::write(
            &p,
            r#"[{"id": "e1", "programID": "p1", "priority": 1,
                 "payloadDescriptors": [{"payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
                 "intervalPeriod": {"start": "2025-08-04T04:00:00Z", "duration": "PT2H"},
                 "intervals": [{"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [300.0]}]}]}]"#,
        )
        .unwrap();
        let jst = FixedOffset::east_opt(9 * 3600).unwrap();
        let (s, ignored) = signals(&p, &["pcc".into()], jst).unwrap();
        assert!(ignored.is_empty());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].from.to_rfc3339(), "2025-08-04T13:00:00+09:00");
        assert_eq!(s[0].until.to_rfc3339(), "2025-08-04T15:00:00+09:00");
        // Targets naming a connection: that one only.
        let (s, _) = signals(&p, &["pcc".into(), "condo_pcc".into()], jst).unwrap();
        assert_eq!(s.len(), 2);
        let targeted = std::fs::read_to_string(&p).unwrap().replace(
            "\"programID\"",
            "\"targets\": [\"condo_pcc\", \"tokyo-east\"], \"programID\"",
        );
        std::fs::write(&p, targeted).unwrap();
        let (s, _) = signals(&p, &["pcc".into(), "condo_pcc".into()], jst).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].grid, "condo_pcc");
        // Targets naming only resources the district does not have: refused, said why,
        // nothing taken.
        let unknown = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"condo_pcc\", \"tokyo-east\"", "\"osaka_pcc\"");
        std::fs::write(&p, unknown).unwrap();
        let (s, ignored) = signals(&p, &["pcc".into(), "condo_pcc".into()], jst).unwrap();
        assert!(s.is_empty(), "{s:?}");
        assert_eq!(
            ignored,
            ["event e1: refused: its targets (osaka_pcc) name no grid connection of this district (pcc, condo_pcc)"]
        );
        std::fs::write(&p, r#"[{"id": "e2", "priority": 1, "intervals": []}]"#).unwrap();
        let e = format!("{:#}", signals(&p, &["pcc".into()], jst).unwrap_err());
        assert!(
            e.contains("events.json: event e2 (entry 0)") && e.contains("programID"),
            "{e}"
        );
        std::fs::write(&p, r#"{"id": "e3"}"#).unwrap();
        let e = format!("{:#}", signals(&p, &["pcc".into()], jst).unwrap_err());
        assert!(e.contains("expected a JSON array"), "{e}");
    }
}
