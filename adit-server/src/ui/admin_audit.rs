//! The staff page of the audit log: the newest entries, filtered by user, action and date,
//! with a link to the CSV export of the same filter (`/api/v1/audit.csv`, which accepts the
//! browser session).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Value, context};
use serde::Deserialize;

use super::auth::UiUser;
use super::jobs::internal;
use super::templates;
use crate::accounts;
use crate::audit::{self, Action, Filter};
use crate::web::AppState;

/// How many entries the page shows at most (the CSV export has them all).
const PAGE_LIMIT: i64 = 200;

/// The routes of the audit log page.
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit/", get(list))
}

/// The filter fields of `GET /admin/audit/`; empty fields do not filter.
#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    /// A user name.
    #[serde(default)]
    pub user: String,
    /// An action name (`login`, `token_use`, ...).
    #[serde(default)]
    pub action: String,
    /// The first day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub from: String,
    /// The last day, included (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub to: String,
}

/// `GET /admin/audit/`.
pub async fn list(
    State(state): State<AppState>,
    user: UiUser,
    Query(form): Query<AuditForm>,
) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    let users = match accounts::users::list(&state.db).await {
        Ok(users) => users,
        Err(e) => return internal(&user, &e),
    };
    let mut problems = Vec::new();
    let mut filter = Filter::default();
    let mut unknown_user = false;
    let name = form.user.trim();
    if !name.is_empty() {
        match users.iter().find(|u| u.username == name) {
            Some(u) => filter.user_id = Some(u.id.0),
            None => unknown_user = true,
        }
    }
    if !form.action.is_empty() {
        match Action::parse(&form.action) {
            Some(action) => filter.action = Some(action),
            None => problems.push(format!("Unknown action `{}`.", form.action)),
        }
    }
    match day_start(&form.from, 0) {
        Ok(from) => filter.from = from,
        Err(problem) => problems.push(format!("From: {problem}")),
    }
    match day_start(&form.to, 1) {
        Ok(to) => filter.to = to,
        Err(problem) => problems.push(format!("To: {problem}")),
    }
    let (entries, total) = if unknown_user || !problems.is_empty() {
        (Vec::new(), 0)
    } else {
        match audit::list(&state.db, &filter, 0, PAGE_LIMIT).await {
            Ok(found) => found,
            Err(e) => return internal(&user, &e),
        }
    };
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            context! {
                id => e.id,
                at => e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                username => &e.username,
                action => &e.action,
                address => &e.address,
                node => &e.node,
                study_uid => &e.study_uid,
                pseudonymized => e.pseudonymized,
                detail => &e.detail,
            }
        })
        .collect();
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    let bad_request = !problems.is_empty();
    let mut response = templates::page(
        &user,
        "admin_audit.html",
        context! {
            entries,
            total,
            shown_limit => PAGE_LIMIT,
            actions,
            form => context! { user => name, action => &form.action, from => &form.from, to => &form.to },
            problems,
            unknown_user,
            csv_url => csv_url(&filter),
        },
    );
    if bad_request {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// Midnight (UTC) `days_later` days after `day`, or `None` for an empty field.
fn day_start(day: &str, days_later: u64) -> Result<Option<DateTime<Utc>>, String> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("`{day}` is not a date like 2024-01-31."))?;
    let date = date
        .checked_add_days(chrono::Days::new(days_later))
        .ok_or_else(|| format!("`{day}` is out of range."))?;
    Ok(date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
}

/// The CSV export of the entries `filter` selects. Every value is an integer, a snake_case
/// action name or a time without `+`, so nothing needs percent-encoding.
fn csv_url(filter: &Filter) -> String {
    let mut params = Vec::new();
    if let Some(user) = filter.user_id {
        params.push(format!("user={user}"));
    }
    if let Some(action) = filter.action {
        params.push(format!("action={}", action.as_str()));
    }
    if let Some(from) = filter.from {
        params.push(format!("from={}", from.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    if let Some(to) = filter.to {
        params.push(format!("to={}", to.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    if params.is_empty() {
        "/api/v1/audit.csv".to_owned()
    } else {
        format!("/api/v1/audit.csv?{}", params.join("&"))
    }
}
