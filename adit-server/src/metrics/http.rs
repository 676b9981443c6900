//! The HTTP side of the metrics: [`track`] times every request by its matched route template,
//! and [`scrape`] answers `GET /metrics`.
//!
//! Access to `/metrics`: `Authorization: Bearer <ADIT_METRICS_TOKEN>` when that token is
//! configured (what a Prometheus server sends), or any staff user's API token or session.
//! Everyone else gets 401/403: the counters name nodes and show usage.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{CONTENT_TYPE, Metrics};
use crate::config::Secret;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::error::ApiError;

/// Route label of requests that matched no route (404s): one value, whatever the path.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Middleware: observes each request's latency under its route template (axum's
/// [`MatchedPath`]; the raw path would give every study UID its own series).
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    // Streamed bodies (WADO-RS) are timed to their first byte: the handler's answer.
    metrics.http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`: the exposition, database gauges refreshed (cached briefly).
pub async fn scrape(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, _body) = request.into_parts();
    if !bearer_matches(&parts.headers, state.config.metrics_token.as_ref()) {
        let ApiUser(user) = ApiUser::from_request_parts(&mut parts, &state).await?;
        if !user.is_staff {
            return Err(ApiError::forbidden(
                "Only staff users may read the metrics.",
            ));
        }
    }
    Ok(render(&state.metrics, &state.db).await)
}

/// The exposition response of `metrics` with the gauges of `db`.
pub(crate) async fn render(metrics: &Metrics, db: &crate::db::Db) -> Response {
    super::db::refresh(metrics, db).await;
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        metrics.render(),
    )
        .into_response()
}

/// True when `headers` carry `Authorization: Bearer <token>` with the configured token.
pub(crate) fn bearer_matches(headers: &HeaderMap, token: Option<&Secret>) -> bool {
    let Some(token) = token else {
        return false;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
    else {
        return false;
    };
    constant_time_eq(given.as_bytes(), token.expose().as_bytes())
}

/// Compares without an early exit, so the answer time does not tell how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_bearer_token_matches() {
        let token = Secret::new("s3cret-metrics");
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, Some(&token)));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret-metrics"),
        );
        assert!(bearer_matches(&headers, Some(&token)));
        assert!(!bearer_matches(&headers, None));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret-metricz"),
        );
        assert!(!bearer_matches(&headers, Some(&token)));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Token s3cret-metrics"),
        );
        assert!(!bearer_matches(&headers, Some(&token)));
    }
}
