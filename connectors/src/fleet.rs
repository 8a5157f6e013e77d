//! [`Fleet`]: every Modbus and ECHONET Lite device of a district, read together and written
//! safely.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use crate::devices::DevicesConfig;
use crate::echonet::{EchonetDevice, EchonetLink};
use crate::modbus::{ModbusDevice, ModbusLink};
use crate::setpoint::Setpoint;
use crate::telemetry::Telemetry;
use crate::write_record::WriteRecord;

/// All devices of a `devices.toml`, one [`ModbusLink`] per `host:port` shared by the unit
/// ids behind it, and one ECHONET Lite UDP endpoint shared by the ECHONET devices.
#[derive(Debug)]
pub struct Fleet {
    config: DevicesConfig,
    devices: Vec<Arc<ModbusDevice>>,
    links: BTreeMap<String, Arc<ModbusLink>>,
    echonet: Vec<Arc<EchonetDevice>>,
    echonet_link: Arc<EchonetLink>,
}

impl Fleet {
    /// The fleet of `config` (connections open on first use).
    pub fn new(config: DevicesConfig) -> Self {
        let mut links: BTreeMap<String, Arc<ModbusLink>> = BTreeMap::new();
        let devices = config
            .devices
            .iter()
            .map(|e| {
                let link = links
                    .entry(e.endpoint())
                    .or_insert_with(|| {
                        Arc::new(ModbusLink::new(e.endpoint(), config.modbus.clone()))
                    })
                    .clone();
                Arc::new(ModbusDevice::new(e.clone(), link))
            })
            .collect();
        let echonet_link = Arc::new(EchonetLink::new(config.echonet.clone()));
        let echonet = config
            .echonet_devices
            .iter()
            .map(|e| Arc::new(EchonetDevice::new(e.clone(), echonet_link.clone())))
            .collect();
        Self {
            config,
            devices,
            links,
            echonet,
            echonet_link,
        }
    }

    /// The ECHONET Lite devices, in file order.
    pub fn echonet_devices(&self) -> &[Arc<EchonetDevice>] {
        &self.echonet
    }

    /// The ECHONET Lite endpoint (for discovery).
    pub fn echonet_link(&self) -> &Arc<EchonetLink> {
        &self.echonet_link
    }

    /// The ECHONET Lite device of `asset`.
    pub fn echonet_device(&self, asset: &str) -> Option<&Arc<EchonetDevice>> {
        self.echonet.iter().find(|d| d.asset() == asset)
    }

    /// The configuration.
    pub fn config(&self) -> &DevicesConfig {
        &self.config
    }

    /// The devices, in file order.
    pub fn devices(&self) -> &[Arc<ModbusDevice>] {
        &self.devices
    }

    /// The connections, by `host:port`.
    pub fn links(&self) -> &BTreeMap<String, Arc<ModbusLink>> {
        &self.links
    }

    /// The device of `asset`.
    pub fn device(&self, asset: &str) -> Option<&Arc<ModbusDevice>> {
        self.devices.iter().find(|d| d.asset() == asset)
    }

    /// Reads every device (connections in parallel, unit ids on one connection in turn)
    /// into one snapshot. A device that cannot be read has its error in the snapshot.
    pub async fn read_all(&self) -> Telemetry {
        let mut set = tokio::task::JoinSet::new();
        for d in &self.devices {
            let d = d.clone();
            set.spawn(async move { d.read().await });
        }
        for d in &self.echonet {
            let d = d.clone();
            set.spawn(async move { d.read().await });
        }
        let mut snapshot = Telemetry::new();
        while let Some(r) = set.join_next().await {
            match r {
                Ok(a) => {
                    snapshot.assets.insert(a.asset.clone(), a);
                }
                Err(e) => tracing::error!(target: "aems::modbus", "read task failed: {e}"),
            }
        }
        snapshot.time = Utc::now();
        snapshot
    }

    /// Writes one setpoint to its asset's device (see [`ModbusDevice::write`]). A setpoint
    /// for an asset with no device is refused. An ECHONET Lite asset goes through
    /// [`EchonetDevice::write`], with the same safety rules.
    pub async fn write(&self, sp: &Setpoint) -> WriteRecord {
        if let Some(d) = self.echonet_device(&sp.asset) {
            return d.write(sp).await;
        }
        match self.device(&sp.asset) {
            Some(d) => d.write(sp).await,
            None => {
                let rec = WriteRecord::attempt(
                    &sp.asset,
                    "-",
                    &sp.quantity,
                    sp.value,
                    format!(
                        "no device for asset '{}' in {}",
                        sp.asset,
                        self.config.path.display()
                    ),
                );
                rec.log();
                rec
            }
        }
    }

    /// Writes setpoints in order, one record each.
    pub async fn write_all(&self, setpoints: &[Setpoint]) -> Vec<WriteRecord> {
        let mut out = Vec::with_capacity(setpoints.len());
        for sp in setpoints {
            out.push(self.write(sp).await);
        }
        out
    }

    /// Rewrites every setpoint whose profile declares a `refresh_s` that has passed since it
    /// was last written. Call it at least every `refresh_s / 2`.
    pub async fn refresh(&self) -> Vec<WriteRecord> {
        let now = Instant::now();
        let mut out = Vec::new();
        for d in &self.devices {
            for sp in d.due_refreshes(now) {
                out.push(d.write(&sp).await);
            }
        }
        out
    }

    /// Hands `asset`'s device (Modbus or ECHONET Lite) back to its own control; `None` when
    /// it has no device.
    pub async fn release(&self, asset: &str) -> Option<Vec<WriteRecord>> {
        if let Some(d) = self.echonet_device(asset) {
            return Some(d.release().await);
        }
        Some(self.device(asset)?.release().await)
    }

    /// Hands every device back to its own control (profile `release` writes).
    pub async fn release_all(&self) -> Vec<WriteRecord> {
        let mut out = Vec::new();
        for d in &self.devices {
            out.extend(d.release().await);
        }
        for d in &self.echonet {
            out.extend(d.release().await);
        }
        out
    }

    /// Closes every connection.
    pub async fn close(&self) {
        for l in self.links.values() {
            l.disconnect().await;
        }
    }
}
