//! Retrieval by C-MOVE for [`crate::DimseSource`]: learn the expected instances with an
//! image-level C-FIND, register the move with the [`MoveCoordinator`], send the C-MOVE(s) with
//! our receiver as destination, and yield the instances from the spool as they arrive. Each
//! spool file is claimed (moved into this process's claim folder) before it is read, so no other
//! worker takes it; claimed files are deleted when the stream has been read to its end, and
//! given back to the spool when the stream is dropped early (its consumer may not have stored
//! them). Ends when the final C-MOVE-RSP has come and
//! every expected instance arrived (or as many as the PACS says it sent), or after the
//! coordinator's inactivity timeout; what did not arrive is reported as missing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use adit_core::instance::Instance;
use adit_core::model::{QueryLevel, QueryModel};
use adit_core::source::{Expected, RetrieveStream, Retrieved, Selection};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::message::SubOperations;
use crate::options::{DimseOptions, PeerAddress};
use crate::scp::correlate::MoveTracker;
use crate::scp::{Expectation, MoveCoordinator, MoveWaiter};
use crate::scu;

/// Items that may wait for the consumer: the memory bound of a move (instances are read from
/// the spool only when there is room).
const BUFFERED_ITEMS: usize = 4;

/// Starts a retrieve by C-MOVE and returns its stream.
pub(crate) async fn retrieve(
    peer: &PeerAddress,
    options: &DimseOptions,
    coordinator: &Arc<MoveCoordinator>,
    model: QueryModel,
    identifiers: Vec<InMemDicomObject>,
    selection: &Selection,
    cancel: CancellationToken,
) -> adit_core::Result<RetrieveStream> {
    let expected = match expected_instances(peer, options, model, selection).await {
        Ok(set) => Some(set),
        Err(e) => {
            // Correlation still works by originator and study/series; only the missing report
            // loses names.
            tracing::info!(peer = %peer, "image-level C-FIND before C-MOVE failed: {e}");
            None
        }
    };
    let message_id = coordinator.next_message_id();
    let waiter = coordinator.register(Expectation {
        originator_ae: options.calling_ae_title.clone(),
        message_id,
        study_instance_uid: selection.study_uid().to_owned(),
        series_instance_uids: match selection {
            Selection::Instance { series_uid, .. } => vec![series_uid.clone()],
            other => other.series_uids().to_vec(),
        },
        sop_instance_uids: expected.clone(),
    });
    let expected_count = expected.as_ref().map(|e| e.len() as u64);
    let (tx, rx) = mpsc::channel(BUFFERED_ITEMS);
    let job = Job {
        coordinator: coordinator.clone(),
        peer: peer.clone(),
        options: options.clone(),
        model,
        destination: coordinator.destination_ae().to_owned(),
        inactivity: coordinator.inactivity_timeout(),
        message_id,
        tracker: MoveTracker::new(expected),
        cancel,
        tx,
    };
    tokio::spawn(job.run(identifiers, waiter));
    Ok(RetrieveStream {
        expected: expected_count.map(|instances| Expected {
            instances,
            bytes: None,
        }),
        items: ClaimedItems {
            rx,
            coordinator: coordinator.clone(),
            claimed: Vec::new(),
            ended: false,
        }
        .boxed(),
    })
}

/// An item of the retrieve and the claimed spool file it was read from.
type Item = (adit_core::Result<Retrieved>, Option<PathBuf>);

/// The retrieve stream: remembers the claimed files of the instances it handed on, deletes
/// them once the stream has ended, gives them back to the spool if dropped before.
struct ClaimedItems {
    rx: mpsc::Receiver<Item>,
    coordinator: Arc<MoveCoordinator>,
    claimed: Vec<PathBuf>,
    ended: bool,
}

