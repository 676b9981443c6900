//! The user's own pages: profile with the active-group switch and the password change, and
//! API tokens (create with an expiry, the token shown once, list, revoke).

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use minijinja::context;
use serde::Deserialize;

use super::auth::{CsrfForm, UiUser};
use super::jobs::internal;
use super::templates::{self, redirect_with_flash};
use crate::accounts::{GroupId, tokens, users};
use crate::web::AppState;

/// Shortest password accepted by the change form.
pub const MIN_PASSWORD_LEN: usize = 8;

/// The routes of the profile pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts/profile/", get(profile))
        .route("/accounts/active-group/", post(switch_group))
        .route("/accounts/password/", post(change_password))
        .route(
            "/token-authentication/",
            get(tokens_page).post(create_token),
        )
        .route("/token-authentication/{id}/delete/", post(revoke_token))
}

/// `GET /accounts/profile/`.
pub async fn profile(State(state): State<AppState>, user: UiUser) -> Response {
    let groups = match users::groups_of(&state.db, user.user.id).await {
        Ok(groups) => groups,
        Err(e) => return internal(&user, &e),
    };
    let permissions: Vec<String> = user.permissions.iter().map(ToString::to_string).collect();
    templates::page(
        &user,
        "profile.html",
        context! {
            groups => groups.iter().map(|g| context! { id => g.id.0, name => &g.name }).collect::<Vec<_>>(),
            active_group => user.user.active_group.map(|g| g.0),
            permissions,
            min_password_len => MIN_PASSWORD_LEN,
        },
    )
}

/// The active-group form.
#[derive(Debug, Deserialize)]
pub struct GroupForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The group to make active.
    pub group: i64,
}

/// `POST /accounts/active-group/`.
pub async fn switch_group(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Response {
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    match users::set_active_group(&state.db, &user.user, GroupId(form.group)).await {
        Ok(()) => redirect_with_flash("/accounts/profile/", "success", "Active group changed."),
        Err(crate::Error::Invalid { .. }) => redirect_with_flash(
            "/accounts/profile/",
            "danger",
            "You are not a member of that group.",
        ),
        Err(e) => internal(&user, &e),
    }
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The current password.
    pub old_password: String,
    /// The new password.
    pub new_password: String,
    /// The new password again.
    pub new_password2: String,
}

/// `POST /accounts/password/`.
pub async fn change_password(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let back = |level: &str, text: &str| redirect_with_flash("/accounts/profile/", level, text);
    match users::verify_password(&state.db, &user.user.username, &form.old_password).await {
        Ok(Some(_)) => {}
        Ok(None) => return back("danger", "The current password is wrong."),
        Err(e) => return internal(&user, &e),
    }
    if form.new_password != form.new_password2 {
        return back("danger", "The two new passwords differ.");
    }
    if form.new_password.chars().count() < MIN_PASSWORD_LEN {
        return back(
            "danger",
            &format!("The new password needs at least {MIN_PASSWORD_LEN} characters."),
        );
    }
    match users::set_password(&state.db, user.user.id, &form.new_password).await {
        Ok(()) => back("success", "Your password was changed."),
        Err(e) => internal(&user, &e),
    }
}

/// `GET /token-authentication/`: the user's tokens.
pub async fn tokens_page(State(state): State<AppState>, user: UiUser) -> Response {
    render_tokens(&state, &user, None).await
}

async fn render_tokens(state: &AppState, user: &UiUser, new_token: Option<String>) -> Response {
    let list = match tokens::list(&state.db, Some(user.user.id)).await {
        Ok(list) => list,
        Err(e) => return internal(user, &e),
    };
    let now = Utc::now();
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let list: Vec<_> = list
        .iter()
        .map(|t| {
            context! {
                id => t.id,
                fraction => &t.fraction,
                description => &t.description,
                created => fmt(t.created),
                expires => t.expires.map(fmt),
                expired => t.expires.is_some_and(|e| e <= now),
                last_used => t.last_used.map(fmt),
            }
        })
        .collect();
    templates::page(user, "tokens.html", context! { tokens => list, new_token })
}

/// The token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// What the token is for.
    #[serde(default)]
    pub description: String,
    /// Days until it expires; `0` or empty: never.
    #[serde(default)]
    pub expiry_days: String,
}

/// `POST /token-authentication/`: creates a token and shows it once.
pub async fn create_token(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let days: i64 = match form.expiry_days.trim() {
        "" => 0,
        text => match text.parse() {
            Ok(days) if (0..=3650).contains(&days) => days,
            _ => {
                return redirect_with_flash(
                    "/token-authentication/",
                    "danger",
                    "Expiry: a number of days from 0 (never) to 3650.",
                );
            }
        },
    };
    let description = form.description.trim();
    if description.chars().count() > 128 {
        return redirect_with_flash(
            "/token-authentication/",
            "danger",
            "The description may have at most 128 characters.",
        );
    }
    let expires = (days > 0).then(|| Utc::now() + Duration::days(days));
    match tokens::create(&state.db, &user.user, description, expires).await {
        // Shown in this answer only: the token is not stored, only its hash.
        Ok(new) => render_tokens(&state, &user, Some(new.token)).await,
        Err(e) => internal(&user, &e),
    }
}

/// `POST /token-authentication/{id}/delete/`: revokes one of the user's tokens.
pub async fn revoke_token(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = user.check_csrf(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    // Only the user's own tokens: another user's id answers like an unknown one.
    let own = match tokens::list(&state.db, Some(user.user.id)).await {
        Ok(list) => list.iter().any(|t| t.id == id),
        Err(e) => return internal(&user, &e),
    };
    if !own {
        return redirect_with_flash("/token-authentication/", "danger", "No such token.");
    }
    match tokens::delete(&state.db, id).await {
        Ok(_) => redirect_with_flash("/token-authentication/", "success", "Token revoked."),
        Err(e) => internal(&user, &e),
    }
}
