//! Job pages: the list (the user's jobs; everyone's for staff) with filters by status and
//! type, the job detail with its task table and live progress, the task detail, and the job
//! and task actions as buttons shown only when allowed.
//!
//! Live progress is a server-sent event stream (`/jobs/{id}/events`): once a second the
//! server reads the job and its tasks and sends a JSON snapshot with the instances and bytes
//! done, the transfer rate, an ETA, every task's status and the action buttons now allowed;
//! the page's script applies it without reloading. The stream ends after the job reached a
//! final status.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::audit_trail;
use super::auth::{CsrfForm, UiUser};
use super::templates::{self, error_page, human_bytes, redirect_with_flash};
use crate::accounts::users;
use crate::audit::{Action, Event as AuditEvent};
use crate::jobs::{
    Actor, Job, JobAction, JobError, JobFilter, JobKind, JobStatus, Task, TaskAction, TaskCounts,
};
use crate::nodes;
use crate::web::AppState;
use crate::web::address::ClientAddress;

/// How many jobs the list shows at most.
const LIST_LIMIT: u32 = 200;
/// How often the progress stream reads the database.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Filters of the job list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// A status code (`SU`, `FA`, ...), or empty for all.
    #[serde(default)]
    pub status: String,
    /// A job type (`selective_transfer`, ...), or empty for all.
    #[serde(default)]
    pub kind: String,
    /// Staff: `1` lists everyone's jobs.
    #[serde(default)]
    pub all: String,
}

/// `GET /jobs/`.
pub async fn list(
    State(state): State<AppState>,
    user: UiUser,
    Query(query): Query<ListQuery>,
) -> Response {
    let staff = is_staff(&user);
    let all = staff && query.all == "1";
    let filter = JobFilter {
        owner_id: (!all).then_some(user.user.id.0),
        status: JobStatus::from_code(&query.status),
        kind: JobKind::parse(&query.kind),
    };
    let result = async {
        let (jobs, _total) = state
            .jobs()
            .await?
            .list(&filter, 0, i64::from(LIST_LIMIT))
            .await?;
        let names = Names::load(&state).await?;
        Ok::<_, JobError>(
            jobs.iter()
                .map(|job| job_view(job, &names))
                .collect::<Vec<_>>(),
        )
    }
    .await;
    match result {
        Ok(jobs) => {
            let statuses: Vec<Value> = JobStatus::ALL
                .iter()
                .map(|s| context! { code => s.code(), label => s.to_string() })
                .collect();
            let kinds: Vec<Value> = JobKind::ALL
                .iter()
                .map(|k| context! { code => k.as_str(), label => kind_label(*k) })
                .collect();
            templates::page(
                &user,
                "jobs.html",
                context! { jobs, statuses, kinds, staff, all, status => query.status, kind => query.kind },
            )
        }
        Err(e) => internal(&user, &e),
    }
}

