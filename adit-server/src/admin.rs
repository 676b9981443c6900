//! Administration on the database, shared by `adit admin ...` and the server's start-up:
//! creating users, groups, grants, tokens and nodes, and probing a DIMSE server for the
//! services it offers.

use std::time::Duration;

use adit_core::model::{DimseCapabilities, DimseServer, Query, QueryLevel, QueryModel};
use adit_dimse::association::{Association, Proposal};
use adit_dimse::storage::NATIVE_TRANSFER_SYNTAXES;
use adit_dimse::{DimseOptions, PeerAddress, scu};
use dicom_dictionary_std::uids;
use futures::StreamExt;

use crate::accounts::{self, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::nodes;

/// What `grant` gives a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Access to a node as source and/or destination.
    Node {
        /// The node's name.
        node: String,
        /// As a source.
        source: bool,
        /// As a destination.
        destination: bool,
    },
    /// One permission.
    Permission(Permission),
    /// Every permission.
    AllPermissions,
}

/// Gives `group` what `grant` says.
pub async fn grant(database: &Db, group: &str, grant: &Grant) -> Result<()> {
    let group = accounts::groups::by_name(database, group).await?;
    match grant {
        Grant::Node {
            node,
            source,
            destination,
        } => {
            if !source && !destination {
                return Err(Error::Invalid {
                    what: "grant",
                    reason: "give --source and/or --destination with --node".into(),
                });
            }
            let node = nodes::by_name(database, node).await?;
            nodes::grant(database, group.id, node.id, *source, *destination).await
        }
        Grant::Permission(permission) => {
            accounts::groups::grant(database, group.id, *permission).await
        }
        Grant::AllPermissions => {
            for permission in Permission::ALL {
                accounts::groups::grant(database, group.id, *permission).await?;
            }
            Ok(())
        }
    }
}

/// Creates a group and adds the named users to it (each gets it as active group if they
/// had none).
pub async fn create_group(
    database: &Db,
    name: &str,
    members: &[String],
) -> Result<accounts::Group> {
    // Check every member first so a typo does not leave a half-made group.
    let mut users = Vec::with_capacity(members.len());
    for member in members {
        users.push(accounts::users::by_name(database, member).await?);
    }
    let group = accounts::groups::create(database, name).await?;
    for user in users {
        accounts::groups::add_member(database, group.id, user.id).await?;
    }
    Ok(group)
}

/// Per-step time limit of a probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks a DIMSE server which services it offers: a C-ECHO (must succeed), then one
/// association proposing the FIND, GET and MOVE models of both roots and common storage
/// classes (what the peer accepts is what it offers), then a study-root STUDY and a
/// patient-root PATIENT C-FIND (at most one result each) to confirm that FIND answers. Fails with [`Error::Probe`] when the peer is down or rejects us.
pub async fn probe(server: &DimseServer, calling_ae: &str) -> Result<DimseCapabilities> {
    let peer = PeerAddress::new(server.ae_title.as_str(), &server.host, server.port.get());
    let mut options = DimseOptions::with_calling_ae(calling_ae);
    options.connect_timeout = PROBE_TIMEOUT;
    options.association_timeout = PROBE_TIMEOUT;
    options.dimse_timeout = PROBE_TIMEOUT;
    let failed = |e: adit_dimse::Error| Error::Probe {
        peer: server.peer_name(),
        reason: e.to_string(),
    };
    scu::echo(&peer, &options).await.map_err(failed)?;

    let models = [QueryModel::StudyRoot, QueryModel::PatientRoot];
    let storage = [
        uids::CT_IMAGE_STORAGE,
        uids::MR_IMAGE_STORAGE,
        uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
    ];
    let mut proposal = Proposal::new();
    for model in models {
        for sop in [
            model.find_sop_class(),
            model.get_sop_class(),
            model.move_sop_class(),
        ] {
            proposal.push_context(sop, NATIVE_TRANSFER_SYNTAXES.iter().copied());
        }
    }
    for sop in storage {
        proposal.push_context(sop, NATIVE_TRANSFER_SYNTAXES.iter().copied());
    }
    let association = Association::connect(&peer, &options, &proposal, "capability probe")
        .await
        .map_err(failed)?;
    let offers = |sop: &str| association.context_for(sop).is_some();
    let mut capabilities = DimseCapabilities {
        study_root_find: offers(QueryModel::StudyRoot.find_sop_class()),
        study_root_get: offers(QueryModel::StudyRoot.get_sop_class()),
        study_root_move: offers(QueryModel::StudyRoot.move_sop_class()),
        patient_root_find: offers(QueryModel::PatientRoot.find_sop_class()),
        patient_root_get: offers(QueryModel::PatientRoot.get_sop_class()),
        patient_root_move: offers(QueryModel::PatientRoot.move_sop_class()),
        store: storage.iter().any(|sop| offers(sop)),
    };
    if let Err(e) = association.release().await {
        tracing::debug!("releasing the probe association: {e}");
    }

    let checks = [
        (
            &mut capabilities.study_root_find,
            QueryModel::StudyRoot,
            QueryLevel::Study,
        ),
        (
            &mut capabilities.patient_root_find,
            QueryModel::PatientRoot,
            QueryLevel::Patient,
        ),
    ];
    for (flag, model, level) in checks {
        if *flag && !find_answers(&peer, &options, model, level).await {
            tracing::warn!(
                peer = %server.peer_name(),
                "C-FIND {model:?} accepted in negotiation but failed; marking it unsupported"
            );
            *flag = false;
        }
    }
    Ok(capabilities)
}

/// Runs a C-FIND in `model` at `level` for at most one result; true when the peer answers.
async fn find_answers(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    level: QueryLevel,
) -> bool {
    let identifier = Query::new(level).with_default_return_keys().to_identifier();
    let stream = scu::find(peer, options, model, &identifier, Some(1)).await;
    let Ok(mut stream) = stream else {
        return false;
    };
    while let Some(item) = stream.next().await {
        if item.is_err() {
            return false;
        }
    }
    true
}
