//! Fuzz target: `harness::register_codec`.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::register_codec(data));
