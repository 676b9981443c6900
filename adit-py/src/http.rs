//! The HTTP core of the drop-in `AditClient`: QIDO-RS/metadata GETs returning DICOM JSON,
//! WADO-RS GETs returning the Part-10 bytes of each `multipart/related` part (all at once or
//! as a lazy stream) and STOW-RS POSTs, all against ADIT's `/api/dicom-web/<AE>/` API.
//!
//! Requests run on the module's runtime with the GIL released; Python only turns the returned
//! bytes into pydicom objects.

use std::path::PathBuf;
use std::time::Duration;

use adit_dicomweb::codec::{MultipartReader, MultipartRelated, MultipartWriter, Part};
use bytes::Bytes;
use futures::StreamExt;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Client, Response};

use crate::errors::{PeerConnectionError, http_status, invalid};
use crate::runtime::wait;
use crate::segments::Segments;
use crate::stream::{AHEAD, PartStream};

/// What a WADO-RS request accepts: DICOM parts, the transfer syntax left to the server, as
/// `adit-client` (through dicomweb-client) asks, so both get the same bytes.
const ACCEPT_DICOM: &str = "multipart/related; type=\"application/dicom\"";

/// How much of an error response's body ends up in the exception message.
const DETAIL_CHARS: usize = 300;

/// A connection pool to one ADIT server with its token; cheap to share between threads.
#[pyclass(module = "adit_rs._native", frozen)]
pub struct HttpSession {
    client: Client,
}

#[pymethods]
impl HttpSession {
    /// A session sending `authorization` with every request.
    ///
    /// `verify=False` accepts any server certificate; `ca_bundle` replaces the system roots
    /// with the certificates of a PEM file.
    #[new]
    #[pyo3(signature = (authorization, user_agent, verify=true, ca_bundle=None))]
    fn new(
        authorization: &str,
        user_agent: &str,
        verify: bool,
        ca_bundle: Option<PathBuf>,
    ) -> PyResult<Self> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(authorization)
            .map_err(|_| invalid("the auth token is not a valid HTTP header value"))?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(user_agent)
                .map_err(|_| invalid("the user agent is not a valid HTTP header value"))?,
        );
        let mut builder = Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(300))
            .tcp_nodelay(true)
            .no_proxy();
        if !verify {
            builder = builder
                .tls_danger_accept_invalid_certs(true)
                .tls_danger_accept_invalid_hostnames(true);
        }
        if let Some(path) = ca_bundle {
            let pem = std::fs::read(&path)
                .map_err(|e| invalid(format!("cannot read CA bundle {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| invalid(format!("CA bundle {}: {e}", path.display())))?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// GETs `url` with `params` and returns the DICOM JSON body (`b"[]"` for 204 No Content).
    fn get_json<'py>(
        &self,
        py: Python<'py>,
        operation: String,
        url: String,
        params: Vec<(String, String)>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let client = self.client.clone();
        let body = wait(py, async move {
            let request = client
                .get(with_params(&url, &params)?)
                .header(ACCEPT, "application/dicom+json");
            let response = send(&operation, &url, request).await?;
            if response.status() == reqwest::StatusCode::NO_CONTENT {
                return Ok(Bytes::from_static(b"[]"));
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| transport(&operation, &url, &e))?;
            Ok(if body.iter().all(u8::is_ascii_whitespace) {
                Bytes::from_static(b"[]")
            } else {
                body
            })
        })?;
        Ok(PyBytes::new(py, &body))
    }

    /// GETs `url` (WADO-RS) and returns the body of every part.
    ///
    /// Each part becomes a Python `bytes` as soon as it has arrived, on the runtime thread
    /// that parsed it, while this thread waits with the GIL released: the copy overlaps
    /// with the transfer instead of following it, and the chunks it was copied from are
    /// freed at once and reused for the next part instead of every part keeping fresh
    /// allocations (whose pages the kernel would have to fault in and zero) until the end.
    fn get_parts<'py>(
        &self,
        py: Python<'py>,
        operation: String,
        url: String,
        params: Vec<(String, String)>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let client = self.client.clone();
        let parts = wait(py, async move {
            let mut parts = Box::pin(open_parts(client, operation, url, params).await?);
            let mut bodies: Vec<Py<PyBytes>> = Vec::new();
            while let Some(part) = parts.next().await {
                bodies.push(Segments::from(part?).to_owned_py()?);
            }
            Ok(bodies)
        })?;
        Ok(parts.into_iter().map(|b| b.into_bound(py)).collect())
    }

    /// GETs `url` (WADO-RS) and returns an iterator over the part bodies as they arrive, at
    /// most `ahead` of them buffered.
    #[pyo3(signature = (operation, url, params, ahead=AHEAD))]
    fn stream_parts(
        &self,
        operation: String,
        url: String,
        params: Vec<(String, String)>,
        ahead: usize,
    ) -> PyResult<PartStream> {
        let client = self.client.clone();
        PartStream::spawn(ahead, async move {
            open_parts(client, operation, url, params).await
        })
    }

    /// POSTs the Part-10 files in `instances` to `url` (STOW-RS) and returns the DICOM JSON
    /// response.
    fn post_instances<'py>(
        &self,
        py: Python<'py>,
        operation: String,
        url: String,
        instances: Vec<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let client = self.client.clone();
        let body = wait(py, async move {
            let writer = MultipartWriter::new();
            let parts: Vec<Part> = instances
                .into_iter()
                .map(|i| Part::new("application/dicom", i))
                .collect();
            let body = writer.encode_to_vec(&parts);
            let request = client
                .post(&url)
                .header(CONTENT_TYPE, writer.content_type("application/dicom"))
                .header(ACCEPT, "application/dicom+json")
                .body(body);
            let response = send(&operation, &url, request).await?;
            response
                .bytes()
                .await
                .map_err(|e| transport(&operation, &url, &e))
        })?;
        Ok(PyBytes::new(py, &body))
    }
}

