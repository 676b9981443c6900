//! Batch files: how long parsing and exporting take at ADIT's row limits and far beyond.
//!
//! Generates batch transfer files (500 rows, ADIT's limit for non-staff users, and 50 000 rows)
//! and batch query files (1000 rows) in both formats with the crate's own writer, then parses
//! them; exports 10 000 query results. Prints the median of several runs.
//!
//! Run: `cargo run --release -p adit-benches --bin batch_files`

use std::time::{Duration, Instant};

use adit_core::batch::{
    BatchQueryParser, BatchQueryResultRow, BatchTransferParser, ExportColumns, QUERY_COLUMNS,
    SheetDate, SheetFormat, TRANSFER_COLUMNS, Value, write_results, write_table,
};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const RUNS: usize = 7;

fn main() -> AnyResult<()> {
    println!("| what | format | rows | bytes | median time | rows/s |");
    println!("|---|---|---|---|---|---|");
    for format in [SheetFormat::Xlsx, SheetFormat::Csv] {
        for rows in [500, 50_000] {
            let bytes = transfer_file(format, rows)?;
            let time = median(|| {
                BatchTransferParser::new()
                    .parse_bytes(&bytes, format)
                    .map(|p| p.rows.len())
            })?;
            report("parse batch transfer", format, rows, bytes.len(), time);
        }
        let bytes = query_file(format, 1000)?;
        let time = median(|| {
            BatchQueryParser::new()
                .parse_bytes(&bytes, format)
                .map(|p| p.rows.len())
        })?;
        report("parse batch query", format, 1000, bytes.len(), time);

        let results = results(10_000);
        let columns = ExportColumns {
            pseudonym: true,
            series: true,
        };
        let mut size = 0;
        let time = median(|| {
            let mut out = Vec::new();
            write_results(format, columns, &results, &mut out)?;
            size = out.len();
            Ok::<_, adit_core::batch::BatchFileError>(out.len())
        })?;
        report("export query results", format, results.len(), size, time);
    }
    Ok(())
}

fn report(what: &str, format: SheetFormat, rows: usize, bytes: usize, time: Duration) {
    let per_second = rows as f64 / time.as_secs_f64();
    println!(
        "| {what} | {format} | {rows} | {bytes} | {:.1} ms | {per_second:.0} |",
        time.as_secs_f64() * 1e3
    );
}

fn median<T, E: std::error::Error + 'static>(
    mut run: impl FnMut() -> Result<T, E>,
) -> AnyResult<Duration> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        std::hint::black_box(run()?);
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[RUNS / 2])
}

fn text(s: impl Into<String>) -> Value {
    Value::text(s)
}

/// Four rows per study (two series each twice), pseudonym per patient.
fn transfer_file(format: SheetFormat, rows: usize) -> AnyResult<Vec<u8>> {
    let table = (0..rows).map(|i| {
        let study = i / 4;
        vec![
            text(format!("{:07}", study / 2)),
            text(format!("1.2.826.0.1.3680043.10.1.{study}")),
            text(format!("1.2.826.0.1.3680043.10.1.{study}.{}", i % 2)),
            text(format!("PSEUDO-{:05}", study / 2)),
        ]
    });
    let mut out = Vec::new();
    write_table(format, TRANSFER_COLUMNS, table, &mut out)?;
    Ok(out)
}

fn query_file(format: SheetFormat, rows: usize) -> AnyResult<Vec<u8>> {
    let date = |y, m, d| SheetDate::new(y, m, d).map_or(Value::Empty, Value::Date);
    let table = (0..rows).map(|i| {
        vec![
            text(format!("{i:07}")),
            text(format!("Patient{i}, Given")),
            date(
                1950 + (i % 50) as u16,
                1 + (i % 12) as u8,
                1 + (i % 28) as u8,
            ),
            Value::Empty,
            date(2019, 1, 1),
            date(2020, 12, 31),
            text("CT, MR"),
            text("*Kopf*"),
            Value::Empty,
            text("1, 2"),
            text(format!("PSEUDO-{i:05}")),
        ]
    });
    let mut out = Vec::new();
    write_table(format, QUERY_COLUMNS, table, &mut out)?;
    Ok(out)
}

fn results(count: usize) -> Vec<BatchQueryResultRow> {
    (0..count)
        .map(|i| BatchQueryResultRow {
            pseudonym: Some(format!("PSEUDO-{:05}", i / 10)),
            patient_id: format!("{:07}", i / 10),
            patient_name: format!("Patient{}^Given", i / 10),
            birth_date: SheetDate::new(1970, 1, 1),
            modalities: vec!["CT".into(), "SR".into()],
            study_date: SheetDate::new(2020, 7, 5),
            study_time: Some("182951".into()),
            study_description: "CT des Schädels".into(),
            number_of_instances: Some(120),
            accession_number: format!("{:010}", i / 3),
            study_uid: format!("1.2.826.0.1.3680043.10.2.{}", i / 3),
            series_uid: format!("1.2.826.0.1.3680043.10.2.{}.{}", i / 3, i % 3),
            series_description: "Kopf nativ".into(),
            series_number: (i % 3).to_string(),
        })
        .collect()
}
