//! `adit dicom receive`: the C-STORE SCP as a process of its own. It writes every instance
//! atomically into a spool directory (with the Move Originator in the file meta), so workers in
//! other processes, or on other machines sharing the directory, can take their C-MOVE results
//! from it (`adit_dimse::scp::MoveCoordinator::watch_spool`). Logs one line per association on
//! stderr; SIGINT or SIGTERM stop it cleanly (the instance being received is finished first)
//! with exit code 0.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use adit_dimse::scp::{Receiver, ReceiverOptions};
use clap::Args;

/// `adit dicom receive ...`.
#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Our AE title (the move destination PACS send to).
    #[arg(long, default_value = "ADIT")]
    ae: String,
    /// TCP port to listen on.
    #[arg(long, default_value_t = 11112)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind: String,
    /// Spool directory for received files (`<out>/<association>/<SOPInstanceUID>.dcm`).
    #[arg(long, visible_alias = "spool")]
    out: PathBuf,
    /// Only these calling AE titles may send (comma-separated or repeated; default: any).
    #[arg(long, value_delimiter = ',')]
    allow_calling_ae: Vec<String>,
    /// Refuse associations whose called AE title is not `--ae`.
    #[arg(long)]
    check_called_ae: bool,
    /// Seconds an association may stay silent before it is aborted.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Associations served at once.
    #[arg(long, default_value_t = 16)]
    max_associations: usize,
    /// Use DICOM TLS with this server certificate chain (PEM; with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by a CA in this PEM file (TLS only).
    #[arg(long, requires = "tls_cert")]
    tls_ca: Option<PathBuf>,
}

/// Runs the receiver until a stop signal; exit code 0 after a clean stop, 1 when it cannot
/// start (the reason on stderr).
pub fn run(args: ReceiveArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ADIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("adit dicom receive: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adit dicom receive: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ReceiveArgs) -> Result<(), String> {
    let mut options = ReceiverOptions::new(&args.ae, &args.out);
    if !args.allow_calling_ae.is_empty() {
        options = options.allow_only(
            args.allow_calling_ae
                .iter()
                .map(|ae| ae.trim().to_owned())
                .filter(|ae| !ae.is_empty()),
        );
    }
    options.check_called_ae = args.check_called_ae;
    options.idle_timeout = Duration::from_secs(args.idle_timeout.max(1));
    options.max_associations = args.max_associations.max(1);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let tls = adit_dimse::tls::ServerTls::from_pem_files(cert, key, args.tls_ca.as_deref())
            .map_err(|e| e.to_string())?;
        options.tls = Some(tls);
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    let receiver = Receiver::bind((args.bind.as_str(), args.port), options)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{} listening on {}{}, writing to {}",
        args.ae,
        receiver.local_addr(),
        if args.tls_cert.is_some() {
            " (TLS)"
        } else {
            ""
        },
        args.out.display()
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("stopping: finishing the instances being received");
    receiver.shutdown().await;
    println!("{} stopped", args.ae);
    Ok(())
}
