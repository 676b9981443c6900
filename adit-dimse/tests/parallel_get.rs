//! `DimseSource` retrieving a study by C-GET over several associations at once (one series
//! each) from Orthanc: every instance once, the node's limit respected, cancellation reaching
//! every association, a failing series reported as missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::num::NonZeroU16;
use std::time::Duration;

use adit_core::model::{AeTitle, DimseCapabilities, DimseServer};
use adit_core::source::{Retrieved, Selection, Source};
use adit_dimse::{DimseSource, PeerAddress, limit};
use adit_testkit::Orthanc;
use adit_testkit::corpus::{Corpus, CorpusSpec};
use common::*;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

const SERIES: usize = 5;
const PER_SERIES: usize = 4;

fn one_study(seed: &str) -> Corpus {
    Corpus::new(
        CorpusSpec::new(seed)
            .image_size(32, 32)
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(SERIES)
            .instances_per_series(PER_SERIES),
    )
}

/// An Orthanc holding `corpus` under its own AE title: association limits are process-wide per
/// `AE@host:port`, and a port may come again after another test's Orthanc stopped.
fn orthanc_named(ae_title: &str, corpus: &Corpus) -> Orthanc {
    let orthanc = Orthanc::builder().ae_title(ae_title).start().unwrap();
    orthanc.upload_corpus(corpus).unwrap();
    orthanc
}

/// A source for `orthanc` limited to `max_associations`, leaving `spare` free slots to others;
/// and the key of its limit.
fn source(orthanc: &Orthanc, max_associations: u16, spare: usize) -> (DimseSource, String) {
    let address = orthanc.address();
    let mut server = DimseServer::new(
        AeTitle::new(&address.ae_title).unwrap(),
        address.host.clone(),
        address.port.try_into().unwrap(),
    )
    .with_capabilities(DimseCapabilities::all());
    server.max_associations = NonZeroU16::new(max_associations).unwrap();
    let key = PeerAddress::from(&server).limit_key();
    let source = DimseSource::new("ORTHANC", server, options()).with_spare_slots(spare);
    (source, key)
}

fn study_uid(corpus: &Corpus) -> String {
    corpus
        .manifest()
        .studies()
        .next()
        .unwrap()
        .1
        .study_instance_uid
        .clone()
}

/// Reads the stream to its end: how often each SOP Instance UID came, the last expected total,
/// the missing items and the errors.
struct Outcome {
    received: BTreeMap<String, usize>,
    expected: Option<u64>,
    missing: Vec<(Option<String>, String)>,
    errors: Vec<String>,
}

async fn read_all(
    items: futures::stream::BoxStream<'static, adit_core::Result<Retrieved>>,
) -> Outcome {
    let mut outcome = Outcome {
        received: BTreeMap::new(),
        expected: None,
        missing: Vec::new(),
        errors: Vec::new(),
    };
    let all = tokio::time::timeout(Duration::from_secs(60), items.collect::<Vec<_>>())
        .await
        .expect("the retrieve ends");
    for item in all {
        match item {
            Ok(Retrieved::Instance(i)) => {
                *outcome
                    .received
                    .entry(i.sop_instance_uid().to_owned())
                    .or_default() += 1;
            }
            Ok(Retrieved::Expected(e)) => outcome.expected = Some(e.instances),
            Ok(Retrieved::Missing {
                sop_instance_uid,
                reason,
            }) => outcome.missing.push((sop_instance_uid, reason)),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => outcome.errors.push(e.to_string()),
        }
    }
    outcome
}

async fn wait_for_free_slots(key: &str, want: usize) {
    for _ in 0..200 {
        if limit::available(key) == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "associations to {key} still open: {:?} of {want} free",
        limit::available(key)
    );
}

