//! Batch enqueue, batch claims, group-committed completions and the worker's prefetch, on
//! PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adit_core::queue::{JobId, JobSpec, JobStatus, Queue, WorkerId};
use adit_queue::{Error, JobQueue, Worker, WorkerConfig};
use common::{Fixture, wait_status};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

/// A job runnable since an hour ago: the test machine's clock has been seen to step back by a
/// second, which would make a job enqueued "now" not yet runnable for an immediate claim.
fn spec(task: &str, queue: &str, i: i64) -> JobSpec {
    JobSpec::new(task, queue, json!({ "i": i }))
        .with_run_after(chrono::Utc::now() - chrono::TimeDelta::hours(1))
}

fn config(queues: &[&str]) -> WorkerConfig {
    let mut c = WorkerConfig::new(queues.iter().copied());
    c.poll_interval = Duration::from_millis(200);
    c.heartbeat_interval = Duration::from_millis(200);
    c.shutdown_timeout = Duration::from_secs(10);
    // Every job counts as quick, whatever the machine's load: the prefetch always grows.
    c.quick_job = Duration::from_secs(10);
    c
}

on_both_backends!(
    enqueue_many_in_caller_transaction,
    claim_many_keeps_order_and_locks,
    complete_many_is_fenced,
    completions_all_durable_after_shutdown,
    prefetched_job_released_on_shutdown,
    idle_worker_woken_without_polling,
    busy_worker_gives_back_jobs_claimed_ahead,
);

async fn enqueue_many_in_caller_transaction(fx: Fixture) {
    let queue = fx.queue().await;
    let specs: Vec<JobSpec> = (0..50).map(|i| spec("t", "q", i)).collect();
    // Rolled back: none exists. Committed: all, ids in the order of the specs.
    let ids = if let Some(pool) = queue.pg_pool() {
        let mut tx = pool.begin().await.unwrap();
        let ids = queue.enqueue_many_pg(&mut tx, &specs).await.unwrap();
        tx.rollback().await.unwrap();
        assert!(queue.job(ids[0]).await.unwrap().is_none());
        let mut tx = pool.begin().await.unwrap();
        let ids = queue.enqueue_many_pg(&mut tx, &specs).await.unwrap();
        tx.commit().await.unwrap();
        ids
    } else {
        let pool = queue.sqlite_pool().unwrap();
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let ids = queue.enqueue_many_sqlite(&mut tx, &specs).await.unwrap();
        tx.rollback().await.unwrap();
        assert!(queue.job(ids[0]).await.unwrap().is_none());
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let ids = queue.enqueue_many_sqlite(&mut tx, &specs).await.unwrap();
        tx.commit().await.unwrap();
        ids
    };
    assert_eq!(ids.len(), 50);
    for (i, id) in ids.iter().enumerate() {
        let job = queue.job(*id).await.unwrap().unwrap();
        assert_eq!(job.args["i"], json!(i), "{job:?}");
        assert_eq!(job.status, JobStatus::Todo);
    }

    // A queueing-lock conflict rejects the whole batch.
    queue
        .enqueue(&spec("t", "q", 0).with_queueing_lock("series-1"))
        .await
        .unwrap();
    let clash = vec![
        spec("t", "q", 100),
        spec("t", "q", 101).with_queueing_lock("series-1"),
    ];
    let before = queue.counts().await.unwrap();
    match queue.enqueue_many(&clash).await {
        Err(Error::AlreadyQueued { .. }) => {}
        other => panic!("expected AlreadyQueued, got {other:?}"),
    }
    assert_eq!(queue.counts().await.unwrap(), before);
    assert!(queue.enqueue_many(&[]).await.unwrap().is_empty());
}

