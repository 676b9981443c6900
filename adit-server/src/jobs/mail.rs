//! Mail on job completion: [`FinishedMail`], the [`Mailer`] trait, and [`LogMailer`], which
//! writes the mail to the log when no SMTP server is configured (SMTP: [`super::smtp`]).

use super::model::Job;

/// A mail to the owner of a finished job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedMail {
    /// Recipient address (may be empty when the user has none: the mailer decides).
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

impl FinishedMail {
    /// The mail for `job`, which just reached a final status.
    pub fn for_job(job: &Job, to: &str) -> FinishedMail {
        FinishedMail {
            to: to.to_owned(),
            subject: format!("[ADIT] Job {} finished: {}", job.id, job.status),
            body: format!(
                "Your {} job {} finished with status {}.\n{}\n",
                job.kind.as_str().replace('_', " "),
                job.id,
                job.status,
                job.message
            ),
        }
    }
}

/// Sends mails. Implementations must not block for long (they run in the worker).
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Sends (or records) `mail`.
    fn send(&self, mail: &FinishedMail);
}

/// Writes mails to the log instead of sending them (no SMTP configured).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: &FinishedMail) {
        tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.body, "mail (SMTP not configured)");
    }
}
