//! The audit log end to end: a login, a job created through the REST API and run by a worker
//! against real Orthanc peers (a pseudonymized C-GET transfer A → B), a C-ECHO, a DICOMweb
//! retrieve, node changes, and then the staff view of the log (JSON and CSV) naming each of
//! them with user, node, study and whether the data left pseudonymized.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use adit_core::model::DimseCapabilities;
use adit_core::pseudonymize::Secret;
use adit_queue::WorkerConfig;
use adit_server::accounts::{self, NewUser, Permission, groups};
use adit_server::jobs::Jobs;
use adit_server::nodes;
use adit_server::web::{AppState, app};
use adit_server::worker::{WorkerEnv, worker};
use adit_testkit::Orthanc;
use adit_testkit::corpus::{Corpus, CorpusSpec};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestDb, dimse_node, find_get_patient_root};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Source and destination at once: the audit test needs only one kind of node.
fn source_and_destination() -> DimseCapabilities {
    DimseCapabilities {
        store: true,
        ..find_get_patient_root()
    }
}

async fn send(
    state: &AppState,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(path);
    if !token.is_empty() {
        request = request.header(header::AUTHORIZATION, format!("Token {token}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(&json).unwrap())
        }
        None => Body::empty(),
    };
    let response = app(state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

async fn send_json(
    state: &AppState,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, bytes) = send(state, method, path, token, body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_of_a_real_transfer_is_audited() {
    let corpus = Corpus::new(
        CorpusSpec::new("api-audit")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(1)
            .instances_per_series(2)
            .image_size(32, 32),
    );
    let a = Orthanc::start("ORTHANC-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let study_uid = study.study_instance_uid.clone();
    let n: u64 = study
        .series
        .iter()
        .map(|s| s.sop_instance_uids.len() as u64)
        .sum();

    let t = TestDb::postgres().await;
    let db = t.db().await;
    let state = t.app_state(&db);

    // Accounts and nodes (node changes are audited without a user: they come from the CLI).
    let staff = accounts::users::create(
        &db,
        &NewUser {
            username: "admin".into(),
            password: "pw".into(),
            is_staff: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let staff_token = accounts::tokens::create(&db, &staff, "audit", None)
        .await
        .unwrap()
        .token;
    let jdoe = accounts::users::create(
        &db,
        &NewUser {
            username: "jdoe".into(),
            password: "secret".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = accounts::tokens::create(&db, &jdoe, "audit", None)
        .await
        .unwrap()
        .token;
    let group = groups::create(&db, "research").await.unwrap();
    groups::add_member(&db, group.id, jdoe.id).await.unwrap();
    for permission in [Permission::AddSelectiveTransferJob, Permission::CanRetrieve] {
        groups::grant(&db, group.id, permission).await.unwrap();
    }
    let source = nodes::add(&db, &dimse_node("A", a.address(), source_and_destination()))
        .await
        .unwrap();
    let destination = nodes::add(&db, &dimse_node("B", b.address(), source_and_destination()))
        .await
        .unwrap();
    nodes::grant(&db, group.id, source.id, true, false)
        .await
        .unwrap();
    nodes::grant(&db, group.id, destination.id, false, true)
        .await
        .unwrap();

    // A browser login.
    let (status, _) = send_json(
        &state,
        Method::POST,
        "/login/",
        "",
        Some(json!({"username": "jdoe", "password": "secret"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A job through the API, run by a worker.
    let (status, job) = send_json(
        &state,
        Method::POST,
        "/api/v1/jobs/",
        &token,
        Some(json!({
            "type": "selective_transfer",
            "source": source.id.0,
            "destination": destination.id.0,
            "pseudonym": "SUBJ-9",
            "studies": [{"patient_id": patient.patient_id, "study_uid": study_uid}],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let job_id = job["id"].as_i64().unwrap();
    let jobs = Jobs::on(&db).await.unwrap();
    let mut env = WorkerEnv::new(jobs, Secret::new("test secret").unwrap(), "ADIT-AUDIT");
    env.dimse.connect_timeout = Duration::from_secs(5);
    env.dimse.association_timeout = Duration::from_secs(10);
    env.dimse.dimse_timeout = Duration::from_secs(30);
    let mut worker_config = WorkerConfig::new(["dicom"]).with_concurrency(1);
    worker_config.poll_interval = Duration::from_millis(100);
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    tokio::spawn(worker(Arc::new(env), worker_config).run(shutdown));
    let deadline = Instant::now() + Duration::from_secs(120);
    let job = loop {
        let (_, job) = send_json(
            &state,
            Method::GET,
            &format!("/api/v1/jobs/{job_id}"),
            &token,
            None,
        )
        .await;
        if ["SU", "WA", "FA", "CA"].contains(&job["status"].as_str().unwrap_or_default()) {
            break job;
        }
        assert!(Instant::now() < deadline, "job not done in time: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(job["status"], "SU", "{job}");
    assert_eq!(b.counts().unwrap().instances, n);

    // A C-ECHO to a live peer, and a DICOMweb retrieve (not pseudonymized).
    let (status, echo) = send_json(
        &state,
        Method::POST,
        &format!("/api/v1/nodes/{}/echo", destination.id.0),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, &echo["success"]),
        (StatusCode::OK, &json!(true)),
        "{echo}"
    );
    let (status, body) = send(
        &state,
        Method::GET,
        &format!(
            "/api/dicom-web/{}/wadors/studies/{study_uid}",
            a.address().ae_title
        ),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    // The staff view of the log.
    let (status, page) = send_json(
        &state,
        Method::GET,
        "/api/v1/audit/?page_size=200",
        &staff_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entries = page["items"].as_array().unwrap();
    let find = |action: &str| -> Vec<&Value> {
        entries.iter().filter(|e| e["action"] == action).collect()
    };
    assert_eq!(find("node_add").len(), 2, "{page}");
    assert_eq!(find("node_access").len(), 2, "{page}");
    let login = find("login");
    assert_eq!(login.len(), 1);
    assert_eq!(login[0]["username"], "jdoe");
    assert_eq!(login[0]["address"], "unknown", "no socket in-process");
    let created = find("job_create");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["username"], "jdoe");
    assert!(
        find("token_use").iter().any(|e| e["username"] == "jdoe"),
        "{page}"
    );
    let transfer = find("data_transfer");
    assert_eq!(transfer.len(), 1, "{page}");
    assert_eq!(transfer[0]["username"], "jdoe");
    assert_eq!(transfer[0]["node"], "A -> B");
    assert_eq!(transfer[0]["study_uid"], study_uid.as_str());
    assert_eq!(transfer[0]["pseudonymized"], true);
    let echo = find("node_echo");
    assert_eq!((echo.len(), &echo[0]["node"]), (1, &json!("B")));
    let retrieve = find("data_retrieve");
    assert_eq!(retrieve.len(), 1, "{page}");
    assert_eq!(retrieve[0]["username"], "jdoe");
    assert_eq!(retrieve[0]["node"], "A");
    assert_eq!(retrieve[0]["study_uid"], study_uid.as_str());
    assert_eq!(retrieve[0]["pseudonymized"], false);

    // The same as CSV.
    let (status, csv) = send(
        &state,
        Method::GET,
        "/api/v1/audit.csv?action=data_transfer",
        &staff_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(&format!(",jdoe,data_transfer,,A -> B,{study_uid},true,")),
        "{csv}"
    );
}
