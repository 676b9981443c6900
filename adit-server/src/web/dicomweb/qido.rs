//! QIDO-RS: `qidors/studies`, `.../{study}/series`, `.../{series}/instances`, answered from the
//! node's source (C-FIND or QIDO-RS, both with adit-core's client-side matching) as a DICOM JSON
//! array.

use adit_core::model::{Query, QueryLevel, matches};
use adit_dicomweb::codec::json::{BinaryMode, to_json};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;

use super::DICOM_JSON;
use super::node::{self, Operation};
use super::params::qido_query;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::error::ApiError;

/// Request parameters in order, repeated names kept.
type Params = UrlQuery<Vec<(String, String)>>;

/// `GET qidors/studies`.
pub async fn studies(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(ae_title): Path<String>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let query = qido_query(QueryLevel::Study, &params, &[])?;
    search(&state, &user, &ae_title, query).await
}

/// `GET qidors/studies/{study}/series`.
pub async fn series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((ae_title, study)): Path<(String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let query = qido_query(QueryLevel::Series, &params, &[("StudyInstanceUID", &study)])?;
    search(&state, &user, &ae_title, query).await
}

/// `GET qidors/studies/{study}/series/{series}/instances`.
pub async fn instances(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((ae_title, study, series)): Path<(String, String, String)>,
    UrlQuery(params): Params,
) -> Result<Response, ApiError> {
    let query = qido_query(
        QueryLevel::Image,
        &params,
        &[("StudyInstanceUID", &study), ("SeriesInstanceUID", &series)],
    )?;
    search(&state, &user, &ae_title, query).await
}

async fn search(
    state: &AppState,
    user: &crate::accounts::User,
    ae_title: &str,
    query: Query,
) -> Result<Response, ApiError> {
    let stored = node::resolve(state, user, ae_title, Operation::Query).await?;
    let source = node::source(state, &stored.node)?;
    let mut results = source
        .find(&query)
        .await
        .map_err(|e| node::peer_error(&e))?;
    let limit = query
        .limit()
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut out = Vec::new();
    while out.len() < limit
        && let Some(result) = results.next().await
    {
        let result = result.map_err(|e| node::peer_error(&e))?;
        // PACS and DICOMweb servers match loosely and differently: check every result here
        // (the DIMSE source does so already; doing it twice is harmless).
        if matches(&query, &result) {
            out.push(to_json(result.as_object(), &BinaryMode::Inline));
        }
    }
    Ok((
        [(header::CONTENT_TYPE, DICOM_JSON)],
        Value::Array(out).to_string(),
    )
        .into_response())
}
