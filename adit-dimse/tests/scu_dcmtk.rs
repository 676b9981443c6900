//! SCU operations against dcmtk peers on loopback: dcmqrscp (Q/R) and storescp.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use adit_core::instance::Instance;
use adit_core::model::{QueryLevel, QueryModel};
use adit_core::sink::StoreOutcome;
use adit_dimse::scu::{self, GetEvent};
use adit_testkit::StoreScp;
use common::*;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmqrscp_find_at_every_level_in_both_models() {
    let corpus = corpus("dimse-find-qr");
    let dir = tempfile::tempdir().unwrap();
    let (qr, _written) = dcmqrscp_with(&corpus, dir.path());
    let peer = peer(qr.address());
    scu::echo(&peer, &options()).await.unwrap();
    assert_finds_hierarchy(&peer, corpus.manifest(), 2, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmqrscp_wildcards_date_ranges_and_latin1_names() {
    let corpus = corpus("dimse-match-qr");
    let dir = tempfile::tempdir().unwrap();
    let (qr, _written) = dcmqrscp_with(&corpus, dir.path());
    let peer = peer(qr.address());
    let m = corpus.manifest();

    // dcmqrscp compares bytes and does not convert character sets: match with an ASCII
    // wildcard and check the Latin-1 name decodes.
    assert_wildcard_finds_the_latin1_name(&peer, m).await;
    assert_finds_a_study_date_range(&peer, m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmqrscp_cancelled_find_leaves_the_peer_usable() {
    let corpus = corpus("dimse-cancel-qr");
    let dir = tempfile::tempdir().unwrap();
    let (qr, _written) = dcmqrscp_with(&corpus, dir.path());
    let peer = peer(qr.address());
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let id = identifier(
        QueryLevel::Image,
        &[
            &format!("PatientID={}", patient.patient_id),
            &format!("StudyInstanceUID={}", study.study_instance_uid),
            &format!("SeriesInstanceUID={}", study.series[0].series_instance_uid),
        ],
    );
    let stream = scu::find(&peer, &options(), QueryModel::StudyRoot, &id, Some(2))
        .await
        .unwrap();
    let results: Vec<_> = tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(Result::is_ok));
    scu::echo(&peer, &options()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmqrscp_get_of_a_series_and_a_study_matches_the_corpus() {
    let corpus = corpus("dimse-get-qr");
    let dir = tempfile::tempdir().unwrap();
    let (qr, _written) = dcmqrscp_with(&corpus, dir.path());
    let peer = peer(qr.address());
    let (patient, study) = corpus.manifest().studies().nth(3).unwrap();
    let pid = format!("PatientID={}", patient.patient_id);
    let suid = format!("StudyInstanceUID={}", study.study_instance_uid);
    // Two series one after the other on one association, then the study in patient root.
    let series_ids: Vec<_> = study.series[..2]
        .iter()
        .map(|s| {
            retrieve_identifier(
                QueryLevel::Series,
                &[
                    &pid,
                    &suid,
                    &format!("SeriesInstanceUID={}", s.series_instance_uid),
                ],
            )
        })
        .collect();
    let (got, summaries) = collect_get(&peer, QueryModel::StudyRoot, series_ids).await;
    let want: BTreeSet<String> = study.series[..2]
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();
    assert_eq!(summaries, 2);
    assert_eq!(
        got.iter()
            .map(|i| i.sop_instance_uid().to_owned())
            .collect::<BTreeSet<_>>(),
        want
    );
    for instance in got {
        assert_same_as_corpus(instance, &corpus);
    }

    let study_id = retrieve_identifier(QueryLevel::Study, &[&pid, &suid]);
    let (got, _) = collect_get(&peer, QueryModel::PatientRoot, vec![study_id]).await;
    let want: BTreeSet<String> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();
    assert_eq!(
        got.iter()
            .map(|i| i.sop_instance_uid().to_owned())
            .collect::<BTreeSet<_>>(),
        want
    );
}

async fn collect_get(
    peer: &adit_dimse::PeerAddress,
    model: QueryModel,
    ids: Vec<dicom_object::InMemDicomObject>,
) -> (Vec<Instance>, usize) {
    let mut stream = scu::get(peer, &options(), model, ids, CancellationToken::new())
        .await
        .unwrap();
    let mut instances = Vec::new();
    let mut finished = 0;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .unwrap()
    {
        match event.map_err(|e| e.to_string()).unwrap() {
            GetEvent::Instance(i) => instances.push(i),
            GetEvent::Progress(_) => {}
            GetEvent::Finished(summary) => {
                assert!(summary.status.is_good(), "{summary:?}");
                assert_eq!(summary.sub_operations.failed, 0);
                finished += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    (instances, finished)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_into_storescp_arrives_intact() {
    let corpus = corpus("dimse-store-scp");
    let scp = StoreScp::start("STORESCP").unwrap();
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let instances: Vec<_> = corpus
        .study_instances(&study.study_instance_uid)
        .map(|g| Instance::from_part10(g.to_part10().unwrap()).unwrap())
        .collect();
    let outcomes = scu::store_all(&peer(scp.address()), &options(), &instances)
        .await
        .unwrap();
    assert!(
        outcomes.iter().all(|o| *o == StoreOutcome::Stored),
        "{outcomes:?}"
    );
    let files = scp
        .wait_for_files(instances.len(), Duration::from_secs(20))
        .unwrap();
    assert_eq!(files.len(), instances.len());
    for file in files {
        assert_same_as_corpus(
            Instance::from_part10(std::fs::read(file).unwrap()).unwrap(),
            &corpus,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_transcodes_implicit_to_what_the_peer_accepts() {
    // An instance in Implicit VR LE is proposed on a context with both native syntaxes; the
    // peer (storescp) picks one, and what arrives must be the same data set either way.
    let corpus = corpus("dimse-store-implicit");
    let scp = StoreScp::start("STORESCP").unwrap();
    let generated = corpus.instances().next().unwrap();
    let explicit = Instance::from_part10(generated.to_part10().unwrap()).unwrap();
    let object = explicit.into_object().unwrap().into_inner();
    let implicit = Instance::from_dataset_object(
        object,
        dicom_dictionary_std::uids::IMPLICIT_VR_LITTLE_ENDIAN,
    )
    .unwrap();
    let outcomes = scu::store_all(&peer(scp.address()), &options(), &[implicit])
        .await
        .unwrap();
    assert_eq!(outcomes, [StoreOutcome::Stored]);
    let files = scp.wait_for_files(1, Duration::from_secs(20)).unwrap();
    assert_same_as_corpus(
        Instance::from_part10(std::fs::read(&files[0]).unwrap()).unwrap(),
        &corpus,
    );
}
