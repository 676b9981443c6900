//! `/api/v1/jobs/`: list, create (JSON rows or an uploaded batch file), inspect, delete and
//! act on jobs (adit-reference §2.2, §2.4, §8).
//!
//! Users see their own jobs, staff see every job and may filter by owner. A job another
//! user owns is a 404 for non-staff (its existence is not revealed). Creating a job needs the
//! ADIT permission of its type (`add_selectivetransferjob`, ...), source access (and
//! destination access for transfers) through the active group, `can_process_urgently` for an
//! urgent job and `can_transfer_unpseudonymized` for a transfer task without a pseudonym.

use adit_core::batch::{
    BatchFileError, BatchQueryParser, BatchTransferParser, SheetFormat, check_size,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json, Path, Query};
use super::{Pagination, page_of};
use crate::accounts::{Permission, User, users};
use crate::audit::{self, Action, Event};
use crate::jobs::{
    Actor, BatchQuery, Job, JobAction, JobError, JobFilter, JobKind, JobStatus, Jobs, NewJob,
    NewTask, Refusal, TaskCounts,
};
use crate::nodes::{self, Access, NodeId};
use crate::web::AppState;
use crate::web::address::ClientAddress;
use crate::web::auth::ApiUser;
use crate::web::error::{ApiError, ErrorBody};

/// A job type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// Selected studies or series.
    SelectiveTransfer,
    /// Queries from a batch file.
    BatchQuery,
    /// Studies listed in a batch file.
    BatchTransfer,
}

impl From<JobType> for JobKind {
    fn from(t: JobType) -> Self {
        match t {
            JobType::SelectiveTransfer => JobKind::SelectiveTransfer,
            JobType::BatchQuery => JobKind::BatchQuery,
            JobType::BatchTransfer => JobKind::BatchTransfer,
        }
    }
}

impl From<JobKind> for JobType {
    fn from(k: JobKind) -> Self {
        match k {
            JobKind::SelectiveTransfer => JobType::SelectiveTransfer,
            JobKind::BatchQuery => JobType::BatchQuery,
            JobKind::BatchTransfer => JobType::BatchTransfer,
        }
    }
}

/// A job status, by ADIT's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum JobStatusCode {
    /// Unverified.
    #[serde(rename = "UV")]
    Unverified,
    /// Pending.
    #[serde(rename = "PE")]
    Pending,
    /// In progress.
    #[serde(rename = "IP")]
    InProgress,
    /// Canceling.
    #[serde(rename = "CI")]
    Canceling,
    /// Canceled.
    #[serde(rename = "CA")]
    Canceled,
    /// Success.
    #[serde(rename = "SU")]
    Success,
    /// Warning.
    #[serde(rename = "WA")]
    Warning,
    /// Failure.
    #[serde(rename = "FA")]
    Failure,
}

impl From<JobStatusCode> for JobStatus {
    fn from(s: JobStatusCode) -> Self {
        match s {
            JobStatusCode::Unverified => JobStatus::Unverified,
            JobStatusCode::Pending => JobStatus::Pending,
            JobStatusCode::InProgress => JobStatus::InProgress,
            JobStatusCode::Canceling => JobStatus::Canceling,
            JobStatusCode::Canceled => JobStatus::Canceled,
            JobStatusCode::Success => JobStatus::Success,
            JobStatusCode::Warning => JobStatus::Warning,
            JobStatusCode::Failure => JobStatus::Failure,
        }
    }
}

