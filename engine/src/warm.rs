//! Warm re-solves: what one solve leaves for the next solve of a problem of the same shape.
//!
//! The controller re-plans every cycle on a problem whose structure does not change — the
//! same assets over the same number of steps, only the data moved on (new measurements, the
//! horizon shifted, new forecasts). The simplex basis of the last optimum is then a good
//! start: HiGHS takes it instead of a cold start (and skips presolve, which would drop it)
//! and usually needs a small share of the iterations. The start only changes where the
//! simplex begins, never what counts as optimal, so a warm solve is exact within the same
//! gap as a cold one.
//!
//! [`WarmStart`] keeps one basis per model the strategy solves (the first relaxation and
//! its polish) and per independent part of the district; a basis whose dimensions do not
//! match the new model is simply not used.
//!
//! A controller's `WarmStart` also keeps the HiGHS instance of each of those LPs after its
//! solve ([`Kept`]). The next cycle's model is then not solved in a new instance: when it
//! has the same numbers of columns and rows, its costs, bounds and objective constant (and the few
//! matrix coefficients that changed, if any) are written into the kept instance, which
//! still holds its optimal basis and the factorization of it, and HiGHS resumes from
//! there — no new instance, no matrix set-up, no refactorization from scratch. What the
//! model is does not depend on this: the kept instance holds, entry for entry, the model
//! just built. A one-off [`crate::optimize`] keeps nothing (its instances are dropped).

use std::os::raw::c_int;

/// A simplex basis: HiGHS's status code of every column and every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    /// Per column.
    pub cols: Vec<c_int>,
    /// Per row.
    pub rows: Vec<c_int>,
}

/// What one LP of the strategy left for the next solve of the same structure: its optimal
/// basis and, in a controller's warm start, the HiGHS instance itself.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// The optimal basis.
    pub(crate) basis: Option<Basis>,
    /// The instance after its solve, to be updated in place.
    pub(crate) kept: Option<Kept>,
}

impl Clone for Slot {
    /// The basis only: a HiGHS instance is not copied (the clone's next solve starts from
    /// the basis in a new instance).
    fn clone(&self) -> Self {
        Self {
            basis: self.basis.clone(),
            kept: None,
        }
    }
}

/// The bases (and instances) a solve left, for the next solve of the same structure.
#[derive(Debug, Clone, Default)]
pub struct WarmStart {
    /// The first relaxation's.
    pub(crate) relaxed: Slot,
    /// The polish LP's.
    pub(crate) polish: Slot,
    /// Per independent part, when the district was solved in parts.
    pub(crate) parts: Vec<WarmStart>,
    /// Keep bases only, not HiGHS instances (a one-off solve).
    pub(crate) bases_only: bool,
}

impl WarmStart {
    /// Nothing to start from: the next solve is cold. Later solves start from the bases and
    /// HiGHS instances the previous one left.
    pub fn cold() -> Self {
        Self::default()
    }

    /// A start for one solve whose instances need not outlive it: bases are kept, HiGHS
    /// instances dropped as soon as solved (less memory).
    pub(crate) fn one_off() -> Self {
        Self {
            bases_only: true,
            ..Self::default()
        }
    }

    /// Whether a solve left anything to start from.
    pub fn is_empty(&self) -> bool {
        self.relaxed.basis.is_none()
            && self.polish.basis.is_none()
            && self.parts.iter().all(Self::is_empty)
    }

    /// The state of part `i` of `n` (reset when the number of parts changed).
    pub(crate) fn parts_mut(&mut self, n: usize) -> &mut [WarmStart] {
        if self.parts.len() != n {
            let part = WarmStart {
                bases_only: self.bases_only,
                ..WarmStart::default()
            };
            self.parts = vec![part; n];
        }
        &mut self.parts
    }
}

