//! The built model as the arrays HiGHS takes: costs, bounds, row bounds and the constraint
//! matrix column by column. [`crate::model::DispatchModel::into_lp`] makes it from the
//! `good_lp` model; a new HiGHS instance is made from it ([`Lp::to_highs`]), or a kept one
//! updated to it ([`crate::warm`]).

use std::os::raw::c_int;

/// An LP (or MIP) in HiGHS's terms, minimised.
#[derive(Debug, Clone, PartialEq)]
pub struct Lp {
    /// Per column: objective coefficient.
    pub cost: Vec<f64>,
    /// Per column: lower bound.
    pub col_lower: Vec<f64>,
    /// Per column: upper bound.
    pub col_upper: Vec<f64>,
    /// Per column: 1 when integer, else 0.
    pub integrality: Vec<c_int>,
    /// Per row: lower bound.
    pub row_lower: Vec<f64>,
    /// Per row: upper bound.
    pub row_upper: Vec<f64>,
    /// Column-wise matrix: column `j`'s entries are `index[start[j]..start[j + 1]]` (rows,
    /// increasing) with `value[…]`.
    pub start: Vec<c_int>,
    /// Row of each entry.
    pub index: Vec<c_int>,
    /// Value of each entry.
    pub value: Vec<f64>,
    /// The objective's constant (yen): HiGHS adds it to every objective value and bound,
    /// so that its relative MIP gap is the gap of the whole objective.
    pub offset: f64,
}

/// HiGHS's column-wise matrix format.
const COLWISE: c_int = 1;

impl Lp {
    /// The LP from its columns' data, its rows' bounds and the matrix entries as (row,
    /// column, value), listed row by row (rows increasing); no objective constant.
    pub fn from_entries(
        cost: Vec<f64>,
        col_lower: Vec<f64>,
        col_upper: Vec<f64>,
        integrality: Vec<c_int>,
        row_lower: Vec<f64>,
        row_upper: Vec<f64>,
        entries: &[(usize, usize, f64)],
    ) -> Lp {
        let n_cols = cost.len();
        let mut start = vec![0usize; n_cols + 1];
        for &(_, j, _) in entries {
            start[j + 1] += 1;
        }
        for j in 0..n_cols {
            start[j + 1] += start[j];
        }
        let mut next = start.clone();
        let mut index = vec![0 as c_int; entries.len()];
        let mut value = vec![0.0; entries.len()];
        // Entries come row by row: each column's come out with increasing rows.
        for &(i, j, v) in entries {
            index[next[j]] = i as c_int;
            value[next[j]] = v;
            next[j] += 1;
        }
        Lp {
            cost,
            col_lower,
            col_upper,
            integrality,
            row_lower,
            row_upper,
            start: start.into_iter().map(|s| s as c_int).collect(),
            index,
            value,
            offset: 0.0,
        }
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.cost.len()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.row_lower.len()
    }

    /// A new HiGHS instance holding this model.
    pub fn to_highs(&self) -> Result<highs::Model, String> {
        let mut model = highs::Model::new(highs::ColProblem::default());
        let (n_cols, n_rows) = (self.n_cols() as c_int, self.n_rows() as c_int);
        let nnz = self.index.len() as c_int;
        let ptr = model.as_mut_ptr();
        // SAFETY: `ptr` is the live instance owned by `model`; every array has the length
        // its argument states (columns, rows, entries, columns + 1 starts).
        // (An all-continuous integrality is an LP to HiGHS.)
        let status = unsafe {
            highs_sys::Highs_passMip(
                ptr,
                n_cols,
                n_rows,
                nnz,
                COLWISE,
                1, // minimise
                self.offset,
                self.cost.as_ptr(),
                self.col_lower.as_ptr(),
                self.col_upper.as_ptr(),
                self.row_lower.as_ptr(),
                self.row_upper.as_ptr(),
                self.start.as_ptr(),
                self.index.as_ptr(),
                self.value.as_ptr(),
                self.integrality.as_ptr(),
            )
        };
        // 1 is a warning (e.g. tiny matrix values HiGHS dropped): the model is in.
        if status == 0 || status == 1 {
            Ok(model)
        } else {
            Err(format!("HiGHS refused the model (status {status})"))
        }
    }

