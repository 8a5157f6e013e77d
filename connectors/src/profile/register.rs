//! Where a value lives on a Modbus device and how its 16-bit words encode it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four Modbus data tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterKind {
    /// Holding registers (16-bit, read/write; function codes 3, 6, 16).
    Holding,
    /// Input registers (16-bit, read-only; function code 4).
    Input,
    /// Coils (1 bit, read/write; function codes 1, 5, 15).
    Coil,
    /// Discrete inputs (1 bit, read-only; function code 2).
    Discrete,
}

impl RegisterKind {
    /// Whether the table holds bits (coils, discrete inputs) rather than 16-bit words.
    pub fn is_bit(self) -> bool {
        matches!(self, RegisterKind::Coil | RegisterKind::Discrete)
    }

    /// Whether Modbus lets a master write this table at all (holding registers, coils).
    pub fn is_writable(self) -> bool {
        matches!(self, RegisterKind::Holding | RegisterKind::Coil)
    }

    /// The name used in profiles and logs.
    pub fn name(self) -> &'static str {
        match self {
            RegisterKind::Holding => "holding",
            RegisterKind::Input => "input",
            RegisterKind::Coil => "coil",
            RegisterKind::Discrete => "discrete",
        }
    }
}

impl fmt::Display for RegisterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the raw value is encoded in the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Unsigned 16-bit integer (one word).
    U16,
    /// Signed 16-bit integer, two's complement (one word).
    I16,
    /// Unsigned 32-bit integer (two words).
    U32,
    /// Signed 32-bit integer (two words).
    I32,
    /// IEEE 754 single precision float (two words).
    F32,
    /// IEEE 754 double precision float (four words): exact for any value a device holds.
    F64,
    /// One bit: a coil or a discrete input.
    Bool,
}

impl DataType {
    /// Number of 16-bit words (or bits, for [`DataType::Bool`]) the value occupies.
    pub fn words(self) -> u16 {
        match self {
            DataType::U16 | DataType::I16 | DataType::Bool => 1,
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
            DataType::F64 => 4,
        }
    }

    /// The name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            DataType::U16 => "u16",
            DataType::I16 => "i16",
            DataType::U32 => "u32",
            DataType::I32 => "i32",
            DataType::F32 => "f32",
            DataType::F64 => "f64",
            DataType::Bool => "bool",
        }
    }
}

/// Order of the words of a 32- or 64-bit value (bytes within a word are always big-endian,
/// as Modbus says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WordOrder {
    /// Most significant word first (`ABCD`), the Modbus convention and SunSpec's.
    #[default]
    #[serde(alias = "abcd", alias = "high_first")]
    Big,
    /// Least significant word first (`CDAB`), common on meters.
    #[serde(alias = "cdab", alias = "low_first")]
    Little,
}

/// A register (or a pair of registers, or a bit) of a device: table, address and encoding.
///
/// Addresses are **protocol addresses**, 0-based, as they go in the request (the register a
/// manual calls "40001" is holding address 0; SunSpec's "40001" base is address 40000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// Data table.
    pub kind: RegisterKind,
    /// First address.
    pub address: u16,
    /// Encoding.
    pub data_type: DataType,
    /// Word order of 32- and 64-bit values.
    pub word_order: WordOrder,
}

impl Register {
    /// Number of words (or bits) occupied.
    pub fn len(&self) -> u16 {
        self.data_type.words()
    }

    /// Always false: a register occupies at least one word. (For clippy's `len` rule.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Last address occupied.
    pub fn last(&self) -> u32 {
        u32::from(self.address) + u32::from(self.len()) - 1
    }

    /// Whether `self` and `other` share an address in the same table.
    pub fn overlaps(&self, other: &Register) -> bool {
        self.kind == other.kind
            && u32::from(self.address) <= other.last()
            && u32::from(other.address) <= self.last()
    }

    /// The raw bit pattern of the words (16, 32 or 64 bits), for sentinel comparison.
    pub fn bits(&self, words: &[u16]) -> u64 {
        let n = usize::from(self.data_type.words());
        (0..n).fold(0u64, |acc, i| {
            // The i-th most significant word.
            let at = match self.word_order {
                WordOrder::Big => i,
                WordOrder::Little => n - 1 - i,
            };
            (acc << 16) | u64::from(words.get(at).copied().unwrap_or(0))
        })
    }

