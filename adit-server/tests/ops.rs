//! Operations: `/metrics` counting a real transfer between two Orthancs (SQLite and
//! PostgreSQL), a worker's own `/metrics` listener, HTTPS on HTTP/1.1
//! and HTTP/2 with a throw-away CA, the rate limits per IP (`/login/`) and per token, body
//! limits with the STOW-RS allowance, and the per-user cap on DICOMweb retrieves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adit_core::model::DimseCapabilities;
use adit_core::pseudonymize::Secret;
use adit_queue::WorkerConfig;
use adit_server::Config;
use adit_server::accounts::{self, NewUser, Permission};
use adit_server::db::Db;
use adit_server::jobs::{JobKind, JobStatus, NewJob, NewTask};
use adit_server::serve::{self, Mode};
use adit_server::web::{AppState, app};
use adit_server::worker::{WorkerEnv, worker};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{Orthanc, free_port};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use common::*;
use http_body_util::BodyExt;
use jobs_support::*;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const METRICS_TOKEN: &str = "metrics-scrape-token";

/// This file's configuration on `t`: its secret key, then `extra`.
fn config_for(t: &TestDb, extra: &[(&str, &str)]) -> Config {
    let mut settings = vec![("ADIT_SECRET_KEY", "ops-test-secret")];
    settings.extend_from_slice(extra);
    t.config(&settings)
}

fn corpus(seed: &str) -> Corpus {
    Corpus::new(
        CorpusSpec::new(seed)
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(2)
            .image_size(32, 32),
    )
}

async fn send(state: &AppState, request: Request<Body>) -> Response {
    app(state.clone()).oneshot(request).await.unwrap()
}

