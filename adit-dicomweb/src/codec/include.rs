//! QIDO-RS `includefield` (PS3.18 §8.3.4.3): which attributes a search result carries.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

use super::json::parse_tag_key;
use crate::error::{Error, Result};

/// The attributes a client asked for with `includefield`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IncludeField {
    /// No `includefield`: only the level's default attributes and the matching keys.
    #[default]
    Defaults,
    /// `includefield=all`: every attribute the server has.
    All,
    /// The defaults plus these attributes.
    Tags(Vec<Tag>),
}

impl IncludeField {
    /// Reads the values of every `includefield` parameter. Each may list several attributes,
    /// separated by commas, as keywords or `GGGGEEEE` tags; `all` wins over any list.
    pub fn parse<I, S>(values: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut tags = Vec::new();
        let mut seen_any = false;
        for value in values {
            for field in value.as_ref().split(',').map(str::trim) {
                if field.is_empty() {
                    continue;
                }
                seen_any = true;
                if field.eq_ignore_ascii_case("all") {
                    return Ok(Self::All);
                }
                let tag = match parse_tag_key(field) {
                    Some(tag) => tag,
                    None => adit_core::model::Attribute::parse(field)
                        .map_err(|_| {
                            Error::config(
                                "includefield",
                                format!("`{field}` is neither a keyword nor a GGGGEEEE tag"),
                            )
                        })?
                        .tag(),
                };
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        Ok(if seen_any {
            Self::Tags(tags)
        } else {
            Self::Defaults
        })
    }

    /// Whether a result should carry `tag`, given the level's default attributes and the
    /// keys that were matched on.
    pub fn includes(&self, tag: Tag, defaults: &[Tag], matched: &[Tag]) -> bool {
        match self {
            Self::All => true,
            Self::Defaults => defaults.contains(&tag) || matched.contains(&tag),
            Self::Tags(tags) => {
                tags.contains(&tag) || defaults.contains(&tag) || matched.contains(&tag)
            }
        }
    }

    /// A copy of `object` with only the attributes a result should carry.
    pub fn apply(
        &self,
        object: &InMemDicomObject,
        defaults: &[Tag],
        matched: &[Tag],
    ) -> InMemDicomObject {
        if *self == Self::All {
            return object.clone();
        }
        InMemDicomObject::from_element_iter(
            object
                .iter()
                .filter(|e| self.includes(e.header().tag, defaults, matched))
                .cloned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;

    #[test]
    fn parses_keywords_tags_lists_and_all() {
        assert_eq!(
            IncludeField::parse(Vec::<&str>::new()).unwrap(),
            IncludeField::Defaults
        );
        assert_eq!(
            IncludeField::parse(["PatientAge,00081030", " StudyDescription"]).unwrap(),
            IncludeField::Tags(vec![tags::PATIENT_AGE, tags::STUDY_DESCRIPTION])
        );
        assert_eq!(
            IncludeField::parse(["PatientAge", "all"]).unwrap(),
            IncludeField::All
        );
        let e = IncludeField::parse(["PatientNam"]).unwrap_err().to_string();
        assert!(e.contains("`PatientNam` is neither"), "{e}");
    }

    #[test]
    fn apply_keeps_defaults_matched_and_included() {
        let obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::PATIENT_ID, VR::LO, "1"),
            DataElement::new(tags::PATIENT_AGE, VR::AS, "040Y"),
            DataElement::new(tags::STUDY_DESCRIPTION, VR::LO, "Head"),
            DataElement::new(tags::MODALITY, VR::CS, "CT"),
        ]);
        let defaults = [tags::PATIENT_ID];
        let matched = [tags::MODALITY];
        let only_defaults = IncludeField::Defaults.apply(&obj, &defaults, &matched);
        assert!(only_defaults.element(tags::PATIENT_ID).is_ok());
        assert!(only_defaults.element(tags::MODALITY).is_ok());
        assert!(only_defaults.element(tags::PATIENT_AGE).is_err());
        let some = IncludeField::Tags(vec![tags::PATIENT_AGE]).apply(&obj, &defaults, &matched);
        assert!(some.element(tags::PATIENT_AGE).is_ok());
        assert!(some.element(tags::STUDY_DESCRIPTION).is_err());
        assert_eq!(
            IncludeField::All.apply(&obj, &defaults, &[]).iter().count(),
            4
        );
    }
}
