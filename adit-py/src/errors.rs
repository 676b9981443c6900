//! The Python exception classes and the one place where the crates' errors are mapped onto them.
//!
//! Every message names the peer and the operation, as the crates' own `Display` texts do.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    AditError,
    PyException,
    "Base class of every error raised by adit_rs and adit_client."
);
create_exception!(
    _native,
    PeerConnectionError,
    AditError,
    "A peer could not be reached, dropped the connection or did not answer in time."
);
create_exception!(
    _native,
    AssociationRejectedError,
    PeerConnectionError,
    "A DICOM peer rejected the association (unknown AE title, no accepted presentation context)."
);
create_exception!(
    _native,
    DimseStatusError,
    AditError,
    "A DICOM peer answered a DIMSE request with a failure status."
);
create_exception!(
    _native,
    HttpStatusError,
    AditError,
    "An HTTP server answered with an error status; `status` holds the code."
);
create_exception!(
    _native,
    InvalidInputError,
    AditError,
    "An argument, a file or a peer's answer is not valid DICOM or not a valid value."
);

/// Registers the exception classes on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AditError", py.get_type::<AditError>())?;
    m.add("PeerConnectionError", py.get_type::<PeerConnectionError>())?;
    m.add(
        "AssociationRejectedError",
        py.get_type::<AssociationRejectedError>(),
    )?;
    m.add("DimseStatusError", py.get_type::<DimseStatusError>())?;
    m.add("HttpStatusError", py.get_type::<HttpStatusError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    Ok(())
}

/// An HTTP error status as a Python exception; args are `(message, status)`.
pub(crate) fn http_status(message: String, status: u16) -> PyErr {
    HttpStatusError::new_err((message, status))
}

/// Which Python class an error becomes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Connection,
    Rejected,
    Status,
    Http(u16),
    Invalid,
    Other,
}

impl Kind {
    /// A lazily created exception of this kind (no GIL needed: errors are made on I/O threads).
    fn error(self, message: String) -> PyErr {
        match self {
            Kind::Connection => PeerConnectionError::new_err(message),
            Kind::Rejected => AssociationRejectedError::new_err(message),
            Kind::Status => DimseStatusError::new_err(message),
            Kind::Http(status) => http_status(message, status),
            Kind::Invalid => InvalidInputError::new_err(message),
            Kind::Other => AditError::new_err(message),
        }
    }
}

fn dicomweb_kind(error: &adit_dicomweb::Error) -> Kind {
    use adit_dicomweb::Error as E;
    match error {
        E::Status { status, .. } => Kind::Http(*status),
        E::Transport { .. } | E::Tls { .. } | E::Timeout { .. } | E::Cancelled { .. } => {
            Kind::Connection
        }
        E::InvalidResponse { .. }
        | E::Multipart(_)
        | E::Json { .. }
        | E::Dicom { .. }
        | E::Config { .. } => Kind::Invalid,
        _ => Kind::Other,
    }
}

fn dimse_kind(error: &adit_dimse::Error) -> Kind {
    use adit_dimse::Error as E;
    match error {
        E::Rejected { .. } | E::NoContext { .. } => Kind::Rejected,
        E::Connect { .. } | E::Timeout { .. } | E::Association { .. } | E::Cancelled { .. } => {
            Kind::Connection
        }
        E::Failed { .. } => Kind::Status,
        E::Dicom { .. } | E::Config { .. } => Kind::Invalid,
        _ => Kind::Other,
    }
}

fn core_kind(error: &adit_core::Error) -> Kind {
    use adit_core::Error as E;
    match error {
        E::Peer { source, .. } => {
            if let Some(dimse) = source.downcast_ref::<adit_dimse::Error>() {
                dimse_kind(dimse)
            } else if let Some(web) = source.downcast_ref::<adit_dicomweb::Error>() {
                dicomweb_kind(web)
            } else {
                Kind::Connection
            }
        }
        E::Timeout { .. } => Kind::Connection,
        E::InvalidQuery { .. } | E::InvalidDicom { .. } | E::InvalidConfig { .. } => Kind::Invalid,
        _ => Kind::Other,
    }
}

/// Maps an adit-dicomweb error.
pub(crate) fn from_dicomweb(error: &adit_dicomweb::Error) -> PyErr {
    dicomweb_kind(error).error(error.to_string())
}

/// Maps an adit-dimse error.
pub(crate) fn from_dimse(error: &adit_dimse::Error) -> PyErr {
    dimse_kind(error).error(error.to_string())
}

/// Maps an adit-core error, looking through `Peer` at the protocol error underneath.
pub(crate) fn from_core(error: &adit_core::Error) -> PyErr {
    core_kind(error).error(error.to_string())
}

/// An invalid argument.
pub(crate) fn invalid(message: impl Into<String>) -> PyErr {
    InvalidInputError::new_err(message.into())
}
