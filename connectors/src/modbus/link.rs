//! [`ModbusLink`]: one TCP connection to one `host:port`, shared by all unit ids behind it,
//! with per-request timeouts, retries with backoff and automatic reconnection.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio_modbus::client::{Client, Context};
use tokio_modbus::prelude::{Reader, SlaveContext, Writer};
use tokio_modbus::{ExceptionCode, Slave};

use crate::devices::ModbusSettings;
use crate::error::ModbusError;
use crate::profile::RegisterKind;

/// One Modbus TCP connection. Requests are serialised (a Modbus TCP device answers one at a
/// time); a transport error or timeout drops the connection, and the next attempt
/// reconnects. A device exception is returned at once, never retried.
pub struct ModbusLink {
    endpoint: String,
    settings: ModbusSettings,
    conn: Mutex<Option<Context>>,
}

impl std::fmt::Debug for ModbusLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModbusLink")
            .field("endpoint", &self.endpoint)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One request, as the link runs it.
#[derive(Debug, Clone)]
enum Op<'a> {
    Read(RegisterKind, u16, u16),
    Write(RegisterKind, u16, &'a [u16], bool),
}

impl Op<'_> {
    fn describe(&self) -> String {
        match self {
            Op::Read(k, a, n) => format!("read {k} {a} ({n})"),
            Op::Write(k, a, w, _) => format!("write {k} {a} ({} word(s))", w.len()),
        }
    }
}

/// The name of an exception code.
pub(crate) fn exception_name(code: ExceptionCode) -> String {
    match code {
        ExceptionCode::IllegalFunction => "illegal function".into(),
        ExceptionCode::IllegalDataAddress => "illegal data address".into(),
        ExceptionCode::IllegalDataValue => "illegal data value".into(),
        ExceptionCode::ServerDeviceFailure => "server device failure".into(),
        ExceptionCode::Acknowledge => "acknowledge".into(),
        ExceptionCode::ServerDeviceBusy => "server device busy".into(),
        ExceptionCode::MemoryParityError => "memory parity error".into(),
        ExceptionCode::GatewayPathUnavailable => "gateway path unavailable".into(),
        ExceptionCode::GatewayTargetDevice => "gateway target device failed to respond".into(),
        ExceptionCode::Custom(c) => format!("custom {c}"),
    }
}

enum Attempt {
    Exception(ExceptionCode),
    Transport(String),
    Timeout,
}

impl ModbusLink {
    /// A link to `endpoint` (`host:port`); it connects on first use.
    pub fn new(endpoint: impl Into<String>, settings: ModbusSettings) -> Self {
        Self {
            endpoint: endpoint.into(),
            settings,
            conn: Mutex::new(None),
        }
    }

    /// `host:port`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The timing in use.
    pub fn settings(&self) -> &ModbusSettings {
        &self.settings
    }

    /// Reads `count` registers (or bits, as 0/1 words) of `kind` from `address` of unit
    /// `unit_id`.
    pub async fn read(
        &self,
        unit_id: u8,
        kind: RegisterKind,
        address: u16,
        count: u16,
    ) -> Result<Vec<u16>, ModbusError> {
        self.run(unit_id, Op::Read(kind, address, count)).await
    }

    /// Writes `words` (0/1 for coils) to `kind` from `address` of unit `unit_id`, with the
    /// single-write function when `single` and one word. No check of what may be written is
    /// made here: [`crate::ModbusDevice::write`], the one guarded path, does that, so this
    /// stays private to the crate.
    pub(crate) async fn write(
        &self,
        unit_id: u8,
        kind: RegisterKind,
        address: u16,
        words: &[u16],
        single: bool,
    ) -> Result<(), ModbusError> {
        self.run(unit_id, Op::Write(kind, address, words, single))
            .await
            .map(|_| ())
    }

    /// Drops the connection (the next request reconnects).
    pub async fn disconnect(&self) {
        let mut conn = self.conn.lock().await;
        if let Some(mut ctx) = conn.take() {
            let _ = tokio::time::timeout(Duration::from_millis(200), ctx.disconnect()).await;
        }
    }

