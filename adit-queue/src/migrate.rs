//! Schema migrations, run by the library and tracked in `_adit_queue_migrations` so they never
//! clash with the server's own sqlx migrations in the same database.
//!
//! Each backend has its own list; a migration is applied in one transaction together with its
//! row in the tracking table. Concurrent starters serialize on an advisory lock (PostgreSQL)
//! or on `BEGIN IMMEDIATE` (SQLite).

use sqlx::{PgPool, SqlitePool};

use crate::error::{Result, db};

/// PostgreSQL migrations, in order. Never edit one that has shipped: add another.
const POSTGRES: &[(i64, &str)] = &[(1, include_str!("../migrations/postgres/0001_jobs.sql"))];

/// SQLite migrations, in order.
const SQLITE: &[(i64, &str)] = &[(1, include_str!("../migrations/sqlite/0001_jobs.sql"))];

/// Key of the advisory lock serializing migrations on PostgreSQL ("adit-q" in ASCII).
const PG_MIGRATION_LOCK: i64 = 0x6164_6974_2d71;

/// Applies the PostgreSQL migrations not yet applied.
pub(crate) async fn postgres(pool: &PgPool) -> Result<()> {
    let err = |op| db("postgres", op);
    let mut tx = pool.begin().await.map_err(err("begin a migration"))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PG_MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(err("lock the migrations"))?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS _adit_queue_migrations (
             version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&mut *tx)
    .await
    .map_err(err("create the migrations table"))?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM _adit_queue_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(err("read applied migrations"))?;
    for &(version, sql) in POSTGRES {
        if done.contains(&version) {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(err("apply a migration"))?;
        sqlx::query("INSERT INTO _adit_queue_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(err("record a migration"))?;
    }
    tx.commit().await.map_err(err("commit migrations"))
}

/// Applies the SQLite migrations not yet applied.
pub(crate) async fn sqlite(pool: &SqlitePool) -> Result<()> {
    let err = |op| db("sqlite", op);
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(err("begin a migration"))?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS _adit_queue_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )
    .execute(&mut *tx)
    .await
    .map_err(err("create the migrations table"))?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM _adit_queue_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(err("read applied migrations"))?;
    for &(version, sql) in SQLITE {
        if done.contains(&version) {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(err("apply a migration"))?;
        sqlx::query("INSERT INTO _adit_queue_migrations (version) VALUES (?)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(err("record a migration"))?;
    }
    tx.commit().await.map_err(err("commit migrations"))
}
