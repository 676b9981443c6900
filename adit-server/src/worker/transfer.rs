//! The `transfer_task` handler: one study (or some of its series) from the job's source to
//! its destination through the core engine.

use std::sync::Arc;
use std::time::Duration;

use adit_core::engine::{Progress, TransferOptions, TransferReport, TransferStatus, transfer};
use adit_core::queue::TaskError;
use adit_queue::{JobContext, TaskResult};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{WorkerEnv, endpoints, task_id};
use crate::audit::{self, Action, Event};
use crate::jobs::{Started, TaskProgress, TaskStatus};
use crate::metrics::{Direction, Metrics};

/// Most problem instances listed in a task's log.
const MAX_LOGGED_PROBLEMS: usize = 50;

/// Runs one transfer task (see `docs/jobs.md` for the outcomes).
pub(crate) async fn handle(env: Arc<WorkerEnv>, ctx: JobContext) -> TaskResult {
    let task_id = task_id(&ctx)?;
    let started = match env.jobs.start_task(task_id).await {
        Ok(Some(started)) => started,
        Ok(None) => return Ok(()),
        Err(e) => return Err(TaskError::retriable(format!("start task {task_id}: {e}"))),
    };
    let _in_flight = env.metrics.task_started();
    let last_attempt = ctx.job.attempts >= ctx.job.retry.max_attempts;
    let outcome = run(&env, &started, ctx.cancel.clone()).await;
    super::conclude(&env, &ctx, task_id, last_attempt, outcome).await
}

/// What a run produced, before it is written to the task.
pub(crate) enum Outcome {
    /// A final status with its message and log.
    Done {
        /// SU, WA, FA or CA.
        status: TaskStatus,
        /// One line.
        message: String,
        /// Details.
        log: String,
        /// The failure may succeed later (FA only).
        retriable: bool,
    },
}

impl Outcome {
    pub(crate) fn failed(message: impl Into<String>, retriable: bool) -> Outcome {
        let message = message.into();
        Outcome::Done {
            status: TaskStatus::Failure,
            log: message.clone(),
            message,
            retriable,
        }
    }
}

async fn run(env: &WorkerEnv, started: &Started, cancel: CancellationToken) -> Outcome {
    let (job, task) = (&started.job, &started.task);
    let Some(destination_id) = job.destination_id else {
        return Outcome::failed("the job has no destination", false);
    };
    let setup = async {
        let source_node = env
            .jobs
            .node(job.source_id)
            .await
            .map_err(|e| e.to_string())?;
        let destination_node = env
            .jobs
            .node(destination_id)
            .await
            .map_err(|e| e.to_string())?;
        let username = env
            .jobs
            .username(job.owner_id)
            .await
            .map_err(|e| e.to_string())?;
        let source = endpoints::source(env, &source_node)?;
        let sink = endpoints::sink(&destination_node, env, job, task, &username)?;
        let transforms = endpoints::transforms(env, job, task)?;
        let names = (
            source_node.name.clone(),
            destination_node.name.clone(),
            username,
        );
        Ok::<_, String>((source, sink, transforms, names))
    };
    let (source, sink, transforms, (source_name, destination_name, username)) = match setup.await {
        Ok(parts) => parts,
        Err(e) => {
            env.metrics.transfer_error("setup", 1);
            return Outcome::failed(e, false);
        }
    };

    let (progress_tx, progress_rx) = watch::channel(Progress::default());
    let writer = tokio::spawn(write_progress(
        env.jobs.clone(),
        task.id,
        progress_rx,
        env.progress_interval,
    ));
    let options = TransferOptions::default()
        .with_cancel(cancel)
        .with_progress(progress_tx);
    let result = transfer(
        source.as_ref(),
        &endpoints::selection(task),
        &transforms,
        sink.as_ref(),
        options,
    )
    .await;
    // The sender is gone with the options: the writer stores the last snapshot and ends.
    let _ = writer.await;
    if result.is_ok() {
        // Data left the source: who (the job's owner), from where to where, which study,
        // pseudonymized or not.
        let mut event = Event::new(Action::DataTransfer)
            .node(format!("{source_name} -> {destination_name}"))
            // The job's pseudonym was copied into its tasks when it was created.
            .study(&task.study_uid, task.pseudonym.is_some())
            .detail(format!("job {} task {}", job.id, task.id));
        event.user_id = Some(job.owner_id);
        event.username = username;
        audit::record_or_log(env.jobs.db(), &event).await;
    }
    count(&env.metrics, &result, &source_name, &destination_name);
    match result {
        Ok(report) => from_report(&report),
        Err(adit_core::Error::Cancelled) => Outcome::Done {
            status: TaskStatus::Canceled,
            message: "Task was canceled.".into(),
            log: String::new(),
            retriable: false,
        },
        Err(e) => {
            let retriable = e.is_retriable();
            Outcome::failed(e.to_string(), retriable)
        }
    }
}

/// Counts a finished transfer: what reached the destination, for the source node as
/// retrieved and for the destination node as stored; and its errors by kind.
fn count(
    metrics: &Metrics,
    result: &adit_core::Result<TransferReport>,
    source: &str,
    destination: &str,
) {
    match result {
        Ok(report) => {
            let instances = report.counts.transferred();
            metrics.transferred(source, Direction::Retrieve, instances, report.bytes);
            metrics.transferred(destination, Direction::Store, instances, report.bytes);
            metrics.transfer_error("instance_failed", report.counts.failed);
            metrics.transfer_error("instance_missing", report.counts.missing);
            metrics.transfer_error("instance_not_stored", report.counts.not_stored);
            for e in report.error.iter().chain(&report.finish_error) {
                metrics.transfer_error(error_kind(e), 1);
            }
        }
        Err(adit_core::Error::Cancelled) => {}
        Err(e) => metrics.transfer_error(error_kind(e), 1),
    }
}

