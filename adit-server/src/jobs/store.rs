//! [`Jobs`]: creating jobs (their queue jobs in the same transaction), reading them, the user
//! actions, and the derived job status with the mail on completion.

use std::sync::Arc;

use adit_core::queue::{JobId, JobSpec, JobStatus as QueueStatus, Queue, RetryPolicy};
use adit_queue::JobQueue;
use chrono::Utc;

use super::actions::{Actor, JobAction, Refusal, TaskAction};
use super::error::{JobError, JobResult};
use super::kind::{DICOM_QUEUE, JobKind};
use super::limits::{BatchLimits, check_batch_size};
use super::mail::{FinishedMail, LogMailer, Mailer};
use super::model::{Job, NewJob, Task};
use super::smtp::{SmtpError, SmtpMailer};
use super::sql::{
    BeginWrite, EnqueueOn, job_columns, job_from_row, task_columns, task_from_row, to_json,
};
use super::status::{JobStatus, TaskCounts, TaskStatus};
use crate::config::Config;
use crate::db::Db;
use crate::db_dispatch;
use crate::error::db;

/// The job model on a database and its queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    pub(crate) db: Db,
    pub(crate) queue: JobQueue,
    mailer: Arc<dyn Mailer>,
    retry: Option<RetryPolicy>,
    batch_limits: BatchLimits,
}

/// What stopping a task's queue job achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// It was queued (or had none): it will never run; the task can be marked now.
    NotRunning,
    /// It is running: the worker's token trips, and the worker records the outcome.
    Aborting,
}

/// Runs the derivation of the job status inside an open transaction `$tx` and evaluates to
/// `Result<Option<(JobStatus, JobStatus)>, crate::Error>`: the old and new status, `None`
/// when the job does not exist.
macro_rules! derive_in_tx {
    ($tx:ident, $backend:expr, $job_id:expr) => {{
        let job_id: i64 = $job_id;
        let backend: &'static str = $backend;
        async {
            // Locks the job row (PostgreSQL) so concurrent derivations serialize.
            let locked = sqlx::query("UPDATE jobs SET status = status WHERE id = $1")
                .bind(job_id)
                .execute(&mut *$tx)
                .await
                .map_err($crate::error::db(backend, "lock a job"))?;
            if locked.rows_affected() == 0 {
                return Ok(None);
            }
            let current: String = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
                .bind(job_id)
                .fetch_one(&mut *$tx)
                .await
                .map_err($crate::error::db(backend, "read a job status"))?;
            let current =
                $crate::jobs::status::JobStatus::from_code(&current).ok_or_else(|| {
                    crate::Error::CorruptRow {
                        table: "jobs",
                        reason: format!("unknown status `{current}`"),
                    }
                })?;
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT status, COUNT(*) FROM tasks WHERE job_id = $1 GROUP BY status",
            )
            .bind(job_id)
            .fetch_all(&mut *$tx)
            .await
            .map_err($crate::error::db(backend, "count tasks"))?;
            let mut counts = $crate::jobs::status::TaskCounts::default();
            for (status, n) in rows {
                if let Some(status) = $crate::jobs::status::TaskStatus::from_code(&status) {
                    counts.add(status, u64::try_from(n).unwrap_or(0));
                }
            }
            let derived = $crate::jobs::status::derive_job_status(current, &counts);
            let now = chrono::Utc::now();
            let ended = derived.status.is_final().then_some(now);
            let started =
                (derived.status == $crate::jobs::status::JobStatus::InProgress).then_some(now);
            sqlx::query(
                "UPDATE jobs SET status = $2, message = COALESCE($3, message), ended = $4,
                     started = COALESCE(started, $5)
                 WHERE id = $1",
            )
            .bind(job_id)
            .bind(derived.status.code())
            .bind(derived.message)
            .bind(ended)
            .bind(started)
            .execute(&mut *$tx)
            .await
            .map_err($crate::error::db(backend, "update a job status"))?;
            Ok::<_, crate::Error>(Some((current, derived.status)))
        }
        .await
    }};
}
pub(crate) use derive_in_tx;

