//! Batch query results for download, in ADIT's column order
//! (`batch_query/utils/exporters.py`):
//!
//! 1. `Pseudonym`, only if any query of the job had a pseudonym;
//! 2. `PatientID`, `PatientName` (as `Last, First`), `BirthDate`, `ModalitiesInStudy`
//!    (`CT, SR`), `StudyDate`, `StudyTime`, `StudyDescription`,
//!    `NumberOfStudyRelatedInstances`, `AccessionNumber`, `StudyInstanceUID`;
//! 3. `SeriesInstanceUID`, `SeriesDescription`, `SeriesNumber`, only if any query of the job
//!    was at series level.
//!
//! The file can be fed to batch transfer unchanged: it has `PatientID`, `StudyInstanceUID`,
//! `SeriesInstanceUID` and `Pseudonym`, and batch transfer ignores the other columns.

use std::io::Write;

use serde::Serialize;

use super::date::SheetDate;
use super::error::BatchFileError;
use super::query::BatchQueryRow;
use super::sheet::SheetFormat;
use super::write::{Value, write_table};
use crate::model::QueryResult;

/// One result of a batch query: a study, or a series of it at series level.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BatchQueryResultRow {
    /// The pseudonym of the query row that found it.
    pub pseudonym: Option<String>,
    /// PatientID.
    pub patient_id: String,
    /// PatientName in DICOM form (`Last^First`).
    pub patient_name: String,
    /// PatientBirthDate.
    pub birth_date: Option<SheetDate>,
    /// ModalitiesInStudy (at series level: the series' Modality).
    pub modalities: Vec<String>,
    /// StudyDate.
    pub study_date: Option<SheetDate>,
    /// StudyTime as DICOM TM (`HHMMSS[.ffffff]`).
    pub study_time: Option<String>,
    /// StudyDescription.
    pub study_description: String,
    /// NumberOfStudyRelatedInstances.
    pub number_of_instances: Option<u64>,
    /// AccessionNumber.
    pub accession_number: String,
    /// StudyInstanceUID.
    pub study_uid: String,
    /// SeriesInstanceUID (series level only).
    pub series_uid: String,
    /// SeriesDescription (series level only).
    pub series_description: String,
    /// SeriesNumber (series level only).
    pub series_number: String,
}

impl BatchQueryResultRow {
    /// A study-level result.
    pub fn from_study(study: &QueryResult, pseudonym: Option<&str>) -> Self {
        Self {
            pseudonym: pseudonym.map(str::to_owned),
            patient_id: study.patient_id().unwrap_or_default(),
            patient_name: study.patient_name().unwrap_or_default(),
            birth_date: study
                .patient_birth_date()
                .and_then(|d| SheetDate::from_dicom(&d)),
            modalities: study.modalities(),
            study_date: study.study_date().and_then(|d| SheetDate::from_dicom(&d)),
            study_time: study.study_time(),
            study_description: study.study_description().unwrap_or_default(),
            number_of_instances: study
                .number_of_study_related_instances()
                .and_then(|n| u64::try_from(n).ok()),
            accession_number: study.accession_number().unwrap_or_default(),
            study_uid: study.study_instance_uid().unwrap_or_default(),
            ..Self::default()
        }
    }

    /// A series-level result: the study's fields, the series' Modality as modalities.
    pub fn from_series(study: &QueryResult, series: &QueryResult, pseudonym: Option<&str>) -> Self {
        Self {
            modalities: series.modality().into_iter().collect(),
            series_uid: series.series_instance_uid().unwrap_or_default(),
            series_description: series.series_description().unwrap_or_default(),
            series_number: series
                .series_number()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            ..Self::from_study(study, pseudonym)
        }
    }

    /// The row's values in the order of `columns.headers()`.
    pub fn values(&self, columns: ExportColumns) -> Vec<Value> {
        let mut values = Vec::with_capacity(14);
        if columns.pseudonym {
            values.push(Value::text(self.pseudonym.clone().unwrap_or_default()));
        }
        values.extend([
            Value::text(self.patient_id.clone()),
            Value::text(self.patient_name.replace('^', ", ")),
            self.birth_date.map_or(Value::Empty, Value::Date),
            Value::text(self.modalities.join(", ")),
            self.study_date.map_or(Value::Empty, Value::Date),
            self.study_time.as_deref().map_or(Value::Empty, time_value),
            Value::text(self.study_description.clone()),
            self.number_of_instances
                .map_or(Value::Empty, Value::Integer),
            Value::text(self.accession_number.clone()),
            Value::text(self.study_uid.clone()),
        ]);
        if columns.series {
            values.extend([
                Value::text(self.series_uid.clone()),
                Value::text(self.series_description.clone()),
                Value::text(self.series_number.clone()),
            ]);
        }
        values
    }
}

