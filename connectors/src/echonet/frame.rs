//! The ECHONET Lite frame (format 1, "specified message format"): encoding and a decoder
//! that rejects, with the reason, anything that is not a whole, well-formed frame.
//!
//! ```text
//! EHD1 EHD2 TID  SEOJ    DEOJ    ESV OPC (EPC PDC EDT[PDC]) × OPC
//! 0x10 0x81 2 B  3 B     3 B     1 B 1 B
//! ```
//!
//! (ECHONET Lite Specification, Part II, ch. 3.2.) The SetGet services (ESV 0x6E, 0x7E,
//! 0x5E), whose frames carry two property lists, are not used by the AEMS and are rejected
//! as unsupported.

use std::fmt;

/// EHD1: ECHONET Lite.
pub const EHD1: u8 = 0x10;
/// EHD2: format 1 (specified message format).
pub const EHD2: u8 = 0x81;
/// Length of the header up to and including OPC.
pub const HEADER_LEN: usize = 12;

/// An ECHONET object: class group code, class code, instance code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Eoj {
    /// Class group code (0x02 housing/facilities, 0x01 air conditioners, 0x0E profiles...).
    pub group: u8,
    /// Class code.
    pub class: u8,
    /// Instance code (1..=0x7F; 0 addresses every instance of the class).
    pub instance: u8,
}

impl Eoj {
    /// The node profile object 0x0EF001.
    pub const NODE_PROFILE: Eoj = Eoj::new(0x0E, 0xF0, 0x01);
    /// A controller object 0x05FF01 (the AEMS's own source object).
    pub const CONTROLLER: Eoj = Eoj::new(0x05, 0xFF, 0x01);

    /// An object.
    pub const fn new(group: u8, class: u8, instance: u8) -> Self {
        Self {
            group,
            class,
            instance,
        }
    }

    /// The object of class `code` (`0x027D`) and `instance`.
    pub const fn of_class(code: u16, instance: u8) -> Self {
        Self::new((code >> 8) as u8, (code & 0xFF) as u8, instance)
    }

    /// Class group and class code as one number (`0x027D`).
    pub fn class_code(&self) -> u16 {
        u16::from(self.group) << 8 | u16::from(self.class)
    }

    /// The three bytes.
    pub fn bytes(&self) -> [u8; 3] {
        [self.group, self.class, self.instance]
    }

    /// Parses `0x027D01` (or `027D01`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let h = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        if h.len() != 6 {
            return Err(format!(
                "'{s}' is not an EOJ: six hex digits, e.g. 0x027D01"
            ));
        }
        let v = u32::from_str_radix(h, 16)
            .map_err(|_| format!("'{s}' is not an EOJ: six hex digits, e.g. 0x027D01"))?;
        Ok(Self::new((v >> 16) as u8, (v >> 8) as u8, v as u8))
    }
}

impl fmt::Display for Eoj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "0x{:02X}{:02X}{:02X}",
            self.group, self.class, self.instance
        )
    }
}

/// Service codes (ESV) used here.
pub mod esv {
    /// Property write, no response.
    pub const SET_I: u8 = 0x60;
    /// Property write, response required.
    pub const SET_C: u8 = 0x61;
    /// Property read.
    pub const GET: u8 = 0x62;
    /// Property notification request.
    pub const INF_REQ: u8 = 0x63;
    /// Response to SetC.
    pub const SET_RES: u8 = 0x71;
    /// Response to Get.
    pub const GET_RES: u8 = 0x72;
    /// Property notification.
    pub const INF: u8 = 0x73;
    /// SetI not possible.
    pub const SET_I_SNA: u8 = 0x50;
    /// SetC not possible (the refused properties carry their data back).
    pub const SET_C_SNA: u8 = 0x51;
    /// Get not possible (the missing properties have PDC 0).
    pub const GET_SNA: u8 = 0x52;

    /// Whether `esv` is one of the SetGet services (two property lists).
    pub fn is_set_get(esv: u8) -> bool {
        matches!(esv, 0x6E | 0x7E | 0x5E)
    }
}

/// One property: EPC and its data (PDC is `edt.len()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Property code.
    pub epc: u8,
    /// Property data (empty in a Get request, or when a response leaves it out).
    pub edt: Vec<u8>,
}

impl Property {
    /// A property with data.
    pub fn new(epc: u8, edt: Vec<u8>) -> Self {
        Self { epc, edt }
    }

