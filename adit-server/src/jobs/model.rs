//! Rows of the job tables and the description of a job to create.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kind::JobKind;
use super::status::{JobStatus, TaskStatus};

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// Its type.
    pub kind: JobKind,
    /// The user who created it.
    pub owner_id: i64,
    /// Node id of the source.
    pub source_id: i64,
    /// Node id of the destination (`None` for batch queries).
    pub destination_id: Option<i64>,
    /// Runs at the urgent priority.
    pub urgent: bool,
    /// Current status.
    pub status: JobStatus,
    /// What the status means (e.g. "Some tasks failed.").
    pub message: String,
    /// Mail the owner when it ends.
    pub send_finished_mail: bool,
    /// ClinicalTrialProtocolID to set (empty: none).
    pub trial_protocol_id: String,
    /// ClinicalTrialProtocolName to set (empty: none).
    pub trial_protocol_name: String,
    /// Password of the ZIP archive written to a folder destination (selective transfer).
    pub archive_password: Option<String>,
    /// Project name (batch jobs).
    pub project_name: String,
    /// Project description (batch jobs).
    pub project_description: String,
    /// Ethics application id (batch transfer).
    pub ethics_application_id: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When its first task started.
    pub started: Option<DateTime<Utc>>,
    /// When it reached a final status.
    pub ended: Option<DateTime<Utc>>,
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Its id.
    pub id: i64,
    /// Its job.
    pub job_id: i64,
    /// Current status.
    pub status: TaskStatus,
    /// What happened, in one line.
    pub message: String,
    /// Details: errors of earlier attempts, instances that failed.
    pub log: String,
    /// Runs started (a retry or a crash recovery counts again).
    pub attempts: i32,
    /// Times a retriable failure sent it back to the queue.
    pub retries: i32,
    /// PatientID of the study (transfers); may be empty.
    pub patient_id: String,
    /// StudyInstanceUID (transfers).
    pub study_uid: String,
    /// Series to transfer; empty means the whole study.
    pub series_uids: Vec<String>,
    /// Pseudonym; `None` transfers unpseudonymized.
    pub pseudonym: Option<String>,
    /// The query row of a batch query task.
    pub query: Option<BatchQuery>,
    /// Lines of the batch file this task came from.
    pub lines: Vec<u32>,
    /// Instances with an outcome so far.
    pub instances_done: i64,
    /// Instances the source announced, if it did.
    pub instances_expected: Option<i64>,
    /// Bytes stored so far.
    pub bytes_done: i64,
    /// Bytes the source announced, if it did.
    pub bytes_expected: Option<i64>,
    /// The adit-queue job currently carrying this task.
    pub queue_job_id: Option<i64>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When its last run started.
    pub started: Option<DateTime<Utc>>,
    /// When its last run ended.
    pub ended: Option<DateTime<Utc>>,
}

/// One row of a batch query file (ADIT §3.1), as the worker runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct BatchQuery {
    /// PatientID.
    pub patient_id: String,
    /// PatientName (`Last^First`).
    pub patient_name: String,
    /// PatientBirthDate, `YYYYMMDD`.
    pub patient_birth_date: String,
    /// AccessionNumber.
    pub accession_number: String,
    /// First study date, `YYYYMMDD` (inclusive).
    pub study_date_start: String,
    /// Last study date, `YYYYMMDD` (inclusive).
    pub study_date_end: String,
    /// Modalities; one query per modality.
    pub modalities: Vec<String>,
    /// StudyDescription (wildcards allowed).
    pub study_description: String,
    /// SeriesDescription; switches to series-level results.
    pub series_description: String,
    /// SeriesNumbers; switch to series-level results.
    pub series_numbers: Vec<String>,
    /// Pseudonym copied into the results.
    pub pseudonym: String,
}

/// One result row of a batch query (ADIT `BatchQueryResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchQueryResult {
    /// PatientID.
    pub patient_id: String,
    /// PatientName.
    pub patient_name: String,
    /// PatientBirthDate.
    pub patient_birth_date: String,
    /// AccessionNumber.
    pub accession_number: String,
    /// StudyDate.
    pub study_date: String,
    /// StudyTime.
    pub study_time: String,
    /// ModalitiesInStudy.
    pub modalities: Vec<String>,
    /// NumberOfStudyRelatedInstances (or of the series at series level).
    pub image_count: Option<i64>,
    /// StudyDescription.
    pub study_description: String,
    /// SeriesDescription (series level).
    pub series_description: String,
    /// SeriesNumber (series level).
    pub series_number: String,
    /// The query's pseudonym.
    pub pseudonym: String,
    /// StudyInstanceUID.
    pub study_uid: String,
    /// SeriesInstanceUID (series level).
    pub series_uid: String,
}

