//! Solar position by the NREL Solar Position Algorithm (Reda & Andreas 2004, with the
//! 2007 corrigendum), as pvlib's `spa_python` computes it.
//!
//! The algorithm is split where the physics splits: [`SunEphemeris`] is everything that
//! depends on the time alone (Earth's heliocentric position from the VSOP87 periodic
//! terms, nutation, aberration, apparent sidereal time, the Sun's geocentric right
//! ascension and declination); [`SunEphemeris::position`] adds the observer (parallax,
//! topocentric hour angle, elevation, refraction and azimuth). Many arrays at one time
//! step share one ephemeris.
//!
//! Time is UTC seconds since 1970 (UT1 − UTC, below 1 s, is taken as 0 like pvlib);
//! terrestrial time is UT + ΔT with ΔT = [`DEFAULT_DELTA_T_S`] by default (pvlib's
//! `spa_python` default, 67 s). A ΔT off by 2 s moves the Sun by under 0.01°.

/// pvlib `spa_python`'s default TT − UT1, seconds.
pub const DEFAULT_DELTA_T_S: f64 = 67.0;
/// Standard sea-level pressure, hPa (mbar).
pub const STANDARD_PRESSURE_HPA: f64 = 1013.25;
/// SPA's default annual mean temperature for refraction, °C.
pub const DEFAULT_TEMPERATURE_C: f64 = 12.0;
/// Atmospheric refraction at sunrise and sunset, degrees (SPA's default).
pub const DEFAULT_ATMOS_REFRACT_DEG: f64 = 0.5667;

/// The Sun at one instant for one observer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolarPosition {
    /// True (unrefracted) topocentric zenith angle, degrees.
    pub zenith_deg: f64,
    /// Apparent zenith angle, corrected for refraction, degrees.
    pub apparent_zenith_deg: f64,
    /// Topocentric azimuth, degrees clockwise from north.
    pub azimuth_deg: f64,
    /// Topocentric hour angle, degrees in (−180, 180], negative before solar noon.
    pub hour_angle_deg: f64,
}

/// An observer on the Earth, with the terms of the parallax correction precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observer {
    latitude_deg: f64,
    longitude_deg: f64,
    sin_lat: f64,
    cos_lat: f64,
    /// `x` of SPA eq. (§3.12.4): ρ cos φ′ in Earth radii.
    x: f64,
    /// `y` of SPA eq. (§3.12.5): ρ sin φ′ in Earth radii.
    y: f64,
    pressure_hpa: f64,
    temperature_c: f64,
    atmos_refract_deg: f64,
}

impl Observer {
    /// An observer at a latitude (degrees north), longitude (degrees east) and altitude
    /// (metres), with standard pressure and 12 °C for the refraction.
    pub fn new(latitude_deg: f64, longitude_deg: f64, altitude_m: f64) -> Self {
        Self::with_atmosphere(
            latitude_deg,
            longitude_deg,
            altitude_m,
            STANDARD_PRESSURE_HPA,
            DEFAULT_TEMPERATURE_C,
        )
    }

    /// An observer with a given annual mean pressure (hPa) and temperature (°C); these
    /// change only the apparent (refracted) zenith.
    pub fn with_atmosphere(
        latitude_deg: f64,
        longitude_deg: f64,
        altitude_m: f64,
        pressure_hpa: f64,
        temperature_c: f64,
    ) -> Self {
        let phi = latitude_deg.to_radians();
        let u = (0.99664719 * phi.tan()).atan();
        let h = altitude_m / 6378140.0;
        Observer {
            latitude_deg,
            longitude_deg,
            sin_lat: phi.sin(),
            cos_lat: phi.cos(),
            x: u.cos() + h * phi.cos(),
            y: 0.99664719 * u.sin() + h * phi.sin(),
            pressure_hpa,
            temperature_c,
            atmos_refract_deg: DEFAULT_ATMOS_REFRACT_DEG,
        }
    }

    /// Latitude, degrees north.
    pub fn latitude_deg(&self) -> f64 {
        self.latitude_deg
    }

    /// Longitude, degrees east.
    pub fn longitude_deg(&self) -> f64 {
        self.longitude_deg
    }
}

