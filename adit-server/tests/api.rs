//! The REST API under `/api/v1/` in-process (`oneshot`, no sockets) on both backends: every
//! route with good input, bad input and a user without the right, the JSON error shape, and
//! the audit entries the actions leave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::num::NonZeroU16;

use adit_core::model::{AeTitle, DimseServer, FolderNode, Node};
use adit_server::accounts::{self, NewUser, Permission, User, groups};
use adit_server::db::Db;
use adit_server::nodes;
use adit_server::web::{AppState, app};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestDb;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// One request; answers status, raw body and the body as JSON (`Null` when not JSON).
async fn send(
    state: &AppState,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> (StatusCode, String, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Token {token}"));
    }
    let body = match body {
        Some((content_type, bytes)) => {
            request = request.header(header::CONTENT_TYPE, content_type);
            Body::from(bytes)
        }
        None => Body::empty(),
    };
    let response = app(state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, text, json)
}

async fn get(state: &AppState, path: &str, token: &str) -> (StatusCode, Value) {
    let (status, _, json) = send(state, Method::GET, path, Some(token), None).await;
    (status, json)
}

async fn post(state: &AppState, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let bytes = serde_json::to_vec(&body).unwrap();
    let (status, _, json) = send(
        state,
        Method::POST,
        path,
        Some(token),
        Some(("application/json", bytes)),
    )
    .await;
    (status, json)
}

/// `POST /api/v1/jobs/<id>/<action>` with an empty JSON body.
async fn job_action(state: &AppState, id: i64, action: &str, token: &str) -> (StatusCode, Value) {
    post(
        state,
        &format!("/api/v1/jobs/{id}/{action}"),
        token,
        json!({}),
    )
    .await
}

async fn delete(state: &AppState, path: &str, token: &str) -> (StatusCode, Value) {
    let (status, _, json) = send(state, Method::DELETE, path, Some(token), None).await;
    (status, json)
}

