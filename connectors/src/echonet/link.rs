//! [`EchonetLink`]: the AEMS's ECHONET Lite UDP endpoint: requests with a transaction id,
//! a timeout and retries (a datagram can be lost), responses matched by TID, peer and
//! object; discovery of a node's instances (EPC 0xD6 of the node profile).
//!
//! Every datagram that is not a well-formed frame is logged (target `aems::echonet`) with
//! what is wrong and dropped, as is an answer from another peer, with another TID or from
//! another object: nothing from the network can panic or be taken for an answer.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::net::UdpSocket;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::frame::{esv, Eoj, Frame, Property};

/// The ECHONET Lite port.
pub const PORT: u16 = 3610;
/// The ECHONET Lite multicast group (IPv4).
pub const MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 23, 0);
/// EPC of the node profile's self-node instance list S.
pub const EPC_INSTANCE_LIST: u8 = 0xD6;

/// `[echonet]` of `devices.toml`: the AEMS's endpoint and timing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EchonetSettings {
    /// Local address the AEMS sends from and listens on. Many devices answer to port 3610
    /// whatever the request's source port: give `0.0.0.0:3610` on a real network. The
    /// default, an ephemeral port, suits devices (and the simulator) that answer to the
    /// request's source.
    pub bind: String,
    /// Per-request timeout, ms.
    pub timeout_ms: u64,
    /// Retries after the first attempt, on a timeout (a lost datagram).
    pub retries: u32,
}

impl Default for EchonetSettings {
    fn default() -> Self {
        Self {
            bind: "0.0.0.0:0".into(),
            timeout_ms: 1000,
            retries: 2,
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EchonetError {
    /// No matching answer in time, after every retry.
    #[error("{peer}: no answer from {eoj} after {attempts} attempt(s) of {timeout_ms} ms")]
    Timeout {
        /// Device.
        peer: SocketAddr,
        /// Object.
        eoj: Eoj,
        /// Attempts made.
        attempts: u32,
        /// Timeout of each.
        timeout_ms: u64,
    },
    /// The socket failed.
    #[error("ECHONET Lite socket: {0}")]
    Io(String),
    /// The request cannot be made.
    #[error("ECHONET Lite request: {0}")]
    Request(String),
}

impl EchonetError {
    /// `timeout`, `transport` or `request`, as in a [`crate::WriteOutcome::Failed`].
    pub fn kind(&self) -> &'static str {
        match self {
            EchonetError::Timeout { .. } => "timeout",
            EchonetError::Io(_) => "transport",
            EchonetError::Request(_) => "request",
        }
    }
}

/// A node found by discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Where it answered from.
    pub addr: SocketAddr,
    /// Its device objects (the node profile's 0xD6 list).
    pub objects: Vec<Eoj>,
}

/// One UDP socket, opened on first use; requests take turns on it.
#[derive(Debug)]
pub struct EchonetLink {
    settings: EchonetSettings,
    socket: Mutex<Option<UdpSocket>>,
    tid: AtomicU16,
}

/// Decodes a datagram, logging (target `aems::echonet`) why it is not a frame.
pub fn decode_logged(bytes: &[u8], from: SocketAddr) -> Option<Frame> {
    match Frame::decode(bytes) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!(target: "aems::echonet", %from, len = bytes.len(), "malformed ECHONET Lite frame dropped: {e}");
            None
        }
    }
}

impl EchonetLink {
    /// A link with `settings` (the socket is bound on the first request).
    pub fn new(settings: EchonetSettings) -> Self {
        Self {
            settings,
            socket: Mutex::new(None),
            tid: AtomicU16::new(1),
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &EchonetSettings {
        &self.settings
    }

    fn next_tid(&self) -> u16 {
        self.tid.fetch_add(1, Ordering::Relaxed)
    }

    async fn socket<'a>(
        &self,
        guard: &'a mut Option<UdpSocket>,
    ) -> Result<&'a UdpSocket, EchonetError> {
        if guard.is_none() {
            let s = UdpSocket::bind(&self.settings.bind).await.map_err(|e| {
                EchonetError::Io(format!("cannot bind {}: {e}", self.settings.bind))
            })?;
            *guard = Some(s);
        }
        guard
            .as_ref()
            .ok_or_else(|| EchonetError::Io("no socket".into()))
    }