/// `GET /metrics` with the scrape token; the exposition text.
async fn scrape(state: &AppState) -> String {
    let request = Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = send(state, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The value of the series `series` (name with labels, as written), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Polls the metrics until `series` reads `expected` (database gauges are cached briefly).
async fn wait_for_value(state: &AppState, series: &str, expected: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = scrape(state).await;
        if value(&text, series) == expected {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never read {expected}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

both_backends! {
    metrics_count_a_transfer => metrics_count_a_transfer_sqlite, metrics_count_a_transfer_postgres;
}

/// The database gauges are read with each backend's SQL, so this runs on both.
async fn metrics_count_a_transfer(t: TestDb) {
    let config = config_for(&t, &[("ADIT_METRICS_TOKEN", METRICS_TOKEN)]);
    let jobs = t.jobs().await;
    let state = AppState::new(jobs.db().clone(), config);

    // Without the token or a staff login the metrics are not readable.
    let anonymous = send(
        &state,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let corpus = corpus("ops-metrics");
    let a = Orthanc::start("OPS-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("OPS-B").unwrap();
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let source = add_node(
        jobs.db(),
        &dimse_node("metrics-src", a.address(), find_get_patient_root()),
    )
    .await;
    let destination = add_node(
        jobs.db(),
        &dimse_node("metrics-dst", b.address(), store_only()),
    )
    .await;
    let (patient, study) = corpus.manifest().studies().next().unwrap();
    let n: usize = study.series.iter().map(|s| s.sop_instance_uids.len()).sum();

    let before = scrape(&state).await;
    let peer_a = format!("OPS-A@127.0.0.1:{}", a.address().port);
    let peer_b = format!("OPS-B@127.0.0.1:{}", b.address().port);
    let assoc = |peer: &str| {
        format!(r#"adit_dimse_associations_total{{peer="{peer}",outcome="established"}}"#)
    };
    let src_instances = r#"adit_transfer_instances_total{node="metrics-src",direction="retrieve"}"#;
    let dst_instances = r#"adit_transfer_instances_total{node="metrics-dst",direction="store"}"#;
    let src_bytes = r#"adit_transfer_bytes_total{node="metrics-src",direction="retrieve"}"#;
    let dst_bytes = r#"adit_transfer_bytes_total{node="metrics-dst",direction="store"}"#;
    assert_eq!(value(&before, src_instances), 0.0, "{before}");
    assert_eq!(value(&before, "adit_tasks_in_flight"), 0.0, "{before}");

    let new = NewJob::new(JobKind::SelectiveTransfer, owner, source, Some(destination)).task(
        NewTask::transfer(&patient.patient_id, &study.study_instance_uid, &[]),
    );
    let id = jobs.create(&new, true).await.unwrap();
    let mut env = WorkerEnv::new(jobs.clone(), Secret::new("s").unwrap(), "OPS-ADIT");
    env.metrics = state.metrics.clone();
    env.dimse.connect_timeout = Duration::from_secs(10);
    env.dimse.association_timeout = Duration::from_secs(20);
    env.dimse.dimse_timeout = Duration::from_secs(30);
    let mut worker_config = WorkerConfig::new(["dicom"]).with_concurrency(1);
    worker_config.poll_interval = Duration::from_millis(100);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker(Arc::new(env), worker_config).run(shutdown.clone()));
    let job = wait_final(&jobs, id, Duration::from_secs(120)).await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(60), running).await;
    assert_status(&job, JobStatus::Success);
    assert_eq!(b.counts().unwrap().instances, n as u64);
    let task = &jobs.tasks(id).await.unwrap()[0];

    // The job gauge comes from the database (cached up to 5 s): wait for it.
    let after = wait_for_value(
        &state,
        r#"adit_jobs{type="selective_transfer",status="SU"}"#,
        1.0,
    )
    .await;
    assert_eq!(value(&after, src_instances), n as f64, "{after}");
    assert_eq!(value(&after, dst_instances), n as f64, "{after}");
    assert!(task.bytes_done > 0, "{task:#?}");
    assert_eq!(value(&after, src_bytes), task.bytes_done as f64, "{after}");
    assert_eq!(value(&after, dst_bytes), task.bytes_done as f64, "{after}");
    assert!(value(&after, &assoc(&peer_a)) - value(&before, &assoc(&peer_a)) >= 1.0);
    assert!(value(&after, &assoc(&peer_b)) - value(&before, &assoc(&peer_b)) >= 1.0);
    assert_eq!(value(&after, "adit_tasks_in_flight"), 0.0, "{after}");
    assert_eq!(
        value(&after, r#"adit_queue_depth{queue="dicom"}"#),
        0.0,
        "{after}"
    );
    assert_eq!(
        value(&after, r#"adit_jobs{type="batch_query",status="PE"}"#),
        0.0
    );
    assert!(!after.contains("adit_transfer_errors_total{"), "{after}");
    // Latencies are labelled by the route template, the 401 above included.
    assert_eq!(
        value(
            &after,
            r#"adit_http_request_duration_seconds_count{method="GET",route="/metrics",status="401"}"#
        ),
        1.0,
        "{after}"
    );
}

/// A throw-away CA and a server certificate for 127.0.0.1 / localhost, as PEM files.
fn write_pki(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ops test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, server.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca_cert.pem(), cert_path, key_path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_http1_and_http2_and_shuts_down_gracefully() {
    let t = TestDb::sqlite().await;
    let pki = tempfile::tempdir().unwrap();
    let (ca_pem, cert, key) = write_pki(pki.path());
    let port = free_port().unwrap().to_string();
    let addr = format!("127.0.0.1:{port}");
    let config = config_for(
        &t,
        &[
            ("ADIT_HTTP_ADDR", addr.as_str()),
            ("ADIT_TLS_CERT", cert.to_str().unwrap()),
            ("ADIT_TLS_KEY", key.to_str().unwrap()),
            ("ADIT_ADMIN_PASSWORD", "admin-pw"),
        ],
    );
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve::run_until(config, Mode::Web, shutdown.clone()));

    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    let client = |http1_only: bool| {
        let builder = reqwest::Client::builder()
            .tls_certs_only([ca.clone()])
            .timeout(Duration::from_secs(30));
        let builder = if http1_only {
            builder.http1_only()
        } else {
            builder
        };
        builder.build().unwrap()
    };
    let url = format!("https://localhost:{port}/api/user/");
    let deadline = Instant::now() + Duration::from_secs(60);
    let h2 = loop {
        match client(false).get(&url).send().await {
            Ok(response) => break response,
            Err(e) => {
                assert!(!server.is_finished(), "the server stopped");
                assert!(Instant::now() < deadline, "no HTTPS answer: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    // ALPN picked HTTP/2; the JSON error shows the request went through the app.
    assert_eq!(h2.version(), reqwest::Version::HTTP_2);
    assert_eq!(h2.status(), reqwest::StatusCode::UNAUTHORIZED);
    let h1 = client(true).get(&url).send().await.unwrap();
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.status(), reqwest::StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = serde_json::from_slice(&h1.bytes().await.unwrap()).unwrap();
    assert!(body["detail"].is_string(), "{body}");
    // Plain HTTP on the TLS port is no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/user/"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("graceful shutdown within 60 s")
        .unwrap();
    assert!(stopped.is_ok(), "{stopped:?}");
}

fn from_ip(mut request: Request<Body>, ip: [u8; 4]) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    request
}

fn login_request(ip: [u8; 4]) -> Request<Body> {
    from_ip(
        Request::post("/login/")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("username=nobody&password=wrong"))
            .unwrap(),
        ip,
    )
}

async fn token_for(db: &Db, name: &str) -> String {
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
    accounts::tokens::create(db, &user, "", None)
        .await
        .unwrap()
        .token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_ip_and_per_token_answer_429_with_retry_after() {
    let t = TestDb::sqlite().await;
    // One request per minute per IP, two per token: a refill takes 30 s or more, far
    // longer than the few requests below take even on a loaded machine.
    let config = config_for(
        &t,
        &[("ADIT_RATE_LIMIT_IP", "1"), ("ADIT_RATE_LIMIT_TOKEN", "2")],
    );
    let db = t.db().await;
    let state = AppState::new(db.clone(), config);

    let first = send(&state, login_request([127, 0, 0, 2])).await;
    assert_ne!(first.status(), StatusCode::TOO_MANY_REQUESTS);
    let second = send(&state, login_request([127, 0, 0, 2])).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = second.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value =
        serde_json::from_slice(&second.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("throttled"),
        "{body}"
    );
    // Another client is not affected; probes are never limited.
    let other = send(&state, login_request([127, 0, 0, 3])).await;
    assert_ne!(other.status(), StatusCode::TOO_MANY_REQUESTS);
    let health = send(
        &state,
        from_ip(
            Request::get("/health/").body(Body::empty()).unwrap(),
            [127, 0, 0, 2],
        ),
    )
    .await;
    assert_ne!(health.status(), StatusCode::TOO_MANY_REQUESTS);

    // A token counts on its own, whatever the IP.
    let token = token_for(&db, "rater").await;
    let user_request = |ip: [u8; 4]| {
        from_ip(
            Request::get("/api/user/")
                .header(header::AUTHORIZATION, format!("Token {token}"))
                .body(Body::empty())
                .unwrap(),
            ip,
        )
    };
    for ip in [[127, 0, 0, 2], [127, 0, 0, 4]] {
        let ok = send(&state, user_request(ip)).await;
        assert_eq!(ok.status(), StatusCode::OK, "the IP limit does not apply");
    }
    let limited = send(&state, user_request([127, 0, 0, 5])).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused_with_413_and_stow_has_its_allowance() {
    let t = TestDb::sqlite().await;
    let config = config_for(
        &t,
        &[
            ("ADIT_MAX_BODY_SIZE", "1024"),
            ("ADIT_MAX_UPLOAD_SIZE", "65536"),
        ],
    );
    let db = t.db().await;
    let token = token_for(&db, "uploader").await;
    let state = AppState::new(db, config);
    let post = |path: &str, len: usize| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Token {token}"))
            .header(header::CONTENT_LENGTH, len)
            .header(
                header::CONTENT_TYPE,
                "multipart/related; type=\"application/dicom\"; boundary=b",
            )
            .body(Body::from(vec![b'x'; len]))
            .unwrap()
    };
    let small = send(&state, post("/login/", 512)).await;
    assert_ne!(small.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let large = send(&state, post("/login/", 2048)).await;
    assert_eq!(large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value =
        serde_json::from_slice(&large.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["detail"], "Request body too large.");
    // STOW-RS takes more than the general limit (here the unknown node answers 404)...
    let stow = "/api/dicom-web/NOSUCHNODE/stowrs/studies";
    let upload = send(&state, post(stow, 8192)).await;
    assert_eq!(upload.status(), StatusCode::NOT_FOUND);
    // ...up to its own limit.
    let too_large = send(&state, post(stow, 100_000)).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A streamed body without Content-Length is cut at the limit too.
    let chunks = futures::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'x'; 512]))),
    );
    let streamed = Request::post("/login/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(chunks))
        .unwrap();
    let streamed = send(&state, streamed).await;
    assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_retrieve_cap_gets_429_until_a_retrieve_ends() {
    let t = TestDb::sqlite().await;
    let config = config_for(&t, &[("ADIT_MAX_RETRIEVES_PER_USER", "1")]);
    let db = t.db().await;
    let corpus = corpus("ops-cap");
    let orthanc = Orthanc::start("OPS-CAP").unwrap();
    orthanc.upload_corpus(&corpus).unwrap();
    let node = adit_server::nodes::add(
        &db,
        &dimse_node("cap-node", orthanc.address(), DimseCapabilities::all()),
    )
    .await
    .unwrap();
    let user = accounts::users::create(
        &db,
        &NewUser {
            username: "reader".into(),
            password: "pw".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let group = accounts::groups::create(&db, "readers").await.unwrap();
    accounts::groups::add_member(&db, group.id, user.id)
        .await
        .unwrap();
    accounts::groups::grant(&db, group.id, Permission::CanRetrieve)
        .await
        .unwrap();
    adit_server::nodes::grant(&db, group.id, node.id, true, true)
        .await
        .unwrap();
    let user = accounts::users::by_id(&db, user.id).await.unwrap().unwrap();
    let token = accounts::tokens::create(&db, &user, "", None)
        .await
        .unwrap()
        .token;
    let other_token = token_for(&db, "other").await;
    let state = AppState::new(db, config);
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let wado = |token: &str| {
        Request::get(format!(
            "/api/dicom-web/OPS-CAP/wadors/studies/{}",
            study.study_instance_uid
        ))
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .body(Body::empty())
        .unwrap()
    };

    // The first retrieve holds its slot while its body is unread.
    let first = send(&state, wado(&token)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = send(&state, wado(&token)).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(second.headers().contains_key(header::RETRY_AFTER));
    // The cap is per user: another user is refused for access, not for the cap.
    let other = send(&state, wado(&other_token)).await;
    assert_ne!(other.status(), StatusCode::TOO_MANY_REQUESTS);
    // Reading the first body to its end frees the slot.
    let body = first.into_body().collect().await.unwrap().to_bytes();
    assert!(!body.is_empty());
    let third = send(&state, wado(&token)).await;
    assert_eq!(third.status(), StatusCode::OK);
    drop(third);
    let fourth = send(&state, wado(&token)).await;
    assert_eq!(
        fourth.status(),
        StatusCode::OK,
        "a dropped body frees its slot"
    );
}

/// Kills the child on drop (a failing test leaves no process behind).
struct Child(Option<std::process::Child>);

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_serves_its_metrics_on_the_metrics_address() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let t = TestDb::sqlite().await;
    let port = free_port().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_adit"))
        .arg("worker")
        .env_remove("ADIT_CONFIG")
        .envs(t.env())
        .env("ADIT_SECRET_KEY", "ops-worker-secret")
        .env("ADIT_METRICS_ADDR", format!("127.0.0.1:{port}"))
        .env("ADIT_METRICS_TOKEN", METRICS_TOKEN)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Child(Some(child));
    let url = format!("http://127.0.0.1:{port}/metrics");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let scraped = client.get(&url).bearer_auth(METRICS_TOKEN).send().await;
        match scraped {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                break response.text().await.unwrap();
            }
            other => {
                let exited = child.0.as_mut().unwrap().try_wait().unwrap();
                assert!(exited.is_none(), "the worker exited: {exited:?}");
                assert!(Instant::now() < deadline, "no metrics: {other:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(value(&text, "adit_tasks_in_flight"), 0.0, "{text}");
    assert!(
        text.contains(r#"adit_queue_depth{queue="dicom"} 0"#),
        "{text}"
    );
    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);

    // SIGTERM stops the worker and its metrics listener.
    let mut process = child.0.take().unwrap();
    kill(Pid::from_raw(process.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = process.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = process.kill();
            panic!("the worker did not stop within 60 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_jobs_of_non_staff_users_are_limited_in_size() {
    let t = TestDb::sqlite().await;
    let jobs = t
        .jobs()
        .await
        .with_batch_limits(adit_server::jobs::BatchLimits {
            query: 5,
            transfer: 2,
        });
    let db = jobs.db().clone();
    let user = add_user(&db, "researcher", "").await;
    let staff = accounts::users::create(
        &db,
        &NewUser {
            username: "staffer".into(),
            password: "pw".into(),
            is_staff: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let source = add_node(&db, &folder_node("IN", &t.dir.path().join("in"))).await;
    let destination = add_node(&db, &folder_node("OUT", &t.dir.path().join("out"))).await;
    let batch = |owner: i64, n: usize| {
        let mut new = NewJob::new(JobKind::BatchTransfer, owner, source, Some(destination));
        for i in 0..n {
            new = new.task(NewTask::transfer("P1", &format!("1.2.3.{i}"), &[]));
        }
        new
    };
    assert!(jobs.create(&batch(user, 2), false).await.is_ok());
    let refused = jobs.create(&batch(user, 3), false).await.unwrap_err();
    assert!(refused.to_string().contains("at most 2"), "{refused}");
    assert!(jobs.create(&batch(staff.id.0, 3), true).await.is_ok());
    // Selective transfers are not batch jobs.
    let mut selective = batch(user, 3);
    selective.kind = JobKind::SelectiveTransfer;
    assert!(jobs.create(&selective, false).await.is_ok());
}