/// A fixed label for a transfer-stopping error (never its text: unbounded label values).
fn error_kind(e: &adit_core::Error) -> &'static str {
    match e {
        adit_core::Error::Peer { .. } => "peer",
        adit_core::Error::Timeout { .. } => "timeout",
        adit_core::Error::Io { .. } | adit_core::Error::Write { .. } => "io",
        adit_core::Error::InvalidDicom { .. } => "invalid_dicom",
        adit_core::Error::Cancelled => "cancelled",
        _ => "other",
    }
}

/// The task status of a finished transfer.
fn from_report(report: &TransferReport) -> Outcome {
    let mut log = String::new();
    for (i, problem) in report.problems().enumerate() {
        if i == MAX_LOGGED_PROBLEMS {
            log.push_str("...\n");
            break;
        }
        log.push_str(&format!(
            "{}: {:?}\n",
            problem
                .sop_instance_uid
                .as_deref()
                .unwrap_or("(unknown instance)"),
            problem.status
        ));
    }
    let summary = report.summary();
    let (status, retriable) = match report.status() {
        TransferStatus::Success => (TaskStatus::Success, false),
        TransferStatus::Warning => (TaskStatus::Warning, false),
        TransferStatus::Failure => (TaskStatus::Failure, report.is_retriable()),
        TransferStatus::Cancelled => (TaskStatus::Canceled, false),
    };
    let message = match status {
        TaskStatus::Canceled => "Task was canceled.".to_owned(),
        _ => summary.clone(),
    };
    if status != TaskStatus::Success {
        log.push_str(&summary);
    }
    Outcome::Done {
        status,
        message,
        log: log.trim_end().to_owned(),
        retriable,
    }
}

/// Stores progress snapshots at most once per `interval`, and the last one at the end.
async fn write_progress(
    jobs: crate::jobs::Jobs,
    task_id: i64,
    mut rx: watch::Receiver<Progress>,
    interval: Duration,
) {
    let mut last_written: Option<Progress> = None;
    loop {
        let changed = rx.changed().await;
        let snapshot = *rx.borrow_and_update();
        if last_written != Some(snapshot) {
            let p = TaskProgress {
                instances_done: i64::try_from(snapshot.instances_done()).unwrap_or(i64::MAX),
                instances_expected: snapshot
                    .expected
                    .map(|e| i64::try_from(e.instances).unwrap_or(i64::MAX)),
                bytes_done: i64::try_from(snapshot.bytes_done).unwrap_or(i64::MAX),
                bytes_expected: snapshot
                    .expected
                    .and_then(|e| e.bytes)
                    .map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
            };
            if let Err(e) = jobs.record_progress(task_id, p).await {
                tracing::warn!(task = task_id, error = %e, "storing progress failed");
            }
            last_written = Some(snapshot);
        }
        if changed.is_err() {
            return;
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use adit_core::engine::{InstanceOutcome, OutcomeCounts, OutcomeStatus};

    use super::*;

    fn report(counts: OutcomeCounts) -> TransferReport {
        TransferReport {
            outcomes: Vec::new(),
            counts,
            bytes: 0,
            expected: None,
            duration: Duration::ZERO,
            cancelled: false,
            error: None,
            finish_error: None,
        }
    }

    fn status_of(outcome: &Outcome) -> (TaskStatus, bool) {
        let Outcome::Done {
            status, retriable, ..
        } = outcome;
        (*status, *retriable)
    }

    #[test]
    fn everything_stored_is_success() {
        let r = report(OutcomeCounts {
            stored: 3,
            ..OutcomeCounts::default()
        });
        assert_eq!(status_of(&from_report(&r)), (TaskStatus::Success, false));
    }

    #[test]
    fn gaps_are_a_warning_listing_the_instances() {
        let mut r = report(OutcomeCounts {
            stored: 2,
            failed: 1,
            ..OutcomeCounts::default()
        });
        r.outcomes.push(InstanceOutcome {
            sop_instance_uid: Some("1.2.3".into()),
            destination_uid: None,
            status: OutcomeStatus::Failed {
                reason: "refused".into(),
            },
        });
        let outcome = from_report(&r);
        assert_eq!(status_of(&outcome), (TaskStatus::Warning, false));
        let Outcome::Done { log, .. } = outcome;
        assert!(log.contains("1.2.3"), "{log}");
    }

    #[test]
    fn a_retriable_stop_is_a_retriable_failure() {
        let mut r = report(OutcomeCounts::default());
        r.error = Some(adit_core::Error::Timeout {
            peer: "PACS".into(),
            operation: "C-GET".into(),
        });
        assert_eq!(status_of(&from_report(&r)), (TaskStatus::Failure, true));
    }

    #[test]
    fn cancelled_is_canceled() {
        let mut r = report(OutcomeCounts {
            stored: 1,
            ..OutcomeCounts::default()
        });
        r.cancelled = true;
        let outcome = from_report(&r);
        assert_eq!(status_of(&outcome), (TaskStatus::Canceled, false));
        let Outcome::Done { message, .. } = outcome;
        assert_eq!(message, "Task was canceled.");
    }
}