/// Asserts an error answer: status, stable code, and a message.
fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert!(
        got.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

async fn user(db: &Db, name: &str, is_staff: bool) -> (User, String) {
    let user = accounts::users::create(
        db,
        &NewUser {
            username: name.into(),
            password: "pw".into(),
            is_staff,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = accounts::tokens::create(db, &user, "test", None)
        .await
        .unwrap()
        .token;
    (user, token)
}

/// The world of these tests: a group "radiology" with the job and token permissions and
/// access to a DIMSE source and a folder destination; `alice` in it, `bob` in no group,
/// `staff` a staff member in the group.
struct World {
    state: AppState,
    alice: (User, String),
    bob: (User, String),
    staff: (User, String),
    source: i64,
    destination: i64,
    /// A node nobody has access to.
    hidden: i64,
}

async fn world(t: &TestDb) -> World {
    let db = t.db().await;
    let state = t.app_state(&db);
    let alice = user(&db, "alice", false).await;
    let bob = user(&db, "bob", false).await;
    let staff = user(&db, "staff", true).await;
    let group = groups::create(&db, "radiology").await.unwrap();
    for member in [&alice.0, &staff.0] {
        groups::add_member(&db, group.id, member.id).await.unwrap();
    }
    for permission in [
        Permission::AddSelectiveTransferJob,
        Permission::AddBatchQueryJob,
        Permission::AddBatchTransferJob,
        Permission::ViewToken,
        Permission::AddToken,
        Permission::DeleteToken,
    ] {
        groups::grant(&db, group.id, permission).await.unwrap();
    }
    // A port nothing listens on: C-ECHO gets a refused connection, deterministically.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let pacs = DimseServer::new(
        AeTitle::new("PACS1").unwrap(),
        "127.0.0.1",
        NonZeroU16::new(closed_port).unwrap(),
    );
    let source = nodes::add(&db, &Node::dimse("PACS1", pacs)).await.unwrap();
    let folder = t.data_dir().join("out");
    let destination = nodes::add(&db, &Node::folder("Out", FolderNode::new(&folder)))
        .await
        .unwrap();
    let hidden = nodes::add(&db, &Node::folder("Hidden", FolderNode::new(&folder)))
        .await
        .unwrap();
    nodes::grant(&db, group.id, source.id, true, false)
        .await
        .unwrap();
    nodes::grant(&db, group.id, destination.id, false, true)
        .await
        .unwrap();
    World {
        state,
        alice,
        bob,
        staff,
        source: source.id.0,
        destination: destination.id.0,
        hidden: hidden.id.0,
    }
}

fn transfer_job(w: &World) -> Value {
    json!({
        "type": "selective_transfer",
        "source": w.source,
        "destination": w.destination,
        "studies": [
            {"patient_id": "P1", "study_uid": "1.2.3", "pseudonym": "X1"},
            {"patient_id": "P2", "study_uid": "1.2.4", "series_uids": ["1.2.4.1"], "pseudonym": "X2"},
        ],
    })
}

async fn openapi_document_lists_every_route(t: TestDb) {
    let w = world(&t).await;
    let (status, _, doc) = send(&w.state, Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/jobs/",
        "/api/v1/jobs/upload",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/{action}",
        "/api/v1/jobs/{id}/tasks/",
        "/api/v1/tasks/{id}",
        "/api/v1/tasks/{id}/{action}",
        "/api/v1/nodes/",
        "/api/v1/nodes/{id}/echo",
        "/api/v1/tokens/",
        "/api/v1/tokens/{id}",
        "/api/v1/audit/",
        "/api/v1/audit.csv",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the document");
    }
    let error = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(
        error.as_array().unwrap().contains(&json!("not_found")),
        "{error}"
    );
}

async fn requests_without_credentials_are_401_json(t: TestDb) {
    let w = world(&t).await;
    let (status, _, body) = send(&w.state, Method::GET, "/api/v1/jobs/", None, None).await;
    assert_error(&(status, body), StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, _, body) = send(
        &w.state,
        Method::GET,
        "/api/v1/nodes/",
        Some(&"0".repeat(40)),
        None,
    )
    .await;
    assert_error(&(status, body), StatusCode::UNAUTHORIZED, "unauthorized");
}

async fn jobs_are_created_listed_and_acted_on(t: TestDb) {
    let w = world(&t).await;
    let (alice, bob, staff) = (&w.alice.1, &w.bob.1, &w.staff.1);

    // Good input.
    let (status, job) = post(&w.state, "/api/v1/jobs/", alice, transfer_job(&w)).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["type"], "selective_transfer");
    assert_eq!(job["status"], "PE");
    assert_eq!(job["tasks"]["total"], 2);
    assert_eq!(job["tasks"]["pending"], 2);
    let id = job["id"].as_i64().unwrap();

    // Bad input: a malformed UID, no studies, unknown field, not JSON, missing destination.
    let mut bad = transfer_job(&w);
    bad["studies"][0]["study_uid"] = json!("1.2.x");
    let got = post(&w.state, "/api/v1/jobs/", alice, bad).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert!(got.1["message"].as_str().unwrap().contains("studies[0]"));
    let mut empty = transfer_job(&w);
    empty["studies"] = json!([]);
    let got = post(&w.state, "/api/v1/jobs/", alice, empty).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let mut unknown = transfer_job(&w);
    unknown["colour"] = json!("red");
    let got = post(&w.state, "/api/v1/jobs/", alice, unknown).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, _, body) = send(
        &w.state,
        Method::POST,
        "/api/v1/jobs/",
        Some(alice),
        Some(("text/plain", b"{}".to_vec())),
    )
    .await;
    assert_error(
        &(status, body),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let mut no_destination = transfer_job(&w);
    no_destination["destination"] = Value::Null;
    let got = post(&w.state, "/api/v1/jobs/", alice, no_destination).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");

    // No right: bob has no permission; alice has no access to the hidden node, may not go
    // urgent, and may not transfer unpseudonymized.
    let got = post(&w.state, "/api/v1/jobs/", bob, transfer_job(&w)).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let mut hidden = transfer_job(&w);
    hidden["destination"] = json!(w.hidden);
    let got = post(&w.state, "/api/v1/jobs/", alice, hidden).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let mut urgent = transfer_job(&w);
    urgent["urgent"] = json!(true);
    let got = post(&w.state, "/api/v1/jobs/", alice, urgent).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let mut plain = transfer_job(&w);
    plain["studies"][1]["pseudonym"] = Value::Null;
    let got = post(&w.state, "/api/v1/jobs/", alice, plain).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");

    // Inspect: the owner and staff see it, bob does not.
    let (status, got) = get(&w.state, &format!("/api/v1/jobs/{id}"), alice).await;
    assert_eq!((status, got["id"].as_i64()), (StatusCode::OK, Some(id)));
    let (status, _) = get(&w.state, &format!("/api/v1/jobs/{id}"), staff).await;
    assert_eq!(status, StatusCode::OK);
    let got = get(&w.state, &format!("/api/v1/jobs/{id}"), bob).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = get(&w.state, "/api/v1/jobs/notanumber", alice).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    // List with pagination and filters.
    let (status, page) = get(&w.state, "/api/v1/jobs/?page=1&page_size=1", alice).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        (page["total"].as_i64(), page["page_size"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(page["items"][0]["id"].as_i64(), Some(id));
    let (_, page) = get(&w.state, "/api/v1/jobs/?status=SU", alice).await;
    assert_eq!(page["total"], 0);
    let (_, page) = get(&w.state, "/api/v1/jobs/?type=batch_query", alice).await;
    assert_eq!(page["total"], 0);
    let (_, page) = get(&w.state, "/api/v1/jobs/", bob).await;
    assert_eq!(page["total"], 0, "bob sees no jobs of others");
    let (_, page) = get(&w.state, "/api/v1/jobs/?page_size=100000", staff).await;
    assert_eq!(
        (page["total"].as_i64(), page["page_size"].as_i64()),
        (Some(1), Some(200))
    );
    let owner = w.alice.0.id.0;
    let (_, page) = get(&w.state, &format!("/api/v1/jobs/?owner={owner}"), staff).await;
    assert_eq!(page["total"], 1);
    let got = get(&w.state, &format!("/api/v1/jobs/?owner={owner}"), bob).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = get(&w.state, "/api/v1/jobs/?status=XX", alice).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let got = get(&w.state, "/api/v1/jobs/?page=0", alice).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");

    // Actions: restart is staff-only, retry needs a failed job, bob cannot reach it.
    let got = job_action(&w.state, id, "restart", alice).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = job_action(&w.state, id, "retry", alice).await;
    assert_error(&got, StatusCode::CONFLICT, "conflict");
    let got = job_action(&w.state, id, "cancel", bob).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = job_action(&w.state, id, "explode", alice).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (status, got) = job_action(&w.state, id, "cancel", alice).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["status"], "CA");
    let got = job_action(&w.state, id, "restart", alice).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (status, got) = job_action(&w.state, id, "resume", alice).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["status"], "PE");

    // Delete: bob cannot, alice can while nothing ran.
    let got = delete(&w.state, &format!("/api/v1/jobs/{id}"), bob).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = delete(&w.state, &format!("/api/v1/jobs/{id}"), alice).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = get(&w.state, &format!("/api/v1/jobs/{id}"), alice).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    // Every action left an audit entry with the user.
    let (status, page) = get(
        &w.state,
        "/api/v1/audit/?action=job_action&page_size=200",
        staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let details: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    for action in ["cancel", "resume", "delete"] {
        assert!(
            details.contains(&format!("job {id}: {action}").as_str()),
            "{details:?}"
        );
    }
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["username"] == "alice" && e["address"] == "unknown")
    );
}

