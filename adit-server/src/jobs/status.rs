//! Job and task statuses (ADIT's two-letter codes) and the job status derived from its tasks.

use std::fmt;

/// The status of a job (ADIT `DicomJob.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// `UV`: created, waiting for a staff member to verify it.
    Unverified,
    /// `PE`: tasks are queued.
    Pending,
    /// `IP`: at least one task is running.
    InProgress,
    /// `CI`: cancel requested; running tasks are being stopped.
    Canceling,
    /// `CA`: canceled.
    Canceled,
    /// `SU`: every task succeeded.
    Success,
    /// `WA`: finished with warnings.
    Warning,
    /// `FA`: at least one task failed.
    Failure,
}

/// The status of a task (ADIT `DicomTask.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// `PE`: queued.
    Pending,
    /// `IP`: a worker runs it.
    InProgress,
    /// `CA`: canceled.
    Canceled,
    /// `SU`: succeeded.
    Success,
    /// `WA`: finished with warnings.
    Warning,
    /// `FA`: failed.
    Failure,
}

impl JobStatus {
    /// Every job status.
    pub const ALL: [JobStatus; 8] = [
        JobStatus::Unverified,
        JobStatus::Pending,
        JobStatus::InProgress,
        JobStatus::Canceling,
        JobStatus::Canceled,
        JobStatus::Success,
        JobStatus::Warning,
        JobStatus::Failure,
    ];

    /// ADIT's code, as stored in the database (`UV`, `PE`, ...).
    pub fn code(self) -> &'static str {
        match self {
            JobStatus::Unverified => "UV",
            JobStatus::Pending => "PE",
            JobStatus::InProgress => "IP",
            JobStatus::Canceling => "CI",
            JobStatus::Canceled => "CA",
            JobStatus::Success => "SU",
            JobStatus::Warning => "WA",
            JobStatus::Failure => "FA",
        }
    }

    /// Parses a code written by [`JobStatus::code`].
    pub fn from_code(code: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the job is over (canceled, success, warning, failure).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Canceled | JobStatus::Success | JobStatus::Warning | JobStatus::Failure
        )
    }
}

impl TaskStatus {
    /// Every task status.
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Pending,
        TaskStatus::InProgress,
        TaskStatus::Canceled,
        TaskStatus::Success,
        TaskStatus::Warning,
        TaskStatus::Failure,
    ];

    /// ADIT's code, as stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            TaskStatus::Pending => "PE",
            TaskStatus::InProgress => "IP",
            TaskStatus::Canceled => "CA",
            TaskStatus::Success => "SU",
            TaskStatus::Warning => "WA",
            TaskStatus::Failure => "FA",
        }
    }

    /// Parses a code written by [`TaskStatus::code`].
    pub fn from_code(code: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the task is over (canceled, success, warning, failure).
    pub fn is_final(self) -> bool {
        !matches!(self, TaskStatus::Pending | TaskStatus::InProgress)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobStatus::Unverified => "Unverified",
            JobStatus::Pending => "Pending",
            JobStatus::InProgress => "In Progress",
            JobStatus::Canceling => "Canceling",
            JobStatus::Canceled => "Canceled",
            JobStatus::Success => "Success",
            JobStatus::Warning => "Warning",
            JobStatus::Failure => "Failure",
        })
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskStatus::Pending => "Pending",
            TaskStatus::InProgress => "In Progress",
            TaskStatus::Canceled => "Canceled",
            TaskStatus::Success => "Success",
            TaskStatus::Warning => "Warning",
            TaskStatus::Failure => "Failure",
        })
    }
}

/// How many tasks of a job are in each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskCounts {
    /// `PE` tasks.
    pub pending: u64,
    /// `IP` tasks.
    pub in_progress: u64,
    /// `CA` tasks.
    pub canceled: u64,
    /// `SU` tasks.
    pub success: u64,
    /// `WA` tasks.
    pub warning: u64,
    /// `FA` tasks.
    pub failure: u64,
}

impl TaskCounts {
    /// Counts `statuses`.
    pub fn of(statuses: impl IntoIterator<Item = TaskStatus>) -> TaskCounts {
        let mut counts = TaskCounts::default();
        for status in statuses {
            counts.add(status, 1);
        }
        counts
    }

    /// Adds `n` tasks of `status`.
    pub fn add(&mut self, status: TaskStatus, n: u64) {
        let slot = match status {
            TaskStatus::Pending => &mut self.pending,
            TaskStatus::InProgress => &mut self.in_progress,
            TaskStatus::Canceled => &mut self.canceled,
            TaskStatus::Success => &mut self.success,
            TaskStatus::Warning => &mut self.warning,
            TaskStatus::Failure => &mut self.failure,
        };
        *slot += n;
    }

    /// All tasks.
    pub fn total(&self) -> u64 {
        self.pending + self.in_progress + self.canceled + self.success + self.warning + self.failure
    }
}

/// A job status with the message that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The new status.
    pub status: JobStatus,
    /// The job message to store; `None` keeps the current one (the job is still running).
    pub message: Option<&'static str>,
}

