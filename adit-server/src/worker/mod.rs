//! The workers: `adit worker [--queues dicom,default] [--concurrency N]` runs adit-queue's
//! [`Worker`] with the `transfer_task` and `batch_query_task` handlers.
//!
//! | module | job |
//! |---|---|
//! | `endpoints` | source, sink and transforms of a task from the nodes table and the job |
//! | `transfer` | the `transfer_task` handler (core engine, progress, outcome) |
//! | `query` | the `batch_query_task` handler (result rows) |
//!
//! Outcomes, retries, cancellation and crash recovery: `docs/jobs.md`.

mod endpoints;
mod query;
mod transfer;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use adit_core::pseudonymize::Secret;
use adit_core::queue::TaskError;
use adit_dimse::DimseOptions;
use adit_dimse::scp::MoveCoordinator;
use adit_queue::{JobContext, StopReason, TaskResult, Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::jobs::kind::{BATCH_QUERY_TASK, DICOM_QUEUE, TRANSFER_TASK};
use crate::jobs::{Jobs, TaskStatus};
use crate::metrics::Metrics;
use transfer::Outcome;

pub use crate::serve::SECRET_KEY_FILE;

/// Directory below the data directory where the receiver spools C-MOVE instances; a worker
/// in another process watches it.
pub const RECEIVER_SPOOL_DIR: &str = "receiver-spool";

/// Default time between two progress writes of one task.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Everything the task handlers share.
#[derive(Debug, Clone)]
pub struct WorkerEnv {
    /// The job model.
    pub jobs: Jobs,
    /// Pseudonymization secret (keys UIDs and date shifts: a re-run writes the same UIDs).
    pub secret: Secret,
    /// DIMSE settings (calling AE title, timeouts).
    pub dimse: DimseOptions,
    /// Hands C-MOVE instances from the receiver to the task that asked for them.
    pub move_coordinator: Option<Arc<MoveCoordinator>>,
    /// Modalities left out of pseudonymized transfers.
    pub exclude_modalities: Vec<String>,
    /// Minimum time between two progress writes of one task.
    pub progress_interval: Duration,
    /// Where transfers, errors and running tasks are counted (the process's registry).
    pub metrics: Metrics,
}

impl WorkerEnv {
    /// Handlers' environment with ADIT's defaults for `jobs`, `secret` and `calling_ae`.
    pub fn new(jobs: Jobs, secret: Secret, calling_ae: &str) -> WorkerEnv {
        WorkerEnv {
            jobs,
            secret,
            dimse: DimseOptions::with_calling_ae(calling_ae),
            move_coordinator: None,
            exclude_modalities: Vec::new(),
            progress_interval: PROGRESS_INTERVAL,
            metrics: Metrics::new(),
        }
    }
}

/// An adit-queue worker on `env`'s queue with both task handlers registered.
pub fn worker(env: Arc<WorkerEnv>, config: WorkerConfig) -> Worker {
    let transfer_env = env.clone();
    let query_env = env.clone();
    Worker::new(env.jobs.queue().clone(), config)
        .handle(TRANSFER_TASK, move |ctx| {
            transfer::handle(transfer_env.clone(), ctx)
        })
        .handle(BATCH_QUERY_TASK, move |ctx| {
            query::handle(query_env.clone(), ctx)
        })
}

/// The task id in a queue job's arguments.
fn task_id(ctx: &JobContext) -> std::result::Result<i64, TaskError> {
    ctx.job.args["task_id"]
        .as_i64()
        .ok_or_else(|| TaskError::permanent(format!("queue job {} has no task_id", ctx.job.id.0)))
}

/// Writes a run's outcome to its task and tells the queue how the job ended.
///
/// - The job was taken over by another worker (missed heartbeats): nothing is written.
/// - The worker shuts down and stopped the run: the task goes back to Pending, the queue job
///   back to the queue.
/// - Abort (cancel, kill): Canceled.
/// - A retriable failure with attempts left: Pending, "Task failed, but will be retried.",
///   and a retriable error so the queue runs it again after its back-off.
/// - Otherwise the outcome; failures are permanent errors for the queue's history.
async fn conclude(
    env: &WorkerEnv,
    ctx: &JobContext,
    task_id: i64,
    last_attempt: bool,
    outcome: Outcome,
) -> TaskResult {
    let Outcome::Done {
        status,
        message,
        log,
        retriable,
    } = outcome;
    let stop = ctx.stop_reason();
    if stop == Some(StopReason::Lost) {
        return Err(TaskError::permanent(
            "the task was recovered by another worker",
        ));
    }
    let stopped_early = matches!(status, TaskStatus::Canceled | TaskStatus::Failure);
    if stop == Some(StopReason::Shutdown) && stopped_early {
        if let Err(e) = env.jobs.release_task(task_id).await {
            tracing::warn!(task = task_id, error = %e, "releasing the task failed");
        }
        return Err(TaskError::retriable("the worker shut down"));
    }
    let (status, message) = if stop == Some(StopReason::Abort) && stopped_early {
        (TaskStatus::Canceled, "Task was canceled.".to_owned())
    } else {
        (status, message)
    };
    if status == TaskStatus::Failure && retriable && !last_attempt {
        let entry = format!("Attempt {}: {log}", ctx.job.attempts);
        if let Err(e) = env.jobs.retry_later(task_id, &entry).await {
            tracing::warn!(task = task_id, error = %e, "recording the retry failed");
        }
        return Err(TaskError::retriable(message));
    }
    if let Err(e) = env.jobs.finish_task(task_id, status, &message, &log).await {
        // The task stays In Progress; the queue runs it again and the next run finishes it.
        return Err(TaskError::retriable(format!(
            "recording the outcome of task {task_id}: {e}"
        )));
    }
    tracing::info!(task = task_id, status = %status, %message, "task finished");
    match status {
        TaskStatus::Failure => Err(TaskError::permanent(message)),
        TaskStatus::Canceled => Err(TaskError::permanent("Task was canceled.")),
        _ => Ok(()),
    }
}

/// Arguments of `adit worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Queues to take jobs from (comma list).
    #[arg(long, value_delimiter = ',', default_value = "dicom,default")]
    pub queues: Vec<String>,
    /// Tasks run at the same time.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
}

