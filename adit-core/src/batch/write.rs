//! Writing a table (header + typed values) as `.xlsx` (rust_xlsxwriter) or `.csv`.
//!
//! - xlsx: dates and times become real Excel date/time cells, counts numbers, and every other
//!   value a text cell, so IDs keep their leading zeros. Text columns are formatted as Text
//!   (`@`), so IDs a user types into them later keep their zeros too.
//! - csv: UTF-8 with a byte-order mark (so Excel shows umlauts), comma-separated, quoted
//!   where needed; dates `YYYY-MM-DD`, times `HH:MM:SS`. Rows are written as they come.

use std::io::Write;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use super::date::SheetDate;
use super::error::BatchFileError;
use super::sheet::SheetFormat;

/// One value of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Nothing.
    Empty,
    /// Text, written as text in every format.
    Text(String),
    /// A whole number (e.g. NumberOfStudyRelatedInstances).
    Integer(u64),
    /// A date.
    Date(SheetDate),
    /// A time of day.
    Time {
        /// 0 to 23.
        hour: u8,
        /// 0 to 59.
        minute: u8,
        /// 0 to 59.
        second: u8,
    },
}

impl Value {
    /// Text, or [`Value::Empty`] for `""`.
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        if text.is_empty() {
            Self::Empty
        } else {
            Self::Text(text)
        }
    }

    /// The value as written to CSV.
    pub fn to_csv(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(t) => t.clone(),
            Self::Integer(n) => n.to_string(),
            Self::Date(d) => d.to_string(),
            Self::Time {
                hour,
                minute,
                second,
            } => format!("{hour:02}:{minute:02}:{second:02}"),
        }
    }
}

/// Writes a table in `format` to `out`.
pub fn write_table<W, R>(
    format: SheetFormat,
    headers: &[&str],
    rows: R,
    out: W,
) -> Result<(), BatchFileError>
where
    W: Write,
    R: IntoIterator<Item = Vec<Value>>,
{
    match format {
        SheetFormat::Csv => write_csv(headers, rows, out),
        SheetFormat::Xlsx => {
            let bytes = xlsx_bytes(headers, rows)?;
            let mut out = out;
            out.write_all(&bytes).map_err(write_error)
        }
    }
}

/// Writes CSV row by row.
fn write_csv<W, R>(headers: &[&str], rows: R, mut out: W) -> Result<(), BatchFileError>
where
    W: Write,
    R: IntoIterator<Item = Vec<Value>>,
{
    out.write_all(b"\xEF\xBB\xBF").map_err(write_error)?;
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(headers).map_err(write_error)?;
    for row in rows {
        writer
            .write_record(row.iter().map(Value::to_csv))
            .map_err(write_error)?;
    }
    writer.flush().map_err(write_error)
}

/// Builds a one-sheet workbook in memory (rust_xlsxwriter assembles the zip at the end).
fn xlsx_bytes<R>(headers: &[&str], rows: R) -> Result<Vec<u8>, BatchFileError>
where
    R: IntoIterator<Item = Vec<Value>>,
{
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let time = Format::new().set_num_format("hh:mm:ss");
    let sheet = workbook.add_worksheet();
    for (col, header) in (0u16..).zip(headers) {
        sheet
            .write_string_with_format(0, col, *header, &bold)
            .map_err(xlsx_error)?;
        sheet
            .set_column_width(col, (header.len() + 4).max(14) as f64)
            .map_err(xlsx_error)?;
    }
    let mut text_columns = vec![true; headers.len()];
    for (row_index, row) in (1u32..).zip(rows) {
        for ((col, value), is_text) in (0u16..).zip(&row).zip(text_columns.iter_mut()) {
            match value {
                Value::Empty => {}
                Value::Text(t) => {
                    sheet
                        .write_string_with_format(row_index, col, t, &text)
                        .map_err(xlsx_error)?;
                }
                Value::Integer(n) => {
                    *is_text = false;
                    sheet
                        .write_number(row_index, col, *n as f64)
                        .map_err(xlsx_error)?;
                }
                Value::Date(d) => {
                    *is_text = false;
                    let value = ExcelDateTime::from_ymd(d.year(), d.month(), d.day())
                        .map_err(xlsx_error)?;
                    sheet
                        .write_datetime_with_format(row_index, col, &value, &date)
                        .map_err(xlsx_error)?;
                }
                Value::Time {
                    hour,
                    minute,
                    second,
                } => {
                    *is_text = false;
                    let value = ExcelDateTime::from_hms(u16::from(*hour), *minute, *second)
                        .map_err(xlsx_error)?;
                    sheet
                        .write_datetime_with_format(row_index, col, &value, &time)
                        .map_err(xlsx_error)?;
                }
            }
        }
    }
    // Columns that hold only text are formatted as Text, so values typed later stay text.
    for (col, is_text) in (0u16..).zip(text_columns) {
        if is_text {
            sheet.set_column_format(col, &text).map_err(xlsx_error)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    workbook.save_to_buffer().map_err(xlsx_error)
}

fn write_error(e: impl std::fmt::Display) -> BatchFileError {
    BatchFileError::Write {
        reason: e.to_string(),
    }
}

fn xlsx_error(e: XlsxError) -> BatchFileError {
    write_error(e)
}
