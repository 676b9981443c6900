//! Workers running real transfers between real peers on both backends: a pseudonymized
//! selective transfer Orthanc A → Orthanc B by C-GET and by C-MOVE (receiver in process), a
//! batch transfer of three studies to a folder, a batch query, and cancelling a running
//! transfer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::sync::Arc;
use std::time::Duration;

use adit_core::model::{DicomWebServer, Node};
use adit_core::pseudonymize::Secret;
use adit_core::queue::RetryPolicy;
use adit_dimse::scp::{MoveCoordinator, Receiver, ReceiverOptions};
use adit_queue::WorkerConfig;
use adit_server::jobs::{BatchQuery, JobKind, JobStatus, Jobs, NewJob, NewTask, TaskStatus};
use adit_server::worker::{WorkerEnv, worker};
use adit_testkit::{DicomAddress, Orthanc};
use common::*;
use jobs_support::*;
use tokio_util::sync::CancellationToken;

const CALLING: &str = "ADIT-JOBS";
const RECEIVER_AE: &str = "ADIT-RCV";

/// A running in-process worker; stopped on drop.
struct RunningWorker {
    shutdown: CancellationToken,
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn env(jobs: &Jobs, coordinator: Option<Arc<MoveCoordinator>>) -> WorkerEnv {
    let mut env = WorkerEnv::new(jobs.clone(), Secret::new("test secret").unwrap(), CALLING);
    env.dimse.connect_timeout = Duration::from_secs(5);
    env.dimse.association_timeout = Duration::from_secs(10);
    env.dimse.dimse_timeout = Duration::from_secs(20);
    env.dimse.cancel_grace = Duration::from_secs(2);
    env.move_coordinator = coordinator;
    env.progress_interval = Duration::from_millis(100);
    env
}

fn start_worker(env: WorkerEnv, concurrency: usize) -> RunningWorker {
    let shutdown = CancellationToken::new();
    let config = WorkerConfig::new(["dicom"]).with_concurrency(concurrency);
    let mut config = config;
    config.poll_interval = Duration::from_millis(100);
    config.heartbeat_interval = Duration::from_millis(200);
    let w = worker(Arc::new(env), config);
    tokio::spawn(w.run(shutdown.clone()));
    RunningWorker { shutdown }
}

/// Checks that B holds exactly `n` instances, all under the pseudonym, none with the original
/// PatientID or PatientName.
fn assert_pseudonymized_at(b: &Orthanc, n: u64, pseudonym: &str, original: (&str, &str)) {
    assert_eq!(b.counts().unwrap().instances, n);
    let instances = b.get_json("/instances?expand").unwrap();
    for instance in instances.as_array().unwrap() {
        let id = instance["ID"].as_str().unwrap();
        let tags = b
            .get_json(&format!("/instances/{id}/simplified-tags"))
            .unwrap();
        assert_eq!(tags["PatientID"], pseudonym, "{tags}");
        assert_eq!(tags["PatientName"], pseudonym, "{tags}");
        let text = tags.to_string();
        assert!(!text.contains(original.0), "original PatientID in {text}");
        assert!(!text.contains(original.1), "original PatientName in {text}");
    }
}

async fn selective_transfer_by_c_get_pseudonymized(t: TestDb) {
    let corpus = small_corpus("jobs-get");
    let a = Orthanc::start("ORTHANC-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let source = add_node(
        jobs.db(),
        &dimse_node("A", a.address(), find_get_patient_root()),
    )
    .await;
    let destination = add_node(jobs.db(), &dimse_node("B", b.address(), store_only())).await;
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let n: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();

    let mut new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination));
    new.pseudonym = Some("SUBJ-01".into());
    new.trial_protocol_id = "TRIAL-7".into();
    let new = new.task(NewTask::transfer(
        &patient.patient_id,
        &study.study_instance_uid,
        &[],
    ));
    let id = jobs.create(&new, true).await.unwrap();
    let _worker = start_worker(env(&jobs, None), 1);
    let job = wait_final(&jobs, id, Duration::from_secs(90)).await;
    assert_status(&job, JobStatus::Success);
    assert_eq!(job.message, "All tasks succeeded.");
    let task = &jobs.tasks(id).await.unwrap()[0];
    assert_eq!(task.status, TaskStatus::Success, "{task:#?}");
    assert_eq!(task.instances_done, n as i64, "progress stored: {task:#?}");
    assert_eq!(task.attempts, 1);
    assert_pseudonymized_at(
        &b,
        n as u64,
        "SUBJ-01",
        (&patient.patient_id, &patient.patient_name),
    );
}

