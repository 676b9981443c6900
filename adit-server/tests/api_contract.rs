//! The OpenAPI contract of the REST API: `schemathesis` (pinned, from PyPI) generates requests
//! for every operation of `/api/openapi.json` and checks every answer against the document:
//! no server errors, only documented status codes, bodies that match their schemas.
//!
//! The app is served in-process on a free loopback port over a fresh PostgreSQL database with
//! a staff superuser, a DIMSE node (nothing listens on its port, so C-ECHO fails fast) and a
//! folder node. The venv lives under `target/tmp/schemathesis-<version>-venv` and is created
//! on first use; without Python, pip or PyPI the test fails, it never skips.
//!
//! A second run against a deliberately broken document shows that a response that does not
//! match its schema makes schemathesis, and so this test, fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use adit_core::model::{AeTitle, DimseServer, FolderNode, Node};
use adit_server::accounts::{self, NewUser};
use adit_server::nodes;
use adit_server::web::{AppState, app};
use adit_testkit::venv::{run, shared_venv};
use axum::Json;
use axum::routing::get;
use common::TestDb;
use serde_json::Value;

const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// How long one schemathesis run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);

/// The venv's `schemathesis` executable (created once, reused afterwards).
fn schemathesis() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("schemathesis-{SCHEMATHESIS_VERSION}-venv"));
    let python = shared_venv(&dir, ".ready", |python| {
        run(Command::new(python)
            .args(["-m", "pip", "install", "--quiet"])
            .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}")));
        run(Command::new(dir.join("bin/schemathesis")).arg("--version"));
    });
    python.with_file_name("schemathesis")
}

/// Serves `router` on a free loopback port with connect info; answers its address.
async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Runs schemathesis against the document at `schema_url`, sending requests to `base`.
async fn check(schema_url: String, base: String, token: String, report: PathBuf) -> Output {
    let bin = tokio::task::spawn_blocking(schemathesis).await.unwrap();
    let mut command = tokio::process::Command::new(bin);
    command
        .arg("run")
        .arg(schema_url)
        .args(["--url", &base])
        .args(["--header", &format!("Authorization: Token {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance,\
             content_type_conformance",
        ])
        .args(["--max-examples", "20", "--seed", "1", "--workers", "1"])
        .args(["--request-timeout", "30", "--no-color"])
        .current_dir(report)
        .kill_on_drop(true);
    tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .expect("schemathesis did not finish in time")
        .unwrap()
}

/// A fresh database with a staff superuser (whose token is answered), a DIMSE and a folder
/// node, and the app over it.
async fn setup(t: &TestDb) -> (axum::Router, String) {
    let db = t.db().await;
    let config = t.config(&[]);
    let admin = accounts::users::create(
        &db,
        &NewUser {
            username: "admin".into(),
            password: "pw".into(),
            is_staff: true,
            is_superuser: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = accounts::tokens::create(&db, &admin, "contract", None)
        .await
        .unwrap()
        .token;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let pacs = DimseServer::new(
        AeTitle::new("PACS1").unwrap(),
        "127.0.0.1",
        NonZeroU16::new(closed_port).unwrap(),
    );
    nodes::add(&db, &Node::dimse("PACS1", pacs)).await.unwrap();
    let out = t.data_dir().join("out");
    nodes::add(&db, &Node::folder("Out", FolderNode::new(&out)))
        .await
        .unwrap();
    (app(AppState::new(db, config)), token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_as_documented() {
    let t = TestDb::postgres().await;
    let (router, token) = setup(&t).await;
    let addr = serve(router).await;
    let base = format!("http://{addr}");
    let report = tempfile::tempdir().unwrap();
    let out = check(
        format!("{base}/api/openapi.json"),
        base,
        token,
        report.path().to_owned(),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found contract violations:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every operation of the document was exercised.
    let document: Value = serde_json::to_value(adit_server::web::api::openapi()).unwrap();
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        operations, 17,
        "every operation of the API is in the document"
    );
    assert!(
        stdout.contains(&format!("Tested: {operations}")),
        "schemathesis did not test every operation:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_breaks_its_schema_fails_the_check() {
    let t = TestDb::postgres().await;
    let (router, token) = setup(&t).await;
    let addr = serve(router).await;
    // The real document with one change: a node list must have a field the server never
    // sends. Only the node list is checked, so the run is short.
    let mut document: Value = serde_json::to_value(adit_server::web::api::openapi()).unwrap();
    let paths = document["paths"].as_object_mut().unwrap();
    paths.retain(|path, _| path == "/api/v1/nodes/");
    let node_list = &mut document["components"]["schemas"]["NodeList"];
    node_list["required"]
        .as_array_mut()
        .unwrap()
        .push(Value::from("never_sent"));
    node_list["properties"]["never_sent"] = serde_json::json!({"type": "string"});
    let broken = axum::Router::new().route(
        "/openapi.json",
        get(move || {
            let document = document.clone();
            async move { Json(document) }
        }),
    );
    let broken_addr = serve(broken).await;
    let report = tempfile::tempdir().unwrap();
    let out = check(
        format!("http://{broken_addr}/openapi.json"),
        format!("http://{addr}"),
        token,
        report.path().to_owned(),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "schemathesis accepted a body that misses a required field:\n{stdout}"
    );
    assert!(stdout.contains("never_sent"), "{stdout}");
}