async fn batch_jobs_are_created_from_files(t: TestDb) {
    let w = world(&t).await;
    let alice = &w.alice.1;
    let csv = "PatientID;StudyInstanceUID;SeriesInstanceUID;Pseudonym\n\
               0012;1.2.3;1.2.3.1;P1\n\
               0012;1.2.3;1.2.3.2;P1\n\
               0013;1.2.4;;P2\n";
    let path = format!(
        "/api/v1/jobs/upload?type=batch_transfer&source={}&destination={}&project_name=Study",
        w.source, w.destination
    );
    let (status, _, job) = send(
        &w.state,
        Method::POST,
        &path,
        Some(alice),
        Some(("text/csv", csv.as_bytes().to_vec())),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["type"], "batch_transfer");
    assert_eq!(job["project_name"], "Study");
    assert_eq!(job["tasks"]["total"], 2, "two studies");
    let id = job["id"].as_i64().unwrap();
    let (status, tasks) = get(&w.state, &format!("/api/v1/jobs/{id}/tasks/"), alice).await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    assert_eq!(tasks["total"], 2);
    assert_eq!(tasks["items"][0]["patient_id"], "0012");
    assert_eq!(
        tasks["items"][0]["series_uids"],
        json!(["1.2.3.1", "1.2.3.2"])
    );
    assert_eq!(tasks["items"][0]["lines"], json!([2, 3]));
    assert_eq!(tasks["items"][0]["status"], "PE");
    assert!(tasks["items"][0]["log"].is_null(), "the log is for staff");

    // A batch query from a file.
    let query_csv = "PatientID;Modality;From\n1001;CT;01.02.2024\n";
    let path = format!("/api/v1/jobs/upload?type=batch_query&source={}", w.source);
    let (status, _, job) = send(
        &w.state,
        Method::POST,
        &path,
        Some(alice),
        Some(("text/csv", query_csv.as_bytes().to_vec())),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["tasks"]["total"], 1);

    // Bad input: the problems by line and column; a media type that is no batch file.
    let bad = "PatientID,StudyInstanceUID,Pseudonym\n1*,1.2.x,P1\n";
    let path = format!(
        "/api/v1/jobs/upload?type=batch_transfer&source={}&destination={}",
        w.source, w.destination
    );
    let (status, _, body) = send(
        &w.state,
        Method::POST,
        &path,
        Some(alice),
        Some(("text/csv", bad.as_bytes().to_vec())),
    )
    .await;
    assert_error(
        &(status, body.clone()),
        StatusCode::BAD_REQUEST,
        "invalid_input",
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("line 2, StudyInstanceUID"),
        "{body}"
    );
    let (status, _, body) = send(
        &w.state,
        Method::POST,
        &path,
        Some(alice),
        Some(("application/pdf", b"%PDF".to_vec())),
    )
    .await;
    assert_error(
        &(status, body),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let (status, _, body) = send(
        &w.state,
        Method::POST,
        "/api/v1/jobs/upload?type=batch_transfer",
        Some(alice),
        Some(("text/csv", csv.as_bytes().to_vec())),
    )
    .await;
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "invalid_input");

    // No right.
    let (status, _, body) = send(
        &w.state,
        Method::POST,
        &format!(
            "/api/v1/jobs/upload?type=batch_transfer&source={}&destination={}",
            w.source, w.destination
        ),
        Some(&w.bob.1),
        Some(("text/csv", csv.as_bytes().to_vec())),
    )
    .await;
    assert_error(&(status, body), StatusCode::FORBIDDEN, "forbidden");
}

