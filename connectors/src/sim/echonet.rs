//! The simulator's ECHONET Lite devices: one UDP socket per `host:port` of a devices file
//! (one ECHONET node), answering Get, SetC, SetI and INF_REQ for its objects and for the
//! node profile 0x0EF001 (0xD6 instance list, property maps, identification), with the
//! same physics as the Modbus devices: a battery follows its operation mode and power
//! settings, an air conditioner its set temperature, a meter and PV report the district's
//! flows.
//!
//! A SetC/SetI whose property is not declared writable in the class, has the wrong size or
//! lies outside the class's limits (narrowed by the device's) is refused whole with a
//! SetC_SNA / SetI_SNA, as a device refuses an invalid value; a malformed datagram is
//! logged (target `aems::echonet`) and dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use physics::HvacControl;
use tokio::net::UdpSocket;

use super::{lock, Model, World};
use crate::devices::EchonetEntry;
use crate::echonet::class::{ClassFamily, SetpointMapping};
use crate::echonet::frame::{encode_property_map, esv, Eoj, Frame, Property};
use crate::echonet::link::{decode_logged, encode_instance_list, EPC_INSTANCE_LIST};
use crate::telemetry::Reading;

/// Operation mode "auto": the battery runs itself.
const MODE_AUTO: u8 = 0x46;
/// Manufacturer code of the simulated devices (0xFFFFFF: not assigned).
const MAKER: [u8; 3] = [0xFF, 0xFF, 0xFF];

/// One simulated ECHONET Lite object.
#[derive(Debug)]
pub(crate) struct EchoObject {
    pub(crate) entry: EchonetEntry,
    pub(crate) model: Model,
    props: BTreeMap<u8, Vec<u8>>,
    /// Whether a Set was accepted since the start (until then, the device runs itself).
    controlled: bool,
    pub(crate) writes: u64,
}

impl EchoObject {
    /// The object of `entry`, showing `model`; `local_setpoint_c` for an air conditioner.
    pub(crate) fn new(entry: EchonetEntry, model: Model, local_setpoint_c: Option<f64>) -> Self {
        let mut props = BTreeMap::new();
        for p in &entry.class.properties {
            props.insert(p.epc, p.edt_of_raw(0));
        }
        props.insert(0x80, vec![0x30]);
        let mut o = Self {
            entry,
            model,
            props,
            controlled: false,
            writes: 0,
        };
        for sp in o.entry.class.setpoints.clone() {
            if let SetpointMapping::Split(s) = sp.mapping {
                o.props.insert(s.mode_epc, vec![MODE_AUTO]);
            }
        }
        if let (Some(c), Some(p)) = (
            local_setpoint_c,
            o.entry.class.property_named("zone_setpoint_c"),
        ) {
            if let Ok(edt) = p.encode(c) {
                o.props.insert(p.epc, edt);
            }
        }
        if o.entry.class.property(0xCF).is_some() {
            o.props.insert(0xCF, vec![MODE_AUTO]);
        }
        o
    }

    fn class(&self) -> &crate::echonet::EchonetClass {
        &self.entry.class
    }

    /// Stores the physics' `value` of quantity `name` in its read-only property, if any.
    pub(crate) fn set_quantity(&mut self, name: &str, value: f64) {
        let Some(p) = self
            .class()
            .properties
            .iter()
            .find(|p| p.name == name && !p.set)
            .cloned()
        else {
            return;
        };
        let (lo, hi) = p.raw_range();
        let raw = match p.raw_of(value) {
            Ok(r) => r,
            Err(_) if value.is_finite() => {
                ((value / (p.scale * p.sign)).round() as i64).clamp(lo, hi)
            }
            Err(_) => return,
        };
        self.props.insert(p.epc, p.edt_of_raw(raw));
    }

