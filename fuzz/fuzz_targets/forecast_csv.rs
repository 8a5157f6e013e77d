//! Fuzz target: `harness::forecast_csv`.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::forecast_csv(data));