/// Sends a request; a connection failure or a non-2xx status becomes the matching exception.
async fn send(operation: &str, url: &str, request: reqwest::RequestBuilder) -> PyResult<Response> {
    let response = request
        .send()
        .await
        .map_err(|e| transport(operation, url, &e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let detail: String = body.trim().chars().take(DETAIL_CHARS).collect();
    let reason = status.canonical_reason().unwrap_or("");
    let message = if detail.is_empty() {
        format!("{operation} {url}: HTTP {} {reason}", status.as_u16())
    } else {
        format!(
            "{operation} {url}: HTTP {} {reason}: {detail}",
            status.as_u16()
        )
    };
    Err(http_status(message, status.as_u16()))
}

/// `url` with `params` appended as its query string.
fn with_params(url: &str, params: &[(String, String)]) -> PyResult<reqwest::Url> {
    reqwest::Url::parse_with_params(url, params).map_err(|e| invalid(format!("URL `{url}`: {e}")))
}

fn transport(operation: &str, url: &str, error: &reqwest::Error) -> PyErr {
    let mut message = format!("{operation} {url}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    PeerConnectionError::new_err(message)
}

/// Sends a WADO-RS request and returns its parts' bodies as a stream.
async fn open_parts(
    client: Client,
    operation: String,
    url: String,
    params: Vec<(String, String)>,
) -> PyResult<impl futures::Stream<Item = PyResult<Vec<Bytes>>> + Send + 'static> {
    let request = client
        .get(with_params(&url, &params)?)
        .header(ACCEPT, ACCEPT_DICOM);
    let response = send(&operation, &url, request).await?;
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let related = MultipartRelated::from_content_type(&content_type)
        .map_err(|e| invalid(format!("{operation} {url}: {e}")))?;
    let err_url = url.clone();
    let err_op = operation.clone();
    let body = response.bytes_stream().map(move |chunk| {
        chunk.map_err(|e| adit_dicomweb::Error::Multipart(format!("{err_op} {err_url}: {e}")))
    });
    let reader = MultipartReader::new(Box::pin(body), &related.boundary)
        .map_err(|e| invalid(format!("{operation} {url}: {e}")))?;
    // Bodies stay in the pieces they arrived in: the one copy is into the Python `bytes`.
    Ok(reader.into_segmented_stream().map(move |part| {
        let part = part.map_err(|e| crate::errors::from_dicomweb(&e))?;
        let kind = part.content_type().unwrap_or("application/dicom");
        if !kind
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/dicom")
        {
            let head: Vec<u8> = part
                .segments()
                .iter()
                .flat_map(|s| s.iter().copied())
                .take(DETAIL_CHARS)
                .collect();
            let preview = String::from_utf8_lossy(&head);
            return Err(invalid(format!(
                "{operation} {url}: part of type `{kind}` instead of DICOM: {preview}"
            )));
        }
        Ok(part.into_segments())
    }))
}
