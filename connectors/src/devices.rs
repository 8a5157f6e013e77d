//! A district's `devices.toml`: which profile, endpoint and unit id each scenario asset has,
//! the Modbus timing, and the MQTT broker.
//!
//! ```toml
//! [district]
//! id = "gate_square"            # used in MQTT topics: aems/v1/<id>/...
//! profile_dir = "profiles"      # optional; profiles not found there are the bundled ones
//!
//! [modbus]                      # optional, these are the defaults
//! timeout_ms = 1000             # per request
//! connect_timeout_ms = 1000
//! retries = 2                   # after the first attempt, on transport errors only
//! backoff_ms = 100              # doubles at each retry ...
//! backoff_max_ms = 2000         # ... up to this
//!
//! [mqtt]                        # optional
//! host = "127.0.0.1"
//! port = 1883
//! client_id = "aems-gate-square"
//! username = "aems"             # optional
//! password_env = "AEMS_MQTT_PASSWORD"   # or password = "..."
//! tls = { ca_file = "ca.pem" }  # optional; client_cert_file, client_key_file for mTLS
//!
//! [[device]]
//! asset = "hub_bat"             # scenario asset id
//! profile = "battery_inverter"  # profile name, or a path to a .toml file
//! host = "127.0.0.1"
//! port = 15020
//! unit_id = 1
//! limits = { power_kw = [-820.0, 820.0] }   # optional: narrows a setpoint's limits
//!
//! [echonet]                     # optional, these are the defaults (ECHONET Lite)
//! bind = "0.0.0.0:0"            # local address; "0.0.0.0:3610" for devices that answer to 3610
//! timeout_ms = 1000
//! retries = 2
//!
//! [[device]]                    # an ECHONET Lite device object
//! asset = "home_bat"
//! protocol = "echonet"          # default "modbus"
//! class = "storage_battery"     # ECHONET class data (bundled name, or a path to a .toml)
//! host = "192.168.1.20"
//! port = 3610                   # optional, default 3610
//! eoj = "0x027D01"              # optional, default the class code with instance 1
//! limits = { power_kw = [-3.0, 3.0] }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::echonet::{EchonetClass, EchonetSettings, Eoj};
use crate::error::ConfigError;
use crate::profile::load::Locator;
use crate::profile::Profile;

/// Modbus timing, shared by every connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModbusSettings {
    /// Per-request timeout, ms.
    pub timeout_ms: u64,
    /// Timeout to open a connection, ms.
    pub connect_timeout_ms: u64,
    /// Retries after the first attempt, on transport errors and timeouts (never on a
    /// device exception).
    pub retries: u32,
    /// First backoff between attempts, ms (doubling).
    pub backoff_ms: u64,
    /// Largest backoff, ms.
    pub backoff_max_ms: u64,
}

impl Default for ModbusSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 1000,
            connect_timeout_ms: 1000,
            retries: 2,
            backoff_ms: 100,
            backoff_max_ms: 2000,
        }
    }
}

impl ModbusSettings {
    /// Per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Connection timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// Backoff before retry number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u64 << attempt.saturating_sub(1).min(16);
        Duration::from_millis(
            self.backoff_ms
                .saturating_mul(factor)
                .min(self.backoff_max_ms),
        )
    }
}

/// TLS for the MQTT connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the CA(s) to trust; without it, the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain), for mutual TLS.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
}

/// An extra MQTT topic read as telemetry: its payload is a number (plain text, a JSON
/// number, or a JSON object with a numeric `value`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicMapping {
    /// Topic (no wildcards).
    pub topic: String,
    /// Asset the value belongs to.
    pub asset: String,
    /// Quantity name.
    pub quantity: String,
    /// Unit.
    #[serde(default)]
    pub unit: String,
}

/// The MQTT broker and credentials.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// Broker host.
    pub host: String,
    /// Broker port (1883, 8883 for TLS).
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Client id (default `aems-<district>`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (prefer `password_env`).
    #[serde(default)]
    pub password: Option<String>,
    /// Name of the environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Keep-alive, s.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
    /// Largest wait between reconnection attempts, ms.
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_ms: u64,
    /// TLS, if the broker wants it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Extra topics read as telemetry.
    #[serde(default)]
    pub subscribe: Vec<TopicMapping>,
}