/// The time-only part of the SPA: where the Sun is seen from the Earth's centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunEphemeris {
    /// Julian day (UT).
    pub julian_day: f64,
    /// Earth–Sun distance, astronomical units.
    pub earth_sun_distance_au: f64,
    /// Apparent sidereal time at Greenwich, degrees.
    pub apparent_sidereal_time_deg: f64,
    /// Geocentric right ascension of the Sun, degrees.
    pub right_ascension_deg: f64,
    /// Geocentric declination of the Sun, degrees.
    pub declination_deg: f64,
}

impl SunEphemeris {
    /// The ephemeris at `unix_s` seconds since 1970-01-01T00:00:00Z, with TT − UT =
    /// `delta_t_s` seconds.
    pub fn at_unix(unix_s: f64, delta_t_s: f64) -> Self {
        let jd = unix_s / 86400.0 + 2440587.5;
        let jde = jd + delta_t_s / 86400.0;
        let jc = (jd - 2451545.0) / 36525.0;
        let jce = (jde - 2451545.0) / 36525.0;
        let jme = jce / 10.0;

        let l_deg = heliocentric_longitude_deg(jme);
        let b_deg = heliocentric_latitude_deg(jme);
        let r_au = heliocentric_radius_au(jme);

        let theta = (l_deg + 180.0).rem_euclid(360.0);
        let beta = -b_deg;

        let (delta_psi, delta_eps) = nutation_deg(jce);
        let eps0 = mean_ecliptic_obliquity_arcsec(jme);
        let eps = eps0 / 3600.0 + delta_eps;
        let delta_tau = -20.4898 / (3600.0 * r_au);
        let lambda = theta + delta_psi + delta_tau;

        let nu0 = (280.46061837 + 360.98564736629 * (jd - 2451545.0) + 0.000387933 * jc * jc
            - jc * jc * jc / 38710000.0)
            .rem_euclid(360.0);
        let eps_r = eps.to_radians();
        let nu = nu0 + delta_psi * eps_r.cos();

        let (sin_lambda, cos_lambda) = lambda.to_radians().sin_cos();
        let beta_r = beta.to_radians();
        let alpha = (sin_lambda * eps_r.cos() - beta_r.tan() * eps_r.sin())
            .atan2(cos_lambda)
            .to_degrees()
            .rem_euclid(360.0);
        let delta = (beta_r.sin() * eps_r.cos() + beta_r.cos() * eps_r.sin() * sin_lambda)
            .asin()
            .to_degrees();

        SunEphemeris {
            julian_day: jd,
            earth_sun_distance_au: r_au,
            apparent_sidereal_time_deg: nu,
            right_ascension_deg: alpha,
            declination_deg: delta,
        }
    }

    /// The Sun as seen by `observer` (topocentric, SPA §3.9–3.15).
    pub fn position(&self, observer: &Observer) -> SolarPosition {
        let h = (self.apparent_sidereal_time_deg + observer.longitude_deg
            - self.right_ascension_deg)
            .rem_euclid(360.0);
        let xi = (8.794 / (3600.0 * self.earth_sun_distance_au)).to_radians();
        let (sin_h, cos_h) = h.to_radians().sin_cos();
        let (sin_d, cos_d) = self.declination_deg.to_radians().sin_cos();
        let sin_xi = xi.sin();

        let denom = cos_d - observer.x * sin_xi * cos_h;
        let delta_alpha = (-observer.x * sin_xi * sin_h).atan2(denom);
        let delta_prime = ((sin_d - observer.y * sin_xi) * delta_alpha.cos()).atan2(denom);
        let h_prime = h.to_radians() - delta_alpha;

        let (sin_hp, cos_hp) = h_prime.sin_cos();
        let (sin_dp, cos_dp) = delta_prime.sin_cos();
        let e0 = (observer.sin_lat * sin_dp + observer.cos_lat * cos_dp * cos_hp)
            .asin()
            .to_degrees();

        let refraction = if e0 >= -(0.26667 + observer.atmos_refract_deg) {
            (observer.pressure_hpa / 1010.0) * (283.0 / (273.0 + observer.temperature_c)) * 1.02
                / (60.0 * (e0 + 10.3 / (e0 + 5.11)).to_radians().tan())
        } else {
            0.0
        };

        let gamma = sin_hp
            .atan2(cos_hp * observer.sin_lat - (sin_dp / cos_dp) * observer.cos_lat)
            .to_degrees()
            .rem_euclid(360.0);
        let azimuth = (gamma + 180.0).rem_euclid(360.0);

        let mut hour_angle = h_prime.to_degrees().rem_euclid(360.0);
        if hour_angle > 180.0 {
            hour_angle -= 360.0;
        }

        SolarPosition {
            zenith_deg: 90.0 - e0,
            apparent_zenith_deg: 90.0 - (e0 + refraction),
            azimuth_deg: azimuth,
            hour_angle_deg: hour_angle,
        }
    }
}

