//! Time windows: the hours in which a worker claims jobs of a queue.
//!
//! A window is written `[DAYS ]HH:MM-HH:MM`, e.g. `Mon-Fri 22:00-06:00` or `07:00-19:00`.
//! `DAYS` is a comma list of days or day ranges (`Mon,Wed`, `Sat-Sun`, `Fri-Mon`); without
//! it every day counts. A window whose end is not after its start runs past midnight and
//! belongs to the day it starts on, so `Mon-Fri 22:00-06:00` includes Saturday 05:00 but not
//! Monday 05:00. Times are read in the worker's UTC offset ([`crate::WorkerConfig::utc_offset`]).
//! A queue with no windows is always open.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, NaiveTime, Utc, Weekday};

use crate::error::{Error, Result};

/// One daily window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
}

impl TimeWindow {
    /// A window from `start` to `end` on `days` (empty: every day).
    pub fn new(days: &[Weekday], start: NaiveTime, end: NaiveTime) -> Self {
        let mut mask = [days.is_empty(); 7];
        for day in days {
            mask[day.num_days_from_monday() as usize] = true;
        }
        TimeWindow {
            days: mask,
            start,
            end,
        }
    }

    /// Whether `at` (read in `offset`) lies inside the window.
    pub fn contains(&self, at: DateTime<Utc>, offset: FixedOffset) -> bool {
        let local = at.with_timezone(&offset);
        let time = local.time();
        let today = local.weekday();
        let on = |day: Weekday| self.days[day.num_days_from_monday() as usize];
        if self.start < self.end {
            on(today) && time >= self.start && time < self.end
        } else {
            (on(today) && time >= self.start) || (on(today.pred()) && time < self.end)
        }
    }
}

impl FromStr for TimeWindow {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidSchedule {
            expression: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parts = text.split_whitespace();
        let (days_part, hours_part) = match (parts.next(), parts.next(), parts.next()) {
            (Some(hours), None, None) => (None, hours),
            (Some(days), Some(hours), None) => (Some(days), hours),
            _ => return Err(invalid("expected `[DAYS ]HH:MM-HH:MM`")),
        };
        let (start, end) = hours_part
            .split_once('-')
            .ok_or_else(|| invalid("hours must be `HH:MM-HH:MM`"))?;
        let time = |t: &str| {
            NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| invalid("times must be `HH:MM`"))
        };
        let (start, end) = (time(start)?, time(end)?);
        let mut days = Vec::new();
        if let Some(days_part) = days_part {
            for item in days_part.split(',') {
                let day =
                    |d: &str| Weekday::from_str(d).map_err(|_| invalid("days are `Mon`..`Sun`"));
                match item.split_once('-') {
                    Some((from, to)) => {
                        let (mut d, to) = (day(from)?, day(to)?);
                        days.push(d);
                        while d != to {
                            d = d.succ();
                            days.push(d);
                        }
                    }
                    None => days.push(day(item)?),
                }
            }
        }
        Ok(TimeWindow::new(&days, start, end))
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.days.iter().any(|on| !on) {
            let names: Vec<String> = (0..7u8)
                .filter(|&i| self.days[usize::from(i)])
                .filter_map(|i| Weekday::try_from(i).ok())
                .map(|d| d.to_string())
                .collect();
            write!(f, "{} ", names.join(","))?;
        }
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// Whether a queue with `windows` is open at `at`: no windows, or any window contains it.
pub fn is_open(windows: &[TimeWindow], at: DateTime<Utc>, offset: FixedOffset) -> bool {
    windows.is_empty() || windows.iter().any(|w| w.contains(at, offset))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        // 2026-11-23 is a Monday.
        Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
            .unwrap()
    }

    #[test]
    fn night_window_on_weekdays_wraps_midnight() {
        let w: TimeWindow = "Mon-Fri 22:00-06:00".parse().unwrap();
        let utc = FixedOffset::east_opt(0).unwrap();
        assert!(w.contains(at(23, 22, 0), utc)); // Monday 22:00
        assert!(w.contains(at(24, 5, 59), utc)); // Tuesday 05:59, from Monday's window
        assert!(!w.contains(at(24, 6, 0), utc));
        assert!(!w.contains(at(24, 12, 0), utc));
        assert!(!w.contains(at(29, 5, 0), utc)); // Sunday 05:00: Saturday has none
        assert!(w.contains(at(28, 5, 0), utc)); // Saturday 05:00, from Friday's window
        assert!(!w.contains(at(23, 5, 0), utc)); // Monday 05:00: Sunday has none
        assert_eq!(w.to_string(), "Mon,Tue,Wed,Thu,Fri 22:00-06:00");
    }

    #[test]
    fn day_window_in_an_offset() {
        let w: TimeWindow = "07:00-19:00".parse().unwrap();
        let cet = FixedOffset::east_opt(3600).unwrap();
        assert!(w.contains(at(23, 6, 30), cet)); // 07:30 local
        assert!(!w.contains(at(23, 18, 30), cet)); // 19:30 local
        assert!(is_open(&[], at(23, 3, 0), cet));
    }

    #[test]
    fn bad_windows_are_rejected() {
        for bad in ["", "22:00", "Mon-Fri 22-06", "Xyz 01:00-02:00", "a b c"] {
            assert!(bad.parse::<TimeWindow>().is_err(), "{bad}");
        }
    }
}
