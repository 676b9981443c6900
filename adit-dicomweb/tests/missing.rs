//! A WADO-RS response that delivers fewer instances than QIDO-RS counted: the transfer report
//! names each missing SOP Instance UID, or counts them when they cannot be listed. The server
//! is a tiny HTTP server on loopback that answers series-level QIDO-RS with a count,
//! instance-level QIDO-RS with all instances of a corpus series, and WADO-RS with some.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use adit_core::engine::{OutcomeStatus, TransferOptions, TransferReport, TransferStatus, transfer};
use adit_core::folder::{FolderLayout, FolderSink};
use adit_core::instance::Instance;
use adit_core::source::{Expected, Selection};
use adit_dicomweb::codec::multipart::{MultipartWriter, Part};
use adit_dicomweb::{ClientConfig, DicomWebClient, DicomWebSource};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use tokio::net::TcpListener;

/// What the scripted server answers.
#[derive(Clone)]
struct Script {
    /// Series-level QIDO-RS (a path ending in `/series`).
    series: String,
    /// Instance-level QIDO-RS (a path containing `/instances`); `None` answers 500.
    instances: Option<String>,
    /// WADO-RS (every other path), a multipart body.
    wado: Vec<u8>,
    boundary: String,
}

/// Serves `script` on loopback; returns the DICOMweb root and the request paths seen.
async fn serve(script: Script) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/dicom-web", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let head = common::read_head(&mut socket).await;
            let path = common::target(&head)
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            log.lock().unwrap().push(path.clone());
            let json = "application/dicom+json".to_owned();
            let (status, content_type, body) = if path.contains("/instances") {
                match &script.instances {
                    Some(qido) => ("200 OK", json, qido.as_bytes().to_vec()),
                    None => ("500 Internal Server Error", json, b"[]".to_vec()),
                }
            } else if path.ends_with("/series") {
                ("200 OK", json, script.series.as_bytes().to_vec())
            } else {
                (
                    "200 OK",
                    format!(
                        "multipart/related; type=\"application/dicom\"; boundary={}",
                        script.boundary
                    ),
                    script.wado.clone(),
                )
            };
            common::respond(&mut socket, status, &content_type, &body).await;
        }
    });
    (root, seen)
}

/// A study of one series with four instances, its UIDs sorted, and the answers of a server
/// whose WADO-RS leaves out the instances at `left_out` (indexes into the sorted UIDs) and
/// whose series-level QIDO-RS gives `count` as NumberOfSeriesRelatedInstances.
struct Study {
    study_uid: String,
    uids: Vec<String>,
    script: Script,
}

