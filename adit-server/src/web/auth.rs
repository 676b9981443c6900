//! Authentication for the API: `Authorization: Token <40 hex>` (adit-reference §6.1), or,
//! without that header, a browser session cookie (see [`super::session`]).
//!
//! | request | answer |
//! |---|---|
//! | no `Authorization` header | 401 "Authentication credentials were not provided." |
//! | another scheme, or not 40 lowercase hex | 401 "Invalid token header." |
//! | unknown token | 401 "Invalid token." |
//! | expired token | 401 "Token has expired." |
//! | inactive user | 403 "User inactive or deleted." |
//!
//! | no `Authorization`, `sessionid` cookie unknown or expired | 401 "Invalid session." |
//! | session of an inactive user | 403 "User inactive or deleted." |
//! | session, unsafe method, no or wrong `X-CSRFToken` | 403 "CSRF Failed: ..." |
//!
//! Every 401 carries `WWW-Authenticate: Token`.
//!
//! A token's use is written to the audit log at most once a minute per token
//! ([`crate::audit::TokenUseThrottle`]), so a busy client does not flood the log.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::address;
use super::error::ApiError;
use super::session::{SESSION_COOKIE, check_csrf, cookie_value};
use crate::accounts::{AuthError, User, sessions, tokens};
use crate::audit::{self, Action, Event};

/// The user a request authenticated as, with an API token or a browser session.
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return match cookie_value(&parts.headers, SESSION_COOKIE) {
                Some(key) => from_session(parts, state, &key).await,
                None => Err(ApiError::unauthorized(
                    "Authentication credentials were not provided.",
                )),
            };
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("token").then(|| rest.trim())
            })
            .filter(|t| tokens::is_well_formed(t))
            .ok_or_else(|| ApiError::unauthorized("Invalid token header."))?;
        match tokens::authenticate(&state.db, token).await {
            Ok(user) => {
                let digest = tokens::sha256_hex(token);
                if state.token_uses.should_record(&digest) {
                    let event = Event::new(Action::TokenUse)
                        .by(&user)
                        .from_address(address::of(parts))
                        .detail(format!("token {}", token.get(..4).unwrap_or_default()));
                    audit::record_or_log(&state.db, &event).await;
                }
                Ok(ApiUser(user))
            }
            Err(AuthError::Malformed) => Err(ApiError::unauthorized("Invalid token header.")),
            Err(AuthError::Unknown) => Err(ApiError::unauthorized("Invalid token.")),
            Err(AuthError::Expired(_)) => Err(ApiError::unauthorized("Token has expired.")),
            Err(AuthError::InactiveUser(_)) => {
                Err(ApiError::forbidden("User inactive or deleted."))
            }
            Err(AuthError::Backend(e)) => Err(ApiError::internal(&e)),
        }
    }
}

/// Authenticates by the session id `key` from the cookie, enforcing CSRF on unsafe methods.
async fn from_session(parts: &Parts, state: &AppState, key: &str) -> Result<ApiUser, ApiError> {
    match sessions::authenticate(&state.db, key).await {
        Ok(session) => {
            check_csrf(&parts.method, &parts.headers, &session.csrf_token)?;
            Ok(ApiUser(session.user))
        }
        Err(AuthError::InactiveUser(_)) => Err(ApiError::forbidden("User inactive or deleted.")),
        Err(AuthError::Backend(e)) => Err(ApiError::internal(&e)),
        Err(_) => Err(ApiError::unauthorized("Invalid session.")),
    }
}
