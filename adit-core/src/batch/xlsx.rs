//! Reading the first worksheet of an `.xlsx` workbook into a [`Sheet`] (calamine).
//!
//! Cells keep their type so the parsers can tell a PatientID typed as a number (leading zeros
//! lost by Excel) from one stored as text. A number cell whose number format is all zeros
//! (`00000000`, Excel's usual way to show leading zeros) is read as the text Excel displays.

use std::io::Cursor;

use calamine::{Data, Reader, StyleRange, Xlsx};

use super::date::SheetDate;
use super::error::BatchFileError;
use super::sheet::{Cell, Sheet, SheetFormat};

/// Reads the first worksheet.
pub(crate) fn read(bytes: &[u8]) -> Result<Sheet, BatchFileError> {
    let format_error = |reason: String| BatchFileError::Format {
        format: SheetFormat::Xlsx,
        reason,
    };
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| format_error(e.to_string()))?;
    let name = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| format_error("the workbook has no worksheet".to_owned()))?;
    let range = workbook
        .worksheet_range(&name)
        .map_err(|e| format_error(e.to_string()))?;
    // Styles only refine number cells; a workbook whose styles cannot be read is still usable.
    let styles = workbook.worksheet_style(&name).ok();

    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let rows = range.rows().zip(first_row..).map(|(cells, row)| {
        let cells = cells
            .iter()
            .zip(first_col..)
            .map(|(data, col)| convert(data, styles.as_ref(), (row, col)))
            .collect();
        // Sheet rows are 0-based in calamine, 1-based for users.
        (row.saturating_add(1), cells)
    });
    Sheet::from_rows(SheetFormat::Xlsx, rows)
}

fn convert(data: &Data, styles: Option<&StyleRange>, position: (u32, u32)) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::text_trimmed(s),
        Data::DurationIso(s) => Cell::text_trimmed(s),
        Data::Bool(b) => Cell::Text(if *b { "True" } else { "False" }.to_owned()),
        Data::Error(e) => Cell::Error(e.to_string()),
        Data::Int(i) => number(*i as f64, styles, position),
        Data::Float(f) => number(*f, styles, position),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            let text = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
            match SheetDate::new(y, mo, d) {
                // Serial values below 1 are times of day without a date.
                Some(date) if dt.as_f64() >= 1.0 => Cell::Date { date, text },
                _ => Cell::Text(format!("{h:02}:{mi:02}:{s:02}")),
            }
        }
        Data::DateTime(dt) => number(dt.as_f64(), styles, position),
        Data::DateTimeIso(s) => {
            let text = s.trim().replacen('T', " ", 1);
            match text.get(..10).and_then(SheetDate::parse) {
                Some(date) => Cell::Date { date, text },
                None => Cell::text_trimmed(&text),
            }
        }
    }
}

/// Renders a number as ADIT's reader does (integral values without `.0`), padded with the
/// zeros of an all-zero number format.
fn number(value: f64, styles: Option<&StyleRange>, position: (u32, u32)) -> Cell {
    // Integral values up to 2^53 are exact in an f64.
    let integral = value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0;
    if !integral {
        return Cell::Number(value.to_string());
    }
    let text = format!("{}", value as i64);
    let zeros = styles
        .and_then(|s| s.get(position))
        .and_then(|style| style.number_format.as_ref())
        .map(|format| format.format_code.as_str())
        .filter(|code| !code.is_empty() && code.bytes().all(|b| b == b'0'))
        .map(str::len);
    match zeros {
        Some(width) if value >= 0.0 && text.len() < width => Cell::Text(format!("{text:0>width$}")),
        Some(_) => Cell::Text(text),
        None => Cell::Number(text),
    }
}
