//! C-MOVE SCU: asks the peer to send instances to a destination AE and reports the counters.
//! Receiving the instances (our own Store SCP) is not part of this module.

use adit_core::model::QueryModel;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use tokio_util::sync::CancellationToken;

use super::cancel::cancel_and_drain;
use super::dataset;
use super::retrieve::RetrieveSummary;
use crate::association::{Association, Proposal};
use crate::error::{Error, Result};
use crate::message::{CMoveRq, Command, Priority};
use crate::options::{DimseOptions, PeerAddress};
use crate::storage::NATIVE_TRANSFER_SYNTAXES;

/// Runs a C-MOVE of `identifier` to `destination` and waits for the final response.
/// `progress` sees every pending response's counters. Cancelling sends C-CANCEL.
pub async fn move_to(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    identifier: &InMemDicomObject,
    destination: &str,
    cancel: CancellationToken,
    progress: impl FnMut(&crate::message::SubOperations) + Send,
) -> Result<RetrieveSummary> {
    move_with_message_id(
        peer,
        options,
        model,
        identifier,
        destination,
        None,
        cancel,
        progress,
    )
    .await
}

/// Like [`move_to`] with the Message ID of the C-MOVE-RQ chosen by the caller: the PACS
/// echoes it as Move Originator Message ID in its C-STORE sub-operations, which is how
/// [`crate::scp::MoveCoordinator`] tells concurrent moves apart.
#[allow(clippy::too_many_arguments)]
pub async fn move_with_message_id(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    identifier: &InMemDicomObject,
    destination: &str,
    message_id: Option<u16>,
    cancel: CancellationToken,
    mut progress: impl FnMut(&crate::message::SubOperations) + Send,
) -> Result<RetrieveSummary> {
    let level = identifier
        .get(tags::QUERY_RETRIEVE_LEVEL)
        .and_then(|e| e.to_str().ok())
        .map(|l| l.trim().to_owned())
        .unwrap_or_default();
    let operation = format!("C-MOVE {level} to {destination}");
    let sop_class = model.move_sop_class();
    let proposal = Proposal::new().context(sop_class, NATIVE_TRANSFER_SYNTAXES.iter().copied());
    let mut association = Association::connect(peer, options, &proposal, &operation).await?;
    let Some((pc, ts)) = association.context_for(sop_class) else {
        let e = association.no_context(sop_class);
        association.abort().await;
        return Err(e);
    };
    let data = match dataset::encode(identifier, &ts) {
        Ok(data) => data,
        Err(e) => {
            association.abort().await;
            return Err(e);
        }
    };
    let message_id = message_id.unwrap_or_else(|| association.next_message_id());
    let request = Command::MoveRq(CMoveRq {
        message_id,
        affected_sop_class_uid: sop_class.to_owned(),
        priority: Priority::Medium,
        move_destination: destination.to_owned(),
    });
    if let Err(e) = association.send(pc, &request, Some(&data)).await {
        association.abort().await;
        return Err(e);
    }
    loop {
        let received = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                let error = Error::Cancelled {
                    peer: association.peer().to_owned(),
                    operation,
                };
                cancel_and_drain(association, pc, message_id).await;
                return Err(error);
            }
            received = association.receive() => received,
        };
        let message = match received {
            Ok(message) => message,
            Err(e) => {
                association.abort().await;
                return Err(e);
            }
        };
        match message.command {
            Command::MoveRsp(rsp) if rsp.message_id_being_responded_to == message_id => {
                if rsp.status.is_pending() {
                    progress(&rsp.sub_operations);
                    continue;
                }
                let summary = RetrieveSummary::from_final(rsp, message.data.as_deref(), &ts);
                if let Err(e) = association.release().await {
                    tracing::debug!("release after C-MOVE: {e}");
                }
                if !summary.status.is_good() && summary.sub_operations.completed == 0 {
                    return Err(Error::Failed {
                        peer: peer.to_string(),
                        operation,
                        status: summary.status,
                        comment: summary.error_comment,
                    });
                }
                return Ok(summary);
            }
            other => {
                let e = association.protocol_error(format!(
                    "expected C-MOVE-RSP to message {message_id}, got {}",
                    other.field()
                ));
                association.abort().await;
                return Err(e);
            }
        }
    }
}
