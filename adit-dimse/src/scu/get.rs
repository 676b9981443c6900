//! C-GET SCU: storage contexts with the SCP role are proposed next to the query model, the
//! peer's C-STORE sub-operations are answered on the same association, and each instance is
//! handed to the caller through a bounded channel, never holding more than a few instances.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use adit_core::instance::Instance;
use adit_core::model::QueryModel;
use bytes::Bytes;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::stream::BoxStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

use super::cancel::cancel_and_drain;
use super::dataset;
use super::retrieve::RetrieveSummary;
use crate::association::{Association, MAX_PRESENTATION_CONTEXTS, Proposal};
use crate::error::{Error, Result};
use crate::message::{
    CStoreRq, CStoreRsp, Command, Message, Priority, QueryRq, Status, SubOperations,
};
use crate::options::{DimseOptions, PeerAddress};
use crate::storage::{NATIVE_TRANSFER_SYNTAXES, RETRIEVE_TRANSFER_SYNTAXES, storage_classes};

/// What a C-GET yields, in arrival order.
#[derive(Debug)]
#[non_exhaustive]
pub enum GetEvent {
    /// An instance arrived (already acknowledged to the peer).
    Instance(Instance),
    /// A pending response with counters.
    Progress(SubOperations),
    /// One C-GET (one identifier) is done.
    Finished(RetrieveSummary),
}

/// The C-GET events; an `Err` item ends the stream.
pub type GetStream = BoxStream<'static, Result<GetEvent>>;

/// Instances that may wait in the channel: the memory bound of a C-GET.
const BUFFERED_EVENTS: usize = 4;

/// The C-STORE status we answer when the consumer went away before taking an instance.
const CONSUMER_GONE: Status = Status(0xA702);

/// C-GET identifiers that several associations take their next one from: a long series on one
/// association does not leave the others idle, and each identifier is retrieved once.
#[derive(Debug, Clone, Default)]
pub struct GetQueue(Arc<Mutex<VecDeque<InMemDicomObject>>>);

impl GetQueue {
    /// A queue holding `identifiers` in order.
    pub fn new(identifiers: impl IntoIterator<Item = InMemDicomObject>) -> Self {
        Self(Arc::new(Mutex::new(identifiers.into_iter().collect())))
    }

    /// How many identifiers no association has taken yet.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether every identifier was taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pop(&self) -> Option<InMemDicomObject> {
        self.lock().pop_front()
    }

    fn level(&self) -> String {
        self.lock()
            .front()
            .and_then(|i| i.get(tags::QUERY_RETRIEVE_LEVEL))
            .and_then(|e| e.to_str().ok())
            .map(|l| l.trim().to_owned())
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<InMemDicomObject>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs one C-GET per identifier, one after the other on a single association. Cancelling
/// `cancel` or dropping the stream sends C-CANCEL and ends the stream.
pub async fn get(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    identifiers: Vec<InMemDicomObject>,
    cancel: CancellationToken,
) -> Result<GetStream> {
    get_from_queue(
        peer,
        options,
        model,
        GetQueue::new(identifiers),
        None,
        cancel,
    )
    .await
}

/// Like [`get`], taking identifiers from `queue` until it is empty; several of these on one
/// queue retrieve over parallel associations. With `permit`, the association uses that slot
/// of the peer's limit ([`crate::limit`]) instead of waiting for one.
pub async fn get_from_queue(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    queue: GetQueue,
    permit: Option<OwnedSemaphorePermit>,
    cancel: CancellationToken,
) -> Result<GetStream> {
    let level = queue.level();
    let operation = format!("C-GET {level}").trim().to_owned();
    let sop_class = model.get_sop_class();
    let mut proposal = Proposal::new().context(sop_class, NATIVE_TRANSFER_SYNTAXES.iter().copied());
    for storage in storage_classes(MAX_PRESENTATION_CONTEXTS - 1) {
        proposal.push_context(storage, RETRIEVE_TRANSFER_SYNTAXES.iter().copied());
        proposal = proposal.scp_role(storage);
    }
    let association = match permit {
        Some(permit) => {
            Association::connect_holding(peer, options, &proposal, &operation, Some(permit)).await?
        }
        None => Association::connect(peer, options, &proposal, &operation).await?,
    };
    let Some((pc, ts)) = association.context_for(sop_class) else {
        let e = association.no_context(sop_class);
        association.abort().await;
        return Err(e);
    };
    let (tx, mut rx) = mpsc::channel(BUFFERED_EVENTS);
    let job = Job {
        association,
        pc,
        ts,
        sop_class,
        tx,
        cancel,
    };
    tokio::spawn(job.run(queue));
    Ok(Box::pin(futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
    })))
}

struct Job {
    association: Association,
    pc: u8,
    ts: String,
    sop_class: &'static str,
    tx: mpsc::Sender<Result<GetEvent>>,
    cancel: CancellationToken,
}

/// How one C-GET ended.
enum Outcome {
    Done,
    /// The caller cancelled or went away; C-CANCEL is to be sent for this message.
    Stop(u16),
    Failed(Error),
}

