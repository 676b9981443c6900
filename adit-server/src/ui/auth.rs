//! The signed-in user of a page, the login page, logout and the home page.
//!
//! Pages authenticate with the browser session of [`crate::web::session`]: without a valid
//! session they redirect to `/login/?next=<page>`. Forms carry the session's CSRF token in the
//! field `csrfmiddlewaretoken` (Django's name), checked by [`UiUser::check_csrf`] on every
//! POST; scripts send it in `X-CSRFToken`.

use std::collections::BTreeSet;

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::templates::{self, decode_flash};
use crate::accounts::{AuthError, Permission, User, sessions, users};
use crate::site::SiteSettings;
use crate::web::AppState;
use crate::web::session::{CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, cookie_value};

/// Cookie carrying a one-shot message to show on the next page.
pub const FLASH_COOKIE: &str = "flash";

/// A signed-in user of a page, with what the layout needs.
#[derive(Debug, Clone)]
pub struct UiUser {
    /// The account.
    pub user: User,
    /// The session's CSRF token, put into every form.
    pub csrf_token: String,
    /// The flash message to show (level, text), if any.
    pub flash: Option<(String, String)>,
    /// The effective permissions (the active group's; all for superusers).
    pub permissions: BTreeSet<Permission>,
    /// The site settings as the maintenance layer read them for this request.
    pub site: SiteSettings,
}

impl UiUser {
    /// Whether the user has `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Checks a form's CSRF token (or the `X-CSRFToken` header of a script's request).
    pub fn check_csrf(&self, sent: Option<&str>, headers: &HeaderMap) -> Result<(), Box<Response>> {
        let sent = sent
            .or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
            .unwrap_or_default();
        if sessions::secrets_match(sent.trim(), &self.csrf_token) {
            Ok(())
        } else {
            Err(Box::new(templates::error_page(
                self,
                StatusCode::FORBIDDEN,
                "The form has expired (CSRF token missing or incorrect). Reload the page and try again.",
            )))
        }
    }

    /// Refuses with a 403 page unless the user has `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), Box<Response>> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Box::new(templates::error_page(
                self,
                StatusCode::FORBIDDEN,
                &format!("You do not have the `{permission}` permission."),
            )))
        }
    }

    /// Refuses with a 403 page unless the user is staff.
    pub fn require_staff(&self) -> Result<(), Box<Response>> {
        if self.user.is_staff || self.user.is_superuser {
            Ok(())
        } else {
            Err(Box::new(templates::error_page(
                self,
                StatusCode::FORBIDDEN,
                "This page is for staff members only.",
            )))
        }
    }

    /// Refuses a staff form's POST unless the user is staff ([`UiUser::require_staff`]) and
    /// the form carries the session's CSRF token ([`UiUser::check_csrf`]), in that order.
    pub fn require_staff_post(
        &self,
        sent: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<(), Box<Response>> {
        self.require_staff()?;
        self.check_csrf(sent, headers)
    }
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            Redirect::to(&format!("/login/?next={}", encode_component(&next))).into_response()
        };
        let Some(key) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let session = match sessions::authenticate(&state.db, &key).await {
            Ok(session) => session,
            Err(AuthError::Backend(e)) => {
                tracing::error!("page session: {e}");
                return Err(
                    (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.").into_response(),
                );
            }
            Err(_) => return Err(to_login()),
        };
        let permissions = users::permissions(&state.db, &session.user)
            .await
            .map_err(|e| {
                tracing::error!("page permissions: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.").into_response()
            })?;
        Ok(UiUser {
            user: session.user,
            csrf_token: session.csrf_token,
            flash: cookie_value(&parts.headers, FLASH_COOKIE).and_then(|v| decode_flash(&v)),
            permissions,
            // Put there by the maintenance layer, which wraps every route.
            site: parts
                .extensions
                .get::<SiteSettings>()
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    /// Where to go after logging in.
    #[serde(default)]
    pub next: Option<String>,
}

/// `GET /login/`: the login form.
pub async fn login_page(Query(query): Query<NextQuery>) -> Response {
    templates::render(
        "login.html",
        context! { next => safe_next(query.next.as_deref()), error => None::<String>, username => "" },
    )
}

/// The login form again, with `error`, as the answer to a failed browser login.
pub fn login_failed(
    status: StatusCode,
    error: &str,
    username: &str,
    next: Option<&str>,
) -> Response {
    let mut response = templates::render(
        "login.html",
        context! { next => safe_next(next), error, username },
    );
    *response.status_mut() = status;
    response
}

/// Where a browser goes after logging in: `next` if it is a path on this site, else `/`
/// (never another host: `//evil.example` and `/\evil` are refused).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Whether a request comes from a browser form (it accepts HTML and did not send JSON).
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accepts_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let sent_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    accepts_html && !sent_json
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
}

/// `POST /accounts/logout/`: ends the session (form with CSRF token) and goes to the login
/// page.
pub async fn logout(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    if let Some(key) = cookie_value(&headers, SESSION_COOKIE)
        && let Err(e) = sessions::delete(&state.db, &key).await
    {
        tracing::error!("logout: {e}");
    }
    tracing::info!(username = %user.user.username, "logged out");
    let mut response = templates::redirect_with_flash("/login/", "info", "You are logged out.");
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        if let Ok(value) =
            HeaderValue::from_str(&format!("{name}=; Max-Age=0; Path=/; SameSite=Lax"))
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `GET /`: the home page with the staff's announcement and the features the user may use.
pub async fn home(user: UiUser) -> Response {
    let ctx = context! {
        can_selective => user.can(Permission::AddSelectiveTransferJob),
        can_batch_transfer => user.can(Permission::AddBatchTransferJob),
        can_batch_query => user.can(Permission::AddBatchQueryJob),
        announcement => &user.site.announcement,
    };
    templates::page(&user, "home.html", ctx)
}

/// Percent-encodes a URL query component.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/jobs/3/")), "/jobs/3/");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn components_are_encoded() {
        assert_eq!(
            encode_component("/jobs/?status=SU&x=a b"),
            "/jobs/%3Fstatus%3DSU%26x%3Da%20b"
        );
    }
}
