//! Batch transfer files: one row per study or series, ADIT's row and cross-row checks, then
//! grouping into one task per study ([`super::group`]).

use std::collections::HashMap;

use serde::Serialize;

use super::columns::{
    ColumnMap, PATIENT_ID, PSEUDONYM, SERIES_INSTANCE_UID, STUDY_INSTANCE_UID, TRANSFER_COLUMNS,
};
use super::error::{BatchFileError, Issue, Issues};
use super::group::{BatchTransferTask, group_studies};
use super::parse::{Parsed, RowReader, data_rows, numeric_id_warnings};
use super::sheet::{Sheet, SheetFormat};
use super::validate::{REQUIRED, Rules};

const PSEUDONYM_REQUIRED: &str = "You are only allowed to transfer pseudonymized.";

/// One valid row of a batch transfer file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchTransferRow {
    /// The line in the file.
    pub line: u32,
    /// `PatientID`.
    pub patient_id: String,
    /// `StudyInstanceUID`.
    pub study_uid: String,
    /// `SeriesInstanceUID` (one per row); `None` means the whole study.
    pub series_uid: Option<String>,
    /// `Pseudonym`.
    pub pseudonym: Option<String>,
}

/// Parses batch transfer files.
#[derive(Debug, Clone, Copy)]
pub struct BatchTransferParser {
    max_rows: Option<usize>,
    allow_unpseudonymized: bool,
}

impl Default for BatchTransferParser {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchTransferParser {
    /// A parser without a row limit that requires a pseudonym on every row (ADIT's default
    /// for users without `can_transfer_unpseudonymized`).
    pub fn new() -> Self {
        Self {
            max_rows: None,
            allow_unpseudonymized: false,
        }
    }

    /// Limits the number of non-empty rows (ADIT: 500 for non-staff users).
    pub fn max_rows(mut self, max: Option<usize>) -> Self {
        self.max_rows = max;
        self
    }

    /// Allows rows without a pseudonym (ADIT's `batch_transfer.can_transfer_unpseudonymized`).
    pub fn allow_unpseudonymized(mut self, allow: bool) -> Self {
        self.allow_unpseudonymized = allow;
        self
    }

    /// Reads and parses file content into one task per study.
    pub fn parse_bytes(
        &self,
        bytes: &[u8],
        format: SheetFormat,
    ) -> Result<Parsed<BatchTransferTask>, BatchFileError> {
        self.parse(&Sheet::read(bytes, format)?)
    }

    /// Parses a sheet into one task per study ([`group_studies`]).
    pub fn parse(&self, sheet: &Sheet) -> Result<Parsed<BatchTransferTask>, BatchFileError> {
        let parsed = self.parse_rows(sheet)?;
        Ok(Parsed {
            rows: group_studies(parsed.rows),
            warnings: parsed.warnings,
            ignored_columns: parsed.ignored_columns,
        })
    }

    /// Parses a sheet into its rows, without grouping. Every problem is reported with its
    /// line and column: field problems by row, then the cross-row conflicts (a study under
    /// two PatientIDs, a patient with two pseudonyms), each naming all rows involved.
    pub fn parse_rows(&self, sheet: &Sheet) -> Result<Parsed<BatchTransferRow>, BatchFileError> {
        let mut errors = Issues::default();
        let columns = ColumnMap::new(sheet, TRANSFER_COLUMNS, &mut errors);
        for column in [PATIENT_ID, STUDY_INSTANCE_UID] {
            if !columns.has(column) {
                errors.push(sheet.header_line, None, format!("Missing column {column}."));
            }
        }
        if !self.allow_unpseudonymized && !columns.has(PSEUDONYM) {
            errors.push(
                sheet.header_line,
                None,
                format!("Missing column Pseudonym. {PSEUDONYM_REQUIRED}"),
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
            if let Some(row) = self.read_row(&mut reader) {
                rows.push(row);
            }
        }
        for conflict in conflicts(&rows) {
            errors.push_issue(conflict);
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

    /// The row if all its fields are valid (problems are reported either way).
    fn read_row(&self, r: &mut RowReader<'_>) -> Option<BatchTransferRow> {
        let line = r.row.line;
        let mut valid = true;
        let mut required = |r: &mut RowReader<'_>, column, rules| {
            let value = r.text(column, rules);
            if value.is_none() {
                valid = false;
                if !r.given(column) {
                    r.errors.push(line, Some(column), REQUIRED);
                }
            }
            value
        };
        let patient_id = required(r, PATIENT_ID, Rules::identifier(64));
        let study_uid = required(r, STUDY_INSTANCE_UID, Rules::uid());
        let series_uid = r.text(SERIES_INSTANCE_UID, Rules::uid());
        valid &= series_uid.is_some() || !r.given(SERIES_INSTANCE_UID);
        let pseudonym = r.text(PSEUDONYM, Rules::pseudonym());
        valid &= pseudonym.is_some() || !r.given(PSEUDONYM);
        if pseudonym.is_none() && !r.given(PSEUDONYM) && !self.allow_unpseudonymized {
            r.errors.push(line, Some(PSEUDONYM), PSEUDONYM_REQUIRED);
            valid = false;
        }
        Some(BatchTransferRow {
            line,
            patient_id: patient_id?,
            study_uid: study_uid?,
            series_uid,
            pseudonym,
        })
        .filter(|_| valid)
    }
}

/// ADIT's cross-row checks, on rows whose own fields are valid: one StudyInstanceUID must
/// not belong to two PatientIDs; one PatientID must not have two pseudonyms (an empty one
/// counts as a different pseudonym, as in ADIT).
fn conflicts(rows: &[BatchTransferRow]) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (key, lines, values) in distinct_values(rows, |r| &r.study_uid, |r| Some(&r.patient_id)) {
        issues.push(Issue::on_lines(
            lines,
            Some(PATIENT_ID),
            format!(
                "Same Study Instance UID {key} can't belong to different Patient IDs ({}).",
                values.join(", ")
            ),
        ));
    }
    for (key, lines, values) in distinct_values(rows, |r| &r.patient_id, |r| r.pseudonym.as_ref()) {
        issues.push(Issue::on_lines(
            lines,
            Some(PSEUDONYM),
            format!(
                "Same Patient ID {key} can't have different pseudonyms ({}).",
                values.join(", ")
            ),
        ));
    }
    issues
}

type Conflict = (String, Vec<u32>, Vec<String>);

/// For each key (in order of first appearance) with more than one distinct value: the key,
/// the lines of all its rows and its distinct values (`(none)` for a missing one).
fn distinct_values<'r>(
    rows: &'r [BatchTransferRow],
    key: impl Fn(&'r BatchTransferRow) -> &'r String,
    value: impl Fn(&'r BatchTransferRow) -> Option<&'r String>,
) -> Vec<Conflict> {
    let mut order: Vec<&String> = Vec::new();
    let mut groups: HashMap<&String, (Vec<u32>, Vec<String>)> = HashMap::new();
    for row in rows {
        let shown = value(row).map_or_else(|| "(none)".to_owned(), Clone::clone);
        let (lines, values) = groups.entry(key(row)).or_insert_with(|| {
            order.push(key(row));
            Default::default()
        });
        lines.push(row.line);
        if !values.contains(&shown) {
            values.push(shown);
        }
    }
    order
        .into_iter()
        .filter_map(|k| {
            let (lines, values) = groups.remove(k)?;
            (values.len() > 1).then(|| (k.clone(), lines, values))
        })
        .collect()
}
