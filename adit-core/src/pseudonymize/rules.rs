//! From table row and options to the one thing that happens to an attribute.
//!
//! The standard's conditional codes (`X/Z`, `Z/D`, ...) depend on whether the attribute is
//! Type 1, 2 or 3 in the instance's IOD. We do not know the IOD's module tables, so each code
//! is resolved to the weakest action that is valid for every type: the attribute stays
//! present (empty or with a dummy) rather than being removed. Nothing identifying survives
//! either way.

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use super::config::{DateHandling, Profile, ProfileOptions};
use super::table::{BasicAction, Entry, OptionAction, lookup};

/// What happens to one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Keep the value; sequences are still processed item by item.
    Keep,
    /// Remove the attribute.
    Remove,
    /// Keep the attribute with a zero-length value (an empty sequence for SQ).
    Empty,
    /// Replace the value with a dummy of its VR; a sequence is kept and cleaned inside.
    Dummy,
    /// Like [`Rule::Dummy`] for values, but a sequence becomes empty (the code allows Z).
    DummyOrEmpty,
    /// Replace the UID(s) with their keyed mapping.
    MapUid,
    /// Keep a sequence of references and map the UIDs inside (`X/Z/U*`).
    MapReferences,
    /// Clean: dates are shifted, text loses identifying words, sequences are cleaned inside.
    Clean,
}

/// ADIT keeps these dates and times unchanged when pseudonymizing (its
/// `SKIP_ELEMENTS_ANONYMIZATION`), so studies keep their real date in folder names.
pub const ADIT_KEPT_DATES: &[Tag] = &[
    tags::STUDY_DATE,
    tags::STUDY_TIME,
    tags::SERIES_DATE,
    tags::SERIES_TIME,
    tags::ACQUISITION_DATE,
    tags::ACQUISITION_TIME,
    tags::ACQUISITION_DATE_TIME,
    tags::CONTENT_DATE,
    tags::CONTENT_TIME,
    tags::FRAME_REFERENCE_DATE_TIME,
];

/// The profile and options, ready to answer "what happens to this tag".
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules {
    profile: Profile,
    options: ProfileOptions,
}

impl Rules {
    /// Rules for a profile and its options.
    pub(super) fn new(profile: Profile, options: ProfileOptions) -> Self {
        Self { profile, options }
    }

    /// The rule for `tag`: attributes the table does not name are kept.
    pub(super) fn for_tag(&self, tag: Tag) -> Rule {
        if self.profile == Profile::Adit && ADIT_KEPT_DATES.contains(&tag) {
            return Rule::Keep;
        }
        lookup(tag).map_or(Rule::Keep, |entry| self.for_entry(entry))
    }

