//! `adit dicom ...` run as a process against real peers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{DicomAddress, Orthanc, StoreScp, dcmtk};
use common::{Pki, ReceiverProcess, assert_same_data_set, data_set_of};

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

#[test]
fn receive_writes_what_storescu_sent_and_refuses_other_callers() {
    let corpus = Corpus::new(CorpusSpec::new("cli-receive").image_size(32, 32));
    let dir = tempfile::tempdir().unwrap();
    let written = corpus.write_to(&dir.path().join("corpus")).unwrap();
    let out = dir.path().join("received");
    let mut receiver =
        ReceiverProcess::start("ADIT-RCV", &out, &["--allow-calling-ae", "STORESCU,OTHER"]);
    let address = DicomAddress::loopback("ADIT-RCV", receiver.port);

    // Several files over one association.
    assert!(written.files.len() > 5);
    dcmtk::storescu(&address, "STORESCU", &written.files).unwrap();
    let files = adit_dimse::scp::spool::scan(&out).unwrap();
    assert_eq!(files.len(), written.files.len());
    let folders: std::collections::BTreeSet<_> = files
        .iter()
        .map(|f| f.parent().unwrap().to_owned())
        .collect();
    assert_eq!(folders.len(), 1, "one association, one folder");
    for sent in &written.files {
        let want = data_set_of(&std::fs::read(sent).unwrap());
        let uid = want
            .element(dicom_dictionary_std::tags::SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_owned();
        let got = files
            .iter()
            .find(|f| f.file_name().unwrap().to_str().unwrap() == format!("{uid}.dcm"))
            .unwrap_or_else(|| panic!("{uid} was not written"));
        assert_same_data_set(&data_set_of(&std::fs::read(got).unwrap()), &want, &uid);
    }

    // A calling AE not on the list is refused at association time; nothing is written.
    assert!(dcmtk::storescu(&address, "INTRUDER", &written.files[..1]).is_err());
    assert_eq!(
        adit_dimse::scp::spool::scan(&out).unwrap().len(),
        written.files.len()
    );

    let status = receiver.terminate();
    assert!(status.success(), "exit {status}: {}", receiver.stderr());
    let log = receiver.stderr();
    assert!(
        log.lines().any(|l| l.contains("association released")
            && l.contains(&format!("{} stored", written.files.len()))),
        "{log}"
    );
    assert!(log.contains("association refused"), "{log}");
}

#[test]
fn receive_echo_and_store_over_dicom_tls() {
    let pki = Pki::new();
    let corpus = Corpus::new(CorpusSpec::new("cli-tls").image_size(16, 16));
    let dir = tempfile::tempdir().unwrap();
    let written = corpus.write_to(&dir.path().join("corpus")).unwrap();
    let out = dir.path().join("received");
    let mut receiver = ReceiverProcess::start(
        "ADIT-TLS",
        &out,
        &[
            "--tls-cert",
            &pki.path("server.pem"),
            "--tls-key",
            &pki.path("server.key"),
            "--tls-ca",
            &pki.path("ca.pem"),
        ],
    );
    let address = format!("ADIT-TLS@127.0.0.1:{}", receiver.port);
    let tls = [
        "--tls-ca",
        &pki.path("ca.pem"),
        "--tls-cert",
        &pki.path("client.pem"),
        "--tls-key",
        &pki.path("client.key"),
    ];

    let echo = adit(&[&["echo", address.as_str()], &tls[..]].concat());
    assert!(echo.status.success(), "{}", text(&echo.stderr));
    let files: Vec<&str> = written.files[..3]
        .iter()
        .map(|f| f.to_str().unwrap())
        .collect();
    let store = adit(&[&["store", address.as_str()], &tls[..], &files[..]].concat());
    assert!(store.status.success(), "{}", text(&store.stderr));
    assert!(text(&store.stdout).contains("3 stored, 0 failed"));
    assert_eq!(adit_dimse::scp::spool::scan(&out).unwrap().len(), 3);

    // The receiver requires a client certificate; plain TCP fails too.
    let anonymous = adit(&["echo", &address, "--tls-ca", &pki.path("ca.pem")]);
    assert_eq!(anonymous.status.code(), Some(1));
    assert!(
        text(&anonymous.stderr).contains("ADIT-TLS@127.0.0.1"),
        "{}",
        text(&anonymous.stderr)
    );
    let plain = adit(&["echo", &address, "--timeout", "5"]);
    assert_eq!(plain.status.code(), Some(1));

    let status = receiver.terminate();
    assert!(status.success(), "{}", receiver.stderr());
}
