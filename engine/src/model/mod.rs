//! The mixed-integer model of `spec/dispatch-model.md`, built with `good_lp`.
//!
//! [`build`] reads like the spec: one function per asset kind adds that asset's variables,
//! its constraints, its power into its node and its objective terms —
//! [`grid::add_grid`], [`pv::add_pv`], [`battery::add_battery`], [`hvac::add_hvac`],
//! [`generator::add_generator`], [`line::add_line`], and each node's
//! [`unserved::add_unserved`] (only while a grid connection is out) — then
//! [`balance::add_node_balance`] closes every node and step and
//! [`demand::add_demand_charge`] adds the 30-minute demand charge.
//!
//! Which on/off variables are integer is decided by an [`Integrality`] plan: the solver
//! ([`crate::solve`]) starts from a relaxation and makes variables binary only where the
//! relaxed optimum needs it, which stays exact (see `solve`).

pub mod balance;
pub mod battery;
pub mod demand;
pub mod generator;
pub mod grid;
pub mod hvac;
pub mod line;
pub mod lp;
pub mod pv;
pub mod unserved;

use good_lp::{variable, Constraint, Expression, IntoAffineExpression, ProblemVariables, Variable};

use crate::scenario::Scenario;
pub use lp::Lp;

/// A model variable and its column index in the solver (variables are numbered in the
/// order they are added).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Col {
    /// The `good_lp` variable, for expressions.
    pub var: Variable,
    /// Its column in the solver's solution vector.
    pub idx: usize,
}

impl Col {
    /// This variable's value in a solution vector.
    pub fn value(&self, columns: &[f64]) -> f64 {
        columns[self.idx]
    }
}

/// How one on/off variable of the spec enters the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOff {
    /// Binary, as the spec has it.
    Binary,
    /// Continuous in [0, 1]: the LP relaxation of the binary.
    Relaxed,
    /// Fixed to a value (an LP with the integer decision taken).
    Fixed(bool),
}

impl OnOff {
    fn definition(self) -> good_lp::VariableDefinition {
        match self {
            OnOff::Binary => variable().binary(),
            OnOff::Relaxed => variable().min(0.0).max(1.0),
            OnOff::Fixed(b) => {
                let v = if b { 1.0 } else { 0.0 };
                variable().min(v).max(v)
            }
        }
    }
}

/// Per asset and step, how each on/off variable enters the model: battery `u`, HVAC `on`,
/// generator `w`.
#[derive(Debug, Clone, PartialEq)]
pub struct Integrality {
    /// `u[k,t]`.
    pub battery: Vec<Vec<OnOff>>,
    /// `on[h,t]`.
    pub hvac: Vec<Vec<OnOff>>,
    /// `w[j,t]`.
    pub generator: Vec<Vec<OnOff>>,
}

