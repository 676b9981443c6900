//! Query/Retrieve levels.

use std::fmt;
use std::str::FromStr;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The Query/Retrieve level of a query, as sent in QueryRetrieveLevel (0008,0052).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QueryLevel {
    /// One record per patient.
    Patient,
    /// One record per study.
    Study,
    /// One record per series.
    Series,
    /// One record per instance (composite object). DICOM calls this level `IMAGE`.
    Image,
}

impl QueryLevel {
    /// All levels from the top of the hierarchy down.
    pub const ALL: [QueryLevel; 4] = [Self::Patient, Self::Study, Self::Series, Self::Image];

    /// The code string sent in QueryRetrieveLevel: `PATIENT`, `STUDY`, `SERIES` or `IMAGE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "PATIENT",
            Self::Study => "STUDY",
            Self::Series => "SERIES",
            Self::Image => "IMAGE",
        }
    }

    /// The unique key of a record at this level (PatientID, StudyInstanceUID, ...).
    pub fn unique_key(self) -> Tag {
        match self {
            Self::Patient => tags::PATIENT_ID,
            Self::Study => tags::STUDY_INSTANCE_UID,
            Self::Series => tags::SERIES_INSTANCE_UID,
            Self::Image => tags::SOP_INSTANCE_UID,
        }
    }

    /// The return keys ADIT always asks for at this level, by keyword.
    ///
    /// These are the attributes a result needs to be shown and transferred; they are added
    /// with [`crate::model::Query::with_default_return_keys`].
    pub fn default_return_keys(self) -> &'static [&'static str] {
        match self {
            Self::Patient => &[
                "PatientID",
                "PatientName",
                "PatientBirthDate",
                "PatientSex",
                "NumberOfPatientRelatedStudies",
            ],
            Self::Study => &[
                "PatientID",
                "PatientName",
                "PatientBirthDate",
                "StudyInstanceUID",
                "AccessionNumber",
                "StudyDate",
                "StudyTime",
                "StudyDescription",
                "ModalitiesInStudy",
                "NumberOfStudyRelatedSeries",
                "NumberOfStudyRelatedInstances",
            ],
            Self::Series => &[
                "PatientID",
                "StudyInstanceUID",
                "SeriesInstanceUID",
                "SeriesDescription",
                "SeriesNumber",
                "Modality",
                "NumberOfSeriesRelatedInstances",
            ],
            Self::Image => &[
                "PatientID",
                "StudyInstanceUID",
                "SeriesInstanceUID",
                "SOPInstanceUID",
                "SOPClassUID",
                "InstanceNumber",
                "InstanceAvailability",
            ],
        }
    }
}

impl fmt::Display for QueryLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QueryLevel {
    type Err = Error;

    /// Parses `PATIENT`, `STUDY`, `SERIES`, `IMAGE` (any case; `INSTANCE` is accepted for IMAGE).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PATIENT" => Ok(Self::Patient),
            "STUDY" => Ok(Self::Study),
            "SERIES" => Ok(Self::Series),
            "IMAGE" | "INSTANCE" => Ok(Self::Image),
            _ => Err(Error::invalid_query(
                "QueryRetrieveLevel",
                format!("`{s}` is not one of PATIENT, STUDY, SERIES, IMAGE"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_levels() {
        for level in QueryLevel::ALL {
            assert_eq!(level.as_str().parse::<QueryLevel>().unwrap(), level);
        }
        assert_eq!("study".parse::<QueryLevel>().unwrap(), QueryLevel::Study);
        assert_eq!("INSTANCE".parse::<QueryLevel>().unwrap(), QueryLevel::Image);
        let err = "FRAME".parse::<QueryLevel>().unwrap_err();
        assert!(err.to_string().contains("FRAME"));
    }

    #[test]
    fn levels_are_ordered_top_down_and_serialize_as_dicom_codes() {
        assert!(QueryLevel::Patient < QueryLevel::Image);
        assert_eq!(
            serde_json::to_string(&QueryLevel::Series).unwrap(),
            "\"SERIES\""
        );
    }
}
