//! Load classes of a node (`load_classes` of `[[node]]`, an extension: `docs/extensions.md`,
//! *Resilience*): the parts of a building's load in the order they are kept when supply is
//! short — `lifeline` (elevators, water pumps, emergency lighting), `critical`, `normal`,
//! `sheddable` — each with its value of lost load.
//!
//! `normal` is always the rest of the node's load (what the listed classes leave); a node
//! with no classes listed is all `normal`. Unserved energy is only possible while a grid
//! connection is out ([`crate::asset::Outage`]); otherwise the model is the spec's.

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::{Resolver, SeriesSpec};

/// A class of load, in priority order (the first kept longest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClassKind {
    /// Elevators, water pumps, emergency lighting: kept at almost any cost.
    Lifeline,
    /// Loads whose loss does harm (refrigeration, IT, security).
    Critical,
    /// The rest of the building's load.
    Normal,
    /// Loads that may go first (EV charging, decorative lighting, comfort extras).
    Sheddable,
}

impl ClassKind {
    /// Every class, highest priority first.
    pub const ALL: [ClassKind; 4] = [
        ClassKind::Lifeline,
        ClassKind::Critical,
        ClassKind::Normal,
        ClassKind::Sheddable,
    ];

    /// The class's name in the file and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ClassKind::Lifeline => "lifeline",
            ClassKind::Critical => "critical",
            ClassKind::Normal => "normal",
            ClassKind::Sheddable => "sheddable",
        }
    }

    /// The class named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Value of lost load when the file gives none, yen/kWh: far above any price of
    /// energy, a factor of ten apart so that shedding follows the priority order.
    pub fn default_value_yen_per_kwh(self) -> f64 {
        match self {
            ClassKind::Lifeline => 1_000_000.0,
            ClassKind::Critical => 100_000.0,
            ClassKind::Normal => 10_000.0,
            ClassKind::Sheddable => 1_000.0,
        }
    }

    /// Position in [`ClassKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How much of the node's load a class is.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassLoad {
    /// A share of the node's load at every step, in [0, 1].
    Share(f64),
    /// Its own series, kW (never above what the node's load leaves for it).
    Series(Vec<f64>),
}

/// One class of a node's load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadClass {
    /// Which class.
    pub kind: ClassKind,
    /// Its size; `None` for `normal`, which is the rest.
    pub load: Option<ClassLoad>,
    /// What a kWh of it not served costs, yen/kWh.
    pub value_of_lost_load_yen_per_kwh: f64,
}

/// The four classes of a node, in priority order ([`ClassKind::ALL`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadClasses(pub Vec<LoadClass>);

impl Default for LoadClasses {
    /// All the load `normal`, every value of lost load at its default.
    fn default() -> Self {
        Self(
            ClassKind::ALL
                .into_iter()
                .map(|kind| LoadClass {
                    kind,
                    load: (kind != ClassKind::Normal).then_some(ClassLoad::Share(0.0)),
                    value_of_lost_load_yen_per_kwh: kind.default_value_yen_per_kwh(),
                })
                .collect(),
        )
    }
}

impl LoadClasses {
    /// The node's load `load_kw` at step `t` split into the four classes, kW, in priority
    /// order; they sum to `load_kw` (a series class takes at most what the classes before
    /// it leave, `normal` takes the rest).
    pub fn split_kw(&self, load_kw: f64, t: usize) -> [f64; 4] {
        let load_kw = load_kw.max(0.0);
        let mut out = [0.0; 4];
        let mut left = load_kw;
        for c in &self.0 {
            let want = match &c.load {
                None => continue,
                Some(ClassLoad::Share(s)) => s * load_kw,
                Some(ClassLoad::Series(v)) => v.get(t).copied().unwrap_or(0.0),
            };
            let kw = want.clamp(0.0, left);
            out[c.kind.index()] = kw;
            left -= kw;
        }
        out[ClassKind::Normal.index()] = left;
        out
    }

    /// The value of lost load of class `kind`, yen/kWh.
    pub fn value_yen_per_kwh(&self, kind: ClassKind) -> f64 {
        self.0[kind.index()].value_of_lost_load_yen_per_kwh
    }

    /// Whether any class other than `normal` is declared (a share or series above zero).
    pub fn declared(&self) -> bool {
        self.0.iter().any(|c| match &c.load {
            None => false,
            Some(ClassLoad::Share(s)) => *s > 0.0,
            Some(ClassLoad::Series(v)) => v.iter().any(|x| *x > 0.0),
        })
    }

    /// The classes with each series cut to `steps`.
    pub fn slice(&self, steps: std::ops::Range<usize>) -> Self {
        Self(
            self.0
                .iter()
                .map(|c| LoadClass {
                    load: c.load.as_ref().map(|l| match l {
                        ClassLoad::Share(s) => ClassLoad::Share(*s),
                        ClassLoad::Series(v) => ClassLoad::Series(v[steps.clone()].to_vec()),
                    }),
                    ..c.clone()
                })
                .collect(),
        )
    }

