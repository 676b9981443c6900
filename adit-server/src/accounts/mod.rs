//! Accounts as in ADIT (adit-reference §2.3, §8): users, groups with an active group,
//! permissions granted to groups, API tokens and browser sessions.
//!
//! | module | job |
//! |---|---|
//! | [`users`] | create, look up, list users; active group; effective permissions |
//! | [`groups`] | create groups, membership (a user's first group becomes active), grants |
//! | [`tokens`] | API tokens: 40 hex characters, only SHA-256 stored, expiry, `authenticate` |
//! | [`sessions`] | browser sessions: random id (only SHA-256 stored), expiry, CSRF token |
//! | [`password`] | Argon2id password hashing |
//! | [`permission`] | [`Permission`]: ADIT's codenames |
//!
//! Node access (which group may use which node as source or destination) is in
//! [`crate::nodes`].

pub mod groups;
pub mod password;
pub mod permission;
pub mod sessions;
pub mod tokens;
pub mod users;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use permission::Permission;
pub use tokens::{AuthError, NewToken, TokenInfo};
pub use users::NewUser;

/// Database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// Database id of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct GroupId(pub i64);

/// A user account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Database id.
    pub id: UserId,
    /// Unique login name.
    pub username: String,
    /// Email address (may be empty).
    pub email: String,
    /// Staff: sees every job, may verify, restart and kill.
    pub is_staff: bool,
    /// Superuser: every permission and every node.
    pub is_superuser: bool,
    /// Inactive users cannot log in or use tokens.
    pub is_active: bool,
    /// The group whose permissions and node access apply now.
    pub active_group: Option<GroupId>,
    /// When the account was created.
    pub created: DateTime<Utc>,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Database id.
    pub id: GroupId,
    /// Unique name.
    pub name: String,
}

/// The columns of a user row in the order [`user_from_row`] reads them.
pub(crate) type UserRow = (
    i64,
    String,
    String,
    bool,
    bool,
    bool,
    Option<i64>,
    DateTime<Utc>,
);

/// Builds a [`User`] from the columns
/// `id, username, email, is_staff, is_superuser, is_active, active_group_id, created`.
pub(crate) fn user_from_row(row: UserRow) -> User {
    let (id, username, email, is_staff, is_superuser, is_active, active_group, created) = row;
    User {
        id: UserId(id),
        username,
        email,
        is_staff,
        is_superuser,
        is_active,
        active_group: active_group.map(GroupId),
        created,
    }
}

/// Whether a driver error is a unique-constraint violation (the name is taken).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