async fn tasks_are_inspected_and_acted_on(t: TestDb) {
    let w = world(&t).await;
    let (alice, bob, staff) = (&w.alice.1, &w.bob.1, &w.staff.1);
    let (_, job) = post(&w.state, "/api/v1/jobs/", alice, transfer_job(&w)).await;
    let job_id = job["id"].as_i64().unwrap();
    let (_, tasks) = get(
        &w.state,
        &format!("/api/v1/jobs/{job_id}/tasks/?page_size=1&page=2"),
        alice,
    )
    .await;
    assert_eq!(
        (
            tasks["total"].as_i64(),
            tasks["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    let task_id = tasks["items"][0]["id"].as_i64().unwrap();
    assert_eq!(tasks["items"][0]["study_uid"], "1.2.4");

    let (status, task) = get(&w.state, &format!("/api/v1/tasks/{task_id}"), alice).await;
    assert_eq!(
        (status, task["job_id"].as_i64()),
        (StatusCode::OK, Some(job_id))
    );
    let (_, task) = get(&w.state, &format!("/api/v1/tasks/{task_id}"), staff).await;
    assert_eq!(task["log"], "", "staff read the log");
    let got = get(&w.state, &format!("/api/v1/tasks/{task_id}"), bob).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = get(&w.state, &format!("/api/v1/jobs/{job_id}/tasks/"), bob).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = get(&w.state, "/api/v1/tasks/999999", alice).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    // Kill is staff-only; reset needs a finished task; delete needs a pending one.
    let got = post(
        &w.state,
        &format!("/api/v1/tasks/{task_id}/kill"),
        alice,
        json!({}),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = post(
        &w.state,
        &format!("/api/v1/tasks/{task_id}/reset"),
        alice,
        json!({}),
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "conflict");
    let got = delete(&w.state, &format!("/api/v1/tasks/{task_id}"), bob).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = delete(&w.state, &format!("/api/v1/tasks/{task_id}"), alice).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, job) = get(&w.state, &format!("/api/v1/jobs/{job_id}"), alice).await;
    assert_eq!(job["tasks"]["total"], 1);
}

async fn nodes_are_listed_and_echoed(t: TestDb) {
    let w = world(&t).await;
    let (status, nodes) = get(&w.state, "/api/v1/nodes/", &w.alice.1).await;
    assert_eq!(status, StatusCode::OK, "{nodes}");
    let names: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Out", "PACS1"]);
    assert_eq!(nodes["items"][1]["ae_title"], "PACS1");
    assert_eq!(nodes["items"][1]["source"], true);
    assert_eq!(nodes["items"][1]["destination"], false);
    let (_, nodes) = get(&w.state, "/api/v1/nodes/", &w.bob.1).await;
    assert_eq!(nodes["items"], json!([]));

    // Nothing listens at PACS1's port: the echo answers, and says it failed.
    let (status, echo) = post(
        &w.state,
        &format!("/api/v1/nodes/{}/echo", w.source),
        &w.alice.1,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{echo}");
    assert_eq!(echo["success"], false);
    assert!(!echo["message"].as_str().unwrap().is_empty());
    let got = post(
        &w.state,
        &format!("/api/v1/nodes/{}/echo", w.destination),
        &w.alice.1,
        json!({}),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let got = post(
        &w.state,
        &format!("/api/v1/nodes/{}/echo", w.source),
        &w.bob.1,
        json!({}),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = post(
        &w.state,
        &format!("/api/v1/nodes/{}/echo", w.hidden),
        &w.alice.1,
        json!({}),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn own_tokens_are_listed_created_and_revoked(t: TestDb) {
    let w = world(&t).await;
    let alice = &w.alice.1;
    let (status, created) = post(
        &w.state,
        "/api/v1/tokens/",
        alice,
        json!({"description": "script", "expires_in_days": 30}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let new_token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(new_token.len(), 40);
    assert!(created["info"]["expires"].is_string());
    let id = created["info"]["id"].as_i64().unwrap();

    // The new token works and is listed (never in full).
    let (status, list) = get(&w.state, "/api/v1/tokens/", &new_token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&new_token));

    // Bad input and missing rights.
    let got = post(
        &w.state,
        "/api/v1/tokens/",
        alice,
        json!({"expires_in_days": 0}),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let got = post(
        &w.state,
        "/api/v1/tokens/",
        alice,
        json!({"description": "forever"}),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = get(&w.state, "/api/v1/tokens/", &w.bob.1).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = delete(&w.state, &format!("/api/v1/tokens/{id}"), &w.staff.1).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    let (status, _) = delete(&w.state, &format!("/api/v1/tokens/{id}"), alice).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = get(&w.state, "/api/v1/tokens/", &new_token).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "unauthorized");
    let got = delete(&w.state, &format!("/api/v1/tokens/{id}"), alice).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn audit_log_is_for_staff_and_exports_csv(t: TestDb) {
    let w = world(&t).await;
    let (alice, staff) = (&w.alice.1, &w.staff.1);
    let (status, job) = post(&w.state, "/api/v1/jobs/", alice, transfer_job(&w)).await;
    assert_eq!(status, StatusCode::CREATED);
    // Token use is written once a minute per token: this second request adds none.
    let (status, _) = get(&w.state, "/api/v1/nodes/", alice).await;
    assert_eq!(status, StatusCode::OK);

    let got = get(&w.state, "/api/v1/audit/", alice).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (status, csv, _) = send(
        &w.state,
        Method::GET,
        "/api/v1/audit.csv",
        Some(alice),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!csv.contains("job_create"), "{csv}");

    let alice_id = w.alice.0.id.0;
    let (status, page) = get(&w.state, &format!("/api/v1/audit/?user={alice_id}"), staff).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let actions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["job_create", "token_use"],
        "newest first, token use once"
    );
    let detail = page["items"][0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("job {}:", job["id"])),
        "{detail}"
    );

    let (_, nodes) = get(&w.state, "/api/v1/audit/?action=node_add", staff).await;
    assert_eq!(nodes["total"], 3);
    let got = get(&w.state, "/api/v1/audit/?action=teleport", staff).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let got = get(&w.state, "/api/v1/audit/?from=yesterday", staff).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let (_, later) = get(&w.state, "/api/v1/audit/?from=2999-01-01T00:00:00Z", staff).await;
    assert_eq!(later["total"], 0);

    let (status, csv, _) = send(
        &w.state,
        Method::GET,
        &format!("/api/v1/audit.csv?user={alice_id}"),
        Some(staff),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], adit_server::audit::CSV_HEADER);
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains(",alice,job_create,unknown,"), "{csv}");
}

async fn audit_log_rejects_changes(t: TestDb) {
    let w = world(&t).await;
    let db = &w.state.db;
    let result = match db {
        Db::Postgres(pool) => sqlx::query("UPDATE audit_log SET action = 'x'")
            .execute(pool)
            .await
            .map(|_| ()),
        Db::Sqlite(pool) => sqlx::query("UPDATE audit_log SET action = 'x'")
            .execute(pool)
            .await
            .map(|_| ()),
    };
    assert!(result.unwrap_err().to_string().contains("append-only"));
    let result = match db {
        Db::Postgres(pool) => sqlx::query("DELETE FROM audit_log")
            .execute(pool)
            .await
            .map(|_| ()),
        Db::Sqlite(pool) => sqlx::query("DELETE FROM audit_log")
            .execute(pool)
            .await
            .map(|_| ()),
    };
    assert!(result.unwrap_err().to_string().contains("append-only"));
}

both_backends! {
    openapi_document_lists_every_route => openapi_document_lists_every_route_sqlite, openapi_document_lists_every_route_postgres;
    requests_without_credentials_are_401_json => requests_without_credentials_are_401_json_sqlite, requests_without_credentials_are_401_json_postgres;
    jobs_are_created_listed_and_acted_on => jobs_are_created_listed_and_acted_on_sqlite, jobs_are_created_listed_and_acted_on_postgres;
    batch_jobs_are_created_from_files => batch_jobs_are_created_from_files_sqlite, batch_jobs_are_created_from_files_postgres;
    tasks_are_inspected_and_acted_on => tasks_are_inspected_and_acted_on_sqlite, tasks_are_inspected_and_acted_on_postgres;
    nodes_are_listed_and_echoed => nodes_are_listed_and_echoed_sqlite, nodes_are_listed_and_echoed_postgres;
    own_tokens_are_listed_created_and_revoked => own_tokens_are_listed_created_and_revoked_sqlite, own_tokens_are_listed_created_and_revoked_postgres;
    audit_log_is_for_staff_and_exports_csv => audit_log_is_for_staff_and_exports_csv_sqlite, audit_log_is_for_staff_and_exports_csv_postgres;
    audit_log_rejects_changes => audit_log_rejects_changes_sqlite, audit_log_rejects_changes_postgres;
}
