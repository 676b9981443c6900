//! STOW-RS: `POST stowrs/studies[/{study}]`.
//!
//! The body must be `multipart/related; type="application/dicom"` (else 415). Parts are read
//! one at a time as they arrive (never the whole body in memory) and each instance is stored
//! through the node's sink. With `{study}`, instances of other studies are reported failed
//! (ADIT silently skips them). The answer is a DICOM JSON object with ReferencedSOPSequence
//! (with RetrieveURL), FailedSOPSequence (FailureReason) and RetrieveURL; the status follows
//! PS3.18: 200 all stored, 202 some failed, 409 none stored (ADIT always answers 200). When
//! the node fails as a whole before anything was stored (down, refuses the association), the
//! answer is the same 502/503 JSON error as on the other routes.

use adit_core::instance::Instance;
use adit_core::sink::StoreOutcome;
use adit_dicomweb::codec::media_type::MultipartRelated;
use adit_dicomweb::codec::multipart::MultipartReader;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dicom_dictionary_std::tags;
use futures::TryStreamExt;
use serde_json::{Value, json};

use super::DICOM_JSON;
use super::node::{self, Operation};
use super::params::check_uid;
use crate::accounts::User;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::error::ApiError;

/// FailureReason 0110H: processing failure.
pub const PROCESSING_FAILURE: u16 = 0x0110;
/// FailureReason A900H: the instance does not belong to the study of the request URL.
pub const STUDY_MISMATCH: u16 = 0xA900;
/// FailureReason C000H: the part cannot be read as DICOM.
pub const CANNOT_UNDERSTAND: u16 = 0xC000;

/// `POST stowrs/studies`.
pub async fn studies(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(ae_title): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    store(&state, &user, &ae_title, None, &headers, body).await
}

