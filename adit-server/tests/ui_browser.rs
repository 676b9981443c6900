//! The web UI end to end in headless Chromium: `adit serve` as a process with two Orthancs,
//! driven by `tests/browser/ui.cjs` (playwright-core). The browser logs in, searches with
//! the results streamed in, transfers two studies with a pseudonym and follows the job to
//! Success with live progress, uploads a broken and a good batch sheet, exports batch query
//! results and feeds them to a batch transfer, cancels a running
//! job, creates and revokes an API token, browses the DICOM explorer, a staff member
//! checks a node by C-ECHO, and a user of another group does not see the nodes; staff set an
//! announcement and turn maintenance mode on, the other user gets the maintenance page, and
//! after staff turn it off sees the announcement. This side then checks the database and
//! Orthanc for what the browser did.
//!
//! Needs Debian's `chromium` and `node`/`npm` (installed by `scripts/install-test-deps`);
//! playwright-core is installed once with `npm ci` below the target directory.
//! `ADIT_UPDATE_SCREENSHOTS=1` writes the screenshots of the main pages to `docs/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use adit_server::accounts::{NewUser, Permission, users};
use adit_server::admin::{self, Grant};
use adit_server::jobs::{JobStatus, TaskStatus};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{Orthanc, StoreScp};
use common::*;
use jobs_support::*;

const PASSWORD: &str = "browser-test-pw";

