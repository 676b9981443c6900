//! Folder source, folder sink and ZIP sink on real temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adit_core::engine::{OutcomeStatus, TransferOptions, TransferStatus, transfer};
use adit_core::folder::{
    FolderLayout, FolderSink, FolderSource, INDEX_ENTRY, ZipCompression, ZipOptions, ZipSink,
};
use adit_core::instance::Instance;
use adit_core::model::{Query, QueryLevel};
use adit_core::sink::{Sink, StoreOutcome};
use adit_core::source::{Selection, Source};
use adit_core::transform::{ExcludeModalities, SetTags, Transform};
use common::Spec;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;

/// Every file below `dir`, relative, sorted, with `/` separators.
fn files(dir: &Path) -> Vec<String> {
    fn visit(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap();
                out.push(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        visit(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// A study of two series (CT 3 instances, SR 1 instance) of one patient, plus a second study.
fn write_tree(dir: &Path) -> Vec<Spec> {
    let mut specs = Vec::new();
    for n in 0..3 {
        specs.push(Spec::new(n));
    }
    specs.push(
        Spec::new(10)
            .modality("SR")
            .series("2.25.100.2", Some(2), Some("Befund")),
    );
    specs.push(Spec::new(20).study("2.25.200").patient("SYN-0002").series(
        "2.25.200.1",
        Some(1),
        Some("t2_tse_tra"),
    ));
    for (i, spec) in specs.iter().enumerate() {
        let sub = dir.join(format!("p{}/s{}", i % 2, i));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("{i:03}.dcm")), spec.part10()).unwrap();
    }
    fs::write(dir.join("README.txt"), "not a DICOM file").unwrap();
    specs
}

async fn collect_find(source: &FolderSource, query: &Query) -> Vec<adit_core::model::QueryResult> {
    source
        .find(query)
        .await
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_sink_writes_adit_layout_byte_identical() {
    let out = tempfile::tempdir().unwrap();
    let layout = FolderLayout::new().with_job_dir("adit_selective_transfer_7_20250101_jdoe");
    let sink = FolderSink::new(out.path(), layout).with_durable(true);
    let spec = Spec::new(1).series("2.25.100.1", Some(3), Some("Kopf: nativ/5mm"));
    let input = spec.part10();
    let outcome = sink
        .store(Instance::from_part10(input.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(outcome, StoreOutcome::Stored);
    sink.finish().await.unwrap();
    assert_eq!(
        files(out.path()),
        [
            "adit_selective_transfer_7_20250101_jdoe/SYN-0001/20190604-182823-CT/3-Kopf_ nativ_5mm/2.25.100.1.1.dcm"
        ]
    );
    let written = fs::read(out.path().join(&files(out.path())[0])).unwrap();
    assert_eq!(written, input.to_vec(), "passthrough is byte-identical");
    assert_eq!(
        sink.job_path(),
        out.path().join("adit_selective_transfer_7_20250101_jdoe")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_sink_failures_leave_no_files() {
    let out = tempfile::tempdir().unwrap();
    let sink = FolderSink::new(out.path(), FolderLayout::new());
    // Decodable header, but the data set cannot be encoded in an unknown transfer syntax.
    let unencodable =
        Instance::from_dataset_object(Spec::new(1).object(), "1.2.3.4.5.999").unwrap();
    let outcome = sink.store(unencodable).await.unwrap();
    assert!(matches!(outcome, StoreOutcome::Failed(_)), "{outcome:?}");
    // Bytes that are not a data set at all.
    let garbage = Instance::from_dataset(
        vec![0xFF_u8; 64],
        "1.2.840.10008.5.1.4.1.1.2",
        "1.2.3",
        "1.2.840.10008.1.2.1",
    );
    let outcome = sink.store(garbage).await.unwrap();
    assert!(matches!(outcome, StoreOutcome::Failed(_)), "{outcome:?}");
    assert!(
        files(out.path()).is_empty(),
        "no final and no temporary files: {:?}",
        files(out.path())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_sink_on_an_unusable_root_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    fs::write(&not_a_dir, "x").unwrap();
    let sink = FolderSink::new(&not_a_dir, FolderLayout::new());
    let err = sink.store(Spec::new(1).instance()).await.unwrap_err();
    assert!(matches!(err, adit_core::Error::Io { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_to_folder_transfer_through_transforms() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    write_tree(input.path());
    let source = FolderSource::new(input.path()).with_name("in");
    let sink = FolderSink::new(output.path(), FolderLayout::new().with_modalities(["CT"]));
    let transforms: Vec<Arc<dyn Transform>> = vec![
        Arc::new(ExcludeModalities::new(["SR"])),
        Arc::new(SetTags::trial_protocol(Some("TRIAL-9"), None).unwrap()),
    ];
    let report = transfer(
        &source,
        &Selection::study(Some("SYN-0001"), "2.25.100"),
        &transforms,
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    let c = report.counts;
    assert_eq!((c.stored, c.dropped, c.skipped), (3, 1, 1), "{report}");
    assert_eq!(report.expected.unwrap().instances, 4);
    let skipped = report
        .outcomes
        .iter()
        .find_map(|o| match &o.status {
            OutcomeStatus::Skipped { what, .. } => Some(what.clone()),
            _ => None,
        })
        .unwrap();
    assert!(skipped.ends_with("README.txt"), "{skipped}");
    assert_eq!(
        report.status(),
        TransferStatus::Warning,
        "a skipped file is worth a warning"
    );
    let written = files(output.path());
    assert_eq!(
        written,
        (0..3)
            .map(|n| format!("SYN-0001/20190604-182823-CT/1-Kopf nativ/2.25.100.1.{n}.dcm"))
            .collect::<Vec<_>>()
    );
    let object = Instance::from_part10(fs::read(output.path().join(&written[0])).unwrap())
        .unwrap()
        .into_object()
        .unwrap();
    assert_eq!(
        object
            .get(tags::CLINICAL_TRIAL_PROTOCOL_ID)
            .unwrap()
            .to_str()
            .unwrap(),
        "TRIAL-9"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_source_selects_series_and_instances() {
    let input = tempfile::tempdir().unwrap();
    write_tree(input.path());
    let source = FolderSource::new(input.path());
    let sink = FolderSink::new(tempfile::tempdir().unwrap().keep(), FolderLayout::new());
    let report = transfer(
        &source,
        &Selection::series(None, "2.25.100", ["2.25.100.2"]),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.stored, 1);
    assert_eq!(
        report
            .outcomes
            .iter()
            .find(|o| matches!(o.status, OutcomeStatus::Stored { .. }))
            .unwrap()
            .sop_instance_uid
            .as_deref(),
        Some("2.25.100.1.10")
    );
    // A PatientID that does not match selects nothing.
    let report = transfer(
        &source,
        &Selection::study(Some("SOMEONE-ELSE"), "2.25.100"),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.transferred(), 0);
    let _ = fs::remove_dir_all(sink.root());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_source_find_aggregates_and_matches() {
    let input = tempfile::tempdir().unwrap();
    write_tree(input.path());
    let source = FolderSource::new(input.path());

    let studies = collect_find(&source, &Query::new(QueryLevel::Study)).await;
    assert_eq!(studies.len(), 2);
    let first = &studies[0];
    assert_eq!(first.study_instance_uid().as_deref(), Some("2.25.100"));
    assert_eq!(first.modalities(), ["CT", "SR"]);
    assert_eq!(first.number_of_study_related_instances(), Some(4));
    assert_eq!(first.number_of_study_related_series(), Some(2));
    assert_eq!(first.patient_id().as_deref(), Some("SYN-0001"));

    let by_modality = Query::parse(QueryLevel::Study, ["ModalitiesInStudy=SR"]).unwrap();
    let found = collect_find(&source, &by_modality).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].study_instance_uid().as_deref(), Some("2.25.100"));

    let series = Query::parse(
        QueryLevel::Series,
        ["StudyInstanceUID=2.25.100", "SeriesNumber=+2"],
    )
    .unwrap();
    let found = collect_find(&source, &series).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].series_description().as_deref(), Some("Befund"));
    assert_eq!(found[0].number_of_series_related_instances(), Some(1));

    let patients = collect_find(
        &source,
        &Query::parse(QueryLevel::Patient, ["PatientName=synthetic*"]).unwrap(),
    )
    .await;
    assert_eq!(patients.len(), 2);

    let images = Query::parse(
        QueryLevel::Image,
        ["SeriesInstanceUID=2.25.100.1", "limit=2"],
    )
    .unwrap();
    assert_eq!(collect_find(&source, &images).await.len(), 2);

    let described = Query::parse(QueryLevel::Series, ["SeriesDescription=t2*"]).unwrap();
    let found = collect_find(&source, &described).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].study_instance_uid().as_deref(), Some("2.25.200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_source_on_a_missing_root_fails_up_front() {
    let source = FolderSource::new("/nonexistent/adit-core-test");
    assert!(source.find(&Query::new(QueryLevel::Study)).await.is_err());
}

fn read_entry(archive: &Path, name: &str, password: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(fs::File::open(archive).unwrap())?;
    let mut entry = zip.by_name_decrypt(name, password)?;
    let mut out = Vec::new();
    entry.read_to_end(&mut out)?;
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_sink_writes_an_encrypted_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("adit_selective_transfer_7_20250101_jdoe.zip");
    let sink = ZipSink::create(
        &path,
        FolderLayout::new().with_patient_dir("PSEUDO-1"),
        ZipOptions {
            password: Some("correct horse".into()),
            compression: ZipCompression::Deflate,
            created_by: Some("job 7 of jdoe".into()),
        },
    )
    .unwrap();
    let specs: Vec<Spec> = (0..3).map(Spec::new).collect();
    for spec in &specs {
        let outcome = sink
            .store(Instance::from_part10(spec.part10()).unwrap())
            .await
            .unwrap();
        assert_eq!(outcome, StoreOutcome::Stored);
    }
    // The same instance twice is a warning, not a broken archive.
    let duplicate = sink.store(specs[0].instance()).await.unwrap();
    assert!(
        matches!(duplicate, StoreOutcome::Warning(_)),
        "{duplicate:?}"
    );
    assert!(
        !path.exists(),
        "no archive under the final name before finish"
    );
    sink.finish().await.unwrap();
    assert!(path.exists());
    assert!(!PathBuf::from(format!("{}.partial", path.display())).exists());

    let name = "PSEUDO-1/20190604-182823-CT/1-Kopf nativ/2.25.100.1.0.dcm";
    let bytes = read_entry(&path, name, b"correct horse").unwrap();
    assert_eq!(bytes, specs[0].part10().to_vec());
    let index =
        String::from_utf8(read_entry(&path, INDEX_ENTRY, b"correct horse").unwrap()).unwrap();
    assert!(
        index.starts_with("Archive created by job 7 of jdoe at "),
        "{index}"
    );
    assert!(index.contains(name));

    assert!(read_entry(&path, name, b"wrong password").is_err());
    let mut zip = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
    assert!(
        zip.by_name(name).is_err(),
        "entries cannot be read without the password"
    );
    assert_eq!(zip.len(), 4, "three instances and the index");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_sink_without_password_and_unfinished_archives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.zip");
    let sink = ZipSink::create(&path, FolderLayout::new(), ZipOptions::default()).unwrap();
    sink.store(Spec::new(0).instance()).await.unwrap();
    sink.finish().await.unwrap();
    let mut zip = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(zip.len(), 2);
    assert!(zip.by_name(INDEX_ENTRY).is_ok());
    // Storing after finish is an error.
    assert!(sink.store(Spec::new(1).instance()).await.is_err());

    let abandoned = dir.path().join("abandoned.zip");
    let sink = ZipSink::create(&abandoned, FolderLayout::new(), ZipOptions::default()).unwrap();
    sink.store(Spec::new(0).instance()).await.unwrap();
    drop(sink);
    assert_eq!(
        files(dir.path()),
        ["plain.zip"],
        "the unfinished archive is removed"
    );

    let empty_password = ZipOptions {
        password: Some(String::new()),
        ..ZipOptions::default()
    };
    assert!(
        ZipSink::create(
            dir.path().join("x.zip"),
            FolderLayout::new(),
            empty_password
        )
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_into_a_zip_archive() {
    let input = tempfile::tempdir().unwrap();
    write_tree(input.path());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.zip");
    let sink = ZipSink::create(
        &path,
        FolderLayout::new().with_job_dir("study_download_2.25.100"),
        ZipOptions {
            password: Some("pw".into()),
            compression: ZipCompression::Stored,
            created_by: None,
        },
    )
    .unwrap();
    let report = transfer(
        &FolderSource::new(input.path()),
        &Selection::study(None, "2.25.100"),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.stored, 4);
    assert!(report.finish_error.is_none());
    let zip = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 5);
    assert!(
        names
            .iter()
            .all(|n| n == INDEX_ENTRY || n.starts_with("study_download_2.25.100/SYN-0001/"))
    );
}

#[test]
fn instances_without_pixel_data_are_fine_too() {
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.88.11"),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "2.25.5"),
        DataElement::new(tags::MODALITY, VR::CS, "SR"),
    ]);
    let instance = Instance::from_dataset_object(obj, "1.2.840.10008.1.2").unwrap();
    let reread = Instance::from_part10(instance.to_part10().unwrap()).unwrap();
    assert_eq!(
        reread
            .header()
            .unwrap()
            .get(tags::MODALITY)
            .unwrap()
            .to_str()
            .unwrap(),
        "SR"
    );
}
