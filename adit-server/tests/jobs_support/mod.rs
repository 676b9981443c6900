//! Test support for the job tests, on top of `tests/common` (its fresh SQLite or PostgreSQL
//! [`TestDb`]): the job model on it, users and nodes inserted directly, waiting for job
//! statuses, and [`on_both_backends!`] (one module per test with `sqlite` and `postgres`).

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use adit_core::model::Node;
use adit_server::db::Db;
use adit_server::jobs::{Job, JobStatus, Jobs};

pub use crate::common::TestDb;

mod transfer;

// Not every job test transfers.
#[allow(unused_imports)]
pub use transfer::*;

/// The job model on a test database (connects and migrates).
pub trait TestDbJobs {
    /// [`Jobs`] on this database.
    fn jobs(&self) -> impl Future<Output = Jobs>;
}

impl TestDbJobs for TestDb {
    async fn jobs(&self) -> Jobs {
        Jobs::on(&self.db().await).await.unwrap()
    }
}

/// Inserts a user and returns its id.
pub async fn add_user(db: &Db, username: &str, email: &str) -> i64 {
    let now = chrono::Utc::now();
    adit_server::db_dispatch!(db, pool => sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, email, created) VALUES ($1, 'x', $2, $3)
         RETURNING id",
    )
    .bind(username)
    .bind(email)
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// Inserts a node and returns its id.
pub async fn add_node(db: &Db, node: &Node) -> i64 {
    use adit_core::model::NodeKind;
    let (kind, ae) = match &node.kind {
        NodeKind::Dimse(s) => ("dimse", Some(s.ae_title.to_string())),
        NodeKind::DicomWeb(_) => ("dicomweb", None),
        _ => ("folder", None),
    };
    let spec = serde_json::to_string(node).unwrap();
    let now = chrono::Utc::now();
    match db {
        Db::Postgres(pool) => sqlx::query_scalar(
            "INSERT INTO nodes (name, kind, ae_title, spec, created)
             VALUES ($1, $2, $3, CAST($4 AS JSONB), $5) RETURNING id",
        )
        .bind(&node.name)
        .bind(kind)
        .bind(ae)
        .bind(spec)
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(
            "INSERT INTO nodes (name, kind, ae_title, spec, created)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&node.name)
        .bind(kind)
        .bind(ae)
        .bind(spec)
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap(),
    }
}

/// A folder node.
pub fn folder_node(name: &str, path: &std::path::Path) -> Node {
    serde_json::from_value(serde_json::json!({
        "name": name,
        "kind": {"type": "folder", "path": path},
    }))
    .unwrap()
}

/// Polls job `id` until `pred` holds; panics with the job after `timeout`.
pub async fn wait_job(jobs: &Jobs, id: i64, timeout: Duration, pred: impl Fn(&Job) -> bool) -> Job {
    let start = Instant::now();
    loop {
        let job = jobs.get_job(id).await.unwrap();
        if pred(&job) {
            return job;
        }
        if start.elapsed() > timeout {
            let tasks = jobs.tasks(id).await.unwrap();
            panic!("timed out waiting for job {id}: {job:#?}\ntasks: {tasks:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls job `id` until it is final; returns it.
pub async fn wait_final(jobs: &Jobs, id: i64, timeout: Duration) -> Job {
    wait_job(jobs, id, timeout, |j| j.status.is_final()).await
}

/// Asserts a job status.
pub fn assert_status(job: &Job, status: JobStatus) {
    assert_eq!(job.status, status, "{job:#?}");
}

/// Runs `async fn $name(t: TestDb)` on PostgreSQL and on SQLite.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::TestDb::postgres().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::TestDb::sqlite().await).await;
                }
            }
        )*
    };
}