    /// The classes with `f` applied to each series (as [`crate::Scenario::map_series`]).
    pub fn map_series(&mut self, f: &impl Fn(&[f64]) -> Vec<f64>) {
        for c in &mut self.0 {
            if let Some(ClassLoad::Series(v)) = &mut c.load {
                *v = f(v);
            }
        }
    }
}

/// One entry of `load_classes` as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLoadClass {
    pub class: String,
    #[serde(default)]
    pub share: Option<f64>,
    #[serde(default)]
    pub load_kw: Option<SeriesSpec>,
    #[serde(default)]
    pub value_of_lost_load_yen_per_kwh: Option<f64>,
}

/// Resolves a node's `load_classes` against its resolved `load_kw`.
pub(crate) fn resolve_classes(
    raw: &[RawLoadClass],
    node_load_kw: &[f64],
    r: &Resolver<'_>,
) -> Result<LoadClasses, ScenarioError> {
    let mut classes = LoadClasses::default();
    let mut seen = [false; 4];
    let mut share_sum = 0.0;
    for (i, c) in raw.iter().enumerate() {
        let key = |field: &str| format!("load_classes[{i}].{field}");
        let kind = ClassKind::parse(&c.class).ok_or_else(|| {
            r.ctx.err(
                &key("class"),
                format!(
                    "'{}' is not a load class (lifeline, critical, normal, sheddable)",
                    c.class
                ),
            )
        })?;
        if std::mem::replace(&mut seen[kind.index()], true) {
            return Err(r.ctx.err(
                &key("class"),
                format!("class '{}' is listed twice", c.class),
            ));
        }
        let load = match (kind, c.share, &c.load_kw) {
            (ClassKind::Normal, None, None) => None,
            (ClassKind::Normal, _, _) => {
                let field = if c.share.is_some() {
                    "share"
                } else {
                    "load_kw"
                };
                return Err(r.ctx.err(
                    &key(field),
                    "class 'normal' is the rest of the node's load: give it no share or load_kw",
                ));
            }
            (_, Some(_), Some(_)) => {
                return Err(r
                    .ctx
                    .err(&key("load_kw"), "give either share or load_kw, not both"))
            }
            (_, None, None) => {
                return Err(r.ctx.err(
                    &key("share"),
                    format!("class '{}' needs a share or a load_kw series", c.class),
                ))
            }
            (_, Some(s), None) => {
                if !(0.0..=1.0).contains(&s) {
                    return Err(r.ctx.err(&key("share"), format!("{s} outside [0, 1]")));
                }
                share_sum += s;
                Some(ClassLoad::Share(s))
            }
            (_, None, Some(spec)) => {
                Some(ClassLoad::Series(r.nonneg_series(&key("load_kw"), spec)?))
            }
        };
        let value = match c.value_of_lost_load_yen_per_kwh {
            Some(v) => r.nonneg(&key("value_of_lost_load_yen_per_kwh"), v)?,
            None => kind.default_value_yen_per_kwh(),
        };
        classes.0[kind.index()] = LoadClass {
            kind,
            load,
            value_of_lost_load_yen_per_kwh: value,
        };
    }
    if share_sum > 1.0 + 1e-9 {
        return Err(r.ctx.err(
            "load_classes",
            format!("the classes' shares sum to {share_sum}, above 1"),
        ));
    }
    // The listed classes fit in the node's load at every step.
    for (t, &load) in node_load_kw.iter().enumerate() {
        let mut sum = 0.0;
        for c in &classes.0 {
            sum += match &c.load {
                Some(ClassLoad::Share(s)) => s * load.max(0.0),
                Some(ClassLoad::Series(v)) => v[t],
                None => 0.0,
            };
        }
        if sum > load.max(0.0) + 1e-6 {
            return Err(r.ctx.err(
                "load_classes",
                format!(
                    "the classes need {sum} kW at step {t} ({}), above the node's load_kw {load}",
                    r.time_of(t)
                ),
            ));
        }
    }
    // Shedding follows the priority order only if the values do.
    for w in ClassKind::ALL.windows(2) {
        let (hi, lo) = (
            classes.value_yen_per_kwh(w[0]),
            classes.value_yen_per_kwh(w[1]),
        );
        if hi <= lo {
            let i = raw
                .iter()
                .position(|c| c.class == w[0].as_str() || c.class == w[1].as_str())
                .unwrap_or(0);
            return Err(r.ctx.err(
                &format!("load_classes[{i}].value_of_lost_load_yen_per_kwh"),
                format!(
                    "{} ({hi} yen/kWh) must be worth more than {} ({lo} yen/kWh): classes are kept in the order lifeline, critical, normal, sheddable",
                    w[0].as_str(),
                    w[1].as_str()
                ),
            ));
        }
    }
    Ok(classes)
}
