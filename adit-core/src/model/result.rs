//! Query results: one matched record (patient, study, series or instance).

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::level::QueryLevel;

/// One record returned by a find: the identifier a PACS sent back (C-FIND pending response,
/// one QIDO-RS JSON object) or one aggregated from files.
///
/// The getters trim DICOM padding and return `None` for absent or empty attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult(InMemDicomObject);

impl QueryResult {
    /// Wraps an identifier.
    pub fn new(identifier: InMemDicomObject) -> Self {
        Self(identifier)
    }

    /// The identifier.
    pub fn as_object(&self) -> &InMemDicomObject {
        &self.0
    }

    /// The identifier, mutable (e.g. to add a pseudonym column before export).
    pub fn as_object_mut(&mut self) -> &mut InMemDicomObject {
        &mut self.0
    }

    /// Unwraps the identifier.
    pub fn into_inner(self) -> InMemDicomObject {
        self.0
    }

    /// A string attribute, trimmed; multiple values joined with `\`.
    pub fn string(&self, tag: Tag) -> Option<String> {
        element_string(&self.0, tag)
    }

    /// All values of a multi-valued string attribute, trimmed, empty values left out.
    pub fn strings(&self, tag: Tag) -> Vec<String> {
        element_strings(&self.0, tag)
    }

    /// An integer string attribute (IS), parsed; `None` if absent or not an integer.
    pub fn integer(&self, tag: Tag) -> Option<i64> {
        self.string(tag).and_then(|s| s.trim().parse().ok())
    }

    /// QueryRetrieveLevel, if the record carries it.
    pub fn level(&self) -> Option<QueryLevel> {
        self.string(tags::QUERY_RETRIEVE_LEVEL)?.parse().ok()
    }

    /// PatientID.
    pub fn patient_id(&self) -> Option<String> {
        self.string(tags::PATIENT_ID)
    }

    /// PatientName in DICOM form (`Family^Given^Middle^Prefix^Suffix`).
    pub fn patient_name(&self) -> Option<String> {
        self.string(tags::PATIENT_NAME)
    }

    /// PatientBirthDate (`YYYYMMDD`).
    pub fn patient_birth_date(&self) -> Option<String> {
        self.string(tags::PATIENT_BIRTH_DATE)
    }

    /// PatientSex.
    pub fn patient_sex(&self) -> Option<String> {
        self.string(tags::PATIENT_SEX)
    }

    /// StudyInstanceUID.
    pub fn study_instance_uid(&self) -> Option<String> {
        self.string(tags::STUDY_INSTANCE_UID)
    }

    /// AccessionNumber (leading zeros kept).
    pub fn accession_number(&self) -> Option<String> {
        self.string(tags::ACCESSION_NUMBER)
    }

    /// StudyDate (`YYYYMMDD`).
    pub fn study_date(&self) -> Option<String> {
        self.string(tags::STUDY_DATE)
    }

    /// StudyTime (`HHMMSS[.ffffff]`).
    pub fn study_time(&self) -> Option<String> {
        self.string(tags::STUDY_TIME)
    }

    /// StudyDescription.
    pub fn study_description(&self) -> Option<String> {
        self.string(tags::STUDY_DESCRIPTION)
    }

    /// ModalitiesInStudy, one entry per value.
    pub fn modalities(&self) -> Vec<String> {
        self.strings(tags::MODALITIES_IN_STUDY)
    }

    /// NumberOfStudyRelatedSeries.
    pub fn number_of_study_related_series(&self) -> Option<i64> {
        self.integer(tags::NUMBER_OF_STUDY_RELATED_SERIES)
    }

    /// NumberOfStudyRelatedInstances.
    pub fn number_of_study_related_instances(&self) -> Option<i64> {
        self.integer(tags::NUMBER_OF_STUDY_RELATED_INSTANCES)
    }

    /// SeriesInstanceUID.
    pub fn series_instance_uid(&self) -> Option<String> {
        self.string(tags::SERIES_INSTANCE_UID)
    }

    /// SeriesNumber, as an integer (so `+4` and `4` are equal).
    pub fn series_number(&self) -> Option<i64> {
        self.integer(tags::SERIES_NUMBER)
    }

    /// SeriesDescription.
    pub fn series_description(&self) -> Option<String> {
        self.string(tags::SERIES_DESCRIPTION)
    }

    /// Modality (series level).
    pub fn modality(&self) -> Option<String> {
        self.string(tags::MODALITY)
    }

    /// NumberOfSeriesRelatedInstances.
    pub fn number_of_series_related_instances(&self) -> Option<i64> {
        self.integer(tags::NUMBER_OF_SERIES_RELATED_INSTANCES)
    }

    /// SOPInstanceUID.
    pub fn sop_instance_uid(&self) -> Option<String> {
        self.string(tags::SOP_INSTANCE_UID)
    }

    /// SOPClassUID.
    pub fn sop_class_uid(&self) -> Option<String> {
        self.string(tags::SOP_CLASS_UID)
    }

    /// InstanceNumber.
    pub fn instance_number(&self) -> Option<i64> {
        self.integer(tags::INSTANCE_NUMBER)
    }
}

impl From<InMemDicomObject> for QueryResult {
    fn from(identifier: InMemDicomObject) -> Self {
        Self(identifier)
    }
}

impl From<QueryResult> for InMemDicomObject {
    fn from(result: QueryResult) -> Self {
        result.0
    }
}

/// A string attribute of `obj`, trimmed of padding; `None` if absent, empty or not a string.
pub(crate) fn element_string(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let value = obj.get(tag)?.value().to_str().ok()?;
    let trimmed = value.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The values of a string attribute of `obj`, each trimmed, empty ones left out.
pub(crate) fn element_strings(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    let Some(elem) = obj.get(tag) else {
        return Vec::new();
    };
    let Ok(values) = elem.value().to_multi_str() else {
        return Vec::new();
    };
    values
        .iter()
        .map(|v| v.trim_matches(|c: char| c == '\0' || c.is_whitespace()))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::C;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    #[test]
    fn typed_getters_trim_padding_and_parse_numbers() {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(tags::PATIENT_ID, VR::LO, "0042 "));
        obj.put(DataElement::new(tags::SERIES_NUMBER, VR::IS, "+4 "));
        obj.put(DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            "1.2.3\0",
        ));
        obj.put(DataElement::new(tags::STUDY_DESCRIPTION, VR::LO, "  "));
        obj.put(DataElement::new(
            tags::MODALITIES_IN_STUDY,
            VR::CS,
            PrimitiveValue::Strs(C::from_vec(vec!["CT".into(), "SR ".into(), "".into()])),
        ));
        obj.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            "SERIES",
        ));
        let r = QueryResult::from(obj);
        assert_eq!(r.patient_id().as_deref(), Some("0042"));
        assert_eq!(r.series_number(), Some(4));
        assert_eq!(r.study_instance_uid().as_deref(), Some("1.2.3"));
        assert_eq!(r.study_description(), None);
        assert_eq!(r.modalities(), ["CT", "SR"]);
        assert_eq!(r.level(), Some(QueryLevel::Series));
        assert_eq!(r.patient_name(), None);
    }
}