async fn claim_many_keeps_order_and_locks(fx: Fixture) {
    let queue = fx.queue().await;
    let w = WorkerId("w".to_owned());
    let q = vec!["q".to_owned()];
    let specs: Vec<JobSpec> = [1, 5, 1, 5, 3]
        .iter()
        .enumerate()
        .map(|(i, p)| spec("t", "q", i64::try_from(i).unwrap()).with_priority(*p))
        .collect();
    let ids = queue.enqueue_many(&specs).await.unwrap();
    let first = queue.claim_many(&w, &q, 3).await.unwrap();
    let got: Vec<JobId> = first.iter().map(|j| j.job.id).collect();
    assert_eq!(got, vec![ids[1], ids[3], ids[4]], "priority, then FIFO");
    assert!(first.iter().all(|j| j.job.status == JobStatus::Doing));
    let rest = queue.claim_many(&w, &q, 10).await.unwrap();
    let got: Vec<JobId> = rest.iter().map(|j| j.job.id).collect();
    assert_eq!(got, vec![ids[0], ids[2]]);
    assert!(queue.claim_many(&w, &q, 10).await.unwrap().is_empty());

    // Two jobs sharing a lock never run at once, even when one batch could take both.
    let a = queue
        .enqueue(&spec("t", "l", 0).with_lock("pacs-1"))
        .await
        .unwrap();
    let b = queue
        .enqueue(&spec("t", "l", 1).with_lock("pacs-1"))
        .await
        .unwrap();
    let free = queue.enqueue(&spec("t", "l", 2)).await.unwrap();
    let l = vec!["l".to_owned()];
    let mut claimed: Vec<JobId> = queue
        .claim_many(&w, &l, 10)
        .await
        .unwrap()
        .iter()
        .map(|j| j.job.id)
        .collect();
    claimed.extend(
        queue
            .claim_many(&w, &l, 10)
            .await
            .unwrap()
            .iter()
            .map(|j| j.job.id),
    );
    assert!(
        claimed.contains(&a) && claimed.contains(&free),
        "{claimed:?}"
    );
    assert!(!claimed.contains(&b), "b shares a's lock: {claimed:?}");
}

async fn complete_many_is_fenced(fx: Fixture) {
    let queue = fx.queue().await;
    let w = WorkerId("w".to_owned());
    let other = WorkerId("other".to_owned());
    let q = vec!["q".to_owned()];
    queue
        .enqueue_many(&(0..3).map(|i| spec("t", "q", i)).collect::<Vec<_>>())
        .await
        .unwrap();
    let mine = queue.claim_many(&w, &q, 2).await.unwrap();
    let theirs = queue.claim_many(&other, &q, 1).await.unwrap();
    let mut ids: Vec<JobId> = mine.iter().map(|j| j.job.id).collect();
    ids.push(theirs[0].job.id);
    // Only this worker's running jobs are completed; the other's is refused.
    let mut done = queue.complete_many(&w, &ids).await.unwrap();
    done.sort_unstable();
    assert_eq!(done, ids[..2].to_vec());
    for id in &ids[..2] {
        wait_status(&queue, *id, JobStatus::Succeeded, WAIT).await;
    }
    assert_eq!(
        queue.job(ids[2]).await.unwrap().unwrap().status,
        JobStatus::Doing
    );
    // Completing twice changes nothing.
    assert!(queue.complete_many(&w, &ids).await.unwrap().is_empty());
}

