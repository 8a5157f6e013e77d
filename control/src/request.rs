//! Requests to tenants and residents: when the assets' flexibility is not enough — the plan
//! lets a connection's 30-minute peak rise above the peak already billed, a demand-response
//! cap binds, or the grid's carbon intensity is high — the controller asks the people in the
//! buildings for help: *reduce N kW from HH:MM to HH:MM*, ranked by what it is worth (yen
//! and kg CO2 per kWh not drawn), with the expected saving in words (Japanese and English).
//!
//! Each request's response is measured against the forecast baseline: the building's net
//! load (its node meter less its batteries, generators and HVAC units: the load its people
//! control, net of PV) over the window, against the last forecast issued before the window
//! began. The measured share of the requested kW feeds a learned response rate per building,
//! which the next forecasts count on inside the windows of the requests in force.
//!
//! A [`Desk`] keeps the requests, the measurements and the learned rates; the
//! [`crate::Controller`] runs it when requests are enabled
//! ([`crate::Controller::enable_requests`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, FixedOffset, Timelike};
use serde::{Deserialize, Serialize};

use engine::Scenario;
use physics::device::Reading;

use crate::plan::Plan;
use crate::state::Measurements;

/// How the controller asks for help (`[requests]` in `run.toml`; `aems simulate
/// --requests`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// A request is issued at least this long before its window starts, minutes.
    pub notice_minutes: f64,
    /// Windows are looked for this far ahead, hours.
    pub lookahead_hours: f64,
    /// Share of a building's forecast load asked for (0–1).
    pub ask_fraction: f64,
    /// Smallest request, kW: below it a building is not asked.
    pub min_kw: f64,
    /// A plan whose 30-minute peak comes within this share of the peak billed so far asks
    /// for help too (0–1): a forecast error there would set a new peak. 0: only a planned
    /// rise asks.
    pub peak_margin: f64,
    /// Longest window of one request, hours (the hours that need help most are chosen).
    pub max_window_hours: f64,
    /// Grid carbon intensity from which an hour counts as carbon-intensive, kg/kWh (none:
    /// carbon alone never triggers a request).
    pub carbon_high_kg_per_kwh: Option<f64>,
    /// The response rate counted on before any response of a building was measured (0–1).
    pub prior_response_rate: f64,
    /// Weight of each measured window in the learned rate (exponential smoothing, 0–1).
    pub learning_weight: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            notice_minutes: 60.0,
            lookahead_hours: 24.0,
            ask_fraction: 0.1,
            min_kw: 1.0,
            max_window_hours: 4.0,
            peak_margin: 0.05,
            carbon_high_kg_per_kwh: None,
            prior_response_rate: 0.0,
            learning_weight: 0.3,
        }
    }
}

impl Policy {
    /// Checks the numbers; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        let unit = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        let pos = |v: f64| v.is_finite() && v >= 0.0;
        let bad = if !pos(self.notice_minutes) {
            Some("notice_minutes must be ≥ 0")
        } else if !(self.lookahead_hours.is_finite() && self.lookahead_hours > 0.0) {
            Some("lookahead_hours must be > 0")
        } else if !(unit(self.ask_fraction) && self.ask_fraction > 0.0) {
            Some("ask_fraction must be in (0, 1]")
        } else if !(self.max_window_hours.is_finite() && self.max_window_hours > 0.0) {
            Some("max_window_hours must be > 0")
        } else if !unit(self.peak_margin) {
            Some("peak_margin must be in [0, 1]")
        } else if !pos(self.min_kw) {
            Some("min_kw must be ≥ 0")
        } else if self.carbon_high_kg_per_kwh.is_some_and(|c| !pos(c)) {
            Some("carbon_high_kg_per_kwh must be ≥ 0")
        } else if !unit(self.prior_response_rate) {
            Some("prior_response_rate must be in [0, 1]")
        } else if !(unit(self.learning_weight) && self.learning_weight > 0.0) {
            Some("learning_weight must be in (0, 1]")
        } else {
            None
        };
        bad.map_or(Ok(()), |b| Err(format!("[requests] {b}")))
    }
}

