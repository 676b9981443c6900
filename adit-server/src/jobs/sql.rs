//! Backend glue for the job statements: a write transaction per backend, enqueueing on the
//! transaction's connection, and row decoding shared by both backends.

use adit_core::queue::{JobId, JobSpec};
use adit_queue::JobQueue;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// Opens a transaction that will write. SQLite takes the write lock at `BEGIN IMMEDIATE`, so
/// a read-then-write transaction never fails on a lock upgrade; PostgreSQL locks rows as it goes.
pub(crate) trait BeginWrite {
    /// The backend.
    type Db: sqlx::Database;
    /// Begins the transaction.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

/// Enqueues an adit-queue job on this connection (inside the caller's transaction).
pub(crate) trait EnqueueOn {
    /// Enqueues `spec` on `queue`'s tables through this connection.
    fn enqueue_on(
        &mut self,
        queue: &JobQueue,
        spec: &JobSpec,
    ) -> impl Future<Output = adit_queue::Result<JobId>> + Send;
}

impl EnqueueOn for PgConnection {
    fn enqueue_on(
        &mut self,
        queue: &JobQueue,
        spec: &JobSpec,
    ) -> impl Future<Output = adit_queue::Result<JobId>> + Send {
        queue.enqueue_pg(self, spec)
    }
}

impl EnqueueOn for SqliteConnection {
    fn enqueue_on(
        &mut self,
        queue: &JobQueue,
        spec: &JobSpec,
    ) -> impl Future<Output = adit_queue::Result<JobId>> + Send {
        queue.enqueue_sqlite(self, spec)
    }
}

/// The columns of a job row, in the order [`job_from_row!`] does not depend on.
macro_rules! job_columns {
    () => {
        "id, kind, owner_id, source_id, destination_id, urgent, status, message, \
         send_finished_mail, trial_protocol_id, trial_protocol_name, archive_password, \
         project_name, project_description, ethics_application_id, created, started, ended"
    };
}

/// The columns of a task row.
macro_rules! task_columns {
    () => {
        "id, job_id, status, message, log, attempts, retries, patient_id, study_uid, \
         series_uids, pseudonym, query, lines, instances_done, instances_expected, bytes_done, \
         bytes_expected, queue_job_id, created, started, ended"
    };
}

/// Decodes a job row (either backend) into `Result<Job, sqlx::Error>`.
macro_rules! job_from_row {
    ($row:expr) => {{
        use sqlx::Row as _;
        let row = $row;
        (|| -> std::result::Result<$crate::jobs::model::Job, sqlx::Error> {
            let kind: String = row.try_get("kind")?;
            let status: String = row.try_get("status")?;
            Ok($crate::jobs::model::Job {
                id: row.try_get("id")?,
                kind: $crate::jobs::kind::JobKind::parse(&kind)
                    .ok_or_else(|| $crate::jobs::sql::decode_error("job kind", &kind))?,
                owner_id: row.try_get("owner_id")?,
                source_id: row.try_get("source_id")?,
                destination_id: row.try_get("destination_id")?,
                urgent: row.try_get("urgent")?,
                status: $crate::jobs::status::JobStatus::from_code(&status)
                    .ok_or_else(|| $crate::jobs::sql::decode_error("job status", &status))?,
                message: row.try_get("message")?,
                send_finished_mail: row.try_get("send_finished_mail")?,
                trial_protocol_id: row.try_get("trial_protocol_id")?,
                trial_protocol_name: row.try_get("trial_protocol_name")?,
                archive_password: row.try_get("archive_password")?,
                project_name: row.try_get("project_name")?,
                project_description: row.try_get("project_description")?,
                ethics_application_id: row.try_get("ethics_application_id")?,
                created: row.try_get("created")?,
                started: row.try_get("started")?,
                ended: row.try_get("ended")?,
            })
        })()
    }};
}

/// Decodes a task row (either backend) into `Result<Task, sqlx::Error>`.
macro_rules! task_from_row {
    ($row:expr) => {{
        use sqlx::Row as _;
        let row = $row;
        (|| -> std::result::Result<$crate::jobs::model::Task, sqlx::Error> {
            let status: String = row.try_get("status")?;
            let series_uids: String = row.try_get("series_uids")?;
            let lines: String = row.try_get("lines")?;
            let query: Option<String> = row.try_get("query")?;
            let pseudonym: String = row.try_get("pseudonym")?;
            Ok($crate::jobs::model::Task {
                id: row.try_get("id")?,
                job_id: row.try_get("job_id")?,
                status: $crate::jobs::status::TaskStatus::from_code(&status)
                    .ok_or_else(|| $crate::jobs::sql::decode_error("task status", &status))?,
                message: row.try_get("message")?,
                log: row.try_get("log")?,
                attempts: row.try_get("attempts")?,
                retries: row.try_get("retries")?,
                patient_id: row.try_get("patient_id")?,
                study_uid: row.try_get("study_uid")?,
                series_uids: $crate::jobs::sql::from_json(&series_uids)?,
                pseudonym: (!pseudonym.is_empty()).then_some(pseudonym),
                query: query
                    .as_deref()
                    .map($crate::jobs::sql::from_json)
                    .transpose()?,
                lines: $crate::jobs::sql::from_json(&lines)?,
                instances_done: row.try_get("instances_done")?,
                instances_expected: row.try_get("instances_expected")?,
                bytes_done: row.try_get("bytes_done")?,
                bytes_expected: row.try_get("bytes_expected")?,
                queue_job_id: row.try_get("queue_job_id")?,
                created: row.try_get("created")?,
                started: row.try_get("started")?,
                ended: row.try_get("ended")?,
            })
        })()
    }};
}

pub(crate) use {job_columns, job_from_row, task_columns, task_from_row};

/// A decode error for a stored value this binary does not know.
pub(crate) fn decode_error(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} `{value}`").into())
}

/// Parses a JSON text column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// JSON text of a value that always serializes (lists of strings and numbers, plain structs).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}
