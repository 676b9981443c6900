//! The DICOMweb facade in-process (`oneshot`) against real Orthanc peers, with each Orthanc
//! added as a DIMSE node (by AE title) and as a DICOMweb node (by name) through the nodes API:
//! authentication, per-group node access (404), `can_*` permissions (403), bad input (400,
//! 415), QIDO against Orthanc's own answers, WADO counts, bytes and pseudonymization, metadata,
//! STOW 200/202/409, early and late failures. The access rules run on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::num::NonZeroU16;

use adit_core::instance::Instance;
use adit_core::model::{AeTitle, DicomWebServer, DimseCapabilities, DimseServer, Node};
use adit_dicomweb::codec::media_type::MultipartRelated;
use adit_dicomweb::codec::multipart::{MultipartReader, MultipartWriter, Part};
use adit_server::accounts::{self, NewUser, Permission};
use adit_server::db::Db;
use adit_server::nodes;
use adit_server::web::{AppState, app};
use adit_testkit::Orthanc;
use adit_testkit::corpus::{Corpus, CorpusSpec};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::TestDb;
use dicom_dictionary_std::tags;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const DIMSE_AE: &str = "ORTHANCA";
const WEB_NODE: &str = "orthanc-web";

struct Fixture {
    _t: TestDb,
    state: AppState,
    orthanc: Orthanc,
    corpus: Corpus,
    /// Source and destination of both nodes; can_query, can_retrieve, can_store.
    alice: String,
    /// In a group without access to the nodes.
    bob: String,
    /// Node access, no DICOMweb permission.
    carol: String,
}