/// Why help is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The plan lets the connection's 30-minute peak rise above the peak already billed.
    Peak,
    /// A demand-response import cap binds in the plan.
    DemandResponse,
    /// The grid's carbon intensity is at or above the policy's threshold.
    Carbon,
}

impl Reason {
    fn en(self) -> &'static str {
        match self {
            Reason::Peak => {
                "it keeps the 30-minute peak, which sets the demand charge, from rising"
            }
            Reason::DemandResponse => "it answers the grid's demand-response request",
            Reason::Carbon => "grid electricity is carbon-intensive then",
        }
    }

    fn ja(self) -> &'static str {
        match self {
            Reason::Peak => "基本料金を決める30分デマンド（ピーク）の上昇を抑えます",
            Reason::DemandResponse => "電力会社からのデマンドレスポンス要請に応えます",
            Reason::Carbon => "その時間帯の系統電力はCO2排出が多いためです",
        }
    }
}

/// One request to the people of one building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// `<building>@<start>` (unique).
    pub id: String,
    /// Building (node) id.
    pub building: String,
    /// The grid connection whose bill it lowers.
    pub grid: String,
    /// Window start.
    pub from: DateTime<FixedOffset>,
    /// Window end (exclusive).
    pub until: DateTime<FixedOffset>,
    /// Asked reduction, kW.
    pub reduce_kw: f64,
    /// Why.
    pub reasons: Vec<Reason>,
    /// What the district saves if it is fully met, yen: the plan's objective (energy,
    /// demand charge, carbon price, comfort) less that of the same problem with the window's
    /// asks met, shared among the window's buildings by their kWh.
    pub value_yen: f64,
    /// `value_yen` per kWh not drawn.
    pub value_yen_per_kwh: f64,
    /// Grid CO2 avoided if it is fully met, kg.
    pub co2_kg: f64,
    /// `co2_kg` per kWh not drawn.
    pub co2_kg_per_kwh: f64,
    /// The building's forecast net load (load − PV) over the window, kW: the baseline the
    /// response is measured against (the last forecast issued before the window).
    pub baseline_kw: f64,
    /// The response counted on in the plans (learned rate × `reduce_kw`), kW.
    pub expected_kw: f64,
    /// When it was issued.
    pub issued: DateTime<FixedOffset>,
    /// Its rank among the requests issued with it (1 = worth most per kWh).
    pub rank: usize,
    /// The message, in English.
    pub message_en: String,
    /// The message, in Japanese.
    pub message_ja: String,
}

impl Request {
    /// The energy asked not to be drawn, kWh.
    pub fn kwh(&self) -> f64 {
        self.reduce_kw * (self.until - self.from).num_seconds() as f64 / 3600.0
    }

    /// Whether `t` is inside the window.
    pub fn covers(&self, t: DateTime<FixedOffset>) -> bool {
        self.from <= t && t < self.until
    }
}

/// A measured response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The request's id.
    pub request: String,
    /// Building id.
    pub building: String,
    /// Window start.
    pub from: DateTime<FixedOffset>,
    /// Window end.
    pub until: DateTime<FixedOffset>,
    /// Asked, kW.
    pub requested_kw: f64,
    /// Forecast baseline, kW.
    pub baseline_kw: f64,
    /// Measured net load over the window, kW (none: too few readings).
    pub measured_kw: Option<f64>,
    /// `baseline − measured`, kW.
    pub response_kw: Option<f64>,
    /// `response / requested`.
    pub rate: Option<f64>,
    /// The building's learned rate after this window.
    pub learned_rate: f64,
    /// Why nothing was measured, if so.
    pub note: Option<String>,
}

/// The requests, their measurements and the learned response rates (kept with a live run's
/// resume state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Desk {
    policy: Policy,
    /// Every request issued, oldest first.
    requests: Vec<Request>,
    /// Windows not measured yet (indices into `requests`).
    open: BTreeSet<usize>,
    /// Learned response rate per building.
    rates: BTreeMap<String, f64>,
    /// Net load samples per building: (start of the step they cover, kW), recent ones.
    samples: BTreeMap<String, VecDeque<(DateTime<FixedOffset>, f64)>>,
    /// Every measured response.
    responses: Vec<Response>,
}

