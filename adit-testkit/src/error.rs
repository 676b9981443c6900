//! The testkit's error type.

use std::path::PathBuf;

/// Everything that can go wrong while starting, feeding or querying a test peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A peer's executable is not installed. The message names the Debian package to install,
    /// so a missing peer fails the test loudly instead of skipping it.
    #[error(
        "{binary} is not installed: run `apt-get install {package}` (or ./scripts/test, which installs it)"
    )]
    MissingBinary {
        /// Path of the executable that was looked for.
        binary: PathBuf,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// A peer process exited or never became ready.
    #[error("{peer} did not start: {reason}\n--- last lines of its log ---\n{log_tail}")]
    PeerStart {
        /// Which peer (e.g. `Orthanc ORTHANC1`).
        peer: String,
        /// What went wrong.
        reason: String,
        /// The end of the peer's log, to see why.
        log_tail: String,
    },
    /// A dcmtk command-line tool failed.
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        /// The tool and its main arguments.
        tool: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr (tail).
        stderr: String,
    },
    /// An HTTP call to a peer's REST API failed.
    #[error("HTTP {method} {url} failed: {reason}")]
    Http {
        /// HTTP method.
        method: &'static str,
        /// Full URL.
        url: String,
        /// Status or transport error.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Building, encoding or decoding a DICOM object failed.
    #[error("DICOM error in {what}: {reason}")]
    Dicom {
        /// Which object or file.
        what: String,
        /// What failed.
        reason: String,
    },
    /// A wait ran out of time.
    #[error("timed out after {seconds:.1} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        seconds: f64,
    },
}

/// Result alias for the testkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