fn study(name: &str, left_out: &[usize], count: Option<u32>) -> Study {
    let corpus = Corpus::new(
        CorpusSpec::new(name)
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(1)
            .instances_per_series(4)
            .image_size(16, 16),
    );
    let study = &corpus.manifest().patients[0].studies[0];
    let study_uid = study.study_instance_uid.clone();
    let series_uid = study.series[0].series_instance_uid.clone();
    let mut uids: Vec<String> = study.series[0].sop_instance_uids.clone();
    uids.sort();
    let instances = serde_json::to_string(
        &uids
            .iter()
            .map(|uid| {
                serde_json::json!({
                    "0020000D": {"vr": "UI", "Value": [study_uid]},
                    "0020000E": {"vr": "UI", "Value": [series_uid]},
                    "00080018": {"vr": "UI", "Value": [uid]},
                })
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut series = serde_json::json!({
        "0020000D": {"vr": "UI", "Value": [study_uid]},
        "0020000E": {"vr": "UI", "Value": [series_uid]},
    });
    if let Some(count) = count {
        series["00201209"] = serde_json::json!({"vr": "IS", "Value": [count]});
    }
    let series = serde_json::to_string(&[series]).unwrap();
    let left_out: Vec<&String> = left_out.iter().map(|&i| &uids[i]).collect();
    let writer = MultipartWriter::new();
    let parts: Vec<Part> = corpus
        .study_instances(&study_uid)
        .map(|g| g.to_part10().unwrap())
        .filter(|bytes| {
            let uid = Instance::from_part10(bytes.clone()).unwrap();
            !left_out.iter().any(|m| *m == uid.sop_instance_uid())
        })
        .map(|bytes| Part::new("application/dicom", bytes))
        .collect();
    Study {
        study_uid,
        uids: uids.clone(),
        script: Script {
            series,
            instances: Some(instances),
            wado: writer.encode_to_vec(&parts),
            boundary: writer.boundary().to_owned(),
        },
    }
}

/// Transfers the whole study from `root` into a temporary folder.
async fn transfer_study(root: &str, study_uid: &str) -> TransferReport {
    let source = DicomWebSource::new(
        "SCRIPTED",
        DicomWebClient::new(ClientConfig::new(root)).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let sink = FolderSink::new(dir.path(), FolderLayout::default());
    transfer(
        &source,
        &Selection::study(None, study_uid),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap()
}

/// The Missing outcomes: their SOP Instance UIDs (sorted) and reasons.
fn missing(report: &TransferReport) -> (Vec<Option<String>>, Vec<String>) {
    let mut missing: Vec<(Option<String>, String)> = report
        .outcomes
        .iter()
        .filter_map(|o| match &o.status {
            OutcomeStatus::Missing { reason } => Some((o.sop_instance_uid.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    missing.sort();
    missing.into_iter().unzip()
}

fn expected(instances: u64) -> Option<Expected> {
    Some(Expected {
        instances,
        bytes: None,
    })
}

fn listings(seen: &Mutex<Vec<String>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|p| p.contains("/instances"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_complete_retrieve_asks_only_for_counts() {
    let study = study("dicomweb-counted", &[], Some(4));
    let (root, seen) = serve(study.script).await;
    let report = transfer_study(&root, &study.study_uid).await;
    assert_eq!(report.expected, expected(4));
    assert_eq!(report.counts.stored, 4);
    assert_eq!(report.status(), TransferStatus::Success);
    assert_eq!(listings(&seen), 0, "{:?}", seen.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_counted_but_not_delivered_are_listed_then_reported_missing_by_uid() {
    let study = study("dicomweb-missing", &[1, 3], Some(4));
    let (root, seen) = serve(study.script).await;
    let report = transfer_study(&root, &study.study_uid).await;
    assert_eq!(report.expected, expected(4));
    assert_eq!(report.counts.stored, 2);
    assert_eq!(report.counts.missing, 2);
    assert_eq!(report.status(), TransferStatus::Warning);
    let (uids, reasons) = missing(&report);
    for reason in &reasons {
        assert!(reason.contains("not delivered by WADO-RS"), "{reason}");
        assert!(reason.contains(&root), "{reason}");
    }
    let want = [&study.uids[1], &study.uids[3]].map(|u| Some(u.clone()));
    assert_eq!(uids, want);
    // Listed once, after WADO-RS: the path of the last request.
    assert_eq!(listings(&seen), 1);
    assert!(seen.lock().unwrap().last().unwrap().contains("/instances"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_listing_reports_the_shortfall_as_unnamed_missing_items() {
    let mut study = study("dicomweb-unlisted", &[0, 1, 2], Some(4));
    study.script.instances = None;
    let (root, _) = serve(study.script).await;
    let report = transfer_study(&root, &study.study_uid).await;
    assert_eq!(report.expected, expected(4));
    assert_eq!(report.counts.stored, 1);
    assert_eq!(report.counts.missing, 3);
    assert_eq!(report.status(), TransferStatus::Warning);
    let (uids, reasons) = missing(&report);
    assert_eq!(uids, [None, None, None]);
    for reason in &reasons {
        assert!(
            reason.contains("3 of 4 instances counted by QIDO-RS"),
            "{reason}"
        );
        assert!(reason.contains(&root), "{reason}");
        assert!(reason.contains("500"), "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_counts_the_instances_are_listed_before_the_retrieve() {
    let study = study("dicomweb-uncounted", &[2], None);
    let (root, seen) = serve(study.script).await;
    let report = transfer_study(&root, &study.study_uid).await;
    assert_eq!(report.expected, expected(4));
    assert_eq!(report.counts.stored, 3);
    let (uids, _) = missing(&report);
    assert_eq!(uids, [Some(study.uids[2].clone())]);
    assert_eq!(listings(&seen), 1);
    // Series counts, then the listing, then WADO-RS.
    let seen = seen.lock().unwrap();
    assert!(seen[1].contains("/instances"), "{seen:?}");
}
