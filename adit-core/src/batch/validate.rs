//! ADIT's field validators, with ADIT's messages. Each returns every message that applies,
//! because ADIT (Django) runs all validators of a field and shows all their messages.
//!
//! One deliberate difference: ADIT's "control characters" are only form feed, line feed and
//! carriage return; here every control character (tab included) is rejected, since none of
//! them is allowed in the DICOM values these cells become.

/// Messages, in ADIT's wording.
pub(crate) const REQUIRED: &str = "This field is required.";
pub(crate) const BAD_DATE: &str = "Date has wrong format.";
const BACKSLASH: &str = "Contains invalid backslash character";
const CONTROL: &str = "Contains invalid control characters.";
const WILDCARD: &str = "Contains invalid wildcard characters.";
const LETTERS: &str = "Only letters A-Z are allowed.";
const INTEGER: &str = "Invalid string representation of a number.";
const UID_CHARS: &str = "Invalid character in UID.";

/// The rules of one field.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rules {
    /// Maximum length in characters.
    pub(crate) max_len: Option<usize>,
    /// No `\`.
    pub(crate) no_backslash: bool,
    /// No control characters.
    pub(crate) no_control: bool,
    /// No `*` or `?`.
    pub(crate) no_wildcards: bool,
    /// Only ASCII letters.
    pub(crate) letters: bool,
    /// An integer string: `^\s*[-+]?[0-9]+\s*$`.
    pub(crate) integer: bool,
    /// Only digits and dots.
    pub(crate) uid: bool,
}

impl Rules {
    /// PatientID, PatientName, AccessionNumber: no backslash, control or wildcard characters.
    pub(crate) const fn identifier(max_len: usize) -> Self {
        Self {
            max_len: Some(max_len),
            no_backslash: true,
            no_control: true,
            no_wildcards: true,
            letters: false,
            integer: false,
            uid: false,
        }
    }

    /// Pseudonym: no backslash or control characters (wildcards are allowed, as in ADIT).
    pub(crate) const fn pseudonym() -> Self {
        Self {
            max_len: Some(64),
            no_backslash: true,
            no_control: true,
            no_wildcards: false,
            letters: false,
            integer: false,
            uid: false,
        }
    }

    /// Free text with only a length limit (StudyDescription, SeriesDescription).
    pub(crate) const fn text(max_len: usize) -> Self {
        Self {
            max_len: Some(max_len),
            no_backslash: false,
            no_control: false,
            no_wildcards: false,
            letters: false,
            integer: false,
            uid: false,
        }
    }

    /// One modality: letters only, at most 16.
    pub(crate) const fn modality() -> Self {
        Self {
            max_len: Some(16),
            letters: true,
            ..Self::text(16)
        }
    }

    /// One series number: an integer string of at most 12 characters.
    pub(crate) const fn series_number() -> Self {
        Self {
            integer: true,
            ..Self::text(12)
        }
    }

    /// A UID: digits and dots, at most 64.
    pub(crate) const fn uid() -> Self {
        Self {
            uid: true,
            ..Self::text(64)
        }
    }

    /// Every message that applies to `value`, in a fixed order; empty if it is valid.
    pub(crate) fn check(&self, value: &str) -> Vec<String> {
        let mut messages = Vec::new();
        if let Some(max) = self.max_len {
            let len = value.chars().count();
            if len > max {
                messages.push(format!(
                    "Ensure this field has no more than {max} characters (it has {len})."
                ));
            }
        }
        if self.no_backslash && value.contains('\\') {
            messages.push(BACKSLASH.to_owned());
        }
        if self.no_control && value.chars().any(char::is_control) {
            messages.push(CONTROL.to_owned());
        }
        if self.no_wildcards && value.contains(['*', '?']) {
            messages.push(WILDCARD.to_owned());
        }
        if self.letters && !value.chars().all(|c| c.is_ascii_alphabetic()) {
            messages.push(LETTERS.to_owned());
        }
        if self.integer && !is_integer_string(value) {
            messages.push(INTEGER.to_owned());
        }
        if self.uid && (value.is_empty() || !value.chars().all(|c| c.is_ascii_digit() || c == '.'))
        {
            messages.push(UID_CHARS.to_owned());
        }
        messages
    }
}

fn is_integer_string(value: &str) -> bool {
    let trimmed = value.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `"Last, First"` → `"Last^First"` (ADIT's `person_name_to_dicom`: every comma with the
/// spaces around it becomes `^`; no wildcards are added).
pub(crate) fn person_name_to_dicom(value: &str) -> String {
    value
        .split(',')
        .enumerate()
        .map(|(i, part)| {
            // Spaces next to a comma go; spaces at the very start or end are already trimmed.
            let part = if i > 0 { part.trim_start() } else { part };
            if value.contains(',') {
                part.trim_end()
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("^")
}

/// `"CT, SR"` → `["CT", "SR"]` (empty parts dropped), as ADIT splits list cells.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_rules_collect_every_message() {
        assert!(Rules::identifier(64).check("0012345").is_empty());
        let messages = Rules::identifier(4).check("a\\b*\n");
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("Ensure this field has no more than 4 characters"));
        assert_eq!(messages[1], BACKSLASH);
        assert_eq!(messages[2], CONTROL);
        assert_eq!(messages[3], WILDCARD);
        assert_eq!(Rules::identifier(64).check("a\tb"), [CONTROL]);
    }

    #[test]
    fn pseudonym_allows_wildcards_but_not_backslash() {
        assert!(Rules::pseudonym().check("P*1").is_empty());
        assert_eq!(Rules::pseudonym().check("P\\1"), [BACKSLASH]);
    }

    #[test]
    fn modality_series_number_and_uid_rules() {
        assert!(Rules::modality().check("CT").is_empty());
        assert!(Rules::modality().check("mr").is_empty());
        assert_eq!(Rules::modality().check("C1"), [LETTERS]);
        assert!(Rules::series_number().check("+3").is_empty());
        assert!(Rules::series_number().check("-12").is_empty());
        assert_eq!(Rules::series_number().check("3a"), [INTEGER]);
        assert_eq!(Rules::series_number().check("+"), [INTEGER]);
        assert!(Rules::uid().check("1.2.840.10008").is_empty());
        assert_eq!(Rules::uid().check("1.2.a"), [UID_CHARS]);
        assert_eq!(Rules::uid().check(&"1".repeat(65)).len(), 1);
    }

    #[test]
    fn person_names_and_lists_like_adit() {
        assert_eq!(person_name_to_dicom("Coconut, Coco"), "Coconut^Coco");
        assert_eq!(person_name_to_dicom("Coconut ,  Coco"), "Coconut^Coco");
        assert_eq!(person_name_to_dicom("Coconut^Coco"), "Coconut^Coco");
        assert_eq!(person_name_to_dicom("van Dyke, Dick"), "van Dyke^Dick");
        assert_eq!(person_name_to_dicom("A, B, C"), "A^B^C");
        assert_eq!(split_list("CT, SR ,,MR"), ["CT", "SR", "MR"]);
        assert!(split_list(" , ").is_empty());
    }
}