    /// The LP a HiGHS instance holds (`highs` is a live instance, e.g. from
    /// `highs::SolvedModel::as_ptr`), read back column by column; its integrality all
    /// continuous when the instance has none. An error when HiGHS does not hand it over.
    ///
    /// # Safety
    /// `highs` must point to a live HiGHS instance for the whole call.
    pub unsafe fn from_highs(highs: *const std::os::raw::c_void) -> Result<Lp, String> {
        // SAFETY: the caller guarantees a live instance; every array is allocated with the
        // length HiGHS reports for it before HiGHS writes into it.
        unsafe {
            let n_cols = highs_sys::Highs_getNumCol(highs).max(0) as usize;
            let n_rows = highs_sys::Highs_getNumRow(highs).max(0) as usize;
            let nnz = highs_sys::Highs_getNumNz(highs).max(0) as usize;
            let mut lp = Lp {
                cost: vec![0.0; n_cols],
                col_lower: vec![0.0; n_cols],
                col_upper: vec![0.0; n_cols],
                integrality: vec![0; n_cols],
                row_lower: vec![0.0; n_rows],
                row_upper: vec![0.0; n_rows],
                start: vec![0; n_cols + 1],
                index: vec![0; nnz],
                value: vec![0.0; nnz],
                offset: 0.0,
            };
            let (mut nc, mut nr, mut nz, mut sense) = (0, 0, 0, 0);
            let status = highs_sys::Highs_getLp(
                highs,
                COLWISE,
                &mut nc,
                &mut nr,
                &mut nz,
                &mut sense,
                &mut lp.offset,
                lp.cost.as_mut_ptr(),
                lp.col_lower.as_mut_ptr(),
                lp.col_upper.as_mut_ptr(),
                lp.row_lower.as_mut_ptr(),
                lp.row_upper.as_mut_ptr(),
                lp.start.as_mut_ptr(),
                lp.index.as_mut_ptr(),
                lp.value.as_mut_ptr(),
                lp.integrality.as_mut_ptr(),
            );
            let dims = (nc as usize, nr as usize, nz as usize);
            if !(status == 0 || status == 1) || dims != (n_cols, n_rows, nnz) {
                return Err(format!(
                    "HiGHS did not hand back its LP (status {status}, {dims:?} columns, rows, \
                     entries for {:?})",
                    (n_cols, n_rows, nnz)
                ));
            }
            lp.start[n_cols] = nnz as c_int;
            Ok(lp)
        }
    }

