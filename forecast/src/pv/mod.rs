//! PV output from weather: solar position, irradiance decomposition and transposition,
//! cell temperature, PVWatts DC and inverter (see `../shared/fixtures/pv/README.md`),
//! and a correction learned from measured PV history.
//!
//! - [`array::PvArray`]: an array (site, orientation, kWp, inverter, losses, model
//!   parameters), read from the fixtures' JSON keys.
//! - [`weather`]: the weather CSV (`time`, `ghi_w_m2`, `temp_air_c`, `wind_m_s`);
//!   [`crate::timeseries`] holds the rules for bad rows shared with [`measured`] and
//!   the demand history.
//! - [`solar_position`] (NREL SPA), [`irradiance`] (Spencer, Erbs, Hay-Davies),
//!   [`temperature`] (Faiman), [`pvwatts`] (DC and inverter): the steps of the chain.
//! - [`chain`]: the chain row by row ([`chain::PvChain`], [`chain::run_arrays`],
//!   [`chain::ac_kw`]) with every intermediate ([`chain::PvStep`]) and the CSV writer.
//! - [`measured`] and [`correction`]: measured PV history and the correction factors
//!   learned from it ([`correction::PvCorrection`]).
//!
//! ```
//! use forecast::pv::{ac_kw, PvArray, WeatherStep};
//! let array = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
//! let noon = WeatherStep {
//!     time: "2025-06-21T03:00:00Z".parse().unwrap(),
//!     ghi_w_m2: 900.0,
//!     temp_air_c: 25.0,
//!     wind_m_s: 2.0,
//! };
//! let kw = ac_kw(&array, &[noon]);
//! assert!(kw[0] > 60.0 && kw[0] <= array.ac_max_kw());
//! ```

pub mod array;
pub mod chain;
pub mod correction;
pub mod irradiance;
pub mod measured;
pub mod pvwatts;
pub mod solar_position;
pub mod temperature;
pub mod weather;

pub use crate::error::InputError;
pub use array::PvArray;
pub use chain::{ac_kw, run_arrays, PvChain, PvStep};
pub use correction::{CorrectionConfig, PvCorrection};
pub use measured::{read_measured_csv, Measured};
pub use weather::{read_weather_csv, Weather, WeatherStep};
