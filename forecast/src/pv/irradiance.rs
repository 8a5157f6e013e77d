//! Irradiance: extraterrestrial (Spencer 1971), decomposition of GHI into beam and
//! diffuse (Erbs et al. 1982) and transposition to the array plane (Hay & Davies 1980,
//! plus isotropic ground reflection), each as pvlib implements it (`get_extra_radiation`,
//! `erbs`, `haydavies`, `get_ground_diffuse`, `poa_components`), pvlib's guards included.
//!
//! Angles are degrees, irradiances W/m².

/// pvlib's default solar constant, W/m².
pub const SOLAR_CONSTANT_W_M2: f64 = 1366.1;
/// Erbs: floor of cos(zenith) in the clearness index (pvlib's `min_cos_zenith`).
pub const ERBS_MIN_COS_ZENITH: f64 = 0.065;
/// Erbs: zenith beyond which DNI is 0 and all of GHI is diffuse (pvlib's `max_zenith`).
pub const ERBS_MAX_ZENITH_DEG: f64 = 87.0;
/// Hay-Davies: floor of cos(zenith) in the beam ratio Rb (pvlib, GH 432).
pub const HAY_DAVIES_MIN_COS_ZENITH: f64 = 0.01745;

/// Extraterrestrial normal irradiance, W/m², on day `day_of_year` (1 = 1 January), by
/// Spencer's Fourier series for (R₀/R)² with the day angle 2π(doy − 1)/365.
pub fn extraterrestrial_normal_w_m2(day_of_year: u32) -> f64 {
    let b = 2.0 * std::f64::consts::PI / 365.0 * (f64::from(day_of_year) - 1.0);
    let r0_over_r_sq = 1.00011
        + 0.034221 * b.cos()
        + 0.00128 * b.sin()
        + 0.000719 * (2.0 * b).cos()
        + 7.7e-05 * (2.0 * b).sin();
    SOLAR_CONSTANT_W_M2 * r0_over_r_sq
}

/// Clearness index kt = GHI / (E₀ · max(cos z, `min_cos_zenith`)), clipped to
/// [0, `max_clearness_index`] (pvlib `clearness_index`).
pub fn clearness_index(
    ghi_w_m2: f64,
    zenith_deg: f64,
    dni_extra_w_m2: f64,
    min_cos_zenith: f64,
    max_clearness_index: f64,
) -> f64 {
    let i0h = dni_extra_w_m2 * zenith_deg.to_radians().cos().max(min_cos_zenith);
    (ghi_w_m2 / i0h).max(0.0).min(max_clearness_index)
}

/// GHI split into its beam and diffuse parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErbsSplit {
    /// Direct normal irradiance, W/m².
    pub dni_w_m2: f64,
    /// Diffuse horizontal irradiance, W/m².
    pub dhi_w_m2: f64,
    /// Clearness index kt (clipped to [0, 1]).
    pub clearness_index: f64,
}

/// Erbs decomposition of GHI (pvlib `erbs`, `min_cos_zenith` 0.065, `max_zenith` 87°).
///
/// The diffuse fraction is 1 − 0.09 kt for kt ≤ 0.22, a quartic for 0.22 < kt ≤ 0.8 and
/// 0.165 above. Where the zenith exceeds 87°, GHI is negative or the DNI would be
/// negative, DNI is 0 and DHI = GHI.
pub fn erbs(ghi_w_m2: f64, zenith_deg: f64, dni_extra_w_m2: f64) -> ErbsSplit {
    let kt = clearness_index(
        ghi_w_m2,
        zenith_deg,
        dni_extra_w_m2,
        ERBS_MIN_COS_ZENITH,
        1.0,
    );
    let df = if kt > 0.8 {
        0.165
    } else if kt > 0.22 {
        0.9511 - 0.1604 * kt + 4.388 * kt.powi(2) - 16.638 * kt.powi(3) + 12.336 * kt.powi(4)
    } else {
        1.0 - 0.09 * kt
    };
    let dhi = df * ghi_w_m2;
    let dni = (ghi_w_m2 - dhi) / zenith_deg.to_radians().cos();
    // A NaN (0/0 at a zenith of exactly 90°) counts as bad too.
    let bad = zenith_deg > ERBS_MAX_ZENITH_DEG || ghi_w_m2 < 0.0 || dni.is_nan() || dni < 0.0;
    if bad {
        ErbsSplit {
            dni_w_m2: 0.0,
            dhi_w_m2: ghi_w_m2,
            clearness_index: kt,
        }
    } else {
        ErbsSplit {
            dni_w_m2: dni,
            dhi_w_m2: dhi,
            clearness_index: kt,
        }
    }
}

