//! [`JobQueue`]: the queue on PostgreSQL or SQLite, and its [`Queue`] implementation.
//!
//! Both backends share one schema (see `migrations/`) and the same transitions; only the SQL
//! dialect differs: PostgreSQL claims with `FOR UPDATE SKIP LOCKED` and wakes workers with
//! `NOTIFY` from a trigger, SQLite claims inside `BEGIN IMMEDIATE` (one writer at a time, WAL
//! so readers never wait) and wakes workers of the same process through a [`Notify`].

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use adit_core::queue::{
    Backoff, ClaimedJob, Job, JobId, JobSpec, JobStatus, Queue, RetryPolicy, TaskError, WorkerId,
};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{PgConnection, PgPool, Row, SqliteConnection, SqlitePool};
use tokio::sync::Notify;

use crate::clock::{Clock, SystemClock, micros};
use crate::error::{Error, Result, db};
use crate::migrate;

/// The `NOTIFY` channel on which PostgreSQL announces runnable jobs (payload: queue name).
pub const NOTIFY_CHANNEL: &str = "adit_queue";

/// Claim attempts on PostgreSQL when another worker took the same lock key concurrently.
const PG_CLAIM_LOCK_RETRIES: usize = 8;

/// The columns of a job row, in the order [`pg_job`] and [`sqlite_job`] read them.
macro_rules! job_columns {
    () => {
        "id, queue, task, args, priority, status, run_after, queueing_lock, lock_key, attempts, \
         max_attempts, backoff, worker_id, created_at, started_at, finished_at, last_error"
    };
}
pub(crate) use job_columns;

/// Reads a job row; `$args` turns the row's `args` column into a JSON value.
macro_rules! read_job {
    ($row:expr, $backend:literal, $args:expr) => {{
        let row = $row;
        let get = db($backend, "read a job row");
        let status: String = row.try_get("status").map_err(get)?;
        let backoff: String = row
            .try_get("backoff")
            .map_err(db($backend, "read a job row"))?;
        let worker: Option<String> = row
            .try_get("worker_id")
            .map_err(db($backend, "read a job row"))?;
        let attempts: i32 = row
            .try_get("attempts")
            .map_err(db($backend, "read a job row"))?;
        let max_attempts: i32 = row
            .try_get("max_attempts")
            .map_err(db($backend, "read a job row"))?;
        (|| -> std::result::Result<Job, sqlx::Error> {
            Ok(Job {
                id: JobId(row.try_get("id")?),
                task: row.try_get("task")?,
                queue: row.try_get("queue")?,
                args: $args(row)?,
                priority: row.try_get("priority")?,
                status: JobStatus::Todo,
                run_after: row.try_get("run_after")?,
                queueing_lock: row.try_get("queueing_lock")?,
                lock: row.try_get("lock_key")?,
                attempts: u32::try_from(attempts).unwrap_or(0),
                retry: RetryPolicy::NONE,
                worker: worker.map(WorkerId),
                created_at: row.try_get("created_at")?,
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
                last_error: row.try_get("last_error")?,
            })
        })()
        .map_err(db($backend, "read a job row"))
        .and_then(|mut job| {
            job.status = parse_status(&status)?;
            job.retry = RetryPolicy {
                max_attempts: u32::try_from(max_attempts).unwrap_or(1),
                backoff: serde_json::from_str::<Backoff>(&backoff).map_err(|e| {
                    Error::CorruptRow {
                        reason: format!("backoff `{backoff}`: {e}"),
                    }
                })?,
            };
            Ok(job)
        })
    }};
}