impl Job {
    async fn run(mut self, queue: GetQueue) {
        while let Some(identifier) = queue.pop() {
            match self.one(&identifier).await {
                Outcome::Done => {}
                Outcome::Stop(message_id) => {
                    let (pc, cancelled) = (self.pc, self.cancel.is_cancelled());
                    let error = Error::Cancelled {
                        peer: self.association.peer().to_owned(),
                        operation: self.association.operation().to_owned(),
                    };
                    cancel_and_drain(self.association, pc, message_id).await;
                    if cancelled {
                        let _ = self.tx.send(Err(error)).await;
                    }
                    return;
                }
                Outcome::Failed(e) => {
                    let _ = self.tx.send(Err(e)).await;
                    self.association.abort().await;
                    return;
                }
            }
        }
        if let Err(e) = self.association.release().await {
            tracing::debug!("release after C-GET: {e}");
        }
    }

    async fn one(&mut self, identifier: &InMemDicomObject) -> Outcome {
        let data = match dataset::encode(identifier, &self.ts) {
            Ok(data) => data,
            Err(e) => return Outcome::Failed(e),
        };
        let message_id = self.association.next_message_id();
        let request = Command::GetRq(QueryRq {
            message_id,
            affected_sop_class_uid: self.sop_class.to_owned(),
            priority: Priority::Medium,
        });
        if let Err(e) = self.association.send(self.pc, &request, Some(&data)).await {
            return Outcome::Failed(e);
        }
        loop {
            let received = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Outcome::Stop(message_id),
                () = self.tx.closed() => return Outcome::Stop(message_id),
                received = self.association.receive() => received,
            };
            let message = match received {
                Ok(message) => message,
                Err(e) => return Outcome::Failed(e),
            };
            let Message {
                presentation_context_id,
                command,
                data,
            } = message;
            match command {
                Command::StoreRq(rq) => {
                    if let Some(outcome) =
                        self.sub_operation(presentation_context_id, rq, data).await
                    {
                        return match outcome {
                            Outcome::Stop(_) => Outcome::Stop(message_id),
                            other => other,
                        };
                    }
                }
                Command::GetRsp(rsp) if rsp.message_id_being_responded_to == message_id => {
                    if rsp.status.is_pending() {
                        if !self.deliver(GetEvent::Progress(rsp.sub_operations)).await {
                            return Outcome::Stop(message_id);
                        }
                        continue;
                    }
                    let summary = RetrieveSummary::from_final(rsp, data.as_deref(), &self.ts);
                    if !self.deliver(GetEvent::Finished(summary)).await {
                        return Outcome::Stop(message_id);
                    }
                    return Outcome::Done;
                }
                other => {
                    return Outcome::Failed(self.association.protocol_error(format!(
                        "expected C-GET-RSP or C-STORE-RQ during C-GET {message_id}, got {}",
                        other.field()
                    )));
                }
            }
        }
    }

    /// Hands one C-STORE sub-operation to the caller and answers it. `Some` ends the C-GET.
    async fn sub_operation(
        &mut self,
        pc: u8,
        rq: CStoreRq,
        data: Option<Vec<u8>>,
    ) -> Option<Outcome> {
        let Some(ts) = self.association.transfer_syntax_of(pc) else {
            return Some(Outcome::Failed(self.association.protocol_error(format!(
                "C-STORE-RQ on unknown presentation context {pc}"
            ))));
        };
        let Some(data) = data else {
            return Some(Outcome::Failed(
                self.association
                    .protocol_error("C-STORE-RQ without data set"),
            ));
        };
        if !self.association.has_scp_role(&rq.affected_sop_class_uid) {
            // Orthanc sends sub-operations even without the role; accept, but note it.
            tracing::debug!(
                sop_class = rq.affected_sop_class_uid,
                "C-STORE sub-operation without negotiated SCP role"
            );
        }
        let instance = Instance::from_dataset(
            Bytes::from(data),
            &rq.affected_sop_class_uid,
            &rq.affected_sop_instance_uid,
            &ts,
        );
        let delivered = self.deliver(GetEvent::Instance(instance)).await;
        let rsp = Command::StoreRsp(CStoreRsp {
            message_id_being_responded_to: rq.message_id,
            affected_sop_class_uid: Some(rq.affected_sop_class_uid),
            affected_sop_instance_uid: Some(rq.affected_sop_instance_uid),
            status: if delivered {
                Status::SUCCESS
            } else {
                CONSUMER_GONE
            },
            error_comment: (!delivered).then(|| "retrieve cancelled".to_owned()),
        });
        if let Err(e) = self.association.send(pc, &rsp, None).await {
            return Some(Outcome::Failed(e));
        }
        (!delivered).then_some(Outcome::Stop(0))
    }

    /// Sends an event to the caller, waiting for room; false when cancelled or gone.
    async fn deliver(&self, event: GetEvent) -> bool {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => false,
            sent = self.tx.send(Ok(event)) => sent.is_ok(),
        }
    }
}
