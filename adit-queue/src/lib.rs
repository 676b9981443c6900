//! # adit-queue
//!
//! A durable job queue on `sqlx`: PostgreSQL for scaled deployments (many workers on many
//! machines), SQLite as the embedded default. It implements the `adit-core`
//! [`Queue`](adit_core::queue::Queue) trait with the semantics ADIT gets from Procrastinate:
//! named queues, priorities, delayed jobs, queueing locks and locks, retries of retriable
//! errors, cancel and abort, a job history, cron tasks fired once per slot, and time windows.
//!
//! ## Module map
//!
//! | module | what it holds |
//! |---|---|
//! | [`store`] | [`JobQueue`]: connect (`postgres://`, `sqlite:`), migrations, enqueue in a caller's transaction, claim/complete/fail/retry/cancel/abort, heartbeats, dead-worker recovery, history counts and purge |
//! | [`batch`] | batch enqueue (one statement, in a caller's transaction), claims of several jobs and group-committed completions |
//! | [`worker`] | [`Worker`]: concurrency, handlers with a cancellation token, LISTEN/NOTIFY or in-process wake-ups with polling, heartbeats, graceful shutdown |
//! | [`periodic`] | [`PeriodicTask`]: cron schedules, fired exactly once per slot across workers |
//! | [`window`] | [`TimeWindow`]: hours (and days) in which a queue's jobs are claimed |
//! | [`sqlite`] | [`sqlite::open_pool`]: SQLite in WAL mode with a busy timeout, opened safely by concurrent processes |
//! | [`clock`] | [`Clock`]: the system clock or a [`ManualClock`] for tests |
//! | [`migrate`] | [`migrate::Migrations`]: the embedded-migration runner (the queue's, and the server's) |
//! | [`error`] | The crate's [`Error`] |
//!
//! The tables (`adit_queue_jobs`, `adit_queue_periodic`, `_adit_queue_migrations`) are
//! described in `docs/queue.md`, so the server can join its own rows with the job history.
//!
//! ## Example
//!
//! ```
//! use adit_core::queue::{JobSpec, JobStatus, Queue};
//! use adit_queue::{JobQueue, Worker, WorkerConfig};
//! use tokio_util::sync::CancellationToken;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}", dir.path().join("queue.db").display());
//! let queue = JobQueue::connect(&url).await?;
//! let id = queue
//!     .enqueue(&JobSpec::new("greet", "default", serde_json::json!({"name": "ADIT"})))
//!     .await?;
//!
//! let shutdown = CancellationToken::new();
//! let worker = Worker::new(queue.clone(), WorkerConfig::new(["default"]))
//!     .handle("greet", |ctx| async move {
//!         println!("hello {}", ctx.job.args["name"]);
//!         Ok(())
//!     });
//! let running = tokio::spawn(worker.run(shutdown.clone()));
//! while queue.job(id).await?.map(|j| j.status) != Some(JobStatus::Succeeded) {
//!     tokio::time::sleep(std::time::Duration::from_millis(20)).await;
//! }
//! shutdown.cancel();
//! running.await??;
//! # Ok(())
//! # }
//! ```

pub mod batch;
pub mod clock;
pub mod error;
pub mod migrate;
pub mod periodic;
pub mod sqlite;
pub mod store;
pub mod window;
pub mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use periodic::PeriodicTask;
pub use store::JobQueue;
pub use window::TimeWindow;
pub use worker::{JobContext, StopReason, TaskResult, Worker, WorkerConfig};
