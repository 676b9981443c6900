//! The folder source and sink on the shared synthetic corpus (images with pixel data).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use adit_core::engine::{OutcomeStatus, TransferOptions, transfer};
use adit_core::folder::{FolderLayout, FolderSink, FolderSource};
use adit_core::instance::Instance;
use adit_core::model::{Query, QueryLevel};
use adit_core::source::{Selection, Source};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use futures::StreamExt;

fn corpus() -> Corpus {
    Corpus::new(
        CorpusSpec::new("adit-core-folder")
            .patients(1)
            .studies_per_patient(2)
            .series_per_study(2)
            .instances_per_series(3)
            .image_size(64, 64),
    )
}

/// SOP Instance UID → data set bytes of every DICOM file below `root`.
fn datasets(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(instance) = Instance::from_part10(fs::read(&path).unwrap()) {
                out.insert(
                    instance.sop_instance_uid().to_owned(),
                    instance.dataset_bytes().unwrap().to_vec(),
                );
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_the_corpus_studies() {
    let corpus = corpus();
    let dir = tempfile::tempdir().unwrap();
    corpus.write_to(dir.path()).unwrap();
    let source = FolderSource::new(dir.path());
    let results: Vec<_> = source
        .find(&Query::new(QueryLevel::Study))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    let manifest = corpus.manifest();
    assert_eq!(results.len(), manifest.studies().count());
    for (patient, study) in manifest.studies() {
        let found = results
            .iter()
            .find(|r| r.study_instance_uid().as_deref() == Some(&study.study_instance_uid))
            .unwrap();
        assert_eq!(
            found.patient_id().as_deref(),
            Some(patient.patient_id.as_str())
        );
        assert_eq!(
            found.accession_number().as_deref(),
            Some(study.accession_number.as_str())
        );
        assert_eq!(found.modalities(), std::slice::from_ref(&study.modality));
        assert_eq!(found.number_of_study_related_instances(), Some(6));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_a_corpus_study_without_changing_a_byte() {
    let corpus = corpus();
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    corpus.write_to(input.path()).unwrap();
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let report = transfer(
        &FolderSource::new(input.path()),
        &Selection::study(Some(&patient.patient_id), &study.study_instance_uid),
        &[],
        &FolderSink::new(output.path(), FolderLayout::new()),
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.stored, 6, "{report}");
    // manifest.json is not DICOM: reported, not silently ignored.
    assert!(report.outcomes.iter().any(|o| matches!(
        &o.status,
        OutcomeStatus::Skipped { what, .. } if what.ends_with("manifest.json")
    )));
    let written = datasets(output.path());
    let original = datasets(input.path());
    assert_eq!(written.len(), 6);
    for (uid, bytes) in &written {
        assert_eq!(Some(bytes), original.get(uid), "data set of {uid} changed");
    }
    let expected: Vec<&str> = study
        .series
        .iter()
        .flat_map(|s| s.sop_instance_uids.iter().map(String::as_str))
        .collect();
    let mut got: Vec<&str> = written.keys().map(String::as_str).collect();
    let mut expected_sorted = expected.clone();
    got.sort_unstable();
    expected_sorted.sort_unstable();
    assert_eq!(got, expected_sorted);
}
