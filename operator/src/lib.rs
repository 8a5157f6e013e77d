//! The operator's interface to the running loop (`aems run`): its HTTP server ([`http`]:
//! the views the loop publishes and the actions, [`metrics`]); who may act ([`credentials`]: argon2 hashes of tokens
//! and passwords from the settings file), what they may ask ([`request`]: typed requests,
//! checked against the district, a malformed one refused naming the field), and what the
//! control cycle reads at its start ([`state`]: assets and buildings in manual, control
//! paused, import caps, acknowledged flags, and the actions to put in the audit log).

#![warn(missing_docs)]

pub mod credentials;
pub mod http;
pub mod metrics;
pub mod request;
pub mod state;

pub use credentials::{Credentials, Refusal, Role, UserSetting, Who};
pub use request::{BadRequest, Catalog, Request};
pub use state::{Action, ImportCap, OperatorState};
