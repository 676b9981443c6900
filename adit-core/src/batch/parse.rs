//! What the batch-query and batch-transfer parsers share: the parse result, the row loop
//! (skip empty rows, count against the limit) and reading one cell under a set of rules.

use serde::Serialize;

use super::columns::{ACCESSION_NUMBER, ColumnMap, PATIENT_ID};
use super::date::SheetDate;
use super::error::{BatchFileError, Issue, Issues};
use super::sheet::{Cell, Row, Sheet};
use super::validate::{BAD_DATE, Rules};

/// A successfully parsed batch file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parsed<T> {
    /// The rows (batch query) or grouped tasks (batch transfer), in file order.
    pub rows: Vec<T>,
    /// Things worth telling the user that do not stop the job, e.g. IDs stored as Excel
    /// numbers.
    pub warnings: Vec<Issue>,
    /// Headers that are not columns of this kind of file and were ignored.
    pub ignored_columns: Vec<String>,
}

/// The non-empty rows of a sheet, after the row limit is checked (ADIT counts before it
/// validates).
pub(crate) fn data_rows<'s>(
    sheet: &'s Sheet,
    columns: &ColumnMap,
    max_rows: Option<usize>,
) -> Result<Vec<&'s Row>, BatchFileError> {
    let rows: Vec<&Row> = sheet
        .rows
        .iter()
        .filter(|row| !columns.row_is_empty(row))
        .collect();
    match max_rows {
        Some(max) if rows.len() > max => Err(BatchFileError::TooManyRows {
            count: rows.len(),
            max,
        }),
        _ => Ok(rows),
    }
}

/// Reads the cells of one row, collecting problems.
pub(crate) struct RowReader<'a> {
    pub(crate) row: &'a Row,
    pub(crate) columns: &'a ColumnMap,
    pub(crate) errors: &'a mut Issues,
    /// Lines per ID column whose cell was an Excel number.
    pub(crate) numeric_ids: &'a mut Vec<(&'static str, u32)>,
}

impl RowReader<'_> {
    /// Whether the cell of a column holds anything (no checks, no reports).
    pub(crate) fn given(&self, column: &'static str) -> bool {
        !self.columns.cell(self.row, column).is_empty()
    }

    /// The trimmed text of a column, `None` if empty. Excel error values are reported.
    pub(crate) fn raw(&mut self, column: &'static str) -> Option<String> {
        let cell = self.columns.cell(self.row, column);
        match cell {
            Cell::Empty => None,
            Cell::Error(value) => {
                self.errors.push(
                    self.row.line,
                    Some(column),
                    format!("The cell holds the Excel error {value}."),
                );
                None
            }
            Cell::Number(text) => {
                if column == PATIENT_ID || column == ACCESSION_NUMBER {
                    self.numeric_ids.push((column, self.row.line));
                }
                Some(text.clone())
            }
            _ => {
                let text = cell.text();
                // Excel's text marker `'0012` sometimes ends up in the value itself (ADIT's own
                // sample file has it); it is never part of an ID.
                let text = if column == PATIENT_ID || column == ACCESSION_NUMBER {
                    text.strip_prefix('\'').unwrap_or(text).trim()
                } else {
                    text
                };
                (!text.is_empty()).then(|| text.to_owned())
            }
        }
    }

    /// A text column checked against `rules`; invalid values are reported and dropped.
    pub(crate) fn text(&mut self, column: &'static str, rules: Rules) -> Option<String> {
        let value = self.raw(column)?;
        self.checked(column, value, rules)
    }

    /// Checks a value (already transformed) and reports every message on one issue.
    pub(crate) fn checked(
        &mut self,
        column: &'static str,
        value: String,
        rules: Rules,
    ) -> Option<String> {
        let messages = rules.check(&value);
        if messages.is_empty() {
            Some(value)
        } else {
            self.errors
                .push(self.row.line, Some(column), messages.join(" "));
            None
        }
    }

    /// A comma-separated list column, each item checked; one issue names every bad item.
    pub(crate) fn list(&mut self, column: &'static str, rules: Rules) -> Vec<String> {
        let Some(value) = self.raw(column) else {
            return Vec::new();
        };
        let items = super::validate::split_list(&value);
        let bad: Vec<String> = items
            .iter()
            .filter_map(|item| {
                let messages = rules.check(item);
                (!messages.is_empty()).then(|| format!("`{item}`: {}", messages.join(" ")))
            })
            .collect();
        if bad.is_empty() {
            items
        } else {
            self.errors.push(
                self.row.line,
                Some(column),
                format!("Invalid value {}", bad.join("; ")),
            );
            Vec::new()
        }
    }

    /// A date column: Excel date cells directly, text in ADIT's formats.
    /// Returns `(date, present)`: `present` is true when the cell was not empty, even if the
    /// date was invalid, so row checks do not report a missing value on top of a bad one.
    pub(crate) fn date(&mut self, column: &'static str) -> (Option<SheetDate>, bool) {
        if let Cell::Date { date, .. } = self.columns.cell(self.row, column) {
            return (Some(*date), true);
        }
        let Some(text) = self.raw(column) else {
            return (None, false);
        };
        match SheetDate::parse(&text) {
            Some(date) => (Some(date), true),
            None => {
                self.errors.push(self.row.line, Some(column), BAD_DATE);
                (None, true)
            }
        }
    }
}

/// One warning per ID column that held Excel numbers.
pub(crate) fn numeric_id_warnings(numeric_ids: &[(&'static str, u32)]) -> Vec<Issue> {
    let mut warnings = Vec::new();
    for column in [PATIENT_ID, ACCESSION_NUMBER] {
        let lines: Vec<u32> = numeric_ids
            .iter()
            .filter(|(c, _)| *c == column)
            .map(|(_, line)| *line)
            .collect();
        if !lines.is_empty() {
            warnings.push(Issue::on_lines(
                lines,
                Some(column),
                "Stored as a number in Excel, so leading zeros are lost. \
                 Format the column as Text and retype the IDs if they have leading zeros.",
            ));
        }
    }
    warnings
}