async fn selective_transfer_by_c_move_through_the_receiver(t: TestDb) {
    let corpus = small_corpus("jobs-move");
    let spool = tempfile::tempdir().unwrap();
    let receiver = Receiver::bind(
        ("127.0.0.1", 0),
        ReceiverOptions::new(RECEIVER_AE, spool.path()),
    )
    .await
    .unwrap();
    let coordinator = MoveCoordinator::for_receiver(&receiver)
        .unwrap()
        .with_inactivity_timeout(Duration::from_secs(5));
    let a = Orthanc::builder()
        .ae_title("ORTHANC-A")
        .modality(
            "ADIT",
            DicomAddress::loopback(RECEIVER_AE, receiver.local_addr().port()),
        )
        .start()
        .unwrap();
    a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let source = add_node(jobs.db(), &dimse_node("A", a.address(), find_move())).await;
    let destination = add_node(jobs.db(), &dimse_node("B", b.address(), store_only())).await;
    let (patient, study) = corpus.manifest().studies().nth(1).unwrap();
    let n: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();

    let mut new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination));
    new.pseudonym = Some("SUBJ-02".into());
    let new = new.task(NewTask::transfer(
        &patient.patient_id,
        &study.study_instance_uid,
        &[],
    ));
    let id = jobs.create(&new, true).await.unwrap();
    let _worker = start_worker(env(&jobs, Some(coordinator)), 1);
    let job = wait_final(&jobs, id, Duration::from_secs(90)).await;
    assert_status(&job, JobStatus::Success);
    assert_pseudonymized_at(
        &b,
        n as u64,
        "SUBJ-02",
        (&patient.patient_id, &patient.patient_name),
    );
    receiver.shutdown().await;
}

