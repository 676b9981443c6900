//! Gauges read from the database when `/metrics` is scraped: jobs by type × status, and per
//! queue the waiting jobs and the age of the oldest. One read serves every scrape for
//! [`DB_GAUGE_TTL`](super::DB_GAUGE_TTL), so a tight scrape interval (or several Prometheus
//! servers) cannot load the database.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{JobLabels, Metrics, QueueLabels};
use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Result, db as db_err};
use crate::jobs::{JobKind, JobStatus};

/// Queues that always get a series, even when empty (dashboards need the zero).
const KNOWN_QUEUES: [&str; 2] = ["dicom", "default"];

/// What one read of the database found.
#[derive(Debug, Default)]
struct Snapshot {
    jobs: Vec<(String, String, i64)>,
    queues: Vec<(String, i64, Option<DateTime<Utc>>)>,
}

/// Reads the database gauges unless the last read is younger than the cache time. A failed
/// read is logged and leaves the last values (a scrape must not fail with the database).
pub async fn refresh(metrics: &Metrics, db: &Db) {
    let mut last = metrics.inner.db_read.lock().await;
    if last.is_some_and(|at| at.elapsed() < super::DB_GAUGE_TTL) {
        return;
    }
    match read(db).await {
        Ok(snapshot) => {
            apply(metrics, &snapshot);
            *last = Some(Instant::now());
        }
        Err(e) => tracing::warn!("metrics: reading jobs and queues failed: {e}"),
    }
}

async fn read(db: &Db) -> Result<Snapshot> {
    let backend = db.backend();
    let jobs: Vec<(String, String, i64)> = db_dispatch!(db, pool => sqlx::query_as(
        "SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status"
    )
    .fetch_all(pool)
    .await
    .map_err(db_err(backend, "count jobs for metrics"))?);
    let depths: Vec<(String, i64)> = db_dispatch!(db, pool => sqlx::query_as(
        "SELECT queue, COUNT(*) FROM adit_queue_jobs WHERE status = 'todo' GROUP BY queue"
    )
    .fetch_all(pool)
    .await
    .map_err(db_err(backend, "count queue jobs for metrics"))?);
    let mut queues = Vec::with_capacity(depths.len());
    for (queue, depth) in depths {
        // Per queue, not MIN() over a GROUP BY: the typed column decodes as a time stamp on
        // both backends (SQLite loses the column type of an aggregate).
        let oldest: Option<DateTime<Utc>> = db_dispatch!(db, pool => sqlx::query_scalar(
            "SELECT created_at FROM adit_queue_jobs WHERE queue = $1 AND status = 'todo'
             ORDER BY created_at LIMIT 1"
        )
        .bind(&queue)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "oldest queue job for metrics"))?);
        queues.push((queue, depth, oldest));
    }
    Ok(Snapshot { jobs, queues })
}

fn apply(metrics: &Metrics, snapshot: &Snapshot) {
    let inner = &metrics.inner;
    // Every type × status exists (zero when absent), so a count dropping to none reads 0.
    for kind in JobKind::ALL {
        for status in JobStatus::ALL {
            let n = snapshot
                .jobs
                .iter()
                .find(|(k, s, _)| k == kind.as_str() && s == status.code())
                .map_or(0, |(_, _, n)| *n);
            inner
                .jobs
                .get_or_create(&JobLabels {
                    r#type: kind.as_str().to_owned(),
                    status: status.code().to_owned(),
                })
                .set(n);
        }
    }
    inner.queue_depth.clear();
    inner.queue_oldest.clear();
    for queue in KNOWN_QUEUES {
        let labels = QueueLabels {
            queue: queue.to_owned(),
        };
        inner.queue_depth.get_or_create(&labels).set(0);
        inner.queue_oldest.get_or_create(&labels).set(0);
    }
    let now = Utc::now();
    for (queue, depth, oldest) in &snapshot.queues {
        let labels = QueueLabels {
            queue: queue.clone(),
        };
        inner.queue_depth.get_or_create(&labels).set(*depth);
        let age = oldest.map_or(0, |t| (now - t).num_seconds().max(0));
        inner.queue_oldest.get_or_create(&labels).set(age);
    }
}
