//! What a transfer did: per-instance outcomes, counts, bytes, progress snapshots.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::source::Expected;

/// The outcome of one instance (or one item the source reported instead of an instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceOutcome {
    /// SOP Instance UID as the source knows it; `None` when the source could not tell
    /// (a missing instance without UID, a skipped file).
    pub sop_instance_uid: Option<String>,
    /// SOP Instance UID at the destination, when a transform changed it (pseudonymization).
    pub destination_uid: Option<String>,
    /// What happened.
    pub status: OutcomeStatus,
}

/// What happened to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutcomeStatus {
    /// Stored at the destination.
    Stored {
        /// Data set size.
        bytes: u64,
    },
    /// Stored, but the sink warned.
    StoredWithWarning {
        /// Data set size.
        bytes: u64,
        /// The sink's warning.
        warning: String,
    },
    /// Not stored: the sink refused it, or a transform failed on it.
    Failed {
        /// Why, naming the sink or transform.
        reason: String,
    },
    /// Left out on purpose by a transform.
    Dropped {
        /// The transform's name.
        transform: String,
        /// The transform's reason.
        reason: String,
    },
    /// The source could not deliver it.
    Missing {
        /// The source's reason.
        reason: String,
    },
    /// The source passed over something that is not an instance (a non-DICOM file).
    Skipped {
        /// What was skipped.
        what: String,
        /// Why.
        reason: String,
    },
    /// Retrieved, but never stored because the transfer stopped first (cancelled, or the sink
    /// broke). The destination may or may not hold a copy if the store was under way.
    NotStored {
        /// Why the transfer stopped.
        reason: String,
    },
}

/// How many instances ended in each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutcomeCounts {
    /// [`OutcomeStatus::Stored`].
    pub stored: u64,
    /// [`OutcomeStatus::StoredWithWarning`].
    pub warnings: u64,
    /// [`OutcomeStatus::Failed`].
    pub failed: u64,
    /// [`OutcomeStatus::Dropped`].
    pub dropped: u64,
    /// [`OutcomeStatus::Missing`].
    pub missing: u64,
    /// [`OutcomeStatus::Skipped`].
    pub skipped: u64,
    /// [`OutcomeStatus::NotStored`].
    pub not_stored: u64,
}

impl OutcomeCounts {
    /// Instances that reached the destination (with or without warning).
    pub fn transferred(&self) -> u64 {
        self.stored + self.warnings
    }

    /// Instances (and skipped items) with an outcome of any kind.
    pub fn total(&self) -> u64 {
        self.stored
            + self.warnings
            + self.failed
            + self.dropped
            + self.missing
            + self.skipped
            + self.not_stored
    }

    pub(crate) fn count(&mut self, status: &OutcomeStatus) {
        let counter = match status {
            OutcomeStatus::Stored { .. } => &mut self.stored,
            OutcomeStatus::StoredWithWarning { .. } => &mut self.warnings,
            OutcomeStatus::Failed { .. } => &mut self.failed,
            OutcomeStatus::Dropped { .. } => &mut self.dropped,
            OutcomeStatus::Missing { .. } => &mut self.missing,
            OutcomeStatus::Skipped { .. } => &mut self.skipped,
            OutcomeStatus::NotStored { .. } => &mut self.not_stored,
        };
        *counter += 1;
    }
}

/// A progress snapshot, published after every outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Outcomes so far.
    pub counts: OutcomeCounts,
    /// Bytes stored so far.
    pub bytes_done: u64,
    /// What the source expects to deliver, once known.
    pub expected: Option<Expected>,
}

impl Progress {
    /// Instances with an outcome so far (the "done" of "done / expected").
    pub fn instances_done(&self) -> u64 {
        self.counts.total() - self.counts.skipped
    }
}

/// The overall result of a transfer, in ADIT's task status terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferStatus {
    /// Everything retrieved was stored (or dropped on purpose).
    Success,
    /// Something was stored, but not everything: see the outcomes.
    Warning,
    /// The transfer failed: an error stopped it, or nothing could be stored.
    Failure,
    /// The transfer was cancelled.
    Cancelled,
}

/// Everything a transfer did.
#[derive(Debug)]
pub struct TransferReport {
    /// One entry per instance or skipped item, in the order the outcomes became known.
    pub outcomes: Vec<InstanceOutcome>,
    /// Outcomes by kind.
    pub counts: OutcomeCounts,
    /// Bytes stored.
    pub bytes: u64,
    /// What the source expected to deliver, if it said.
    pub expected: Option<Expected>,
    /// Wall-clock time of the transfer.
    pub duration: Duration,
    /// Whether the transfer was cancelled through its token.
    pub cancelled: bool,
    /// The error that stopped the transfer early: the source failed mid-way, or the sink broke.
    pub error: Option<Error>,
    /// The error of [`crate::sink::Sink::finish`], if it failed.
    pub finish_error: Option<Error>,
}

