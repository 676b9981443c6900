//! API tokens (adit-reference §6.1): 40 lowercase hex characters from the OS random
//! generator, shown once. Only the token's SHA-256 (hex) is stored, so a token is found by
//! its hash; the first 4 characters are kept to tell tokens apart in listings. A token may
//! expire; `last_used` is updated on every successful authentication.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{User, UserId, UserRow, user_from_row};
use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Error, Result, db as db_err};

/// Length of a token in hex characters (20 random bytes).
pub const TOKEN_LEN: usize = 40;

/// How many leading characters are kept for display.
const FRACTION_LEN: usize = 4;

/// A token just created: the secret (shown once) and its stored description.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The 40-hex token itself. Not stored anywhere: give it to the user now.
    pub token: String,
    /// What is stored about it.
    pub info: TokenInfo,
}

/// What is stored about a token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Database id.
    pub id: i64,
    /// The owner's user name.
    pub username: String,
    /// The first 4 characters, to tell tokens apart.
    pub fraction: String,
    /// Free text.
    pub description: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Expiry; `None` never expires.
    pub expires: Option<DateTime<Utc>>,
    /// Last successful use.
    pub last_used: Option<DateTime<Utc>>,
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not 40 lowercase hex characters.
    #[error("malformed token: expected 40 lowercase hex characters")]
    Malformed,
    /// No such token (never issued, or deleted).
    #[error("invalid token")]
    Unknown,
    /// The token expired at this time.
    #[error("token expired at {0}")]
    Expired(DateTime<Utc>),
    /// The token's owner is deactivated.
    #[error("user `{0}` is inactive")]
    InactiveUser(String),
    /// The database failed; not the client's fault.
    #[error(transparent)]
    Backend(#[from] Error),
}

/// Creates a token for `user`, expiring at `expires` (or never).
pub async fn create(
    database: &Db,
    user: &User,
    description: &str,
    expires: Option<DateTime<Utc>>,
) -> Result<NewToken> {
    let token = generate();
    let digest = sha256_hex(&token);
    let fraction = token[..FRACTION_LEN].to_owned();
    let created = Utc::now();
    let backend = database.backend();
    let id: i64 = db_dispatch!(database, pool => sqlx::query_scalar(
        "INSERT INTO api_tokens (token_sha256, fraction, user_id, description, created, expires)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(&digest)
        .bind(&fraction)
        .bind(user.id.0)
        .bind(description)
        .bind(created)
        .bind(expires)
        .fetch_one(pool)
        .await
        .map_err(db_err(backend, "create a token"))?);
    Ok(NewToken {
        token,
        info: TokenInfo {
            id,
            username: user.username.clone(),
            fraction,
            description: description.to_owned(),
            created,
            expires,
            last_used: None,
        },
    })
}

/// The user a token belongs to, if the token is known, unexpired and its user active.
/// Updates the token's `last_used`.
pub async fn authenticate(database: &Db, token: &str) -> Result<User, AuthError> {
    if !is_well_formed(token) {
        return Err(AuthError::Malformed);
    }
    let digest = sha256_hex(token);
    let backend = database.backend();
    let row: Option<(i64, Option<DateTime<Utc>>, i64)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, expires, user_id FROM api_tokens WHERE token_sha256 = $1")
        .bind(&digest)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "look up a token"))?);
    let Some((token_id, expires, user_id)) = row else {
        return Err(AuthError::Unknown);
    };
    let now = Utc::now();
    if let Some(expires) = expires
        && expires <= now
    {
        return Err(AuthError::Expired(expires));
    }
    let user: Option<UserRow> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, username, email, is_staff, is_superuser, is_active, active_group_id, created
         FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "read a token's user"))?);
    let user = user.map(user_from_row).ok_or(AuthError::Unknown)?;
    if !user.is_active {
        return Err(AuthError::InactiveUser(user.username));
    }
    db_dispatch!(database, pool => sqlx::query("UPDATE api_tokens SET last_used = $1 WHERE id = $2")
        .bind(now)
        .bind(token_id)
        .execute(pool)
        .await
        .map_err(db_err(backend, "update a token's last use"))?
        .rows_affected());
    Ok(user)
}

/// Every token (never the token itself), newest first; only `user`'s when given.
pub async fn list(database: &Db, user: Option<UserId>) -> Result<Vec<TokenInfo>> {
    type Row = (
        i64,
        String,
        String,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let backend = database.backend();
    let rows: Vec<Row> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT t.id, u.username, t.fraction, t.description, t.created, t.expires, t.last_used
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE $1 IS NULL OR t.user_id = $1
         ORDER BY t.created DESC, t.id DESC")
        .bind(user.map(|u| u.0))
        .fetch_all(pool)
        .await
        .map_err(db_err(backend, "list tokens"))?);
    Ok(rows
        .into_iter()
        .map(
            |(id, username, fraction, description, created, expires, last_used)| TokenInfo {
                id,
                username,
                fraction,
                description,
                created,
                expires,
                last_used,
            },
        )
        .collect())
}

/// Deletes a token by id; returns whether it existed.
pub async fn delete(database: &Db, id: i64) -> Result<bool> {
    let backend = database.backend();
    let n = db_dispatch!(database, pool => sqlx::query("DELETE FROM api_tokens WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(db_err(backend, "delete a token"))?
        .rows_affected());
    Ok(n > 0)
}

/// Whether `token` has the shape of a token: 40 lowercase hex characters.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn generate() -> String {
    let mut bytes = [0u8; TOKEN_LEN / 2];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The SHA-256 of a token in lowercase hex, as stored.
pub fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_40_lowercase_hex_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(is_well_formed(&a) && is_well_formed(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_well_formed(&a.to_uppercase()));
        assert!(!is_well_formed(&a[1..]));
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
