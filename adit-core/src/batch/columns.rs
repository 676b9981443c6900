//! ADIT's column names and the mapping of a sheet's headers onto them.
//!
//! Headers are matched exactly (case and spelling), as ADIT does. Columns that are not
//! ours are ignored, so a batch-query result file can be fed to batch transfer unchanged;
//! a header that differs from one of ours only in case, spaces or punctuation
//! (`Patient ID`, `patientid`) is reported as an error, because ADIT would silently ignore it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::error::Issues;
use super::sheet::{Cell, Row, Sheet};

/// The two kinds of batch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    /// Batch query: which patients and studies to search for.
    Query,
    /// Batch transfer: which studies (or series) to transfer.
    Transfer,
}

impl BatchKind {
    /// The column headers of this kind, in the order of ADIT's sample files.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Query => QUERY_COLUMNS,
            Self::Transfer => TRANSFER_COLUMNS,
        }
    }
}

/// Batch query columns (ADIT `batch_query/parsers.py`).
pub const QUERY_COLUMNS: &[&str] = &[
    PATIENT_ID,
    PATIENT_NAME,
    PATIENT_BIRTH_DATE,
    ACCESSION_NUMBER,
    FROM,
    UNTIL,
    MODALITY,
    STUDY_DESCRIPTION,
    SERIES_DESCRIPTION,
    SERIES_NUMBER,
    PSEUDONYM,
];

/// Batch transfer columns (ADIT `batch_transfer/parsers.py`).
pub const TRANSFER_COLUMNS: &[&str] = &[
    PATIENT_ID,
    STUDY_INSTANCE_UID,
    SERIES_INSTANCE_UID,
    PSEUDONYM,
];

pub(crate) const PATIENT_ID: &str = "PatientID";
pub(crate) const PATIENT_NAME: &str = "PatientName";
pub(crate) const PATIENT_BIRTH_DATE: &str = "PatientBirthDate";
pub(crate) const ACCESSION_NUMBER: &str = "AccessionNumber";
pub(crate) const FROM: &str = "From";
pub(crate) const UNTIL: &str = "Until";
pub(crate) const MODALITY: &str = "Modality";
pub(crate) const STUDY_DESCRIPTION: &str = "StudyDescription";
pub(crate) const SERIES_DESCRIPTION: &str = "SeriesDescription";
pub(crate) const SERIES_NUMBER: &str = "SeriesNumber";
pub(crate) const PSEUDONYM: &str = "Pseudonym";
pub(crate) const STUDY_INSTANCE_UID: &str = "StudyInstanceUID";
pub(crate) const SERIES_INSTANCE_UID: &str = "SeriesInstanceUID";

/// Where each known column is in a sheet.
#[derive(Debug, Default)]
pub(crate) struct ColumnMap {
    positions: HashMap<&'static str, usize>,
    /// Headers that are not ours, in sheet order.
    pub(crate) ignored: Vec<String>,
}

impl ColumnMap {
    /// Maps the sheet's headers onto `known`, reporting duplicates and near misses.
    pub(crate) fn new(sheet: &Sheet, known: &[&'static str], issues: &mut Issues) -> Self {
        let mut map = Self::default();
        for (position, header) in sheet.headers.iter().enumerate() {
            if header.is_empty() {
                continue;
            }
            if let Some(&name) = known.iter().find(|k| **k == header) {
                if map.positions.insert(name, position).is_some() {
                    issues.push(
                        sheet.header_line,
                        Some(header),
                        "Column appears more than once.",
                    );
                }
            } else if let Some(name) = known.iter().find(|k| loose(k) == loose(header)) {
                issues.push(
                    sheet.header_line,
                    Some(header),
                    format!(
                        "Unknown column; did you mean {name}? Column names are case-sensitive."
                    ),
                );
            } else {
                map.ignored.push(header.clone());
            }
        }
        map
    }

    /// Whether the sheet has this column.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.positions.contains_key(name)
    }

    /// The cell of a known column in a row ([`Cell::Empty`] if the sheet lacks the column).
    pub(crate) fn cell<'r>(&self, row: &'r Row, name: &str) -> &'r Cell {
        match self.positions.get(name) {
            Some(&position) => row.cell(position),
            None => &Cell::Empty,
        }
    }

    /// Whether every mapped cell of the row is empty (ADIT skips such rows).
    pub(crate) fn row_is_empty(&self, row: &Row) -> bool {
        self.positions.values().all(|&p| row.cell(p).is_empty())
    }
}

/// A header reduced to lower-case letters and digits, to spot near misses.
fn loose(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::sheet::SheetFormat;
    use super::*;

    fn sheet(headers: &[&str]) -> Sheet {
        Sheet {
            format: SheetFormat::Csv,
            header_line: 1,
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    #[test]
    fn maps_exact_headers_and_reports_near_misses_and_duplicates() {
        let mut issues = Issues::default();
        let map = ColumnMap::new(
            &sheet(&[
                "PatientID",
                "Patient Name",
                "Comment",
                "",
                "Modality",
                "Modality",
            ]),
            QUERY_COLUMNS,
            &mut issues,
        );
        assert!(map.has(PATIENT_ID));
        assert!(!map.has(PATIENT_NAME));
        assert_eq!(map.ignored, ["Comment"]);
        let issues = issues.into_vec();
        let found: Vec<(u32, Option<&str>)> = issues
            .iter()
            .map(|i| (i.line(), i.column.as_deref()))
            .collect();
        assert_eq!(found, [(1, Some("Patient Name")), (1, Some("Modality"))]);
        assert!(issues[0].message.contains("did you mean PatientName?"));
    }
}
