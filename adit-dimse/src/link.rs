//! [`ClientLink`]: a dicom-ul async client association over plain TCP or TLS, behind one type,
//! so [`crate::association::Association`] does not care which.

use dicom_ul::Pdu;
use dicom_ul::association::client::AsyncTlsStream;
use dicom_ul::association::{Association as _, AsyncClientAssociation};
use dicom_ul::pdu::{PresentationContextNegotiated, RequestorRoles};
use tokio::net::TcpStream;

type UlResult<T> = std::result::Result<T, dicom_ul::association::Error>;

/// A client association on TCP or TLS.
pub(crate) enum ClientLink {
    /// Plain TCP (boxed like the TLS one: both are large, and one allocation per
    /// association is nothing).
    Plain(Box<AsyncClientAssociation<TcpStream>>),
    /// TLS over TCP.
    Tls(Box<AsyncClientAssociation<AsyncTlsStream>>),
}

impl ClientLink {
    /// Sets TCP_NODELAY on the socket under the association.
    pub(crate) fn set_nodelay(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(a) => a.inner_stream().set_nodelay(true),
            Self::Tls(a) => a.inner_stream().get_ref().0.set_nodelay(true),
        }
    }

    pub(crate) fn presentation_contexts(&self) -> &[PresentationContextNegotiated] {
        match self {
            Self::Plain(a) => a.presentation_contexts(),
            Self::Tls(a) => a.presentation_contexts(),
        }
    }

    pub(crate) fn requestor_roles_for(&self, sop_class: &str) -> RequestorRoles {
        match self {
            Self::Plain(a) => a.requestor_roles_for(sop_class),
            Self::Tls(a) => a.requestor_roles_for(sop_class),
        }
    }

    pub(crate) fn peer_max_pdu_length(&self) -> u32 {
        match self {
            Self::Plain(a) => a.peer_max_pdu_length(),
            Self::Tls(a) => a.peer_max_pdu_length(),
        }
    }

    pub(crate) async fn send(&mut self, pdu: &Pdu) -> UlResult<()> {
        match self {
            Self::Plain(a) => a.send(pdu).await,
            Self::Tls(a) => a.send(pdu).await,
        }
    }

    pub(crate) async fn receive(&mut self) -> UlResult<Pdu> {
        match self {
            Self::Plain(a) => a.receive().await,
            Self::Tls(a) => a.receive().await,
        }
    }

    pub(crate) async fn release(self) -> UlResult<()> {
        match self {
            Self::Plain(a) => (*a).release().await,
            Self::Tls(a) => (*a).release().await,
        }
    }

    pub(crate) async fn abort(self) -> UlResult<()> {
        match self {
            Self::Plain(a) => (*a).abort().await,
            Self::Tls(a) => (*a).abort().await,
        }
    }
}