/// Which optional column groups an export has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ExportColumns {
    /// Whether the `Pseudonym` column comes first.
    pub pseudonym: bool,
    /// Whether the three series columns come last.
    pub series: bool,
}

impl ExportColumns {
    /// ADIT's rule: pseudonyms if any query had one, series if any query was at series level.
    pub fn for_queries<'a>(queries: impl IntoIterator<Item = &'a BatchQueryRow>) -> Self {
        queries.into_iter().fold(Self::default(), |acc, q| Self {
            pseudonym: acc.pseudonym || q.pseudonym.is_some(),
            series: acc.series || q.is_series_level(),
        })
    }

    /// The headers, in ADIT's order.
    pub fn headers(self) -> Vec<&'static str> {
        let mut headers = Vec::with_capacity(14);
        if self.pseudonym {
            headers.push("Pseudonym");
        }
        headers.extend([
            "PatientID",
            "PatientName",
            "BirthDate",
            "ModalitiesInStudy",
            "StudyDate",
            "StudyTime",
            "StudyDescription",
            "NumberOfStudyRelatedInstances",
            "AccessionNumber",
            "StudyInstanceUID",
        ]);
        if self.series {
            headers.extend(["SeriesInstanceUID", "SeriesDescription", "SeriesNumber"]);
        }
        headers
    }
}

/// Writes results as `.xlsx` or `.csv` to `out` (CSV is written row by row).
pub fn write_results<'a, W: Write>(
    format: SheetFormat,
    columns: ExportColumns,
    results: impl IntoIterator<Item = &'a BatchQueryResultRow>,
    out: W,
) -> Result<(), BatchFileError> {
    write_table(
        format,
        &columns.headers(),
        results.into_iter().map(|r| r.values(columns)),
        out,
    )
}

/// `HHMMSS[.ffffff]` (or `HHMM`, `HH`) as a time of day; other text is exported as is.
fn time_value(tm: &str) -> Value {
    let digits = tm.split('.').next().unwrap_or_default();
    let field = |range: std::ops::Range<usize>| -> Option<u8> {
        match digits.get(range) {
            Some(s) if !s.is_empty() => s.parse().ok(),
            _ => Some(0),
        }
    };
    let parsed = (digits.len() >= 2 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Some((field(0..2)?, field(2..4)?, field(4..6)?)))
        .flatten()
        .filter(|(h, m, s)| *h < 24 && *m < 60 && *s < 60);
    match parsed {
        Some((hour, minute, second)) => Value::Time {
            hour,
            minute,
            second,
        },
        None => Value::text(tm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_adit_order_and_optional_groups() {
        let plain = ExportColumns::default().headers();
        assert_eq!(plain.first(), Some(&"PatientID"));
        assert_eq!(plain.last(), Some(&"StudyInstanceUID"));
        assert_eq!(plain.len(), 10);
        let full = ExportColumns {
            pseudonym: true,
            series: true,
        }
        .headers();
        assert_eq!(full.first(), Some(&"Pseudonym"));
        assert_eq!(
            full.get(11..),
            Some(&["SeriesInstanceUID", "SeriesDescription", "SeriesNumber"][..])
        );
    }

    #[test]
    fn columns_come_from_the_queries() {
        let plain = BatchQueryRow::default();
        let with_pseudonym = BatchQueryRow {
            pseudonym: Some("P1".into()),
            ..BatchQueryRow::default()
        };
        let series = BatchQueryRow {
            series_numbers: vec!["1".into()],
            ..BatchQueryRow::default()
        };
        assert_eq!(
            ExportColumns::for_queries([&plain]),
            ExportColumns::default()
        );
        assert_eq!(
            ExportColumns::for_queries([&plain, &with_pseudonym, &series]),
            ExportColumns {
                pseudonym: true,
                series: true
            }
        );
    }

    #[test]
    fn times_are_parsed_from_dicom() {
        assert_eq!(
            time_value("093005.123"),
            Value::Time {
                hour: 9,
                minute: 30,
                second: 5
            }
        );
        assert_eq!(
            time_value("0930"),
            Value::Time {
                hour: 9,
                minute: 30,
                second: 0
            }
        );
        assert_eq!(time_value("99"), Value::Text("99".into()));
        assert_eq!(time_value("ab"), Value::Text("ab".into()));
    }
}