    /// What the class's properties read now.
    pub(crate) fn readings(&self) -> BTreeMap<String, Reading> {
        self.class()
            .properties
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.reading(self.props.get(&p.epc).map(|v| v.as_slice())),
                )
            })
            .collect()
    }

    /// The power a battery is told to deliver (+ discharging), kW; `None` on its own control.
    pub(crate) fn battery_command(&self) -> Option<f64> {
        if !self.controlled {
            return None;
        }
        let sp = self
            .class()
            .setpoints
            .iter()
            .find(|s| matches!(s.mapping, SetpointMapping::Split(_)))?;
        let get = |epc: u8| self.props.get(&epc).cloned();
        // A mode of its own (auto) is its own control.
        self.class().decode_setpoint(sp, &get)
    }

    /// What an air conditioner is told.
    pub(crate) fn hvac_control(&self, local_c: f64) -> HvacControl {
        if !self.controlled {
            return HvacControl::Local;
        }
        let on = self
            .props
            .get(&0x80)
            .is_none_or(|v| v.first() == Some(&0x30));
        let setpoint_c = self
            .class()
            .property_named("zone_setpoint_c")
            .and_then(|p| p.decode(self.props.get(&p.epc)?))
            .unwrap_or(local_c);
        HvacControl::Setpoint { on, setpoint_c }
    }

    /// The EPCs a Get may read: the class's and the common ones.
    fn get_map(&self) -> Vec<u8> {
        let mut m: Vec<u8> = self.props.keys().copied().collect();
        m.extend([0x80, 0x82, 0x88, 0x8A, 0x9D, 0x9E, 0x9F]);
        m.sort_unstable();
        m.dedup();
        m
    }

    fn common(&self, epc: u8) -> Option<Vec<u8>> {
        match epc {
            0x82 => Some(vec![0x00, 0x00, b'R', 0x00]),
            0x88 => Some(vec![0x42]), // no fault
            0x8A => Some(MAKER.to_vec()),
            0x9D => Some(encode_property_map(&[0x80])),
            0x9E => Some(encode_property_map(
                &self
                    .class()
                    .properties
                    .iter()
                    .filter(|p| p.set)
                    .map(|p| p.epc)
                    .collect::<Vec<_>>(),
            )),
            0x9F => Some(encode_property_map(&self.get_map())),
            _ => None,
        }
    }

    fn get(&self, epc: u8) -> Option<Vec<u8>> {
        self.props.get(&epc).cloned().or_else(|| self.common(epc))
    }

    /// Why `edt` may not be written to `epc`, if it may not.
    fn refuse(&self, epc: u8, edt: &[u8]) -> Option<String> {
        let class = self.class();
        let Some(p) = class.property(epc).filter(|p| p.set) else {
            return Some(format!("EPC 0x{epc:02X} is not writable"));
        };
        let Some(raw) = p.raw(edt) else {
            return Some(format!(
                "EPC 0x{epc:02X}: {} byte(s), not {}",
                edt.len(),
                p.size
            ));
        };
        let v = raw as f64 * p.scale * p.sign;
        for sp in &class.setpoints {
            let narrow = self.entry.limits.get(&sp.name).copied();
            let (lo, hi) = crate::safety::limits(&sp.limits, narrow);
            let tol = 1e-9 * hi.abs().max(lo.abs()).max(1.0);
            match sp.mapping {
                SetpointMapping::Single(e) if e == epc && (v < lo - tol || v > hi + tol) => {
                    return Some(format!(
                        "EPC 0x{epc:02X}: {v} {} outside [{lo}, {hi}]",
                        sp.unit
                    ));
                }
                SetpointMapping::Split(s) if s.mode_epc == epc => {
                    let ok = [s.positive_mode, s.negative_mode, s.zero_mode, MODE_AUTO]
                        .map(i64::from)
                        .contains(&raw);
                    if !ok {
                        return Some(format!("EPC 0x{epc:02X}: mode 0x{raw:02X} not supported"));
                    }
                }
                SetpointMapping::Split(s) if s.positive_epc == epc && (v < 0.0 || v > hi + tol) => {
                    return Some(format!(
                        "EPC 0x{epc:02X}: {v} {} outside [0, {hi}]",
                        sp.unit
                    ));
                }
                SetpointMapping::Split(s)
                    if s.negative_epc == epc && (v < 0.0 || v > -lo + tol) =>
                {
                    return Some(format!(
                        "EPC 0x{epc:02X}: {v} {} outside [0, {}]",
                        sp.unit, -lo
                    ));
                }
                _ => {}
            }
        }
        None
    }

    /// The answer to a request addressed to this object.
    fn answer(&mut self, req: &Frame) -> Option<Frame> {
        let reply = |esv: u8, props: Vec<Property>| Frame {
            tid: req.tid,
            seoj: self.entry.eoj,
            deoj: req.seoj,
            esv,
            props,
        };
        match req.esv {
            esv::GET | esv::INF_REQ => {
                let mut ok = true;
                let props = req
                    .props
                    .iter()
                    .map(|p| match self.get(p.epc) {
                        Some(edt) => Property::new(p.epc, edt),
                        None => {
                            ok = false;
                            Property::request(p.epc)
                        }
                    })
                    .collect();
                let code = match (req.esv, ok) {
                    (esv::GET, true) => esv::GET_RES,
                    (esv::GET, false) => esv::GET_SNA,
                    (_, true) => esv::INF,
                    (_, false) => 0x53,
                };
                Some(reply(code, props))
            }
            esv::SET_C | esv::SET_I => {
                let reasons: Vec<String> = req
                    .props
                    .iter()
                    .filter_map(|p| self.refuse(p.epc, &p.edt))
                    .collect();
                if !reasons.is_empty() {
                    tracing::warn!(target: "aems::echonet", device = %self.entry.label(), "simulated device refuses a Set: {}", reasons.join("; "));
                    let code = if req.esv == esv::SET_C {
                        esv::SET_C_SNA
                    } else {
                        esv::SET_I_SNA
                    };
                    return Some(reply(code, req.props.clone()));
                }
                for p in &req.props {
                    self.props.insert(p.epc, p.edt.clone());
                }
                self.controlled = true;
                self.writes += 1;
                (req.esv == esv::SET_C).then(|| {
                    reply(
                        esv::SET_RES,
                        req.props.iter().map(|p| Property::request(p.epc)).collect(),
                    )
                })
            }
            _ => None,
        }
    }
}