    /// Column `j`'s entries as (row, value).
    fn column(&self, j: usize) -> impl Iterator<Item = (c_int, f64)> + '_ {
        let (a, b) = (self.start[j] as usize, self.start[j + 1] as usize);
        self.index[a..b]
            .iter()
            .copied()
            .zip(self.value[a..b].iter().copied())
    }

    /// The largest amount by which `x` breaks a row or column bound of this LP (0 when it
    /// keeps them all), computed from the LP's own arrays rather than read from the solver.
    pub fn max_violation(&self, x: &[f64]) -> f64 {
        let mut activity = vec![0.0; self.n_rows()];
        let mut worst = 0.0f64;
        for (j, &xj) in x.iter().enumerate().take(self.n_cols()) {
            for (row, v) in self.column(j) {
                activity[row as usize] += v * xj;
            }
            worst = worst
                .max(self.col_lower[j] - xj)
                .max(xj - self.col_upper[j]);
        }
        for (i, a) in activity.iter().enumerate() {
            worst = worst.max(self.row_lower[i] - a).max(a - self.row_upper[i]);
        }
        worst
    }

    /// The matrix entries to write into this LP's matrix to make it `new`'s, as (row,
    /// column, value; 0 removes an entry), when both have the same dimensions and
    /// integrality; `None` otherwise.
    pub fn matrix_changes(&self, new: &Lp) -> Option<Vec<(c_int, c_int, f64)>> {
        if self.n_cols() != new.n_cols()
            || self.n_rows() != new.n_rows()
            || self.integrality != new.integrality
        {
            return None;
        }
        if self.start == new.start && self.index == new.index && self.value == new.value {
            return Some(Vec::new());
        }
        let mut changes = Vec::new();
        for j in 0..self.n_cols() {
            if self.column(j).eq(new.column(j)) {
                continue;
            }
            let old: std::collections::BTreeMap<c_int, f64> = self.column(j).collect();
            let now: std::collections::BTreeMap<c_int, f64> = new.column(j).collect();
            for (&row, &v) in &now {
                if old.get(&row) != Some(&v) {
                    changes.push((row, j as c_int, v));
                }
            }
            for &row in old.keys() {
                if !now.contains_key(&row) {
                    changes.push((row, j as c_int, 0.0));
                }
            }
        }
        Some(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(value_00: f64) -> Lp {
        // rows: 0 ≤ x0 + 2 x1 ≤ 4;  x1 − x2 = 1 (x0 in row 0 with `value_00`)
        Lp::from_entries(
            vec![1.0, 2.0, 0.5],
            vec![0.0; 3],
            vec![10.0; 3],
            vec![0; 3],
            vec![0.0, 1.0],
            vec![4.0, 1.0],
            &[(0, 1, 2.0), (0, 0, value_00), (1, 2, -1.0), (1, 1, 1.0)],
        )
    }

    #[test]
    fn entries_row_by_row_become_columns_with_increasing_rows() {
        let lp = small(1.0);
        assert_eq!(lp.start, vec![0, 1, 3, 4]);
        assert_eq!(lp.index, vec![0, 0, 1, 1]);
        assert_eq!(lp.value, vec![1.0, 2.0, 1.0, -1.0]);
        assert_eq!(
            (lp.row_lower.clone(), lp.row_upper.clone()),
            (vec![0.0, 1.0], vec![4.0, 1.0])
        );
    }

    #[test]
    fn matrix_changes_name_each_changed_entry_and_only_those() {
        let a = small(1.0);
        assert_eq!(a.matrix_changes(&a), Some(vec![]));
        assert_eq!(a.matrix_changes(&small(3.0)), Some(vec![(0, 0, 3.0)]));
        let mut moved = small(1.0);
        // x2 leaves row 1 and enters row 0.
        moved.index[3] = 0;
        assert_eq!(
            a.matrix_changes(&moved),
            Some(vec![(0, 2, -1.0), (1, 2, 0.0)])
        );
        let mut wider = small(1.0);
        wider.integrality[0] = 1;
        assert_eq!(a.matrix_changes(&wider), None);
    }

    #[test]
    fn an_lp_read_back_from_its_instance_is_the_lp_passed() {
        let lp = small(3.0);
        let model = lp.to_highs().expect("HiGHS takes the LP");
        // SAFETY: `model` is a live instance for the whole call.
        let back = unsafe { Lp::from_highs(model.as_ptr()) }.expect("HiGHS hands its LP back");
        assert_eq!(back, lp);
    }

    #[test]
    fn max_violation_measures_rows_and_columns() {
        let lp = small(1.0);
        assert_eq!(lp.max_violation(&[0.0, 1.0, 0.0]), 0.0);
        // row 0 at 6 > 4
        assert!((lp.max_violation(&[4.0, 1.0, 0.0]) - 2.0).abs() < 1e-12);
        // row 1 at 0.5 < 1
        assert!((lp.max_violation(&[0.0, 0.5, 0.0]) - 0.5).abs() < 1e-12);
        // x0 below its lower bound 0
        assert!((lp.max_violation(&[-0.25, 1.0, 0.0]) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn a_new_instance_solves_the_lp_it_was_given() {
        let lp = small(1.0);
        let solved = lp.to_highs().unwrap().solve();
        // min x0 + 2 x1 + 0.5 x2 with x1 = 1 + x2, x0 + 2 x1 ≤ 4: x1 = 1, x2 = 0, x0 = 0.
        assert_eq!(solved.status(), highs::HighsModelStatus::Optimal);
        assert!((solved.objective_value() - 2.0).abs() < 1e-9);
    }
}
