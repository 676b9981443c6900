//! Groups: creation, membership (a user's first group becomes their active group), and
//! permission grants.

use chrono::Utc;
use serde::Serialize;

use super::{Group, GroupId, Permission, UserId, is_unique_violation};
use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Error, Result, db as db_err};

/// A group with its members and granted permission codenames, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    /// The group.
    pub group: Group,
    /// Member user names, sorted.
    pub members: Vec<String>,
    /// Granted permission codenames, sorted.
    pub permissions: Vec<String>,
}

/// Creates a group.
pub async fn create(database: &Db, name: &str) -> Result<Group> {
    if name.trim().is_empty() || name.chars().count() > 150 {
        return Err(Error::Invalid {
            what: "group name",
            reason: format!("`{name}` must be 1 to 150 characters"),
        });
    }
    let backend = database.backend();
    let id: Result<i64, sqlx::Error> = db_dispatch!(database, pool => sqlx::query_scalar(
        "INSERT INTO groups (name, created) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(Utc::now())
        .fetch_one(pool)
        .await);
    match id {
        Ok(id) => Ok(Group {
            id: GroupId(id),
            name: name.to_owned(),
        }),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            what: "group",
            name: name.to_owned(),
        }),
        Err(e) => Err(db_err(backend, "create a group")(e)),
    }
}

/// The group called `name`.
pub async fn by_name(database: &Db, name: &str) -> Result<Group> {
    let backend = database.backend();
    let id: Option<i64> = db_dispatch!(database, pool => sqlx::query_scalar(
        "SELECT id FROM groups WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "look up a group"))?);
    id.map(|id| Group {
        id: GroupId(id),
        name: name.to_owned(),
    })
    .ok_or_else(|| Error::NotFound {
        what: "group",
        name: name.to_owned(),
    })
}

/// Adds `user` to `group` (no-op when already a member). A user without an active group
/// gets this one, so a user's first group becomes the active group.
pub async fn add_member(database: &Db, group: GroupId, user: UserId) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => {
        let mut tx = pool.begin().await.map_err(db_err(backend, "begin adding a member"))?;
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)
             ON CONFLICT (group_id, user_id) DO NOTHING")
            .bind(group.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err(backend, "add a group member"))?;
        sqlx::query(
            "UPDATE users SET active_group_id = $1 WHERE id = $2 AND active_group_id IS NULL")
            .bind(group.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err(backend, "set the first active group"))?;
        tx.commit().await.map_err(db_err(backend, "commit adding a member"))?;
    });
    Ok(())
}

/// Removes `user` from `group`; if it was the active group, another of the user's groups
/// (the first by name) becomes active, or none.
pub async fn remove_member(database: &Db, group: GroupId, user: UserId) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => {
        let mut tx = pool.begin().await.map_err(db_err(backend, "begin removing a member"))?;
        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err(backend, "remove a group member"))?;
        sqlx::query(
            "UPDATE users SET active_group_id = (
                 SELECT g.id FROM groups g JOIN group_members m ON m.group_id = g.id
                 WHERE m.user_id = $2 ORDER BY g.name LIMIT 1)
             WHERE id = $2 AND active_group_id = $1")
            .bind(group.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err(backend, "move the active group"))?;
        tx.commit().await.map_err(db_err(backend, "commit removing a member"))?;
    });
    Ok(())
}

/// Grants `permission` to `group` (no-op when already granted).
pub async fn grant(database: &Db, group: GroupId, permission: Permission) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "INSERT INTO group_permissions (group_id, codename) VALUES ($1, $2)
         ON CONFLICT (group_id, codename) DO NOTHING")
        .bind(group.0)
        .bind(permission.codename())
        .execute(pool)
        .await
        .map_err(db_err(backend, "grant a permission"))?
        .rows_affected());
    Ok(())
}

/// Revokes `permission` from `group`.
pub async fn revoke(database: &Db, group: GroupId, permission: Permission) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "DELETE FROM group_permissions WHERE group_id = $1 AND codename = $2")
        .bind(group.0)
        .bind(permission.codename())
        .execute(pool)
        .await
        .map_err(db_err(backend, "revoke a permission"))?
        .rows_affected());
    Ok(())
}

/// Every group with its members and permissions, by name.
pub async fn list(database: &Db) -> Result<Vec<GroupInfo>> {
    let backend = database.backend();
    type Pairs = Vec<(i64, String)>;
    let (groups, members, grants): (Pairs, Pairs, Pairs) = db_dispatch!(database, pool => {
        let groups = sqlx::query_as("SELECT id, name FROM groups ORDER BY name")
            .fetch_all(pool)
            .await
            .map_err(db_err(backend, "list groups"))?;
        let members = sqlx::query_as(
            "SELECT m.group_id, u.username FROM group_members m
             JOIN users u ON u.id = m.user_id ORDER BY u.username")
            .fetch_all(pool)
            .await
            .map_err(db_err(backend, "list group members"))?;
        let grants = sqlx::query_as(
            "SELECT group_id, codename FROM group_permissions ORDER BY codename")
            .fetch_all(pool)
            .await
            .map_err(db_err(backend, "list group permissions"))?;
        (groups, members, grants)
    });
    Ok(groups
        .into_iter()
        .map(|(id, name)| GroupInfo {
            members: pick(&members, id),
            permissions: pick(&grants, id),
            group: Group {
                id: GroupId(id),
                name,
            },
        })
        .collect())
}

fn pick(rows: &[(i64, String)], group: i64) -> Vec<String> {
    rows.iter()
        .filter(|(g, _)| *g == group)
        .map(|(_, v)| v.clone())
        .collect()
}
