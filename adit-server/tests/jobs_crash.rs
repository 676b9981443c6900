//! Workers as separate processes. Crash recovery: `adit worker` runs as a child process and is
//! killed (SIGKILL) in the middle of a transfer; a second worker reclaims the task after the
//! missed heartbeats and finishes it, and the destination holds every instance exactly once.
//! Scale-out: `adit dicom receive` and `adit worker` in two processes hand C-MOVE results over
//! through the spool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adit_core::pseudonymize::Secret;
use adit_queue::WorkerConfig;
use adit_server::jobs::{JobKind, JobStatus, NewJob, NewTask, TaskStatus};
use adit_server::worker::{WorkerEnv, worker};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{DicomAddress, Orthanc};
use common::*;
use jobs_support::*;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "crash test secret";

/// Kills the child on drop (also when the test panics).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn a_killed_worker_is_replaced_without_duplicates(t: TestDb) {
    let corpus = Corpus::new(
        CorpusSpec::new("jobs-crash")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(4)
            .instances_per_series(150)
            .image_size(128, 128),
    );
    let a = Orthanc::start("ORTHANC-A").unwrap();
    let total = a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let source = add_node(jobs.db(), &dimse_node("A", a.address(), find_get())).await;
    let destination = add_node(jobs.db(), &dimse_node("B", b.address(), store_only())).await;
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let mut new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination));
    new.pseudonym = Some("SUBJ-K".into());
    let new = new.task(NewTask::transfer(
        &patient.patient_id,
        &study.study_instance_uid,
        &[],
    ));
    let id = jobs.create(&new, true).await.unwrap();

    // The first worker: a separate `adit worker` process.
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_adit"))
            .args(["worker", "--queues", "dicom"])
            .env("ADIT_DATA_DIR", t.dir.path())
            .env("ADIT_DATABASE_URL", &t.url)
            .env("ADIT_SECRET_KEY", SECRET)
            .env("ADIT_CALLING_AE", "ADIT-CRASH")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Killed as soon as the destination holds its first instance, so the kill lands early in
    // the transfer however fast this machine is (the task's progress is written only once a
    // second, too late a signal for a transfer that may take about that long).
    let start = Instant::now();
    let stored_at_kill = loop {
        let stored = b.counts().unwrap().instances;
        if stored > 0 {
            break stored;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing stored: {:#?}",
            jobs.tasks(id).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert!(
        (stored_at_kill as usize) < total,
        "the transfer ended before the kill: {:#?}",
        jobs.tasks(id).await.unwrap()
    );
    let task = jobs.tasks(id).await.unwrap().remove(0);
    assert_eq!(task.status, TaskStatus::InProgress, "{task:#?}");

    // The second worker (in process) recovers the task after the missed heartbeats.
    let shutdown = CancellationToken::new();
    let mut config = WorkerConfig::new(["dicom"]);
    config.stale_after = Duration::from_secs(3);
    config.poll_interval = Duration::from_millis(100);
    let env = WorkerEnv::new(jobs.clone(), Secret::new(SECRET).unwrap(), "ADIT-CRASH");
    tokio::spawn(worker(Arc::new(env), config).run(shutdown.clone()));
    let job = wait_final(&jobs, id, Duration::from_secs(120)).await;
    shutdown.cancel();
    assert_status(&job, JobStatus::Success);
    let task = jobs.tasks(id).await.unwrap().remove(0);
    assert_eq!(task.status, TaskStatus::Success, "{task:#?}");
    assert_eq!(task.attempts, 2, "{task:#?}");
    // Every instance exactly once: the pseudonymized UIDs are keyed by the shared secret, so
    // the second run stored the same instances again and Orthanc kept one copy of each.
    assert_eq!(b.counts().unwrap().instances as usize, total);
}

/// `adit dicom receive` and `adit worker` as two processes sharing the data directory's
/// `receiver-spool`: a C-MOVE-only source reaches the worker through the spool.
async fn c_move_across_processes_through_the_spool(t: TestDb) {
    let corpus = Corpus::new(
        CorpusSpec::new("jobs-xmove")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(4)
            .image_size(32, 32),
    );
    let port = adit_testkit::free_port().unwrap();
    let spool = adit_server::worker::receiver_spool_dir(t.dir.path());
    let _receiver = Child(
        Command::new(env!("CARGO_BIN_EXE_adit"))
            .args([
                "dicom",
                "receive",
                "--ae",
                "ADIT-RCV",
                "--bind",
                "127.0.0.1",
            ])
            .args(["--port", &port.to_string(), "--spool"])
            .arg(&spool)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let a = Orthanc::builder()
        .ae_title("ORTHANC-A")
        .modality("ADIT", DicomAddress::loopback("ADIT-RCV", port))
        .start()
        .unwrap();
    let total = a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let source = add_node(jobs.db(), &dimse_node("A", a.address(), find_move())).await;
    let destination = add_node(jobs.db(), &dimse_node("B", b.address(), store_only())).await;
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let mut new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination));
    new.pseudonym = Some("SUBJ-X".into());
    let new = new.task(NewTask::transfer(
        &patient.patient_id,
        &study.study_instance_uid,
        &[],
    ));
    let id = jobs.create(&new, true).await.unwrap();
    let _worker = Child(
        Command::new(env!("CARGO_BIN_EXE_adit"))
            .args(["worker", "--queues", "dicom"])
            .env("ADIT_DATA_DIR", t.dir.path())
            .env("ADIT_DATABASE_URL", &t.url)
            .env("ADIT_SECRET_KEY", SECRET)
            .env("ADIT_CALLING_AE", "ADIT-XW")
            .env("ADIT_RECEIVER_AE", "ADIT-RCV")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let job = wait_final(&jobs, id, Duration::from_secs(90)).await;
    assert_status(&job, JobStatus::Success);
    assert_eq!(b.counts().unwrap().instances as usize, total);
}

on_both_backends!(
    a_killed_worker_is_replaced_without_duplicates,
    c_move_across_processes_through_the_spool,
);
