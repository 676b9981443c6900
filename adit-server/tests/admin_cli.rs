//! `adit admin ...` through the real binary, on SQLite and PostgreSQL; `add-server` probing a
//! real Orthanc and a closed port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use adit_server::accounts;
use adit_server::nodes;
use adit_server::nodes::Access;
use adit_testkit::Orthanc;
use common::TestDb;

fn last_line(out: &str) -> &str {
    out.lines().last().unwrap_or_default()
}

async fn admin_commands_end_to_end(t: TestDb) {
    t.adit_ok(&[
        "admin",
        "create-user",
        "--username",
        "alice",
        "--password",
        "pw1",
    ]);
    t.adit_ok(&[
        "admin",
        "create-user",
        "--username",
        "bob",
        "--password",
        "pw2",
        "--staff",
    ]);
    t.adit_ok(&[
        "admin",
        "create-user",
        "--username",
        "root",
        "--password",
        "pw3",
        "--superuser",
    ]);
    let (ok, _, err) = t.adit(&[
        "admin",
        "create-user",
        "--username",
        "alice",
        "--password",
        "x",
    ]);
    assert!(!ok && err.contains("already exists"), "{err}");

    t.adit_ok(&[
        "admin",
        "create-group",
        "--name",
        "radiology",
        "--members",
        "alice,bob",
    ]);
    let (ok, _, err) = t.adit(&[
        "admin",
        "create-group",
        "--name",
        "g2",
        "--members",
        "nobody",
    ]);
    assert!(!ok && err.contains("nobody"), "{err}");

    let folder = t.data_dir().join("downloads");
    t.adit_ok(&[
        "admin",
        "add-folder",
        "--name",
        "Downloads",
        "--path",
        folder.to_str().unwrap(),
    ]);
    assert!(folder.is_dir());
    let out = t.adit_ok(&[
        "admin",
        "add-server",
        "--name",
        "PACS",
        "--ae-title",
        "PACS",
        "--host",
        "127.0.0.1",
        "--port",
        "11112",
        "--no-probe",
        "--study-root-find",
        "true",
        "--study-root-get",
        "true",
        "--max-associations",
        "3",
    ]);
    assert!(out.contains("study-root FIND, study-root GET"), "{out}");

    t.adit_ok(&[
        "admin",
        "grant",
        "--group",
        "radiology",
        "--node",
        "PACS",
        "--source",
    ]);
    t.adit_ok(&[
        "admin",
        "grant",
        "--group",
        "radiology",
        "--node",
        "Downloads",
        "--destination",
    ]);
    t.adit_ok(&[
        "admin",
        "grant",
        "--group",
        "radiology",
        "--permission",
        "can_process_urgently",
    ]);
    let (ok, _, err) = t.adit(&[
        "admin",
        "grant",
        "--group",
        "radiology",
        "--permission",
        "can_fly",
    ]);
    assert!(!ok && err.contains("can_fly"), "{err}");
    let (ok, _, err) = t.adit(&["admin", "grant", "--group", "radiology", "--node", "PACS"]);
    assert!(!ok && err.contains("--source"), "{err}");
    let (ok, _, _) = t.adit(&["admin", "grant", "--group", "radiology"]);
    assert!(!ok, "grant needs --node or --permission");
    t.adit_ok(&["admin", "create-group", "--name", "all-powerful"]);
    t.adit_ok(&[
        "admin",
        "grant",
        "--group",
        "all-powerful",
        "--permission",
        "all",
    ]);

    let out = t.adit_ok(&[
        "admin",
        "create-token",
        "--username",
        "alice",
        "--expires-days",
        "7",
        "--description",
        "ci",
    ]);
    let token = last_line(&out).to_owned();
    assert_eq!(token.len(), 40, "{out}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let (ok, _, err) = t.adit(&["admin", "create-token", "--username", "nobody"]);
    assert!(!ok && err.contains("nobody"), "{err}");

    let users = t.adit_ok(&["admin", "list", "users"]);
    assert!(
        users.contains("alice") && users.contains("radiology"),
        "{users}"
    );
    let groups = t.adit_ok(&["admin", "list", "groups"]);
    assert!(
        groups.contains("alice,bob") && groups.contains("can_process_urgently"),
        "{groups}"
    );
    let listed_nodes = t.adit_ok(&["admin", "list", "nodes"]);
    assert!(
        listed_nodes.contains("radiology:src") && listed_nodes.contains("radiology:dst"),
        "{listed_nodes}"
    );
    let tokens = t.adit_ok(&["admin", "list", "tokens"]);
    assert!(
        tokens.contains("alice") && tokens.contains("ci"),
        "{tokens}"
    );
    assert!(
        !tokens.contains(&token),
        "a token must never be listed:\n{tokens}"
    );

    // What the commands wrote, through the library.
    let db = t.db().await;
    let alice = accounts::users::by_name(&db, "alice").await.unwrap();
    assert_eq!(
        accounts::tokens::authenticate(&db, &token)
            .await
            .unwrap()
            .id,
        alice.id
    );
    let pacs = nodes::by_name(&db, "PACS").await.unwrap();
    let downloads = nodes::by_name(&db, "Downloads").await.unwrap();
    assert!(
        nodes::can_use(&db, &alice, pacs.id, Access::Source)
            .await
            .unwrap()
    );
    assert!(
        !nodes::can_use(&db, &alice, pacs.id, Access::Destination)
            .await
            .unwrap()
    );
    assert!(
        nodes::can_use(&db, &alice, downloads.id, Access::Destination)
            .await
            .unwrap()
    );
    let perms = accounts::users::permissions(&db, &alice).await.unwrap();
    assert!(perms.contains(&accounts::Permission::CanProcessUrgently));
    let bob = accounts::users::by_name(&db, "bob").await.unwrap();
    assert!(bob.is_staff && !bob.is_superuser);
    let adit_core::model::NodeKind::Dimse(server) = &pacs.node.kind else {
        panic!("PACS is a DIMSE node");
    };
    assert_eq!(server.max_associations.get(), 3);
    assert!(server.capabilities.study_root_get && !server.capabilities.store);
    db.close().await;
}

both_backends! {
    admin_commands_end_to_end => admin_commands_sqlite, admin_commands_postgres;
}

async fn add_server_probes_orthanc(t: TestDb) {
    let orthanc = Orthanc::start("ORTHANC1").unwrap();
    let port = orthanc.dicom_port().to_string();
    let root = orthanc.dicomweb_root();
    let out = t.adit_ok(&[
        "admin",
        "add-server",
        "--name",
        "ORTHANC1",
        "--ae-title",
        "ORTHANC1",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--dicomweb-root",
        &root,
    ]);
    assert!(out.contains("probing ORTHANC1@127.0.0.1"), "{out}");
    let db = t.db().await;
    let node = nodes::by_ae_title(&db, "ORTHANC1").await.unwrap().unwrap();
    let adit_core::model::NodeKind::Dimse(server) = &node.node.kind else {
        panic!("a DIMSE node");
    };
    let c = server.capabilities;
    assert!(
        c.study_root_find
            && c.patient_root_find
            && c.study_root_get
            && c.study_root_move
            && c.store,
        "Orthanc offers Q/R and storage: {c:?}"
    );
    let web = nodes::by_name(&db, "ORTHANC1-web").await.unwrap();
    assert_eq!(nodes::kind_name(&web.node), "dicomweb");

    // Overrides win over the probe.
    let out = t.adit_ok(&[
        "admin",
        "add-server",
        "--name",
        "ORTHANC1-nostore",
        "--ae-title",
        "ORTHANC1B",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--store",
        "false",
    ]);
    assert!(!out.contains("STORE"), "{out}");
    db.close().await;
}

both_backends! {
    add_server_probes_orthanc => add_server_probes_orthanc_sqlite, add_server_probes_orthanc_postgres;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_server_fails_clearly_when_the_peer_is_down() {
    let t = TestDb::sqlite().await;
    let port = adit_testkit::free_port().unwrap().to_string();
    let (ok, out, err) = t.adit(&[
        "admin",
        "add-server",
        "--name",
        "DOWN",
        "--ae-title",
        "DOWN",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
    ]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("cannot probe DOWN@127.0.0.1") && err.contains("connect"),
        "{err}"
    );
    let out = t.adit_ok(&["admin", "list", "nodes"]);
    assert!(!out.contains("DOWN"), "nothing stored: {out}");
}
