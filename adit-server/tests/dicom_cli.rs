//! `adit dicom ...` run as a process against real peers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{Orthanc, StoreScp};

fn adit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adit"))
        .arg("dicom")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn echo_find_get_and_store_from_the_command_line() {
    let corpus = Corpus::new(CorpusSpec::new("cli-dicom").image_size(32, 32));
    let orthanc = Orthanc::start("ORTHANC").unwrap();
    orthanc.upload_corpus(&corpus).unwrap();
    let address = orthanc.address().to_string();

    let out = adit(&["echo", &address, "--calling-ae", "CLI"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("C-ECHO success"));

    // find --json: one JSON object per study of the patient.
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let key = format!("PatientID={}", patient.patient_id);
    let out = adit(&["find", &address, "-L", "study", "-k", &key, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), patient.studies.len());
    assert!(
        lines
            .iter()
            .any(|l| l["StudyInstanceUID"] == study.study_instance_uid.as_str())
    );

    // get --out: one file per instance of the study.
    let dir = tempfile::tempdir().unwrap();
    let key = format!("StudyInstanceUID={}", study.study_instance_uid);
    let out = adit(&[
        "get",
        &address,
        "-k",
        &key,
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    let want: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    assert_eq!(files, want);

    // store those files into storescp.
    let scp = StoreScp::start("STORESCP").unwrap();
    let out = adit(&[
        "store",
        &scp.address().to_string(),
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("{want} stored, 0 failed")));
    assert_eq!(
        scp.wait_for_files(want, std::time::Duration::from_secs(20))
            .unwrap()
            .len(),
        want
    );
}

#[test]
fn a_dead_peer_fails_with_its_name_and_exit_code_one() {
    let port = adit_testkit::free_port().unwrap();
    let out = adit(&["echo", &format!("GONE@127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("GONE@127.0.0.1"),
        "{}",
        text(&out.stderr)
    );
    let out = adit(&["echo", "no-at-sign"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("AE@host:port"));
}