    /// A property without data (a Get request).
    pub fn request(epc: u8) -> Self {
        Self { epc, edt: vec![] }
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Transaction id (a response carries the request's).
    pub tid: u16,
    /// Source object.
    pub seoj: Eoj,
    /// Destination object.
    pub deoj: Eoj,
    /// Service.
    pub esv: u8,
    /// Properties (OPC is their number).
    pub props: Vec<Property>,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than the fixed header.
    #[error("truncated header: {got} bytes, an ECHONET Lite frame has at least {HEADER_LEN}")]
    Truncated {
        /// Bytes received.
        got: usize,
    },
    /// Not EHD1 0x10 / EHD2 0x81.
    #[error("not an ECHONET Lite format 1 frame: EHD 0x{ehd1:02X} 0x{ehd2:02X} (want 0x10 0x81)")]
    Header {
        /// First byte.
        ehd1: u8,
        /// Second byte.
        ehd2: u8,
    },
    /// A property's PDC runs past the end of the datagram.
    #[error("property #{index} (EPC 0x{epc:02X}): PDC says {pdc} bytes but {left} follow")]
    ShortProperty {
        /// Index of the property (0-based).
        index: usize,
        /// Its EPC.
        epc: u8,
        /// What PDC declared.
        pdc: usize,
        /// Bytes left in the datagram.
        left: usize,
    },
    /// OPC says more properties than the datagram holds.
    #[error("OPC says {opc} properties but the datagram ends after {got}")]
    MissingProperties {
        /// Declared count.
        opc: usize,
        /// Properties found.
        got: usize,
    },
    /// Bytes after the last property.
    #[error("{extra} byte(s) after the last of the {opc} properties")]
    Trailing {
        /// Declared count.
        opc: usize,
        /// Extra bytes.
        extra: usize,
    },
    /// A service the AEMS does not use.
    #[error("unsupported service ESV 0x{0:02X} (SetGet)")]
    Unsupported(u8),
}

impl Frame {
    /// A request from the AEMS's controller object.
    pub fn request(tid: u16, deoj: Eoj, esv: u8, props: Vec<Property>) -> Self {
        Self {
            tid,
            seoj: Eoj::CONTROLLER,
            deoj,
            esv,
            props,
        }
    }

    /// The bytes on the wire. A property longer than 255 bytes or more than 255
    /// properties cannot be encoded (`Err`).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let opc = u8::try_from(self.props.len())
            .map_err(|_| format!("{} properties: at most 255 fit a frame", self.props.len()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + self.props.len() * 4);
        out.extend_from_slice(&[EHD1, EHD2]);
        out.extend_from_slice(&self.tid.to_be_bytes());
        out.extend_from_slice(&self.seoj.bytes());
        out.extend_from_slice(&self.deoj.bytes());
        out.push(self.esv);
        out.push(opc);
        for p in &self.props {
            let pdc = u8::try_from(p.edt.len())
                .map_err(|_| format!("EPC 0x{:02X}: {} bytes, at most 255", p.epc, p.edt.len()))?;
            out.push(p.epc);
            out.push(pdc);
            out.extend_from_slice(&p.edt);
        }
        Ok(out)
    }

    /// Parses one datagram: the whole of it must be one frame.
    pub fn decode(b: &[u8]) -> Result<Self, FrameError> {
        if b.len() < HEADER_LEN {
            return Err(FrameError::Truncated { got: b.len() });
        }
        if b[0] != EHD1 || b[1] != EHD2 {
            return Err(FrameError::Header {
                ehd1: b[0],
                ehd2: b[1],
            });
        }
        let tid = u16::from_be_bytes([b[2], b[3]]);
        let seoj = Eoj::new(b[4], b[5], b[6]);
        let deoj = Eoj::new(b[7], b[8], b[9]);
        let esv = b[10];
        if esv::is_set_get(esv) {
            return Err(FrameError::Unsupported(esv));
        }
        let opc = usize::from(b[11]);
        let mut props = Vec::with_capacity(opc);
        let mut rest = &b[HEADER_LEN..];
        for index in 0..opc {
            let (epc, pdc, tail) = match rest {
                [epc, pdc, tail @ ..] => (*epc, usize::from(*pdc), tail),
                _ => return Err(FrameError::MissingProperties { opc, got: index }),
            };
            if tail.len() < pdc {
                return Err(FrameError::ShortProperty {
                    index,
                    epc,
                    pdc,
                    left: tail.len(),
                });
            }
            props.push(Property::new(epc, tail[..pdc].to_vec()));
            rest = &tail[pdc..];
        }
        if !rest.is_empty() {
            return Err(FrameError::Trailing {
                opc,
                extra: rest.len(),
            });
        }
        Ok(Self {
            tid,
            seoj,
            deoj,
            esv,
            props,
        })
    }

    /// The data of `epc`, if the frame has it with data.
    pub fn edt(&self, epc: u8) -> Option<&[u8]> {
        self.props
            .iter()
            .find(|p| p.epc == epc && !p.edt.is_empty())
            .map(|p| p.edt.as_slice())
    }
}

/// A property map (EPC 0x9D/0x9E/0x9F): the count, then the EPCs when fewer than 16, else
/// a 16-byte bitmap (Part II, Appendix 1).
pub fn encode_property_map(epcs: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = epcs.to_vec();
    v.sort_unstable();
    v.dedup();
    let n = v.len() as u8;
    if v.len() < 16 {
        let mut out = vec![n];
        out.extend(v);
        return out;
    }
    let mut out = vec![n; 17];
    out[1..].fill(0);
    for epc in v {
        // Byte (low nibble) + 1, bit (high nibble − 8).
        let byte = usize::from(epc & 0x0F) + 1;
        let bit = (epc >> 4).wrapping_sub(8);
        if bit < 8 {
            out[byte] |= 1 << bit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get_soc() -> Vec<u8> {
        vec![
            0x10, 0x81, 0x00, 0x01, 0x05, 0xFF, 0x01, 0x02, 0x7D, 0x01, 0x62, 0x01, 0xE4, 0x00,
        ]
    }

    #[test]
    fn round_trip() {
        let f = Frame::decode(&get_soc()).unwrap();
        assert_eq!(f.tid, 1);
        assert_eq!(f.deoj, Eoj::of_class(0x027D, 1));
        assert_eq!(f.esv, esv::GET);
        assert_eq!(f.props, vec![Property::request(0xE4)]);
        assert_eq!(f.encode().unwrap(), get_soc());
        let res = Frame {
            tid: 7,
            seoj: Eoj::of_class(0x027D, 1),
            deoj: Eoj::CONTROLLER,
            esv: esv::GET_RES,
            props: vec![
                Property::new(0xE4, vec![55]),
                Property::new(0xD3, (-1500i32).to_be_bytes().to_vec()),
            ],
        };
        assert_eq!(Frame::decode(&res.encode().unwrap()).unwrap(), res);
    }

    #[test]
    fn pdc_longer_than_the_data_is_rejected() {
        // Get_Res with EPC 0xD3, PDC 4, but only 2 bytes follow.
        let b = [
            0x10, 0x81, 0x00, 0x01, 0x02, 0x7D, 0x01, 0x05, 0xFF, 0x01, 0x72, 0x01, 0xD3, 0x04,
            0x00, 0x10,
        ];
        let e = Frame::decode(&b).unwrap_err();
        assert_eq!(
            e,
            FrameError::ShortProperty {
                index: 0,
                epc: 0xD3,
                pdc: 4,
                left: 2
            }
        );
        assert_eq!(
            e.to_string(),
            "property #0 (EPC 0xD3): PDC says 4 bytes but 2 follow"
        );
    }

    #[test]
    fn truncated_header_missing_and_trailing_bytes_are_rejected() {
        let b = get_soc();
        for n in 0..HEADER_LEN {
            assert_eq!(
                Frame::decode(&b[..n]).unwrap_err(),
                FrameError::Truncated { got: n }
            );
        }
        // OPC 2, one property.
        let mut two = b.clone();
        two[11] = 2;
        assert_eq!(
            Frame::decode(&two).unwrap_err(),
            FrameError::MissingProperties { opc: 2, got: 1 }
        );
        let mut long = b.clone();
        long.push(0);
        assert_eq!(
            Frame::decode(&long).unwrap_err(),
            FrameError::Trailing { opc: 1, extra: 1 }
        );
        let mut other = b;
        other[1] = 0x82;
        assert!(matches!(
            Frame::decode(&other),
            Err(FrameError::Header { .. })
        ));
    }

    #[test]
    fn any_bytes_decode_or_fail_without_panicking() {
        // Every prefix and every single-byte corruption of a valid frame.
        let f = Frame {
            tid: 0xBEEF,
            seoj: Eoj::CONTROLLER,
            deoj: Eoj::of_class(0x027D, 1),
            esv: esv::SET_C,
            props: vec![
                Property::new(0xDA, vec![0x42]),
                Property::new(0xEB, 1500u32.to_be_bytes().to_vec()),
            ],
        };
        let b = f.encode().unwrap();
        for n in 0..=b.len() {
            let _ = Frame::decode(&b[..n]);
        }
        for i in 0..b.len() {
            for v in [0u8, 1, 0x7F, 0xFF] {
                let mut c = b.clone();
                c[i] = v;
                let _ = Frame::decode(&c);
            }
        }
    }

    proptest::proptest! {
        /// Any datagram decodes or is refused with a reason, never a panic; what decodes
        /// encodes back to the same bytes (nothing is silently dropped or invented).
        #[test]
        fn any_datagram_decodes_exactly_or_is_refused(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
            header in proptest::prelude::any::<bool>(),
        ) {
            let mut b = bytes;
            if header && b.len() >= 2 {
                b[0] = EHD1;
                b[1] = EHD2;
            }
            match Frame::decode(&b) {
                Ok(f) => proptest::prop_assert_eq!(f.encode().unwrap(), b),
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn eoj_parses_and_prints() {
        let e = Eoj::parse("0x027D01").unwrap();
        assert_eq!(e, Eoj::of_class(0x027D, 1));
        assert_eq!(e.to_string(), "0x027D01");
        assert_eq!(e.class_code(), 0x027D);
        assert!(Eoj::parse("0x027D").is_err());
        assert!(Eoj::parse("0xZZ7D01").is_err());
    }

    #[test]
    fn property_maps_list_or_bitmap() {
        assert_eq!(encode_property_map(&[0xE4, 0x80]), vec![2, 0x80, 0xE4]);
        let many: Vec<u8> = (0x80..0x90).collect();
        let m = encode_property_map(&many);
        assert_eq!(m.len(), 17);
        assert_eq!(m[0], 16);
        // 0x80..0x8F: bit 0 of every byte.
        assert!(m[1..].iter().all(|b| *b == 1));
    }
}
