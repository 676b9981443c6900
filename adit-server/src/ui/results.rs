//! Batch query results: the table of a batch query job's results and their export as
//! `.xlsx` or `.csv` in ADIT's columns, which a batch transfer accepts as its sheet.

use adit_core::batch::{BatchQueryResultRow, ExportColumns, SheetDate, SheetFormat, write_results};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;

use super::auth::UiUser;
use super::jobs::{internal, visible_job};
use super::templates::{self, error_page};
use crate::jobs::{BatchQueryResult, JobKind};
use crate::web::AppState;

/// The routes of the result pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs/{id}/results/", get(page))
        .route("/jobs/{id}/results.{ext}", get(download))
}

/// `GET /jobs/{id}/results/`.
pub async fn page(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Response {
    let rows = match results(&state, &user, id).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            context! {
                pseudonym => &r.pseudonym,
                patient_id => &r.patient_id,
                patient_name => &r.patient_name,
                study_date => &r.study_date,
                study_description => &r.study_description,
                modalities => r.modalities.join(", "),
                images => r.image_count,
                study_uid => &r.study_uid,
                series_uid => &r.series_uid,
            }
        })
        .collect();
    templates::page(&user, "results.html", context! { job_id => id, rows })
}

/// `GET /jobs/{id}/results.{xlsx,csv}`: the export.
pub async fn download(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, ext)): Path<(i64, String)>,
) -> Response {
    let format = match ext.as_str() {
        "xlsx" => SheetFormat::Xlsx,
        "csv" => SheetFormat::Csv,
        _ => return error_page(&user, StatusCode::NOT_FOUND, "Export as .xlsx or .csv."),
    };
    let rows = match results(&state, &user, id).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let export: Vec<BatchQueryResultRow> = rows.iter().map(export_row).collect();
    let columns = ExportColumns {
        pseudonym: rows.iter().any(|r| !r.pseudonym.is_empty()),
        series: rows.iter().any(|r| !r.series_uid.is_empty()),
    };
    let mut bytes = Vec::new();
    if let Err(e) = write_results(format, columns, &export, &mut bytes) {
        return internal(&user, &e);
    }
    let content_type = match format {
        SheetFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "text/csv; charset=utf-8",
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"batch_query_job_{id}_results.{ext}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The results of batch query job `id`, if `user` may see the job.
async fn results(
    state: &AppState,
    user: &UiUser,
    id: i64,
) -> Result<Vec<BatchQueryResult>, Response> {
    let (job, _) = visible_job(state, user, id).await?;
    if job.kind != JobKind::BatchQuery {
        return Err(error_page(
            user,
            StatusCode::NOT_FOUND,
            "Only batch query jobs have results.",
        ));
    }
    let jobs = state.jobs().await.map_err(|e| internal(user, &e))?;
    jobs.results(id).await.map_err(|e| internal(user, &e))
}

/// A stored result in the export's form.
fn export_row(r: &BatchQueryResult) -> BatchQueryResultRow {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    BatchQueryResultRow {
        pseudonym: non_empty(&r.pseudonym),
        patient_id: r.patient_id.clone(),
        patient_name: r.patient_name.clone(),
        birth_date: SheetDate::from_dicom(&r.patient_birth_date),
        modalities: r.modalities.clone(),
        study_date: SheetDate::from_dicom(&r.study_date),
        study_time: non_empty(&r.study_time),
        study_description: r.study_description.clone(),
        number_of_instances: r.image_count.and_then(|n| u64::try_from(n).ok()),
        accession_number: r.accession_number.clone(),
        study_uid: r.study_uid.clone(),
        series_uid: r.series_uid.clone(),
        series_description: r.series_description.clone(),
        series_number: r.series_number.clone(),
    }
}
