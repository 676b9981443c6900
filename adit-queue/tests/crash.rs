//! A worker process killed with SIGKILL mid-job: another worker recovers the job and runs it
//! to the end, once. On PostgreSQL and on SQLite (two processes on one file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adit_core::queue::{JobSpec, JobStatus, Queue};
use adit_queue::{Worker, WorkerConfig};
use common::{Fixture, wait_status};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

on_both_backends!(sigkilled_worker_job_is_recovered);

async fn sigkilled_worker_job_is_recovered(fx: Fixture) {
    let queue = fx.queue().await;
    let id = queue
        .enqueue(&JobSpec::new(
            "sleep",
            "crash",
            serde_json::json!({"secs": 120}),
        ))
        .await
        .unwrap();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_adit-queue-worker"))
        .args([fx.url.as_str(), "crash"])
        .env("ADIT_QUEUE_HEARTBEAT_MS", "200")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next_line().await.unwrap().unwrap();
    let child_worker = banner.strip_prefix("worker ").unwrap().to_owned();
    let row = wait_status(&queue, id, JobStatus::Doing, Duration::from_secs(30)).await;
    assert_eq!(row.worker.unwrap().0, child_worker);

    let pid = i32::try_from(child.id().unwrap()).unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    child.wait().await.unwrap();
    // Killed mid-job: nothing finished it.
    assert_eq!(
        queue.job(id).await.unwrap().unwrap().status,
        JobStatus::Doing
    );

    let mut cfg = WorkerConfig::new(["crash"]);
    cfg.heartbeat_interval = Duration::from_millis(200);
    cfg.poll_interval = Duration::from_millis(200);
    cfg.stale_after = Duration::from_secs(2);
    let runs = Arc::new(Mutex::new(0));
    let runs_in_task = runs.clone();
    let worker = Worker::new(queue.clone(), cfg).handle("sleep", move |_| {
        let runs = runs_in_task.clone();
        async move {
            *runs.lock().unwrap() += 1;
            Ok(())
        }
    });
    let rescuer = worker.id().clone();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let row = wait_status(&queue, id, JobStatus::Succeeded, Duration::from_secs(30)).await;
    assert_eq!(row.worker, Some(rescuer));
    assert_eq!(row.attempts, 2);
    assert!(row.last_error.unwrap().contains(&child_worker));
    assert_eq!(*runs.lock().unwrap(), 1);
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