/// The Sun's position for one observer at `unix_s` (UTC seconds since 1970) with
/// TT − UT = `delta_t_s`.
pub fn solar_position(unix_s: f64, observer: &Observer, delta_t_s: f64) -> SolarPosition {
    SunEphemeris::at_unix(unix_s, delta_t_s).position(observer)
}

/// Σ A·cos(B + C·jme) over one table of periodic terms.
fn periodic_sum(table: &[[f64; 3]], jme: f64) -> f64 {
    table.iter().map(|t| t[0] * (t[1] + t[2] * jme).cos()).sum()
}

/// Evaluates L0 + L1·jme + … (Horner) for series of periodic terms, scaled by 1e-8.
fn series(tables: &[&[[f64; 3]]], jme: f64) -> f64 {
    let mut acc = 0.0;
    for table in tables.iter().rev() {
        acc = acc * jme + periodic_sum(table, jme);
    }
    acc / 1e8
}

fn heliocentric_longitude_deg(jme: f64) -> f64 {
    series(&[&L0, &L1, &L2, &L3, &L4, &L5], jme)
        .to_degrees()
        .rem_euclid(360.0)
}

fn heliocentric_latitude_deg(jme: f64) -> f64 {
    series(&[&B0, &B1], jme).to_degrees()
}

fn heliocentric_radius_au(jme: f64) -> f64 {
    series(&[&R0, &R1, &R2, &R3, &R4], jme)
}

/// Nutation in longitude and obliquity (Δψ, Δε), degrees.
fn nutation_deg(jce: f64) -> (f64, f64) {
    let jce2 = jce * jce;
    let jce3 = jce2 * jce;
    let x = [
        297.85036 + 445267.111480 * jce - 0.0019142 * jce2 + jce3 / 189474.0,
        357.52772 + 35999.050340 * jce - 0.0001603 * jce2 - jce3 / 300000.0,
        134.96298 + 477198.867398 * jce + 0.0086972 * jce2 + jce3 / 56250.0,
        93.27191 + 483202.017538 * jce - 0.0036825 * jce2 + jce3 / 327270.0,
        125.04452 - 1934.136261 * jce + 0.0020708 * jce2 + jce3 / 450000.0,
    ];
    let mut dpsi = 0.0;
    let mut deps = 0.0;
    for (y, abcd) in NUTATION_Y.iter().zip(NUTATION_ABCD.iter()) {
        let arg: f64 = y.iter().zip(x.iter()).map(|(&yi, &xi)| yi * xi).sum();
        let (s, c) = arg.to_radians().sin_cos();
        dpsi += (abcd[0] + abcd[1] * jce) * s;
        deps += (abcd[2] + abcd[3] * jce) * c;
    }
    (dpsi / 36_000_000.0, deps / 36_000_000.0)
}

/// Mean obliquity of the ecliptic, arc seconds.
fn mean_ecliptic_obliquity_arcsec(jme: f64) -> f64 {
    const C: [f64; 11] = [
        84381.448, -4680.93, -1.55, 1999.25, -51.38, -249.67, -39.05, 7.12, 27.87, 5.79, 2.45,
    ];
    let u = jme / 10.0;
    C.iter().rev().fold(0.0, |acc, &c| acc * u + c)
}

