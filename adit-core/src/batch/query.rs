//! Batch query files: one row per search, checked with ADIT's rules, and the queries a row
//! stands for.

use serde::Serialize;

use super::columns::{
    ACCESSION_NUMBER, ColumnMap, FROM, MODALITY, PATIENT_BIRTH_DATE, PATIENT_ID, PATIENT_NAME,
    PSEUDONYM, QUERY_COLUMNS, SERIES_DESCRIPTION, SERIES_NUMBER, STUDY_DESCRIPTION, UNTIL,
};
use super::date::SheetDate;
use super::error::{BatchFileError, Issues};
use super::parse::{Parsed, RowReader, data_rows, numeric_id_warnings};
use super::sheet::{Sheet, SheetFormat};
use super::validate::{Rules, person_name_to_dicom};
use crate::error::Result;
use crate::model::{Query, QueryLevel, QueryValue};

/// One row of a batch query file: which patient, which studies, optionally which series.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BatchQueryRow {
    /// The line in the file.
    pub line: u32,
    /// `PatientID`.
    pub patient_id: Option<String>,
    /// `PatientName`, in DICOM form (`Last, First` in the file becomes `Last^First`).
    pub patient_name: Option<String>,
    /// `PatientBirthDate`.
    pub birth_date: Option<SheetDate>,
    /// `AccessionNumber`.
    pub accession_number: Option<String>,
    /// `From`: first study date, inclusive.
    pub study_date_start: Option<SheetDate>,
    /// `Until`: last study date, inclusive.
    pub study_date_end: Option<SheetDate>,
    /// `Modality`, split at commas.
    pub modalities: Vec<String>,
    /// `StudyDescription` (sent to the PACS and matched as a wildcard on the client).
    pub study_description: Option<String>,
    /// `SeriesDescription`; makes this a series-level query.
    pub series_description: Option<String>,
    /// `SeriesNumber`, split at commas; makes this a series-level query.
    pub series_numbers: Vec<String>,
    /// `Pseudonym`, carried into the results so a batch transfer can use it.
    pub pseudonym: Option<String>,
}

/// Parses batch query files.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchQueryParser {
    max_rows: Option<usize>,
}

impl BatchQueryParser {
    /// A parser without a row limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits the number of non-empty rows (ADIT: 1000 for non-staff users).
    pub fn max_rows(mut self, max: Option<usize>) -> Self {
        self.max_rows = max;
        self
    }

    /// Reads and parses file content.
    pub fn parse_bytes(
        &self,
        bytes: &[u8],
        format: SheetFormat,
    ) -> Result<Parsed<BatchQueryRow>, BatchFileError> {
        self.parse(&Sheet::read(bytes, format)?)
    }

    /// Parses a sheet: every problem is reported with its line and column.
    ///
    /// Header problems (a misspelled or duplicated column, no column to identify patients or
    /// studies by) are reported alone, since the rows cannot be read reliably then.
    pub fn parse(&self, sheet: &Sheet) -> Result<Parsed<BatchQueryRow>, BatchFileError> {
        let mut errors = Issues::default();
        let columns = ColumnMap::new(sheet, QUERY_COLUMNS, &mut errors);
        if !columns.has(PATIENT_ID) && !columns.has(PATIENT_NAME) {
            errors.push(
                sheet.header_line,
                None,
                "Missing column PatientID (or PatientName and PatientBirthDate).",
            );
        } else if !columns.has(PATIENT_ID) && !columns.has(PATIENT_BIRTH_DATE) {
            errors.push(
                sheet.header_line,
                None,
                "Missing column PatientBirthDate (needed with PatientName when there is no PatientID).",
            );
        }
        if !columns.has(MODALITY) && !columns.has(ACCESSION_NUMBER) {
            errors.push(
                sheet.header_line,
                None,
                "Missing column Modality (or AccessionNumber).",
            );
        }
        if !errors.is_empty() {
            return Err(BatchFileError::Invalid {
                errors: errors.into_vec(),
            });
        }

        let mut rows = Vec::new();
        let mut numeric_ids = Vec::new();
        for row in data_rows(sheet, &columns, self.max_rows)? {
            let mut reader = RowReader {
                row,
                columns: &columns,
                errors: &mut errors,
                numeric_ids: &mut numeric_ids,
            };
            rows.push(read_row(&mut reader));
        }
        if !errors.is_empty() {
            return Err(BatchFileError::Invalid {
                errors: errors.into_vec(),
            });
        }
        Ok(Parsed {
            rows,
            warnings: numeric_id_warnings(&numeric_ids),
            ignored_columns: columns.ignored,
        })
    }
}

