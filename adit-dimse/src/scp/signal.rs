//! [`SpoolSignal`]: how a worker learns that a receiver (perhaps in another process or on
//! another machine) put new files into the shared spool. The spool directory is the durable
//! truth; a signal only shortens the wait. [`Polling`] waits the full bound; a server with a
//! database implements the trait with a notification (e.g. PostgreSQL `LISTEN adit_received`,
//! `NOTIFY`-ed by the receiver process after each instance) without any change here.

use std::time::Duration;

use async_trait::async_trait;

/// Wakes a spool watcher when new files may have arrived.
#[async_trait]
pub trait SpoolSignal: Send + Sync + std::fmt::Debug {
    /// Returns when new files may be in the spool, or after `bound` at the latest (the
    /// watcher scans the directory either way, so a lost notification costs only latency).
    async fn changed(&self, bound: Duration);
}

/// No notification: every wait takes the whole bound (plain polling).
#[derive(Debug, Clone, Copy, Default)]
pub struct Polling;

#[async_trait]
impl SpoolSignal for Polling {
    async fn changed(&self, bound: Duration) {
        tokio::time::sleep(bound).await;
    }
}

/// An in-process notification: [`Notified::notify`] wakes the waiting watcher at once.
#[derive(Debug, Default)]
pub struct Notified {
    notify: tokio::sync::Notify,
}

impl Notified {
    /// Wakes the watcher (or the next wait, if none waits now).
    pub fn notify(&self) {
        self.notify.notify_one();
    }
}

#[async_trait]
impl SpoolSignal for Notified {
    async fn changed(&self, bound: Duration) {
        let _ = tokio::time::timeout(bound, self.notify.notified()).await;
    }
}
