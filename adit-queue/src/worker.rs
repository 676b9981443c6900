//! [`Worker`]: claims jobs of its queues and runs the registered task handlers.
//!
//! A worker runs up to `concurrency` jobs at once, each in its own tokio task (a panic fails
//! the job instead of the worker). One dispatcher claims, in one statement, the most urgent
//! runnable jobs of the queues whose time window is open for all free slots, plus a small
//! prefetch while jobs finish quickly (it doubles after each job under 10 ms, up to 32, and
//! drops to 0 after a slower one, so long jobs are never held back by a busy worker). A job
//! claimed ahead keeps its heartbeat while it waits, never starts if aborted meanwhile, and
//! goes back to `todo` if no slot frees within 4 × `quick_job` or at shutdown. An idle dispatcher sleeps until a wake-up (PostgreSQL
//! `NOTIFY`, or the in-process notifier on SQLite) or the poll interval.
//!
//! Completions are group-committed: a completer task records the successes of all slots that
//! finished meanwhile in one transaction, while the slots already run their next jobs. Failures
//! and releases are recorded by the job's own task.
//!
//! Beside the dispatcher, the worker
//! - sends heartbeats for its running jobs every `heartbeat_interval`; the answer also tells
//!   which of its jobs have an abort request (their [`JobContext::cancel`] token trips) or were
//!   taken away after a missed heartbeat (the token trips too, and the outcome is dropped);
//! - puts back jobs of dead workers: running jobs without a heartbeat for `stale_after`;
//! - fires its periodic tasks' cron slots (each slot once across all workers).
//!
//! Shutdown (the token given to [`Worker::run`]) stops claiming, puts jobs claimed ahead back,
//! lets running jobs finish for up to `shutdown_timeout`, then trips their tokens and puts the
//! ones that fail back to `todo` without counting the attempt; pending completions are
//! committed before [`Worker::run`] returns.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adit_core::queue::{ClaimedJob, Job, JobId, JobStatus, Queue, TaskError, WorkerId};
use chrono::FixedOffset;
use futures::future::BoxFuture;
use sqlx::postgres::PgListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::periodic::PeriodicTask;
use crate::store::{JobQueue, NOTIFY_CHANNEL};
use crate::window::{TimeWindow, is_open};

/// Default of [`WorkerConfig::quick_job`].
const QUICK_JOB: Duration = Duration::from_millis(10);
/// Most jobs claimed ahead of the free slots.
const MAX_PREFETCH: usize = 32;
/// Most completions recorded in one transaction.
const MAX_COMPLETIONS: usize = 512;
/// Attempts at recording a job's outcome before leaving it to dead-worker recovery.
const RECORD_ATTEMPTS: u32 = 5;

/// What a task handler returns.
pub type TaskResult = std::result::Result<(), TaskError>;

type Handler = Arc<dyn Fn(JobContext) -> BoxFuture<'static, TaskResult> + Send + Sync>;

/// Settings of a [`Worker`].
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Queues to claim from.
    pub queues: Vec<String>,
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// Longest sleep of an idle claim loop without a wake-up.
    pub poll_interval: Duration,
    /// Time between heartbeats (and abort checks) of running jobs.
    pub heartbeat_interval: Duration,
    /// A running job without a heartbeat for this long belongs to a dead worker and is put back.
    pub stale_after: Duration,
    /// How long shutdown waits for running jobs before tripping their tokens.
    pub shutdown_timeout: Duration,
    /// How long jobs whose tokens shutdown tripped may take to stop (and be put back) before
    /// they are abandoned to dead-worker recovery.
    pub stop_timeout: Duration,
    /// Time windows per queue; a queue without an entry is always open.
    pub windows: HashMap<String, Vec<TimeWindow>>,
    /// Offset in which windows are read.
    pub utc_offset: FixedOffset,
    /// How often due cron slots are looked for.
    pub periodic_interval: Duration,
    /// Jobs that run shorter than this let the worker claim ahead of its free slots (up to 32
    /// jobs, doubling per quick job); a longer one turns that off until jobs are quick again.
    /// `Duration::ZERO` never claims ahead.
    pub quick_job: Duration,
}

