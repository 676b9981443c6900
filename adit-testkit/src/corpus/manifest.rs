//! The manifest: what a corpus contains, as plain data (also written as `manifest.json`).

use serde::{Deserialize, Serialize};

/// Everything a corpus contains, down to each SOP Instance UID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The seed the corpus was generated from.
    pub seed: String,
    /// Short hex tag derived from the seed; part of every PatientID and AccessionNumber.
    pub tag: String,
    /// The patients.
    pub patients: Vec<PatientEntry>,
}

/// One patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientEntry {
    /// PatientID, `GC<tag><nnnn>`.
    pub patient_id: String,
    /// PatientName in DICOM PN form (`FAMILY^GIVEN`); one patient per corpus has a Latin-1 name.
    pub patient_name: String,
    /// PatientSex (`M`, `F` or `O`).
    pub sex: String,
    /// PatientBirthDate, `YYYYMMDD`.
    pub birth_date: String,
    /// The patient's studies.
    pub studies: Vec<StudyEntry>,
}

/// One study.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyEntry {
    /// StudyInstanceUID.
    pub study_instance_uid: String,
    /// AccessionNumber, `A<tag><yymmdd><nnnn>` (15 characters).
    pub accession_number: String,
    /// StudyID.
    pub study_id: String,
    /// StudyDate, `YYYYMMDD`.
    pub study_date: String,
    /// StudyTime, `HHMMSS`.
    pub study_time: String,
    /// StudyDescription.
    pub description: String,
    /// The modality of every series of the study (`CT` or `MR`).
    pub modality: String,
    /// FrameOfReferenceUID shared by the study's series.
    pub frame_of_reference_uid: String,
    /// InstitutionName.
    pub institution_name: String,
    /// The study's series.
    pub series: Vec<SeriesEntry>,
}

/// One series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesEntry {
    /// SeriesInstanceUID.
    pub series_instance_uid: String,
    /// SeriesNumber.
    pub series_number: u32,
    /// SeriesDescription.
    pub description: String,
    /// BodyPartExamined.
    pub body_part: String,
    /// Modality.
    pub modality: String,
    /// SOP Instance UIDs of the series' instances, in InstanceNumber order.
    pub sop_instance_uids: Vec<String>,
}

impl Manifest {
    /// Every study of every patient.
    pub fn studies(&self) -> impl Iterator<Item = (&PatientEntry, &StudyEntry)> {
        self.patients
            .iter()
            .flat_map(|p| p.studies.iter().map(move |s| (p, s)))
    }

    /// Every series of every study.
    pub fn series(&self) -> impl Iterator<Item = (&StudyEntry, &SeriesEntry)> {
        self.studies()
            .flat_map(|(_, st)| st.series.iter().map(move |se| (st, se)))
    }

    /// Every SOP Instance UID in the corpus.
    pub fn sop_instance_uids(&self) -> impl Iterator<Item = &str> {
        self.series()
            .flat_map(|(_, se)| se.sop_instance_uids.iter().map(String::as_str))
    }

    /// Number of instances in the corpus.
    pub fn total_instances(&self) -> usize {
        self.series()
            .map(|(_, se)| se.sop_instance_uids.len())
            .sum()
    }

    /// The study with this Study Instance UID.
    pub fn study(&self, study_instance_uid: &str) -> Option<(&PatientEntry, &StudyEntry)> {
        self.studies()
            .find(|(_, s)| s.study_instance_uid == study_instance_uid)
    }
}
