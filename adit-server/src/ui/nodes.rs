//! Staff pages for the DICOM nodes: every node with its address, a C-ECHO check button for
//! DIMSE servers, and which group may use which node.

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

use super::audit_trail;
use super::auth::{CsrfForm, UiUser};
use super::jobs::internal;
use super::templates::{self, redirect_with_flash};
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
}

/// `GET /admin/nodes/`.
pub async fn list(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    let (all, access) = match (
        nodes::list(&state.db).await,
        nodes::access_list(&state.db).await,
    ) {
        (Ok(all), Ok(access)) => (all, access),
        (Err(e), _) | (_, Err(e)) => return internal(&user, &e),
    };
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
    templates::page(&user, "nodes.html", context! { nodes, access })
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
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
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