impl WorkerConfig {
    /// Defaults for `queues`: concurrency 1, poll 1 s, heartbeat 1 s, stale after 30 s,
    /// shutdown timeout 30 s, stop timeout 30 s, no windows, UTC, claim ahead while jobs take
    /// under 10 ms.
    pub fn new<S: Into<String>>(queues: impl IntoIterator<Item = S>) -> Self {
        WorkerConfig {
            queues: queues.into_iter().map(Into::into).collect(),
            concurrency: 1,
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(1),
            stale_after: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(30),
            windows: HashMap::new(),
            utc_offset: FixedOffset::east_opt(0)
                .unwrap_or_else(|| FixedOffset::west_opt(0).unwrap_or_else(|| unreachable!())),
            periodic_interval: Duration::from_secs(1),
            quick_job: QUICK_JOB,
        }
    }

    /// Sets the concurrency (at least 1).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Restricts `queue` to `windows`.
    pub fn with_windows(mut self, queue: &str, windows: Vec<TimeWindow>) -> Self {
        self.windows.insert(queue.to_owned(), windows);
        self
    }
}

/// Why a job's cancellation token tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Someone asked to abort the job.
    Abort,
    /// The worker is shutting down; the job goes back to the queue if it fails now.
    Shutdown,
    /// The job was recovered by another worker after this one missed heartbeats.
    Lost,
}

const REASON_NONE: u8 = 0;
const REASON_ABORT: u8 = 1;
const REASON_SHUTDOWN: u8 = 2;
const REASON_LOST: u8 = 3;

/// What a task handler gets: the job and the token that trips when it must stop.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The job as claimed (attempts include this one).
    pub job: Job,
    /// Trips on abort, on shutdown after the timeout, or when the job was lost.
    pub cancel: CancellationToken,
    /// The queue, e.g. to enqueue follow-up jobs.
    pub queue: JobQueue,
    reason: Arc<AtomicU8>,
}

impl JobContext {
    /// Why [`JobContext::cancel`] tripped, if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        reason_of(self.reason.load(Ordering::SeqCst))
    }
}

fn reason_of(code: u8) -> Option<StopReason> {
    match code {
        REASON_ABORT => Some(StopReason::Abort),
        REASON_SHUTDOWN => Some(StopReason::Shutdown),
        REASON_LOST => Some(StopReason::Lost),
        _ => None,
    }
}

/// A worker: register handlers, then [`Worker::run`].
pub struct Worker {
    queue: JobQueue,
    id: WorkerId,
    config: WorkerConfig,
    handlers: HashMap<String, Handler>,
    periodic: Vec<PeriodicTask>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("config", &self.config)
            .field("tasks", &self.handlers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker on `queue` with a fresh id (`<host>-<pid>-<n>`).
    pub fn new(queue: JobQueue, config: WorkerConfig) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
        let millis = chrono::Utc::now().timestamp_millis();
        let id = format!(
            "{host}-{}-{millis}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Worker {
            queue,
            id: WorkerId(id),
            config,
            handlers: HashMap::new(),
            periodic: Vec::new(),
        }
    }

    /// Replaces the generated id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = WorkerId(id.into());
        self
    }

    /// The worker's id, as stored in `worker_id` of the jobs it runs.
    pub fn id(&self) -> &WorkerId {
        &self.id
    }

    /// Registers the handler of `task`.
    pub fn handle<F, Fut>(mut self, task: &str, handler: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TaskResult> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |ctx| Box::pin(handler(ctx)));
        self.handlers.insert(task.to_owned(), handler);
        self
    }

    /// Adds a periodic task (its handler is registered with [`Worker::handle`]).
    pub fn periodic(mut self, task: PeriodicTask) -> Self {
        self.periodic.push(task);
        self
    }

    /// Runs until `shutdown` trips, then shuts down gracefully (see the module docs).
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let inner = Arc::new(Inner {
            queue: self.queue,
            id: self.id,
            slots: Arc::new(Semaphore::new(self.config.concurrency.max(1))),
            config: self.config,
            handlers: self.handlers,
            running: Mutex::new(HashMap::new()),
            prefetch: AtomicUsize::new(0),
        });
        tracing::info!(worker = %inner.id, queues = ?inner.config.queues, "worker started");
        let background = CancellationToken::new();
        let mut helpers = JoinSet::new();
        helpers.spawn(heartbeats(inner.clone(), background.clone()));
        if let Some(pool) = inner.queue.pg_pool().cloned() {
            helpers.spawn(listen(inner.clone(), pool, background.clone()));
        }
        if !self.periodic.is_empty() {
            helpers.spawn(fire_periodic(
                inner.clone(),
                self.periodic,
                shutdown.clone(),
            ));
        }
        let (completed, to_complete) = mpsc::unbounded_channel();
        let completer = tokio::spawn(complete_jobs(inner.clone(), to_complete));
        let mut jobs = JoinSet::new();
        let mut prefetched = VecDeque::new();

        dispatch(&inner, &shutdown, &mut jobs, &mut prefetched, &completed).await;
        release_prefetched(&inner, prefetched).await;
        let drained = tokio::time::timeout(inner.config.shutdown_timeout, async {
            while jobs.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(worker = %inner.id, "shutdown timeout: stopping running jobs");
            inner.trip_all(REASON_SHUTDOWN);
            let stopped = tokio::time::timeout(inner.config.stop_timeout, async {
                while jobs.join_next().await.is_some() {}
            })
            .await;
            if stopped.is_err() {
                // Handlers that ignore their token: their jobs stay `doing` without heartbeat
                // and another worker recovers them after `stale_after`.
                jobs.abort_all();
                while jobs.join_next().await.is_some() {}
            }
        }
        // Every finished job's completion is committed before the worker stops (heartbeats
        // keep their rows alive meanwhile).
        drop(completed);
        if let Err(e) = completer.await {
            tracing::warn!(worker = %inner.id, error = %e, "completer stopped abnormally");
        }
        background.cancel();
        while helpers.join_next().await.is_some() {}
        tracing::info!(worker = %inner.id, "worker stopped");
        Ok(())
    }
}

