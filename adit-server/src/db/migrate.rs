//! Schema migrations of the server, embedded in the binary and tracked in
//! `_adit_server_migrations` (the queue tracks its own in `_adit_queue_migrations`).
//!
//! Each migration is applied in one transaction together with its tracking row. Processes
//! starting at the same time serialize on `pg_advisory_xact_lock` (PostgreSQL) or on
//! `BEGIN IMMEDIATE` (SQLite), so `adit migrate`, `adit serve` and `adit web` may race safely.
//!
//! To change the schema, add `migrations/postgres/NNNN_name.sql` and
//! `migrations/sqlite/NNNN_name.sql` with the same meaning and append both to the lists of
//! [`SERVER`] under the same version. Never edit a migration that has shipped.

use adit_queue::JobQueue;
use adit_queue::migrate::Migrations;

use super::Db;
use crate::error::{Error, Result};

/// The server's migrations. Never edit one that has shipped: add another.
const SERVER: Migrations = Migrations {
    table: "_adit_server_migrations",
    // "adit-s" in ASCII.
    pg_lock: 0x6164_6974_2d73,
    postgres: &[
        (
            1,
            include_str!("../../migrations/postgres/0001_accounts.sql"),
        ),
        (2, include_str!("../../migrations/postgres/0002_jobs.sql")),
        (
            3,
            include_str!("../../migrations/postgres/0003_sessions.sql"),
        ),
        (4, include_str!("../../migrations/postgres/0004_audit.sql")),
        (
            5,
            include_str!("../../migrations/postgres/0005_site_settings.sql"),
        ),
    ],
    sqlite: &[
        (1, include_str!("../../migrations/sqlite/0001_accounts.sql")),
        (2, include_str!("../../migrations/sqlite/0002_jobs.sql")),
        (3, include_str!("../../migrations/sqlite/0003_sessions.sql")),
        (4, include_str!("../../migrations/sqlite/0004_audit.sql")),
        (
            5,
            include_str!("../../migrations/sqlite/0005_site_settings.sql"),
        ),
    ],
};

/// What [`run`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// Versions of the server migrations applied now (empty when up to date).
    pub server: Vec<i64>,
}

/// Applies the queue's migrations and then the server's migrations not yet applied.
pub async fn run(database: &Db) -> Result<Applied> {
    let server = match database {
        Db::Postgres(pool) => {
            JobQueue::with_postgres(pool.clone()).await?;
            SERVER.apply_postgres(pool).await.map_err(as_server_error)?
        }
        Db::Sqlite(pool) => {
            JobQueue::with_sqlite(pool.clone()).await?;
            SERVER.apply_sqlite(pool).await.map_err(as_server_error)?
        }
    };
    Ok(Applied { server })
}

/// The latest migration version this binary knows.
pub fn latest_version() -> i64 {
    SERVER.latest_version()
}

/// A failure of the server's own migrations is a server database error, not a queue error.
fn as_server_error(e: adit_queue::Error) -> Error {
    match e {
        adit_queue::Error::Database {
            backend,
            operation,
            source,
        } => Error::Database {
            backend,
            operation,
            source,
        },
        other => Error::Queue(other),
    }
}
