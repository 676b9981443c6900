//! The pseudonymizer on whole synthetic studies: nothing identifying survives anywhere,
//! references still resolve, results depend on the secret only, and it runs in the engine and
//! over folder trees.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adit_core::engine::{TransferOptions, TransferStatus, transfer};
use adit_core::folder::{FolderLayout, FolderSink, FolderSource};
use adit_core::instance::Instance;
use adit_core::pseudonymize::{
    DateHandling, Pseudonymizer, PseudonymizerConfig, Secret, TreeLayout, TreeOptions, TreeReport,
    pseudonymize_tree,
};
use adit_core::source::Selection;
use adit_core::transform::Transform;
use adit_testkit::corpus::{Corpus, CorpusSpec, Manifest};
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

fn corpus(seed: &str) -> Corpus {
    Corpus::new(
        CorpusSpec::new(seed)
            .patients(2)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(3)
            .image_size(32, 32),
    )
}

fn pseudonymizer(secret: &str) -> Pseudonymizer {
    Pseudonymizer::new(PseudonymizerConfig::basic(Secret::new(secret).unwrap())).unwrap()
}

/// Every identifying value the corpus put into its instances.
fn identifying_values(manifest: &Manifest) -> BTreeSet<String> {
    let mut values = BTreeSet::from([
        "DOE^JANE^^DR".to_owned(),
        "ROE^RICHARD".to_owned(),
        "TECH^TERRY".to_owned(),
        "1 Example Street, Testville".to_owned(),
        "SN-000042".to_owned(),
    ]);
    for patient in &manifest.patients {
        values.insert(patient.patient_id.clone());
        values.insert(patient.patient_name.clone());
        values.insert(patient.birth_date.clone());
        values.insert(format!("SYN{}", &patient.patient_id[2..6]));
        for study in &patient.studies {
            values.insert(study.study_instance_uid.clone());
            values.insert(study.accession_number.clone());
            values.insert(study.institution_name.clone());
            values.insert(study.frame_of_reference_uid.clone());
            for series in &study.series {
                values.insert(series.series_instance_uid.clone());
                values.extend(series.sop_instance_uids.iter().cloned());
            }
        }
    }
    values
}

/// Every string value in the object, recursively through sequences, with where it was.
fn all_strings(object: &InMemDicomObject, path: &str, out: &mut Vec<(String, String)>) {
    for element in object {
        let here = format!("{path}{}", element.tag());
        match element.value() {
            Value::Sequence(seq) => {
                for (i, item) in seq.items().iter().enumerate() {
                    all_strings(item, &format!("{here}[{i}]."), out);
                }
            }
            Value::Primitive(p) => {
                for v in p.to_multi_str().iter() {
                    out.push((here.clone(), v.clone()));
                }
            }
            Value::PixelSequence(_) => {}
        }
    }
}

