//! [`DimseSink`]: the `adit-core` [`Sink`] for a DIMSE server. Stores spread over up to N
//! parallel associations (DIMSE allows one operation at a time per association, so this is
//! the lever for throughput), all within the node's process-wide association limit.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};

use adit_core::instance::Instance;
use adit_core::model::DimseServer;
use adit_core::sink::{Sink, StoreOutcome};
use async_trait::async_trait;

use crate::options::{DimseOptions, PeerAddress};
use crate::scu::StoreSession;

/// Common storage classes every store association proposes besides the instances' own.
const COMMON_CLASSES: usize = 100;

/// A DIMSE server as a place to store to.
#[derive(Debug)]
pub struct DimseSink {
    name: String,
    peer: PeerAddress,
    options: DimseOptions,
    parallel: usize,
    idle: Mutex<Vec<StoreSession>>,
    /// Every (SOP class, transfer syntax) seen, so new associations propose them all.
    seen: Mutex<BTreeSet<(String, String)>>,
    closed: AtomicBool,
}

impl DimseSink {
    /// A sink storing to `server` over up to `parallel` associations (at least one, at most
    /// the server's `max_associations`).
    pub fn new(
        name: impl Into<String>,
        server: &DimseServer,
        options: DimseOptions,
        parallel: usize,
    ) -> Self {
        let parallel = parallel.clamp(1, usize::from(server.max_associations.get()));
        Self {
            name: name.into(),
            peer: PeerAddress::from(server),
            options,
            parallel,
            idle: Mutex::new(Vec::new()),
            seen: Mutex::new(BTreeSet::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// An idle session that proposed this pair, or a new one. An idle session that did not
    /// is closed first, so its association slot is free for the new one.
    async fn session_for(&self, instance: &Instance) -> crate::Result<StoreSession> {
        let class = instance.sop_class_uid();
        let ts = instance.transfer_syntax();
        let stale = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = idle.iter().position(|s| s.proposes(class, ts)) {
                return Ok(idle.swap_remove(i));
            }
            idle.pop()
        };
        if let Some(stale) = stale {
            let _ = stale.release().await;
        }
        let pairs: Vec<(String, String)> = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            seen.insert((class.to_owned(), ts.to_owned()));
            seen.iter().cloned().collect()
        };
        let proposal = StoreSession::proposal_for(
            pairs.iter().map(|(c, t)| (c.as_str(), t.as_str())),
            COMMON_CLASSES,
        );
        StoreSession::open(&self.peer, &self.options, proposal).await
    }
}

#[async_trait]
impl Sink for DimseSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_concurrency(&self) -> usize {
        self.parallel
    }

    async fn store(&self, instance: Instance) -> adit_core::Result<StoreOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(adit_core::Error::SinkClosed {
                sink: self.name.clone(),
                reason: "finished".into(),
            });
        }
        let mut session = self.session_for(&instance).await?;
        match session.store(&instance).await {
            Ok(outcome) => {
                let surplus = {
                    let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                    if idle.len() < self.parallel && !self.closed.load(Ordering::Acquire) {
                        idle.push(session);
                        None
                    } else {
                        Some(session)
                    }
                };
                if let Some(surplus) = surplus {
                    let _ = surplus.release().await;
                }
                Ok(outcome)
            }
            Err(e) => {
                session.abort().await;
                Err(e.into())
            }
        }
    }

    async fn finish(&self) -> adit_core::Result<()> {
        self.closed.store(true, Ordering::Release);
        let sessions: Vec<StoreSession> = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            idle.drain(..).collect()
        };
        let mut first_error = None;
        for session in sessions {
            if let Err(e) = session.release().await {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adit_core::model::AeTitle;
    use std::num::{NonZeroU16, NonZeroU32};

    #[test]
    fn parallelism_stays_within_the_node_limit() {
        let mut server = DimseServer::new(
            AeTitle::new("PACS").unwrap(),
            "127.0.0.1",
            NonZeroU16::new(104).unwrap(),
        );
        server.max_associations = NonZeroU16::new(2).unwrap();
        server.max_search_results = NonZeroU32::new(10).unwrap();
        let options = DimseOptions::default();
        assert_eq!(
            DimseSink::new("s", &server, options.clone(), 8).max_concurrency(),
            2
        );
        assert_eq!(
            DimseSink::new("s", &server, options.clone(), 0).max_concurrency(),
            1
        );
        let sink = DimseSink::new("s", &server, options, 2);
        assert_eq!(sink.peer.max_associations, NonZeroU16::new(2));
    }
}
