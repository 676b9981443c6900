//! A secured DICOMweb server: HTTPS with a CA made in the test (Orthanc behind a TLS
//! terminator) and HTTP Basic authentication (Orthanc's registered users).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adit_core::instance::Instance;
use adit_core::model::{Query, QueryLevel};
use adit_core::sink::StoreOutcome;
use adit_dicomweb::client::WadoTarget;
use adit_dicomweb::{ClientConfig, DicomWebClient, Error, RetryPolicy};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::peers::orthanc::basic_authorization;
use adit_testkit::{Orthanc, TlsProxy};
use futures::TryStreamExt;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

const USER: &str = "adit";
const PASSWORD: &str = "s3cret-pw";

/// A throw-away CA and a server certificate it signed for 127.0.0.1 and localhost.
struct TestPki {
    ca_pem: String,
    /// Server certificate, then its key: what the TLS terminator loads.
    server_pem: String,
}

fn make_pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ADIT-RS test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        server_pem: format!("{}{}", server_cert.pem(), server_key.serialize_pem()),
    }
}

fn small_corpus(seed: &str) -> (Corpus, String, BTreeMap<String, Instance>) {
    let corpus = Corpus::new(
        CorpusSpec::new(seed)
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(3)
            .image_size(64, 64),
    );
    let study = corpus.manifest().patients[0].studies[0]
        .study_instance_uid
        .clone();
    let instances = corpus
        .study_instances(&study)
        .map(|g| {
            let i = Instance::from_part10(g.to_part10().unwrap()).unwrap();
            (i.sop_instance_uid().to_owned(), i)
        })
        .collect();
    (corpus, study, instances)
}

/// STOW the instances, find the study with QIDO, fetch it with WADO and compare data sets.
async fn store_find_retrieve(
    client: &DicomWebClient,
    study: &str,
    instances: &BTreeMap<String, Instance>,
) {
    let stored = client
        .store(None, instances.values().cloned().collect())
        .await
        .unwrap();
    assert_eq!(stored.outcomes.len(), instances.len());
    assert!(
        stored
            .outcomes
            .iter()
            .all(|(_, o)| *o == StoreOutcome::Stored),
        "{stored:?}"
    );
    let q = Query::parse(QueryLevel::Study, [format!("StudyInstanceUID={study}")]).unwrap();
    let found: Vec<_> = client
        .search(&q)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let target = WadoTarget::Study {
        study: study.to_owned(),
    };
    let fetched: Vec<Instance> = client
        .retrieve(&target)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(fetched.len(), instances.len());
    for instance in &fetched {
        let original = &instances[instance.sop_instance_uid()];
        assert_eq!(
            instance.dataset_bytes().unwrap(),
            original.dataset_bytes().unwrap()
        );
    }
    let metadata = client.metadata(&target).await.unwrap();
    assert_eq!(metadata.len(), instances.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_the_ca_bundle_works_and_without_it_fails_naming_the_server() {
    let pki = make_pki();
    let orthanc = Orthanc::start("TLSWEB").unwrap();
    let proxy = TlsProxy::start(pki.server_pem.as_bytes(), orthanc.http_port()).unwrap();
    let root = format!("{}/dicom-web", proxy.base_url());
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &pki.ca_pem).unwrap();
    let (_corpus, study, instances) = small_corpus("dicomweb-tls");

    let mut config = ClientConfig::new(&root);
    config.ca_bundle = Some(ca_path.clone());
    let trusted = DicomWebClient::new(config).unwrap();
    store_find_retrieve(&trusted, &study, &instances).await;
    assert_eq!(orthanc.counts().unwrap().instances, instances.len() as u64);

    // The system roots do not know the test CA: a TLS error naming the server, not retried.
    let mut config = ClientConfig::new(&root);
    config.retry = RetryPolicy {
        initial_backoff: Duration::from_secs(3),
        ..RetryPolicy::default()
    };
    let untrusting = DicomWebClient::new(config).unwrap();
    let started = Instant::now();
    let err = untrusting
        .search(&Query::new(QueryLevel::Study))
        .await
        .err()
        .expect("the test CA is not trusted");
    assert!(started.elapsed() < Duration::from_secs(2), "not retried");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(!err.is_retriable());
    let text = err.to_string();
    let host = format!("127.0.0.1:{}", proxy.port());
    assert!(
        text.contains(&format!("TLS handshake with {host} failed")),
        "{text}"
    );
    assert!(text.contains("ca_bundle"), "names the fix: {text}");
    let core: adit_core::Error = err.into();
    assert!(core.to_string().contains(&host), "{core}");

    // A CA bundle of another CA fails the same way; a file without certificates is a
    // configuration error.
    std::fs::write(&ca_path, make_pki().ca_pem).unwrap();
    let mut config = ClientConfig::new(&root);
    config.ca_bundle = Some(ca_path.clone());
    let wrong_ca = DicomWebClient::new(config).unwrap();
    let err = wrong_ca
        .retrieve(&WadoTarget::Study {
            study: study.clone(),
        })
        .await
        .err()
        .expect("another CA");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    std::fs::write(&ca_path, "not a certificate\n").unwrap();
    let mut config = ClientConfig::new(&root);
    config.ca_bundle = Some(ca_path);
    let err = DicomWebClient::new(config).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn authorization_is_sent_on_stow_qido_wado_and_a_wrong_one_is_a_clear_401() {
    let orthanc = Orthanc::builder()
        .ae_title("AUTHWEB")
        .user(USER, PASSWORD)
        .start()
        .unwrap();
    let root = orthanc.dicomweb_root();
    let (_corpus, study, instances) = small_corpus("dicomweb-auth");

    let mut config = ClientConfig::new(&root);
    config.authorization = Some(basic_authorization(USER, PASSWORD));
    let authorized = DicomWebClient::new(config).unwrap();
    store_find_retrieve(&authorized, &study, &instances).await;

    // A wrong password and no header at all: 401 at once, on every service, never retried
    // (a backoff of 3 s would show).
    for authorization in [Some(basic_authorization(USER, "wrong")), None] {
        let mut config = ClientConfig::new(&root);
        config.authorization = authorization;
        config.retry = RetryPolicy {
            initial_backoff: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        let client = DicomWebClient::new(config).unwrap();
        let started = Instant::now();
        let qido = client
            .search(&Query::new(QueryLevel::Study))
            .await
            .err()
            .expect("QIDO refused");
        let wado = client
            .retrieve(&WadoTarget::Study {
                study: study.clone(),
            })
            .await
            .err()
            .expect("WADO refused");
        let stow = client
            .store(None, instances.values().take(1).cloned().collect())
            .await
            .expect_err("STOW refused");
        assert!(started.elapsed() < Duration::from_secs(2), "not retried");
        for (err, operation) in [(qido, "QIDO-RS"), (wado, "WADO-RS"), (stow, "STOW-RS")] {
            assert!(
                matches!(err, Error::Status { status: 401, .. }),
                "{operation}: {err:?}"
            );
            assert!(!err.is_retriable());
            let text = err.to_string();
            assert!(text.contains("HTTP 401 Unauthorized"), "{text}");
            assert!(text.contains(operation), "{text}");
            assert!(text.contains(&root), "{text}");
            assert!(!text.contains(PASSWORD), "{text}");
        }
    }
}
