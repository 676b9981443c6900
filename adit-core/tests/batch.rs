#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Batch files end to end: sheets generated here in both formats (good and deliberately
//! broken), parsed, and every reported problem checked by line and column.

use adit_core::batch::{
    BatchFileError, BatchKind, BatchQueryParser, BatchQueryResultRow, BatchTransferParser, Cell,
    ExportColumns, Issue, Sheet, SheetDate, SheetFormat, sample, write_results,
};
use adit_core::model::{QueryLevel, QueryValue};
use dicom_dictionary_std::tags;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// A cell to put into a generated workbook.
#[derive(Clone, Copy)]
enum X<'a> {
    S(&'a str),
    N(f64),
    /// A number shown with a zero-padded number format, e.g. `00000000`.
    Padded(f64, &'a str),
    D(u16, u8, u8),
    E,
}

fn xlsx(rows: &[Vec<X<'_>>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (r, row) in (0u32..).zip(rows) {
        for (c, cell) in (0u16..).zip(row) {
            match *cell {
                X::S(s) => {
                    sheet.write_string(r, c, s).unwrap();
                }
                X::N(n) => {
                    sheet.write_number(r, c, n).unwrap();
                }
                X::Padded(n, format) => {
                    let f = Format::new().set_num_format(format);
                    sheet.write_number_with_format(r, c, n, &f).unwrap();
                }
                X::D(y, m, d) => {
                    let value = ExcelDateTime::from_ymd(y, m, d).unwrap();
                    sheet
                        .write_datetime_with_format(r, c, &value, &date)
                        .unwrap();
                }
                X::E => {}
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// The same table of texts as an xlsx (text cells) and as a comma CSV.
fn both(rows: &[&[&str]]) -> [(SheetFormat, Vec<u8>); 2] {
    let table: Vec<Vec<X<'_>>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|s| if s.is_empty() { X::E } else { X::S(s) })
                .collect()
        })
        .collect();
    let mut csv = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut csv);
        for row in rows {
            w.write_record(*row).unwrap();
        }
    }
    [(SheetFormat::Xlsx, xlsx(&table)), (SheetFormat::Csv, csv)]
}

fn located(issues: &[Issue]) -> Vec<(u32, Option<&str>)> {
    issues
        .iter()
        .map(|i| (i.line(), i.column.as_deref()))
        .collect()
}

fn date(y: u16, m: u8, d: u8) -> SheetDate {
    SheetDate::new(y, m, d).unwrap()
}

const QUERY_HEADER: &[&str] = &[
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "AccessionNumber",
    "From",
    "Until",
    "Modality",
    "StudyDescription",
    "SeriesDescription",
    "SeriesNumber",
    "Pseudonym",
];

#[test]
fn good_query_sheet_in_both_formats() {
    let rows: &[&[&str]] = &[
        QUERY_HEADER,
        &[
            "1001",
            "",
            "",
            "",
            "2019-06-03",
            "06/05/2019",
            "CT, SR",
            "",
            "",
            "",
            "pseudo1",
        ],
        &["", "", "", "", "", "", "", "", "", "", ""],
        &[
            "",
            "Coconut, Coco",
            "Dec 9 1976",
            "",
            "",
            "",
            "MR",
            "Kopf*",
            "",
            "",
            "",
        ],
        &[
            "0001003",
            "",
            "",
            "0062094311",
            "",
            "",
            "",
            "",
            "T2*",
            "1, 2 ,3",
            "",
        ],
    ];
    for (format, bytes) in both(rows) {
        let parsed = BatchQueryParser::new().parse_bytes(&bytes, format).unwrap();
        assert!(
            parsed.warnings.is_empty(),
            "{format}: {:?}",
            parsed.warnings
        );
        let r = &parsed.rows;
        assert_eq!(r.len(), 3, "{format}: the empty row is skipped");
        assert_eq!(r[0].line, 2);
        assert_eq!(r[0].patient_id.as_deref(), Some("1001"));
        assert_eq!(r[0].study_date_start, Some(date(2019, 6, 3)));
        assert_eq!(r[0].study_date_end, Some(date(2019, 6, 5)));
        assert_eq!(r[0].modalities, ["CT", "SR"]);
        assert_eq!(r[0].pseudonym.as_deref(), Some("pseudo1"));
        assert!(!r[0].is_series_level());

        assert_eq!(r[1].line, 4, "{format}: lines count the skipped row");
        assert_eq!(r[1].patient_name.as_deref(), Some("Coconut^Coco"));
        assert_eq!(r[1].birth_date, Some(date(1976, 12, 9)));
        assert_eq!(r[1].study_description.as_deref(), Some("Kopf*"));

        assert_eq!(r[2].line, 5);
        assert_eq!(r[2].patient_id.as_deref(), Some("0001003"));
        assert_eq!(r[2].accession_number.as_deref(), Some("0062094311"));
        assert_eq!(r[2].series_numbers, ["1", "2", "3"]);
        assert!(r[2].is_series_level());
    }
}

#[test]
fn xlsx_numbers_dates_and_padded_formats() {
    let bytes = xlsx(&[
        vec![
            X::S("PatientID"),
            X::S("PatientBirthDate"),
            X::S("AccessionNumber"),
            X::S("From"),
            X::S("Modality"),
        ],
        // A number cell: Excel lost the zeros; a warning names the line.
        vec![
            X::N(1001.0),
            X::E,
            X::N(62094311.0),
            X::D(2019, 6, 3),
            X::S("CT"),
        ],
        // Text keeps them, a zero-padded number format shows (and gives back) them.
        vec![
            X::S("0001002"),
            X::D(1976, 12, 9),
            X::Padded(62094311.0, "0000000000"),
            X::E,
            X::S("MR"),
        ],
        // Excel's text marker that ended up in the value is dropped.
        vec![X::S("'0001003"), X::E, X::E, X::E, X::S("CT")],
        vec![X::N(1004.0), X::E, X::E, X::E, X::S("CT")],
    ]);
    let parsed = BatchQueryParser::new()
        .parse_bytes(&bytes, SheetFormat::Xlsx)
        .unwrap();
    let ids: Vec<_> = parsed
        .rows
        .iter()
        .map(|r| r.patient_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["1001", "0001002", "0001003", "1004"]);
    assert_eq!(
        parsed.rows[1].accession_number.as_deref(),
        Some("0062094311")
    );
    assert_eq!(parsed.rows[0].study_date_start, Some(date(2019, 6, 3)));
    assert_eq!(parsed.rows[1].birth_date, Some(date(1976, 12, 9)));
    let warnings: Vec<_> = parsed
        .warnings
        .iter()
        .map(|w| (w.lines.clone(), w.column.as_deref()))
        .collect();
    assert_eq!(
        warnings,
        [
            (vec![2, 5], Some("PatientID")),
            (vec![2], Some("AccessionNumber"))
        ]
    );
    assert!(parsed.warnings[0].message.contains("leading zeros"));

    // The cell types as read.
    let sheet = Sheet::read(&bytes, SheetFormat::Xlsx).unwrap();
    assert_eq!(sheet.rows[0].cells[0], Cell::Number("1001".into()));
    assert!(
        matches!(&sheet.rows[0].cells[3], Cell::Date { date: d, text }
        if *d == date(2019, 6, 3) && text == "2019-06-03 00:00:00")
    );
    assert_eq!(sheet.rows[1].cells[2], Cell::Text("0062094311".into()));
}

#[test]
fn broken_query_rows_report_every_problem_with_line_and_column() {
    let rows: &[&[&str]] = &[
        QUERY_HEADER,
        // 2: bad birth date, but the name is there: no "unidentifiable" on top.
        &[
            "",
            "Doe, John",
            "20190603",
            "",
            "",
            "",
            "CT",
            "",
            "",
            "",
            "",
        ],
        // 3: wildcard in PatientID; non-letter modality; bad series number.
        &["10*1", "", "", "", "", "", "C1, MR", "", "", "1, x", ""],
        // 4: no modality and no accession; no patient identification.
        &["", "Doe, Jane", "", "", "", "", "", "", "", "", "P\\1"],
        // 5: empty, skipped.
        &["", "", "", "", "", "", "", "", "", "", ""],
        // 6: Until before From; bad From format in a second column is separate.
        &[
            "1006",
            "",
            "",
            "",
            "2020-02-01",
            "2020-01-01",
            "MR",
            "",
            "",
            "",
            "",
        ],
        // 7: garbage dates and a 65-character ID.
        &[
            &"9".repeat(65),
            "",
            "",
            "",
            "not-a-date",
            "2020-02-30",
            "CT",
            "",
            "",
            "",
            "",
        ],
        // 8: fine.
        &["1008", "", "", "", "", "", "CT", "", "", "", ""],
    ];
    for (format, bytes) in both(rows) {
        let err = BatchQueryParser::new()
            .parse_bytes(&bytes, format)
            .unwrap_err();
        let issues = err.issues();
        assert_eq!(
            located(issues),
            [
                (2, Some("PatientBirthDate")),
                (3, Some("PatientID")),
                (3, Some("Modality")),
                (3, Some("SeriesNumber")),
                (4, Some("Pseudonym")),
                (4, Some("Modality")),
                (4, Some("PatientID")),
                (6, Some("Until")),
                (7, Some("PatientID")),
                (7, Some("From")),
                (7, Some("Until")),
            ],
            "{format}: {issues:#?}"
        );
        let message = |i: usize| issues[i].message.as_str();
        assert_eq!(message(0), "Date has wrong format.");
        assert_eq!(message(1), "Contains invalid wildcard characters.");
        assert!(message(2).contains("`C1`: Only letters A-Z are allowed."));
        assert!(message(3).contains("`x`: Invalid string representation of a number."));
        assert_eq!(message(4), "Contains invalid backslash character");
        assert_eq!(message(5), "Missing Modality.");
        assert!(message(6).starts_with("A patient must be identifiable"));
        assert!(message(7).contains("before From"));
        assert!(message(8).contains("no more than 64 characters"));
        assert_eq!(message(9), "Date has wrong format.");
    }
}

#[test]
fn wrong_and_missing_headers_are_reported_alone() {
    let rows: &[&[&str]] = &[
        &["Patient ID", "Modality", "Modality", "Comment"],
        &["1001", "CT", "MR", "x"],
    ];
    for (format, bytes) in both(rows) {
        let err = BatchQueryParser::new()
            .parse_bytes(&bytes, format)
            .unwrap_err();
        assert_eq!(
            located(err.issues()),
            [(1, Some("Patient ID")), (1, Some("Modality")), (1, None)],
            "{format}: {:#?}",
            err.issues()
        );
        assert!(err.issues()[0].message.contains("did you mean PatientID?"));
        assert!(err.issues()[2].message.contains("Missing column PatientID"));
    }

    let rows: &[&[&str]] = &[&["PatientID", "SeriesInstanceUID"], &["1", "1.2"]];
    for (format, bytes) in both(rows) {
        let err = BatchTransferParser::new()
            .parse_bytes(&bytes, format)
            .unwrap_err();
        let messages: Vec<_> = err.issues().iter().map(|i| i.message.as_str()).collect();
        assert_eq!(located(err.issues()), [(1, None), (1, None)]);
        assert_eq!(messages[0], "Missing column StudyInstanceUID.");
        assert!(messages[1].starts_with("Missing column Pseudonym."));
    }
}

const TRANSFER_HEADER: &[&str] = &[
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Pseudonym",
];

#[test]
fn transfer_rows_are_grouped_by_study_in_both_formats() {
    let rows: &[&[&str]] = &[
        TRANSFER_HEADER,
        &["0111", "1.2.3", "1.2.3.1", "pseudo1"],
        &["0222", "1.2.4", "1.2.4.1", "pseudo2"],
        &["", "", "", ""],
        &["0222", "1.2.4", "1.2.4.2", "pseudo2"],
        &["0222", "1.2.4", "1.2.4.1", "pseudo2"],
        &["0333", "1.2.5", "1.2.5.1", "pseudo3"],
        &["0333", "1.2.5", "", "pseudo3"],
    ];
    for (format, bytes) in both(rows) {
        let tasks = BatchTransferParser::new()
            .parse_bytes(&bytes, format)
            .unwrap()
            .rows;
        assert_eq!(tasks.len(), 3, "{format}");
        assert_eq!(tasks[0].patient_id, "0111");
        assert_eq!(tasks[0].series_uids, ["1.2.3.1"]);
        assert_eq!(tasks[1].lines, [3, 5, 6]);
        assert_eq!(tasks[1].series_uids, ["1.2.4.1", "1.2.4.2"]);
        assert_eq!(tasks[1].pseudonym.as_deref(), Some("pseudo2"));
        assert_eq!(tasks[2].lines, [7, 8]);
        assert!(tasks[2].is_whole_study());
    }
}

#[test]
fn conflicting_pseudonyms_and_patients_name_every_row() {
    // Semicolons, a UTF-8 BOM and CRLF line ends, as German Excel writes them.
    let csv = "\u{feff}PatientID;StudyInstanceUID;SeriesInstanceUID;Pseudonym\r\n\
               111;1.2.3;1.2.3.1;pseudo1\r\n\
               222;1.2.3;1.2.3.2;pseudo1\r\n\
               \r\n\
               111;1.2.4;;pseudo2\r\n\
               333;1.2.x;;pseudo3\r\n\
               444;1.2.6;;\r\n";
    let err = BatchTransferParser::new()
        .parse_bytes(csv.as_bytes(), SheetFormat::Csv)
        .unwrap_err();
    let issues = err.issues();
    assert_eq!(
        located(issues),
        [
            (6, Some("StudyInstanceUID")),
            (7, Some("Pseudonym")),
            (2, Some("PatientID")),
            (2, Some("Pseudonym")),
        ],
        "{issues:#?}"
    );
    assert_eq!(issues[2].lines, [2, 3]);
    assert!(
        issues[2]
            .message
            .contains("Same Study Instance UID 1.2.3 can't belong to different Patient IDs")
    );
    assert_eq!(issues[3].lines, [2, 5]);
    assert!(
        issues[3]
            .message
            .contains("Same Patient ID 111 can't have different pseudonyms (pseudo1, pseudo2)")
    );

    // Allowed to transfer without pseudonym: line 7 is fine then; an empty pseudonym still
    // conflicts with a given one for the same patient.
    let csv = "PatientID;StudyInstanceUID;Pseudonym\n111;1.2.3;P1\n111;1.2.4;\n222;1.2.5;\n";
    let err = BatchTransferParser::new()
        .allow_unpseudonymized(true)
        .parse_bytes(csv.as_bytes(), SheetFormat::Csv)
        .unwrap_err();
    assert_eq!(located(err.issues()), [(2, Some("Pseudonym"))]);
    assert_eq!(err.issues()[0].lines, [2, 3]);
}

#[test]
fn latin1_csv_with_semicolons() {
    // "Müller, Anna" in Latin-1, as older Excel versions save CSV.
    let mut bytes = b"PatientName;PatientBirthDate;Modality\n".to_vec();
    bytes.extend(b"M\xFCller, Anna;27.04.1945;MR\n");
    let parsed = BatchQueryParser::new()
        .parse_bytes(&bytes, SheetFormat::Csv)
        .unwrap();
    assert_eq!(parsed.rows[0].patient_name.as_deref(), Some("Müller^Anna"));
    assert_eq!(parsed.rows[0].birth_date, Some(date(1945, 4, 27)));
}

#[test]
fn unreadable_files_limits_and_empty_files() {
    let garbage = BatchQueryParser::new().parse_bytes(b"PK\x03\x04garbage", SheetFormat::Xlsx);
    assert!(matches!(
        garbage,
        Err(BatchFileError::Format {
            format: SheetFormat::Xlsx,
            ..
        })
    ));
    let full = xlsx(&[
        vec![X::S("PatientID"), X::S("Modality")],
        vec![X::S("1"), X::S("CT")],
    ]);
    let truncated = BatchQueryParser::new().parse_bytes(&full[..50], SheetFormat::Xlsx);
    assert!(matches!(truncated, Err(BatchFileError::Format { .. })));
    let empty = BatchQueryParser::new().parse_bytes(b"", SheetFormat::Csv);
    assert!(matches!(empty, Err(BatchFileError::Format { .. })));

    let rows: &[&[&str]] = &[
        TRANSFER_HEADER,
        &["1", "1.2.1", "", "P1"],
        &["", "", "", ""],
        &["2", "1.2.2", "", "P2"],
        &["3", "1.2.3", "", "P3"],
    ];
    for (format, bytes) in both(rows) {
        let parser = BatchTransferParser::new();
        let too_many = parser.max_rows(Some(2)).parse_bytes(&bytes, format);
        assert!(
            matches!(
                too_many,
                Err(BatchFileError::TooManyRows { count: 3, max: 2 })
            ),
            "{format}: {too_many:?}"
        );
        assert_eq!(
            parser
                .max_rows(Some(3))
                .parse_bytes(&bytes, format)
                .unwrap()
                .rows
                .len(),
            3
        );
    }
    assert!(adit_core::batch::check_size(&vec![0; adit_core::batch::MAX_FILE_SIZE + 1]).is_err());
}

fn result_rows() -> Vec<BatchQueryResultRow> {
    vec![
        BatchQueryResultRow {
            pseudonym: Some("pseudo1".into()),
            patient_id: "0001001".into(),
            patient_name: "Apple^Annie".into(),
            birth_date: Some(date(1945, 4, 27)),
            modalities: vec!["CT".into(), "SR".into()],
            study_date: Some(date(2020, 7, 5)),
            study_time: Some("182951.123".into()),
            study_description: "CT des Schädels".into(),
            number_of_instances: Some(11),
            accession_number: "0062115936".into(),
            study_uid: "1.2.840.1.1".into(),
            series_uid: "1.2.840.1.1.1".into(),
            series_description: "Kopf".into(),
            series_number: "2".into(),
        },
        BatchQueryResultRow {
            pseudonym: Some("pseudo1".into()),
            patient_id: "0001001".into(),
            study_uid: "1.2.840.1.1".into(),
            series_uid: "1.2.840.1.1.2".into(),
            ..BatchQueryResultRow::default()
        },
    ]
}

#[test]
fn exported_results_follow_adit_columns_and_feed_batch_transfer() {
    let columns = ExportColumns {
        pseudonym: true,
        series: true,
    };
    for format in [SheetFormat::Xlsx, SheetFormat::Csv] {
        let mut out = Vec::new();
        write_results(format, columns, &result_rows(), &mut out).unwrap();
        let sheet = Sheet::read(&out, format).unwrap();
        assert_eq!(sheet.headers, columns.headers(), "{format}");
        let first = &sheet.rows[0];
        let text = |i: usize| first.cell(i).text().to_owned();
        assert_eq!(text(1), "0001001", "{format}: leading zeros kept");
        assert_eq!(text(2), "Apple, Annie");
        assert_eq!(text(4), "CT, SR");
        assert_eq!(text(7), "CT des Schädels");
        assert_eq!(text(9), "0062115936");
        match format {
            SheetFormat::Xlsx => {
                assert!(
                    matches!(first.cell(3), Cell::Date { date: d, .. } if *d == date(1945, 4, 27))
                );
                assert_eq!(first.cell(6).text(), "18:29:51");
                assert_eq!(first.cell(8), &Cell::Number("11".into()));
            }
            SheetFormat::Csv => {
                assert_eq!(text(3), "1945-04-27");
                assert_eq!(text(6), "18:29:51");
                assert_eq!(text(8), "11");
            }
        }

        // The export is a valid batch transfer file: one task with both series.
        let tasks = BatchTransferParser::new()
            .parse_bytes(&out, format)
            .unwrap();
        assert_eq!(tasks.rows.len(), 1, "{format}");
        assert_eq!(tasks.rows[0].patient_id, "0001001");
        assert_eq!(
            tasks.rows[0].series_uids,
            ["1.2.840.1.1.1", "1.2.840.1.1.2"]
        );
        assert_eq!(tasks.rows[0].pseudonym.as_deref(), Some("pseudo1"));
        assert!(tasks.ignored_columns.contains(&"BirthDate".to_owned()));
    }

    // Without the optional groups the columns are ADIT's ten.
    let mut out = Vec::new();
    write_results(
        SheetFormat::Csv,
        ExportColumns::default(),
        &result_rows(),
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(
        "\u{feff}PatientID,PatientName,BirthDate,ModalitiesInStudy,StudyDate,StudyTime,\
         StudyDescription,NumberOfStudyRelatedInstances,AccessionNumber,StudyInstanceUID\n"
    ));
}

#[test]
fn samples_parse_cleanly_in_both_formats() {
    for format in [SheetFormat::Xlsx, SheetFormat::Csv] {
        let query = sample(BatchKind::Query, format).unwrap();
        assert_eq!(SheetFormat::detect(&query), format);
        let parsed = BatchQueryParser::new().parse_bytes(&query, format).unwrap();
        assert_eq!(parsed.rows.len(), 4, "{format}");
        assert!(parsed.warnings.is_empty());
        assert!(parsed.ignored_columns.is_empty());
        assert_eq!(parsed.rows[2].patient_id.as_deref(), Some("0010042"));
        assert!(parsed.rows[3].is_series_level());

        let transfer = sample(BatchKind::Transfer, format).unwrap();
        let tasks = BatchTransferParser::new()
            .parse_bytes(&transfer, format)
            .unwrap();
        assert_eq!(tasks.rows.len(), 2, "{format}");
        assert_eq!(tasks.rows[1].series_uids.len(), 2);
    }
}

#[test]
fn query_rows_become_adit_queries() {
    let csv = "PatientID,From,Until,Modality,SeriesDescription,SeriesNumber,StudyDescription\n\
               1001,2019-01-01,,\"CT, MR\",T2*,\"3, 4\",Kopf*\n";
    let row = BatchQueryParser::new()
        .parse_bytes(csv.as_bytes(), SheetFormat::Csv)
        .unwrap()
        .rows
        .remove(0);
    let patient = row.patient_query().unwrap();
    assert_eq!(patient.level(), QueryLevel::Patient);
    assert_eq!(patient.single(tags::PATIENT_ID), Some("1001"));

    let studies = row.study_queries("1001").unwrap();
    assert_eq!(studies.len(), 2, "one query per modality");
    assert_eq!(studies[1].single(tags::MODALITIES_IN_STUDY), Some("MR"));
    assert_eq!(
        studies[0].get("StudyDate"),
        Some(&QueryValue::Range {
            from: Some("20190101".into()),
            to: None
        })
    );
    assert_eq!(studies[0].single(tags::STUDY_DESCRIPTION), Some("Kopf*"));

    let series = row.series_queries("1001", "1.2.3").unwrap();
    assert_eq!(series.len(), 2, "one query per series number");
    assert_eq!(series[0].single(tags::SERIES_NUMBER), Some("3"));
    assert_eq!(series[1].single(tags::SERIES_DESCRIPTION), Some("T2*"));
    assert_eq!(series[1].single(tags::STUDY_INSTANCE_UID), Some("1.2.3"));
}
