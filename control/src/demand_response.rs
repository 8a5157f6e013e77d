//! Demand-response events in the loop, whatever brought them (an OpenADR VTN in `aems run`):
//! which are in force, the signals they put on the dispatch problem, the baseline each
//! interval is measured against, and the reports due once an interval has passed.
//!
//! Baseline: the import the plan in force when the event was first seen expected over the
//! interval (the district's own forecast, made without the event), where that plan covered
//! the interval. Actual: the meter's 30-minute intervals whose start lies in the event's
//! interval, as a mean import; an event interval is reported once every 30-minute interval
//! in it has been metered.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::problem::{GridSignal, SignalKind};
use crate::state::Interval;

/// One interval of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventInterval {
    /// What it sets.
    pub kind: SignalKind,
    /// kW, yen/kWh or kg/kWh.
    pub value: f64,
    /// From.
    pub from: DateTime<FixedOffset>,
    /// Until.
    pub until: DateTime<FixedOffset>,
}

/// An event as the loop takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event's id at its source.
    pub id: String,
    /// The grid connections it names (its targets that are connections); empty: the book's.
    pub grids: Vec<String>,
    /// Its intervals.
    pub intervals: Vec<EventInterval>,
}

impl Event {
    /// The connections `e` applies to: those it names, else `default`.
    fn grids<'a>(&'a self, default: &'a [String]) -> &'a [String] {
        if self.grids.is_empty() {
            default
        } else {
            &self.grids
        }
    }
}

/// One reported interval of one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// Grid connection id.
    pub grid: String,
    /// From.
    pub from: DateTime<FixedOffset>,
    /// Until.
    pub until: DateTime<FixedOffset>,
    /// Mean metered import, kW.
    pub actual_kw: f64,
    /// Mean import the plan expected before the event, kW.
    pub baseline_kw: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tracked {
    event: Event,
    /// (grid, interval start) → baseline, kW (a list in JSON, whose keys are strings).
    #[serde(with = "pairs")]
    baseline: BTreeMap<(String, DateTime<FixedOffset>), Option<f64>>,
    reported: BTreeSet<DateTime<FixedOffset>>,
}

/// A map as a list of (key, value) pairs.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, K: Serialize, V: Serialize>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// The events in force and what is owed on them (kept with a live run's resume state, so
/// that a restarted loop keeps the baselines and does not report an interval twice).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Book {
    grids: Vec<String>,
    events: BTreeMap<String, Tracked>,
}

/// What changed when the source's events were taken in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Events seen for the first time.
    pub new: Vec<String>,
    /// Events gone from the source (cancelled or deleted).
    pub gone: Vec<String>,
}

impl Book {
    /// A book whose events apply to `grids`.
    pub fn new(grids: Vec<String>) -> Self {
        Self {
            grids,
            events: BTreeMap::new(),
        }
    }

    /// The connections events apply to when they name none.
    pub fn grids(&self) -> &[String] {
        &self.grids
    }

    /// The same events and what is owed on them, applying to `grids` (a resumed run's
    /// settings).
    pub fn with_grids(mut self, grids: Vec<String>) -> Self {
        self.grids = grids;
        self
    }

    /// Takes the source's current events; a new event's baseline comes from `plan` (the
    /// plan in force, made without it).
    pub fn update(&mut self, events: Vec<Event>, plan: Option<&Plan>) -> Changes {
        let mut changes = Changes::default();
        let ids: BTreeSet<String> = events.iter().map(|e| e.id.clone()).collect();
        let gone: Vec<String> = self
            .events
            .keys()
            .filter(|k| !ids.contains(*k))
            .cloned()
            .collect();
        for id in gone {
            self.events.remove(&id);
            changes.gone.push(id);
        }
        for e in events {
            match self.events.get_mut(&e.id) {
                Some(t) => t.event = e,
                None => {
                    let mut baseline = BTreeMap::new();
                    for iv in &e.intervals {
                        for g in e.grids(&self.grids) {
                            baseline.insert(
                                (g.clone(), iv.from),
                                plan.and_then(|p| planned_mean_kw(p, g, iv.from, iv.until)),
                            );
                        }
                    }
                    changes.new.push(e.id.clone());
                    self.events.insert(
                        e.id.clone(),
                        Tracked {
                            event: e,
                            baseline,
                            reported: BTreeSet::new(),
                        },
                    );
                }
            }
        }
        changes
    }

    /// The signals of every event in force, on every connection the events apply to.
    pub fn signals(&self) -> Vec<GridSignal> {
        let mut out = Vec::new();
        for t in self.events.values() {
            for iv in &t.event.intervals {
                for g in t.event.grids(&self.grids) {
                    out.push(GridSignal {
                        grid: g.clone(),
                        kind: iv.kind,
                        value: iv.value,
                        from: iv.from,
                        until: iv.until,
                    });
                }
            }
        }
        out
    }

