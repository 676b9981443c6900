//! The three job types, with ADIT's queue priorities.

use std::fmt;

use adit_core::queue::RetryPolicy;

/// Queue of the DICOM tasks (ADIT's `dicom` queue).
pub const DICOM_QUEUE: &str = "dicom";

/// Name of the queue task that runs one transfer task.
pub const TRANSFER_TASK: &str = "transfer_task";

/// Name of the queue task that runs one batch query task.
pub const BATCH_QUERY_TASK: &str = "batch_query_task";

/// A job type (ADIT has one Django app per type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Selected studies (or series) from the search form.
    SelectiveTransfer,
    /// Queries from a batch file; writes result rows.
    BatchQuery,
    /// Studies listed in a batch file.
    BatchTransfer,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 3] = [
        JobKind::SelectiveTransfer,
        JobKind::BatchQuery,
        JobKind::BatchTransfer,
    ];

    /// The stored name, also ADIT's app label (`selective_transfer`, ...), used in folder names.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::SelectiveTransfer => "selective_transfer",
            JobKind::BatchQuery => "batch_query",
            JobKind::BatchTransfer => "batch_transfer",
        }
    }

    /// Parses [`JobKind::as_str`].
    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Queue priority of its tasks (higher runs first): ADIT's defaults 4/3/2, urgent 8/7/6.
    pub fn priority(self, urgent: bool) -> i32 {
        match (self, urgent) {
            (JobKind::SelectiveTransfer, false) => 4,
            (JobKind::SelectiveTransfer, true) => 8,
            (JobKind::BatchQuery, false) => 3,
            (JobKind::BatchQuery, true) => 7,
            (JobKind::BatchTransfer, false) => 2,
            (JobKind::BatchTransfer, true) => 6,
        }
    }

    /// The queue task that runs one of its tasks.
    pub fn queue_task(self) -> &'static str {
        match self {
            JobKind::BatchQuery => BATCH_QUERY_TASK,
            JobKind::SelectiveTransfer | JobKind::BatchTransfer => TRANSFER_TASK,
        }
    }

    /// Whether its tasks move instances (and so need a destination).
    pub fn is_transfer(self) -> bool {
        self != JobKind::BatchQuery
    }

    /// ADIT's task-level retries: 3 attempts, waits of 2 then 4 minutes, retriable errors only.
    pub fn retry_policy(self) -> RetryPolicy {
        RetryPolicy::ADIT_DICOM_TASK
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_adits() {
        let got: Vec<_> = JobKind::ALL
            .into_iter()
            .map(|k| (k.priority(false), k.priority(true)))
            .collect();
        assert_eq!(got, [(4, 8), (3, 7), (2, 6)]);
    }

    #[test]
    fn names_round_trip() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(JobKind::parse("mass_transfer"), None);
    }
}
