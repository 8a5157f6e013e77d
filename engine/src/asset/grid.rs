//! `[[grid]]`: a utility connection (point of common coupling) at a node.

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::{Resolver, SeriesSpec};

/// A connection to the utility grid, with its tariff, limits and demand charge.
#[derive(Debug, Clone, PartialEq)]
pub struct GridConnection {
    /// Unique id.
    pub id: String,
    /// Index of the node it is attached to.
    pub node: usize,
    /// Price of imported energy per step, yen/kWh.
    pub import_price_yen_per_kwh: Vec<f64>,
    /// Price paid for exported energy per step, yen/kWh (never above the import price).
    pub export_price_yen_per_kwh: Vec<f64>,
    /// Largest import, kW (may be infinite).
    pub import_limit_kw: f64,
    /// Largest export, kW (may be infinite; 0 forbids reverse flow).
    pub export_limit_kw: f64,
    /// CO2 intensity of imported energy per step, kg/kWh.
    pub carbon_intensity_kg_per_kwh: Vec<f64>,
    /// Demand charge on the billed 30-minute peak, yen/kW.
    pub demand_charge_yen_per_kw: f64,
    /// The billed peak already reached this billing period, kW.
    pub peak_so_far_kw: f64,
    /// Energy already imported in the 30-minute interval the horizon starts in, before
    /// the horizon, kWh (0 when the horizon starts on a 30-minute boundary). Not a scenario
    /// file key: the live control loop sets it when it replans mid-interval.
    pub interval_import_so_far_kwh: f64,
    /// A cap on import per step, kW (empty, or infinite at a step: none), above which
    /// import costs [`IMPORT_CAP_PENALTY_YEN_PER_KWH`] (extension, `docs/extensions.md`,
    /// *Import caps*). Not a scenario file key: the live loop sets it from an operator's
    /// import cap.
    pub import_cap_kw: Vec<f64>,
}

/// What each kWh imported above an import cap costs, yen: the cap holds unless nothing
/// else can carry the load (a cap is a request, not a reason to fail).
pub const IMPORT_CAP_PENALTY_YEN_PER_KWH: f64 = 10_000.0;

impl GridConnection {
    /// The import cap at step `t`, if any.
    pub fn import_cap_at(&self, t: usize) -> Option<f64> {
        self.import_cap_kw.get(t).copied().filter(|c| c.is_finite())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGrid {
    pub id: String,
    pub node: String,
    pub import_price_yen_per_kwh: SeriesSpec,
    #[serde(default)]
    pub export_price_yen_per_kwh: Option<SeriesSpec>,
    #[serde(default)]
    pub import_limit_kw: Option<f64>,
    #[serde(default)]
    pub export_limit_kw: Option<f64>,
    #[serde(default)]
    pub carbon_intensity_kg_per_kwh: Option<SeriesSpec>,
    #[serde(default)]
    pub demand_charge_yen_per_kw: Option<f64>,
    #[serde(default)]
    pub peak_so_far_kw: Option<f64>,
}

impl RawGrid {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<GridConnection, ScenarioError> {
        let import_price = r.series("import_price_yen_per_kwh", &self.import_price_yen_per_kwh)?;
        let export_price = r.series_or(
            "export_price_yen_per_kwh",
            &self.export_price_yen_per_kwh,
            0.0,
        )?;
        if let Some(t) = (0..import_price.len()).find(|&t| export_price[t] > import_price[t]) {
            return Err(r.ctx.err(
                "export_price_yen_per_kwh",
                format!(
                    "export price {} > import price {} at step {t} ({}): it would reward \
                     unbounded circular trade",
                    export_price[t],
                    import_price[t],
                    r.time_of(t)
                ),
            ));
        }
        let carbon = r.series_or(
            "carbon_intensity_kg_per_kwh",
            &self.carbon_intensity_kg_per_kwh,
            0.0,
        )?;
        r.check_series(
            "carbon_intensity_kg_per_kwh",
            &carbon,
            |x| x >= 0.0,
            "must not be negative",
        )?;
        Ok(GridConnection {
            node: r.node("node", &self.node)?,
            import_price_yen_per_kwh: import_price,
            export_price_yen_per_kwh: export_price,
            import_limit_kw: r.nonneg_or_inf(
                "import_limit_kw",
                self.import_limit_kw.unwrap_or(f64::INFINITY),
            )?,
            export_limit_kw: r
                .nonneg_or_inf("export_limit_kw", self.export_limit_kw.unwrap_or(0.0))?,
            carbon_intensity_kg_per_kwh: carbon,
            demand_charge_yen_per_kw: r.nonneg(
                "demand_charge_yen_per_kw",
                self.demand_charge_yen_per_kw.unwrap_or(0.0),
            )?,
            peak_so_far_kw: r.nonneg("peak_so_far_kw", self.peak_so_far_kw.unwrap_or(0.0))?,
            interval_import_so_far_kwh: 0.0,
            import_cap_kw: Vec::new(),
            id: self.id,
        })
    }
}
