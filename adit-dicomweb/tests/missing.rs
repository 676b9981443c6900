//! A WADO-RS response that delivers fewer instances than QIDO-RS listed: the transfer report
//! names each missing SOP Instance UID. The server is a tiny HTTP server on loopback that
//! answers QIDO-RS with all instances of a corpus series and WADO-RS with all but one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adit_core::engine::{OutcomeStatus, TransferOptions, TransferStatus, transfer};
use adit_core::folder::{FolderLayout, FolderSink};
use adit_core::instance::Instance;
use adit_core::source::{Expected, Selection};
use adit_dicomweb::codec::multipart::{MultipartWriter, Part};
use adit_dicomweb::{ClientConfig, DicomWebClient, DicomWebSource};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `qido` for paths containing `/instances` and `wado` (a multipart body) otherwise.
async fn serve(qido: String, wado: Vec<u8>, boundary: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/dicom-web", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            let request_line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            let (content_type, body) = if request_line.contains("/instances") {
                (
                    "application/dicom+json".to_owned(),
                    qido.as_bytes().to_vec(),
                )
            } else {
                (
                    format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
                    wado.clone(),
                )
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        }
    });
    root
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_listed_by_qido_but_not_delivered_by_wado_are_reported_missing() {
    let corpus = Corpus::new(
        CorpusSpec::new("dicomweb-missing")
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
    let qido = serde_json::to_string(
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
    // WADO-RS leaves out the second and the fourth instance.
    let missing = [uids[1].clone(), uids[3].clone()];
    let writer = MultipartWriter::new();
    let parts: Vec<Part> = corpus
        .study_instances(&study_uid)
        .map(|g| g.to_part10().unwrap())
        .filter(|bytes| {
            let uid = Instance::from_part10(bytes.clone()).unwrap();
            !missing.iter().any(|m| m == uid.sop_instance_uid())
        })
        .map(|bytes| Part::new("application/dicom", bytes))
        .collect();
    assert_eq!(parts.len(), 2);
    let root = serve(
        qido,
        writer.encode_to_vec(&parts),
        writer.boundary().to_owned(),
    )
    .await;

    let source = DicomWebSource::new(
        "SCRIPTED",
        DicomWebClient::new(ClientConfig::new(&root)).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let sink = FolderSink::new(dir.path(), FolderLayout::default());
    let report = transfer(
        &source,
        &Selection::study(None, &study_uid),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.expected,
        Some(Expected {
            instances: 4,
            bytes: None
        })
    );
    assert_eq!(report.counts.stored, 2);
    assert_eq!(report.counts.missing, 2);
    assert_eq!(report.status(), TransferStatus::Warning);
    let mut reported: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|o| match &o.status {
            OutcomeStatus::Missing { reason } => {
                assert!(reason.contains("not delivered by WADO-RS"), "{reason}");
                assert!(reason.contains(&root), "{reason}");
                o.sop_instance_uid.clone()
            }
            _ => None,
        })
        .collect();
    reported.sort();
    assert_eq!(reported, missing);
}
