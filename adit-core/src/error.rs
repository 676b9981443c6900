//! The crate's error type.
//!
//! Every failure says what failed and where: which peer and operation for network errors
//! (the protocol crates convert into [`Error::Peer`] and [`Error::Timeout`]), which key for a bad
//! query, which path for file-system errors. [`Error::is_retriable`] tells the job layer whether
//! trying the same work again later can succeed (ADIT's `RetriableDicomError`).

use std::path::PathBuf;

/// A boxed error from another crate, kept as the [`std::error::Error::source`] of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in adit-core and in the crates that implement its traits.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operation on a peer (PACS, DICOMweb server) failed.
    #[error("{operation} on {peer} failed: {source}")]
    Peer {
        /// The peer, e.g. `ORTHANC@127.0.0.1:4242` or a DICOMweb root URL.
        peer: String,
        /// What was attempted, e.g. `C-FIND STUDY` or `STOW-RS`.
        operation: String,
        /// Whether trying again later can succeed (connection lost, busy, 503, ...).
        retriable: bool,
        /// The underlying protocol error.
        #[source]
        source: BoxError,
    },

    /// A peer did not answer in time.
    #[error("{operation} on {peer} timed out")]
    Timeout {
        /// The peer that did not answer.
        peer: String,
        /// What was attempted.
        operation: String,
    },

    /// A peer does not offer what was asked of it (no C-GET, no QIDO, ...).
    #[error("{peer} does not support {operation}")]
    Unsupported {
        /// The peer, by name.
        peer: String,
        /// The operation it lacks.
        operation: String,
    },

    /// The operation was cancelled through its cancellation token.
    #[error("cancelled")]
    Cancelled,

    /// A query key or value could not be parsed or is not allowed.
    #[error("invalid query key `{key}`: {reason}")]
    InvalidQuery {
        /// The offending key as the user wrote it (keyword or tag).
        key: String,
        /// Why it was rejected.
        reason: String,
    },

    /// DICOM data could not be parsed or encoded.
    #[error("invalid DICOM in {what}: {reason}")]
    InvalidDicom {
        /// What was being read or written: a file path, `instance <SOP UID>`, ...
        what: String,
        /// Why it failed.
        reason: String,
    },

    /// A file-system operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// Writing to an output stream failed (the stream, not the data, is the problem).
    #[error("writing {what} failed: {source}")]
    Write {
        /// What was being written, e.g. `instance <SOP UID>`.
        what: String,
        /// The I/O error of the stream.
        #[source]
        source: std::io::Error,
    },

    /// Writing or reading an archive failed.
    #[error("archive {}: {reason}", path.display())]
    Archive {
        /// The archive file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// A configuration value (node description, layout, option) is invalid.
    #[error("invalid configuration `{field}`: {reason}")]
    InvalidConfig {
        /// The field, e.g. `ae_title`.
        field: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A sink was used after [`crate::sink::Sink::finish`] or is otherwise unusable.
    #[error("sink {sink} is closed: {reason}")]
    SinkClosed {
        /// The sink's name.
        sink: String,
        /// Why it cannot take more instances.
        reason: String,
    },

    /// A background task of the engine failed unexpectedly (panicked or was aborted).
    #[error("internal task failed: {0}")]
    Task(String),

    /// A batch file was rejected; [`crate::batch::BatchFileError::issues`] lists every problem
    /// with its line and column.
    #[error(transparent)]
    BatchFile(#[from] crate::batch::BatchFileError),
}

impl Error {
    /// Whether trying the same operation again later can succeed.
    ///
    /// Only connection problems, timeouts and peers that say they are busy are retriable; bad
    /// input, missing capabilities and local file-system errors are permanent.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Peer { retriable, .. } => *retriable,
            Self::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Shorthand for [`Error::InvalidQuery`].
    pub fn invalid_query(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidQuery {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidDicom`].
    pub fn invalid_dicom(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::InvalidDicom {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::InvalidConfig`].
    pub fn invalid_config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_peer_failures_and_timeouts_are_retriable() {
        let peer = |retriable| Error::Peer {
            peer: "PACS@127.0.0.1:104".into(),
            operation: "C-GET".into(),
            retriable,
            source: "association aborted".into(),
        };
        assert!(peer(true).is_retriable());
        assert!(!peer(false).is_retriable());
        assert!(
            Error::Timeout {
                peer: "p".into(),
                operation: "C-FIND".into()
            }
            .is_retriable()
        );
        assert!(!Error::Cancelled.is_retriable());
        assert!(!Error::invalid_query("Foo", "unknown keyword").is_retriable());
        assert!(!Error::io("/x", std::io::Error::other("disk full")).is_retriable());
        let batch: Error = crate::batch::BatchFileError::TooManyRows { count: 3, max: 2 }.into();
        assert!(!batch.is_retriable());
    }

    #[test]
    fn messages_name_what_failed_and_where() {
        let e = Error::Peer {
            peer: "PACS@127.0.0.1:104".into(),
            operation: "C-FIND STUDY".into(),
            retriable: true,
            source: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "C-FIND STUDY on PACS@127.0.0.1:104 failed: connection refused"
        );
        assert_eq!(
            Error::invalid_query("PatientNam", "unknown DICOM keyword").to_string(),
            "invalid query key `PatientNam`: unknown DICOM keyword"
        );
    }
}
