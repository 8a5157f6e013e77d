//! Modbus TCP: one [`ModbusLink`] (connection) per `host:port`, shared by every
//! [`ModbusDevice`] (unit id) behind it.

mod device;
mod link;

pub(crate) use device::decode_dump;
pub use device::ModbusDevice;
pub use link::ModbusLink;
