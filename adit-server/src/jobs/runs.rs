//! What a worker records about a task run: start, progress, outcome, retry, release, and
//! batch query results.

use adit_core::model::Node;
use chrono::Utc;

use super::error::{JobError, JobResult};
use super::model::{BatchQueryResult, Job, Task};
use super::sql::{BeginWrite, to_json};
use super::status::{JobStatus, TaskStatus};
use super::store::{Jobs, derive_in_tx};
use crate::db_dispatch;
use crate::error::db;

/// Progress of a running task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskProgress {
    /// Instances with an outcome.
    pub instances_done: i64,
    /// Instances announced by the source.
    pub instances_expected: Option<i64>,
    /// Bytes stored.
    pub bytes_done: i64,
    /// Bytes announced by the source.
    pub bytes_expected: Option<i64>,
}

/// A task the worker may run now, with its job.
#[derive(Debug, Clone)]
pub struct Started {
    /// The job.
    pub job: Job,
    /// The task, already In Progress with this attempt counted.
    pub task: Task,
}

impl Jobs {
    /// Starts a run of task `task_id`: it must be Pending, or In Progress (its previous worker
    /// died). The task becomes In Progress with the attempt counted, the job In Progress.
    /// `None` when the task should not run: it is gone, finished, or its job is being canceled
    /// (then the task is marked canceled).
    pub async fn start_task(&self, task_id: i64) -> JobResult<Option<Started>> {
        let Some(task) = self.task(task_id).await? else {
            return Ok(None);
        };
        if task.status.is_final() {
            return Ok(None);
        }
        let job = self.get_job(task.job_id).await?;
        if matches!(
            job.status,
            JobStatus::Canceling | JobStatus::Canceled | JobStatus::Unverified
        ) {
            let backend = self.db.backend();
            let change = db_dispatch!(&self.db, pool => {
                let mut tx = pool.begin_write().await.map_err(db(backend, "begin skipping a task"))?;
                sqlx::query(
                    "UPDATE tasks SET status = 'CA', message = 'Task was canceled.', ended = $2
                     WHERE id = $1 AND status IN ('PE', 'IP')",
                )
                .bind(task_id)
                .bind(Utc::now())
                .execute(&mut *tx)
                .await
                .map_err(db(backend, "cancel a task"))?;
                let change = derive_in_tx!(tx, backend, job.id)?;
                tx.commit().await.map_err(db(backend, "commit skipping a task"))?;
                change
            });
            self.after_change(job.id, change).await?;
            return Ok(None);
        }
        let backend = self.db.backend();
        let started = db_dispatch!(&self.db, pool => {
            let mut tx = pool.begin_write().await.map_err(db(backend, "begin starting a task"))?;
            let moved = sqlx::query(
                "UPDATE tasks SET status = 'IP', started = $2, ended = NULL,
                     attempts = attempts + 1
                 WHERE id = $1 AND status IN ('PE', 'IP')",
            )
            .bind(task_id)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await
            .map_err(db(backend, "start a task"))?;
            if moved.rows_affected() == 1 {
                derive_in_tx!(tx, backend, job.id)?;
            }
            tx.commit().await.map_err(db(backend, "commit starting a task"))?;
            moved.rows_affected() == 1
        });
        if !started {
            return Ok(None);
        }
        let task = self.task(task_id).await?.ok_or(JobError::NoTask(task_id))?;
        let job = self.get_job(task.job_id).await?;
        Ok(Some(Started { job, task }))
    }

    /// Stores the progress of a running task.
    pub async fn record_progress(&self, task_id: i64, progress: TaskProgress) -> JobResult<()> {
        let backend = self.db.backend();
        db_dispatch!(&self.db, pool => sqlx::query(
            "UPDATE tasks SET instances_done = $2, instances_expected = $3, bytes_done = $4,
                 bytes_expected = $5, progress_updated = $6
             WHERE id = $1 AND status = 'IP'",
        )
        .bind(task_id)
        .bind(progress.instances_done)
        .bind(progress.instances_expected)
        .bind(progress.bytes_done)
        .bind(progress.bytes_expected)
        .bind(Utc::now())
        .execute(pool)
        .await
        .map_err(db(backend, "store task progress"))
        .map(|_| ())?);
        Ok(())
    }

