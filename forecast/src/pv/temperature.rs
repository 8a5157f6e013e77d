//! Cell temperature by Faiman (2008), as pvlib `temperature.faiman`.

/// pvlib's default Faiman constant heat loss factor u0, W/(m²·°C).
pub const FAIMAN_U0: f64 = 25.0;
/// pvlib's default Faiman wind heat loss factor u1, W·s/(m³·°C).
pub const FAIMAN_U1: f64 = 6.84;

/// Cell temperature, °C: `temp_air_c + poa_global_w_m2 / (u0 + u1 · wind_m_s)`.
///
/// The heat balance of a module in steady state: the absorbed plane-of-array irradiance
/// is lost to the air through a constant and a wind-driven convective term.
pub fn faiman_cell_temp_c(
    poa_global_w_m2: f64,
    temp_air_c: f64,
    wind_m_s: f64,
    u0: f64,
    u1: f64,
) -> f64 {
    temp_air_c + poa_global_w_m2 / (u0 + u1 * wind_m_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sun_means_air_temperature_and_wind_cools() {
        assert_eq!(
            faiman_cell_temp_c(0.0, 12.5, 3.0, FAIMAN_U0, FAIMAN_U1),
            12.5
        );
        let calm = faiman_cell_temp_c(1000.0, 25.0, 0.0, FAIMAN_U0, FAIMAN_U1);
        let windy = faiman_cell_temp_c(1000.0, 25.0, 5.0, FAIMAN_U0, FAIMAN_U1);
        assert!((calm - 65.0).abs() < 1e-12);
        assert!(windy < calm && windy > 25.0);
    }
}