// Earth periodic terms (Reda & Andreas 2004, Table A4.2): [A, B, C].
const L0: [[f64; 3]; 64] = [
    [175347046.0, 0.0, 0.0],
    [3341656.0, 4.6692568, 6283.07585],
    [34894.0, 4.6261, 12566.1517],
    [3497.0, 2.7441, 5753.3849],
    [3418.0, 2.8289, 3.5231],
    [3136.0, 3.6277, 77713.7715],
    [2676.0, 4.4181, 7860.4194],
    [2343.0, 6.1352, 3930.2097],
    [1324.0, 0.7425, 11506.7698],
    [1273.0, 2.0371, 529.691],
    [1199.0, 1.1096, 1577.3435],
    [990.0, 5.233, 5884.927],
    [902.0, 2.045, 26.298],
    [857.0, 3.508, 398.149],
    [780.0, 1.179, 5223.694],
    [753.0, 2.533, 5507.553],
    [505.0, 4.583, 18849.228],
    [492.0, 4.205, 775.523],
    [357.0, 2.92, 0.067],
    [317.0, 5.849, 11790.629],
    [284.0, 1.899, 796.298],
    [271.0, 0.315, 10977.079],
    [243.0, 0.345, 5486.778],
    [206.0, 4.806, 2544.314],
    [205.0, 1.869, 5573.143],
    [202.0, 2.458, 6069.777],
    [156.0, 0.833, 213.299],
    [132.0, 3.411, 2942.463],
    [126.0, 1.083, 20.775],
    [115.0, 0.645, 0.98],
    [103.0, 0.636, 4694.003],
    [102.0, 0.976, 15720.839],
    [102.0, 4.267, 7.114],
    [99.0, 6.21, 2146.17],
    [98.0, 0.68, 155.42],
    [86.0, 5.98, 161000.69],
    [85.0, 1.3, 6275.96],
    [85.0, 3.67, 71430.7],
    [80.0, 1.81, 17260.15],
    [79.0, 3.04, 12036.46],
    [75.0, 1.76, 5088.63],
    [74.0, 3.5, 3154.69],
    [74.0, 4.68, 801.82],
    [70.0, 0.83, 9437.76],
    [62.0, 3.98, 8827.39],
    [61.0, 1.82, 7084.9],
    [57.0, 2.78, 6286.6],
    [56.0, 4.39, 14143.5],
    [56.0, 3.47, 6279.55],
    [52.0, 0.19, 12139.55],
    [52.0, 1.33, 1748.02],
    [51.0, 0.28, 5856.48],
    [49.0, 0.49, 1194.45],
    [41.0, 5.37, 8429.24],
    [41.0, 2.4, 19651.05],
    [39.0, 6.17, 10447.39],
    [37.0, 6.04, 10213.29],
    [37.0, 2.57, 1059.38],
    [36.0, 1.71, 2352.87],
    [36.0, 1.78, 6812.77],
    [33.0, 0.59, 17789.85],
    [30.0, 0.44, 83996.85],
    [30.0, 2.74, 1349.87],
    [25.0, 3.16, 4690.48],
];

const L1: [[f64; 3]; 34] = [
    [628331966747.0, 0.0, 0.0],
    [206059.0, 2.678235, 6283.07585],
    [4303.0, 2.6351, 12566.1517],
    [425.0, 1.59, 3.523],
    [119.0, 5.796, 26.298],
    [109.0, 2.966, 1577.344],
    [93.0, 2.59, 18849.23],
    [72.0, 1.14, 529.69],
    [68.0, 1.87, 398.15],
    [67.0, 4.41, 5507.55],
    [59.0, 2.89, 5223.69],
    [56.0, 2.17, 155.42],
    [45.0, 0.4, 796.3],
    [36.0, 0.47, 775.52],
    [29.0, 2.65, 7.11],
    [21.0, 5.34, 0.98],
    [19.0, 1.85, 5486.78],
    [19.0, 4.97, 213.3],
    [17.0, 2.99, 6275.96],
    [16.0, 0.03, 2544.31],
    [16.0, 1.43, 2146.17],
    [15.0, 1.21, 10977.08],
    [12.0, 2.83, 1748.02],
    [12.0, 3.26, 5088.63],
    [12.0, 5.27, 1194.45],
    [12.0, 2.08, 4694.0],
    [11.0, 0.77, 553.57],
    [10.0, 1.3, 6286.6],
    [10.0, 4.24, 1349.87],
    [9.0, 2.7, 242.73],
    [9.0, 5.64, 951.72],
    [8.0, 5.3, 2352.87],
    [6.0, 2.65, 9437.76],
    [6.0, 4.67, 4690.48],
];