    /// The local address (binds the socket if needed).
    pub async fn local_addr(&self) -> Result<SocketAddr, EchonetError> {
        let mut g = self.socket.lock().await;
        let s = self.socket(&mut g).await?;
        s.local_addr().map_err(|e| EchonetError::Io(e.to_string()))
    }

    /// Sends `esv` with `props` to object `deoj` at `peer` and waits for its answer (same
    /// TID, from `peer`, from `deoj`), retrying on a timeout. SetI (no answer) returns
    /// `Ok(None)` once sent.
    pub async fn request(
        &self,
        peer: SocketAddr,
        deoj: Eoj,
        esv_code: u8,
        props: Vec<Property>,
    ) -> Result<Option<Frame>, EchonetError> {
        let mut g = self.socket.lock().await;
        let sock = self.socket(&mut g).await?;
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let attempts = self.settings.retries + 1;
        for attempt in 1..=attempts {
            let tid = self.next_tid();
            let bytes = Frame::request(tid, deoj, esv_code, props.clone())
                .encode()
                .map_err(EchonetError::Request)?;
            sock.send_to(&bytes, peer)
                .await
                .map_err(|e| EchonetError::Io(format!("send to {peer}: {e}")))?;
            if esv_code == esv::SET_I {
                return Ok(None);
            }
            let deadline = Instant::now() + timeout;
            let mut buf = [0u8; 1500];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let (n, from) = match tokio::time::timeout(left, sock.recv_from(&mut buf)).await {
                    Err(_) => break,
                    Ok(Err(e)) => {
                        // e.g. ICMP port unreachable surfacing on the socket: keep waiting.
                        tracing::debug!(target: "aems::echonet", %peer, "receive: {e}");
                        continue;
                    }
                    Ok(Ok(x)) => x,
                };
                let Some(f) = decode_logged(&buf[..n], from) else {
                    continue;
                };
                if from != peer {
                    tracing::debug!(target: "aems::echonet", %from, expected = %peer, tid = f.tid, "answer from another peer ignored");
                    continue;
                }
                if f.tid != tid {
                    tracing::debug!(target: "aems::echonet", %from, tid = f.tid, expected = tid, "answer with another TID ignored (late or duplicate)");
                    continue;
                }
                if f.seoj != deoj
                    && !(deoj.instance == 0 && f.seoj.class_code() == deoj.class_code())
                {
                    tracing::warn!(target: "aems::echonet", %from, seoj = %f.seoj, expected = %deoj, "answer from another object ignored");
                    continue;
                }
                return Ok(Some(f));
            }
            if attempt < attempts {
                tracing::debug!(target: "aems::echonet", %peer, eoj = %deoj, attempt, "no answer, retrying");
            }
        }
        Err(EchonetError::Timeout {
            peer,
            eoj: deoj,
            attempts,
            timeout_ms: self.settings.timeout_ms,
        })
    }

    /// Discovery: a Get of the node profile's instance list (0xD6) sent to `target`, either
    /// the multicast group `224.0.23.0:3610` (every node on the LAN) or one node's unicast
    /// address (loopback tests use `127.0.0.x`: multicast does not loop back on every
    /// host). Collects the answers for `wait` (or until the first, for a unicast target).
    pub async fn discover(
        &self,
        target: SocketAddr,
        wait: Duration,
    ) -> Result<Vec<Node>, EchonetError> {
        let multicast = target.ip().is_multicast();
        let mut g = self.socket.lock().await;
        let sock = self.socket(&mut g).await?;
        let mut nodes: Vec<Node> = Vec::new();
        let attempts = if multicast {
            1
        } else {
            self.settings.retries + 1
        };
        for _ in 0..attempts {
            let tid = self.next_tid();
            let bytes = Frame::request(
                tid,
                Eoj::NODE_PROFILE,
                esv::GET,
                vec![Property::request(EPC_INSTANCE_LIST)],
            )
            .encode()
            .map_err(EchonetError::Request)?;
            sock.send_to(&bytes, target)
                .await
                .map_err(|e| EchonetError::Io(format!("send to {target}: {e}")))?;
            let deadline = Instant::now() + wait;
            let mut buf = [0u8; 1500];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let Ok(r) = tokio::time::timeout(left, sock.recv_from(&mut buf)).await else {
                    break;
                };
                let Ok((n, from)) = r else { continue };
                let Some(f) = decode_logged(&buf[..n], from) else {
                    continue;
                };
                if f.tid != tid || f.esv != esv::GET_RES || (!multicast && from != target) {
                    continue;
                }
                let Some(list) = f.edt(EPC_INSTANCE_LIST) else {
                    tracing::warn!(target: "aems::echonet", %from, "discovery answer without an instance list");
                    continue;
                };
                match parse_instance_list(list) {
                    Ok(objects) => {
                        if !nodes.iter().any(|n| n.addr == from) {
                            nodes.push(Node {
                                addr: from,
                                objects,
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "aems::echonet", %from, "discovery answer dropped: {e}")
                    }
                }
                if !multicast {
                    return Ok(nodes);
                }
            }
        }
        Ok(nodes)
    }
}

