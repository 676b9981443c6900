//! A sheet as read from a file: a header row and data rows of cells, each row with the line
//! number the user sees. Format-neutral; [`super::xlsx`] and [`super::csv`] fill it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::date::SheetDate;
use super::error::BatchFileError;

/// The file formats of batch files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SheetFormat {
    /// Office Open XML workbook (`.xlsx`), the format ADIT uses; the first sheet is read.
    Xlsx,
    /// Comma- or semicolon-separated text (`.csv`), UTF-8 (with or without BOM), UTF-16 with
    /// BOM, or Latin-1/Windows-1252.
    Csv,
}

impl SheetFormat {
    /// The format named by a file name's extension (case-insensitive), if it is one of ours.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "xlsx" => Some(Self::Xlsx),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// Guesses the format from the content: xlsx files are zip archives (`PK\x03\x04`),
    /// everything else is taken as CSV.
    pub fn detect(bytes: &[u8]) -> Self {
        if bytes.starts_with(&[0x50, 0x4B, 0x03, 0x04]) {
            Self::Xlsx
        } else {
            Self::Csv
        }
    }

    /// The file extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    /// The MIME type for downloads.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

impl fmt::Display for SheetFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// One cell, trimmed, with what the file said about its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text as written (every CSV cell, xlsx text cells).
    Text(String),
    /// An xlsx number cell, rendered as ADIT's reader renders it (`1001`, `1.5`). Leading
    /// zeros the user typed are gone unless the cell's number format shows them (`000000`),
    /// in which case the cell is read as [`Cell::Text`] with the zeros.
    Number(String),
    /// An xlsx date cell; `text` is how ADIT's reader renders it (`2019-06-03 00:00:00`).
    Date {
        /// The date part.
        date: SheetDate,
        /// The rendered text.
        text: String,
    },
    /// An xlsx error value such as `#N/A`.
    Error(String),
}

impl Cell {
    /// The text of the cell (`""` when empty).
    pub fn text(&self) -> &str {
        match self {
            Self::Empty => "",
            Self::Text(t) | Self::Number(t) | Self::Error(t) => t,
            Self::Date { text, .. } => text,
        }
    }

    /// Whether the cell has no value (empty or only whitespace).
    pub fn is_empty(&self) -> bool {
        self.text().is_empty()
    }

    /// A text cell, trimmed; whitespace-only text is empty.
    pub(crate) fn text_trimmed(text: &str) -> Self {
        let text = text.trim();
        if text.is_empty() {
            Self::Empty
        } else {
            Self::Text(text.to_owned())
        }
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The line (sheet row number, or CSV line) the row starts on.
    pub line: u32,
    /// The cells, by column position; shorter than the header when trailing cells are absent.
    pub cells: Vec<Cell>,
}

impl Row {
    /// The cell in column `index` ([`Cell::Empty`] beyond the row's end).
    pub fn cell(&self, index: usize) -> &Cell {
        self.cells.get(index).unwrap_or(&Cell::Empty)
    }
}

/// A sheet: the header row (the first non-empty row) and the rows below it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The format it was read from.
    pub format: SheetFormat,
    /// The line of the header row.
    pub header_line: u32,
    /// The column headers, trimmed, by column position (`""` for a column without header).
    pub headers: Vec<String>,
    /// The data rows, in file order, empty ones included.
    pub rows: Vec<Row>,
}

impl Sheet {
    /// Reads a sheet from file content in the given format.
    pub fn read(bytes: &[u8], format: SheetFormat) -> Result<Self, BatchFileError> {
        match format {
            SheetFormat::Xlsx => super::xlsx::read(bytes),
            SheetFormat::Csv => super::csv::read(bytes),
        }
    }

    /// Builds a sheet from its first non-empty row (the header) and the rows after it;
    /// `rows` yields (line, cells) in file order.
    pub(crate) fn from_rows(
        format: SheetFormat,
        rows: impl IntoIterator<Item = (u32, Vec<Cell>)>,
    ) -> Result<Self, BatchFileError> {
        let mut rows = rows.into_iter();
        let (header_line, header) = rows
            .by_ref()
            .find(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
            .ok_or_else(|| BatchFileError::Format {
                format,
                reason: "the file is empty (no header row)".to_owned(),
            })?;
        Ok(Self {
            format,
            header_line,
            headers: header.iter().map(|c| c.text().to_owned()).collect(),
            rows: rows.map(|(line, cells)| Row { line, cells }).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names_and_content() {
        assert_eq!(
            SheetFormat::from_file_name("Batch.XLSX"),
            Some(SheetFormat::Xlsx)
        );
        assert_eq!(
            SheetFormat::from_file_name("a.b.csv"),
            Some(SheetFormat::Csv)
        );
        assert_eq!(SheetFormat::from_file_name("batch.xls"), None);
        assert_eq!(SheetFormat::from_file_name("batch"), None);
        assert_eq!(SheetFormat::detect(b"PK\x03\x04rest"), SheetFormat::Xlsx);
        assert_eq!(SheetFormat::detect(b"PatientID;Modality"), SheetFormat::Csv);
    }

    #[test]
    fn the_first_non_empty_row_is_the_header() {
        let sheet = Sheet::from_rows(
            SheetFormat::Csv,
            [
                (1, vec![Cell::Empty]),
                (2, vec![Cell::text_trimmed(" PatientID "), Cell::Empty]),
                (3, vec![Cell::text_trimmed("1001")]),
            ],
        )
        .unwrap();
        assert_eq!(sheet.header_line, 2);
        assert_eq!(sheet.headers, ["PatientID", ""]);
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.rows[0].cell(0).text(), "1001");
        assert_eq!(sheet.rows[0].cell(5), &Cell::Empty);

        let empty = Sheet::from_rows(SheetFormat::Csv, [(1, vec![Cell::Empty])]);
        assert!(matches!(empty, Err(BatchFileError::Format { .. })));
    }
}
