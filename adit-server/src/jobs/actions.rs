//! The user actions on jobs and tasks and when they are allowed (ADIT §2.4): pure checks,
//! applied by [`super::store`].

use std::fmt;

use super::status::{JobStatus, TaskCounts, TaskStatus};

/// Who asks for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The user's id.
    pub user_id: i64,
    /// Staff users may act on every job and have the staff-only actions.
    pub is_staff: bool,
}

impl Actor {
    /// A staff member.
    pub fn staff(user_id: i64) -> Actor {
        Actor {
            user_id,
            is_staff: true,
        }
    }

    /// A user without staff rights.
    pub fn user(user_id: i64) -> Actor {
        Actor {
            user_id,
            is_staff: false,
        }
    }
}

/// An action on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobAction {
    /// Unverified → Pending, tasks queued (staff).
    Verify,
    /// Remove a job none of whose tasks started (owner or staff).
    Delete,
    /// Stop a pending or running job (owner or staff).
    Cancel,
    /// Queue the canceled tasks of a canceled job again (owner or staff).
    Resume,
    /// Queue the failed tasks of a failed job again (owner or staff).
    Retry,
    /// Queue every task of a finished job again (staff).
    Restart,
}

/// An action on one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskAction {
    /// Remove a pending task (owner or staff).
    Delete,
    /// Queue a finished task again (owner or staff).
    Reset,
    /// Stop a running task (staff).
    Kill,
}

impl fmt::Display for JobAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobAction::Verify => "verify",
            JobAction::Delete => "delete",
            JobAction::Cancel => "cancel",
            JobAction::Resume => "resume",
            JobAction::Retry => "retry",
            JobAction::Restart => "restart",
        })
    }
}

impl fmt::Display for TaskAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskAction::Delete => "delete",
            TaskAction::Reset => "reset",
            TaskAction::Kill => "kill",
        })
    }
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The actor may not do this (not the owner, or not staff for a staff-only action).
    #[error("not permitted to {action}")]
    Forbidden {
        /// The action, e.g. `restart job`.
        action: String,
    },
    /// The job or task is in a status where the action makes no sense.
    #[error("cannot {action} a {what} that is {status}")]
    WrongStatus {
        /// The action.
        action: String,
        /// `job` or `task`.
        what: &'static str,
        /// Its current status.
        status: String,
    },
    /// A job can only be deleted before any of its tasks started.
    #[error("cannot delete a job with tasks that already ran")]
    TasksStarted,
}

impl JobAction {
    /// Whether only staff may do it.
    pub fn staff_only(self) -> bool {
        matches!(self, JobAction::Verify | JobAction::Restart)
    }

    /// The job statuses it is allowed in.
    pub fn allowed_in(self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            JobAction::Verify => &[Unverified],
            JobAction::Delete => &[Unverified, Pending],
            JobAction::Cancel => &[Pending, InProgress],
            JobAction::Resume => &[Canceled],
            JobAction::Retry => &[Failure],
            JobAction::Restart => &[Canceled, Success, Warning, Failure],
        }
    }

    /// Checks that `actor` may do this to a job of `owner_id` in `status` with `tasks`.
    pub fn check(
        self,
        actor: Actor,
        owner_id: i64,
        status: JobStatus,
        tasks: &TaskCounts,
    ) -> Result<(), Refusal> {
        let allowed = if self.staff_only() {
            actor.is_staff
        } else {
            actor.is_staff || actor.user_id == owner_id
        };
        if !allowed {
            return Err(Refusal::Forbidden {
                action: format!("{self} job"),
            });
        }
        if !self.allowed_in().contains(&status) {
            return Err(Refusal::WrongStatus {
                action: self.to_string(),
                what: "job",
                status: status.to_string(),
            });
        }
        if self == JobAction::Delete && tasks.pending != tasks.total() {
            return Err(Refusal::TasksStarted);
        }
        Ok(())
    }
}

impl TaskAction {
    /// Whether only staff may do it.
    pub fn staff_only(self) -> bool {
        self == TaskAction::Kill
    }

