//! [`MoveCoordinator`]: hands instances announced by the receiver (in this process) or found in
//! a shared spool directory (receiver in another process) to the C-MOVE waiting for them.
//!
//! Hand-off (see `docs/dimse.md`): the receiver writes `<spool>/<association>/<uid>.dcm`
//! atomically, with the Move Originator AE/Message ID in the file meta, before acknowledging.
//! A move that gets an instance first *claims* its file (an atomic rename into this
//! coordinator's claim folder, [`super::claim`]), so two workers never take the same file, and
//! deletes it only when its consumer is done. In another process, [`MoveCoordinator::watch_spool`]
//! scans the directory whenever its [`SpoolSignal`] fires (or after the poll bound), reads the
//! provenance from each new file and correlates it exactly like an in-process announcement.
//! Both kinds refresh their claim lease and give back the claims of dead workers.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{broadcast, mpsc};

use super::claim::{self, ClaimDir};
use super::correlate::{Evidence, Expectation};
use super::receiver::{ReceivedInstance, Receiver};
use super::signal::{Polling, SpoolSignal};
use super::spool;

/// Age after which a spool file whose Move Originator matches no waiting move is offered by
/// its UIDs alone (its own move is over).
pub const ORPHAN_AFTER: Duration = Duration::from_secs(600);

/// How often an in-process coordinator also scans the spool (for files left by a crash or
/// given back by a worker), besides the receiver's announcements.
const IN_PROCESS_SCAN: Duration = Duration::from_secs(10);

/// How long a spool file a move took but did not claim waits before it is offered again.
pub const REOFFER_AFTER: Duration = Duration::from_secs(30);

/// Default time a move may stay silent (no instance, no response) before it is given up.
pub const DEFAULT_INACTIVITY_TIMEOUT: Duration = Duration::from_secs(60);

/// Routes received instances to waiting moves.
pub struct MoveCoordinator {
    destination_ae: String,
    spool_dir: PathBuf,
    /// Milliseconds (settable while the background tasks hold their `Weak`s).
    inactivity_timeout_ms: AtomicU64,
    /// Milliseconds.
    stale_after_ms: AtomicU64,
    claims: ClaimDir,
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
    ///
    /// Fails when its claim folder cannot be created in the spool.
    pub fn for_receiver(receiver: &Receiver) -> std::io::Result<Arc<Self>> {
        let coordinator = Self::new(receiver.ae_title(), receiver.spool_dir())?;
        let events = receiver.subscribe();
        tokio::spawn(listen(Arc::downgrade(&coordinator), events));
        // Announcements are the fast path; the scan finds what no announcement names (files
        // from before a restart, claims given back).
        tokio::spawn(watch(
            Arc::downgrade(&coordinator),
            receiver.spool_dir().to_owned(),
            Arc::new(Polling),
            IN_PROCESS_SCAN,
        ));
        tokio::spawn(maintain(Arc::downgrade(&coordinator)));
        Ok(coordinator)
    }

    /// A coordinator fed by polling (every `poll_interval`) a spool directory that a receiver
    /// in another process (AE title `destination_ae`) writes to. Stops when dropped.
    pub fn watch_spool(
        destination_ae: impl Into<String>,
        spool_dir: impl Into<PathBuf>,
        poll_interval: Duration,
    ) -> std::io::Result<Arc<Self>> {
        Self::watch_spool_with(destination_ae, spool_dir, Arc::new(Polling), poll_interval)
    }

    /// Like [`MoveCoordinator::watch_spool`], woken early by `signal` (e.g. a database
    /// notification sent by the receiver process); scans at least every `max_interval`.
    pub fn watch_spool_with(
        destination_ae: impl Into<String>,
        spool_dir: impl Into<PathBuf>,
        signal: Arc<dyn SpoolSignal>,
        max_interval: Duration,
    ) -> std::io::Result<Arc<Self>> {
        let spool_dir = spool_dir.into();
        std::fs::create_dir_all(&spool_dir)?;
        let coordinator = Self::new(&destination_ae.into(), &spool_dir)?;
        tokio::spawn(watch(
            Arc::downgrade(&coordinator),
            spool_dir,
            signal,
            max_interval,
        ));
        tokio::spawn(maintain(Arc::downgrade(&coordinator)));
        Ok(coordinator)
    }