struct Running {
    token: CancellationToken,
    reason: Arc<AtomicU8>,
}

/// A claimed job waiting for a free slot, already watched by the heartbeats.
struct Prefetched {
    claimed: ClaimedJob,
    token: CancellationToken,
    reason: Arc<AtomicU8>,
}

struct Inner {
    queue: JobQueue,
    id: WorkerId,
    config: WorkerConfig,
    handlers: HashMap<String, Handler>,
    running: Mutex<HashMap<JobId, Running>>,
    /// One permit per job that may run at once.
    slots: Arc<Semaphore>,
    /// Jobs claimed beyond the free slots: grows while jobs finish quickly, 0 otherwise.
    prefetch: AtomicUsize,
}

impl Inner {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn trip(&self, id: JobId, reason: u8) {
        if let Some(run) = self.running().get(&id) {
            // The first reason wins: an abort stays an abort when shutdown follows.
            let _ = run.reason.compare_exchange(
                REASON_NONE,
                reason,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            run.token.cancel();
        }
    }

    fn trip_all(&self, reason: u8) {
        for run in self.running().values() {
            let _ = run.reason.compare_exchange(
                REASON_NONE,
                reason,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            run.token.cancel();
        }
    }

    fn open_queues(&self) -> Vec<String> {
        let now = self.queue.clock().now();
        self.config
            .queues
            .iter()
            .filter(|q| {
                self.config
                    .windows
                    .get(*q)
                    .is_none_or(|w| is_open(w, now, self.config.utc_offset))
            })
            .cloned()
            .collect()
    }

    /// Learns from a job's run time how far to claim ahead: quick jobs double the prefetch,
    /// a slow one turns it off, so long jobs are never held back by a busy worker.
    fn learn(&self, took: Duration) {
        if took < self.config.quick_job {
            let _ = self
                .prefetch
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some((n * 2).clamp(1, MAX_PREFETCH))
                });
        } else {
            self.prefetch.store(0, Ordering::Relaxed);
        }
    }
}

