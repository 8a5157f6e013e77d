//! A generator (gas engine): off, or running between its least and largest power.

use serde::{Deserialize, Serialize};

/// A generator's power range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// Least power when running, kW.
    pub min_kw: f64,
    /// Largest power, kW.
    pub max_kw: f64,
}

impl Generator {
    /// The power it delivers when told to run (`on`) at `power_kw`: 0 when off, else
    /// within `[min_kw, max_kw]`.
    pub fn output_kw(&self, on: bool, power_kw: f64) -> f64 {
        if !on || !power_kw.is_finite() {
            0.0
        } else {
            power_kw.clamp(self.min_kw, self.max_kw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_runs_within_its_range_or_not_at_all() {
        let g = Generator {
            min_kw: 300.0,
            max_kw: 1000.0,
        };
        assert_eq!(g.output_kw(true, 100.0), 300.0);
        assert_eq!(g.output_kw(true, 2000.0), 1000.0);
        assert_eq!(g.output_kw(false, 500.0), 0.0);
        assert_eq!(g.output_kw(true, f64::NAN), 0.0);
    }
}
