//! `/api/v1/nodes/`: the nodes the user may use through the active group (superusers: all),
//! and a C-ECHO to one of them.

use std::time::Duration;

use adit_core::model::NodeKind;
use adit_dimse::{DimseOptions, PeerAddress, scu};
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::Path;
use crate::accounts::User;
use crate::audit::{self, Action, Event};
use crate::nodes::{self, Access, StoredNode};
use crate::web::AppState;
use crate::web::address::ClientAddress;
use crate::web::auth::ApiUser;
use crate::web::error::{ApiError, ErrorBody};

/// How long a C-ECHO may take per step.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// A node as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeView {
    /// Its id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// `dimse`, `dicomweb` or `folder`.
    #[serde(rename = "type")]
    pub node_type: String,
    /// The AE title of a DIMSE server.
    pub ae_title: Option<String>,
    /// The user may use it as a source.
    pub source: bool,
    /// The user may use it as a destination.
    pub destination: bool,
}

/// The nodes the user may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeList {
    /// By name.
    pub items: Vec<NodeView>,
}

/// The outcome of a C-ECHO.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EchoResult {
    /// The node's id.
    pub id: i64,
    /// Whether the node answered the C-ECHO with success.
    pub success: bool,
    /// Round-trip time in milliseconds, on success.
    pub milliseconds: Option<u64>,
    /// Why it failed, on failure.
    pub message: String,
}

/// `GET /api/v1/nodes/`.
#[utoipa::path(
    get,
    path = "/api/v1/nodes/",
    tag = "nodes",
    responses(
        (status = 200, description = "The nodes the user may use", body = NodeList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_nodes(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<axum::Json<NodeList>, ApiError> {
    Ok(axum::Json(NodeList {
        items: visible(&state, &user).await?,
    }))
}

/// `POST /api/v1/nodes/{id}/echo`: a C-ECHO to a DIMSE node the user may use.
#[utoipa::path(
    post,
    path = "/api/v1/nodes/{id}/echo",
    tag = "nodes",
    params(("id" = i64, Path, description = "Node id")),
    responses(
        (status = 200, description = "Whether the node answered", body = EchoResult),
        (status = 400, description = "Not a DIMSE node", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such node visible to the user", body = ErrorBody),
    )
)]
pub async fn echo_node(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path(id): Path<i64>,
) -> Result<axum::Json<EchoResult>, ApiError> {
    let not_found = || ApiError::not_found(format!("Node {id} not found."));
    let view = visible(&state, &user)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(not_found)?;
    let stored = nodes::list(&state.db)
        .await?
        .into_iter()
        .find(|n| n.id.0 == id)
        .ok_or_else(not_found)?;
    let NodeKind::Dimse(server) = &stored.node.kind else {
        return Err(ApiError::invalid(format!(
            "Node {} is not a DIMSE server; C-ECHO needs one.",
            view.name
        )));
    };
    let peer = PeerAddress::new(server.ae_title.as_str(), &server.host, server.port.get());
    let mut options = DimseOptions::with_calling_ae(&state.config.calling_ae);
    options.connect_timeout = ECHO_TIMEOUT;
    options.association_timeout = ECHO_TIMEOUT;
    options.dimse_timeout = ECHO_TIMEOUT;
    let result = match scu::echo(&peer, &options).await {
        Ok(elapsed) => EchoResult {
            id,
            success: true,
            milliseconds: Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
            message: String::new(),
        },
        Err(e) => EchoResult {
            id,
            success: false,
            milliseconds: None,
            message: e.to_string(),
        },
    };
    audit::record(
        &state.db,
        &Event::new(Action::NodeEcho)
            .by(&user)
            .from_address(address)
            .node(view.name)
            .detail(if result.success { "success" } else { "failure" }),
    )
    .await?;
    Ok(axum::Json(result))
}

/// The nodes `user` may use as a source or destination, by name.
async fn visible(state: &AppState, user: &User) -> Result<Vec<NodeView>, ApiError> {
    let mut out = Vec::new();
    for stored in nodes::list(&state.db).await? {
        let source = nodes::can_use(&state.db, user, stored.id, Access::Source).await?;
        let destination = nodes::can_use(&state.db, user, stored.id, Access::Destination).await?;
        if source || destination {
            out.push(view(&stored, source, destination));
        }
    }
    Ok(out)
}

fn view(stored: &StoredNode, source: bool, destination: bool) -> NodeView {
    let ae_title = match &stored.node.kind {
        NodeKind::Dimse(server) => Some(server.ae_title.as_str().to_owned()),
        _ => None,
    };
    NodeView {
        id: stored.id.0,
        name: stored.node.name.clone(),
        node_type: nodes::kind_name(&stored.node).to_owned(),
        ae_title,
        source,
        destination,
    }
}
