//! Browser login and logout (issue 7: "sessions for the browser").
//!
//! | request | answer |
//! |---|---|
//! | `POST /login/` (form or JSON `username`, `password`), right password | 200 `{"username", "csrf_token"}`, cookies `sessionid` (HttpOnly) and `csrftoken` |
//! | unknown user or wrong password | 401 "Invalid username or password." |
//! | right password, inactive user | 403 "User inactive or deleted." |
//! | no or malformed fields | 400 |
//! | a browser form (`Accept: text/html`) | the login page with the error, or 303 to `next` |
//! | `POST /logout/` | 200; ends the session and clears both cookies (a session cookie needs the CSRF header) |
//!
//! Both cookies are `SameSite=Lax; Path=/`, `Secure` when the server speaks HTTPS. The
//! [`super::auth::ApiUser`] extractor accepts the `sessionid` cookie in place of a token; with a
//! session, requests other than GET, HEAD, OPTIONS and TRACE must send the session's CSRF token
//! in `X-CSRFToken` (the value of the `csrftoken` cookie), as Django requires.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::address::ClientAddress;
use super::error::ApiError;
use crate::accounts::{sessions, users};
use crate::audit::{self, Action, Event};
use crate::ui;

/// Name of the cookie holding the session id.
pub const SESSION_COOKIE: &str = "sessionid";
/// Name of the cookie holding the CSRF token (readable by scripts, unlike the session id).
pub const CSRF_COOKIE: &str = "csrftoken";
/// Header carrying the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrftoken";

/// The login fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Where a browser goes after logging in (the HTML login form sends it).
    #[serde(default)]
    pub next: Option<String>,
}

/// `POST /login/`: checks the password (Argon2) and starts a session.
///
/// A browser's form post (it accepts `text/html`) gets the login page again with the error,
/// or on success a redirect to the form's `next` page instead of JSON.
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    request: Request,
) -> Response {
    let html = ui::auth::wants_html(request.headers());
    let form = match read_form(&state, request).await {
        Ok(form) => form,
        Err(e) if html => {
            return ui::auth::login_failed(e.status, &e.detail, "", None);
        }
        Err(e) => return e.into_response(),
    };
    let refuse = |error: ApiError| {
        if html {
            ui::auth::login_failed(
                error.status,
                &error.detail,
                &form.username,
                form.next.as_deref(),
            )
        } else {
            error.into_response()
        }
    };
    let user = match users::verify_password(&state.db, form.username.trim(), &form.password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            tracing::info!(username = %form.username, "login failed: unknown user or wrong password");
            let mut event = Event::new(Action::LoginFailed)
                .from_address(address)
                .detail("unknown user or wrong password");
            event.username = form.username.trim().chars().take(150).collect();
            audit::record_or_log(&state.db, &event).await;
            return refuse(ApiError::unauthorized("Invalid username or password."));
        }
        Err(e) => return refuse(ApiError::from(e)),
    };
    if !user.is_active {
        let event = Event::new(Action::LoginFailed)
            .by(&user)
            .from_address(address)
            .detail("inactive user");
        audit::record_or_log(&state.db, &event).await;
        return refuse(ApiError::forbidden("User inactive or deleted."));
    }
    let session = match sessions::create(&state.db, &user).await {
        Ok(session) => session,
        Err(e) => return ApiError::from(e).into_response(),
    };
    tracing::info!(username = %user.username, "logged in");
    if let Err(e) = audit::record(
        &state.db,
        &Event::new(Action::Login).by(&user).from_address(address),
    )
    .await
    {
        return ApiError::from(e).into_response();
    }
    let max_age = sessions::SESSION_LIFETIME.num_seconds();
    let secure = state.config.tls_cert.is_some();
    let mut response = if html {
        Redirect::to(&ui::auth::safe_next(form.next.as_deref())).into_response()
    } else {
        Json(json!({
            "username": user.username,
            "csrf_token": session.csrf_token,
        }))
        .into_response()
    };
    append_cookie(
        response.headers_mut(),
        &cookie(SESSION_COOKIE, &session.key, max_age, true, secure),
    );
    append_cookie(
        response.headers_mut(),
        &cookie(CSRF_COOKIE, &session.csrf_token, max_age, false, secure),
    );
    response
}

