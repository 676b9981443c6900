//! ADIT's folder layout for exported studies.
//!
//! ```text
//! <job dir>/<pseudonym or PatientID>/<StudyDate>-<StudyTime>-<modalities>/
//!     <SeriesNumber>-<SeriesDescription>/<SOPInstanceUID>.dcm
//! ```

use std::path::PathBuf;

use dicom_core::chrono::NaiveDate;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::sanitize::sanitize_filename;
use crate::model::element_string;

/// Where each instance goes below a folder (or inside an archive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderLayout {
    /// A top folder for the whole job, e.g. from [`job_dir_name`]; `None` writes the patient
    /// folders directly below the root.
    pub job_dir: Option<String>,
    /// Whether instances go into per-series folders (ADIT's `CREATE_SERIES_SUB_FOLDERS`,
    /// default on).
    pub series_subfolders: bool,
    /// The patient folder name, typically the pseudonym; `None` uses each instance's PatientID
    /// (which a pseudonymizer will already have replaced).
    pub patient_dir: Option<String>,
    /// The modalities for the study folder name, typically ModalitiesInStudy from the find
    /// minus excluded modalities. `None` uses each instance's Modality, which splits a
    /// mixed-modality study into one folder per modality.
    pub modalities: Option<Vec<String>>,
}

impl Default for FolderLayout {
    fn default() -> Self {
        Self {
            job_dir: None,
            series_subfolders: true,
            patient_dir: None,
            modalities: None,
        }
    }
}

impl FolderLayout {
    /// The default layout: no job folder, series subfolders on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts everything below a job folder.
    pub fn with_job_dir(mut self, job_dir: impl Into<String>) -> Self {
        self.job_dir = Some(job_dir.into());
        self
    }

    /// Turns series subfolders on or off.
    pub fn with_series_subfolders(mut self, on: bool) -> Self {
        self.series_subfolders = on;
        self
    }

    /// Names the patient folder (the pseudonym).
    pub fn with_patient_dir(mut self, name: impl Into<String>) -> Self {
        self.patient_dir = Some(name.into());
        self
    }

    /// Fixes the modalities in the study folder name.
    pub fn with_modalities<I, S>(mut self, modalities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.modalities = Some(modalities.into_iter().map(Into::into).collect());
        self
    }

    /// The sanitized path components for an instance, from its header (the elements before
    /// Pixel Data) and its (post-transform) SOP Instance UID.
    pub fn components(&self, header: &InMemDicomObject, sop_instance_uid: &str) -> Vec<String> {
        let mut parts = Vec::with_capacity(5);
        if let Some(job_dir) = &self.job_dir {
            parts.push(sanitize_filename(job_dir, "job"));
        }
        let patient = self
            .patient_dir
            .clone()
            .or_else(|| element_string(header, tags::PATIENT_ID));
        parts.push(sanitize_filename(
            patient.as_deref().unwrap_or_default(),
            "Unknown",
        ));
        parts.push(sanitize_filename(&self.study_folder(header), "Unknown"));
        if self.series_subfolders {
            parts.push(sanitize_filename(&series_folder(header), "Undefined"));
        }
        parts.push(format!(
            "{}.dcm",
            sanitize_filename(sop_instance_uid, "unknown")
        ));
        parts
    }

    /// The path of an instance relative to the root.
    pub fn relative_path(&self, header: &InMemDicomObject, sop_instance_uid: &str) -> PathBuf {
        self.components(header, sop_instance_uid)
            .into_iter()
            .collect()
    }

    /// `<StudyDate>-<StudyTime HHMMSS>-<modalities, comma-joined>`.
    fn study_folder(&self, header: &InMemDicomObject) -> String {
        let date = element_string(header, tags::STUDY_DATE).unwrap_or_else(|| "00000000".into());
        let time = element_string(header, tags::STUDY_TIME)
            .map(|t| whole_seconds(&t))
            .unwrap_or_else(|| "000000".into());
        let modalities = match &self.modalities {
            Some(list) if !list.is_empty() => list.join(","),
            _ => element_string(header, tags::MODALITY).unwrap_or_else(|| "Unknown".into()),
        };
        format!("{date}-{time}-{modalities}")
    }
}

