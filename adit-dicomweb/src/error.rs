//! The crate's error type.
//!
//! Network errors name the URL and the DICOMweb operation; codec errors name what in the input
//! is wrong. [`Error::is_retriable`] follows the HTTP semantics: connection failures, timeouts
//! and 408/429/500/502/503/504 may succeed later, everything else will not.

/// Result alias with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// HTTP statuses after which the same request may succeed later.
pub const RETRIABLE_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// Everything that can go wrong in adit-dicomweb.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an HTTP status that is not a success for this operation.
    #[error("{operation} {url}: HTTP {status}{}{}{}", fmt_reason(*status), fmt_detail(detail), fmt_retry_after(retry_after.as_ref()))]
    Status {
        /// The DICOMweb operation, e.g. `QIDO-RS studies`.
        operation: String,
        /// The request URL (without credentials).
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, when it had one.
        detail: String,
        /// The wait the server asked for in `Retry-After` (seconds form), on 429 and 503.
        retry_after: Option<std::time::Duration>,
    },

    /// The request could not be sent or the response could not be read (connection refused,
    /// reset).
    #[error("{operation} {url}: {source}{}", fmt_detail(causes))]
    Transport {
        /// The DICOMweb operation.
        operation: String,
        /// The request URL.
        url: String,
        /// The causes under the client's error, outermost first, joined by `: `.
        causes: String,
        /// Whether this looks transient (connect errors, resets).
        retriable: bool,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },

    /// The TLS handshake with the server failed (unknown CA, wrong host name, expired
    /// certificate). Not retriable: the same certificate will fail the same way.
    #[error("{operation} {url}: TLS handshake with {host} failed: {reason}")]
    Tls {
        /// The DICOMweb operation.
        operation: String,
        /// The request URL.
        url: String,
        /// The server's host and port, as the certificate must name it.
        host: String,
        /// What the TLS layer said, with a hint at the usual fix.
        reason: String,
    },

    /// The server did not answer (or stopped sending) within the configured timeout.
    #[error("{operation} {url}: timed out")]
    Timeout {
        /// The DICOMweb operation.
        operation: String,
        /// The request URL.
        url: String,
    },

    /// The server's answer is not what the standard says (bad JSON, broken multipart, wrong
    /// content type).
    #[error("{operation} {url}: invalid response: {reason}")]
    InvalidResponse {
        /// The DICOMweb operation.
        operation: String,
        /// The request URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A `multipart/related` body or its `Content-Type` is malformed.
    #[error("malformed multipart/related: {0}")]
    Multipart(String),

    /// DICOM JSON (PS3.18 F.2) is malformed or cannot represent a value.
    #[error("DICOM JSON at {path}: {reason}")]
    Json {
        /// Where in the document, e.g. `00100010[0].Alphabetic` or `00081115[2].00081199`.
        path: String,
        /// What is wrong.
        reason: String,
    },

    /// An instance could not be encoded or decoded.
    #[error("DICOM data of {what}: {reason}")]
    Dicom {
        /// What was being read or written.
        what: String,
        /// Why it failed.
        reason: String,
    },

    /// A configuration value (URL, CA bundle, batch size) is invalid.
    #[error("invalid DICOMweb configuration `{field}`: {reason}")]
    Config {
        /// The field, e.g. `root_url`.
        field: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The operation was cancelled.
    #[error("{operation} {url}: cancelled")]
    Cancelled {
        /// The DICOMweb operation.
        operation: String,
        /// The request URL.
        url: String,
    },
}

impl Error {
    /// Whether the same request may succeed if sent again later.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Status { status, .. } => RETRIABLE_STATUSES.contains(status),
            Self::Transport { retriable, .. } => *retriable,
            Self::Timeout { .. } => true,
            _ => false,
        }
    }

    /// The wait a 429/503 response asked for in `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Shorthand for [`Error::Json`].
    pub fn json(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Json {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Classifies an error of the HTTP client: timeouts become [`Error::Timeout`], connect
    /// errors and broken connections are retriable [`Error::Transport`] errors.
    pub(crate) fn from_reqwest(operation: &str, url: &str, source: reqwest::Error) -> Self {
        if source.is_timeout() {
            return Self::Timeout {
                operation: operation.to_owned(),
                url: url.to_owned(),
            };
        }
        // reqwest's own message is only "error sending request"; the cause is further down.
        let causes = causes(&source);
        if let Some(reason) = tls_failure(&causes) {
            let host = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(443)))
                })
                .unwrap_or_else(|| url.to_owned());
            return Self::Tls {
                operation: operation.to_owned(),
                url: url.to_owned(),
                host,
                reason,
            };
        }
        // Connect errors and bodies cut off mid-way are the transient ones; a builder or
        // redirect-policy error will fail the same way every time.
        let retriable =
            source.is_connect() || source.is_body() || source.is_request() || source.is_decode();
        Self::Transport {
            operation: operation.to_owned(),
            url: url.to_owned(),
            causes: causes.join(": "),
            retriable,
            source,
        }
    }

    /// Puts a codec error into the context of a request.
    pub(crate) fn in_response(self, operation: &str, url: &str) -> Self {
        match self {
            Self::Multipart(_) | Self::Json { .. } | Self::Dicom { .. } => Self::InvalidResponse {
                operation: operation.to_owned(),
                url: url.to_owned(),
                reason: self.to_string(),
            },
            other => other,
        }
    }

    fn peer_and_operation(&self) -> (String, String) {
        match self {
            Self::Status { operation, url, .. }
            | Self::Transport { operation, url, .. }
            | Self::Timeout { operation, url }
            | Self::Tls { operation, url, .. }
            | Self::InvalidResponse { operation, url, .. }
            | Self::Cancelled { operation, url } => (url.clone(), operation.clone()),
            Self::Multipart(_) | Self::Json { .. } | Self::Dicom { .. } | Self::Config { .. } => {
                ("DICOMweb".to_owned(), "DICOMweb codec".to_owned())
            }
        }
    }
}