fn read_object(bytes: &[u8]) -> InMemDicomObject {
    Instance::from_part10(bytes.to_vec())
        .unwrap()
        .into_object()
        .unwrap()
        .into_inner()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Checks one pseudonymized Part-10 file: no identifying value in any element (incl.
/// sequences and private tags), nor anywhere in its bytes (file meta included).
fn assert_clean(bytes: &[u8], identifying: &BTreeSet<String>) {
    let object = read_object(bytes);
    let mut strings = Vec::new();
    all_strings(&object, "", &mut strings);
    for (where_, value) in &strings {
        for id in identifying {
            assert!(
                !value.contains(id.as_str()),
                "{id:?} survived in {where_}: {value:?}"
            );
        }
    }
    for id in identifying {
        assert!(
            !contains(bytes, id.as_bytes()),
            "{id:?} found in the file bytes"
        );
    }
    assert!(
        object.tags().all(|t| t.group() % 2 == 0),
        "private tags removed"
    );
}

fn pseudonymize_all(corpus: &Corpus, p: &Pseudonymizer) -> Vec<Vec<u8>> {
    corpus
        .instances()
        .map(|generated| {
            let mut instance = Instance::from_part10(generated.to_part10().unwrap()).unwrap();
            p.pseudonymize(&mut instance).unwrap();
            instance.to_part10().unwrap().to_vec()
        })
        .collect()
}

#[test]
fn nothing_identifying_survives_and_references_resolve() {
    let corpus = corpus("pseudo-clean");
    let identifying = identifying_values(corpus.manifest());
    let p = pseudonymizer("project secret");
    // The check can fail: the inputs do carry the values looked for.
    let original = corpus.instances().next().unwrap().to_part10().unwrap();
    let patient = &corpus.manifest().patients[0];
    for value in [
        &patient.patient_id,
        &patient.birth_date,
        &patient.patient_name,
    ] {
        assert!(
            contains(&original, value.as_bytes()),
            "{value} in the input"
        );
    }
    let outputs = pseudonymize_all(&corpus, &p);
    assert_eq!(outputs.len(), corpus.manifest().total_instances());
    let mut sop_uids = BTreeSet::new();
    let mut references = Vec::new();
    for bytes in &outputs {
        assert_clean(bytes, &identifying);
        let object = read_object(bytes);
        let sop = object
            .get(tags::SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let instance = Instance::from_part10(bytes.clone()).unwrap();
        assert_eq!(instance.sop_instance_uid(), sop, "file meta follows");
        sop_uids.insert(sop);
        if let Some(refs) = object
            .get(tags::REFERENCED_IMAGE_SEQUENCE)
            .and_then(|e| e.items())
        {
            for item in refs {
                references.push(
                    item.get(tags::REFERENCED_SOP_INSTANCE_UID)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
        // Pixel data untouched in size.
        assert_eq!(
            object
                .get(tags::PIXEL_DATA)
                .unwrap()
                .value()
                .to_bytes()
                .unwrap()
                .len(),
            32 * 32 * 2
        );
    }
    assert_eq!(sop_uids.len(), outputs.len(), "UIDs stay unique");
    assert!(!references.is_empty());
    for reference in &references {
        assert!(
            sop_uids.contains(reference),
            "reference {reference} resolves to a pseudonymized instance"
        );
    }
}

#[test]
fn same_secret_same_uids_other_secret_other_uids() {
    let corpus = corpus("pseudo-repeat");
    let uids = |secret: &str| -> Vec<(String, String, String)> {
        pseudonymize_all(&corpus, &pseudonymizer(secret))
            .iter()
            .map(|bytes| {
                let o = read_object(bytes);
                let s = |tag| o.get(tag).unwrap().to_str().unwrap().to_string();
                (
                    s(tags::STUDY_INSTANCE_UID),
                    s(tags::SERIES_INSTANCE_UID),
                    s(tags::SOP_INSTANCE_UID),
                )
            })
            .collect()
    };
    let first = uids("secret-1");
    assert_eq!(first, uids("secret-1"));
    let other = uids("secret-2");
    assert_eq!(first.len(), other.len());
    for (a, b) in first.iter().zip(&other) {
        assert_ne!(a.0, b.0);
        assert_ne!(a.1, b.1);
        assert_ne!(a.2, b.2);
    }
    // Same study → same pseudonymized study UID in every instance of it.
    let studies: BTreeSet<&String> = first.iter().map(|t| &t.0).collect();
    assert_eq!(studies.len(), corpus.manifest().studies().count());
}

#[test]
fn shifted_dates_are_consistent_per_patient() {
    let corpus = corpus("pseudo-shift");
    let secret = Secret::new("s").unwrap();
    let p = Pseudonymizer::new(
        PseudonymizerConfig::basic(secret.clone()).with_dates(DateHandling::Shift),
    )
    .unwrap();
    let outputs = pseudonymize_all(&corpus, &p);
    let mut per_pseudonym: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for bytes in &outputs {
        let o = read_object(bytes);
        let s = |tag| o.get(tag).unwrap().to_str().unwrap().to_string();
        per_pseudonym
            .entry(s(tags::PATIENT_ID))
            .or_default()
            .insert(s(tags::STUDY_DATE));
    }
    assert_eq!(per_pseudonym.len(), corpus.manifest().patients.len());
    for patient in &corpus.manifest().patients {
        let pseudonym = adit_core::pseudonymize::derive_pseudonym(&secret, &patient.patient_id);
        let dates = &per_pseudonym[&pseudonym];
        let original = &patient.studies[0].study_date;
        assert_eq!(dates.len(), 1);
        assert_ne!(dates.first().unwrap(), original, "shifted");
    }
}

fn files_below(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_as_a_transform_in_the_engine() {
    let corpus = corpus("pseudo-engine");
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    corpus.write_to(input.path()).unwrap();
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let p = Pseudonymizer::new(
        PseudonymizerConfig::adit(Secret::new("engine").unwrap())
            .with_pseudonym("SUBJ-7")
            .with_trial(Some("T1".into()), None),
    )
    .unwrap();
    let transforms: Vec<Arc<dyn Transform>> = vec![Arc::new(p.clone())];
    let report = transfer(
        &FolderSource::new(input.path()),
        &Selection::study(Some(&patient.patient_id), &study.study_instance_uid),
        &transforms,
        &FolderSink::new(output.path(), FolderLayout::new()),
        TransferOptions::default(),
    )
    .await
    .unwrap();
    // The corpus' manifest.json is skipped as non-DICOM (a warning); nothing fails.
    assert_eq!(
        report.status(),
        TransferStatus::Warning,
        "{}",
        report.summary()
    );
    assert_eq!(report.counts.skipped, 1);
    assert_eq!(report.counts.failed, 0);
    let expected: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    assert_eq!(report.counts.stored as usize, expected);
    let files = files_below(output.path());
    assert_eq!(files.len(), expected);
    let mut identifying = identifying_values(corpus.manifest());
    // The ADIT preset keeps study dates and descriptions on purpose.
    identifying.retain(|v| v != &study.study_date);
    for file in &files {
        let relative = file.strip_prefix(output.path()).unwrap();
        let first = relative.components().next().unwrap();
        assert_eq!(first.as_os_str(), "SUBJ-7", "folder named by the pseudonym");
        let bytes = fs::read(file).unwrap();
        assert_clean(&bytes, &identifying);
        let instance = Instance::from_part10(bytes.clone()).unwrap();
        assert_eq!(
            file.file_name().unwrap().to_string_lossy(),
            format!("{}.dcm", instance.sop_instance_uid())
        );
        let object = read_object(&bytes);
        assert_eq!(
            object.get(tags::STUDY_DATE).unwrap().to_str().unwrap(),
            study.study_date
        );
        assert_eq!(
            object
                .get(tags::CLINICAL_TRIAL_PROTOCOL_ID)
                .unwrap()
                .to_str()
                .unwrap(),
            "T1"
        );
    }
}

#[test]
fn trees_are_pseudonymized_in_parallel_with_a_report() {
    let corpus = corpus("pseudo-tree");
    let input = tempfile::tempdir().unwrap();
    let written = corpus.write_to(input.path()).unwrap();
    fs::write(input.path().join("notes.txt"), "not dicom").unwrap();
    let identifying = identifying_values(corpus.manifest());
    let p = pseudonymizer("tree");

    let adit = tempfile::tempdir().unwrap();
    let options = TreeOptions {
        threads: 2,
        ..TreeOptions::default()
    };
    let report = pseudonymize_tree(input.path(), adit.path(), &p, &options).unwrap();
    assert_eq!(report.written, written.files.len(), "{}", report.summary());
    // manifest.json and notes.txt are not DICOM.
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
    assert!(report.failed.is_empty());
    assert_eq!(report.files, written.files.len() + 2);
    let files = files_below(adit.path());
    assert_eq!(files.len(), written.files.len());
    for file in &files {
        let path = file.to_string_lossy();
        for id in &identifying {
            assert!(
                !path.contains(id.as_str()),
                "{id} in the output path {path}"
            );
        }
        assert_clean(&fs::read(file).unwrap(), &identifying);
    }

    // Mirror keeps relative paths; a second run with the same secret gives identical files.
    let mirror = tempfile::tempdir().unwrap();
    let options = TreeOptions {
        layout: TreeLayout::Mirror,
        threads: 0,
    };
    let report = pseudonymize_tree(input.path(), mirror.path(), &p, &options).unwrap();
    assert_eq!(report.written, written.files.len());
    for original in &written.files {
        let relative = original.strip_prefix(input.path()).unwrap();
        let copy = fs::read(mirror.path().join(relative)).unwrap();
        let copy_instance = Instance::from_part10(copy).unwrap();
        assert!(
            files
                .iter()
                .any(|f| f.ends_with(format!("{}.dcm", copy_instance.sop_instance_uid())))
        );
    }

    // A single file to a file name.
    let single = mirror.path().join("single.dcm");
    let report = pseudonymize_tree(&written.files[0], &single, &p, &options).unwrap();
    assert_eq!(report.written, 1);
    assert_clean(&fs::read(&single).unwrap(), &identifying);

    // Output inside input is refused.
    let inside = input.path().join("out");
    assert!(pseudonymize_tree(input.path(), &inside, &p, &options).is_err());
}

#[test]
fn broken_files_fail_without_stopping_the_run() {
    let corpus = corpus("pseudo-broken");
    let input = tempfile::tempdir().unwrap();
    let written = corpus.write_to(input.path()).unwrap();
    let victim = &written.files[1];
    let mut bytes = fs::read(victim).unwrap();
    bytes.truncate(200);
    fs::write(victim, bytes).unwrap();
    let output = tempfile::tempdir().unwrap();
    let report = pseudonymize_tree(
        input.path(),
        output.path(),
        &pseudonymizer("broken"),
        &TreeOptions::default(),
    )
    .unwrap();
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(&report.failed[0].path, victim);
    assert_eq!(report.written, written.files.len() - 1);
}

/// Big files take the path that copies pixel data file to file; the result is byte for byte
/// what the in-memory path gives.
#[test]
fn big_files_copied_file_to_file_match_the_in_memory_result() {
    let corpus = two_big_instances("pseudo-big");
    let input = tempfile::tempdir().unwrap();
    let written = corpus.write_to(input.path()).unwrap();
    assert!(fs::metadata(&written.files[0]).unwrap().len() > 512 * 1024);
    let output = tempfile::tempdir().unwrap();
    let report = assert_tree_matches_in_memory(input.path(), output.path(), &written.files, "big");
    assert_eq!(
        report.bytes_out,
        written
            .files
            .iter()
            .map(
                |f| fs::metadata(output.path().join(f.strip_prefix(input.path()).unwrap()))
                    .unwrap()
                    .len()
            )
            .sum::<u64>()
    );
}

/// A head longer than the first read of a big file (16 KiB) is read on until Pixel Data is
/// found, and the result is still byte for byte the in-memory one.
#[test]
fn heads_longer_than_the_first_read_are_read_on() {
    use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
    let corpus = two_big_instances("pseudo-long-head");
    let input = tempfile::tempdir().unwrap();
    // A private block before Pixel Data: 20 kB (read up to 64 KiB) and 100 kB (256 KiB).
    let mut originals = Vec::new();
    for (instance, padding) in corpus.instances().zip([20_000_usize, 100_000]) {
        let mut object = instance.object;
        object.put(DataElement::new(Tag(0x0029, 0x0010), VR::LO, "ADIT TEST"));
        object.put(DataElement::new(
            Tag(0x0029, 0x1000),
            VR::OB,
            PrimitiveValue::from(vec![0x5A_u8; padding]),
        ));
        let path = input.path().join(format!("{padding}.dcm"));
        let mut bytes = Vec::new();
        object.write_all(&mut bytes).unwrap();
        fs::write(&path, &bytes).unwrap();
        originals.push(path);
    }
    let output = tempfile::tempdir().unwrap();
    assert_tree_matches_in_memory(input.path(), output.path(), &originals, "long head");
}

/// One series of two 512×512 instances (over 512 KiB each).
fn two_big_instances(seed: &str) -> Corpus {
    Corpus::new(
        CorpusSpec::new(seed)
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(1)
            .instances_per_series(2)
            .image_size(512, 512),
    )
}

/// Pseudonymizes the tree `input` into `output` (mirror layout, one thread) and checks that
/// each of `files` came out byte for byte as pseudonymizing it in memory gives.
fn assert_tree_matches_in_memory(
    input: &Path,
    output: &Path,
    files: &[PathBuf],
    secret: &str,
) -> TreeReport {
    let p = pseudonymizer(secret);
    let options = TreeOptions {
        layout: TreeLayout::Mirror,
        threads: 1,
    };
    let report = pseudonymize_tree(input, output, &p, &options).unwrap();
    assert_eq!(report.written, files.len(), "{}", report.summary());
    for original in files {
        let mut instance = Instance::from_part10(fs::read(original).unwrap()).unwrap();
        p.pseudonymize(&mut instance).unwrap();
        let expected = instance.to_part10().unwrap();
        let actual = fs::read(output.join(original.strip_prefix(input).unwrap())).unwrap();
        assert_eq!(actual.len(), expected.len(), "{}", original.display());
        assert!(actual == expected.as_ref(), "identical bytes");
    }
    report
}
