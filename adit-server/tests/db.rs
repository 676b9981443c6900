//! The server database on both backends: migrations (with the queue's), idempotence,
//! concurrent starters, and `adit migrate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use adit_server::db::{Db, migrate};
use adit_server::db_dispatch;
use common::TestDb;

const TABLES: &[&str] = &[
    "groups",
    "users",
    "group_members",
    "group_permissions",
    "nodes",
    "node_access",
    "jobs",
    "tasks",
    "batch_query_results",
    "api_tokens",
    "sessions",
    "_adit_server_migrations",
    "adit_queue_jobs",
    "_adit_queue_migrations",
];

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    db_dispatch!(db, pool => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap())
}

async fn migrations_create_every_table_once(t: TestDb) {
    let db = Db::connect_url(&t.url).await.unwrap();
    let first = migrate::run(&db).await.unwrap();
    let all: Vec<i64> = (1..=migrate::latest_version()).collect();
    assert_eq!(first.server, all);
    for table in TABLES {
        count(&db, table).await;
    }
    let again = migrate::run(&db).await.unwrap();
    assert!(again.server.is_empty(), "{again:?}");
    assert_eq!(
        count(&db, "_adit_server_migrations").await,
        migrate::latest_version()
    );
    db.ping().await.unwrap();
    db.close().await;
}

async fn concurrent_migrations_serialize(t: TestDb) {
    let mut handles = Vec::new();
    for _ in 0..4 {
        let url = t.url.clone();
        handles.push(tokio::spawn(async move {
            let db = Db::connect_url(&url).await.unwrap();
            let applied = migrate::run(&db).await.unwrap();
            db.close().await;
            usize::from(applied.server.contains(&1))
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(total, 1, "exactly one starter applies migration 1");
}

async fn foreign_keys_are_enforced(t: TestDb) {
    let db = t.db().await;
    let result = db_dispatch!(&db, pool => sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
        .bind(4242_i64)
        .bind(4343_i64)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()));
    assert!(
        result.is_err(),
        "a member row without group and user must be rejected"
    );
}

async fn adit_migrate_command(t: TestDb) {
    let out = t.adit_ok(&["migrate"]);
    assert!(out.contains("applied migrations [1"), "{out}");
    let out = t.adit_ok(&["migrate"]);
    assert!(out.contains("up to date"), "{out}");
}

both_backends! {
    migrations_create_every_table_once => migrations_create_every_table_once_sqlite, migrations_create_every_table_once_postgres;
    concurrent_migrations_serialize => concurrent_migrations_serialize_sqlite, concurrent_migrations_serialize_postgres;
    foreign_keys_are_enforced => foreign_keys_are_enforced_sqlite, foreign_keys_are_enforced_postgres;
    adit_migrate_command => adit_migrate_command_sqlite, adit_migrate_command_postgres;
}

#[tokio::test]
async fn sqlite_creates_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let url = format!("sqlite://{}", nested.join("adit.db").display());
    let db = Db::connect_url(&url).await.unwrap();
    migrate::run(&db).await.unwrap();
    assert!(nested.join("adit.db").exists());
    let mode: String = db_dispatch!(&db, pool => sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap());
    assert_eq!(mode, "wal");
}
