//! The run modes end to end, as real `adit` processes against real Orthanc peers:
//!
//! - `adit serve` on SQLite (web, receiver and workers in one process): a pseudonymized
//!   selective transfer Orthanc A → Orthanc B by C-GET and by C-MOVE (A sends to the serve
//!   process's receiver), a batch transfer of three studies to a folder, `/health/`, SIGTERM.
//! - PostgreSQL with separate `adit web`, `adit worker` and `adit receiver` processes: the
//!   receiver spools, the worker claims; `/health/` of the web process follows the receiver.
//! - Cancelling a running transfer of `adit serve`.
//!
//! Jobs are created through the library on the same database (the REST job API comes later).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use adit_server::jobs::{JobStatus, TaskStatus};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{DicomAddress, Orthanc, StoreScp};
use common::*;
use jobs_support::*;

const SECRET: &str = "run modes test secret";
const RECEIVER_AE: &str = "ADIT-RM";

/// `adit <args>` with this file's secret key, admin password and AE titles (the receiver's
/// is the one Orthanc A moves to).
fn adit(name: &'static str, t: &TestDb, args: &[&str], env: &[(&str, String)]) -> AditProcess {
    let mut all = vec![
        ("ADIT_SECRET_KEY", SECRET.to_owned()),
        ("ADIT_ADMIN_PASSWORD", "admin-pw".to_owned()),
        ("ADIT_CALLING_AE", "ADIT-E2E".to_owned()),
        ("ADIT_RECEIVER_AE", RECEIVER_AE.to_owned()),
    ];
    all.extend_from_slice(env);
    AditProcess::start(name, t, args, &all)
}

fn port() -> u16 {
    adit_testkit::free_port().unwrap()
}

fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// `GET http://127.0.0.1:<port><path>`: status and JSON body.
fn get(port: u16, path: &str) -> (u16, serde_json::Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut response = agent
        .get(format!("http://127.0.0.1:{port}{path}"))
        .call()
        .unwrap();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_json()
        .unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Polls `/health/` until its receiver entry is `want`; returns the HTTP status.
fn wait_health_receiver(port: u16, want: &str) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = get(port, "/health/");
        if body["receiver"] == want {
            return status;
        }
        assert!(Instant::now() < deadline, "receiver never {want}: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn dcm_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dcm_files(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == "dcm"))
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_sqlite_transfers_by_c_get_c_move_and_to_a_folder() {
    let t = TestDb::sqlite().await;
    let corpus = small_corpus("runmodes-serve");
    let (http, dimse) = (port(), port());
    let a = Orthanc::builder()
        .ae_title("ORTHANC-A")
        .modality("ADIT", DicomAddress::loopback(RECEIVER_AE, dimse))
        .start()
        .unwrap();
    a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let mut serve = adit(
        "serve",
        &t,
        &["serve"],
        &[
            ("ADIT_HTTP_ADDR", loopback(http)),
            ("ADIT_RECEIVER_ADDR", loopback(dimse)),
        ],
    );
    serve.wait_for("listening on http");
    assert_eq!(wait_health_receiver(http, "ok"), 200);

    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let by_get = add_node(jobs.db(), &dimse_node("A-GET", a.address(), find_get())).await;
    // Node AE titles are unique; Orthanc answers any called AE title.
    let mut a_move = a.address().clone();
    a_move.ae_title = "ORTHANC-A-MOVE".into();
    let by_move = add_node(jobs.db(), &dimse_node("A-MOVE", &a_move, find_move())).await;
    let to_b = add_node(jobs.db(), &dimse_node("B", b.address(), store_only())).await;
    let out = t.dir.path().join("out");
    let to_folder = add_node(jobs.db(), &folder_node("OUT", &out)).await;

    // C-GET, pseudonymized.
    let (id, n_get) =
        selective_transfer(&jobs, owner, (by_get, to_b), &corpus, 0, "SUBJ-GET").await;
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    assert_status(&job, JobStatus::Success);
    // C-MOVE through the serve process's own receiver.
    let (id, n_move) =
        selective_transfer(&jobs, owner, (by_move, to_b), &corpus, 1, "SUBJ-MOVE").await;
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    assert_status(&job, JobStatus::Success);
    let at_b = instances_per_patient(&b);
    let originals: Vec<_> = corpus
        .manifest()
        .patients
        .iter()
        .map(|p| p.patient_id.clone())
        .collect();
    assert_eq!(
        at_b,
        BTreeMap::from([
            ("SUBJ-GET".to_owned(), n_get),
            ("SUBJ-MOVE".to_owned(), n_move)
        ]),
        "only pseudonyms at B (originals {originals:?})"
    );

    // A batch transfer of three studies to a folder, each under its own pseudonym.
    let (id, expected) =
        batch_transfer_of_three_studies(&jobs, owner, (by_get, to_folder), &corpus, "Runmodes")
            .await;
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    assert_status(&job, JobStatus::Success);
    assert_eq!(dcm_files(&out), expected);

    jobs.db().clone().close().await;
    assert!(serve.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_separate_web_worker_and_receiver_processes() {
    let t = TestDb::postgres().await;
    // Migrate before the processes start, so they do not race on an empty database.
    let jobs = t.jobs().await;
    let corpus = small_corpus("runmodes-pg");
    let (http, dimse) = (port(), port());
    let a = Orthanc::builder()
        .ae_title("ORTHANC-A")
        .modality("ADIT", DicomAddress::loopback(RECEIVER_AE, dimse))
        .start()
        .unwrap();
    a.upload_corpus(&corpus).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let env = [
        ("ADIT_HTTP_ADDR", loopback(http)),
        ("ADIT_RECEIVER_ADDR", loopback(dimse)),
    ];
    let mut web = adit("web", &t, &["web"], &env);
    web.wait_for("listening on http");
    // No receiver yet: reported, and the web process stays healthy.
    assert_eq!(wait_health_receiver(http, "down"), 200);
    let mut receiver = adit("receiver", &t, &["receiver"], &env);
    receiver.wait_for("listening on");
    assert_eq!(wait_health_receiver(http, "ok"), 200);
    let mut worker = adit("worker", &t, &["worker"], &env);
    worker.wait_for("started");

    let owner = add_user(jobs.db(), "jdoe", "").await;
    let by_move = add_node(jobs.db(), &dimse_node("A-MOVE", a.address(), find_move())).await;
    let to_b = add_node(jobs.db(), &dimse_node("B", b.address(), store_only())).await;
    let (id, n) = selective_transfer(&jobs, owner, (by_move, to_b), &corpus, 2, "SUBJ-PG").await;
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    assert_status(&job, JobStatus::Success);
    assert_eq!(
        instances_per_patient(&b),
        BTreeMap::from([("SUBJ-PG".to_owned(), n)])
    );
    // Everything the receiver spooled was claimed and deleted after its store.
    let spool = adit_server::receiver::receiver_spool_dir(t.dir.path());
    assert_eq!(dcm_files(&spool), 0, "spool left over");

    assert!(receiver.stop().success());
    assert_eq!(wait_health_receiver(http, "down"), 200);
    assert!(worker.stop().success());
    assert!(web.stop().success());
    jobs.db().clone().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_cancels_a_running_transfer_within_seconds() {
    let t = TestDb::sqlite().await;
    let corpus = long_study_corpus("runmodes-cancel");
    let a = Orthanc::start("ORTHANC-A").unwrap();
    let total = a.upload_corpus(&corpus).unwrap();
    let slow = slow_archive();
    let http = port();
    let mut serve = adit(
        "serve",
        &t,
        &["serve"],
        &[
            ("ADIT_HTTP_ADDR", loopback(http)),
            ("ADIT_RECEIVER_ADDR", loopback(port())),
        ],
    );
    serve.wait_for("listening on http");
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let by_get = add_node(jobs.db(), &dimse_node("A-GET", a.address(), find_get())).await;
    let to_slow = add_node(jobs.db(), &dimse_node("SLOW", slow.address(), store_only())).await;
    let (id, _) = selective_transfer(&jobs, owner, (by_get, to_slow), &corpus, 0, "SUBJ-C").await;
    wait_until_instances_flow(&jobs, id, Duration::from_secs(30)).await;
    cancel_and_assert_the_archive_stops(&jobs, owner, id, &slow, total).await;

    jobs.db().clone().close().await;
    assert!(serve.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_gives_running_tasks_back_and_the_next_start_finishes_them() {
    let t = TestDb::sqlite().await;
    let corpus = Corpus::new(
        CorpusSpec::new("runmodes-sigterm")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(1)
            .instances_per_series(8)
            .image_size(32, 32),
    );
    let a = Orthanc::start("ORTHANC-A").unwrap();
    let total = a.upload_corpus(&corpus).unwrap();
    // A slow archive (one second per store), so the task is still running at SIGTERM,
    // however fast this machine moves the images. It keeps one file per instance; one
    // process per association, so the association cut by SIGTERM does not hold up the next.
    let slow = StoreScp::builder()
        .ae_title("SLOW-B")
        .sleep_after(1)
        .fork(true)
        .start()
        .unwrap();
    let start_serve = |t: &TestDb| {
        let mut serve = adit(
            "serve",
            t,
            &["serve"],
            &[
                ("ADIT_HTTP_ADDR", loopback(port())),
                ("ADIT_RECEIVER_ADDR", loopback(port())),
                // Running tasks are stopped at once on SIGTERM.
                ("ADIT_WORKER_STOP_GRACE", "0".to_owned()),
            ],
        );
        serve.wait_for("listening on http");
        serve
    };
    let mut serve = start_serve(&t);
    let jobs = t.jobs().await;
    let owner = add_user(jobs.db(), "jdoe", "").await;
    let by_get = add_node(jobs.db(), &dimse_node("A-GET", a.address(), find_get())).await;
    let to_slow = add_node(jobs.db(), &dimse_node("SLOW", slow.address(), store_only())).await;
    let (id, _) = selective_transfer(&jobs, owner, (by_get, to_slow), &corpus, 0, "SUBJ-T").await;
    wait_until_instances_flow(&jobs, id, Duration::from_secs(30)).await;
    let stopping = Instant::now();
    assert!(serve.stop().success());
    assert!(stopping.elapsed() < Duration::from_secs(15));
    let task = &jobs.tasks(id).await.unwrap()[0];
    assert_eq!(task.status, TaskStatus::Pending, "given back: {task:#?}");
    assert!(!jobs.get_job(id).await.unwrap().status.is_final());
    let stored = slow.received_files().unwrap().len();
    assert!(stored < total, "stopped after everything was stored");

    // The next start runs it again; the archive ends with every instance exactly once.
    let mut serve = start_serve(&t);
    let job = wait_final(&jobs, id, Duration::from_secs(60)).await;
    assert_status(&job, JobStatus::Success);
    assert_eq!(slow.received_files().unwrap().len(), total);
    jobs.db().clone().close().await;
    assert!(serve.stop().success());
}