/// The objects of an instance list (0xD5/0xD6: a count, then 3 bytes per object).
pub fn parse_instance_list(edt: &[u8]) -> Result<Vec<Eoj>, String> {
    let Some((&n, rest)) = edt.split_first() else {
        return Err("empty instance list".into());
    };
    if rest.len() != 3 * usize::from(n) {
        return Err(format!(
            "instance list says {n} objects ({} bytes) but {} bytes follow",
            3 * usize::from(n),
            rest.len()
        ));
    }
    Ok(rest
        .chunks_exact(3)
        .map(|c| Eoj::new(c[0], c[1], c[2]))
        .collect())
}

/// The instance list of `objects` (at most 84 fit).
pub fn encode_instance_list(objects: &[Eoj]) -> Vec<u8> {
    let objects = &objects[..objects.len().min(84)];
    let mut out = vec![objects.len() as u8];
    for o in objects {
        out.extend_from_slice(&o.bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_lists_round_trip_and_bad_ones_are_refused() {
        let objs = vec![Eoj::of_class(0x027D, 1), Eoj::of_class(0x0130, 1)];
        let b = encode_instance_list(&objs);
        assert_eq!(parse_instance_list(&b).unwrap(), objs);
        assert!(parse_instance_list(&b[..5])
            .unwrap_err()
            .contains("2 objects"));
        assert!(parse_instance_list(&[]).is_err());
    }

    #[tokio::test]
    async fn a_silent_peer_times_out_after_the_retries() {
        // A bound socket that never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer = silent.local_addr().unwrap();
        let link = EchonetLink::new(EchonetSettings {
            bind: "127.0.0.1:0".into(),
            timeout_ms: 50,
            retries: 1,
        });
        let e = link
            .request(
                peer,
                Eoj::of_class(0x027D, 1),
                esv::GET,
                vec![Property::request(0xE4)],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, EchonetError::Timeout { attempts: 2, .. }),
            "{e}"
        );
        // Both attempts reached the peer, each with its own TID.
        let mut buf = [0u8; 64];
        let mut tids = Vec::new();
        silent.set_nonblocking(true).unwrap();
        while let Ok((n, _)) = silent.recv_from(&mut buf) {
            tids.push(Frame::decode(&buf[..n]).unwrap().tid);
        }
        assert_eq!(tids.len(), 2);
        assert_ne!(tids[0], tids[1]);
    }
}
