//! `adit dicom receive` as a child process and data set comparison, for the receiver tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use adit_testkit::corpus::Corpus;
use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// `adit dicom receive` running as a child process; killed when dropped.
pub struct ReceiverProcess {
    child: Option<Child>,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    stderr_path: std::path::PathBuf,
    _log_dir: tempfile::TempDir,
}

impl ReceiverProcess {
    /// Starts `adit dicom receive --ae <ae> --port <free> --bind 127.0.0.1 --out <out>` plus
    /// `extra`, and waits until it accepts connections.
    pub fn start(ae: &str, out: &Path, extra: &[&str]) -> Self {
        let port = adit_testkit::free_port().unwrap();
        let log_dir = tempfile::tempdir().unwrap();
        let stderr_path = log_dir.path().join("stderr.log");
        let child = Command::new(env!("CARGO_BIN_EXE_adit"))
            .args(["dicom", "receive", "--ae", ae, "--bind", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .arg("--out")
            .arg(out)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let mut this = Self {
            child: Some(child),
            port,
            stderr_path,
            _log_dir: log_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !adit_testkit::net::port_is_open(port) {
            if let Some(status) = this.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("adit dicom receive exited with {status}: {}", this.stderr());
            }
            assert!(Instant::now() < deadline, "receiver did not listen in time");
            std::thread::sleep(Duration::from_millis(50));
        }
        this
    }

    /// Its log so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit (at most 20 s).
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("receiver did not stop on SIGTERM: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The data set of a Part-10 file.
pub fn data_set_of(part10: &[u8]) -> InMemDicomObject {
    let start = if part10.len() > 132 && &part10[128..132] == b"DICM" {
        128
    } else {
        0
    };
    dicom_object::from_reader(&part10[start..])
        .unwrap()
        .into_inner()
}

/// Asserts two data sets hold the same attributes with the same values (sequence lengths,
/// which senders may re-encode, are not compared).
pub fn assert_same_data_set(got: &InMemDicomObject, want: &InMemDicomObject, what: &str) {
    let want_tags: Vec<Tag> = want.tags().collect();
    let got_tags: Vec<Tag> = got.tags().collect();
    assert_eq!(want_tags, got_tags, "attributes of {what}");
    let differing: Vec<Tag> = want_tags
        .into_iter()
        .filter(|t| want.get(*t).unwrap().value() != got.get(*t).unwrap().value())
        .collect();
    assert!(
        differing.is_empty(),
        "{what}: values differ in {differing:?}"
    );
}

/// Asserts a received Part-10 file holds the corpus instance of the same SOP Instance UID.
pub fn assert_same_as_corpus(part10: &[u8], corpus: &Corpus) {
    use dicom_dictionary_std::tags;
    let got = data_set_of(part10);
    let text = |obj: &InMemDicomObject, tag| {
        obj.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_owned()
    };
    let uid = text(&got, tags::SOP_INSTANCE_UID);
    let study = text(&got, tags::STUDY_INSTANCE_UID);
    let generated = corpus
        .study_instances(&study)
        .find(|i| text(&i.object, tags::SOP_INSTANCE_UID) == uid)
        .expect("instance is in the corpus");
    let want = data_set_of(&generated.to_part10().unwrap());
    assert_same_data_set(&got, &want, &uid);
}

/// PEM files of a throw-away PKI in a temp dir: `ca.pem`, `server.pem`/`server.key` (for
/// 127.0.0.1 and localhost), `client.pem`/`client.key`.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// Makes the CA and both certificates.
    pub fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "ADIT-RS CLI test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        for (name, names, usage) in [
            (
                "server",
                vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            (
                "client",
                vec!["adit-cli".to_owned()],
                ExtendedKeyUsagePurpose::ClientAuth,
            ),
        ] {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(names.clone()).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, names[0].as_str());
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, &issuer).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        Self { dir }
    }

    /// A file of the PKI, as a string for command lines.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }
}