    /// The rule for a row of the table: a Keep from any option switched on wins, then a
    /// Clean, then the Basic Profile action.
    pub(super) fn for_entry(&self, entry: &Entry) -> Rule {
        let o = &self.options;
        let date_option = match o.dates {
            DateHandling::Remove => OptionAction::None,
            DateHandling::Keep => entry.full_dates,
            DateHandling::Shift => entry.modified_dates,
        };
        let enabled = [
            (o.retain_uids, entry.uids),
            (o.retain_device_identity, entry.device),
            (o.retain_institution_identity, entry.institution),
            (o.retain_patient_characteristics, entry.patient_chars),
            (o.clean_descriptors, entry.descriptors),
            (true, date_option),
        ];
        let on = |wanted: OptionAction| enabled.iter().any(|&(on, a)| on && a == wanted);
        if on(OptionAction::Keep) {
            return Rule::Keep;
        }
        if on(OptionAction::Clean) {
            return Rule::Clean;
        }
        match entry.basic {
            BasicAction::Remove => Rule::Remove,
            BasicAction::Zero | BasicAction::RemoveOrZero => Rule::Empty,
            BasicAction::Dummy => Rule::Dummy,
            BasicAction::ZeroOrDummy
            | BasicAction::RemoveOrDummy
            | BasicAction::RemoveOrZeroOrDummy => Rule::DummyOrEmpty,
            BasicAction::Uid => Rule::MapUid,
            BasicAction::RemoveOrZeroOrUids => Rule::MapReferences,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(options: ProfileOptions, tag: Tag) -> Rule {
        Rules::new(Profile::Basic, options).for_tag(tag)
    }

    #[test]
    fn basic_profile_actions() {
        let o = ProfileOptions::default();
        assert_eq!(rule(o, tags::PATIENT_NAME), Rule::Empty); // Z
        assert_eq!(rule(o, dicom_core::Tag(0x0010, 0x1000)), Rule::Remove); // X
        assert_eq!(rule(o, tags::STUDY_INSTANCE_UID), Rule::MapUid); // U
        assert_eq!(rule(o, tags::PERSON_NAME), Rule::Dummy); // D
        assert_eq!(rule(o, tags::INSTITUTION_NAME), Rule::DummyOrEmpty); // X/Z/D
        assert_eq!(rule(o, tags::REFERENCED_STUDY_SEQUENCE), Rule::Empty); // X/Z
        assert_eq!(
            rule(o, tags::REFERENCED_IMAGE_SEQUENCE),
            Rule::MapReferences
        ); // X/Z/U*
        assert_eq!(rule(o, tags::STUDY_DATE), Rule::Empty); // Z
        assert_eq!(rule(o, Tag(0x0009, 0x1001)), Rule::Remove); // private
        assert_eq!(rule(o, Tag(0x6000, 0x3000)), Rule::Remove); // overlay data
        assert_eq!(rule(o, tags::ROWS), Rule::Keep); // not in the table
        assert_eq!(rule(o, tags::PIXEL_DATA), Rule::Keep);
    }

    #[test]
    fn options_override_the_basic_action() {
        let dates = |dates| ProfileOptions {
            dates,
            ..ProfileOptions::default()
        };
        assert_eq!(
            rule(dates(DateHandling::Keep), tags::STUDY_DATE),
            Rule::Keep
        );
        assert_eq!(
            rule(dates(DateHandling::Shift), tags::STUDY_DATE),
            Rule::Clean
        );
        assert_eq!(
            rule(dates(DateHandling::Shift), tags::PATIENT_BIRTH_DATE),
            Rule::Empty,
            "birth date is not longitudinal temporal information"
        );
        let all = ProfileOptions {
            retain_patient_characteristics: true,
            retain_device_identity: true,
            retain_institution_identity: true,
            retain_uids: true,
            clean_descriptors: true,
            dates: DateHandling::Remove,
        };
        assert_eq!(rule(all, tags::PATIENT_SEX), Rule::Keep);
        assert_eq!(rule(all, tags::DEVICE_SERIAL_NUMBER), Rule::Keep);
        assert_eq!(rule(all, tags::INSTITUTION_NAME), Rule::Keep);
        assert_eq!(rule(all, tags::SOP_INSTANCE_UID), Rule::Keep);
        assert_eq!(rule(all, tags::SERIES_DESCRIPTION), Rule::Clean);
        // Allergies: patient characteristics say C, descriptors say C.
        assert_eq!(rule(all, tags::ALLERGIES), Rule::Clean);
        // Options that do not name an attribute leave it alone.
        assert_eq!(rule(all, tags::PATIENT_NAME), Rule::Empty);
    }

    #[test]
    fn adit_profile_keeps_study_dates_and_shifts_the_rest() {
        let rules = Rules::new(Profile::Adit, ProfileOptions::adit());
        assert_eq!(rules.for_tag(tags::STUDY_DATE), Rule::Keep);
        assert_eq!(rules.for_tag(tags::CONTENT_TIME), Rule::Keep);
        assert_eq!(rules.for_tag(tags::INSTANCE_CREATION_DATE), Rule::Clean);
        assert_eq!(rules.for_tag(tags::SERIES_DESCRIPTION), Rule::Clean);
        assert_eq!(rules.for_tag(tags::PATIENT_AGE), Rule::Keep);
    }
}
