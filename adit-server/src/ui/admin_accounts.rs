//! The staff pages of the accounts: users with their groups and flags, and groups with their
//! members and granted permissions, each with the forms that change them: create a user,
//! activate or deactivate one, reset a password; create a group, add and remove members,
//! grant and revoke permissions. Every change is audited.
//!
//! Staff accounts are the superusers' business (the staff flag on a new user, and
//! deactivating or resetting the password of a staff member or superuser), so a staff member
//! cannot raise or take over another account's privileges. The superuser flag is left to
//! `adit admin`.

use std::collections::BTreeMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use super::audit_trail;
use super::auth::UiUser;
use super::jobs::internal;
use super::profile::MIN_PASSWORD_LEN;
use super::templates::{self, redirect_with_flash};
use crate::accounts::{GroupId, NewUser, Permission, User, UserId, groups, sessions, users};
use crate::audit::{Action, Event};
use crate::web::AppState;
use crate::web::address::ClientAddress;

/// The routes of the account pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users/", get(users_page).post(create_user))
        .route("/admin/users/{id}/active/", post(set_active))
        .route("/admin/users/{id}/password/", post(reset_password))
        .route("/admin/groups/", get(groups_page).post(create_group))
        .route("/admin/groups/{id}/members/", post(change_member))
        .route("/admin/groups/{id}/permissions/", post(change_permission))
}

/// `GET /admin/users/`.
pub async fn users_page(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    render_users(&state, &user, &UserForm::default(), BTreeMap::new()).await
}

async fn render_users(
    state: &AppState,
    user: &UiUser,
    form: &UserForm,
    errors: BTreeMap<&'static str, String>,
) -> Response {
    let (all, groups) = match (users::list(&state.db).await, groups::list(&state.db).await) {
        (Ok(all), Ok(groups)) => (all, groups),
        (Err(e), _) | (_, Err(e)) => return internal(user, &e),
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
                may_change => may_change(user, u),
                is_me => u.id == user.user.id,
            }
        })
        .collect();
    let invalid = !errors.is_empty();
    let mut response = templates::page(
        user,
        "admin_users.html",
        context! {
            users,
            new_user => context! {
                username => &form.username,
                email => &form.email,
                is_staff => form.is_staff.is_some(),
            },
            errors,
            may_make_staff => user.user.is_superuser,
            min_password_len => MIN_PASSWORD_LEN,
        },
    );
    if invalid {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// Whether `actor` may deactivate `target` or reset its password: staff accounts only by a
/// superuser.
fn may_change(actor: &UiUser, target: &User) -> bool {
    actor.user.is_superuser || !(target.is_staff || target.is_superuser)
}

/// The new-user form.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// Login name.
    #[serde(default)]
    pub username: String,
    /// Email address (may be empty).
    #[serde(default)]
    pub email: String,
    /// Initial password.
    #[serde(default)]
    pub password: String,
    /// The password again.
    #[serde(default)]
    pub password2: String,
    /// Present (`on`) when the staff box is ticked.
    #[serde(default)]
    pub is_staff: Option<String>,
}

/// `POST /admin/users/`: creates a user; a refused form comes back with the errors next to
/// its fields.
pub async fn create_user(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let username = form.username.trim();
    let email = form.email.trim();
    let is_staff = form.is_staff.is_some();
    let mut errors = BTreeMap::new();
    if username.is_empty()
        || username.chars().count() > 150
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        errors.insert("username", "1 to 150 characters without spaces.".to_owned());
    }
    if !email.is_empty() && !looks_like_email(email) {
        errors.insert("email", "Not an email address.".to_owned());
    }
    if form.password.chars().count() < MIN_PASSWORD_LEN {
        errors.insert(
            "password",
            format!("At least {MIN_PASSWORD_LEN} characters."),
        );
    } else if form.password != form.password2 {
        errors.insert("password2", "The two passwords differ.".to_owned());
    }
    if is_staff && !user.user.is_superuser {
        errors.insert(
            "is_staff",
            "Only a superuser may create staff members.".to_owned(),
        );
    }
    if !errors.is_empty() {
        return render_users(&state, &user, &form, errors).await;
    }
    let new = NewUser {
        username: username.to_owned(),
        password: form.password.clone(),
        email: email.to_owned(),
        is_staff,
        is_superuser: false,
    };
    match users::create(&state.db, &new).await {
        Ok(created) => {
            let event = Event::new(Action::UserChange).detail(format!(
                "created user {}{}",
                created.username,
                if is_staff { " (staff)" } else { "" }
            ));
            audit_trail::record(&state, &user, &address, event).await;
            redirect_with_flash(
                "/admin/users/",
                "success",
                &format!(
                    "User {} created. Add them to a group on the groups page.",
                    created.username
                ),
            )
        }
        Err(crate::Error::AlreadyExists { .. }) => {
            errors.insert("username", "This name is taken.".to_owned());
            render_users(&state, &user, &form, errors).await
        }
        Err(crate::Error::Invalid { reason, .. }) => {
            errors.insert("username", reason);
            render_users(&state, &user, &form, errors).await
        }
        Err(e) => internal(&user, &e),
    }
}

