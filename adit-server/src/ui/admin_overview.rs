//! The staff overview: how many jobs of each type are in each status, and how often each
//! user's API tokens were used (from the audit log's `token_use` entries).

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use minijinja::{Value, context};

use super::auth::UiUser;
use super::jobs::internal;
use super::templates;
use crate::audit;
use crate::jobs::{JobKind, JobStatus};
use crate::web::AppState;

/// The routes of the overview page.
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/overview/", get(overview))
}

/// `GET /admin/overview/`.
pub async fn overview(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    let counts = match state.jobs().await {
        Ok(jobs) => jobs.counts_by_kind_and_status().await,
        Err(e) => return internal(&user, &e),
    };
    let counts = match counts {
        Ok(counts) => counts,
        Err(e) => return internal(&user, &e),
    };
    let token_use = match audit::token_use_by_user(&state.db).await {
        Ok(rows) => rows,
        Err(e) => return internal(&user, &e),
    };
    let by_pair: HashMap<(JobKind, JobStatus), i64> = counts
        .iter()
        .map(|c| ((c.kind, c.status), c.count))
        .collect();
    let statuses: Vec<String> = JobStatus::ALL.iter().map(ToString::to_string).collect();
    let rows: Vec<Value> = JobKind::ALL
        .iter()
        .map(|&kind| {
            let cells: Vec<i64> = JobStatus::ALL
                .iter()
                .map(|&status| by_pair.get(&(kind, status)).copied().unwrap_or(0))
                .collect();
            let total: i64 = cells.iter().sum();
            context! { kind => kind.as_str(), cells, total }
        })
        .collect();
    let token_use: Vec<Value> = token_use
        .iter()
        .map(|(username, uses)| context! { username, uses })
        .collect();
    templates::page(
        &user,
        "admin_overview.html",
        context! { statuses, rows, token_use },
    )
}
