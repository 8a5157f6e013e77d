//! The simulator's Modbus TCP server: tokio-modbus's server with a service that answers
//! from the simulated devices' registers.

use std::future::{ready, Ready};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_modbus::server::tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

use super::{lock, Fault, World};
use crate::profile::RegisterKind;

/// A serving endpoint.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting and closes every connection.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }

    /// Stops at once (from `Drop`).
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// A TCP stream that reads end-of-file once `closed` is set, so that the server's
/// connection loop ends and drops the socket (the "close the connection" fault).
#[derive(Debug)]
struct ClosableStream {
    inner: TcpStream,
    closed: Arc<AtomicBool>,
}

impl AsyncRead for ClosableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.closed.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClosableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Answers one connection's requests from the world.
struct DeviceService {
    world: Arc<Mutex<World>>,
    endpoint: String,
    closed: Arc<AtomicBool>,
}

type Answer = Result<Option<Response>, ExceptionCode>;

impl tokio_modbus::server::Service for DeviceService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Ready<Answer>;

    fn call(&self, req: Self::Request) -> Self::Future {
        ready(self.answer(req))
    }
}

fn bits(words: Vec<u16>) -> Vec<bool> {
    words.into_iter().map(|w| w != 0).collect()
}

impl DeviceService {
    fn answer(&self, req: SlaveRequest<'static>) -> Answer {
        let mut w = lock(&self.world);
        let unit = req.slave;
        let Some(d) = w
            .devices
            .iter_mut()
            .find(|d| d.entry.endpoint() == self.endpoint && d.entry.unit_id == unit)
        else {
            return Err(ExceptionCode::GatewayTargetDevice);
        };
        match d.fault {
            Some(Fault::NoResponse) => return Ok(None),
            Some(Fault::Exception(code)) => return Err(ExceptionCode::new(code)),
            Some(Fault::CloseConnection) => {
                self.closed.store(true, Ordering::SeqCst);
                return Ok(None);
            }
            None => {}
        }
        let read = |kind: RegisterKind, a: u16, n: u16| -> Result<Vec<u16>, ExceptionCode> {
            if n == 0 {
                return Err(ExceptionCode::IllegalDataValue);
            }
            d.words(kind, a, n).ok_or(ExceptionCode::IllegalDataAddress)
        };
        let resp = match req.request {
            Request::ReadHoldingRegisters(a, n) => {
                Response::ReadHoldingRegisters(read(RegisterKind::Holding, a, n)?)
            }
            Request::ReadInputRegisters(a, n) => {
                Response::ReadInputRegisters(read(RegisterKind::Input, a, n)?)
            }
            Request::ReadCoils(a, n) => Response::ReadCoils(bits(read(RegisterKind::Coil, a, n)?)),
            Request::ReadDiscreteInputs(a, n) => {
                Response::ReadDiscreteInputs(bits(read(RegisterKind::Discrete, a, n)?))
            }
            Request::WriteSingleRegister(a, v) => {
                d.write(RegisterKind::Holding, a, &[v])
                    .map_err(ExceptionCode::new)?;
                Response::WriteSingleRegister(a, v)
            }
            Request::WriteMultipleRegisters(a, words) => {
                d.write(RegisterKind::Holding, a, &words)
                    .map_err(ExceptionCode::new)?;
                Response::WriteMultipleRegisters(a, words.len() as u16)
            }
            Request::WriteSingleCoil(a, v) => {
                d.write(RegisterKind::Coil, a, &[u16::from(v)])
                    .map_err(ExceptionCode::new)?;
                Response::WriteSingleCoil(a, v)
            }
            Request::WriteMultipleCoils(a, coils) => {
                let words: Vec<u16> = coils.iter().map(|c| u16::from(*c)).collect();
                d.write(RegisterKind::Coil, a, &words)
                    .map_err(ExceptionCode::new)?;
                Response::WriteMultipleCoils(a, words.len() as u16)
            }
            _ => return Err(ExceptionCode::IllegalFunction),
        };
        // Writes change what the devices do: let the physics see them at once.
        if matches!(
            resp,
            Response::WriteSingleRegister(..)
                | Response::WriteMultipleRegisters(..)
                | Response::WriteSingleCoil(..)
                | Response::WriteMultipleCoils(..)
        ) {
            w.advance(0.0);
        }
        Ok(Some(resp))
    }
}

/// Binds `endpoint` (`host:port`, port 0 for an ephemeral one) and serves the world's
/// devices configured on it.
pub(crate) async fn serve(
    world: Arc<Mutex<World>>,
    endpoint: &str,
) -> Result<ServerHandle, String> {
    let listener = TcpListener::bind(endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let endpoint = endpoint.to_string();
    let task = tokio::spawn(async move {
        let server = Server::new(listener);
        let on_connected = |stream: TcpStream, peer: SocketAddr| {
            let closed = Arc::new(AtomicBool::new(false));
            let service = DeviceService {
                world: world.clone(),
                endpoint: endpoint.clone(),
                closed: closed.clone(),
            };
            tracing::debug!(target: "aems::sim", %peer, "modbus client connected");
            let _ = stream.set_nodelay(true);
            ready(Ok(Some((
                service,
                ClosableStream {
                    inner: stream,
                    closed,
                },
            ))))
        };
        let on_error = |e: io::Error| tracing::debug!(target: "aems::sim", "connection ended: {e}");
        let stop = async move {
            let _ = rx.await;
        };
        if let Err(e) = server.serve_until(&on_connected, on_error, stop).await {
            tracing::error!(target: "aems::sim", "modbus server stopped: {e}");
        }
    });
    Ok(ServerHandle {
        addr,
        stop: Some(tx),
        task,
    })
}
