//! The DICOMweb client: configuration, request sending with timeouts and retries, and the
//! three services in their own files.
//!
//! | file | service |
//! |---|---|
//! | `qido.rs` | QIDO-RS search at study, series and instance level, paged as a stream |
//! | `wado.rs` | WADO-RS retrieve (multipart, part by part) and metadata |
//! | `stow.rs` | STOW-RS store in batches, per-instance results |

mod qido;
mod stow;
mod wado;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use adit_core::model::DicomWebServer;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode, Url};

pub use qido::QidoPath;
pub use stow::{StowBatch, StowResponse, parse_stow_response};
pub use wado::{WadoTarget, WadoTransferSyntax};

use crate::error::{Error, Result};

/// Media type of DICOM JSON.
pub const DICOM_JSON: &str = "application/dicom+json";

/// The three DICOMweb services, each with its own path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// QIDO-RS (search).
    Qido,
    /// WADO-RS (retrieve).
    Wado,
    /// STOW-RS (store).
    Stow,
}

/// When and how often a failed request is sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 = no retries).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled after each.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Longest `Retry-After` (on 429/503) that is waited out; a server asking for more gets
    /// its error returned at once, so that the job layer can reschedule instead of blocking.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// How long to wait before sending again after `attempt` (counting from 1) failed with
    /// `error`, or `None` to give up: the error is not retriable, the attempts are used up,
    /// or the server's `Retry-After` is longer than [`RetryPolicy::max_retry_after`].
    /// A `Retry-After` within the budget replaces the backoff: the server knows when it will
    /// have capacity again, and coming back earlier only earns another 429/503.
    pub fn wait_before_retry(&self, attempt: u32, error: &Error) -> Option<Duration> {
        if !error.is_retriable() || attempt >= self.max_attempts {
            return None;
        }
        match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked),
            None => Some(self.backoff(attempt)),
        }
    }
}

/// Everything the client needs to talk to one DICOMweb server.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Base URL, e.g. `http://127.0.0.1:8042/dicom-web`.
    pub root_url: String,
    /// Path segment(s) before QIDO-RS resources (`qidors` for ADIT, empty for most servers).
    pub qido_prefix: String,
    /// Path segment(s) before WADO-RS resources.
    pub wado_prefix: String,
    /// Path segment(s) before STOW-RS resources.
    pub stow_prefix: String,
    /// Sent verbatim as the `Authorization` header.
    pub authorization: Option<String>,
    /// A PEM bundle of CA certificates that replaces the system roots for HTTPS.
    pub ca_bundle: Option<PathBuf>,
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for response bytes (headers or body).
    pub read_timeout: Duration,
    /// Longest time for a whole QIDO-RS, metadata or STOW-RS exchange (WADO-RS streams are
    /// bounded by `read_timeout` only, since a study may take long).
    pub request_timeout: Duration,
    /// Retries of retriable failures.
    pub retry: RetryPolicy,
    /// QIDO-RS page size (`limit`/`offset`); `None` asks for everything at once.
    pub page_size: Option<u32>,
    /// How STOW-RS requests are cut.
    pub stow_batch: StowBatch,
    /// Transfer syntax asked for in WADO-RS.
    pub wado_transfer_syntax: WadoTransferSyntax,
    /// Largest WADO-RS part accepted.
    pub max_part_size: usize,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("root_url", &self.root_url)
            .field("qido_prefix", &self.qido_prefix)
            .field("wado_prefix", &self.wado_prefix)
            .field("stow_prefix", &self.stow_prefix)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("ca_bundle", &self.ca_bundle)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("page_size", &self.page_size)
            .field("stow_batch", &self.stow_batch)
            .field("wado_transfer_syntax", &self.wado_transfer_syntax)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Defaults for a server at `root_url` with the standard paths.
    pub fn new(root_url: impl Into<String>) -> Self {
        Self {
            root_url: root_url.into(),
            qido_prefix: String::new(),
            wado_prefix: String::new(),
            stow_prefix: String::new(),
            authorization: None,
            ca_bundle: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            page_size: None,
            stow_batch: StowBatch::default(),
            wado_transfer_syntax: WadoTransferSyntax::default(),
            max_part_size: crate::codec::multipart::DEFAULT_MAX_PART_SIZE,
        }
    }

    /// The settings of a configured node (root URL, prefixes, authorization).
    pub fn from_server(server: &DicomWebServer) -> Self {
        let mut config = Self::new(server.root_url.clone());
        config.qido_prefix = server.qido_prefix.clone();
        config.wado_prefix = server.wado_prefix.clone();
        config.stow_prefix = server.stow_prefix.clone();
        config.authorization = server.authorization.clone();
        config
    }

    /// ADIT's own API layout: `<root>/qidors`, `<root>/wadors`, `<root>/stowrs`.
    pub fn with_adit_prefixes(mut self) -> Self {
        self.qido_prefix = "qidors".into();
        self.wado_prefix = "wadors".into();
        self.stow_prefix = "stowrs".into();
        self
    }

    fn prefix(&self, service: Service) -> &str {
        match service {
            Service::Qido => &self.qido_prefix,
            Service::Wado => &self.wado_prefix,
            Service::Stow => &self.stow_prefix,
        }
    }
}