/// The job status that follows from its tasks (ADIT's `DicomJob.post_process`), given the
/// job's `current` status. First match wins:
///
/// 1. no tasks: Success, "No tasks to process.";
/// 2. a pending task: Pending (Canceling stays Canceling);
/// 3. a running task: In Progress (Canceling stays Canceling);
/// 4. the job was Canceling: Canceled, "Job was canceled.";
/// 5. the outcome mix: any failure → Failure ("All tasks failed." / "Some tasks failed."),
///    else any warning → Warning ("All tasks have warnings." / "Some tasks have warnings."),
///    else any success → Success ("All tasks succeeded." / "Some tasks were canceled."),
///    else Canceled, "All tasks were canceled.".
///
/// Unlike ADIT the function is total: mixes ADIT's table leaves open (failure with canceled
/// tasks, warning with canceled tasks) get the status of their worst outcome. An Unverified job
/// stays Unverified: its tasks are not queued yet.
pub fn derive_job_status(current: JobStatus, tasks: &TaskCounts) -> Derived {
    let keep = |status| Derived {
        status,
        message: None,
    };
    let done = |status, message| Derived {
        status,
        message: Some(message),
    };
    if current == JobStatus::Unverified {
        return keep(JobStatus::Unverified);
    }
    if tasks.total() == 0 {
        return done(JobStatus::Success, "No tasks to process.");
    }
    let canceling = current == JobStatus::Canceling;
    if tasks.pending > 0 || tasks.in_progress > 0 {
        if canceling {
            return keep(JobStatus::Canceling);
        }
        if tasks.pending > 0 && tasks.in_progress == 0 {
            return keep(JobStatus::Pending);
        }
        return keep(JobStatus::InProgress);
    }
    if canceling {
        return done(JobStatus::Canceled, "Job was canceled.");
    }
    let total = tasks.total();
    if tasks.failure > 0 {
        return if tasks.failure == total {
            done(JobStatus::Failure, "All tasks failed.")
        } else {
            done(JobStatus::Failure, "Some tasks failed.")
        };
    }
    if tasks.warning > 0 {
        return if tasks.warning == total {
            done(JobStatus::Warning, "All tasks have warnings.")
        } else {
            done(JobStatus::Warning, "Some tasks have warnings.")
        };
    }
    if tasks.success > 0 {
        return if tasks.success == total {
            done(JobStatus::Success, "All tasks succeeded.")
        } else {
            done(JobStatus::Success, "Some tasks were canceled.")
        };
    }
    done(JobStatus::Canceled, "All tasks were canceled.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pe: u64, ip: u64, ca: u64, su: u64, wa: u64, fa: u64) -> TaskCounts {
        TaskCounts {
            pending: pe,
            in_progress: ip,
            canceled: ca,
            success: su,
            warning: wa,
            failure: fa,
        }
    }

    fn derive(current: JobStatus, tasks: TaskCounts) -> (JobStatus, Option<&'static str>) {
        let d = derive_job_status(current, &tasks);
        (d.status, d.message)
    }

    #[test]
    fn codes_round_trip() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::from_code(s.code()), Some(s));
        }
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(JobStatus::from_code("XX"), None);
        assert_eq!(TaskStatus::from_code("UV"), None);
    }

    #[test]
    fn no_tasks_is_success() {
        let (s, m) = derive(JobStatus::Pending, TaskCounts::default());
        assert_eq!((s, m), (JobStatus::Success, Some("No tasks to process.")));
    }

    #[test]
    fn pending_and_running_tasks_keep_the_job_open() {
        use JobStatus::*;
        assert_eq!(derive(InProgress, counts(2, 0, 0, 1, 0, 0)).0, Pending);
        assert_eq!(derive(Pending, counts(1, 1, 0, 0, 0, 0)).0, InProgress);
        assert_eq!(derive(Pending, counts(0, 1, 0, 3, 0, 1)).0, InProgress);
        // Canceling waits for its running tasks, and says nothing yet.
        assert_eq!(
            derive(Canceling, counts(0, 1, 2, 0, 0, 0)),
            (Canceling, None)
        );
        assert_eq!(
            derive(Canceling, counts(1, 0, 0, 0, 0, 0)),
            (Canceling, None)
        );
    }

    #[test]
    fn canceling_ends_canceled_whatever_the_tasks_did() {
        let (s, _) = derive(JobStatus::Canceling, counts(0, 0, 1, 2, 0, 0));
        assert_eq!(s, JobStatus::Canceled);
    }

    #[test]
    fn outcome_mixes_follow_adit() {
        use JobStatus::*;
        let table = [
            (counts(0, 0, 0, 3, 0, 0), Success, "All tasks succeeded."),
            (
                counts(0, 0, 1, 3, 0, 0),
                Success,
                "Some tasks were canceled.",
            ),
            (counts(0, 0, 0, 2, 0, 1), Failure, "Some tasks failed."),
            (counts(0, 0, 0, 0, 2, 1), Failure, "Some tasks failed."),
            (
                counts(0, 0, 0, 2, 1, 0),
                Warning,
                "Some tasks have warnings.",
            ),
            (
                counts(0, 0, 0, 0, 2, 0),
                Warning,
                "All tasks have warnings.",
            ),
            (counts(0, 0, 0, 0, 0, 2), Failure, "All tasks failed."),
            (
                counts(0, 0, 2, 0, 0, 0),
                Canceled,
                "All tasks were canceled.",
            ),
            // Mixes ADIT leaves undefined: the worst outcome wins.
            (counts(0, 0, 1, 0, 0, 1), Failure, "Some tasks failed."),
            (
                counts(0, 0, 1, 0, 1, 0),
                Warning,
                "Some tasks have warnings.",
            ),
        ];
        for (tasks, status, message) in table {
            assert_eq!(
                derive(InProgress, tasks),
                (status, Some(message)),
                "{tasks:?}"
            );
        }
    }

    #[test]
    fn unverified_jobs_stay_unverified() {
        assert_eq!(
            derive(JobStatus::Unverified, counts(3, 0, 0, 0, 0, 0)),
            (JobStatus::Unverified, None)
        );
    }

    #[test]
    fn finality() {
        assert!(JobStatus::Canceled.is_final());
        assert!(!JobStatus::Canceling.is_final());
        assert!(TaskStatus::Warning.is_final());
        assert!(!TaskStatus::InProgress.is_final());
    }
}
