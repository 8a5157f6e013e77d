//! PV output from weather: solar position, irradiance decomposition and transposition,
//! cell temperature, PVWatts DC and inverter (see `../shared/fixtures/pv/README.md`).
