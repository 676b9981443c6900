//! C-MOVE correlation without I/O: which waiting move an inbound instance belongs to
//! ([`Expectation::matches`]) and when a move is complete ([`MoveTracker`]).
//!
//! Order of evidence, strongest first: the Move Originator AE title and Message ID of the
//! C-STORE-RQ (when the PACS sends them they must match, and decide, unless the data set is
//! of another study); membership in the
//! set of SOP Instance UIDs an image-level C-FIND announced; Study (and Series) Instance UID.

use std::collections::BTreeSet;

use super::receiver::ReceivedInstance;
use crate::message::SubOperations;

/// What one C-MOVE (or a run of C-MOVEs sharing a Message ID) is to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// Our calling AE title in the C-MOVE-RQ (the Move Originator AE the PACS echoes).
    pub originator_ae: String,
    /// The Message ID of the C-MOVE-RQ.
    pub message_id: u16,
    /// The study moved.
    pub study_instance_uid: String,
    /// The series moved; empty for the whole study.
    pub series_instance_uids: Vec<String>,
    /// The instances a prior image-level C-FIND found, when it ran.
    pub sop_instance_uids: Option<BTreeSet<String>>,
}

/// How an instance matches an [`Expectation`], weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evidence {
    /// Same study (and series, if the move named series).
    Scope,
    /// In the expected set of SOP Instance UIDs.
    ExpectedInstance,
    /// Move Originator AE title and Message ID match.
    Originator,
}

impl Expectation {
    /// How `instance` matches this move, or `None` when it belongs elsewhere.
    pub fn matches(&self, instance: &ReceivedInstance) -> Option<Evidence> {
        if let (Some(ae), Some(id)) = (
            &instance.move_originator_ae,
            instance.move_originator_message_id,
        ) {
            // The PACS says whose move this is: believe it, unless the instance is of another
            // study (another process sharing the spool and our AE title may use the same ID).
            let other_study = instance
                .study_instance_uid
                .as_deref()
                .is_some_and(|s| s != self.study_instance_uid);
            return (ae.trim() == self.originator_ae.trim()
                && id == self.message_id
                && !other_study)
                .then_some(Evidence::Originator);
        }
        if self
            .sop_instance_uids
            .as_ref()
            .is_some_and(|set| set.contains(&instance.sop_instance_uid))
        {
            return Some(Evidence::ExpectedInstance);
        }
        let same_study =
            instance.study_instance_uid.as_deref() == Some(self.study_instance_uid.as_str());
        let in_series = self.series_instance_uids.is_empty()
            || instance
                .series_instance_uid
                .as_ref()
                .is_some_and(|s| self.series_instance_uids.contains(s));
        (same_study && in_series).then_some(Evidence::Scope)
    }
}

/// The result of a finished move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveOutcome {
    /// Distinct instances received.
    pub received: usize,
    /// Expected SOP Instance UIDs that never arrived.
    pub missing: Vec<String>,
    /// Instances the PACS counted as sent (completed + warning) beyond what arrived, when
    /// their UIDs are unknown.
    pub unnamed_missing: u64,
    /// Whether the move ended by the inactivity timeout instead of completeness.
    pub timed_out: bool,
}

/// Tracks one move: what arrived, what the PACS reported, when it is complete.
#[derive(Debug, Clone, Default)]
pub struct MoveTracker {
    expected: Option<BTreeSet<String>>,
    received: BTreeSet<String>,
    /// Sum of completed + warning sub-operations over the final responses.
    reported_sent: Option<u64>,
}

impl MoveTracker {
    /// A tracker for an expected set (`None` when no C-FIND ran).
    pub fn new(expected: Option<BTreeSet<String>>) -> Self {
        Self {
            expected,
            ..Self::default()
        }
    }

    /// Records an arrival; false if this instance already arrived (a resend).
    pub fn on_instance(&mut self, sop_instance_uid: &str) -> bool {
        self.received.insert(sop_instance_uid.to_owned())
    }

    /// Records the final C-MOVE response(s): the PACS is done sending.
    pub fn on_final(&mut self, totals: &SubOperations) {
        self.reported_sent = Some(u64::from(totals.completed) + u64::from(totals.warning));
    }

    /// Whether the PACS has sent its final response.
    pub fn final_seen(&self) -> bool {
        self.reported_sent.is_some()
    }

    /// Complete: the final response came, and either every expected instance arrived or as
    /// many arrived as the PACS says it sent (then the rest failed on its side).
    pub fn is_complete(&self) -> bool {
        let Some(sent) = self.reported_sent else {
            return false;
        };
        let all_expected = self
            .expected
            .as_ref()
            .is_some_and(|e| e.iter().all(|uid| self.received.contains(uid)));
        all_expected || self.received.len() as u64 >= sent
    }

