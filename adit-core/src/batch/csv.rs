//! Reading a `.csv` batch file into a [`Sheet`].
//!
//! Spreadsheet programs write CSV in many dialects, so the reader adapts:
//! - encoding: a byte-order mark decides (UTF-8, UTF-16 LE/BE); without one, UTF-8 if the
//!   bytes are valid UTF-8, else Latin-1 (read as Windows-1252, its superset that Excel writes);
//! - delimiter: the one of `,` `;` and tab that occurs most often, outside quotes, in the
//!   header line (German Excel writes `;`); a one-column file uses `,`;
//! - every cell is text, so leading zeros in IDs are always kept;
//! - line numbers are the file's lines, so a row's line is the one an editor shows (and the
//!   row number a spreadsheet program shows, unless a quoted cell spans lines).

use encoding_rs::{Encoding, WINDOWS_1252};

use super::error::BatchFileError;
use super::sheet::{Cell, Sheet, SheetFormat};

/// Reads CSV content.
pub(crate) fn read(bytes: &[u8]) -> Result<Sheet, BatchFileError> {
    let text = decode(bytes);
    let delimiter = sniff_delimiter(&text);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    // The reader's own line counter skips blank lines; count newlines before the record's
    // byte offset instead.
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'\n').then_some(i))
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| BatchFileError::Format {
            format: SheetFormat::Csv,
            reason: e.to_string(),
        })?;
        // The offset may point at blank lines before the record; skip them.
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(0);
        let skipped = text.get(start..).map_or(0, |rest| {
            rest.len() - rest.trim_start_matches(['\r', '\n']).len()
        });
        let offset = (start + skipped) as u64;
        let line = newlines.partition_point(|&i| (i as u64) < offset) + 1;
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        rows.push((line, record.iter().map(Cell::text_trimmed).collect()));
    }
    Sheet::from_rows(SheetFormat::Csv, rows)
}

/// Decodes the bytes to text (see the module docs); the BOM is removed.
fn decode(bytes: &[u8]) -> String {
    if let Some((encoding, bom_length)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_length..).unwrap_or_default();
        let (text, _) = encoding.decode_without_bom_handling(body);
        return text.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
            text.into_owned()
        }
    }
}

/// The delimiter of the first non-blank line: the most frequent of `,` `;` tab outside
/// double quotes; ties go to the earlier one in that order.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in header.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(entry) = counts.iter_mut().find(|(d, _)| *d == byte) {
            entry.1 += 1;
        }
    }
    let mut best = counts[0];
    for entry in counts {
        if entry.1 > best.1 {
            best = entry;
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_comma_semicolon_and_tab() {
        assert_eq!(sniff_delimiter("PatientID,Modality\n1,CT"), b',');
        assert_eq!(sniff_delimiter("\n\nPatientID;Modality\n1;CT"), b';');
        assert_eq!(sniff_delimiter("PatientID\tModality"), b'\t');
        assert_eq!(sniff_delimiter("PatientID"), b',');
        // A quoted comma in a header does not count.
        assert_eq!(sniff_delimiter("\"Name, given\";PatientID;X"), b';');
    }

    #[test]
    fn decodes_boms_utf8_and_latin1() {
        assert_eq!(decode(b"\xEF\xBB\xBFPatientID"), "PatientID");
        assert_eq!(decode("Müller".as_bytes()), "Müller");
        assert_eq!(decode(b"M\xFCller \x80"), "Müller €");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Ä;1".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16), "Ä;1");
    }

    #[test]
    fn rows_keep_their_file_lines() {
        let sheet = read(b"PatientID;Modality\n0012;CT\n\n\"00\n13\";MR\n ;  \n").unwrap();
        assert_eq!(sheet.header_line, 1);
        assert_eq!(sheet.headers, ["PatientID", "Modality"]);
        let lines: Vec<u32> = sheet.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines.first(), Some(&2));
        let quoted = sheet
            .rows
            .iter()
            .find(|r| r.cell(1).text() == "MR")
            .unwrap();
        assert_eq!(quoted.line, 4);
        assert_eq!(quoted.cell(0).text(), "00\n13");
        assert_eq!(sheet.rows[0].cell(0), &Cell::Text("0012".into()));
    }
}