impl Desk {
    /// An empty desk.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            requests: Vec::new(),
            open: BTreeSet::new(),
            rates: BTreeMap::new(),
            samples: BTreeMap::new(),
            responses: Vec::new(),
        }
    }

    /// The same requests, measurements and rates under `policy` (a resumed run's settings).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every request issued, oldest first.
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// The requests whose window has not ended at `now`, ranked (most valuable per kWh
    /// first).
    pub fn in_force(&self, now: DateTime<FixedOffset>) -> Vec<&Request> {
        let mut v: Vec<&Request> = self.requests.iter().filter(|r| r.until > now).collect();
        v.sort_by(|a, b| {
            b.value_yen_per_kwh
                .total_cmp(&a.value_yen_per_kwh)
                .then(b.co2_kg_per_kwh.total_cmp(&a.co2_kg_per_kwh))
                .then(a.from.cmp(&b.from))
        });
        v
    }

    /// Every measured response.
    pub fn responses(&self) -> &[Response] {
        &self.responses
    }

    /// The learned response rate of `building` (the policy's prior before any measurement).
    pub fn rate(&self, building: &str) -> f64 {
        self.smoothed(building).clamp(0.0, 1.0)
    }

    /// The smoothed measured rate, unbounded (a forecast error can make a window look like a
    /// negative response: bounding each step would bias the rate upwards).
    fn smoothed(&self, building: &str) -> f64 {
        self.rates
            .get(building)
            .copied()
            .unwrap_or(self.policy.prior_response_rate)
    }

    /// The learned rates (0–1), by building (only those measured).
    pub fn rates(&self) -> BTreeMap<String, f64> {
        self.rates
            .iter()
            .map(|(b, r)| (b.clone(), r.clamp(0.0, 1.0)))
            .collect()
    }

    /// Takes the forecast `window` (issued now, before any of it happened): requests whose
    /// window has not begun take their baseline from it, and the loads inside the windows
    /// of the requests in force are lowered by the response counted on (learned rate ×
    /// asked kW). Call it on every forecast before the problem is made of it.
    pub fn on_forecast(&mut self, window: &mut Scenario, now: DateTime<FixedOffset>) {
        for &i in &self.open {
            let r = &mut self.requests[i];
            if r.from > now {
                if let Some(b) = net_load_kw(window, &r.building, r.from, r.until) {
                    r.baseline_kw = b;
                }
            }
        }
        for r in self.requests.iter_mut().filter(|r| r.until > now) {
            let Some(n) = window.nodes.iter().position(|n| n.id == r.building) else {
                continue;
            };
            let rate = self
                .rates
                .get(&r.building)
                .copied()
                .unwrap_or(self.policy.prior_response_rate)
                .clamp(0.0, 1.0);
            r.expected_kw = rate * r.reduce_kw;
            for (k, t) in window.times.iter().enumerate() {
                if r.covers(*t) {
                    let l = &mut window.nodes[n].load_kw[k];
                    *l = (*l - r.expected_kw).max(0.0);
                }
            }
        }
    }

    /// Records the buildings' net loads measured in `m` (readings at the start of a step:
    /// what the previous step of `data.step_minutes` did), and measures the responses of
    /// the windows that have ended. Returns those responses.
    pub fn observe(&mut self, m: &Measurements, data: &Scenario) -> Vec<Response> {
        let step = Duration::minutes(i64::from(data.step_minutes));
        for (n, node) in data.nodes.iter().enumerate() {
            if let Some(kw) = measured_net_load_kw(m, data, n) {
                let q = self.samples.entry(node.id.clone()).or_default();
                q.push_back((m.time - step, kw));
                // Two days are more than any window needs.
                while q
                    .front()
                    .is_some_and(|(t, _)| *t < m.time - Duration::days(2))
                {
                    q.pop_front();
                }
            }
        }
        let due: Vec<usize> = self
            .open
            .iter()
            .copied()
            .filter(|&i| self.requests[i].until <= m.time)
            .collect();
        let mut out = Vec::new();
        for i in due {
            self.open.remove(&i);
            let r = self.requests[i].clone();
            let steps = ((r.until - r.from).num_minutes() / i64::from(data.step_minutes)).max(1);
            let got: Vec<f64> = self
                .samples
                .get(&r.building)
                .map(|q| {
                    q.iter()
                        .filter(|(t, _)| r.covers(*t))
                        .map(|(_, v)| *v)
                        .collect()
                })
                .unwrap_or_default();
            let mut resp = Response {
                request: r.id.clone(),
                building: r.building.clone(),
                from: r.from,
                until: r.until,
                requested_kw: r.reduce_kw,
                baseline_kw: r.baseline_kw,
                measured_kw: None,
                response_kw: None,
                rate: None,
                learned_rate: self.rate(&r.building),
                note: None,
            };
            if (got.len() as i64) * 2 < steps {
                resp.note = Some(format!(
                    "{} of {steps} steps measured (node meter '{}' and its units' readings): \
                     not enough to measure the response",
                    got.len(),
                    r.building
                ));
            } else {
                let measured = got.iter().sum::<f64>() / got.len() as f64;
                let response = r.baseline_kw - measured;
                // A forecast error can make one window look like more than all of it, or a
                // rise: bounded so that one window cannot swing the rate too far.
                let rate = (response / r.reduce_kw.max(1e-9)).clamp(-0.5, 1.5);
                let w = self.policy.learning_weight;
                let smoothed = (1.0 - w) * self.smoothed(&r.building) + w * rate;
                self.rates.insert(r.building.clone(), smoothed);
                let learned = self.rate(&r.building);
                resp.measured_kw = Some(measured);
                resp.response_kw = Some(response);
                resp.rate = Some(rate);
                resp.learned_rate = learned;
            }
            self.responses.push(resp.clone());
            out.push(resp);
        }
        out
    }

    /// The new requests the plan `plan`, made at `now`, calls for (also kept in the desk),
    /// ranked by value per kWh. `objective_yen` solves a variant of the plan's problem (the
    /// loads lowered by the asks, as if fully met) and returns its objective: the value of a
    /// window is what it saves on the plan's own objective (energy, demand charge, carbon
    /// price, comfort), shared among the window's buildings by their kWh.
    pub fn propose(
        &mut self,
        plan: &Plan,
        now: DateTime<FixedOffset>,
        objective_yen: &mut dyn FnMut(Scenario) -> Option<f64>,
    ) -> Vec<Request> {
        let sc = &plan.problem;
        let dt_h = sc.step_hours();
        let earliest = now + Duration::seconds((self.policy.notice_minutes * 60.0).round() as i64);
        let latest = now + Duration::seconds((self.policy.lookahead_hours * 3600.0).round() as i64);
        let longest = ((self.policy.max_window_hours / dt_h).round() as usize).max(1);
        let grid_of = serving_grid(sc);
        let mut fresh: Vec<Request> = Vec::new();
        for (g, grid) in sc.grids.iter().enumerate() {
            let imp = &plan.schedule.grids[g].import_kw;
            let served: Vec<usize> = (0..sc.nodes.len())
                .filter(|&n| grid_of[n] == Some(g))
                .collect();
            // What the served buildings draw before storage and generation: loads − PV +
            // planned HVAC.
            let demand: Vec<f64> = (0..sc.steps)
                .map(|k| {
                    served
                        .iter()
                        .map(|&n| {
                            let pv = pv_kw(sc, n, k);
                            let hvac: f64 = sc
                                .hvacs
                                .iter()
                                .enumerate()
                                .filter(|(_, h)| h.node == n)
                                .map(|(i, _)| plan.schedule.hvacs[i].power_kw[k])
                                .sum();
                            sc.nodes[n].load_kw[k] - pv + hvac
                        })
                        .sum()
                })
                .collect();
            let open = |k: usize| sc.times[k] >= earliest && sc.times[k] < latest;
            let mut why: Vec<Option<Reason>> = vec![None; sc.steps];
            // A new peak: the steps whose buildings alone would reach the plan's peak (the
            // storage holds it there), when it is above the peak billed so far, or within
            // the policy's margin below it.
            let means = interval_means(&sc.times, imp);
            let peak = means.iter().map(|(_, m)| *m).fold(0.0, f64::max);
            let tol = (0.005 * peak).max(1.0);
            let threshold = grid.peak_so_far_kw * (1.0 - self.policy.peak_margin);
            let near = if self.policy.peak_margin > 0.0 {
                peak > threshold
            } else {
                peak - grid.peak_so_far_kw > tol
            };
            if grid.demand_charge_yen_per_kw > 0.0 && peak > tol && near {
                for k in 0..sc.steps {
                    if demand[k] >= peak - tol {
                        why[k] = Some(Reason::Peak);
                    }
                }
            }
            for (k, w) in why.iter_mut().enumerate() {
                let imp_k = imp.get(k).copied().unwrap_or(0.0);
                if w.is_none() && grid.import_cap_at(k).is_some_and(|c| imp_k >= c - 1.0) {
                    *w = Some(Reason::DemandResponse);
                }
                if w.is_none()
                    && imp_k > 1.0
                    && self
                        .policy
                        .carbon_high_kg_per_kwh
                        .is_some_and(|c| grid.carbon_intensity_kg_per_kwh[k] >= c)
                {
                    *w = Some(Reason::Carbon);
                }
                if !open(k) {
                    *w = None;
                }
            }
            for reason in [Reason::Peak, Reason::DemandResponse, Reason::Carbon] {
                let steps: Vec<usize> = (0..sc.steps).filter(|&k| why[k] == Some(reason)).collect();
                let Some(window) = best_window(&steps, &demand, longest) else {
                    continue;
                };
                fresh.extend(self.window_requests(
                    plan,
                    g,
                    &served,
                    window,
                    reason,
                    now,
                    objective_yen,
                ));
            }
        }
        fresh.sort_by(|a, b| {
            b.value_yen_per_kwh
                .total_cmp(&a.value_yen_per_kwh)
                .then(b.co2_kg_per_kwh.total_cmp(&a.co2_kg_per_kwh))
                .then(a.id.cmp(&b.id))
        });
        for (i, r) in fresh.iter_mut().enumerate() {
            r.rank = i + 1;
            self.open.insert(self.requests.len());
            self.requests.push(r.clone());
        }
        fresh
    }

    /// The requests of one window `[a, b)` (steps of the plan) on grid connection `g`: an ask
    /// per served building not already asked over it, valued together by a re-solve.
    #[allow(clippy::too_many_arguments)]
    fn window_requests(
        &self,
        plan: &Plan,
        g: usize,
        served: &[usize],
        (a, b): (usize, usize),
        reason: Reason,
        now: DateTime<FixedOffset>,
        objective_yen: &mut dyn FnMut(Scenario) -> Option<f64>,
    ) -> Vec<Request> {
        let sc = &plan.problem;
        let grid = &sc.grids[g];
        let dt_h = sc.step_hours();
        let from = sc.times[a];
        let until = sc.times[b - 1] + Duration::minutes(i64::from(sc.step_minutes));
        let mut asks: Vec<(usize, f64)> = Vec::new();
        for &n in served {
            let node = &sc.nodes[n];
            let busy = self
                .requests
                .iter()
                .any(|r| r.building == node.id && r.from < until && from < r.until);
            let min_load = (a..b)
                .map(|k| node.load_kw[k])
                .fold(f64::INFINITY, f64::min);
            let ask = (self.policy.ask_fraction * min_load * 10.0).floor() / 10.0;
            if !busy && ask.is_finite() && ask >= self.policy.min_kw.max(0.1) {
                asks.push((n, ask));
            }
        }
        if asks.is_empty() {
            return Vec::new();
        }
        // The plan's problem with every ask met, solved again.
        let mut lower = sc.clone();
        for &(n, ask) in &asks {
            for k in a..b {
                let l = &mut lower.nodes[n].load_kw[k];
                *l = (*l - ask).max(0.0);
            }
        }
        let saved_yen = objective_yen(lower)
            .map(|o| (plan.objective_yen - o).max(0.0))
            .unwrap_or(0.0);
        let total_kwh: f64 = asks.iter().map(|(_, x)| x * (b - a) as f64 * dt_h).sum();
        let imp = &plan.schedule.grids[g].import_kw;
        asks.into_iter()
            .map(|(n, ask)| {
                let node = &sc.nodes[n];
                let kwh = ask * (b - a) as f64 * dt_h;
                let co2_kg: f64 = (a..b)
                    .filter(|&k| imp[k] > 1e-6)
                    .map(|k| ask * dt_h * grid.carbon_intensity_kg_per_kwh[k])
                    .sum();
                let value_yen = saved_yen * kwh / total_kwh;
                let rate = self.rate(&node.id);
                let mut r = Request {
                    id: format!("{}@{}", node.id, from.format("%Y-%m-%dT%H:%M%:z")),
                    building: node.id.clone(),
                    grid: grid.id.clone(),
                    from,
                    until,
                    reduce_kw: ask,
                    reasons: vec![reason],
                    value_yen,
                    value_yen_per_kwh: value_yen / kwh,
                    co2_kg,
                    co2_kg_per_kwh: co2_kg / kwh,
                    baseline_kw: net_load_kw(sc, &node.id, from, until).unwrap_or(0.0),
                    expected_kw: rate * ask,
                    issued: now,
                    rank: 0,
                    message_en: String::new(),
                    message_ja: String::new(),
                };
                (r.message_en, r.message_ja) = words(&r);
                r
            })
            .collect()
    }
}

