//! DICOM TLS (PS3.15 Annex B secure transport) with rustls, through dicom-ul's `async-tls`
//! support: [`ClientTls`] for SCU associations (a CA bundle to verify the peer, an optional
//! client certificate), [`ServerTls`] for the receiver (its certificate, optionally requiring
//! client certificates signed by a CA bundle). Certificates and keys are read from PEM files.
//!
//! The crypto provider is aws-lc-rs, set explicitly, so no process-wide default is needed.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// TLS settings for SCU associations to one peer.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .field(
                "client_auth",
                &self.config.client_auth_cert_resolver.has_certs(),
            )
            .finish_non_exhaustive()
    }
}

impl PartialEq for ClientTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config) && self.server_name == other.server_name
    }
}

impl Eq for ClientTls {}

impl ClientTls {
    /// Trusts the CAs in `ca_bundle` (PEM); presents `client` (certificate chain PEM, private
    /// key PEM) when given.
    pub fn from_pem_files(ca_bundle: &Path, client: Option<(&Path, &Path)>) -> Result<Self> {
        let roots = root_store(ca_bundle)?;
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_config("TLS protocol versions", e))?
            .with_root_certificates(roots);
        let config = match client {
            Some((cert, key)) => builder
                .with_client_auth_cert(certificates(cert)?, private_key(key)?)
                .map_err(|e| tls_config("TLS client certificate", e))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Self {
            config: Arc::new(config),
            server_name: None,
        })
    }

    /// The name the peer's certificate must carry; by default the host we connect to.
    pub fn with_server_name(mut self, server_name: impl Into<String>) -> Self {
        self.server_name = Some(server_name.into());
        self
    }

    /// The rustls configuration.
    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }

    /// The name to verify for a connection to `host`.
    pub fn server_name_for<'a>(&'a self, host: &'a str) -> &'a str {
        self.server_name.as_deref().unwrap_or(host)
    }
}

/// TLS settings for the receiver.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    verifies_clients: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("verifies_clients", &self.verifies_clients)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ServerTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for ServerTls {}

impl ServerTls {
    /// Presents `cert` (chain PEM) with `key` (PEM); when `client_ca` is given, every client
    /// must present a certificate signed by one of its CAs.
    pub fn from_pem_files(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Self> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_config("TLS protocol versions", e))?;
        let builder = match client_ca {
            Some(ca) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(root_store(ca)?),
                    provider(),
                )
                .build()
                .map_err(|e| tls_config("TLS client CA", e))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(certificates(cert)?, private_key(key)?)
            .map_err(|e| tls_config("TLS server certificate", e))?;
        Ok(Self {
            config: Arc::new(config),
            verifies_clients: client_ca.is_some(),
        })
    }

    /// The rustls configuration.
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }

    /// Whether clients must present a certificate.
    pub fn verifies_clients(&self) -> bool {
        self.verifies_clients
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn tls_config(field: &str, e: impl std::fmt::Display) -> Error {
    Error::Config {
        field: field.into(),
        reason: e.to_string(),
    }
}

fn root_store(path: &Path) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = certificates(path)?;
    let (added, ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(tls_config(
            "TLS CA bundle",
            format!(
                "{}: no usable CA certificate ({ignored} unparsable)",
                path.display()
            ),
        ));
    }
    Ok(roots)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_config("TLS certificate", format!("{}: {e}", path.display())))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| tls_config("TLS certificate", format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(tls_config(
            "TLS certificate",
            format!("{}: no certificate in the file", path.display()),
        ));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| tls_config("TLS private key", format!("{}: {e}", path.display())))
}