    /// Ends a run with `status` (final), `message` and `log` lines appended to the task's log,
    /// then derives the job status (and mails when the job is over). Only a task still In
    /// Progress is changed (a kill or cancel that got there first wins).
    pub async fn finish_task(
        &self,
        task_id: i64,
        status: TaskStatus,
        message: &str,
        log: &str,
    ) -> JobResult<Option<JobStatus>> {
        self.end_run(task_id, status, message, log, false).await
    }

    /// Sends a task back to Pending after a retriable failure ("Task failed, but will be
    /// retried."), with the error appended to its log; the queue runs it again later.
    pub async fn retry_later(&self, task_id: i64, log: &str) -> JobResult<Option<JobStatus>> {
        self.end_run(
            task_id,
            TaskStatus::Pending,
            "Task failed, but will be retried.",
            log,
            true,
        )
        .await
    }

    /// Puts a running task back to Pending without an outcome (the worker shuts down; the
    /// queue gives the job to another worker).
    pub async fn release_task(&self, task_id: i64) -> JobResult<Option<JobStatus>> {
        self.end_run(
            task_id,
            TaskStatus::Pending,
            "Worker stopped; the task will run again.",
            "",
            false,
        )
        .await
    }

    async fn end_run(
        &self,
        task_id: i64,
        status: TaskStatus,
        message: &str,
        log: &str,
        count_retry: bool,
    ) -> JobResult<Option<JobStatus>> {
        let backend = self.db.backend();
        let ended = status.is_final().then(Utc::now);
        let change = db_dispatch!(&self.db, pool => {
            let mut tx = pool.begin_write().await.map_err(db(backend, "begin ending a task run"))?;
            let job_id: Option<i64> = sqlx::query_scalar(
                "UPDATE tasks SET status = $2, message = $3,
                     log = CASE WHEN $4 = '' THEN log WHEN log = '' THEN $4 ELSE log || $7 END,
                     ended = $5, retries = retries + $6
                 WHERE id = $1 AND status = 'IP' RETURNING job_id",
            )
            .bind(task_id)
            .bind(status.code())
            .bind(message)
            .bind(log)
            .bind(ended)
            .bind(i32::from(count_retry))
            .bind(format!("\n{log}"))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db(backend, "end a task run"))?;
            let change = match job_id {
                Some(job_id) => derive_in_tx!(tx, backend, job_id)?.map(|c| (job_id, c)),
                None => None,
            };
            tx.commit().await.map_err(db(backend, "commit a task outcome"))?;
            change
        });
        match change {
            Some((job_id, change)) => self.after_change(job_id, Some(change)).await,
            None => Ok(None),
        }
    }

    /// Replaces the batch query results of task `task_id` with `results`.
    pub async fn store_results(
        &self,
        job_id: i64,
        task_id: i64,
        results: &[BatchQueryResult],
    ) -> JobResult<()> {
        let backend = self.db.backend();
        db_dispatch!(&self.db, pool => {
            let mut tx = pool.begin_write().await.map_err(db(backend, "begin storing results"))?;
            sqlx::query("DELETE FROM batch_query_results WHERE task_id = $1")
                .bind(task_id)
                .execute(&mut *tx)
                .await
                .map_err(db(backend, "delete old query results"))?;
            for r in results {
                sqlx::query(
                    "INSERT INTO batch_query_results (job_id, task_id, patient_id, patient_name,
                         patient_birth_date, accession_number, study_date, study_time, modalities,
                         image_count, study_description, series_description, series_number,
                         pseudonym, study_uid, series_uid)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(job_id)
                .bind(task_id)
                .bind(&r.patient_id)
                .bind(&r.patient_name)
                .bind(&r.patient_birth_date)
                .bind(&r.accession_number)
                .bind(&r.study_date)
                .bind(&r.study_time)
                .bind(to_json(&r.modalities))
                .bind(r.image_count)
                .bind(&r.study_description)
                .bind(&r.series_description)
                .bind(&r.series_number)
                .bind(&r.pseudonym)
                .bind(&r.study_uid)
                .bind(&r.series_uid)
                .execute(&mut *tx)
                .await
                .map_err(db(backend, "store a query result"))?;
            }
            tx.commit().await.map_err(db(backend, "commit query results"))?;
        });
        Ok(())
    }

    /// The batch query results of job `job_id`, by task then insertion order.
    pub async fn results(&self, job_id: i64) -> JobResult<Vec<BatchQueryResult>> {
        let backend = self.db.backend();
        let rows = db_dispatch!(&self.db, pool => {
            use sqlx::Row as _;
            let rows = sqlx::query(
                "SELECT patient_id, patient_name, patient_birth_date, accession_number,
                     study_date, study_time, modalities, image_count, study_description,
                     series_description, series_number, pseudonym, study_uid, series_uid
                 FROM batch_query_results WHERE job_id = $1 ORDER BY task_id, id",
            )
            .bind(job_id)
            .fetch_all(pool)
            .await
            .map_err(db(backend, "read query results"))?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let decoded = (|| -> Result<BatchQueryResult, sqlx::Error> {
                    let modalities: String = row.try_get("modalities")?;
                    Ok(BatchQueryResult {
                        patient_id: row.try_get("patient_id")?,
                        patient_name: row.try_get("patient_name")?,
                        patient_birth_date: row.try_get("patient_birth_date")?,
                        accession_number: row.try_get("accession_number")?,
                        study_date: row.try_get("study_date")?,
                        study_time: row.try_get("study_time")?,
                        modalities: super::sql::from_json(&modalities)?,
                        image_count: row.try_get("image_count")?,
                        study_description: row.try_get("study_description")?,
                        series_description: row.try_get("series_description")?,
                        series_number: row.try_get("series_number")?,
                        pseudonym: row.try_get("pseudonym")?,
                        study_uid: row.try_get("study_uid")?,
                        series_uid: row.try_get("series_uid")?,
                    })
                })()
                .map_err(db(backend, "decode a query result"))?;
                out.push(decoded);
            }
            out
        });
        Ok(rows)
    }

    /// The username of user `user_id` (for ADIT's job folder name).
    pub async fn username(&self, user_id: i64) -> JobResult<String> {
        let backend = self.db.backend();
        let name: Option<String> = db_dispatch!(&self.db, pool =>
            sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await
                .map_err(db(backend, "read a username"))?);
        name.ok_or_else(|| {
            JobError::Server(crate::Error::NotFound {
                what: "user",
                name: user_id.to_string(),
            })
        })
    }

    /// The node description of node `node_id` (the serde JSON in `nodes.spec`).
    pub async fn node(&self, node_id: i64) -> JobResult<Node> {
        let backend = self.db.backend();
        let spec: Option<String> = db_dispatch!(&self.db, pool =>
            sqlx::query_scalar("SELECT CAST(spec AS TEXT) FROM nodes WHERE id = $1")
                .bind(node_id)
                .fetch_optional(pool)
                .await
                .map_err(db(backend, "read a node"))?);
        let spec = spec.ok_or_else(|| crate::Error::NotFound {
            what: "node",
            name: node_id.to_string(),
        })?;
        serde_json::from_str(&spec).map_err(|e| {
            JobError::Server(crate::Error::CorruptRow {
                table: "nodes",
                reason: format!("node {node_id}: {e}"),
            })
        })
    }
}