async fn completions_all_durable_after_shutdown(fx: Fixture) {
    const JOBS: usize = 600;
    let queue = fx.queue().await;
    queue
        .enqueue_many(
            &(0..JOBS)
                .map(|i| spec("noop", "q", i64::try_from(i).unwrap()))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let worker =
        Worker::new(queue.clone(), config(&["q"]).with_concurrency(16)).handle("noop", move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        });
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let start = Instant::now();
    while ran.load(Ordering::SeqCst) < JOBS {
        assert!(
            start.elapsed() < WAIT,
            "only {} ran",
            ran.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Shut down the moment the last handler returned: completions still waiting for their
    // group commit must be recorded before `run` returns.
    shutdown.cancel();
    tokio::time::timeout(WAIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let counts = queue.counts().await.unwrap();
    assert_eq!(
        counts.get(&JobStatus::Succeeded).copied(),
        Some(i64::try_from(JOBS).unwrap()),
        "{counts:?}"
    );
    assert_eq!(ran.load(Ordering::SeqCst), JOBS, "a job ran twice");
}

async fn prefetched_job_released_on_shutdown(fx: Fixture) {
    let queue: JobQueue = fx.queue().await;
    let release_long = Arc::new(Notify::new());
    let gate = release_long.clone();
    let worker = Worker::new(queue.clone(), config(&["q"]))
        .handle("quick", |_| async { Ok(()) })
        .handle("long", move |_| {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Ok(())
            }
        });
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    // Quick jobs grow the prefetch.
    let warmup = queue
        .enqueue_many(&(0..5).map(|i| spec("quick", "q", i)).collect::<Vec<_>>())
        .await
        .unwrap();
    for id in &warmup {
        wait_status(&queue, *id, JobStatus::Succeeded, WAIT).await;
    }
    // One claim takes the long job and the two behind it, which wait for the only slot.
    let ids = queue
        .enqueue_many(&[
            spec("long", "q", 10),
            spec("quick", "q", 11),
            spec("quick", "q", 12),
        ])
        .await
        .unwrap();
    let (long, behind) = (ids[0], &ids[1..]);
    wait_status(&queue, long, JobStatus::Doing, WAIT).await;
    for id in behind {
        let job = wait_status(&queue, *id, JobStatus::Doing, WAIT).await;
        assert_eq!(job.attempts, 1);
    }

    // Shutdown puts them back at once, while the long job still runs; another worker takes
    // them, their first attempt not counted.
    shutdown.cancel();
    for id in behind {
        let job = wait_status(&queue, *id, JobStatus::Todo, WAIT).await;
        assert_eq!(job.attempts, 0);
    }
    assert_eq!(
        queue.job(long).await.unwrap().unwrap().status,
        JobStatus::Doing
    );
    let other = WorkerId("other".to_owned());
    let taken = queue
        .claim_many(&other, &["q".to_owned()], 10)
        .await
        .unwrap();
    let taken: Vec<JobId> = taken.iter().map(|j| j.job.id).collect();
    assert_eq!(taken, behind.to_vec());

    release_long.notify_one();
    tokio::time::timeout(WAIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    wait_status(&queue, long, JobStatus::Succeeded, WAIT).await;
}

async fn idle_worker_woken_without_polling(fx: Fixture) {
    let queue = fx.queue().await;
    let mut cfg = config(&["q"]).with_concurrency(4);
    // Only a wake-up can start a job within the test's patience.
    cfg.poll_interval = Duration::from_secs(3600);
    let worker = Worker::new(queue.clone(), cfg).handle("quick", |_| async { Ok(()) });
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    if let Some(pool) = queue.pg_pool() {
        // A notification sent before the worker's LISTEN is lost (by design: the poll finds the
        // job); wait until it listens.
        let start = Instant::now();
        loop {
            let listening: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            if listening > 0 {
                break;
            }
            assert!(start.elapsed() < WAIT, "the worker never listened");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for round in 0..3 {
        // A single enqueue into an empty queue, then a batch: each wakes the idle worker.
        let one = queue.enqueue(&spec("quick", "q", round)).await.unwrap();
        wait_status(&queue, one, JobStatus::Succeeded, Duration::from_secs(10)).await;
        let many = queue
            .enqueue_many(
                &(0..20)
                    .map(|i| spec("quick", "q", 100 + i))
                    .collect::<Vec<_>>(),
            )
            .await
            .unwrap();
        for id in many {
            wait_status(&queue, id, JobStatus::Succeeded, Duration::from_secs(10)).await;
        }
    }
    shutdown.cancel();
    tokio::time::timeout(WAIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

async fn busy_worker_gives_back_jobs_claimed_ahead(fx: Fixture) {
    let queue = fx.queue().await;
    let mut cfg = config(&["q"]);
    // Jobs under 500 ms are quick; claimed-ahead jobs wait at most 2 s for the slot.
    cfg.quick_job = Duration::from_millis(500);
    let release_long = Arc::new(Notify::new());
    let gate = release_long.clone();
    let worker = Worker::new(queue.clone(), cfg)
        .handle("quick", |_| async { Ok(()) })
        .handle("long", move |_| {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Ok(())
            }
        });
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let warmup = queue
        .enqueue_many(&(0..5).map(|i| spec("quick", "q", i)).collect::<Vec<_>>())
        .await
        .unwrap();
    for id in &warmup {
        wait_status(&queue, *id, JobStatus::Succeeded, WAIT).await;
    }
    let ids = queue
        .enqueue_many(&[
            spec("long", "q", 10),
            spec("quick", "q", 11),
            spec("quick", "q", 12),
        ])
        .await
        .unwrap();
    let (long, behind) = (ids[0], &ids[1..]);
    wait_status(&queue, long, JobStatus::Doing, WAIT).await;
    // Claimed ahead with the long job; the slot stays busy, so they go back to the queue for
    // another worker.
    for id in behind {
        wait_status(&queue, *id, JobStatus::Doing, WAIT).await;
    }
    for id in behind {
        wait_status(&queue, *id, JobStatus::Todo, WAIT).await;
    }
    let other = WorkerId("other".to_owned());
    let taken = queue
        .claim_many(&other, &["q".to_owned()], 10)
        .await
        .unwrap();
    let taken: Vec<JobId> = taken.iter().map(|j| j.job.id).collect();
    assert_eq!(taken, behind.to_vec());
    assert_eq!(
        queue.job(long).await.unwrap().unwrap().status,
        JobStatus::Doing
    );
    release_long.notify_one();
    wait_status(&queue, long, JobStatus::Succeeded, WAIT).await;
    shutdown.cancel();
    tokio::time::timeout(WAIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
