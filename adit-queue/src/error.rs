//! The crate's error type.

/// Everything that can go wrong in the queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A statement against the queue database failed.
    #[error("queue database ({backend}) failed while trying to {operation}: {source}")]
    Database {
        /// `postgres` or `sqlite`.
        backend: &'static str,
        /// What the queue was doing, e.g. `claim a job`.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The database URL names no supported backend or cannot be parsed.
    #[error("unsupported queue database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL (passwords are not masked: callers log it masked if needed).
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// Another queued job already holds this queueing lock.
    #[error("a job with queueing lock `{queueing_lock}` is already queued")]
    AlreadyQueued {
        /// The queueing lock.
        queueing_lock: String,
    },

    /// A stored row could not be read back (unknown status, bad JSON, ...).
    #[error("corrupt row in the queue table: {reason}")]
    CorruptRow {
        /// What was wrong.
        reason: String,
    },

    /// A cron expression or time window could not be parsed.
    #[error("invalid schedule `{expression}`: {reason}")]
    InvalidSchedule {
        /// The expression as given.
        expression: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// Result alias with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds a closure mapping a driver error to [`Error::Database`].
pub(crate) fn db(
    backend: &'static str,
    operation: &'static str,
) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Database {
        backend,
        operation,
        source,
    }
}