const L2: [[f64; 3]; 20] = [
    [52919.0, 0.0, 0.0],
    [8720.0, 1.0721, 6283.0758],
    [309.0, 0.867, 12566.152],
    [27.0, 0.05, 3.52],
    [16.0, 5.19, 26.3],
    [16.0, 3.68, 155.42],
    [10.0, 0.76, 18849.23],
    [9.0, 2.06, 77713.77],
    [7.0, 0.83, 775.52],
    [5.0, 4.66, 1577.34],
    [4.0, 1.03, 7.11],
    [4.0, 3.44, 5573.14],
    [3.0, 5.14, 796.3],
    [3.0, 6.05, 5507.55],
    [3.0, 1.19, 242.73],
    [3.0, 6.12, 529.69],
    [3.0, 0.31, 398.15],
    [3.0, 2.28, 553.57],
    [2.0, 4.38, 5223.69],
    [2.0, 3.75, 0.98],
];

const L3: [[f64; 3]; 7] = [
    [289.0, 5.844, 6283.076],
    [35.0, 0.0, 0.0],
    [17.0, 5.49, 12566.15],
    [3.0, 5.2, 155.42],
    [1.0, 4.72, 3.52],
    [1.0, 5.3, 18849.23],
    [1.0, 5.97, 242.73],
];

// The published coefficients (3.14, 3.142) are not π and must stay as printed.
#[allow(clippy::approx_constant)]
const L4: [[f64; 3]; 3] = [
    [114.0, 3.142, 0.0],
    [8.0, 4.13, 6283.08],
    [1.0, 3.84, 12566.15],
];

// The published coefficients (3.14, 3.142) are not π and must stay as printed.
#[allow(clippy::approx_constant)]
const L5: [[f64; 3]; 1] = [[1.0, 3.14, 0.0]];

const B0: [[f64; 3]; 5] = [
    [280.0, 3.199, 84334.662],
    [102.0, 5.422, 5507.553],
    [80.0, 3.88, 5223.69],
    [44.0, 3.7, 2352.87],
    [32.0, 4.0, 1577.34],
];

const B1: [[f64; 3]; 2] = [[9.0, 3.9, 5507.55], [6.0, 1.73, 5223.69]];

const R0: [[f64; 3]; 40] = [
    [100013989.0, 0.0, 0.0],
    [1670700.0, 3.0984635, 6283.07585],
    [13956.0, 3.05525, 12566.1517],
    [3084.0, 5.1985, 77713.7715],
    [1628.0, 1.1739, 5753.3849],
    [1576.0, 2.8469, 7860.4194],
    [925.0, 5.453, 11506.77],
    [542.0, 4.564, 3930.21],
    [472.0, 3.661, 5884.927],
    [346.0, 0.964, 5507.553],
    [329.0, 5.9, 5223.694],
    [307.0, 0.299, 5573.143],
    [243.0, 4.273, 11790.629],
    [212.0, 5.847, 1577.344],
    [186.0, 5.022, 10977.079],
    [175.0, 3.012, 18849.228],
    [110.0, 5.055, 5486.778],
    [98.0, 0.89, 6069.78],
    [86.0, 5.69, 15720.84],
    [86.0, 1.27, 161000.69],
    [65.0, 0.27, 17260.15],
    [63.0, 0.92, 529.69],
    [57.0, 2.01, 83996.85],
    [56.0, 5.24, 71430.7],
    [49.0, 3.25, 2544.31],
    [47.0, 2.58, 775.52],
    [45.0, 5.54, 9437.76],
    [43.0, 6.01, 6275.96],
    [39.0, 5.36, 4694.0],
    [38.0, 2.39, 8827.39],
    [37.0, 0.83, 19651.05],
    [37.0, 4.9, 12139.55],
    [36.0, 1.67, 12036.46],
    [35.0, 1.84, 2942.46],
    [33.0, 0.24, 7084.9],
    [32.0, 0.18, 5088.63],
    [32.0, 1.78, 398.15],
    [28.0, 1.21, 6286.6],
    [28.0, 1.9, 6279.55],
    [26.0, 4.59, 10447.39],
];

// The published coefficients (3.14, 3.142) are not π and must stay as printed.
#[allow(clippy::approx_constant)]
const R1: [[f64; 3]; 10] = [
    [103019.0, 1.10749, 6283.07585],
    [1721.0, 1.0644, 12566.1517],
    [702.0, 3.142, 0.0],
    [32.0, 1.02, 18849.23],
    [31.0, 2.84, 5507.55],
    [25.0, 1.32, 5223.69],
    [18.0, 1.42, 1577.34],
    [10.0, 5.91, 10977.08],
    [9.0, 1.42, 6275.96],
    [9.0, 0.27, 5486.78],
];

