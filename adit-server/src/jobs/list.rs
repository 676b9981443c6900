//! Listing jobs a page at a time, filtered by status, type and owner (the REST API's job list).

use super::error::JobResult;
use super::kind::JobKind;
use super::model::Job;
use super::sql::{job_columns, job_from_row};
use super::status::JobStatus;
use super::store::Jobs;
use crate::db_dispatch;
use crate::error::db;

/// Which jobs to list; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this type.
    pub kind: Option<JobKind>,
    /// Only jobs of this owner.
    pub owner_id: Option<i64>,
}

impl Jobs {
    /// The jobs matching `filter`, newest first, skipping `offset` and at most `limit`, with
    /// the number of all matching jobs.
    pub async fn list(
        &self,
        filter: &JobFilter,
        offset: i64,
        limit: i64,
    ) -> JobResult<(Vec<Job>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2)
             AND ($3 IS NULL OR owner_id = $3)";
        let backend = self.db.backend();
        let status = filter.status.map(JobStatus::code);
        let kind = filter.kind.map(JobKind::as_str);
        let (jobs, total) = db_dispatch!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM jobs {WHERE} ORDER BY id DESC LIMIT $4 OFFSET $5",
                job_columns!()
            )))
            .bind(status)
            .bind(kind)
            .bind(filter.owner_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
            .map_err(db(backend, "list jobs"))?;
            let mut jobs = Vec::with_capacity(rows.len());
            for row in &rows {
                jobs.push(job_from_row!(row).map_err(db(backend, "decode a job"))?);
            }
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM jobs {WHERE}"
            )))
            .bind(status)
            .bind(kind)
            .bind(filter.owner_id)
            .fetch_one(pool)
            .await
            .map_err(db(backend, "count jobs"))?;
            (jobs, total)
        });
        Ok((jobs, total))
    }
}
