//! Builds one instance of the corpus as a complete Part-10 object.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, Length, PrimitiveValue, Tag, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};

use super::CorpusSpec;
use super::manifest::{PatientEntry, SeriesEntry, StudyEntry};
use super::pixels::phantom;
use super::plan::hash;

/// Implementation Class UID written into the file meta of generated files.
const IMPLEMENTATION_CLASS_UID: &str = "2.25.188103372012936476386154330262437418593";
const IMPLEMENTATION_VERSION: &str = "ADIT_RS_TESTKIT";
/// Private creator of the private block every generated instance carries (a realistic place
/// for identifying data that de-identification must remove).
pub(super) const PRIVATE_CREATOR: &str = "ADIT-RS SYNTHETIC";

pub(super) fn instance(
    spec: &CorpusSpec,
    patient: &PatientEntry,
    study: &StudyEntry,
    series: &SeriesEntry,
    index: usize,
) -> FileDicomObject<InMemDicomObject> {
    let ct = series.modality == "CT";
    let sop_class = if ct {
        uids::CT_IMAGE_STORAGE
    } else {
        uids::MR_IMAGE_STORAGE
    };
    let sop_uid = &series.sop_instance_uids[index];
    let thickness = if ct { 1.0 } else { 5.0 };
    let z = -100.0 + index as f64 * thickness;
    let acquisition_time = format!(
        "{}{:02}",
        &study.study_time[..4],
        (index + series.series_number as usize) % 60
    );

    let mut o = InMemDicomObject::new_empty();
    let mut s = |tag: Tag, vr: VR, value: &str| {
        o.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    };
    s(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100");
    s(tags::SOP_CLASS_UID, VR::UI, sop_class);
    s(tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    s(tags::STUDY_DATE, VR::DA, &study.study_date);
    s(tags::SERIES_DATE, VR::DA, &study.study_date);
    s(tags::ACQUISITION_DATE, VR::DA, &study.study_date);
    s(tags::CONTENT_DATE, VR::DA, &study.study_date);
    s(tags::STUDY_TIME, VR::TM, &study.study_time);
    s(tags::SERIES_TIME, VR::TM, &study.study_time);
    s(tags::ACQUISITION_TIME, VR::TM, &acquisition_time);
    s(tags::CONTENT_TIME, VR::TM, &acquisition_time);
    s(tags::ACCESSION_NUMBER, VR::SH, &study.accession_number);
    s(tags::MODALITY, VR::CS, &series.modality);
    s(
        tags::MANUFACTURER,
        VR::LO,
        "ADIT-RS Synthetic Imaging Systems",
    );
    s(tags::INSTITUTION_NAME, VR::LO, &study.institution_name);
    s(
        tags::INSTITUTION_ADDRESS,
        VR::ST,
        "1 Example Street, Testville",
    );
    s(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "DOE^JANE^^DR");
    s(
        tags::STATION_NAME,
        VR::SH,
        &format!("SYN{}", &patient.patient_id[2..6]),
    );
    s(tags::STUDY_DESCRIPTION, VR::LO, &study.description);
    s(tags::SERIES_DESCRIPTION, VR::LO, &series.description);
    s(tags::PERFORMING_PHYSICIAN_NAME, VR::PN, "ROE^RICHARD");
    s(tags::OPERATORS_NAME, VR::PN, "TECH^TERRY");
    s(
        tags::MANUFACTURER_MODEL_NAME,
        VR::LO,
        if ct { "Phantom CT 64" } else { "Phantom MR 3T" },
    );
    s(tags::PATIENT_NAME, VR::PN, &patient.patient_name);
    s(tags::PATIENT_ID, VR::LO, &patient.patient_id);
    s(tags::ISSUER_OF_PATIENT_ID, VR::LO, "SYNTHETIC");
    s(tags::PATIENT_BIRTH_DATE, VR::DA, &patient.birth_date);
    s(tags::PATIENT_SEX, VR::CS, &patient.sex);
    s(
        tags::PATIENT_AGE,
        VR::AS,
        &age(&patient.birth_date, &study.study_date),
    );
    s(tags::PATIENT_WEIGHT, VR::DS, "72.5");
    s(tags::BODY_PART_EXAMINED, VR::CS, &series.body_part);
    s(tags::SLICE_THICKNESS, VR::DS, &format!("{thickness}"));
    s(tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-000042");
    s(tags::SOFTWARE_VERSIONS, VR::LO, "testkit 1.0");
    s(tags::PATIENT_POSITION, VR::CS, "HFS");
    s(tags::STUDY_INSTANCE_UID, VR::UI, &study.study_instance_uid);
    s(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &series.series_instance_uid,
    );
    s(tags::STUDY_ID, VR::SH, &study.study_id);
    s(
        tags::SERIES_NUMBER,
        VR::IS,
        &series.series_number.to_string(),
    );
    s(tags::INSTANCE_NUMBER, VR::IS, &(index + 1).to_string());
    s(
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &study.frame_of_reference_uid,
    );
    s(tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    s(tags::SLICE_LOCATION, VR::DS, &format!("{z:.1}"));
    s(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    if ct {
        s(tags::KVP, VR::DS, "120");
        s(tags::CONVOLUTION_KERNEL, VR::SH, "Br40");
        s(tags::RESCALE_INTERCEPT, VR::DS, "-1024");
        s(tags::RESCALE_SLOPE, VR::DS, "1");
        s(tags::RESCALE_TYPE, VR::LO, "HU");
        s(tags::WINDOW_CENTER, VR::DS, "40");
        s(tags::WINDOW_WIDTH, VR::DS, "400");
    } else {
        s(tags::SCANNING_SEQUENCE, VR::CS, "SE");
        s(tags::SEQUENCE_VARIANT, VR::CS, "NONE");
        s(tags::MR_ACQUISITION_TYPE, VR::CS, "2D");
        s(tags::REPETITION_TIME, VR::DS, "500");
        s(tags::ECHO_TIME, VR::DS, "15");
        s(tags::MAGNETIC_FIELD_STRENGTH, VR::DS, "3");
        s(tags::WINDOW_CENTER, VR::DS, "600");
        s(tags::WINDOW_WIDTH, VR::DS, "1200");
    }

    o.put(DataElement::new(
        tags::IMAGE_TYPE,
        VR::CS,
        dicom_value!(Strs, ["ORIGINAL", "PRIMARY", "AXIAL"]),
    ));
    o.put(DataElement::new(
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        dicom_value!(Strs, ["-150.0", "-150.0", format!("{z:.1}")]),
    ));
    o.put(DataElement::new(
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        dicom_value!(Strs, ["1", "0", "0", "0", "1", "0"]),
    ));
    let spacing = format!("{:.4}", 300.0 / f64::from(spec.columns.max(1)));
    o.put(DataElement::new(
        tags::PIXEL_SPACING,
        VR::DS,
        dicom_value!(Strs, [spacing.clone(), spacing]),
    ));
    for (tag, value) in [
        (tags::SAMPLES_PER_PIXEL, 1),
        (tags::ROWS, spec.rows),
        (tags::COLUMNS, spec.columns),
        (tags::BITS_ALLOCATED, 16),
        (tags::BITS_STORED, 12),
        (tags::HIGH_BIT, 11),
        (tags::PIXEL_REPRESENTATION, 0),
    ] {
        o.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
    }

    // Identifying data inside sequences: the request (accession, procedure ids) and, from the
    // second slice on, a reference to the series' first image (what viewers and SEG/SR use).
    let mut request = InMemDicomObject::new_empty();
    for (tag, vr, value) in [
        (
            tags::ACCESSION_NUMBER,
            VR::SH,
            study.accession_number.as_str(),
        ),
        (
            tags::REQUESTED_PROCEDURE_ID,
            VR::SH,
            study.study_id.as_str(),
        ),
        (
            tags::SCHEDULED_PROCEDURE_STEP_ID,
            VR::SH,
            study.study_id.as_str(),
        ),
        (
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            study.study_instance_uid.as_str(),
        ),
    ] {
        request.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }
    o.put(DataElement::new(
        tags::REQUEST_ATTRIBUTES_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(vec![request], Length::UNDEFINED),
    ));
    if index > 0 {
        let mut reference = InMemDicomObject::new_empty();
        reference.put(DataElement::new(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(sop_class),
        ));
        reference.put(DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(series.sop_instance_uids[0].as_str()),
        ));
        o.put(DataElement::new(
            tags::REFERENCED_IMAGE_SEQUENCE,
            VR::SQ,
            DataSetSequence::new(vec![reference], Length::UNDEFINED),
        ));
    }

    // A private block that repeats the patient ID, as some vendors do.
    o.put(DataElement::new(
        Tag(0x0009, 0x0010),
        VR::LO,
        PrimitiveValue::from(PRIVATE_CREATOR),
    ));
    o.put(DataElement::new(
        Tag(0x0009, 0x1001),
        VR::LO,
        PrimitiveValue::from(patient.patient_id.as_str()),
    ));

    let h = hash(&spec.seed, sop_uid);
    let noise_seed = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(phantom(spec.rows, spec.columns, index, ct, noise_seed)),
    ));

    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_uid.as_str())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION);
    o.with_exact_meta(build_meta(meta))
}

/// Builds the meta table. The builder only fails when a required field is missing, and every
/// required field is set above; the fallback keeps this infallible without panicking.
fn build_meta(builder: FileMetaTableBuilder) -> dicom_object::meta::FileMetaTable {
    match builder.build() {
        Ok(meta) => meta,
        Err(e) => unreachable_meta(&e.to_string()),
    }
}

#[allow(clippy::panic)] // invariant: all required meta fields are set by `instance`
fn unreachable_meta(reason: &str) -> ! {
    panic!("testkit file meta incomplete: {reason}")
}

/// PatientAge (AS) at the study date, e.g. `045Y`.
fn age(birth_date: &str, study_date: &str) -> String {
    let year = |d: &str| d.get(..4).and_then(|y| y.parse::<i32>().ok()).unwrap_or(0);
    let md = |d: &str| d.get(4..8).and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
    let mut years = year(study_date) - year(birth_date);
    if md(study_date) < md(birth_date) {
        years -= 1;
    }
    format!("{:03}Y", years.clamp(0, 999))
}
