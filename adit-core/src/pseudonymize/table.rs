//! The shape of PS3.15 Table E.1-1 rows and the lookup of a tag's row.
//!
//! The rows themselves are data in `table_e1_1.rs`; this file gives them types, short
//! constructors (so each row reads like the standard's table) and a lookup by tag.

use std::collections::HashMap;
use std::sync::OnceLock;

use dicom_core::Tag;

use super::table_e1_1::{EXACT, PATTERNS};

/// An action code of the Basic Profile column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BasicAction {
    /// `D`: replace with a non-zero-length dummy value consistent with the VR.
    Dummy,
    /// `Z`: replace with a zero-length value.
    Zero,
    /// `X`: remove.
    Remove,
    /// `U`: replace with a UID that is consistent within a set of instances.
    Uid,
    /// `Z/D`: Z, unless D is required to keep the IOD valid.
    ZeroOrDummy,
    /// `X/Z`: X, unless Z is required to keep the IOD valid.
    RemoveOrZero,
    /// `X/D`: X, unless D is required to keep the IOD valid.
    RemoveOrDummy,
    /// `X/Z/D`: X, unless Z or D is required to keep the IOD valid.
    RemoveOrZeroOrDummy,
    /// `X/Z/U*`: X, unless Z or replacing the contained instance UIDs is required (sequences
    /// of references).
    RemoveOrZeroOrUids,
}

impl BasicAction {
    /// The code as the standard writes it, e.g. `X/Z/D`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Dummy => "D",
            Self::Zero => "Z",
            Self::Remove => "X",
            Self::Uid => "U",
            Self::ZeroOrDummy => "Z/D",
            Self::RemoveOrZero => "X/Z",
            Self::RemoveOrDummy => "X/D",
            Self::RemoveOrZeroOrDummy => "X/Z/D",
            Self::RemoveOrZeroOrUids => "X/Z/U*",
        }
    }
}

/// An action code of an option column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionAction {
    /// The option does not name this attribute.
    None,
    /// `K`: keep (sequences are still cleaned inside).
    Keep,
    /// `C`: clean (dates shifted, text freed of identifying values).
    Clean,
}

/// Which tags a row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPattern {
    /// Exactly one tag, `0xGGGGEEEE`.
    Exact(u32),
    /// Every tag `t` with `t & mask == value` (repeating groups such as `(60xx,3000)`).
    Masked {
        /// The fixed bits.
        value: u32,
        /// Which bits are fixed.
        mask: u32,
    },
    /// Every attribute of an odd (private) group.
    Private,
}

impl TagPattern {
    /// Whether `tag` is matched.
    pub fn matches(self, tag: Tag) -> bool {
        let t = tag_u32(tag);
        match self {
            Self::Exact(v) => v == t,
            // Repeating groups are even; an odd group is private whatever its number.
            Self::Masked { value, mask } => t & mask == value && tag.group().is_multiple_of(2),
            Self::Private => tag.group() % 2 == 1,
        }
    }
}

/// One row of Table E.1-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The tag or tag pattern.
    pub tag: TagPattern,
    /// The attribute name as the standard writes it.
    pub name: &'static str,
    /// Whether the attribute is used in standard composite IODs (the table's "In Std. Comp.
    /// IOD" column).
    pub in_standard_iod: bool,
    /// Basic Profile action.
    pub basic: BasicAction,
    /// Retain Safe Private Option.
    pub safe_private: OptionAction,
    /// Retain UIDs Option.
    pub uids: OptionAction,
    /// Retain Device Identity Option.
    pub device: OptionAction,
    /// Retain Institution Identity Option.
    pub institution: OptionAction,
    /// Retain Patient Characteristics Option.
    pub patient_chars: OptionAction,
    /// Retain Longitudinal Temporal Information with Full Dates Option.
    pub full_dates: OptionAction,
    /// Retain Longitudinal Temporal Information with Modified Dates Option.
    pub modified_dates: OptionAction,
    /// Clean Descriptors Option.
    pub descriptors: OptionAction,
    /// Clean Structured Content Option.
    pub structured_content: OptionAction,
    /// Clean Graphics Option.
    pub graphics: OptionAction,
}

/// Every row of the table: single tags in tag order, then the patterns.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    EXACT.iter().chain(PATTERNS.iter())
}

/// The row for a tag, if the table names it. Private tags match the "Private Attributes" row.
pub fn lookup(tag: Tag) -> Option<&'static Entry> {
    static INDEX: OnceLock<HashMap<u32, &'static Entry>> = OnceLock::new();
    let index = INDEX.get_or_init(|| EXACT.iter().map(|e| (e.key(), e)).collect());
    index
        .get(&tag_u32(tag))
        .copied()
        .or_else(|| PATTERNS.iter().find(|e| e.tag.matches(tag)))
}

fn tag_u32(tag: Tag) -> u32 {
    (u32::from(tag.group()) << 16) | u32::from(tag.element())
}

impl Entry {
    const fn new(tag: TagPattern, name: &'static str, iod: bool, basic: BasicAction) -> Self {
        Self {
            tag,
            name,
            in_standard_iod: iod,
            basic,
            safe_private: OptionAction::None,
            uids: OptionAction::None,
            device: OptionAction::None,
            institution: OptionAction::None,
            patient_chars: OptionAction::None,
            full_dates: OptionAction::None,
            modified_dates: OptionAction::None,
            descriptors: OptionAction::None,
            structured_content: OptionAction::None,
            graphics: OptionAction::None,
        }
    }

