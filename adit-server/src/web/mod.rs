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
//! | the HTML pages (`/`, `/jobs/`, `/selective-transfer/`, ...) | [`crate::ui`] | session |

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

use crate::config::Config;
use crate::db::Db;
use crate::jobs::{Jobs, SmtpMailer};
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
}

impl AppState {
    /// State over `db` with `config`.
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            db,
            config: Arc::new(config),
            move_coordinator: None,
            receiver: ReceiverCheck::None,
            jobs: Arc::default(),
        }
    }

    /// The job store on this state's database, connected once (the queue's migrations run
    /// then), with job-finished mails over SMTP when a server is configured.
    pub async fn jobs(&self) -> crate::jobs::JobResult<&Jobs> {
        self.jobs
            .get_or_try_init(|| async {
                let jobs = Jobs::on(&self.db).await?;
                Ok(match SmtpMailer::from_config(&self.config.smtp) {
                    Ok(Some(mailer)) => jobs.with_mailer(Arc::new(mailer)),
                    Ok(None) => jobs,
                    Err(e) => {
                        tracing::warn!(
                            "job-finished mails from the web server are logged only: {e}"
                        );
                        jobs
                    }
                })
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
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health/", get(health::health))
        .route("/login/", post(session::login))
        .route("/logout/", post(session::logout))
        .route("/api/user/", get(user::current_user))
        .merge(dicomweb::routes())
        .merge(crate::ui::routes())
        .fallback(error::not_found)
        .with_state(state)
}