/// Hands claimed jobs to free slots until `shutdown` trips. One claim statement fetches the
/// jobs for all free slots (plus the adaptive prefetch); an idle dispatcher sleeps until a
/// wake-up or the poll interval, so one notification costs one claim, not one per slot.
async fn dispatch(
    inner: &Arc<Inner>,
    shutdown: &CancellationToken,
    jobs: &mut JoinSet<()>,
    prefetched: &mut VecDeque<Prefetched>,
    completed: &mpsc::UnboundedSender<ClaimedJob>,
) {
    let notify = inner.queue.notifier().clone();
    // Jobs claimed ahead wait at most this long for a slot: longer means the slots run slow
    // jobs, and another worker may be idle.
    let hold = inner.config.quick_job.saturating_mul(4);
    loop {
        let permit = tokio::select! {
            permit = inner.slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(hold), if !prefetched.is_empty() => {
                inner.prefetch.store(0, Ordering::Relaxed);
                release_prefetched(inner, std::mem::take(prefetched)).await;
                continue;
            }
        };
        while jobs.try_join_next().is_some() {}
        while prefetched.is_empty() {
            if shutdown.is_cancelled() {
                return;
            }
            // Registered before the claim, so a wake-up between an empty claim and the wait
            // counts.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let open = inner.open_queues();
            let want = inner.slots.available_permits() + 1 + inner.prefetch.load(Ordering::Relaxed);
            match inner.queue.claim_many(&inner.id, &open, want).await {
                Ok(claimed) if !claimed.is_empty() => {
                    let mut running = inner.running();
                    for claimed in claimed {
                        let token = CancellationToken::new();
                        let reason = Arc::new(AtomicU8::new(REASON_NONE));
                        running.insert(
                            claimed.job.id,
                            Running {
                                token: token.clone(),
                                reason: reason.clone(),
                            },
                        );
                        prefetched.push_back(Prefetched {
                            claimed,
                            token,
                            reason,
                        });
                    }
                }
                Ok(_) => {
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep(inner.config.poll_interval) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = %inner.id, error = %e, "claim failed");
                    tokio::select! {
                        () = tokio::time::sleep(inner.config.poll_interval) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        }
        if shutdown.is_cancelled() {
            return;
        }
        if let Some(job) = prefetched.pop_front() {
            jobs.spawn(run_job(inner.clone(), job, permit, completed.clone()));
        }
    }
}

/// Puts jobs claimed ahead but never started back to `todo` (attempt not counted), so another
/// worker can take them at once.
async fn release_prefetched(inner: &Arc<Inner>, prefetched: VecDeque<Prefetched>) {
    for job in prefetched {
        inner.running().remove(&job.claimed.job.id);
        if let Err(e) = inner.queue.release(&job.claimed).await {
            tracing::warn!(worker = %inner.id, job = job.claimed.job.id.0, error = %e,
                "releasing a prefetched job failed; it is recovered once its heartbeat is stale");
        }
    }
}

async fn run_job(
    inner: Arc<Inner>,
    job: Prefetched,
    _slot: OwnedSemaphorePermit,
    completed: mpsc::UnboundedSender<ClaimedJob>,
) {
    let Prefetched {
        claimed,
        token,
        reason,
    } = job;
    let id = claimed.job.id;
    if reason_of(reason.load(Ordering::SeqCst)) == Some(StopReason::Lost) {
        // Taken away (heartbeat missed) while it waited for a slot: never started.
        inner.running().remove(&id);
        return;
    }
    let started = Instant::now();
    let result = match inner.handlers.get(&claimed.job.task) {
        None => Err(TaskError::permanent(format!(
            "worker {} has no handler for task `{}`",
            inner.id, claimed.job.task
        ))),
        // Aborted while it waited for a slot: it never starts.
        Some(_) if reason_of(reason.load(Ordering::SeqCst)) == Some(StopReason::Abort) => {
            Err(TaskError::permanent("aborted before it started".to_owned()))
        }
        Some(handler) => {
            let ctx = JobContext {
                job: claimed.job.clone(),
                cancel: token,
                queue: inner.queue.clone(),
                reason: reason.clone(),
            };
            match tokio::spawn(handler(ctx)).await {
                Ok(result) => result,
                Err(e) => Err(TaskError::permanent(format!("task panicked: {e}"))),
            }
        }
    };
    inner.learn(started.elapsed());
    inner.running().remove(&id);
    let outcome = match (reason_of(reason.load(Ordering::SeqCst)), &result) {
        (Some(StopReason::Lost), _) => {
            tracing::warn!(worker = %inner.id, job = id.0, "job was recovered by another worker; outcome dropped");
            return;
        }
        (Some(StopReason::Shutdown), Err(_)) => "release",
        (_, Ok(())) => {
            // Group commit: the completer records it with the other finished jobs, while this
            // slot takes the next job.
            if let Err(unsent) = completed.send(claimed) {
                record_complete(&inner, &unsent.0).await;
            }
            return;
        }
        (_, Err(_)) => "fail",
    };
    // The outcome must reach the database: a lost update would let the job be recovered and
    // run again. Retry briefly before giving up to the dead-worker recovery.
    for attempt in 0..RECORD_ATTEMPTS {
        let done = match (outcome, &result) {
            ("release", _) => inner.queue.release(&claimed).await.map(|_| ()),
            (_, Err(error)) => inner.queue.fail(&claimed, error).await.map(|_| ()),
            (_, Ok(())) => inner.queue.complete(&claimed).await.map(|_| ()),
        };
        match done {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(worker = %inner.id, job = id.0, error = %e, "recording the outcome failed");
                tokio::time::sleep(Duration::from_millis(200) * (attempt + 1)).await;
            }
        }
    }
}

/// Records one completion on its own (the completer is gone).
async fn record_complete(inner: &Inner, claimed: &ClaimedJob) {
    for attempt in 0..RECORD_ATTEMPTS {
        match inner.queue.complete(claimed).await {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(worker = %inner.id, job = claimed.job.id.0, error = %e, "recording the outcome failed");
                tokio::time::sleep(Duration::from_millis(200) * (attempt + 1)).await;
            }
        }
    }
}