/// Resets the run state of task `$id` and gives it queue job `$queue_job` (inside `$tx`).
macro_rules! reset_task_in_tx {
    ($tx:ident, $backend:expr, $id:expr, $queue_job:expr) => {{
        let backend: &'static str = $backend;
        sqlx::query("DELETE FROM batch_query_results WHERE task_id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await
            .map_err($crate::error::db(backend, "delete query results"))?;
        sqlx::query(
            "UPDATE tasks SET status = 'PE', message = '', log = '', attempts = 0, retries = 0,
                 started = NULL, ended = NULL, instances_done = 0, instances_expected = NULL,
                 bytes_done = 0, bytes_expected = NULL, progress_updated = NULL,
                 queue_job_id = $2
             WHERE id = $1",
        )
        .bind($id)
        .bind($queue_job)
        .execute(&mut *$tx)
        .await
        .map_err($crate::error::db(backend, "reset a task"))?;
    }};
}

impl Jobs {
    /// The job model on `db`, queueing on `queue` (the same database), mails logged.
    pub fn new(db: Db, queue: JobQueue) -> Jobs {
        Jobs {
            db,
            queue,
            mailer: Arc::new(LogMailer),
            retry: None,
            batch_limits: BatchLimits::default(),
        }
    }

    /// Connects the queue to the same pool as `db` (running the queue's migrations).
    pub async fn on(db: &Db) -> JobResult<Jobs> {
        let queue = match db {
            Db::Postgres(pool) => JobQueue::with_postgres(pool.clone()).await?,
            Db::Sqlite(pool) => JobQueue::with_sqlite(pool.clone()).await?,
        };
        Ok(Jobs::new(db.clone(), queue))
    }

    /// The job store as `config` sets it up: the queue on `db` ([`Jobs::on`]), the configured
    /// batch size limits, and job-finished mails over SMTP when a server is configured.
    ///
    /// Invalid SMTP settings do not fail here: the store then logs its mails, and the error is
    /// returned next to it, because the caller decides what it means (a worker, which sends
    /// the mails, refuses to start; the web server only logs it).
    pub async fn from_config(db: &Db, config: &Config) -> JobResult<(Jobs, Option<SmtpError>)> {
        let jobs = Jobs::on(db)
            .await?
            .with_batch_limits(BatchLimits::from_config(config));
        Ok(match SmtpMailer::from_config(&config.smtp) {
            Ok(Some(mailer)) => {
                tracing::info!(server = %mailer.server(), "job-finished mails go to this SMTP server");
                (jobs.with_mailer(Arc::new(mailer)), None)
            }
            Ok(None) => (jobs, None),
            Err(e) => (jobs, Some(e)),
        })
    }

    /// Uses `mailer` for job-finished mails.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Jobs {
        self.mailer = mailer;
        self
    }

    /// Overrides the task retry policy (ADIT's: 3 attempts, 2 and 4 minutes apart).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Jobs {
        self.retry = Some(retry);
        self
    }

    /// Limits non-staff users' batch jobs to `limits` (default: ADIT's 1000 and 500).
    pub fn with_batch_limits(mut self, limits: BatchLimits) -> Jobs {
        self.batch_limits = limits;
        self
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The queue.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    /// The queue job that runs task `task_id` of a job of `kind`.
    fn spec(&self, kind: JobKind, urgent: bool, task_id: i64) -> JobSpec {
        JobSpec::new(
            kind.queue_task(),
            DICOM_QUEUE,
            serde_json::json!({ "task_id": task_id }),
        )
        .with_priority(kind.priority(urgent))
        .with_retry(self.retry.unwrap_or_else(|| kind.retry_policy()))
    }

    /// Creates a job with its tasks. A `verified` job (ADIT: staff, or the app starts jobs
    /// unverified) is Pending and its tasks are queued in the same transaction; otherwise it
    /// waits Unverified for [`JobAction::Verify`]. Returns the job id.
    pub async fn create(&self, new: &NewJob, verified: bool) -> JobResult<i64> {
        if new.kind.is_transfer() && new.destination_id.is_none() {
            return Err(JobError::Invalid(format!(
                "a {} job needs a destination",
                new.kind
            )));
        }
        if new.archive_password.as_deref().is_some_and(str::is_empty) {
            return Err(JobError::Invalid("the archive password is empty".into()));
        }
        let backend = self.db.backend();
        if new.kind != JobKind::SelectiveTransfer {
            let is_staff: Option<bool> = db_dispatch!(&self.db, pool =>
                sqlx::query_scalar("SELECT is_staff FROM users WHERE id = $1")
                    .bind(new.owner_id)
                    .fetch_optional(pool)
                    .await
                    .map_err(db(backend, "read the job owner"))?);
            // An unknown owner fails below on the foreign key; limit it as non-staff.
            check_batch_size(
                is_staff.unwrap_or(false),
                new.kind,
                new.tasks.len(),
                &self.batch_limits,
            )?;
        }
        let status = if verified {
            JobStatus::Pending
        } else {
            JobStatus::Unverified
        };
        let now = Utc::now();
        let id = db_dispatch!(&self.db, pool => {
            let mut tx = pool.begin_write().await.map_err(db(backend, "begin creating a job"))?;
            let job_id: i64 = sqlx::query_scalar(
                "INSERT INTO jobs (kind, owner_id, source_id, destination_id, urgent, status,
                     send_finished_mail, trial_protocol_id, trial_protocol_name,
                     archive_password, project_name, project_description,
                     ethics_application_id, created)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 RETURNING id",
            )
            .bind(new.kind.as_str())
            .bind(new.owner_id)
            .bind(new.source_id)
            .bind(new.destination_id)
            .bind(new.urgent)
            .bind(status.code())
            .bind(new.send_finished_mail)
            .bind(&new.trial_protocol_id)
            .bind(&new.trial_protocol_name)
            .bind(&new.archive_password)
            .bind(&new.project_name)
            .bind(&new.project_description)
            .bind(&new.ethics_application_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(db(backend, "create a job"))?;
            for task in &new.tasks {
                let pseudonym = task.pseudonym.as_ref().or(new.pseudonym.as_ref());
                let task_id: i64 = sqlx::query_scalar(
                    "INSERT INTO tasks (job_id, patient_id, study_uid, series_uids, pseudonym,
                         query, lines, created)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(job_id)
                .bind(&task.patient_id)
                .bind(&task.study_uid)
                .bind(to_json(&task.series_uids))
                .bind(pseudonym.map_or("", String::as_str))
                .bind(task.query.as_ref().map(to_json))
                .bind(to_json(&task.lines))
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db(backend, "create a task"))?;
                if verified {
                    let queued = tx.enqueue_on(&self.queue, &self.spec(new.kind, new.urgent, task_id)).await?;
                    sqlx::query("UPDATE tasks SET queue_job_id = $2 WHERE id = $1")
                        .bind(task_id)
                        .bind(queued.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db(backend, "link a task to its queue job"))?;
                }
            }
            if new.tasks.is_empty() && verified {
                derive_in_tx!(tx, backend, job_id)?;
            }
            tx.commit().await.map_err(db(backend, "commit a new job"))?;
            job_id
        });
        self.queue.notify_enqueued();
        Ok(id)
    }

    /// The job, if it exists.
    pub async fn job(&self, id: i64) -> JobResult<Option<Job>> {
        let backend = self.db.backend();
        let job = db_dispatch!(&self.db, pool => {
            let row = sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(db(backend, "read a job"))?;
            match row {
                None => None,
                Some(row) => Some(job_from_row!(&row).map_err(db(backend, "decode a job"))?),
            }
        });
        Ok(job)
    }

    /// The job or [`JobError::NoJob`].
    pub async fn get_job(&self, id: i64) -> JobResult<Job> {
        self.job(id).await?.ok_or(JobError::NoJob(id))
    }

    /// The tasks of job `job_id`, by id.
    pub async fn tasks(&self, job_id: i64) -> JobResult<Vec<Task>> {
        let backend = self.db.backend();
        let tasks = db_dispatch!(&self.db, pool => {
            let rows = sqlx::query(concat!(
                "SELECT ", task_columns!(), " FROM tasks WHERE job_id = $1 ORDER BY id"
            ))
            .bind(job_id)
            .fetch_all(pool)
            .await
            .map_err(db(backend, "read tasks"))?;
            let mut tasks = Vec::with_capacity(rows.len());
            for row in &rows {
                tasks.push(task_from_row!(row).map_err(db(backend, "decode a task"))?);
            }
            tasks
        });
        Ok(tasks)
    }

    /// The task, if it exists.
    pub async fn task(&self, id: i64) -> JobResult<Option<Task>> {
        let backend = self.db.backend();
        let task = db_dispatch!(&self.db, pool => {
            let row = sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(db(backend, "read a task"))?;
            match row {
                None => None,
                Some(row) => Some(task_from_row!(&row).map_err(db(backend, "decode a task"))?),
            }
        });
        Ok(task)
    }

    /// Recomputes the job's status from its tasks (ADIT's `post_process`) under a lock on the
    /// job row, and mails the owner when the job just reached a final status. Returns the new
    /// status (`None`: no such job).
    pub async fn post_process(&self, job_id: i64) -> JobResult<Option<JobStatus>> {
        let backend = self.db.backend();
        let change = db_dispatch!(&self.db, pool => {
            let mut tx = pool.begin_write().await.map_err(db(backend, "begin deriving a job status"))?;
            let change = derive_in_tx!(tx, backend, job_id)?;
            tx.commit().await.map_err(db(backend, "commit a job status"))?;
            change
        });
        self.after_change(job_id, change).await
    }

    /// Sends the finished mail when `change` made the job final; returns the new status.
    pub(crate) async fn after_change(
        &self,
        job_id: i64,
        change: Option<(JobStatus, JobStatus)>,
    ) -> JobResult<Option<JobStatus>> {
        let Some((old, new)) = change else {
            return Ok(None);
        };
        if !old.is_final() && new.is_final() {
            let job = self.get_job(job_id).await?;
            tracing::info!(job = job_id, status = %new, message = %job.message, "job finished");
            if job.send_finished_mail {
                let backend = self.db.backend();
                let email: Option<String> = db_dispatch!(&self.db, pool =>
                    sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
                        .bind(job.owner_id)
                        .fetch_optional(pool)
                        .await
                        .map_err(db(backend, "read the owner's email"))?);
                self.mailer
                    .send(&FinishedMail::for_job(&job, email.as_deref().unwrap_or("")));
            }
        }
        Ok(Some(new))
    }

    /// Stops the queue job of a task: cancels it while queued, aborts it while running.
    pub(crate) async fn stop_queue_job(&self, queue_job: Option<i64>) -> JobResult<Stopped> {
        let Some(id) = queue_job.map(JobId) else {
            return Ok(Stopped::NotRunning);
        };
        if self.queue.cancel(id).await? {
            return Ok(Stopped::NotRunning);
        }
        if self.queue.abort(id).await? {
            // A job recovered from a dead worker may have been queued again meanwhile: then the
            // abort cancelled it and no worker will report.
            let status = self.queue.job(id).await?.map(|j| j.status);
            if status == Some(QueueStatus::Cancelled) {
                return Ok(Stopped::NotRunning);
            }
            return Ok(Stopped::Aborting);
        }
        Ok(Stopped::NotRunning)
    }

    /// Marks tasks canceled (those still pending or running), then derives the job status.
    async fn mark_canceled(
        &self,
        job_id: i64,
        task_ids: &[i64],
        message: &str,
        job_to_canceling: bool,
    ) -> JobResult<Option<JobStatus>> {
        let backend = self.db.backend();
        let now = Utc::now();
        let change = db_dispatch!(&self.db, pool => {
            let mut tx = pool.begin_write().await.map_err(db(backend, "begin canceling"))?;
            for id in task_ids {
                sqlx::query(
                    "UPDATE tasks SET status = 'CA', message = $2, ended = $3
                     WHERE id = $1 AND status IN ('PE', 'IP')",
                )
                .bind(id)
                .bind(message)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db(backend, "cancel a task"))?;
            }
            if job_to_canceling {
                sqlx::query("UPDATE jobs SET status = 'CI' WHERE id = $1 AND status IN ('PE', 'IP')")
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(backend, "mark a job canceling"))?;
            }
            let change = derive_in_tx!(tx, backend, job_id)?;
            tx.commit().await.map_err(db(backend, "commit canceling"))?;
            change
        });
        self.after_change(job_id, change).await
    }

    /// Queues the tasks `pick` selects, with the job back to Pending (refused when it is no
    /// longer in `from`). With `reset`, the tasks' run state (attempts, message, log, times,
    /// progress, query results) and the job's message are cleared first (retry, resume,
    /// restart); without, the tasks are only linked to their new queue jobs (verify).
    async fn requeue(
        &self,
        job: &Job,
        from: JobStatus,
        pick: impl Fn(&Task) -> bool,
        reset: bool,
    ) -> JobResult<()> {
        let tasks: Vec<i64> = self
            .tasks(job.id)
            .await?
            .into_iter()
            .filter(|t| pick(t))
            .map(|t| t.id)
            .collect();
        let backend = self.db.backend();
        db_dispatch!(&self.db, pool => {
            let mut tx = pool.begin_write().await.map_err(db(backend, "begin queueing tasks"))?;
            let moved = sqlx::query(
                "UPDATE jobs SET status = 'PE', ended = NULL,
                     message = CASE WHEN $3 THEN '' ELSE message END
                 WHERE id = $1 AND status = $2",
            )
            .bind(job.id)
            .bind(from.code())
            .bind(reset)
            .execute(&mut *tx)
            .await
            .map_err(db(backend, "move a job to pending"))?;
            if moved.rows_affected() == 0 {
                return Err(JobError::Refused(Refusal::WrongStatus {
                    action: "queue".into(),
                    what: "job",
                    status: "changed meanwhile".into(),
                }));
            }
            for id in &tasks {
                let queued = tx.enqueue_on(&self.queue, &self.spec(job.kind, job.urgent, *id)).await?;
                if reset {
                    reset_task_in_tx!(tx, backend, *id, queued.0);
                } else {
                    sqlx::query("UPDATE tasks SET queue_job_id = $2 WHERE id = $1")
                        .bind(*id)
                        .bind(queued.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db(backend, "link a task to its queue job"))?;
                }
            }
            derive_in_tx!(tx, backend, job.id)?;
            tx.commit().await.map_err(db(backend, "commit queueing tasks"))?;
        });
        self.queue.notify_enqueued();
        Ok(())
    }

    /// Runs `action` on job `job_id` for `actor`, after checking ADIT's preconditions.
    pub async fn job_action(&self, actor: Actor, job_id: i64, action: JobAction) -> JobResult<()> {
        let job = self.get_job(job_id).await?;
        let tasks = self.tasks(job_id).await?;
        let counts = TaskCounts::of(tasks.iter().map(|t| t.status));
        action.check(actor, job.owner_id, job.status, &counts)?;
        match action {
            JobAction::Verify => {
                self.requeue(
                    &job,
                    JobStatus::Unverified,
                    |t| t.status == TaskStatus::Pending,
                    false,
                )
                .await
            }
            JobAction::Resume => {
                self.requeue(
                    &job,
                    JobStatus::Canceled,
                    |t| t.status == TaskStatus::Canceled,
                    true,
                )
                .await
            }
            JobAction::Retry => {
                self.requeue(
                    &job,
                    JobStatus::Failure,
                    |t| t.status == TaskStatus::Failure,
                    true,
                )
                .await
            }
            JobAction::Restart => self.requeue(&job, job.status, |_| true, true).await,
            JobAction::Cancel => {
                let mut not_running = Vec::new();
                for task in tasks.iter().filter(|t| !t.status.is_final()) {
                    if self.stop_queue_job(task.queue_job_id).await? == Stopped::NotRunning {
                        not_running.push(task.id);
                    }
                }
                self.mark_canceled(job_id, &not_running, "Task manually canceled.", true)
                    .await?;
                Ok(())
            }
            JobAction::Delete => {
                for task in &tasks {
                    self.stop_queue_job(task.queue_job_id).await?;
                }
                let backend = self.db.backend();
                db_dispatch!(&self.db, pool => sqlx::query("DELETE FROM jobs WHERE id = $1")
                    .bind(job_id)
                    .execute(pool)
                    .await
                    .map_err(db(backend, "delete a job"))
                    .map(|_| ())?);
                Ok(())
            }
        }
    }

    /// Runs `action` on task `task_id` for `actor`, after checking ADIT's preconditions.
    pub async fn task_action(
        &self,
        actor: Actor,
        task_id: i64,
        action: TaskAction,
    ) -> JobResult<()> {
        let task = self.task(task_id).await?.ok_or(JobError::NoTask(task_id))?;
        let job = self.get_job(task.job_id).await?;
        action.check(actor, job.owner_id, job.status, task.status)?;
        let backend = self.db.backend();
        match action {
            TaskAction::Delete => {
                self.stop_queue_job(task.queue_job_id).await?;
                let change = db_dispatch!(&self.db, pool => {
                    let mut tx = pool.begin_write().await.map_err(db(backend, "begin deleting a task"))?;
                    sqlx::query("DELETE FROM tasks WHERE id = $1 AND status = 'PE'")
                        .bind(task_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db(backend, "delete a task"))?;
                    let change = derive_in_tx!(tx, backend, job.id)?;
                    tx.commit().await.map_err(db(backend, "commit deleting a task"))?;
                    change
                });
                self.after_change(job.id, change).await?;
            }
            TaskAction::Reset => {
                let change = db_dispatch!(&self.db, pool => {
                    let mut tx = pool.begin_write().await.map_err(db(backend, "begin resetting a task"))?;
                    let queued = tx.enqueue_on(&self.queue, &self.spec(job.kind, job.urgent, task_id)).await?;
                    reset_task_in_tx!(tx, backend, task_id, queued.0);
                    // A finished job runs again.
                    sqlx::query(
                        "UPDATE jobs SET status = 'PE', ended = NULL
                         WHERE id = $1 AND status IN ('CA', 'SU', 'WA', 'FA')",
                    )
                    .bind(job.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(backend, "reopen a job"))?;
                    let change = derive_in_tx!(tx, backend, job.id)?;
                    tx.commit().await.map_err(db(backend, "commit resetting a task"))?;
                    change
                });
                self.queue.notify_enqueued();
                self.after_change(job.id, change).await?;
            }
            TaskAction::Kill => {
                if self.stop_queue_job(task.queue_job_id).await? == Stopped::NotRunning {
                    self.mark_canceled(job.id, &[task_id], "Task was killed.", false)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