/// A task to create.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTask {
    /// PatientID (transfers).
    pub patient_id: String,
    /// StudyInstanceUID (transfers).
    pub study_uid: String,
    /// Series; empty means the whole study.
    pub series_uids: Vec<String>,
    /// Pseudonym; `None` uses the job's [`NewJob::pseudonym`].
    pub pseudonym: Option<String>,
    /// The query (batch query tasks).
    pub query: Option<BatchQuery>,
    /// Lines of the batch file.
    pub lines: Vec<u32>,
}

impl NewTask {
    /// A transfer of a whole study (or of `series_uids` when not empty).
    pub fn transfer(patient_id: &str, study_uid: &str, series_uids: &[&str]) -> Self {
        NewTask {
            patient_id: patient_id.to_owned(),
            study_uid: study_uid.to_owned(),
            series_uids: series_uids.iter().map(|s| (*s).to_owned()).collect(),
            ..NewTask::default()
        }
    }

    /// A batch query task.
    pub fn query(query: BatchQuery) -> Self {
        NewTask {
            query: Some(query),
            ..NewTask::default()
        }
    }

    /// The batch query task of one parsed sheet row (the sheet line kept for messages).
    pub fn from_query_row(row: adit_core::batch::BatchQueryRow) -> Self {
        let date =
            |d: Option<adit_core::batch::SheetDate>| d.map(|d| d.to_dicom()).unwrap_or_default();
        NewTask {
            lines: vec![row.line],
            ..NewTask::query(BatchQuery {
                patient_id: row.patient_id.unwrap_or_default(),
                patient_name: row.patient_name.unwrap_or_default(),
                patient_birth_date: date(row.birth_date),
                accession_number: row.accession_number.unwrap_or_default(),
                study_date_start: date(row.study_date_start),
                study_date_end: date(row.study_date_end),
                modalities: row.modalities,
                study_description: row.study_description.unwrap_or_default(),
                series_description: row.series_description.unwrap_or_default(),
                series_numbers: row.series_numbers,
                pseudonym: row.pseudonym.unwrap_or_default(),
            })
        }
    }

    /// Sets the pseudonym.
    pub fn with_pseudonym(mut self, pseudonym: impl Into<String>) -> Self {
        self.pseudonym = Some(pseudonym.into());
        self
    }
}

/// A job to create, with its tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Its type.
    pub kind: JobKind,
    /// The creating user.
    pub owner_id: i64,
    /// Source node id.
    pub source_id: i64,
    /// Destination node id (transfers).
    pub destination_id: Option<i64>,
    /// Urgent priority (needs `can_process_urgently`; checked by the caller).
    pub urgent: bool,
    /// Mail the owner when it ends.
    pub send_finished_mail: bool,
    /// Pseudonym for tasks that have none of their own (selective transfer).
    pub pseudonym: Option<String>,
    /// ClinicalTrialProtocolID.
    pub trial_protocol_id: String,
    /// ClinicalTrialProtocolName.
    pub trial_protocol_name: String,
    /// Password of the ZIP archive for a folder destination.
    pub archive_password: Option<String>,
    /// Project name.
    pub project_name: String,
    /// Project description.
    pub project_description: String,
    /// Ethics application id.
    pub ethics_application_id: String,
    /// The tasks.
    pub tasks: Vec<NewTask>,
}

impl NewJob {
    /// A job of `kind` by `owner_id` from `source_id` to `destination_id`, everything else empty.
    pub fn new(kind: JobKind, owner_id: i64, source_id: i64, destination_id: Option<i64>) -> Self {
        NewJob {
            kind,
            owner_id,
            source_id,
            destination_id,
            urgent: false,
            send_finished_mail: false,
            pseudonym: None,
            trial_protocol_id: String::new(),
            trial_protocol_name: String::new(),
            archive_password: None,
            project_name: String::new(),
            project_description: String::new(),
            ethics_application_id: String::new(),
            tasks: Vec::new(),
        }
    }

    /// Adds a task.
    pub fn task(mut self, task: NewTask) -> Self {
        self.tasks.push(task);
        self
    }
}
