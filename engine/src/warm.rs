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

use std::os::raw::c_int;

/// A simplex basis: HiGHS's status code of every column and every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    /// Per column.
    pub cols: Vec<c_int>,
    /// Per row.
    pub rows: Vec<c_int>,
}

/// The bases a solve left, for the next solve of the same structure.
#[derive(Debug, Clone, Default)]
pub struct WarmStart {
    /// The first relaxation's optimal basis.
    pub(crate) relaxed: Option<Basis>,
    /// The polish LP's optimal basis.
    pub(crate) polish: Option<Basis>,
    /// Per independent part, when the district was solved in parts.
    pub(crate) parts: Vec<WarmStart>,
}

impl WarmStart {
    /// Nothing to start from: the next solve is cold.
    pub fn cold() -> Self {
        Self::default()
    }

    /// Whether a solve left anything to start from.
    pub fn is_empty(&self) -> bool {
        self.relaxed.is_none() && self.polish.is_none() && self.parts.iter().all(Self::is_empty)
    }

    /// The state of part `i` of `n` (reset when the number of parts changed).
    pub(crate) fn parts_mut(&mut self, n: usize) -> &mut [WarmStart] {
        if self.parts.len() != n {
            self.parts = vec![WarmStart::default(); n];
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

/// Gives `model` `basis` to start from, when its dimensions match; whether it was taken.
pub(crate) fn set_basis(model: &mut highs::Model, basis: &Basis) -> bool {
    let ptr = model.as_mut_ptr();
    // SAFETY: `ptr` is a live HiGHS instance owned by `model`; the slices have exactly the
    // model's numbers of columns and rows (checked first).
    unsafe {
        let n_cols = highs_sys::Highs_getNumCol(ptr);
        let n_rows = highs_sys::Highs_getNumRow(ptr);
        if n_cols as usize != basis.cols.len() || n_rows as usize != basis.rows.len() {
            return false;
        }
        highs_sys::Highs_setBasis(ptr, basis.cols.as_ptr(), basis.rows.as_ptr()) == 0
    }
}
