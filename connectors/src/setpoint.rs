//! [`Setpoint`]: one value for one quantity of one asset, as the control loop sends it.

use serde::{Deserialize, Serialize};

/// A value the AEMS wants an asset to follow, e.g. `hub_bat` `power_kw` = `-200` `kW`.
///
/// `quantity` names a writable point of the asset's profile (`power_kw`, `on`,
/// `zone_setpoint_c`, ...). Sign conventions are the AEMS's, whatever the device's: power is
/// positive when the asset *delivers* power to its node (battery discharging, generator
/// running) and negative when it draws power (battery charging). `unit` must match the
/// point's unit (`kW`, `°C`, ...), or be empty to accept the point's unit; a mismatch is
/// refused, so kW never reach a register in W.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setpoint {
    /// Scenario asset id.
    pub asset: String,
    /// Writable point of the asset's profile.
    pub quantity: String,
    /// Engineering value.
    pub value: f64,
    /// Unit of `value` (empty: the point's own).
    pub unit: String,
}

impl Setpoint {
    /// A setpoint.
    pub fn new(
        asset: impl Into<String>,
        quantity: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
    ) -> Self {
        Self {
            asset: asset.into(),
            quantity: quantity.into(),
            value,
            unit: unit.into(),
        }
    }
}

impl std::fmt::Display for Setpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{} = {} {}",
            self.asset, self.quantity, self.value, self.unit
        )
    }
}