impl From<JobStatus> for JobStatusCode {
    fn from(s: JobStatus) -> Self {
        match s {
            JobStatus::Unverified => JobStatusCode::Unverified,
            JobStatus::Pending => JobStatusCode::Pending,
            JobStatus::InProgress => JobStatusCode::InProgress,
            JobStatus::Canceling => JobStatusCode::Canceling,
            JobStatus::Canceled => JobStatusCode::Canceled,
            JobStatus::Success => JobStatusCode::Success,
            JobStatus::Warning => JobStatusCode::Warning,
            JobStatus::Failure => JobStatusCode::Failure,
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    /// Its id.
    pub id: i64,
    /// Its type.
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// The owner's user id.
    pub owner_id: i64,
    /// Source node id.
    pub source_id: i64,
    /// Destination node id (none for batch queries).
    pub destination_id: Option<i64>,
    /// Runs at the urgent priority.
    pub urgent: bool,
    /// Status code.
    pub status: JobStatusCode,
    /// What the status means.
    pub message: String,
    /// Mail the owner when it ends.
    pub send_finished_mail: bool,
    /// ClinicalTrialProtocolID set on transferred data.
    pub trial_protocol_id: String,
    /// ClinicalTrialProtocolName set on transferred data.
    pub trial_protocol_name: String,
    /// Project name (batch jobs).
    pub project_name: String,
    /// Project description (batch jobs).
    pub project_description: String,
    /// Ethics application id (batch transfer).
    pub ethics_application_id: String,
    /// Task counts by status.
    pub tasks: TaskCountsView,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When its first task started.
    pub started: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended: Option<DateTime<Utc>>,
}

/// How many tasks of a job are in each status.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct TaskCountsView {
    /// Pending.
    pub pending: u64,
    /// In progress.
    pub in_progress: u64,
    /// Canceled.
    pub canceled: u64,
    /// Succeeded.
    pub success: u64,
    /// Finished with warnings.
    pub warning: u64,
    /// Failed.
    pub failure: u64,
    /// All tasks.
    pub total: u64,
}

impl From<&TaskCounts> for TaskCountsView {
    fn from(c: &TaskCounts) -> Self {
        TaskCountsView {
            pending: c.pending,
            in_progress: c.in_progress,
            canceled: c.canceled,
            success: c.success,
            warning: c.warning,
            failure: c.failure,
            total: c.total(),
        }
    }
}

page_of!(
    /// A page of jobs.
    JobPage,
    JobView
);

/// Filters of the job list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// Only jobs in this status.
    pub status: Option<JobStatusCode>,
    /// Only jobs of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub job_type: Option<JobType>,
    /// Only jobs of this owner (user id); staff only, others may give only their own id.
    pub owner: Option<i64>,
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 200).
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
}

/// One study (or some of its series) to transfer.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyRow {
    /// PatientID (may be empty).
    #[serde(default)]
    pub patient_id: String,
    /// StudyInstanceUID.
    pub study_uid: String,
    /// SeriesInstanceUIDs; empty transfers the whole study.
    #[serde(default)]
    pub series_uids: Vec<String>,
    /// Pseudonym; without one, the job's pseudonym; without both, unpseudonymized.
    #[serde(default)]
    pub pseudonym: Option<String>,
}

/// A job to create from JSON rows.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJob {
    /// Its type.
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// Source node id.
    pub source: i64,
    /// Destination node id (transfers).
    #[serde(default)]
    pub destination: Option<i64>,
    /// Urgent priority (needs `can_process_urgently`).
    #[serde(default)]
    pub urgent: bool,
    /// Mail the owner when it ends.
    #[serde(default)]
    pub send_finished_mail: bool,
    /// Pseudonym for studies without their own.
    #[serde(default)]
    pub pseudonym: Option<String>,
    /// ClinicalTrialProtocolID (at most 64 characters).
    #[serde(default)]
    pub trial_protocol_id: String,
    /// ClinicalTrialProtocolName (at most 64 characters).
    #[serde(default)]
    pub trial_protocol_name: String,
    /// Password of the ZIP archive written to a folder destination.
    #[serde(default)]
    pub archive_password: Option<String>,
    /// Project name (batch jobs).
    #[serde(default)]
    pub project_name: String,
    /// Project description (batch jobs).
    #[serde(default)]
    pub project_description: String,
    /// Ethics application id (batch transfer).
    #[serde(default)]
    pub ethics_application_id: String,
    /// The studies (transfers).
    #[serde(default)]
    pub studies: Vec<StudyRow>,
    /// The query rows (batch query).
    #[serde(default)]
    pub queries: Vec<BatchQuery>,
}

