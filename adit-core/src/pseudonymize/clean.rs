//! Cleaning free text: taking the instance's own identifying values out of descriptions.
//!
//! PS3.15 "clean" means replacing values of similar meaning known not to contain identifying
//! information. Without language understanding the safe, predictable approach is to remove
//! every value that the instance itself marks as identifying (names, IDs, birth date,
//! accession number, institution, physicians) wherever it appears as a word in the text.

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::model::element_strings;

/// What a removed value is replaced with.
pub const REDACTED: &str = "***";

/// Attributes whose values are searched for in text that is cleaned.
const IDENTIFYING: &[dicom_core::Tag] = &[
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    // Other Patient IDs and Medical Record Locator are retired but still found in old data.
    dicom_core::Tag(0x0010, 0x1000),
    tags::OTHER_PATIENT_NAMES,
    tags::PATIENT_BIRTH_NAME,
    tags::PATIENT_MOTHER_BIRTH_NAME,
    tags::PATIENT_BIRTH_DATE,
    tags::PATIENT_ADDRESS,
    tags::PATIENT_TELEPHONE_NUMBERS,
    dicom_core::Tag(0x0010, 0x1090),
    tags::ACCESSION_NUMBER,
    tags::STUDY_ID,
    tags::INSTITUTION_NAME,
    tags::INSTITUTION_ADDRESS,
    tags::INSTITUTIONAL_DEPARTMENT_NAME,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::PERFORMING_PHYSICIAN_NAME,
    tags::NAME_OF_PHYSICIANS_READING_STUDY,
    tags::OPERATORS_NAME,
    tags::PHYSICIANS_OF_RECORD,
    tags::REQUESTING_PHYSICIAN,
    tags::STATION_NAME,
    tags::DEVICE_SERIAL_NUMBER,
];

/// Whether text cleaning looks for the values of `tag` (top-level attributes only).
pub(super) fn is_identifying(tag: dicom_core::Tag) -> bool {
    IDENTIFYING.contains(&tag)
}

/// The highest tag [`is_identifying`] accepts: a pass over the encoded elements can stop
/// looking after it.
pub(super) fn last_identifying() -> dicom_core::Tag {
    IDENTIFYING
        .iter()
        .copied()
        .max()
        .unwrap_or(dicom_core::Tag(0, 0))
}

/// Identifying words of one instance, lower case, longest first.
#[derive(Debug, Clone, Default)]
pub(super) struct Identifiers {
    words: Vec<Vec<char>>,
}

impl Identifiers {
    /// Collects the identifying values of `object` (top level): whole values and, for names
    /// and addresses, their parts.
    pub(super) fn collect(object: &InMemDicomObject) -> Self {
        let values: Vec<String> = IDENTIFYING
            .iter()
            .flat_map(|&tag| element_strings(object, tag))
            .collect();
        Self::from_values(values.iter().map(String::as_str))
    }

    /// Collects identifying words from the values of the [`is_identifying`] attributes
    /// (trimmed, empty ones left out), in any order.
    pub(super) fn from_values<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut words: Vec<Vec<char>> = Vec::new();
        let mut add = |w: &str, min: usize| {
            let w = w.trim();
            if w.chars().filter(|c| c.is_alphanumeric()).count() >= min {
                words.push(w.to_lowercase().chars().collect());
            }
        };
        for value in values {
            add(value, 3);
            // Name components and address words: `DOE^JANE`, `1 Example Street, Town`.
            for part in value.split(['^', '=', ' ', ',', '/', '-']) {
                add(part, 2);
            }
        }
        words.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        words.dedup();
        Self { words }
    }

    /// Whether nothing identifying was found.
    pub(super) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// `text` with every identifying word (as a whole word, ignoring case) replaced by
    /// [`REDACTED`]. Returns `None` if nothing was found.
    pub(super) fn scrub(&self, text: &str) -> Option<String> {
        if self.words.is_empty() || text.is_empty() {
            return None;
        }
        let original: Vec<char> = text.chars().collect();
        // Lower-casing char by char keeps positions aligned (a few characters lower-case to
        // several; those keep their first).
        let lower: Vec<char> = original
            .iter()
            .map(|c| c.to_lowercase().next().unwrap_or(*c))
            .collect();
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut i = 0;
        while i < lower.len() {
            let at_word_start = i == 0 || !lower[i - 1].is_alphanumeric();
            let hit = at_word_start
                .then(|| {
                    self.words.iter().find(|w| {
                        lower[i..].starts_with(w)
                            && lower.get(i + w.len()).is_none_or(|c| !c.is_alphanumeric())
                    })
                })
                .flatten();
            match hit {
                Some(word) => {
                    out.push_str(REDACTED);
                    i += word.len();
                    changed = true;
                }
                None => {
                    out.push(original[i]);
                    i += 1;
                }
            }
        }
        changed.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, VR};

    use super::*;

    fn object() -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::PATIENT_NAME, VR::PN, "MÜLLER^ANNA"),
            DataElement::new(tags::PATIENT_ID, VR::LO, "PID-4711"),
            DataElement::new(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
            DataElement::new(tags::INSTITUTION_NAME, VR::LO, "St. Example Hospital"),
        ])
    }

    #[test]
    fn identifying_words_are_replaced_whole_word_and_case_insensitive() {
        let ids = Identifiers::collect(&object());
        assert!(!ids.is_empty());
        assert_eq!(
            ids.scrub("CT head Müller anna PID-4711 born 19700101")
                .as_deref(),
            Some("CT head *** *** *** born ***")
        );
        assert_eq!(
            ids.scrub("Example hospital follow-up").as_deref(),
            Some("*** *** follow-up")
        );
        // Parts of other words stay.
        assert_eq!(ids.scrub("Annabelle scan"), None);
        assert_eq!(ids.scrub("Thorax"), None);
        assert_eq!(ids.scrub(""), None);
    }

    #[test]
    fn nothing_to_find_in_an_empty_object() {
        let ids = Identifiers::collect(&InMemDicomObject::new_empty());
        assert!(ids.is_empty());
        assert_eq!(ids.scrub("MÜLLER"), None);
    }
}
