//! C-STORE SCU: a [`StoreSession`] sends many instances over one association, choosing the
//! accepted presentation context for each and transcoding to a native transfer syntax when the
//! peer did not accept the instance's own (and dicom-rs can decode it without a pixel codec).

use std::collections::HashSet;

use adit_core::instance::Instance;
use adit_core::sink::StoreOutcome;
use bytes::Bytes;

use crate::association::{Association, MAX_PRESENTATION_CONTEXTS, Proposal, transfer_syntax};
use crate::error::{Error, Result};
use crate::message::{CStoreRq, Command, Priority, StatusClass};
use crate::options::{DimseOptions, PeerAddress};
use crate::storage::{NATIVE_TRANSFER_SYNTAXES, storage_classes};

const OPERATION: &str = "C-STORE";

/// An association open for C-STORE.
#[derive(Debug)]
pub struct StoreSession {
    association: Association,
    proposal: Proposal,
}

impl StoreSession {
    /// The proposal for storing instances of these `(SOP class, transfer syntax)` pairs: for
    /// each class one context with the native syntaxes, for each non-native syntax one context
    /// of its own (so the peer cannot pick a native one instead), then the `common` most
    /// common classes with native syntaxes, all within 128 contexts.
    pub fn proposal_for<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        common: usize,
    ) -> Proposal {
        let mut proposal = Proposal::new();
        let mut classes = HashSet::new();
        let mut exact = HashSet::new();
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        for (class, ts) in &pairs {
            if proposal.len() >= MAX_PRESENTATION_CONTEXTS {
                break;
            }
            if !NATIVE_TRANSFER_SYNTAXES.contains(ts) && exact.insert((*class, *ts)) {
                proposal.push_context(class, [*ts]);
            }
            if proposal.len() < MAX_PRESENTATION_CONTEXTS && classes.insert(*class) {
                proposal.push_context(class, NATIVE_TRANSFER_SYNTAXES.iter().copied());
            }
        }
        for class in storage_classes(common) {
            if proposal.len() >= MAX_PRESENTATION_CONTEXTS {
                break;
            }
            if classes.insert(class) {
                proposal.push_context(class, NATIVE_TRANSFER_SYNTAXES.iter().copied());
            }
        }
        proposal
    }

    /// Opens an association with this proposal.
    pub async fn open(
        peer: &PeerAddress,
        options: &DimseOptions,
        proposal: Proposal,
    ) -> Result<Self> {
        let association = Association::connect(peer, options, &proposal, OPERATION).await?;
        Ok(Self {
            association,
            proposal,
        })
    }

    /// Whether this session proposed a context for the pair (else open another session).
    pub fn proposes(&self, sop_class: &str, transfer_syntax: &str) -> bool {
        self.proposal.proposes(sop_class, transfer_syntax)
    }

    /// The peer, `AE@host:port`.
    pub fn peer(&self) -> &str {
        self.association.peer()
    }

    /// Stores one instance. A refusal by the peer, or an instance that cannot be sent on any
    /// accepted context, is `Ok(StoreOutcome::Failed(..))`; `Err` means the association is
    /// unusable (abort it).
    pub async fn store(&mut self, instance: &Instance) -> Result<StoreOutcome> {
        let class = instance.sop_class_uid();
        let (pc, bytes) = match self.choose(instance) {
            Ok(chosen) => chosen,
            Err(reason) => return Ok(StoreOutcome::Failed(reason)),
        };
        let message_id = self.association.next_message_id();
        let request = Command::StoreRq(CStoreRq {
            message_id,
            affected_sop_class_uid: class.to_owned(),
            affected_sop_instance_uid: instance.sop_instance_uid().to_owned(),
            priority: Priority::Medium,
            move_originator: None,
        });
        self.association.send(pc, &request, Some(&bytes)).await?;
        drop(bytes);
        let response = self.association.receive().await?;
        let rsp = match response.command {
            Command::StoreRsp(rsp) if rsp.message_id_being_responded_to == message_id => rsp,
            other => {
                return Err(self.association.protocol_error(format!(
                    "expected C-STORE-RSP to message {message_id}, got {}",
                    other.field()
                )));
            }
        };
        let describe = || match &rsp.error_comment {
            Some(comment) => format!("status {} ({comment})", rsp.status),
            None => format!("status {}", rsp.status),
        };
        Ok(match rsp.status.class() {
            StatusClass::Success => StoreOutcome::Stored,
            StatusClass::Warning => StoreOutcome::Warning(describe()),
            _ => StoreOutcome::Failed(describe()),
        })
    }

    /// The context and bytes to send, or why the instance cannot be sent.
    fn choose(&self, instance: &Instance) -> Result<(u8, Bytes), String> {
        let class = instance.sop_class_uid();
        let ts = instance.transfer_syntax();
        let mut native = None;
        for pc in self.association.accepted_contexts() {
            if crate::association::trim_uid(&pc.abstract_syntax) != class {
                continue;
            }
            let accepted = crate::association::trim_uid(&pc.transfer_syntax);
            if accepted == ts {
                let bytes = instance.dataset_bytes().map_err(|e| e.to_string())?;
                return Ok((pc.id, bytes));
            }
            if native.is_none() && NATIVE_TRANSFER_SYNTAXES.contains(&accepted) {
                native = Some((pc.id, accepted.to_owned()));
            }
        }
        let Some((pc, target)) = native else {
            return Err(format!(
                "{} accepted no presentation context for SOP class {class}",
                self.association.peer()
            ));
        };
        transcode(instance, &target).map(|bytes| (pc, bytes))
    }

    /// Releases the association.
    pub async fn release(self) -> Result<()> {
        self.association.release().await
    }

    /// Aborts the association.
    pub async fn abort(self) {
        self.association.abort().await;
    }
}

