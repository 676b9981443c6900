//! Values of query keys: empty (return key), single (with wildcards), range, list.

use std::fmt;

use dicom_core::VR;

use super::attribute::Attribute;
use super::temporal;
use super::wildcard::has_wildcards;
use crate::error::{Error, Result};

/// The value of one query key.
///
/// Values are parsed against the attribute's VR ([`QueryValue::parse`]), so a value held by a
/// [`crate::model::Query`] is always well-formed: dates are real dates, UIDs contain only digits
/// and dots, code strings are upper case, integer strings are canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueryValue {
    /// Universal matching: the key is only asked to be returned.
    Empty,
    /// Single value matching; may contain the wildcards `*` and `?` where the VR allows.
    Single(String),
    /// Range matching for DA, TM and DT; either end may be open.
    Range {
        /// Inclusive lower bound, `None` for an open start (`-20201231`).
        from: Option<String>,
        /// Inclusive upper bound, `None` for an open end (`20200101-`).
        to: Option<String>,
    },
    /// Any of several values (UID list matching, or several modalities).
    Multi(Vec<String>),
}

impl QueryValue {
    /// Parses a value as written on a command line, in a QIDO parameter or in a C-FIND
    /// identifier, for the given attribute.
    ///
    /// - `""` is [`QueryValue::Empty`].
    /// - For DA, TM and DT a dash makes a range: `20200101-20201231`, `20200101-`, `-20201231`.
    /// - A backslash separates several values; for code strings (e.g. `ModalitiesInStudy`) and
    ///   UIDs a comma does too: `CT,MR`.
    /// - Everything else is a single value.
    pub fn parse(attribute: &Attribute, raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self::Empty);
        }
        let vr = attribute.vr();
        if is_temporal(vr) {
            if raw.contains('\\') {
                return Err(err(
                    attribute,
                    "dates and times take one value or one range",
                ));
            }
            let range = match vr {
                VR::DT => temporal::split_date_time_range(raw),
                _ => raw.split_once('-'),
            };
            return match range {
                Some((from, to)) => Self::Range {
                    from: (!from.is_empty()).then(|| from.to_owned()),
                    to: (!to.is_empty()).then(|| to.to_owned()),
                },
                None => Self::Single(raw.to_owned()),
            }
            .normalized(attribute);
        }
        let list_separators: &[char] = if matches!(vr, VR::CS | VR::UI | VR::AE) {
            &['\\', ',']
        } else {
            &['\\']
        };
        if raw.contains(list_separators) {
            let parts = raw.split(list_separators).map(str::to_owned).collect();
            Self::Multi(parts).normalized(attribute)
        } else {
            Self::Single(raw.to_owned()).normalized(attribute)
        }
    }

    /// Checks a value built in code against the attribute's VR and brings it into canonical
    /// form (trimmed, code strings upper case, integers without sign or padding).
    pub fn normalized(self, attribute: &Attribute) -> Result<Self> {
        match self {
            Self::Empty => Ok(Self::Empty),
            Self::Single(s) if s.trim().is_empty() => Ok(Self::Empty),
            Self::Single(s) => Ok(Self::Single(normalize_single(attribute, &s)?)),
            Self::Range { from, to } => {
                if !is_temporal(attribute.vr()) {
                    return Err(err(attribute, "only dates and times can be ranges"));
                }
                let from = from.filter(|s| !s.trim().is_empty());
                let to = to.filter(|s| !s.trim().is_empty());
                if from.is_none() && to.is_none() {
                    return Err(err(attribute, "a range needs at least one end"));
                }
                let from = from.map(|s| normalize_single(attribute, &s)).transpose()?;
                let to = to.map(|s| normalize_single(attribute, &s)).transpose()?;
                if let (Some(f), Some(t)) = (&from, &to)
                    && range_key(attribute.vr(), f, false) > range_key(attribute.vr(), t, true)
                {
                    return Err(err(
                        attribute,
                        format!("range start {f} is after its end {t}"),
                    ));
                }
                Ok(Self::Range { from, to })
            }
            Self::Multi(values) => {
                if is_temporal(attribute.vr()) {
                    return Err(err(
                        attribute,
                        "dates and times take one value or one range",
                    ));
                }
                let mut parsed = Vec::with_capacity(values.len());
                for value in values {
                    if value.trim().is_empty() {
                        return Err(err(attribute, "empty value in a list"));
                    }
                    parsed.push(normalize_single(attribute, &value)?);
                }
                match parsed.len() {
                    0 => Ok(Self::Empty),
                    1 => Ok(Self::Single(parsed.remove(0))),
                    _ => Ok(Self::Multi(parsed)),
                }
            }
        }
    }

    /// Whether this is universal matching (a return key only).
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether any value contains `*` or `?`.
    pub fn has_wildcards(&self) -> bool {
        match self {
            Self::Single(s) => has_wildcards(s),
            Self::Multi(values) => values.iter().any(|v| has_wildcards(v)),
            Self::Empty | Self::Range { .. } => false,
        }
    }

    /// The single value, if this is one.
    pub fn as_single(&self) -> Option<&str> {
        match self {
            Self::Single(s) => Some(s),
            _ => None,
        }
    }

    /// The value as it is encoded in a C-FIND identifier or a QIDO parameter:
    /// `""`, `value`, `from-to`, `a\b`.
    pub fn to_dicom_string(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Single(s) => s.clone(),
            Self::Range { from, to } => format!(
                "{}-{}",
                from.as_deref().unwrap_or_default(),
                to.as_deref().unwrap_or_default()
            ),
            Self::Multi(values) => values.join("\\"),
        }
    }
}

