//! The crate's error type: what failed, on which peer, during which operation.

use std::time::Duration;

use crate::message::Status;

/// Result alias with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a DIMSE operation.
///
/// Network variants name the peer (`AE@host:port`) and the operation (`C-FIND STUDY`, ...).
/// [`Error::Malformed`] comes from the message codec, which knows no peer; the drivers wrap it
/// into [`Error::Protocol`] with the peer's name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection could not be opened.
    #[error("{operation} on {peer}: cannot connect: {reason}")]
    Connect {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
        /// Why (refused, unreachable, ...).
        reason: String,
    },

    /// The peer rejected the association or accepted none of the proposed contexts.
    #[error("{operation} on {peer}: association rejected: {reason}")]
    Rejected {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
        /// The rejection reason as the peer gave it.
        reason: String,
    },

    /// The peer did not answer within the configured time.
    #[error("{operation} on {peer}: no answer within {after:?} ({stage})")]
    Timeout {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
        /// What we were waiting for: `connect`, `association`, `response`.
        stage: &'static str,
        /// The timeout that expired.
        after: Duration,
    },

    /// The association broke: the peer aborted it, closed the connection or sent something
    /// the upper layer could not read.
    #[error("{operation} on {peer}: association lost: {reason}")]
    Association {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
        /// What happened.
        reason: String,
    },

    /// The peer broke the DIMSE protocol (bad command set, unexpected message).
    #[error("{operation} on {peer}: protocol error: {reason}")]
    Protocol {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
        /// What was wrong.
        reason: String,
    },

    /// No accepted presentation context can carry what is to be sent.
    #[error("{operation} on {peer}: no accepted presentation context for {what}")]
    NoContext {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
        /// The SOP class (and transfer syntax) that has no context.
        what: String,
    },

    /// The peer answered with a failure status.
    #[error("{operation} on {peer} failed: status {status}{}", comment.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Failed {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
        /// The final status.
        status: Status,
        /// The peer's Error Comment, if any.
        comment: Option<String>,
    },

    /// A data set (identifier or instance) could not be encoded or decoded.
    #[error("invalid DICOM in {what}: {reason}")]
    Dicom {
        /// What was being read or written.
        what: String,
        /// Why it failed.
        reason: String,
    },

    /// A DIMSE message could not be decoded or assembled (codec level, no peer known).
    #[error("malformed DIMSE message: {reason}")]
    Malformed {
        /// What was wrong.
        reason: String,
    },

    /// An address or option is invalid.
    #[error("invalid {field}: {reason}")]
    Config {
        /// The field, e.g. `address`.
        field: String,
        /// Why.
        reason: String,
    },

    /// The operation was cancelled by the caller.
    #[error("{operation} on {peer} was cancelled")]
    Cancelled {
        /// The peer.
        peer: String,
        /// The operation.
        operation: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Malformed`].
    pub fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Dicom`].
    pub fn dicom(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Dicom {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// Whether trying the same operation later can succeed: connection problems, timeouts,
    /// lost associations and "out of resources" statuses.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout { .. } | Self::Association { .. } => true,
            Self::Failed { status, .. } => status.is_out_of_resources(),
            _ => false,
        }
    }

    /// Places a codec error ([`Error::Malformed`]) at a peer and operation; other errors are
    /// returned unchanged.
    pub fn at(self, peer: &str, operation: &str) -> Self {
        match self {
            Self::Malformed { reason } => Self::Protocol {
                peer: peer.to_owned(),
                operation: operation.to_owned(),
                reason,
            },
            other => other,
        }
    }

    fn peer_and_operation(&self) -> (String, String) {
        match self {
            Self::Connect {
                peer, operation, ..
            }
            | Self::Rejected {
                peer, operation, ..
            }
            | Self::Timeout {
                peer, operation, ..
            }
            | Self::Association {
                peer, operation, ..
            }
            | Self::Protocol {
                peer, operation, ..
            }
            | Self::NoContext {
                peer, operation, ..
            }
            | Self::Failed {
                peer, operation, ..
            }
            | Self::Cancelled { peer, operation } => (peer.clone(), operation.clone()),
            Self::Dicom { .. } | Self::Malformed { .. } | Self::Config { .. } => {
                (String::from("(local)"), String::from("DIMSE"))
            }
        }
    }
}

impl From<Error> for adit_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Timeout {
                peer, operation, ..
            } => adit_core::Error::Timeout { peer, operation },
            Error::Cancelled { .. } => adit_core::Error::Cancelled,
            Error::Dicom { what, reason } => adit_core::Error::InvalidDicom { what, reason },
            Error::Config { field, reason } => adit_core::Error::InvalidConfig { field, reason },
            other => {
                let (peer, operation) = other.peer_and_operation();
                adit_core::Error::Peer {
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

    #[test]
    fn converts_into_core_errors_with_peer_and_retriability() {
        let lost = Error::Association {
            peer: "ORTHANC@127.0.0.1:4242".into(),
            operation: "C-GET STUDY".into(),
            reason: "peer aborted".into(),
        };
        let core: adit_core::Error = lost.into();
        assert!(core.is_retriable());
        assert_eq!(
            core.to_string(),
            "C-GET STUDY on ORTHANC@127.0.0.1:4242 failed: C-GET STUDY on ORTHANC@127.0.0.1:4242: association lost: peer aborted"
        );

        let refused = Error::Failed {
            peer: "P@h:1".into(),
            operation: "C-STORE".into(),
            status: Status(0x0122),
            comment: Some("no CT".into()),
        };
        assert!(!refused.is_retriable());
        assert!(refused.to_string().contains("0x0122"));
        assert!(refused.to_string().contains("(no CT)"));

        let busy = Error::Failed {
            peer: "P@h:1".into(),
            operation: "C-FIND".into(),
            status: Status(0xA700),
            comment: None,
        };
        assert!(adit_core::Error::from(busy).is_retriable());

        let timeout = Error::Timeout {
            peer: "P@h:1".into(),
            operation: "C-ECHO".into(),
            stage: "response",
            after: Duration::from_secs(1),
        };
        assert!(matches!(
            adit_core::Error::from(timeout),
            adit_core::Error::Timeout { .. }
        ));
    }

    #[test]
    fn codec_errors_are_placed_at_a_peer() {
        let e = Error::malformed("odd length").at("P@h:1", "C-FIND");
        assert_eq!(e.to_string(), "C-FIND on P@h:1: protocol error: odd length");
    }
}
