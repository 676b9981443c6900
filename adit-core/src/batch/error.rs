//! Problems found in a batch file: each one with its line(s) and column, and the error type
//! of the batch parsers.

use std::fmt;

use serde::Serialize;

use super::sheet::SheetFormat;

/// One problem in a batch file, located the way a user finds it in a spreadsheet program.
///
/// `lines` are sheet row numbers as Excel shows them (the header is usually line 1, the first
/// data row line 2); for CSV files they are the file's line numbers. Problems that concern
/// several rows (a study given with two PatientIDs) list every row involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// The rows involved, ascending, at least one.
    pub lines: Vec<u32>,
    /// The column's header as written in the file, or `None` when the problem concerns
    /// the whole row or file.
    pub column: Option<String>,
    /// What is wrong, in ADIT's wording where ADIT has one (`Date has wrong format.`).
    pub message: String,
}

impl Issue {
    /// A problem on one line.
    pub fn new(line: u32, column: Option<&str>, message: impl Into<String>) -> Self {
        Self::on_lines(vec![line], column, message)
    }

    /// A problem concerning several lines (sorted and de-duplicated here).
    pub fn on_lines(mut lines: Vec<u32>, column: Option<&str>, message: impl Into<String>) -> Self {
        lines.sort_unstable();
        lines.dedup();
        Self {
            lines,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The first line involved (0 if, against the rules, none was given).
    pub fn line(&self) -> u32 {
        self.lines.first().copied().unwrap_or(0)
    }
}

impl fmt::Display for Issue {
    /// `line 3, PatientID: Contains invalid wildcard characters.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = if self.lines.len() > 1 {
            "lines"
        } else {
            "line"
        };
        let lines: Vec<String> = self.lines.iter().map(u32::to_string).collect();
        write!(f, "{label} {}", lines.join(", "))?;
        if let Some(column) = &self.column {
            write!(f, ", {column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a batch file was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchFileError {
    /// The upload is larger than allowed (ADIT: 5 MiB).
    #[error("the batch file has {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the upload in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// The bytes are not a readable sheet of that format (not an xlsx zip, broken CSV).
    #[error("the batch file cannot be read as {format}: {reason}")]
    Format {
        /// The format that was tried.
        format: SheetFormat,
        /// What the reader said.
        reason: String,
    },

    /// More data rows than the user may submit (ADIT: 1000 queries / 500 transfers for
    /// non-staff users). Counted before validation, as ADIT does.
    #[error("the batch file has {count} rows, more than the limit of {max}")]
    TooManyRows {
        /// Non-empty data rows in the file.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// Writing an export or sample file failed.
    #[error("writing the batch file failed: {reason}")]
    Write {
        /// What the writer said.
        reason: String,
    },

    /// The file was read but its content is invalid; every problem found is listed.
    #[error("{} in the batch file, the first on {}", count(errors.len()), first(errors))]
    Invalid {
        /// All problems, header problems first, then row problems by line, then
        /// cross-row problems.
        errors: Vec<Issue>,
    },
}

impl BatchFileError {
    /// The content problems, empty for the other kinds of failure.
    pub fn issues(&self) -> &[Issue] {
        match self {
            Self::Invalid { errors } => errors,
            _ => &[],
        }
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 problem".to_owned()
    } else {
        format!("{n} problems")
    }
}

fn first(errors: &[Issue]) -> String {
    errors
        .first()
        .map_or_else(|| "no line".to_owned(), Issue::to_string)
}

/// Collects issues while a file is checked.
#[derive(Debug, Default)]
pub(crate) struct Issues(Vec<Issue>);

impl Issues {
    pub(crate) fn push(&mut self, line: u32, column: Option<&str>, message: impl Into<String>) {
        self.0.push(Issue::new(line, column, message));
    }

    pub(crate) fn push_issue(&mut self, issue: Issue) {
        self.0.push(issue);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<Issue> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_name_lines_and_column() {
        let one = Issue::new(
            3,
            Some("PatientID"),
            "Contains invalid wildcard characters.",
        );
        assert_eq!(
            one.to_string(),
            "line 3, PatientID: Contains invalid wildcard characters."
        );
        let many = Issue::on_lines(vec![7, 2, 7], None, "Conflict.");
        assert_eq!(many.lines, [2, 7]);
        assert_eq!(many.line(), 2);
        assert_eq!(many.to_string(), "lines 2, 7: Conflict.");
    }

    #[test]
    fn invalid_error_counts_and_shows_the_first() {
        let err = BatchFileError::Invalid {
            errors: vec![
                Issue::new(2, Some("From"), "Date has wrong format."),
                Issue::new(4, Some("Modality"), "Missing Modality."),
            ],
        };
        assert_eq!(
            err.to_string(),
            "2 problems in the batch file, the first on line 2, From: Date has wrong format."
        );
        assert_eq!(err.issues().len(), 2);
        assert!(
            BatchFileError::TooManyRows { count: 3, max: 2 }
                .issues()
                .is_empty()
        );
    }
}
