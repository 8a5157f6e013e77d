//! Prometheus metrics of the loop (text exposition at `/metrics`), with prometheus-client.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// A `kind` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The kind.
    pub kind: String,
}

/// An `asset` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AssetLabel {
    /// The asset.
    pub asset: String,
}

/// An `outcome` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// The outcome.
    pub outcome: String,
}

/// Every metric of the loop.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Cycles run.
    pub cycles: Counter,
    /// Wall seconds per cycle.
    pub cycle_seconds: Histogram,
    /// Wall seconds per solve.
    pub solve_seconds: Histogram,
    /// Relative MIP gap of the last schedule.
    pub mip_gap: Gauge<f64, AtomicU64>,
    /// Cycles whose commands came from a fallback, by kind (`previous`, `rule`).
    pub fallbacks: Family<KindLabel, Counter>,
    /// Solves that did not give a schedule in time, by reason.
    pub solve_failures: Family<KindLabel, Counter>,
    /// Device errors (unreadable devices, failed writes), by asset.
    pub device_errors: Family<AssetLabel, Counter>,
    /// Flagged readings, by kind.
    pub telemetry_flags: Family<KindLabel, Counter>,
    /// Setpoints sent, by outcome.
    pub setpoints: Family<OutcomeLabel, Counter>,
    /// Cycles the store could not record: nothing was sent in them.
    pub store_errors: Counter,
    /// Forecast steps that fell back to the scenario's series for want of history.
    pub forecast_fallbacks: Gauge,
    /// Readings the metered KPIs could not use (missing, a cycle past the data), by what.
    pub kpi_skipped: Family<KindLabel, Gauge>,
    /// MQTT connected (0/1).
    pub mqtt_connected: Gauge,
    /// MQTT messages waiting for the broker.
    pub mqtt_pending: Gauge,
    /// This month's peak, kW (first grid).
    pub month_peak_kw: Gauge<f64, AtomicU64>,
    /// Metered cost since the run's start, yen.
    pub cost_yen: Gauge<f64, AtomicU64>,
    /// Utility supply per grid connection as measured (1 available, 0 lost), by asset.
    pub grid_available: Family<AssetLabel, Gauge>,
    /// The plan followed is islanded (made with a lost connection out): 1, else 0.
    pub islanded: Gauge,
}

impl Metrics {
    /// A fresh registry with every metric at 0.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("aems");
        let m = Self {
            cycles: Counter::default(),
            cycle_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            solve_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            mip_gap: Gauge::default(),
            fallbacks: Family::default(),
            solve_failures: Family::default(),
            device_errors: Family::default(),
            telemetry_flags: Family::default(),
            setpoints: Family::default(),
            store_errors: Counter::default(),
            forecast_fallbacks: Gauge::default(),
            kpi_skipped: Family::default(),
            mqtt_connected: Gauge::default(),
            mqtt_pending: Gauge::default(),
            month_peak_kw: Gauge::default(),
            cost_yen: Gauge::default(),
            grid_available: Family::default(),
            islanded: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("cycles", "Planner cycles run", m.cycles.clone());
        registry.register(
            "store_errors",
            "Cycles not recorded",
            m.store_errors.clone(),
        );
        registry.register(
            "forecast_fallbacks",
            "Forecast steps on the scenario's series for want of history",
            m.forecast_fallbacks.clone(),
        );
        registry.register(
            "kpi_skipped",
            "Readings the metered KPIs could not use, by what",
            m.kpi_skipped.clone(),
        );
        registry.register(
            "cycle_seconds",
            "Wall-clock duration of a cycle",
            m.cycle_seconds.clone(),
        );
        registry.register(
            "solve_seconds",
            "Wall-clock duration of a solve",
            m.solve_seconds.clone(),
        );
        registry.register(
            "mip_gap",
            "Relative MIP gap of the last schedule",
            m.mip_gap.clone(),
        );
        registry.register(
            "fallbacks",
            "Cycles run on a fallback, by kind",
            m.fallbacks.clone(),
        );
        registry.register(
            "solve_failures",
            "Solves without a schedule in time, by reason",
            m.solve_failures.clone(),
        );
        registry.register(
            "device_errors",
            "Unreadable devices and failed writes, by asset",
            m.device_errors.clone(),
        );
        registry.register(
            "telemetry_flags",
            "Flagged readings, by kind",
            m.telemetry_flags.clone(),
        );
        registry.register(
            "setpoints",
            "Setpoints written over Modbus, by outcome",
            m.setpoints.clone(),
        );
        registry.register(
            "mqtt_connected",
            "Connected to the MQTT broker",
            m.mqtt_connected.clone(),
        );
        registry.register(
            "mqtt_pending",
            "MQTT messages not yet acknowledged",
            m.mqtt_pending.clone(),
        );
        registry.register(
            "month_peak_kw",
            "This month's 30-minute peak",
            m.month_peak_kw.clone(),
        );
        registry.register(
            "cost_yen",
            "Metered cost since the run's start",
            m.cost_yen.clone(),
        );
        registry.register(
            "grid_available",
            "Utility supply at each grid connection as measured (1 available, 0 lost)",
            m.grid_available.clone(),
        );
        registry.register(
            "islanded",
            "The plan followed is islanded (1) or not (0)",
            m.islanded.clone(),
        );
        Self { registry, ..m }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.push_str("# encoding failed\n");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A label.
pub fn kind(k: &str) -> KindLabel {
    KindLabel { kind: k.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_exposition_names_every_metric() {
        let m = Metrics::new();
        m.cycles.inc();
        m.fallbacks.get_or_create(&kind("rule")).inc();
        m.solve_seconds.observe(0.2);
        let text = m.encode();
        for needle in [
            "aems_cycles_total 1",
            "aems_fallbacks_total{kind=\"rule\"} 1",
            "aems_solve_seconds_count 1",
            "aems_cycle_seconds_count 0",
            "aems_mip_gap",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
    }
}
