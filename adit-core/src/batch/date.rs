//! Dates in batch files: the formats ADIT accepts, and conversion to DICOM `YYYYMMDD`.
//!
//! ADIT reads every cell as text and parses dates with Django's English
//! `DATE_INPUT_FORMATS` plus `DATETIME_INPUT_FORMATS` (Python `strptime` semantics: one or two
//! digits for month and day, month names in any case, any run of spaces where the format has
//! one). Because ADIT's locale middleware switches to German formats for German browsers,
//! `03.06.2019` and `03.06.19` were accepted there too; they are unambiguous, so they are
//! accepted for everyone here. DICOM's own `20190603` is not accepted, as in ADIT.

use std::fmt;

use serde::{Serialize, Serializer};

/// A calendar date from a batch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SheetDate {
    year: u16,
    month: u8,
    day: u8,
}

impl SheetDate {
    /// A date, if it exists in the (proleptic Gregorian) calendar; years 1 to 9999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }

    /// Parses a date the way ADIT does (see the module docs); `None` for anything else.
    ///
    /// ```
    /// use adit_core::batch::SheetDate;
    ///
    /// let june_3 = SheetDate::new(2019, 6, 3).unwrap();
    /// for text in ["2019-06-03", "6/3/2019", "06/03/19", "Jun 3 2019", "3 June, 2019",
    ///              "2019-06-03 00:00:00", "03.06.2019"] {
    ///     assert_eq!(SheetDate::parse(text), Some(june_3), "{text}");
    /// }
    /// assert_eq!(SheetDate::parse("20190603"), None);
    /// assert_eq!(SheetDate::parse("2019-02-30"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        FORMATS.iter().find_map(|format| parse_with(format, text))
    }

    /// Parses DICOM's `YYYYMMDD` (as found in query results).
    pub fn from_dicom(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = text.get(0..4)?.parse().ok()?;
        let month = text.get(4..6)?.parse().ok()?;
        let day = text.get(6..8)?.parse().ok()?;
        Self::new(year, month, day)
    }

    /// The date as DICOM DA: `YYYYMMDD`.
    pub fn to_dicom(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(&self) -> u8 {
        self.day
    }
}

