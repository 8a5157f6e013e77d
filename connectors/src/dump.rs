//! [`RegisterDump`]: the raw words of a device, recorded for commissioning and used as test
//! fixtures (`connectors/tests/fixtures/*.dump.toml`).
//!
//! ```toml
//! profile = "battery_inverter"
//! unit_id = 1
//! note = "what, when, which firmware"
//!
//! [[range]]
//! kind = "input"
//! start = 30000
//! words = [2, 573, 0xFFFE, 0x7960]
//!
//! [expect]                      # fixtures only: what the profile must decode
//! soc_pct = 57.3
//! expect_not_available = []     # quantities that must read "not available"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::profile::load::Locator;
use crate::profile::{Profile, RegisterKind};
use crate::telemetry::Reading;

/// A contiguous run of words read from a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpRange {
    /// Data table.
    pub kind: RegisterKind,
    /// First address.
    pub start: u16,
    /// Words (0/1 for bits).
    pub words: Vec<u16>,
}

/// The raw words of one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDump {
    /// Profile the device was read with.
    pub profile: String,
    /// Unit id.
    pub unit_id: u8,
    /// Free text: device, firmware, when.
    #[serde(default)]
    pub note: String,
    /// Word runs.
    #[serde(default, rename = "range")]
    pub ranges: Vec<DumpRange>,
    /// Fixtures: the values the profile must decode from these words.
    #[serde(default)]
    pub expect: BTreeMap<String, f64>,
    /// Fixtures: the quantities that must read "not available".
    #[serde(default)]
    pub expect_not_available: Vec<String>,
}

impl RegisterDump {
    /// An empty dump.
    pub fn new(profile: &str, unit_id: u8) -> Self {
        Self {
            profile: profile.to_string(),
            unit_id,
            note: String::new(),
            ranges: Vec::new(),
            expect: BTreeMap::new(),
            expect_not_available: Vec::new(),
        }
    }

    /// Adds a run of words.
    pub fn push(&mut self, kind: RegisterKind, start: u16, words: Vec<u16>) {
        self.ranges.push(DumpRange { kind, start, words });
    }

    /// `count` words of `kind` from `address`, if the dump holds all of them.
    pub fn words(&self, kind: RegisterKind, address: u16, count: u16) -> Option<Vec<u16>> {
        (0..count)
            .map(|i| {
                let a = u32::from(address) + u32::from(i);
                self.ranges.iter().find_map(|r| {
                    let off = a.checked_sub(u32::from(r.start))?;
                    (r.kind == kind).then(|| r.words.get(off as usize).copied())?
                })
            })
            .collect()
    }

    /// Reads a dump file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(path, format!("cannot read dump: {e}")))?;
        let loc = Locator { path, text: &text };
        toml::from_str(&text).map_err(|e| loc.toml_err(&e))
    }

    /// The dump as TOML text (words in hex).
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "profile = \"{}\"\nunit_id = {}\nnote = {}\n",
            self.profile,
            self.unit_id,
            toml::Value::String(self.note.clone())
        );
        for r in &self.ranges {
            let words: Vec<String> = r.words.iter().map(|w| format!("0x{w:04X}")).collect();
            out.push_str(&format!(
                "\n[[range]]\nkind = \"{}\"\nstart = {}\nwords = [{}]\n",
                r.kind,
                r.start,
                words.join(", ")
            ));
        }
        out
    }

    /// What `profile` decodes from these words.
    pub fn decode(&self, profile: &Profile) -> BTreeMap<String, Reading> {
        crate::modbus::decode_dump(profile, self)
    }
}