/// A plane (the array's modules), with its trigonometry precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    /// Tilt from horizontal, degrees.
    pub tilt_deg: f64,
    /// Azimuth, degrees clockwise from north.
    pub azimuth_deg: f64,
    cos_tilt: f64,
    sin_tilt: f64,
}

impl Plane {
    /// A plane tilted `tilt_deg` from horizontal, facing `azimuth_deg` (clockwise from
    /// north).
    pub fn new(tilt_deg: f64, azimuth_deg: f64) -> Self {
        let (sin_tilt, cos_tilt) = tilt_deg.to_radians().sin_cos();
        Plane {
            tilt_deg,
            azimuth_deg,
            cos_tilt,
            sin_tilt,
        }
    }

    /// cos of the angle of incidence of the Sun on the plane, clipped to [−1, 1]
    /// (pvlib `aoi_projection`); negative when the Sun is behind the plane.
    pub fn aoi_projection(&self, zenith_deg: f64, azimuth_deg: f64) -> f64 {
        let (sin_z, cos_z) = zenith_deg.to_radians().sin_cos();
        let p = self.cos_tilt * cos_z
            + self.sin_tilt * sin_z * (azimuth_deg - self.azimuth_deg).to_radians().cos();
        p.clamp(-1.0, 1.0)
    }

    /// Sky diffuse irradiance on the plane by Hay & Davies (pvlib `haydavies`): the
    /// anisotropy index A = DNI/E₀ weights a circumsolar part DHI·A·Rb against an
    /// isotropic part DHI·(1 − A)·(1 + cos β)/2, each clipped at 0, with
    /// Rb = max(cos θ, 0) / max(cos z, 0.01745).
    pub fn hay_davies_sky_diffuse_w_m2(
        &self,
        dhi_w_m2: f64,
        dni_w_m2: f64,
        dni_extra_w_m2: f64,
        zenith_deg: f64,
        azimuth_deg: f64,
    ) -> f64 {
        let cos_tt = self.aoi_projection(zenith_deg, azimuth_deg).max(0.0);
        let rb = cos_tt / zenith_deg.to_radians().cos().max(HAY_DAVIES_MIN_COS_ZENITH);
        let ai = dni_w_m2 / dni_extra_w_m2;
        let isotropic = (dhi_w_m2 * (1.0 - ai) * 0.5 * (1.0 + self.cos_tilt)).max(0.0);
        let circumsolar = (dhi_w_m2 * (ai * rb)).max(0.0);
        isotropic + circumsolar
    }

    /// Ground-reflected irradiance on the plane: GHI · albedo · (1 − cos β)/2 (pvlib
    /// `get_ground_diffuse`).
    pub fn ground_diffuse_w_m2(&self, ghi_w_m2: f64, albedo: f64) -> f64 {
        ghi_w_m2 * albedo * (1.0 - self.cos_tilt) * 0.5
    }