    async fn run(&self, unit_id: u8, op: Op<'_>) -> Result<Vec<u16>, ModbusError> {
        let request = op.describe();
        let (kind, n, is_write) = match &op {
            Op::Read(k, _, n) => (*k, *n, false),
            Op::Write(k, _, w, _) => (*k, u16::try_from(w.len()).unwrap_or(u16::MAX), true),
        };
        let limit = if kind.is_bit() { 2000 } else { 125 };
        if n == 0 || n > limit {
            return Err(ModbusError::Request {
                endpoint: self.endpoint.clone(),
                message: format!("{request}: count must be in [1, {limit}]"),
            });
        }
        if is_write && !kind.is_writable() {
            return Err(ModbusError::Request {
                endpoint: self.endpoint.clone(),
                message: format!("{request}: {kind} registers cannot be written"),
            });
        }
        let mut conn = self.conn.lock().await;
        let attempts = self.settings.retries + 1;
        let mut last = Attempt::Timeout;
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(self.settings.backoff(attempt - 1)).await;
            }
            if conn.is_none() {
                match self.connect().await {
                    Ok(ctx) => *conn = Some(ctx),
                    Err(e) => {
                        tracing::warn!(
                            target: "aems::modbus",
                            kind = "transport",
                            endpoint = %self.endpoint,
                            unit_id,
                            attempt,
                            "cannot connect: {e}"
                        );
                        last = Attempt::Transport(e);
                        continue;
                    }
                }
            }
            let Some(ctx) = conn.as_mut() else { continue };
            ctx.set_slave(Slave(unit_id));
            let result = tokio::time::timeout(self.settings.timeout(), call(ctx, &op)).await;
            last = match result {
                Ok(Ok(Ok(words))) => return Ok(words),
                Ok(Ok(Err(code))) => Attempt::Exception(code),
                Ok(Err(e)) => Attempt::Transport(e.to_string()),
                Err(_) => Attempt::Timeout,
            };
            match &last {
                Attempt::Exception(code) => {
                    tracing::warn!(
                        target: "aems::modbus",
                        kind = "exception",
                        endpoint = %self.endpoint,
                        unit_id,
                        request = %request,
                        code = u8::from(*code),
                        "device exception: {}",
                        exception_name(*code)
                    );
                    return Err(ModbusError::Exception {
                        endpoint: self.endpoint.clone(),
                        unit_id,
                        request,
                        code: u8::from(*code),
                        name: exception_name(*code),
                    });
                }
                Attempt::Transport(e) => {
                    tracing::warn!(
                        target: "aems::modbus",
                        kind = "transport",
                        endpoint = %self.endpoint,
                        unit_id,
                        request = %request,
                        attempt,
                        "transport error, reconnecting: {e}"
                    );
                }
                Attempt::Timeout => {
                    tracing::warn!(
                        target: "aems::modbus",
                        kind = "timeout",
                        endpoint = %self.endpoint,
                        unit_id,
                        request = %request,
                        attempt,
                        "no answer within {} ms, reconnecting",
                        self.settings.timeout_ms
                    );
                }
            }
            // After a transport error or a timeout the stream may hold a late answer: never
            // reuse it.
            *conn = None;
        }
        Err(match last {
            Attempt::Timeout => ModbusError::Timeout {
                endpoint: self.endpoint.clone(),
                unit_id,
                request,
                after: self.settings.timeout(),
                attempts,
            },
            Attempt::Transport(message) => ModbusError::Transport {
                endpoint: self.endpoint.clone(),
                unit_id,
                request,
                message,
                attempts,
            },
            Attempt::Exception(_) => ModbusError::Transport {
                endpoint: self.endpoint.clone(),
                unit_id,
                request,
                message: "unexpected state".into(),
                attempts,
            },
        })
    }

    async fn connect(&self) -> Result<Context, String> {
        let timeout = self.settings.connect_timeout();
        let fut = async {
            let mut last = format!("{} resolves to no address", self.endpoint);
            let addrs = tokio::net::lookup_host(&self.endpoint)
                .await
                .map_err(|e| format!("cannot resolve {}: {e}", self.endpoint))?;
            for addr in addrs {
                match tokio::net::TcpStream::connect(addr).await {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        return Ok(tokio_modbus::client::tcp::attach(stream));
                    }
                    Err(e) => last = format!("connect to {addr}: {e}"),
                }
            }
            Err(last)
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "connect to {} timed out after {} ms",
                self.endpoint,
                timeout.as_millis()
            )),
        }
    }
}

type CallResult = Result<Result<Vec<u16>, ExceptionCode>, tokio_modbus::Error>;

async fn call(ctx: &mut Context, op: &Op<'_>) -> CallResult {
    let bits = |v: Vec<bool>, n: u16| -> Vec<u16> {
        v.into_iter().take(usize::from(n)).map(u16::from).collect()
    };
    match *op {
        Op::Read(RegisterKind::Holding, a, n) => ctx.read_holding_registers(a, n).await,
        Op::Read(RegisterKind::Input, a, n) => ctx.read_input_registers(a, n).await,
        Op::Read(RegisterKind::Coil, a, n) => Ok(ctx.read_coils(a, n).await?.map(|v| bits(v, n))),
        Op::Read(RegisterKind::Discrete, a, n) => {
            Ok(ctx.read_discrete_inputs(a, n).await?.map(|v| bits(v, n)))
        }
        Op::Write(RegisterKind::Holding, a, words, single) => {
            let r = if single && words.len() == 1 {
                ctx.write_single_register(a, words[0]).await?
            } else {
                ctx.write_multiple_registers(a, words).await?
            };
            Ok(r.map(|()| Vec::new()))
        }
        Op::Write(RegisterKind::Coil, a, words, single) => {
            let coils: Vec<bool> = words.iter().map(|w| *w != 0).collect();
            let r = if single && coils.len() == 1 {
                ctx.write_single_coil(a, coils[0]).await?
            } else {
                ctx.write_multiple_coils(a, &coils).await?
            };
            Ok(r.map(|()| Vec::new()))
        }
        // Refused before the call (input registers and discrete inputs are read-only).
        Op::Write(_, _, _, _) => Ok(Err(ExceptionCode::IllegalFunction)),
    }
}
