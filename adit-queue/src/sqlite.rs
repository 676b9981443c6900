//! Opening an SQLite database the way the queue (and the server) need it.
//!
//! WAL mode so readers never wait for the writer, `synchronous = NORMAL` (durable across
//! process crashes, which is what a WAL database promises), and a busy timeout so writers queue
//! up instead of failing.
//!
//! One thing the busy timeout does not cover: when several processes open a fresh database at
//! the same moment, the switch to WAL needs an exclusive lock and SQLite reports
//! `database is locked` at once rather than waiting (it would otherwise deadlock). Opening is
//! therefore retried for as long as the busy timeout allows.

use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// How long a SQLite statement (or opening the database) waits for another writer.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQLite's primary result code for `SQLITE_BUSY` ("database is locked").
const SQLITE_BUSY: i32 = 0x05;

/// Opens a pool on `options` with WAL, `synchronous = NORMAL` and [`BUSY_TIMEOUT`], creating
/// the file when missing. Opening retries while another process holds the lock needed to
/// switch the journal mode, up to [`BUSY_TIMEOUT`].
pub async fn open_pool(
    options: SqliteConnectOptions,
    max_connections: u32,
) -> Result<SqlitePool, sqlx::Error> {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT);
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(10);
    loop {
        let attempt = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options.clone())
            .await;
        match attempt {
            Err(e) if is_busy(&e) && Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

/// Whether `error` is SQLite's `SQLITE_BUSY` (possibly an extended code of it).
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            // Extended codes keep the primary code in their low byte.
            .is_some_and(|code| code & 0xff == SQLITE_BUSY),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_openers_of_a_fresh_file_all_succeed() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{round}.db")).display()
            );
            let mut openers = Vec::new();
            for _ in 0..8 {
                let options = SqliteConnectOptions::from_str(&url).unwrap();
                openers.push(tokio::spawn(open_pool(options, 2)));
            }
            for opener in openers {
                let pool = opener.await.unwrap().unwrap();
                let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert_eq!(mode, "wal");
                pool.close().await;
            }
        }
    }
}