/// Records the completions of finished jobs, all that are waiting in one transaction: while
/// one commit waits for its WAL flush, the next batch gathers.
async fn complete_jobs(inner: Arc<Inner>, mut finished: mpsc::UnboundedReceiver<ClaimedJob>) {
    let mut batch = Vec::new();
    while finished.recv_many(&mut batch, MAX_COMPLETIONS).await > 0 {
        let ids: Vec<JobId> = batch.iter().map(|j| j.job.id).collect();
        for attempt in 0..RECORD_ATTEMPTS {
            match inner.queue.complete_many(&inner.id, &ids).await {
                Ok(done) if done.len() < ids.len() => {
                    for id in ids.iter().filter(|id| !done.contains(id)) {
                        tracing::warn!(worker = %inner.id, job = id.0, "job was recovered by another worker; completion dropped");
                    }
                    break;
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(worker = %inner.id, jobs = ids.len(), error = %e, "recording completions failed");
                    tokio::time::sleep(Duration::from_millis(200) * (attempt + 1)).await;
                }
            }
        }
        batch.clear();
    }
}

async fn heartbeats(inner: Arc<Inner>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(inner.config.heartbeat_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let recover_every = (inner.config.stale_after / 4).max(inner.config.heartbeat_interval);
    let mut last_recovery: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        // Only jobs registered before the query can be judged by its answer.
        let before: Vec<JobId> = inner.running().keys().copied().collect();
        if !before.is_empty() {
            match inner.queue.heartbeat(&inner.id).await {
                Ok(rows) => {
                    let owned: HashMap<JobId, JobStatus> = rows.into_iter().collect();
                    for id in before {
                        match owned.get(&id) {
                            Some(JobStatus::Aborting) => inner.trip(id, REASON_ABORT),
                            Some(_) => {}
                            None => inner.trip(id, REASON_LOST),
                        }
                    }
                }
                Err(e) => tracing::warn!(worker = %inner.id, error = %e, "heartbeat failed"),
            }
        }
        if last_recovery.is_none_or(|t| t.elapsed() >= recover_every) {
            last_recovery = Some(Instant::now());
            if let Err(e) = inner.queue.recover_stale(inner.config.stale_after).await {
                tracing::warn!(worker = %inner.id, error = %e, "recovering stale jobs failed");
            }
        }
    }
}

async fn listen(inner: Arc<Inner>, pool: sqlx::PgPool, stop: CancellationToken) {
    let notify = inner.queue.notifier().clone();
    while !stop.is_cancelled() {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listener.await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(worker = %inner.id, error = %e, "LISTEN failed; polling");
                tokio::select! {
                    () = tokio::time::sleep(inner.config.poll_interval) => continue,
                    () = stop.cancelled() => return,
                }
            }
        };
        loop {
            tokio::select! {
                received = listener.recv() => match received {
                    Ok(n) if inner.config.queues.iter().any(|q| q == n.payload()) => {
                        notify.notify_waiters();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(worker = %inner.id, error = %e, "LISTEN connection lost");
                        break;
                    }
                },
                () = stop.cancelled() => return,
            }
        }
    }
}

async fn fire_periodic(inner: Arc<Inner>, tasks: Vec<PeriodicTask>, stop: CancellationToken) {
    let clock = inner.queue.clock().clone();
    let mut last = clock.now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(inner.config.periodic_interval) => {}
            () = stop.cancelled() => return,
        }
        let now = clock.now();
        let mut all_fired = true;
        for task in &tasks {
            for slot in task.slots_between(last, now, 1000) {
                match inner
                    .queue
                    .fire_periodic(&task.spec.task, slot, &task.spec_for(slot))
                    .await
                {
                    Ok(Some(job)) => {
                        tracing::info!(task = %task.spec.task, %slot, job = job.0, "periodic task fired");
                    }
                    Ok(None) => {}
                    Err(e) => {
                        all_fired = false;
                        tracing::warn!(task = %task.spec.task, %slot, error = %e, "firing a periodic task failed");
                    }
                }
            }
        }
        // On an error the same slots are looked at again next time (firing is idempotent).
        if all_fired {
            last = now;
        }
    }
}
