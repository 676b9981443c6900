//! Shifting DA and DT values by whole days.

use dicom_core::chrono::{Days, NaiveDate};

/// `YYYYMMDD` moved by `days`; `None` if the value is not a plain full date.
pub(super) fn shift_date(value: &str, days: i64) -> Option<String> {
    let value = value.trim();
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(value, "%Y%m%d").ok()?;
    let shifted = if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))?
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))?
    };
    Some(shifted.format("%Y%m%d").to_string())
}

/// A DT value (`YYYYMMDD[HHMMSS[.F]][&ZZXX]`) with its date part moved by `days`; the time and
/// offset stay. `None` if it does not start with a full date.
pub(super) fn shift_datetime(value: &str, days: i64) -> Option<String> {
    let value = value.trim();
    let date = shift_date(value.get(..8)?, days)?;
    Some(format!("{date}{}", &value[8..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_move_across_months_years_and_leap_days() {
        assert_eq!(shift_date("20240228", 1).as_deref(), Some("20240229"));
        assert_eq!(shift_date("20240301", -1).as_deref(), Some("20240229"));
        assert_eq!(shift_date("20231231", 365).as_deref(), Some("20241230"));
        assert_eq!(shift_date("20200101", -365).as_deref(), Some("20190101"));
        assert_eq!(shift_date(" 20200101 ", 0).as_deref(), Some("20200101"));
        for bad in ["", "2020", "2020-01-01", "20201301", "abcdefgh"] {
            assert_eq!(shift_date(bad, 3), None, "{bad}");
        }
    }

    #[test]
    fn datetimes_keep_time_and_offset() {
        assert_eq!(
            shift_datetime("20240228235959.123+0100", 2).as_deref(),
            Some("20240301235959.123+0100")
        );
        assert_eq!(shift_datetime("20240228", -28).as_deref(), Some("20240131"));
        assert_eq!(shift_datetime("2024", 1), None);
    }
}
