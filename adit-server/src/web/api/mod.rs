//! The REST API under `/api/v1/`, authenticated by token or browser session
//! ([`super::auth::ApiUser`]), and its OpenAPI 3 document at `GET /api/openapi.json`, derived
//! from the handlers' annotations and the schema derives (never written by hand).
//!
//! | module | routes |
//! |---|---|
//! | [`jobs`] | list, create (JSON rows or an uploaded `.csv`/`.xlsx`), inspect, act on jobs |
//! | [`tasks`] | a job's tasks with progress, status and errors; task actions |
//! | [`nodes`] | the nodes the user may use; C-ECHO |
//! | [`tokens`] | the user's own API tokens |
//! | [`audit`] | the audit log (staff), as JSON pages or CSV |
//!
//! Every error is `{"code", "message", "detail"}` ([`super::error::ErrorBody`]). Lists are
//! paginated with `?page=1&page_size=50` (at most [`MAX_PAGE_SIZE`]) and answer
//! `{items, page, page_size, total}`.

pub mod audit;
pub mod extract;
pub mod jobs;
pub mod nodes;
pub mod tasks;
pub mod tokens;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;

/// The largest page a list answers.
pub const MAX_PAGE_SIZE: u32 = 200;

/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// The API's routes and the route serving their OpenAPI document.
pub fn routes() -> Router<AppState> {
    let (router, openapi) = documented_routes().split_for_parts();
    let document = Arc::new(openapi);
    router
        // Batch files may be up to 5 MiB (ADIT's limit), above axum's default body limit.
        .layer(DefaultBodyLimit::max(
            adit_core::batch::MAX_FILE_SIZE + 64 * 1024,
        ))
        .route(
            OPENAPI_PATH,
            get(move || {
                let document = Arc::clone(&document);
                async move { Json(document.as_ref().clone()) }
            }),
        )
}

/// The OpenAPI document of the REST API, as served at [`OPENAPI_PATH`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented_routes().split_for_parts().1
}

/// Every route with its documentation.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(jobs::list_jobs, jobs::create_job))
        .routes(routes!(jobs::upload_job))
        .routes(routes!(jobs::get_job, jobs::delete_job))
        .routes(routes!(jobs::job_action))
        .routes(routes!(tasks::list_tasks))
        .routes(routes!(tasks::get_task, tasks::delete_task))
        .routes(routes!(tasks::task_action))
        .routes(routes!(nodes::list_nodes))
        .routes(routes!(nodes::echo_node))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(audit::list_audit))
        .routes(routes!(audit::export_audit))
}

/// The document's fixed parts; paths and schemas come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ADIT-RS REST API",
        description = "Jobs, tasks, nodes, API tokens and the audit log. Authenticate with \
                       `Authorization: Token <token>` or a browser session."
    ),
    // Path parameters refer to these by name; handlers do not register them.
    components(schemas(jobs::JobActionName, tasks::TaskActionName)),
    modifiers(&TokenAuth),
    security(("token" = [])),
    tags(
        (name = "jobs", description = "Transfer and query jobs"),
        (name = "tasks", description = "The tasks of a job"),
        (name = "nodes", description = "DICOM nodes the user may use"),
        (name = "tokens", description = "The user's API tokens"),
        (name = "audit", description = "The audit log (staff)"),
    )
)]
struct ApiDoc;

/// Declares the `Authorization: Token ...` scheme.
struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <40 hex characters>`",
            ))),
        );
    }
}

/// `?page=&page_size=`.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 200).
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
}

impl Pagination {
    /// The page and page size asked for, checked: `(page, page_size)`.
    pub fn resolve(self) -> Result<(u32, u32), ApiError> {
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(ApiError::invalid("page must be at least 1."));
        }
        let size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if size == 0 {
            return Err(ApiError::invalid("page_size must be at least 1."));
        }
        Ok((page, size.min(MAX_PAGE_SIZE)))
    }

    /// `(offset, limit)` for SQL.
    pub fn window(page: u32, size: u32) -> (i64, i64) {
        ((i64::from(page) - 1) * i64::from(size), i64::from(size))
    }
}

/// Declares a page type `{items, page, page_size, total}` of `$item`.
macro_rules! page_of {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// The items of this page.
            pub items: Vec<$item>,
            /// The page number, from 1.
            pub page: u32,
            /// Items per page.
            pub page_size: u32,
            /// Items on all pages.
            pub total: i64,
        }
    };
}
pub(crate) use page_of;
