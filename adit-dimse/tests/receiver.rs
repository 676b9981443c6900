//! The C-STORE SCP against real senders: dcmtk `storescu` over several associations, Orthanc
//! by C-MOVE, raw sockets with garbage, and senders that die mid-instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use adit_core::instance::Instance;
use adit_core::model::{QueryLevel, QueryModel};
use adit_dimse::scp::{ReceivedInstance, Receiver, ReceiverOptions, spool};
use adit_testkit::{DicomAddress, Orthanc, dcmtk};
use common::*;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const RECEIVER_AE: &str = "ADIT-RCV";

async fn start_receiver(spool: &Path) -> (Receiver, DicomAddress) {
    let mut options = ReceiverOptions::new(RECEIVER_AE, spool);
    options.idle_timeout = Duration::from_secs(10);
    options.association_timeout = Duration::from_secs(5);
    let receiver = Receiver::bind("127.0.0.1:0", options).await.unwrap();
    let address = DicomAddress::loopback(RECEIVER_AE, receiver.local_addr().port());
    (receiver, address)
}

/// Collects `n` announcements, failing after `within`.
async fn collect(
    events: &mut broadcast::Receiver<ReceivedInstance>,
    n: usize,
    within: Duration,
) -> Vec<ReceivedInstance> {
    let mut out = Vec::new();
    tokio::time::timeout(within, async {
        while out.len() < n {
            out.push(events.recv().await.unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {n} instances announced", out.len()));
    out
}

/// Data set bytes of a Part-10 file.
fn data_set(path: &Path) -> Vec<u8> {
    Instance::from_part10(std::fs::read(path).unwrap())
        .unwrap()
        .dataset_bytes()
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storescu_over_several_associations_lands_complete_in_the_spool() {
    let corpus = corpus("receiver-storescu");
    let dir = tempfile::tempdir().unwrap();
    let written = corpus.write_to(&dir.path().join("corpus")).unwrap();
    let spool_dir = dir.path().join("spool");
    let (receiver, address) = start_receiver(&spool_dir).await;
    let mut events = receiver.subscribe();
    // Three storescu processes at once, each on its own association.
    let chunks: Vec<Vec<PathBuf>> = written
        .files
        .chunks(written.files.len().div_ceil(3))
        .map(<[PathBuf]>::to_vec)
        .collect();
    let senders: Vec<_> = chunks
        .into_iter()
        .map(|files| {
            let address = address.clone();
            tokio::task::spawn_blocking(move || dcmtk::storescu(&address, "STORESCU", &files))
        })
        .collect();
    for s in senders {
        s.await.unwrap().unwrap();
    }
    let received = collect(&mut events, written.files.len(), Duration::from_secs(60)).await;
    let by_uid: BTreeMap<&str, &ReceivedInstance> = received
        .iter()
        .map(|r| (r.sop_instance_uid.as_str(), r))
        .collect();
    assert_eq!(by_uid.len(), written.files.len());
    let folders: std::collections::BTreeSet<_> = received
        .iter()
        .map(|r| r.path.parent().unwrap().to_owned())
        .collect();
    assert_eq!(folders.len(), 3, "one spool folder per association");
    for file in &written.files {
        let original = Instance::from_part10(std::fs::read(file).unwrap()).unwrap();
        let got = by_uid[original.sop_instance_uid()];
        assert_eq!(got.calling_ae, "STORESCU");
        assert_eq!(got.move_originator_ae, None);
        assert_eq!(got.sop_class_uid, original.sop_class_uid());
        assert!(got.study_instance_uid.is_some() && got.series_instance_uid.is_some());
        assert_eq!(
            got.path.file_name().unwrap().to_str().unwrap(),
            format!("{}.dcm", original.sop_instance_uid())
        );
        // storescu re-encodes data sets (explicit-length sequences), so compare values here;
        // byte identity of what arrives is checked in receiver_abuse.rs with bytes we send.
        assert_eq!(got.transfer_syntax, original.transfer_syntax());
        assert_eq!(got.data_set_len, data_set(&got.path).len() as u64);
        assert_same_as_corpus(
            Instance::from_part10(std::fs::read(&got.path).unwrap()).unwrap(),
            &corpus,
        );
    }
    // Nothing half-written is left.
    assert_eq!(spool::scan(&spool_dir).unwrap().len(), written.files.len());
    assert_eq!(count_partial(&spool_dir), 0);
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orthanc_moves_a_study_into_the_receiver_with_move_originator() {
    let corpus = corpus("receiver-orthanc");
    let dir = tempfile::tempdir().unwrap();
    let (receiver, address) = start_receiver(dir.path()).await;
    let orthanc = Orthanc::builder()
        .modality("ADIT", address)
        .start()
        .unwrap();
    orthanc.upload_corpus(&corpus).unwrap();
    let mut events = receiver.subscribe();
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let want: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    let summary = adit_dimse::scu::move_with_message_id(
        &peer(orthanc.address()),
        &options(),
        QueryModel::StudyRoot,
        &retrieve_identifier(
            QueryLevel::Study,
            &[&format!("StudyInstanceUID={}", study.study_instance_uid)],
        ),
        RECEIVER_AE,
        Some(0x4242),
        CancellationToken::new(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(usize::from(summary.sub_operations.completed), want);
    let received = collect(&mut events, want, Duration::from_secs(30)).await;
    for r in &received {
        assert_eq!(r.calling_ae, "ORTHANC");
        assert_eq!(r.move_originator_ae.as_deref(), Some(CALLING));
        assert_eq!(r.move_originator_message_id, Some(0x4242));
        assert_eq!(
            r.study_instance_uid.as_deref(),
            Some(study.study_instance_uid.as_str())
        );
        assert_same_as_corpus(
            Instance::from_part10(std::fs::read(&r.path).unwrap()).unwrap(),
            &corpus,
        );
    }
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_echo_is_answered_and_unknown_callers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let options_ = ReceiverOptions::new(RECEIVER_AE, dir.path()).allow_only(["FRIEND"]);
    let receiver = Receiver::bind("127.0.0.1:0", options_).await.unwrap();
    let address = DicomAddress::loopback(RECEIVER_AE, receiver.local_addr().port());
    let friend = adit_dimse::DimseOptions {
        calling_ae_title: "FRIEND".into(),
        ..options()
    };
    adit_dimse::scu::echo(&peer(&address), &friend)
        .await
        .unwrap();
    dcmtk::echoscu(&address, "FRIEND").unwrap();
    let e = adit_dimse::scu::echo(&peer(&address), &options())
        .await
        .unwrap_err();
    assert!(matches!(e, adit_dimse::Error::Rejected { .. }), "{e}");
    receiver.shutdown().await;
}

fn count_partial(root: &Path) -> usize {
    walk(root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == spool::PARTIAL_EXTENSION))
        .count()
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