    /// Reports now due: each event interval ended by `now` and fully metered in `metered`
    /// (every 30-minute interval from its start to its end), not reported before. Marks them
    /// reported.
    pub fn due_reports(
        &mut self,
        now: DateTime<FixedOffset>,
        metered: &[Interval],
    ) -> Vec<(String, Vec<ReportRow>)> {
        let half_hour = chrono::Duration::minutes(30);
        let mut out = Vec::new();
        for (id, t) in self.events.iter_mut() {
            let mut rows = Vec::new();
            for iv in &t.event.intervals {
                if iv.until > now || t.reported.contains(&iv.from) {
                    continue;
                }
                let mut all = true;
                let mut per_grid = Vec::new();
                for g in t.event.grids(&self.grids) {
                    let mut kwh = 0.0;
                    let mut s = iv.from;
                    while s < iv.until {
                        match metered.iter().find(|m| &m.grid == g && m.start == s) {
                            Some(m) => kwh += m.import_kwh,
                            None => all = false,
                        }
                        s += half_hour;
                    }
                    let hours = (iv.until - iv.from).num_seconds() as f64 / 3600.0;
                    per_grid.push(ReportRow {
                        grid: g.clone(),
                        from: iv.from,
                        until: iv.until,
                        actual_kw: kwh / hours.max(1e-9),
                        baseline_kw: t.baseline.get(&(g.clone(), iv.from)).copied().flatten(),
                    });
                }
                if all {
                    t.reported.insert(iv.from);
                    rows.extend(per_grid);
                }
            }
            if !rows.is_empty() {
                out.push((id.clone(), rows));
            }
        }
        out
    }

    /// A report that could not be posted is due again (at the next call of
    /// [`Book::due_reports`]).
    pub fn unreport(&mut self, id: &str, rows: &[ReportRow]) {
        if let Some(t) = self.events.get_mut(id) {
            for r in rows {
                t.reported.remove(&r.from);
            }
        }
    }

    /// Ids of the events in force.
    pub fn ids(&self) -> Vec<String> {
        self.events.keys().cloned().collect()
    }
}

/// The plan's mean import on `grid` over `[from, until)`, if its horizon covers it.
fn planned_mean_kw(
    p: &Plan,
    grid: &str,
    from: DateTime<FixedOffset>,
    until: DateTime<FixedOffset>,
) -> Option<f64> {
    let g = p.problem.grids.iter().position(|x| x.id == grid)?;
    let step = chrono::Duration::minutes(i64::from(p.problem.step_minutes));
    let series = &p.schedule.grids.get(g)?.import_kw;
    let (mut sum, mut n) = (0.0, 0usize);
    let mut covered = false;
    for (t, start) in p.problem.times.iter().enumerate().take(series.len()) {
        if *start >= from && *start + step <= until {
            sum += series[t];
            n += 1;
        }
        if *start + step >= until {
            covered = true;
        }
    }
    let starts_in = p.problem.times.first().is_some_and(|t0| *t0 <= from);
    (covered && starts_in && n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn cap(from: &str, until: &str, kw: f64) -> EventInterval {
        EventInterval {
            kind: SignalKind::ImportCapKw,
            value: kw,
            from: t(from),
            until: t(until),
        }
    }

    fn metered(start: &str, kwh: f64) -> Interval {
        Interval {
            grid: "pcc".into(),
            start: t(start),
            import_kwh: kwh,
            export_kwh: 0.0,
            mean_kw: kwh * 2.0,
        }
    }

    #[test]
    fn events_come_and_go_and_each_interval_is_reported_once_when_metered() {
        let mut b = Book::new(vec!["pcc".into()]);
        let e = Event {
            id: "e1".into(),
            grids: Vec::new(),
            intervals: vec![
                cap(
                    "2025-08-04T14:00:00+09:00",
                    "2025-08-04T15:00:00+09:00",
                    300.0,
                ),
                cap(
                    "2025-08-04T15:00:00+09:00",
                    "2025-08-04T15:30:00+09:00",
                    250.0,
                ),
            ],
        };
        let c = b.update(vec![e.clone()], None);
        assert_eq!(c.new, ["e1"]);
        assert_eq!(b.signals().len(), 2);
        assert_eq!(b.update(vec![e.clone()], None), Changes::default());
        // Half of the first hour metered: nothing due yet.
        let mut m = vec![metered("2025-08-04T14:00:00+09:00", 140.0)];
        assert!(b.due_reports(t("2025-08-04T15:00:00+09:00"), &m).is_empty());
        m.push(metered("2025-08-04T14:30:00+09:00", 150.0));
        let due = b.due_reports(t("2025-08-04T15:05:00+09:00"), &m);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.len(), 1);
        assert!((due[0].1[0].actual_kw - 290.0).abs() < 1e-9);
        assert_eq!(due[0].1[0].baseline_kw, None);
        // Not again, also after a restart (the book as the resume state keeps it).
        let json = serde_json::to_string(&b).unwrap();
        let mut b: Book = serde_json::from_str(&json).unwrap();
        assert!(b.due_reports(t("2025-08-04T15:10:00+09:00"), &m).is_empty());
        m.push(metered("2025-08-04T15:00:00+09:00", 120.0));
        let due = b.due_reports(t("2025-08-04T15:30:00+09:00"), &m);
        assert!((due[0].1[0].actual_kw - 240.0).abs() < 1e-9);
        // An event naming a connection applies to it alone.
        let named = Event {
            id: "e2".into(),
            grids: vec!["condo_pcc".into()],
            ..e.clone()
        };
        let mut two = Book::new(vec!["pcc".into(), "condo_pcc".into()]);
        two.update(vec![e.clone(), named], None);
        let on = |id_grid: &str| two.signals().iter().filter(|s| s.grid == id_grid).count();
        assert_eq!((on("pcc"), on("condo_pcc")), (2, 4));
        // The VTN deletes it: its signals go.
        let c = b.update(vec![], None);
        assert_eq!(c.gone, ["e1"]);
        assert!(b.signals().is_empty());
    }
}