/// A plausible address: something, `@`, a domain with a dot, no spaces. The mail server
/// has the last word.
fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
        }
        None => false,
    }
}

/// The activate/deactivate form.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// `true` to activate, `false` to deactivate.
    pub active: bool,
}

/// The target of a user form, or the redirect that refuses it.
async fn target_user(state: &AppState, actor: &UiUser, id: i64) -> Result<User, Response> {
    match users::by_id(&state.db, UserId(id)).await {
        Ok(Some(target)) if may_change(actor, &target) => Ok(target),
        Ok(Some(target)) => Err(redirect_with_flash(
            "/admin/users/",
            "danger",
            &format!(
                "Only a superuser may change the staff account {}.",
                target.username
            ),
        )),
        Ok(None) => Err(redirect_with_flash(
            "/admin/users/",
            "danger",
            "No such user.",
        )),
        Err(e) => Err(internal(actor, &e)),
    }
}

/// `POST /admin/users/{id}/active/`. Inactive users can neither log in nor use their tokens;
/// their sessions are ended.
pub async fn set_active(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<ActiveForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let target = match target_user(&state, &user, id).await {
        Ok(target) => target,
        Err(refused) => return refused,
    };
    if target.id == user.user.id && !form.active {
        return redirect_with_flash(
            "/admin/users/",
            "danger",
            "You cannot deactivate your own account.",
        );
    }
    if let Err(e) = users::set_active(&state.db, target.id, form.active).await {
        return internal(&user, &e);
    }
    if !form.active
        && let Err(e) = sessions::delete_for_user(&state.db, target.id).await
    {
        return internal(&user, &e);
    }
    let what = if form.active {
        "activated"
    } else {
        "deactivated"
    };
    let event = Event::new(Action::UserChange).detail(format!("{what} user {}", target.username));
    audit_trail::record(&state, &user, &address, event).await;
    redirect_with_flash(
        "/admin/users/",
        "success",
        &format!("User {} {what}.", target.username),
    )
}

/// The password reset form.
#[derive(Debug, Deserialize)]
pub struct ResetForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The new password.
    #[serde(default)]
    pub password: String,
}

/// `POST /admin/users/{id}/password/`: sets a new password (to hand to the user) and ends the
/// user's browser sessions.
pub async fn reset_password(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let target = match target_user(&state, &user, id).await {
        Ok(target) => target,
        Err(refused) => return refused,
    };
    if form.password.chars().count() < MIN_PASSWORD_LEN {
        return redirect_with_flash(
            "/admin/users/",
            "danger",
            &format!(
                "Password of {} not changed: it needs at least {MIN_PASSWORD_LEN} characters.",
                target.username
            ),
        );
    }
    if let Err(e) = users::set_password(&state.db, target.id, &form.password).await {
        return internal(&user, &e);
    }
    // Signed-in browsers must log in with the new password (tokens stay: they are revoked on
    // their own page).
    if let Err(e) = sessions::delete_for_user(&state.db, target.id).await {
        return internal(&user, &e);
    }
    // The password itself never goes into the log.
    let event = Event::new(Action::UserChange)
        .detail(format!("reset the password of user {}", target.username));
    audit_trail::record(&state, &user, &address, event).await;
    redirect_with_flash(
        "/admin/users/",
        "success",
        &format!("The password of {} was reset.", target.username),
    )
}

/// `GET /admin/groups/`.
pub async fn groups_page(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    render_groups(&state, &user, "", None).await
}

