//! [`DimseOptions`] (timeouts, max PDU, calling AE) and [`PeerAddress`] (`AE@host:port`).

use std::fmt;
use std::num::NonZeroU16;
use std::str::FromStr;
use std::time::Duration;

use adit_core::model::DimseServer;

use crate::error::{Error, Result};

/// Max PDU length we propose by default: large, so peers that honour it (Orthanc with a raised
/// `MaximumPduLength`, dicom-rs) send big PDUs; dcmtk caps at 128 KiB whatever we say.
pub const DEFAULT_MAX_PDU_LENGTH: u32 = 1024 * 1024;

/// The smallest max PDU length dicom-ul accepts.
pub const MIN_MAX_PDU_LENGTH: u32 = 1018;

/// How we talk to DIMSE peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimseOptions {
    /// Our AE title (calling AE title).
    pub calling_ae_title: String,
    /// Time to open the TCP connection.
    pub connect_timeout: Duration,
    /// Time for the association negotiation (and release) after connecting.
    pub association_timeout: Duration,
    /// Time to wait for each message (and each PDU write) from the peer during an operation.
    pub dimse_timeout: Duration,
    /// After a C-CANCEL, how long the peer may keep sending before we abort.
    pub cancel_grace: Duration,
    /// Max PDU length we propose (what the peer may send us). 0 means the default.
    pub max_pdu_length: u32,
    /// Largest data set accepted in one message (memory bound per message).
    pub max_data_set_len: usize,
    /// DICOM TLS for the associations; `None` is plain TCP.
    pub tls: Option<crate::tls::ClientTls>,
}

impl Default for DimseOptions {
    /// ADIT's defaults: ACSE 60 s, DIMSE 60 s; connect 10 s.
    fn default() -> Self {
        Self {
            calling_ae_title: "ADIT".into(),
            connect_timeout: Duration::from_secs(10),
            association_timeout: Duration::from_secs(60),
            dimse_timeout: Duration::from_secs(60),
            cancel_grace: Duration::from_secs(5),
            max_pdu_length: DEFAULT_MAX_PDU_LENGTH,
            max_data_set_len: 2 * 1024 * 1024 * 1024,
            tls: None,
        }
    }
}

impl DimseOptions {
    /// Default options with this calling AE title.
    pub fn with_calling_ae(calling_ae_title: impl Into<String>) -> Self {
        Self {
            calling_ae_title: calling_ae_title.into(),
            ..Self::default()
        }
    }

    /// These options with the node's DICOM TLS settings applied (its CA bundle, client
    /// certificate and server name, read from their PEM files now); unchanged for a node
    /// without TLS. Use it when building a [`crate::DimseSource`] or [`crate::DimseSink`] for a
    /// configured node.
    pub fn for_node(mut self, server: &DimseServer) -> Result<Self> {
        if let Some(tls) = &server.tls {
            let client = tls.client_cert.as_deref().zip(tls.client_key.as_deref());
            if tls.client_cert.is_some() != tls.client_key.is_some() {
                return Err(Error::Config {
                    field: format!("TLS of {}", server.peer_name()),
                    reason: "client_cert and client_key go together".into(),
                });
            }
            let mut client_tls = crate::tls::ClientTls::from_pem_files(&tls.ca_bundle, client)?;
            if let Some(name) = &tls.server_name {
                client_tls = client_tls.with_server_name(name);
            }
            self.tls = Some(client_tls);
        }
        Ok(self)
    }

    /// The max PDU length to propose: 0 maps to the default (dicom-ul would send 0 and then
    /// refuse every PDU), tiny values to the minimum.
    pub fn effective_max_pdu_length(&self) -> u32 {
        match self.max_pdu_length {
            0 => DEFAULT_MAX_PDU_LENGTH,
            n => n.max(MIN_MAX_PDU_LENGTH),
        }
    }
}

/// Where a DIMSE peer listens, and how many associations we may open to it at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerAddress {
    /// Called AE title.
    pub ae_title: String,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Process-wide limit of concurrent associations to this peer (`None`: no limit).
    pub max_associations: Option<NonZeroU16>,
}

impl PeerAddress {
    /// A peer without association limit.
    pub fn new(ae_title: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Self {
            ae_title: ae_title.into(),
            host: host.into(),
            port,
            max_associations: None,
        }
    }

    /// Sets the association limit.
    pub fn with_max_associations(mut self, max: NonZeroU16) -> Self {
        self.max_associations = Some(max);
        self
    }

    /// The key the association limit is kept under: the same peer shares one limit however
    /// it was described.
    pub fn limit_key(&self) -> String {
        self.to_string()
    }
}

impl From<&DimseServer> for PeerAddress {
    fn from(server: &DimseServer) -> Self {
        Self {
            ae_title: server.ae_title.as_str().to_owned(),
            host: server.host.clone(),
            port: server.port.get(),
            max_associations: Some(server.max_associations),
        }
    }
}

impl fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.ae_title, self.host, self.port)
    }
}

impl FromStr for PeerAddress {
    type Err = Error;

    /// Parses `AE@host:port` (IPv6 hosts in brackets: `AE@[::1]:104`).
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::Config {
            field: "address".into(),
            reason: format!("`{s}`: {reason} (expected AE@host:port)"),
        };
        let (ae, rest) = s.split_once('@').ok_or_else(|| bad("no `@`"))?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("no `:port`"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if ae.is_empty() || ae.len() > 16 || ae.trim().is_empty() {
            return Err(bad("the AE title must have 1 to 16 characters"));
        }
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(Self::new(ae, host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_addresses() {
        let a: PeerAddress = "ORTHANC@127.0.0.1:4242".parse().unwrap();
        assert_eq!(
            (a.ae_title.as_str(), a.host.as_str(), a.port),
            ("ORTHANC", "127.0.0.1", 4242)
        );
        assert_eq!(a.to_string(), "ORTHANC@127.0.0.1:4242");
        let v6: PeerAddress = "X@[::1]:104".parse().unwrap();
        assert_eq!(v6.host, "::1");
        for bad in [
            "ORTHANC",
            "@h:1",
            "A@h",
            "A@h:x",
            "A@:1",
            "A@h:0",
            "ABCDEFGHIJKLMNOPQ@h:1",
        ] {
            assert!(bad.parse::<PeerAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn max_pdu_zero_means_default() {
        let mut o = DimseOptions {
            max_pdu_length: 0,
            ..DimseOptions::default()
        };
        assert_eq!(o.effective_max_pdu_length(), DEFAULT_MAX_PDU_LENGTH);
        o.max_pdu_length = 10;
        assert_eq!(o.effective_max_pdu_length(), MIN_MAX_PDU_LENGTH);
    }
}
