//! Schema migrations: a small runner for embedded SQL migrations, used by the queue for its own
//! tables (tracked in `_adit_queue_migrations`) and by the server for its tables (tracked in
//! its own table), so the two never clash in one database.
//!
//! Each backend has its own list; a migration is applied in one transaction together with its
//! row in the tracking table. Concurrent starters serialize on an advisory lock (PostgreSQL)
//! or on `BEGIN IMMEDIATE` (SQLite).

use sqlx::{AssertSqlSafe, PgPool, SqlitePool};

use crate::error::{Result, db};

/// One set of embedded migrations and where it is tracked.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// The tracking table (a fixed identifier, never user input).
    pub table: &'static str,
    /// Key of the PostgreSQL advisory lock serializing concurrent starters.
    pub pg_lock: i64,
    /// PostgreSQL migrations `(version, sql)`, in order. Never edit one that has shipped.
    pub postgres: &'static [(i64, &'static str)],
    /// SQLite migrations `(version, sql)`, in order (same versions and meaning).
    pub sqlite: &'static [(i64, &'static str)],
}

/// The queue's own migrations.
pub(crate) const QUEUE: Migrations = Migrations {
    table: "_adit_queue_migrations",
    // "adit-q" in ASCII.
    pg_lock: 0x6164_6974_2d71,
    postgres: &[
        (1, include_str!("../migrations/postgres/0001_jobs.sql")),
        (
            2,
            include_str!("../migrations/postgres/0002_notify_when_idle.sql"),
        ),
    ],
    sqlite: &[
        (1, include_str!("../migrations/sqlite/0001_jobs.sql")),
        (
            2,
            include_str!("../migrations/sqlite/0002_notify_when_idle.sql"),
        ),
    ],
};

impl Migrations {
    /// Applies the PostgreSQL migrations not yet applied; returns the versions applied now.
    pub async fn apply_postgres(&self, pool: &PgPool) -> Result<Vec<i64>> {
        let err = |op| db("postgres", op);
        let mut tx = pool.begin().await.map_err(err("begin a migration"))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(self.pg_lock)
            .execute(&mut *tx)
            .await
            .map_err(err("lock the migrations"))?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {} (
                 version BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            self.table
        )))
        .execute(&mut *tx)
        .await
        .map_err(err("create the migrations table"))?;
        let done: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(self.select_versions()))
            .fetch_all(&mut *tx)
            .await
            .map_err(err("read applied migrations"))?;
        let mut applied = Vec::new();
        for &(version, sql) in self.postgres {
            if done.contains(&version) {
                continue;
            }
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(err("apply a migration"))?;
            sqlx::query(AssertSqlSafe(self.insert_version()))
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(err("record a migration"))?;
            applied.push(version);
        }
        tx.commit().await.map_err(err("commit migrations"))?;
        Ok(applied)
    }

    /// Applies the SQLite migrations not yet applied; returns the versions applied now.
    pub async fn apply_sqlite(&self, pool: &SqlitePool) -> Result<Vec<i64>> {
        let err = |op| db("sqlite", op);
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(err("begin a migration"))?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {} (
                 version INTEGER PRIMARY KEY,
                 applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            self.table
        )))
        .execute(&mut *tx)
        .await
        .map_err(err("create the migrations table"))?;
        let done: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(self.select_versions()))
            .fetch_all(&mut *tx)
            .await
            .map_err(err("read applied migrations"))?;
        let mut applied = Vec::new();
        for &(version, sql) in self.sqlite {
            if done.contains(&version) {
                continue;
            }
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(err("apply a migration"))?;
            sqlx::query(AssertSqlSafe(self.insert_version()))
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(err("record a migration"))?;
            applied.push(version);
        }
        tx.commit().await.map_err(err("commit migrations"))?;
        Ok(applied)
    }

    /// The latest version of the PostgreSQL list (both lists carry the same versions).
    pub fn latest_version(&self) -> i64 {
        self.postgres.last().map_or(0, |(v, _)| *v)
    }

    fn select_versions(&self) -> String {
        format!("SELECT version FROM {}", self.table)
    }

    fn insert_version(&self) -> String {
        // `$1` is understood by both PostgreSQL and SQLite.
        format!("INSERT INTO {} (version) VALUES ($1)", self.table)
    }
}