/// The window for `steps` (sorted plan steps flagged for one reason): their whole span when
/// it is at most `longest` steps, else the `longest` consecutive steps of the span with the
/// highest `demand` (the hours that need the help most). `None` without steps.
fn best_window(steps: &[usize], demand: &[f64], longest: usize) -> Option<(usize, usize)> {
    let (&first, &last) = (steps.first()?, steps.last()?);
    if last + 1 - first <= longest {
        return Some((first, last + 1));
    }
    let flagged: BTreeSet<usize> = steps.iter().copied().collect();
    (first..=last + 1 - longest)
        .map(|a| {
            let score: f64 = (a..a + longest)
                .filter(|k| flagged.contains(k))
                .map(|k| demand[k])
                .sum();
            (a, score)
        })
        .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))
        .map(|(a, _)| (a, a + longest))
}

/// A number of yen for people: grouped thousands, no decimals.
fn yen(v: f64) -> String {
    let n = v.round().max(0.0) as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The request's message in English and Japanese.
pub fn words(r: &Request) -> (String, String) {
    let day = r.from.format("%Y-%m-%d");
    let (a, b) = (r.from.format("%H:%M"), r.until.format("%H:%M"));
    let en_why: Vec<&str> = r.reasons.iter().map(|x| x.en()).collect();
    let ja_why: Vec<&str> = r.reasons.iter().map(|x| x.ja()).collect();
    let en = format!(
        "{}: please use {:.1} kW less electricity on {day} from {a} to {b} (for example, \
         raise the cooling setpoint by 1 °C and switch off lights and equipment not in use). \
         {} — the district saves about {} yen ({:.0} yen/kWh) and {:.0} kg CO2.",
        r.building,
        r.reduce_kw,
        capitalise(&en_why.join("; ")),
        yen(r.value_yen),
        r.value_yen_per_kwh,
        r.co2_kg,
    );
    let ja = format!(
        "{}：{}月{}日 {a}〜{b} の電力使用を {:.1} kW 減らしてください（冷房の設定温度を1℃上げる、\
         使っていない照明や機器を消すなど）。{}。地区として約{}円（{:.0}円/kWh）とCO2 {:.0} kg を\
         削減できます。",
        r.building,
        r.from.format("%-m"),
        r.from.format("%-d"),
        r.reduce_kw,
        ja_why.join("。"),
        yen(r.value_yen),
        r.value_yen_per_kwh,
        r.co2_kg,
    );
    (en, ja)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Each step's 30-minute interval mean import (for steps of up to 30 minutes: the mean of
/// the interval's steps inside the horizon; hourly steps are their own interval), by step.
fn interval_means(times: &[DateTime<FixedOffset>], imp: &[f64]) -> Vec<(i64, f64)> {
    let key = |t: &DateTime<FixedOffset>| {
        let secs = t.timestamp() - i64::from(t.second());
        secs - secs.rem_euclid(1800)
    };
    let mut sums: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for (t, v) in times.iter().zip(imp) {
        let e = sums.entry(key(t)).or_default();
        e.0 += v;
        e.1 += 1;
    }
    times
        .iter()
        .map(|t| {
            let k = key(t);
            let (s, n) = sums.get(&k).copied().unwrap_or((0.0, 1));
            (k, s / n.max(1) as f64)
        })
        .collect()
}

/// The grid connection that serves each node: its own, or the nearest one along the lines
/// (fewest lines; the first in file order on a tie). `None` for a node no connection
/// reaches.
fn serving_grid(sc: &Scenario) -> Vec<Option<usize>> {
    (0..sc.nodes.len())
        .map(|n| {
            let mut seen = vec![false; sc.nodes.len()];
            let mut frontier = vec![n];
            seen[n] = true;
            while !frontier.is_empty() {
                if let Some(g) = sc.grids.iter().position(|g| frontier.contains(&g.node)) {
                    return Some(g);
                }
                let mut next = Vec::new();
                for l in &sc.lines {
                    for (a, b) in [(l.from, l.to), (l.to, l.from)] {
                        if frontier.contains(&a) && !seen[b] {
                            seen[b] = true;
                            next.push(b);
                        }
                    }
                }
                frontier = next;
            }
            None
        })
        .collect()
}

/// PV available at node `n` at step `k` of `sc`, kW.
fn pv_kw(sc: &Scenario, n: usize, k: usize) -> f64 {
    sc.pvs
        .iter()
        .filter(|p| p.node == n)
        .map(|p| p.available_kw[k])
        .sum()
}

/// A building's forecast net load (load − PV available) over `[from, until)` in `sc`, kW;
/// `None` when the window is not inside `sc`.
fn net_load_kw(
    sc: &Scenario,
    building: &str,
    from: DateTime<FixedOffset>,
    until: DateTime<FixedOffset>,
) -> Option<f64> {
    let n = sc.nodes.iter().position(|x| x.id == building)?;
    let steps: Vec<usize> = (0..sc.steps)
        .filter(|&k| from <= sc.times[k] && sc.times[k] < until)
        .collect();
    let whole = (until - from).num_minutes() / i64::from(sc.step_minutes.max(1));
    if steps.is_empty() || (steps.len() as i64) < whole {
        return None;
    }
    let sum: f64 = steps
        .iter()
        .map(|&k| sc.nodes[n].load_kw[k] - pv_kw(sc, n, k))
        .sum();
    Some(sum / steps.len() as f64)
}

/// A building's net load measured in `m`: its node meter (import − export) plus its
/// batteries' power (+ discharging) and generators' output, less its HVAC units' power —
/// the load its people control, net of PV. `None` when any of those readings is missing.
fn measured_net_load_kw(m: &Measurements, data: &Scenario, n: usize) -> Option<f64> {
    let power = |id: &str| -> Option<f64> {
        match m.readings.get(id)?.as_ref().ok()? {
            Reading::Meter(r) => r.power_kw,
            Reading::Battery(r) => r.power_kw,
            Reading::Generator(r) => r.power_kw,
            Reading::Hvac(r) => r.power_kw,
            Reading::Line(_) => None,
        }
        .filter(|v| v.is_finite())
    };
    let mut kw = power(&data.nodes[n].id)?;
    for b in data.batteries.iter().filter(|b| b.node == n) {
        kw += power(&b.id)?;
    }
    for g in data.generators.iter().filter(|g| g.node == n) {
        kw += power(&g.id)?;
    }
    for h in data.hvacs.iter().filter(|h| h.node == n) {
        kw -= power(&h.id)?;
    }
    Some(kw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(1234567.4), "1,234,567");
        assert_eq!(yen(999.0), "999");
        assert_eq!(yen(-5.0), "0");
    }

    #[test]
    fn a_bad_policy_names_the_field() {
        let p = Policy {
            ask_fraction: 1.5,
            ..Policy::default()
        };
        assert!(p.check().unwrap_err().contains("ask_fraction"));
        assert!(Policy::default().check().is_ok());
    }
}
