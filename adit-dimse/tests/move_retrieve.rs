//! `DimseSource` retrieving by C-MOVE into our receiver, from Orthanc and dcmqrscp: the
//! instances arrive complete and identical, correlation by originator or expected set, a
//! missing-instance report when the PACS sends fewer, and cancellation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Duration;

use adit_core::model::{AeTitle, DimseCapabilities, DimseServer};
use adit_core::source::{Retrieved, Selection, Source};
use adit_dimse::DimseSource;
use adit_dimse::scp::{MoveCoordinator, Receiver, ReceiverOptions, spool};
use adit_testkit::corpus::Corpus;
use adit_testkit::{Dcmqrscp, DicomAddress, Orthanc, free_port};
use common::*;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

const RECEIVER_AE: &str = "ADIT-RCV";

fn move_only(address: &DicomAddress) -> DimseServer {
    let mut server = DimseServer::new(
        AeTitle::new(&address.ae_title).unwrap(),
        address.host.clone(),
        address.port.try_into().unwrap(),
    )
    .with_capabilities(DimseCapabilities {
        study_root_find: true,
        study_root_move: true,
        ..DimseCapabilities::default()
    });
    server.max_associations = NonZeroU16::new(4).unwrap();
    server
}

async fn receiver_on(port: u16, spool_dir: &std::path::Path) -> (Receiver, Arc<MoveCoordinator>) {
    let receiver = Receiver::bind(
        ("127.0.0.1", port),
        ReceiverOptions::new(RECEIVER_AE, spool_dir),
    )
    .await
    .unwrap();
    let coordinator = MoveCoordinator::for_receiver(&receiver)
        .unwrap()
        .with_inactivity_timeout(Duration::from_secs(3));
    (receiver, coordinator)
}

/// An Orthanc holding `corpus` with our receiver as its move destination `ADIT`, and a C-MOVE
/// source on it whose retrieves `coordinator` collects from the receiver. The Orthanc must
/// outlive the source.
fn orthanc_moving_to(
    receiver: &Receiver,
    coordinator: Arc<MoveCoordinator>,
    corpus: &Corpus,
) -> (Orthanc, DimseSource) {
    let orthanc = Orthanc::builder()
        .modality(
            "ADIT",
            DicomAddress::loopback(RECEIVER_AE, receiver.local_addr().port()),
        )
        .start()
        .unwrap();
    orthanc.upload_corpus(corpus).unwrap();
    let source = DimseSource::new("ORTHANC", move_only(orthanc.address()), options())
        .with_move_coordinator(coordinator);
    (orthanc, source)
}

