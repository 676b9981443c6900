//! DICOM TLS against dcmtk on loopback, with a throw-away CA made here: our SCU (C-ECHO,
//! C-STORE) into `storescp +tls` with and without client certificates, and dcmtk
//! `storescu`/`echoscu +tls` into our receiver, which can require client certificates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adit_core::instance::Instance;
use adit_core::sink::StoreOutcome;
use adit_dimse::scp::{Receiver, ReceiverOptions, spool};
use adit_dimse::tls::{ClientTls, ServerTls};
use adit_dimse::{DimseOptions, PeerAddress, scu};
use adit_testkit::free_port;
use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PEM files of a throw-away PKI: a CA, a server certificate for 127.0.0.1, a client
/// certificate, and a second CA that signed nothing we use.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca_pem, issuer) = ca("ADIT-RS test CA");
        let (other_ca_pem, _) = ca("Some other CA");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", &ca_pem);
        write("other-ca.pem", &other_ca_pem);
        let (cert, key) = leaf(
            &issuer,
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        write("server.pem", &cert);
        write("server.key", &key);
        let (cert, key) = leaf(
            &issuer,
            vec!["adit-client".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        write("client.pem", &cert);
        write("client.key", &key);
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn client(&self, with_cert: bool) -> ClientTls {
        let cert = self.path("client.pem");
        let key = self.path("client.key");
        ClientTls::from_pem_files(
            &self.path("ca.pem"),
            with_cert.then_some((cert.as_path(), key.as_path())),
        )
        .unwrap()
    }
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.clone()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A child process killed on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !adit_testkit::net::port_is_open(port) {
        assert!(Instant::now() < deadline, "port {port} did not open");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `storescp +tls` writing into `out`; `peer_cert` is `-rc` (require), `-vc` or `-ic`.
fn storescp_tls(pki: &Pki, out: &Path, peer_cert: &str) -> (Peer, PeerAddress) {
    let port = free_port().unwrap();
    let child = Command::new("storescp")
        .args(["--aetitle", "STORESCP", "+tls"])
        .arg(pki.path("server.key"))
        .arg(pki.path("server.pem"))
        .arg("+cf")
        .arg(pki.path("ca.pem"))
        .arg(peer_cert)
        .arg("-od")
        .arg(out)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("storescp (dcmtk) is installed");
    let peer = Peer(child);
    wait_for_port(port);
    (peer, PeerAddress::new("STORESCP", "127.0.0.1", port))
}

/// Runs dcmtk `echoscu`/`storescu` in TLS mode against our receiver on `port`: with the
/// client certificate (`+tls key cert`) or anonymously (`+tla`); true on success.
fn dcmtk_tls(tool: &str, pki: &Path, port: u16, client_cert: bool, files: &[PathBuf]) -> bool {
    let mut command = Command::new(tool);
    command.args(["-aet", "DCMTK", "-aec", "ADIT-TLS"]);
    if client_cert {
        command
            .arg("+tls")
            .arg(pki.join("client.key"))
            .arg(pki.join("client.pem"));
    } else {
        command.arg("+tla");
    }
    command
        .arg("+cf")
        .arg(pki.join("ca.pem"))
        .arg("127.0.0.1")
        .arg(port.to_string())
        .args(files)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command.status().unwrap().success()
}

fn tls_options(tls: Option<ClientTls>) -> DimseOptions {
    DimseOptions { tls, ..options() }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_scu_over_tls_into_storescp() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // storescp requires a client certificate by default.
    let (_scp, address) = storescp_tls(&pki, &out, "-rc");

    let with_cert = tls_options(Some(pki.client(true)));
    scu::echo(&address, &with_cert).await.unwrap();

    let corpus = corpus("tls-store");
    let instances: Vec<Instance> = corpus
        .instances()
        .take(6)
        .map(|i| Instance::from_part10(i.to_part10().unwrap()).unwrap())
        .collect();
    let outcomes = scu::store_all(&address, &with_cert, &instances)
        .await
        .unwrap();
    assert!(
        outcomes.iter().all(|o| matches!(o, StoreOutcome::Stored)),
        "{outcomes:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while files_in(&out) < instances.len() {
        assert!(
            Instant::now() < deadline,
            "storescp wrote {} files",
            files_in(&out)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The same from a node's configuration (DimseServer.tls).
    let mut node = adit_core::model::DimseServer::new(
        adit_core::model::AeTitle::new("STORESCP").unwrap(),
        "127.0.0.1",
        address.port.try_into().unwrap(),
    );
    node.tls = Some(adit_core::model::DimseTls {
        ca_bundle: pki.path("ca.pem"),
        client_cert: Some(pki.path("client.pem")),
        client_key: Some(pki.path("client.key")),
        server_name: Some("localhost".into()),
    });
    let from_node = options().for_node(&node).unwrap();
    scu::echo(&PeerAddress::from(&node), &from_node)
        .await
        .unwrap();
    node.tls.as_mut().unwrap().client_key = None;
    assert!(options().for_node(&node).is_err());

    // Without a client certificate storescp refuses the handshake; the error names the peer.
    let err = scu::echo(&address, &tls_options(Some(pki.client(false))))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("STORESCP@127.0.0.1"), "{err}");
    // A CA that did not sign the server: refused on our side.
    let untrusted = ClientTls::from_pem_files(&pki.path("other-ca.pem"), None).unwrap();
    assert!(
        scu::echo(&address, &tls_options(Some(untrusted)))
            .await
            .is_err()
    );
    // Plain TCP to a TLS port fails too, within the timeouts.
    assert!(scu::echo(&address, &tls_options(None)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storescu_over_tls_into_our_receiver_and_client_certificates_checked() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let mut options = ReceiverOptions::new("ADIT-TLS", &spool_dir);
    options.tls = Some(
        ServerTls::from_pem_files(
            &pki.path("server.pem"),
            &pki.path("server.key"),
            Some(&pki.path("ca.pem")),
        )
        .unwrap(),
    );
    options.association_timeout = Duration::from_secs(5);
    let receiver = Receiver::bind("127.0.0.1:0", options).await.unwrap();
    let port = receiver.local_addr().port();

    let corpus = corpus("tls-receive");
    let written = corpus.write_to(&dir.path().join("corpus")).unwrap();
    let files: Vec<PathBuf> = written.files.iter().take(5).cloned().collect();
    let pki_dir = pki.dir.path().to_owned();
    let run = |tool: &'static str, client_cert: bool, files: Vec<PathBuf>| {
        let pki_dir = pki_dir.clone();
        tokio::task::spawn_blocking(move || dcmtk_tls(tool, &pki_dir, port, client_cert, &files))
    };
    assert!(run("echoscu", true, vec![]).await.unwrap());
    assert!(run("storescu", true, files.clone()).await.unwrap());
    assert_eq!(spool::scan(&spool_dir).unwrap().len(), files.len());
    for path in spool::scan(&spool_dir).unwrap() {
        assert_same_as_corpus(
            Instance::from_part10(std::fs::read(path).unwrap()).unwrap(),
            &corpus,
        );
    }
    // No client certificate: the handshake fails, nothing is stored.
    assert!(!run("storescu", false, files[..1].to_vec()).await.unwrap());
    assert_eq!(spool::scan(&spool_dir).unwrap().len(), files.len());

    // Our own SCU over TLS into our receiver.
    let address = PeerAddress::new("ADIT-TLS", "127.0.0.1", port);
    scu::echo(&address, &tls_options(Some(pki.client(true))))
        .await
        .unwrap();
    assert!(
        scu::echo(&address, &tls_options(Some(pki.client(false))))
            .await
            .is_err()
    );
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_find_and_c_get_over_tls_through_a_terminator_in_front_of_orthanc() {
    use adit_core::model::{QueryLevel, QueryModel};
    use futures::StreamExt;
    let pki = Pki::new();
    let corpus = corpus("tls-get");
    let orthanc = orthanc_with(&corpus);
    // Orthanc's own DICOM TLS is not in Debian's build: socat terminates TLS in front of it.
    let pem = format!(
        "{}{}",
        std::fs::read_to_string(pki.path("server.pem")).unwrap(),
        std::fs::read_to_string(pki.path("server.key")).unwrap()
    );
    let proxy = adit_testkit::TlsProxy::start(pem.as_bytes(), orthanc.address().port).unwrap();
    let address = PeerAddress::new(&orthanc.address().ae_title, "127.0.0.1", proxy.port());
    let tls = tls_options(Some(pki.client(false)));
    let (patient, study) = corpus.manifest().studies().next().unwrap();

    let results: Vec<_> = scu::find(
        &address,
        &tls,
        QueryModel::StudyRoot,
        &identifier(
            QueryLevel::Study,
            &[&format!("PatientID={}", patient.patient_id)],
        ),
        None,
    )
    .await
    .unwrap()
    .collect()
    .await;
    assert_eq!(results.len(), patient.studies.len());

    let mut events = scu::get(
        &address,
        &tls,
        QueryModel::StudyRoot,
        vec![retrieve_identifier(
            QueryLevel::Study,
            &[&format!("StudyInstanceUID={}", study.study_instance_uid)],
        )],
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap();
    let mut got = 0;
    while let Some(event) = events.next().await {
        if let scu::GetEvent::Instance(instance) = event.unwrap() {
            assert_same_as_corpus(instance, &corpus);
            got += 1;
        }
    }
    let want: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();
    assert_eq!(got, want);
}
