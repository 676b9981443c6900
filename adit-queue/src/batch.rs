//! Batch operations of [`JobQueue`]: enqueue many jobs, claim several jobs, complete several
//! jobs, each in one statement.
//!
//! They exist for throughput: on PostgreSQL every durable commit waits for a WAL flush and
//! every statement is a round trip, so a worker that claims the jobs of all its free slots at
//! once and records the completions of all its finished jobs in one transaction (group commit)
//! does a fraction of the work of one claim and one commit per job. The semantics are those of
//! the single-job operations in [`crate::store`].

use adit_core::queue::{ClaimedJob, Job, JobId, JobSpec, WorkerId};
use sqlx::{PgConnection, SqliteConnection};

use crate::clock::micros;
use crate::error::{Error, Result, db};
use crate::store::{
    Backend, JobQueue, attempts_i32, backoff_json, job_columns, pg_job, sqlite_job,
};

/// Claim attempts when a concurrent claim (or a job of the same batch) took the same lock key.
const CLAIM_LOCK_RETRIES: usize = 8;

impl JobQueue {
    /// Enqueues `specs` in one statement on a caller's PostgreSQL connection or transaction, so
    /// they commit (and wake workers) together with the caller's rows. Returns the ids in the
    /// order of `specs`. A queueing-lock conflict rejects the whole batch.
    pub async fn enqueue_many_pg(
        &self,
        conn: &mut PgConnection,
        specs: &[JobSpec],
    ) -> Result<Vec<JobId>> {
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let mut columns = Columns::default();
        for spec in specs {
            columns.push(spec, now)?;
        }
        // Rows are inserted in `ord` order, so the sequence hands out ascending ids in the order
        // of `specs` (concurrent inserts may interleave, never reorder).
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO adit_queue_jobs (queue, task, args, priority, run_after, queueing_lock,
                 lock_key, max_attempts, backoff, created_at)
             SELECT queue, task, args, priority, run_after, queueing_lock, lock_key,
                    max_attempts, backoff, $10
             FROM UNNEST($1::text[], $2::text[], $3::jsonb[], $4::int[], $5::timestamptz[],
                         $6::text[], $7::text[], $8::int[], $9::text[])
                  WITH ORDINALITY AS s(queue, task, args, priority, run_after, queueing_lock,
                                       lock_key, max_attempts, backoff, ord)
             ORDER BY ord
             RETURNING id",
        )
        .bind(&columns.queue)
        .bind(&columns.task)
        .bind(&columns.args)
        .bind(&columns.priority)
        .bind(&columns.run_after)
        .bind(&columns.queueing_lock)
        .bind(&columns.lock_key)
        .bind(&columns.max_attempts)
        .bind(&columns.backoff)
        .bind(now)
        .fetch_all(conn)
        .await
        .map_err(|e| batch_enqueue_error(e, "postgres"))?;
        ids.sort_unstable();
        Ok(ids.into_iter().map(JobId).collect())
    }

    /// Enqueues `specs` on a caller's SQLite connection or transaction (one prepared insert per
    /// job: SQLite runs in-process, so statements cost no round trip; the transaction's single
    /// commit is what matters). Returns the ids in the order of `specs`; call
    /// [`JobQueue::notify_enqueued`] after the commit for an immediate start.
    pub async fn enqueue_many_sqlite(
        &self,
        conn: &mut SqliteConnection,
        specs: &[JobSpec],
    ) -> Result<Vec<JobId>> {
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            ids.push(self.enqueue_sqlite(conn, spec).await?);
        }
        Ok(ids)
    }

    /// Enqueues `specs` in one transaction of their own (see [`JobQueue::enqueue_many_pg`]).
    pub async fn enqueue_many(&self, specs: &[JobSpec]) -> Result<Vec<JobId>> {
        match self.backend() {
            Backend::Postgres(pool) => {
                let mut conn = pool
                    .acquire()
                    .await
                    .map_err(db("postgres", "enqueue jobs"))?;
                self.enqueue_many_pg(&mut conn, specs).await
            }
            Backend::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db("sqlite", "enqueue jobs"))?;
                let ids = self.enqueue_many_sqlite(&mut tx, specs).await?;
                tx.commit().await.map_err(db("sqlite", "enqueue jobs"))?;
                self.notify_enqueued();
                Ok(ids)
            }
        }
    }

    /// Claims up to `limit` of the most urgent runnable jobs of `queues` for `worker` in one
    /// statement, most urgent first. Like a single claim, the claim's commit does not wait for
    /// its WAL flush (a claim lost in a server crash leaves the job `todo`).
    pub async fn claim_many(
        &self,
        worker: &WorkerId,
        queues: &[String],
        limit: usize,
    ) -> Result<Vec<ClaimedJob>> {
        if queues.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut jobs = Vec::new();
        for _ in 0..CLAIM_LOCK_RETRIES {
            let claimed = match self.backend() {
                Backend::Postgres(_) => self.claim_many_pg(worker, queues, limit).await,
                Backend::Sqlite(_) => self.claim_many_sqlite(worker, queues, limit).await,
            };
            match claimed {
                Ok(claimed) => {
                    jobs = claimed;
                    break;
                }
                // Two jobs of the batch (or a concurrent claim) share a lock key: the unique
                // index refused the whole statement. One job at a time always makes progress.
                Err(Error::Database {
                    source: sqlx::Error::Database(e),
                    ..
                }) if e.is_unique_violation() => limit = 1,
                Err(e) => return Err(e),
            }
        }
        // RETURNING gives no order; hand jobs out most urgent first.
        jobs.sort_by_key(|j| (std::cmp::Reverse(j.priority), j.id.0));
        Ok(jobs
            .into_iter()
            .map(|job| ClaimedJob {
                job,
                worker: worker.clone(),
            })
            .collect())
    }

    /// Records `jobs` (all claimed by `worker`) as succeeded in one transaction and returns the
    /// ids it applied to; a job missing from the answer was taken away from the worker (its
    /// heartbeat was missed), exactly as [`Queue::complete`](adit_core::queue::Queue) answers
    /// `false`. The commit is durable when this returns.
    pub async fn complete_many(&self, worker: &WorkerId, jobs: &[JobId]) -> Result<Vec<JobId>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let ids: Vec<i64> = jobs.iter().map(|j| j.0).collect();
        let done: Vec<i64> = match self.backend() {
            Backend::Postgres(pool) => sqlx::query_scalar(
                "UPDATE adit_queue_jobs SET status = 'succeeded', finished_at = $3,
                     heartbeat_at = NULL
                 WHERE id = ANY($1) AND worker_id = $2 AND status IN ('doing', 'aborting')
                 RETURNING id",
            )
            .bind(&ids)
            .bind(&worker.0)
            .bind(now)
            .fetch_all(pool)
            .await
            .map_err(db("postgres", "complete jobs"))?,
            Backend::Sqlite(pool) => {
                let ids = serde_json::to_string(&ids).map_err(|e| Error::CorruptRow {
                    reason: e.to_string(),
                })?;
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db("sqlite", "complete jobs"))?;
                let done = sqlx::query_scalar(
                    "UPDATE adit_queue_jobs SET status = 'succeeded', finished_at = ?3,
                         heartbeat_at = NULL
                     WHERE id IN (SELECT value FROM json_each(?1)) AND worker_id = ?2
                       AND status IN ('doing', 'aborting')
                     RETURNING id",
                )
                .bind(ids)
                .bind(&worker.0)
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(db("sqlite", "complete jobs"))?;
                tx.commit().await.map_err(db("sqlite", "complete jobs"))?;
                done
            }
        };
        Ok(done.into_iter().map(JobId).collect())
    }

    async fn claim_many_pg(
        &self,
        worker: &WorkerId,
        queues: &[String],
        limit: i64,
    ) -> Result<Vec<Job>> {
        let Backend::Postgres(pool) = self.backend() else {
            return Ok(Vec::new());
        };
        let now = self.now();
        // `ARRAY(...)` runs the locking subquery once (an init plan), so exactly the rows it
        // locked are updated. `set_config(..., true)` turns the WAL flush off for this
        // statement's own transaction: one round trip.
        let rows = sqlx::query(concat!(
            "UPDATE adit_queue_jobs SET status = 'doing', attempts = attempts + 1,
                 worker_id = $2, heartbeat_at = $3, started_at = $3, finished_at = NULL
             WHERE id = ANY(ARRAY(
                 SELECT j.id FROM adit_queue_jobs j
                 WHERE j.status = 'todo' AND j.queue = ANY($1) AND j.run_after <= $3
                   AND (j.lock_key IS NULL OR NOT EXISTS (
                       SELECT 1 FROM adit_queue_jobs r
                       WHERE r.lock_key = j.lock_key AND r.status IN ('doing', 'aborting')))
                 ORDER BY j.priority DESC, j.id
                 FOR UPDATE SKIP LOCKED
                 LIMIT $4))
               AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL
             RETURNING ",
            job_columns!()
        ))
        .bind(queues)
        .bind(&worker.0)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(db("postgres", "claim jobs"))?;
        rows.iter().map(pg_job).collect()
    }

    async fn claim_many_sqlite(
        &self,
        worker: &WorkerId,
        queues: &[String],
        limit: i64,
    ) -> Result<Vec<Job>> {
        let Backend::Sqlite(pool) = self.backend() else {
            return Ok(Vec::new());
        };
        let err = || db("sqlite", "claim jobs");
        let queues = serde_json::to_string(queues).map_err(|e| Error::CorruptRow {
            reason: e.to_string(),
        })?;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(err())?;
        let now = self.now();
        let rows = sqlx::query(concat!(
            "UPDATE adit_queue_jobs SET status = 'doing', attempts = attempts + 1,
                 worker_id = ?2, heartbeat_at = ?3, started_at = ?3, finished_at = NULL
             WHERE id IN (
                 SELECT j.id FROM adit_queue_jobs j
                 WHERE j.status = 'todo' AND j.queue IN (SELECT value FROM json_each(?1))
                   AND j.run_after <= ?3
                   AND (j.lock_key IS NULL OR NOT EXISTS (
                       SELECT 1 FROM adit_queue_jobs r
                       WHERE r.lock_key = j.lock_key AND r.status IN ('doing', 'aborting')))
                 ORDER BY j.priority DESC, j.id
                 LIMIT ?4)
             RETURNING ",
            job_columns!()
        ))
        .bind(queues)
        .bind(&worker.0)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(err())?;
        let jobs = rows.iter().map(sqlite_job).collect::<Result<Vec<_>>>()?;
        tx.commit().await.map_err(err())?;
        Ok(jobs)
    }
}