/// Re-encodes an instance in a native transfer syntax, when its own syntax has no
/// encapsulated (compressed) pixel data.
fn transcode(instance: &Instance, target: &str) -> Result<Bytes, String> {
    let source_ts = instance.transfer_syntax();
    let source = transfer_syntax(source_ts).map_err(|e| e.to_string())?;
    if source.is_encapsulated_pixel_data() || !source.can_decode_dataset() {
        return Err(format!(
            "the peer does not accept {source_ts} for {} and it cannot be transcoded to {target} \
             without a pixel codec",
            instance.sop_class_uid()
        ));
    }
    let target_ts = transfer_syntax(target).map_err(|e| e.to_string())?;
    let object = instance.clone().into_object().map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(usize::try_from(instance.size_hint()).unwrap_or(0) + 1024);
    object
        .write_dataset_with_ts(&mut out, target_ts)
        .map_err(|e| {
            Error::dicom(format!("instance {}", instance.sop_instance_uid()), e).to_string()
        })?;
    Ok(Bytes::from(out))
}

/// Stores instances over one association and returns each outcome in order; for the CLI
/// and simple callers.
pub async fn store_all(
    peer: &PeerAddress,
    options: &DimseOptions,
    instances: &[Instance],
) -> Result<Vec<StoreOutcome>> {
    let pairs = instances
        .iter()
        .map(|i| (i.sop_class_uid(), i.transfer_syntax()));
    let proposal = StoreSession::proposal_for(pairs, 0);
    let mut session = StoreSession::open(peer, options, proposal).await?;
    let mut outcomes = Vec::with_capacity(instances.len());
    for instance in instances {
        match session.store(instance).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                session.abort().await;
                return Err(e);
            }
        }
    }
    session.release().await?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::uids;

    #[test]
    fn proposal_gives_compressed_syntaxes_their_own_context() {
        let p = StoreSession::proposal_for(
            [
                (uids::CT_IMAGE_STORAGE, uids::EXPLICIT_VR_LITTLE_ENDIAN),
                (uids::CT_IMAGE_STORAGE, uids::JPEG_BASELINE8_BIT),
                (uids::MR_IMAGE_STORAGE, uids::IMPLICIT_VR_LITTLE_ENDIAN),
            ],
            10,
        );
        assert!(p.proposes(uids::CT_IMAGE_STORAGE, uids::JPEG_BASELINE8_BIT));
        assert!(p.proposes(uids::CT_IMAGE_STORAGE, uids::IMPLICIT_VR_LITTLE_ENDIAN));
        assert!(p.proposes(uids::MR_IMAGE_STORAGE, uids::EXPLICIT_VR_LITTLE_ENDIAN));
        assert!(!p.proposes(uids::MR_IMAGE_STORAGE, uids::JPEG_BASELINE8_BIT));
        // CT (native + JPEG), MR, and 8 more common classes (CT and MR are among the first 10).
        assert_eq!(p.len(), 3 + 8);
        let all = StoreSession::proposal_for([], 1000);
        assert_eq!(all.len(), MAX_PRESENTATION_CONTEXTS);
    }
}
