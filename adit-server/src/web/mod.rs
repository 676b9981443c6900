//! The HTTP side: [`app`] builds the axum [`Router`] from an [`AppState`], separate from
//! serving it (see [`crate::serve`]), so tests drive it in-process with
//! `tower::ServiceExt::oneshot`.
//!
//! | route | module | auth |
//! |---|---|---|
//! | `GET /health/` | [`health`] | none |
//! | `POST /login/`, `POST /logout/` | [`session`] | password / session cookie |
//! | `GET /api/user/` | [`user`] | token or session ([`auth::ApiUser`]) |
//! | `/api/dicom-web/{ae_title}/...` | [`dicomweb`] | token or session |
//! | `/api/v1/...`, `GET /api/openapi.json` | [`api`] | token or session; the document: none |
//! | `GET /metrics` | [`crate::metrics::http`] | `ADIT_METRICS_TOKEN` bearer, or a staff user |
//!
//! Every route is timed for the metrics and rate limited ([`limits`]; `/health/` and
//! `/metrics` are exempt). Request bodies are capped at `max_body_size`, STOW-RS bodies at
//! `max_upload_size` (413 beyond).
//!
//! While staff have maintenance mode on, [`maintenance`] answers everyone else with 503
//! (login, logout, assets, `/health/` and `/metrics` stay open).
//!
//! The HTML pages (`/`, `/jobs/`, `/selective-transfer/`, ...) are [`crate::ui`]'s (session).

pub mod address;
pub mod api;
pub mod auth;
pub mod dicomweb;
pub mod error;
pub mod health;
pub mod limits;
pub mod maintenance;
pub mod session;
pub mod user;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn_with_state, map_response};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use adit_dimse::scp::MoveCoordinator;

use crate::audit::TokenUseThrottle;
use crate::config::Config;
use crate::db::Db;
use crate::jobs::Jobs;
use crate::metrics::Metrics;
use crate::receiver::liveness::ReceiverCheck;

/// What every request handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The server database.
    pub db: Db,
    /// The effective configuration.
    pub config: Arc<Config>,
    /// Hands C-MOVE instances from the receiver to the DICOMweb facade's retrieves; without
    /// one, nodes offering only C-MOVE cannot be retrieved from through the facade.
    pub move_coordinator: Option<Arc<MoveCoordinator>>,
    /// How `/health/` learns whether the DICOM receiver runs.
    pub receiver: ReceiverCheck,
    /// The job store, connected on first use (see [`AppState::jobs`]).
    jobs: Arc<tokio::sync::OnceCell<Jobs>>,
    /// Limits how often a token's use is written to the audit log.
    pub token_uses: Arc<TokenUseThrottle>,
    /// This process's metrics (shared with the in-process workers of `adit serve`).
    pub metrics: Metrics,
    /// Request rate limits per token and per client IP.
    pub rate_limits: Arc<limits::RateLimits>,
    /// Per-user caps on concurrent DICOMweb retrieves.
    pub retrieve_slots: Arc<limits::RetrieveSlots>,
}

impl AppState {
    /// State over `db` with `config`.
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            db,
            rate_limits: Arc::new(limits::RateLimits::new(&config)),
            retrieve_slots: Arc::new(limits::RetrieveSlots::new(config.max_retrieves_per_user)),
            config: Arc::new(config),
            move_coordinator: None,
            receiver: ReceiverCheck::None,
            jobs: Arc::default(),
            token_uses: Arc::new(TokenUseThrottle::default()),
            metrics: Metrics::new(),
        }
    }

    /// The same state counting into `metrics` (one registry per process).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The job store on this state's database, connected once (the queue's migrations run
    /// then), with the configured batch size limits and job-finished mails over SMTP when a
    /// server is configured.
    pub async fn jobs(&self) -> crate::jobs::JobResult<&Jobs> {
        self.jobs
            .get_or_try_init(|| async {
                let (jobs, smtp_error) = Jobs::from_config(&self.db, &self.config).await?;
                if let Some(e) = smtp_error {
                    tracing::warn!("job-finished mails from the web server are logged only: {e}");
                }
                Ok(jobs)
            })
            .await
    }

    /// Lets the DICOMweb facade retrieve by C-MOVE through `coordinator`'s receiver.
    pub fn with_move_coordinator(mut self, coordinator: Arc<MoveCoordinator>) -> Self {
        self.move_coordinator = Some(coordinator);
        self
    }

    /// The same state with `/health/` reporting the receiver through `check`.
    pub fn with_receiver_check(mut self, check: ReceiverCheck) -> Self {
        self.receiver = check;
        self
    }
}

/// The application: every route of the web server.
///
/// Serve it with [`Router::into_make_service_with_connect_info`] (`SocketAddr`): the
/// per-IP rate limit needs the peer address and skips requests without one.
pub fn app(state: AppState) -> Router {
    let body_limit = usize::try_from(state.config.max_body_size).unwrap_or(usize::MAX);
    let upload_limit = usize::try_from(state.config.max_upload_size).unwrap_or(usize::MAX);
    // The tower-http layer also bounds streamed bodies (STOW-RS reads the body as a stream,
    // past axum's extractor limit), and refuses a too large Content-Length before reading.
    let regular = Router::new()
        .route("/health/", get(health::health))
        .route("/login/", post(session::login))
        .route("/logout/", post(session::logout))
        .route("/api/user/", get(user::current_user))
        .route("/metrics", get(crate::metrics::http::scrape))
        .merge(dicomweb::read_routes())
        .merge(api::routes())
        .merge(crate::ui::routes())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(DefaultBodyLimit::disable())
        .layer(map_response(error::json_payload_too_large));
    let uploads = dicomweb::upload_routes()
        .layer(RequestBodyLimitLayer::new(upload_limit))
        .layer(DefaultBodyLimit::disable())
        .layer(map_response(error::json_payload_too_large));
    Router::new()
        .merge(regular)
        .merge(uploads)
        .fallback(error::not_found)
        .layer(from_fn_with_state(state.clone(), maintenance::gate))
        .layer(from_fn_with_state(state.clone(), limits::rate_limit))
        .layer(from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::http::track,
        ))
        .with_state(state)
}
