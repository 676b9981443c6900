//! The job model on both backends: creation queues one queue job per task in the same
//! transaction, the derived job status through a run, and every action with its preconditions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::sync::{Arc, Mutex};

use adit_core::queue::{JobId, JobStatus as QueueStatus, Queue, WorkerId};
use adit_server::jobs::{
    Actor, FinishedMail, JobAction, JobError, JobKind, JobStatus, Jobs, Mailer, NewJob, NewTask,
    Refusal, TaskAction, TaskProgress, TaskStatus,
};
use jobs_support::*;

struct Setup {
    jobs: Jobs,
    owner: i64,
    source: i64,
    destination: i64,
}

async fn setup(t: &TestDb) -> Setup {
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "jdoe@example.org").await;
    let source = add_node(jobs.db(), &folder_node("IN", &t.dir.path().join("in"))).await;
    let destination = add_node(jobs.db(), &folder_node("OUT", &t.dir.path().join("out"))).await;
    Setup {
        jobs,
        owner,
        source,
        destination,
    }
}

fn transfer_job(s: &Setup, studies: usize) -> NewJob {
    let mut job = NewJob::new(
        JobKind::SelectiveTransfer,
        s.owner,
        s.source,
        Some(s.destination),
    );
    job.pseudonym = Some("SUBJ".into());
    for i in 0..studies {
        job = job.task(NewTask::transfer("P1", &format!("1.2.3.{i}"), &[]));
    }
    job
}