    /// The task statuses it is allowed in.
    pub fn allowed_in(self) -> &'static [TaskStatus] {
        use TaskStatus::*;
        match self {
            TaskAction::Delete => &[Pending],
            TaskAction::Reset => &[Canceled, Success, Warning, Failure],
            TaskAction::Kill => &[InProgress],
        }
    }

    /// Checks that `actor` may do this to a task in `status` of a job of `owner_id` in
    /// `job_status`. A task of an unverified or canceling job cannot be reset (the job is not
    /// running its tasks).
    pub fn check(
        self,
        actor: Actor,
        owner_id: i64,
        job_status: JobStatus,
        status: TaskStatus,
    ) -> Result<(), Refusal> {
        let allowed = if self.staff_only() {
            actor.is_staff
        } else {
            actor.is_staff || actor.user_id == owner_id
        };
        if !allowed {
            return Err(Refusal::Forbidden {
                action: format!("{self} task"),
            });
        }
        if !self.allowed_in().contains(&status) {
            return Err(Refusal::WrongStatus {
                action: self.to_string(),
                what: "task",
                status: status.to_string(),
            });
        }
        if self == TaskAction::Reset
            && matches!(job_status, JobStatus::Unverified | JobStatus::Canceling)
        {
            return Err(Refusal::WrongStatus {
                action: "reset a task of".into(),
                what: "job",
                status: job_status.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: i64 = 7;

    fn pending(n: u64) -> TaskCounts {
        TaskCounts {
            pending: n,
            ..TaskCounts::default()
        }
    }

    #[test]
    fn job_actions_follow_adits_table() {
        use JobStatus::*;
        let staff = Actor::staff(1);
        let expect = [
            (JobAction::Verify, vec![Unverified]),
            (JobAction::Delete, vec![Unverified, Pending]),
            (JobAction::Cancel, vec![Pending, InProgress]),
            (JobAction::Resume, vec![Canceled]),
            (JobAction::Retry, vec![Failure]),
            (
                JobAction::Restart,
                vec![Canceled, Success, Warning, Failure],
            ),
        ];
        for (action, allowed) in expect {
            for status in JobStatus::ALL {
                let result = action.check(staff, OWNER, status, &pending(2));
                assert_eq!(
                    result.is_ok(),
                    allowed.contains(&status),
                    "{action} in {status}"
                );
            }
        }
    }

    #[test]
    fn owners_but_not_others_and_staff_only_actions() {
        let owner = Actor::user(OWNER);
        let other = Actor::user(OWNER + 1);
        let tasks = pending(1);
        assert!(
            JobAction::Cancel
                .check(owner, OWNER, JobStatus::Pending, &tasks)
                .is_ok()
        );
        assert!(matches!(
            JobAction::Cancel.check(other, OWNER, JobStatus::Pending, &tasks),
            Err(Refusal::Forbidden { .. })
        ));
        assert!(matches!(
            JobAction::Verify.check(owner, OWNER, JobStatus::Unverified, &tasks),
            Err(Refusal::Forbidden { .. })
        ));
        assert!(matches!(
            JobAction::Restart.check(owner, OWNER, JobStatus::Failure, &tasks),
            Err(Refusal::Forbidden { .. })
        ));
        assert!(
            JobAction::Retry
                .check(owner, OWNER, JobStatus::Failure, &tasks)
                .is_ok()
        );
    }

    #[test]
    fn delete_needs_every_task_pending() {
        let mut tasks = pending(2);
        tasks.add(TaskStatus::Success, 1);
        assert_eq!(
            JobAction::Delete.check(Actor::user(OWNER), OWNER, JobStatus::Pending, &tasks),
            Err(Refusal::TasksStarted)
        );
    }

    #[test]
    fn task_actions() {
        use TaskStatus::*;
        let owner = Actor::user(OWNER);
        let staff = Actor::staff(1);
        let ip = JobStatus::InProgress;
        assert!(TaskAction::Delete.check(owner, OWNER, ip, Pending).is_ok());
        assert!(TaskAction::Delete.check(owner, OWNER, ip, Success).is_err());
        for s in [Canceled, Success, Warning, Failure] {
            assert!(TaskAction::Reset.check(owner, OWNER, ip, s).is_ok());
        }
        assert!(
            TaskAction::Reset
                .check(owner, OWNER, ip, InProgress)
                .is_err()
        );
        assert!(
            TaskAction::Reset
                .check(owner, OWNER, JobStatus::Canceling, Failure)
                .is_err()
        );
        assert!(matches!(
            TaskAction::Kill.check(owner, OWNER, ip, InProgress),
            Err(Refusal::Forbidden { .. })
        ));
        assert!(TaskAction::Kill.check(staff, OWNER, ip, InProgress).is_ok());
        assert!(TaskAction::Kill.check(staff, OWNER, ip, Pending).is_err());
    }
}
