//! The operator's HTTP interface (axum): `/health`, `/metrics` (Prometheus text), and JSON
//! for the current `/schedule`, `/forecast`, `/kpis`, the last cycle's `/setpoints` and
//! `/flags`, and (simulated runs) `/simulator`, what the simulated district went through. The loop publishes a [`View`] after each cycle; the server only reads it.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::metrics::Metrics;

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
    /// `/simulator`: what the embedded simulator's district went through (simulated runs).
    pub simulator: Value,
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
            simulator: Value::Null,
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
}

impl Shared {
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

async fn index() -> Json<Value> {
    Json(json!({
        "endpoints": ["/health", "/metrics", "/schedule", "/forecast", "/kpis", "/setpoints", "/flags", "/simulator"]
    }))
}

/// The router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/schedule", get(schedule))
        .route("/forecast", get(forecast))
        .route("/kpis", get(kpis))
        .route("/setpoints", get(setpoints))
        .route("/flags", get(flags))
        .route("/simulator", get(simulator))
        .with_state(shared)
}

/// Binds `addr` and serves until `stop` turns true; returns the bound address.
pub async fn serve(
    addr: &str,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
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