/// Claims the queue job of `task_id` like a worker would.
async fn claim(s: &Setup, task_id: i64) -> adit_core::queue::ClaimedJob {
    let task = s.jobs.task(task_id).await.unwrap().unwrap();
    let claimed = s
        .jobs
        .queue()
        .claim(&WorkerId("test".into()), &["dicom".to_owned()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(claimed.job.id.0), task.queue_job_id);
    claimed
}

async fn creating_queues_one_job_per_task(t: TestDb) {
    let s = setup(&t).await;
    let mut new = transfer_job(&s, 2);
    new.urgent = true;
    let id = s.jobs.create(&new, true).await.unwrap();
    let job = s.jobs.get_job(id).await.unwrap();
    assert_status(&job, JobStatus::Pending);
    let tasks = s.jobs.tasks(id).await.unwrap();
    assert_eq!(tasks.len(), 2);
    for task in &tasks {
        assert_eq!(task.status, TaskStatus::Pending);
        assert_eq!(task.pseudonym.as_deref(), Some("SUBJ"));
        let queued = s
            .jobs
            .queue()
            .job(JobId(task.queue_job_id.unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(queued.status, QueueStatus::Todo);
        assert_eq!(queued.task, "transfer_task");
        assert_eq!(queued.queue, "dicom");
        assert_eq!(queued.priority, 8, "urgent selective transfer");
        assert_eq!(queued.args["task_id"], task.id);
    }

    // A job without a destination is refused, nothing is written.
    let mut bad = transfer_job(&s, 1);
    bad.destination_id = None;
    assert!(matches!(
        s.jobs.create(&bad, true).await,
        Err(JobError::Invalid(_))
    ));
    // A failing insert rolls back the queue jobs too: an unknown source node.
    let mut bad = transfer_job(&s, 1);
    bad.source_id = 9999;
    assert!(s.jobs.create(&bad, true).await.is_err());
    let counts = s.jobs.queue().counts().await.unwrap();
    assert_eq!(counts.get(&QueueStatus::Todo), Some(&2));
}

async fn verify_needs_staff_and_queues(t: TestDb) {
    let s = setup(&t).await;
    let id = s.jobs.create(&transfer_job(&s, 2), false).await.unwrap();
    assert_status(&s.jobs.get_job(id).await.unwrap(), JobStatus::Unverified);
    assert!(
        s.jobs
            .tasks(id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.queue_job_id.is_none())
    );
    let refused = s
        .jobs
        .job_action(Actor::user(s.owner), id, JobAction::Verify)
        .await;
    assert!(matches!(
        refused,
        Err(JobError::Refused(Refusal::Forbidden { .. }))
    ));
    s.jobs
        .job_action(Actor::staff(999), id, JobAction::Verify)
        .await
        .unwrap();
    assert_status(&s.jobs.get_job(id).await.unwrap(), JobStatus::Pending);
    assert!(
        s.jobs
            .tasks(id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.queue_job_id.is_some())
    );
}

async fn a_run_derives_the_job_status_and_mails_once(t: TestDb) {
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<FinishedMail>>);
    impl Mailer for Recorder {
        fn send(&self, mail: &FinishedMail) {
            self.0.lock().unwrap().push(mail.clone());
        }
    }
    let s = setup(&t).await;
    let recorder = Arc::new(Recorder::default());
    let jobs = s.jobs.clone().with_mailer(recorder.clone());
    let mut new = transfer_job(&s, 2);
    new.send_finished_mail = true;
    let id = jobs.create(&new, true).await.unwrap();
    let tasks = jobs.tasks(id).await.unwrap();

    let started = jobs.start_task(tasks[0].id).await.unwrap().unwrap();
    assert_eq!(started.task.status, TaskStatus::InProgress);
    assert_eq!(started.task.attempts, 1);
    assert_status(&started.job, JobStatus::InProgress);
    assert!(started.job.started.is_some());
    jobs.record_progress(
        tasks[0].id,
        TaskProgress {
            instances_done: 3,
            instances_expected: Some(5),
            bytes_done: 300,
            bytes_expected: None,
        },
    )
    .await
    .unwrap();
    let task = jobs.task(tasks[0].id).await.unwrap().unwrap();
    assert_eq!((task.instances_done, task.instances_expected), (3, Some(5)));
    assert_eq!(task.bytes_done, 300);

    let status = jobs
        .finish_task(tasks[0].id, TaskStatus::Success, "5 stored", "")
        .await
        .unwrap();
    // One task pending still: the job waits.
    assert_eq!(status, Some(JobStatus::Pending));
    jobs.start_task(tasks[1].id).await.unwrap().unwrap();
    jobs.retry_later(tasks[1].id, "attempt 1: connection refused")
        .await
        .unwrap();
    let task = jobs.task(tasks[1].id).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(task.message, "Task failed, but will be retried.");
    assert_eq!(task.retries, 1);
    assert_eq!(task.log, "attempt 1: connection refused");
    jobs.start_task(tasks[1].id).await.unwrap().unwrap();
    let status = jobs
        .finish_task(
            tasks[1].id,
            TaskStatus::Failure,
            "failed",
            "attempt 2: refused",
        )
        .await
        .unwrap();
    assert_eq!(status, Some(JobStatus::Failure));
    let task = jobs.task(tasks[1].id).await.unwrap().unwrap();
    assert_eq!(task.attempts, 2);
    assert_eq!(
        task.log,
        "attempt 1: connection refused\nattempt 2: refused"
    );
    let job = jobs.get_job(id).await.unwrap();
    assert_eq!(job.message, "Some tasks failed.");
    assert!(job.ended.is_some());
    // A late duplicate outcome changes nothing and mails nothing.
    assert_eq!(
        jobs.finish_task(tasks[1].id, TaskStatus::Success, "late", "")
            .await
            .unwrap(),
        None
    );
    {
        let mails = recorder.0.lock().unwrap();
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert_eq!(mails[0].to, "jdoe@example.org");
        assert!(mails[0].subject.contains("Failure"), "{mails:?}");
    }

    // Retry: only the failed task runs again, reset.
    jobs.job_action(Actor::user(s.owner), id, JobAction::Retry)
        .await
        .unwrap();
    let job = jobs.get_job(id).await.unwrap();
    assert_status(&job, JobStatus::Pending);
    assert!(job.ended.is_none());
    let after = jobs.tasks(id).await.unwrap();
    assert_eq!(after[0].status, TaskStatus::Success);
    assert_eq!(after[1].status, TaskStatus::Pending);
    assert_eq!((after[1].attempts, after[1].log.as_str()), (0, ""));
    assert_ne!(after[1].queue_job_id, tasks[1].queue_job_id);
    jobs.start_task(tasks[1].id).await.unwrap().unwrap();
    jobs.finish_task(tasks[1].id, TaskStatus::Warning, "1 missing", "")
        .await
        .unwrap();
    let job = jobs.get_job(id).await.unwrap();
    assert_status(&job, JobStatus::Warning);
    assert_eq!(job.message, "Some tasks have warnings.");
    assert_eq!(recorder.0.lock().unwrap().len(), 2);

    // Restart is staff-only and resets every task.
    assert!(
        jobs.job_action(Actor::user(s.owner), id, JobAction::Restart)
            .await
            .is_err()
    );
    jobs.job_action(Actor::staff(999), id, JobAction::Restart)
        .await
        .unwrap();
    let job = jobs.get_job(id).await.unwrap();
    assert_status(&job, JobStatus::Pending);
    assert_eq!(job.message, "");
    assert!(
        jobs.tasks(id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.status == TaskStatus::Pending)
    );
}

async fn cancel_stops_queued_and_aborts_running_tasks(t: TestDb) {
    let s = setup(&t).await;
    let id = s.jobs.create(&transfer_job(&s, 2), true).await.unwrap();
    let tasks = s.jobs.tasks(id).await.unwrap();
    // The first task runs on a worker.
    let claimed = claim(&s, tasks[0].id).await;
    s.jobs.start_task(tasks[0].id).await.unwrap().unwrap();

    // Only the owner (or staff) may cancel.
    assert!(
        s.jobs
            .job_action(Actor::user(s.owner + 1), id, JobAction::Cancel)
            .await
            .is_err()
    );
    s.jobs
        .job_action(Actor::user(s.owner), id, JobAction::Cancel)
        .await
        .unwrap();
    let job = s.jobs.get_job(id).await.unwrap();
    assert_status(&job, JobStatus::Canceling);
    let after = s.jobs.tasks(id).await.unwrap();
    assert_eq!(after[0].status, TaskStatus::InProgress);
    assert_eq!(after[1].status, TaskStatus::Canceled);
    assert_eq!(after[1].message, "Task manually canceled.");
    let queue = s.jobs.queue();
    let q0 = queue.job(claimed.job.id).await.unwrap().unwrap();
    assert_eq!(q0.status, QueueStatus::Aborting);
    let q1 = queue
        .job(JobId(tasks[1].queue_job_id.unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(q1.status, QueueStatus::Cancelled);

    // The worker sees its token trip and records the cancellation.
    s.jobs
        .finish_task(tasks[0].id, TaskStatus::Canceled, "Task was canceled.", "")
        .await
        .unwrap();
    let job = s.jobs.get_job(id).await.unwrap();
    assert_status(&job, JobStatus::Canceled);
    assert_eq!(job.message, "Job was canceled.");

    // Resume queues the canceled tasks again.
    s.jobs
        .job_action(Actor::user(s.owner), id, JobAction::Resume)
        .await
        .unwrap();
    assert_status(&s.jobs.get_job(id).await.unwrap(), JobStatus::Pending);
    assert!(
        s.jobs
            .tasks(id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.status == TaskStatus::Pending && t.queue_job_id.is_some())
    );
}

async fn delete_only_before_tasks_ran(t: TestDb) {
    let s = setup(&t).await;
    let id = s.jobs.create(&transfer_job(&s, 2), true).await.unwrap();
    let tasks = s.jobs.tasks(id).await.unwrap();
    s.jobs.start_task(tasks[0].id).await.unwrap().unwrap();
    // Running: the job is In Progress.
    assert!(matches!(
        s.jobs
            .job_action(Actor::user(s.owner), id, JobAction::Delete)
            .await,
        Err(JobError::Refused(Refusal::WrongStatus { .. }))
    ));
    // Pending again, but one task is done.
    s.jobs
        .finish_task(tasks[0].id, TaskStatus::Success, "ok", "")
        .await
        .unwrap();
    assert_status(&s.jobs.get_job(id).await.unwrap(), JobStatus::Pending);
    assert!(matches!(
        s.jobs
            .job_action(Actor::user(s.owner), id, JobAction::Delete)
            .await,
        Err(JobError::Refused(Refusal::TasksStarted))
    ));

    let id = s.jobs.create(&transfer_job(&s, 2), true).await.unwrap();
    let tasks = s.jobs.tasks(id).await.unwrap();
    s.jobs
        .job_action(Actor::user(s.owner), id, JobAction::Delete)
        .await
        .unwrap();
    assert!(s.jobs.job(id).await.unwrap().is_none());
    assert!(s.jobs.task(tasks[0].id).await.unwrap().is_none());
    let queued = s
        .jobs
        .queue()
        .job(JobId(tasks[0].queue_job_id.unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queued.status, QueueStatus::Cancelled);
}

async fn task_actions_delete_reset_kill(t: TestDb) {
    let s = setup(&t).await;
    let id = s.jobs.create(&transfer_job(&s, 3), true).await.unwrap();
    let tasks = s.jobs.tasks(id).await.unwrap();
    let owner = Actor::user(s.owner);

    // Delete a pending task.
    s.jobs
        .task_action(owner, tasks[2].id, TaskAction::Delete)
        .await
        .unwrap();
    assert_eq!(s.jobs.tasks(id).await.unwrap().len(), 2);

    // Kill (staff) a running task: the worker records the cancellation.
    let claimed = claim(&s, tasks[0].id).await;
    s.jobs.start_task(tasks[0].id).await.unwrap().unwrap();
    assert!(
        s.jobs
            .task_action(owner, tasks[0].id, TaskAction::Kill)
            .await
            .is_err()
    );
    s.jobs
        .task_action(Actor::staff(999), tasks[0].id, TaskAction::Kill)
        .await
        .unwrap();
    let q = s.jobs.queue().job(claimed.job.id).await.unwrap().unwrap();
    assert_eq!(q.status, QueueStatus::Aborting);
    s.jobs
        .finish_task(tasks[0].id, TaskStatus::Canceled, "Task was canceled.", "")
        .await
        .unwrap();

    // The other task succeeds: ADIT calls a success with a canceled task a success.
    s.jobs.start_task(tasks[1].id).await.unwrap().unwrap();
    s.jobs
        .finish_task(tasks[1].id, TaskStatus::Success, "ok", "")
        .await
        .unwrap();
    let job = s.jobs.get_job(id).await.unwrap();
    assert_status(&job, JobStatus::Success);
    assert_eq!(job.message, "Some tasks were canceled.");

    // Reset the canceled task: the job is open again.
    s.jobs
        .task_action(owner, tasks[0].id, TaskAction::Reset)
        .await
        .unwrap();
    assert_status(&s.jobs.get_job(id).await.unwrap(), JobStatus::Pending);
    let task = s.jobs.task(tasks[0].id).await.unwrap().unwrap();
    assert_eq!((task.status, task.attempts), (TaskStatus::Pending, 0));
}

async fn a_task_of_a_canceling_job_does_not_start(t: TestDb) {
    let s = setup(&t).await;
    let id = s.jobs.create(&transfer_job(&s, 2), true).await.unwrap();
    let tasks = s.jobs.tasks(id).await.unwrap();
    claim(&s, tasks[0].id).await;
    s.jobs.start_task(tasks[0].id).await.unwrap().unwrap();
    // Task 2's queue job is claimed but its handler has not started it yet.
    claim(&s, tasks[1].id).await;
    s.jobs
        .job_action(Actor::user(s.owner), id, JobAction::Cancel)
        .await
        .unwrap();
    assert!(s.jobs.start_task(tasks[1].id).await.unwrap().is_none());
    let task = s.jobs.task(tasks[1].id).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Canceled);
}

on_both_backends!(
    creating_queues_one_job_per_task,
    verify_needs_staff_and_queues,
    a_run_derives_the_job_status_and_mails_once,
    cancel_stops_queued_and_aborts_running_tasks,
    delete_only_before_tasks_ran,
    task_actions_delete_reset_kill,
    a_task_of_a_canceling_job_does_not_start,
);
