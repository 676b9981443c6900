//! A real batch query job against Orthanc, with rows that name patients by PatientName and
//! PatientBirthDate only (no PatientID), whose job-finished mail goes through the `SmtpMailer`
//! the worker environment picks from `ADIT_SMTP_*` to a real SMTP server on loopback (Python 3.11's stdlib `smtpd` debugging server), on both
//! backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::sync::Arc;
use std::time::Duration;

use adit_core::model::{AeTitle, DimseCapabilities, DimseServer, Node};
use adit_queue::WorkerConfig;
use adit_server::jobs::{BatchQuery, JobKind, JobStatus, NewJob, NewTask, TaskStatus};
use adit_server::receiver::spool_coordinator;
use adit_server::worker::{env_for, worker};
use adit_testkit::Orthanc;
use adit_testkit::corpus::{Corpus, CorpusSpec};
use common::smtp::SmtpSink;
use jobs_support::*;
use tokio_util::sync::CancellationToken;

fn find_get_node(orthanc: &Orthanc) -> Node {
    let address = orthanc.address();
    let server = DimseServer::new(
        AeTitle::new(&address.ae_title).unwrap(),
        address.host.clone(),
        address.port.try_into().unwrap(),
    )
    .with_capabilities(DimseCapabilities {
        study_root_find: true,
        study_root_get: true,
        patient_root_find: true,
        patient_root_get: true,
        ..DimseCapabilities::default()
    });
    Node::dimse("A", server)
}

async fn batch_query_by_name_mails_the_owner(t: TestDb) {
    let smtp = SmtpSink::start();
    let corpus = Corpus::new(
        CorpusSpec::new("jobs-mail")
            .patients(2)
            .studies_per_patient(2)
            .series_per_study(1)
            .instances_per_series(1)
            .image_size(16, 16),
    );
    let a = Orthanc::start("ORTHANC-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    // The worker environment as `adit worker` builds it from the configuration: the SMTP
    // settings select the SmtpMailer.
    let port = smtp.port.to_string();
    let config = t.config(&[
        ("ADIT_SECRET_KEY", "jobs-mail-test-secret"),
        ("ADIT_SMTP_HOST", "127.0.0.1"),
        ("ADIT_SMTP_PORT", &port),
        ("ADIT_SMTP_FROM", "ADIT <adit@example.org>"),
    ]);
    let db = t.db().await;
    let coordinator = spool_coordinator(&config, &db).await.unwrap();
    let mut env = env_for(&config, &db, coordinator).await.unwrap();
    env.dimse.connect_timeout = Duration::from_secs(5);
    env.dimse.dimse_timeout = Duration::from_secs(20);
    let jobs = env.jobs.clone();
    let owner = add_user(jobs.db(), "mailme", "mailme@example.org").await;
    let source = add_node(jobs.db(), &find_get_node(&a)).await;
    // An ASCII-named patient (one corpus patient has a Latin-1 name).
    let patient = corpus
        .manifest()
        .patients
        .iter()
        .find(|p| p.patient_name.is_ascii())
        .unwrap();
    let mut new = NewJob::new(JobKind::BatchQuery, owner, source, None)
        .task(NewTask::query(BatchQuery {
            patient_name: patient.patient_name.clone(),
            patient_birth_date: patient.birth_date.clone(),
            pseudonym: "BYNAME".into(),
            ..BatchQuery::default()
        }))
        .task(NewTask::query(BatchQuery {
            patient_name: "NOBODY^NAMED".into(),
            patient_birth_date: "19000101".into(),
            ..BatchQuery::default()
        }))
        .task(NewTask::query(BatchQuery {
            patient_name: patient.patient_name.clone(),
            ..BatchQuery::default()
        }))
        .task(NewTask::query(BatchQuery {
            patient_name: "*".into(),
            patient_birth_date: "19000101-20991231".into(),
            ..BatchQuery::default()
        }));
    new.send_finished_mail = true;
    let id = jobs.create(&new, true).await.unwrap();

    let shutdown = CancellationToken::new();
    let mut worker_config = WorkerConfig::new(["dicom"]).with_concurrency(1);
    worker_config.poll_interval = Duration::from_millis(100);
    tokio::spawn(worker(Arc::new(env), worker_config).run(shutdown.clone()));
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    shutdown.cancel();

    assert_status(&job, JobStatus::Failure);
    let tasks = jobs.tasks(id).await.unwrap();
    assert_eq!(tasks[0].status, TaskStatus::Success, "{tasks:#?}");
    assert_eq!(tasks[0].message, "2 studies found");
    assert_eq!(tasks[1].status, TaskStatus::Failure);
    assert_eq!(
        tasks[1].message,
        "No patient found with PatientName NOBODY^NAMED and PatientBirthDate 19000101."
    );
    assert_eq!(tasks[2].status, TaskStatus::Failure);
    assert_eq!(
        tasks[2].message,
        "Missing PatientID, or PatientName together with PatientBirthDate."
    );
    // Several patients match by name: all their studies, with a warning naming them.
    assert_eq!(tasks[3].status, TaskStatus::Warning, "{tasks:#?}");
    assert_eq!(tasks[3].message, "4 studies found; indistinct patients");
    assert!(
        tasks[3]
            .log
            .contains("Multiple patients found with PatientName *"),
        "{}",
        tasks[3].log
    );
    for p in &corpus.manifest().patients {
        assert!(tasks[3].log.contains(&p.patient_id), "{}", tasks[3].log);
    }
    let results = jobs.results(id).await.unwrap();
    assert_eq!(results.len(), 6);
    let by_name: Vec<_> = results.iter().filter(|r| r.pseudonym == "BYNAME").collect();
    assert_eq!(by_name.len(), 2);
    assert!(by_name.iter().all(|r| r.patient_id == patient.patient_id));

    let subject = format!("[ADIT] Job {id} finished: {}", job.status);
    let printed = smtp.wait_for(&subject).await;
    assert!(printed.contains("mailme@example.org"), "{printed}");
    assert!(
        printed.contains(&format!("job {id} finished with status {}", job.status)),
        "{printed}"
    );
}

/// Bad SMTP settings: the worker, which sends the mails, refuses to start and names the
/// setting; the web server's job store still works (it only logs the mails).
async fn bad_smtp_settings_stop_the_worker_not_the_web_server(t: TestDb) {
    let config = t.config(&[
        ("ADIT_SECRET_KEY", "jobs-mail-test-secret"),
        ("ADIT_SMTP_HOST", "127.0.0.1"),
        ("ADIT_SMTP_FROM", "not an address"),
    ]);
    let db = t.db().await;
    let coordinator = spool_coordinator(&config, &db).await.unwrap();
    let Err(err) = env_for(&config, &db, coordinator).await else {
        panic!("a worker started with an unusable sender address");
    };
    let message = err.to_string();
    assert!(
        message.contains("SMTP") && message.contains("not an address"),
        "{message}"
    );

    let state = adit_server::web::AppState::new(db.clone(), config);
    let jobs = state.jobs().await.unwrap();
    assert!(jobs.job(i64::MAX).await.unwrap().is_none());
}

on_both_backends!(
    batch_query_by_name_mails_the_owner,
    bad_smtp_settings_stop_the_worker_not_the_web_server
);
