//! Listing jobs for the job pages: newest first, filtered by owner, status and type.

use super::error::JobResult;
use super::kind::JobKind;
use super::model::Job;
use super::sql::{job_columns, job_from_row};
use super::status::JobStatus;
use super::store::Jobs;
use crate::db_dispatch;
use crate::error::db;

/// Which jobs to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this user's jobs (`None`: everyone's, for staff).
    pub owner: Option<i64>,
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this type.
    pub kind: Option<JobKind>,
    /// At most this many (the newest).
    pub limit: u32,
}

impl JobFilter {
    /// The newest `limit` jobs of everyone.
    pub fn all(limit: u32) -> JobFilter {
        JobFilter {
            owner: None,
            status: None,
            kind: None,
            limit,
        }
    }
}

impl Jobs {
    /// The jobs matching `filter`, newest first.
    pub async fn list(&self, filter: JobFilter) -> JobResult<Vec<Job>> {
        let backend = self.db.backend();
        let jobs = db_dispatch!(&self.db, pool => {
            let rows = sqlx::query(concat!(
                "SELECT ", job_columns!(), " FROM jobs
                 WHERE ($1 IS NULL OR owner_id = $1)
                   AND ($2 IS NULL OR status = $2)
                   AND ($3 IS NULL OR kind = $3)
                 ORDER BY id DESC LIMIT $4"
            ))
            .bind(filter.owner)
            .bind(filter.status.map(JobStatus::code))
            .bind(filter.kind.map(JobKind::as_str))
            .bind(i64::from(filter.limit))
            .fetch_all(pool)
            .await
            .map_err(db(backend, "list jobs"))?;
            let mut jobs = Vec::with_capacity(rows.len());
            for row in &rows {
                jobs.push(job_from_row!(row).map_err(db(backend, "decode a job"))?);
            }
            jobs
        });
        Ok(jobs)
    }
}
