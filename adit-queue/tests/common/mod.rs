//! Test databases: a fresh PostgreSQL database on 127.0.0.1:5432 or a SQLite file in a temp
//! dir, dropped at the end; and the macro running one behaviour test on both.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adit_core::queue::{Job, JobId, JobStatus, Queue};
use adit_queue::{Clock, JobQueue};
use sqlx::{Connection, Executor, PgConnection};

/// The PostgreSQL server every test uses (trust auth, user postgres).
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A throw-away queue database.
pub struct Fixture {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    /// A fresh PostgreSQL database with a unique name.
    pub async fn postgres() -> Fixture {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "adit_queue_t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros()
        );
        let mut admin = PgConnection::connect(PG_ADMIN_URL).await.unwrap();
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap();
        Fixture {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            pg_name: Some(name),
            _dir: None,
        }
    }

    /// A SQLite file in a fresh temp dir.
    pub async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("queue.db").display());
        Fixture {
            url,
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// A queue on this database (migrations run on first connect).
    pub async fn queue(&self) -> JobQueue {
        JobQueue::connect(&self.url).await.unwrap()
    }

    /// A queue on this database reading `clock`.
    pub async fn queue_with_clock(&self, clock: Arc<dyn Clock>) -> JobQueue {
        self.queue().await.with_clock(clock)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(PG_ADMIN_URL).await {
                    let _ = admin
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Polls `job` until `pred` holds or `timeout` passes; returns the last row.
pub async fn wait_for(
    queue: &JobQueue,
    id: JobId,
    timeout: Duration,
    pred: impl Fn(&Job) -> bool,
) -> Job {
    let start = Instant::now();
    loop {
        let job = queue.job(id).await.unwrap().unwrap();
        if pred(&job) || start.elapsed() > timeout {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until the job reaches `status` (panics with the row after `timeout`).
pub async fn wait_status(queue: &JobQueue, id: JobId, status: JobStatus, timeout: Duration) -> Job {
    let job = wait_for(queue, id, timeout, |j| j.status == status).await;
    assert_eq!(job.status, status, "{job:?}");
    job
}

/// Runs `async fn $name(fx: Fixture)` once on PostgreSQL and once on SQLite.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::$name($crate::common::Fixture::postgres().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$name($crate::common::Fixture::sqlite().await).await;
                }
            }
        )*
    };
}