/// The job fields of an upload, as query parameters; the body is the batch file.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// `batch_query` or `batch_transfer`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub job_type: JobType,
    /// Source node id.
    pub source: i64,
    /// Destination node id (batch transfer).
    pub destination: Option<i64>,
    /// Urgent priority.
    #[serde(default)]
    pub urgent: bool,
    /// Mail the owner when it ends.
    #[serde(default)]
    pub send_finished_mail: bool,
    /// Project name.
    #[serde(default)]
    pub project_name: String,
    /// Project description.
    #[serde(default)]
    pub project_description: String,
    /// Ethics application id (batch transfer).
    #[serde(default)]
    pub ethics_application_id: String,
    /// ClinicalTrialProtocolID.
    #[serde(default)]
    pub trial_protocol_id: String,
    /// ClinicalTrialProtocolName.
    #[serde(default)]
    pub trial_protocol_name: String,
}

/// An action on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobActionName {
    /// Unverified → Pending (staff).
    Verify,
    /// Stop a pending or running job.
    Cancel,
    /// Queue the canceled tasks of a canceled job again.
    Resume,
    /// Queue the failed tasks of a failed job again.
    Retry,
    /// Queue every task of a finished job again (staff).
    Restart,
}

impl From<JobActionName> for JobAction {
    fn from(a: JobActionName) -> Self {
        match a {
            JobActionName::Verify => JobAction::Verify,
            JobActionName::Cancel => JobAction::Cancel,
            JobActionName::Resume => JobAction::Resume,
            JobActionName::Retry => JobAction::Retry,
            JobActionName::Restart => JobAction::Restart,
        }
    }
}

/// `GET /api/v1/jobs/`: the user's jobs (staff: everyone's), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/",
    tag = "jobs",
    params(JobListQuery),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Owner filter of another user without staff rights", body = ErrorBody),
    )
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(query): Query<JobListQuery>,
) -> Result<axum::Json<JobPage>, ApiError> {
    let (page, page_size) = Pagination {
        page: query.page,
        page_size: query.page_size,
    }
    .resolve()?;
    let owner_id = if user.is_staff {
        query.owner
    } else {
        match query.owner {
            Some(owner) if owner != user.id.0 => {
                return Err(ApiError::forbidden(
                    "Only staff may list the jobs of other users.",
                ));
            }
            _ => Some(user.id.0),
        }
    };
    let filter = JobFilter {
        status: query.status.map(JobStatus::from),
        kind: query.job_type.map(JobKind::from),
        owner_id,
    };
    let jobs = jobs_of(&state).await?;
    let (offset, limit) = Pagination::window(page, page_size);
    let (found, total) = jobs.list(&filter, offset, limit).await.map_err(from_job)?;
    let mut items = Vec::with_capacity(found.len());
    for job in found {
        items.push(view(&jobs, job).await?);
    }
    Ok(axum::Json(JobPage {
        items,
        page,
        page_size,
        total,
    }))
}

/// `POST /api/v1/jobs/`: creates a job from JSON rows.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/",
    tag = "jobs",
    request_body = CreateJob,
    responses(
        (status = 201, description = "The job was created", body = JobView),
        (status = 400, description = "Invalid job", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Missing permission or node access", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    )
)]
pub async fn create_job(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Json(request): Json<CreateJob>,
) -> Result<(StatusCode, axum::Json<JobView>), ApiError> {
    let kind = JobKind::from(request.job_type);
    let tasks = match kind {
        JobKind::BatchQuery => {
            if !request.studies.is_empty() {
                return Err(ApiError::invalid(
                    "A batch query job takes queries, not studies.",
                ));
            }
            for (i, q) in request.queries.iter().enumerate() {
                check_query(q).map_err(|e| ApiError::invalid(format!("queries[{i}]: {e}")))?;
            }
            request
                .queries
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, q)| NewTask {
                    lines: vec![u32::try_from(i + 1).unwrap_or(u32::MAX)],
                    ..NewTask::query(q)
                })
                .collect()
        }
        JobKind::SelectiveTransfer | JobKind::BatchTransfer => {
            if !request.queries.is_empty() {
                return Err(ApiError::invalid(
                    "A transfer job takes studies, not queries.",
                ));
            }
            let mut tasks = Vec::with_capacity(request.studies.len());
            for (i, s) in request.studies.iter().enumerate() {
                check_study(s).map_err(|e| ApiError::invalid(format!("studies[{i}]: {e}")))?;
                tasks.push(NewTask {
                    patient_id: s.patient_id.clone(),
                    study_uid: s.study_uid.clone(),
                    series_uids: s.series_uids.clone(),
                    pseudonym: s.pseudonym.clone().filter(|p| !p.is_empty()),
                    query: None,
                    lines: vec![u32::try_from(i + 1).unwrap_or(u32::MAX)],
                });
            }
            tasks
        }
    };
    if let Some(p) = &request.pseudonym {
        check_text("pseudonym", p, 64)?;
    }
    let new = NewJob {
        urgent: request.urgent,
        send_finished_mail: request.send_finished_mail,
        pseudonym: request.pseudonym.filter(|p| !p.is_empty()),
        trial_protocol_id: request.trial_protocol_id,
        trial_protocol_name: request.trial_protocol_name,
        archive_password: request.archive_password,
        project_name: request.project_name,
        project_description: request.project_description,
        ethics_application_id: request.ethics_application_id,
        tasks,
        ..NewJob::new(kind, user.id.0, request.source, request.destination)
    };
    let job = create(&state, &user, &address, new).await?;
    Ok((StatusCode::CREATED, axum::Json(job)))
}

