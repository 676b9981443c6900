//! Example batch files for download (the web UI offers one per kind and format). They use
//! every column, show the accepted forms (a name as `Last, First`, an accession number with
//! leading zeros stored as text, a date range, a list of modalities) and parse without errors.

use std::io::Write;

use super::columns::BatchKind;
use super::date::SheetDate;
use super::error::BatchFileError;
use super::sheet::SheetFormat;
use super::write::{Value, write_table};

/// Writes the example file of `kind` in `format` to `out`.
pub fn write_sample<W: Write>(
    kind: BatchKind,
    format: SheetFormat,
    out: W,
) -> Result<(), BatchFileError> {
    let rows = match kind {
        BatchKind::Query => query_rows(),
        BatchKind::Transfer => transfer_rows(),
    };
    write_table(format, kind.columns(), rows, out)
}

/// The example file of `kind` in `format`, in memory.
pub fn sample(kind: BatchKind, format: SheetFormat) -> Result<Vec<u8>, BatchFileError> {
    let mut out = Vec::new();
    write_sample(kind, format, &mut out)?;
    Ok(out)
}

fn text(s: &str) -> Value {
    Value::text(s)
}

fn date(y: u16, m: u8, d: u8) -> Value {
    SheetDate::new(y, m, d).map_or(Value::Empty, Value::Date)
}

/// Columns: PatientID, PatientName, PatientBirthDate, AccessionNumber, From, Until, Modality,
/// StudyDescription, SeriesDescription, SeriesNumber, Pseudonym.
fn query_rows() -> Vec<Vec<Value>> {
    let e = || Value::Empty;
    vec![
        vec![
            text("1001"),
            e(),
            e(),
            e(),
            date(2019, 1, 1),
            date(2020, 12, 31),
            text("CT, SR"),
            e(),
            e(),
            e(),
            text("PSEUDO-0001"),
        ],
        vec![
            e(),
            text("Apple, Annie"),
            date(1945, 4, 27),
            e(),
            e(),
            e(),
            text("MR"),
            text("*Kopf*"),
            e(),
            e(),
            text("PSEUDO-0002"),
        ],
        vec![
            text("0010042"),
            e(),
            e(),
            text("0062115911"),
            e(),
            e(),
            e(),
            e(),
            e(),
            e(),
            text("PSEUDO-0003"),
        ],
        vec![
            e(),
            text("Papaya, Pamela"),
            date(1976, 12, 9),
            e(),
            date(2018, 1, 1),
            date(2018, 8, 20),
            text("MR"),
            e(),
            text("t2*"),
            text("3, 4"),
            text("PSEUDO-0004"),
        ],
    ]
}

/// Columns: PatientID, StudyInstanceUID, SeriesInstanceUID, Pseudonym. The second study is
/// given twice with two series, which makes one task with both series.
fn transfer_rows() -> Vec<Vec<Value>> {
    vec![
        vec![
            text("1001"),
            text("1.2.840.113845.11.1000000001951524609.20200705182951.2689481"),
            Value::Empty,
            text("PSEUDO-0001"),
        ],
        vec![
            text("0010042"),
            text("1.2.840.113845.11.1000000001951524609.20200705163958.2689467"),
            text("1.3.12.2.1107.5.2.18.41369.2020070516551348090513757.0.0.0"),
            text("PSEUDO-0003"),
        ],
        vec![
            text("0010042"),
            text("1.2.840.113845.11.1000000001951524609.20200705163958.2689467"),
            text("1.3.12.2.1107.5.2.18.41369.2020070516551348090513758.0.0.0"),
            text("PSEUDO-0003"),
        ],
    ]
}
