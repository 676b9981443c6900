//! Batch transfer and batch query: a form with a sheet upload (`.xlsx` or `.csv`), every
//! validation problem shown with its line and column, and downloadable sample sheets.
//!
//! Both pages share one form handler; [`BatchPage`] says which job the sheet becomes.

use adit_core::batch::{
    self, BatchFileError, BatchKind, BatchQueryParser, BatchTransferParser, Issue, SheetFormat,
};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::{Value, context};

use super::audit_trail;
use super::auth::UiUser;
use super::jobs::{internal, is_staff};
use super::templates::{self, redirect_with_flash};
use super::transfer::{pickers, plural, usable_node};
use crate::accounts::Permission;
use crate::audit::{Action, Event};
use crate::jobs::{JobError, JobKind, NewJob, NewTask};
use crate::nodes::Access;
use crate::web::AppState;
use crate::web::address::ClientAddress;

/// ADIT's row limits for users who are not staff.
const MAX_TRANSFER_ROWS: usize = 500;
/// ADIT's row limit of batch queries for users who are not staff.
const MAX_QUERY_ROWS: usize = 1000;

/// Which batch page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchPage {
    /// `/batch-transfer/`.
    Transfer,
    /// `/batch-query/`.
    Query,
}

impl BatchPage {
    fn kind(self) -> BatchKind {
        match self {
            BatchPage::Transfer => BatchKind::Transfer,
            BatchPage::Query => BatchKind::Query,
        }
    }

    fn path(self) -> &'static str {
        match self {
            BatchPage::Transfer => "/batch-transfer/",
            BatchPage::Query => "/batch-query/",
        }
    }

    fn permission(self) -> Permission {
        match self {
            BatchPage::Transfer => Permission::AddBatchTransferJob,
            BatchPage::Query => Permission::AddBatchQueryJob,
        }
    }

    fn title(self) -> &'static str {
        match self {
            BatchPage::Transfer => "Batch transfer",
            BatchPage::Query => "Batch query",
        }
    }
}

/// The routes of both batch pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/batch-transfer/",
            get(|s: State<AppState>, u: UiUser| form_page(s, u, BatchPage::Transfer)).post(
                |s: State<AppState>, u: UiUser, a: ClientAddress, m: Multipart| {
                    submit(s, u, a, m, BatchPage::Transfer)
                },
            ),
        )
        .route(
            "/batch-query/",
            get(|s: State<AppState>, u: UiUser| form_page(s, u, BatchPage::Query)).post(
                |s: State<AppState>, u: UiUser, a: ClientAddress, m: Multipart| {
                    submit(s, u, a, m, BatchPage::Query)
                },
            ),
        )
        // The sheet may be as large as ADIT allows, plus the other fields.
        .layer(DefaultBodyLimit::max(batch::MAX_FILE_SIZE + 64 * 1024))
        .route(
            "/batch-transfer/sample.{ext}",
            get(|p: Path<String>| sample(p, BatchPage::Transfer)),
        )
        .route(
            "/batch-query/sample.{ext}",
            get(|p: Path<String>| sample(p, BatchPage::Query)),
        )
}

/// The fields of the form as sent, to fill the form again after an error.
#[derive(Debug, Default, serde::Serialize)]
struct Fields {
    source: String,
    destination: String,
    project_name: String,
    project_description: String,
    ethics_application_id: String,
    trial_protocol_id: String,
    trial_protocol_name: String,
    urgent: bool,
    send_finished_mail: bool,
}

async fn form_page(State(state): State<AppState>, user: UiUser, page: BatchPage) -> Response {
    render_form(&state, &user, page, &Fields::default(), &[], &[]).await
}

/// The form, with `errors` (general) and `issues` (located in the sheet) when given.
async fn render_form(
    state: &AppState,
    user: &UiUser,
    page: BatchPage,
    fields: &Fields,
    errors: &[String],
    issues: &[Issue],
) -> Response {
    if let Err(refused) = user.require(page.permission()) {
        return *refused;
    }
    let (sources, destinations) = match pickers(state, user).await {
        Ok(found) => found,
        Err(e) => return internal(user, &e),
    };
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            context! {
                lines => i.lines.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
                column => i.column.clone().unwrap_or_default(),
                message => &i.message,
            }
        })
        .collect();
    let mut response = templates::page(
        user,
        "batch.html",
        context! {
            title => page.title(),
            path => page.path(),
            is_transfer => page == BatchPage::Transfer,
            sources, destinations, fields, errors, issues,
            can_urgent => user.can(Permission::CanProcessUrgently),
            has_email => !user.user.email.is_empty(),
        },
    );
    if !errors.is_empty() || !issues.is_empty() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

