//! The staff pages of the accounts (read-only): users with their groups and flags, and
//! groups with their members and granted permissions. Accounts are changed with
//! `adit admin`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use minijinja::{Value, context};

use super::auth::UiUser;
use super::jobs::internal;
use super::templates;
use crate::accounts;
use crate::web::AppState;

/// The routes of the account pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users/", get(users))
        .route("/admin/groups/", get(groups))
}

/// `GET /admin/users/`.
pub async fn users(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    let (all, groups) = match (
        accounts::users::list(&state.db).await,
        accounts::groups::list(&state.db).await,
    ) {
        (Ok(all), Ok(groups)) => (all, groups),
        (Err(e), _) | (_, Err(e)) => return internal(&user, &e),
    };
    // One query for all memberships instead of one per user.
    let mut groups_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for info in &groups {
        for member in &info.members {
            groups_of
                .entry(member.as_str())
                .or_default()
                .push(info.group.name.as_str());
        }
    }
    let active_name = |id| {
        groups
            .iter()
            .find(|g| Some(g.group.id) == id)
            .map(|g| g.group.name.as_str())
    };
    let users: Vec<Value> = all
        .iter()
        .map(|u| {
            context! {
                id => u.id.0,
                username => &u.username,
                email => &u.email,
                groups => groups_of.get(u.username.as_str()).cloned().unwrap_or_default(),
                active_group => active_name(u.active_group),
                is_staff => u.is_staff,
                is_superuser => u.is_superuser,
                is_active => u.is_active,
                created => u.created.format("%Y-%m-%d").to_string(),
            }
        })
        .collect();
    templates::page(&user, "admin_users.html", context! { users })
}

/// `GET /admin/groups/`.
pub async fn groups(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    let groups = match accounts::groups::list(&state.db).await {
        Ok(groups) => groups,
        Err(e) => return internal(&user, &e),
    };
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            context! {
                id => g.group.id.0,
                name => &g.group.name,
                members => &g.members,
                permissions => &g.permissions,
            }
        })
        .collect();
    templates::page(&user, "admin_groups.html", context! { groups })
}