    /// The raw number the words hold (before scaling).
    pub fn decode(&self, words: &[u16]) -> f64 {
        let bits = self.bits(words);
        match self.data_type {
            DataType::U16 => f64::from(bits as u16),
            DataType::I16 => f64::from(bits as u16 as i16),
            DataType::U32 => f64::from(bits as u32),
            DataType::I32 => f64::from(bits as u32 as i32),
            DataType::F32 => f64::from(f32::from_bits(bits as u32)),
            DataType::F64 => f64::from_bits(bits),
            DataType::Bool => {
                if bits != 0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// The words holding the raw number `raw` (rounded to the nearest integer for integer
    /// types). Fails if `raw` is not finite or does not fit the type.
    pub fn encode(&self, raw: f64) -> Result<Vec<u16>, String> {
        if !raw.is_finite() {
            return Err(format!("{raw} is not a finite number"));
        }
        let int = raw.round();
        let range = |lo: f64, hi: f64| -> Result<f64, String> {
            if int < lo || int > hi {
                Err(format!(
                    "raw value {int} does not fit {} [{lo}, {hi}]",
                    self.data_type.name()
                ))
            } else {
                Ok(int)
            }
        };
        let bits: u64 = match self.data_type {
            DataType::U16 => range(0.0, f64::from(u16::MAX))? as u64,
            DataType::I16 => {
                u64::from(range(f64::from(i16::MIN), f64::from(i16::MAX))? as i16 as u16)
            }
            DataType::U32 => range(0.0, f64::from(u32::MAX))? as u64,
            DataType::I32 => {
                u64::from(range(f64::from(i32::MIN), f64::from(i32::MAX))? as i32 as u32)
            }
            DataType::F32 => {
                let v = raw as f32;
                if !v.is_finite() {
                    return Err(format!("{raw} does not fit f32"));
                }
                u64::from(v.to_bits())
            }
            DataType::F64 => raw.to_bits(),
            DataType::Bool => match int {
                0.0 => 0,
                1.0 => 1,
                _ => return Err(format!("{raw} is not 0 or 1 (a bit)")),
            },
        };
        Ok(self.words_of(bits))
    }

    /// The words of a raw bit pattern (16, 32 or 64 bits) in this register's word order.
    pub fn words_of(&self, bits: u64) -> Vec<u16> {
        let n = usize::from(self.data_type.words());
        let mut words: Vec<u16> = (0..n)
            .map(|i| (bits >> (16 * (n - 1 - i))) as u16)
            .collect();
        if self.word_order == WordOrder::Little {
            words.reverse();
        }
        words
    }
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({})",
            self.kind,
            self.address,
            self.data_type.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(data_type: DataType, word_order: WordOrder) -> Register {
        Register {
            kind: RegisterKind::Holding,
            address: 0,
            data_type,
            word_order,
        }
    }

    #[test]
    fn round_trips_every_type_and_order() {
        for order in [WordOrder::Big, WordOrder::Little] {
            for (t, v) in [
                (DataType::U16, 65535.0),
                (DataType::I16, -32768.0),
                (DataType::U32, 4_000_000_000.0),
                (DataType::I32, -2_000_000_000.0),
                (DataType::F32, -1234.5),
                (DataType::F64, -1_234.567_890_123_456_7),
                (DataType::Bool, 1.0),
            ] {
                let r = reg(t, order);
                let words = r.encode(v).unwrap();
                assert_eq!(words.len(), usize::from(t.words()));
                assert_eq!(r.decode(&words), v, "{t:?} {order:?}");
            }
        }
    }

    #[test]
    fn word_order_places_the_high_word() {
        let big = reg(DataType::U32, WordOrder::Big)
            .encode(65536.0 + 2.0)
            .unwrap();
        assert_eq!(big, vec![1, 2]);
        let little = reg(DataType::U32, WordOrder::Little)
            .encode(65536.0 + 2.0)
            .unwrap();
        assert_eq!(little, vec![2, 1]);
        let f = reg(DataType::F32, WordOrder::Big).encode(1.0).unwrap();
        assert_eq!(f, vec![0x3F80, 0x0000]);
        let d = reg(DataType::F64, WordOrder::Big).encode(1.0).unwrap();
        assert_eq!(d, vec![0x3FF0, 0, 0, 0]);
        let d = reg(DataType::F64, WordOrder::Little).encode(1.0).unwrap();
        assert_eq!(d, vec![0, 0, 0, 0x3FF0]);
    }

    #[test]
    fn refuses_values_that_do_not_fit() {
        assert!(reg(DataType::U16, WordOrder::Big).encode(-1.0).is_err());
        assert!(reg(DataType::U16, WordOrder::Big).encode(65536.0).is_err());
        assert!(reg(DataType::I16, WordOrder::Big).encode(40000.0).is_err());
        assert!(reg(DataType::I32, WordOrder::Big).encode(f64::NAN).is_err());
        assert!(reg(DataType::Bool, WordOrder::Big).encode(2.0).is_err());
        assert!(reg(DataType::F32, WordOrder::Big).encode(1e300).is_err());
    }

    #[test]
    fn overlap_is_per_table() {
        let a = Register {
            kind: RegisterKind::Holding,
            address: 10,
            data_type: DataType::U32,
            word_order: WordOrder::Big,
        };
        let b = Register {
            address: 11,
            data_type: DataType::U16,
            ..a
        };
        let c = Register {
            kind: RegisterKind::Input,
            ..b
        };
        let d = Register { address: 12, ..b };
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&c));
        assert!(!a.overlaps(&d));
    }
}
