//! SCU operations against a real Orthanc on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use adit_core::model::{QueryLevel, QueryModel};
use adit_core::sink::StoreOutcome;
use adit_dimse::Error;
use adit_dimse::scu::{self, GetEvent};
use adit_testkit::Orthanc;
use common::*;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_answers_and_a_closed_port_fails_fast() {
    let orthanc = Orthanc::start("ORTHANC").unwrap();
    let rtt = scu::echo(&peer(orthanc.address()), &options())
        .await
        .unwrap();
    assert!(rtt < Duration::from_secs(5));

    let closed =
        adit_dimse::PeerAddress::new("NOBODY", "127.0.0.1", adit_testkit::free_port().unwrap());
    let e = scu::echo(&closed, &options()).await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    assert!(e.to_string().contains("NOBODY@127.0.0.1"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_times_out_instead_of_hanging() {
    // Accepts TCP connections (kernel backlog) but never speaks DICOM.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = adit_dimse::PeerAddress::new("SILENT", "127.0.0.1", port);
    let opts = adit_dimse::DimseOptions {
        association_timeout: Duration::from_millis(500),
        ..options()
    };
    let started = std::time::Instant::now();
    let e = scu::echo(&silent, &opts).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_at_every_level_in_both_models() {
    let corpus = corpus("dimse-find-orthanc");
    let orthanc = orthanc_with(&corpus);
    let peer = peer(orthanc.address());
    assert_finds_hierarchy(&peer, corpus.manifest(), 0, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_with_wildcards_date_ranges_and_latin1_names() {
    let corpus = corpus("dimse-match-orthanc");
    let orthanc = orthanc_with(&corpus);
    let peer = peer(orthanc.address());
    let m = corpus.manifest();

    // Latin-1 name, matched by a wildcard and decoded from ISO_IR 100.
    let latin = assert_wildcard_finds_the_latin1_name(&peer, m).await;
    // The same name as a non-ASCII key (sent as UTF-8).
    let exact = find_all(
        &peer,
        QueryModel::StudyRoot,
        &identifier(
            QueryLevel::Study,
            &[&format!("PatientName={}", latin.patient_name)],
        ),
    )
    .await;
    assert_eq!(exact.len(), latin.studies.len());

    // A date range over the middle of the corpus' study dates.
    assert_finds_a_study_date_range(&peer, m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_find_limit_cancels_and_the_peer_stays_usable() {
    let corpus = corpus("dimse-cancel-orthanc");
    let orthanc = orthanc_with(&corpus);
    let peer = peer(orthanc.address());
    let id = identifier(QueryLevel::Image, &[]);
    // IMAGE level over the whole archive (90 matches), stopped after 3.
    let stream = scu::find(&peer, &options(), QueryModel::StudyRoot, &id, Some(3))
        .await
        .unwrap();
    let results: Vec<_> = tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(Result::is_ok));

    // Dropping the stream after one result.
    let mut stream = scu::find(&peer, &options(), QueryModel::StudyRoot, &id, None)
        .await
        .unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    drop(stream);
    // The peer still answers (our cancel or abort did not wedge it).
    scu::echo(&peer, &options()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_a_multi_series_study_matches_the_corpus() {
    let corpus = corpus("dimse-get-orthanc");
    let orthanc = orthanc_with(&corpus);
    let peer = peer(orthanc.address());
    let (_, study) = corpus.manifest().studies().nth(1).unwrap();
    let id = retrieve_identifier(
        QueryLevel::Study,
        &[&format!("StudyInstanceUID={}", study.study_instance_uid)],
    );
    let mut stream = scu::get(
        &peer,
        &options(),
        QueryModel::StudyRoot,
        vec![id],
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let mut received = BTreeSet::new();
    let mut summary = None;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .unwrap()
    {
        match event.unwrap() {
            GetEvent::Instance(instance) => {
                received.insert(instance.sop_instance_uid().to_owned());
                assert_same_as_corpus(instance, &corpus);
            }
            GetEvent::Progress(_) => {}
            GetEvent::Finished(s) => summary = Some(s),
            other => panic!("unexpected {other:?}"),
        }
    }
    let want: BTreeSet<String> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.clone())
        .collect();
    assert_eq!(received, want);
    let summary = summary.unwrap();
    assert!(summary.status.is_good(), "{summary:?}");
    assert_eq!(usize::from(summary.sub_operations.completed), want.len());
    assert_eq!(summary.sub_operations.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_killed_mid_get_gives_an_error_not_a_hang() {
    let corpus = corpus("dimse-kill-orthanc");
    let orthanc = orthanc_with(&corpus);
    let peer = peer(orthanc.address());
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let id = retrieve_identifier(
        QueryLevel::Study,
        &[&format!("StudyInstanceUID={}", study.study_instance_uid)],
    );
    let mut stream = scu::get(
        &peer,
        &options(),
        QueryModel::StudyRoot,
        vec![id],
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(first, GetEvent::Instance(_) | GetEvent::Progress(_)),
        "{first:?}"
    );
    drop(orthanc);
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(30), stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends soon after the peer died");
    let error = rest
        .into_iter()
        .find_map(Result::err)
        .expect("an error item");
    assert!(matches!(error, Error::Association { .. }), "{error}");
    assert!(error.to_string().contains("ORTHANC@127.0.0.1"), "{error}");
    assert!(error.is_retriable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_a_study_into_orthanc() {
    let corpus = corpus("dimse-store-orthanc");
    let orthanc = Orthanc::start("ORTHANC").unwrap();
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let instances: Vec<_> = corpus
        .study_instances(&study.study_instance_uid)
        .map(|g| adit_core::instance::Instance::from_part10(g.to_part10().unwrap()).unwrap())
        .collect();
    let outcomes = scu::store_all(&peer(orthanc.address()), &options(), &instances)
        .await
        .unwrap();
    assert!(
        outcomes.iter().all(|o| *o == StoreOutcome::Stored),
        "{outcomes:?}"
    );
    assert_eq!(orthanc.counts().unwrap().instances, instances.len() as u64);
    // The same data set on the other side.
    for instance in &instances {
        let stored = orthanc
            .instance_file(instance.sop_instance_uid())
            .unwrap()
            .unwrap();
        assert_same_as_corpus(
            adit_core::instance::Instance::from_part10(stored).unwrap(),
            &corpus,
        );
    }
}
