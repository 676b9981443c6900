//! A stand-alone queue worker with two diagnostic tasks, used by the crash-recovery tests and
//! handy to watch a queue: `adit-queue-worker <DATABASE_URL> <QUEUE>[,<QUEUE>...]`.
//!
//! Tasks: `noop` (returns at once) and `sleep` (`{"secs": N}`, stops early when cancelled).
//! Settings from the environment: `ADIT_QUEUE_CONCURRENCY` (1), `ADIT_QUEUE_HEARTBEAT_MS`
//! (1000), `ADIT_QUEUE_STALE_AFTER_MS` (30000). It prints `worker <id>` once started and
//! stops on SIGINT/SIGTERM (Ctrl-C) gracefully.

use std::time::Duration;

use adit_core::queue::TaskError;
use adit_queue::{JobQueue, Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(queues)) = (args.next(), args.next()) else {
        eprintln!("usage: adit-queue-worker <DATABASE_URL> <QUEUE>[,<QUEUE>...]");
        std::process::exit(2);
    };
    let queue = JobQueue::connect(&url).await?;
    let mut config = WorkerConfig::new(queues.split(','))
        .with_concurrency(usize::try_from(env_u64("ADIT_QUEUE_CONCURRENCY", 1))?);
    config.heartbeat_interval = Duration::from_millis(env_u64("ADIT_QUEUE_HEARTBEAT_MS", 1000));
    config.stale_after = Duration::from_millis(env_u64("ADIT_QUEUE_STALE_AFTER_MS", 30_000));
    let worker = Worker::new(queue, config)
        .handle("noop", |_| async { Ok(()) })
        .handle("sleep", |ctx| async move {
            let secs = ctx.job.args["secs"].as_f64().unwrap_or(1.0);
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs_f64(secs)) => Ok(()),
                () = ctx.cancel.cancelled() => Err(TaskError::retriable("stopped")),
            }
        });
    println!("worker {}", worker.id());
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        trigger.cancel();
    });
    worker.run(shutdown).await?;
    Ok(())
}