fn default_mqtt_port() -> u16 {
    1883
}
fn default_keep_alive() -> u64 {
    15
}
fn default_reconnect_max() -> u64 {
    2000
}

impl MqttConfig {
    /// A plain configuration for `host:port` (no credentials, no TLS).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            client_id: None,
            username: None,
            password: None,
            password_env: None,
            keep_alive_s: default_keep_alive(),
            reconnect_max_ms: default_reconnect_max(),
            tls: None,
            subscribe: Vec::new(),
        }
    }

    /// The password: `password`, else the variable `password_env` (an error if unset).
    pub fn resolve_password(&self) -> Result<Option<String>, String> {
        if let Some(p) = &self.password {
            return Ok(Some(p.clone()));
        }
        match &self.password_env {
            Some(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| format!("mqtt password variable {var} is not set")),
            None => Ok(None),
        }
    }
}

/// One device: an asset, the profile of its family, and where it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEntry {
    /// Scenario asset id.
    pub asset: String,
    /// Its profile.
    pub profile: Arc<Profile>,
    /// Host (name or IP).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Modbus unit id (1–255).
    pub unit_id: u8,
    /// Per-device setpoint limits, narrowing the profile's: point → (min, max).
    pub limits: BTreeMap<String, (f64, f64)>,
}

impl DeviceEntry {
    /// `host:port`.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// `profile@host:port/unit`, as in logs and write records.
    pub fn label(&self) -> String {
        format!("{}@{}/{}", self.profile.name, self.endpoint(), self.unit_id)
    }
}

/// One ECHONET Lite device object: an asset, its class, and where it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct EchonetEntry {
    /// Scenario asset id.
    pub asset: String,
    /// Its class data.
    pub class: Arc<EchonetClass>,
    /// Host (name or IP).
    pub host: String,
    /// UDP port (3610).
    pub port: u16,
    /// The object (class code and instance).
    pub eoj: Eoj,
    /// Per-device setpoint limits, narrowing the class's: quantity → (min, max).
    pub limits: BTreeMap<String, (f64, f64)>,
}

impl EchonetEntry {
    /// `host:port`.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// `class@host:port/eoj`, as in logs and write records.
    pub fn label(&self) -> String {
        format!("{}@{}/{}", self.class.name, self.endpoint(), self.eoj)
    }

    /// The socket address (a host name is resolved).
    pub fn addr(&self) -> Result<std::net::SocketAddr, String> {
        use std::net::ToSocketAddrs;
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("{}: cannot resolve {}: {e}", self.asset, self.endpoint()))?
            .next()
            .ok_or_else(|| format!("{}: {} resolves to no address", self.asset, self.endpoint()))
    }
}

/// A district's device map.
#[derive(Debug, Clone, PartialEq)]
pub struct DevicesConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// District id (MQTT topics).
    pub district: String,
    /// Modbus timing.
    pub modbus: ModbusSettings,
    /// MQTT broker, if any.
    pub mqtt: Option<MqttConfig>,
    /// Modbus devices, in file order.
    pub devices: Vec<DeviceEntry>,
    /// ECHONET Lite settings.
    pub echonet: EchonetSettings,
    /// ECHONET Lite devices (`protocol = "echonet"`), in file order.
    pub echonet_devices: Vec<EchonetEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevices {
    district: RawDistrict,
    #[serde(default)]
    modbus: ModbusSettings,
    #[serde(default)]
    mqtt: Option<MqttConfig>,
    #[serde(default)]
    echonet: EchonetSettings,
    #[serde(default)]
    device: Vec<Spanned<RawDevice>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDistrict {
    id: String,
    #[serde(default)]
    profile_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    asset: String,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    eoj: Option<String>,
    host: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default = "default_unit")]
    unit_id: i64,
    #[serde(default)]
    limits: BTreeMap<String, [f64; 2]>,
}

fn default_unit() -> i64 {
    1
}

