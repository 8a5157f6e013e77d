//! A generator's fuel store: the stock falls by what the generator burns and rises by the
//! refuelling rate, never above the tank's capacity.

use serde::{Deserialize, Serialize};

/// A fuel tank (or any store of fuel: a gas holder, a pile of cylinders), kWh of fuel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FuelTank {
    /// Most fuel it holds, kWh.
    pub capacity_kwh: f64,
    /// Fuel brought in per hour while there is room, kWh/h.
    pub refuel_kwh_per_h: f64,
}

/// Fuel burnt per hour by a generator delivering `power_kw` at electric efficiency
/// `efficiency` (output / fuel input), kWh/h.
pub fn fuel_kw(power_kw: f64, efficiency: f64) -> f64 {
    power_kw / efficiency
}

impl FuelTank {
    /// The stock after `hours` that start with `stock_kwh` and burn `burn_kw` (kWh/h):
    /// `min(capacity, stock + refuel · Δ − burn · Δ)`. Negative when more was burnt than
    /// the tank held and received: the caller's error to report.
    pub fn next_kwh(&self, stock_kwh: f64, burn_kw: f64, hours: f64) -> f64 {
        (stock_kwh + (self.refuel_kwh_per_h - burn_kw) * hours).min(self.capacity_kwh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stock_falls_with_burning_and_refills_to_the_capacity() {
        let tank = FuelTank {
            capacity_kwh: 1000.0,
            refuel_kwh_per_h: 100.0,
        };
        // 500 kW at 40 %: 1,250 kWh of fuel an hour.
        let burn = fuel_kw(500.0, 0.4);
        assert_eq!(burn, 1250.0);
        assert_eq!(
            tank.next_kwh(1000.0, burn, 0.5),
            1000.0 + (100.0 - 1250.0) * 0.5
        );
        assert_eq!(tank.next_kwh(950.0, 0.0, 1.0), 1000.0);
        assert!(tank.next_kwh(100.0, burn, 1.0) < 0.0);
    }
}
