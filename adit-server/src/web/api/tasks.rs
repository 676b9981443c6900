//! `/api/v1/jobs/{id}/tasks/` and `/api/v1/tasks/{id}`: a job's tasks with progress, status
//! and errors, and the task actions (reset, kill, delete). The task log (errors of earlier
//! attempts) is shown to staff only, as in ADIT.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Path, Query};
use super::jobs::{actor, from_job, jobs_of, visible_job};
use super::{Pagination, page_of};
use crate::accounts::User;
use crate::audit::{self, Action, Event};
use crate::jobs::{BatchQuery, Jobs, Task, TaskAction, TaskStatus};
use crate::web::AppState;
use crate::web::address::ClientAddress;
use crate::web::auth::ApiUser;
use crate::web::error::{ApiError, ErrorBody};

/// A task status, by ADIT's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TaskStatusCode {
    /// Pending.
    #[serde(rename = "PE")]
    Pending,
    /// In progress.
    #[serde(rename = "IP")]
    InProgress,
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

impl From<TaskStatus> for TaskStatusCode {
    fn from(s: TaskStatus) -> Self {
        match s {
            TaskStatus::Pending => TaskStatusCode::Pending,
            TaskStatus::InProgress => TaskStatusCode::InProgress,
            TaskStatus::Canceled => TaskStatusCode::Canceled,
            TaskStatus::Success => TaskStatusCode::Success,
            TaskStatus::Warning => TaskStatusCode::Warning,
            TaskStatus::Failure => TaskStatusCode::Failure,
        }
    }
}

/// A task as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    /// Its id.
    pub id: i64,
    /// Its job.
    pub job_id: i64,
    /// Status code.
    pub status: TaskStatusCode,
    /// What happened, in one line (the error of a failed task).
    pub message: String,
    /// Errors of earlier attempts and failed instances (staff only; `null` for others).
    pub log: Option<String>,
    /// Runs started.
    pub attempts: i32,
    /// PatientID (transfers).
    pub patient_id: String,
    /// StudyInstanceUID (transfers).
    pub study_uid: String,
    /// Series to transfer; empty is the whole study.
    pub series_uids: Vec<String>,
    /// The task's own pseudonym, if any (else the job's applies).
    pub pseudonym: Option<String>,
    /// The query of a batch query task.
    pub query: Option<BatchQuery>,
    /// Lines of the batch file.
    pub lines: Vec<u32>,
    /// Instances with an outcome so far.
    pub instances_done: i64,
    /// Instances the source announced.
    pub instances_expected: Option<i64>,
    /// Bytes stored so far.
    pub bytes_done: i64,
    /// Bytes the source announced.
    pub bytes_expected: Option<i64>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When its last run started.
    pub started: Option<DateTime<Utc>>,
    /// When its last run ended.
    pub ended: Option<DateTime<Utc>>,
}

page_of!(
    /// A page of tasks.
    TaskPage,
    TaskView
);

/// Filters of the task list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListQuery {
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 200).
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
}

/// An action on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskActionName {
    /// Queue a finished task again.
    Reset,
    /// Stop a running task (staff).
    Kill,
}

/// `GET /api/v1/jobs/{id}/tasks/`: the job's tasks by id.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}/tasks/",
    tag = "tasks",
    params(("id" = i64, Path, description = "Job id"), TaskListQuery),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such job visible to the user", body = ErrorBody),
    )
)]
pub async fn list_tasks(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Query(query): Query<TaskListQuery>,
) -> Result<axum::Json<TaskPage>, ApiError> {
    let (page, page_size) = Pagination {
        page: query.page,
        page_size: query.page_size,
    }
    .resolve()?;
    let jobs = jobs_of(&state).await?;
    visible_job(&jobs, &user, id).await?;
    let tasks = jobs.tasks(id).await.map_err(from_job)?;
    let total = i64::try_from(tasks.len()).unwrap_or(i64::MAX);
    let (offset, limit) = Pagination::window(page, page_size);
    let items = tasks
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|t| view(&user, t))
        .collect();
    Ok(axum::Json(TaskPage {
        items,
        page,
        page_size,
        total,
    }))
}

/// `GET /api/v1/tasks/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = i64, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such task visible to the user", body = ErrorBody),
    )
)]
pub async fn get_task(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> Result<axum::Json<TaskView>, ApiError> {
    let jobs = jobs_of(&state).await?;
    let task = visible_task(&jobs, &user, id).await?;
    Ok(axum::Json(view(&user, task)))
}

/// `DELETE /api/v1/tasks/{id}`: removes a pending task.
#[utoipa::path(
    delete,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = i64, Path, description = "Task id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such task visible to the user", body = ErrorBody),
        (status = 409, description = "The task is not pending", body = ErrorBody),
    )
)]
pub async fn delete_task(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    act(&state, &user, &address, id, TaskAction::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/tasks/{id}/{action}`: reset or kill a task.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/{action}",
    tag = "tasks",
    params(
        ("id" = i64, Path, description = "Task id"),
        ("action" = TaskActionName, Path, description = "What to do"),
    ),
    responses(
        (status = 200, description = "The task after the action", body = TaskView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "A staff-only action", body = ErrorBody),
        (status = 404, description = "No such task visible to the user", body = ErrorBody),
        (status = 409, description = "Not possible in the task's status", body = ErrorBody),
    )
)]
pub async fn task_action(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path((id, action)): Path<(i64, TaskActionName)>,
) -> Result<axum::Json<TaskView>, ApiError> {
    let action = match action {
        TaskActionName::Reset => TaskAction::Reset,
        TaskActionName::Kill => TaskAction::Kill,
    };
    let jobs = act(&state, &user, &address, id, action).await?;
    let task = visible_task(&jobs, &user, id).await?;
    Ok(axum::Json(view(&user, task)))
}

/// Runs `action` on task `id` if the user sees it, and audits it.
async fn act(
    state: &AppState,
    user: &User,
    address: &str,
    id: i64,
    action: TaskAction,
) -> Result<Jobs, ApiError> {
    let jobs = jobs_of(state).await?;
    visible_task(&jobs, user, id).await?;
    jobs.task_action(actor(user), id, action)
        .await
        .map_err(from_job)?;
    audit::record(
        &state.db,
        &Event::new(Action::TaskAction)
            .by(user)
            .from_address(address)
            .detail(format!("task {id}: {action}")),
    )
    .await?;
    Ok(jobs)
}

/// Task `id` if its job is visible to `user`, else a 404.
async fn visible_task(jobs: &Jobs, user: &User, id: i64) -> Result<Task, ApiError> {
    let not_found = || ApiError::not_found(format!("Task {id} not found."));
    let task = jobs
        .task(id)
        .await
        .map_err(from_job)?
        .ok_or_else(not_found)?;
    visible_job(jobs, user, task.job_id)
        .await
        .map_err(|_| not_found())?;
    Ok(task)
}

fn view(user: &User, t: Task) -> TaskView {
    TaskView {
        id: t.id,
        job_id: t.job_id,
        status: t.status.into(),
        message: t.message,
        log: user.is_staff.then_some(t.log),
        attempts: t.attempts,
        patient_id: t.patient_id,
        study_uid: t.study_uid,
        series_uids: t.series_uids,
        pseudonym: t.pseudonym,
        query: t.query,
        lines: t.lines,
        instances_done: t.instances_done,
        instances_expected: t.instances_expected,
        bytes_done: t.bytes_done,
        bytes_expected: t.bytes_expected,
        created: t.created,
        started: t.started,
        ended: t.ended,
    }
}
