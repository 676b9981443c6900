//! `/api/v1/audit/` and `/api/v1/audit.csv`: the audit log for staff, filtered by user,
//! action and time, as JSON pages or as one CSV file.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Query;
use super::{Pagination, page_of};
use crate::accounts::User;
use crate::audit::{self, Action, Entry, Filter};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::error::{ApiError, ErrorBody};

/// The most entries one CSV export holds (the newest).
pub const MAX_CSV_ENTRIES: i64 = 100_000;

/// An audit entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Its id.
    pub id: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The acting user's id.
    pub user_id: Option<i64>,
    /// The acting user's name.
    pub username: String,
    /// What happened.
    pub action: String,
    /// The client address.
    pub address: String,
    /// The node involved.
    pub node: String,
    /// The study involved.
    pub study_uid: String,
    /// Whether data left pseudonymized (data access).
    pub pseudonymized: Option<bool>,
    /// Free text.
    pub detail: String,
}

page_of!(
    /// A page of audit entries.
    AuditPage,
    AuditEntry
);

/// Filters of the audit log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries of this user id.
    pub user: Option<i64>,
    /// Only entries of this action (`login`, `token_use`, `job_create`, ...).
    pub action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page number, from 1 (JSON only).
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 200; JSON only).
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
}

impl AuditQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        let action = match &self.action {
            None => None,
            Some(name) => Some(Action::parse(name).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Unknown action `{name}`; one of: {}.",
                    Action::ALL.map(Action::as_str).join(", ")
                ))
            })?),
        };
        Ok(Filter {
            user_id: self.user,
            action,
            from: self.from,
            to: self.to,
        })
    }
}

/// `GET /api/v1/audit/`: newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit/",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(query): Query<AuditQuery>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    staff_only(&user)?;
    let (page, page_size) = Pagination {
        page: query.page,
        page_size: query.page_size,
    }
    .resolve()?;
    let (offset, limit) = Pagination::window(page, page_size);
    let (entries, total) = audit::list(&state.db, &query.filter()?, offset, limit).await?;
    Ok(axum::Json(AuditPage {
        items: entries.into_iter().map(view).collect(),
        page,
        page_size,
        total,
    }))
}

/// `GET /api/v1/audit.csv`: the matching entries (newest first, at most 100 000) as CSV.
#[utoipa::path(
    get,
    path = "/api/v1/audit.csv",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "The entries as CSV", content_type = "text/csv", body = String),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
pub async fn export_audit(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    staff_only(&user)?;
    let (entries, _) = audit::list(&state.db, &query.filter()?, 0, MAX_CSV_ENTRIES).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        audit::to_csv(&entries),
    )
        .into_response())
}

fn staff_only(user: &User) -> Result<(), ApiError> {
    if user.is_staff {
        Ok(())
    } else {
        Err(ApiError::forbidden("Only staff may read the audit log."))
    }
}

fn view(e: Entry) -> AuditEntry {
    AuditEntry {
        id: e.id,
        at: e.at,
        user_id: e.user_id,
        username: e.username,
        action: e.action,
        address: e.address,
        node: e.node,
        study_uid: e.study_uid,
        pseudonymized: e.pseudonymized,
        detail: e.detail,
    }
}
