//! WADO-RS: `wadors/studies/{study}[/series/{series}[/instances/{sop}]]` and their `/metadata`.
//!
//! Instances are streamed as `multipart/related; type="application/dicom"` as the node
//! delivers them, one in memory at a time, never a whole study. The first instance is awaited
//! before the response starts, so early failures are a clean JSON error (502, or 503 when
//! retriable); a failure after that ends the body with a `text/plain` part "Error: Failed to
//! fetch DICOM data: ..." (as ADIT). Instances the node reported missing are named the same way
//! at the end. `/metadata` answers DICOM JSON without Pixel Data. Both apply the request's
//! [`Pseudonymization`] with the server's secret.

use std::convert::Infallible;
use std::sync::Arc;

use adit_core::instance::Instance;
use adit_core::source::{Retrieved, Selection};
use adit_dicomweb::codec::json::{BinaryMode, to_json};
use adit_dicomweb::codec::multipart::{MultipartWriter, Part};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dicom_dictionary_std::tags;
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::Value;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::DICOM_JSON;
use super::node::{self, Operation};
use super::params::{Pseudonymization, Transform, check_uid};
use crate::accounts::User;
use crate::audit::{self, Action, Event};
use crate::web::AppState;
use crate::web::address::ClientAddress;
use crate::web::auth::ApiUser;
use crate::web::error::ApiError;
use crate::web::limits::RetrieveSlot;

/// Request parameters in order.
type Params = UrlQuery<Vec<(String, String)>>;

