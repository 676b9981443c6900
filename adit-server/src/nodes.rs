//! DICOM nodes (servers and folders) stored as the serde JSON of [`adit_core::model::Node`],
//! and per-group access to them (adit-reference §2.1).
//!
//! A group may use a node as a source, a destination, or both. [`can_use`] decides with the
//! user's **active** group (as ADIT's web UI does); [`can_use_any_group`] with any of the
//! user's groups (as ADIT's DICOMweb API does). Superusers may use every node. The group and
//! the flag are checked on the same access row, so access never leaks between groups.

use adit_core::model::{Node, NodeKind};
use chrono::Utc;
use serde::Serialize;
use sqlx::types::Json;

use crate::accounts::{GroupId, User, is_unique_violation};
use crate::audit::{self, Action, Event};
use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Error, Result, db as db_err};

/// Database id of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NodeId(pub i64);

/// A node as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredNode {
    /// Database id.
    pub id: NodeId,
    /// The node (its `name` is unique).
    pub node: Node,
}

/// How a node is used in a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Searched and retrieved from.
    Source,
    /// Stored to.
    Destination,
}

/// One group's access to one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessRow {
    /// The group's name.
    pub group: String,
    /// The node's name.
    pub node: String,
    /// May be used as a source.
    pub source: bool,
    /// May be used as a destination.
    pub destination: bool,
}

/// `dimse`, `dicomweb` or `folder`: the `kind` column and the JSON `type` tag.
pub fn kind_name(node: &Node) -> &'static str {
    match &node.kind {
        NodeKind::Dimse(_) => "dimse",
        NodeKind::DicomWeb(_) => "dicomweb",
        NodeKind::Folder(_) => "folder",
        _ => "other",
    }
}

/// Stores a new node. DIMSE nodes also record their AE title, which must be unique (the
/// DICOMweb API addresses servers by it).
pub async fn add(database: &Db, node: &Node) -> Result<StoredNode> {
    if node.name.trim().is_empty() || node.name.chars().count() > 64 {
        return Err(Error::Invalid {
            what: "node name",
            reason: format!("`{}` must be 1 to 64 characters", node.name),
        });
    }
    let ae_title = match &node.kind {
        NodeKind::Dimse(server) => Some(server.ae_title.as_str().to_owned()),
        _ => None,
    };
    let backend = database.backend();
    let id: Result<i64, sqlx::Error> = db_dispatch!(database, pool => sqlx::query_scalar(
        "INSERT INTO nodes (name, kind, ae_title, spec, created) VALUES ($1, $2, $3, $4, $5)
         RETURNING id")
        .bind(&node.name)
        .bind(kind_name(node))
        .bind(&ae_title)
        .bind(Json(node))
        .bind(Utc::now())
        .fetch_one(pool)
        .await);
    match id {
        Ok(id) => {
            // Nodes are added by the command line and at start-up: no user, no address.
            let event = Event::new(Action::NodeAdd)
                .node(&node.name)
                .detail(format!("node {id} ({})", kind_name(node)));
            audit::record(database, &event).await?;
            Ok(StoredNode {
                id: NodeId(id),
                node: node.clone(),
            })
        }
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            what: "node (name or AE title)",
            name: match ae_title {
                Some(ae) => format!("{} / {ae}", node.name),
                None => node.name.clone(),
            },
        }),
        Err(e) => Err(db_err(backend, "add a node")(e)),
    }
}

/// The node called `name`.
pub async fn by_name(database: &Db, name: &str) -> Result<StoredNode> {
    let backend = database.backend();
    let row: Option<(i64, Json<Node>)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, spec FROM nodes WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "look up a node"))?);
    row.map(stored).ok_or_else(|| Error::NotFound {
        what: "node",
        name: name.to_owned(),
    })
}

/// The DIMSE node with this AE title, if any.
pub async fn by_ae_title(database: &Db, ae_title: &str) -> Result<Option<StoredNode>> {
    let backend = database.backend();
    let row: Option<(i64, Json<Node>)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, spec FROM nodes WHERE ae_title = $1")
        .bind(ae_title)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "look up a node by AE title"))?);
    Ok(row.map(stored))
}

/// Every node, by name.
pub async fn list(database: &Db) -> Result<Vec<StoredNode>> {
    let backend = database.backend();
    let rows: Vec<(i64, Json<Node>)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, spec FROM nodes ORDER BY name")
        .fetch_all(pool)
        .await
        .map_err(db_err(backend, "list nodes"))?);
    Ok(rows.into_iter().map(stored).collect())
}

/// Grants `group` access to `node`. Flags add up: granting `source` keeps an earlier
/// `destination` grant.
pub async fn grant(
    database: &Db,
    group: GroupId,
    node: NodeId,
    source: bool,
    destination: bool,
) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "INSERT INTO node_access (group_id, node_id, source, destination) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, node_id) DO UPDATE SET
             source = (node_access.source OR excluded.source),
             destination = (node_access.destination OR excluded.destination)")
        .bind(group.0)
        .bind(node.0)
        .bind(source)
        .bind(destination)
        .execute(pool)
        .await
        .map_err(db_err(backend, "grant node access"))?
        .rows_affected());
    let event = Event::new(Action::NodeAccess).detail(format!(
        "group {} node {}: source {source}, destination {destination} granted",
        group.0, node.0
    ));
    audit::record(database, &event).await?;
    Ok(())
}

