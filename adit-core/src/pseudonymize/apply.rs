//! Applies the [`Rule`]s to a data set, recursively through sequences.

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, VR};
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use super::clean::Identifiers;
use super::dates::{shift_date, shift_datetime};
use super::keyed::Keyed;
use super::rules::{Rule, Rules};

/// Dummy text for `D` on string VRs (fits SH, CS and AE).
pub(super) const DUMMY_TEXT: &str = "ANONYMIZED";
/// Dummy date for `D` on DA.
pub(super) const DUMMY_DATE: &str = "19000101";
/// Dummy time for `D` on TM.
pub(super) const DUMMY_TIME: &str = "000000";
/// Dummy date and time for `D` on DT.
pub(super) const DUMMY_DATETIME: &str = "19000101000000";

/// Sequences nested deeper than this are emptied rather than walked (no stack exhaustion on
/// hostile input).
const MAX_DEPTH: usize = 32;

/// Everything the walk over one instance needs.
pub(super) struct Walk<'a> {
    /// What to do with each tag.
    pub rules: &'a Rules,
    /// UID mapping.
    pub keyed: &'a Keyed,
    /// Days to move dates by (from the secret and the original PatientID).
    pub shift_days: i64,
    /// The instance's identifying values, for cleaning text.
    pub identifiers: &'a Identifiers,
}