/// The basis of the last solve of `model`, if HiGHS has a valid one.
pub(crate) fn basis_of(model: &highs::SolvedModel) -> Option<Basis> {
    let ptr = model.as_ptr();
    // SAFETY: `ptr` is a live HiGHS instance owned by `model`; the buffers have the sizes
    // HiGHS reports for its own model.
    unsafe {
        let n_cols = highs_sys::Highs_getNumCol(ptr);
        let n_rows = highs_sys::Highs_getNumRow(ptr);
        let mut validity: c_int = 0;
        highs_sys::Highs_getIntInfoValue(
            ptr,
            c"basis_validity".as_ptr(),
            &mut validity as *mut c_int,
        );
        if validity != 1 || n_cols < 0 || n_rows < 0 {
            return None;
        }
        let mut cols = vec![0 as c_int; n_cols as usize];
        let mut rows = vec![0 as c_int; n_rows as usize];
        let status = highs_sys::Highs_getBasis(ptr, cols.as_mut_ptr(), rows.as_mut_ptr());
        (status == 0).then_some(Basis { cols, rows })
    }
}

/// HiGHS's status of a basic variable.
const BASIC: c_int = 1;

/// Gives `model` `basis` to start from, when its columns match; whether it was taken.
///
/// A re-plan mid-way through a 30-minute interval has one demand-charge row more or less
/// than the last plan (its first interval is partial): rows past the old basis's end are
/// started basic, and rows beyond the new model's end dropped, as long as the basis still
/// has one basic variable per row; otherwise the start is cold.
pub(crate) fn set_basis(model: &mut highs::Model, basis: &Basis) -> bool {
    let ptr = model.as_mut_ptr();
    // SAFETY: `ptr` is a live HiGHS instance owned by `model`; the slices passed have
    // exactly the model's numbers of columns and rows (checked first).
    unsafe {
        let n_cols = highs_sys::Highs_getNumCol(ptr).max(0) as usize;
        let n_rows = highs_sys::Highs_getNumRow(ptr).max(0) as usize;
        if n_cols != basis.cols.len() {
            return false;
        }
        let mut rows = basis.rows.clone();
        rows.resize(n_rows, BASIC);
        let basic = basis
            .cols
            .iter()
            .chain(&rows)
            .filter(|&&s| s == BASIC)
            .count();
        if basic != n_rows {
            return false;
        }
        highs_sys::Highs_setBasis(ptr, basis.cols.as_ptr(), rows.as_ptr()) == 0
    }
}

/// The problem one re-plan later, as a controller following `plan` would pose it: the
/// horizon of `data` from step `from + elapsed` over `horizon` steps, every battery's,
/// zone's and generator's initial state where `plan` (solved over the horizon starting at
/// `from`) leaves it after `elapsed` steps, and each connection's billed peak and the energy
/// already imported in the current 30-minute interval from the plan's import. What the
/// benchmarks and tests of warm re-solves start from; the live loop takes these from
/// measurements instead (`control::problem`).
///
/// # Panics
/// If `plan` is not a schedule of `data`'s assets over at least `elapsed` steps, or
/// `from + elapsed + horizon` exceeds `data`'s steps.
pub fn next_cycle(
    data: &crate::Scenario,
    from: usize,
    horizon: usize,
    plan: &crate::Schedule,
    elapsed: usize,
) -> crate::Scenario {
    let start = from + elapsed;
    let mut sc = data.slice(start..start + horizon);
    let dt = data.step_hours();
    for (b, s) in sc.batteries.iter_mut().zip(&plan.batteries) {
        b.initial_kwh = s.energy_kwh[elapsed];
    }
    for (h, s) in sc.hvacs.iter_mut().zip(&plan.hvacs) {
        h.initial_temp_c = s.temp_c[elapsed];
    }
    for (g, s) in sc.generators.iter_mut().zip(&plan.generators) {
        g.initially_on = elapsed > 0 && s.on[elapsed - 1];
    }
    if elapsed == 0 {
        return sc;
    }
    // The 30-minute intervals the plan's import fell into, in the data's time.
    let past = data.slice(from..start);
    let starts_mid_interval = sc
        .demand_intervals()
        .first()
        .is_some_and(|m| m.elapsed_hours > 0.0);
    for (gi, (g, s)) in sc.grids.iter_mut().zip(&plan.grids).enumerate() {
        let so_far = data.grids[gi].peak_so_far_kw;
        let mut peak = so_far;
        let mut in_current = 0.0;
        for m in past.demand_intervals() {
            let before = data.grids[gi].interval_import_so_far_kwh;
            let mean = m.mean_kw(&s.import_kw, before, dt);
            if m.steps.end == elapsed && starts_mid_interval {
                // Still open at the new start: its energy so far, not a billed mean yet.
                let earlier = if m.elapsed_hours > 0.0 { before } else { 0.0 };
                in_current = earlier + s.import_kw[m.steps.clone()].iter().sum::<f64>() * dt;
            } else {
                peak = peak.max(mean);
            }
        }
        g.peak_so_far_kw = peak;
        g.interval_import_so_far_kwh = in_current;
    }
    sc
}