/// A durable job queue on PostgreSQL or SQLite. Cheap to clone (pools are shared).
#[derive(Clone, Debug)]
pub struct JobQueue {
    backend: Backend,
    clock: Arc<dyn Clock>,
    notify: Arc<Notify>,
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl JobQueue {
    /// Connects to `postgres://…`/`postgresql://…` or `sqlite://…` (created if missing, WAL
    /// mode) and runs the queue's migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(32)
                .acquire_timeout(Duration::from_secs(30))
                .connect(url)
                .await
                .map_err(db("postgres", "connect"))?;
            Self::with_postgres(pool).await
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url).map_err(|e| Error::InvalidUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
            let pool = crate::sqlite::open_pool(options, 8)
                .await
                .map_err(db("sqlite", "connect"))?;
            Self::with_sqlite(pool).await
        } else {
            Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason: "expected postgres://, postgresql:// or sqlite:".to_owned(),
            })
        }
    }

    /// Uses an existing PostgreSQL pool (e.g. the server's) and runs the queue's migrations.
    pub async fn with_postgres(pool: PgPool) -> Result<Self> {
        migrate::QUEUE.apply_postgres(&pool).await?;
        Ok(Self::new(Backend::Postgres(pool)))
    }

    /// Uses an existing SQLite pool and runs the queue's migrations. The pool should use WAL
    /// mode and a busy timeout, as [`JobQueue::connect`] sets up.
    pub async fn with_sqlite(pool: SqlitePool) -> Result<Self> {
        migrate::QUEUE.apply_sqlite(&pool).await?;
        Ok(Self::new(Backend::Sqlite(pool)))
    }

    fn new(backend: Backend) -> Self {
        JobQueue {
            backend,
            clock: Arc::new(SystemClock),
            notify: Arc::new(Notify::new()),
        }
    }

    /// The same queue reading time from `clock` (tests of delays, cron and windows).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock this queue reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// `postgres` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// The PostgreSQL pool, if this queue runs on PostgreSQL.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.backend {
            Backend::Postgres(pool) => Some(pool),
            Backend::Sqlite(_) => None,
        }
    }

    /// The SQLite pool, if this queue runs on SQLite.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.backend {
            Backend::Sqlite(pool) => Some(pool),
            Backend::Postgres(_) => None,
        }
    }

    /// The in-process wake-up signal for workers of this queue.
    pub(crate) fn notifier(&self) -> &Arc<Notify> {
        &self.notify
    }

    /// Wakes this process's workers. Call after committing a transaction that enqueued on
    /// SQLite; on PostgreSQL the commit's `NOTIFY` does this for every process.
    pub fn notify_enqueued(&self) {
        self.notify.notify_waiters();
    }

    /// The database this queue runs on (batch operations live in their own module).
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// Enqueues on a caller's PostgreSQL connection or transaction, so the job commits (and
    /// wakes workers) together with the caller's own rows.
    pub async fn enqueue_pg(&self, conn: &mut PgConnection, spec: &JobSpec) -> Result<JobId> {
        let now = self.now();
        let run_after = spec.run_after.map_or(now, micros);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO adit_queue_jobs (queue, task, args, priority, run_after, queueing_lock,
                 lock_key, max_attempts, backoff, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&spec.queue)
        .bind(&spec.task)
        .bind(&spec.args)
        .bind(spec.priority)
        .bind(run_after)
        .bind(&spec.queueing_lock)
        .bind(&spec.lock)
        .bind(attempts_i32(spec.retry.max_attempts))
        .bind(backoff_json(&spec.retry.backoff)?)
        .bind(now)
        .fetch_one(conn)
        .await
        .map_err(|e| enqueue_error(e, "postgres", spec))?;
        Ok(JobId(id))
    }

    /// Enqueues on a caller's SQLite connection or transaction. Workers in this process are
    /// woken at once (they find the job after the commit, or at their next poll); call
    /// [`JobQueue::notify_enqueued`] after the commit for an immediate start.
    pub async fn enqueue_sqlite(
        &self,
        conn: &mut SqliteConnection,
        spec: &JobSpec,
    ) -> Result<JobId> {
        let now = self.now();
        let run_after = spec.run_after.map_or(now, micros);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO adit_queue_jobs (queue, task, args, priority, run_after, queueing_lock,
                 lock_key, max_attempts, backoff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        )
        .bind(&spec.queue)
        .bind(&spec.task)
        .bind(spec.args.to_string())
        .bind(spec.priority)
        .bind(run_after)
        .bind(&spec.queueing_lock)
        .bind(&spec.lock)
        .bind(attempts_i32(spec.retry.max_attempts))
        .bind(backoff_json(&spec.retry.backoff)?)
        .bind(now)
        .fetch_one(conn)
        .await
        .map_err(|e| enqueue_error(e, "sqlite", spec))?;
        self.notify.notify_waiters();
        Ok(JobId(id))
    }

    /// Refreshes the heartbeat of every job `worker` runs and returns their ids with their
    /// status; a job missing from the answer was taken away (recovered) from this worker.
    pub async fn heartbeat(&self, worker: &WorkerId) -> Result<Vec<(JobId, JobStatus)>> {
        let now = self.now();
        let rows: Vec<(i64, String)> = match &self.backend {
            Backend::Postgres(pool) => sqlx::query_as(
                "UPDATE adit_queue_jobs SET heartbeat_at = $2
                 WHERE worker_id = $1 AND status IN ('doing', 'aborting') RETURNING id, status",
            )
            .bind(&worker.0)
            .bind(now)
            .fetch_all(pool)
            .await
            .map_err(db("postgres", "send a heartbeat"))?,
            Backend::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db("sqlite", "send a heartbeat"))?;
                let rows = sqlx::query_as(
                    "UPDATE adit_queue_jobs SET heartbeat_at = ?2
                     WHERE worker_id = ?1 AND status IN ('doing', 'aborting')
                     RETURNING id, status",
                )
                .bind(&worker.0)
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(db("sqlite", "send a heartbeat"))?;
                tx.commit()
                    .await
                    .map_err(db("sqlite", "send a heartbeat"))?;
                rows
            }
        };
        rows.into_iter()
            .map(|(id, status)| Ok((JobId(id), parse_status(&status)?)))
            .collect()
    }

    /// Puts back the running jobs whose heartbeat is older than `stale_after` (their worker
    /// died): to `todo` to be retried, or to `aborted` if an abort was pending. Returns them.
    pub async fn recover_stale(&self, stale_after: Duration) -> Result<Vec<JobId>> {
        let now = self.now();
        let cutoff = now - delta(stale_after);
        let (ids, backend): (Vec<i64>, _) = match &self.backend {
            Backend::Postgres(pool) => (
                sqlx::query_scalar(
                    "SELECT id FROM adit_queue_jobs
                     WHERE status IN ('doing', 'aborting') AND heartbeat_at < $1 ORDER BY id",
                )
                .bind(cutoff)
                .fetch_all(pool)
                .await
                .map_err(db("postgres", "find stale jobs"))?,
                "postgres",
            ),
            Backend::Sqlite(pool) => (
                sqlx::query_scalar(
                    "SELECT id FROM adit_queue_jobs
                     WHERE status IN ('doing', 'aborting') AND heartbeat_at < ?1 ORDER BY id",
                )
                .bind(cutoff)
                .fetch_all(pool)
                .await
                .map_err(db("sqlite", "find stale jobs"))?,
                "sqlite",
            ),
        };
        let mut recovered = Vec::new();
        // One job per statement: two stale jobs sharing a queueing lock must not both go back
        // to `todo` (the unique index), so the second one gives its queueing lock up.
        for id in ids {
            let done = match &self.backend {
                Backend::Postgres(pool) => sqlx::query(
                    "UPDATE adit_queue_jobs j SET
                         status = CASE WHEN j.status = 'aborting' THEN 'aborted' ELSE 'todo' END,
                         finished_at = CASE WHEN j.status = 'aborting' THEN $3 END,
                         last_error = 'worker ' || j.worker_id || ' stopped sending heartbeats',
                         heartbeat_at = NULL,
                         queueing_lock = CASE WHEN EXISTS (SELECT 1 FROM adit_queue_jobs o
                             WHERE o.queueing_lock = j.queueing_lock AND o.status = 'todo')
                             THEN NULL ELSE j.queueing_lock END
                     WHERE j.id = $1 AND j.status IN ('doing', 'aborting') AND j.heartbeat_at < $2",
                )
                .bind(id)
                .bind(cutoff)
                .bind(now)
                .execute(pool)
                .await
                .map_err(db(backend, "recover a stale job"))?
                .rows_affected(),
                Backend::Sqlite(pool) => {
                    let mut tx = pool
                        .begin_with("BEGIN IMMEDIATE")
                        .await
                        .map_err(db(backend, "recover a stale job"))?;
                    let n = sqlx::query(
                        "UPDATE adit_queue_jobs AS j SET
                             status = CASE WHEN j.status = 'aborting' THEN 'aborted' ELSE 'todo' END,
                             finished_at = CASE WHEN j.status = 'aborting' THEN ?3 END,
                             last_error = 'worker ' || j.worker_id || ' stopped sending heartbeats',
                             heartbeat_at = NULL,
                             queueing_lock = CASE WHEN EXISTS (SELECT 1 FROM adit_queue_jobs o
                                 WHERE o.queueing_lock = j.queueing_lock AND o.status = 'todo')
                                 THEN NULL ELSE j.queueing_lock END
                         WHERE j.id = ?1 AND j.status IN ('doing', 'aborting')
                             AND j.heartbeat_at < ?2",
                    )
                    .bind(id)
                    .bind(cutoff)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(backend, "recover a stale job"))?
                    .rows_affected();
                    tx.commit()
                        .await
                        .map_err(db(backend, "recover a stale job"))?;
                    n
                }
            };
            if done == 1 {
                tracing::warn!(
                    job = id,
                    "recovered a job whose worker stopped heartbeating"
                );
                recovered.push(JobId(id));
            }
        }
        if !recovered.is_empty() {
            self.notify.notify_waiters();
        }
        Ok(recovered)
    }

    /// Deletes finished jobs that finished before `before` (the history's retention).
    pub async fn purge_finished(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = micros(before);
        match &self.backend {
            Backend::Postgres(pool) => sqlx::query(
                "DELETE FROM adit_queue_jobs WHERE status IN
                     ('succeeded', 'failed', 'cancelled', 'aborted') AND finished_at < $1",
            )
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(db("postgres", "purge finished jobs")),
            Backend::Sqlite(pool) => sqlx::query(
                "DELETE FROM adit_queue_jobs WHERE status IN
                     ('succeeded', 'failed', 'cancelled', 'aborted') AND finished_at < ?1",
            )
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(db("sqlite", "purge finished jobs")),
        }
    }

    /// How many jobs are in each status (absent statuses have none).
    pub async fn counts(&self) -> Result<HashMap<JobStatus, i64>> {
        let sql = "SELECT status, COUNT(*) FROM adit_queue_jobs GROUP BY status";
        let rows: Vec<(String, i64)> = match &self.backend {
            Backend::Postgres(pool) => sqlx::query_as(sql)
                .fetch_all(pool)
                .await
                .map_err(db("postgres", "count jobs"))?,
            Backend::Sqlite(pool) => sqlx::query_as(sql)
                .fetch_all(pool)
                .await
                .map_err(db("sqlite", "count jobs"))?,
        };
        rows.into_iter()
            .map(|(status, n)| Ok((parse_status(&status)?, n)))
            .collect()
    }

    /// Records cron `slot` of periodic `task` and enqueues `spec` for it, unless some worker
    /// already did: the `(task, slot)` primary key lets exactly one caller through.
    pub async fn fire_periodic(
        &self,
        task: &str,
        slot: DateTime<Utc>,
        spec: &JobSpec,
    ) -> Result<Option<JobId>> {
        let slot = micros(slot);
        match &self.backend {
            Backend::Postgres(pool) => {
                let err = |op| db("postgres", op);
                let mut tx = pool.begin().await.map_err(err("fire a periodic task"))?;
                let claimed = sqlx::query(
                    "INSERT INTO adit_queue_periodic (task, slot) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                )
                .bind(task)
                .bind(slot)
                .execute(&mut *tx)
                .await
                .map_err(err("fire a periodic task"))?
                .rows_affected();
                if claimed == 0 {
                    return Ok(None);
                }
                let id = self.enqueue_pg(&mut tx, spec).await?;
                sqlx::query(
                    "UPDATE adit_queue_periodic SET job_id = $3 WHERE task = $1 AND slot = $2",
                )
                .bind(task)
                .bind(slot)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(err("fire a periodic task"))?;
                tx.commit().await.map_err(err("fire a periodic task"))?;
                Ok(Some(id))
            }
            Backend::Sqlite(pool) => {
                let err = |op| db("sqlite", op);
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(err("fire a periodic task"))?;
                let claimed = sqlx::query(
                    "INSERT INTO adit_queue_periodic (task, slot) VALUES (?1, ?2)
                     ON CONFLICT DO NOTHING",
                )
                .bind(task)
                .bind(slot)
                .execute(&mut *tx)
                .await
                .map_err(err("fire a periodic task"))?
                .rows_affected();
                if claimed == 0 {
                    return Ok(None);
                }
                let id = self.enqueue_sqlite(&mut tx, spec).await?;
                sqlx::query(
                    "UPDATE adit_queue_periodic SET job_id = ?3 WHERE task = ?1 AND slot = ?2",
                )
                .bind(task)
                .bind(slot)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(err("fire a periodic task"))?;
                tx.commit().await.map_err(err("fire a periodic task"))?;
                self.notify.notify_waiters();
                Ok(Some(id))
            }
        }
    }

    async fn claim_pg(
        &self,
        pool: &PgPool,
        worker: &WorkerId,
        queues: &[String],
    ) -> Result<Option<Job>> {
        for _ in 0..PG_CLAIM_LOCK_RETRIES {
            let now = self.now();
            // A claim need not wait for its WAL flush: if the server crashes before the flush,
            // the job is simply `todo` again (and the worker's outcome is refused by the fence).
            // `set_config(..., true)` makes that local to the statement's own transaction, so
            // the claim is one round trip instead of BEGIN, SET LOCAL, UPDATE, COMMIT.
            let row = sqlx::query(concat!(
                "UPDATE adit_queue_jobs SET status = 'doing', attempts = attempts + 1,
                     worker_id = $2, heartbeat_at = $3, started_at = $3, finished_at = NULL
                 WHERE id = (
                     SELECT j.id FROM adit_queue_jobs j
                     WHERE j.status = 'todo' AND j.queue = ANY($1) AND j.run_after <= $3
                       AND (j.lock_key IS NULL OR NOT EXISTS (
                           SELECT 1 FROM adit_queue_jobs r
                           WHERE r.lock_key = j.lock_key AND r.status IN ('doing', 'aborting')))
                     ORDER BY j.priority DESC, j.id
                     FOR UPDATE SKIP LOCKED
                     LIMIT 1)
                   AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL
                 RETURNING ",
                job_columns!()
            ))
            .bind(queues)
            .bind(&worker.0)
            .bind(now)
            .fetch_optional(pool)
            .await;
            match row {
                Ok(row) => return row.as_ref().map(pg_job).transpose(),
                // Another worker started a job with the same lock key between our check and
                // our update: the unique index refused; look again.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(db("postgres", "claim a job")(e)),
            }
        }
        Ok(None)
    }

    async fn claim_sqlite(
        &self,
        pool: &SqlitePool,
        worker: &WorkerId,
        queues: &[String],
    ) -> Result<Option<Job>> {
        let err = |op| db("sqlite", op);
        let queues = serde_json::to_string(queues).map_err(|e| Error::CorruptRow {
            reason: e.to_string(),
        })?;
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(err("claim a job"))?;
        let now = self.now();
        let row = sqlx::query(concat!(
            "UPDATE adit_queue_jobs SET status = 'doing', attempts = attempts + 1,
                 worker_id = ?2, heartbeat_at = ?3, started_at = ?3, finished_at = NULL
             WHERE id = (
                 SELECT j.id FROM adit_queue_jobs j
                 WHERE j.status = 'todo' AND j.queue IN (SELECT value FROM json_each(?1))
                   AND j.run_after <= ?3
                   AND (j.lock_key IS NULL OR NOT EXISTS (
                       SELECT 1 FROM adit_queue_jobs r
                       WHERE r.lock_key = j.lock_key AND r.status IN ('doing', 'aborting')))
                 ORDER BY j.priority DESC, j.id
                 LIMIT 1)
             RETURNING ",
            job_columns!()
        ))
        .bind(queues)
        .bind(&worker.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err("claim a job"))?;
        let job = row.as_ref().map(sqlite_job).transpose()?;
        tx.commit().await.map_err(err("claim a job"))?;
        Ok(job)
    }

    /// Runs one fenced update on the claimed job and returns the new status if it applied.
    async fn finish(
        &self,
        claimed: &ClaimedJob,
        operation: &'static str,
        pg_sql: &'static str,
        sqlite_sql: &'static str,
        error: Option<&str>,
        run_after: Option<DateTime<Utc>>,
    ) -> Result<Option<JobStatus>> {
        let now = self.now();
        let status: Option<String> = match &self.backend {
            Backend::Postgres(pool) => sqlx::query_scalar(pg_sql)
                .bind(claimed.job.id.0)
                .bind(&claimed.worker.0)
                .bind(now)
                .bind(error)
                .bind(run_after)
                .fetch_optional(pool)
                .await
                .map_err(db("postgres", operation))?,
            Backend::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db("sqlite", operation))?;
                let status = sqlx::query_scalar(sqlite_sql)
                    .bind(claimed.job.id.0)
                    .bind(&claimed.worker.0)
                    .bind(now)
                    .bind(error)
                    .bind(run_after)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("sqlite", operation))?;
                tx.commit().await.map_err(db("sqlite", operation))?;
                status
            }
        };
        let status = status.as_deref().map(parse_status).transpose()?;
        if status == Some(JobStatus::Todo) {
            self.notify.notify_waiters();
        }
        Ok(status)
    }

    /// Runs a status change on a job by id; `true` if a row changed.
    async fn change(
        &self,
        operation: &'static str,
        pg_sql: &'static str,
        sqlite_sql: &'static str,
        id: JobId,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let result = match &self.backend {
            Backend::Postgres(pool) => sqlx::query(pg_sql)
                .bind(id.0)
                .bind(at)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| (e, "postgres")),
            Backend::Sqlite(pool) => async {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let n = sqlx::query(sqlite_sql)
                    .bind(id.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n)
            }
            .await
            .map_err(|e| (e, "sqlite")),
        };
        match result {
            Ok(n) => Ok(n > 0),
            Err((sqlx::Error::Database(e), _)) if e.is_unique_violation() => {
                Err(Error::AlreadyQueued {
                    queueing_lock: format!("of {id}"),
                })
            }
            Err((e, backend)) => Err(db(backend, operation)(e)),
        }
    }
}

