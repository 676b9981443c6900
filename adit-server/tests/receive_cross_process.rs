//! C-MOVE retrieval with the receiver in another process: `adit dicom receive` writes the
//! spool, a `DimseSource` in this process (C-MOVE mode, spool watcher) takes exactly its
//! instances from it, byte-checked against the corpus, and reports what never came.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use adit_core::model::{AeTitle, DimseCapabilities, DimseServer};
use adit_core::source::{Retrieved, Selection, Source};
use adit_dimse::scp::{MoveCoordinator, spool};
use adit_dimse::{DimseOptions, DimseSource};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{Dcmqrscp, DicomAddress, Orthanc};
use common::{ReceiverProcess, assert_same_as_corpus};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

const RECEIVER_AE: &str = "ADIT-RCV";

fn corpus(seed: &str) -> Corpus {
    Corpus::new(
        CorpusSpec::new(seed)
            .patients(1)
            .studies_per_patient(2)
            .series_per_study(2)
            .instances_per_series(4)
            .image_size(32, 32),
    )
}

fn options() -> DimseOptions {
    DimseOptions {
        connect_timeout: Duration::from_secs(5),
        association_timeout: Duration::from_secs(10),
        dimse_timeout: Duration::from_secs(20),
        ..DimseOptions::with_calling_ae("ADIT-WORKER")
    }
}

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

/// A worker-side coordinator watching the spool another process writes.
fn watcher(spool_dir: &Path) -> Arc<MoveCoordinator> {
    MoveCoordinator::watch_spool(RECEIVER_AE, spool_dir, Duration::from_millis(100))
        .unwrap()
        .with_inactivity_timeout(Duration::from_secs(3))
}

/// Runs a retrieve to its end: the instances (checked against the corpus) and missing UIDs.
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
                assert!(
                    got.insert(instance.sop_instance_uid().to_owned()),
                    "{} delivered twice",
                    instance.sop_instance_uid()
                );
                assert_same_as_corpus(&instance.to_part10().unwrap(), corpus);
            }
            Retrieved::Missing {
                sop_instance_uid, ..
            } => missing.push(sop_instance_uid),
            _ => {}
        }
    }
    (got, missing)
}

/// Files under the claim folders (leases aside).
fn claimed_files(spool_dir: &Path) -> usize {
    let claims = spool_dir.join(adit_dimse::scp::claim::CLAIMS_FOLDER);
    let Ok(dirs) = std::fs::read_dir(claims) else {
        return 0;
    };
    dirs.flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|f| spool::is_complete(&f.as_ref().unwrap().path()))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_move_from_orthanc_into_a_receiver_process() {
    let corpus = corpus("xproc-orthanc");
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let mut receiver = ReceiverProcess::start(RECEIVER_AE, &spool_dir, &[]);
    let orthanc = Orthanc::builder()
        .modality("ADIT", DicomAddress::loopback(RECEIVER_AE, receiver.port))
        .start()
        .unwrap();
    orthanc.upload_corpus(&corpus).unwrap();
    let source = DimseSource::new("ORTHANC", move_only(orthanc.address()), options())
        .with_move_coordinator(watcher(&spool_dir));

    let mut studies = corpus.manifest().studies();
    let (patient, study) = studies.next().unwrap();
    let (_, other) = studies.next().unwrap();
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
    // Everything taken was deleted once the stream ended; nothing stays claimed.
    assert!(spool::scan(&spool_dir).unwrap().is_empty());
    assert_eq!(claimed_files(&spool_dir), 0);

    // Series 0 of the other study arrives for nobody (a move sent outside ADIT): it stays in
    // the spool. Then series 1 is retrieved: exactly that series, the orphans untouched.
    let orphan = &other.series[0];
    let identifier = adit_core::model::Query::parse(
        adit_core::model::QueryLevel::Series,
        [
            format!("StudyInstanceUID={}", other.study_instance_uid).as_str(),
            format!("SeriesInstanceUID={}", orphan.series_instance_uid).as_str(),
        ],
    )
    .unwrap()
    .to_identifier();
    let peer = adit_dimse::PeerAddress::new("ORTHANC", "127.0.0.1", orthanc.address().port);
    let summary = adit_dimse::scu::move_to(
        &peer,
        &options(),
        adit_core::model::QueryModel::StudyRoot,
        &identifier,
        RECEIVER_AE,
        CancellationToken::new(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        usize::from(summary.sub_operations.completed),
        orphan.sop_instance_uids.len()
    );
    let series = &other.series[1];
    let want: BTreeSet<String> = series.sop_instance_uids.iter().cloned().collect();
    let (got, missing) = run(
        &source,
        &Selection::series(
            Some(&patient.patient_id),
            &other.study_instance_uid,
            [series.series_instance_uid.as_str()],
        ),
        &corpus,
    )
    .await;
    assert_eq!(got, want);
    assert!(missing.is_empty(), "{missing:?}");
    let left: BTreeSet<String> = spool::scan(&spool_dir)
        .unwrap()
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    let orphans: BTreeSet<String> = orphan.sop_instance_uids.iter().cloned().collect();
    assert_eq!(left, orphans);

    let status = receiver.terminate();
    assert!(status.success(), "{}", receiver.stderr());
    assert!(
        receiver.stderr().contains("ORTHANC"),
        "{}",
        receiver.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_process_and_dcmqrscp_report_the_instance_that_never_came() {
    let corpus = corpus("xproc-dcmqrscp");
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let mut receiver = ReceiverProcess::start(RECEIVER_AE, &spool_dir, &[]);
    let qr = Dcmqrscp::builder()
        .move_destination(DicomAddress::loopback(RECEIVER_AE, receiver.port))
        .start()
        .unwrap();
    let written = corpus.write_to(&dir.path().join("corpus")).unwrap();
    qr.index_files(&written.files).unwrap();
    let source = DimseSource::new("DCMQRSCP", move_only(qr.address()), options())
        .with_move_coordinator(watcher(&spool_dir));
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let selection = Selection::study(Some(&patient.patient_id), &study.study_instance_uid);
    let want: BTreeSet<String> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();

    // Remove one file behind dcmqrscp's back: its C-FIND still lists it, its C-MOVE cannot
    // send it.
    let lost_uid = study.series[1].sop_instance_uids[2].clone();
    let lost_file = written.file_of(&lost_uid).unwrap();
    std::fs::remove_file(lost_file).unwrap();
    let (got, missing) = run(&source, &selection, &corpus).await;
    let mut rest = want.clone();
    rest.remove(&lost_uid);
    assert_eq!(got, rest);
    assert_eq!(missing, vec![Some(lost_uid)]);
    assert!(spool::scan(&spool_dir).unwrap().is_empty());
    assert_eq!(claimed_files(&spool_dir), 0);
    let status = receiver.terminate();
    assert!(status.success(), "{}", receiver.stderr());
}
