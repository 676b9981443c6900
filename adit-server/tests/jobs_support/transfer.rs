//! Set-up and checks shared by the transfer tests that run in process (`jobs_transfer`) and
//! in `adit` processes (`runmodes`): the corpora, a slow archive, selective transfer jobs,
//! batch transfers, and cancelling a transfer while it runs.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use adit_server::jobs::{Actor, JobAction, JobKind, JobStatus, Jobs, NewJob, NewTask, TaskStatus};
use adit_testkit::StoreScp;
use adit_testkit::corpus::{Corpus, CorpusSpec};

use super::{assert_status, wait_final};

/// Two patients with two studies of two series of three small images each.
pub fn small_corpus(seed: &str) -> Corpus {
    Corpus::new(
        CorpusSpec::new(seed)
            .patients(2)
            .studies_per_patient(2)
            .series_per_study(2)
            .instances_per_series(3)
            .image_size(32, 32),
    )
}

/// One study of two series of twenty images: with [`slow_archive`] a transfer of it runs long
/// enough to be cancelled half-way.
pub fn long_study_corpus(seed: &str) -> Corpus {
    Corpus::new(
        CorpusSpec::new(seed)
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(20)
            .image_size(32, 32),
    )
}

/// A storescp `SLOW-B` that sleeps a second after each store, so a transfer to it is still
/// running when the test acts on it, however fast this machine moves the images.
pub fn slow_archive() -> StoreScp {
    StoreScp::builder()
        .ae_title("SLOW-B")
        .sleep_after(1)
        .start()
        .unwrap()
}

/// Creates a pseudonymized selective transfer of study `nth` of `corpus`; returns the job id
/// and the study's instance count.
pub async fn selective_transfer(
    jobs: &Jobs,
    owner: i64,
    (source, destination): (i64, i64),
    corpus: &Corpus,
    nth: usize,
    pseudonym: &str,
) -> (i64, usize) {
    let (patient, study) = corpus.manifest().studies().nth(nth).unwrap();
    let n = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    let mut new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination));
    new.pseudonym = Some(pseudonym.into());
    let new = new.task(NewTask::transfer(
        &patient.patient_id,
        &study.study_instance_uid,
        &[],
    ));
    (jobs.create(&new, true).await.unwrap(), n)
}

/// Creates a batch transfer in `project` of the first three studies of `corpus`, each under
/// its own pseudonym `PSN-<i>`; returns the job id and the number of instances it moves.
pub async fn batch_transfer_of_three_studies(
    jobs: &Jobs,
    owner: i64,
    (source, destination): (i64, i64),
    corpus: &Corpus,
    project: &str,
) -> (i64, usize) {
    let mut new = NewJob::new(JobKind::BatchTransfer, owner, source, Some(destination));
    new.project_name = project.into();
    let mut expected = 0;
    for (i, (patient, study)) in corpus.manifest().studies().take(3).enumerate() {
        expected += study
            .series
            .iter()
            .map(|s| s.sop_instance_uids.len())
            .sum::<usize>();
        new = new.task(
            NewTask::transfer(&patient.patient_id, &study.study_instance_uid, &[])
                .with_pseudonym(format!("PSN-{i}")),
        );
    }
    (jobs.create(&new, true).await.unwrap(), expected)
}

/// Polls until the first task of job `id` has moved an instance; panics with the task after
/// `timeout`.
pub async fn wait_until_instances_flow(jobs: &Jobs, id: i64, timeout: Duration) {
    let start = Instant::now();
    loop {
        let task = &jobs.tasks(id).await.unwrap()[0];
        if task.instances_done > 0 {
            return;
        }
        assert!(start.elapsed() < timeout, "{task:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Cancels running job `id` as `owner` and checks that it ends Canceled within seconds and
/// that `archive` stops receiving before all `total` instances arrived.
pub async fn cancel_and_assert_the_archive_stops(
    jobs: &Jobs,
    owner: i64,
    id: i64,
    archive: &StoreScp,
    total: usize,
) {
    jobs.job_action(Actor::user(owner), id, JobAction::Cancel)
        .await
        .unwrap();
    let cancelled_at = Instant::now();
    let job = wait_final(jobs, id, Duration::from_secs(15)).await;
    assert_status(&job, JobStatus::Canceled);
    assert!(cancelled_at.elapsed() < Duration::from_secs(10));
    let task = &jobs.tasks(id).await.unwrap()[0];
    assert_eq!(task.status, TaskStatus::Canceled, "{task:#?}");
    // The archive stops receiving: its count does not move any more (one store may still
    // have been in its sleep), and not everything arrived.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stored = archive.received_files().unwrap().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(archive.received_files().unwrap().len(), stored);
    assert!(stored < total, "cancelled after everything was stored");
}