impl DevicesConfig {
    /// Reads `devices.toml` and every profile it names.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(path, format!("cannot read devices file: {e}")))?;
        Self::parse(path, &text)
    }

    /// Parses `devices.toml` text; profile paths are relative to `path`'s folder.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let loc = Locator { path, text };
        let raw: RawDevices = toml::from_str(text).map_err(|e| loc.toml_err(&e))?;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        let district = raw.district.id.trim().to_string();
        let whole = 0..text.len();
        if district.is_empty() || district.contains(['/', '+', '#']) {
            return Err(loc.err(
                &whole,
                "[district]",
                "id",
                format!("'{district}' must be non-empty, without '/', '+' or '#' (it is an MQTT topic level)"),
            ));
        }
        let profile_dir = raw.district.profile_dir.map(|p| dir.join(p));
        let mut profiles: BTreeMap<String, Arc<Profile>> = BTreeMap::new();
        let mut devices: Vec<DeviceEntry> = Vec::new();
        let mut echonet_devices: Vec<EchonetEntry> = Vec::new();
        let mut classes: BTreeMap<String, Arc<EchonetClass>> = BTreeMap::new();
        for (i, sd) in raw.device.iter().enumerate() {
            let span = sd.span();
            let d = sd.get_ref();
            let table = format!("[[device]] #{i} ('{}')", d.asset);
            if d.asset.trim().is_empty() || d.asset.contains(['/', '+', '#']) {
                return Err(loc.err(
                    &span,
                    &table,
                    "asset",
                    "must be non-empty, without '/', '+' or '#'",
                ));
            }
            if let Some(first) = raw.device[..i]
                .iter()
                .position(|e| e.get_ref().asset == d.asset)
            {
                return Err(loc.err(
                    &span,
                    &table,
                    "asset",
                    format!("'{}' repeats ([[device]] #{first})", d.asset),
                ));
            }
            match d.protocol.as_deref().unwrap_or("modbus") {
                "modbus" => {}
                "echonet" => {
                    let e = echonet_entry(d, dir, &mut classes)
                        .map_err(|(field, msg)| loc.err(&span, &table, field, msg))?;
                    if let Some(first) = echonet_devices
                        .iter()
                        .position(|x| x.host == e.host && x.port == e.port && x.eoj == e.eoj)
                    {
                        return Err(loc.err(
                            &span,
                            &table,
                            "eoj",
                            format!(
                                "{} {} is already ECHONET device #{first}",
                                e.endpoint(),
                                e.eoj
                            ),
                        ));
                    }
                    echonet_devices.push(e);
                    continue;
                }
                other => {
                    return Err(loc.err(
                        &span,
                        &table,
                        "protocol",
                        format!("'{other}': \"modbus\" (the default) or \"echonet\""),
                    ))
                }
            }
            for (field, given) in [("class", d.class.is_some()), ("eoj", d.eoj.is_some())] {
                if given {
                    return Err(loc.err(&span, &table, field, "only for protocol = \"echonet\""));
                }
            }
            let Some(profile_name) = d.profile.clone() else {
                return Err(loc.err(
                    &span,
                    &table,
                    "profile",
                    "missing (a Modbus device names its profile)",
                ));
            };
            let Some(port) = d.port else {
                return Err(loc.err(
                    &span,
                    &table,
                    "port",
                    "missing (a Modbus device's TCP port)",
                ));
            };
            let unit_id = match u8::try_from(d.unit_id) {
                Ok(u) if u >= 1 => u,
                _ => {
                    return Err(loc.err(
                        &span,
                        &table,
                        "unit_id",
                        format!("{} outside [1, 255] (0 is broadcast)", d.unit_id),
                    ))
                }
            };
            if let Some(first) = devices
                .iter()
                .position(|e| e.host == d.host && e.port == port && e.unit_id == unit_id)
            {
                return Err(loc.err(
                    &span,
                    &table,
                    "unit_id",
                    format!(
                        "{}:{port} unit {unit_id} is already [[device]] #{first}",
                        d.host
                    ),
                ));
            }
            let profile = match profiles.get(&profile_name) {
                Some(p) => p.clone(),
                None => {
                    let p = Arc::new(
                        resolve_profile(&profile_name, dir, profile_dir.as_deref()).map_err(
                            |e| match e {
                                Resolve::NotFound(msg) => loc.err(&span, &table, "profile", msg),
                                Resolve::Invalid(e) => e,
                            },
                        )?,
                    );
                    profiles.insert(profile_name.clone(), p.clone());
                    p
                }
            };
            let mut limits = BTreeMap::new();
            for (name, [lo, hi]) in &d.limits {
                let Some(sp) = profile.setpoint(name) else {
                    return Err(loc.err(
                        &span,
                        &table,
                        "limits",
                        format!("'{name}' is not a setpoint of profile '{}'", profile.name),
                    ));
                };
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    return Err(loc.err(
                        &span,
                        &table,
                        "limits",
                        format!("{name} = [{lo}, {hi}]: need finite min ≤ max"),
                    ));
                }
                if *lo < sp.min || *hi > sp.max {
                    return Err(loc.err(
                        &span,
                        &table,
                        "limits",
                        format!(
                            "{name} = [{lo}, {hi}] is wider than the profile's [{}, {}]: \
                             device limits may only narrow them",
                            sp.min, sp.max
                        ),
                    ));
                }
                limits.insert(name.clone(), (*lo, *hi));
            }
            devices.push(DeviceEntry {
                asset: d.asset.clone(),
                profile,
                host: d.host.clone(),
                port,
                unit_id,
                limits,
            });
        }
        if let Some(m) = &raw.mqtt {
            if let Some(tls) = &m.tls {
                for f in [&tls.ca_file, &tls.client_cert_file, &tls.client_key_file]
                    .into_iter()
                    .flatten()
                {
                    if !dir.join(f).is_file() {
                        return Err(loc.err(
                            &whole,
                            "[mqtt.tls]",
                            "tls",
                            format!("file {} not found", dir.join(f).display()),
                        ));
                    }
                }
                if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
                    return Err(loc.err(
                        &whole,
                        "[mqtt.tls]",
                        "client_key_file",
                        "client_cert_file and client_key_file go together",
                    ));
                }
            }
        }
        let mqtt = raw.mqtt.map(|mut m| {
            if let Some(tls) = &mut m.tls {
                for f in [
                    &mut tls.ca_file,
                    &mut tls.client_cert_file,
                    &mut tls.client_key_file,
                ]
                .into_iter()
                .flatten()
                {
                    *f = dir.join(&*f);
                }
            }
            m
        });
        Ok(Self {
            path: path.to_path_buf(),
            district,
            modbus: raw.modbus,
            mqtt,
            devices,
            echonet: raw.echonet,
            echonet_devices,
        })
    }

    /// The ECHONET Lite entry of `asset`.
    pub fn echonet_device(&self, asset: &str) -> Option<&EchonetEntry> {
        self.echonet_devices.iter().find(|d| d.asset == asset)
    }

    /// The entry of `asset`.
    pub fn device(&self, asset: &str) -> Option<&DeviceEntry> {
        self.devices.iter().find(|d| d.asset == asset)
    }

    /// Every asset with a device, Modbus then ECHONET Lite.
    pub fn assets(&self) -> Vec<&str> {
        (self.devices.iter().map(|d| d.asset.as_str()))
            .chain(self.echonet_devices.iter().map(|e| e.asset.as_str()))
            .collect()
    }

    /// The quantity a hand-written setpoint of `asset` sets when none is named (`aems
    /// devices write`): `power_kw`, else `zone_setpoint_c`, else the first writable point
    /// that is not a control-mode point; the error names the file and what is missing.
    pub fn default_setpoint(&self, asset: &str) -> Result<String, String> {
        let pick = |has: &dyn Fn(&str) -> bool| {
            ["power_kw", "zone_setpoint_c"]
                .into_iter()
                .find(|q| has(q))
                .map(str::to_string)
        };
        if let Some(e) = self.echonet_device(asset) {
            let c = &e.class;
            return pick(&|q| c.setpoint(q).is_some())
                .or_else(|| c.setpoints.first().map(|s| s.name.clone()))
                .ok_or_else(|| format!("class '{}' has no writable quantity", c.name));
        }
        let Some(d) = self.device(asset) else {
            return Err(format!(
                "{}: no [[device]] with asset '{asset}' (assets: {})",
                self.path.display(),
                self.assets().join(", ")
            ));
        };
        let p = &d.profile;
        pick(&|q| p.setpoint(q).is_some())
            .or_else(|| {
                (p.setpoints.iter().map(|s| s.point.name.clone()))
                    .find(|n| !p.acquire.iter().any(|s| &s.point == n))
            })
            .ok_or_else(|| format!("profile '{}' has no writable point", p.name))
    }
}