    fn key(&self) -> u32 {
        match self.tag {
            TagPattern::Exact(v) => v,
            TagPattern::Masked { value, .. } => value,
            TagPattern::Private => u32::MAX,
        }
    }

    pub(super) const fn safe_private(mut self, a: OptionAction) -> Self {
        self.safe_private = a;
        self
    }
    pub(super) const fn uids(mut self, a: OptionAction) -> Self {
        self.uids = a;
        self
    }
    pub(super) const fn device(mut self, a: OptionAction) -> Self {
        self.device = a;
        self
    }
    pub(super) const fn institution(mut self, a: OptionAction) -> Self {
        self.institution = a;
        self
    }
    pub(super) const fn patient_chars(mut self, a: OptionAction) -> Self {
        self.patient_chars = a;
        self
    }
    pub(super) const fn full_dates(mut self, a: OptionAction) -> Self {
        self.full_dates = a;
        self
    }
    pub(super) const fn modified_dates(mut self, a: OptionAction) -> Self {
        self.modified_dates = a;
        self
    }
    pub(super) const fn descriptors(mut self, a: OptionAction) -> Self {
        self.descriptors = a;
        self
    }
    pub(super) const fn structured_content(mut self, a: OptionAction) -> Self {
        self.structured_content = a;
        self
    }
    pub(super) const fn graphics(mut self, a: OptionAction) -> Self {
        self.graphics = a;
        self
    }
}

// Short names so that each data row reads like the standard's table.
pub(super) const D: BasicAction = BasicAction::Dummy;
pub(super) const Z: BasicAction = BasicAction::Zero;
pub(super) const X: BasicAction = BasicAction::Remove;
pub(super) const U: BasicAction = BasicAction::Uid;
pub(super) const Z_D: BasicAction = BasicAction::ZeroOrDummy;
pub(super) const X_Z: BasicAction = BasicAction::RemoveOrZero;
pub(super) const X_D: BasicAction = BasicAction::RemoveOrDummy;
pub(super) const X_Z_D: BasicAction = BasicAction::RemoveOrZeroOrDummy;
pub(super) const X_Z_U: BasicAction = BasicAction::RemoveOrZeroOrUids;
pub(super) const K: OptionAction = OptionAction::Keep;
pub(super) const C: OptionAction = OptionAction::Clean;
/// In standard composite IODs: yes.
pub(super) const Y: bool = true;
/// In standard composite IODs: no.
pub(super) const N: bool = false;

/// A row for one tag `0xGGGGEEEE`.
pub(super) const fn e(tag: u32, name: &'static str, iod: bool, basic: BasicAction) -> Entry {
    Entry::new(TagPattern::Exact(tag), name, iod, basic)
}

/// A row for a repeating group.
pub(super) const fn masked(
    value: u32,
    mask: u32,
    name: &'static str,
    iod: bool,
    basic: BasicAction,
) -> Entry {
    Entry::new(TagPattern::Masked { value, mask }, name, iod, basic)
}

/// The row for private attributes (odd groups).
pub(super) const fn private(name: &'static str, iod: bool, basic: BasicAction) -> Entry {
    Entry::new(TagPattern::Private, name, iod, basic)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use dicom_dictionary_std::tags;

    use super::*;

    #[test]
    fn the_table_has_every_row_of_the_standard_once() {
        // PS3.15 2024b Table E.1-1 has 621 rows; option columns name these many rows.
        assert_eq!(entries().count(), 621);
        let keys: HashSet<u32> = EXACT.iter().map(Entry::key).collect();
        assert_eq!(keys.len(), EXACT.len(), "no tag twice");
        let count = |f: fn(&Entry) -> OptionAction| {
            entries().filter(|e| f(e) != OptionAction::None).count()
        };
        assert_eq!(count(|e| e.full_dates), 165);
        assert_eq!(count(|e| e.modified_dates), 165);
        assert_eq!(count(|e| e.descriptors), 125);
        assert_eq!(count(|e| e.uids), 59);
        assert_eq!(count(|e| e.device), 57);
        assert_eq!(count(|e| e.patient_chars), 13);
        assert_eq!(count(|e| e.institution), 10);
        let basic = |a| entries().filter(|e| e.basic == a).count();
        assert_eq!(basic(X), 384);
        assert_eq!(basic(D), 92);
        assert_eq!(basic(U), 54);
        assert_eq!(basic(Z), 42);
    }

    #[test]
    fn rows_are_sorted_by_tag() {
        assert!(EXACT.windows(2).all(|w| w[0].key() < w[1].key()));
    }

    #[test]
    fn lookup_finds_single_tags_repeating_groups_and_private_tags() {
        let patient_id = lookup(tags::PATIENT_ID).unwrap();
        assert_eq!(patient_id.name, "Patient ID");
        assert_eq!(patient_id.basic.code(), "Z/D");
        assert_eq!(lookup(tags::STUDY_INSTANCE_UID).unwrap().basic, U);
        assert_eq!(lookup(Tag(0x6002, 0x3000)).unwrap().name, "Overlay Data");
        assert_eq!(lookup(Tag(0x5010, 0x0123)).unwrap().name, "Curve Data");
        assert_eq!(
            lookup(Tag(0x0009, 0x1001)).unwrap().tag,
            TagPattern::Private
        );
        assert_eq!(
            lookup(Tag(0x6001, 0x3000)).unwrap().tag,
            TagPattern::Private
        );
        assert!(lookup(tags::ROWS).is_none());
        assert!(lookup(tags::MODALITY).is_none());
    }
}
