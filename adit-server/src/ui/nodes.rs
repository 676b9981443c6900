//! Staff pages for the DICOM nodes: every node with its address, a C-ECHO check button for
//! DIMSE servers, and which group may use which node, with the form that sets or removes a
//! group's source and destination access (audited as `node_access`).

use std::time::Duration;

use adit_core::model::NodeKind;
use adit_dimse::{DimseOptions, PeerAddress};
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use super::audit_trail;
use super::auth::{CsrfForm, UiUser};
use super::jobs::internal;
use super::templates::{self, redirect_with_flash};
use crate::accounts;
use crate::audit::{Action, Event};
use crate::nodes;
use crate::web::AppState;
use crate::web::address::ClientAddress;

/// How long the C-ECHO check waits at each step.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// The routes of the node pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/nodes/", get(list))
        .route("/admin/nodes/{id}/echo/", post(echo))
        .route("/admin/nodes/access/", post(set_access))
}

/// `GET /admin/nodes/`.
pub async fn list(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    let (all, access, groups) = match (
        nodes::list(&state.db).await,
        nodes::access_list(&state.db).await,
        accounts::groups::list(&state.db).await,
    ) {
        (Ok(all), Ok(access), Ok(groups)) => (all, access, groups),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return internal(&user, &e),
    };
    let groups: Vec<&str> = groups.iter().map(|g| g.group.name.as_str()).collect();
    let nodes: Vec<Value> = all
        .iter()
        .map(|n| {
            let (address, dimse) = match &n.node.kind {
                NodeKind::Dimse(s) => (format!("{}@{}:{}", s.ae_title.as_str(), s.host, s.port), true),
                NodeKind::DicomWeb(s) => (s.root_url.clone(), false),
                NodeKind::Folder(f) => (f.path.display().to_string(), false),
                _ => (String::new(), false),
            };
            context! { id => n.id.0, name => &n.node.name, kind => nodes::kind_name(&n.node), address, dimse }
        })
        .collect();
    templates::page(&user, "nodes.html", context! { nodes, access, groups })
}

/// `POST /admin/nodes/{id}/echo/`: C-ECHO to a DIMSE node; the result as a flash message.
pub async fn echo(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let node = match nodes::list(&state.db).await {
        Ok(all) => all.into_iter().find(|n| n.id.0 == id),
        Err(e) => return internal(&user, &e),
    };
    let Some(node) = node else {
        return redirect_with_flash("/admin/nodes/", "danger", "No such node.");
    };
    let NodeKind::Dimse(server) = &node.node.kind else {
        return redirect_with_flash(
            "/admin/nodes/",
            "warning",
            &format!("{} is not a DIMSE server: no C-ECHO.", node.node.name),
        );
    };
    let peer = PeerAddress::new(server.ae_title.as_str(), &server.host, server.port.get());
    let mut options = DimseOptions::with_calling_ae(&state.config.calling_ae);
    options.connect_timeout = ECHO_TIMEOUT;
    options.association_timeout = ECHO_TIMEOUT;
    options.dimse_timeout = ECHO_TIMEOUT;
    let result = adit_dimse::scu::echo(&peer, &options).await;
    let event = Event::new(Action::NodeEcho)
        .node(node.node.name.clone())
        .detail(if result.is_ok() { "success" } else { "failure" });
    audit_trail::record(&state, &user, &address, event).await;
    match result {
        Ok(took) => redirect_with_flash(
            "/admin/nodes/",
            "success",
            &format!(
                "C-ECHO to {} succeeded in {} ms.",
                node.node.name,
                took.as_millis()
            ),
        ),
        Err(e) => redirect_with_flash(
            "/admin/nodes/",
            "danger",
            &format!("C-ECHO to {} failed: {e}", node.node.name),
        ),
    }
}

/// The group access form.
#[derive(Debug, Deserialize)]
pub struct AccessForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The group's name.
    #[serde(default)]
    pub group: String,
    /// The node's name.
    #[serde(default)]
    pub node: String,
    /// Present when the source box is ticked.
    #[serde(default)]
    pub source: Option<String>,
    /// Present when the destination box is ticked.
    #[serde(default)]
    pub destination: Option<String>,
    /// `set` (to the ticked flags; none ticked removes) or `remove`.
    #[serde(default)]
    pub op: String,
}

/// `POST /admin/nodes/access/`: sets a group's access to a node to the ticked flags, or
/// removes it.
pub async fn set_access(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<AccessForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let back = |level: &str, text: &str| redirect_with_flash("/admin/nodes/", level, text);
    let group = match accounts::groups::by_name(&state.db, &form.group).await {
        Ok(group) => group,
        Err(crate::Error::NotFound { .. }) => return back("danger", "No such group."),
        Err(e) => return internal(&user, &e),
    };
    let node = match nodes::by_name(&state.db, &form.node).await {
        Ok(node) => node,
        Err(crate::Error::NotFound { .. }) => return back("danger", "No such node."),
        Err(e) => return internal(&user, &e),
    };
    let (source, destination) = match form.op.as_str() {
        "set" => (form.source.is_some(), form.destination.is_some()),
        "remove" => (false, false),
        _ => return back("danger", "Unknown access change."),
    };
    if let Err(e) = nodes::set_access(&state.db, group.id, node.id, source, destination).await {
        return internal(&user, &e);
    }
    let detail = if source || destination {
        format!(
            "group {}: source {source}, destination {destination}",
            group.name
        )
    } else {
        format!("group {}: removed", group.name)
    };
    let event = Event::new(Action::NodeAccess)
        .node(node.node.name.clone())
        .detail(detail);
    audit_trail::record(&state, &user, &address, event).await;
    let said = if source || destination {
        let what = match (source, destination) {
            (true, true) => "source and destination",
            (true, false) => "source",
            _ => "destination",
        };
        format!("{} may use {} as {what}.", group.name, node.node.name)
    } else {
        format!("{} may no longer use {}.", group.name, node.node.name)
    };
    back("success", &said)
}