    fn new(destination_ae: &str, spool_dir: &Path) -> std::io::Result<Arc<Self>> {
        let claims = ClaimDir::create(spool_dir, &ClaimDir::unique_claimant())?;
        Ok(Arc::new(Self {
            destination_ae: destination_ae.to_owned(),
            spool_dir: spool_dir.to_owned(),
            inactivity_timeout_ms: AtomicU64::new(millis(DEFAULT_INACTIVITY_TIMEOUT)),
            stale_after_ms: AtomicU64::new(millis(claim::DEFAULT_STALE_AFTER)),
            claims,
            waiters: Mutex::new(Vec::new()),
            next_slot: AtomicU64::new(0),
            // Start away from 1, which every fresh SCU association uses first, and at a
            // per-process offset, so workers sharing a spool rarely use the same IDs at once.
            next_message_id: AtomicU16::new(first_message_id()),
        }))
    }

    /// The spool directory.
    pub fn spool_dir(&self) -> &Path {
        &self.spool_dir
    }

    /// Takes the spool file of `instance` for this process: `Ok(Some(path))` of the claimed
    /// file, `Ok(None)` when another worker took it first.
    pub fn claim(&self, instance: &ReceivedInstance) -> std::io::Result<Option<PathBuf>> {
        if claim::is_claimed(&instance.path) {
            return Ok(Some(instance.path.clone()));
        }
        self.claims.claim(&instance.path)
    }

    /// Deletes a claimed file whose consumer is done with it.
    pub fn release(&self, claimed: &Path) -> std::io::Result<()> {
        self.claims.release(claimed)
    }

    /// Puts a claimed file back into the spool (its consumer may not have stored it).
    pub fn give_back(&self, claimed: &Path) -> std::io::Result<()> {
        self.claims.give_back(claimed)
    }

    /// How old a claim lease may get before its files are given back to the spool (default
    /// [`claim::DEFAULT_STALE_AFTER`]; keep it well above [`claim::LEASE_REFRESH`]).
    pub fn with_stale_claims_after(self: Arc<Self>, age: Duration) -> Arc<Self> {
        self.stale_after_ms.store(millis(age), Ordering::Relaxed);
        self
    }

    /// The AE title to name as move destination.
    pub fn destination_ae(&self) -> &str {
        &self.destination_ae
    }

    /// How long a move may stay silent before it is given up.
    pub fn inactivity_timeout(&self) -> Duration {
        Duration::from_millis(self.inactivity_timeout_ms.load(Ordering::Relaxed))
    }

    /// Changes the inactivity timeout for moves started afterwards.
    pub fn with_inactivity_timeout(self: Arc<Self>, timeout: Duration) -> Arc<Self> {
        self.inactivity_timeout_ms
            .store(millis(timeout), Ordering::Relaxed);
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
        self.dispatch_inner(instance, true)
    }

    /// [`MoveCoordinator::dispatch`] without the log line for an unwanted instance (the spool
    /// watcher offers orphans again on every scan).
    fn dispatch_quietly(&self, instance: ReceivedInstance) -> bool {
        self.dispatch_inner(instance, false)
    }