impl Walk<'_> {
    /// The data set with every rule applied; group lengths are dropped (they would be stale).
    pub(super) fn data_set(&self, object: InMemDicomObject) -> InMemDicomObject {
        self.items(object, false, 0)
    }

    /// One data set (top level or a sequence item). `scrub` cleans every text value too, for
    /// the inside of sequences that are dummied or cleaned as a whole.
    fn items(&self, object: InMemDicomObject, scrub: bool, depth: usize) -> InMemDicomObject {
        InMemDicomObject::from_element_iter(
            object
                .into_iter()
                .filter(|e| e.tag().element() != 0x0000)
                .filter_map(|e| self.element(e, scrub, depth)),
        )
    }

    fn element(&self, element: InMemElement, scrub: bool, depth: usize) -> Option<InMemElement> {
        let rule = self.rules.for_tag(element.tag());
        let vr = element.vr();
        if let Value::Sequence(_) = element.value() {
            return match rule {
                Rule::Remove => None,
                Rule::Empty | Rule::DummyOrEmpty => Some(empty(element)),
                Rule::Keep | Rule::MapUid | Rule::MapReferences => {
                    Some(self.sequence(element, scrub, depth))
                }
                Rule::Dummy | Rule::Clean => Some(self.sequence(element, true, depth)),
            };
        }
        match rule {
            Rule::Remove => None,
            Rule::Empty | Rule::MapReferences => Some(empty(element)),
            Rule::Dummy | Rule::DummyOrEmpty => Some(self.dummy(element)),
            Rule::MapUid => Some(self.map_uid(element)),
            Rule::Keep if scrub => Some(self.scrub(element)),
            Rule::Keep => Some(element),
            Rule::Clean => Some(match vr {
                VR::DA | VR::DT => self.shift(element),
                _ => self.scrub(element),
            }),
        }
    }

    fn sequence(&self, element: InMemElement, scrub: bool, depth: usize) -> InMemElement {
        let (tag, vr) = (element.tag(), element.vr());
        if depth >= MAX_DEPTH {
            return empty(element);
        }
        let items: Vec<InMemDicomObject> = element
            .into_value()
            .into_items()
            .map(|items| {
                items
                    .into_iter()
                    .map(|item| self.items(item, scrub, depth + 1))
                    .collect()
            })
            .unwrap_or_default();
        DataElement::new(tag, vr, DataSetSequence::new(items, Length::UNDEFINED))
    }

    fn dummy(&self, element: InMemElement) -> InMemElement {
        let (tag, vr) = (element.tag(), element.vr());
        let text = |s: &str| DataElement::new(tag, vr, PrimitiveValue::from(s));
        match vr {
            VR::AE | VR::CS | VR::LO | VR::LT | VR::PN | VR::SH | VR::ST | VR::UC | VR::UT => {
                text(DUMMY_TEXT)
            }
            VR::DA => text(DUMMY_DATE),
            VR::TM => text(DUMMY_TIME),
            VR::DT => text(DUMMY_DATETIME),
            VR::AS => text("000D"),
            VR::DS | VR::IS => text("0"),
            VR::UI => self.map_uid(element),
            VR::US => DataElement::new(tag, vr, PrimitiveValue::from(0_u16)),
            VR::SS => DataElement::new(tag, vr, PrimitiveValue::from(0_i16)),
            VR::UL => DataElement::new(tag, vr, PrimitiveValue::from(0_u32)),
            VR::SL => DataElement::new(tag, vr, PrimitiveValue::from(0_i32)),
            VR::FL => DataElement::new(tag, vr, PrimitiveValue::from(0_f32)),
            VR::FD => DataElement::new(tag, vr, PrimitiveValue::from(0_f64)),
            // Binary and unknown values have no meaningful dummy; empty them.
            _ => empty(element),
        }
    }

    fn map_uid(&self, element: InMemElement) -> InMemElement {
        let (tag, vr) = (element.tag(), element.vr());
        let Some(values) = strings(&element) else {
            return empty(element);
        };
        let mapped: Vec<String> = values
            .iter()
            .map(|v| v.trim_matches(|c: char| c == '\0' || c == ' '))
            .filter(|v| !v.is_empty())
            .map(|v| self.keyed.uid(v))
            .collect();
        if mapped.is_empty() {
            return empty(element);
        }
        DataElement::new(tag, vr, PrimitiveValue::Strs(mapped.into()))
    }

    fn shift(&self, element: InMemElement) -> InMemElement {
        let (tag, vr) = (element.tag(), element.vr());
        let Some(values) = strings(&element) else {
            return empty(element);
        };
        let shifted: Vec<String> = values
            .iter()
            .filter(|v| !v.trim().is_empty())
            .filter_map(|v| match vr {
                VR::DT => shift_datetime(v, self.shift_days),
                _ => shift_date(v, self.shift_days),
            })
            .collect();
        if shifted.is_empty() {
            // Nothing shiftable (blank or malformed): an unshifted date must not survive.
            return empty(element);
        }
        DataElement::new(tag, vr, PrimitiveValue::Strs(shifted.into()))
    }

    fn scrub(&self, element: InMemElement) -> InMemElement {
        let vr = element.vr();
        if !matches!(
            vr,
            VR::LO | VR::LT | VR::PN | VR::SH | VR::ST | VR::UC | VR::UT
        ) || self.identifiers.is_empty()
        {
            return element;
        }
        let Some(values) = strings(&element) else {
            return element;
        };
        let mut changed = false;
        let cleaned: Vec<String> = values
            .iter()
            .map(|v| match self.identifiers.scrub(v) {
                Some(clean) => {
                    changed = true;
                    clean
                }
                None => v.clone(),
            })
            .collect();
        if !changed {
            return element;
        }
        DataElement::new(element.tag(), vr, PrimitiveValue::Strs(cleaned.into()))
    }
}

/// The attribute with a zero-length value (an empty sequence for SQ).
fn empty(element: InMemElement) -> InMemElement {
    let (tag, vr) = (element.tag(), element.vr());
    if vr == VR::SQ || matches!(element.value(), Value::Sequence(_)) {
        return DataElement::new(
            tag,
            VR::SQ,
            DataSetSequence::<InMemDicomObject>::new(Vec::new(), Length::UNDEFINED),
        );
    }
    DataElement::new(tag, vr, PrimitiveValue::Empty)
}

/// The values of a string element, `None` for binary values.
fn strings(element: &InMemElement) -> Option<Vec<String>> {
    match element.value() {
        Value::Primitive(p) => match p {
            PrimitiveValue::Str(s) => Some(vec![s.clone()]),
            PrimitiveValue::Strs(s) => Some(s.to_vec()),
            PrimitiveValue::Empty => Some(Vec::new()),
            _ => None,
        },
        _ => None,
    }
}
