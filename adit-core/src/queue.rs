//! The job queue contract: what the server and workers need from a durable queue.
//!
//! `adit-queue` implements [`Queue`] on PostgreSQL and SQLite. This module holds only plain
//! types (no SQL): a [`JobSpec`] to enqueue, the [`Job`] row as the history shows it, a
//! [`ClaimedJob`] a worker holds while it runs, and the [`RetryPolicy`] that decides whether a
//! failed attempt is tried again and when.
//!
//! Life cycle of a job (the [`JobStatus`] values):
//!
//! ```text
//! todo ──claim──▶ doing ──complete──▶ succeeded
//!  │  ▲             │ ├──fail (retriable, attempts left)──▶ todo (run_after = now + wait)
//!  │  └─────────────┘ ├──fail (otherwise)──▶ failed
//!  │   worker died /  └──abort──▶ aborting ──task returns──▶ aborted
//!  │   released
//!  └──cancel──▶ cancelled
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The contract of a durable job queue, implemented per storage backend.
///
/// Every method that changes a running job takes the [`ClaimedJob`], so an implementation can
/// refuse the change when the job was meanwhile recovered by another worker (the fence that
/// keeps a job from being finished twice).
#[async_trait]
pub trait Queue: Send + Sync {
    /// The implementation's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Adds a job. With a [`JobSpec::queueing_lock`] that another queued job already holds,
    /// fails with the implementation's "already queued" error.
    async fn enqueue(&self, spec: &JobSpec) -> Result<JobId, Self::Error>;

    /// Takes the most urgent runnable job of `queues` for `worker`: highest priority first, then
    /// oldest; only jobs whose `run_after` has passed and whose `lock` no running job holds.
    /// Counts an attempt. `None` when nothing is runnable.
    async fn claim(
        &self,
        worker: &WorkerId,
        queues: &[String],
    ) -> Result<Option<ClaimedJob>, Self::Error>;

    /// Marks a claimed job succeeded. `false` when the worker no longer owns it.
    async fn complete(&self, job: &ClaimedJob) -> Result<bool, Self::Error>;

    /// Records a failed attempt: back to `todo` after the retry policy's wait when the error is
    /// retriable and attempts are left, else `failed` (or `aborted` when an abort was
    /// requested). Returns the new status, `None` when the worker no longer owns the job.
    async fn fail(
        &self,
        job: &ClaimedJob,
        error: &TaskError,
    ) -> Result<Option<JobStatus>, Self::Error>;

    /// Puts a claimed job back to `todo` without counting the attempt (graceful shutdown).
    async fn release(&self, job: &ClaimedJob) -> Result<bool, Self::Error>;

    /// Queues a finished (`failed`, `aborted`, `cancelled`, `succeeded`) job again with its
    /// attempts reset, to run after `run_after` (now when `None`). `false` if it is not finished.
    async fn retry(&self, id: JobId, run_after: Option<DateTime<Utc>>)
    -> Result<bool, Self::Error>;

    /// Cancels a queued (`todo`) job. `false` if it is not queued (any more).
    async fn cancel(&self, id: JobId) -> Result<bool, Self::Error>;

    /// Asks the worker running a job to stop it: the job becomes `aborting` and the worker's
    /// cancellation token for it trips. A queued job is cancelled instead. `false` if the job
    /// is neither queued nor running.
    async fn abort(&self, id: JobId) -> Result<bool, Self::Error>;

    /// The job's current row, or `None` if there is no such job.
    async fn job(&self, id: JobId) -> Result<Option<Job>, Self::Error>;
}

/// Identity of a job: the primary key of the queue's job table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// Identity of a worker process (or in-process worker), stored with the jobs it runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkerId(pub String);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a job is in its life cycle (see the module docs for the transitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobStatus {
    /// Queued, waiting for a worker (possibly until `run_after`).
    Todo,
    /// Claimed by a worker and running.
    Doing,
    /// Running, and an abort was requested; the worker's token has tripped or will shortly.
    Aborting,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error that is not retried (any more).
    Failed,
    /// Removed from the queue before it ran.
    Cancelled,
    /// Stopped while running, on request.
    Aborted,
}

impl JobStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Todo,
        JobStatus::Doing,
        JobStatus::Aborting,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
        JobStatus::Aborted,
    ];

    /// The name stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Todo => "todo",
            JobStatus::Doing => "doing",
            JobStatus::Aborting => "aborting",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Aborted => "aborted",
        }
    }

    /// Parses a stored status name.
    pub fn parse(name: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the job will not change any more by itself.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled | JobStatus::Aborted
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long to wait before the next attempt of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Backoff {
    /// `initial + step × (attempt − 1)`: ADIT's 2 → 4 → 6 minutes is `initial = step = 120 s`.
    Linear {
        /// Wait after the first failed attempt.
        initial: Duration,
        /// Added for every further failed attempt.
        step: Duration,
    },
    /// `initial × 2^(attempt − 1)`, at most `max`.
    Exponential {
        /// Wait after the first failed attempt.
        initial: Duration,
        /// Upper bound of the wait.
        max: Duration,
    },
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn wait(&self, attempt: u32) -> Duration {
        let n = attempt.saturating_sub(1);
        match *self {
            Backoff::Linear { initial, step } => initial.saturating_add(step.saturating_mul(n)),
            Backoff::Exponential { initial, max } => {
                let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
                initial.saturating_mul(factor).min(max)
            }
        }
    }
}

/// Whether and when a failed job runs again. Only errors marked retriable
/// ([`TaskError::retriable`]) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in total, the first included; `1` means never retry.
    pub max_attempts: u32,
    /// The wait between attempts.
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// One attempt only.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        backoff: Backoff::Linear {
            initial: Duration::ZERO,
            step: Duration::ZERO,
        },
    };

    /// ADIT's DICOM task policy: 3 attempts, waits of 2 then 4 minutes.
    pub const ADIT_DICOM_TASK: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        backoff: Backoff::Linear {
            initial: Duration::from_secs(120),
            step: Duration::from_secs(120),
        },
    };

    /// Linear waits.
    pub fn linear(max_attempts: u32, initial: Duration, step: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            backoff: Backoff::Linear { initial, step },
        }
    }

    /// Exponential waits.
    pub fn exponential(max_attempts: u32, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            backoff: Backoff::Exponential { initial, max },
        }
    }

    /// The wait after failed attempt `attempt` if another one is allowed, else `None`.
    pub fn next_wait(&self, attempt: u32) -> Option<Duration> {
        (attempt < self.max_attempts).then(|| self.backoff.wait(attempt))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::NONE
    }
}

