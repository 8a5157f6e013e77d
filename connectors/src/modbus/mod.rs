//! Modbus TCP: one [`ModbusLink`] (connection) per `host:port`, shared by every
//! [`ModbusDevice`] (unit id) behind it.

mod device;
mod link;

pub use device::ModbusDevice;
pub(crate) use device::decode_dump;
pub use link::ModbusLink;