    fn dispatch_inner(&self, instance: ReceivedInstance, log_unwanted: bool) -> bool {
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
                if !log_unwanted {
                    return false;
                }
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

/// Refreshes the claim lease and gives back the claims of dead workers, until the coordinator
/// is dropped.
async fn maintain(coordinator: Weak<MoveCoordinator>) {
    loop {
        {
            let Some(c) = coordinator.upgrade() else {
                return;
            };
            if let Err(e) = c.claims.refresh_lease() {
                tracing::warn!(dir = %c.claims.path().display(), "cannot refresh the claim lease: {e}");
            }
            let stale_after = Duration::from_millis(c.stale_after_ms.load(Ordering::Relaxed));
            let spool_dir = c.spool_dir.clone();
            drop(c);
            match tokio::task::spawn_blocking(move || claim::recover_stale(&spool_dir, stale_after))
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("cannot recover stale claims: {e}"),
                Err(e) => tracing::warn!("stale claim recovery failed: {e}"),
            }
        }
        tokio::time::sleep(claim::LEASE_REFRESH).await;
    }
}

/// What the spool watcher remembers about a file.
struct Known {
    /// The header, `None` when unreadable.
    instance: Option<ReceivedInstance>,
    /// When the receiver wrote it (its modification time).
    written: Option<SystemTime>,
    /// When a move last took it.
    taken: Option<Instant>,
}

/// Scans the spool on every signal (or bound) and offers new files to the waiting moves.
/// Files no move wanted are offered again on each scan, files a move wanted but did not claim
/// (it ended first) after [`REOFFER_AFTER`]; both from a cache of their headers, so an orphan
/// costs no reading. A file whose Move Originator matches no waiting move and that is older
/// than [`ORPHAN_AFTER`] (its move is long over: a worker crashed, claims were given back) is
/// offered by its UIDs alone, so the retried job's new C-MOVE can take it.
async fn watch(
    coordinator: Weak<MoveCoordinator>,
    spool_dir: PathBuf,
    signal: Arc<dyn SpoolSignal>,
    bound: Duration,
) {
    let mut known: HashMap<PathBuf, Known> = HashMap::new();
    loop {
        if coordinator.strong_count() == 0 {
            return;
        }
        let dir = spool_dir.clone();
        let fresh = tokio::task::spawn_blocking(move || spool::scan(&dir)).await;
        match fresh {
            Ok(Ok(paths)) => {
                // Forget files that are gone (claimed), so the map stays small.
                let present: std::collections::HashSet<&PathBuf> = paths.iter().collect();
                known.retain(|p, _| present.contains(p));
                for path in paths {
                    let mut entry = match known.remove(&path) {
                        Some(entry) => entry,
                        None => {
                            let read = path.clone();
                            let (instance, written) = tokio::task::spawn_blocking(move || {
                                let written =
                                    std::fs::metadata(&read).and_then(|m| m.modified()).ok();
                                (describe_file(&read), written)
                            })
                            .await
                            .unwrap_or((None, None));
                            if instance.is_none() {
                                tracing::warn!(path = %path.display(), "unreadable spool file left alone");
                            }
                            Known {
                                instance,
                                written,
                                taken: None,
                            }
                        }
                    };
                    if let Some(instance) = &entry.instance
                        && entry.taken.is_none_or(|t| t.elapsed() >= REOFFER_AFTER)
                    {
                        let Some(c) = coordinator.upgrade() else {
                            return;
                        };
                        let mut wanted = c.dispatch_quietly(instance.clone());
                        let orphaned = entry
                            .written
                            .and_then(|w| w.elapsed().ok())
                            .is_some_and(|age| age >= ORPHAN_AFTER);
                        if !wanted && orphaned && instance.move_originator_ae.is_some() {
                            let mut by_uids = instance.clone();
                            by_uids.move_originator_ae = None;
                            by_uids.move_originator_message_id = None;
                            wanted = c.dispatch_quietly(by_uids);
                        }
                        if wanted {
                            entry.taken = Some(Instant::now());
                        }
                    }
                    known.insert(path, entry);
                }
            }
            Ok(Err(e)) => tracing::warn!(dir = %spool_dir.display(), "cannot scan the spool: {e}"),
            Err(e) => tracing::warn!("spool scan task failed: {e}"),
        }
        signal.changed(bound).await;
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The first C-MOVE Message ID of this process: 0x4000 plus a per-process offset.
fn first_message_id() -> u16 {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or_default();
    let spread = (std::process::id().wrapping_mul(7919).wrapping_add(millis)) % 0x2000;
    0x4000 + u16::try_from(spread).unwrap_or_default()
}

/// A [`ReceivedInstance`] for a complete spool file found on disk, with the provenance (Move
/// Originator) the receiver wrote into its meta.
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
    let provenance = spool::read_provenance(meta);
    let (move_originator_ae, move_originator_message_id) = match provenance.move_originator {
        Some((ae, id)) => (Some(ae), Some(id)),
        None => (None, None),
    };
    Some(ReceivedInstance {
        path: path.to_owned(),
        sop_class_uid: trim_uid(meta.media_storage_sop_class_uid()).to_owned(),
        sop_instance_uid: trim_uid(meta.media_storage_sop_instance_uid()).to_owned(),
        study_instance_uid: study,
        series_instance_uid: series,
        transfer_syntax: trim_uid(meta.transfer_syntax()).to_owned(),
        data_set_len: std::fs::metadata(path).map(|m| m.len()).unwrap_or_default(),
        calling_ae: provenance.calling_ae,
        move_originator_ae,
        move_originator_message_id,
    })
}