// The published coefficients (3.14, 3.142) are not π and must stay as printed.
#[allow(clippy::approx_constant)]
const R2: [[f64; 3]; 6] = [
    [4359.0, 5.7846, 6283.0758],
    [124.0, 5.579, 12566.152],
    [12.0, 3.14, 0.0],
    [9.0, 3.63, 77713.77],
    [6.0, 1.87, 5573.14],
    [3.0, 5.47, 18849.23],
];

const R3: [[f64; 3]; 2] = [[145.0, 4.273, 6283.076], [7.0, 3.92, 12566.15]];

const R4: [[f64; 3]; 1] = [[4.0, 2.56, 6283.08]];

// Nutation terms (Table A4.3): multiples of X0..X4 and coefficients a, b, c, d
// (0.0001″ units).
const NUTATION_Y: [[f64; 5]; 63] = [
    [0.0, 0.0, 0.0, 0.0, 1.0],
    [-2.0, 0.0, 0.0, 2.0, 2.0],
    [0.0, 0.0, 0.0, 2.0, 2.0],
    [0.0, 0.0, 0.0, 0.0, 2.0],
    [0.0, 1.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0, 0.0],
    [-2.0, 1.0, 0.0, 2.0, 2.0],
    [0.0, 0.0, 0.0, 2.0, 1.0],
    [0.0, 0.0, 1.0, 2.0, 2.0],
    [-2.0, -1.0, 0.0, 2.0, 2.0],
    [-2.0, 0.0, 1.0, 0.0, 0.0],
    [-2.0, 0.0, 0.0, 2.0, 1.0],
    [0.0, 0.0, -1.0, 2.0, 2.0],
    [2.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0, 1.0],
    [2.0, 0.0, -1.0, 2.0, 2.0],
    [0.0, 0.0, -1.0, 0.0, 1.0],
    [0.0, 0.0, 1.0, 2.0, 1.0],
    [-2.0, 0.0, 2.0, 0.0, 0.0],
    [0.0, 0.0, -2.0, 2.0, 1.0],
    [2.0, 0.0, 0.0, 2.0, 2.0],
    [0.0, 0.0, 2.0, 2.0, 2.0],
    [0.0, 0.0, 2.0, 0.0, 0.0],
    [-2.0, 0.0, 1.0, 2.0, 2.0],
    [0.0, 0.0, 0.0, 2.0, 0.0],
    [-2.0, 0.0, 0.0, 2.0, 0.0],
    [0.0, 0.0, -1.0, 2.0, 1.0],
    [0.0, 2.0, 0.0, 0.0, 0.0],
    [2.0, 0.0, -1.0, 0.0, 1.0],
    [-2.0, 2.0, 0.0, 2.0, 2.0],
    [0.0, 1.0, 0.0, 0.0, 1.0],
    [-2.0, 0.0, 1.0, 0.0, 1.0],
    [0.0, -1.0, 0.0, 0.0, 1.0],
    [0.0, 0.0, 2.0, -2.0, 0.0],
    [2.0, 0.0, -1.0, 2.0, 1.0],
    [2.0, 0.0, 1.0, 2.0, 2.0],
    [0.0, 1.0, 0.0, 2.0, 2.0],
    [-2.0, 1.0, 1.0, 0.0, 0.0],
    [0.0, -1.0, 0.0, 2.0, 2.0],
    [2.0, 0.0, 0.0, 2.0, 1.0],
    [2.0, 0.0, 1.0, 0.0, 0.0],
    [-2.0, 0.0, 2.0, 2.0, 2.0],
    [-2.0, 0.0, 1.0, 2.0, 1.0],
    [2.0, 0.0, -2.0, 0.0, 1.0],
    [2.0, 0.0, 0.0, 0.0, 1.0],
    [0.0, -1.0, 1.0, 0.0, 0.0],
    [-2.0, -1.0, 0.0, 2.0, 1.0],
    [-2.0, 0.0, 0.0, 0.0, 1.0],
    [0.0, 0.0, 2.0, 2.0, 1.0],
    [-2.0, 0.0, 2.0, 0.0, 1.0],
    [-2.0, 1.0, 0.0, 2.0, 1.0],
    [0.0, 0.0, 1.0, -2.0, 0.0],
    [-1.0, 0.0, 1.0, 0.0, 0.0],
    [-2.0, 1.0, 0.0, 0.0, 0.0],
    [1.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 2.0, 0.0],
    [0.0, 0.0, -2.0, 2.0, 2.0],
    [-1.0, -1.0, 1.0, 0.0, 0.0],
    [0.0, 1.0, 1.0, 0.0, 0.0],
    [0.0, -1.0, 1.0, 2.0, 2.0],
    [2.0, -1.0, -1.0, 2.0, 2.0],
    [0.0, 0.0, 3.0, 2.0, 2.0],
    [2.0, -1.0, 0.0, 2.0, 2.0],
];

