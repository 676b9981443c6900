//! The audit log: who did what, when, from where, to which node and study, pseudonymized or
//! not. Every login, token use, job action, node change and data access goes through
//! [`record`]; staff read it through `GET /api/v1/audit/` and export it as CSV.
//!
//! The table is append-only: this module has no statement that changes or removes an entry,
//! and the migration adds triggers that reject UPDATE and DELETE (and TRUNCATE on PostgreSQL).
//!
//! Token use is frequent (every API request), so it is written at most once per token per
//! [`TOKEN_USE_INTERVAL`] by [`TokenUseThrottle`]; logins, job actions, node changes and data
//! access are written every time.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::accounts::User;
use crate::db::Db;
use crate::db_dispatch;
use crate::error::{Result, db as db_err};

/// How often one token's use is written at most.
pub const TOKEN_USE_INTERVAL: Duration = Duration::from_secs(60);

/// The kinds of audited events, stored by their snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// A browser login succeeded.
    Login,
    /// A browser login was refused (unknown user, wrong password, inactive user).
    LoginFailed,
    /// A browser session ended.
    Logout,
    /// An API token authenticated a request (throttled, see [`TokenUseThrottle`]).
    TokenUse,
    /// An API token was created.
    TokenCreate,
    /// An API token was revoked.
    TokenRevoke,
    /// A job was created.
    JobCreate,
    /// A job action (cancel, resume, retry, ...); the detail names it.
    JobAction,
    /// A task action (reset, kill, delete); the detail names it.
    TaskAction,
    /// A node was added.
    NodeAdd,
    /// A group's access to a node changed.
    NodeAccess,
    /// A node was checked with C-ECHO.
    NodeEcho,
    /// Images were retrieved through the DICOMweb facade.
    DataRetrieve,
    /// A transfer task moved a study.
    DataTransfer,
    /// A user account was created or changed (activated, deactivated, password reset).
    UserChange,
    /// A group was created or its members or permissions changed.
    GroupChange,
    /// The announcement or maintenance mode changed.
    SiteSettings,
    /// A mail was sent to every active user.
    Broadcast,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 18] = [
        Action::Login,
        Action::LoginFailed,
        Action::Logout,
        Action::TokenUse,
        Action::TokenCreate,
        Action::TokenRevoke,
        Action::JobCreate,
        Action::JobAction,
        Action::TaskAction,
        Action::NodeAdd,
        Action::NodeAccess,
        Action::NodeEcho,
        Action::DataRetrieve,
        Action::DataTransfer,
        Action::UserChange,
        Action::GroupChange,
        Action::SiteSettings,
        Action::Broadcast,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::TokenUse => "token_use",
            Action::TokenCreate => "token_create",
            Action::TokenRevoke => "token_revoke",
            Action::JobCreate => "job_create",
            Action::JobAction => "job_action",
            Action::TaskAction => "task_action",
            Action::NodeAdd => "node_add",
            Action::NodeAccess => "node_access",
            Action::NodeEcho => "node_echo",
            Action::DataRetrieve => "data_retrieve",
            Action::DataTransfer => "data_transfer",
            Action::UserChange => "user_change",
            Action::GroupChange => "group_change",
            Action::SiteSettings => "site_settings",
            Action::Broadcast => "broadcast",
        }
    }

    /// Parses [`Action::as_str`].
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry to write. Build it with [`Event::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// The acting user's id (`None` for the command line, the worker, or an unknown user).
    pub user_id: Option<i64>,
    /// The acting user's name as it was (or the name tried at a failed login).
    pub username: String,
    /// The client address, `unknown` when not known, empty for the server's own work.
    pub address: String,
    /// The node involved, by name.
    pub node: String,
    /// The StudyInstanceUID involved.
    pub study_uid: String,
    /// For data access: whether the data left pseudonymized.
    pub pseudonymized: Option<bool>,
    /// Free text: the job id and action, the token's description, ...
    pub detail: String,
}

impl Event {
    /// An event of `action` with nothing else known yet.
    pub fn new(action: Action) -> Event {
        Event {
            action,
            user_id: None,
            username: String::new(),
            address: String::new(),
            node: String::new(),
            study_uid: String::new(),
            pseudonymized: None,
            detail: String::new(),
        }
    }

    /// Sets the acting user.
    pub fn by(mut self, user: &User) -> Event {
        self.user_id = Some(user.id.0);
        self.username = user.username.clone();
        self
    }

    /// Sets the client address.
    pub fn from_address(mut self, address: impl Into<String>) -> Event {
        self.address = address.into();
        self
    }

    /// Sets the node.
    pub fn node(mut self, node: impl Into<String>) -> Event {
        self.node = node.into();
        self
    }

    /// Sets the study and whether it was pseudonymized.
    pub fn study(mut self, study_uid: impl Into<String>, pseudonymized: bool) -> Event {
        self.study_uid = study_uid.into();
        self.pseudonymized = Some(pseudonymized);
        self
    }

    /// Sets the detail text.
    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.detail = detail.into();
        self
    }
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its id (ascending in time of writing).
    pub id: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The acting user's id.
    pub user_id: Option<i64>,
    /// The acting user's name.
    pub username: String,
    /// What happened ([`Action::as_str`]).
    pub action: String,
    /// The client address.
    pub address: String,
    /// The node involved.
    pub node: String,
    /// The study involved.
    pub study_uid: String,
    /// Whether data left pseudonymized (data access only).
    pub pseudonymized: Option<bool>,
    /// Free text.
    pub detail: String,
}

/// Which entries to read; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only entries of this user id.
    pub user_id: Option<i64>,
    /// Only entries of this action.
    pub action: Option<Action>,
    /// Only entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub to: Option<DateTime<Utc>>,
}

/// Appends `event` to the audit log, stamped now.
pub async fn record(database: &Db, event: &Event) -> Result<()> {
    let backend = database.backend();
    db_dispatch!(database, pool => sqlx::query(
        "INSERT INTO audit_log
             (at, user_id, username, action, address, node, study_uid, pseudonymized, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(Utc::now())
        .bind(event.user_id)
        .bind(&event.username)
        .bind(event.action.as_str())
        .bind(&event.address)
        .bind(&event.node)
        .bind(&event.study_uid)
        .bind(event.pseudonymized)
        .bind(&event.detail)
        .execute(pool)
        .await
        .map_err(db_err(backend, "write an audit entry"))
        .map(|_| ())?);
    Ok(())
}

/// Like [`record`], but a failure is logged instead of returned: for places where the audited
/// work already happened and must not be reported as failed because the log could not be
/// written.
pub async fn record_or_log(database: &Db, event: &Event) {
    if let Err(e) = record(database, event).await {
        tracing::error!(action = %event.action, "cannot write the audit entry: {e}");
    }
}

/// The entries matching `filter`, newest first, skipping `offset` and at most `limit`, with
/// the number of all matching entries.
pub async fn list(
    database: &Db,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Entry>, i64)> {
    type Row = (
        i64,
        DateTime<Utc>,
        Option<i64>,
        String,
        String,
        String,
        String,
        String,
        Option<bool>,
        String,
    );
    const WHERE: &str = "WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR action = $2)
         AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4)";
    let backend = database.backend();
    let action = filter.action.map(Action::as_str);
    let (rows, total): (Vec<Row>, i64) = db_dispatch!(database, pool => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, at, user_id, username, action, address, node, study_uid, pseudonymized,
                    detail
             FROM audit_log {WHERE} ORDER BY id DESC LIMIT $5 OFFSET $6")))
            .bind(filter.user_id)
            .bind(action)
            .bind(filter.from)
            .bind(filter.to)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
            .map_err(db_err(backend, "read the audit log"))?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM audit_log {WHERE}")))
            .bind(filter.user_id)
            .bind(action)
            .bind(filter.from)
            .bind(filter.to)
            .fetch_one(pool)
            .await
            .map_err(db_err(backend, "count the audit log"))?;
        (rows, total)
    });
    let entries = rows
        .into_iter()
        .map(
            |(
                id,
                at,
                user_id,
                username,
                action,
                address,
                node,
                study_uid,
                pseudonymized,
                detail,
            )| {
                Entry {
                    id,
                    at,
                    user_id,
                    username,
                    action,
                    address,
                    node,
                    study_uid,
                    pseudonymized,
                    detail,
                }
            },
        )
        .collect();
    Ok((entries, total))
}

/// How many token uses were recorded per user name, most first. Uses are written at most
/// once per token per [`TOKEN_USE_INTERVAL`], so this counts active minutes, not requests.
pub async fn token_use_by_user(database: &Db) -> Result<Vec<(String, i64)>> {
    let backend = database.backend();
    let rows: Vec<(String, i64)> = db_dispatch!(database, pool => {
        sqlx::query_as(
            "SELECT username, COUNT(*) FROM audit_log WHERE action = $1
             GROUP BY username ORDER BY COUNT(*) DESC, username")
            .bind(Action::TokenUse.as_str())
            .fetch_all(pool)
            .await
            .map_err(db_err(backend, "count token uses"))?
    });
    Ok(rows)
}

/// The header of [`to_csv`].
pub const CSV_HEADER: &str =
    "id,at,user_id,username,action,address,node,study_uid,pseudonymized,detail";

/// `entries` as CSV with [`CSV_HEADER`], RFC 4180 quoting, times in RFC 3339.
pub fn to_csv(entries: &[Entry]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.at.to_rfc3339(),
            e.user_id.map(|u| u.to_string()).unwrap_or_default(),
            e.username.clone(),
            e.action.clone(),
            e.address.clone(),
            e.node.clone(),
            e.study_uid.clone(),
            e.pseudonymized.map(|p| p.to_string()).unwrap_or_default(),
            e.detail.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Quotes a field when it holds a separator, a quote or a line break. A leading `=`, `+`, `-`
/// or `@` is prefixed with `'` so spreadsheet programs do not run user-supplied text as a
/// formula.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// Decides whether a token's use is written now: at most once per token per
/// [`TOKEN_USE_INTERVAL`], per process. Tokens are keyed by their SHA-256, never stored as
/// they are.
#[derive(Debug, Default)]
pub struct TokenUseThrottle {
    last: Mutex<HashMap<String, Instant>>,
}

impl TokenUseThrottle {
    /// Whether the use of the token with digest `token_sha256` should be written now; if so,
    /// remembers it.
    pub fn should_record(&self, token_sha256: &str) -> bool {
        let now = Instant::now();
        // A poisoned lock only means another request panicked; the map is still usable.
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget old entries so the map stays as small as the set of recently used tokens.
        if last.len() > 10_000 {
            last.retain(|_, at| now.duration_since(*at) < TOKEN_USE_INTERVAL);
        }
        match last.get(token_sha256) {
            Some(at) if now.duration_since(*at) < TOKEN_USE_INTERVAL => false,
            _ => {
                last.insert(token_sha256.to_owned(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("nonsense"), None);
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }

    #[test]
    fn token_use_is_throttled_per_token() {
        let throttle = TokenUseThrottle::default();
        assert!(throttle.should_record("a"));
        assert!(!throttle.should_record("a"));
        assert!(throttle.should_record("b"));
    }
}
