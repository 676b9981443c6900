//! Batch size limits (ADIT's `MAX_BATCH_QUERY_SIZE` and `MAX_BATCH_TRANSFER_SIZE`): a
//! non-staff user's batch query or batch transfer job may have at most so many tasks; staff
//! users are not limited, nor are selective transfers. [`Jobs::create`](super::Jobs::create)
//! checks every job through [`check_batch_size`], so every way of creating jobs (web, REST,
//! command line) applies the same rule.

use super::error::{JobError, JobResult};
use super::kind::JobKind;
use crate::config::{Config, DEFAULT_MAX_BATCH_QUERY_SIZE, DEFAULT_MAX_BATCH_TRANSFER_SIZE};

/// The configured maxima.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most queries in a non-staff user's batch query job.
    pub query: usize,
    /// Most studies in a non-staff user's batch transfer job.
    pub transfer: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            query: DEFAULT_MAX_BATCH_QUERY_SIZE,
            transfer: DEFAULT_MAX_BATCH_TRANSFER_SIZE,
        }
    }
}

impl BatchLimits {
    /// The limits of `config`.
    pub fn from_config(config: &Config) -> BatchLimits {
        BatchLimits {
            query: config.max_batch_query_size,
            transfer: config.max_batch_transfer_size,
        }
    }
}

/// Refuses a batch job of `n` tasks of `kind` by a non-staff user beyond `limits`
/// ([`JobError::Invalid`], which the APIs answer with 400).
pub fn check_batch_size(
    is_staff: bool,
    kind: JobKind,
    n: usize,
    limits: &BatchLimits,
) -> JobResult<()> {
    let max = match kind {
        JobKind::BatchQuery => limits.query,
        JobKind::BatchTransfer => limits.transfer,
        JobKind::SelectiveTransfer => return Ok(()),
    };
    if is_staff || n <= max {
        return Ok(());
    }
    let what = match kind {
        JobKind::BatchQuery => "queries",
        _ => "studies",
    };
    Err(JobError::Invalid(format!(
        "too many {what} in the batch file ({n}); at most {max} are allowed"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_staff_batch_jobs_are_limited() {
        let limits = BatchLimits {
            query: 3,
            transfer: 2,
        };
        assert!(check_batch_size(false, JobKind::BatchQuery, 3, &limits).is_ok());
        let err = check_batch_size(false, JobKind::BatchQuery, 4, &limits).unwrap_err();
        assert!(err.to_string().contains("at most 3"), "{err}");
        assert!(check_batch_size(false, JobKind::BatchTransfer, 3, &limits).is_err());
        assert!(check_batch_size(true, JobKind::BatchTransfer, 3000, &limits).is_ok());
        assert!(check_batch_size(false, JobKind::SelectiveTransfer, 3000, &limits).is_ok());
        assert_eq!(BatchLimits::default().transfer, 500);
    }
}