impl futures::Stream for ClaimedItems {
    type Item = adit_core::Result<Retrieved>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some((item, path))) => {
                if let Some(path) = path {
                    self.claimed.push(path);
                }
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ClaimedItems {
    fn drop(&mut self) {
        for path in self.claimed.drain(..) {
            let done = if self.ended {
                self.coordinator.release(&path)
            } else {
                self.coordinator.give_back(&path)
            };
            if let Err(e) = done {
                tracing::warn!(path = %path.display(), "cannot release a claimed spool file: {e}");
            }
        }
    }
}

struct Job {
    coordinator: Arc<MoveCoordinator>,
    peer: PeerAddress,
    options: DimseOptions,
    model: QueryModel,
    destination: String,
    inactivity: std::time::Duration,
    message_id: u16,
    tracker: MoveTracker,
    cancel: CancellationToken,
    tx: mpsc::Sender<Item>,
}

impl Job {
    async fn run(mut self, identifiers: Vec<InMemDicomObject>, mut waiter: MoveWaiter) {
        // The C-MOVEs run in their own task so that a slow consumer never stalls their
        // timeouts; this task only waits for their result.
        let stop = self.cancel.child_token();
        let (done_tx, mut done_rx) = oneshot::channel();
        let moves = {
            let (peer, options, model) = (self.peer.clone(), self.options.clone(), self.model);
            let (destination, message_id, stop) =
                (self.destination.clone(), self.message_id, stop.clone());
            async move {
                let result = run_moves(
                    &peer,
                    &options,
                    model,
                    &identifiers,
                    &destination,
                    message_id,
                    stop,
                )
                .await;
                let _ = done_tx.send(result);
            }
        };
        tokio::spawn(moves);
        let mut moving = true;
        let mut timed_out = false;
        loop {
            if !moving && self.tracker.is_complete() {
                break;
            }
            let inactivity = tokio::time::sleep(self.inactivity);
            tokio::select! {
                biased;
                () = self.tx.closed() => {
                    stop.cancel();
                    return;
                }
                () = self.cancel.cancelled() => {
                    // The move task sees the same token and sends C-CANCEL if still running.
                    let _ = self.tx.send((Err(adit_core::Error::Cancelled), None)).await;
                    return;
                }
                result = &mut done_rx, if moving => {
                    moving = false;
                    match result {
                        Ok(Ok(totals)) => self.tracker.on_final(&totals),
                        Ok(Err(e)) => {
                            let _ = self.tx.send((Err(e.into()), None)).await;
                            return;
                        }
                        Err(_) => {
                            let _ = self.tx.send((Err(adit_core::Error::Task(
                                "the C-MOVE task ended without a result".into(),
                            )), None)).await;
                            return;
                        }
                    }
                }
                instance = waiter.next() => {
                    let Some(instance) = instance else {
                        let _ = self.tx.send((Err(adit_core::Error::Task(
                            "the receiver stopped during the C-MOVE".into(),
                        )), None)).await;
                        stop.cancel();
                        return;
                    };
                    let claimed = match self.coordinator.claim(&instance) {
                        Ok(Some(path)) => path,
                        // Another worker (or an earlier offer to us) took it.
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::warn!(path = %instance.path.display(), "cannot claim a spool file: {e}");
                            continue;
                        }
                    };
                    if !self.tracker.on_instance(&instance.sop_instance_uid) {
                        // A resend of an instance we already handed on.
                        if let Err(e) = self.coordinator.release(&claimed) {
                            tracing::warn!(path = %claimed.display(), "cannot remove a resent spool file: {e}");
                        }
                        continue;
                    }
                    let item = match tokio::fs::read(&claimed).await {
                        Ok(bytes) => Instance::from_part10(bytes).map(Retrieved::Instance),
                        Err(e) => Ok(Retrieved::Missing {
                            sop_instance_uid: Some(instance.sop_instance_uid.clone()),
                            reason: format!("spool file {} unreadable: {e}", claimed.display()),
                        }),
                    };
                    if let Err(unsent) = self.tx.send((item, Some(claimed))).await {
                        // Nobody took it: back into the spool.
                        if let Some(path) = unsent.0.1 {
                            let _ = self.coordinator.give_back(&path);
                        }
                        stop.cancel();
                        return;
                    }
                }
                () = inactivity, if !moving => {
                    timed_out = true;
                    break;
                }
            }
        }
        let outcome = self.tracker.outcome(timed_out);
        let reason = if timed_out {
            format!(
                "not received from {} within {:?} after the C-MOVE ended",
                self.peer, self.inactivity
            )
        } else {
            format!(
                "{} did not send it (C-MOVE sub-operation failed)",
                self.peer
            )
        };
        for uid in outcome.missing {
            let item = Retrieved::Missing {
                sop_instance_uid: Some(uid),
                reason: reason.clone(),
            };
            if self.tx.send((Ok(item), None)).await.is_err() {
                return;
            }
        }
        for _ in 0..outcome.unnamed_missing {
            let item = Retrieved::Missing {
                sop_instance_uid: None,
                reason: format!("{reason}; the PACS counted it as sent"),
            };
            if self.tx.send((Ok(item), None)).await.is_err() {
                return;
            }
        }
    }
}