/// Sets `group`'s access to `node` to exactly these flags (unlike [`grant`], which only adds);
/// both `false` removes the row. The caller audits: it knows who changed it.
pub async fn set_access(
    database: &Db,
    group: GroupId,
    node: NodeId,
    source: bool,
    destination: bool,
) -> Result<()> {
    if !source && !destination {
        remove_access(database, group, node).await?;
        return Ok(());
    }
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "INSERT INTO node_access (group_id, node_id, source, destination) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, node_id) DO UPDATE SET
             source = excluded.source, destination = excluded.destination")
        .bind(group.0)
        .bind(node.0)
        .bind(source)
        .bind(destination)
        .execute(pool)
        .await
        .map_err(db_err(backend, "set node access"))?
        .rows_affected());
    Ok(())
}

/// Removes `group`'s access to `node`; `false` when it had none. The caller audits.
pub async fn remove_access(database: &Db, group: GroupId, node: NodeId) -> Result<bool> {
    let backend = database.backend();
    let removed = db_dispatch!(database, pool => sqlx::query(
        "DELETE FROM node_access WHERE group_id = $1 AND node_id = $2")
        .bind(group.0)
        .bind(node.0)
        .execute(pool)
        .await
        .map_err(db_err(backend, "remove node access"))?
        .rows_affected());
    Ok(removed > 0)
}

/// Every access row, by group and node name.
pub async fn access_list(database: &Db) -> Result<Vec<AccessRow>> {
    let backend = database.backend();
    let rows: Vec<(String, String, bool, bool)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT g.name, n.name, a.source, a.destination FROM node_access a
         JOIN groups g ON g.id = a.group_id JOIN nodes n ON n.id = a.node_id
         ORDER BY g.name, n.name")
        .fetch_all(pool)
        .await
        .map_err(db_err(backend, "list node access"))?);
    Ok(rows
        .into_iter()
        .map(|(group, node, source, destination)| AccessRow {
            group,
            node,
            source,
            destination,
        })
        .collect())
}

/// Whether `user` may use `node` for `access` through their **active** group (superusers
/// always may; inactive users never).
pub async fn can_use(database: &Db, user: &User, node: NodeId, access: Access) -> Result<bool> {
    if !user.is_active {
        return Ok(false);
    }
    if user.is_superuser {
        return Ok(true);
    }
    let Some(group) = user.active_group else {
        return Ok(false);
    };
    let sql = match access {
        Access::Source => {
            "SELECT COUNT(*) FROM node_access a JOIN group_members m ON m.group_id = a.group_id
             WHERE a.group_id = $1 AND m.user_id = $2 AND a.node_id = $3 AND a.source"
        }
        Access::Destination => {
            "SELECT COUNT(*) FROM node_access a JOIN group_members m ON m.group_id = a.group_id
             WHERE a.group_id = $1 AND m.user_id = $2 AND a.node_id = $3 AND a.destination"
        }
    };
    let backend = database.backend();
    let n: i64 = db_dispatch!(database, pool => sqlx::query_scalar(sql)
        .bind(group.0)
        .bind(user.id.0)
        .bind(node.0)
        .fetch_one(pool)
        .await
        .map_err(db_err(backend, "check node access"))?);
    Ok(n > 0)
}

/// Whether `user` may use `node` for `access` through **any** of their groups (ADIT's
/// DICOMweb API rule; superusers always may, inactive users never).
pub async fn can_use_any_group(
    database: &Db,
    user: &User,
    node: NodeId,
    access: Access,
) -> Result<bool> {
    if !user.is_active {
        return Ok(false);
    }
    if user.is_superuser {
        return Ok(true);
    }
    let sql = match access {
        Access::Source => {
            "SELECT COUNT(*) FROM node_access a JOIN group_members m ON m.group_id = a.group_id
             WHERE m.user_id = $1 AND a.node_id = $2 AND a.source"
        }
        Access::Destination => {
            "SELECT COUNT(*) FROM node_access a JOIN group_members m ON m.group_id = a.group_id
             WHERE m.user_id = $1 AND a.node_id = $2 AND a.destination"
        }
    };
    let backend = database.backend();
    let n: i64 = db_dispatch!(database, pool => sqlx::query_scalar(sql)
        .bind(user.id.0)
        .bind(node.0)
        .fetch_one(pool)
        .await
        .map_err(db_err(backend, "check node access"))?);
    Ok(n > 0)
}

/// The nodes `user` may use for `access` through their active group, by name.
pub async fn accessible(database: &Db, user: &User, access: Access) -> Result<Vec<StoredNode>> {
    let mut out = Vec::new();
    for node in list(database).await? {
        if can_use(database, user, node.id, access).await? {
            out.push(node);
        }
    }
    Ok(out)
}

fn stored((id, Json(node)): (i64, Json<Node>)) -> StoredNode {
    StoredNode {
        id: NodeId(id),
        node,
    }
}