impl fmt::Display for QueryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_dicom_string())
    }
}

/// Comparable form of a range end (see [`temporal`]).
pub(crate) fn range_key(vr: VR, value: &str, upper: bool) -> Option<String> {
    match vr {
        VR::DA => temporal::date_key(value),
        VR::TM => temporal::time_key(value, upper),
        VR::DT => temporal::date_time_key(value, upper),
        _ => None,
    }
}

fn is_temporal(vr: VR) -> bool {
    matches!(vr, VR::DA | VR::TM | VR::DT)
}

fn err(attribute: &Attribute, reason: impl Into<String>) -> Error {
    Error::invalid_query(attribute.keyword(), reason)
}

/// Checks and canonicalizes one value (no list, no range) for the attribute's VR.
fn normalize_single(attribute: &Attribute, value: &str) -> Result<String> {
    let value = value.trim();
    if let Some(c) = value.chars().find(|c| c.is_control() && *c != '\u{1b}') {
        return Err(err(
            attribute,
            format!("control character U+{:04X} in value", u32::from(c)),
        ));
    }
    if value.contains('\\') {
        return Err(err(attribute, "backslash inside a single value"));
    }
    let no_wildcards = |what: &str| {
        if has_wildcards(value) {
            Err(err(attribute, format!("{what} cannot contain wildcards")))
        } else {
            Ok(())
        }
    };
    match attribute.vr() {
        VR::UI => {
            no_wildcards("UIDs")?;
            if value.len() > 64 || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return Err(err(attribute, format!("`{value}` is not a UID")));
            }
            Ok(value.to_owned())
        }
        VR::DA => {
            no_wildcards("dates")?;
            if temporal::is_date(value) {
                Ok(value.to_owned())
            } else {
                Err(err(attribute, format!("`{value}` is not a date YYYYMMDD")))
            }
        }
        VR::TM => {
            no_wildcards("times")?;
            if temporal::is_time(value) {
                Ok(value.to_owned())
            } else {
                Err(err(attribute, format!("`{value}` is not a time HHMMSS")))
            }
        }
        VR::DT => {
            no_wildcards("date-times")?;
            if temporal::is_date_time(value) {
                Ok(value.to_owned())
            } else {
                Err(err(
                    attribute,
                    format!("`{value}` is not a date-time YYYYMMDDHHMMSS"),
                ))
            }
        }
        VR::IS => {
            no_wildcards("integer strings")?;
            value
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| err(attribute, format!("`{value}` is not an integer")))
        }
        VR::DS => {
            no_wildcards("decimal strings")?;
            value
                .parse::<f64>()
                .map(|_| value.to_owned())
                .map_err(|_| err(attribute, format!("`{value}` is not a decimal number")))
        }
        VR::CS => Ok(value.to_ascii_uppercase()),
        VR::AE | VR::AS | VR::LO | VR::LT | VR::PN | VR::SH | VR::ST | VR::UC | VR::UR | VR::UT => {
            Ok(value.to_owned())
        }
        other => Err(err(
            attribute,
            format!("matching on {other:?} values is not supported; use it as a return key"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(key: &str, raw: &str) -> Result<QueryValue> {
        QueryValue::parse(&Attribute::parse(key).unwrap(), raw)
    }

    fn single(s: &str) -> QueryValue {
        QueryValue::Single(s.into())
    }

    #[test]
    fn empty_means_return_key() {
        assert_eq!(parse("PatientName", "").unwrap(), QueryValue::Empty);
        assert_eq!(parse("PatientName", "   ").unwrap(), QueryValue::Empty);
    }

    #[test]
    fn date_ranges_with_open_ends() {
        let range = |from: Option<&str>, to: Option<&str>| QueryValue::Range {
            from: from.map(Into::into),
            to: to.map(Into::into),
        };
        assert_eq!(
            parse("StudyDate", "20200101-20201231").unwrap(),
            range(Some("20200101"), Some("20201231"))
        );
        assert_eq!(
            parse("StudyDate", "20200101-").unwrap(),
            range(Some("20200101"), None)
        );
        assert_eq!(
            parse("StudyDate", "-20201231").unwrap(),
            range(None, Some("20201231"))
        );
        assert_eq!(
            parse("StudyTime", "0800-1200").unwrap(),
            range(Some("0800"), Some("1200"))
        );
        assert_eq!(parse("StudyDate", "20200101").unwrap(), single("20200101"));
        assert_eq!(
            parse("AcquisitionDateTime", "20200101120000-0500").unwrap(),
            single("20200101120000-0500")
        );
        assert_eq!(
            parse("StudyDate", "20200101-20201231").unwrap().to_string(),
            "20200101-20201231"
        );
    }

    #[test]
    fn bad_dates_and_ranges_are_rejected() {
        for bad in [
            "2020-01-01",
            "20201301",
            "-",
            "2020*",
            "20201231-20200101",
            "20200101\\20200102",
        ] {
            let e = parse("StudyDate", bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidQuery { key, .. } if key == "StudyDate"),
                "{bad}: {e}"
            );
        }
        assert!(parse("StudyTime", "2500").is_err());
        assert!(
            parse("PatientName", "A-B").is_ok(),
            "dash is literal outside dates"
        );
    }

    #[test]
    fn wildcards_are_kept_where_allowed() {
        let v = parse("PatientName", "Doe*^J?hn").unwrap();
        assert_eq!(v, single("Doe*^J?hn"));
        assert!(v.has_wildcards());
        assert!(parse("StudyInstanceUID", "1.2.*").is_err());
        assert!(parse("SeriesNumber", "1*").is_err());
    }

    #[test]
    fn lists_split_on_backslash_and_for_codes_on_comma() {
        assert_eq!(
            parse("ModalitiesInStudy", "CT,mr").unwrap(),
            QueryValue::Multi(vec!["CT".into(), "MR".into()])
        );
        assert_eq!(
            parse("ModalitiesInStudy", "CT\\SR").unwrap(),
            QueryValue::Multi(vec!["CT".into(), "SR".into()])
        );
        assert_eq!(
            parse("SeriesInstanceUID", "1.2.3, 1.2.4").unwrap(),
            QueryValue::Multi(vec!["1.2.3".into(), "1.2.4".into()])
        );
        assert_eq!(
            parse("PatientName", "Doe, John").unwrap(),
            single("Doe, John"),
            "commas are literal in names"
        );
        assert!(parse("ModalitiesInStudy", "CT,,MR").is_err());
        assert_eq!(
            parse("ModalitiesInStudy", "CT,MR").unwrap().to_string(),
            "CT\\MR"
        );
    }

    #[test]
    fn values_are_canonicalized_by_vr() {
        assert_eq!(parse("Modality", " ct ").unwrap(), single("CT"));
        assert_eq!(parse("SeriesNumber", "+4").unwrap(), single("4"));
        assert_eq!(parse("SeriesNumber", " 007").unwrap(), single("7"));
        assert!(parse("SeriesNumber", "four").is_err());
        assert!(parse("StudyInstanceUID", "1.2.abc").is_err());
        assert!(parse("PatientID", "a\u{7}b").is_err());
        assert!(
            parse("Rows", "512").is_err(),
            "binary VRs are return keys only"
        );
        assert_eq!(parse("Rows", "").unwrap(), QueryValue::Empty);
    }

    #[test]
    fn values_built_in_code_are_checked_too() {
        let date = Attribute::parse("StudyDate").unwrap();
        let bad = QueryValue::Range {
            from: None,
            to: None,
        };
        assert!(bad.normalized(&date).is_err());
        let name = Attribute::parse("PatientName").unwrap();
        let range = QueryValue::Range {
            from: Some("A".into()),
            to: None,
        };
        assert!(range.normalized(&name).is_err());
        assert_eq!(
            QueryValue::Multi(vec!["X".into()])
                .normalized(&name)
                .unwrap(),
            single("X")
        );
    }
}
