//! adit-dicomweb against Orthanc's DICOMweb plugin: QIDO, WADO, STOW, Source and Sink.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use adit_core::engine::{OutcomeStatus, TransferOptions, TransferStatus, transfer};
use adit_core::folder::{FolderLayout, FolderSink};
use adit_core::instance::Instance;
use adit_core::model::{Query, QueryLevel};
use adit_core::sink::StoreOutcome;
use adit_core::source::{Retrieved, Selection, Source};
use adit_dicomweb::client::{StowBatch, WadoTarget};
use adit_dicomweb::{ClientConfig, DicomWebClient, DicomWebSink, DicomWebSource, RetryPolicy};
use adit_testkit::Orthanc;
use adit_testkit::corpus::{Corpus, CorpusSpec};
use dicom_dictionary_std::tags;
use futures::{StreamExt, TryStreamExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn client(orthanc: &Orthanc, configure: impl FnOnce(&mut ClientConfig)) -> DicomWebClient {
    let mut config = ClientConfig::new(orthanc.dicomweb_root());
    configure(&mut config);
    DicomWebClient::new(config).unwrap()
}

async fn search(client: &DicomWebClient, query: Query) -> Vec<adit_core::model::QueryResult> {
    client
        .search(&query)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

fn uids(results: &[adit_core::model::QueryResult], tag: dicom_core::Tag) -> BTreeSet<String> {
    results.iter().filter_map(|r| r.string(tag)).collect()
}

/// The corpus' instances of one study as Instances, by SOP Instance UID.
fn corpus_study(corpus: &Corpus, study: &str) -> BTreeMap<String, Instance> {
    corpus
        .study_instances(study)
        .map(|g| {
            let i = Instance::from_part10(g.to_part10().unwrap()).unwrap();
            (i.sop_instance_uid().to_owned(), i)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn qido_at_all_levels_with_filters_and_paging() {
    let orthanc = Orthanc::start("QIDO").unwrap();
    let corpus = Corpus::new(CorpusSpec::new("dicomweb-qido"));
    orthanc.upload_corpus(&corpus).unwrap();
    let manifest = corpus.manifest();
    let client = client(&orthanc, |_| {});

    // STUDY by PatientID, with an includefield that is not a default attribute.
    let patient = &manifest.patients[0];
    let q = Query::builder(QueryLevel::Study)
        .key("PatientID", &patient.patient_id)
        .return_key("StudyDescription")
        .return_key("StudyInstanceUID")
        .build()
        .unwrap();
    let studies = search(&client, q).await;
    let expected: BTreeSet<String> = patient
        .studies
        .iter()
        .map(|s| s.study_instance_uid.clone())
        .collect();
    assert_eq!(uids(&studies, tags::STUDY_INSTANCE_UID), expected);
    for r in &studies {
        let (_, entry) = manifest
            .study(&r.study_instance_uid().unwrap())
            .expect("a corpus study");
        assert_eq!(
            r.study_description().as_deref(),
            Some(entry.description.as_str())
        );
        assert_eq!(r.level(), Some(QueryLevel::Study));
    }

    // STUDY by date range and by modality.
    let dates: Vec<&str> = manifest
        .studies()
        .map(|(_, s)| s.study_date.as_str())
        .collect();
    let from = dates.iter().min().unwrap();
    let q = Query::parse(
        QueryLevel::Study,
        [
            format!("StudyDate={from}-{from}"),
            "StudyInstanceUID".into(),
        ],
    )
    .unwrap();
    let in_range = manifest
        .studies()
        .filter(|(_, s)| s.study_date == *from)
        .count();
    assert_eq!(search(&client, q).await.len(), in_range);
    let q = Query::parse(
        QueryLevel::Study,
        ["ModalitiesInStudy=MR", "StudyInstanceUID"],
    )
    .unwrap();
    let mr = manifest
        .studies()
        .filter(|(_, s)| s.modality == "MR")
        .count();
    assert!(mr > 0);
    assert_eq!(search(&client, q).await.len(), mr);

    // SERIES of one study, all and filtered by modality.
    let (_, study) = manifest.studies().next().unwrap();
    let q = Query::parse(
        QueryLevel::Series,
        [
            format!("StudyInstanceUID={}", study.study_instance_uid),
            "SeriesInstanceUID".into(),
        ],
    )
    .unwrap();
    let series = search(&client, q).await;
    let expected: BTreeSet<String> = study
        .series
        .iter()
        .map(|s| s.series_instance_uid.clone())
        .collect();
    assert_eq!(uids(&series, tags::SERIES_INSTANCE_UID), expected);
    let other = if study.modality == "CT" { "MR" } else { "CT" };
    let q = Query::parse(
        QueryLevel::Series,
        [
            format!("StudyInstanceUID={}", study.study_instance_uid),
            format!("Modality={other}"),
        ],
    )
    .unwrap();
    assert!(search(&client, q).await.is_empty());

    // IMAGE of one series.
    let se = &study.series[1];
    let q = Query::parse(
        QueryLevel::Image,
        [
            format!("StudyInstanceUID={}", study.study_instance_uid),
            format!("SeriesInstanceUID={}", se.series_instance_uid),
            "SOPInstanceUID".into(),
        ],
    )
    .unwrap();
    let images = search(&client, q).await;
    let expected: BTreeSet<String> = se.sop_instance_uids.iter().cloned().collect();
    assert_eq!(uids(&images, tags::SOP_INSTANCE_UID), expected);

    // Paging: pages of 2 deliver every instance of the study once; a limit caps the total.
    let paged = client_with_pages(&orthanc, 2);
    let q = Query::parse(
        QueryLevel::Image,
        [
            format!("StudyInstanceUID={}", study.study_instance_uid),
            "SOPInstanceUID".into(),
        ],
    )
    .unwrap();
    let all = search(&paged, q.clone()).await;
    let expected: BTreeSet<String> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.iter().cloned())
        .collect();
    assert_eq!(all.len(), expected.len(), "no duplicates across pages");
    assert_eq!(uids(&all, tags::SOP_INSTANCE_UID), expected);
    let mut limited = q;
    limited.set_limit(Some(5));
    assert_eq!(search(&paged, limited).await.len(), 5);

    // PATIENT level is emulated over studies and de-duplicated.
    let patients = search(
        &client,
        Query::parse(QueryLevel::Patient, ["PatientID"]).unwrap(),
    )
    .await;
    let expected: BTreeSet<String> = manifest
        .patients
        .iter()
        .map(|p| p.patient_id.clone())
        .collect();
    assert_eq!(patients.len(), expected.len());
    assert_eq!(uids(&patients, tags::PATIENT_ID), expected);
}

fn client_with_pages(orthanc: &Orthanc, page: u32) -> DicomWebClient {
    client(orthanc, |c| c.page_size = Some(page))
}

#[tokio::test(flavor = "multi_thread")]
async fn wado_of_a_multi_series_study_equals_the_corpus_data_sets() {
    let orthanc = Orthanc::start("WADO").unwrap();
    let corpus = Corpus::new(CorpusSpec::new("dicomweb-wado").patients(1));
    orthanc.upload_corpus(&corpus).unwrap();
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let expected = corpus_study(&corpus, &study.study_instance_uid);
    assert!(study.series.len() > 1);
    let client = client(&orthanc, |_| {});

    let target = WadoTarget::Study {
        study: study.study_instance_uid.clone(),
    };
    let got: Vec<Instance> = client
        .retrieve(&target)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), expected.len());
    for instance in &got {
        let original = &expected[instance.sop_instance_uid()];
        assert_eq!(instance.transfer_syntax(), original.transfer_syntax());
        let (a, b) = (
            instance.dataset_bytes().unwrap(),
            original.dataset_bytes().unwrap(),
        );
        if a != b {
            panic!(
                "{}: data sets differ in {:?}",
                instance.sop_instance_uid(),
                differing_tags(&mut instance.clone(), &mut original.clone())
            );
        }
    }

    // One series and one instance.
    let se = &study.series[2];
    let series: Vec<Instance> = client
        .retrieve(&WadoTarget::Series {
            study: study.study_instance_uid.clone(),
            series: se.series_instance_uid.clone(),
        })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let got: BTreeSet<&str> = series.iter().map(Instance::sop_instance_uid).collect();
    let want: BTreeSet<&str> = se.sop_instance_uids.iter().map(String::as_str).collect();
    assert_eq!(got, want);

    // Metadata: one data set per instance, no inline pixel data needed to identify them.
    let meta = client.metadata(&target).await.unwrap();
    let got: BTreeSet<String> = meta
        .iter()
        .map(|d| {
            d.object
                .element(tags::SOP_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0')
                .to_owned()
        })
        .collect();
    assert_eq!(got, expected.keys().cloned().collect());

    // An unknown study is a 404, not retriable.
    let err = client
        .retrieve(&WadoTarget::Study {
            study: "1.2.3.4.5.6".into(),
        })
        .await
        .err()
        .expect("an error");
    assert!(!err.is_retriable(), "{err}");
    assert!(err.to_string().contains("404"), "{err}");
}

fn differing_tags(a: &mut Instance, b: &mut Instance) -> Vec<String> {
    let a = a.object().unwrap().clone();
    let b = b.object().unwrap().clone();
    let mut diffs = Vec::new();
    for e in b.iter() {
        let tag = e.header().tag;
        match a.element(tag) {
            Ok(x) if x.to_bytes().ok() == e.to_bytes().ok() => {}
            _ => diffs.push(format!("{tag}")),
        }
    }
    diffs
}

#[tokio::test(flavor = "multi_thread")]
async fn stow_in_batches_then_qido_finds_the_study() {
    let orthanc = Orthanc::start("STOW").unwrap();
    let corpus = Corpus::new(CorpusSpec::new("dicomweb-stow").patients(1));
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let instances: Vec<Instance> = corpus_study(&corpus, &study.study_instance_uid)
        .into_values()
        .collect();
    let n = instances.len();
    let client = client(&orthanc, |c| {
        c.stow_batch = StowBatch {
            max_instances: 4,
            max_bytes: 64 << 20,
        }
    });
    let response = client.store(None, instances).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.outcomes.len(), n);
    assert!(
        response
            .outcomes
            .iter()
            .all(|(_, o)| *o == StoreOutcome::Stored),
        "{response:?}"
    );

    let q = Query::parse(
        QueryLevel::Study,
        [
            format!("StudyInstanceUID={}", study.study_instance_uid),
            "NumberOfStudyRelatedInstances".into(),
        ],
    )
    .unwrap();
    let found = search(&client, q).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].number_of_study_related_instances(), Some(n as i64));
    assert_eq!(orthanc.counts().unwrap().instances, n as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn stow_batch_reports_the_one_instance_orthanc_rejects() {
    let orthanc = Orthanc::start("STOWREJ").unwrap();
    let corpus = Corpus::new(CorpusSpec::new("dicomweb-reject").patients(1));
    let mut studies = corpus.manifest().studies();
    let (_, a) = studies.next().unwrap();
    let (_, b) = studies.next().unwrap();
    let mut batch: Vec<Instance> = corpus_study(&corpus, &a.study_instance_uid)
        .into_values()
        .take(4)
        .collect();
    let intruder = corpus_study(&corpus, &b.study_instance_uid)
        .into_values()
        .next()
        .unwrap();
    let intruder_uid = intruder.sop_instance_uid().to_owned();
    batch.insert(2, intruder);
    let client = client(&orthanc, |_| {});

    // Posted to study A's resource: Orthanc must refuse the instance of study B.
    let response = client
        .store_batch(Some(&a.study_instance_uid), &batch)
        .await
        .unwrap();
    assert_eq!(response.outcomes.len(), 5);
    for (uid, outcome) in &response.outcomes {
        if *uid == intruder_uid {
            assert!(
                matches!(outcome, StoreOutcome::Failed(r) if r.contains("0x0110")),
                "{outcome:?}"
            );
            assert_eq!(orthanc.instance_id(uid).unwrap(), None);
        } else {
            assert_eq!(*outcome, StoreOutcome::Stored, "{uid}");
            assert!(orthanc.instance_id(uid).unwrap().is_some(), "{uid} stored");
        }
    }
    assert_eq!(response.stored(), 4);
    assert_eq!(orthanc.counts().unwrap().instances, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn source_to_sink_transfer_between_two_orthancs() {
    let from = Orthanc::start("WEBSRC").unwrap();
    let to = Orthanc::start("WEBDST").unwrap();
    let corpus = Corpus::new(CorpusSpec::new("dicomweb-transfer").patients(1));
    from.upload_corpus(&corpus).unwrap();
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let expected = corpus_study(&corpus, &study.study_instance_uid);

    let source = DicomWebSource::new("WEBSRC", client(&from, |_| {}));
    let sink = DicomWebSink::new(
        "WEBDST",
        client(&to, |c| {
            c.stow_batch = StowBatch {
                max_instances: 6,
                max_bytes: 64 << 20,
            }
        }),
    );

    // Source find goes through QIDO.
    let q = Query::parse(
        QueryLevel::Study,
        [format!("PatientID={}", patient.patient_id)],
    )
    .unwrap();
    let found: Vec<_> = source.find(&q).await.unwrap().try_collect().await.unwrap();
    assert_eq!(found.len(), patient.studies.len());

    let selection = Selection::study(Some(&patient.patient_id), &study.study_instance_uid);
    let report = transfer(&source, &selection, &[], &sink, TransferOptions::default())
        .await
        .unwrap();
    assert_eq!(
        report.status(),
        TransferStatus::Success,
        "{:?}",
        report.error
    );
    assert_eq!(report.counts.stored, expected.len() as u64);
    for (uid, original) in &expected {
        let stored = to
            .instance_file(uid)
            .unwrap()
            .expect("stored in the destination");
        let stored = Instance::from_part10(stored).unwrap();
        assert_eq!(
            stored.dataset_bytes().unwrap(),
            original.dataset_bytes().unwrap(),
            "{uid}"
        );
    }

    // A series selection delivers exactly those series.
    let chosen = [&study.series[0], &study.series[2]];
    let selection = Selection::series(
        None,
        &study.study_instance_uid,
        chosen.iter().map(|s| s.series_instance_uid.clone()),
    );
    let retrieved = source
        .retrieve(&selection, CancellationToken::new())
        .await
        .unwrap();
    let items: Vec<_> = retrieved.items.try_collect().await.unwrap();
    let want: usize = chosen.iter().map(|s| s.sop_instance_uids.len()).sum();
    assert_eq!(items.len(), want);
    assert!(items.iter().all(|i| matches!(i, Retrieved::Instance(_))));

    // Cancellation ends the stream with Cancelled.
    let cancel = CancellationToken::new();
    let mut stream = source
        .retrieve(
            &Selection::study(None, &study.study_instance_uid),
            cancel.clone(),
        )
        .await
        .unwrap()
        .items;
    assert!(matches!(
        stream.next().await,
        Some(Ok(Retrieved::Instance(_)))
    ));
    cancel.cancel();
    assert!(matches!(
        stream.next().await,
        Some(Err(adit_core::Error::Cancelled))
    ));
    assert!(stream.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_is_a_retriable_peer_error_after_retries() {
    let port = adit_testkit::free_port().unwrap();
    let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}/dicom-web"));
    config.retry = RetryPolicy {
        max_attempts: 2,
        initial_backoff: std::time::Duration::from_millis(10),
        max_backoff: std::time::Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let client = DicomWebClient::new(config).unwrap();
    let err = client
        .search(&Query::new(QueryLevel::Study))
        .await
        .err()
        .expect("nothing listens");
    assert!(err.is_retriable(), "{err}");
    let core: adit_core::Error = err.into();
    assert!(core.is_retriable());
    assert!(
        core.to_string().contains(&format!("127.0.0.1:{port}")),
        "{core}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn source_retrieve_expects_the_counted_instances_and_delivers_each_once() {
    let orthanc = Orthanc::start("WEBCOUNT").unwrap();
    let corpus = Corpus::new(CorpusSpec::new("dicomweb-count").patients(1));
    orthanc.upload_corpus(&corpus).unwrap();
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let want: BTreeSet<String> = corpus_study(&corpus, &study.study_instance_uid)
        .into_keys()
        .collect();
    let client = client(&orthanc, |_| {});

    // Orthanc answers the series-level count the retrieve relies on.
    let series = search(
        &client,
        Query::builder(QueryLevel::Series)
            .key("StudyInstanceUID", &study.study_instance_uid)
            .return_key("NumberOfSeriesRelatedInstances")
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(series.len(), study.series.len());
    for s in &series {
        assert!(s.number_of_series_related_instances().is_some(), "{s:?}");
    }

    let source = DicomWebSource::new("WEBCOUNT", client);
    let selection = Selection::study(None, &study.study_instance_uid);
    let retrieved = source
        .retrieve(&selection, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        retrieved.expected.map(|e| e.instances),
        Some(want.len() as u64)
    );
    let items: Vec<_> = retrieved.items.try_collect().await.unwrap();
    let got: Vec<String> = items
        .iter()
        .map(|i| match i {
            Retrieved::Instance(i) => i.sop_instance_uid().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got.len(), want.len(), "every instance exactly once");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);

    // A series selection expects that series' count.
    let series = &study.series[1];
    let retrieved = source
        .retrieve(
            &Selection::series(
                None,
                &study.study_instance_uid,
                [series.series_instance_uid.clone()],
            ),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        retrieved.expected.map(|e| e.instances),
        Some(series.sop_instance_uids.len() as u64)
    );
    assert_eq!(
        retrieved.items.try_collect::<Vec<_>>().await.unwrap().len(),
        series.sop_instance_uids.len()
    );
}

/// Forwards GET requests to `orthanc_url`; after passing on the first series-level QIDO-RS
/// answer, deletes Orthanc's instance `delete` by REST, so that the counts are taken before
/// and the retrieve runs after the deletion.
async fn deleting_proxy(orthanc_url: String, delete: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/dicom-web", listener.local_addr().unwrap());
    let http = reqwest::Client::new();
    tokio::spawn(async move {
        let mut deleted = false;
        while let Ok((mut socket, _)) = listener.accept().await {
            let head = common::read_head(&mut socket).await;
            let target = common::target(&head).to_owned();
            let accept = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("accept:")
                        .then(|| l[7..].trim().to_owned())
                })
                .unwrap_or_default();
            let response = http
                .get(format!("{orthanc_url}{target}"))
                .header("Accept", accept)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let body = response.bytes().await.unwrap();
            if !deleted && target.split('?').next().unwrap().ends_with("/series") {
                deleted = true;
                http.delete(format!("{orthanc_url}/instances/{delete}"))
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap();
            }
            common::respond(&mut socket, &status.to_string(), &content_type, &body).await;
        }
    });
    root
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_deleted_after_the_counts_is_reported_missing() {
    let orthanc = Orthanc::start("WEBDEL").unwrap();
    let corpus = Corpus::new(CorpusSpec::new("dicomweb-deleted").patients(1));
    orthanc.upload_corpus(&corpus).unwrap();
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let total: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    let deleted = study.series[0].sop_instance_uids[0].clone();
    let id = orthanc.instance_id(&deleted).unwrap().unwrap();
    let root = deleting_proxy(orthanc.base_url().to_owned(), id).await;

    let source = DicomWebSource::new(
        "WEBDEL",
        DicomWebClient::new(ClientConfig::new(&root)).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let sink = FolderSink::new(dir.path(), FolderLayout::default());
    let selection = Selection::study(None, &study.study_instance_uid);
    let report = transfer(&source, &selection, &[], &sink, TransferOptions::default())
        .await
        .unwrap();
    assert_eq!(report.expected.map(|e| e.instances), Some(total as u64));
    assert_eq!(report.counts.stored, total as u64 - 1);
    assert_eq!(report.counts.missing, 1);
    assert_eq!(report.status(), TransferStatus::Warning);
    let missing = report
        .outcomes
        .iter()
        .find_map(|o| match &o.status {
            OutcomeStatus::Missing { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        missing.contains("neither delivered by WADO-RS nor listed"),
        "{missing}"
    );
}
