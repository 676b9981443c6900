//! `DimseSource` and `DimseSink` through the adit-core transfer engine, Orthanc to Orthanc.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::num::NonZeroU16;

use adit_core::engine::{TransferOptions, TransferStatus, transfer};
use adit_core::model::{AeTitle, DimseCapabilities, DimseServer, Query, QueryLevel};
use adit_core::source::{Selection, Source};
use adit_dimse::{DimseSink, DimseSource};
use adit_testkit::{DicomAddress, Orthanc};
use common::*;
use futures::StreamExt;

fn server(address: &DicomAddress, capabilities: DimseCapabilities) -> DimseServer {
    let mut server = DimseServer::new(
        AeTitle::new(&address.ae_title).unwrap(),
        address.host.clone(),
        address.port.try_into().unwrap(),
    )
    .with_capabilities(capabilities);
    server.max_associations = NonZeroU16::new(4).unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_a_study_from_orthanc_to_orthanc_over_parallel_associations() {
    let corpus = corpus("dimse-transfer");
    let from = orthanc_with(&corpus);
    let to = Orthanc::start("TARGET").unwrap();
    let source = DimseSource::new(
        "SOURCE",
        server(from.address(), DimseCapabilities::all()),
        options(),
    );
    let sink = DimseSink::new(
        "TARGET",
        &server(to.address(), DimseCapabilities::all()),
        options(),
        3,
    );
    let (patient, study) = corpus.manifest().studies().nth(1).unwrap();
    let report = transfer(
        &source,
        &Selection::study(Some(&patient.patient_id), &study.study_instance_uid),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.status(), TransferStatus::Success, "{report:?}");
    let want: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    assert_eq!(report.counts.stored as usize, want);
    assert_eq!(to.counts().unwrap().instances as usize, want);
    for uid in study.series.iter().flat_map(|s| &s.sop_instance_uids) {
        let file = to
            .instance_file(uid)
            .unwrap()
            .expect("stored in the target");
        assert_same_as_corpus(
            adit_core::instance::Instance::from_part10(file).unwrap(),
            &corpus,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_emulates_patient_level_on_study_root_only_peers() {
    let corpus = corpus("dimse-emulate");
    let orthanc = orthanc_with(&corpus);
    let study_root_only = DimseCapabilities {
        study_root_find: true,
        study_root_get: true,
        ..DimseCapabilities::default()
    };
    let source = DimseSource::new(
        "ORTHANC",
        server(orthanc.address(), study_root_only),
        options(),
    );
    let query = Query::parse(QueryLevel::Patient, ["PatientName=*"]).unwrap();
    let results: Vec<_> = source.find(&query).await.unwrap().collect().await;
    let ids: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap().patient_id().unwrap())
        .collect();
    let want: BTreeSet<String> = corpus
        .manifest()
        .patients
        .iter()
        .map(|p| p.patient_id.clone())
        .collect();
    assert_eq!(ids.len(), want.len(), "one result per patient: {ids:?}");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), want);

    // A limit counts results after de-duplication.
    let mut limited = Query::parse(QueryLevel::Patient, ["PatientName=*"]).unwrap();
    limited.set_limit(Some(2));
    let results: Vec<_> = source.find(&limited).await.unwrap().collect().await;
    assert_eq!(results.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_only_node_says_the_receiver_is_missing() {
    let orthanc = Orthanc::start("ORTHANC").unwrap();
    let move_only = DimseCapabilities {
        study_root_move: true,
        ..DimseCapabilities::default()
    };
    let source = DimseSource::new("ORTHANC", server(orthanc.address(), move_only), options());
    let e = source
        .retrieve(
            &Selection::study(None, "1.2.3"),
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, adit_core::Error::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("receiver"), "{e}");
}
