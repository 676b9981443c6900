//! Jobs and tasks: selective transfer, batch query and batch transfer, with ADIT's statuses,
//! derived job status, actions and priorities.
//!
//! | module | job |
//! |---|---|
//! | [`status`] | [`JobStatus`], [`TaskStatus`] and [`derive_job_status`] (pure) |
//! | [`actions`] | [`JobAction`], [`TaskAction`] and their preconditions (pure) |
//! | [`kind`] | [`JobKind`] with ADIT's queue priorities |
//! | [`model`] | [`Job`], [`Task`], [`NewJob`], [`NewTask`], batch query rows |
//! | [`list`] | [`JobFilter`]: jobs a page at a time, by status, type and owner |
//! | [`counts`] | [`KindStatusCount`]: how many jobs of each type are in each status |
//! | [`store`] | [`Jobs`]: create (queue jobs in the same transaction), read, actions, derived status |
//! | [`limits`] | batch size limits of non-staff users ([`check_batch_size`]) |
//! | [`runs`] | what a worker records: start, progress, outcome, retry, results |
//! | [`mail`] | [`Mailer`] for job-finished mails, [`LogMailer`] |
//! | [`smtp`] | [`SmtpMailer`]: the mails over SMTP when a server is configured |
//! | [`error`] | [`JobError`] |
//!
//! How the pieces fit, and the rules for cancellation and crash recovery: `docs/jobs.md`.

pub mod actions;
pub mod counts;
pub mod error;
pub mod kind;
pub mod limits;
pub mod list;
pub mod mail;
pub mod model;
pub mod runs;
pub mod smtp;
mod sql;
pub mod status;
pub mod store;

pub use actions::{Actor, JobAction, Refusal, TaskAction};
pub use counts::KindStatusCount;
pub use error::{JobError, JobResult};
pub use kind::JobKind;
pub use limits::{BatchLimits, check_batch_size};
pub use list::JobFilter;
pub use mail::{FinishedMail, LogMailer, Mailer};
pub use model::{BatchQuery, BatchQueryResult, Job, NewJob, NewTask, Task};
pub use runs::{Started, TaskProgress};
pub use smtp::{SmtpError, SmtpMailer};
pub use status::{Derived, JobStatus, TaskCounts, TaskStatus, derive_job_status};
pub use store::Jobs;
