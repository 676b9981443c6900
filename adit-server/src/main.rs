//! The `adit` binary: one executable for every run mode and command-line tool of ADIT-RS.

use std::path::PathBuf;
use std::process::ExitCode;

use adit_server::Config;
use clap::{Parser, Subcommand};

/// ADIT-RS: move DICOM studies between archives, pseudonymized on the fly.
#[derive(Debug, Parser)]
#[command(name = "adit", version, about)]
struct Cli {
    /// Optional TOML configuration file; `ADIT_*` environment variables override it.
    #[arg(long, global = true, env = "ADIT_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything in one process on the embedded default (SQLite under ADIT_DATA_DIR).
    Serve,
    /// Print the effective configuration (secrets masked).
    Config,
    /// De-identify DICOM files or folders (PS3.15 Basic Profile or ADIT's preset).
    Pseudonymize(adit_server::cli::pseudonymize::PseudonymizeArgs),
    /// DIMSE tools: echo, find, get, move, store.
    Dicom(adit_server::cli::dicom::DicomArgs),
}

/// Parts of the product and whether this build contains them yet.
const FEATURES: &[(&str, bool)] = &[
    ("web UI", false),
    ("REST and DICOMweb API", false),
    ("workers and job queue", false),
    ("DICOM receiver (C-STORE SCP)", false),
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The file tools need no configuration.
    let command = match cli.command {
        Command::Pseudonymize(args) => return adit_server::cli::pseudonymize::run(&args),
        Command::Dicom(args) => return adit_server::cli::dicom::run(args),
        command => command,
    };
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("adit: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Serve => serve(&config),
        Command::Config => print!("{}", config.to_masked_toml()),
        Command::Pseudonymize(_) | Command::Dicom(_) => {}
    }
    ExitCode::SUCCESS
}

fn serve(config: &Config) {
    println!("adit {}", env!("CARGO_PKG_VERSION"));
    println!(
        "  data directory {}, database {}",
        config.data_dir.display(),
        if config.is_sqlite() {
            "SQLite (embedded)"
        } else {
            "PostgreSQL"
        }
    );
    for (feature, built) in FEATURES {
        let state = if *built { "available" } else { "not built yet" };
        println!("  {feature}: {state}");
    }
}
