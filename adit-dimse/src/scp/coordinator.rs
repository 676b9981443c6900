//! [`MoveCoordinator`]: hands instances announced by the receiver (in this process) or found in
//! a shared spool directory (receiver in another process) to the C-MOVE waiting for them.
//!
//! Cross-process hand-off: the receiver process writes `<spool>/<association>/<uid>.dcm`
//! atomically before acknowledging. A worker in another process builds its coordinator with
//! [`MoveCoordinator::watch_spool`], which polls the directory for complete files it has not
//! seen, reads their headers and correlates them by expected SOP Instance UIDs or Study/Series
//! (the Move Originator fields are not in the file). A server with a database adds a
//! notification (e.g. PostgreSQL `NOTIFY adit_received, '<path>'` sent by the receiver after
//! the rename) and calls [`MoveCoordinator::dispatch`] with the announced instance instead of
//! waiting for the next poll; the files stay the durable truth either way.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use super::correlate::{Evidence, Expectation};
use super::receiver::{ReceivedInstance, Receiver};
use super::spool;

/// Default time a move may stay silent (no instance, no response) before it is given up.
pub const DEFAULT_INACTIVITY_TIMEOUT: Duration = Duration::from_secs(60);

/// Routes received instances to waiting moves.
pub struct MoveCoordinator {
    destination_ae: String,
    spool_dir: PathBuf,
    inactivity_timeout: Duration,
    waiters: Mutex<Vec<Slot>>,
    next_slot: AtomicU64,
    next_message_id: AtomicU16,
}

struct Slot {
    id: u64,
    expectation: Expectation,
    tx: mpsc::UnboundedSender<ReceivedInstance>,
}

impl fmt::Debug for MoveCoordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoveCoordinator")
            .field("destination_ae", &self.destination_ae)
            .field("spool_dir", &self.spool_dir)
            .finish_non_exhaustive()
    }
}

impl MoveCoordinator {
    /// A coordinator fed by an in-process receiver; moves name the receiver's AE as their
    /// destination.
    pub fn for_receiver(receiver: &Receiver) -> Arc<Self> {
        let coordinator = Self::new(receiver.ae_title(), receiver.spool_dir());
        let events = receiver.subscribe();
        tokio::spawn(listen(Arc::downgrade(&coordinator), events));
        coordinator
    }

    /// A coordinator fed by polling a spool directory that a receiver in another process
    /// (AE title `destination_ae`) writes to. Stops when the coordinator is dropped.
    pub fn watch_spool(
        destination_ae: impl Into<String>,
        spool_dir: impl Into<PathBuf>,
        poll_interval: Duration,
    ) -> Arc<Self> {
        let spool_dir = spool_dir.into();
        let coordinator = Self::new(&destination_ae.into(), &spool_dir);
        tokio::spawn(poll(Arc::downgrade(&coordinator), spool_dir, poll_interval));
        coordinator
    }