/// Runs `adit worker` until SIGINT or SIGTERM.
pub fn run(config: &Config, args: &WorkerArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("adit: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve_worker(config, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adit worker: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The handlers' environment of `config` on `db`, taking C-MOVE results from `coordinator`
/// (an in-process receiver's in `adit serve`, the shared spool's in `adit worker`).
pub async fn env_for(
    config: &Config,
    db: &Db,
    coordinator: Arc<MoveCoordinator>,
) -> Result<WorkerEnv> {
    let (jobs, smtp_error) = Jobs::from_config(db, config)
        .await
        .map_err(|e| Error::Invalid {
            what: "job queue",
            reason: e.to_string(),
        })?;
    // The worker sends the job-finished mails: bad SMTP settings stop it at start rather than
    // losing every mail silently.
    if let Some(e) = smtp_error {
        return Err(Error::Invalid {
            what: "SMTP settings",
            reason: e.to_string(),
        });
    }
    let secret = load_secret(config)?;
    let mut env = WorkerEnv::new(jobs, secret, &config.calling_ae);
    env.exclude_modalities = config.exclude_modalities.clone();
    env.move_coordinator = Some(coordinator);
    Ok(env)
}

async fn serve_worker(config: &Config, args: &WorkerArgs) -> Result<()> {
    let db = Db::connect(config).await?;
    crate::db::migrate::run(&db).await?;
    let coordinator = crate::receiver::spool_coordinator(config, &db).await?;
    let env = env_for(config, &db, coordinator).await?;
    let shutdown = CancellationToken::new();
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(
            crate::metrics::standalone::spawn(
                addr,
                env.metrics.clone(),
                db.clone(),
                config.metrics_token.clone(),
                shutdown.child_token(),
            )
            .await?,
        ),
        None => None,
    };
    let queues = if args.queues.is_empty() {
        vec![DICOM_QUEUE.to_owned()]
    } else {
        args.queues.clone()
    };
    let mut worker_config = WorkerConfig::new(queues).with_concurrency(args.concurrency);
    worker_config.shutdown_timeout = config.worker_stop_grace;
    worker_config.stop_timeout = crate::serve::TASK_STOP_TIMEOUT;
    let worker = worker(Arc::new(env), worker_config);
    tracing::info!(id = %worker.id().0, "adit worker starting");
    println!("adit worker {} started", worker.id().0);
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let ran = worker.run(shutdown.clone()).await;
    shutdown.cancel();
    if let Some(listener) = metrics_listener {
        let _ = listener.await;
    }
    ran?;
    db.close().await;
    Ok(())
}

/// The receiver's spool directory below `data_dir`.
pub fn receiver_spool_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(RECEIVER_SPOOL_DIR)
}

/// `ADIT_SECRET_KEY`, else the secret `adit serve` generated in the data directory. A worker
/// never generates one: all processes must share it.
pub fn load_secret(config: &Config) -> Result<Secret> {
    let invalid = |reason: String| Error::Invalid {
        what: "pseudonymization secret",
        reason,
    };
    let text = match &config.secret_key {
        Some(secret) => secret.expose().to_owned(),
        None => {
            let path = config.data_dir.join(SECRET_KEY_FILE);
            std::fs::read_to_string(&path)
                .map_err(|e| {
                    invalid(format!(
                        "ADIT_SECRET_KEY is not set and {} cannot be read ({e}); set it or run \
                         `adit serve` once",
                        path.display()
                    ))
                })?
                .trim()
                .to_owned()
        }
    };
    Secret::new(text).map_err(|e| invalid(e.to_string()))
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("signal received: shutting down the worker");
    shutdown.cancel();
}
