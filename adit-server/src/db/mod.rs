//! The server database: PostgreSQL for scaled deployments, SQLite as the embedded default.
//!
//! [`Db`] holds one pool of either backend. Most statements are the same SQL on both (`$1`
//! placeholders work on SQLite too), so they are written once inside [`db_dispatch!`], which
//! expands the body for each backend's pool. Where the SQL differs, the caller matches on
//! [`Db`] itself.
//!
//! Migrations live in [`migrate`]; the queue's tables (adit-queue) share the database.

pub mod migrate;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{PgPool, SqlitePool};

use crate::config::Config;
use crate::error::{Error, Result, db};

/// How long taking a connection from the pool may wait.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A pool of connections to the server database. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub enum Db {
    /// PostgreSQL (`postgres://...`): any number of processes on any number of machines.
    Postgres(PgPool),
    /// SQLite (`sqlite://...`): one machine, WAL mode.
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the pool of whichever backend `$db` is. The body is
/// compiled once per backend, so it may use any sqlx API generic over the database:
///
/// ```ignore
/// let n: i64 = db_dispatch!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users")
///     .fetch_one(pool)
///     .await
///     .map_err(db_err(db.backend(), "count users"))?);
/// ```
#[macro_export]
macro_rules! db_dispatch {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($pool) => $body,
            $crate::db::Db::Sqlite($pool) => $body,
        }
    };
}

impl Db {
    /// Connects to the database of `config` (creating the data directory and, for SQLite, the
    /// database file). Does not migrate: call [`migrate::run`].
    pub async fn connect(config: &Config) -> Result<Db> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
            path: config.data_dir.clone(),
            source,
        })?;
        Db::connect_url(&config.database_url).await
    }

    /// Connects to `postgres://...` or `sqlite://...`. For SQLite the parent directory of the
    /// file is created when missing.
    pub async fn connect_url(url: &str) -> Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect(url)
                .await
                .map_err(db("postgres", "connect"))?;
            return Ok(Db::Postgres(pool));
        }
        if !url.starts_with("sqlite:") {
            return Err(Error::Invalid {
                what: "database URL",
                reason: "expected sqlite://... or postgres://...".into(),
            });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::Invalid {
                what: "database URL",
                reason: e.to_string(),
            })?
            .foreign_keys(true);
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            create_dir(parent)?;
        }
        let pool = adit_queue::sqlite::open_pool(options, 8)
            .await
            .map_err(db("sqlite", "connect"))?;
        Ok(Db::Sqlite(pool))
    }

    /// `postgres` or `sqlite`, for error messages.
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Postgres(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }

    /// Checks that the database answers (`SELECT 1`).
    pub async fn ping(&self) -> Result<()> {
        let backend = self.backend();
        db_dispatch!(self, pool => sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(db(backend, "answer a ping")))
    }

    /// Closes every connection (waits for the ones in use to come back).
    pub async fn close(&self) {
        db_dispatch!(self, pool => pool.close().await)
    }
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}
