//! Maintenance mode (adit-reference §8): while staff have it on, only staff may use the
//! pages and the API. Everyone else gets 503: a maintenance page for the pages, a JSON error
//! for every `/api/` path (the REST API and the DICOMweb facade). The login and logout
//! routes, the static assets, `/health/` and `/metrics` stay open, so staff can sign in and
//! monitoring keeps working.
//!
//! Staff are recognised by their browser session only: API tokens get 503 even when they are
//! a staff member's (as in ADIT, scripts stop while the site is maintained), while a staff
//! member's browser may still fetch `/api/` paths such as the audit CSV export.
//!
//! The settings are read once per request and handed to the pages in the request's
//! extensions, so the layout's banner and the home page's announcement need no second query.
//! Workers are not affected: they keep running the jobs already queued.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::AppState;
use super::error::ApiError;
use super::session::{SESSION_COOKIE, cookie_value};
use crate::accounts::{User, sessions};
use crate::site::{self, SiteSettings};
use crate::ui::templates;

/// Seconds API clients are told to wait (`Retry-After`) while the site is maintained.
pub const RETRY_AFTER_SECS: u64 = 300;

/// The message of the API's 503 answer.
pub const API_MESSAGE: &str = "ADIT is in maintenance mode; please try again later.";

/// The middleware: passes requests through, or answers 503 while maintenance mode is on and
/// the request is neither exempt nor a staff member's.
pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_exempt(path) {
        return next.run(request).await;
    }
    let settings = match site::get(&state.db).await {
        Ok(settings) => settings,
        Err(e) => {
            // Failing open: a database that cannot be read fails the page itself anyway,
            // with a clearer error than a maintenance notice would give.
            tracing::error!("reading the site settings: {e}");
            SiteSettings::default()
        }
    };
    if settings.maintenance {
        let session = match cookie_value(request.headers(), SESSION_COOKIE) {
            Some(key) => sessions::authenticate(&state.db, &key).await.ok(),
            None => None,
        };
        let staff = session
            .as_ref()
            .is_some_and(|s| s.user.is_staff || s.user.is_superuser);
        if !staff {
            return if path.starts_with("/api/") {
                let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, API_MESSAGE);
                error.retry_after = Some(RETRY_AFTER_SECS);
                error.into_response()
            } else {
                maintenance_page(session.as_ref().map(|s| (&s.user, s.csrf_token.as_str())))
            };
        }
    }
    request.extensions_mut().insert(settings);
    next.run(request).await
}

/// Whether `path` stays open during maintenance.
pub fn is_exempt(path: &str) -> bool {
    matches!(
        path,
        "/login/" | "/logout/" | "/accounts/logout/" | "/health/" | "/metrics"
    ) || path.starts_with("/static/")
}

/// The 503 page, with the navigation bar (and its logout button) for a signed-in user.
fn maintenance_page(user: Option<(&User, &str)>) -> Response {
    let mut response = templates::render(
        "maintenance.html",
        context! {
            user => user.map(|(u, _)| u),
            csrf_token => user.map(|(_, csrf)| csrf),
        },
    );
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_health_and_assets_stay_open() {
        for open in [
            "/login/",
            "/accounts/logout/",
            "/health/",
            "/metrics",
            "/static/a/b.js",
        ] {
            assert!(is_exempt(open), "{open}");
        }
        for closed in [
            "/",
            "/jobs/",
            "/api/v1/jobs/",
            "/api/dicom-web/X/qidors/studies",
            "/login",
        ] {
            assert!(!is_exempt(closed), "{closed}");
        }
    }
}
