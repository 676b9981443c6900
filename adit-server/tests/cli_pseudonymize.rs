//! `adit pseudonymize` run as the built binary on a synthetic corpus folder.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use adit_core::instance::Instance;
use adit_core::pseudonymize::{Secret, derive_pseudonym};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use dicom_dictionary_std::tags;

fn adit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adit"))
        .args(args)
        .env_remove("ADIT_PSEUDONYMIZE_SECRET")
        .output()
        .unwrap()
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

fn string(instance: &mut Instance, tag: dicom_core::Tag) -> String {
    instance
        .object()
        .unwrap()
        .get(tag)
        .map(|e| e.to_str().unwrap().trim_end_matches('\0').trim().to_owned())
        .unwrap_or_default()
}

fn corpus_in(dir: &Path) -> (Corpus, Vec<PathBuf>) {
    let corpus = Corpus::new(
        CorpusSpec::new("cli-pseudo")
            .patients(2)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(2)
            .image_size(32, 32),
    );
    let written = corpus.write_to(dir).unwrap();
    (corpus, written.files)
}

#[test]
fn pseudonymizes_a_folder_with_a_summary() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    let (corpus, files) = corpus_in(input.path());
    let out = adit(&[
        "pseudonymize",
        input.path().to_str().unwrap(),
        output.path().to_str().unwrap(),
        "--secret",
        "cli secret",
        "--pseudonym",
        "SUBJ-9",
        "--profile",
        "adit",
        "--trial-id",
        "TRIAL-9",
        "--trial-name",
        "CLI trial",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("written {}, skipped 1, failed 0", files.len())),
        "{stdout}"
    );
    assert!(stdout.contains("manifest.json"), "{stdout}");

    let outputs = files_below(output.path());
    assert_eq!(outputs.len(), files.len());
    let original_ids: Vec<&str> = corpus
        .manifest()
        .patients
        .iter()
        .map(|p| p.patient_id.as_str())
        .collect();
    for file in &outputs {
        let relative = file.strip_prefix(output.path()).unwrap();
        assert!(relative.starts_with("SUBJ-9"), "{}", relative.display());
        let bytes = fs::read(file).unwrap();
        for id in &original_ids {
            assert!(
                !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
                "{id} left in {}",
                file.display()
            );
        }
        let mut instance = Instance::from_part10(bytes).unwrap();
        assert_eq!(string(&mut instance, tags::PATIENT_ID), "SUBJ-9");
        assert_eq!(
            string(&mut instance, tags::CLINICAL_TRIAL_PROTOCOL_ID),
            "TRIAL-9"
        );
        assert!(
            string(&mut instance, tags::PATIENT_COMMENTS)
                .starts_with("Project:TRIAL-9 Subject:SUBJ-9")
        );
    }
}

#[test]
fn derives_pseudonyms_and_keeps_paths_when_asked() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    let (_, files) = corpus_in(input.path());
    let out = adit(&[
        "pseudonymize",
        input.path().to_str().unwrap(),
        output.path().to_str().unwrap(),
        "--secret",
        "derive",
        "--shift-dates",
        "--keep-paths",
        "--threads",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = Secret::new("derive").unwrap();
    for original in &files {
        let relative = original.strip_prefix(input.path()).unwrap();
        let mut before = Instance::from_part10(fs::read(original).unwrap()).unwrap();
        let mut after =
            Instance::from_part10(fs::read(output.path().join(relative)).unwrap()).unwrap();
        let patient_id = string(&mut before, tags::PATIENT_ID);
        assert_eq!(
            string(&mut after, tags::PATIENT_ID),
            derive_pseudonym(&secret, &patient_id)
        );
        let date_before = string(&mut before, tags::STUDY_DATE);
        let date_after = string(&mut after, tags::STUDY_DATE);
        assert_eq!(date_after.len(), 8);
        assert_ne!(date_before, date_after, "shifted");
    }
}

#[test]
fn bad_arguments_exit_with_2() {
    let input = tempfile::tempdir().unwrap();
    let out = adit(&[
        "pseudonymize",
        input.path().join("missing").to_str().unwrap(),
        input.path().join("out").to_str().unwrap(),
        "--secret",
        "s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));
    let out = adit(&[
        "pseudonymize",
        "a",
        "b",
        "--secret",
        "s",
        "--pseudonym",
        "a\\b",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // No secret at all: clap refuses.
    let out = adit(&["pseudonymize", "a", "b"]);
    assert_eq!(out.status.code(), Some(2));
}
