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

pub mod address;
pub mod api;
pub mod auth;
pub mod dicomweb;
pub mod error;
pub mod health;
pub mod session;
pub mod user;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use adit_dimse::scp::MoveCoordinator;

use crate::audit::TokenUseThrottle;
use crate::config::Config;
use crate::db::Db;
use crate::jobs::Jobs;
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
    /// The job model, connected on first use by the REST API.
    pub jobs: Arc<tokio::sync::OnceCell<Jobs>>,
    /// Limits how often a token's use is written to the audit log.
    pub token_uses: Arc<TokenUseThrottle>,
}

impl AppState {
    /// State over `db` with `config`.
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            db,
            config: Arc::new(config),
            move_coordinator: None,
            receiver: ReceiverCheck::None,
            jobs: Arc::new(tokio::sync::OnceCell::new()),
            token_uses: Arc::new(TokenUseThrottle::default()),
        }
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
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health/", get(health::health))
        .route("/login/", post(session::login))
        .route("/logout/", post(session::logout))
        .route("/api/user/", get(user::current_user))
        .merge(dicomweb::routes())
        .merge(api::routes())
        .fallback(error::not_found)
        .with_state(state)
}
