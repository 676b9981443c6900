//! The web UI: server-rendered HTML pages (Jinja templates compiled into the binary), with
//! htmx, Bootstrap 5 and Alpine.js served by the binary itself, so it works offline.
//!
//! | route | module | page |
//! |---|---|---|
//! | `GET /login/`, `POST /accounts/logout/`, `GET /` | [`auth`] | login, logout, home |
//! | `/jobs/...`, `/tasks/...` | [`jobs`] | job list, job detail with live progress, task detail, actions |
//! | `/selective-transfer/...` | [`transfer`] | search (results streamed), tick studies, start a transfer |
//! | `/selective-transfer/download` | [`download`] | one study as a ZIP, straight from the results |
//! | `/batch-transfer/...` | [`batch`] | sheet upload with every error located, sample sheets |
//! | `/accounts/profile/`, `/token-authentication/` | [`profile`] | active group, password, API tokens |
//! | `/jobs/{id}/results/`, `results.{xlsx,csv}` | [`results`] | batch query results and their export |
//! | `/dicom-explorer/...` | [`explorer`] | servers → patients → studies → series |
//! | `/admin/nodes/` | [`nodes`] | staff: nodes with a C-ECHO check and group access |
//! | `/admin/audit/` | [`admin_audit`] | staff: the audit log, filtered, with its CSV export |
//! | `/admin/overview/` | [`admin_overview`] | staff: jobs by type and status, API token use |
//! | `/admin/users/`, `/admin/groups/` | [`admin_accounts`] | staff: create and change users, groups, permissions |
//! | `/admin/site/` | [`admin_site`] | staff: announcement, maintenance mode, mail to all users |
//! | `/static/{hash}/{name}` | [`assets`] | embedded assets, cached forever |
//!
//! Pages authenticate with the browser session; forms carry the session's CSRF token (see
//! [`auth`]). `POST /login/` itself lives in [`crate::web::session`] and answers browsers
//! with HTML.

pub mod admin_accounts;
pub mod admin_audit;
pub mod admin_overview;
pub mod admin_site;
pub mod assets;
pub mod audit_trail;
pub mod auth;
pub mod batch;
pub mod download;
pub mod explorer;
pub mod jobs;
pub mod nodes;
pub mod profile;
pub mod results;
pub mod templates;
pub mod transfer;

use axum::Router;
use axum::routing::{get, post};

use crate::web::AppState;

/// The routes of the pages (merged into [`crate::web::app`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(auth::home))
        .route("/login/", get(auth::login_page))
        .route("/accounts/logout/", post(auth::logout))
        .route("/static/{hash}/{name}", get(assets::serve))
        .route("/jobs/", get(jobs::list))
        .route("/jobs/{id}/", get(jobs::detail))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/jobs/{id}/{action}/", post(jobs::job_action))
        .route("/tasks/{id}/", get(jobs::task_detail))
        .route("/tasks/{id}/{action}/", post(jobs::task_action))
        .merge(transfer::routes())
        .merge(batch::routes())
        .merge(profile::routes())
        .merge(explorer::routes())
        .merge(nodes::routes())
        .merge(admin_audit::routes())
        .merge(admin_overview::routes())
        .merge(admin_accounts::routes())
        .merge(admin_site::routes())
        .merge(results::routes())
}
