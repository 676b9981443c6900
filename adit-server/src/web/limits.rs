//! Request limits of the web server: rate limits per API token and per client IP
//! ([`rate_limit`]), and a cap on the DICOMweb retrieves one user runs at once
//! ([`RetrieveSlots`]). Body size limits are layers on the routes (see [`super::app`]).
//!
//! Rate limits use the GCRA of `governor`: `N` requests per minute, bursts up to `N`. A
//! request with a well-formed `Authorization: Token ...` header counts against its token;
//! every other request (browser sessions, `/login/`, anonymous) against its client IP. Over
//! the limit the answer is 429 with `Retry-After` and a JSON `detail`. `/health/` and
//! `/metrics` are exempt: probes and scrapers must not be locked out.
//!
//! Behind a reverse proxy every request comes from the proxy's IP: raise or disable
//! `rate_limit_ip` there and limit at the proxy (see `docs/operations.md`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
#[cfg(test)]
use axum::http::StatusCode;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AppState;
use super::error::ApiError;
use crate::accounts::tokens;
use crate::config::Config;

/// How many checks pass between two sweeps of idle keys out of the limiters' maps.
const SWEEP_EVERY: u64 = 4096;

/// Seconds a client over the retrieve cap is asked to wait.
pub const RETRIEVE_RETRY_AFTER_SECS: u64 = 5;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// The rate limiters of one web server process.
pub struct RateLimits {
    ip: Option<Keyed<IpAddr>>,
    token: Option<Keyed<String>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("ip", &self.ip.is_some())
            .field("token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Limiters for `config`'s `rate_limit_ip` and `rate_limit_token` (0 disables one).
    pub fn new(config: &Config) -> RateLimits {
        let quota = |per_minute: u32| NonZeroU32::new(per_minute).map(Quota::per_minute);
        RateLimits {
            ip: quota(config.rate_limit_ip).map(RateLimiter::keyed),
            token: quota(config.rate_limit_token).map(RateLimiter::keyed),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` when the request may go on, else how long to wait.
    fn check(&self, token: Option<&str>, ip: Option<IpAddr>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let now = self.clock.now();
        match (token, ip) {
            (Some(token), _) => match &self.token {
                Some(limiter) => limiter
                    .check_key(&token.to_owned())
                    .map_err(|not_until| not_until.wait_time_from(now)),
                None => Ok(()),
            },
            (None, Some(ip)) => match &self.ip {
                Some(limiter) => limiter
                    .check_key(&ip)
                    .map_err(|not_until| not_until.wait_time_from(now)),
                None => Ok(()),
            },
            // No peer address (in-process use without a socket): nothing to key on.
            (None, None) => Ok(()),
        }
    }

    /// Forgets keys whose limit has fully recovered, so the maps stay as small as the set
    /// of recently active clients.
    fn sweep(&self) {
        if let Some(l) = &self.ip {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.token {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Middleware: applies [`RateLimits`] to every request except `/health/` and `/metrics`.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/health/" || path == "/metrics" {
        return next.run(request).await;
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("token").then(|| rest.trim())
        })
        .filter(|t| tokens::is_well_formed(t));
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    match state.rate_limits.check(token, ip) {
        Ok(()) => next.run(request).await,
        Err(wait) => too_many(
            "Request was throttled.",
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        ),
    }
}

/// 429 with `Retry-After: secs` (at least 1) and a JSON `detail`.
fn too_many(detail: &str, secs: u64) -> Response {
    let secs = secs.max(1);
    ApiError::too_many_requests(
        format!("{detail} Expected available in {secs} seconds."),
        secs,
    )
    .into_response()
}

/// Per-user slots for DICOMweb retrieves: at most `max` at once per user.
#[derive(Debug)]
pub struct RetrieveSlots {
    max: usize,
    users: Mutex<HashMap<i64, Arc<Semaphore>>>,
}

/// A taken retrieve slot; the retrieve holds it until its response body ends or is dropped.
#[derive(Debug)]
pub struct RetrieveSlot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl RetrieveSlots {
    /// Slots for `max` concurrent retrieves per user; 0 means no cap.
    pub fn new(max: usize) -> RetrieveSlots {
        RetrieveSlots {
            max,
            users: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a slot of `user_id`, or answers 429 when all of the user's slots are in use.
    pub fn try_take(&self, user_id: i64) -> Result<RetrieveSlot, ApiError> {
        if self.max == 0 {
            return Ok(RetrieveSlot { _permit: None });
        }
        let semaphore = {
            let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                users
                    .entry(user_id)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.max))),
            )
        };
        semaphore
            .try_acquire_owned()
            .map(|permit| RetrieveSlot {
                _permit: Some(permit),
            })
            .map_err(|_| {
                ApiError::too_many_requests(
                    format!(
                        "Too many concurrent retrieves (at most {} per user).",
                        self.max
                    ),
                    RETRIEVE_RETRY_AFTER_SECS,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_max_slots_and_a_freed_one_back() {
        let slots = RetrieveSlots::new(2);
        let a = slots.try_take(1).unwrap();
        let _b = slots.try_take(1).unwrap();
        let refused = slots.try_take(1).unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key(header::RETRY_AFTER));
        assert!(slots.try_take(2).is_ok(), "other users are not affected");
        drop(a);
        assert!(slots.try_take(1).is_ok());
        assert!(RetrieveSlots::new(0).try_take(1).is_ok());
    }
}