impl fmt::Display for SheetDate {
    /// ISO 8601: `2019-06-03`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Serialized as `"2019-06-03"`.
impl Serialize for SheetDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Django's `en` DATE_INPUT_FORMATS, then DATETIME_INPUT_FORMATS, then `de`'s two date formats.
const FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%d %b, %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d %B, %Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S.%f",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M:%S.%f",
    "%m/%d/%y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

#[derive(Debug, Default, Clone, Copy)]
struct Fields {
    year: Option<u16>,
    month: Option<u8>,
    day: Option<u8>,
}

/// Matches `text` against one strptime-style format, trying shorter numbers when a longer one
/// leaves the rest unmatched (Python's regex backtracking).
fn parse_with(format: &str, text: &str) -> Option<SheetDate> {
    let tokens: Vec<char> = format.chars().collect();
    let fields = match_tokens(&tokens, text, Fields::default())?;
    SheetDate::new(fields.year?, fields.month?, fields.day?)
}

fn match_tokens(format: &[char], text: &str, fields: Fields) -> Option<Fields> {
    let Some((&first, rest)) = format.split_first() else {
        return text.is_empty().then_some(fields);
    };
    if first == ' ' {
        // strptime turns whitespace in the format into `\s+`.
        let trimmed = text.trim_start();
        if trimmed.len() == text.len() {
            return None;
        }
        return match_tokens(rest, trimmed, fields);
    }
    if first != '%' {
        let mut chars = text.chars();
        return (chars.next()? == first)
            .then(|| match_tokens(rest, chars.as_str(), fields))
            .flatten();
    }
    let (&directive, rest) = rest.split_first()?;
    for (value, len) in candidates(directive, text) {
        let mut next = fields;
        match directive {
            'Y' | 'y' => next.year = Some(u16::try_from(value).ok()?),
            'm' | 'b' | 'B' => next.month = Some(u8::try_from(value).ok()?),
            'd' => next.day = Some(u8::try_from(value).ok()?),
            _ => {}
        }
        if let Some(done) = text.get(len..).and_then(|t| match_tokens(rest, t, next)) {
            return Some(done);
        }
    }
    None
}

/// The ways a directive can match at the start of `text`: (value, bytes consumed), in the
/// order Python's regex alternatives try them.
fn candidates(directive: char, text: &str) -> Vec<(u32, usize)> {
    match directive {
        'Y' => digits(text, 4, 4, 0, 9999),
        'y' => digits(text, 2, 2, 0, 99)
            .into_iter()
            .map(|(y, n)| (if y <= 68 { 2000 + y } else { 1900 + y }, n))
            .collect(),
        'm' => digits(text, 1, 2, 1, 12),
        'd' => {
            let mut found = digits(text, 1, 2, 1, 31);
            // `%d` also matches a space-padded day (" 3").
            if let Some(rest) = text.strip_prefix(' ') {
                found.extend(
                    digits(rest, 1, 1, 1, 9)
                        .into_iter()
                        .map(|(d, n)| (d, n + 1)),
                );
            }
            found
        }
        'H' => digits(text, 1, 2, 0, 23),
        'M' | 'S' => digits(text, 1, 2, 0, 59),
        'f' => (1..=6)
            .rev()
            .flat_map(|n| digits(text, n, n, 0, 999_999))
            .collect(),
        'b' | 'B' => month_names(directive, text),
        _ => Vec::new(),
    }
}

/// Numbers of `min..=max` digits at the start of `text` within `lo..=hi`, longest first.
fn digits(text: &str, min: usize, max: usize, lo: u32, hi: u32) -> Vec<(u32, usize)> {
    let available = text.bytes().take_while(u8::is_ascii_digit).count();
    (min..=max.min(available))
        .rev()
        .filter_map(|n| {
            let value: u32 = text.get(..n)?.parse().ok()?;
            (lo..=hi).contains(&value).then_some((value, n))
        })
        .collect()
}

fn month_names(directive: char, text: &str) -> Vec<(u32, usize)> {
    let mut found = Vec::new();
    for (index, name) in (1u32..).zip(MONTHS) {
        let name = if directive == 'b' {
            name.get(..3).unwrap_or(name)
        } else {
            name
        };
        if text
            .get(..name.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(name))
        {
            found.push((index, name.len()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: u16, m: u8, d: u8) -> SheetDate {
        SheetDate::new(y, m, d).unwrap()
    }

    #[test]
    fn accepts_every_django_english_format() {
        let oct_25 = date(2006, 10, 25);
        for text in [
            "2006-10-25",
            "10/25/2006",
            "10/25/06",
            "Oct 25 2006",
            "Oct 25, 2006",
            "25 Oct 2006",
            "25 Oct, 2006",
            "October 25 2006",
            "October 25, 2006",
            "25 October 2006",
            "25 October, 2006",
            "2006-10-25 14:30:59",
            "2006-10-25 14:30:59.000200",
            "2006-10-25 14:30",
            "10/25/2006 14:30:59",
            "10/25/2006 14:30:59.000200",
            "10/25/2006 14:30",
            "10/25/06 14:30:59",
            "10/25/06 14:30:59.000200",
            "10/25/06 14:30",
            "25.10.2006",
            "25.10.06",
            "  oct   25 2006 ",
            "OCTOBER 25, 2006",
        ] {
            assert_eq!(SheetDate::parse(text), Some(oct_25), "{text}");
        }
    }

    #[test]
    fn one_digit_fields_and_two_digit_years() {
        assert_eq!(SheetDate::parse("6/3/2019"), Some(date(2019, 6, 3)));
        assert_eq!(SheetDate::parse("1/12/2019"), Some(date(2019, 1, 12)));
        assert_eq!(SheetDate::parse("2019-6-3"), Some(date(2019, 6, 3)));
        assert_eq!(SheetDate::parse("Jun  3 2019"), Some(date(2019, 6, 3)));
        assert_eq!(SheetDate::parse("01/01/68"), Some(date(2068, 1, 1)));
        assert_eq!(SheetDate::parse("01/01/69"), Some(date(1969, 1, 1)));
    }

    #[test]
    fn rejects_what_adit_rejects() {
        for text in [
            "",
            "20190603",
            "2019/06/03",
            "03/06",
            "2019-02-29",
            "2019-13-01",
            "0000-01-01",
            "13/01/2019",
            "Juni 3 2019",
            "2019-06-03T00:00:00",
            "2019-06-03 24:00",
            "2019-06-03 junk",
            "not-a-date",
        ] {
            assert_eq!(SheetDate::parse(text), None, "{text}");
        }
        assert_eq!(SheetDate::parse("2020-02-29"), Some(date(2020, 2, 29)));
    }

    #[test]
    fn dicom_round_trip() {
        let d = date(1976, 12, 9);
        assert_eq!(d.to_dicom(), "19761209");
        assert_eq!(SheetDate::from_dicom("19761209"), Some(d));
        assert_eq!(SheetDate::from_dicom("1976-12-09"), None);
        assert_eq!(SheetDate::from_dicom("19761232"), None);
        assert_eq!(d.to_string(), "1976-12-09");
    }
}
