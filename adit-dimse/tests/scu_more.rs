//! C-MOVE, C-GET cancellation and store refusals, against Orthanc and dcmtk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use adit_core::instance::Instance;
use adit_core::model::{QueryLevel, QueryModel};
use adit_core::sink::StoreOutcome;
use adit_dimse::Error;
use adit_dimse::scu::{self, GetEvent, StoreSession};
use adit_testkit::{Orthanc, StoreScp};
use common::*;
use dicom_dictionary_std::uids;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_a_study_from_orthanc_to_storescp() {
    let corpus = corpus("dimse-move");
    let scp = StoreScp::start("MOVEDEST").unwrap();
    let orthanc = Orthanc::builder()
        .modality("MOVEDEST", scp.address().clone())
        .start()
        .unwrap();
    orthanc.upload_corpus(&corpus).unwrap();
    let (_, study) = corpus.manifest().studies().nth(2).unwrap();
    let id = retrieve_identifier(
        QueryLevel::Study,
        &[&format!("StudyInstanceUID={}", study.study_instance_uid)],
    );
    let mut pending = 0;
    let summary = scu::move_to(
        &peer(orthanc.address()),
        &options(),
        QueryModel::StudyRoot,
        &id,
        "MOVEDEST",
        CancellationToken::new(),
        |_| pending += 1,
    )
    .await
    .unwrap();
    let want: BTreeSet<String> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();
    assert!(summary.status.is_good(), "{summary:?}");
    assert_eq!(usize::from(summary.sub_operations.completed), want.len());
    assert_eq!(summary.sub_operations.failed, 0);
    assert!(pending > 0, "pending responses with counters");
    let files = scp
        .wait_for_files(want.len(), Duration::from_secs(20))
        .unwrap();
    for file in files {
        assert_same_as_corpus(
            Instance::from_part10(std::fs::read(file).unwrap()).unwrap(),
            &corpus,
        );
    }

    // An unknown destination is a failure with the peer's status.
    let e = scu::move_to(
        &peer(orthanc.address()),
        &options(),
        QueryModel::StudyRoot,
        &id,
        "NOWHERE",
        CancellationToken::new(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Failed { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_get_midway_stops_it_and_leaves_the_peer_usable() {
    let corpus = adit_testkit::corpus::Corpus::new(
        adit_testkit::corpus::CorpusSpec::new("dimse-get-cancel")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(20)
            .image_size(64, 64),
    );
    let orthanc = orthanc_with(&corpus);
    let peer = peer(orthanc.address());
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let id = retrieve_identifier(
        QueryLevel::Study,
        &[&format!("StudyInstanceUID={}", study.study_instance_uid)],
    );
    let cancel = CancellationToken::new();
    let mut stream = scu::get(
        &peer,
        &options(),
        QueryModel::StudyRoot,
        vec![id],
        cancel.clone(),
    )
    .await
    .unwrap();
    let mut instances = 0;
    let mut cancelled = false;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("the get ends promptly after cancel")
    {
        match event {
            Ok(GetEvent::Instance(_)) => {
                instances += 1;
                if instances == 3 {
                    cancel.cancel();
                }
            }
            Ok(GetEvent::Finished(s)) => panic!("finished despite cancel: {s:?}"),
            Ok(_) => {}
            Err(Error::Cancelled { peer, .. }) => {
                assert!(peer.starts_with("ORTHANC@"));
                cancelled = true;
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(cancelled);
    assert!(instances < 40, "stopped early: {instances}");
    scu::echo(&peer, &options()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_no_context_can_carry_fails_with_the_reason() {
    // dcmqrscp accepts only uncompressed syntaxes by default: a JPEG instance cannot be sent
    // and cannot be transcoded without a codec; the next instance still goes through.
    let corpus = corpus("dimse-store-refused");
    let scp = adit_testkit::Dcmqrscp::start("DCMQRSCP").unwrap();
    let mut generated = corpus.instances();
    let plain = Instance::from_part10(generated.next().unwrap().to_part10().unwrap()).unwrap();
    let jpeg = Instance::from_dataset(
        plain.dataset_bytes().unwrap(),
        plain.sop_class_uid(),
        "2.25.1234567",
        uids::JPEG_BASELINE8_BIT,
    );
    let proposal = StoreSession::proposal_for(
        [
            (jpeg.sop_class_uid(), jpeg.transfer_syntax()),
            (plain.sop_class_uid(), plain.transfer_syntax()),
        ],
        0,
    );
    let mut session = StoreSession::open(&peer(scp.address()), &options(), proposal)
        .await
        .unwrap();
    let refused = session.store(&jpeg).await.unwrap();
    let StoreOutcome::Failed(reason) = refused else {
        panic!("not refused: {refused:?}");
    };
    assert!(reason.contains(uids::JPEG_BASELINE8_BIT), "{reason}");
    assert_eq!(session.store(&plain).await.unwrap(), StoreOutcome::Stored);
    session.release().await.unwrap();
    let held = adit_testkit::dcmtk::count(scp.address(), CALLING).unwrap();
    assert_eq!(held.instances, 1);
}