/// `POST /api/v1/jobs/upload`: creates a batch job from a `.csv` or `.xlsx` file in the body.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/upload",
    tag = "jobs",
    params(UploadQuery),
    request_body(
        description = "The batch file (ADIT's columns)",
        content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    ),
    responses(
        (status = 201, description = "The job was created", body = JobView),
        (status = 400, description = "Invalid file or parameters", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Missing permission or node access", body = ErrorBody),
        (status = 413, description = "File too large", body = ErrorBody),
        (status = 415, description = "Neither CSV nor XLSX", body = ErrorBody),
    )
)]
pub async fn upload_job(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<JobView>), ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let format = match media.as_str() {
        "text/csv" => SheetFormat::Csv,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => SheetFormat::Xlsx,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send the batch file as text/csv or as \
                 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.",
            ));
        }
    };
    check_size(&body).map_err(|e| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()))?;
    let max_rows = max_batch_size(&user);
    let kind = JobKind::from(query.job_type);
    let tasks: Vec<NewTask> = match kind {
        JobKind::BatchQuery => BatchQueryParser::new()
            .max_rows(max_rows)
            .parse_bytes(&body, format)
            .map_err(batch_error)?
            .rows
            .into_iter()
            .map(NewTask::from_query_row)
            .collect(),
        JobKind::BatchTransfer => {
            let unpseudonymized =
                users::has_permission(&state.db, &user, Permission::CanTransferUnpseudonymized)
                    .await?;
            BatchTransferParser::new()
                .max_rows(max_rows)
                .allow_unpseudonymized(unpseudonymized)
                .parse_bytes(&body, format)
                .map_err(batch_error)?
                .rows
                .into_iter()
                .map(|t| NewTask {
                    patient_id: t.patient_id,
                    study_uid: t.study_uid,
                    series_uids: t.series_uids,
                    pseudonym: t.pseudonym.filter(|p| !p.is_empty()),
                    query: None,
                    lines: t.lines,
                })
                .collect()
        }
        JobKind::SelectiveTransfer => {
            return Err(ApiError::invalid(
                "Only batch_query and batch_transfer jobs are created from a file.",
            ));
        }
    };
    let new = NewJob {
        urgent: query.urgent,
        send_finished_mail: query.send_finished_mail,
        trial_protocol_id: query.trial_protocol_id,
        trial_protocol_name: query.trial_protocol_name,
        project_name: query.project_name,
        project_description: query.project_description,
        ethics_application_id: query.ethics_application_id,
        tasks,
        ..NewJob::new(kind, user.id.0, query.source, query.destination)
    };
    let job = create(&state, &user, &address, new).await?;
    Ok((StatusCode::CREATED, axum::Json(job)))
}

/// `GET /api/v1/jobs/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such job visible to the user", body = ErrorBody),
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> Result<axum::Json<JobView>, ApiError> {
    let jobs = jobs_of(&state).await?;
    let job = visible_job(&jobs, &user, id).await?;
    Ok(axum::Json(view(&jobs, job).await?))
}

