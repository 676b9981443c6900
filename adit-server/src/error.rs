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
}

/// Result alias for the server.
pub type Result<T, E = Error> = std::result::Result<T, E>;