/// A client of one DICOMweb server. Cheap to clone (shares the connection pool).
#[derive(Debug, Clone)]
pub struct DicomWebClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    root: Url,
}

impl DicomWebClient {
    /// Builds a client; fails on a bad URL or CA bundle.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let mut root = Url::parse(config.root_url.trim_end_matches('/'))
            .map_err(|e| Error::config("root_url", format!("`{}`: {e}", config.root_url)))?;
        if !matches!(root.scheme(), "http" | "https") {
            return Err(Error::config(
                "root_url",
                format!("scheme `{}` is neither http nor https", root.scheme()),
            ));
        }
        if root.cannot_be_a_base() {
            return Err(Error::config("root_url", "cannot be a base URL"));
        }
        // Credentials belong in `authorization`, never in a URL that ends up in messages.
        if !root.username().is_empty() || root.password().is_some() {
            return Err(Error::config(
                "root_url",
                "must not contain credentials; use `authorization`",
            ));
        }
        root.set_query(None);
        let mut headers = HeaderMap::new();
        if let Some(auth) = &config.authorization {
            let mut value = HeaderValue::from_str(auth)
                .map_err(|_| Error::config("authorization", "not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .tcp_nodelay(true)
            // Only loopback and configured servers are dialled; an environment proxy must not
            // silently reroute PACS traffic.
            .no_proxy();
        if let Some(path) = &config.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                Error::config("ca_bundle", format!("cannot read {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| Error::config("ca_bundle", format!("{}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(Error::config(
                    "ca_bundle",
                    format!("{} holds no certificate", path.display()),
                ));
            }
            builder = builder.tls_certs_only(certs);
        }
        let http = builder
            .build()
            .map_err(|e| Error::config("http client", e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner { http, config, root }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The root URL, as errors name this server.
    pub fn root_url(&self) -> &str {
        self.inner.root.as_str()
    }

    /// The URL of a resource of `service`: root, the service's prefix, then `segments`.
    pub fn url(&self, service: Service, segments: &[&str]) -> Url {
        let mut url = self.inner.root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for prefix in self
                .inner
                .config
                .prefix(service)
                .split('/')
                .filter(|s| !s.is_empty())
            {
                path.push(prefix);
            }
            path.extend(segments);
        }
        url
    }

    fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Sends a request (built anew for each attempt), retrying retriable failures with
    /// backoff. `accept` says which statuses are answers rather than failures.
    async fn send(
        &self,
        operation: &str,
        url: &Url,
        accept: fn(StatusCode) -> bool,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response> {
        let policy = &self.inner.config.retry;
        let mut attempt = 1;
        loop {
            let error = match build().send().await {
                Ok(response) if accept(response.status()) => return Ok(response),
                Ok(response) => status_error(operation, url, response).await,
                Err(e) => Error::from_reqwest(operation, url.as_str(), e),
            };
            let Some(wait) = policy.wait_before_retry(attempt, &error) else {
                return Err(error);
            };
            tracing::warn!(%error, attempt, ?wait, "DICOMweb request failed; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// A GET expecting DICOM JSON, body read whole (bounded by `request_timeout`).
    async fn get_json(&self, operation: &str, url: &Url) -> Result<bytes::Bytes> {
        let timeout = self.inner.config.request_timeout;
        let response = self
            .send(
                operation,
                url,
                |s| s.is_success(),
                || {
                    self.http()
                        .get(url.clone())
                        .header(ACCEPT, DICOM_JSON)
                        .timeout(timeout)
                },
            )
            .await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(bytes::Bytes::new());
        }
        response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(operation, url.as_str(), e))
    }
}

/// Builds a [`Error::Status`] from a failed response, keeping the start of its body.
async fn status_error(operation: &str, url: &Url, mut response: Response) -> Error {
    const KEEP: usize = 512;
    let status = response.status().as_u16();
    let retry_after = if matches!(status, 429 | 503) {
        response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after)
    } else {
        None
    };
    let mut body = Vec::new();
    while body.len() < KEEP {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(KEEP);
    let detail = String::from_utf8_lossy(&body)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Error::Status {
        operation: operation.to_owned(),
        url: url.to_string(),
        status,
        detail,
        retry_after,
    }
}

/// The seconds form of `Retry-After` (RFC 9110 §10.2.3). The HTTP-date form is not used by
/// PACS in practice and falls back to the policy's backoff.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More digits than fit in a u64 is still "a very long time".
    Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_root_prefix_and_segments() {
        let mut config = ClientConfig::new("http://127.0.0.1:8000/api/dicom-web/PACS/");
        config = config.with_adit_prefixes();
        let client = DicomWebClient::new(config).unwrap();
        assert_eq!(
            client.url(Service::Qido, &["studies"]).as_str(),
            "http://127.0.0.1:8000/api/dicom-web/PACS/qidors/studies"
        );
        assert_eq!(
            client
                .url(Service::Wado, &["studies", "1.2", "metadata"])
                .as_str(),
            "http://127.0.0.1:8000/api/dicom-web/PACS/wadors/studies/1.2/metadata"
        );
        let plain = DicomWebClient::new(ClientConfig::new("http://h:1/dicom-web")).unwrap();
        assert_eq!(
            plain.url(Service::Stow, &["studies"]).as_str(),
            "http://h:1/dicom-web/studies"
        );
    }

    #[test]
    fn bad_configuration_is_rejected_with_the_field() {
        let err = |c: ClientConfig| DicomWebClient::new(c).unwrap_err().to_string();
        assert!(err(ClientConfig::new("not a url")).contains("`root_url`"));
        assert!(err(ClientConfig::new("ftp://h/x")).contains("neither http nor https"));
        assert!(err(ClientConfig::new("http://u:p@h/x")).contains("credentials"));
        let mut bad_ca = ClientConfig::new("https://h/x");
        bad_ca.ca_bundle = Some("/nonexistent/ca.pem".into());
        assert!(err(bad_ca).contains("`ca_bundle`"));
        let mut auth = ClientConfig::new("http://h/x");
        auth.authorization = Some("Token s3cr3t".into());
        assert!(!format!("{auth:?}").contains("s3cr3t"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(350));
        assert_eq!(p.backoff(40), Duration::from_millis(350));
    }

    #[test]
    fn retry_after_seconds_are_parsed_and_dates_ignored() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn retry_after_replaces_backoff_within_the_budget() {
        let p = RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10),
        };
        let busy = |status: u16, secs: Option<u64>| Error::Status {
            operation: "QIDO-RS".into(),
            url: "http://127.0.0.1:1/".into(),
            status,
            detail: String::new(),
            retry_after: secs.map(Duration::from_secs),
        };
        assert_eq!(
            p.wait_before_retry(1, &busy(503, Some(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            p.wait_before_retry(1, &busy(429, None)),
            Some(Duration::from_millis(100))
        );
        assert_eq!(p.wait_before_retry(1, &busy(503, Some(11))), None);
        assert_eq!(p.wait_before_retry(3, &busy(503, Some(1))), None);
        assert_eq!(p.wait_before_retry(1, &busy(401, None)), None);
    }
}