    fn new(destination_ae: &str, spool_dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            destination_ae: destination_ae.to_owned(),
            spool_dir: spool_dir.to_owned(),
            inactivity_timeout: DEFAULT_INACTIVITY_TIMEOUT,
            waiters: Mutex::new(Vec::new()),
            next_slot: AtomicU64::new(0),
            // Start away from 1, which every fresh SCU association uses first.
            next_message_id: AtomicU16::new(0x4000),
        })
    }

    /// The AE title to name as move destination.
    pub fn destination_ae(&self) -> &str {
        &self.destination_ae
    }

    /// How long a move may stay silent before it is given up.
    pub fn inactivity_timeout(&self) -> Duration {
        self.inactivity_timeout
    }

    /// Changes the inactivity timeout for moves registered afterwards (set it before sharing).
    pub fn with_inactivity_timeout(mut self: Arc<Self>, timeout: Duration) -> Arc<Self> {
        if let Some(this) = Arc::get_mut(&mut self) {
            this.inactivity_timeout = timeout;
        } else {
            tracing::warn!("inactivity timeout not changed: the coordinator is already shared");
        }
        self
    }

    /// A Message ID for a C-MOVE-RQ, unique among the moves this process runs at once, so the
    /// Move Originator Message ID of inbound stores names one move.
    pub fn next_message_id(&self) -> u16 {
        loop {
            let id = self.next_message_id.fetch_add(1, Ordering::Relaxed);
            let busy = self.lock().iter().any(|s| s.expectation.message_id == id);
            if id != 0 && !busy {
                return id;
            }
        }
    }

    /// Registers a move before its C-MOVE-RQ is sent; instances matching it are delivered to
    /// the returned waiter until it is dropped.
    pub fn register(self: &Arc<Self>, expectation: Expectation) -> MoveWaiter {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next_slot.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Slot {
            id,
            expectation,
            tx,
        });
        MoveWaiter {
            coordinator: self.clone(),
            id,
            rx,
        }
    }

    /// Hands an instance to the move with the strongest evidence; false if none wants it
    /// (it stays in the spool).
    pub fn dispatch(&self, instance: ReceivedInstance) -> bool {
        let waiters = self.lock();
        let best = waiters
            .iter()
            .filter_map(|slot| slot.expectation.matches(&instance).map(|e| (e, slot)))
            .max_by_key(|(evidence, slot)| (*evidence, std::cmp::Reverse(slot.id)));
        match best {
            Some((evidence, slot)) => {
                if evidence == Evidence::Scope {
                    tracing::debug!(
                        sop_instance_uid = instance.sop_instance_uid,
                        "matched to a move by study/series only"
                    );
                }
                slot.tx.send(instance).is_ok()
            }
            None => {
                tracing::info!(
                    sop_instance_uid = instance.sop_instance_uid,
                    calling_ae = instance.calling_ae,
                    path = %instance.path.display(),
                    "received instance matches no waiting C-MOVE; left in the spool"
                );
                false
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unregister(&self, id: u64) {
        self.lock().retain(|s| s.id != id);
    }
}

/// The inbound side of one registered move.
#[derive(Debug)]
pub struct MoveWaiter {
    coordinator: Arc<MoveCoordinator>,
    id: u64,
    rx: mpsc::UnboundedReceiver<ReceivedInstance>,
}

impl MoveWaiter {
    /// The next instance of this move; `None` only if the coordinator's feed ended.
    pub async fn next(&mut self) -> Option<ReceivedInstance> {
        self.rx.recv().await
    }
}

impl Drop for MoveWaiter {
    fn drop(&mut self) {
        self.coordinator.unregister(self.id);
    }
}

async fn listen(
    coordinator: Weak<MoveCoordinator>,
    mut events: broadcast::Receiver<ReceivedInstance>,
) {
    loop {
        match events.recv().await {
            Ok(instance) => {
                let Some(c) = coordinator.upgrade() else {
                    return;
                };
                c.dispatch(instance);
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // The files are in the spool; waiting moves end by their inactivity timeout
                // and report them missing rather than hang.
                tracing::warn!("move coordinator missed {n} announcements");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn poll(coordinator: Weak<MoveCoordinator>, spool_dir: PathBuf, interval: Duration) {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    loop {
        if coordinator.strong_count() == 0 {
            return;
        }
        let dir = spool_dir.clone();
        let fresh = tokio::task::spawn_blocking(move || spool::scan(&dir)).await;
        match fresh {
            Ok(Ok(paths)) => {
                // Forget files that are gone (taken), so the set stays small.
                let present: HashSet<&PathBuf> = paths.iter().collect();
                seen.retain(|p| present.contains(p));
                for path in paths {
                    if seen.contains(&path) {
                        continue;
                    }
                    let Some(c) = coordinator.upgrade() else {
                        return;
                    };
                    let read = path.clone();
                    let instance = tokio::task::spawn_blocking(move || describe_file(&read)).await;
                    match instance {
                        Ok(Some(instance)) => {
                            if c.dispatch(instance) {
                                seen.insert(path);
                            }
                        }
                        _ => {
                            seen.insert(path);
                        }
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!(dir = %spool_dir.display(), "cannot scan the spool: {e}"),
            Err(e) => tracing::warn!("spool scan task failed: {e}"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// A [`ReceivedInstance`] for a complete spool file found on disk (no Move Originator known).
pub fn describe_file(path: &Path) -> Option<ReceivedInstance> {
    use crate::association::trim_uid;
    use dicom_dictionary_std::tags;
    let object = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .ok()?;
    let uid = |tag| {
        object
            .get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| trim_uid(&s).to_owned())
            .filter(|s| !s.is_empty())
    };
    let (study, series) = (
        uid(tags::STUDY_INSTANCE_UID),
        uid(tags::SERIES_INSTANCE_UID),
    );
    let meta = object.meta();
    Some(ReceivedInstance {
        path: path.to_owned(),
        sop_class_uid: trim_uid(meta.media_storage_sop_class_uid()).to_owned(),
        sop_instance_uid: trim_uid(meta.media_storage_sop_instance_uid()).to_owned(),
        study_instance_uid: study,
        series_instance_uid: series,
        transfer_syntax: trim_uid(meta.transfer_syntax()).to_owned(),
        data_set_len: std::fs::metadata(path).map(|m| m.len()).unwrap_or_default(),
        calling_ae: meta
            .source_application_entity_title()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        move_originator_ae: None,
        move_originator_message_id: None,
    })
}
