//! The synthetic corpus is deterministic, unique per seed, and reads back with the tags the
//! manifest promises.

#![allow(clippy::unwrap_used, clippy::expect_used)] // integration tests: a failed unwrap is a failed test

use std::collections::HashSet;

use adit_testkit::corpus::{Corpus, CorpusSpec};
use dicom_dictionary_std::tags;
use dicom_object::{OpenFileOptions, from_reader};

fn text(obj: &dicom_object::InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap_or_else(|_| panic!("missing {tag}"))
        .to_str()
        .unwrap()
        .trim_end_matches(['\0', ' '])
        .to_owned()
}

#[test]
fn same_seed_gives_byte_identical_files_and_other_seeds_share_nothing() {
    let spec = CorpusSpec::new("determinism")
        .patients(2)
        .instances_per_series(2);
    let a: Vec<Vec<u8>> = Corpus::new(spec.clone())
        .instances()
        .map(|i| i.to_part10().unwrap())
        .collect();
    let b: Vec<Vec<u8>> = Corpus::new(spec.clone())
        .instances()
        .map(|i| i.to_part10().unwrap())
        .collect();
    assert_eq!(a.len(), 2 * 2 * 3 * 2);
    assert!(a == b, "two generations with the same seed differ");

    let other = Corpus::new(CorpusSpec {
        seed: "another seed".into(),
        ..spec.clone()
    });
    let ours = Corpus::new(spec);
    let uids_a: HashSet<&str> = ours.manifest().sop_instance_uids().collect();
    let uids_b: HashSet<&str> = other.manifest().sop_instance_uids().collect();
    assert!(uids_a.is_disjoint(&uids_b));
    let ids_a: HashSet<&str> = ours
        .manifest()
        .patients
        .iter()
        .map(|p| p.patient_id.as_str())
        .collect();
    let ids_b: HashSet<&str> = other
        .manifest()
        .patients
        .iter()
        .map(|p| p.patient_id.as_str())
        .collect();
    assert!(ids_a.is_disjoint(&ids_b), "patients would merge in a PACS");
}

#[test]
fn uids_are_unique_valid_2_25_uids() {
    let corpus = Corpus::new(CorpusSpec::new("uids").patients(4));
    let m = corpus.manifest();
    let mut all = HashSet::new();
    for (patient, study) in m.studies() {
        assert!(patient.patient_id.starts_with("GC") && patient.patient_id.len() == 10);
        assert_eq!(study.accession_number.len(), 15);
        for uid in std::iter::once(&study.study_instance_uid)
            .chain(std::iter::once(&study.frame_of_reference_uid))
            .chain(study.series.iter().map(|s| &s.series_instance_uid))
            .chain(study.series.iter().flat_map(|s| &s.sop_instance_uids))
        {
            assert!(uid.starts_with("2.25.") && uid.len() <= 64, "bad UID {uid}");
            assert!(uid[5..].bytes().all(|b| b.is_ascii_digit()) && !uid[5..].starts_with('0'));
            assert!(all.insert(uid.clone()), "duplicate UID {uid}");
        }
    }
    assert_eq!(m.total_instances(), 4 * 2 * 3 * 5);
}

#[test]
fn instances_carry_the_manifest_values_and_pixel_data() {
    let spec = CorpusSpec::new("tags").image_size(64, 96);
    let corpus = Corpus::new(spec);
    let manifest = corpus.manifest().clone();
    let mut seen = 0;
    let mut modalities = HashSet::new();
    for instance in corpus.instances() {
        let bytes = instance.to_part10().unwrap();
        assert_eq!(&bytes[128..132], b"DICM");
        let file = OpenFileOptions::new()
            .from_reader(&bytes[128..])
            .unwrap_or_else(|e| panic!("generated file does not parse: {e}"));
        let sop = text(&file, tags::SOP_INSTANCE_UID);
        assert_eq!(
            file.meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0'),
            sop
        );
        let (patient, study) = manifest
            .study(&text(&file, tags::STUDY_INSTANCE_UID))
            .unwrap();
        assert_eq!(text(&file, tags::PATIENT_ID), patient.patient_id);
        assert_eq!(text(&file, tags::PATIENT_NAME), patient.patient_name);
        assert_eq!(text(&file, tags::PATIENT_BIRTH_DATE), patient.birth_date);
        assert_eq!(text(&file, tags::ACCESSION_NUMBER), study.accession_number);
        assert_eq!(text(&file, tags::STUDY_DATE), study.study_date);
        assert_eq!(text(&file, tags::MODALITY), study.modality);
        let series = study
            .series
            .iter()
            .find(|s| s.series_instance_uid == text(&file, tags::SERIES_INSTANCE_UID))
            .unwrap();
        let n: usize = text(&file, tags::INSTANCE_NUMBER).parse().unwrap();
        assert_eq!(series.sop_instance_uids[n - 1], sop);
        let pixels = file.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
        assert_eq!(pixels.len(), 64 * 96 * 2);
        assert!(pixels.iter().any(|&b| b != 0), "blank image");
        modalities.insert(study.modality.clone());
        seen += 1;
    }
    assert_eq!(seen, manifest.total_instances());
    assert_eq!(
        modalities,
        HashSet::from(["CT".to_owned(), "MR".to_owned()])
    );
}

#[test]
fn the_latin1_patient_name_is_encoded_as_iso_ir_100() {
    let corpus = Corpus::new(
        CorpusSpec::new("latin1")
            .patients(2)
            .instances_per_series(1),
    );
    let patient = &corpus.manifest().patients[1];
    assert_eq!(patient.patient_name, "MÜLLER^ANNA");
    let instance = corpus
        .instances()
        .find(|i| i.relative_path.starts_with(&patient.patient_id))
        .unwrap();
    let bytes = instance.to_part10().unwrap();
    // Ü is 0xDC in ISO 8859-1 and 0xC3 0x9C in UTF-8; the file must hold the former.
    assert!(bytes.windows(6).any(|w| w == b"M\xDCLLER"));
    assert!(!bytes.windows(7).any(|w| w == "MÜLLER".as_bytes()));
    let back = from_reader(&bytes[128..]).unwrap();
    assert_eq!(text(&back, tags::PATIENT_NAME), "MÜLLER^ANNA");
}

#[test]
fn write_to_lays_out_files_and_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = Corpus::new(CorpusSpec::new("files").patients(1).instances_per_series(2));
    let written = corpus.write_to(dir.path()).unwrap();
    assert_eq!(written.files.len(), 12);
    let on_disk: u64 = written
        .files
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .sum();
    assert_eq!(on_disk, written.bytes);
    let manifest: adit_testkit::corpus::Manifest =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(&manifest, corpus.manifest());
    let first = &written.files[0];
    let rel = first.strip_prefix(dir.path()).unwrap();
    assert_eq!(
        rel,
        std::path::Path::new(&manifest.patients[0].patient_id).join("ST1/SE1/IM0001.dcm")
    );
}

#[test]
fn file_of_finds_the_file_holding_an_instance() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = Corpus::new(
        CorpusSpec::new("file-of")
            .patients(2)
            .instances_per_series(2),
    );
    let written = corpus.write_to(dir.path()).unwrap();
    for uid in corpus.manifest().sop_instance_uids() {
        let file = written.file_of(uid).unwrap();
        let object = dicom_object::open_file(file).unwrap();
        assert_eq!(text(&object, tags::SOP_INSTANCE_UID), uid);
    }
    assert_eq!(written.file_of("1.2.3.4"), None);
}
