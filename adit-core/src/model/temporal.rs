//! DICOM date (DA), time (TM) and date-time (DT) strings: syntax checks and the comparable
//! forms that range matching uses.

/// Whether `s` is a DA value `YYYYMMDD` with a plausible month and day.
pub(crate) fn is_date(s: &str) -> bool {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let month = &s[4..6];
    let day = &s[6..8];
    ("01"..="12").contains(&month) && ("01"..="31").contains(&day)
}

/// Whether `s` is a TM value `HH[MM[SS[.F{1,6}]]]`.
pub(crate) fn is_time(s: &str) -> bool {
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    if !matches!(whole.len(), 2 | 4 | 6) || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if let Some(f) = fraction
        && (whole.len() != 6
            || f.is_empty()
            || f.len() > 6
            || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let field_ok = |i: usize, max: &str| whole.get(i..i + 2).is_none_or(|v| v <= max);
    field_ok(0, "23") && field_ok(2, "59") && field_ok(4, "60")
}

/// Whether `s` is a DT value `YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]`.
pub(crate) fn is_date_time(s: &str) -> bool {
    let (value, offset) = split_offset(s);
    if let Some(offset) = offset
        && !is_offset(offset)
    {
        return false;
    }
    let (whole, fraction) = match value.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (value, None),
    };
    if !matches!(whole.len(), 4 | 6 | 8 | 10 | 12 | 14)
        || !whole.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    if let Some(f) = fraction
        && (whole.len() != 14
            || f.is_empty()
            || f.len() > 6
            || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let field_ok = |i: usize, min: &str, max: &str| {
        whole.get(i..i + 2).is_none_or(|v| (min..=max).contains(&v))
    };
    field_ok(4, "01", "12")
        && field_ok(6, "01", "31")
        && field_ok(8, "00", "23")
        && field_ok(10, "00", "59")
        && field_ok(12, "00", "60")
}

/// A DA value in comparable form (`YYYYMMDD`); legacy `YYYY.MM.DD` is accepted from results.
pub(crate) fn date_key(s: &str) -> Option<String> {
    let s = s.trim();
    let compact: String = if s.len() == 10 && s.as_bytes().get(4) == Some(&b'.') {
        s.chars().filter(|c| *c != '.').collect()
    } else {
        s.to_owned()
    };
    is_date(&compact).then_some(compact)
}

/// A TM value in comparable form `HHMMSS.ffffff`, missing parts filled with the lowest
/// (`upper == false`) or highest (`upper == true`) value, so `12` spans 12:00 to 12:59:59.999999.
pub(crate) fn time_key(s: &str, upper: bool) -> Option<String> {
    // Results sometimes carry the ACR-NEMA form HH:MM:SS.
    let s: String = s.trim().chars().filter(|c| *c != ':').collect();
    if !is_time(&s) {
        return None;
    }
    let (whole, fraction) = s.split_once('.').unwrap_or((&s, ""));
    let fill = if upper { "5959" } else { "0000" };
    let mut key = String::with_capacity(13);
    key.push_str(whole);
    key.push_str(&fill[..6 - whole.len()]);
    key.push('.');
    key.push_str(fraction);
    let digit = if upper { '9' } else { '0' };
    while key.len() < 13 {
        key.push(digit);
    }
    Some(key)
}

/// A DT value in comparable form `YYYYMMDDHHMMSS.ffffff` (time-zone offset ignored), missing
/// parts filled like [`time_key`].
pub(crate) fn date_time_key(s: &str, upper: bool) -> Option<String> {
    let s = s.trim();
    if !is_date_time(s) {
        return None;
    }
    let (value, _) = split_offset(s);
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let fill = if upper { "1231235959" } else { "0101000000" };
    let mut key = String::with_capacity(21);
    key.push_str(whole);
    key.push_str(&fill[whole.len() - 4..]);
    key.push('.');
    key.push_str(fraction);
    let digit = if upper { '9' } else { '0' };
    while key.len() < 21 {
        key.push(digit);
    }
    Some(key)
}

/// Splits a DT range `from-to` at the dash that leaves a valid (or empty) DT on both sides.
/// A DT with a negative time-zone offset (`20200101120000-0500`) is not a range.
pub(crate) fn split_date_time_range(s: &str) -> Option<(&str, &str)> {
    if is_date_time(s) {
        return None;
    }
    s.match_indices('-')
        .map(|(i, _)| (&s[..i], &s[i + 1..]))
        .find(|(from, to)| {
            !(from.is_empty() && to.is_empty())
                && (from.is_empty() || is_date_time(from))
                && (to.is_empty() || is_date_time(to))
        })
}

/// Splits a trailing `&ZZXX` offset off a DT value.
fn split_offset(s: &str) -> (&str, Option<&str>) {
    match s.rfind(['+', '-']) {
        Some(i) if i >= 4 => (&s[..i], Some(&s[i..])),
        _ => (s, None),
    }
}

/// `+ZZXX` / `-ZZXX`, with offsets from -12:00 to +14:00.
fn is_offset(s: &str) -> bool {
    let digits = &s[1..];
    digits.len() == 4
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits[..2] <= *"14"
        && digits[2..] < *"60"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_date_syntax() {
        assert!(is_date("20240229"));
        assert!(!is_date("2024022"));
        assert!(!is_date("20241301"));
        assert!(!is_date("20240100"));
        assert!(!is_date("2024-02-29"));
    }

    #[test]
    fn checks_time_syntax() {
        for ok in ["12", "1230", "123045", "123045.1", "235960.123456"] {
            assert!(is_time(ok), "{ok}");
        }
        for bad in [
            "1",
            "123",
            "2400",
            "1260",
            "1230.5",
            "123045.1234567",
            "12:30",
        ] {
            assert!(!is_time(bad), "{bad}");
        }
    }

    #[test]
    fn checks_date_time_syntax_with_offsets() {
        for ok in [
            "2020",
            "202001",
            "20200101120000.5",
            "20200101120000-0500",
            "2020+0100",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "202",
            "20201301",
            "20200101120000-2500",
            "20200101-20201231",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn fills_partial_times_to_span_their_precision() {
        assert_eq!(time_key("12", false).unwrap(), "120000.000000");
        assert_eq!(time_key("12", true).unwrap(), "125959.999999");
        assert_eq!(time_key("123045.5", false).unwrap(), "123045.500000");
        assert_eq!(time_key("12:30:45", false).unwrap(), "123045.000000");
        assert_eq!(
            date_time_key("2020", true).unwrap(),
            "20201231235959.999999"
        );
        assert_eq!(
            date_time_key("20200315-0500", false).unwrap(),
            "20200315000000.000000"
        );
        assert_eq!(date_key("2019.06.04").unwrap(), "20190604");
    }

    #[test]
    fn tells_date_time_ranges_from_offsets() {
        assert_eq!(
            split_date_time_range("20200101-20201231"),
            Some(("20200101", "20201231"))
        );
        assert_eq!(split_date_time_range("2020-"), Some(("2020", "")));
        assert_eq!(split_date_time_range("-2021"), Some(("", "2021")));
        assert_eq!(split_date_time_range("20200101120000-0500"), None);
        assert_eq!(
            split_date_time_range("20200101120000-0500-20200102120000-0500"),
            Some(("20200101120000-0500", "20200102120000-0500"))
        );
        assert_eq!(split_date_time_range("-"), None);
    }
}
