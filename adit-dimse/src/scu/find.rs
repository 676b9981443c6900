//! C-FIND SCU: results are streamed as the peer sends them. Dropping the stream (or reaching
//! the result limit) sends C-CANCEL; a peer that keeps sending after the grace time gets an
//! A-ABORT.

use adit_core::model::QueryModel;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use super::cancel::cancel_and_drain;
use super::dataset;
use crate::association::{Association, Proposal};
use crate::error::{Error, Result};
use crate::message::{Command, Priority, QueryRq, Status};
use crate::options::{DimseOptions, PeerAddress};
use crate::storage::NATIVE_TRANSFER_SYNTAXES;

/// Matches as they arrive; the stream ends after the final response. An `Err` item ends it.
pub type FindStream = BoxStream<'static, Result<InMemDicomObject>>;

/// How many results may wait in the stream before we stop reading from the peer.
const BUFFERED_RESULTS: usize = 32;

/// Runs a C-FIND in `model` with `identifier` (which must hold QueryRetrieveLevel). Errors up
/// to sending the request are returned here; later ones come through the stream.
pub async fn find(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    identifier: &InMemDicomObject,
    limit: Option<u32>,
) -> Result<FindStream> {
    let level = identifier
        .get(tags::QUERY_RETRIEVE_LEVEL)
        .and_then(|e| e.to_str().ok())
        .map(|l| l.trim().to_owned())
        .unwrap_or_default();
    let operation = format!("C-FIND {level}").trim().to_owned();
    let sop_class = model.find_sop_class();
    let proposal = Proposal::new().context(sop_class, NATIVE_TRANSFER_SYNTAXES.iter().copied());
    let mut association = Association::connect(peer, options, &proposal, &operation).await?;
    let started = start(&mut association, sop_class, identifier).await;
    let (pc, ts, message_id) = match started {
        Ok(started) => started,
        Err(e) => {
            association.abort().await;
            return Err(e);
        }
    };
    let (tx, mut rx) = mpsc::channel(BUFFERED_RESULTS);
    tokio::spawn(drive(association, pc, ts, message_id, limit, tx));
    Ok(Box::pin(futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
    })))
}

async fn start(
    association: &mut Association,
    sop_class: &str,
    identifier: &InMemDicomObject,
) -> Result<(u8, String, u16)> {
    let (pc, ts) = association
        .context_for(sop_class)
        .ok_or_else(|| association.no_context(sop_class))?;
    let data = dataset::encode(identifier, &ts)?;
    let message_id = association.next_message_id();
    let request = Command::FindRq(QueryRq {
        message_id,
        affected_sop_class_uid: sop_class.to_owned(),
        priority: Priority::Medium,
    });
    association.send(pc, &request, Some(&data)).await?;
    Ok((pc, ts, message_id))
}

async fn drive(
    mut association: Association,
    pc: u8,
    ts: String,
    message_id: u16,
    limit: Option<u32>,
    tx: mpsc::Sender<Result<InMemDicomObject>>,
) {
    let mut delivered: u32 = 0;
    loop {
        let received = tokio::select! {
            biased;
            () = tx.closed() => {
                cancel_and_drain(association, pc, message_id).await;
                return;
            }
            received = association.receive() => received,
        };
        let message = match received {
            Ok(message) => message,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                association.abort().await;
                return;
            }
        };
        let rsp = match message.command {
            Command::FindRsp(rsp) if rsp.message_id_being_responded_to == message_id => rsp,
            other => {
                let e = association.protocol_error(format!(
                    "expected C-FIND-RSP to message {message_id}, got {}",
                    other.field()
                ));
                let _ = tx.send(Err(e)).await;
                association.abort().await;
                return;
            }
        };
        if rsp.status.is_pending() {
            let decoded = match message.data {
                Some(data) => dataset::decode(&data, &ts, "C-FIND response identifier"),
                None => Err(association.protocol_error("pending C-FIND-RSP without identifier")),
            };
            match decoded {
                Ok(object) => {
                    if tx.send(Ok(object)).await.is_err() {
                        cancel_and_drain(association, pc, message_id).await;
                        return;
                    }
                    delivered += 1;
                    if limit.is_some_and(|limit| delivered >= limit) {
                        cancel_and_drain(association, pc, message_id).await;
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    association.abort().await;
                    return;
                }
            }
        } else {
            if !(rsp.status.is_good() || rsp.status == Status::CANCEL) {
                let _ = tx
                    .send(Err(Error::Failed {
                        peer: association.peer().to_owned(),
                        operation: association.operation().to_owned(),
                        status: rsp.status,
                        comment: rsp.error_comment,
                    }))
                    .await;
            }
            if let Err(e) = association.release().await {
                tracing::debug!("release after C-FIND: {e}");
            }
            return;
        }
    }
}
