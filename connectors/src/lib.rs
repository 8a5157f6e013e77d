//! Device connectors of the AEMS: Modbus TCP and MQTT (knows nothing of the MILP).
//!
//! Empty for now: see the connectors issue.
#![warn(missing_docs)]
