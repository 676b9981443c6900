//! C-CANCEL for C-FIND, C-GET and C-MOVE: ask the peer to stop, refuse what it still sends,
//! and abort when it does not stop within the grace time.

use crate::association::Association;
use crate::message::{CCancelRq, CStoreRsp, Command, Status};

/// The C-STORE status we answer to sub-operations that arrive after we cancelled.
pub const REFUSED_AFTER_CANCEL: Status = Status(0xA700);

/// Sends C-CANCEL-RQ for `message_id`, then reads until the final response, refusing C-STORE
/// sub-operations, and releases; aborts when the peer is not done within the grace time or
/// anything goes wrong. Whether it stopped cleanly is returned for logging and tests.
pub(crate) async fn cancel_and_drain(
    mut association: Association,
    pc: u8,
    message_id: u16,
) -> bool {
    let cancel = Command::CancelRq(CCancelRq {
        message_id_being_responded_to: message_id,
    });
    if association.send(pc, &cancel, None).await.is_err() {
        association.abort().await;
        return false;
    }
    let grace = association.cancel_grace();
    let drained = tokio::time::timeout(grace, drain(&mut association, message_id)).await;
    match drained {
        Ok(true) => {
            let released = association.release().await;
            released.is_ok()
        }
        _ => {
            tracing::debug!(
                peer = association.peer(),
                "peer did not finish within {grace:?} after C-CANCEL: aborting"
            );
            association.abort().await;
            false
        }
    }
}

/// Reads until the final response to `message_id`; false on any error.
async fn drain(association: &mut Association, message_id: u16) -> bool {
    loop {
        let Ok(message) = association.receive().await else {
            return false;
        };
        let status = match &message.command {
            Command::StoreRq(rq) => {
                let rsp = Command::StoreRsp(CStoreRsp {
                    message_id_being_responded_to: rq.message_id,
                    affected_sop_class_uid: Some(rq.affected_sop_class_uid.clone()),
                    affected_sop_instance_uid: Some(rq.affected_sop_instance_uid.clone()),
                    status: REFUSED_AFTER_CANCEL,
                    error_comment: Some("retrieve cancelled".into()),
                });
                if association
                    .send(message.presentation_context_id, &rsp, None)
                    .await
                    .is_err()
                {
                    return false;
                }
                continue;
            }
            Command::FindRsp(rsp) if rsp.message_id_being_responded_to == message_id => rsp.status,
            Command::GetRsp(rsp) | Command::MoveRsp(rsp)
                if rsp.message_id_being_responded_to == message_id =>
            {
                rsp.status
            }
            _ => return false,
        };
        if !status.is_pending() {
            return true;
        }
    }
}