/// `POST /logout/`: ends the session of the request's cookie and clears the cookies.
pub async fn logout(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Response {
    if let Some(key) = cookie_value(&headers, SESSION_COOKIE) {
        match sessions::authenticate(&state.db, &key).await {
            Ok(session) => {
                if let Err(e) = check_csrf(&Method::POST, &headers, &session.csrf_token) {
                    return e.into_response();
                }
                if let Err(e) = sessions::delete(&state.db, &key).await {
                    return ApiError::from(e).into_response();
                }
                tracing::info!(username = %session.user.username, "logged out");
                let event = Event::new(Action::Logout)
                    .by(&session.user)
                    .from_address(address);
                audit::record_or_log(&state.db, &event).await;
            }
            Err(crate::accounts::AuthError::Backend(e)) => {
                return ApiError::from(e).into_response();
            }
            // Unknown or expired: nothing to end; the cookies are cleared all the same.
            Err(_) => {}
        }
    }
    let secure = state.config.tls_cert.is_some();
    let mut response = Json(json!({ "detail": "Logged out." })).into_response();
    append_cookie(
        response.headers_mut(),
        &cookie(SESSION_COOKIE, "", 0, true, secure),
    );
    append_cookie(
        response.headers_mut(),
        &cookie(CSRF_COOKIE, "", 0, false, secure),
    );
    response
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

/// Django's CSRF rule for session-authenticated requests: methods other than GET, HEAD,
/// OPTIONS and TRACE need `X-CSRFToken` equal to the session's token.
pub fn check_csrf(method: &Method, headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return Ok(());
    }
    let Some(sent) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::forbidden("CSRF Failed: CSRF token missing."));
    };
    if sessions::secrets_match(sent.trim(), expected) {
        Ok(())
    } else {
        Err(ApiError::forbidden("CSRF Failed: CSRF token incorrect."))
    }
}

async fn read_form(state: &AppState, request: Request) -> Result<LoginForm, ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let bad = |e: &dyn std::fmt::Display| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Expected username and password: {e}"),
        )
    };
    // A body over `max_body_size` keeps its 413.
    let rejected = |status: StatusCode, text: String| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "Request body too large.")
        } else {
            bad(&text)
        }
    };
    if is_json {
        Json::<LoginForm>::from_request(request, state)
            .await
            .map(|Json(form)| form)
            .map_err(|e| rejected(e.status(), e.body_text()))
    } else {
        Form::<LoginForm>::from_request(request, state)
            .await
            .map(|Form(form)| form)
            .map_err(|e| rejected(e.status(), e.body_text()))
    }
}

fn cookie(name: &str, value: &str, max_age: i64, http_only: bool, secure: bool) -> String {
    let mut text = format!("{name}={value}; Max-Age={max_age}; Path=/; SameSite=Lax");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if secure {
        text.push_str("; Secure");
    }
    text
}

fn append_cookie(headers: &mut HeaderMap, cookie: &str) {
    // The values are hex and fixed words: always a valid header value.
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sessionid=abc ; csrftoken=def"),
        );
        assert_eq!(
            cookie_value(&headers, SESSION_COOKIE).as_deref(),
            Some("abc")
        );
        assert_eq!(cookie_value(&headers, CSRF_COOKIE).as_deref(), Some("def"));
        assert_eq!(cookie_value(&headers, "other"), None);
    }

    #[test]
    fn csrf_is_needed_only_for_unsafe_methods() {
        let mut headers = HeaderMap::new();
        assert!(check_csrf(&Method::GET, &headers, "t").is_ok());
        assert!(check_csrf(&Method::POST, &headers, "t").is_err());
        headers.insert(CSRF_HEADER, HeaderValue::from_static("t"));
        assert!(check_csrf(&Method::POST, &headers, "t").is_ok());
        assert!(check_csrf(&Method::DELETE, &headers, "u").is_err());
    }

    #[test]
    fn session_cookie_is_http_only_and_lax() {
        let c = cookie(SESSION_COOKIE, "k", 10, true, true);
        assert_eq!(
            c,
            "sessionid=k; Max-Age=10; Path=/; SameSite=Lax; HttpOnly; Secure"
        );
    }
}
