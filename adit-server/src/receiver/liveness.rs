//! Whether a DICOM receiver runs, for `/health/`.
//!
//! - In `adit serve` the receiver is part of the process: it sets an [`InProcessFlag`].
//! - A separate `adit receiver` announces itself with [`present`]: on PostgreSQL it holds a
//!   shared session advisory lock ([`ADVISORY_KEY`]) on a connection of its own, which the
//!   database releases when the process or its connection dies; on SQLite (one machine) it
//!   touches the heartbeat file [`HEARTBEAT_FILE`] in the data directory every
//!   [`HEARTBEAT_INTERVAL`].
//! - `adit web` asks with [`ReceiverCheck::Shared`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::db::Db;

/// The advisory lock key every running receiver holds (shared) on PostgreSQL: "ADITRCV" in
/// ASCII.
pub const ADVISORY_KEY: i64 = 0x0041_4449_5452_4356;

/// The heartbeat file of a receiver process on SQLite, in the data directory.
pub const HEARTBEAT_FILE: &str = "receiver.heartbeat";

/// How often the receiver process renews its presence.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// A heartbeat older than this means the receiver is down.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(30);

/// How long a presence check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Set while the in-process receiver of `adit serve` runs. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct InProcessFlag(Arc<AtomicBool>);

impl InProcessFlag {
    /// Records whether the receiver runs.
    pub fn set(&self, alive: bool) {
        self.0.store(alive, Ordering::SeqCst);
    }

    /// Whether the receiver runs.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How `/health/` learns whether a receiver runs.
#[derive(Debug, Clone, Default)]
pub enum ReceiverCheck {
    /// Not reported (tests of the bare app).
    #[default]
    None,
    /// `adit serve`: the receiver is part of this process; down makes the process unhealthy.
    InProcess(InProcessFlag),
    /// `adit web`: receivers are other processes, found through the database (PostgreSQL) or
    /// the heartbeat file in `data_dir` (SQLite); down is reported, not an error.
    Shared {
        /// Where a SQLite deployment's receiver writes its heartbeat.
        data_dir: PathBuf,
    },
}

impl ReceiverCheck {
    /// `Some(alive)`, or `None` when not reported.
    pub async fn alive(&self, db: &Db) -> Option<bool> {
        match self {
            ReceiverCheck::None => None,
            ReceiverCheck::InProcess(flag) => Some(flag.get()),
            ReceiverCheck::Shared { data_dir } => Some(match db {
                Db::Postgres(pool) => {
                    matches!(
                        tokio::time::timeout(CHECK_TIMEOUT, lock_held(pool)).await,
                        Ok(Ok(true))
                    )
                }
                Db::Sqlite(_) => heartbeat_fresh(data_dir),
            }),
        }
    }

    /// Whether a down receiver makes this process unhealthy (503).
    pub fn is_essential(&self) -> bool {
        matches!(self, ReceiverCheck::InProcess(_))
    }
}

/// Whether any session of this database holds the receivers' advisory lock.
async fn lock_held(pool: &PgPool) -> Result<bool, sqlx::Error> {
    // A bigint advisory key shows in pg_locks as classid (high half), objid (low half),
    // objsubid 1.
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objsubid = 1
             AND classid::bigint = ($1 >> 32) AND objid::bigint = ($1 & 4294967295)
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
    )
    .bind(ADVISORY_KEY)
    .fetch_one(pool)
    .await
}

fn heartbeat_fresh(data_dir: &Path) -> bool {
    std::fs::metadata(data_dir.join(HEARTBEAT_FILE))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < HEARTBEAT_STALE)
}

/// Announces a receiver process until `shutdown` (see the module documentation); then
/// withdraws the announcement.
pub async fn present(db: Db, data_dir: PathBuf, shutdown: CancellationToken) {
    match db {
        Db::Postgres(pool) => hold_lock(&pool, &shutdown).await,
        Db::Sqlite(_) => {
            let path = data_dir.join(HEARTBEAT_FILE);
            loop {
                if let Err(e) = std::fs::write(&path, b"adit receiver\n") {
                    tracing::warn!(path = %path.display(), "cannot write the receiver heartbeat: {e}");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(HEARTBEAT_INTERVAL) => {}
                }
            }
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Holds the advisory lock on a dedicated connection, re-taking it after a lost connection.
async fn hold_lock(pool: &PgPool, shutdown: &CancellationToken) {
    let options = pool.connect_options();
    loop {
        let connected = tokio::time::timeout(CHECK_TIMEOUT, async {
            let mut conn = PgConnection::connect_with(&options).await?;
            sqlx::query("SELECT pg_advisory_lock_shared($1)")
                .bind(ADVISORY_KEY)
                .execute(&mut conn)
                .await?;
            Ok::<_, sqlx::Error>(conn)
        })
        .await;
        let mut conn = match connected {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                tracing::warn!("receiver presence: cannot take the advisory lock: {e}");
                if wait_or_stop(shutdown).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                tracing::warn!("receiver presence: no answer from PostgreSQL");
                if wait_or_stop(shutdown).await {
                    return;
                }
                continue;
            }
        };
        // Keep the session (and the lock) alive; notice a broken connection.
        loop {
            if wait_or_stop(shutdown).await {
                let _ = conn.close().await;
                return;
            }
            let ping = tokio::time::timeout(CHECK_TIMEOUT, conn.ping()).await;
            if !matches!(ping, Ok(Ok(()))) {
                tracing::warn!("receiver presence: lost the connection; taking the lock again");
                break;
            }
        }
    }
}

/// Sleeps one heartbeat interval; true when `shutdown` came first.
async fn wait_or_stop(shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(HEARTBEAT_INTERVAL) => false,
    }
}