const NUTATION_ABCD: [[f64; 4]; 63] = [
    [-171996.0, -174.2, 92025.0, 8.9],
    [-13187.0, -1.6, 5736.0, -3.1],
    [-2274.0, -0.2, 977.0, -0.5],
    [2062.0, 0.2, -895.0, 0.5],
    [1426.0, -3.4, 54.0, -0.1],
    [712.0, 0.1, -7.0, 0.0],
    [-517.0, 1.2, 224.0, -0.6],
    [-386.0, -0.4, 200.0, 0.0],
    [-301.0, 0.0, 129.0, -0.1],
    [217.0, -0.5, -95.0, 0.3],
    [-158.0, 0.0, 0.0, 0.0],
    [129.0, 0.1, -70.0, 0.0],
    [123.0, 0.0, -53.0, 0.0],
    [63.0, 0.0, 0.0, 0.0],
    [63.0, 0.1, -33.0, 0.0],
    [-59.0, 0.0, 26.0, 0.0],
    [-58.0, -0.1, 32.0, 0.0],
    [-51.0, 0.0, 27.0, 0.0],
    [48.0, 0.0, 0.0, 0.0],
    [46.0, 0.0, -24.0, 0.0],
    [-38.0, 0.0, 16.0, 0.0],
    [-31.0, 0.0, 13.0, 0.0],
    [29.0, 0.0, 0.0, 0.0],
    [29.0, 0.0, -12.0, 0.0],
    [26.0, 0.0, 0.0, 0.0],
    [-22.0, 0.0, 0.0, 0.0],
    [21.0, 0.0, -10.0, 0.0],
    [17.0, -0.1, 0.0, 0.0],
    [16.0, 0.0, -8.0, 0.0],
    [-16.0, 0.1, 7.0, 0.0],
    [-15.0, 0.0, 9.0, 0.0],
    [-13.0, 0.0, 7.0, 0.0],
    [-12.0, 0.0, 6.0, 0.0],
    [11.0, 0.0, 0.0, 0.0],
    [-10.0, 0.0, 5.0, 0.0],
    [-8.0, 0.0, 3.0, 0.0],
    [7.0, 0.0, -3.0, 0.0],
    [-7.0, 0.0, 0.0, 0.0],
    [-7.0, 0.0, 3.0, 0.0],
    [-7.0, 0.0, 3.0, 0.0],
    [6.0, 0.0, 0.0, 0.0],
    [6.0, 0.0, -3.0, 0.0],
    [6.0, 0.0, -3.0, 0.0],
    [-6.0, 0.0, 3.0, 0.0],
    [-6.0, 0.0, 3.0, 0.0],
    [5.0, 0.0, 0.0, 0.0],
    [-5.0, 0.0, 3.0, 0.0],
    [-5.0, 0.0, 3.0, 0.0],
    [-5.0, 0.0, 3.0, 0.0],
    [4.0, 0.0, 0.0, 0.0],
    [4.0, 0.0, 0.0, 0.0],
    [4.0, 0.0, 0.0, 0.0],
    [-4.0, 0.0, 0.0, 0.0],
    [-4.0, 0.0, 0.0, 0.0],
    [-4.0, 0.0, 0.0, 0.0],
    [3.0, 0.0, 0.0, 0.0],
    [-3.0, 0.0, 0.0, 0.0],
    [-3.0, 0.0, 0.0, 0.0],
    [-3.0, 0.0, 0.0, 0.0],
    [-3.0, 0.0, 0.0, 0.0],
    [-3.0, 0.0, 0.0, 0.0],
    [-3.0, 0.0, 0.0, 0.0],
    [-3.0, 0.0, 0.0, 0.0],
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Reda & Andreas (2004/2008, Table A5.1): 17 October 2003,
    /// 12:30:30 local time (UTC−7), Golden, Colorado; ΔT = 67 s, 820 mbar, 11 °C.
    fn spa_example() -> (f64, Observer) {
        // 2003-10-17T19:30:30Z
        let unix = 1_066_419_030.0;
        let obs = Observer::with_atmosphere(39.742476, -105.1786, 1830.14, 820.0, 11.0);
        (unix, obs)
    }

    #[test]
    fn reproduces_the_intermediate_values_of_the_spa_paper() {
        let (unix, _) = spa_example();
        let jd = unix / 86400.0 + 2440587.5;
        assert!((jd - 2452930.312847).abs() < 1e-6, "JD {jd}");
        let jde = jd + 67.0 / 86400.0;
        let jce = (jde - 2451545.0) / 36525.0;
        let jme = jce / 10.0;
        // Paper: L = 24.0182616917°, B = −0.0001011219°, R = 0.9965422974 AU.
        assert!((heliocentric_longitude_deg(jme) - 24.0182616917).abs() < 1e-8);
        assert!((heliocentric_latitude_deg(jme) - (-0.0001011219)).abs() < 1e-9);
        assert!((heliocentric_radius_au(jme) - 0.9965422974).abs() < 1e-9);
        // Δψ = −0.00399840°, Δε = 0.00166657°, ε = 23.440465°.
        let (dpsi, deps) = nutation_deg(jce);
        assert!((dpsi - (-0.00399840)).abs() < 1e-8, "dpsi {dpsi}");
        assert!((deps - 0.00166657).abs() < 1e-8, "deps {deps}");
        let eps = mean_ecliptic_obliquity_arcsec(jme) / 3600.0 + deps;
        assert!((eps - 23.440465).abs() < 1e-6, "eps {eps}");

        let e = SunEphemeris::at_unix(unix, 67.0);
        // ν = 318.5119°, α = 202.22741°, δ = −9.31434°.
        assert!((e.apparent_sidereal_time_deg - 318.5119).abs() < 1e-4);
        assert!((e.right_ascension_deg - 202.22741).abs() < 1e-5);
        assert!((e.declination_deg - (-9.31434)).abs() < 1e-5);
    }

    #[test]
    fn reproduces_the_topocentric_result_of_the_spa_paper() {
        let (unix, obs) = spa_example();
        let p = solar_position(unix, &obs, 67.0);
        // Paper: topocentric zenith 50.11162° (with refraction), azimuth 194.34024°.
        assert!(
            (p.apparent_zenith_deg - 50.11162).abs() < 1e-5,
            "{}",
            p.apparent_zenith_deg
        );
        assert!(
            (p.azimuth_deg - 194.34024).abs() < 1e-5,
            "{}",
            p.azimuth_deg
        );
        // Topocentric local hour angle H' = H − Δα = 11.105900° + 0.000369° (the paper's
        // table rounds it to 11.10629°).
        assert!(
            (p.hour_angle_deg - 11.106269).abs() < 2e-6,
            "{}",
            p.hour_angle_deg
        );
        // The true zenith lies above the apparent one by the refraction (~0.0166° here).
        let refraction = p.zenith_deg - p.apparent_zenith_deg;
        assert!(refraction > 0.01 && refraction < 0.02, "{refraction}");
    }

    #[test]
    fn the_sun_is_below_the_horizon_at_night_and_south_at_noon() {
        // Kashiwa, 2025-06-21: local noon ≈ 02:40 UTC, midnight ≈ 14:40 UTC.
        let obs = Observer::new(35.893, 139.952, 15.0);
        let noon = solar_position(1_750_464_000.0 + 2.0 * 3600.0 + 40.0 * 60.0, &obs, 67.0);
        assert!(noon.zenith_deg < 15.0, "{noon:?}");
        assert!((noon.azimuth_deg - 180.0).abs() < 10.0, "{noon:?}");
        let night = solar_position(1_750_464_000.0 + 14.0 * 3600.0 + 40.0 * 60.0, &obs, 67.0);
        assert!(night.zenith_deg > 90.0, "{night:?}");
        assert_eq!(night.zenith_deg, night.apparent_zenith_deg);
    }
}
