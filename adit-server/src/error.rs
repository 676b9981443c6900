//! The server's error type.

use std::path::PathBuf;

/// What can go wrong in the `adit` binary outside a request: configuration, start-up, storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid; names the setting and where it came from.
    #[error("invalid setting {key} (from {origin}): {reason}")]
    Config {
        /// The setting, e.g. `ADIT_HTTP_ADDR`.
        key: String,
        /// Where the value came from: the environment or the TOML file.
        origin: String,
        /// Why it is rejected.
        reason: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("cannot read configuration file {path}: {reason}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A file or directory operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A statement against the server database failed.
    #[error("database ({backend}) failed while trying to {operation}: {source}")]
    Database {
        /// `postgres` or `sqlite`.
        backend: &'static str,
        /// What the server was doing, e.g. `create user`.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The job queue (its connection or its migrations) failed.
    #[error(transparent)]
    Queue(#[from] adit_queue::Error),
    /// A named record does not exist.
    #[error("{what} `{name}` does not exist")]
    NotFound {
        /// What was looked up: `user`, `group`, `node`, ...
        what: &'static str,
        /// The name asked for.
        name: String,
    },
    /// A record with this name exists already.
    #[error("{what} `{name}` already exists")]
    AlreadyExists {
        /// What was created: `user`, `group`, `node`, ...
        what: &'static str,
        /// The name that is taken.
        name: String,
    },
    /// An argument is invalid (an empty user name, an unknown permission, ...).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was rejected.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A stored row cannot be read back (bad JSON, unknown value).
    #[error("corrupt {table} row in the database: {reason}")]
    CorruptRow {
        /// The table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A DICOM peer could not be reached or answered wrongly while probing it.
    #[error("cannot probe {peer}: {reason}")]
    Probe {
        /// The peer, `AE@host:port`.
        peer: String,
        /// What failed.
        reason: String,
    },
    /// Password hashing failed (not a wrong password: that is not an error).
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// The DICOM receiver could not start.
    #[error("DICOM receiver on {addr} failed: {reason}")]
    Receiver {
        /// The configured address (`ADIT_RECEIVER_ADDR`).
        addr: std::net::SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// The HTTP listener could not be started or failed.
    #[error("web server on {addr} failed: {source}")]
    Http {
        /// The listen address.
        addr: std::net::SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

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

/// Result alias for the server.
pub type Result<T, E = Error> = std::result::Result<T, E>;
