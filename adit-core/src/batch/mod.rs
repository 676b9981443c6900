//! Batch files: ADIT's batch-query and batch-transfer sheets (`.xlsx` and `.csv`), their
//! validation with every problem located by line and column, the study grouping of batch
//! transfer, and the export of batch-query results.
//!
//! | module | job |
//! |---|---|
//! | `sheet` | [`Sheet`], [`Cell`], [`SheetFormat`]: a file as header + rows with line numbers |
//! | `xlsx` | reading the first worksheet of a workbook (calamine); numbers vs text kept apart |
//! | `csv` | reading CSV: encoding (BOM, UTF-8, Latin-1) and delimiter (`,` `;` tab) detection |
//! | `columns` | ADIT's column names ([`QUERY_COLUMNS`], [`TRANSFER_COLUMNS`]), header mapping |
//! | `validate` | ADIT's field rules and messages |
//! | `date` | [`SheetDate`]: the date formats ADIT accepts |
//! | `parse` | what both parsers share, and the result type [`Parsed`] |
//! | `query` | [`BatchQueryParser`] → [`BatchQueryRow`], and the queries a row stands for |
//! | `transfer` | [`BatchTransferParser`] → [`BatchTransferRow`], cross-row checks |
//! | `group` | [`group_studies`]: one [`BatchTransferTask`] per study |
//! | `export` | [`BatchQueryResultRow`], [`ExportColumns`], [`write_results`] in ADIT's column order |
//! | `write` | the xlsx/csv table writer behind export and samples |
//! | `sample` | [`sample`]: example files for download |
//! | `error` | [`Issue`] (lines, column, message) and [`BatchFileError`] |
//!
//! ```
//! use adit_core::batch::{BatchFileError, BatchTransferParser, SheetFormat};
//!
//! let csv = "PatientID;StudyInstanceUID;SeriesInstanceUID;Pseudonym\n\
//!            0012;1.2.3;1.2.3.1;P1\n\
//!            0012;1.2.3;1.2.3.2;P1\n\
//!            0013;1.2.4;;P1\n";
//! let parsed = BatchTransferParser::new().parse_bytes(csv.as_bytes(), SheetFormat::Csv)?;
//! // The two rows of study 1.2.3 make one task with both series; leading zeros are kept.
//! assert_eq!(parsed.rows.len(), 2);
//! assert_eq!(parsed.rows[0].patient_id, "0012");
//! assert_eq!(parsed.rows[0].series_uids, ["1.2.3.1", "1.2.3.2"]);
//! assert_eq!(parsed.rows[0].lines, [2, 3]);
//!
//! // Every problem is reported, each with its line and column.
//! let bad = "PatientID,StudyInstanceUID,Pseudonym\n\
//!            1*,1.2.x,P1\n\
//!            ,1.2.5,\n";
//! let err = BatchTransferParser::new()
//!     .parse_bytes(bad.as_bytes(), SheetFormat::Csv)
//!     .unwrap_err();
//! let found: Vec<String> = err.issues().iter().map(ToString::to_string).collect();
//! assert_eq!(found, [
//!     "line 2, PatientID: Contains invalid wildcard characters.",
//!     "line 2, StudyInstanceUID: Invalid character in UID.",
//!     "line 3, PatientID: This field is required.",
//!     "line 3, Pseudonym: You are only allowed to transfer pseudonymized.",
//! ]);
//! # Ok::<(), BatchFileError>(())
//! ```

mod columns;
mod csv;
mod date;
mod error;
mod export;
mod group;
mod parse;
mod query;
mod sample;
mod sheet;
mod transfer;
mod validate;
mod write;
mod xlsx;

pub use columns::{BatchKind, QUERY_COLUMNS, TRANSFER_COLUMNS};
pub use date::SheetDate;
pub use error::{BatchFileError, Issue};
pub use export::{BatchQueryResultRow, ExportColumns, write_results};
pub use group::{BatchTransferTask, group_studies};
pub use parse::Parsed;
pub use query::{BatchQueryParser, BatchQueryRow};
pub use sample::{sample, write_sample};
pub use sheet::{Cell, Row, Sheet, SheetFormat};
pub use transfer::{BatchTransferParser, BatchTransferRow};
pub use write::{Value, write_table};

/// ADIT's upload limit for batch files: 5 MiB.
pub const MAX_FILE_SIZE: usize = 5 * 1024 * 1024;

/// Checks an upload against [`MAX_FILE_SIZE`] before it is read.
pub fn check_size(bytes: &[u8]) -> Result<(), BatchFileError> {
    if bytes.len() > MAX_FILE_SIZE {
        Err(BatchFileError::TooLarge {
            size: bytes.len(),
            max: MAX_FILE_SIZE,
        })
    } else {
        Ok(())
    }
}
