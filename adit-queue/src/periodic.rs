//! Periodic tasks: a job enqueued for every slot of a cron expression.
//!
//! Every worker that has a periodic task registered looks for due slots; the first to record
//! a slot in `adit_queue_periodic` (primary key `(task, slot)`) enqueues its job, the others
//! see the row and skip it. A worker looks at the slots after its own start only, so a
//! cluster that was down does not fire a backlog of missed slots.

use std::str::FromStr;

use adit_core::queue::{JobSpec, RetryPolicy};
use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

use crate::error::{Error, Result};

/// A task enqueued on a cron schedule.
#[derive(Debug, Clone)]
pub struct PeriodicTask {
    cron: Cron,
    expression: String,
    /// The job enqueued for each slot; its `run_after` is set to the slot.
    pub spec: JobSpec,
}

impl PeriodicTask {
    /// `spec` on the schedule `cron`: five fields (`0 7 * * *`, minute resolution, in UTC) or
    /// six with leading seconds (`*/10 * * * * *`).
    pub fn new(cron: &str, spec: JobSpec) -> Result<Self> {
        let parsed = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(cron)
            .map_err(|e| Error::InvalidSchedule {
                expression: cron.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(PeriodicTask {
            cron: parsed,
            expression: cron.to_owned(),
            spec,
        })
    }

    /// A periodic task of `task` on `queue` with empty arguments and no retries.
    pub fn simple(cron: &str, task: &str, queue: &str) -> Result<Self> {
        let spec = JobSpec::new(task, queue, serde_json::json!({})).with_retry(RetryPolicy::NONE);
        Self::new(cron, spec)
    }

    /// The cron expression as given.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The slots after `after` up to and including `until`, oldest first (at most `limit`).
    pub fn slots_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut slots = Vec::new();
        let mut from = after;
        while slots.len() < limit {
            match self.cron.find_next_occurrence(&from, false) {
                Ok(next) if next <= until => {
                    slots.push(next);
                    from = next;
                }
                _ => break,
            }
        }
        slots
    }

    /// The job for `slot`: this task's spec delayed to the slot, with the slot in its
    /// arguments (`"slot"`, RFC 3339) when the arguments are a JSON object.
    pub fn spec_for(&self, slot: DateTime<Utc>) -> JobSpec {
        let mut spec = self.spec.clone().with_run_after(slot);
        if let Some(args) = spec.args.as_object_mut() {
            args.insert(
                "slot".to_owned(),
                serde_json::Value::String(slot.to_rfc3339()),
            );
        }
        spec
    }
}

impl FromStr for PeriodicTask {
    type Err = Error;

    /// Parses `CRON TASK QUEUE`, the cron part being 5 or 6 fields: `0 7 * * * check_disk default`.
    fn from_str(text: &str) -> Result<Self> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        match fields.len() {
            7 | 8 => {
                let (cron, rest) = fields.split_at(fields.len() - 2);
                Self::simple(&cron.join(" "), rest[0], rest[1])
            }
            _ => Err(Error::InvalidSchedule {
                expression: text.to_owned(),
                reason: "expected `CRON TASK QUEUE`".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn daily_slots_and_spec() {
        let p: PeriodicTask = "0 7 * * * check_disk_space default".parse().unwrap();
        let from = Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap();
        let slots = p.slots_between(from, until, 10);
        assert_eq!(slots.len(), 3);
        assert_eq!(
            slots[0],
            Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap()
        );
        let spec = p.spec_for(slots[0]);
        assert_eq!(spec.task, "check_disk_space");
        assert_eq!(spec.run_after, Some(slots[0]));
        assert_eq!(spec.args["slot"], "2026-11-23T07:00:00+00:00");
    }

    #[test]
    fn bad_cron_is_rejected() {
        assert!(PeriodicTask::simple("61 * * * *", "t", "q").is_err());
        assert!("0 7 * * *".parse::<PeriodicTask>().is_err());
    }
}