/// `DELETE /api/v1/jobs/{id}`: removes a job none of whose tasks started.
#[utoipa::path(
    delete,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such job visible to the user", body = ErrorBody),
        (status = 409, description = "Tasks already ran", body = ErrorBody),
    )
)]
pub async fn delete_job(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let jobs = jobs_of(&state).await?;
    visible_job(&jobs, &user, id).await?;
    jobs.job_action(actor(&user), id, JobAction::Delete)
        .await
        .map_err(from_job)?;
    audit::record(
        &state.db,
        &Event::new(Action::JobAction)
            .by(&user)
            .from_address(address)
            .detail(format!("job {id}: delete")),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/jobs/{id}/{action}`: verify, cancel, resume, retry or restart a job.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/{action}",
    tag = "jobs",
    params(
        ("id" = i64, Path, description = "Job id"),
        ("action" = JobActionName, Path, description = "What to do"),
    ),
    responses(
        (status = 200, description = "The job after the action", body = JobView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "A staff-only action", body = ErrorBody),
        (status = 404, description = "No such job visible to the user", body = ErrorBody),
        (status = 409, description = "Not possible in the job's status", body = ErrorBody),
    )
)]
pub async fn job_action(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((id, action)): Path<(i64, JobActionName)>,
) -> Result<axum::Json<JobView>, ApiError> {
    let jobs = jobs_of(&state).await?;
    visible_job(&jobs, &user, id).await?;
    let action = JobAction::from(action);
    jobs.job_action(actor(&user), id, action)
        .await
        .map_err(from_job)?;
    audit::record(
        &state.db,
        &Event::new(Action::JobAction)
            .by(&user)
            .from_address(address)
            .detail(format!("job {id}: {action}")),
    )
    .await?;
    let job = jobs.get_job(id).await.map_err(from_job)?;
    Ok(axum::Json(view(&jobs, job).await?))
}

/// The most rows a batch file of `user` may have; `None` is no limit. The place where a
/// configured limit for non-staff users belongs (ADIT: 1000 for batch query and transfer).
pub fn max_batch_size(_user: &User) -> Option<usize> {
    None
}

/// The job model on the state's database (connected once per state, see [`AppState::jobs`]).
pub(crate) async fn jobs_of(state: &AppState) -> Result<Jobs, ApiError> {
    state.jobs().await.cloned().map_err(from_job)
}

/// Who acts, for the job model's checks.
pub(crate) fn actor(user: &User) -> Actor {
    Actor {
        user_id: user.id.0,
        is_staff: user.is_staff,
    }
}

/// The job `id` if `user` may see it (owner or staff), else a 404.
pub(crate) async fn visible_job(jobs: &Jobs, user: &User, id: i64) -> Result<Job, ApiError> {
    match jobs.job(id).await.map_err(from_job)? {
        Some(job) if user.is_staff || job.owner_id == user.id.0 => Ok(job),
        _ => Err(ApiError::not_found(format!("Job {id} not found."))),
    }
}

/// A job model error as an API error.
pub(crate) fn from_job(e: JobError) -> ApiError {
    match e {
        JobError::Refused(Refusal::Forbidden { .. }) => ApiError::forbidden(e.to_string()),
        JobError::Refused(_) => ApiError::conflict(e.to_string()),
        JobError::NoJob(_) | JobError::NoTask(_) => ApiError::not_found(e.to_string()),
        JobError::Invalid(_) => ApiError::invalid(e.to_string()),
        JobError::Server(e) => ApiError::from(e),
    }
}

/// The API view of `job`, with its task counts.
async fn view(jobs: &Jobs, job: Job) -> Result<JobView, ApiError> {
    let tasks = jobs.tasks(job.id).await.map_err(from_job)?;
    let counts = TaskCounts::of(tasks.iter().map(|t| t.status));
    Ok(JobView {
        id: job.id,
        job_type: job.kind.into(),
        owner_id: job.owner_id,
        source_id: job.source_id,
        destination_id: job.destination_id,
        urgent: job.urgent,
        status: job.status.into(),
        message: job.message,
        send_finished_mail: job.send_finished_mail,
        trial_protocol_id: job.trial_protocol_id,
        trial_protocol_name: job.trial_protocol_name,
        project_name: job.project_name,
        project_description: job.project_description,
        ethics_application_id: job.ethics_application_id,
        tasks: TaskCountsView::from(&counts),
        created: job.created,
        started: job.started,
        ended: job.ended,
    })
}

/// Checks permissions and node access, creates the job and audits it.
async fn create(
    state: &AppState,
    user: &User,
    address: &str,
    new: NewJob,
) -> Result<JobView, ApiError> {
    let permission = match new.kind {
        JobKind::SelectiveTransfer => Permission::AddSelectiveTransferJob,
        JobKind::BatchQuery => Permission::AddBatchQueryJob,
        JobKind::BatchTransfer => Permission::AddBatchTransferJob,
    };
    if !users::has_permission(&state.db, user, permission).await? {
        return Err(ApiError::forbidden(format!(
            "Creating {} jobs needs the permission {}.",
            new.kind,
            permission.codename()
        )));
    }
    if new.urgent && !users::has_permission(&state.db, user, Permission::CanProcessUrgently).await?
    {
        return Err(ApiError::forbidden(
            "Urgent jobs need the permission can_process_urgently.",
        ));
    }
    if new.tasks.is_empty() {
        return Err(ApiError::invalid(
            "A job needs at least one study or query.",
        ));
    }
    if let Some(max) = max_batch_size(user)
        && new.tasks.len() > max
    {
        return Err(ApiError::invalid(format!(
            "A job may have at most {max} rows."
        )));
    }
    check_text("trial_protocol_id", &new.trial_protocol_id, 64)?;
    check_text("trial_protocol_name", &new.trial_protocol_name, 64)?;
    check_text("project_name", &new.project_name, 150)?;
    check_text("ethics_application_id", &new.ethics_application_id, 100)?;
    check_text(
        "archive_password",
        new.archive_password.as_deref().unwrap_or_default(),
        50,
    )?;
    // A description may span lines; other control characters are refused.
    let description = new.project_description.replace(['\n', '\r', '\t'], " ");
    check_text("project_description", &description, 2000)?;
    if new.kind.is_transfer() {
        let unpseudonymized =
            new.pseudonym.is_none() && new.tasks.iter().any(|t| t.pseudonym.is_none());
        if unpseudonymized
            && !users::has_permission(&state.db, user, Permission::CanTransferUnpseudonymized)
                .await?
        {
            return Err(ApiError::forbidden(
                "Transfers without a pseudonym need the permission can_transfer_unpseudonymized.",
            ));
        }
    }
    check_node(state, user, new.source_id, Access::Source).await?;
    match (new.kind.is_transfer(), new.destination_id) {
        (true, Some(destination)) => {
            check_node(state, user, destination, Access::Destination).await?;
        }
        (true, None) => return Err(ApiError::invalid("A transfer job needs a destination.")),
        (false, Some(_)) => {
            return Err(ApiError::invalid("A batch query job has no destination."));
        }
        (false, None) => {}
    }
    let jobs = jobs_of(state).await?;
    let id = jobs.create(&new, true).await.map_err(from_job)?;
    audit::record(
        &state.db,
        &Event::new(Action::JobCreate)
            .by(user)
            .from_address(address)
            .detail(format!(
                "job {id}: {} with {} tasks",
                new.kind,
                new.tasks.len()
            )),
    )
    .await?;
    let job = jobs.get_job(id).await.map_err(from_job)?;
    view(&jobs, job).await
}

/// A node the user cannot use the same way as one that does not exist: 403 names the access.
async fn check_node(
    state: &AppState,
    user: &User,
    id: i64,
    access: Access,
) -> Result<(), ApiError> {
    let exists = nodes::list(&state.db).await?.iter().any(|n| n.id.0 == id);
    let role = match access {
        Access::Source => "source",
        Access::Destination => "destination",
    };
    if !exists {
        return Err(ApiError::invalid(format!("No {role} node with id {id}.")));
    }
    if !nodes::can_use(&state.db, user, NodeId(id), access).await? {
        return Err(ApiError::forbidden(format!(
            "Your active group may not use node {id} as a {role}."
        )));
    }
    Ok(())
}

/// A batch file's problems, one per line of the message.
fn batch_error(e: BatchFileError) -> ApiError {
    let issues: Vec<String> = e.issues().iter().map(ToString::to_string).collect();
    if issues.is_empty() {
        ApiError::invalid(e.to_string())
    } else {
        ApiError::invalid(format!("Invalid batch file:\n{}", issues.join("\n")))
    }
}

/// ADIT's rules for a transfer row: a UID of digits and dots, a PatientID and pseudonym
/// without backslashes, control characters or wildcards, 64 characters at most.
fn check_study(s: &StudyRow) -> Result<(), String> {
    check_uid("study_uid", &s.study_uid)?;
    for uid in &s.series_uids {
        check_uid("series_uids", uid)?;
    }
    check_value("patient_id", &s.patient_id, 64)?;
    if s.patient_id.contains(['*', '?']) {
        return Err("patient_id: contains wildcard characters".into());
    }
    if let Some(p) = &s.pseudonym {
        check_value("pseudonym", p, 64)?;
    }
    Ok(())
}

/// A query row needs something to find patients or studies by; dates are `YYYYMMDD`.
fn check_query(q: &BatchQuery) -> Result<(), String> {
    if q.patient_id.is_empty()
        && q.accession_number.is_empty()
        && (q.patient_name.is_empty() || q.patient_birth_date.is_empty())
    {
        return Err(
            "needs patient_id, accession_number, or patient_name with patient_birth_date".into(),
        );
    }
    for (field, value) in [
        ("patient_birth_date", &q.patient_birth_date),
        ("study_date_start", &q.study_date_start),
        ("study_date_end", &q.study_date_end),
    ] {
        if !value.is_empty() && adit_core::batch::SheetDate::from_dicom(value).is_none() {
            return Err(format!("{field}: expected a date YYYYMMDD"));
        }
    }
    for (field, value, max) in [
        ("patient_id", &q.patient_id, 64),
        ("patient_name", &q.patient_name, 324),
        ("accession_number", &q.accession_number, 32),
        ("study_description", &q.study_description, 64),
        ("series_description", &q.series_description, 64),
        ("pseudonym", &q.pseudonym, 64),
    ] {
        check_value(field, value, max)?;
    }
    for modality in &q.modalities {
        let valid = !modality.is_empty()
            && modality.len() <= 16
            && modality.bytes().all(|b| b.is_ascii_alphabetic());
        if !valid {
            return Err(format!("modalities: `{modality}` is not a modality"));
        }
    }
    for number in &q.series_numbers {
        if number.is_empty() || number.len() > 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("series_numbers: `{number}` is not a number"));
        }
    }
    Ok(())
}

fn check_uid(field: &str, uid: &str) -> Result<(), String> {
    let valid =
        !uid.is_empty() && uid.len() <= 64 && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{field}: `{uid}` is not a UID (digits and dots, at most 64)"
        ))
    }
}

fn check_value(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.chars().count() > max {
        return Err(format!("{field}: at most {max} characters"));
    }
    if value.contains('\\') || value.chars().any(char::is_control) {
        return Err(format!(
            "{field}: backslashes and control characters are not allowed"
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    check_value(field, value, max).map_err(ApiError::invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_digits_and_dots() {
        assert!(check_uid("u", "1.2.840.1").is_ok());
        assert!(check_uid("u", "").is_err());
        assert!(check_uid("u", "1.2.x").is_err());
        assert!(check_uid("u", &"1".repeat(65)).is_err());
    }

    #[test]
    fn query_rows_need_an_identifier() {
        assert!(check_query(&BatchQuery::default()).is_err());
        let q = BatchQuery {
            patient_id: "P1".into(),
            study_date_start: "2024-01-01".into(),
            ..BatchQuery::default()
        };
        assert!(check_query(&q).is_err());
        let q = BatchQuery {
            patient_id: "P1".into(),
            study_date_start: "20240101".into(),
            ..BatchQuery::default()
        };
        assert!(check_query(&q).is_ok());
    }
}