/// One C-MOVE per identifier, one after the other, all with the same Message ID (never two at
/// once, so the ID still names this retrieve). Returns the summed final counters.
async fn run_moves(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    identifiers: &[InMemDicomObject],
    destination: &str,
    message_id: u16,
    cancel: CancellationToken,
) -> Result<SubOperations> {
    let mut totals = SubOperations::default();
    for identifier in identifiers {
        let summary = scu::move_with_message_id(
            peer,
            options,
            model,
            identifier,
            destination,
            Some(message_id),
            cancel.clone(),
            |_| {},
        )
        .await?;
        let s = summary.sub_operations;
        totals.completed = totals.completed.saturating_add(s.completed);
        totals.failed = totals.failed.saturating_add(s.failed);
        totals.warning = totals.warning.saturating_add(s.warning);
    }
    Ok(totals)
}

/// The SOP Instance UIDs of the selection, by image-level C-FIND.
async fn expected_instances(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    selection: &Selection,
) -> Result<BTreeSet<String>> {
    if let Selection::Instance {
        sop_instance_uid, ..
    } = selection
    {
        return Ok(BTreeSet::from([sop_instance_uid.clone()]));
    }
    let mut identifier = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: &str| {
        identifier.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    };
    put(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        QueryLevel::Image.as_str(),
    );
    if model == QueryModel::PatientRoot {
        put(
            tags::PATIENT_ID,
            VR::LO,
            selection.patient_id().unwrap_or_default(),
        );
    }
    put(tags::STUDY_INSTANCE_UID, VR::UI, selection.study_uid());
    put(tags::SERIES_INSTANCE_UID, VR::UI, "");
    put(tags::SOP_INSTANCE_UID, VR::UI, "");
    let series: BTreeSet<&str> = selection.series_uids().iter().map(String::as_str).collect();
    let mut results = scu::find(peer, options, model, &identifier, None).await?;
    let mut out = BTreeSet::new();
    while let Some(result) = results.next().await {
        let result = result?;
        let get = |tag| {
            result
                .get(tag)
                .and_then(|e| e.to_str().ok())
                .map(|s| crate::association::trim_uid(&s).to_owned())
        };
        let in_series = series.is_empty()
            || get(tags::SERIES_INSTANCE_UID).is_some_and(|s| series.contains(s.as_str()));
        if let Some(uid) = get(tags::SOP_INSTANCE_UID).filter(|u| !u.is_empty())
            && in_series
        {
            out.insert(uid);
        }
    }
    if out.is_empty() {
        return Err(Error::malformed(
            "the image-level C-FIND found no instances",
        ));
    }
    Ok(out)
}