async fn retrieves_every_instance_once_within(
    max_associations: u16,
    spare: usize,
    open_at_once: usize,
) {
    let corpus = one_study(&format!("parallel-get-{max_associations}"));
    let orthanc = orthanc_named(&format!("PGET{max_associations}S{spare}"), &corpus);
    let (source, key) = source(&orthanc, max_associations, spare);
    let study = study_uid(&corpus);
    let stream = source
        .retrieve(&Selection::study(None, &study), CancellationToken::new())
        .await
        .unwrap();
    // Every association is open once retrieve returns (the series listing is closed by then).
    assert_eq!(
        limit::available(&key),
        Some(usize::from(max_associations) - open_at_once)
    );
    let outcome = read_all(stream.items).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert!(outcome.missing.is_empty(), "{:?}", outcome.missing);
    let want: Vec<String> = corpus
        .manifest()
        .studies()
        .flat_map(|(_, s)| s.series.iter().flat_map(|s| s.sop_instance_uids.clone()))
        .collect();
    assert_eq!(outcome.received.len(), want.len());
    assert!(want.iter().all(|uid| outcome.received.get(uid) == Some(&1)));
    assert_eq!(outcome.expected, Some(want.len() as u64));
    // The stream ends after every association was released.
    assert_eq!(limit::available(&key), Some(usize::from(max_associations)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_study_comes_over_as_many_associations_as_the_node_allows_each_instance_once() {
    retrieves_every_instance_once_within(3, 0, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_limited_to_one_association_gets_one_study_level_get() {
    retrieves_every_instance_once_within(1, 0, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_one_free_slot_is_left_to_others() {
    retrieves_every_instance_once_within(3, adit_dimse::DEFAULT_SPARE_SLOTS, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_into_the_same_node_does_not_wait_on_its_own_retrieve() {
    use adit_core::engine::{TransferOptions, TransferStatus, transfer};
    let corpus = one_study("parallel-get-same-node");
    let orthanc = orthanc_named("PGETSAME", &corpus);
    // Two slots, the default: the retrieve keeps one free for the sink (with none kept, the
    // retrieve holds both while it waits for the sink, which waits for a slot).
    let (source, _) = source(&orthanc, 2, adit_dimse::DEFAULT_SPARE_SLOTS);
    let address = orthanc.address();
    let mut server = DimseServer::new(
        AeTitle::new(&address.ae_title).unwrap(),
        address.host.clone(),
        address.port.try_into().unwrap(),
    );
    server.max_associations = NonZeroU16::new(2).unwrap();
    let sink = adit_dimse::DimseSink::new("ORTHANC", &server, options(), 2);
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        transfer(
            &source,
            &Selection::study(None, &study_uid(&corpus)),
            &[],
            &sink,
            TransferOptions::default(),
        ),
    )
    .await
    .expect("no deadlock")
    .unwrap();
    assert_eq!(report.status(), TransferStatus::Success, "{report:?}");
    assert_eq!(report.counts.stored as usize, SERIES * PER_SERIES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_taken_by_others_are_not_waited_for() {
    let corpus = one_study("parallel-get-busy");
    let orthanc = orthanc_named("PGETBUSY", &corpus);
    let (source, key) = source(&orthanc, 3, 0);
    // Another user holds two of the three slots for the whole retrieve.
    let held = [
        limit::acquire(&key, NonZeroU16::new(3).unwrap()).await,
        limit::acquire(&key, NonZeroU16::new(3).unwrap()).await,
    ];
    let stream = source
        .retrieve(
            &Selection::study(None, &study_uid(&corpus)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(limit::available(&key), Some(0));
    let outcome = read_all(stream.items).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(outcome.received.len(), SERIES * PER_SERIES);
    drop(held);
    assert_eq!(limit::available(&key), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_mid_way_closes_every_association_and_ends_the_stream() {
    let corpus = one_study("parallel-get-cancel");
    let orthanc = orthanc_named("PGETCANCEL", &corpus);
    let (source, key) = source(&orthanc, 3, 0);
    let cancel = CancellationToken::new();
    let mut stream = source
        .retrieve(&Selection::study(None, &study_uid(&corpus)), cancel.clone())
        .await
        .unwrap();
    let mut instances = 0;
    while instances < 3 {
        let item = tokio::time::timeout(Duration::from_secs(30), stream.items.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        instances += usize::from(matches!(item, Retrieved::Instance(_)));
    }
    assert_eq!(limit::available(&key), Some(0));
    cancel.cancel();
    let rest = read_all(stream.items).await;
    assert!(
        rest.errors.iter().any(|e| e.contains("cancel")),
        "the end says why: {:?}",
        rest.errors
    );
    assert!(rest.received.len() + instances < SERIES * PER_SERIES);
    // Each association got its C-CANCEL (or abort) before the stream ended.
    assert_eq!(limit::available(&key), Some(3));
    // Orthanc is still usable.
    let again = source
        .retrieve(
            &Selection::study(None, &study_uid(&corpus)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        read_all(again.items).await.received.len(),
        SERIES * PER_SERIES
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_mid_way_closes_every_association() {
    let corpus = one_study("parallel-get-drop");
    let orthanc = orthanc_named("PGETDROP", &corpus);
    let (source, key) = source(&orthanc, 3, 0);
    let mut stream = source
        .retrieve(
            &Selection::study(None, &study_uid(&corpus)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), stream.items.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    drop(stream);
    wait_for_free_slots(&key, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_the_peer_cannot_read_is_missing_and_the_others_arrive() {
    // dcmqrscp reads each file when sending it (Orthanc would answer from its cache).
    let corpus = one_study("parallel-get-broken");
    let dir = tempfile::tempdir().unwrap();
    let qr = adit_testkit::Dcmqrscp::builder()
        .ae_title("PGETBROKEN")
        .start()
        .unwrap();
    let written = corpus.write_to(dir.path()).unwrap();
    qr.index_files(&written.files).unwrap();
    // Files come in generation order, series by series: the second series goes.
    for file in &written.files[PER_SERIES..2 * PER_SERIES] {
        std::fs::remove_file(file).unwrap();
    }
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let broken = &study.series[1];
    let address = qr.address();
    let mut server = DimseServer::new(
        AeTitle::new(&address.ae_title).unwrap(),
        address.host.clone(),
        address.port.try_into().unwrap(),
    )
    .with_capabilities(DimseCapabilities::all());
    server.max_associations = NonZeroU16::new(3).unwrap();
    let source = DimseSource::new("DCMQRSCP", server, options()).with_spare_slots(0);
    let stream = source
        .retrieve(
            &Selection::study(None, &study.study_instance_uid),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let outcome = read_all(stream.items).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    let others: Vec<&String> = study
        .series
        .iter()
        .filter(|s| s.series_instance_uid != broken.series_instance_uid)
        .flat_map(|s| &s.sop_instance_uids)
        .collect();
    assert_eq!(outcome.received.len(), others.len());
    assert!(others.iter().all(|uid| outcome.received.contains_key(*uid)));
    assert!(!outcome.missing.is_empty(), "the broken series is reported");
}