/// `GET /jobs/{id}/`.
pub async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Response {
    let (job, tasks) = match visible_job(&state, &user, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let names = match Names::load(&state).await {
        Ok(names) => names,
        Err(e) => return internal(&user, &e),
    };
    let snapshot = Snapshot::of(&job, &tasks, &user, None);
    templates::page(
        &user,
        "job.html",
        context! {
            job => job_view(&job, &names),
            tasks => tasks.iter().map(task_view).collect::<Vec<_>>(),
            snapshot,
        },
    )
}

/// `GET /jobs/{id}/events`: the live progress stream.
pub async fn events(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    visible_job(&state, &user, id).await?;
    let progress = Progress {
        state,
        user,
        job_id: id,
        first: true,
        finished: false,
        rate: Rate::default(),
    };
    let stream = futures::stream::unfold(progress, |mut p| async move {
        if p.finished {
            return None;
        }
        if !p.first {
            tokio::time::sleep(PROGRESS_INTERVAL).await;
        }
        p.first = false;
        let event = match p.next().await {
            Ok(snapshot) => {
                p.finished = snapshot.is_final;
                Event::default()
                    .event("progress")
                    .json_data(&snapshot)
                    .unwrap_or_else(|_| Event::default().event("progress"))
            }
            Err(message) => {
                p.finished = true;
                Event::default().event("gone").data(message)
            }
        };
        Some((Ok(event), p))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `POST /jobs/{id}/{action}/`: a job action from a button.
pub async fn job_action(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    Path((id, action)): Path<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let Some(action) = parse_job_action(&action) else {
        return error_page(&user, StatusCode::NOT_FOUND, "Unknown job action.");
    };
    if let Err(response) = visible_job(&state, &user, id).await {
        return response;
    }
    let result = async {
        state
            .jobs()
            .await?
            .job_action(actor(&user), id, action)
            .await
    }
    .await;
    if result.is_ok() {
        let detail = format!("job {id}: {action}");
        audit_trail::record(
            &state,
            &user,
            &address,
            AuditEvent::new(Action::JobAction).detail(detail),
        )
        .await;
    }
    match result {
        Ok(()) if action == JobAction::Delete => {
            redirect_with_flash("/jobs/", "success", &format!("Job {id} deleted."))
        }
        Ok(()) => redirect_with_flash(
            &format!("/jobs/{id}/"),
            "success",
            &format!("Job {id}: {action} done."),
        ),
        Err(JobError::Refused(refusal)) => redirect_with_flash(
            &format!("/jobs/{id}/"),
            "danger",
            &format!("Job {id}: {refusal}."),
        ),
        Err(e) => internal(&user, &e),
    }
}

/// `GET /tasks/{id}/`: one task with its message and log.
pub async fn task_detail(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
) -> Response {
    let task = match find_task(&state, &user, id).await {
        Ok(task) => task,
        Err(response) => return response,
    };
    let job = match visible_job(&state, &user, task.job_id).await {
        Ok((job, _)) => job,
        Err(response) => return response,
    };
    let actions = task_actions(&user, &job, &task);
    templates::page(
        &user,
        "task.html",
        context! { task => task_view(&task), job_id => job.id, actions },
    )
}

/// `POST /tasks/{id}/{action}/`.
pub async fn task_action(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    Path((id, action)): Path<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let action = match action.as_str() {
        "delete" => TaskAction::Delete,
        "reset" => TaskAction::Reset,
        "kill" => TaskAction::Kill,
        _ => return error_page(&user, StatusCode::NOT_FOUND, "Unknown task action."),
    };
    let task = match find_task(&state, &user, id).await {
        Ok(task) => task,
        Err(response) => return response,
    };
    if let Err(response) = visible_job(&state, &user, task.job_id).await {
        return response;
    }
    let result = async {
        state
            .jobs()
            .await?
            .task_action(actor(&user), id, action)
            .await
    }
    .await;
    if result.is_ok() {
        let detail = format!("task {id}: {action}");
        audit_trail::record(
            &state,
            &user,
            &address,
            AuditEvent::new(Action::TaskAction).detail(detail),
        )
        .await;
    }
    let back = format!("/jobs/{}/", task.job_id);
    match result {
        Ok(()) => redirect_with_flash(&back, "success", &format!("Task {id}: {action} done.")),
        Err(JobError::Refused(refusal)) => {
            redirect_with_flash(&back, "danger", &format!("Task {id}: {refusal}."))
        }
        Err(e) => internal(&user, &e),
    }
}

/// One snapshot of a job's progress, as the page and the event stream show it.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Status code (`IP`, ...).
    pub status: &'static str,
    /// Status label (`In Progress`).
    pub status_label: String,
    /// The job's message.
    pub message: String,
    /// Whether the status is final (the stream ends).
    pub is_final: bool,
    /// Tasks per status, as a sentence.
    pub counts: String,
    /// Instances done over all tasks.
    pub instances_done: i64,
    /// Instances announced over all tasks, if every started task announced them.
    pub instances_expected: Option<i64>,
    /// Bytes stored over all tasks.
    pub bytes_done: i64,
    /// `bytes_done` for people.
    pub bytes_label: String,
    /// Percentage of finished tasks, or of instances when known.
    pub percent: u32,
    /// Transfer rate for people (`1.2 MiB/s`), when measured.
    pub rate: Option<String>,
    /// Remaining time for people (`about 2 min`), when it can be estimated.
    pub eta: Option<String>,
    /// Every task's state.
    pub tasks: Vec<TaskSnapshot>,
    /// The action buttons now allowed, as HTML.
    pub actions_html: String,
}

/// One task in a [`Snapshot`].
#[derive(Debug, Clone, Serialize)]
pub struct TaskSnapshot {
    /// Task id.
    pub id: i64,
    /// Status code.
    pub status: &'static str,
    /// Status label.
    pub status_label: String,
    /// Message.
    pub message: String,
    /// Instances done, with the announced total when known (`12 / 40`).
    pub instances: String,
    /// Bytes for people.
    pub bytes: String,
}

impl Snapshot {
    fn of(job: &Job, tasks: &[Task], user: &UiUser, rate: Option<&Rate>) -> Snapshot {
        let counts = TaskCounts::of(tasks.iter().map(|t| t.status));
        let instances_done: i64 = tasks.iter().map(|t| t.instances_done).sum();
        let instances_expected = tasks
            .iter()
            .map(|t| t.instances_expected)
            .sum::<Option<i64>>();
        let bytes_done: i64 = tasks.iter().map(|t| t.bytes_done).sum();
        let finished = counts.total() - counts.pending - counts.in_progress;
        let percent = if job.status.is_final() {
            100
        } else {
            match instances_expected {
                Some(expected) if expected > 0 => percent_of(instances_done, expected),
                _ => percent_of(
                    i64::try_from(finished).unwrap_or(0),
                    i64::try_from(counts.total()).unwrap_or(0),
                ),
            }
        };
        let per_second = rate.and_then(Rate::bytes_per_second);
        let eta = rate.and_then(|r| r.eta(instances_done, instances_expected));
        let actions_html = templates::render_string(
            "job_actions.html",
            context! { job_id => job.id, actions => job_actions(user, job, &counts), csrf_token => &user.csrf_token },
        )
        .unwrap_or_default();
        Snapshot {
            status: job.status.code(),
            status_label: job.status.to_string(),
            message: job.message.clone(),
            is_final: job.status.is_final(),
            counts: counts_sentence(&counts),
            instances_done,
            instances_expected,
            bytes_done,
            bytes_label: human_bytes(bytes_done),
            percent,
            rate: per_second.map(|r| format!("{}/s", human_bytes(r))),
            eta: eta.map(human_duration),
            tasks: tasks
                .iter()
                .map(|t| TaskSnapshot {
                    id: t.id,
                    status: t.status.code(),
                    status_label: t.status.to_string(),
                    message: t.message.clone(),
                    instances: instances_label(t),
                    bytes: human_bytes(t.bytes_done),
                })
                .collect(),
            actions_html,
        }
    }
}

/// The state of one progress stream.
struct Progress {
    state: AppState,
    user: UiUser,
    job_id: i64,
    first: bool,
    finished: bool,
    rate: Rate,
}

impl Progress {
    async fn next(&mut self) -> Result<Snapshot, String> {
        let jobs = self.state.jobs().await.map_err(|e| e.to_string())?;
        let job = match jobs.job(self.job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return Err("The job was deleted.".into()),
            Err(e) => return Err(e.to_string()),
        };
        let tasks = jobs.tasks(self.job_id).await.map_err(|e| e.to_string())?;
        self.rate.observe(
            tasks.iter().map(|t| t.bytes_done).sum(),
            tasks.iter().map(|t| t.instances_done).sum(),
        );
        Ok(Snapshot::of(&job, &tasks, &self.user, Some(&self.rate)))
    }
}

/// Transfer rate, smoothed over the observations of one stream.
#[derive(Debug, Default)]
struct Rate {
    last: Option<(Instant, i64, i64)>,
    /// Smoothed bytes per second.
    bytes: Option<f64>,
    /// Smoothed instances per second.
    instances: Option<f64>,
}

impl Rate {
    fn observe(&mut self, bytes: i64, instances: i64) {
        let now = Instant::now();
        if let Some((at, last_bytes, last_instances)) = self.last {
            let seconds = now.duration_since(at).as_secs_f64();
            if seconds > 0.0 {
                #[allow(clippy::cast_precision_loss)] // rates are estimates
                let (b, i) = (
                    (bytes - last_bytes).max(0) as f64 / seconds,
                    (instances - last_instances).max(0) as f64 / seconds,
                );
                // Exponential smoothing: a rate of the last few seconds, not of one tick.
                self.bytes = Some(self.bytes.map_or(b, |old| 0.7 * old + 0.3 * b));
                self.instances = Some(self.instances.map_or(i, |old| 0.7 * old + 0.3 * i));
            }
        }
        self.last = Some((now, bytes, instances));
    }

    fn bytes_per_second(&self) -> Option<i64> {
        #[allow(clippy::cast_possible_truncation)] // display only
        self.bytes.filter(|b| *b > 0.0).map(|b| b as i64)
    }

    fn eta(&self, done: i64, expected: Option<i64>) -> Option<Duration> {
        let per_second = self.instances.filter(|r| *r > 0.0)?;
        let left = (expected? - done).max(0);
        #[allow(clippy::cast_precision_loss)] // estimate
        Some(Duration::from_secs_f64(left as f64 / per_second))
    }
}

/// Node names and user names for the tables.
struct Names {
    nodes: HashMap<i64, String>,
    users: HashMap<i64, String>,
}

impl Names {
    async fn load(state: &AppState) -> Result<Names, JobError> {
        let nodes = nodes::list(&state.db)
            .await?
            .into_iter()
            .map(|n| (n.id.0, n.node.name))
            .collect();
        let users = users::list(&state.db)
            .await?
            .into_iter()
            .map(|u| (u.id.0, u.username))
            .collect();
        Ok(Names { nodes, users })
    }

    fn node(&self, id: i64) -> String {
        self.nodes
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("node {id}"))
    }
}

/// A job as the templates show it.
fn job_view(job: &Job, names: &Names) -> Value {
    context! {
        id => job.id,
        kind => job.kind.as_str(),
        kind_label => kind_label(job.kind),
        owner => names.users.get(&job.owner_id).cloned().unwrap_or_default(),
        source => names.node(job.source_id),
        destination => job.destination_id.map(|d| names.node(d)),
        urgent => job.urgent,
        status => job.status.code(),
        status_label => job.status.to_string(),
        message => &job.message,
        trial_protocol_id => &job.trial_protocol_id,
        trial_protocol_name => &job.trial_protocol_name,
        project_name => &job.project_name,
        send_finished_mail => job.send_finished_mail,
        created => job.created.format("%Y-%m-%d %H:%M:%S").to_string(),
        started => job.started.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        ended => job.ended.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
    }
}

/// A task as the templates show it.
fn task_view(task: &Task) -> Value {
    context! {
        id => task.id,
        job_id => task.job_id,
        status => task.status.code(),
        status_label => task.status.to_string(),
        message => &task.message,
        log => &task.log,
        attempts => task.attempts,
        patient_id => &task.patient_id,
        study_uid => &task.study_uid,
        series_uids => &task.series_uids,
        pseudonym => &task.pseudonym,
        lines => &task.lines,
        instances => instances_label(task),
        bytes => human_bytes(task.bytes_done),
        started => task.started.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        ended => task.ended.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
    }
}

/// The job actions `user` may take now, as `(action, label, button colour)`.
fn job_actions(user: &UiUser, job: &Job, counts: &TaskCounts) -> Vec<Value> {
    [
        (JobAction::Verify, "Verify", "success"),
        (JobAction::Cancel, "Cancel", "warning"),
        (JobAction::Resume, "Resume", "primary"),
        (JobAction::Retry, "Retry failed tasks", "primary"),
        (JobAction::Restart, "Restart", "secondary"),
        (JobAction::Delete, "Delete", "danger"),
    ]
    .into_iter()
    .filter(|(action, _, _)| {
        action
            .check(actor(user), job.owner_id, job.status, counts)
            .is_ok()
    })
    .map(|(action, label, colour)| context! { action => action.to_string(), label, colour })
    .collect()
}

/// The task actions `user` may take now.
fn task_actions(user: &UiUser, job: &Job, task: &Task) -> Vec<Value> {
    [
        (TaskAction::Reset, "Reset", "primary"),
        (TaskAction::Kill, "Kill", "warning"),
        (TaskAction::Delete, "Delete", "danger"),
    ]
    .into_iter()
    .filter(|(action, _, _)| {
        action
            .check(actor(user), job.owner_id, job.status, task.status)
            .is_ok()
    })
    .map(|(action, label, colour)| context! { action => action.to_string(), label, colour })
    .collect()
}

fn parse_job_action(name: &str) -> Option<JobAction> {
    Some(match name {
        "verify" => JobAction::Verify,
        "delete" => JobAction::Delete,
        "cancel" => JobAction::Cancel,
        "resume" => JobAction::Resume,
        "retry" => JobAction::Retry,
        "restart" => JobAction::Restart,
        _ => return None,
    })
}

/// The job and its tasks if `user` may see it (owner or staff), else a 404 page (a user
/// cannot probe which jobs exist).
pub(crate) async fn visible_job(
    state: &AppState,
    user: &UiUser,
    id: i64,
) -> Result<(Job, Vec<Task>), Response> {
    let not_found = || error_page(user, StatusCode::NOT_FOUND, &format!("Job {id} not found."));
    let jobs = state.jobs().await.map_err(|e| internal(user, &e))?;
    let job = match jobs.job(id).await {
        Ok(Some(job)) => job,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(internal(user, &e)),
    };
    if job.owner_id != user.user.id.0 && !is_staff(user) {
        return Err(not_found());
    }
    let tasks = jobs.tasks(id).await.map_err(|e| internal(user, &e))?;
    Ok((job, tasks))
}

async fn find_task(state: &AppState, user: &UiUser, id: i64) -> Result<Task, Response> {
    let jobs = state.jobs().await.map_err(|e| internal(user, &e))?;
    match jobs.task(id).await {
        Ok(Some(task)) => Ok(task),
        Ok(None) => Err(error_page(
            user,
            StatusCode::NOT_FOUND,
            &format!("Task {id} not found."),
        )),
        Err(e) => Err(internal(user, &e)),
    }
}

/// Staff and superusers see every job and have the staff actions.
pub fn is_staff(user: &UiUser) -> bool {
    user.user.is_staff || user.user.is_superuser
}

fn actor(user: &UiUser) -> Actor {
    Actor {
        user_id: user.user.id.0,
        is_staff: is_staff(user),
    }
}

/// A 500 page; the cause is logged, not shown.
pub fn internal(user: &UiUser, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!("page failed: {cause}");
    error_page(
        user,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal server error.",
    )
    .into_response()
}

/// `Selective transfer`, ...
pub fn kind_label(kind: JobKind) -> &'static str {
    match kind {
        JobKind::SelectiveTransfer => "Selective transfer",
        JobKind::BatchQuery => "Batch query",
        JobKind::BatchTransfer => "Batch transfer",
    }
}

fn instances_label(task: &Task) -> String {
    match task.instances_expected {
        Some(expected) => format!("{} / {expected}", task.instances_done),
        None => task.instances_done.to_string(),
    }
}

fn percent_of(part: i64, whole: i64) -> u32 {
    if whole <= 0 {
        return 0;
    }
    u32::try_from((part.clamp(0, whole) * 100) / whole).unwrap_or(100)
}

fn counts_sentence(c: &TaskCounts) -> String {
    let parts = [
        (c.pending, "pending"),
        (c.in_progress, "in progress"),
        (c.success, "succeeded"),
        (c.warning, "with warnings"),
        (c.failure, "failed"),
        (c.canceled, "canceled"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if text.is_empty() {
        "no tasks".into()
    } else {
        let total = usize::try_from(c.total()).unwrap_or(usize::MAX);
        format!(
            "{}: {}",
            super::transfer::plural(total, "task", "tasks"),
            text.join(", ")
        )
    }
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("about {s} s")
    } else if s < 3600 {
        format!("about {} min", s.div_ceil(60))
    } else {
        format!("about {} h {} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_bounded() {
        assert_eq!(percent_of(5, 10), 50);
        assert_eq!(percent_of(15, 10), 100);
        assert_eq!(percent_of(1, 0), 0);
    }

    #[test]
    fn eta_needs_a_rate_and_a_total() {
        let mut rate = Rate::default();
        assert_eq!(rate.eta(0, Some(10)), None);
        rate.instances = Some(2.0);
        assert_eq!(rate.eta(4, Some(10)), Some(Duration::from_secs(3)));
        assert_eq!(rate.eta(4, None), None);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_secs(42)), "about 42 s");
        assert_eq!(human_duration(Duration::from_secs(61)), "about 2 min");
        assert_eq!(human_duration(Duration::from_secs(3720)), "about 1 h 2 min");
    }
}