/// `npm ci` of `tests/browser` into a directory below the target directory, once per
/// lock file; returns its `node_modules`.
fn browser_deps() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-browser-deps");
    let lock = std::fs::read(source.join("package-lock.json")).unwrap();
    let installed = dir
        .join("node_modules/playwright-core/package.json")
        .exists()
        && std::fs::read(dir.join("package-lock.json")).ok().as_deref() == Some(&lock[..]);
    if !installed {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(source.join("package.json"), dir.join("package.json")).unwrap();
        std::fs::copy(
            source.join("package-lock.json"),
            dir.join("package-lock.json"),
        )
        .unwrap();
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed for the browser tests (scripts/install-test-deps)");
        assert!(status.success(), "npm ci failed");
    }
    dir.join("node_modules")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_a_browser() {
    let chromium = std::env::var("ADIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/install-test-deps (Debian package chromium)"
    );
    let node_modules = browser_deps();

    let t = TestDb::sqlite().await;
    let corpus = Corpus::new(
        CorpusSpec::new("ui-browser")
            .patients(2)
            .studies_per_patient(2)
            .series_per_study(2)
            .instances_per_series(3)
            .image_size(32, 32),
    );
    // Sent to a slow archive (one second per store), so the browser can cancel it while it
    // runs, however fast this machine moves the images.
    let slow = Corpus::new(
        CorpusSpec::new("ui-browser-slow")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(2)
            .instances_per_series(20)
            .image_size(64, 64),
    );
    let a = Orthanc::start("ORTHANC-A").unwrap();
    a.upload_corpus(&corpus).unwrap();
    let slow_total = a.upload_corpus(&slow).unwrap();
    let b = Orthanc::start("ORTHANC-B").unwrap();
    let slow_archive = StoreScp::builder()
        .ae_title("SLOW-C")
        .sleep_after(1)
        .start()
        .unwrap();

    let http = adit_testkit::free_port().unwrap();
    let mut serve = AditProcess::start(
        "serve",
        &t,
        &["serve"],
        &[
            ("ADIT_SECRET_KEY", "ui browser test secret".to_owned()),
            ("ADIT_ADMIN_PASSWORD", "admin-pw".to_owned()),
            ("ADIT_CALLING_AE", "ADIT-UI".to_owned()),
            ("ADIT_HTTP_ADDR", format!("127.0.0.1:{http}")),
            (
                "ADIT_RECEIVER_ADDR",
                format!("127.0.0.1:{}", adit_testkit::free_port().unwrap()),
            ),
        ],
    );
    serve.wait_for("listening on http");

    // Alice's group may use A as source and B as destination; Bob's group has no nodes.
    let db = t.db().await;
    for name in ["alice", "bob"] {
        users::create(
            &db,
            &NewUser {
                username: name.into(),
                password: PASSWORD.into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
    }
    let source_id = add_node(&db, &dimse_node("Archive A", a.address(), find_get())).await;
    add_node(&db, &dimse_node("Research B", b.address(), store_only())).await;
    add_node(
        &db,
        &dimse_node("Slow archive C", slow_archive.address(), store_only()),
    )
    .await;
    admin::create_group(&db, "research", &["alice".into()])
        .await
        .unwrap();
    admin::create_group(&db, "others", &["bob".into()])
        .await
        .unwrap();
    for grant in [
        Grant::Node {
            node: "Archive A".into(),
            source: true,
            destination: false,
        },
        Grant::Node {
            node: "Research B".into(),
            source: false,
            destination: true,
        },
        Grant::Node {
            node: "Slow archive C".into(),
            source: false,
            destination: true,
        },
        Grant::Permission(Permission::AddSelectiveTransferJob),
        Grant::Permission(Permission::AddBatchTransferJob),
        Grant::Permission(Permission::QueryDicomServer),
        Grant::Permission(Permission::AddBatchQueryJob),
    ] {
        admin::grant(&db, "research", &grant).await.unwrap();
    }
    admin::grant(
        &db,
        "others",
        &Grant::Permission(Permission::AddSelectiveTransferJob),
    )
    .await
    .unwrap();

    let manifest = corpus.manifest();
    let first = &manifest.patients[0];
    let second = &manifest.patients[1];
    let sheets = tempfile::tempdir().unwrap();
    let bad = sheets.path().join("broken.csv");
    std::fs::write(
        &bad,
        "PatientID,StudyInstanceUID,Pseudonym\n1*,1.2.3,P1\n0012,1.2.x,P1\n",
    )
    .unwrap();
    let good = sheets.path().join("good.csv");
    std::fs::write(
        &good,
        format!(
            "PatientID,StudyInstanceUID,Pseudonym\n{},{},SUBJ-BATCH\n",
            second.patient_id, second.studies[0].study_instance_uid
        ),
    )
    .unwrap();

    let query_sheet = sheets.path().join("query.csv");
    std::fs::write(
        &query_sheet,
        format!(
            "PatientID,Modality,Pseudonym\n{},\"CT,MR\",SUBJ-Q\n",
            first.patient_id
        ),
    )
    .unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/ui.cjs");
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    let mut node = Command::new("node")
        .arg(&script)
        .env("ADIT_NODE_MODULES", &node_modules)
        .env("ADIT_CHROMIUM", &chromium)
        .env("ADIT_URL", format!("http://127.0.0.1:{http}"))
        .env("ADIT_USER", "alice")
        .env("ADIT_PASSWORD", PASSWORD)
        .env("ADIT_OTHER_USER", "bob")
        .env("ADIT_OTHER_PASSWORD", PASSWORD)
        .env("ADIT_ADMIN_PASSWORD", "admin-pw")
        .env("ADIT_SOURCE", "Archive A")
        .env("ADIT_SOURCE_ID", source_id.to_string())
        .env("ADIT_DESTINATION", "Research B")
        .env("ADIT_SLOW_DESTINATION", "Slow archive C")
        .env("ADIT_PATIENT", &first.patient_id)
        .env("ADIT_PSEUDONYM", "SUBJ-UI")
        .env("ADIT_SLOW_PATIENT", &slow.manifest().patients[0].patient_id)
        .env("ADIT_BAD_SHEET", &bad)
        .env("ADIT_GOOD_SHEET", &good)
        .env("ADIT_QUERY_SHEET", &query_sheet)
        .env("ADIT_TMP", sheets.path())
        .env("ADIT_SCREENSHOT_DIR", &screenshots)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is needed for the browser tests (scripts/install-test-deps)");
    let mut results = BTreeMap::new();
    for line in BufReader::new(node.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        println!("[browser] {line}");
        if let Some((name, value)) = line.strip_prefix("RESULT ").and_then(|r| r.split_once('=')) {
            results.insert(name.to_owned(), value.parse::<i64>().unwrap());
        }
    }
    let status = node.wait().unwrap();
    assert!(
        status.success(),
        "a browser step failed (see [browser] lines)"
    );

    // What the browser did, checked at the source of truth.
    let jobs = t.jobs().await;
    let selective = jobs.get_job(results["selective_job"]).await.unwrap();
    assert_eq!(selective.status, JobStatus::Success, "{selective:#?}");
    assert_eq!(selective.trial_protocol_id, "TRIAL-UI");
    let tasks = jobs.tasks(selective.id).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(
        tasks
            .iter()
            .all(|t| t.pseudonym.as_deref() == Some("SUBJ-UI") && t.patient_id == first.patient_id)
    );
    let batch = jobs.get_job(results["batch_job"]).await.unwrap();
    assert_eq!(batch.status, JobStatus::Success, "{batch:#?}");
    assert_eq!(batch.project_name, "UI test");
    let canceled = jobs.get_job(results["canceled_job"]).await.unwrap();
    assert_eq!(canceled.status, JobStatus::Canceled, "{canceled:#?}");
    let canceled_tasks = jobs.tasks(canceled.id).await.unwrap();
    assert!(
        canceled_tasks
            .iter()
            .all(|t| t.status == TaskStatus::Canceled)
    );

    let count = |p: &adit_testkit::corpus::PatientEntry, studies: usize| -> usize {
        p.studies
            .iter()
            .take(studies)
            .flat_map(|s| &s.series)
            .map(|s| s.sop_instance_uids.len())
            .sum()
    };
    let at_b = instances_per_patient(&b);
    assert_eq!(at_b.get("SUBJ-UI"), Some(&count(first, 2)), "{at_b:?}");
    assert_eq!(at_b.get("SUBJ-BATCH"), Some(&count(second, 1)), "{at_b:?}");
    // The batch query's export, uploaded as a batch transfer sheet, moved both studies.
    let fed = jobs.get_job(results["fed_job"]).await.unwrap();
    assert_eq!(fed.status, JobStatus::Success, "{fed:#?}");
    assert_eq!(jobs.tasks(fed.id).await.unwrap().len(), 2);
    assert_eq!(at_b.get("SUBJ-Q"), Some(&count(first, 2)), "{at_b:?}");
    let at_slow = slow_archive.received_files().unwrap().len();
    assert!(
        at_slow < slow_total,
        "the canceled job stored everything: {at_slow} of {slow_total}"
    );
    assert!(
        !at_b.contains_key(&first.patient_id) && !at_b.contains_key(&second.patient_id),
        "original PatientIDs at B: {at_b:?}"
    );
    // Maintenance mode is off again and the announcement stored as typed.
    let site = adit_server::site::get(&db).await.unwrap();
    assert!(!site.maintenance);
    assert_eq!(
        site.announcement,
        "Downtime on Friday\nfrom 8 to 10 <b>sharp</b>"
    );
    jobs.db().clone().close().await;
    db.close().await;
    drop(serve);
}
