//! Errors of the job model: refused actions, missing rows, and the server's own errors.

use super::actions::Refusal;

/// What can go wrong creating, changing or running a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The action is not allowed (permission or status).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No such job.
    #[error("job {0} does not exist")]
    NoJob(i64),
    /// No such task.
    #[error("task {0} does not exist")]
    NoTask(i64),
    /// The job description is invalid (missing destination, empty pseudonym, ...).
    #[error("invalid job: {0}")]
    Invalid(String),
    /// A database, queue or configuration error.
    #[error(transparent)]
    Server(#[from] crate::Error),
}

impl From<adit_queue::Error> for JobError {
    fn from(e: adit_queue::Error) -> Self {
        JobError::Server(crate::Error::Queue(e))
    }
}

/// Result alias of the job model.
pub type JobResult<T> = std::result::Result<T, JobError>;