pub(crate) fn pg_job(row: &PgRow) -> Result<Job> {
    read_job!(row, "postgres", |row: &PgRow| row
        .try_get::<serde_json::Value, _>("args"))
}

pub(crate) fn sqlite_job(row: &SqliteRow) -> Result<Job> {
    read_job!(row, "sqlite", |row: &SqliteRow| {
        let text: String = row.try_get("args")?;
        serde_json::from_str::<serde_json::Value>(&text).map_err(|e| sqlx::Error::ColumnDecode {
            index: "args".to_owned(),
            source: Box::new(e),
        })
    })
}

fn parse_status(name: &str) -> Result<JobStatus> {
    JobStatus::parse(name).ok_or_else(|| Error::CorruptRow {
        reason: format!("unknown status `{name}`"),
    })
}

pub(crate) fn backoff_json(backoff: &Backoff) -> Result<String> {
    serde_json::to_string(backoff).map_err(|e| Error::CorruptRow {
        reason: format!("backoff not serializable: {e}"),
    })
}

pub(crate) fn attempts_i32(n: u32) -> i32 {
    i32::try_from(n.max(1)).unwrap_or(i32::MAX)
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn enqueue_error(e: sqlx::Error, backend: &'static str, spec: &JobSpec) -> Error {
    match (&e, &spec.queueing_lock) {
        (sqlx::Error::Database(d), Some(lock)) if d.is_unique_violation() => Error::AlreadyQueued {
            queueing_lock: lock.clone(),
        },
        _ => db(backend, "enqueue a job")(e),
    }
}

// Fenced updates of a claimed job. Binds: 1 id, 2 worker, 3 now, 4 error text, 5 run_after.
const COMPLETE_PG: &str = "UPDATE adit_queue_jobs SET status = 'succeeded', finished_at = $3,
        heartbeat_at = NULL, last_error = COALESCE($4, last_error), run_after = COALESCE($5, run_after)
    WHERE id = $1 AND worker_id = $2 AND status IN ('doing', 'aborting') RETURNING status";
const COMPLETE_SQLITE: &str = "UPDATE adit_queue_jobs SET status = 'succeeded', finished_at = ?3,
        heartbeat_at = NULL, last_error = COALESCE(?4, last_error), run_after = COALESCE(?5, run_after)
    WHERE id = ?1 AND worker_id = ?2 AND status IN ('doing', 'aborting') RETURNING status";
/// `$5` is the next run time when the failure is retried, NULL when it is final.
const FAIL_PG: &str = "UPDATE adit_queue_jobs j SET
        status = CASE WHEN j.status = 'aborting' THEN 'aborted'
                      WHEN $5::timestamptz IS NOT NULL THEN 'todo' ELSE 'failed' END,
        finished_at = CASE WHEN j.status <> 'aborting' AND $5::timestamptz IS NOT NULL
                           THEN NULL ELSE $3 END,
        run_after = CASE WHEN j.status <> 'aborting' AND $5::timestamptz IS NOT NULL
                         THEN $5 ELSE j.run_after END,
        queueing_lock = CASE WHEN j.status <> 'aborting' AND $5::timestamptz IS NOT NULL
            AND EXISTS (SELECT 1 FROM adit_queue_jobs o
                        WHERE o.queueing_lock = j.queueing_lock AND o.status = 'todo')
            THEN NULL ELSE j.queueing_lock END,
        heartbeat_at = NULL, last_error = $4
    WHERE j.id = $1 AND j.worker_id = $2 AND j.status IN ('doing', 'aborting') RETURNING j.status";
const FAIL_SQLITE: &str = "UPDATE adit_queue_jobs AS j SET
        status = CASE WHEN j.status = 'aborting' THEN 'aborted'
                      WHEN ?5 IS NOT NULL THEN 'todo' ELSE 'failed' END,
        finished_at = CASE WHEN j.status <> 'aborting' AND ?5 IS NOT NULL THEN NULL ELSE ?3 END,
        run_after = CASE WHEN j.status <> 'aborting' AND ?5 IS NOT NULL
                         THEN ?5 ELSE j.run_after END,
        queueing_lock = CASE WHEN j.status <> 'aborting' AND ?5 IS NOT NULL
            AND EXISTS (SELECT 1 FROM adit_queue_jobs o
                        WHERE o.queueing_lock = j.queueing_lock AND o.status = 'todo')
            THEN NULL ELSE j.queueing_lock END,
        heartbeat_at = NULL, last_error = ?4
    WHERE j.id = ?1 AND j.worker_id = ?2 AND j.status IN ('doing', 'aborting') RETURNING status";
/// Graceful shutdown: back to `todo` without counting the attempt (a pending abort wins).
const RELEASE_PG: &str = "UPDATE adit_queue_jobs j SET
        status = CASE WHEN j.status = 'aborting' THEN 'aborted' ELSE 'todo' END,
        finished_at = CASE WHEN j.status = 'aborting' THEN $3 END,
        attempts = CASE WHEN j.status = 'aborting' THEN j.attempts ELSE j.attempts - 1 END,
        queueing_lock = CASE WHEN j.status <> 'aborting' AND EXISTS (SELECT 1 FROM adit_queue_jobs o
                WHERE o.queueing_lock = j.queueing_lock AND o.status = 'todo')
            THEN NULL ELSE j.queueing_lock END,
        heartbeat_at = NULL, last_error = COALESCE($4, j.last_error),
        run_after = COALESCE($5, j.run_after)
    WHERE j.id = $1 AND j.worker_id = $2 AND j.status IN ('doing', 'aborting') RETURNING j.status";
const RELEASE_SQLITE: &str = "UPDATE adit_queue_jobs AS j SET
        status = CASE WHEN j.status = 'aborting' THEN 'aborted' ELSE 'todo' END,
        finished_at = CASE WHEN j.status = 'aborting' THEN ?3 END,
        attempts = CASE WHEN j.status = 'aborting' THEN j.attempts ELSE j.attempts - 1 END,
        queueing_lock = CASE WHEN j.status <> 'aborting' AND EXISTS (SELECT 1 FROM adit_queue_jobs o
                WHERE o.queueing_lock = j.queueing_lock AND o.status = 'todo')
            THEN NULL ELSE j.queueing_lock END,
        heartbeat_at = NULL, last_error = COALESCE(?4, j.last_error),
        run_after = COALESCE(?5, j.run_after)
    WHERE j.id = ?1 AND j.worker_id = ?2 AND j.status IN ('doing', 'aborting') RETURNING status";

// Status changes by id. Binds: 1 id, 2 time (now or run_after).
const RETRY_PG: &str = "UPDATE adit_queue_jobs SET status = 'todo', attempts = 0, run_after = $2,
        finished_at = NULL, started_at = NULL, heartbeat_at = NULL
    WHERE id = $1 AND status IN ('succeeded', 'failed', 'cancelled', 'aborted')";
const RETRY_SQLITE: &str =
    "UPDATE adit_queue_jobs SET status = 'todo', attempts = 0, run_after = ?2,
        finished_at = NULL, started_at = NULL, heartbeat_at = NULL
    WHERE id = ?1 AND status IN ('succeeded', 'failed', 'cancelled', 'aborted')";
const CANCEL_PG: &str = "UPDATE adit_queue_jobs SET status = 'cancelled', finished_at = $2
    WHERE id = $1 AND status = 'todo'";
const CANCEL_SQLITE: &str = "UPDATE adit_queue_jobs SET status = 'cancelled', finished_at = ?2
    WHERE id = ?1 AND status = 'todo'";
const ABORT_PG: &str = "UPDATE adit_queue_jobs SET status = 'aborting'
    WHERE id = $1 AND status = 'doing' AND $2::timestamptz IS NOT NULL";
const ABORT_SQLITE: &str = "UPDATE adit_queue_jobs SET status = 'aborting'
    WHERE id = ?1 AND status = 'doing' AND ?2 IS NOT NULL";

#[async_trait]
impl Queue for JobQueue {
    type Error = Error;

    async fn enqueue(&self, spec: &JobSpec) -> Result<JobId> {
        match &self.backend {
            Backend::Postgres(pool) => {
                let mut conn = pool
                    .acquire()
                    .await
                    .map_err(db("postgres", "enqueue a job"))?;
                self.enqueue_pg(&mut conn, spec).await
            }
            Backend::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db("sqlite", "enqueue a job"))?;
                let id = self.enqueue_sqlite(&mut tx, spec).await?;
                tx.commit().await.map_err(db("sqlite", "enqueue a job"))?;
                self.notify.notify_waiters();
                Ok(id)
            }
        }
    }

    async fn claim(&self, worker: &WorkerId, queues: &[String]) -> Result<Option<ClaimedJob>> {
        if queues.is_empty() {
            return Ok(None);
        }
        let job = match &self.backend {
            Backend::Postgres(pool) => self.claim_pg(pool, worker, queues).await?,
            Backend::Sqlite(pool) => self.claim_sqlite(pool, worker, queues).await?,
        };
        Ok(job.map(|job| ClaimedJob {
            job,
            worker: worker.clone(),
        }))
    }

    async fn complete(&self, job: &ClaimedJob) -> Result<bool> {
        let status = self
            .finish(
                job,
                "complete a job",
                COMPLETE_PG,
                COMPLETE_SQLITE,
                None,
                None,
            )
            .await?;
        Ok(status.is_some())
    }

    async fn fail(&self, job: &ClaimedJob, error: &TaskError) -> Result<Option<JobStatus>> {
        let wait = if error.retriable {
            job.job.retry.next_wait(job.job.attempts)
        } else {
            None
        };
        let run_after = wait.map(|w| self.now() + delta(w));
        self.finish(
            job,
            "record a failed job",
            FAIL_PG,
            FAIL_SQLITE,
            Some(&error.message),
            run_after,
        )
        .await
    }

    async fn release(&self, job: &ClaimedJob) -> Result<bool> {
        let status = self
            .finish(job, "release a job", RELEASE_PG, RELEASE_SQLITE, None, None)
            .await?;
        Ok(status.is_some())
    }

    async fn retry(&self, id: JobId, run_after: Option<DateTime<Utc>>) -> Result<bool> {
        let at = run_after.map_or_else(|| self.now(), micros);
        let changed = self
            .change("retry a job", RETRY_PG, RETRY_SQLITE, id, at)
            .await?;
        if changed {
            self.notify.notify_waiters();
        }
        Ok(changed)
    }

    async fn cancel(&self, id: JobId) -> Result<bool> {
        let now = self.now();
        self.change("cancel a job", CANCEL_PG, CANCEL_SQLITE, id, now)
            .await
    }

    async fn abort(&self, id: JobId) -> Result<bool> {
        if self.cancel(id).await? {
            return Ok(true);
        }
        let now = self.now();
        self.change("abort a job", ABORT_PG, ABORT_SQLITE, id, now)
            .await
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        match &self.backend {
            Backend::Postgres(pool) => sqlx::query(concat!(
                "SELECT ",
                job_columns!(),
                " FROM adit_queue_jobs WHERE id = $1"
            ))
            .bind(id.0)
            .fetch_optional(pool)
            .await
            .map_err(db("postgres", "read a job"))?
            .as_ref()
            .map(pg_job)
            .transpose(),
            Backend::Sqlite(pool) => sqlx::query(concat!(
                "SELECT ",
                job_columns!(),
                " FROM adit_queue_jobs WHERE id = ?1"
            ))
            .bind(id.0)
            .fetch_optional(pool)
            .await
            .map_err(db("sqlite", "read a job"))?
            .as_ref()
            .map(sqlite_job)
            .transpose(),
        }
    }
}
