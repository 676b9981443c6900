//! Which node `{ae_title}` names, whether the user may use it, and its source or sink.
//!
//! - A DIMSE node is named by its AE title; a DICOMweb node (which has none) by its node name.
//!   Folders are not served.
//! - Access follows ADIT's DICOMweb API: **any** of the user's groups must grant the node as a
//!   source (QIDO, WADO) or destination (STOW); otherwise 404 "... does not exist or is not
//!   accessible", so a user cannot probe which nodes exist.
//! - Beyond ADIT, the `can_query` / `can_retrieve` / `can_store` permission (of the active
//!   group, like every permission) is required: 403 naming it.

use std::sync::Arc;

use adit_core::model::{Node, NodeKind};
use adit_core::sink::Sink;
use adit_core::source::Source;
use adit_dicomweb::{DicomWebSink, DicomWebSource};
use adit_dimse::{DimseOptions, DimseSink, DimseSource};
use axum::http::StatusCode;

use crate::accounts::{Permission, User, users};
use crate::nodes::{self, Access, StoredNode};
use crate::web::AppState;
use crate::web::error::ApiError;

/// How many associations a STOW request may use at once towards a DIMSE node.
const STORE_PARALLEL: usize = 2;

/// What a request does with the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// QIDO-RS: search (source access, `can_query`).
    Query,
    /// WADO-RS: retrieve (source access, `can_retrieve`).
    Retrieve,
    /// STOW-RS: store (destination access, `can_store`).
    Store,
}

impl Operation {
    fn access(self) -> Access {
        match self {
            Self::Query | Self::Retrieve => Access::Source,
            Self::Store => Access::Destination,
        }
    }

    fn permission(self) -> Permission {
        match self {
            Self::Query => Permission::CanQuery,
            Self::Retrieve => Permission::CanRetrieve,
            Self::Store => Permission::CanStore,
        }
    }
}

/// Looks up the node `ae_title` names and checks that `user` may use it for `operation`.
pub async fn resolve(
    state: &AppState,
    user: &User,
    ae_title: &str,
    operation: Operation,
) -> Result<StoredNode, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("DICOM server `{ae_title}` does not exist or is not accessible."),
        )
    };
    let node = match nodes::by_ae_title(&state.db, ae_title).await? {
        Some(node) => node,
        None => match nodes::by_name(&state.db, ae_title).await {
            Ok(node) if matches!(node.node.kind, NodeKind::DicomWeb(_)) => node,
            Ok(_) | Err(crate::Error::NotFound { .. }) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        },
    };
    if !nodes::can_use_any_group(&state.db, user, node.id, operation.access()).await? {
        return Err(not_found());
    }
    let permission = operation.permission();
    if !users::permissions(&state.db, user)
        .await?
        .contains(&permission)
    {
        return Err(ApiError::forbidden(format!(
            "You do not have the `{permission}` permission."
        )));
    }
    Ok(node)
}

fn dimse_options(state: &AppState) -> DimseOptions {
    DimseOptions::with_calling_ae(&state.config.calling_ae)
}

/// The node as a place to search and retrieve from.
pub fn source(state: &AppState, node: &Node) -> Result<Arc<dyn Source>, ApiError> {
    match &node.kind {
        NodeKind::Dimse(server) => {
            // The instances go to an HTTP client, which needs no slot of any node to take
            // them: the retrieve may use every free association slot of the node.
            let mut source = DimseSource::new(&node.name, server.clone(), dimse_options(state))
                .with_spare_slots(0);
            // C-GET is preferred; C-MOVE goes through the receiver when there is one.
            if let Some(coordinator) = &state.move_coordinator {
                source = source.with_move_coordinator(Arc::clone(coordinator));
            }
            Ok(Arc::new(source))
        }
        NodeKind::DicomWeb(server) => Ok(Arc::new(
            DicomWebSource::from_server(&node.name, server).map_err(|e| ApiError::internal(&e))?,
        )),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{}` is not a DICOM server.", node.name),
        )),
    }
}

/// The node as a place to store to.
pub fn sink(state: &AppState, node: &Node) -> Result<Arc<dyn Sink>, ApiError> {
    match &node.kind {
        NodeKind::Dimse(server) => Ok(Arc::new(DimseSink::new(
            &node.name,
            server,
            dimse_options(state),
            STORE_PARALLEL,
        ))),
        NodeKind::DicomWeb(server) => Ok(Arc::new(
            DicomWebSink::from_server(&node.name, server).map_err(|e| ApiError::internal(&e))?,
        )),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{}` is not a DICOM server.", node.name),
        )),
    }
}

/// Maps a failure of the node to ADIT's statuses: 503 when retriable (dicomweb-client retries
/// it), 400 for a bad query or a missing capability, 404 when an upstream DICOMweb server said
/// 404, else 502.
pub fn peer_error(e: &adit_core::Error) -> ApiError {
    let upstream_not_found = matches!(
        e,
        adit_core::Error::Peer { source, .. }
            if matches!(
                source.downcast_ref::<adit_dicomweb::Error>(),
                Some(adit_dicomweb::Error::Status { status: 404, .. })
            )
    );
    let status = if upstream_not_found {
        StatusCode::NOT_FOUND
    } else if e.is_retriable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        match e {
            adit_core::Error::InvalidQuery { .. } | adit_core::Error::Unsupported { .. } => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::BAD_GATEWAY,
        }
    };
    tracing::warn!("DICOMweb facade: {e}");
    ApiError::new(status, e.to_string())
}
