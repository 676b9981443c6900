//! Site-wide settings staff change in the browser: the announcement on the home page and
//! maintenance mode (adit-reference §8). One row in `site_settings`, read per request: web
//! processes share the database, so a cache here could show one process's page in
//! maintenance and another's not. The read is a primary-key look-up.

use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Result, db as db_err};

/// The settings row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteSettings {
    /// Text shown on the home page to every signed-in user (plain text; empty: none).
    pub announcement: String,
    /// While on, only staff may use the pages and the API (see [`crate::web::maintenance`]).
    pub maintenance: bool,
}

/// Longest announcement accepted.
pub const MAX_ANNOUNCEMENT_LEN: usize = 10_000;

/// The current settings.
pub async fn get(database: &Db) -> Result<SiteSettings> {
    let backend = database.backend();
    let row: Option<(String, bool)> = db_dispatch!(database, pool => sqlx::query_as(
        "SELECT announcement, maintenance FROM site_settings WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(db_err(backend, "read the site settings"))?);
    // The migration creates the row; a missing one reads as the defaults.
    Ok(row
        .map(|(announcement, maintenance)| SiteSettings {
            announcement,
            maintenance,
        })
        .unwrap_or_default())
}

/// Replaces the announcement (empty removes it).
pub async fn set_announcement(database: &Db, text: &str) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "UPDATE site_settings SET announcement = $1 WHERE id = 1")
        .bind(text)
        .execute(pool)
        .await
        .map_err(db_err(backend, "change the announcement"))?
        .rows_affected());
    Ok(())
}

/// Turns maintenance mode on or off.
pub async fn set_maintenance(database: &Db, on: bool) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "UPDATE site_settings SET maintenance = $1 WHERE id = 1")
        .bind(on)
        .execute(pool)
        .await
        .map_err(db_err(backend, "change maintenance mode"))?
        .rows_affected());
    Ok(())
}