async fn user_with_token(db: &Db, name: &str, group: &str) -> (accounts::User, String) {
    let user = accounts::users::create(
        db,
        &NewUser {
            username: name.into(),
            password: "pw".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let group = accounts::groups::create(db, group).await.unwrap();
    accounts::groups::add_member(db, group.id, user.id)
        .await
        .unwrap();
    let token = accounts::tokens::create(db, &user, "", None)
        .await
        .unwrap()
        .token;
    let user = accounts::users::by_id(db, user.id).await.unwrap().unwrap();
    (user, token)
}

async fn fixture(seed: &str) -> Fixture {
    fixture_on(TestDb::sqlite().await, seed).await
}

async fn fixture_on(t: TestDb, seed: &str) -> Fixture {
    let db = t.db().await;
    let config = t.config(&[
        ("ADIT_SECRET_KEY", "facade-test-secret"),
        ("ADIT_CALLING_AE", "ADITTEST"),
    ]);
    let state = AppState::new(db.clone(), config);

    let orthanc = Orthanc::start(DIMSE_AE).unwrap();
    let corpus = Corpus::new(
        CorpusSpec::new(seed)
            .patients(1)
            .studies_per_patient(2)
            .series_per_study(2)
            .instances_per_series(2)
            .image_size(32, 32),
    );
    orthanc.upload_corpus(&corpus).unwrap();

    let dimse = nodes::add(
        &db,
        &Node::dimse(
            "orthanc-dimse",
            DimseServer::new(
                AeTitle::new(DIMSE_AE).unwrap(),
                "127.0.0.1",
                NonZeroU16::new(orthanc.dicom_port()).unwrap(),
            )
            .with_capabilities(DimseCapabilities::all()),
        ),
    )
    .await
    .unwrap();
    let web = nodes::add(
        &db,
        &Node::dicomweb(WEB_NODE, DicomWebServer::new(orthanc.dicomweb_root())),
    )
    .await
    .unwrap();

    let (alice, alice_token) = user_with_token(&db, "alice", "radiology").await;
    let radiology = alice.active_group.unwrap();
    for p in [
        Permission::CanQuery,
        Permission::CanRetrieve,
        Permission::CanStore,
    ] {
        accounts::groups::grant(&db, radiology, p).await.unwrap();
    }
    let (bob, bob_token) = user_with_token(&db, "bob", "elsewhere").await;
    for p in Permission::ALL {
        accounts::groups::grant(&db, bob.active_group.unwrap(), *p)
            .await
            .unwrap();
    }
    let (carol, carol_token) = user_with_token(&db, "carol", "no-dicomweb").await;
    for node in [dimse.id, web.id] {
        nodes::grant(&db, radiology, node, true, true)
            .await
            .unwrap();
        nodes::grant(&db, carol.active_group.unwrap(), node, true, true)
            .await
            .unwrap();
    }
    Fixture {
        _t: t,
        state,
        orthanc,
        corpus,
        alice: alice_token,
        bob: bob_token,
        carol: carol_token,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn detail(&self) -> String {
        self.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The multipart parts of the body.
    async fn parts(&self) -> Vec<Part> {
        let content_type = self.headers[header::CONTENT_TYPE].to_str().unwrap();
        let related = MultipartRelated::from_content_type(content_type).unwrap();
        assert_eq!(
            related.part_type.unwrap().essence(),
            "application/dicom",
            "{content_type}"
        );
        let stream = futures::stream::iter([Ok::<_, adit_dicomweb::Error>(self.body.clone())]);
        let mut reader = MultipartReader::new(stream, &related.boundary).unwrap();
        let mut parts = Vec::new();
        while let Some(part) = reader.next_part().await.unwrap() {
            parts.push(part);
        }
        parts
    }
}

async fn call(
    f: &Fixture,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "adit.test");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Token {token}"));
    }
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = app(f.state.clone())
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(f: &Fixture, path: &str, token: &str) -> Answer {
    call(f, Method::GET, path, Some(token), None, Vec::new()).await
}

fn multipart_body(instances: &[Vec<u8>]) -> (String, Vec<u8>) {
    let writer = MultipartWriter::new();
    let parts: Vec<Part> = instances
        .iter()
        .map(|bytes| Part::new("application/dicom", bytes.clone()))
        .collect();
    (
        writer.content_type("application/dicom"),
        writer.encode_to_vec(&parts),
    )
}

/// STOW-RS of `instances` (Part-10 files) to `path` as alice.
async fn stow(f: &Fixture, path: &str, instances: &[Vec<u8>]) -> Answer {
    let (content_type, body) = multipart_body(instances);
    call(
        f,
        Method::POST,
        path,
        Some(&f.alice),
        Some(&content_type),
        body,
    )
    .await
}

fn text(object: &dicom_object::InMemDicomObject, tag: dicom_core::Tag) -> String {
    object
        .get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
        .unwrap_or_default()
}

fn uids(results: &Value, tag: &str) -> Vec<String> {
    let mut out: Vec<String> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[tag]["Value"][0].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn access_authentication_and_bad_input(t: TestDb) {
    let f = fixture_on(t, "facade-access").await;
    let (_, study) = f.corpus.manifest().studies().next().unwrap();
    let series = &study.series[0];
    let (s, se, i) = (
        &study.study_instance_uid,
        &series.series_instance_uid,
        &series.sop_instance_uids[0],
    );
    let routes: Vec<(Method, String)> = [
        "qidors/studies".to_owned(),
        format!("qidors/studies/{s}/series"),
        format!("qidors/studies/{s}/series/{se}/instances"),
        format!("wadors/studies/{s}"),
        format!("wadors/studies/{s}/metadata"),
        format!("wadors/studies/{s}/series/{se}"),
        format!("wadors/studies/{s}/series/{se}/metadata"),
        format!("wadors/studies/{s}/series/{se}/instances/{i}"),
        format!("wadors/studies/{s}/series/{se}/instances/{i}/metadata"),
    ]
    .into_iter()
    .map(|p| (Method::GET, p))
    .chain([
        (Method::POST, "stowrs/studies".to_owned()),
        (Method::POST, format!("stowrs/studies/{s}")),
    ])
    .collect();
    let (stow_type, stow_body) = multipart_body(&[]);
    for node in [DIMSE_AE, WEB_NODE] {
        for (method, route) in &routes {
            let path = format!("/api/dicom-web/{node}/{route}");
            let bad = "0123456789abcdef0123456789abcdef01234567";
            let cases = [
                (None, StatusCode::UNAUTHORIZED, ""),
                (Some(bad), StatusCode::UNAUTHORIZED, ""),
                (
                    Some(f.bob.as_str()),
                    StatusCode::NOT_FOUND,
                    "does not exist or is not accessible",
                ),
                (Some(f.carol.as_str()), StatusCode::FORBIDDEN, "can_"),
            ];
            for (token, status, detail) in cases {
                let a = call(
                    &f,
                    method.clone(),
                    &path,
                    token,
                    Some(&stow_type),
                    stow_body.clone(),
                )
                .await;
                assert_eq!(a.status, status, "{path} {token:?}");
                assert!(a.detail().contains(detail), "{path}: {}", a.detail());
            }
        }
        // A node nobody has, and a folder name, are 404 for everyone.
        let a = get(&f, "/api/dicom-web/NOSUCHAE/qidors/studies", &f.alice).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);

        // QIDO keys must be keywords.
        for bad in ["00100020=1", "offset=1", "fuzzymatching=true", "Foo=1"] {
            let key = bad.split('=').next().unwrap();
            let a = get(
                &f,
                &format!("/api/dicom-web/{node}/qidors/studies?{bad}"),
                &f.alice,
            )
            .await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(a.detail().contains(key), "{}", a.detail());
        }
        // UIDs in the path must be UIDs.
        for route in [
            "qidors/studies/1.2x/series".to_owned(),
            format!("qidors/studies/{s}/series/a.b/instances"),
            "wadors/studies/1..2".to_owned(),
            format!("wadors/studies/{s}/series/{se}/instances/x/metadata"),
        ] {
            let a = get(&f, &format!("/api/dicom-web/{node}/{route}"), &f.alice).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{route}");
            assert!(a.detail().contains("not a DICOM UID"), "{}", a.detail());
        }

        // Bad pseudonymization parameters.
        for bad in [
            "pseudonym=A*",
            "pseudonym=A%5CB",
            "pseudonym=A%0AB",
            "trial_protocol_id=T%5C1",
            "trial_protocol_name=N%3F",
        ] {
            let a = get(
                &f,
                &format!("/api/dicom-web/{node}/wadors/studies/{s}?{bad}"),
                &f.alice,
            )
            .await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.detail());
        }
        let long = "x".repeat(65);
        let a = get(
            &f,
            &format!("/api/dicom-web/{node}/wadors/studies/{s}/metadata?pseudonym={long}"),
            &f.alice,
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);

        // STOW needs multipart/related; type=application/dicom.
        for content_type in [
            "application/dicom",
            "multipart/related; type=\"application/json\"; boundary=x",
            "multipart/related; boundary=x",
        ] {
            let a = call(
                &f,
                Method::POST,
                &format!("/api/dicom-web/{node}/stowrs/studies"),
                Some(&f.alice),
                Some(content_type),
                b"--x--".to_vec(),
            )
            .await;
            assert_eq!(
                a.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type}"
            );
        }
    }
    // A folder node cannot be addressed.
    nodes::add(
        &f.state.db,
        &Node::folder("downloads", adit_core::model::FolderNode::new("/tmp")),
    )
    .await
    .unwrap();
    let a = get(&f, "/api/dicom-web/downloads/qidors/studies", &f.alice).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qido_and_wado_against_orthanc() {
    let f = fixture("facade-qido-wado").await;
    let manifest = f.corpus.manifest().clone();
    let patient = &manifest.patients[0];
    let study = &patient.studies[0];
    let series = &study.series[0];
    let s = &study.study_instance_uid;
    let orthanc_studies = f.orthanc.get_json("/dicom-web/studies").unwrap();
    let orthanc_series = f
        .orthanc
        .get_json(&format!("/dicom-web/studies/{s}/series"))
        .unwrap();

    for node in [DIMSE_AE, WEB_NODE] {
        let base = format!("/api/dicom-web/{node}");
        // QIDO matches Orthanc's own answers.
        let a = get(
            &f,
            &format!("{base}/qidors/studies?PatientID={}", patient.patient_id),
            &f.alice,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{node}: {:?}", a.body);
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/dicom+json");
        let studies = a.json();
        assert_eq!(
            uids(&studies, "0020000D"),
            uids(&orthanc_studies, "0020000D"),
            "{node}"
        );
        let a = get(&f, &format!("{base}/qidors/studies?limit=1"), &f.alice).await;
        assert_eq!(a.json().as_array().unwrap().len(), 1, "{node}");
        let a = get(
            &f,
            &format!(
                "{base}/qidors/studies?StudyInstanceUID={s}&includefield=StudyDescription&includefield=PatientName"
            ),
            &f.alice,
        )
        .await;
        let found = a.json();
        assert_eq!(found.as_array().unwrap().len(), 1, "{node}");
        assert_eq!(found[0]["00081030"]["Value"][0], study.description.as_str());
        let a = get(&f, &format!("{base}/qidors/studies/{s}/series"), &f.alice).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(
            uids(&a.json(), "0020000E"),
            uids(&orthanc_series, "0020000E"),
            "{node}"
        );
        let a = get(
            &f,
            &format!(
                "{base}/qidors/studies/{s}/series/{}/instances",
                series.series_instance_uid
            ),
            &f.alice,
        )
        .await;
        let mut expected = series.sop_instance_uids.clone();
        expected.sort();
        assert_eq!(uids(&a.json(), "00080018"), expected, "{node}");

        // WADO study: every instance, as stored by Orthanc (same data set).
        let a = get(&f, &format!("{base}/wadors/studies/{s}"), &f.alice).await;
        assert_eq!(a.status, StatusCode::OK, "{node}");
        let parts = a.parts().await;
        let count: usize = study
            .series
            .iter()
            .map(|se| se.sop_instance_uids.len())
            .sum();
        assert_eq!(parts.len(), count, "{node}");
        let mut total = 0;
        for part in &parts {
            total += part.body().len();
            let mut instance = Instance::from_part10(part.body().clone()).unwrap();
            let sop = instance.sop_instance_uid().to_owned();
            let original = f.orthanc.instance_file(&sop).unwrap().unwrap();
            let mut original = Instance::from_part10(original).unwrap();
            let ours = instance.object().unwrap().clone().into_inner();
            let theirs = original.object().unwrap().clone().into_inner();
            assert_eq!(text(&ours, tags::PATIENT_ID), patient.patient_id, "{node}");
            assert_eq!(
                ours.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap(),
                theirs.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap()
            );
        }
        assert!(total > count * 32 * 32 * 2, "{node}: {total} bytes");
        assert!(a.body.len() > total);

        // Series and instance level.
        let se = &series.series_instance_uid;
        let a = get(
            &f,
            &format!("{base}/wadors/studies/{s}/series/{se}"),
            &f.alice,
        )
        .await;
        assert_eq!(a.parts().await.len(), series.sop_instance_uids.len());
        let i = &series.sop_instance_uids[1];
        let a = get(
            &f,
            &format!("{base}/wadors/studies/{s}/series/{se}/instances/{i}"),
            &f.alice,
        )
        .await;
        let parts = a.parts().await;
        assert_eq!(parts.len(), 1);
        let instance = Instance::from_part10(parts[0].body().clone()).unwrap();
        assert_eq!(instance.sop_instance_uid(), i);

        // Pseudonymized with the server's secret, trial tags set.
        let a = get(
            &f,
            &format!(
                "{base}/wadors/studies/{s}?pseudonym=SUBJ-01&trial_protocol_id=T1&trial_protocol_name=Trial%20One"
            ),
            &f.alice,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        let parts = a.parts().await;
        assert_eq!(parts.len(), count);
        for part in &parts {
            let object = Instance::from_part10(part.body().clone())
                .unwrap()
                .into_object()
                .unwrap()
                .into_inner();
            assert_eq!(text(&object, tags::PATIENT_ID), "SUBJ-01");
            assert_ne!(text(&object, tags::PATIENT_NAME), patient.patient_name);
            assert_ne!(text(&object, tags::STUDY_INSTANCE_UID), *s);
            assert_eq!(text(&object, tags::CLINICAL_TRIAL_PROTOCOL_ID), "T1");
            assert_eq!(
                text(&object, tags::CLINICAL_TRIAL_PROTOCOL_NAME),
                "Trial One"
            );
        }

        // Trial tags alone do not pseudonymize (as ADIT).
        let a = get(
            &f,
            &format!("{base}/wadors/studies/{s}/series/{se}/instances/{i}?trial_protocol_id=T2"),
            &f.alice,
        )
        .await;
        let parts = a.parts().await;
        let object = Instance::from_part10(parts[0].body().clone())
            .unwrap()
            .into_object()
            .unwrap()
            .into_inner();
        assert_eq!(text(&object, tags::PATIENT_ID), patient.patient_id);
        assert_eq!(text(&object, tags::CLINICAL_TRIAL_PROTOCOL_ID), "T2");

        // Metadata: DICOM JSON without Pixel Data, pseudonymized the same way.
        let a = get(
            &f,
            &format!("{base}/wadors/studies/{s}/metadata?pseudonym=SUBJ-01"),
            &f.alice,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/dicom+json");
        let metadata = a.json();
        assert_eq!(metadata.as_array().unwrap().len(), count);
        for item in metadata.as_array().unwrap() {
            assert!(item.get("7FE00010").is_none());
            assert_eq!(item["00100020"]["Value"][0], "SUBJ-01");
            assert!(item.get("00280010").is_some(), "Rows kept");
        }
        let a = get(
            &f,
            &format!("{base}/wadors/studies/{s}/series/{se}/instances/{i}/metadata"),
            &f.alice,
        )
        .await;
        assert_eq!(a.json().as_array().unwrap().len(), 1);

        // A study the node does not have: a clean JSON error before any body (Orthanc's
        // C-GET answers "all sub-operations failed", i.e. 502; its WADO-RS 404).
        let a = get(
            &f,
            &format!("{base}/wadors/studies/1.2.3.4.5.6.7"),
            &f.alice,
        )
        .await;
        let expected = if node == DIMSE_AE {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(a.status, expected, "{node}: {}", a.detail());
        assert!(!a.detail().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stow_reports_200_202_409() {
    let f = fixture("facade-stow-source").await;
    let upload = Corpus::new(
        CorpusSpec::new("facade-stow-upload")
            .patients(1)
            .studies_per_patient(2)
            .series_per_study(1)
            .instances_per_series(2)
            .image_size(32, 32),
    );
    let studies: Vec<_> = upload
        .manifest()
        .studies()
        .map(|(_, s)| s.clone())
        .collect();
    let files = |study: &str| -> Vec<Vec<u8>> {
        upload
            .study_instances(study)
            .map(|i| i.to_part10().unwrap())
            .collect()
    };
    let (a_uid, b_uid) = (
        &studies[0].study_instance_uid,
        &studies[1].study_instance_uid,
    );
    let before = f.orthanc.counts().unwrap().instances;

    // 200: everything stored, through the DIMSE node.
    let a = stow(
        &f,
        &format!("/api/dicom-web/{DIMSE_AE}/stowrs/studies"),
        &files(a_uid),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let answer = a.json();
    assert_eq!(answer["00081199"]["Value"].as_array().unwrap().len(), 2);
    assert!(answer.get("00081198").is_none());
    assert_eq!(
        answer["00081190"]["Value"][0],
        format!("http://adit.test/api/dicom-web/{DIMSE_AE}/wadors/studies/{a_uid}")
    );
    assert_eq!(f.orthanc.counts().unwrap().instances, before + 2);

    // 202: stowrs/studies/{b} with b's instances and one of a's (reported, not skipped),
    // through the DICOMweb node.
    let mut mixed = files(b_uid);
    mixed.push(files(a_uid).remove(0));
    mixed.push(b"not dicom at all".to_vec());
    let a = stow(
        &f,
        &format!("/api/dicom-web/{WEB_NODE}/stowrs/studies/{b_uid}"),
        &mixed,
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let answer = a.json();
    assert_eq!(answer["00081199"]["Value"].as_array().unwrap().len(), 2);
    let failed = answer["00081198"]["Value"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{answer}");
    assert_eq!(failed[0]["00081197"]["Value"][0], 0xA900);
    assert_eq!(failed[1]["00081197"]["Value"][0], 0xC000);
    assert_eq!(f.orthanc.counts().unwrap().instances, before + 4);

    // 409: nothing of the URL's study.
    let a = stow(
        &f,
        &format!("/api/dicom-web/{DIMSE_AE}/stowrs/studies/1.2.3.999"),
        &files(a_uid),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.json()["00081198"]["Value"].as_array().unwrap().len(), 2);
    assert_eq!(f.orthanc.counts().unwrap().instances, before + 4);

    // The stored instances can be searched through the facade.
    let a = get(
        &f,
        &format!("/api/dicom-web/{DIMSE_AE}/qidors/studies?StudyInstanceUID={b_uid}"),
        &f.alice,
    )
    .await;
    assert_eq!(a.json().as_array().unwrap().len(), 1);
}

/// Answers QIDO (any DICOM JSON request) with 404 and every WADO request with a chunked multipart body holding one complete DICOM part and the
/// start of a second, then drops the connection: a failure after streaming started.
async fn broken_dicomweb_server(first: Vec<u8>, stall: std::time::Duration) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let first = first.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if head.contains("accept: application/dicom+json") {
                    // QIDO (the source counts or lists what it expects): not offered.
                    let _ = socket
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let mut chunk = b"--fakeb\r\nContent-Type: application/dicom\r\n\r\n".to_vec();
                chunk.extend_from_slice(&first);
                chunk.extend_from_slice(b"\r\n--fakeb\r\nContent-Type: application/dicom\r\n\r\n");
                chunk.extend_from_slice(&first[..first.len() / 2]);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/related; \
                            type=\"application/dicom\"; boundary=fakeb\r\n\
                            Transfer-Encoding: chunked\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await;
                let _ = socket.write_all(&chunk).await;
                let _ = socket.write_all(b"\r\n").await;
                let _ = socket.flush().await;
                tokio::time::sleep(stall).await;
                // Dropped without the terminating chunk.
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_before_and_after_streaming_started() {
    let f = fixture("facade-failures").await;
    let db = &f.state.db;
    let group = accounts::groups::by_name(db, "radiology").await.unwrap().id;
    let dead_port = adit_testkit::free_port().unwrap();
    let first = f.corpus.instances().next().unwrap();
    let first_bytes = first.to_part10().unwrap();
    let broken_port =
        broken_dicomweb_server(first_bytes.clone(), std::time::Duration::from_millis(200)).await;
    let stalled_port =
        broken_dicomweb_server(first_bytes.clone(), std::time::Duration::from_secs(60)).await;
    let added = [
        Node::dimse(
            "dead-dimse",
            DimseServer::new(
                AeTitle::new("DEADAE").unwrap(),
                "127.0.0.1",
                NonZeroU16::new(dead_port).unwrap(),
            )
            .with_capabilities(DimseCapabilities::all()),
        ),
        Node::dicomweb(
            "dead-web",
            DicomWebServer::new(format!("http://127.0.0.1:{dead_port}/dicom-web")),
        ),
        Node::dicomweb(
            "broken-web",
            DicomWebServer::new(format!("http://127.0.0.1:{broken_port}/dicom-web")),
        ),
        Node::dicomweb(
            "stalled-web",
            DicomWebServer::new(format!("http://127.0.0.1:{stalled_port}/dicom-web")),
        ),
    ];
    for node in &added {
        let stored = nodes::add(db, node).await.unwrap();
        nodes::grant(db, group, stored.id, true, true)
            .await
            .unwrap();
    }

    // Nothing listening: a clean, retriable JSON error before any body.
    for node in ["DEADAE", "dead-web"] {
        for route in [
            "qidors/studies",
            "wadors/studies/1.2.3",
            "wadors/studies/1.2.3/metadata",
        ] {
            let a = get(&f, &format!("/api/dicom-web/{node}/{route}"), &f.alice).await;
            assert_eq!(
                a.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{node} {route}: {}",
                a.detail()
            );
            assert!(!a.detail().is_empty());
        }
    }

    // STOW to a node that is down: the same clean error, not a 409.
    for node in ["DEADAE", "dead-web"] {
        let a = stow(
            &f,
            &format!("/api/dicom-web/{node}/stowrs/studies"),
            std::slice::from_ref(&first_bytes),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{node}: {}",
            a.detail()
        );
    }

    // Broken after the first instance: that instance, then a text/plain error part.
    let a = get(
        &f,
        "/api/dicom-web/broken-web/wadors/studies/1.2.3",
        &f.alice,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let parts = a.parts().await;
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0].content_type(), Some("application/dicom"));
    let instance = Instance::from_part10(parts[0].body().clone()).unwrap();
    assert_eq!(
        instance.sop_instance_uid(),
        text(&first.object, tags::SOP_INSTANCE_UID)
    );
    assert_eq!(parts[1].content_type(), Some("text/plain"));
    let message = String::from_utf8_lossy(parts[1].body());
    assert!(
        message.starts_with("Error: Failed to fetch DICOM data: "),
        "{message}"
    );

    // Streamed: the first instance reaches the client while the node still holds back the
    // rest (it stalls for a minute).
    let request = Request::builder()
        .uri("/api/dicom-web/stalled-web/wadors/studies/1.2.3")
        .header(header::AUTHORIZATION, format!("Token {}", f.alice))
        .body(Body::empty())
        .unwrap();
    let started = std::time::Instant::now();
    let response = app(f.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut received = Vec::new();
    while received.len() < first_bytes.len() {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("the first instance is streamed without waiting for the rest")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            received.extend_from_slice(&data);
        }
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    drop(body);

    // Large STOW bodies are streamed, not refused by a body limit.
    let big = Corpus::new(
        CorpusSpec::new("facade-big")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(1)
            .instances_per_series(2)
            .image_size(1024, 1024),
    );
    let files: Vec<Vec<u8>> = big.instances().map(|i| i.to_part10().unwrap()).collect();
    let (content_type, body) = multipart_body(&files);
    assert!(body.len() > 3 << 20);
    let a = call(
        &f,
        Method::POST,
        &format!("/api/dicom-web/{DIMSE_AE}/stowrs/studies"),
        Some(&f.alice),
        Some(&content_type),
        body,
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
}

both_backends! {
    access_authentication_and_bad_input => access_sqlite, access_postgres;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wado_by_c_move_through_the_receiver() {
    use adit_dimse::scp::{MoveCoordinator, Receiver, ReceiverOptions};
    const RECEIVER_AE: &str = "ADIT-RCV";

    let mut f = fixture("facade-move").await;
    let spool = tempfile::tempdir().unwrap();
    let receiver = Receiver::bind(
        ("127.0.0.1", 0),
        ReceiverOptions::new(RECEIVER_AE, spool.path()),
    )
    .await
    .unwrap();
    f.orthanc
        .add_modality(
            "ADIT",
            &adit_testkit::DicomAddress::loopback(RECEIVER_AE, receiver.local_addr().port()),
        )
        .unwrap();
    let group = accounts::groups::by_name(&f.state.db, "radiology")
        .await
        .unwrap()
        .id;
    let move_only = DimseCapabilities {
        study_root_find: true,
        study_root_move: true,
        ..DimseCapabilities::default()
    };
    let stored = nodes::add(
        &f.state.db,
        &Node::dimse(
            "orthanc-move",
            DimseServer::new(
                AeTitle::new("MOVEONLY").unwrap(),
                "127.0.0.1",
                NonZeroU16::new(f.orthanc.dicom_port()).unwrap(),
            )
            .with_capabilities(move_only),
        ),
    )
    .await
    .unwrap();
    nodes::grant(&f.state.db, group, stored.id, true, false)
        .await
        .unwrap();
    let (_, study) = f.corpus.manifest().studies().next().unwrap();
    let s = study.study_instance_uid.clone();
    let count: usize = study
        .series
        .iter()
        .map(|se| se.sop_instance_uids.len())
        .sum();
    let path = format!("/api/dicom-web/MOVEONLY/wadors/studies/{s}?pseudonym=SUBJ-07");

    // Without a receiver: the node cannot be retrieved from.
    let a = get(&f, &path, &f.alice).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.detail());
    assert!(a.detail().contains("C-MOVE"), "{}", a.detail());

    let coordinator = MoveCoordinator::for_receiver(&receiver)
        .unwrap()
        .with_inactivity_timeout(std::time::Duration::from_secs(5));
    f.state = f.state.clone().with_move_coordinator(coordinator);
    let a = get(&f, &path, &f.alice).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.detail());
    let parts = a.parts().await;
    assert_eq!(parts.len(), count);
    for part in &parts {
        let object = Instance::from_part10(part.body().clone())
            .unwrap()
            .into_object()
            .unwrap()
            .into_inner();
        assert_eq!(text(&object, tags::PATIENT_ID), "SUBJ-07");
    }
}
