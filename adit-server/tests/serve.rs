//! `adit serve` as a real process: first start creates `admin` and the secret key, serves
//! `/health/` and `/api/user/` (token from `adit admin create-token`), exits 0 on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TestDb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Kills the server if the test fails before stopping it.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start(
    t: &TestDb,
    mode: &str,
    port: u16,
    extra_env: &[(&str, &str)],
) -> (Server, mpsc::Receiver<String>) {
    let mut child = Command::new(TestDb::adit_bin())
        .arg(mode)
        .env_remove("ADIT_CONFIG")
        .env_remove("ADIT_SECRET_KEY")
        .env_remove("ADIT_ADMIN_PASSWORD")
        .envs(t.env())
        .env("ADIT_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "ADIT_RECEIVER_ADDR",
            format!("127.0.0.1:{}", adit_testkit::free_port().unwrap()),
        )
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("[adit {port}] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Server(Some(child)), rx)
}

/// Collects output lines until one contains `needle`.
fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, lines: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let found = line.contains(needle);
            lines.push(line);
            if found {
                return;
            }
        }
    }
    panic!(
        "`{needle}` not printed within 60 s; got:\n{}",
        lines.join("\n")
    );
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

fn stop(server: &mut Server) -> std::process::ExitStatus {
    let child = server.0.as_mut().unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            server.0 = None;
            return status;
        }
        assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn serve_first_start_health_token_and_sigterm(t: TestDb) {
    let port = adit_testkit::free_port().unwrap();
    let (mut server, rx) = start(&t, "serve", port, &[]);
    let mut lines = Vec::new();
    wait_for_line(&rx, "listening on http", &mut lines);
    let all = lines.join("\n");
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

    let status = stop(&mut server);
    assert!(status.success(), "exit status {status:?}");

    // Second start: no new admin, same secret key.
    let port = adit_testkit::free_port().unwrap();
    let (mut server, rx) = start(&t, "web", port, &[]);
    let mut lines = Vec::new();
    wait_for_line(&rx, "listening on http", &mut lines);
    let all = lines.join("\n");
    assert!(!all.contains("created the superuser"), "{all}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), key);
    // `adit web` has no receiver of its own and none runs: reported, but healthy.
    let (status, body) = get(port, "/health/", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receiver"], "down", "{body}");
    let (status, _) = get(port, "/api/user/", Some(&token));
    assert_eq!(status, 200);
    assert!(stop(&mut server).success());
}

async fn admin_password_from_the_environment(t: TestDb) {
    let port = adit_testkit::free_port().unwrap();
    let (mut server, rx) = start(
        &t,
        "serve",
        port,
        &[("ADIT_ADMIN_PASSWORD", "s3cret-admin")],
    );
    let mut lines = Vec::new();
    wait_for_line(&rx, "listening on http", &mut lines);
    let all = lines.join("\n");
    assert!(
        !all.contains("s3cret-admin"),
        "the given password is not printed:\n{all}"
    );
    assert!(all.contains("ADIT_ADMIN_PASSWORD"), "{all}");
    assert!(stop(&mut server).success());
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
