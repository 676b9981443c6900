//! C-ECHO SCU.

use std::time::{Duration, Instant};

use dicom_dictionary_std::uids;

use crate::association::{Association, Proposal};
use crate::error::{Error, Result};
use crate::message::{CEchoRq, Command};
use crate::options::{DimseOptions, PeerAddress};
use crate::storage::NATIVE_TRANSFER_SYNTAXES;

const OPERATION: &str = "C-ECHO";

/// Verifies the peer: associates, sends C-ECHO-RQ, checks the response, releases.
/// Returns the round-trip time of the echo itself (not the association).
pub async fn echo(peer: &PeerAddress, options: &DimseOptions) -> Result<Duration> {
    let proposal =
        Proposal::new().context(uids::VERIFICATION, NATIVE_TRANSFER_SYNTAXES.iter().copied());
    let mut association = Association::connect(peer, options, &proposal, OPERATION).await?;
    let result = run(&mut association).await;
    match result {
        Ok(rtt) => {
            association.release().await?;
            Ok(rtt)
        }
        Err(e) => {
            association.abort().await;
            Err(e)
        }
    }
}

async fn run(association: &mut Association) -> Result<Duration> {
    let (pc, _) = association
        .context_for(uids::VERIFICATION)
        .ok_or_else(|| association.no_context("Verification"))?;
    let message_id = association.next_message_id();
    let started = Instant::now();
    let request = Command::EchoRq(CEchoRq {
        message_id,
        affected_sop_class_uid: uids::VERIFICATION.into(),
    });
    association.send(pc, &request, None).await?;
    let response = association.receive().await?;
    let rtt = started.elapsed();
    match response.command {
        Command::EchoRsp(rsp) if rsp.message_id_being_responded_to == message_id => {
            if rsp.status.is_good() {
                Ok(rtt)
            } else {
                Err(Error::Failed {
                    peer: association.peer().to_owned(),
                    operation: OPERATION.into(),
                    status: rsp.status,
                    comment: None,
                })
            }
        }
        other => Err(association.protocol_error(format!(
            "expected C-ECHO-RSP to message {message_id}, got {}",
            other.field()
        ))),
    }
}
