//! PostgreSQL wake-ups for spool watchers: the receiver process sends
//! `NOTIFY adit_received` after stored files ([`notify_received`]); a worker `LISTEN`s
//! ([`listen`]) and its `MoveCoordinator` scans the spool at once instead of at the next poll.
//! A lost notification only costs latency: the spool is still scanned every
//! [`POLL_FALLBACK`].

use std::sync::Arc;
use std::time::Duration;

use adit_dimse::scp::{Notified, ReceivedInstance, SpoolSignal};
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::{Result, db as db_err};

/// The notification channel.
pub const CHANNEL: &str = "adit_received";

/// Longest time between two spool scans of a notified worker.
pub const POLL_FALLBACK: Duration = Duration::from_secs(2);

/// How long to wait before listening again after the connection broke.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Sends one `NOTIFY` per burst of stored instances until `shutdown`.
pub async fn notify_received(
    pool: PgPool,
    mut events: broadcast::Receiver<ReceivedInstance>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
        // Coalesce what already queued up behind it.
        while events.try_recv().is_ok() {}
        let sent = tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(&pool),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::warn!("cannot notify the workers of received instances (they poll)");
        }
    }
}

/// A [`SpoolSignal`] fired by `NOTIFY adit_received`. The listening task reconnects after a
/// broken connection and runs as long as the process.
///
/// It listens on a connection of its own (a one-connection pool beside `pool`), so closing
/// `pool` at shutdown does not wait for it.
pub async fn listen(pool: PgPool) -> Result<Arc<dyn SpoolSignal>> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with((*pool.connect_options()).clone())
        .await
        .map_err(db_err("postgres", "connect for notifications"))?;
    let mut listener = PgListener::connect_with(&own)
        .await
        .map_err(db_err("postgres", "listen for received instances"))?;
    listener
        .listen(CHANNEL)
        .await
        .map_err(db_err("postgres", "listen for received instances"))?;
    let signal = Arc::new(Notified::default());
    let weak = Arc::downgrade(&signal);
    tokio::spawn(async move {
        loop {
            // `recv` reconnects by itself after a lost connection (and then re-listens).
            let received = listener.recv().await;
            let Some(signal) = weak.upgrade() else {
                return;
            };
            match received {
                Ok(_) => signal.notify(),
                Err(e) => {
                    tracing::warn!("listening for received instances failed: {e}");
                    // Wake anyway: files may have arrived while we were not listening.
                    signal.notify();
                    tokio::time::sleep(RECONNECT_AFTER).await;
                }
            }
        }
    });
    Ok(signal)
}