/// A job to enqueue. Build with [`JobSpec::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Name of the task (the handler a worker runs), e.g. `process_dicom_task`.
    pub task: String,
    /// Named queue, e.g. `dicom`, `default`, `mass_transfer`.
    pub queue: String,
    /// JSON arguments handed to the task.
    pub args: serde_json::Value,
    /// Higher runs first; equal priorities run in enqueue order.
    pub priority: i32,
    /// Not claimed before this time (delayed job); `None` means now.
    pub run_after: Option<DateTime<Utc>>,
    /// At most one queued (`todo`) job may hold this key.
    pub queueing_lock: Option<String>,
    /// Jobs sharing this key never run at the same time.
    pub lock: Option<String>,
    /// Retries of retriable failures.
    pub retry: RetryPolicy,
}

impl JobSpec {
    /// A job of `task` on `queue` with `args`, priority 0, no delay, locks or retries.
    pub fn new(task: impl Into<String>, queue: impl Into<String>, args: serde_json::Value) -> Self {
        JobSpec {
            task: task.into(),
            queue: queue.into(),
            args,
            priority: 0,
            run_after: None,
            queueing_lock: None,
            lock: None,
            retry: RetryPolicy::NONE,
        }
    }

    /// Sets the priority (higher first).
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Delays the job until `at`.
    pub fn with_run_after(mut self, at: DateTime<Utc>) -> Self {
        self.run_after = Some(at);
        self
    }

    /// Sets the queueing lock (at most one queued job per key).
    pub fn with_queueing_lock(mut self, key: impl Into<String>) -> Self {
        self.queueing_lock = Some(key.into());
        self
    }

    /// Sets the lock (jobs sharing it never run concurrently).
    pub fn with_lock(mut self, key: impl Into<String>) -> Self {
        self.lock = Some(key.into());
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// A job row as the history shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// Task name.
    pub task: String,
    /// Queue name.
    pub queue: String,
    /// JSON arguments.
    pub args: serde_json::Value,
    /// Priority.
    pub priority: i32,
    /// Current status.
    pub status: JobStatus,
    /// Not claimed before this time.
    pub run_after: DateTime<Utc>,
    /// Queueing lock, if any.
    pub queueing_lock: Option<String>,
    /// Lock, if any.
    pub lock: Option<String>,
    /// Attempts started so far.
    pub attempts: u32,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Worker running it (or that ran it last).
    pub worker: Option<WorkerId>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When the last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Message of the last failure.
    pub last_error: Option<String>,
}

/// A job a worker has claimed; the fence for finishing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedJob {
    /// The job as it was claimed (status `doing`, attempts already counted).
    pub job: Job,
    /// The worker that claimed it.
    pub worker: WorkerId,
}

/// How a task attempt failed, as the task reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// What went wrong, stored as the job's `last_error`.
    pub message: String,
    /// Whether another attempt can succeed (ADIT's `RetriableDicomError`).
    pub retriable: bool,
}

impl TaskError {
    /// A failure that another attempt may fix.
    pub fn retriable(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            retriable: true,
        }
    }

    /// A failure that is final.
    pub fn permanent(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            retriable: false,
        }
    }
}

impl From<crate::Error> for TaskError {
    fn from(error: crate::Error) -> Self {
        TaskError {
            retriable: error.is_retriable(),
            message: error.to_string(),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TaskError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_backoff_matches_adit() {
        let policy = RetryPolicy::ADIT_DICOM_TASK;
        assert_eq!(policy.next_wait(1), Some(Duration::from_secs(120)));
        assert_eq!(policy.next_wait(2), Some(Duration::from_secs(240)));
        assert_eq!(policy.next_wait(3), None);
    }

    #[test]
    fn exponential_backoff_doubles_up_to_max() {
        let policy = RetryPolicy::exponential(10, Duration::from_secs(1), Duration::from_secs(10));
        let waits: Vec<_> = (1..6).filter_map(|a| policy.next_wait(a)).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10].map(Duration::from_secs).to_vec());
        assert_eq!(policy.backoff.wait(200), Duration::from_secs(10));
    }

    #[test]
    fn status_names_round_trip() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(JobStatus::parse("running"), None);
    }

    #[test]
    fn spec_and_policy_serialize() -> Result<(), serde_json::Error> {
        let spec = JobSpec::new("t", "q", serde_json::json!({"a": 1}))
            .with_retry(RetryPolicy::ADIT_DICOM_TASK);
        let back: JobSpec = serde_json::from_str(&serde_json::to_string(&spec)?)?;
        assert_eq!(back, spec);
        Ok(())
    }
}