async fn render_groups(
    state: &AppState,
    user: &UiUser,
    new_name: &str,
    name_error: Option<String>,
) -> Response {
    let (all, usernames) = match (groups::list(&state.db).await, users::list(&state.db).await) {
        (Ok(all), Ok(usernames)) => (all, usernames),
        (Err(e), _) | (_, Err(e)) => return internal(user, &e),
    };
    let groups: Vec<Value> = all
        .iter()
        .map(|g| {
            let grantable: Vec<&str> = Permission::ALL
                .iter()
                .map(|p| p.codename())
                .filter(|c| !g.permissions.iter().any(|granted| granted == c))
                .collect();
            let candidates: Vec<&str> = usernames
                .iter()
                .map(|u| u.username.as_str())
                .filter(|name| !g.members.iter().any(|m| m == name))
                .collect();
            context! {
                id => g.group.id.0,
                name => &g.group.name,
                members => &g.members,
                permissions => &g.permissions,
                grantable,
                candidates,
            }
        })
        .collect();
    let invalid = name_error.is_some();
    let mut response = templates::page(
        user,
        "admin_groups.html",
        context! { groups, new_name, name_error },
    );
    if invalid {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// The new-group form.
#[derive(Debug, Deserialize)]
pub struct GroupForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The group's name.
    #[serde(default)]
    pub name: String,
}

/// `POST /admin/groups/`: creates a group.
pub async fn create_group(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 150 {
        return render_groups(&state, &user, name, Some("1 to 150 characters.".into())).await;
    }
    match groups::create(&state.db, name).await {
        Ok(group) => {
            let event =
                Event::new(Action::GroupChange).detail(format!("created group {}", group.name));
            audit_trail::record(&state, &user, &address, event).await;
            redirect_with_flash(
                "/admin/groups/",
                "success",
                &format!("Group {} created.", group.name),
            )
        }
        Err(crate::Error::AlreadyExists { .. }) => {
            render_groups(&state, &user, name, Some("This name is taken.".into())).await
        }
        Err(e) => internal(&user, &e),
    }
}

/// The group named by an id in the path, or the redirect that refuses it.
async fn target_group(state: &AppState, actor: &UiUser, id: i64) -> Result<String, Response> {
    match groups::list(&state.db).await {
        Ok(all) => all
            .into_iter()
            .find(|g| g.group.id.0 == id)
            .map(|g| g.group.name)
            .ok_or_else(|| redirect_with_flash("/admin/groups/", "danger", "No such group.")),
        Err(e) => Err(internal(actor, &e)),
    }
}

/// The membership form.
#[derive(Debug, Deserialize)]
pub struct MemberForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The user's name.
    #[serde(default)]
    pub username: String,
    /// `add` or `remove`.
    pub op: String,
}

/// `POST /admin/groups/{id}/members/`: adds or removes a member (a user's first group
/// becomes their active group; removing the active group picks another).
pub async fn change_member(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<MemberForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let back = |level: &str, text: &str| redirect_with_flash("/admin/groups/", level, text);
    let group = match target_group(&state, &user, id).await {
        Ok(group) => group,
        Err(refused) => return refused,
    };
    let member = match users::by_name(&state.db, form.username.trim()).await {
        Ok(member) => member,
        Err(crate::Error::NotFound { .. }) => {
            return back(
                "danger",
                &format!("No user called `{}`.", form.username.trim()),
            );
        }
        Err(e) => return internal(&user, &e),
    };
    let (result, done) = match form.op.as_str() {
        "add" => (
            groups::add_member(&state.db, GroupId(id), member.id).await,
            "added to",
        ),
        "remove" => (
            groups::remove_member(&state.db, GroupId(id), member.id).await,
            "removed from",
        ),
        _ => return back("danger", "Unknown membership change."),
    };
    if let Err(e) = result {
        return internal(&user, &e);
    }
    let text = format!("{} {done} group {group}", member.username);
    audit_trail::record(
        &state,
        &user,
        &address,
        Event::new(Action::GroupChange).detail(text.clone()),
    )
    .await;
    back("success", &format!("{text}."))
}

/// The permission form.
#[derive(Debug, Deserialize)]
pub struct PermissionForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The permission's codename.
    #[serde(default)]
    pub permission: String,
    /// `grant` or `revoke`.
    pub op: String,
}

/// `POST /admin/groups/{id}/permissions/`: grants or revokes a permission.
pub async fn change_permission(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<PermissionForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let back = |level: &str, text: &str| redirect_with_flash("/admin/groups/", level, text);
    let group = match target_group(&state, &user, id).await {
        Ok(group) => group,
        Err(refused) => return refused,
    };
    let permission: Permission = match form.permission.parse() {
        Ok(permission) => permission,
        Err(e) => return back("danger", &e.to_string()),
    };
    let (result, done) = match form.op.as_str() {
        "grant" => (
            groups::grant(&state.db, GroupId(id), permission).await,
            "granted to",
        ),
        "revoke" => (
            groups::revoke(&state.db, GroupId(id), permission).await,
            "revoked from",
        ),
        _ => return back("danger", "Unknown permission change."),
    };
    if let Err(e) = result {
        return internal(&user, &e);
    }
    let text = format!("{permission} {done} group {group}");
    audit_trail::record(
        &state,
        &user,
        &address,
        Event::new(Action::GroupChange).detail(text.clone()),
    )
    .await;
    back("success", &format!("{text}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_plausible() {
        assert!(looks_like_email("a@b.example"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("@b.example"));
        assert!(!looks_like_email("a b@c.example"));
        assert!(!looks_like_email("a@@c.example"));
    }
}
