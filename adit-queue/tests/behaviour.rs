//! Every queue behaviour, on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adit_core::queue::{JobId, JobSpec, JobStatus, Queue, RetryPolicy, TaskError, WorkerId};
use adit_queue::{
    Error, JobQueue, ManualClock, PeriodicTask, StopReason, TimeWindow, Worker, WorkerConfig,
};
use chrono::{TimeDelta, TimeZone, Utc};
use common::{Fixture, wait_status};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn spec(task: &str, queue: &str) -> JobSpec {
    JobSpec::new(task, queue, json!({}))
}

fn worker_id(name: &str) -> WorkerId {
    WorkerId(name.to_owned())
}

fn qs(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// A fast-ticking worker config for tests.
fn config(queues: &[&str]) -> WorkerConfig {
    let mut c = WorkerConfig::new(queues.iter().copied());
    c.poll_interval = Duration::from_millis(200);
    c.heartbeat_interval = Duration::from_millis(200);
    c.periodic_interval = Duration::from_millis(50);
    c.shutdown_timeout = Duration::from_secs(5);
    c
}

on_both_backends!(
    priorities_then_fifo,
    delayed_jobs,
    retries_and_their_waits,
    cancel_queued,
    abort_running,
    queueing_lock,
    lock_serializes,
    enqueue_in_caller_transaction,
    history_and_manual_retry,
    dead_worker_recovered_and_fenced,
    graceful_shutdown_releases,
    cron_once_across_four_workers,
    time_windows,
    ten_thousand_jobs_eight_workers,
);

async fn priorities_then_fifo(fx: Fixture) {
    let queue = fx.queue().await;
    let mut ids = Vec::new();
    for priority in [1, 5, 1, 5, 3, 0] {
        ids.push(
            queue
                .enqueue(&spec("t", "dicom").with_priority(priority))
                .await
                .unwrap(),
        );
    }
    let elsewhere = queue
        .enqueue(&spec("t", "other").with_priority(100))
        .await
        .unwrap();
    let w = worker_id("w");
    let mut order = Vec::new();
    while let Some(job) = queue.claim(&w, &qs(&["dicom"])).await.unwrap() {
        assert_eq!(job.job.status, JobStatus::Doing);
        assert_eq!(job.job.attempts, 1);
        order.push(job.job.id);
    }
    let expected = vec![ids[1], ids[3], ids[4], ids[0], ids[2], ids[5]];
    assert_eq!(order, expected);
    let other = queue
        .claim(&w, &qs(&["other", "dicom"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.job.id, elsewhere);
}

async fn delayed_jobs(fx: Fixture) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let clock = ManualClock::new(t0);
    let queue = fx.queue_with_clock(Arc::new(clock.clone())).await;
    let later = queue
        .enqueue(
            &spec("t", "q")
                .with_run_after(t0 + TimeDelta::minutes(10))
                .with_priority(9),
        )
        .await
        .unwrap();
    let now = queue.enqueue(&spec("t", "q")).await.unwrap();
    let w = worker_id("w");
    // The delayed job's higher priority does not let it run early.
    assert_eq!(
        queue.claim(&w, &qs(&["q"])).await.unwrap().unwrap().job.id,
        now
    );
    assert!(queue.claim(&w, &qs(&["q"])).await.unwrap().is_none());
    clock.advance(TimeDelta::minutes(10) - TimeDelta::seconds(1));
    assert!(queue.claim(&w, &qs(&["q"])).await.unwrap().is_none());
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(
        queue.claim(&w, &qs(&["q"])).await.unwrap().unwrap().job.id,
        later
    );
}

async fn retries_and_their_waits(fx: Fixture) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let clock = ManualClock::new(t0);
    let queue = fx.queue_with_clock(Arc::new(clock.clone())).await;
    let policy = RetryPolicy::linear(3, Duration::from_secs(120), Duration::from_secs(120));
    let id = queue
        .enqueue(&spec("t", "q").with_retry(policy))
        .await
        .unwrap();
    let permanent = queue
        .enqueue(&spec("t", "p").with_retry(policy))
        .await
        .unwrap();
    let w = worker_id("w");
    let q = qs(&["q"]);

    // Attempt 1 fails retriably: back to todo, 2 minutes later.
    let job = queue.claim(&w, &q).await.unwrap().unwrap();
    let status = queue
        .fail(&job, &TaskError::retriable("PACS busy"))
        .await
        .unwrap();
    assert_eq!(status, Some(JobStatus::Todo));
    let row = queue.job(id).await.unwrap().unwrap();
    assert_eq!(row.run_after, t0 + TimeDelta::seconds(120));
    assert_eq!(row.last_error.as_deref(), Some("PACS busy"));
    assert_eq!(row.attempts, 1);
    clock.advance(TimeDelta::seconds(119));
    assert!(queue.claim(&w, &q).await.unwrap().is_none());
    clock.advance(TimeDelta::seconds(1));

    // Attempt 2 fails retriably: 4 minutes now (linear).
    let job = queue.claim(&w, &q).await.unwrap().unwrap();
    assert_eq!(job.job.attempts, 2);
    queue
        .fail(&job, &TaskError::retriable("PACS busy"))
        .await
        .unwrap();
    let row = queue.job(id).await.unwrap().unwrap();
    assert_eq!(row.run_after, clock_now(&clock) + TimeDelta::seconds(240));
    clock.advance(TimeDelta::seconds(240));

    // Attempt 3 is the last: a retriable failure is final now.
    let job = queue.claim(&w, &q).await.unwrap().unwrap();
    assert_eq!(job.job.attempts, 3);
    let status = queue
        .fail(&job, &TaskError::retriable("PACS busy"))
        .await
        .unwrap();
    assert_eq!(status, Some(JobStatus::Failed));
    let row = queue.job(id).await.unwrap().unwrap();
    assert_eq!(row.finished_at, Some(clock_now(&clock)));

    // A permanent error is not retried however many attempts are left.
    let job = queue.claim(&w, &qs(&["p"])).await.unwrap().unwrap();
    assert_eq!(job.job.id, permanent);
    let status = queue
        .fail(&job, &TaskError::permanent("bad UID"))
        .await
        .unwrap();
    assert_eq!(status, Some(JobStatus::Failed));

    // Exponential waits double.
    let exp = RetryPolicy::exponential(5, Duration::from_secs(10), Duration::from_secs(3600));
    let id = queue
        .enqueue(&spec("t", "e").with_retry(exp))
        .await
        .unwrap();
    for expected in [10, 20, 40] {
        let job = queue.claim(&w, &qs(&["e"])).await.unwrap().unwrap();
        queue.fail(&job, &TaskError::retriable("x")).await.unwrap();
        let row = queue.job(id).await.unwrap().unwrap();
        assert_eq!(
            row.run_after,
            clock_now(&clock) + TimeDelta::seconds(expected)
        );
        clock.advance(TimeDelta::seconds(expected));
    }
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<Utc> {
    use adit_queue::Clock;
    clock.now()
}

async fn cancel_queued(fx: Fixture) {
    let queue = fx.queue().await;
    let id = queue.enqueue(&spec("t", "q")).await.unwrap();
    assert!(queue.cancel(id).await.unwrap());
    assert!(
        !queue.cancel(id).await.unwrap(),
        "cancelling twice changes nothing"
    );
    assert!(
        queue
            .claim(&worker_id("w"), &qs(&["q"]))
            .await
            .unwrap()
            .is_none()
    );
    let row = queue.job(id).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Cancelled);
    assert!(row.finished_at.is_some());
    // Abort of a queued job cancels it too; of a running one it does not.
    let queued = queue.enqueue(&spec("t", "q")).await.unwrap();
    assert!(queue.abort(queued).await.unwrap());
    assert_eq!(
        queue.job(queued).await.unwrap().unwrap().status,
        JobStatus::Cancelled
    );
    let running = queue.enqueue(&spec("t", "q")).await.unwrap();
    queue
        .claim(&worker_id("w"), &qs(&["q"]))
        .await
        .unwrap()
        .unwrap();
    assert!(!queue.cancel(running).await.unwrap());
}

async fn abort_running(fx: Fixture) {
    let queue = fx.queue().await;
    type Seen = Option<(Option<StopReason>, Instant)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let seen_in_task = seen.clone();
    let worker = Worker::new(queue.clone(), config(&["dicom"])).handle("transfer", move |ctx| {
        let seen = seen_in_task.clone();
        async move {
            tokio::select! {
                () = ctx.cancel.cancelled() => {
                    *seen.lock().unwrap() = Some((ctx.stop_reason(), Instant::now()));
                    Err(TaskError::retriable("Task was canceled."))
                }
                () = tokio::time::sleep(Duration::from_secs(60)) => Ok(()),
            }
        }
    });
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let policy = RetryPolicy::linear(3, Duration::ZERO, Duration::ZERO);
    let id = queue
        .enqueue(&spec("transfer", "dicom").with_retry(policy))
        .await
        .unwrap();
    wait_status(&queue, id, JobStatus::Doing, WAIT).await;
    let asked = Instant::now();
    assert!(queue.abort(id).await.unwrap());
    let row = wait_status(&queue, id, JobStatus::Aborted, WAIT).await;
    let (reason, tripped) = seen.lock().unwrap().unwrap();
    assert_eq!(reason, Some(StopReason::Abort));
    let latency = tripped - asked;
    assert!(
        latency < Duration::from_secs(2),
        "token tripped after {latency:?}"
    );
    // An aborted job is not retried even though its error was retriable.
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error.as_deref(), Some("Task was canceled."));
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

async fn queueing_lock(fx: Fixture) {
    let queue = fx.queue().await;
    let first = queue
        .enqueue(&spec("t", "q").with_queueing_lock("task-7"))
        .await
        .unwrap();
    let again = queue
        .enqueue(&spec("t", "q").with_queueing_lock("task-7"))
        .await;
    assert!(
        matches!(again, Err(Error::AlreadyQueued { ref queueing_lock }) if queueing_lock == "task-7"),
        "{again:?}"
    );
    queue
        .enqueue(&spec("t", "q").with_queueing_lock("task-8"))
        .await
        .unwrap();
    // Once the first runs, another may be queued.
    let claimed = queue
        .claim(&worker_id("w"), &qs(&["q"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, first);
    let second = queue
        .enqueue(&spec("t", "q").with_queueing_lock("task-7"))
        .await
        .unwrap();
    assert_ne!(second, first);
    // A retry of the first, while the second holds the key, gives the key up instead of failing.
    let status = queue
        .fail(&claimed, &TaskError::retriable("x"))
        .await
        .unwrap();
    assert_eq!(status, Some(JobStatus::Failed), "no retry policy: final");
}

async fn lock_serializes(fx: Fixture) {
    let queue = fx.queue().await;
    let a = queue
        .enqueue(&spec("t", "q").with_lock("pacs-1"))
        .await
        .unwrap();
    let b = queue
        .enqueue(&spec("t", "q").with_lock("pacs-1"))
        .await
        .unwrap();
    let free = queue.enqueue(&spec("t", "q")).await.unwrap();
    let w = worker_id("w");
    let q = qs(&["q"]);
    let first = queue.claim(&w, &q).await.unwrap().unwrap();
    assert_eq!(first.job.id, a);
    assert_eq!(queue.claim(&w, &q).await.unwrap().unwrap().job.id, free);
    assert!(
        queue.claim(&w, &q).await.unwrap().is_none(),
        "b shares a's lock"
    );
    assert!(queue.complete(&first).await.unwrap());
    assert_eq!(queue.claim(&w, &q).await.unwrap().unwrap().job.id, b);

    // Under concurrency: 40 jobs on 2 locks, 8 claimers; never two of a lock at once.
    let queue2 = queue.clone();
    for i in 0..40 {
        queue2
            .enqueue(&spec("t", "c").with_lock(format!("L{}", i % 2)))
            .await
            .unwrap();
    }
    let active: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let max_seen: Arc<Mutex<usize>> = Arc::default();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (queue, active, max_seen) = (queue.clone(), active.clone(), max_seen.clone());
        tasks.push(tokio::spawn(async move {
            let w = worker_id(&format!("c{n}"));
            let mut done = 0;
            while done < 40 {
                match queue.claim(&w, &qs(&["c"])).await.unwrap() {
                    Some(job) => {
                        let key = job.job.lock.clone().unwrap();
                        {
                            let mut a = active.lock().unwrap();
                            let c = a.entry(key.clone()).or_default();
                            *c += 1;
                            let mut m = max_seen.lock().unwrap();
                            *m = (*m).max(*c);
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        *active.lock().unwrap().get_mut(&key).unwrap() -= 1;
                        assert!(queue.complete(&job).await.unwrap());
                    }
                    None => {
                        let left = queue.counts().await.unwrap();
                        if left.get(&JobStatus::Todo).copied().unwrap_or(0) == 0 {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
                done += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*max_seen.lock().unwrap(), 1);
    let counts = queue.counts().await.unwrap();
    assert_eq!(counts.get(&JobStatus::Todo), None, "{counts:?}");
}

async fn enqueue_in_caller_transaction(fx: Fixture) {
    let queue = fx.queue().await;
    let w = worker_id("w");
    if let Some(pool) = queue.pg_pool() {
        sqlx::query("CREATE TABLE server_tasks (id BIGSERIAL PRIMARY KEY, job_id BIGINT)")
            .execute(pool)
            .await
            .unwrap();
        // Rolled back: neither row exists.
        let mut tx = pool.begin().await.unwrap();
        let id = queue.enqueue_pg(&mut tx, &spec("t", "q")).await.unwrap();
        sqlx::query("INSERT INTO server_tasks (job_id) VALUES ($1)")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(queue.job(id).await.unwrap().is_none());
        // Committed: both, and the server can join them.
        let mut tx = pool.begin().await.unwrap();
        let id = queue.enqueue_pg(&mut tx, &spec("t", "q")).await.unwrap();
        sqlx::query("INSERT INTO server_tasks (job_id) VALUES ($1)")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .unwrap();
        assert!(
            queue.claim(&w, &qs(&["q"])).await.unwrap().is_none(),
            "invisible before commit"
        );
        tx.commit().await.unwrap();
        let status: String = sqlx::query_scalar(
            "SELECT j.status FROM server_tasks t JOIN adit_queue_jobs j ON j.id = t.job_id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(status, "todo");
    } else {
        let pool = queue.sqlite_pool().unwrap();
        sqlx::query("CREATE TABLE server_tasks (id INTEGER PRIMARY KEY, job_id INTEGER)")
            .execute(pool)
            .await
            .unwrap();
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let id = queue
            .enqueue_sqlite(&mut tx, &spec("t", "q"))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(queue.job(id).await.unwrap().is_none());
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let id = queue
            .enqueue_sqlite(&mut tx, &spec("t", "q"))
            .await
            .unwrap();
        sqlx::query("INSERT INTO server_tasks (job_id) VALUES (?1)")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let status: String = sqlx::query_scalar(
            "SELECT j.status FROM server_tasks t JOIN adit_queue_jobs j ON j.id = t.job_id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(status, "todo");
    }
    assert!(queue.claim(&w, &qs(&["q"])).await.unwrap().is_some());
}

async fn history_and_manual_retry(fx: Fixture) {
    let queue = fx.queue().await;
    let args = json!({"task_id": 42, "model": "batch_transfer"});
    let id = queue
        .enqueue(&JobSpec::new("process_dicom_task", "dicom", args.clone()).with_priority(6))
        .await
        .unwrap();
    let w = worker_id("w-history");
    let job = queue.claim(&w, &qs(&["dicom"])).await.unwrap().unwrap();
    assert_eq!(job.job.args, args);
    queue
        .fail(&job, &TaskError::permanent("no such study"))
        .await
        .unwrap();
    let row = queue.job(id).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Failed);
    assert_eq!(row.task, "process_dicom_task");
    assert_eq!(row.priority, 6);
    assert_eq!(row.worker, Some(w.clone()));
    assert!(row.started_at.is_some() && row.finished_at.is_some());
    assert!(row.created_at <= row.started_at.unwrap());
    // ADIT's "retry": the failed job runs again from attempt 1.
    assert!(queue.retry(id, None).await.unwrap());
    assert!(
        !queue.retry(id, None).await.unwrap(),
        "a queued job is not retried"
    );
    let job = queue.claim(&w, &qs(&["dicom"])).await.unwrap().unwrap();
    assert_eq!((job.job.id, job.job.attempts), (id, 1));
    assert!(queue.complete(&job).await.unwrap());
    let counts = queue.counts().await.unwrap();
    assert_eq!(counts.get(&JobStatus::Succeeded), Some(&1));
    // Purging keeps what finished after the cut-off.
    let old = Utc::now() - TimeDelta::days(1);
    assert_eq!(queue.purge_finished(old).await.unwrap(), 0);
    assert_eq!(
        queue
            .purge_finished(Utc::now() + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert!(queue.job(id).await.unwrap().is_none());
}

async fn dead_worker_recovered_and_fenced(fx: Fixture) {
    let queue = fx.queue().await;
    let id = queue.enqueue(&spec("work", "q")).await.unwrap();
    // A "worker" claims and then never sends a heartbeat again.
    let dead = queue
        .claim(&worker_id("dead"), &qs(&["q"]))
        .await
        .unwrap()
        .unwrap();
    let mut cfg = config(&["q"]);
    cfg.stale_after = Duration::from_secs(1);
    let runs = Arc::new(Mutex::new(0));
    let runs_in_task = runs.clone();
    let worker = Worker::new(queue.clone(), cfg).handle("work", move |_| {
        let runs = runs_in_task.clone();
        async move {
            *runs.lock().unwrap() += 1;
            Ok(())
        }
    });
    let live = worker.id().clone();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let row = wait_status(&queue, id, JobStatus::Succeeded, WAIT).await;
    assert_eq!(row.attempts, 2);
    assert_eq!(row.worker, Some(live));
    assert_eq!(*runs.lock().unwrap(), 1);
    // The dead worker's late outcome is refused.
    assert!(!queue.complete(&dead).await.unwrap());
    assert_eq!(
        queue
            .fail(&dead, &TaskError::permanent("late"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        queue.job(id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

async fn graceful_shutdown_releases(fx: Fixture) {
    let queue = fx.queue().await;
    let mut cfg = config(&["q"]).with_concurrency(2);
    cfg.shutdown_timeout = Duration::from_millis(500);
    let worker = Worker::new(queue.clone(), cfg)
        .handle("short", |_| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        })
        .handle("long", |ctx| async move {
            tokio::select! {
                () = ctx.cancel.cancelled() => {
                    assert_eq!(ctx.stop_reason(), Some(StopReason::Shutdown));
                    Err(TaskError::retriable("interrupted"))
                }
                () = tokio::time::sleep(Duration::from_secs(60)) => Ok(()),
            }
        });
    let short = queue.enqueue(&spec("short", "q")).await.unwrap();
    let long = queue.enqueue(&spec("long", "q")).await.unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    wait_status(&queue, long, JobStatus::Doing, WAIT).await;
    wait_for_doing_or_done(&queue, short).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // The short job finished within the timeout; the long one went back, attempt uncounted.
    assert_eq!(
        queue.job(short).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
    let row = queue.job(long).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (JobStatus::Todo, 0));
}

async fn wait_for_doing_or_done(queue: &JobQueue, id: JobId) {
    common::wait_for(queue, id, WAIT, |j| j.status != JobStatus::Todo).await;
}

async fn cron_once_across_four_workers(fx: Fixture) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 30).unwrap();
    let clock = ManualClock::new(t0);
    let queue = fx.queue_with_clock(Arc::new(clock.clone())).await;
    let runs: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let shutdown = CancellationToken::new();
    let mut workers = Vec::new();
    for _ in 0..4 {
        let runs = runs.clone();
        let worker = Worker::new(queue.clone(), config(&["default"]))
            .periodic(PeriodicTask::simple("* * * * *", "tick", "default").unwrap())
            .handle("tick", move |ctx| {
                let runs = runs.clone();
                async move {
                    let slot = ctx.job.args["slot"].as_str().unwrap().to_owned();
                    *runs.lock().unwrap().entry(slot).or_default() += 1;
                    Ok(())
                }
            });
        workers.push(tokio::spawn(worker.run(shutdown.clone())));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        clock.advance(TimeDelta::minutes(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let start = Instant::now();
    while runs.lock().unwrap().values().sum::<usize>() < 5 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    shutdown.cancel();
    for w in workers {
        w.await.unwrap().unwrap();
    }
    let runs = runs.lock().unwrap().clone();
    let expected: Vec<String> = (1..=5)
        .map(|m| (t0 - TimeDelta::seconds(30) + TimeDelta::minutes(m)).to_rfc3339())
        .collect();
    let mut slots: Vec<String> = runs.keys().cloned().collect();
    slots.sort();
    assert_eq!(slots, expected);
    assert!(runs.values().all(|&n| n == 1), "{runs:?}");
    let counts = queue.counts().await.unwrap();
    assert_eq!(counts.get(&JobStatus::Succeeded), Some(&5), "{counts:?}");
}

async fn time_windows(fx: Fixture) {
    // Wednesday noon: the night queue is closed.
    let noon = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let clock = ManualClock::new(noon);
    let queue = fx.queue_with_clock(Arc::new(clock.clone())).await;
    let night: TimeWindow = "Mon-Fri 22:00-06:00".parse().unwrap();
    let cfg = config(&["night", "day"]).with_windows("night", vec![night]);
    let worker = Worker::new(queue.clone(), cfg).handle("t", |_| async { Ok(()) });
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let at_night = queue
        .enqueue(&spec("t", "night").with_priority(10))
        .await
        .unwrap();
    let by_day = queue.enqueue(&spec("t", "day")).await.unwrap();
    wait_status(&queue, by_day, JobStatus::Succeeded, WAIT).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        queue.job(at_night).await.unwrap().unwrap().status,
        JobStatus::Todo
    );
    // 23:00 the same day: open.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 25, 23, 0, 0).unwrap());
    wait_status(&queue, at_night, JobStatus::Succeeded, WAIT).await;
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

async fn ten_thousand_jobs_eight_workers(fx: Fixture) {
    const JOBS: i64 = 10_000;
    let queue = fx.queue().await;
    // Enqueued in one caller transaction (the server's path), which is also fastest.
    let mut ids = Vec::new();
    if let Some(pool) = queue.pg_pool() {
        let mut tx = pool.begin().await.unwrap();
        for i in 0..JOBS {
            let s = JobSpec::new("count", "bulk", json!({ "i": i }));
            ids.push(queue.enqueue_pg(&mut tx, &s).await.unwrap());
        }
        tx.commit().await.unwrap();
    } else {
        let pool = queue.sqlite_pool().unwrap();
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        for i in 0..JOBS {
            let s = JobSpec::new("count", "bulk", json!({ "i": i }));
            ids.push(queue.enqueue_sqlite(&mut tx, &s).await.unwrap());
        }
        tx.commit().await.unwrap();
        queue.notify_enqueued();
    }
    let seen: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
    let shutdown = CancellationToken::new();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let seen = seen.clone();
        let worker = Worker::new(fx.queue().await, config(&["bulk"]).with_concurrency(2)).handle(
            "count",
            move |ctx| {
                let seen = seen.clone();
                async move {
                    let i = ctx.job.args["i"].as_i64().unwrap();
                    *seen.lock().unwrap().entry(i).or_default() += 1;
                    Ok(())
                }
            },
        );
        workers.push(tokio::spawn(worker.run(shutdown.clone())));
    }
    let start = Instant::now();
    loop {
        let counts = queue.counts().await.unwrap();
        if counts.get(&JobStatus::Succeeded) == Some(&JOBS) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(240), "{counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    for w in workers {
        w.await.unwrap().unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), usize::try_from(JOBS).unwrap());
    assert!(seen.values().all(|&n| n == 1), "some job ran twice");
    let max_attempts: i64 = match (queue.pg_pool(), queue.sqlite_pool()) {
        (Some(pool), _) => sqlx::query_scalar("SELECT MAX(attempts)::BIGINT FROM adit_queue_jobs")
            .fetch_one(pool)
            .await
            .unwrap(),
        (_, Some(pool)) => sqlx::query_scalar("SELECT MAX(attempts) FROM adit_queue_jobs")
            .fetch_one(pool)
            .await
            .unwrap(),
        _ => unreachable!(),
    };
    assert_eq!(max_attempts, 1);
    drop(ids);
}
