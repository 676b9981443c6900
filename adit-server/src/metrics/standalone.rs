//! `ADIT_METRICS_ADDR`: a listener serving only `GET /metrics`, for processes without a web
//! server (`adit worker`), whose counters (transfers, errors, associations) exist only there.
//! It answers to the bearer token `ADIT_METRICS_TOKEN` only (there are no users to log in).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Metrics;
use crate::config::Secret;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::web::error::ApiError;

#[derive(Clone)]
struct Standalone {
    metrics: Metrics,
    db: Db,
    token: Option<Secret>,
}

/// Binds `addr` now (a taken port fails the start) and serves `/metrics` until `shutdown`.
/// Without a configured token every scrape is refused (401): the metrics are not public.
pub async fn spawn(
    addr: SocketAddr,
    metrics: Metrics,
    db: Db,
    token: Option<Secret>,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Http { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    if token.is_none() {
        tracing::warn!("ADIT_METRICS_ADDR is set without ADIT_METRICS_TOKEN: scrapes are refused");
    }
    tracing::info!("metrics on http://{bound}/metrics");
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Standalone { metrics, db, token });
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!("metrics listener on {bound} stopped: {e}");
        }
    }))
}

async fn scrape(State(s): State<Standalone>, request: Request) -> Response {
    if !super::http::bearer_matches(request.headers(), s.token.as_ref()) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "Invalid metrics token.").into_response();
    }
    super::http::render(&s.metrics, &s.db).await
}