/// An ECHONET Lite `[[device]]`: `Err((field, reason))`.
fn echonet_entry(
    d: &RawDevice,
    dir: &Path,
    classes: &mut BTreeMap<String, Arc<EchonetClass>>,
) -> Result<EchonetEntry, (&'static str, String)> {
    if d.profile.is_some() {
        return Err((
            "profile",
            "an ECHONET Lite device names a 'class', not a Modbus profile".into(),
        ));
    }
    if d.unit_id != default_unit() {
        return Err((
            "unit_id",
            "not for an ECHONET Lite device (see 'eoj')".into(),
        ));
    }
    let Some(name) = &d.class else {
        return Err((
            "class",
            format!(
                "missing: an ECHONET Lite device names its class (bundled: {}, or a .toml path)",
                EchonetClass::bundled_names().join(", ")
            ),
        ));
    };
    let class = match classes.get(name) {
        Some(c) => c.clone(),
        None => {
            let c = if name.ends_with(".toml") {
                EchonetClass::load(&dir.join(name)).map_err(|e| ("class", e.to_string()))?
            } else {
                match EchonetClass::bundled(name) {
                    Some(r) => r.map_err(|e| ("class", e.to_string()))?,
                    None => {
                        return Err((
                            "class",
                            format!(
                                "no ECHONET class '{name}' (bundled: {})",
                                EchonetClass::bundled_names().join(", ")
                            ),
                        ))
                    }
                }
            };
            let c = Arc::new(c);
            classes.insert(name.clone(), c.clone());
            c
        }
    };
    let eoj = match &d.eoj {
        Some(s) => Eoj::parse(s).map_err(|e| ("eoj", e))?,
        None => Eoj::of_class(class.code, 1),
    };
    if eoj.class_code() != class.code {
        return Err((
            "eoj",
            format!(
                "{eoj} is not of class '{}' (0x{:04X})",
                class.name, class.code
            ),
        ));
    }
    if eoj.instance == 0 || eoj.instance > 0x7F {
        return Err(("eoj", format!("{eoj}: the instance code is 0x01 to 0x7F")));
    }
    let mut limits = BTreeMap::new();
    for (q, [lo, hi]) in &d.limits {
        let Some(sp) = class.setpoint(q) else {
            return Err((
                "limits",
                format!(
                    "'{q}' is not a writable quantity of ECHONET class '{}'",
                    class.name
                ),
            ));
        };
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err((
                "limits",
                format!("{q} = [{lo}, {hi}]: need finite min ≤ max"),
            ));
        }
        if *lo < sp.limits.min || *hi > sp.limits.max {
            return Err((
                "limits",
                format!(
                    "{q} = [{lo}, {hi}] is wider than the class's [{}, {}]: device limits may only narrow them",
                    sp.limits.min, sp.limits.max
                ),
            ));
        }
        limits.insert(q.clone(), (*lo, *hi));
    }
    Ok(EchonetEntry {
        asset: d.asset.clone(),
        class,
        host: d.host.clone(),
        port: d.port.unwrap_or(crate::echonet::link::PORT),
        eoj,
        limits,
    })
}

enum Resolve {
    NotFound(String),
    Invalid(ConfigError),
}

/// A profile by path (ends in `.toml`, relative to the devices file), else by name in
/// `profile_dir`, else bundled.
fn resolve_profile(name: &str, dir: &Path, profile_dir: Option<&Path>) -> Result<Profile, Resolve> {
    if name.ends_with(".toml") {
        let p = dir.join(name);
        if !p.is_file() {
            return Err(Resolve::NotFound(format!(
                "profile file {} not found",
                p.display()
            )));
        }
        return Profile::load(&p).map_err(Resolve::Invalid);
    }
    if let Some(pd) = profile_dir {
        let p = pd.join(format!("{name}.toml"));
        if p.is_file() {
            return Profile::load(&p).map_err(Resolve::Invalid);
        }
    }
    match Profile::bundled(name) {
        Some(r) => r.map_err(Resolve::Invalid),
        None => Err(Resolve::NotFound(format!(
            "no profile '{name}' (bundled: {}{})",
            Profile::bundled_names().join(", "),
            profile_dir
                .map(|d| format!("; nor {}/{name}.toml", d.display()))
                .unwrap_or_default()
        ))),
    }
}