impl TransferReport {
    /// The overall status.
    ///
    /// Cancelled wins; then any error, or failures with nothing stored, make a Failure;
    /// failed, missing or unstored instances, sink warnings, skipped files, or a transfer that
    /// found nothing at all make a Warning. Instances dropped by a transform are intended and
    /// count as success.
    pub fn status(&self) -> TransferStatus {
        let c = &self.counts;
        let problems = c.failed + c.missing + c.not_stored;
        if self.cancelled {
            TransferStatus::Cancelled
        } else if self.error.is_some()
            || self.finish_error.is_some()
            || (problems > 0 && c.transferred() == 0)
        {
            TransferStatus::Failure
        } else if problems > 0 || c.warnings > 0 || c.skipped > 0 || c.total() == 0 {
            TransferStatus::Warning
        } else {
            TransferStatus::Success
        }
    }

    /// Whether a later retry may succeed: the stopping error is retriable, or the source
    /// reported instances missing.
    pub fn is_retriable(&self) -> bool {
        self.error.as_ref().is_some_and(Error::is_retriable)
            || self.finish_error.as_ref().is_some_and(Error::is_retriable)
            || (self.counts.missing > 0 && !self.cancelled)
    }

    /// Outcomes that need attention: failed, missing and unstored instances.
    pub fn problems(&self) -> impl Iterator<Item = &InstanceOutcome> + '_ {
        self.outcomes.iter().filter(|o| {
            matches!(
                o.status,
                OutcomeStatus::Failed { .. }
                    | OutcomeStatus::Missing { .. }
                    | OutcomeStatus::NotStored { .. }
            )
        })
    }

    /// A one-line summary for a task message, e.g.
    /// `12 stored, 1 failed, 2 dropped (2.3 MB in 1.4 s)`.
    pub fn summary(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TransferReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        let parts = [
            (c.stored, "stored"),
            (c.warnings, "stored with warnings"),
            (c.failed, "failed"),
            (c.dropped, "dropped"),
            (c.missing, "missing"),
            (c.skipped, "skipped"),
            (c.not_stored, "not stored"),
        ];
        let mut first = true;
        for (n, label) in parts.into_iter().filter(|(n, _)| *n > 0) {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{n} {label}")?;
            first = false;
        }
        if first {
            f.write_str("no instances")?;
        }
        write!(
            f,
            " ({:.1} MB in {:.1} s)",
            self.bytes as f64 / 1e6,
            self.duration.as_secs_f64()
        )?;
        if self.cancelled {
            f.write_str("; cancelled")?;
        }
        if let Some(e) = &self.error {
            write!(f, "; stopped: {e}")?;
        }
        if let Some(e) = &self.finish_error {
            write!(f, "; finishing failed: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[OutcomeStatus]) -> TransferReport {
        let mut counts = OutcomeCounts::default();
        for s in statuses {
            counts.count(s);
        }
        TransferReport {
            outcomes: statuses
                .iter()
                .map(|s| InstanceOutcome {
                    sop_instance_uid: Some("1.2".into()),
                    destination_uid: None,
                    status: s.clone(),
                })
                .collect(),
            counts,
            bytes: 2_500_000,
            expected: None,
            duration: Duration::from_millis(1500),
            cancelled: false,
            error: None,
            finish_error: None,
        }
    }

    #[test]
    fn status_follows_the_outcome_mix() {
        let stored = OutcomeStatus::Stored { bytes: 1 };
        let failed = OutcomeStatus::Failed { reason: "x".into() };
        let dropped = OutcomeStatus::Dropped {
            transform: "t".into(),
            reason: "r".into(),
        };
        assert_eq!(
            report(std::slice::from_ref(&stored)).status(),
            TransferStatus::Success
        );
        assert_eq!(
            report(&[stored.clone(), dropped.clone()]).status(),
            TransferStatus::Success
        );
        assert_eq!(report(&[dropped]).status(), TransferStatus::Success);
        assert_eq!(
            report(&[stored.clone(), failed.clone()]).status(),
            TransferStatus::Warning
        );
        assert_eq!(
            report(std::slice::from_ref(&failed)).status(),
            TransferStatus::Failure
        );
        assert_eq!(report(&[]).status(), TransferStatus::Warning);
        let mut with_error = report(std::slice::from_ref(&stored));
        with_error.error = Some(Error::Cancelled);
        assert_eq!(with_error.status(), TransferStatus::Failure);
        let mut cancelled = report(&[stored]);
        cancelled.cancelled = true;
        assert_eq!(cancelled.status(), TransferStatus::Cancelled);
    }

    #[test]
    fn summary_lists_nonzero_counts() {
        let r = report(&[
            OutcomeStatus::Stored { bytes: 1 },
            OutcomeStatus::Stored { bytes: 1 },
            OutcomeStatus::Missing {
                reason: "gone".into(),
            },
        ]);
        assert_eq!(r.summary(), "2 stored, 1 missing (2.5 MB in 1.5 s)");
        assert_eq!(r.problems().count(), 1);
        assert!(r.is_retriable());
        assert_eq!(report(&[]).summary(), "no instances (2.5 MB in 1.5 s)");
    }
}