async fn batch_transfer_of_three_studies_to_a_folder(t: TestDb) {
    let corpus = small_corpus("jobs-batch");
    let a = Orthanc::start("ORTHANC-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    let out = t.dir.path().join("out");
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    // One association to A at a time, shared by the two concurrent tasks of the worker.
    let mut node = dimse_node("A", a.address(), find_get_patient_root());
    if let adit_core::model::NodeKind::Dimse(server) = &mut node.kind {
        server.max_associations = std::num::NonZeroU16::new(1).unwrap();
    }
    let source = add_node(jobs.db(), &node).await;
    let destination = add_node(jobs.db(), &folder_node("OUT", &out)).await;
    let (id, expected) =
        batch_transfer_of_three_studies(&jobs, owner, (source, destination), &corpus, "Project")
            .await;
    let _worker = start_worker(env(&jobs, None), 2);
    let job = wait_final(&jobs, id, Duration::from_secs(120)).await;
    assert_status(&job, JobStatus::Success);
    let files: Vec<_> = walk(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    assert_eq!(files.len(), expected, "{files:#?}");
    let job_dir = format!(
        "adit_batch_transfer_{id}_{}_jdoe",
        job.created.format("%Y%m%d")
    );
    for i in 0..3 {
        assert!(out.join(&job_dir).join(format!("PSN-{i}")).is_dir());
    }
}

async fn batch_query_writes_result_rows(t: TestDb) {
    let corpus = small_corpus("jobs-query");
    let a = Orthanc::start("ORTHANC-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let source = add_node(
        jobs.db(),
        &dimse_node("A", a.address(), find_get_patient_root()),
    )
    .await;
    let patient = &corpus.manifest().patients[0];
    let new = NewJob::new(JobKind::BatchQuery, owner, source, None)
        .task(NewTask::query(BatchQuery {
            patient_id: patient.patient_id.clone(),
            pseudonym: "Q-1".into(),
            ..BatchQuery::default()
        }))
        .task(NewTask::query(BatchQuery {
            patient_id: patient.patient_id.clone(),
            series_numbers: vec!["1".into()],
            ..BatchQuery::default()
        }))
        .task(NewTask::query(BatchQuery {
            patient_id: "NOBODY".into(),
            ..BatchQuery::default()
        }));
    let id = jobs.create(&new, true).await.unwrap();
    let _worker = start_worker(env(&jobs, None), 1);
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    assert_status(&job, JobStatus::Failure);
    assert_eq!(job.message, "Some tasks failed.");
    let tasks = jobs.tasks(id).await.unwrap();
    assert_eq!(tasks[0].message, "2 studies found");
    assert_eq!(tasks[1].message, "2 series found");
    assert_eq!(tasks[2].status, TaskStatus::Failure);
    assert_eq!(tasks[2].message, "No patient found with PatientID NOBODY.");
    let results = jobs.results(id).await.unwrap();
    assert_eq!(results.len(), 4);
    assert!(results[..2].iter().all(|r| r.pseudonym == "Q-1"
        && r.patient_id == patient.patient_id
        && r.series_uid.is_empty()));
    assert!(
        results[2..]
            .iter()
            .all(|r| r.series_number == "1" && !r.series_uid.is_empty())
    );
}

async fn cancel_stops_a_running_transfer(t: TestDb) {
    let corpus = long_study_corpus("jobs-cancel");
    let a = Orthanc::start("ORTHANC-A").unwrap();
    let total = a.upload_corpus(&corpus).unwrap();
    let slow = slow_archive();
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let source = add_node(
        jobs.db(),
        &dimse_node("A", a.address(), find_get_patient_root()),
    )
    .await;
    let destination = add_node(jobs.db(), &dimse_node("SLOW", slow.address(), store_only())).await;
    let (id, _) =
        selective_transfer(&jobs, owner, (source, destination), &corpus, 0, "SUBJ-C").await;
    let _worker = start_worker(env(&jobs, None), 1);
    wait_until_instances_flow(&jobs, id, Duration::from_secs(60)).await;
    cancel_and_assert_the_archive_stops(&jobs, owner, id, &slow, total).await;
}

async fn dicomweb_source_to_a_password_zip(t: TestDb) {
    let corpus = small_corpus("jobs-zip");
    let a = Orthanc::start("ORTHANC-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    let out = t.dir.path().join("out");
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let web = Node::dicomweb("A-WEB", DicomWebServer::new(a.dicomweb_root()));
    let source = add_node(jobs.db(), &web).await;
    let destination = add_node(jobs.db(), &folder_node("OUT", &out)).await;
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let mut new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination));
    new.pseudonym = Some("SUBJ-Z".into());
    new.archive_password = Some("s3cret".into());
    let new = new.task(NewTask::transfer(
        &patient.patient_id,
        &study.study_instance_uid,
        &[],
    ));
    let id = jobs.create(&new, true).await.unwrap();
    let _worker = start_worker(env(&jobs, None), 1);
    let job = wait_final(&jobs, id, Duration::from_secs(90)).await;
    assert_status(&job, JobStatus::Success);
    let task = &jobs.tasks(id).await.unwrap()[0];
    let zip = out.join(format!(
        "adit_selective_transfer_{id}_{}_jdoe_task{}.zip",
        job.created.format("%Y%m%d"),
        task.id
    ));
    let bytes = std::fs::read(&zip).unwrap_or_else(|e| panic!("{}: {e}", zip.display()));
    assert!(bytes.starts_with(b"PK"));
    // Encrypted entries: no DICOM preamble magic and no original PatientID in clear.
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(b"DICM"));
    assert!(!contains(patient.patient_id.as_bytes()));
    assert!(contains(b"SUBJ-Z"), "entry names use the pseudonym");
}

async fn retriable_errors_are_retried_then_fail(t: TestDb) {
    let jobs = t.jobs().await.with_retry_policy(RetryPolicy::linear(
        2,
        Duration::from_millis(200),
        Duration::ZERO,
    ));
    let owner = add_user(jobs.db(), "jdoe", "").await;
    // Nothing listens on this port: connection refused, a retriable error.
    let closed = DicomAddress::loopback("NOBODY", adit_testkit::free_port().unwrap());
    let source = add_node(
        jobs.db(),
        &dimse_node("GONE", &closed, find_get_patient_root()),
    )
    .await;
    let destination = add_node(jobs.db(), &folder_node("OUT", &t.dir.path().join("o"))).await;
    let new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination))
        .task(NewTask::transfer("P", "1.2.3", &[]));
    let id = jobs.create(&new, true).await.unwrap();
    let _worker = start_worker(env(&jobs, None), 1);
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    assert_status(&job, JobStatus::Failure);
    let task = &jobs.tasks(id).await.unwrap()[0];
    assert_eq!(task.status, TaskStatus::Failure, "{task:#?}");
    assert_eq!((task.attempts, task.retries), (2, 1), "{task:#?}");
    assert!(task.log.starts_with("Attempt 1: "), "{task:#?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

on_both_backends!(
    selective_transfer_by_c_get_pseudonymized,
    selective_transfer_by_c_move_through_the_receiver,
    batch_transfer_of_three_studies_to_a_folder,
    batch_query_writes_result_rows,
    cancel_stops_a_running_transfer,
    dicomweb_source_to_a_password_zip,
    retriable_errors_are_retried_then_fail,
);
