//! Harness self-tests: the peers start side by side, hold what was loaded into them with the
//! expected tags (checked by independent clients: dcmtk's findscu and Orthanc's REST API), move
//! data between each other, and vanish when dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // integration tests: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use adit_testkit::corpus::{Corpus, CorpusSpec, Manifest};
use adit_testkit::dcmtk::{self, QrModel};
use adit_testkit::{Dcmqrscp, DicomAddress, Error, Orthanc, StoreScp};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde_json::Value;

const CALLING: &str = dcmtk::DEFAULT_CALLING_AE;

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.element(tag)
        .map(|e| e.to_str().unwrap().trim_end_matches(['\0', ' ']).to_owned())
        .unwrap_or_default()
}

/// Study-level C-FIND through findscu, keyed by StudyInstanceUID.
fn studies_by_findscu(peer: &DicomAddress, extra: &[&str]) -> BTreeMap<String, InMemDicomObject> {
    let mut keys = vec![
        "QueryRetrieveLevel=STUDY",
        "StudyInstanceUID",
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "AccessionNumber",
        "StudyDate",
        "StudyDescription",
        "SpecificCharacterSet=ISO_IR 100",
    ];
    keys.extend_from_slice(extra);
    dcmtk::findscu(peer, CALLING, QrModel::StudyRoot, &keys)
        .unwrap()
        .into_iter()
        .map(|r| (text(&r, tags::STUDY_INSTANCE_UID), r))
        .collect()
}

/// Every study of the manifest is found with its tags, and nothing else.
fn assert_findscu_sees_corpus(peer: &DicomAddress, manifest: &Manifest) {
    let found = studies_by_findscu(peer, &[]);
    assert_eq!(
        found.len(),
        manifest.studies().count(),
        "study count at {peer}"
    );
    for (patient, study) in manifest.studies() {
        let r = &found[&study.study_instance_uid];
        assert_eq!(text(r, tags::PATIENT_ID), patient.patient_id);
        assert_eq!(
            text(r, tags::PATIENT_NAME),
            patient.patient_name,
            "at {peer}"
        );
        assert_eq!(text(r, tags::PATIENT_BIRTH_DATE), patient.birth_date);
        assert_eq!(text(r, tags::ACCESSION_NUMBER), study.accession_number);
        assert_eq!(text(r, tags::STUDY_DATE), study.study_date);
        assert_eq!(text(r, tags::STUDY_DESCRIPTION), study.description);
    }
    // Image level, series by series (dcmqrscp insists on the full hierarchy).
    for (study, series) in manifest.series() {
        let study_key = format!("StudyInstanceUID={}", study.study_instance_uid);
        let series_key = format!("SeriesInstanceUID={}", series.series_instance_uid);
        let images = dcmtk::findscu(
            peer,
            CALLING,
            QrModel::StudyRoot,
            &[
                "QueryRetrieveLevel=IMAGE",
                &study_key,
                &series_key,
                "SOPInstanceUID",
                "InstanceNumber",
            ],
        )
        .unwrap();
        let got: BTreeSet<String> = images
            .iter()
            .map(|r| text(r, tags::SOP_INSTANCE_UID))
            .collect();
        let want: BTreeSet<String> = series.sop_instance_uids.iter().cloned().collect();
        assert_eq!(
            got, want,
            "instances of series {} at {peer}",
            series.series_instance_uid
        );
    }
}

