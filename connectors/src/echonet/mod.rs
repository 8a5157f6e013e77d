//! ECHONET Lite (UDP 3610): homes' and small buildings' batteries, PV, air conditioners
//! and smart meters, read and driven like the Modbus devices.
//!
//! - [`frame`]: the frame codec (EHD 0x10 0x81, TID, SEOJ, DEOJ, ESV, OPC, EPC/PDC/EDT);
//!   a malformed datagram is rejected with the reason, logged (target `aems::echonet`),
//!   never a panic.
//! - [`class`]: device classes as data (`connectors/echonet/*.toml`, bundled): storage
//!   battery 0x027D, home solar 0x0279, home air conditioner 0x0130, low-voltage smart
//!   meter 0x0288: the properties used (EPC, size, sign, scale, unit, quantity name), which
//!   are writable, and the limits of the writable quantities.
//! - [`link`]: the UDP endpoint: TID matching, timeouts and retries, discovery (Get of
//!   0xD6 on the node profile 0x0EF001, multicast 224.0.23.0 or unicast).
//! - [`device`]: one object: [`EchonetDevice::read`] (one Get) and
//!   [`EchonetDevice::write`] (the one guarded path: [`crate::safety::check`], writable
//!   properties only, one SetC, a read-back Get, a [`crate::WriteRecord`]).
//!
//! In a `devices.toml`, a `[[device]]` with `protocol = "echonet"` names a `class` instead
//! of a `profile` (see [`crate::devices`]); [`crate::Fleet`] reads and writes it alongside
//! the Modbus devices, and the [`crate::Simulator`] serves it.
//!
//! The codec is this crate's own (about 200 lines). The crates.io candidates were read and
//! set aside: `echonet` 1.3.2 (uecho-rs) is a whole framework that owns its sockets and
//! multicast (pnet, nix, net2) and needs Rust 1.90 (the workspace's MSRV is 1.85);
//! `echonet-lite` 0.1.6 is a serde codec that does not check EHD1/EHD2, accepts bytes
//! after the last property, and reports a short property as a generic serde error, where
//! the AEMS must say what was wrong with the frame.

pub mod class;
pub mod device;
pub mod frame;
pub mod link;

pub use class::EchonetClass;
pub use device::EchonetDevice;
pub use frame::{Eoj, Frame, FrameError, Property};
pub use link::{EchonetError, EchonetLink, EchonetSettings, Node};
