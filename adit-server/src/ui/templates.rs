//! Rendering pages: the Jinja templates under `adit-server/templates/` are compiled into the
//! binary and autoescaped (every `.html` template), and each page gets the layout's common
//! context: the user, the CSRF token for forms, the flash message and the asset URLs.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Environment, Value, context};

use super::assets;
use super::auth::{FLASH_COOKIE, UiUser};

/// The template environment, built once.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        // The templates are part of the binary; a syntax error is caught by the unit test
        // below, so here it only leaves that one page unrenderable.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!("template {name}: {e}");
        }
    }
    // Asset URLs are ours and need no escaping (escaping would turn `/` into `&#x2f;`).
    env.add_function("asset", |name: &str| {
        Value::from_safe_string(assets::url(name))
    });
    env.add_filter("bytes", human_bytes);
    env
});

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("home.html", include_str!("../../templates/home.html")),
    (
        "maintenance.html",
        include_str!("../../templates/maintenance.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("jobs.html", include_str!("../../templates/jobs.html")),
    ("job.html", include_str!("../../templates/job.html")),
    ("task.html", include_str!("../../templates/task.html")),
    (
        "selective_transfer.html",
        include_str!("../../templates/selective_transfer.html"),
    ),
    (
        "study_row.html",
        include_str!("../../templates/study_row.html"),
    ),
    ("batch.html", include_str!("../../templates/batch.html")),
    ("profile.html", include_str!("../../templates/profile.html")),
    ("tokens.html", include_str!("../../templates/tokens.html")),
    (
        "explorer.html",
        include_str!("../../templates/explorer.html"),
    ),
    ("nodes.html", include_str!("../../templates/nodes.html")),
    (
        "admin_audit.html",
        include_str!("../../templates/admin_audit.html"),
    ),
    (
        "admin_overview.html",
        include_str!("../../templates/admin_overview.html"),
    ),
    (
        "admin_users.html",
        include_str!("../../templates/admin_users.html"),
    ),
    (
        "admin_groups.html",
        include_str!("../../templates/admin_groups.html"),
    ),
    (
        "admin_site.html",
        include_str!("../../templates/admin_site.html"),
    ),
    ("results.html", include_str!("../../templates/results.html")),
    (
        "job_actions.html",
        include_str!("../../templates/job_actions.html"),
    ),
    (
        "form_errors.html",
        include_str!("../../templates/form_errors.html"),
    ),
];

/// The page `name` for `user` with the page's own `ctx`; a flash message shown on it is
/// cleared by the response.
pub fn page(user: &UiUser, name: &str, ctx: Value) -> Response {
    let common = context! {
        user => &user.user,
        csrf_token => &user.csrf_token,
        maintenance => user.site.maintenance,
        flash => user.flash.as_ref().map(|(level, text)| context! { level, text }),
    };
    let mut response = render(name, context! { ..ctx, ..common });
    if user.flash.is_some() {
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("flash=; Max-Age=0; Path=/; SameSite=Lax"),
        );
    }
    response
}

/// Renders `name` with `ctx` and nothing else (pages without a user, fragments).
pub fn render(name: &str, ctx: Value) -> Response {
    match render_string(name, ctx) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("rendering {name}: {e:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.").into_response()
        }
    }
}

/// Renders `name` with `ctx` to a string.
pub fn render_string(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    ENV.get_template(name)?.render(ctx)
}

/// An error page with `status` and `message`, inside the layout.
pub fn error_page(user: &UiUser, status: StatusCode, message: &str) -> Response {
    let mut response = page(
        user,
        "error.html",
        context! { status => status.as_u16(), message },
    );
    *response.status_mut() = status;
    response
}

/// A redirect (303, so a POST is followed by a GET) to `to` that shows `text` there as a
/// flash message of Bootstrap colour `level` (`success`, `danger`, ...).
pub fn redirect_with_flash(to: &str, level: &str, text: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let value = format!(
        "{FLASH_COOKIE}={}; Path=/; SameSite=Lax; HttpOnly",
        encode_flash(level, text)
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `level|text`, percent-encoded so it is a valid cookie value.
fn encode_flash(level: &str, text: &str) -> String {
    let raw = format!("{level}|{text}");
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Inverse of [`encode_flash`]; `None` for anything malformed (a forged cookie).
pub(crate) fn decode_flash(value: &str) -> Option<(String, String)> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail.get(..2)?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    let text = String::from_utf8(bytes).ok()?;
    let (level, text) = text.split_once('|')?;
    let level = match level {
        "success" | "danger" | "warning" | "info" => level,
        _ => return None,
    };
    Some((level.to_owned(), text.to_owned()))
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)] // display only
    let mut value = n as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                panic!("template {name}: {e:#}");
            }
        }
    }

    #[test]
    fn flash_round_trips_and_rejects_forgeries() {
        let encoded = encode_flash("success", "Job 3 created; 2 tasks.");
        assert!(!encoded.contains(' ') && !encoded.contains(';'));
        assert_eq!(
            decode_flash(&encoded),
            Some(("success".into(), "Job 3 created; 2 tasks.".into()))
        );
        assert_eq!(decode_flash("evil|x"), None);
        assert_eq!(decode_flash("success%2"), None);
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