    /// What is missing now.
    pub fn outcome(&self, timed_out: bool) -> MoveOutcome {
        let missing: Vec<String> = self
            .expected
            .as_ref()
            .map(|e| e.difference(&self.received).cloned().collect())
            .unwrap_or_default();
        let unnamed_missing = match (&self.expected, self.reported_sent) {
            (None, Some(sent)) => sent.saturating_sub(self.received.len() as u64),
            _ => 0,
        };
        MoveOutcome {
            received: self.received.len(),
            missing,
            unnamed_missing,
            timed_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn instance(
        uid: &str,
        study: &str,
        series: &str,
        origin: Option<(&str, u16)>,
    ) -> ReceivedInstance {
        ReceivedInstance {
            path: PathBuf::from(format!("{uid}.dcm")),
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: uid.into(),
            study_instance_uid: Some(study.into()),
            series_instance_uid: Some(series.into()),
            transfer_syntax: "1.2.840.10008.1.2.1".into(),
            data_set_len: 10,
            calling_ae: "ORTHANC".into(),
            move_originator_ae: origin.map(|o| o.0.into()),
            move_originator_message_id: origin.map(|o| o.1),
        }
    }

    fn expectation(sops: Option<&[&str]>) -> Expectation {
        Expectation {
            originator_ae: "ADIT".into(),
            message_id: 7,
            study_instance_uid: "1.1".into(),
            series_instance_uids: vec!["1.1.1".into()],
            sop_instance_uids: sops.map(|s| s.iter().map(|u| (*u).to_owned()).collect()),
        }
    }

    #[test]
    fn originator_decides_then_expected_set_then_scope() {
        let e = expectation(Some(&["9.1"]));
        assert_eq!(
            e.matches(&instance("5.5", "1.1", "other", Some(("ADIT", 7)))),
            Some(Evidence::Originator)
        );
        // Same originator, another study: a colliding Message ID of another process.
        assert_eq!(
            e.matches(&instance("5.5", "other", "other", Some(("ADIT", 7)))),
            None
        );
        // Another move's originator: not ours even with our study.
        assert_eq!(
            e.matches(&instance("9.1", "1.1", "1.1.1", Some(("ADIT", 8)))),
            None
        );
        assert_eq!(
            e.matches(&instance("9.1", "1.1", "1.1.1", Some(("OTHER", 7)))),
            None
        );
        assert_eq!(
            e.matches(&instance("9.1", "x", "y", None)),
            Some(Evidence::ExpectedInstance)
        );
        assert_eq!(
            e.matches(&instance("9.2", "1.1", "1.1.1", None)),
            Some(Evidence::Scope)
        );
        assert_eq!(e.matches(&instance("9.2", "1.1", "1.1.2", None)), None);
        assert_eq!(e.matches(&instance("9.2", "1.2", "1.1.1", None)), None);
        assert!(Evidence::Originator > Evidence::ExpectedInstance);
        assert!(Evidence::ExpectedInstance > Evidence::Scope);
    }

    #[test]
    fn complete_when_final_and_all_expected_or_all_sent_arrived() {
        let set: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let mut t = MoveTracker::new(Some(set));
        assert!(t.on_instance("a"));
        assert!(!t.on_instance("a"));
        t.on_instance("b");
        t.on_instance("c");
        // Everything here, but the PACS has not said it is done.
        assert!(!t.is_complete());
        t.on_final(&SubOperations {
            remaining: None,
            completed: 3,
            failed: 0,
            warning: 0,
        });
        assert!(t.is_complete());
        assert_eq!(t.outcome(false).missing, Vec::<String>::new());

        // The PACS sent two of three (one failed on its side): complete, one named missing.
        let set: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let mut t = MoveTracker::new(Some(set));
        t.on_instance("a");
        t.on_final(&SubOperations {
            remaining: None,
            completed: 2,
            failed: 1,
            warning: 0,
        });
        assert!(!t.is_complete(), "one of the two sent is still on its way");
        t.on_instance("c");
        assert!(t.is_complete());
        assert_eq!(t.outcome(false).missing, vec!["b".to_owned()]);

        // No expected set: counts only.
        let mut t = MoveTracker::new(None);
        t.on_instance("x");
        t.on_final(&SubOperations {
            remaining: None,
            completed: 3,
            failed: 0,
            warning: 0,
        });
        assert!(!t.is_complete());
        let o = t.outcome(true);
        assert_eq!((o.received, o.unnamed_missing, o.timed_out), (1, 2, true));
    }
}