/// Orthanc's REST view of every instance matches the manifest.
fn assert_rest_sees_corpus(orthanc: &Orthanc, manifest: &Manifest) {
    let counts = orthanc.counts().unwrap();
    assert_eq!(counts.patients, manifest.patients.len() as u64);
    assert_eq!(counts.studies, manifest.studies().count() as u64);
    assert_eq!(counts.series, manifest.series().count() as u64);
    assert_eq!(counts.instances, manifest.total_instances() as u64);

    let instances = orthanc.get_json("/instances?expand").unwrap();
    let got: BTreeSet<String> = instances
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["MainDicomTags"]["SOPInstanceUID"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let want: BTreeSet<String> = manifest.sop_instance_uids().map(str::to_owned).collect();
    assert_eq!(got, want);

    let studies = orthanc.get_json("/studies?expand").unwrap();
    for s in studies.as_array().unwrap() {
        let uid = s["MainDicomTags"]["StudyInstanceUID"].as_str().unwrap();
        let (patient, study) = manifest.study(uid).expect("a study that was never loaded");
        assert_eq!(
            s["MainDicomTags"]["AccessionNumber"],
            study.accession_number.as_str()
        );
        assert_eq!(s["MainDicomTags"]["StudyDate"], study.study_date.as_str());
        assert_eq!(
            s["PatientMainDicomTags"]["PatientID"],
            patient.patient_id.as_str()
        );
        assert_eq!(
            s["PatientMainDicomTags"]["PatientName"],
            patient.patient_name.as_str()
        );
    }
    // One instance in detail, including a value inside a sequence.
    let (_, series) = manifest.series().next().unwrap();
    let tags = orthanc
        .instance_tags(&series.sop_instance_uids[1])
        .unwrap()
        .unwrap();
    assert_eq!(tags["SeriesDescription"], series.description.as_str());
    assert_eq!(
        tags["ReferencedImageSequence"][0]["ReferencedSOPInstanceUID"],
        Value::from(series.sop_instance_uids[0].as_str())
    );
}

/// Compares the data sets of two Part-10 files element by element (the file meta may differ),
/// naming the differing tags instead of dumping whole objects.
fn assert_same_data_set(a: &[u8], b: &[u8]) {
    let a = dicom_object::from_reader(&a[128..]).unwrap().into_inner();
    let b = dicom_object::from_reader(&b[128..]).unwrap().into_inner();
    let tags_a: Vec<Tag> = a.tags().collect();
    let tags_b: Vec<Tag> = b.tags().collect();
    assert_eq!(tags_a, tags_b, "different attributes");
    let differing: Vec<Tag> = tags_a
        .into_iter()
        .filter(|t| a.element(*t).unwrap().value() != b.element(*t).unwrap().value())
        .collect();
    assert!(differing.is_empty(), "values differ in {differing:?}");
}

#[test]
fn two_orthancs_and_a_dcmqrscp_hold_a_three_patient_corpus() {
    let a = Orthanc::start("ORTHANC1").unwrap();
    let b = Orthanc::start("ORTHANC2").unwrap();
    let qr = Dcmqrscp::start("DCMQRSCP").unwrap();
    assert_ne!(a.dicom_port(), b.dicom_port());
    assert_ne!(a.http_port(), b.http_port());

    let corpus = Corpus::new(CorpusSpec::new("harness-self-test"));
    let manifest = corpus.manifest();
    assert_eq!(manifest.patients.len(), 3);

    // Three ways in: streamed over REST, C-STORE by storescu, and indexed in place.
    assert_eq!(
        a.upload_corpus(&corpus).unwrap(),
        manifest.total_instances()
    );
    let files = tempfile::tempdir().unwrap();
    let written = corpus.write_to(files.path()).unwrap();
    dcmtk::storescu_dir(b.address(), CALLING, files.path()).unwrap();
    qr.index_files(&written.files).unwrap();

    let expected = dcmtk::PeerCounts {
        studies: manifest.studies().count(),
        series: manifest.series().count(),
        instances: manifest.total_instances(),
    };
    for peer in [a.address(), b.address(), qr.address()] {
        dcmtk::echoscu(peer, CALLING).unwrap();
        assert_eq!(
            dcmtk::count(peer, CALLING).unwrap(),
            expected,
            "counts at {peer}"
        );
        assert_findscu_sees_corpus(peer, manifest);
    }
    assert_rest_sees_corpus(&a, manifest);
    assert_rest_sees_corpus(&b, manifest);

    // Orthanc stores what it was sent: the file it hands back is the generated one.
    let first = corpus.instances().next().unwrap();
    let sop = text(&first.object, tags::SOP_INSTANCE_UID);
    let stored = a.instance_file(&sop).unwrap().unwrap();
    let generated = first.to_part10().unwrap();
    assert_same_data_set(&stored, &generated);

    // A Latin-1 name query works on both implementations.
    let latin1 = &manifest.patients[1];
    for peer in [a.address(), qr.address()] {
        let found = studies_by_findscu(peer, &[]);
        let by_name: Vec<_> = found
            .values()
            .filter(|r| text(r, tags::PATIENT_NAME) == "MÜLLER^ANNA")
            .collect();
        assert_eq!(by_name.len(), latin1.studies.len());
    }
    let name_query = dcmtk::findscu(
        a.address(),
        CALLING,
        QrModel::StudyRoot,
        &[
            OsStr::new("QueryRetrieveLevel=STUDY"),
            OsStr::new("SpecificCharacterSet=ISO_IR 100"),
            // "MÜLLER*" in ISO 8859-1, as a Latin-1 client sends it.
            OsStr::from_bytes(b"PatientName=M\xDCLLER*"),
            OsStr::new("StudyInstanceUID"),
        ],
    )
    .unwrap();
    assert_eq!(name_query.len(), latin1.studies.len());
}

#[test]
fn orthanc_moves_a_study_to_a_storescp_registered_at_run_time() {
    let orthanc = Orthanc::start("ORTHANCMV").unwrap();
    let sink = StoreScp::start("SINKSCP").unwrap();
    // The receiver's port is known only now: register it after Orthanc started.
    orthanc.add_modality("SINK", sink.address()).unwrap();
    let corpus = Corpus::new(CorpusSpec::new("move").patients(1).studies_per_patient(1));
    orthanc.upload_corpus(&corpus).unwrap();
    let (_, study) = corpus.manifest().studies().next().unwrap();

    dcmtk::movescu_study(
        orthanc.address(),
        CALLING,
        "SINKSCP",
        &study.study_instance_uid,
    )
    .unwrap();
    let expected = corpus.manifest().total_instances();
    let files = sink
        .wait_for_files(expected, Duration::from_secs(30))
        .unwrap();
    assert_eq!(files.len(), expected);
    let received: BTreeSet<String> = files
        .iter()
        .map(|f| text(&dicom_object::open_file(f).unwrap(), tags::SOP_INSTANCE_UID))
        .collect();
    let want: BTreeSet<String> = corpus
        .manifest()
        .sop_instance_uids()
        .map(str::to_owned)
        .collect();
    assert_eq!(received, want);
}

#[test]
fn dcmqrscp_moves_to_a_destination_from_its_host_table() {
    let port = adit_testkit::free_port().unwrap();
    let destination = DicomAddress::loopback("QRSINK", port);
    let qr = Dcmqrscp::builder()
        .move_destination(destination)
        .start()
        .unwrap();
    let sink = StoreScp::builder()
        .ae_title("QRSINK")
        .port(port)
        .start()
        .unwrap();
    let corpus = Corpus::new(
        CorpusSpec::new("qr-move")
            .patients(1)
            .studies_per_patient(1),
    );
    let dir = tempfile::tempdir().unwrap();
    let written = corpus.write_to(dir.path()).unwrap();
    qr.index_files(&written.files).unwrap();
    let (_, study) = corpus.manifest().studies().next().unwrap();
    dcmtk::movescu_study(qr.address(), CALLING, "QRSINK", &study.study_instance_uid).unwrap();
    let files = sink
        .wait_for_files(written.files.len(), Duration::from_secs(30))
        .unwrap();
    assert_eq!(files.len(), written.files.len());
}

#[test]
fn a_peer_is_killed_and_its_storage_removed_on_drop_even_after_a_panic() {
    let (pid, dir, port) = std::thread::spawn(|| {
        let orthanc = Orthanc::start("DOOMED").unwrap();
        let facts = (
            orthanc.pid(),
            orthanc.data_dir().to_owned(),
            orthanc.dicom_port(),
        );
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _owned = orthanc;
            panic!("test failure while a peer is running");
        }))
        .unwrap_err();
        facts
    })
    .join()
    .unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "Orthanc {pid} still runs"
    );
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!adit_testkit::net::port_is_open(port));

    let qr = Dcmqrscp::start("GONE").unwrap();
    let (pid, dir) = (qr.pid(), qr.storage_dir().to_owned());
    drop(qr);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(!dir.exists());
}

#[test]
fn a_missing_peer_binary_fails_with_the_package_to_install() {
    let err = Orthanc::builder()
        .binary("/nonexistent/Orthanc")
        .start()
        .unwrap_err();
    assert!(matches!(
        err,
        Error::MissingBinary {
            package: "orthanc",
            ..
        }
    ));
    assert!(err.to_string().contains("apt-get install orthanc"), "{err}");
}
