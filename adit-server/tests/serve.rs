//! `adit serve` as a real process: first start creates `admin` and the secret key, serves
//! `/health/` and `/api/user/` (token from `adit admin create-token`), exits 0 on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{AditProcess, TestDb};

/// `adit <mode>` on `t` with its web server on `port` and a receiver on a free port.
fn start(t: &TestDb, mode: &'static str, port: u16, env: &[(&str, String)]) -> AditProcess {
    let mut all = vec![
        ("ADIT_HTTP_ADDR", format!("127.0.0.1:{port}")),
        (
            "ADIT_RECEIVER_ADDR",
            format!("127.0.0.1:{}", adit_testkit::free_port().unwrap()),
        ),
    ];
    all.extend_from_slice(env);
    AditProcess::start(mode, t, &[mode], &all)
}

fn get(port: u16, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut request = agent.get(format!("http://127.0.0.1:{port}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Token {token}"));
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_json()
        .unwrap_or(serde_json::Value::Null);
    (status, body)
}

async fn serve_first_start_health_token_and_sigterm(t: TestDb) {
    let port = adit_testkit::free_port().unwrap();
    let mut server = start(&t, "serve", port, &[]);
    server.wait_for("listening on http");
    let all = server.output();
    assert!(all.contains("created the superuser `admin`"), "{all}");
    let password = all
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("generated password printed:\n{all}"))
        .to_owned();
    assert!(password.len() >= 16, "{password}");

    let secret = t.data_dir().join("secret_key");
    let meta = std::fs::metadata(&secret).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(&secret).unwrap();
    assert_eq!(key.trim().len(), 64);

    let (status, body) = get(port, "/health/", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["receiver"], "ok", "the in-process receiver runs");

    // The admin CLI works on the same database while the server runs.
    let out = t.adit_ok(&["admin", "create-token", "--username", "admin"]);
    let token = out.lines().last().unwrap().to_owned();
    let (status, body) = get(port, "/api/user/", Some(&token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "admin");
    assert_eq!(body["is_superuser"], true);
    let (status, _) = get(port, "/api/user/", None);
    assert_eq!(status, 401);

    let status = server.stop();
    assert!(status.success(), "exit status {status:?}");

    // Second start: no new admin, same secret key.
    let port = adit_testkit::free_port().unwrap();
    let mut server = start(&t, "web", port, &[]);
    server.wait_for("listening on http");
    let all = server.output();
    assert!(!all.contains("created the superuser"), "{all}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), key);
    // `adit web` has no receiver of its own and none runs: reported, but healthy.
    let (status, body) = get(port, "/health/", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receiver"], "down", "{body}");
    let (status, _) = get(port, "/api/user/", Some(&token));
    assert_eq!(status, 200);
    assert!(server.stop().success());
}

async fn admin_password_from_the_environment(t: TestDb) {
    let port = adit_testkit::free_port().unwrap();
    let mut server = start(
        &t,
        "serve",
        port,
        &[("ADIT_ADMIN_PASSWORD", "s3cret-admin".to_owned())],
    );
    server.wait_for("listening on http");
    let all = server.output();
    assert!(
        !all.contains("s3cret-admin"),
        "the given password is not printed:\n{all}"
    );
    assert!(all.contains("ADIT_ADMIN_PASSWORD"), "{all}");
    assert!(server.stop().success());
    let db = t.db().await;
    let admin = adit_server::accounts::users::check_password(&db, "admin", "s3cret-admin")
        .await
        .unwrap();
    assert!(admin.is_some_and(|u| u.is_superuser));
    db.close().await;
}

both_backends! {
    serve_first_start_health_token_and_sigterm => serve_sqlite, serve_postgres;
    admin_password_from_the_environment => admin_password_sqlite, admin_password_postgres;
}