/// `POST stowrs/studies/{study}`.
pub async fn study(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((ae_title, study)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    store(&state, &user, &ae_title, Some(&study), &headers, body).await
}

/// The outcome of one part.
#[derive(Debug, Default)]
struct Report {
    referenced: Vec<Value>,
    failed: Vec<Value>,
}

impl Report {
    fn fail(&mut self, class: &str, sop: &str, reason: u16, why: &str) {
        tracing::warn!("STOW-RS: instance {sop} not stored: {why}");
        let mut item = serde_json::Map::new();
        if !class.is_empty() {
            item.insert("00081150".into(), json!({"vr": "UI", "Value": [class]}));
        }
        if !sop.is_empty() {
            item.insert("00081155".into(), json!({"vr": "UI", "Value": [sop]}));
        }
        item.insert("00081197".into(), json!({"vr": "US", "Value": [reason]}));
        self.failed.push(Value::Object(item));
    }

    fn stored(&mut self, class: &str, sop: &str, url: &str) {
        self.referenced.push(json!({
            "00081150": {"vr": "UI", "Value": [class]},
            "00081155": {"vr": "UI", "Value": [sop]},
            "00081190": {"vr": "UR", "Value": [url]},
        }));
    }
}

async fn store(
    state: &AppState,
    user: &User,
    ae_title: &str,
    study: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let stored_node = node::resolve(state, user, ae_title, Operation::Store).await?;
    if let Some(study) = study {
        check_uid("StudyInstanceUID", study)?;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let multipart = MultipartRelated::from_content_type(content_type)
        .ok()
        .filter(|m| {
            m.part_type
                .as_ref()
                .is_some_and(|t| t.essence() == "application/dicom")
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Unsupported media type `{content_type}`: expected \
                     multipart/related; type=\"application/dicom\"."
                ),
            )
        })?;
    let sink = node::sink(state, &stored_node.node)?;
    let base = base_url(state, headers, ae_title);
    let stream = body
        .into_data_stream()
        .map_err(|e| adit_dicomweb::Error::Multipart(format!("reading the request body: {e}")));
    let mut reader = MultipartReader::new(stream, &multipart.boundary).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid multipart body: {e}"),
        )
    })?;
    let mut report = Report::default();
    let mut broken: Option<String> = None;
    let mut studies: Vec<String> = Vec::new();
    loop {
        let part = match reader.next_part().await {
            Ok(Some(part)) => part,
            Ok(None) => break,
            Err(e) => {
                // The rest of the body is unreadable; what was stored stays reported.
                report.fail("", "", CANNOT_UNDERSTAND, &format!("multipart: {e}"));
                break;
            }
        };
        let instance = match Instance::from_part10(part.into_body()) {
            Ok(instance) => instance,
            Err(e) => {
                report.fail("", "", CANNOT_UNDERSTAND, &e.to_string());
                continue;
            }
        };
        let class = instance.sop_class_uid().to_owned();
        let sop = instance.sop_instance_uid().to_owned();
        let header = match instance.header() {
            Ok(header) => header,
            Err(e) => {
                report.fail(&class, &sop, CANNOT_UNDERSTAND, &e.to_string());
                continue;
            }
        };
        let text = |tag| {
            header
                .get(tag)
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
                .unwrap_or_default()
        };
        let instance_study = text(tags::STUDY_INSTANCE_UID);
        let instance_series = text(tags::SERIES_INSTANCE_UID);
        if let Some(study) = study
            && instance_study != study
        {
            report.fail(
                &class,
                &sop,
                STUDY_MISMATCH,
                &format!("belongs to study {instance_study}, not {study}"),
            );
            continue;
        }
        if let Some(why) = &broken {
            report.fail(&class, &sop, PROCESSING_FAILURE, why);
            continue;
        }
        match sink.store(instance).await {
            Ok(StoreOutcome::Stored | StoreOutcome::Warning(_)) => {
                let url = format!(
                    "{base}/wadors/studies/{instance_study}/series/{instance_series}/instances/{sop}"
                );
                report.stored(&class, &sop, &url);
                if !studies.contains(&instance_study) {
                    studies.push(instance_study);
                }
            }
            Ok(StoreOutcome::Failed(why)) => report.fail(&class, &sop, PROCESSING_FAILURE, &why),
            Err(e) if report.referenced.is_empty() => {
                // The node cannot be used at all (down, refuses the association): the same
                // clean 502/503 as the other routes, which clients may retry.
                let _ = sink.finish().await;
                return Err(node::peer_error(&e));
            }
            Err(e) => {
                let why = e.to_string();
                report.fail(&class, &sop, PROCESSING_FAILURE, &why);
                broken = Some(why);
            }
        }
    }
    if let Err(e) = sink.finish().await {
        tracing::warn!("STOW-RS to {ae_title}: finishing the store failed: {e}");
        if report.failed.is_empty() && report.referenced.is_empty() {
            return Err(node::peer_error(&e));
        }
    }
    let mut answer = serde_json::Map::new();
    let study_url = study
        .map(str::to_owned)
        .or_else(|| (studies.len() == 1).then(|| studies[0].clone()));
    if let Some(study) = study_url {
        answer.insert(
            "00081190".into(),
            json!({"vr": "UR", "Value": [format!("{base}/wadors/studies/{study}")]}),
        );
    }
    let status = if report.failed.is_empty() && !report.referenced.is_empty() {
        StatusCode::OK
    } else if report.referenced.is_empty() {
        StatusCode::CONFLICT
    } else {
        StatusCode::ACCEPTED
    };
    if !report.referenced.is_empty() {
        answer.insert(
            "00081199".into(),
            json!({"vr": "SQ", "Value": report.referenced}),
        );
    }
    if !report.failed.is_empty() {
        answer.insert(
            "00081198".into(),
            json!({"vr": "SQ", "Value": report.failed}),
        );
    }
    Ok((
        status,
        [(header::CONTENT_TYPE, DICOM_JSON)],
        Value::Object(answer).to_string(),
    )
        .into_response())
}

/// `http://<Host>/api/dicom-web/<ae_title>`, for RetrieveURLs.
fn base_url(state: &AppState, headers: &HeaderMap, ae_title: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| state.config.http_addr.to_string(), str::to_owned);
    format!("http://{host}/api/dicom-web/{ae_title}")
}
