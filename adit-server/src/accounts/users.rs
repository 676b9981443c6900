//! Users: creation with a hashed password, look-up, listing, the active group, and the
//! effective permissions (the active group's; superusers have all).

use std::collections::BTreeSet;

use chrono::Utc;

use super::{
    Group, GroupId, Permission, User, UserId, UserRow, is_unique_violation, password, user_from_row,
};
use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Error, Result, db as db_err};

/// What is needed to create a user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Unique login name (1 to 150 characters, no whitespace).
    pub username: String,
    /// Plain password; only its Argon2id hash is stored.
    pub password: String,
    /// Email address (may be empty).
    pub email: String,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
}

/// Creates a user.
pub async fn create(database: &Db, new: &NewUser) -> Result<User> {
    validate_username(&new.username)?;
    if new.password.is_empty() {
        return Err(Error::Invalid {
            what: "password",
            reason: "must not be empty".into(),
        });
    }
    let hash = password::hash_blocking(new.password.clone()).await?;
    let backend = database.backend();
    let row: Result<UserRow, sqlx::Error> = db_dispatch!(database, pool => sqlx::query_as(
        "INSERT INTO users (username, password_hash, email, is_staff, is_superuser, is_active, created)
         VALUES ($1, $2, $3, $4, $5, TRUE, $6)
         RETURNING id, username, email, is_staff, is_superuser, is_active, active_group_id, created")
        .bind(&new.username)
        .bind(&hash)
        .bind(&new.email)
        .bind(new.is_staff)
        .bind(new.is_superuser)
        .bind(Utc::now())
        .fetch_one(pool)
        .await);
    match row {
        Ok(row) => Ok(user_from_row(row)),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            what: "user",
            name: new.username.clone(),
        }),
        Err(e) => Err(db_err(backend, "create a user")(e)),
    }
}

/// The user called `username`.
pub async fn by_name(database: &Db, username: &str) -> Result<User> {
    let backend = database.backend();
    let row: Option<UserRow> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, username, email, is_staff, is_superuser, is_active, active_group_id, created
         FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "look up a user"))?);
    row.map(user_from_row).ok_or_else(|| Error::NotFound {
        what: "user",
        name: username.to_owned(),
    })
}

/// The user with this id, if any.
pub async fn by_id(database: &Db, id: UserId) -> Result<Option<User>> {
    let backend = database.backend();
    let row: Option<UserRow> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, username, email, is_staff, is_superuser, is_active, active_group_id, created
         FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "look up a user"))?);
    Ok(row.map(user_from_row))
}

/// Every user, by name.
pub async fn list(database: &Db) -> Result<Vec<User>> {
    let backend = database.backend();
    let rows: Vec<UserRow> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, username, email, is_staff, is_superuser, is_active, active_group_id, created
         FROM users ORDER BY username")
        .fetch_all(pool)
        .await
        .map_err(db_err(backend, "list users"))?);
    Ok(rows.into_iter().map(user_from_row).collect())
}

/// The user if `password` is theirs and the account is active; `None` otherwise.
pub async fn check_password(database: &Db, username: &str, password: &str) -> Result<Option<User>> {
    let user = verify_password(database, username, password).await?;
    Ok(user.filter(|u| u.is_active))
}

/// The user if `password` is theirs, active or not (the login page tells an inactive account
/// apart from a wrong password); `None` for an unknown user or a wrong password.
pub async fn verify_password(
    database: &Db,
    username: &str,
    password: &str,
) -> Result<Option<User>> {
    let backend = database.backend();
    let hash: Option<String> = db_dispatch!(database, pool => sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "read a password hash"))?);
    let Some(hash) = hash else {
        return Ok(None);
    };
    if !password::verify_blocking(password.to_owned(), hash).await {
        return Ok(None);
    }
    by_name(database, username).await.map(Some)
}

/// Replaces the password of `user`.
pub async fn set_password(database: &Db, user: UserId, password: &str) -> Result<()> {
    let hash = password::hash_blocking(password.to_owned()).await?;
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(user.0)
        .execute(pool)
        .await
        .map_err(db_err(backend, "set a password"))?
        .rows_affected());
    Ok(())
}

/// Activates or deactivates `user` (inactive users cannot log in or use tokens).
pub async fn set_active(database: &Db, user: UserId, active: bool) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
        .bind(active)
        .bind(user.0)
        .execute(pool)
        .await
        .map_err(db_err(backend, "set a user's active flag"))?
        .rows_affected());
    Ok(())
}

/// Makes `group` the active group of `user`; the user must be a member.
pub async fn set_active_group(database: &Db, user: &User, group: GroupId) -> Result<()> {
    let backend = database.backend();
    let updated = db_dispatch!(database, pool => sqlx::query(
        "UPDATE users SET active_group_id = $1
         WHERE id = $2 AND EXISTS (SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2)")
        .bind(group.0)
        .bind(user.id.0)
        .execute(pool)
        .await
        .map_err(db_err(backend, "set the active group"))?
        .rows_affected());
    if updated == 0 {
        return Err(Error::Invalid {
            what: "active group",
            reason: format!("user `{}` is not a member of that group", user.username),
        });
    }
    Ok(())
}

/// The groups `user` belongs to, by name.
pub async fn groups_of(database: &Db, user: UserId) -> Result<Vec<Group>> {
    let backend = database.backend();
    let rows: Vec<(i64, String)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT g.id, g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = $1 ORDER BY g.name")
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(db_err(backend, "list a user's groups"))?);
    Ok(rows
        .into_iter()
        .map(|(id, name)| Group {
            id: GroupId(id),
            name,
        })
        .collect())
}

/// The effective permissions of `user`: all for a superuser, else those granted to the
/// active group (none without one). Codenames this binary does not know are ignored.
pub async fn permissions(database: &Db, user: &User) -> Result<BTreeSet<Permission>> {
    if user.is_superuser {
        return Ok(Permission::ALL.iter().copied().collect());
    }
    let Some(group) = user.active_group else {
        return Ok(BTreeSet::new());
    };
    let backend = database.backend();
    let codenames: Vec<String> = db_dispatch!(database, pool => sqlx::query_scalar(
        "SELECT p.codename FROM group_permissions p
         JOIN group_members m ON m.group_id = p.group_id
         WHERE p.group_id = $1 AND m.user_id = $2")
        .bind(group.0)
        .bind(user.id.0)
        .fetch_all(pool)
        .await
        .map_err(db_err(backend, "read permissions"))?);
    Ok(codenames.iter().filter_map(|c| c.parse().ok()).collect())
}

/// Whether `user` has `permission` (see [`permissions`]).
pub async fn has_permission(database: &Db, user: &User, permission: Permission) -> Result<bool> {
    Ok(user.is_superuser || permissions(database, user).await?.contains(&permission))
}

fn validate_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 150
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "username",
            reason: format!("`{name}` must be 1 to 150 characters without whitespace"),
        })
    }
}
