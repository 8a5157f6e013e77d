//! The operator's HTTP interface (axum): `/health`, `/metrics` (Prometheus text), and JSON
//! for the current `/schedule`, `/forecast`, `/kpis`, the last cycle's `/setpoints` and
//! `/flags`, `/operator` (the operator's standing instructions), `/history` (the last
//! cycles' measured state), `/district` (buildings, assets, connections), and (simulated
//! runs) `/simulator`, what the simulated district went through. `/` is the dashboard
//! (`assets/dashboard.html`, uPlot vendored from npm and served from `/assets/`: no CDN at
//! run time), `/api` the list of endpoints. The loop publishes a [`View`]
//! after each cycle; the server reads it.
//!
//! Actions: `POST /operator/<action>` with a JSON body ([`crate::Request`]), from a user
//! of the settings file (`Authorization: Bearer <token>` or HTTP Basic): 401 without
//! credentials, 403 with credentials that match nobody or a viewer's, 400 naming the field
//! of a malformed body, 202 when taken (effective at the next cycle). Every attempt goes to
//! the audit log. Reads need credentials too unless they are open (by default, when the
//! server binds a loopback address). HTTPS when a certificate is configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use axum::body::Bytes;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::metrics::Metrics;
use crate::{Catalog, Credentials, OperatorState, Request};

/// What the interface shows (JSON documents, replaced by the loop after each cycle).
#[derive(Debug, Clone)]
pub struct View {
    /// `/health`.
    pub health: Value,
    /// `/schedule`.
    pub schedule: Value,
    /// `/forecast`.
    pub forecast: Value,
    /// `/kpis`.
    pub kpis: Value,
    /// `/setpoints`.
    pub setpoints: Value,
    /// `/flags`.
    pub flags: Value,
    /// `/requests`: the requests to tenants and residents in force, the last measured
    /// responses and the learned rates (null when requests are off).
    pub requests: Value,
    /// `/simulator`: what the embedded simulator's district went through (simulated runs).
    pub simulator: Value,
    /// `/district`: the buildings and their commanded assets, the connections and their
    /// demand charges (for the dashboard).
    pub district: Value,
    /// `/history`: the last cycles' measured state (time, battery energy and power, zone
    /// temperatures, HVAC and generator power, grid meters), oldest first.
    pub history: std::collections::VecDeque<Value>,
    /// When the loop last published (wall clock).
    pub updated: Option<Instant>,
    /// `/health` answers 503 when the loop has not published for this long (stuck).
    pub max_silence: Duration,
}

impl Default for View {
    fn default() -> Self {
        Self {
            health: json!({"status": "starting"}),
            schedule: Value::Null,
            forecast: Value::Null,
            kpis: Value::Null,
            setpoints: json!([]),
            flags: json!([]),
            requests: Value::Null,
            simulator: Value::Null,
            district: Value::Null,
            history: std::collections::VecDeque::new(),
            updated: None,
            max_silence: Duration::from_secs(600),
        }
    }
}

/// State shared by the loop and the server.
#[derive(Debug, Default)]
pub struct Shared {
    /// Metrics.
    pub metrics: Metrics,
    /// The current view.
    pub view: RwLock<View>,
    /// The operator's standing instructions (the server writes, the loop reads).
    pub operator: Mutex<OperatorState>,
    /// Who may act.
    pub credentials: Credentials,
    /// What may be named.
    pub catalog: Catalog,
    /// Reads without credentials.
    pub open_reads: bool,
}

impl Shared {
    /// The interface of a loop: its users, the district's ids, whether reads are open.
    pub fn new(credentials: Credentials, catalog: Catalog, open_reads: bool) -> Self {
        Self {
            credentials,
            catalog,
            open_reads,
            ..Self::default()
        }
    }

    /// The operator's instructions (the loop reads them at each cycle's start).
    pub fn operator(&self) -> MutexGuard<'_, OperatorState> {
        self.operator.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the view.
    pub fn publish(&self, f: impl FnOnce(&mut View)) {
        let mut v = self.view.write().unwrap_or_else(|p| p.into_inner());
        f(&mut v);
    }

    fn read(&self) -> View {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    let v = s.read();
    let stuck = v.updated.is_some_and(|u| u.elapsed() > v.max_silence);
    let code = if stuck {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut body = v.health;
    if stuck {
        body["status"] = json!("stuck");
    }
    (code, Json(body)).into_response()
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn schedule(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(s.read().schedule)
}

async fn forecast(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(s.read().forecast)
}

async fn kpis(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(s.read().kpis)
}

async fn setpoints(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(s.read().setpoints)
}

async fn flags(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(s.read().flags)
}

async fn requests(State(s): State<Arc<Shared>>) -> Response {
    let v = s.read().requests;
    if v.is_null() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "requests to tenants and residents are off ([requests] in run.toml)"})),
        )
            .into_response();
    }
    Json(v).into_response()
}

async fn simulator(State(s): State<Arc<Shared>>) -> Response {
    let v = s.read().simulator;
    if v.is_null() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no embedded simulator in this run"})),
        )
            .into_response();
    }
    Json(v).into_response()
}

async fn operator_state(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(&*s.operator()).unwrap_or(Value::Null))
}