fn read_row(r: &mut RowReader<'_>) -> BatchQueryRow {
    let line = r.row.line;
    let patient_id_given = r.given(PATIENT_ID);
    let patient_id = r.text(PATIENT_ID, Rules::identifier(64));
    let patient_name = r
        .raw(PATIENT_NAME)
        .map(|name| person_name_to_dicom(&name))
        .and_then(|name| r.checked(PATIENT_NAME, name, Rules::identifier(324)));
    let name_given = r.given(PATIENT_NAME);
    let (birth_date, birth_date_given) = r.date(PATIENT_BIRTH_DATE);
    let accession_given = r.given(ACCESSION_NUMBER);
    let accession_number = r.text(ACCESSION_NUMBER, Rules::identifier(32));
    let (study_date_start, _) = r.date(FROM);
    let (study_date_end, _) = r.date(UNTIL);
    let modalities_given = r.given(MODALITY);
    let modalities = r.list(MODALITY, Rules::modality());
    let study_description = r.text(STUDY_DESCRIPTION, Rules::text(64));
    let series_description = r.text(SERIES_DESCRIPTION, Rules::text(64));
    let series_numbers = r.list(SERIES_NUMBER, Rules::series_number());
    let pseudonym = r.text(PSEUDONYM, Rules::pseudonym());

    // ADIT's row checks (BatchQueryTask.clean), judged on what was written so a bad value is
    // not reported a second time as a missing one.
    if !accession_given && !modalities_given {
        r.errors.push(line, Some(MODALITY), "Missing Modality.");
    }
    let identifiable = patient_id_given || (name_given && birth_date_given);
    if !identifiable {
        r.errors.push(
            line,
            Some(PATIENT_ID),
            "A patient must be identifiable by either PatientID or PatientName and PatientBirthDate.",
        );
    }
    if let (Some(start), Some(end)) = (study_date_start, study_date_end)
        && start > end
    {
        r.errors.push(
            line,
            Some(UNTIL),
            format!("Until ({end}) is before From ({start})."),
        );
    }

    BatchQueryRow {
        line,
        patient_id,
        patient_name,
        birth_date,
        accession_number,
        study_date_start,
        study_date_end,
        modalities,
        study_description,
        series_description,
        series_numbers,
        pseudonym,
    }
}

impl BatchQueryRow {
    /// Whether results are wanted per series (a SeriesDescription or SeriesNumber was given).
    pub fn is_series_level(&self) -> bool {
        self.series_description.is_some() || !self.series_numbers.is_empty()
    }

    /// The PATIENT-level query that finds the patient: by PatientID if given (ADIT then
    /// checks that name and birth date agree), else by PatientName and PatientBirthDate.
    pub fn patient_query(&self) -> Result<Query> {
        let mut builder = Query::builder(QueryLevel::Patient);
        if let Some(id) = &self.patient_id {
            builder = builder.key("PatientID", id);
        } else {
            if let Some(name) = &self.patient_name {
                builder = builder.key("PatientName", name);
            }
            if let Some(date) = &self.birth_date {
                builder = builder.key("PatientBirthDate", &date.to_dicom());
            }
        }
        Ok(builder.build()?.with_default_return_keys())
    }

    /// The STUDY-level queries for one found patient: one per modality (ModalitiesInStudy
    /// takes one value reliably), or one without a modality. Results must be merged by
    /// StudyInstanceUID, as ADIT does.
    pub fn study_queries(&self, patient_id: &str) -> Result<Vec<Query>> {
        let base = || -> Result<Query> {
            let mut builder = Query::builder(QueryLevel::Study).key("PatientID", patient_id);
            if let Some(name) = &self.patient_name {
                builder = builder.key("PatientName", name);
            }
            if let Some(date) = &self.birth_date {
                builder = builder.key("PatientBirthDate", &date.to_dicom());
            }
            if let Some(accession) = &self.accession_number {
                builder = builder.key("AccessionNumber", accession);
            }
            if self.study_date_start.is_some() || self.study_date_end.is_some() {
                builder = builder.value(
                    "StudyDate",
                    QueryValue::Range {
                        from: self.study_date_start.map(|d| d.to_dicom()),
                        to: self.study_date_end.map(|d| d.to_dicom()),
                    },
                );
            }
            if let Some(description) = &self.study_description {
                builder = builder.key("StudyDescription", description);
            }
            Ok(builder.build()?.with_default_return_keys())
        };
        if self.modalities.is_empty() {
            return Ok(vec![base()?]);
        }
        self.modalities
            .iter()
            .map(|modality| {
                let mut query = base()?;
                query.set("ModalitiesInStudy", modality)?;
                Ok(query)
            })
            .collect()
    }

    /// The SERIES-level queries within one found study: one per series number, or one
    /// without. Results must be merged by SeriesInstanceUID.
    pub fn series_queries(&self, patient_id: &str, study_uid: &str) -> Result<Vec<Query>> {
        let base = || -> Result<Query> {
            let mut builder = Query::builder(QueryLevel::Series)
                .key("PatientID", patient_id)
                .key("StudyInstanceUID", study_uid);
            if let Some(description) = &self.series_description {
                builder = builder.key("SeriesDescription", description);
            }
            Ok(builder.build()?.with_default_return_keys())
        };
        if self.series_numbers.is_empty() {
            return Ok(vec![base()?]);
        }
        self.series_numbers
            .iter()
            .map(|number| {
                let mut query = base()?;
                query.set("SeriesNumber", number)?;
                Ok(query)
            })
            .collect()
    }
}