/// `<SeriesNumber>-<SeriesDescription>`; the SeriesInstanceUID stands in for a missing number
/// and `Undefined` for a missing description.
fn series_folder(header: &InMemDicomObject) -> String {
    let number = element_string(header, tags::SERIES_NUMBER)
        .and_then(|n| n.parse::<i64>().ok())
        .map(|n| n.to_string())
        .or_else(|| element_string(header, tags::SERIES_INSTANCE_UID))
        .unwrap_or_else(|| "Unknown".into());
    let description =
        element_string(header, tags::SERIES_DESCRIPTION).unwrap_or_else(|| "Undefined".into());
    format!("{number}-{description}")
}

/// `HHMMSS` from a TM value (fraction dropped, missing minutes or seconds as zeros).
fn whole_seconds(time: &str) -> String {
    let digits: String = time
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    format!("{digits:0<6}")
}

/// ADIT's job folder name: `adit_<app>_<job id>_<YYYYMMDD>_<username>`, sanitized.
pub fn job_dir_name(app_label: &str, job_id: i64, created: NaiveDate, username: &str) -> String {
    sanitize_filename(
        &format!(
            "adit_{app_label}_{job_id}_{}_{username}",
            created.format("%Y%m%d")
        ),
        "adit_job",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, VR};

    fn header(elements: &[(dicom_core::Tag, VR, &str)]) -> InMemDicomObject {
        InMemDicomObject::from_element_iter(
            elements
                .iter()
                .map(|(tag, vr, value)| DataElement::new(*tag, *vr, *value)),
        )
    }

    fn full() -> InMemDicomObject {
        header(&[
            (tags::PATIENT_ID, VR::LO, "1001"),
            (tags::STUDY_DATE, VR::DA, "20190604"),
            (tags::STUDY_TIME, VR::TM, "182823.123"),
            (tags::MODALITY, VR::CS, "CT"),
            (tags::SERIES_NUMBER, VR::IS, "+2"),
            (tags::SERIES_DESCRIPTION, VR::LO, "Kopf nativ 5.0 H42s"),
            (tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3"),
        ])
    }

    #[test]
    fn follows_adit_layout() {
        let layout = FolderLayout::new()
            .with_job_dir(job_dir_name(
                "batch_transfer",
                12,
                NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                "jdoe",
            ))
            .with_modalities(["CT", "SR"]);
        assert_eq!(
            layout.relative_path(&full(), "1.2.3.4"),
            PathBuf::from(
                "adit_batch_transfer_12_20250101_jdoe/1001/20190604-182823-CT,SR/2-Kopf nativ 5.0 H42s/1.2.3.4.dcm"
            )
        );
    }

    #[test]
    fn pseudonym_modality_and_subfolder_options() {
        let layout = FolderLayout::new()
            .with_patient_dir("PSEUDO/1")
            .with_series_subfolders(false);
        assert_eq!(
            layout.components(&full(), "9.9"),
            ["PSEUDO_1", "20190604-182823-CT", "9.9.dcm"]
        );
    }

    #[test]
    fn missing_values_get_placeholders() {
        let sparse = header(&[
            (tags::STUDY_TIME, VR::TM, "0930"),
            (tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3"),
        ]);
        assert_eq!(
            FolderLayout::new().components(&sparse, "4.5"),
            [
                "Unknown",
                "00000000-093000-Unknown",
                "1.2.3-Undefined",
                "4.5.dcm"
            ]
        );
    }

    #[test]
    fn hostile_values_stay_inside_their_folder() {
        let hostile = header(&[
            (tags::PATIENT_ID, VR::LO, ".."),
            (tags::SERIES_DESCRIPTION, VR::LO, "../../etc/passwd"),
            (tags::SERIES_NUMBER, VR::IS, "1"),
        ]);
        let path = FolderLayout::new().relative_path(&hostile, "1.2");
        assert!(
            path.components()
                .all(|c| matches!(c, std::path::Component::Normal(_))),
            "{path:?}"
        );
        assert_eq!(path.components().count(), 4);
    }
}