/// Runs a retrieve to its end: instances (checked against the corpus) and missing UIDs.
async fn run(
    source: &DimseSource,
    selection: &Selection,
    corpus: &Corpus,
) -> (BTreeSet<String>, Vec<Option<String>>) {
    let stream = source
        .retrieve(selection, CancellationToken::new())
        .await
        .unwrap();
    let items: Vec<_> =
        tokio::time::timeout(Duration::from_secs(60), stream.items.collect::<Vec<_>>())
            .await
            .expect("retrieve finished in time");
    let mut got = BTreeSet::new();
    let mut missing = Vec::new();
    for item in items {
        match item.unwrap() {
            Retrieved::Instance(instance) => {
                got.insert(instance.sop_instance_uid().to_owned());
                assert_same_as_corpus(instance, corpus);
            }
            Retrieved::Missing {
                sop_instance_uid, ..
            } => missing.push(sop_instance_uid),
            _ => {}
        }
    }
    (got, missing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_move_of_a_multi_series_study_from_orthanc_through_the_receiver() {
    let corpus = corpus("move-orthanc");
    let dir = tempfile::tempdir().unwrap();
    let (receiver, coordinator) = receiver_on(0, dir.path()).await;
    let (_orthanc, source) = orthanc_moving_to(&receiver, coordinator, &corpus);
    let (patient, study) = corpus.manifest().studies().nth(1).unwrap();
    assert!(study.series.len() > 1);
    let want: BTreeSet<String> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();
    let (got, missing) = run(
        &source,
        &Selection::study(Some(&patient.patient_id), &study.study_instance_uid),
        &corpus,
    )
    .await;
    assert_eq!(got, want);
    assert!(missing.is_empty(), "{missing:?}");
    // Every spool file was taken and deleted.
    assert!(spool::scan(dir.path()).unwrap().is_empty());

    // Two series of another study, two C-MOVEs.
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let series: Vec<_> = study.series.iter().take(2).collect();
    let want: BTreeSet<String> = series
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();
    let (got, missing) = run(
        &source,
        &Selection::series(
            Some(&patient.patient_id),
            &study.study_instance_uid,
            series.iter().map(|s| s.series_instance_uid.as_str()),
        ),
        &corpus,
    )
    .await;
    assert_eq!(got, want);
    assert!(missing.is_empty(), "{missing:?}");
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_move_from_dcmqrscp_reports_exactly_the_instance_it_could_not_send() {
    let corpus = corpus("move-dcmqrscp");
    let dir = tempfile::tempdir().unwrap();
    // dcmqrscp knows its move destinations at start: reserve the receiver's port first.
    let port = free_port().unwrap();
    let qr = Dcmqrscp::builder()
        .move_destination(DicomAddress::loopback(RECEIVER_AE, port))
        .start()
        .unwrap();
    let written = corpus.write_to(&dir.path().join("corpus")).unwrap();
    qr.index_files(&written.files).unwrap();
    let (receiver, coordinator) = receiver_on(port, &dir.path().join("spool")).await;
    let source = DimseSource::new("DCMQRSCP", move_only(qr.address()), options())
        .with_move_coordinator(coordinator);
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let selection = Selection::study(Some(&patient.patient_id), &study.study_instance_uid);
    let want: BTreeSet<String> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();
    let (got, missing) = run(&source, &selection, &corpus).await;
    assert_eq!(got, want);
    assert!(missing.is_empty(), "{missing:?}");

    // Remove one file behind dcmqrscp's back: its C-FIND still lists it, its C-MOVE cannot send it.
    let lost_uid = study.series[0].sop_instance_uids[0].clone();
    let lost_file = written.file_of(&lost_uid).unwrap();
    std::fs::remove_file(lost_file).unwrap();
    let (got, missing) = run(&source, &selection, &corpus).await;
    let mut rest = want.clone();
    rest.remove(&lost_uid);
    assert_eq!(got, rest);
    assert_eq!(missing, vec![Some(lost_uid)]);
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_c_move_ends_the_retrieve_with_cancelled() {
    let corpus = adit_testkit::corpus::Corpus::new(
        adit_testkit::corpus::CorpusSpec::new("move-cancel")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(40)
            .image_size(256, 256),
    );
    let dir = tempfile::tempdir().unwrap();
    let (receiver, coordinator) = receiver_on(0, dir.path()).await;
    let (_orthanc, source) = orthanc_moving_to(&receiver, coordinator, &corpus);
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let cancel = CancellationToken::new();
    let stream = source
        .retrieve(
            &Selection::study(Some(&patient.patient_id), &study.study_instance_uid),
            cancel.clone(),
        )
        .await
        .unwrap();
    let mut items = stream.items;
    // Take the first instance, then cancel.
    let first = tokio::time::timeout(Duration::from_secs(30), items.next())
        .await
        .unwrap();
    assert!(matches!(first, Some(Ok(Retrieved::Instance(_)))));
    cancel.cancel();
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(30), items.collect::<Vec<_>>())
        .await
        .expect("the retrieve ended after cancel");
    let instances = rest
        .iter()
        .filter(|i| matches!(i, Ok(Retrieved::Instance(_))))
        .count();
    assert!(instances < 79, "{instances} more instances after cancel");
    assert!(
        rest.iter()
            .any(|i| matches!(i, Err(adit_core::Error::Cancelled))),
        "no Cancelled error in {rest:?}"
    );
    receiver.shutdown().await;
}

/// A sink that records, for each instance it stores, whether its spool file still exists
/// (claimed) at that moment; it is slow, so the retrieve ends long before the last store.
struct SlowCheckingSink {
    spool_dir: std::path::PathBuf,
    still_on_disk: std::sync::Mutex<Vec<bool>>,
}

#[async_trait::async_trait]
impl adit_core::sink::Sink for SlowCheckingSink {
    fn name(&self) -> &str {
        "slow"
    }

    async fn store(
        &self,
        instance: adit_core::instance::Instance,
    ) -> adit_core::Result<adit_core::sink::StoreOutcome> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let name = format!("{}.dcm", instance.sop_instance_uid());
        let claims = self.spool_dir.join(adit_dimse::scp::claim::CLAIMS_FOLDER);
        let on_disk = std::fs::read_dir(&claims)
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .any(|f| f.unwrap().file_name().to_string_lossy().ends_with(&name));
        self.still_on_disk.lock().unwrap().push(on_disk);
        Ok(adit_core::sink::StoreOutcome::Stored)
    }

    async fn finish(&self) -> adit_core::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spool_files_stay_claimed_until_the_sink_stored_them() {
    let corpus = corpus("move-durable");
    let dir = tempfile::tempdir().unwrap();
    let (receiver, coordinator) = receiver_on(0, dir.path()).await;
    let (_orthanc, source) = orthanc_moving_to(&receiver, coordinator, &corpus);
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let want: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    let sink = SlowCheckingSink {
        spool_dir: dir.path().to_owned(),
        still_on_disk: std::sync::Mutex::new(Vec::new()),
    };
    let report = adit_core::engine::transfer(
        &source,
        &Selection::study(Some(&patient.patient_id), &study.study_instance_uid),
        &[],
        &sink,
        adit_core::engine::TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.stored, want as u64, "{:?}", report.error);
    let seen = sink.still_on_disk.lock().unwrap().clone();
    assert_eq!(seen.len(), want);
    assert!(
        seen.iter().all(|s| *s),
        "a spool file went before its store: {seen:?}"
    );
    // After the transfer, nothing is left.
    assert!(spool::scan(dir.path()).unwrap().is_empty());
    let claimed: usize = std::fs::read_dir(dir.path().join(adit_dimse::scp::claim::CLAIMS_FOLDER))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|f| spool::is_complete(&f.as_ref().unwrap().path()))
        .count();
    assert_eq!(claimed, 0);
    receiver.shutdown().await;
}
