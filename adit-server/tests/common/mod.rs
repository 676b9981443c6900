//! Test databases for the server: a fresh SQLite file in a temp dir or a fresh PostgreSQL
//! database on 127.0.0.1:5432 (dropped afterwards, also when the test panics), and the
//! [`both_backends!`] macro that runs one test body on each.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use adit_server::Config;
use adit_server::db::Db;
use adit_server::web::AppState;
use sqlx::{Connection, Executor, PgConnection};

/// The PostgreSQL server every test uses (trust auth, user postgres).
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A throw-away server database with its own data directory.
pub struct TestDb {
    /// The database URL (`sqlite://...` or `postgres://...`).
    pub url: String,
    /// A temp directory usable as `ADIT_DATA_DIR`.
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    /// A SQLite file in a fresh temp dir (created on first connect).
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("adit.db").display());
        TestDb {
            url,
            dir,
            pg_name: None,
        }
    }

    /// A fresh PostgreSQL database `adit_test_<unique>`.
    pub async fn postgres() -> TestDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "adit_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros()
        );
        let mut admin = PgConnection::connect(PG_ADMIN_URL)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (user postgres, trust) is needed");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap();
        TestDb {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            dir: tempfile::tempdir().unwrap(),
            pg_name: Some(name),
        }
    }

    /// Connects and migrates.
    pub async fn db(&self) -> Db {
        let db = Db::connect_url(&self.url).await.unwrap();
        adit_server::db::migrate::run(&db).await.unwrap();
        db
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server configuration on this database and data directory, with `settings` (as
    /// `ADIT_*` environment variables) for the rest; no config file and nothing from the
    /// environment of the test run.
    pub fn config(&self, settings: &[(&str, &str)]) -> Config {
        Config::load_from(None, |key| match key {
            "ADIT_DATA_DIR" => Some(self.data_dir().display().to_string()),
            "ADIT_DATABASE_URL" => Some(self.url.clone()),
            _ => settings
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned()),
        })
        .unwrap()
    }

    /// The web app's state on `db` (connected to this database) with the default
    /// configuration.
    pub fn app_state(&self, db: &Db) -> AppState {
        AppState::new(db.clone(), self.config(&[]))
    }

    /// Environment for running the `adit` binary on this database.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ADIT_DATA_DIR", self.dir.path().display().to_string()),
            ("ADIT_DATABASE_URL", self.url.clone()),
        ]
    }

    /// The `adit` binary.
    pub fn adit_bin() -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_adit"))
    }

    /// Runs `adit <args>` on this database; returns (success, stdout, stderr).
    pub fn adit(&self, args: &[&str]) -> (bool, String, String) {
        let out = std::process::Command::new(Self::adit_bin())
            .args(args)
            .env_remove("ADIT_CONFIG")
            .envs(self.env())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `adit <args>` and panics with its output when it fails; returns stdout.
    pub fn adit_ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.adit(args);
        assert!(
            ok,
            "adit {args:?} failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        stdout
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(PG_ADMIN_URL).await {
                    let _ = admin
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

/// `both_backends!(body => name_sqlite, name_postgres);` defines two `#[tokio::test]`s that
/// call `async fn body(t: TestDb)` with a fresh SQLite and a fresh PostgreSQL database.
#[macro_export]
macro_rules! both_backends {
    ($($body:ident => $sqlite:ident, $postgres:ident;)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $sqlite() {
                $body($crate::common::TestDb::sqlite().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $postgres() {
                $body($crate::common::TestDb::postgres().await).await;
            }
        )+
    };
}

mod adit_process;
mod nodes;
mod orthanc;
mod receiver;
pub mod smtp;
#[allow(unused_imports)]
pub use adit_process::*;
#[allow(unused_imports)]
pub use nodes::*;
#[allow(unused_imports)]
pub use orthanc::*;
#[allow(unused_imports)]
pub use receiver::*;