    /// Plane-of-array irradiance with Hay-Davies sky diffuse (pvlib
    /// `get_total_irradiance(model='haydavies')`).
    #[allow(clippy::too_many_arguments)]
    pub fn poa_hay_davies(
        &self,
        ghi_w_m2: f64,
        dni_w_m2: f64,
        dhi_w_m2: f64,
        dni_extra_w_m2: f64,
        zenith_deg: f64,
        azimuth_deg: f64,
        albedo: f64,
    ) -> PoaIrradiance {
        let direct = (dni_w_m2 * self.aoi_projection(zenith_deg, azimuth_deg)).max(0.0);
        let sky = self.hay_davies_sky_diffuse_w_m2(
            dhi_w_m2,
            dni_w_m2,
            dni_extra_w_m2,
            zenith_deg,
            azimuth_deg,
        );
        let ground = self.ground_diffuse_w_m2(ghi_w_m2, albedo);
        PoaIrradiance {
            global_w_m2: direct + sky + ground,
            direct_w_m2: direct,
            sky_diffuse_w_m2: sky,
            ground_diffuse_w_m2: ground,
        }
    }
}

/// Irradiance on the array plane and its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoaIrradiance {
    /// Beam + sky diffuse + ground-reflected, W/m².
    pub global_w_m2: f64,
    /// Beam on the plane, max(DNI · cos θ, 0), W/m².
    pub direct_w_m2: f64,
    /// Sky diffuse on the plane, W/m².
    pub sky_diffuse_w_m2: f64,
    /// Ground-reflected on the plane, W/m².
    pub ground_diffuse_w_m2: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spencer_peaks_in_january_and_dips_in_july() {
        // The fixtures' values (pvlib): 15 Jan 1412.984954, 21 Jun 1321.623593.
        assert!((extraterrestrial_normal_w_m2(15) - 1412.984954).abs() < 1e-6);
        assert!((extraterrestrial_normal_w_m2(172) - 1321.623593).abs() < 1e-6);
    }

    #[test]
    fn erbs_keeps_closure_and_its_guards() {
        let e0 = extraterrestrial_normal_w_m2(80);
        let z: f64 = 40.0;
        for ghi in [0.0, 50.0, 300.0, 700.0, 1000.0] {
            let s = erbs(ghi, z, e0);
            let closure = s.dhi_w_m2 + s.dni_w_m2 * z.to_radians().cos();
            assert!((closure - ghi).abs() < 1e-9, "{ghi}: {s:?}");
        }
        // Beyond 87°: all diffuse.
        let s = erbs(5.0, 88.0, e0);
        assert_eq!((s.dni_w_m2, s.dhi_w_m2), (0.0, 5.0));
        // Negative GHI passes through as DHI (pvlib), DNI 0.
        let s = erbs(-2.0, 30.0, e0);
        assert_eq!((s.dni_w_m2, s.dhi_w_m2), (0.0, -2.0));
        // kt is clipped to 1: an impossible GHI gives the kt > 0.8 branch.
        let s = erbs(2000.0, 10.0, e0);
        assert_eq!(s.clearness_index, 1.0);
        assert!((s.dhi_w_m2 - 0.165 * 2000.0).abs() < 1e-9);
    }

    #[test]
    fn horizontal_plane_sees_ghi() {
        let p = Plane::new(0.0, 180.0);
        let e0 = extraterrestrial_normal_w_m2(172);
        let (ghi, z, az) = (800.0, 30.0, 150.0);
        let s = erbs(ghi, z, e0);
        let poa = p.poa_hay_davies(ghi, s.dni_w_m2, s.dhi_w_m2, e0, z, az, 0.2);
        assert!((poa.global_w_m2 - ghi).abs() < 1e-9, "{poa:?}");
        assert_eq!(poa.ground_diffuse_w_m2, 0.0);
    }

    #[test]
    fn sun_behind_the_plane_gives_no_beam() {
        let p = Plane::new(30.0, 180.0);
        let poa = p.poa_hay_davies(100.0, 300.0, 50.0, 1367.0, 80.0, 0.0, 0.2);
        assert_eq!(poa.direct_w_m2, 0.0);
        assert!(poa.sky_diffuse_w_m2 > 0.0);
    }
}