/// A HiGHS instance kept after an optimal LP solve, with the LP it holds.
pub(crate) struct Kept {
    model: highs::Model,
    lp: crate::model::Lp,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Kept {{ {} columns, {} rows }}",
            self.lp.n_cols(),
            self.lp.n_rows()
        )
    }
}

// SAFETY: a HiGHS instance is not tied to the thread that made it, and a `Kept` is only
// reached through `&mut` (one thread at a time).
unsafe impl Send for Kept {}

/// A kept instance changes in place when the matrix entries that changed are fewer than this
/// share of its columns (a shifted horizon moves the time-dependent coefficients, such as
/// HVAC efficiencies, and the 30-minute intervals' boundaries: 7.5 % on the reference case
/// `d`); past it a new instance is cheaper than the coefficient updates.
const MAX_CHANGED_COEFFICIENT_SHARE: f64 = 0.25;

impl Kept {
    /// Keeps `model`, just solved, which holds `lp`.
    pub(crate) fn new(model: highs::Model, lp: crate::model::Lp) -> Kept {
        Kept { model, lp }
    }

    /// This instance holding `new` (costs, bounds and matrix), its basis and factorization
    /// kept; `None` (and the instance dropped) when the dimensions or integrality differ,
    /// too much of the matrix changed, or HiGHS refuses a change.
    pub(crate) fn update(mut self, new: &crate::model::Lp) -> Option<highs::Model> {
        let changes = self.lp.matrix_changes(new)?;
        if changes.len() as f64 > MAX_CHANGED_COEFFICIENT_SHARE * new.n_cols() as f64 {
            return None;
        }
        let ptr = self.model.as_mut_ptr();
        let (n_cols, n_rows) = (new.n_cols() as c_int, new.n_rows() as c_int);
        // SAFETY: `ptr` is the live instance owned by `self.model`; every slice has the
        // instance's numbers of columns or rows (checked by `matrix_changes`).
        let ok = unsafe {
            let mut ok = true;
            if n_cols > 0 {
                ok &= highs_sys::Highs_changeColsCostByRange(ptr, 0, n_cols - 1, new.cost.as_ptr())
                    == 0;
                ok &= highs_sys::Highs_changeColsBoundsByRange(
                    ptr,
                    0,
                    n_cols - 1,
                    new.col_lower.as_ptr(),
                    new.col_upper.as_ptr(),
                ) == 0;
            }
            if n_rows > 0 {
                ok &= highs_sys::Highs_changeRowsBoundsByRange(
                    ptr,
                    0,
                    n_rows - 1,
                    new.row_lower.as_ptr(),
                    new.row_upper.as_ptr(),
                ) == 0;
            }
            ok &= highs_sys::Highs_changeObjectiveOffset(ptr, new.offset) == 0;
            for &(row, col, value) in &changes {
                ok &= highs_sys::Highs_changeCoeff(ptr, row, col, value) == 0;
            }
            // The options are set afresh by the caller, as for a new instance.
            ok &= highs_sys::Highs_resetOptions(ptr) == 0;
            ok
        };
        ok.then_some(self.model)
    }
}