/// The node profile's answer for the objects `objs` of one endpoint.
fn node_profile(req: &Frame, objs: &[Eoj]) -> Option<Frame> {
    if req.esv != esv::GET && req.esv != esv::INF_REQ {
        return (req.esv == esv::SET_C).then(|| Frame {
            tid: req.tid,
            seoj: Eoj::NODE_PROFILE,
            deoj: req.seoj,
            esv: esv::SET_C_SNA,
            props: req.props.clone(),
        });
    }
    let mut classes: Vec<u16> = objs.iter().map(|o| o.class_code()).collect();
    classes.sort_unstable();
    classes.dedup();
    let get_map = [
        0x80, 0x82, 0x83, 0x8A, 0x8C, 0x9D, 0x9E, 0x9F, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
    ];
    let get = |epc: u8| -> Option<Vec<u8>> {
        Some(match epc {
            0x80 => vec![0x30],
            0x82 => vec![0x01, 0x0D, 0x01, 0x00],
            0x83 => {
                let mut id = vec![0xFE];
                id.extend(MAKER);
                id.extend([0u8; 13]);
                id
            }
            0x8A => MAKER.to_vec(),
            0x8C => b"AEMS-SIM    ".to_vec(),
            0x9D => encode_property_map(&[0x80, 0xD5]),
            0x9E => encode_property_map(&[]),
            0x9F => encode_property_map(&get_map),
            0xD3 => (objs.len() as u32).to_be_bytes()[1..].to_vec(),
            0xD4 => ((classes.len() + 1) as u16).to_be_bytes().to_vec(),
            0xD5 | EPC_INSTANCE_LIST => encode_instance_list(objs),
            0xD7 => {
                let mut v = vec![classes.len().min(8) as u8];
                for c in classes.iter().take(8) {
                    v.extend(c.to_be_bytes());
                }
                v
            }
            _ => return None,
        })
    };
    let mut ok = true;
    let props = req
        .props
        .iter()
        .map(|p| match get(p.epc) {
            Some(edt) => Property::new(p.epc, edt),
            None => {
                ok = false;
                Property::request(p.epc)
            }
        })
        .collect();
    Some(Frame {
        tid: req.tid,
        seoj: Eoj::NODE_PROFILE,
        deoj: req.seoj,
        esv: match (req.esv, ok) {
            (esv::GET, true) => esv::GET_RES,
            (esv::GET, false) => esv::GET_SNA,
            (_, true) => esv::INF,
            (_, false) => 0x53,
        },
        props,
    })
}

/// The answers of the endpoint serving `assets` to one datagram.
pub(crate) fn handle(
    world: &mut World,
    assets: &[String],
    bytes: &[u8],
    from: SocketAddr,
) -> Vec<Frame> {
    let Some(req) = decode_logged(bytes, from) else {
        return Vec::new();
    };
    // Answers are not requests (a controller's own INF or responses): ignore.
    if !(0x60..=0x6F).contains(&req.esv) {
        return Vec::new();
    }
    let objs: Vec<Eoj> = world
        .echonet
        .iter()
        .filter(|o| assets.contains(&o.entry.asset))
        .map(|o| o.entry.eoj)
        .collect();
    if req.deoj.class_code() == Eoj::NODE_PROFILE.class_code() {
        return node_profile(&req, &objs).into_iter().collect();
    }
    let mut out = Vec::new();
    let mut changed = false;
    for o in world
        .echonet
        .iter_mut()
        .filter(|o| assets.contains(&o.entry.asset))
    {
        let e = o.entry.eoj;
        if e.class_code() == req.deoj.class_code()
            && (req.deoj.instance == 0 || req.deoj.instance == e.instance)
        {
            let before = o.writes;
            out.extend(o.answer(&req));
            changed |= o.writes != before;
        }
    }
    if changed {
        // New settings take effect at once, as on the Modbus side.
        world.advance(0.0);
    }
    out
}

/// Serves the ECHONET objects `assets` on `endpoint`; the task ends when aborted.
pub(crate) async fn serve(
    world: Arc<Mutex<World>>,
    endpoint: &str,
    assets: Vec<String>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let sock = UdpSocket::bind(endpoint)
        .await
        .map_err(|e| format!("cannot bind UDP {endpoint}: {e}"))?;
    let addr = sock.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let (n, from) = match sock.recv_from(&mut buf).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(target: "aems::echonet", "simulator receive: {e}");
                    continue;
                }
            };
            let answers = handle(&mut lock(&world), &assets, &buf[..n], from);
            for f in answers {
                match f.encode() {
                    Ok(b) => {
                        if let Err(e) = sock.send_to(&b, from).await {
                            tracing::debug!(target: "aems::echonet", %from, "simulator send: {e}");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "aems::echonet", "simulator cannot encode an answer: {e}")
                    }
                }
            }
        }
    });
    Ok((addr, task))
}

/// The family's name, for errors.
pub(crate) fn family_name(f: ClassFamily) -> &'static str {
    match f {
        ClassFamily::Battery => "battery",
        ClassFamily::Hvac => "hvac",
        ClassFamily::Meter => "meter",
        ClassFamily::Pv => "PV (a node)",
    }
}