async fn submit(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    mut multipart: Multipart,
    page: BatchPage,
) -> Response {
    if let Err(refused) = user.require(page.permission()) {
        return *refused;
    }
    let mut fields = Fields::default();
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut errors = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                errors.push(format!("The upload could not be read: {e}"));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "batch_file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            match field.bytes().await {
                Ok(bytes) if !bytes.is_empty() => file = Some((file_name, bytes.to_vec())),
                Ok(_) => {}
                Err(e) => errors.push(format!("The upload could not be read: {e}")),
            }
            continue;
        }
        let value = field.text().await.unwrap_or_default();
        match name.as_str() {
            "csrfmiddlewaretoken" => csrf = value,
            "source" => fields.source = value,
            "destination" => fields.destination = value,
            "project_name" => fields.project_name = value.trim().to_owned(),
            "project_description" => fields.project_description = value.trim().to_owned(),
            "ethics_application_id" => fields.ethics_application_id = value.trim().to_owned(),
            "trial_protocol_id" => fields.trial_protocol_id = value.trim().to_owned(),
            "trial_protocol_name" => fields.trial_protocol_name = value.trim().to_owned(),
            "urgent" => fields.urgent = value == "on",
            "send_finished_mail" => fields.send_finished_mail = value == "on",
            _ => {}
        }
    }
    if let Err(refused) = user.check_csrf(Some(&csrf), &axum::http::HeaderMap::new()) {
        return *refused;
    }
    let source = usable_node(&state, &user, &fields.source, Access::Source).await;
    let destination = match page {
        BatchPage::Transfer => {
            Some(usable_node(&state, &user, &fields.destination, Access::Destination).await)
        }
        BatchPage::Query => None,
    };
    if let Err(e) = &source {
        errors.push(e.clone());
    }
    if let Some(Err(e)) = &destination {
        errors.push(e.clone());
    }
    if fields.project_name.is_empty() {
        errors.push("Project name: this field is required.".into());
    }
    if fields.project_name.chars().count() > 150 {
        errors.push("Project name: at most 150 characters.".into());
    }
    if fields.urgent && !user.can(Permission::CanProcessUrgently) {
        errors.push("You may not start urgent jobs.".into());
    }
    let Some((file_name, bytes)) = file else {
        errors.push("Batch file: choose an .xlsx or .csv file.".into());
        return render_form(&state, &user, page, &fields, &errors, &[]).await;
    };
    let format = SheetFormat::from_file_name(&file_name);
    let Some(format) = format else {
        errors.push(format!(
            "Batch file: `{file_name}` is neither an .xlsx nor a .csv file."
        ));
        return render_form(&state, &user, page, &fields, &errors, &[]).await;
    };
    let max_rows = (!is_staff(&user)).then_some(match page {
        BatchPage::Transfer => MAX_TRANSFER_ROWS,
        BatchPage::Query => MAX_QUERY_ROWS,
    });
    let tasks = batch::check_size(&bytes).and_then(|()| match page {
        BatchPage::Transfer => BatchTransferParser::new()
            .max_rows(max_rows)
            .allow_unpseudonymized(user.can(Permission::CanTransferUnpseudonymized))
            .parse_bytes(&bytes, format)
            .map(|parsed| {
                parsed
                    .rows
                    .into_iter()
                    .map(|t| NewTask {
                        patient_id: t.patient_id,
                        study_uid: t.study_uid,
                        series_uids: t.series_uids,
                        pseudonym: t.pseudonym,
                        query: None,
                        lines: t.lines,
                    })
                    .collect::<Vec<_>>()
            }),
        BatchPage::Query => BatchQueryParser::new()
            .max_rows(max_rows)
            .parse_bytes(&bytes, format)
            .map(|parsed| {
                parsed
                    .rows
                    .into_iter()
                    .map(NewTask::from_query_row)
                    .collect()
            }),
    });
    let tasks = match tasks {
        Ok(tasks) => tasks,
        Err(BatchFileError::Invalid { errors: issues }) => {
            errors.push(format!(
                "The batch file has {} problem{}; fix them and upload it again.",
                issues.len(),
                if issues.len() == 1 { "" } else { "s" }
            ));
            return render_form(&state, &user, page, &fields, &errors, &issues).await;
        }
        Err(e) => {
            errors.push(format!("Batch file: {e}."));
            return render_form(&state, &user, page, &fields, &errors, &[]).await;
        }
    };
    if tasks.is_empty() {
        errors.push("Batch file: it has no data rows.".into());
    }
    let source = match source {
        Ok(source) if errors.is_empty() => source,
        _ => return render_form(&state, &user, page, &fields, &errors, &[]).await,
    };
    let destination_id = destination.and_then(Result::ok).map(|d| d.id.0);
    let kind = match page {
        BatchPage::Transfer => JobKind::BatchTransfer,
        BatchPage::Query => JobKind::BatchQuery,
    };
    let mut job = NewJob::new(kind, user.user.id.0, source.id.0, destination_id);
    job.urgent = fields.urgent;
    job.send_finished_mail = fields.send_finished_mail;
    job.project_name = fields.project_name.clone();
    job.project_description = fields.project_description.clone();
    job.ethics_application_id = fields.ethics_application_id.clone();
    job.trial_protocol_id = fields.trial_protocol_id.clone();
    job.trial_protocol_name = fields.trial_protocol_name.clone();
    job.tasks = tasks;
    let count = job.tasks.len();
    match async { state.jobs().await?.create(&job, true).await }.await {
        Ok(id) => {
            let detail = format!("job {id}: {} with {count} tasks", job.kind);
            audit_trail::record(
                &state,
                &user,
                &address,
                Event::new(Action::JobCreate).detail(detail),
            )
            .await;
            redirect_with_flash(
                &format!("/jobs/{id}/"),
                "success",
                &format!("Job {id} started with {}.", plural(count, "task", "tasks")),
            )
        }
        Err(JobError::Invalid(message)) => {
            render_form(&state, &user, page, &fields, &[message], &[]).await
        }
        Err(e) => internal(&user, &e),
    }
}

/// `GET /batch-{transfer,query}/sample.{xlsx,csv}`: the sample sheet.
async fn sample(Path(ext): Path<String>, page: BatchPage) -> Response {
    let format = match ext.as_str() {
        "xlsx" => SheetFormat::Xlsx,
        "csv" => SheetFormat::Csv,
        _ => return (StatusCode::NOT_FOUND, "Not found.").into_response(),
    };
    let bytes = match batch::sample(page.kind(), format) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!("sample sheet: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.").into_response();
        }
    };
    let content_type = match format {
        SheetFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "text/csv; charset=utf-8",
    };
    let name = match page {
        BatchPage::Transfer => "batch_transfer_sample",
        BatchPage::Query => "batch_query_sample",
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