/// The messages of the errors under `error`, outermost first, without repeats (an
/// `io::Error` wrapping another error displays the inner one's message too).
fn causes(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next = error.source();
    while let Some(e) = next {
        let message = e.to_string();
        if !out.iter().any(|m| m == &message) {
            out.push(message);
        }
        next = e.source();
    }
    out
}

/// The TLS layer's complaint among `causes`, with the usual fix for an unknown issuer.
fn tls_failure(causes: &[String]) -> Option<String> {
    let tls = causes.iter().rev().find(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("certificate") || m.contains("tls") || m.contains("handshake")
    })?;
    let hint = if tls.contains("UnknownIssuer") {
        " (the server's certificate is not signed by a trusted CA: set `ca_bundle` to its CA)"
    } else if tls.contains("NotValidForName") {
        " (the certificate does not name this host: use the host name it was issued for)"
    } else {
        ""
    };
    Some(format!("{tls}{hint}"))
}

/// The reason phrase, so that `HTTP 401 Unauthorized` needs no lookup by the reader.
fn fmt_reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or_else(String::new, |r| format!(" {r}"))
}

fn fmt_retry_after(retry_after: Option<&std::time::Duration>) -> String {
    retry_after.map_or_else(String::new, |d| {
        format!(" (server asked to retry after {} s)", d.as_secs())
    })
}

fn fmt_detail(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl From<Error> for adit_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Timeout { operation, url } => Self::Timeout {
                peer: url,
                operation,
            },
            Error::Cancelled { .. } => Self::Cancelled,
            Error::Config { field, reason } => Self::InvalidConfig { field, reason },
            other => {
                let (peer, operation) = other.peer_and_operation();
                Self::Peer {
                    peer,
                    operation,
                    retriable: other.is_retriable(),
                    source: Box::new(other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> Error {
        Error::Status {
            operation: "STOW-RS".into(),
            url: "http://127.0.0.1:1/dicom-web/studies".into(),
            status,
            detail: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn only_transient_statuses_are_retriable() {
        for s in RETRIABLE_STATUSES {
            assert!(status(s).is_retriable(), "{s}");
        }
        for s in [400, 401, 403, 404, 406, 409, 415, 501] {
            assert!(!status(s).is_retriable(), "{s}");
        }
        assert!(!Error::Multipart("x".into()).is_retriable());
    }

    #[test]
    fn converts_into_a_core_peer_error_naming_url_and_operation() {
        let core: adit_core::Error = status(503).into();
        assert!(core.is_retriable());
        assert_eq!(
            core.to_string(),
            "STOW-RS on http://127.0.0.1:1/dicom-web/studies failed: \
             STOW-RS http://127.0.0.1:1/dicom-web/studies: HTTP 503 Service Unavailable"
        );
        let timeout: adit_core::Error = Error::Timeout {
            operation: "WADO-RS".into(),
            url: "u".into(),
        }
        .into();
        assert!(matches!(timeout, adit_core::Error::Timeout { .. }));
    }
}
