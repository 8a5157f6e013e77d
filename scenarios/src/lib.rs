//! Making scenarios the engine runs on: [`generate`] writes the Kashiwanoha reference
//! district (a Gate Square-like district for a full fiscal year, from the documented facts
//! in `scenarios/kashiwanoha/README.md`), [`citylearn`] turns the CityLearn 2022
//! phase-1 data set into a scenario, and [`district`] writes a seeded synthetic district of any
//! size (N buildings × T steps) for benchmarks.
//!
//! All write a `scenario.toml` and its `series.csv` into a folder and check that what they
//! wrote loads; the `aems scenario …` commands are thin wrappers around them.

#![warn(missing_docs)]

pub mod citylearn;
pub mod district;
pub mod generate;
