//! Rule-by-rule tests of the pseudonymizer on synthetic objects.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, Length, PrimitiveValue, Tag, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;

use super::*;
use crate::model::{element_string, element_strings};

const PID: &str = "PID-4711";

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

/// A CT-like data set with identifying values at the top, in sequences and in private tags.
fn sample() -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        DataElement::new(Tag(0x0008, 0x0000), VR::UL, PrimitiveValue::from(1234_u32)),
        DataElement::new(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5.6"),
        DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3.4"),
        DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4.5"),
        DataElement::new(tags::FRAME_OF_REFERENCE_UID, VR::UI, "1.2.3.9"),
        DataElement::new(tags::STUDY_DATE, VR::DA, "20200115"),
        DataElement::new(tags::STUDY_TIME, VR::TM, "101500"),
        DataElement::new(tags::INSTANCE_CREATION_DATE, VR::DA, "20200116"),
        DataElement::new(tags::ACQUISITION_DATE_TIME, VR::DT, "20200115101700.5+0100"),
        DataElement::new(tags::ACCESSION_NUMBER, VR::SH, "ACC123"),
        DataElement::new(tags::MODALITY, VR::CS, "CT"),
        DataElement::new(tags::INSTITUTION_NAME, VR::LO, "St. Example Hospital"),
        DataElement::new(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "DOE^JANE"),
        DataElement::new(tags::STATION_NAME, VR::SH, "CT01"),
        DataElement::new(tags::STUDY_DESCRIPTION, VR::LO, "CT Thorax"),
        DataElement::new(tags::SERIES_DESCRIPTION, VR::LO, "Thorax for Mueller"),
        seq(
            tags::REFERENCED_IMAGE_SEQUENCE,
            vec![item(vec![
                DataElement::new(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    uids::CT_IMAGE_STORAGE,
                ),
                DataElement::new(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5.1"),
            ])],
        ),
        seq(
            tags::REQUEST_ATTRIBUTES_SEQUENCE,
            vec![item(vec![
                DataElement::new(tags::ACCESSION_NUMBER, VR::SH, "ACC123"),
                DataElement::new(tags::REQUESTED_PROCEDURE_DESCRIPTION, VR::LO, "for MUELLER"),
                DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3.4"),
            ])],
        ),
        seq(
            tags::CONTENT_SEQUENCE,
            vec![item(vec![
                DataElement::new(tags::TEXT_VALUE, VR::UT, "Patient Mueller, ID PID-4711"),
                DataElement::new(tags::PERSON_NAME, VR::PN, "ROE^RICHARD"),
            ])],
        ),
        DataElement::new(tags::PATIENT_NAME, VR::PN, "MUELLER^ANNA"),
        DataElement::new(tags::PATIENT_ID, VR::LO, PID),
        DataElement::new(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
        DataElement::new(tags::PATIENT_SEX, VR::CS, "F"),
        DataElement::new(tags::PATIENT_AGE, VR::AS, "050Y"),
        DataElement::new(tags::PATIENT_WEIGHT, VR::DS, "70"),
        DataElement::new(Tag(0x0009, 0x0010), VR::LO, "VENDOR"),
        DataElement::new(Tag(0x0009, 0x1001), VR::LO, PID),
        DataElement::new(tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-1"),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2_u16)),
        DataElement::new(
            Tag(0x6000, 0x3000),
            VR::OW,
            PrimitiveValue::from(vec![0_u8; 4]),
        ),
    ])
}

fn run(config: PseudonymizerConfig) -> (Pseudonymizer, InMemDicomObject) {
    let p = Pseudonymizer::new(config).unwrap();
    let mut object = sample();
    p.pseudonymize_data_set(&mut object);
    (p, object)
}

fn s(object: &InMemDicomObject, tag: Tag) -> Option<String> {
    element_string(object, tag)
}

fn items(object: &InMemDicomObject, tag: Tag) -> Vec<InMemDicomObject> {
    object
        .get(tag)
        .and_then(|e| e.items())
        .map(<[InMemDicomObject]>::to_vec)
        .unwrap_or_default()
}

#[test]
fn basic_profile_removes_blanks_replaces_and_maps() {
    let (p, o) = run(PseudonymizerConfig::basic(secret("k")).with_pseudonym("SUBJ-1"));
    // Pseudonym in PatientID and PatientName.
    assert_eq!(s(&o, tags::PATIENT_ID).as_deref(), Some("SUBJ-1"));
    assert_eq!(s(&o, tags::PATIENT_NAME).as_deref(), Some("SUBJ-1"));
    // Z: present and empty.
    for tag in [
        tags::PATIENT_BIRTH_DATE,
        tags::ACCESSION_NUMBER,
        tags::STUDY_DATE,
        tags::STUDY_TIME,
    ] {
        assert!(o.get(tag).is_some(), "{tag} kept as empty");
        assert_eq!(s(&o, tag), None, "{tag} empty");
    }
    // X: removed (also age, weight and sex-less characteristics), private and overlay data.
    for tag in [
        tags::PATIENT_AGE,
        tags::PATIENT_WEIGHT,
        tags::SERIES_DESCRIPTION,
        tags::STUDY_DESCRIPTION,
        tags::REQUEST_ATTRIBUTES_SEQUENCE,
        Tag(0x0009, 0x0010),
        Tag(0x0009, 0x1001),
        Tag(0x6000, 0x3000),
        Tag(0x0008, 0x0000),
    ] {
        assert!(o.get(tag).is_none(), "{tag} removed");
    }
    // Z for PatientSex (characteristics not retained).
    assert_eq!(s(&o, tags::PATIENT_SEX), None);
    // X/Z/D: dummies.
    assert_eq!(s(&o, tags::INSTITUTION_NAME).as_deref(), Some("ANONYMIZED"));
    assert_eq!(
        s(&o, tags::DEVICE_SERIAL_NUMBER).as_deref(),
        Some("ANONYMIZED")
    );
    assert_eq!(
        s(&o, tags::INSTANCE_CREATION_DATE).as_deref(),
        Some("19000101")
    );
    // U: keyed mapping, also inside sequences; class UIDs stay.
    assert_eq!(s(&o, tags::STUDY_INSTANCE_UID), Some(p.map_uid("1.2.3.4")));
    assert_eq!(
        s(&o, tags::SOP_INSTANCE_UID),
        Some(p.map_uid("1.2.3.4.5.6"))
    );
    assert_eq!(
        s(&o, tags::FRAME_OF_REFERENCE_UID),
        Some(p.map_uid("1.2.3.9"))
    );
    assert_eq!(
        s(&o, tags::SOP_CLASS_UID).as_deref(),
        Some(uids::CT_IMAGE_STORAGE)
    );
    let refs = items(&o, tags::REFERENCED_IMAGE_SEQUENCE);
    assert_eq!(refs.len(), 1);
    assert_eq!(
        s(&refs[0], tags::REFERENCED_SOP_INSTANCE_UID),
        Some(p.map_uid("1.2.3.4.5.1"))
    );
    assert_eq!(
        s(&refs[0], tags::REFERENCED_SOP_CLASS_UID).as_deref(),
        Some(uids::CT_IMAGE_STORAGE)
    );
    // D on a sequence: kept, its content cleaned (names dummied, identifying words out).
    let content = items(&o, tags::CONTENT_SEQUENCE);
    assert_eq!(
        s(&content[0], tags::PERSON_NAME).as_deref(),
        Some("ANONYMIZED")
    );
    assert_eq!(
        s(&content[0], tags::TEXT_VALUE).as_deref(),
        Some("Patient ***, ID ***")
    );
    // Not in the table: kept.
    assert_eq!(s(&o, tags::MODALITY).as_deref(), Some("CT"));
    assert!(o.get(tags::ROWS).is_some());
    // Marks.
    assert_eq!(
        s(&o, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
        Some("YES")
    );
    assert_eq!(
        s(&o, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
        Some("REMOVED")
    );
}

#[test]
fn shifted_dates_move_by_the_patients_days_and_times_stay() {
    let (p, o) = run(PseudonymizerConfig::basic(secret("k")).with_dates(DateHandling::Shift));
    let days = p.date_shift_days(PID);
    assert_ne!(days, 0);
    let expect = |d: &str| dates::shift_date(d, days);
    assert_eq!(s(&o, tags::STUDY_DATE), expect("20200115"));
    assert_eq!(s(&o, tags::INSTANCE_CREATION_DATE), expect("20200116"));
    assert_eq!(s(&o, tags::STUDY_TIME).as_deref(), Some("101500"));
    let dt = s(&o, tags::ACQUISITION_DATE_TIME).unwrap();
    assert_eq!(Some(dt[..8].to_owned()), expect("20200115"));
    assert_eq!(&dt[8..], "101700.5+0100");
    // The birth date is not longitudinal temporal information: blanked.
    assert_eq!(s(&o, tags::PATIENT_BIRTH_DATE), None);
    assert_eq!(
        s(&o, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
        Some("MODIFIED")
    );
    // A derived pseudonym, the same as derive_pseudonym.
    assert_eq!(
        s(&o, tags::PATIENT_ID),
        Some(derive_pseudonym(&secret("k"), PID))
    );
}

#[test]
fn options_keep_what_they_name() {
    let options = ProfileOptions {
        dates: DateHandling::Keep,
        retain_patient_characteristics: true,
        retain_device_identity: true,
        retain_institution_identity: true,
        retain_uids: true,
        clean_descriptors: true,
    };
    let (_, o) = run(PseudonymizerConfig::basic(secret("k")).with_options(options));
    assert_eq!(s(&o, tags::STUDY_DATE).as_deref(), Some("20200115"));
    assert_eq!(s(&o, tags::PATIENT_SEX).as_deref(), Some("F"));
    assert_eq!(s(&o, tags::PATIENT_AGE).as_deref(), Some("050Y"));
    assert_eq!(s(&o, tags::DEVICE_SERIAL_NUMBER).as_deref(), Some("SN-1"));
    assert_eq!(s(&o, tags::STATION_NAME).as_deref(), Some("CT01"));
    assert_eq!(
        s(&o, tags::INSTITUTION_NAME).as_deref(),
        Some("St. Example Hospital")
    );
    assert_eq!(s(&o, tags::STUDY_INSTANCE_UID).as_deref(), Some("1.2.3.4"));
    // Clean Descriptors: descriptions kept without identifying words.
    assert_eq!(s(&o, tags::STUDY_DESCRIPTION).as_deref(), Some("CT Thorax"));
    assert_eq!(
        s(&o, tags::SERIES_DESCRIPTION).as_deref(),
        Some("Thorax for ***")
    );
    let request = items(&o, tags::REQUEST_ATTRIBUTES_SEQUENCE);
    assert_eq!(request.len(), 1, "cleaned, not removed");
    assert_eq!(s(&request[0], tags::ACCESSION_NUMBER), None);
    assert_eq!(
        s(&request[0], tags::REQUESTED_PROCEDURE_DESCRIPTION).as_deref(),
        Some("for ***")
    );
    // Still no names or private data.
    assert_eq!(s(&o, tags::REFERRING_PHYSICIAN_NAME), None);
    assert!(o.get(Tag(0x0009, 0x1001)).is_none());
    let codes: Vec<String> = items(&o, tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .iter()
        .filter_map(|i| s(i, tags::CODE_VALUE))
        .collect();
    assert_eq!(
        codes,
        [
            "113100", "113105", "113106", "113108", "113109", "113110", "113112"
        ]
    );
}

#[test]
fn adit_preset_keeps_study_dates_sets_trial_tags_and_xnat_comment() {
    let config = PseudonymizerConfig::adit(secret("k"))
        .with_pseudonym("SUBJ-1")
        .with_trial(Some("TRIAL".into()), Some("Trial name".into()));
    let (p, o) = run(config);
    assert_eq!(s(&o, tags::STUDY_DATE).as_deref(), Some("20200115"));
    assert_eq!(s(&o, tags::STUDY_TIME).as_deref(), Some("101500"));
    assert_eq!(
        s(&o, tags::ACQUISITION_DATE_TIME).as_deref(),
        Some("20200115101700.5+0100")
    );
    assert_eq!(
        s(&o, tags::INSTANCE_CREATION_DATE),
        dates::shift_date("20200116", p.date_shift_days(PID))
    );
    assert_eq!(
        s(&o, tags::CLINICAL_TRIAL_PROTOCOL_ID).as_deref(),
        Some("TRIAL")
    );
    assert_eq!(
        s(&o, tags::CLINICAL_TRIAL_PROTOCOL_NAME).as_deref(),
        Some("Trial name")
    );
    assert_eq!(
        s(&o, tags::PATIENT_COMMENTS).as_deref(),
        Some("Project:TRIAL Subject:SUBJ-1 Session:SUBJ-1_20200115-101500")
    );
    assert_eq!(s(&o, tags::PATIENT_SEX).as_deref(), Some("F"));
    assert_eq!(s(&o, tags::STUDY_INSTANCE_UID), Some(p.map_uid("1.2.3.4")));
    assert!(element_strings(&o, tags::DEIDENTIFICATION_METHOD)[0].starts_with("ADIT-RS adit"));
}

#[test]
fn non_ascii_values_switch_to_utf8() {
    let (_, o) = run(PseudonymizerConfig::basic(secret("k")).with_pseudonym("Süd-01"));
    assert_eq!(
        s(&o, tags::SPECIFIC_CHARACTER_SET).as_deref(),
        Some("ISO_IR 192")
    );
    assert_eq!(s(&o, tags::PATIENT_NAME).as_deref(), Some("Süd-01"));
}

#[test]
fn multi_valued_uids_and_dates_are_mapped_value_by_value() {
    let p =
        Pseudonymizer::new(PseudonymizerConfig::basic(secret("k")).with_dates(DateHandling::Shift))
            .unwrap();
    let mut o = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::FAILED_SOP_INSTANCE_UID_LIST,
            VR::UI,
            dicom_value!(Strs, ["1.2.1", "1.2.2"]),
        ),
        DataElement::new(
            tags::STUDY_DATE,
            VR::DA,
            dicom_value!(Strs, ["20200101", "garbage"]),
        ),
        DataElement::new(tags::SERIES_DATE, VR::DA, "not a date"),
    ]);
    p.pseudonymize_data_set(&mut o);
    assert_eq!(
        element_strings(&o, tags::FAILED_SOP_INSTANCE_UID_LIST),
        [p.map_uid("1.2.1"), p.map_uid("1.2.2")]
    );
    let days = p.date_shift_days("");
    assert_eq!(
        element_strings(&o, tags::STUDY_DATE),
        [dates::shift_date("20200101", days).unwrap()]
    );
    assert_eq!(
        s(&o, tags::SERIES_DATE),
        None,
        "unshiftable dates are blanked"
    );
}

#[test]
fn deeply_nested_sequences_are_bounded() {
    let mut inner = item(vec![DataElement::new(tags::PATIENT_ID, VR::LO, PID)]);
    for _ in 0..100 {
        inner = item(vec![seq(tags::REFERENCED_SERIES_SEQUENCE, vec![inner])]);
    }
    let p = Pseudonymizer::new(PseudonymizerConfig::basic(secret("k"))).unwrap();
    p.pseudonymize_data_set(&mut inner);
    let mut depth = 0;
    let mut current = inner;
    while let Some(next) = items(&current, tags::REFERENCED_SERIES_SEQUENCE).pop() {
        assert_ne!(s(&next, tags::PATIENT_ID).as_deref(), Some(PID));
        current = next;
        depth += 1;
    }
    assert!(depth <= 33, "walk stops at the depth limit, got {depth}");
}

/// The fast path (head decoded, pixels copied) and the full decode give the same result.
#[test]
fn fast_and_full_paths_agree() {
    let mut object = sample();
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16([1, 2, 3, 4].into_iter().collect()),
    ));
    for ts in [
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
    ] {
        let bytes = Instance::from_dataset_object(object.clone(), ts)
            .unwrap()
            .to_part10()
            .unwrap();
        let p = Pseudonymizer::new(PseudonymizerConfig::adit(secret("k"))).unwrap();
        let mut fast = Instance::from_part10(bytes.clone()).unwrap();
        p.pseudonymize(&mut fast).unwrap();
        assert!(!fast.is_decoded(), "fast path keeps bytes");
        let mut full = Instance::from_part10(bytes).unwrap();
        full.object().unwrap();
        p.pseudonymize(&mut full).unwrap();
        assert_eq!(fast.sop_instance_uid(), p.map_uid("1.2.3.4.5.6"));
        assert_eq!(full.sop_instance_uid(), fast.sop_instance_uid());
        let a = Instance::from_part10(fast.to_part10().unwrap())
            .unwrap()
            .into_object()
            .unwrap();
        let b = Instance::from_part10(full.to_part10().unwrap())
            .unwrap()
            .into_object()
            .unwrap();
        assert_eq!(
            a.meta().media_storage_sop_instance_uid(),
            b.meta().media_storage_sop_instance_uid()
        );
        let tags_a: Vec<Tag> = a.tags().collect();
        let tags_b: Vec<Tag> = b.tags().collect();
        assert_eq!(tags_a, tags_b, "{ts}");
        for tag in tags_a {
            let (ea, eb) = (a.get(tag).unwrap(), b.get(tag).unwrap());
            if ea.items().is_none() {
                assert_eq!(
                    ea.value().to_bytes().ok(),
                    eb.value().to_bytes().ok(),
                    "{tag}"
                );
            }
        }
    }
}