/// A refusal with its reason; a 401 says how to authenticate (`challenge`: Bearer for the
/// API, Basic for reads, so that a browser opening the dashboard asks for a user and its
/// password and sends them with the page's requests).
fn refusal_with(code: u16, reason: &str, challenge: &'static str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::FORBIDDEN);
    let mut r = (status, Json(json!({"error": reason}))).into_response();
    if code == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static(challenge),
        );
    }
    r
}

fn refusal(code: u16, reason: &str) -> Response {
    refusal_with(code, reason, "Bearer realm=\"aems\"")
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

async fn act(
    State(s): State<Arc<Shared>>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = match s.credentials.authorize_action(authorization(&headers)) {
        Ok(w) => w,
        Err(e) => {
            let user = s.credentials.authenticate(authorization(&headers)).ok();
            s.operator().refused(
                user.as_ref().map(|w| w.name.as_str()),
                &action,
                e.status(),
                e.reason(),
            );
            return refusal(e.status(), e.reason());
        }
    };
    match Request::parse(&action, &body, &s.catalog) {
        Ok(req) => {
            s.operator().apply(req, &who, &action);
            (
                StatusCode::ACCEPTED,
                Json(json!({"accepted": action, "by": who.name, "effective": "at the next cycle"})),
            )
                .into_response()
        }
        Err(e) => {
            let reason = e.to_string();
            s.operator().refused(Some(&who.name), &action, 400, &reason);
            refusal(400, &reason)
        }
    }
}

/// Reads need credentials (any role) unless they are open.
async fn read_guard(State(s): State<Arc<Shared>>, req: HttpRequest, next: Next) -> Response {
    if !s.open_reads {
        if let Err(e) = s.credentials.authenticate(authorization(req.headers())) {
            return refusal_with(
                e.status(),
                e.reason(),
                "Basic realm=\"aems\", charset=\"UTF-8\"",
            );
        }
    }
    next.run(req).await
}

/// Cycles kept in `/history`.
pub const HISTORY_CYCLES: usize = 192;

impl View {
    /// Adds a cycle's measured state to `/history` (dropping the oldest beyond
    /// [`HISTORY_CYCLES`]).
    pub fn remember(&mut self, entry: Value) {
        self.history.push_back(entry);
        while self.history.len() > HISTORY_CYCLES {
            self.history.pop_front();
        }
    }
}

async fn district(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(s.read().district)
}

async fn history(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(Value::Array(s.read().history.into_iter().collect()))
}

const DASHBOARD: &str = include_str!("../assets/dashboard.html");
const UPLOT_JS: &str = include_str!("../assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/uplot/uPlot.min.css");

async fn dashboard() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DASHBOARD,
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "uPlot.iife.min.js" => (UPLOT_JS, "text/javascript; charset=utf-8"),
        "uPlot.min.css" => (UPLOT_CSS, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn index() -> Json<Value> {
    Json(json!({
        "endpoints": ["/ (the dashboard)", "/api", "/health", "/metrics", "/schedule", "/forecast", "/kpis", "/setpoints", "/flags", "/requests", "/history", "/district", "/operator", "/simulator"],
        "actions": Request::ACTIONS.iter().map(|a| format!("POST /operator/{a}")).collect::<Vec<_>>(),
    }))
}

/// The router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/assets/:name", get(asset))
        .route("/api", get(index))
        .route("/district", get(district))
        .route("/history", get(history))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/schedule", get(schedule))
        .route("/forecast", get(forecast))
        .route("/kpis", get(kpis))
        .route("/setpoints", get(setpoints))
        .route("/flags", get(flags))
        .route("/requests", get(requests))
        .route("/simulator", get(simulator))
        .route("/operator", get(operator_state))
        .route_layer(middleware::from_fn_with_state(shared.clone(), read_guard))
        .route("/operator/:action", post(act))
        .with_state(shared)
}

/// HTTPS: the PEM certificate chain and key.
#[derive(Debug, Clone)]
pub struct Tls {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Binds `addr` and serves until `stop` turns true (over HTTPS with `tls`); returns the
/// bound address.
pub async fn serve(
    addr: &str,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    tls: Option<Tls>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    if let Some(tls) = tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
            .await
            .with_context(|| {
                format!(
                    "cannot read the HTTPS certificate {} and key {}",
                    tls.cert.display(),
                    tls.key.display()
                )
            })?;
        let sock: SocketAddr = tokio::net::lookup_host(addr)
            .await
            .with_context(|| format!("cannot resolve {addr} (http)"))?
            .next()
            .ok_or_else(|| anyhow!("cannot resolve {addr} (http)"))?;
        let handle = axum_server::Handle::new();
        let app = router(shared);
        let server = axum_server::bind_rustls(sock, config).handle(handle.clone());
        let h2 = handle.clone();
        let task = tokio::spawn(async move {
            tokio::spawn(async move {
                let _ = stop.wait_for(|s| *s).await;
                h2.graceful_shutdown(Some(Duration::from_secs(2)));
            });
            let _ = server.serve(app.into_make_service()).await;
        });
        let bound = handle
            .listening()
            .await
            .ok_or_else(|| anyhow!("cannot listen on {addr} (https)"))?;
        return Ok((bound, task));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (http)"))?;
    let bound = listener.local_addr()?;
    let app = router(shared);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
    });
    Ok((bound, task))
}
