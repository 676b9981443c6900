//! De-identification marks: Patient Identity Removed, De-identification Method (and its code
//! sequence, CID 7050) and Longitudinal Temporal Information Modified.

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::config::{DateHandling, Profile, ProfileOptions};
use crate::model::element_strings;

/// A code of CID 7050 (De-identification Method), scheme `DCM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodCode {
    /// Code Value, e.g. `113100`.
    pub value: &'static str,
    /// Code Meaning.
    pub meaning: &'static str,
}

const BASIC: MethodCode = MethodCode {
    value: "113100",
    meaning: "Basic Application Confidentiality Profile",
};
const CLEAN_DESCRIPTORS: MethodCode = MethodCode {
    value: "113105",
    meaning: "Clean Descriptors Option",
};
const FULL_DATES: MethodCode = MethodCode {
    value: "113106",
    meaning: "Retain Longitudinal Temporal Information Full Dates Option",
};
const MODIFIED_DATES: MethodCode = MethodCode {
    value: "113107",
    meaning: "Retain Longitudinal Temporal Information Modified Dates Option",
};
const PATIENT_CHARACTERISTICS: MethodCode = MethodCode {
    value: "113108",
    meaning: "Retain Patient Characteristics Option",
};
const DEVICE_IDENTITY: MethodCode = MethodCode {
    value: "113109",
    meaning: "Retain Device Identity Option",
};
const UIDS: MethodCode = MethodCode {
    value: "113110",
    meaning: "Retain UIDs Option",
};
const INSTITUTION_IDENTITY: MethodCode = MethodCode {
    value: "113112",
    meaning: "Retain Institution Identity Option",
};

/// The codes naming the profile and every option applied.
pub fn method_codes(profile: Profile, options: &ProfileOptions) -> Vec<MethodCode> {
    let mut codes = vec![BASIC];
    if options.clean_descriptors {
        codes.push(CLEAN_DESCRIPTORS);
    }
    // The ADIT preset keeps the study, series, acquisition and content dates in full.
    if options.dates == DateHandling::Keep || profile == Profile::Adit {
        codes.push(FULL_DATES);
    }
    if options.dates == DateHandling::Shift {
        codes.push(MODIFIED_DATES);
    }
    for (on, code) in [
        (
            options.retain_patient_characteristics,
            PATIENT_CHARACTERISTICS,
        ),
        (options.retain_device_identity, DEVICE_IDENTITY),
        (options.retain_uids, UIDS),
        (options.retain_institution_identity, INSTITUTION_IDENTITY),
    ] {
        if on {
            codes.push(code);
        }
    }
    codes
}

/// The De-identification Method text we add: tool, profile and options (LO, ≤ 64 chars).
pub(super) fn method_text(profile: Profile, options: &ProfileOptions) -> String {
    let codes: Vec<&str> = method_codes(profile, options)
        .iter()
        .map(|c| c.value)
        .collect();
    format!("ADIT-RS {} {}", profile.name(), codes.join(" "))
}

/// Adds the marks to a pseudonymized data set. Earlier methods (from a previous
/// de-identification) are kept in front of ours.
pub(super) fn add_marks(object: &mut InMemDicomObject, profile: Profile, options: &ProfileOptions) {
    object.put(DataElement::new(
        tags::PATIENT_IDENTITY_REMOVED,
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    let mut methods = element_strings(object, tags::DEIDENTIFICATION_METHOD);
    methods.push(method_text(profile, options));
    object.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD,
        VR::LO,
        PrimitiveValue::Strs(methods.into()),
    ));
    let mut items: Vec<InMemDicomObject> = object
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .and_then(|e| e.items())
        .map(<[InMemDicomObject]>::to_vec)
        .unwrap_or_default();
    items.extend(method_codes(profile, options).into_iter().map(|code| {
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(code.value)),
            DataElement::new(
                tags::CODING_SCHEME_DESIGNATOR,
                VR::SH,
                PrimitiveValue::from("DCM"),
            ),
            DataElement::new(
                tags::CODE_MEANING,
                VR::LO,
                PrimitiveValue::from(code.meaning),
            ),
        ])
    }));
    object.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(items, Length::UNDEFINED),
    ));
    let temporal = match (options.dates, profile) {
        (DateHandling::Keep, _) => "UNMODIFIED",
        (DateHandling::Shift, _) => "MODIFIED",
        (DateHandling::Remove, Profile::Adit) => "MODIFIED",
        (DateHandling::Remove, Profile::Basic) => "REMOVED",
    };
    object.put(DataElement::new(
        tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
        VR::CS,
        PrimitiveValue::from(temporal),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::element_string;

    #[test]
    fn codes_name_profile_and_options() {
        let plain = method_codes(Profile::Basic, &ProfileOptions::default());
        assert_eq!(plain, [BASIC]);
        let adit = method_codes(Profile::Adit, &ProfileOptions::adit());
        let values: Vec<&str> = adit.iter().map(|c| c.value).collect();
        assert_eq!(values, ["113100", "113105", "113106", "113107", "113108"]);
        assert!(method_text(Profile::Adit, &ProfileOptions::adit()).len() <= 64);
    }

    #[test]
    fn marks_are_added_and_earlier_methods_kept() {
        let mut object = InMemDicomObject::from_element_iter([DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            "DICOGNITO",
        )]);
        add_marks(&mut object, Profile::Basic, &ProfileOptions::default());
        assert_eq!(
            element_string(&object, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
            Some("YES")
        );
        assert_eq!(
            element_strings(&object, tags::DEIDENTIFICATION_METHOD),
            ["DICOGNITO", "ADIT-RS basic 113100"]
        );
        let items = object
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .unwrap()
            .items()
            .unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            element_string(&items[0], tags::CODE_VALUE).as_deref(),
            Some("113100")
        );
        assert_eq!(
            element_string(&object, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
            Some("REMOVED")
        );
    }
}
