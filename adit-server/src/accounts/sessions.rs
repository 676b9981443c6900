//! Browser sessions: a random 32-byte id (64 hex characters) handed to the browser in an
//! HttpOnly cookie, of which only the SHA-256 (hex) is stored, with an expiry and the session's
//! CSRF token (also 32 random bytes, hex), which state-changing requests must echo
//! (Django's double-submit rule). Expired sessions are deleted when met.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::{AuthError, User, UserId, UserRow, user_from_row};
use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Result, db as db_err};

/// Random bytes in a session id and in a CSRF token.
pub const SESSION_KEY_BYTES: usize = 32;

/// How long a session lasts (Django's default `SESSION_COOKIE_AGE`: two weeks).
pub const SESSION_LIFETIME: Duration = Duration::weeks(2);

/// A session just created: the secrets to hand to the browser.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id (64 hex characters); only its SHA-256 is stored.
    pub key: String,
    /// The CSRF token the session's state-changing requests must send in `X-CSRFToken`.
    pub csrf_token: String,
    /// When the session ends.
    pub expires: DateTime<Utc>,
}

/// A valid session found by its id.
#[derive(Debug, Clone)]
pub struct Session {
    /// The logged-in user (active).
    pub user: User,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// When the session ends.
    pub expires: DateTime<Utc>,
}

/// Starts a session for `user`, lasting [`SESSION_LIFETIME`]; deletes the user's expired ones.
pub async fn create(database: &Db, user: &User) -> Result<NewSession> {
    let key = random_hex();
    let csrf_token = random_hex();
    let now = Utc::now();
    let expires = now + SESSION_LIFETIME;
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND expires <= $2")
        .bind(user.id.0)
        .bind(now)
        .execute(pool)
        .await
        .map_err(db_err(backend, "delete expired sessions"))?
        .rows_affected());
    db_dispatch!(database, pool => sqlx::query(
        "INSERT INTO sessions (key_sha256, user_id, csrf_token, created, expires)
         VALUES ($1, $2, $3, $4, $5)")
        .bind(sha256_hex(&key))
        .bind(user.id.0)
        .bind(&csrf_token)
        .bind(now)
        .bind(expires)
        .execute(pool)
        .await
        .map_err(db_err(backend, "create a session"))?
        .rows_affected());
    Ok(NewSession {
        key,
        csrf_token,
        expires,
    })
}

/// The session with id `key`, if it exists, has not expired and its user is active.
pub async fn authenticate(database: &Db, key: &str) -> Result<Session, AuthError> {
    if !is_well_formed(key) {
        return Err(AuthError::Malformed);
    }
    let digest = sha256_hex(key);
    let backend = database.backend();
    let row: Option<(i64, String, DateTime<Utc>)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT user_id, csrf_token, expires FROM sessions WHERE key_sha256 = $1")
        .bind(&digest)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "look up a session"))?);
    let Some((user_id, csrf_token, expires)) = row else {
        return Err(AuthError::Unknown);
    };
    if expires <= Utc::now() {
        delete(database, key).await?;
        return Err(AuthError::Expired(expires));
    }
    let user: Option<UserRow> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT id, username, email, is_staff, is_superuser, is_active, active_group_id, created
         FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "read a session's user"))?);
    let user = user.map(user_from_row).ok_or(AuthError::Unknown)?;
    if !user.is_active {
        return Err(AuthError::InactiveUser(user.username));
    }
    Ok(Session {
        user,
        csrf_token,
        expires,
    })
}

/// Ends the session with id `key`; returns whether it existed.
pub async fn delete(database: &Db, key: &str) -> Result<bool> {
    let backend = database.backend();
    let n = db_dispatch!(database, pool => sqlx::query("DELETE FROM sessions WHERE key_sha256 = $1")
        .bind(sha256_hex(key))
        .execute(pool)
        .await
        .map_err(db_err(backend, "delete a session"))?
        .rows_affected());
    Ok(n > 0)
}

/// Ends every session of `user` (after a password reset or deactivation by staff, as Django
/// does when a password changes); returns how many there were.
pub async fn delete_for_user(database: &Db, user: UserId) -> Result<u64> {
    let backend = database.backend();
    let n = db_dispatch!(database, pool => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.0)
        .execute(pool)
        .await
        .map_err(db_err(backend, "delete a user's sessions"))?
        .rows_affected());
    Ok(n)
}

/// Whether `key` has the shape of a session id: 64 lowercase hex characters.
pub fn is_well_formed(key: &str) -> bool {
    key.len() == SESSION_KEY_BYTES * 2
        && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn random_hex() -> String {
    let mut bytes = [0u8; SESSION_KEY_BYTES];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn sha256_hex(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_lowercase_hex_and_distinct() {
        let a = random_hex();
        let b = random_hex();
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_ne!(a, b);
        assert!(!is_well_formed(&a.to_uppercase()));
        assert!(!is_well_formed(&a[1..]));
    }

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "abcd"));
    }
}