/// `GET wadors/studies/{study}`.
pub async fn study(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((ae_title, study)): Path<(String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let selection = Selection::study(None, &study);
    stream_instances(&state, &user, &address, &ae_title, selection, &params).await
}

/// `GET wadors/studies/{study}/series/{series}`.
pub async fn series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((ae_title, study, series)): Path<(String, String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let selection = Selection::series(None, &study, [series]);
    stream_instances(&state, &user, &address, &ae_title, selection, &params).await
}

/// `GET wadors/studies/{study}/series/{series}/instances/{sop}`.
pub async fn instance(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((ae_title, study, series, sop)): Path<(String, String, String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let selection = instance_selection(study, series, sop);
    stream_instances(&state, &user, &address, &ae_title, selection, &params).await
}

/// `GET wadors/studies/{study}/metadata`.
pub async fn study_metadata(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((ae_title, study)): Path<(String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let selection = Selection::study(None, &study);
    metadata(&state, &user, &address, &ae_title, selection, &params).await
}

/// `GET wadors/studies/{study}/series/{series}/metadata`.
pub async fn series_metadata(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((ae_title, study, series)): Path<(String, String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let selection = Selection::series(None, &study, [series]);
    metadata(&state, &user, &address, &ae_title, selection, &params).await
}

/// `GET wadors/studies/{study}/series/{series}/instances/{sop}/metadata`.
pub async fn instance_metadata(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((ae_title, study, series, sop)): Path<(String, String, String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let selection = instance_selection(study, series, sop);
    metadata(&state, &user, &address, &ae_title, selection, &params).await
}

fn instance_selection(study: String, series: String, sop: String) -> Selection {
    Selection::Instance {
        patient_id: None,
        study_uid: study,
        series_uid: series,
        sop_instance_uid: sop,
    }
}

/// A retrieve in progress: the first instance already arrived.
struct Retrieval {
    items: BoxStream<'static, adit_core::Result<Retrieved>>,
    transform: Arc<Transform>,
    first: Option<Instance>,
    missing: Vec<String>,
    /// Cancels the retrieve on the wire when the response body is dropped.
    _guard: DropGuard,
    /// The user's retrieve slot, freed with the response body.
    _slot: RetrieveSlot,
}

impl Retrieval {
    /// Checks access and parameters, starts the retrieve and waits for the first instance.
    async fn start(
        state: &AppState,
        user: &User,
        address: &str,
        ae_title: &str,
        selection: Selection,
        params: &[(String, String)],
    ) -> Result<Self, ApiError> {
        let stored = node::resolve(state, user, ae_title, Operation::Retrieve).await?;
        let slot = state.retrieve_slots.try_take(user.id.0)?;
        check_uid("StudyInstanceUID", selection.study_uid())?;
        for series in selection.series_uids() {
            check_uid("SeriesInstanceUID", series)?;
        }
        if let Selection::Instance {
            sop_instance_uid, ..
        } = &selection
        {
            check_uid("SOPInstanceUID", sop_instance_uid)?;
        }
        let pseudonymization = Pseudonymization::from_params(params)?;
        let pseudonymized = pseudonymization.pseudonym.is_some();
        let secret = state.config.secret_key.as_ref().map(|s| s.expose());
        let transform = Arc::new(pseudonymization.transform(secret)?);
        let source = node::source(state, &stored.node)?;
        let cancel = CancellationToken::new();
        let retrieve = source
            .retrieve(&selection, cancel.clone())
            .await
            .map_err(|e| node::peer_error(&e))?;
        let mut retrieval = Self {
            items: retrieve.items,
            transform,
            first: None,
            missing: Vec::new(),
            _guard: cancel.drop_guard(),
            _slot: slot,
        };
        match retrieval.next_instance().await {
            Ok(Some(instance)) => {
                retrieval.first = Some(instance);
                // Written once the data starts to flow: a refused or empty retrieve
                // released nothing.
                let event = Event::new(Action::DataRetrieve)
                    .by(user)
                    .from_address(address)
                    .node(&stored.node.name)
                    .study(selection.study_uid(), pseudonymized)
                    .detail("DICOMweb");
                audit::record(&state.db, &event).await?;
                Ok(retrieval)
            }
            Ok(None) if retrieval.missing.is_empty() => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "No DICOM instances found.",
            )),
            Ok(None) => Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!(
                    "Failed to fetch DICOM data: {}",
                    retrieval.missing.join("; ")
                ),
            )),
            Err(e) => Err(node::peer_error(&e)),
        }
    }

    /// The next instance, transformed; `None` at the end.
    async fn next_instance(&mut self) -> adit_core::Result<Option<Instance>> {
        let instance = match self.first.take() {
            Some(instance) => return Ok(Some(instance)),
            None => loop {
                match self.items.next().await {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(e),
                    Some(Ok(Retrieved::Instance(instance))) => break instance,
                    Some(Ok(Retrieved::Missing {
                        sop_instance_uid,
                        reason,
                    })) => self.missing.push(format!(
                        "instance {} missing: {reason}",
                        sop_instance_uid.as_deref().unwrap_or("(unknown)")
                    )),
                    Some(Ok(_)) => {}
                }
            },
        };
        if self.transform.is_noop() {
            return Ok(Some(instance));
        }
        // Pseudonymizing and encoding are CPU work: off the async worker threads.
        let transform = Arc::clone(&self.transform);
        let instance = tokio::task::spawn_blocking(move || {
            let mut instance = instance;
            transform.apply(&mut instance).map(|()| instance)
        })
        .await
        .map_err(|e| adit_core::Error::Task(e.to_string()))??;
        Ok(Some(instance))
    }
}

/// The instance as a Part-10 stream in two pieces, the file meta and the data set. An
/// unmodified instance is its received buffer behind a few hundred bytes of meta, built here;
/// a modified one is encoded off the async worker threads.
async fn encode(instance: Instance) -> adit_core::Result<(Bytes, Bytes)> {
    let modified = instance.is_modified();
    let encode = move || -> adit_core::Result<(Bytes, Bytes)> {
        Ok((instance.part10_head()?, instance.dataset_bytes()?))
    };
    if !modified {
        return encode();
    }
    tokio::task::spawn_blocking(encode)
        .await
        .map_err(|e| adit_core::Error::Task(e.to_string()))?
}

async fn stream_instances(
    state: &AppState,
    user: &User,
    address: &str,
    ae_title: &str,
    selection: Selection,
    params: &[(String, String)],
) -> Result<Response, ApiError> {
    let retrieval = Retrieval::start(state, user, address, ae_title, selection, params).await?;
    let writer = MultipartWriter::new();
    let content_type = writer.content_type("application/dicom");
    let chunks = stream::unfold(Some((retrieval, writer)), |state| async move {
        let (mut retrieval, writer) = state?;
        let error_end = |writer: &MultipartWriter, message: String| {
            let part = Part::new(
                "text/plain",
                format!("Error: Failed to fetch DICOM data: {message}"),
            );
            vec![
                writer.part_header(&part),
                part.into_body(),
                Bytes::from_static(b"\r\n"),
                writer.closing(),
            ]
        };
        let encoded = match retrieval.next_instance().await {
            Ok(Some(instance)) => encode(instance).await.map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match encoded {
            Ok(Some((meta, dataset))) => {
                let head = writer.part_header(&Part::new("application/dicom", Bytes::new()));
                // One small chunk for the part's headers and the file meta, then the data set
                // as received (no copy).
                let mut opening = Vec::with_capacity(head.len() + meta.len());
                opening.extend_from_slice(&head);
                opening.extend_from_slice(&meta);
                let chunks = vec![Bytes::from(opening), dataset, Bytes::from_static(b"\r\n")];
                Some((chunks, Some((retrieval, writer))))
            }
            Ok(None) if retrieval.missing.is_empty() => Some((vec![writer.closing()], None)),
            Ok(None) => {
                let message = retrieval.missing.join("; ");
                tracing::warn!("WADO-RS: {message}");
                Some((error_end(&writer, message), None))
            }
            Err(e) => {
                tracing::warn!("WADO-RS failed after streaming started: {e}");
                Some((error_end(&writer, e.to_string()), None))
            }
        }
    })
    .flat_map(|chunks| stream::iter(chunks.into_iter().map(Ok::<_, Infallible>)));
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(chunks),
    )
        .into_response())
}

async fn metadata(
    state: &AppState,
    user: &User,
    address: &str,
    ae_title: &str,
    selection: Selection,
    params: &[(String, String)],
) -> Result<Response, ApiError> {
    let mut retrieval = Retrieval::start(state, user, address, ae_title, selection, params).await?;
    let mut out = Vec::new();
    while let Some(instance) = retrieval
        .next_instance()
        .await
        .map_err(|e| node::peer_error(&e))?
    {
        let item = tokio::task::spawn_blocking(move || metadata_json(instance))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(|e| node::peer_error(&e))?;
        out.push(item);
    }
    if !retrieval.missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "Failed to fetch DICOM data: {}",
                retrieval.missing.join("; ")
            ),
        ));
    }
    Ok((
        [(header::CONTENT_TYPE, DICOM_JSON)],
        Value::Array(out).to_string(),
    )
        .into_response())
}

/// One instance as DICOM JSON without its pixel data (decoding is CPU work: called on a
/// blocking thread).
fn metadata_json(instance: Instance) -> adit_core::Result<Value> {
    let mut object = instance.into_object()?.into_inner();
    for tag in [
        tags::PIXEL_DATA,
        tags::FLOAT_PIXEL_DATA,
        tags::DOUBLE_FLOAT_PIXEL_DATA,
    ] {
        object.remove_element(tag);
    }
    Ok(to_json(&object, &BinaryMode::Inline))
}
