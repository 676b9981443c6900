//! Counting jobs by type and status, for the staff overview.

use super::error::JobResult;
use super::kind::JobKind;
use super::status::JobStatus;
use super::store::Jobs;
use crate::db_dispatch;
use crate::error::db;

/// How many jobs of one type are in one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindStatusCount {
    /// The job type.
    pub kind: JobKind,
    /// The status.
    pub status: JobStatus,
    /// The number of jobs.
    pub count: i64,
}

impl Jobs {
    /// The number of jobs per type and status; pairs without jobs are left out. Rows whose
    /// type or status this version does not know are skipped rather than failing the page.
    pub async fn counts_by_kind_and_status(&self) -> JobResult<Vec<KindStatusCount>> {
        let backend = self.db.backend();
        let rows: Vec<(String, String, i64)> = db_dispatch!(&self.db, pool => {
            sqlx::query_as(
                "SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status
                 ORDER BY kind, status",
            )
            .fetch_all(pool)
            .await
            .map_err(db(backend, "count jobs by type and status"))?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(kind, status, count)| {
                Some(KindStatusCount {
                    kind: JobKind::parse(&kind)?,
                    status: JobStatus::from_code(&status)?,
                    count,
                })
            })
            .collect())
    }
}
