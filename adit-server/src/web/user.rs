//! `GET /api/user/`: who the token belongs to, with groups, active group and effective
//! permissions.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use super::auth::ApiUser;
use super::error::ApiError;
use crate::accounts::{Permission, users};

/// The body of `/api/user/`.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Names of the user's groups.
    pub groups: Vec<String>,
    /// Name of the active group.
    pub active_group: Option<String>,
    /// Effective permission codenames (the active group's; all for superusers).
    pub permissions: Vec<Permission>,
}

/// The handler.
pub async fn current_user(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<UserView>, ApiError> {
    let groups = users::groups_of(&state.db, user.id).await?;
    let permissions = users::permissions(&state.db, &user).await?;
    let active_group = groups
        .iter()
        .find(|g| Some(g.id) == user.active_group)
        .map(|g| g.name.clone());
    Ok(Json(UserView {
        id: user.id.0,
        username: user.username,
        email: user.email,
        is_staff: user.is_staff,
        is_superuser: user.is_superuser,
        groups: groups.into_iter().map(|g| g.name).collect(),
        active_group,
        permissions: permissions.into_iter().collect(),
    }))
}
