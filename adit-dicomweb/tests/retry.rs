//! Retries against a tiny scripted HTTP server on loopback: `Retry-After` is waited out within
//! the budget, non-retriable statuses are sent once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adit_core::model::{Query, QueryLevel};
use adit_dicomweb::{ClientConfig, DicomWebClient, Error, RetryPolicy};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Answers the n-th request with the n-th response (the last one repeats), one request per
/// connection, and records when each request arrived.
struct Scripted {
    root: String,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    async fn start(responses: &[&str]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}/dicom-web", listener.local_addr().unwrap());
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let responses: Vec<String> = responses.iter().map(|r| (*r).to_owned()).collect();
        let seen = arrivals.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                common::read_head(&mut socket).await;
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(Instant::now());
                    seen.len()
                };
                let response = &responses[(n - 1).min(responses.len() - 1)];
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Self { root, arrivals }
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }
}

fn response(status: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/dicom+json\r\n{extra_headers}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn client(root: &str, max_retry_after: Duration) -> DicomWebClient {
    let mut config = ClientConfig::new(root);
    config.retry = RetryPolicy {
        max_attempts: 3,
        // Tiny, so that a wait of a second can only come from Retry-After.
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(10),
        max_retry_after,
    };
    DicomWebClient::new(config).unwrap()
}

async fn search(client: &DicomWebClient) -> Result<usize, Error> {
    use futures::TryStreamExt;
    let results: Vec<_> = client
        .search(&Query::new(QueryLevel::Study))
        .await?
        .try_collect()
        .await?;
    Ok(results.len())
}

#[tokio::test]
async fn a_503_with_retry_after_is_waited_out_then_succeeds() {
    let server = Scripted::start(&[
        &response("503 Service Unavailable", "Retry-After: 1\r\n", "busy"),
        &response("200 OK", "", "[]"),
    ])
    .await;
    let client = client(&server.root, Duration::from_secs(5));
    let started = Instant::now();
    assert_eq!(search(&client).await.unwrap(), 0);
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 2, "one retry");
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= Duration::from_secs(1), "waited {gap:?}, asked 1 s");
    assert!(gap < Duration::from_secs(3), "waited {gap:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_429_with_retry_after_counts_attempts_and_gives_up_after_the_budget() {
    let server = Scripted::start(&[&response(
        "429 Too Many Requests",
        "Retry-After: 0\r\n",
        "slow down",
    )])
    .await;
    let err = search(&client(&server.root, Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(server.arrivals().len(), 3, "max_attempts");
    assert!(err.is_retriable());
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    let text = err.to_string();
    assert!(text.contains("HTTP 429 Too Many Requests"), "{text}");
    assert!(text.contains(&server.root), "{text}");
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_is_returned_at_once() {
    let server = Scripted::start(&[
        &response("503 Service Unavailable", "Retry-After: 120\r\n", ""),
        &response("200 OK", "", "[]"),
    ])
    .await;
    let started = Instant::now();
    let err = search(&client(&server.root, Duration::from_secs(30)))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.arrivals().len(), 1);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    // Still retriable for the job layer, which can reschedule the whole task.
    assert!(err.is_retriable());
    assert!(
        err.to_string()
            .contains("server asked to retry after 120 s"),
        "{err}"
    );
}

#[tokio::test]
async fn a_503_without_retry_after_uses_the_backoff() {
    let server = Scripted::start(&[
        &response("503 Service Unavailable", "", ""),
        &response("502 Bad Gateway", "", ""),
        &response("200 OK", "", "[]"),
    ])
    .await;
    assert_eq!(
        search(&client(&server.root, Duration::from_secs(5)))
            .await
            .unwrap(),
        0
    );
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 3);
    assert!(arrivals[2] - arrivals[0] < Duration::from_secs(1));
}

#[tokio::test]
async fn non_retriable_client_errors_are_sent_once() {
    for (status, reason) in [
        ("400 Bad Request", "Bad Request"),
        ("401 Unauthorized", "Unauthorized"),
        ("403 Forbidden", "Forbidden"),
        ("404 Not Found", "Not Found"),
    ] {
        // A Retry-After on a non-retriable status changes nothing.
        let server = Scripted::start(&[
            &response(status, "Retry-After: 0\r\n", "no"),
            &response("200 OK", "", "[]"),
        ])
        .await;
        let err = search(&client(&server.root, Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(server.arrivals().len(), 1, "{status}");
        assert!(!err.is_retriable(), "{status}");
        assert_eq!(err.retry_after(), None, "{status}");
        assert!(err.to_string().contains(reason), "{err}");
    }
}
