//! PVWatts DC power (pvlib `pvsystem.pvwatts_dc`) and the PVWatts inverter (Dobos 2014,
//! pvlib `inverter.pvwatts`). Powers are kW; the models are linear in the rating, so
//! any unit works as long as the power and its rating share it.

/// pvlib's default PVWatts inverter reference efficiency `eta_inv_ref`.
pub const INVERTER_REFERENCE_EFFICIENCY: f64 = 0.9637;
/// pvlib's default PVWatts inverter nominal efficiency `eta_inv_nom`.
pub const INVERTER_NOMINAL_EFFICIENCY: f64 = 0.96;

/// DC power, kW, before system losses:
/// `pdc0_kw · poa/1000 · (1 + gamma_pdc_per_c · (cell_temp_c − 25))`.
pub fn dc_kw(poa_w_m2: f64, cell_temp_c: f64, pdc0_kw: f64, gamma_pdc_per_c: f64) -> f64 {
    poa_w_m2 * 0.001 * pdc0_kw * (1.0 + gamma_pdc_per_c * (cell_temp_c - 25.0))
}

/// AC power, kW, of the PVWatts inverter with DC input limit `pdc0_kw`.
///
/// With ζ = dc/pdc0, the efficiency is `eta_nom/eta_ref · (−0.0162 ζ − 0.0059/ζ + 0.9858)`;
/// AC is `min(eta · dc, eta_nom · pdc0)`, then at least 0 (the efficiency turns negative
/// below ζ ≈ 0.006, pvlib GH 541). No DC gives no AC.
pub fn inverter_ac_kw(dc_kw: f64, pdc0_kw: f64, eta_nom: f64, eta_ref: f64) -> f64 {
    if dc_kw == 0.0 {
        return 0.0;
    }
    let zeta = dc_kw / pdc0_kw;
    let eta = eta_nom / eta_ref * (-0.0162 * zeta - 0.0059 / zeta + 0.9858);
    (eta * dc_kw).min(eta_nom * pdc0_kw).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_is_linear_in_irradiance_and_derated_by_heat() {
        assert!((dc_kw(1000.0, 25.0, 100.0, -0.004) - 100.0).abs() < 1e-12);
        assert!((dc_kw(500.0, 25.0, 100.0, -0.004) - 50.0).abs() < 1e-12);
        assert!((dc_kw(1000.0, 50.0, 100.0, -0.004) - 90.0).abs() < 1e-12);
    }

    #[test]
    fn inverter_clips_at_its_rating_and_never_goes_negative() {
        let (nom, r) = (INVERTER_NOMINAL_EFFICIENCY, INVERTER_REFERENCE_EFFICIENCY);
        assert_eq!(inverter_ac_kw(0.0, 90.0, nom, r), 0.0);
        assert_eq!(inverter_ac_kw(0.2, 90.0, nom, r), 0.0); // ζ < 0.006
        assert_eq!(inverter_ac_kw(200.0, 90.0, nom, r), 0.96 * 90.0);
        // At ζ = 1 the efficiency is eta_nom/eta_ref · 0.9637 = eta_nom.
        let ac = inverter_ac_kw(90.0, 90.0, nom, r);
        assert!((ac - 0.96 * 90.0).abs() < 1e-9, "{ac}");
        let half = inverter_ac_kw(45.0, 90.0, nom, r);
        assert!(half > 0.95 * 45.0 && half < 45.0, "{half}");
    }
}
