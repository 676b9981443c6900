//! The `adit` binary: one executable for every run mode and command-line tool of ADIT-RS.

use clap::{Parser, Subcommand};

/// ADIT-RS: move DICOM studies between archives, pseudonymized on the fly.
#[derive(Debug, Parser)]
#[command(name = "adit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything in one process on the embedded default (SQLite under ADIT_DATA_DIR).
    Serve,
}

/// Parts of the product and whether this build contains them yet.
const FEATURES: &[(&str, bool)] = &[
    ("web UI", false),
    ("REST and DICOMweb API", false),
    ("workers and job queue", false),
    ("DICOM receiver (C-STORE SCP)", false),
];

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => serve(),
    }
}

fn serve() {
    println!("adit {}", env!("CARGO_PKG_VERSION"));
    for (feature, built) in FEATURES {
        let state = if *built { "available" } else { "not built yet" };
        println!("  {feature}: {state}");
    }
}
