//! The `adit` binary: one executable for every run mode and command-line tool of ADIT-RS.

use std::path::PathBuf;
use std::process::ExitCode;

use adit_server::Config;
use adit_server::serve::Mode;
use clap::{Parser, Subcommand};

/// mimalloc: the DICOM object model allocates per element; with glibc's malloc, allocation
/// was a fifth of pseudonymizing's CPU time (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Run only the web server (scaled deployments: PostgreSQL, separate workers/receivers).
    Web,
    /// Administration on the database: users, groups, grants, tokens, nodes.
    Admin(adit_server::cli::admin::AdminArgs),
    /// Run only the DICOM receiver (C-STORE SCP) spooling for the workers (scaled deployments).
    Receiver,
    /// Run a queue worker (transfer and batch query tasks) until SIGINT/SIGTERM.
    Worker(adit_server::worker::WorkerArgs),
    /// Apply the database migrations (server and queue) and exit.
    Migrate,
    /// Print the effective configuration (secrets masked).
    Config,
    /// De-identify DICOM files or folders (PS3.15 Basic Profile or ADIT's preset).
    Pseudonymize(adit_server::cli::pseudonymize::PseudonymizeArgs),
    /// DIMSE tools: echo, find, get, move, store.
    Dicom(adit_server::cli::dicom::DicomArgs),
}

/// Parts of the product and whether this build contains them yet.
const FEATURES: &[(&str, bool)] = &[
    (
        "accounts, groups, permissions, node access (adit admin)",
        true,
    ),
    (
        "health check /health/ and token-authenticated /api/user/",
        true,
    ),
    ("browser login /login/ and /logout/ (session cookie)", true),
    ("web UI", false),
    ("DICOMweb API /api/dicom-web/ (adit-client)", true),
    ("REST job API", false),
    (
        "workers and job queue (transfers, batch queries; adit worker)",
        true,
    ),
    ("DICOM receiver (C-STORE SCP; adit receiver)", true),
    (
        "job-finished mail (SMTP with ADIT_SMTP_HOST, else logged)",
        true,
    ),
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
        Command::Serve => return run_server(config, Mode::Serve),
        Command::Web => return run_server(config, Mode::Web),
        Command::Migrate => return block_on(migrate(&config)),
        Command::Admin(args) => return block_on(adit_server::cli::admin::run(args, &config)),
        Command::Config => print!("{}", config.to_masked_toml()),
        Command::Receiver => {
            init_logging();
            return adit_server::receiver::run(&config);
        }
        Command::Worker(args) => {
            init_logging();
            return adit_server::worker::run(&config, &args);
        }
        Command::Pseudonymize(_) | Command::Dicom(_) => {}
    }
    ExitCode::SUCCESS
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs `future` on a multi-threaded runtime; an error is printed and gives exit code 1.
fn block_on(future: impl Future<Output = adit_server::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("adit: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adit: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &Config) -> adit_server::Result<()> {
    let db = adit_server::db::Db::connect(config).await?;
    let applied = adit_server::db::migrate::run(&db).await?;
    if applied.server.is_empty() {
        println!(
            "database is up to date (migration {})",
            adit_server::db::migrate::latest_version()
        );
    } else {
        println!("applied migrations {:?}", applied.server);
    }
    db.close().await;
    Ok(())
}

fn run_server(config: Config, mode: Mode) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore a second initialization (there is none in the binary).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    print_banner(&config, mode);
    block_on(adit_server::serve::run(config, mode))
}

fn print_banner(config: &Config, mode: Mode) {
    println!(
        "adit {} ({})",
        env!("CARGO_PKG_VERSION"),
        match mode {
            Mode::Serve => "serve: all parts in one process",
            Mode::Web => "web",
        }
    );
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
