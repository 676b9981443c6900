//! The receiver's liveness as `/health/` sees it, in process: the in-process flag of
//! `adit serve` (down → 503), a receiver process found through the database by `adit web`
//! (PostgreSQL advisory lock, SQLite heartbeat file; down → 200 with "down"), and the
//! PostgreSQL wake-up of spool watchers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use std::time::{Duration, Instant};

use adit_server::receiver::liveness::{self, InProcessFlag, ReceiverCheck};
use adit_server::receiver::signal;
use adit_server::web::{AppState, app};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jobs_support::TestDb;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

async fn health(state: &AppState) -> (StatusCode, serde_json::Value) {
    let response = app(state.clone())
        .oneshot(Request::get("/health/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Polls `/health/` until the receiver is `want`.
async fn wait_receiver(state: &AppState, want: &str) -> StatusCode {
    let start = Instant::now();
    loop {
        let (status, body) = health(state).await;
        if body["receiver"] == want {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn in_process_receiver_down_is_unhealthy(t: TestDb) {
    let db = t.db().await;
    let flag = InProcessFlag::default();
    let state = AppState::new(db.clone(), t.config(&[]))
        .with_receiver_check(ReceiverCheck::InProcess(flag.clone()));
    let (status, body) = health(&state).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        (&body["receiver"], &body["status"]),
        (&"down".into(), &"error".into())
    );
    flag.set(true);
    let (status, body) = health(&state).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["receiver"], "ok");
    // Without a receiver check (the bare app) the key is left out.
    let (_, body) = health(&t.app_state(&db)).await;
    assert!(body.get("receiver").is_none(), "{body}");
    db.close().await;
}

async fn receiver_process_presence_through_the_database(t: TestDb) {
    let db = t.db().await;
    let state =
        AppState::new(db.clone(), t.config(&[])).with_receiver_check(ReceiverCheck::Shared {
            data_dir: t.dir.path().to_owned(),
        });
    assert_eq!(wait_receiver(&state, "down").await, StatusCode::OK);
    let stop = CancellationToken::new();
    let present = tokio::spawn(liveness::present(
        db.clone(),
        t.dir.path().to_owned(),
        stop.clone(),
    ));
    assert_eq!(wait_receiver(&state, "ok").await, StatusCode::OK);
    stop.cancel();
    present.await.unwrap();
    // The lock went with its connection; the heartbeat file was removed.
    assert_eq!(wait_receiver(&state, "down").await, StatusCode::OK);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_wakes_the_spool_watcher_early() {
    let t = TestDb::postgres().await;
    let db = t.db().await;
    let adit_server::db::Db::Postgres(pool) = &db else {
        unreachable!()
    };
    let wake = signal::listen(pool.clone()).await.unwrap();
    // Without a notification the wait takes its bound.
    let start = Instant::now();
    wake.changed(Duration::from_millis(300)).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    let waiting = tokio::spawn({
        let wake = wake.clone();
        async move {
            let start = Instant::now();
            wake.changed(Duration::from_secs(20)).await;
            start.elapsed()
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(signal::CHANNEL)
        .execute(pool)
        .await
        .unwrap();
    let waited = waiting.await.unwrap();
    assert!(waited < Duration::from_secs(5), "woken after {waited:?}");
    db.close().await;
}

on_both_backends!(
    in_process_receiver_down_is_unhealthy,
    receiver_process_presence_through_the_database,
);