/// The columns of a batch insert, one array per column (PostgreSQL `UNNEST`).
#[derive(Default)]
struct Columns {
    queue: Vec<String>,
    task: Vec<String>,
    args: Vec<serde_json::Value>,
    priority: Vec<i32>,
    run_after: Vec<chrono::DateTime<chrono::Utc>>,
    queueing_lock: Vec<Option<String>>,
    lock_key: Vec<Option<String>>,
    max_attempts: Vec<i32>,
    backoff: Vec<String>,
}

impl Columns {
    fn push(&mut self, spec: &JobSpec, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        self.queue.push(spec.queue.clone());
        self.task.push(spec.task.clone());
        self.args.push(spec.args.clone());
        self.priority.push(spec.priority);
        self.run_after.push(spec.run_after.map_or(now, micros));
        self.queueing_lock.push(spec.queueing_lock.clone());
        self.lock_key.push(spec.lock.clone());
        self.max_attempts
            .push(attempts_i32(spec.retry.max_attempts));
        self.backoff.push(backoff_json(&spec.retry.backoff)?);
        Ok(())
    }
}

fn batch_enqueue_error(e: sqlx::Error, backend: &'static str) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::AlreadyQueued {
            // PostgreSQL names the key in the detail (`Key (queueing_lock)=(x) already exists`).
            queueing_lock: d
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .and_then(|detail| detail.split_once(")=(")?.1.rsplit_once(')'))
                .map_or_else(
                    || "of a job of the batch".to_owned(),
                    |(key, _)| key.to_owned(),
                ),
        },
        _ => db(backend, "enqueue jobs")(e),
    }
}