impl Integrality {
    /// Every on/off variable binary, as the spec states the model — except where the
    /// relaxation is exact whatever the solution: HVAC with `min_kw = 0` (then `q ≤ max·on`
    /// with `on ∈ [0, 1]` allows the same `q` as `on ∈ {0, 1}`) and generators with
    /// `min_kw = 0` and no start-up cost.
    pub fn full(sc: &Scenario) -> Self {
        let t = sc.steps;
        Self {
            battery: vec![vec![OnOff::Binary; t]; sc.batteries.len()],
            hvac: sc
                .hvacs
                .iter()
                .map(|h| {
                    vec![
                        if h.min_kw > 0.0 {
                            OnOff::Binary
                        } else {
                            OnOff::Relaxed
                        };
                        t
                    ]
                })
                .collect(),
            generator: sc
                .generators
                .iter()
                .map(|g| {
                    // Without black start, "no start during an outage" needs the state.
                    let needed = g.min_kw > 0.0
                        || g.startup_cost_yen > 0.0
                        || (!g.black_start && sc.has_emergency());
                    (0..t)
                        .map(|step| {
                            if g.emergency_only && !sc.emergency_at(step) {
                                // An emergency generator is off outside emergencies.
                                OnOff::Fixed(false)
                            } else if needed {
                                OnOff::Binary
                            } else {
                                OnOff::Relaxed
                            }
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Every on/off variable relaxed: the LP relaxation of the model.
    pub fn relaxed(sc: &Scenario) -> Self {
        let t = sc.steps;
        Self {
            battery: vec![vec![OnOff::Relaxed; t]; sc.batteries.len()],
            hvac: vec![vec![OnOff::Relaxed; t]; sc.hvacs.len()],
            generator: vec![vec![OnOff::Relaxed; t]; sc.generators.len()],
        }
    }

    /// Number of binary variables in the plan.
    pub fn binaries(&self) -> usize {
        [&self.battery, &self.hvac, &self.generator]
            .iter()
            .flat_map(|v| v.iter().flatten())
            .filter(|&&o| o == OnOff::Binary)
            .count()
    }
}

/// What the model minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The spec's objective (yen).
    Cost,
    /// The total slack of elastic node balances (`+ s⁺ − s⁻`), every other constraint kept:
    /// used to find where balance fails in an infeasible scenario.
    BalanceSlack,
}

/// The variables of one asset kind, indexed like the scenario's list of that kind.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// Per grid connection.
    pub grids: Vec<grid::GridVars>,
    /// Per PV array.
    pub pvs: Vec<pv::PvVars>,
    /// Per battery.
    pub batteries: Vec<battery::BatteryVars>,
    /// Per HVAC unit.
    pub hvacs: Vec<hvac::HvacVars>,
    /// Per generator.
    pub generators: Vec<generator::GeneratorVars>,
    /// Per line.
    pub lines: Vec<line::LineVars>,
    /// Per node: unserved load while a grid connection is out (extension).
    pub unserved: Vec<unserved::UnservedVars>,
    /// Elastic balance slack per node and step (only for [`Goal::BalanceSlack`]).
    pub slack: Option<balance::SlackVars>,
}

/// A built model, ready for the solver.
pub struct DispatchModel {
    /// The variables.
    pub variables: ProblemVariables,
    /// The constraints.
    pub constraints: Vec<Constraint>,
    /// The objective's linear part.
    pub objective: Expression,
    /// The objective's constant part (yen), passed to HiGHS as its objective offset.
    pub objective_constant: f64,
    /// Handles to every variable, per asset.
    pub vars: Vars,
    /// Number of columns.
    pub n_cols: usize,
    /// Number of integer columns.
    pub n_integer: usize,
}

impl DispatchModel {
    /// The model as HiGHS's arrays ([`Lp`]): variables in the order they were added (so
    /// column `i` is [`Col::idx`] `== i`), the objective (its constant as HiGHS's offset),
    /// and one row per constraint in order (`expression ≤ 0` or `= 0`, the constant moved
    /// to the bounds).
    pub fn into_lp(self) -> (Lp, Vars) {
        let n = self.n_cols;
        let mut column: std::collections::HashMap<good_lp::Variable, usize, IndexHash> =
            std::collections::HashMap::with_capacity_and_hasher(n, IndexHash);
        let (mut col_lower, mut col_upper) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut integrality = Vec::with_capacity(n);
        for (j, (var, def)) in self.variables.iter_variables_with_def().enumerate() {
            column.insert(var, j);
            col_lower.push(def.get_min());
            col_upper.push(def.get_max());
            integrality.push(std::os::raw::c_int::from(def.is_integer()));
        }
        let mut cost = vec![0.0; column.len()];
        for (var, c) in (&self.objective).linear_coefficients() {
            cost[column[&var]] += c;
        }
        let m = self.constraints.len();
        let (mut row_lower, mut row_upper) = (Vec::with_capacity(m), Vec::with_capacity(m));
        let mut entries = Vec::with_capacity(3 * m);
        for (i, c) in self.constraints.iter().enumerate() {
            let e = c.expression();
            let upper = -e.constant();
            row_upper.push(upper);
            row_lower.push(if c.is_equality() {
                upper
            } else {
                f64::NEG_INFINITY
            });
            entries.extend(e.linear_coefficients().map(|(var, v)| (i, column[&var], v)));
        }
        let mut lp = Lp::from_entries(
            cost,
            col_lower,
            col_upper,
            integrality,
            row_lower,
            row_upper,
            &entries,
        );
        lp.offset = self.objective_constant;
        (lp, self.vars)
    }
}

/// Hashes a `good_lp` variable (a column number) by one multiplication: the variable →
/// column map of [`DispatchModel::into_lp`] is looked up once per matrix entry.
#[derive(Clone, Copy, Default)]
struct IndexHash;

/// The state of [`IndexHash`].
#[derive(Default)]
struct IndexHasher(u64);

impl std::hash::BuildHasher for IndexHash {
    type Hasher = IndexHasher;
    fn build_hasher(&self) -> IndexHasher {
        IndexHasher(0)
    }
}

impl std::hash::Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Accumulates variables, constraints, node injections and objective terms while the
/// per-asset functions run.
pub struct Builder<'a> {
    /// The scenario being modelled.
    pub sc: &'a Scenario,
    /// Step length Δ, hours.
    pub dt: f64,
    variables: ProblemVariables,
    n_cols: usize,
    n_integer: usize,
    /// Constraints added so far.
    pub constraints: Vec<Constraint>,
    /// Power into each node at each step from its assets and lines, kW (`[node][t]`).
    pub injection: Vec<Vec<Expression>>,
    /// The objective (yen).
    pub objective: Expression,
    /// The objective's CO2 (kg) before the carbon price.
    pub emissions: Expression,
}

impl<'a> Builder<'a> {
    fn new(sc: &'a Scenario) -> Self {
        Self {
            sc,
            dt: sc.step_hours(),
            variables: ProblemVariables::new(),
            n_cols: 0,
            n_integer: 0,
            constraints: Vec::new(),
            injection: vec![vec![Expression::default(); sc.steps]; sc.nodes.len()],
            objective: Expression::default(),
            emissions: Expression::default(),
        }
    }

    /// Adds a variable.
    pub fn var(&mut self, def: good_lp::VariableDefinition) -> Col {
        if def.is_integer() {
            self.n_integer += 1;
        }
        let var = self.variables.add(def);
        let col = Col {
            var,
            idx: self.n_cols,
        };
        self.n_cols += 1;
        col
    }

    /// Adds one variable per step with bounds `[min, max[t]]`.
    pub fn vars_upto(&mut self, max: impl Fn(usize) -> f64) -> Vec<Col> {
        (0..self.sc.steps)
            .map(|t| self.var(variable().min(0.0).max(max(t))))
            .collect()
    }

    /// Adds an on/off variable as the plan says.
    pub fn on_off(&mut self, kind: OnOff) -> Col {
        self.var(kind.definition())
    }

    /// Adds a constraint.
    pub fn add(&mut self, c: Constraint) {
        self.constraints.push(c);
    }

    /// Adds `coef · col` to the power flowing into node `n` at step `t`.
    pub fn inject(&mut self, n: usize, t: usize, coef: f64, col: Col) {
        self.injection[n][t].add_mul(coef, col.var);
    }

    /// Adds `coef · col` to the objective.
    pub fn cost(&mut self, coef: f64, col: Col) {
        if coef != 0.0 {
            self.objective.add_mul(coef, col.var);
        }
    }

    /// Adds `coef · col` (kg CO2) to the emissions.
    pub fn emit(&mut self, coef: f64, col: Col) {
        if coef != 0.0 {
            self.emissions.add_mul(coef, col.var);
        }
    }
}

/// `x[a,0] = x[b,0]` for every group of [`crate::scenario::FirstStepShared`]: one decision
/// now, whichever forecast scenario comes true.
fn add_shared_first_step(b: &mut Builder<'_>, vars: &Vars) {
    let shared = &b.sc.first_step_shared;
    let mut pairs: Vec<(Col, Col)> = Vec::new();
    let mut link = |groups: &[Vec<usize>], cols: &dyn Fn(usize) -> Vec<Col>| {
        for g in groups {
            for w in g.windows(2) {
                for (x, y) in cols(w[0]).into_iter().zip(cols(w[1])) {
                    pairs.push((x, y));
                }
            }
        }
    };
    let first = |v: &[Col]| v.first().copied();
    link(&shared.batteries, &|k| {
        let v = &vars.batteries[k];
        [first(&v.ch), first(&v.dis)]
            .into_iter()
            .flatten()
            .collect()
    });
    link(&shared.hvacs, &|h| {
        let v = &vars.hvacs[h];
        [first(&v.q), first(&v.on)].into_iter().flatten().collect()
    });
    link(&shared.generators, &|j| {
        let v = &vars.generators[j];
        [first(&v.p), first(&v.w)].into_iter().flatten().collect()
    });
    for (x, y) in pairs {
        b.add((x.var - y.var).eq(0.0));
    }
}

/// Builds the model of `sc` with the on/off variables as `plan` says, minimising `goal`.
pub fn build(sc: &Scenario, plan: &Integrality, goal: Goal) -> DispatchModel {
    let mut b = Builder::new(sc);
    let grids = sc
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| grid::add_grid(&mut b, i, g))
        .collect();
    let pvs = sc.pvs.iter().map(|p| pv::add_pv(&mut b, p)).collect();
    let batteries = sc
        .batteries
        .iter()
        .zip(&plan.battery)
        .map(|(k, u)| battery::add_battery(&mut b, k, u))
        .collect();
    let hvacs = sc
        .hvacs
        .iter()
        .zip(&plan.hvac)
        .map(|(h, on)| hvac::add_hvac(&mut b, h, on))
        .collect();
    let generators = sc
        .generators
        .iter()
        .zip(&plan.generator)
        .map(|(j, w)| generator::add_generator(&mut b, j, w))
        .collect();
    let lines = sc.lines.iter().map(|l| line::add_line(&mut b, l)).collect();
    let unserved = (0..sc.nodes.len())
        .map(|n| unserved::add_unserved(&mut b, n))
        .collect();
    let slack = balance::add_node_balance(&mut b, goal == Goal::BalanceSlack);
    let mut vars = Vars {
        grids,
        pvs,
        batteries,
        hvacs,
        generators,
        lines,
        unserved,
        slack,
    };
    for (g, gv) in sc.grids.iter().zip(vars.grids.iter_mut()) {
        gv.peak = Some(demand::add_demand_charge(&mut b, g, &gv.imp));
    }
    add_shared_first_step(&mut b, &vars);

    // carbon_price_yen_per_kg · emissions_kg
    let carbon = std::mem::take(&mut b.emissions);
    b.objective.add_mul(sc.carbon_price_yen_per_kg, carbon);

    let objective = match (goal, &vars.slack) {
        (Goal::BalanceSlack, Some(s)) => s.total(),
        _ => b.objective,
    };
    let objective_constant = objective.constant();
    DispatchModel {
        variables: b.variables,
        constraints: b.constraints,
        objective,
        objective_constant,
        vars,
        n_cols: b.n_cols,
        n_integer: b.n_integer,
    }
}
