//! `adit dicom echo|find|get|move|store|receive`: DIMSE tools for scripting and testing by hand.
//!
//! Peers are given as `AE@host:port`; query keys as `-k Keyword=value` like dcmtk's findscu.
//! `receive` runs the C-STORE SCP until SIGINT/SIGTERM (see [`super::receive`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use adit_core::instance::Instance;
use adit_core::model::{Query, QueryLevel, QueryModel, QueryResult};
use adit_core::sink::StoreOutcome;
use adit_dimse::scu::{self, GetEvent, StoreSession};
use adit_dimse::{DimseOptions, PeerAddress};
use clap::{Args, Subcommand, ValueEnum};
use dicom_core::dictionary::DataDictionary;
use dicom_core::header::Header;
use dicom_dictionary_std::StandardDataDictionary;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

/// `adit dicom ...`.
#[derive(Debug, Args)]
pub struct DicomArgs {
    #[command(subcommand)]
    command: DicomCommand,
}

#[derive(Debug, Subcommand)]
enum DicomCommand {
    /// Verify a peer with C-ECHO.
    Echo {
        #[command(flatten)]
        common: Common,
    },
    /// Search a peer with C-FIND; one result per line.
    Find {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        query: QueryArgs,
        /// Stop after this many results (C-CANCEL).
        #[arg(long)]
        limit: Option<u32>,
        /// Print each result as a JSON object (one per line).
        #[arg(long)]
        json: bool,
    },
    /// Retrieve with C-GET into a directory, one file per instance (`<SOPInstanceUID>.dcm`).
    Get {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        query: QueryArgs,
        /// Where to write the received files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Ask a peer to send instances to another AE with C-MOVE.
    Move {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        query: QueryArgs,
        /// The move destination AE title.
        #[arg(long)]
        dest: String,
    },
    /// Send files (or every file under directories) with C-STORE over one association.
    Store {
        #[command(flatten)]
        common: Common,
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run the C-STORE SCP (receiver) until SIGINT/SIGTERM; instances are written atomically to
    /// `<out>/<association>/<SOPInstanceUID>.dcm`, the spool that workers take C-MOVE results from.
    Receive(super::receive::ReceiveArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// The peer, `AE@host:port`.
    peer: String,
    /// Our AE title.
    #[arg(long, default_value = "ADIT")]
    calling_ae: String,
    /// Seconds to wait for each answer of the peer.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Use DICOM TLS, trusting the CA certificates in this PEM file.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) to present over TLS (with --tls-key).
    #[arg(long, requires = "tls_key", requires = "tls_ca")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Name the peer's certificate must carry (default: the host of the address).
    #[arg(long, requires = "tls_ca")]
    tls_server_name: Option<String>,
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// Query/retrieve level.
    #[arg(short = 'L', long, value_enum, default_value_t = Level::Study)]
    level: Level,
    /// Information model (default: patient root for PATIENT, else study root).
    #[arg(long, value_enum)]
    model: Option<Model>,
    /// A key, `Keyword=value` (empty value: a return key). Repeatable.
    #[arg(short = 'k', long = "key")]
    keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Level {
    Patient,
    Study,
    Series,
    Image,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Model {
    Patient,
    Study,
}

/// Runs `adit dicom ...` to completion and returns the process exit code (1 when the
/// operation failed, with the reason on stderr).
pub fn run(args: DicomArgs) -> ExitCode {
    if let DicomCommand::Receive(receive) = args.command {
        return super::receive::run(receive);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("adit dicom: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(args.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adit dicom: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: DicomCommand) -> adit_core::Result<()> {
    match command {
        DicomCommand::Echo { common } => {
            let (peer, options) = common.resolve()?;
            let rtt = scu::echo(&peer, &options).await?;
            println!(
                "{peer}: C-ECHO success in {:.1} ms",
                rtt.as_secs_f64() * 1e3
            );
            Ok(())
        }
        DicomCommand::Find {
            common,
            query,
            limit,
            json,
        } => {
            let (peer, options) = common.resolve()?;
            let (model, query) = query.resolve(true)?;
            let mut results =
                scu::find(&peer, &options, model, &query.to_identifier(), limit).await?;
            while let Some(result) = results.next().await {
                let result = QueryResult::new(result?);
                println!("{}", render(&result, json));
            }
            Ok(())
        }
        DicomCommand::Get { common, query, out } => {
            let (peer, options) = common.resolve()?;
            let (model, query) = query.resolve(false)?;
            std::fs::create_dir_all(&out).map_err(|e| adit_core::Error::io(&out, e))?;
            let mut events = scu::get(
                &peer,
                &options,
                model,
                vec![query.to_identifier()],
                CancellationToken::new(),
            )
            .await?;
            let mut written = 0usize;
            while let Some(event) = events.next().await {
                match event? {
                    GetEvent::Instance(instance) => {
                        write_instance(&out, &instance)?;
                        written += 1;
                    }
                    GetEvent::Finished(summary) => {
                        let c = summary.sub_operations;
                        println!(
                            "C-GET {}: {} completed, {} failed, {} warning; {written} files in {}",
                            summary.status,
                            c.completed,
                            c.failed,
                            c.warning,
                            out.display()
                        );
                        for uid in &summary.failed_sop_instance_uids {
                            println!("  failed: {uid}");
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        DicomCommand::Move {
            common,
            query,
            dest,
        } => {
            let (peer, options) = common.resolve()?;
            let (model, query) = query.resolve(false)?;
            let summary = scu::move_to(
                &peer,
                &options,
                model,
                &query.to_identifier(),
                &dest,
                CancellationToken::new(),
                |_| {},
            )
            .await?;
            let c = summary.sub_operations;
            println!(
                "C-MOVE to {dest} {}: {} completed, {} failed, {} warning",
                summary.status, c.completed, c.failed, c.warning
            );
            Ok(())
        }
        DicomCommand::Store { common, paths } => {
            let (peer, options) = common.resolve()?;
            store(&peer, &options, &paths).await
        }
        DicomCommand::Receive(_) => Ok(()),
    }
}

impl Common {
    fn resolve(&self) -> adit_core::Result<(PeerAddress, DimseOptions)> {
        let peer: PeerAddress = self.peer.parse()?;
        let timeout = Duration::from_secs(self.timeout.max(1));
        let tls = match &self.tls_ca {
            None => None,
            Some(ca) => {
                let client = self.tls_cert.as_deref().zip(self.tls_key.as_deref());
                let tls = adit_dimse::tls::ClientTls::from_pem_files(ca, client)?;
                Some(match &self.tls_server_name {
                    Some(name) => tls.with_server_name(name),
                    None => tls,
                })
            }
        };
        let options = DimseOptions {
            dimse_timeout: timeout,
            association_timeout: timeout,
            tls,
            ..DimseOptions::with_calling_ae(&self.calling_ae)
        };
        Ok((peer, options))
    }
}

impl QueryArgs {
    /// The model and query; for a find, ADIT's return keys are added.
    fn resolve(&self, find: bool) -> adit_core::Result<(QueryModel, Query)> {
        let level = match self.level {
            Level::Patient => QueryLevel::Patient,
            Level::Study => QueryLevel::Study,
            Level::Series => QueryLevel::Series,
            Level::Image => QueryLevel::Image,
        };
        let model = match (self.model, level) {
            (Some(Model::Patient), _) | (None, QueryLevel::Patient) => QueryModel::PatientRoot,
            _ => QueryModel::StudyRoot,
        };
        let query = Query::parse(level, self.keys.iter().map(String::as_str))?;
        Ok((
            model,
            if find {
                query.with_default_return_keys()
            } else {
                query
            },
        ))
    }
}

/// One result as `Keyword=value` pairs or a JSON object of keyword to string.
fn render(result: &QueryResult, json: bool) -> String {
    let pairs: Vec<(String, String)> = result
        .as_object()
        .iter()
        .filter(|e| e.tag().group() != 0x0008 || e.tag().element() != 0x0005)
        .map(|e| {
            let keyword = StandardDataDictionary
                .by_tag(e.tag())
                .map(|entry| entry.alias.to_owned())
                .unwrap_or_else(|| format!("{}", e.tag()));
            let value = e
                .to_str()
                .map(|v| v.trim_end_matches(['\0', ' ']).to_owned())
                .unwrap_or_default();
            (keyword, value)
        })
        .collect();
    if json {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        serde_json::Value::Object(map).to_string()
    } else {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\t")
    }
}

fn write_instance(dir: &Path, instance: &Instance) -> adit_core::Result<()> {
    let name: String = instance
        .sop_instance_uid()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let path = dir.join(format!("{name}.dcm"));
    let file = std::fs::File::create(&path).map_err(|e| adit_core::Error::io(&path, e))?;
    let mut writer = std::io::BufWriter::new(file);
    instance.write_part10(&mut writer)?;
    std::io::Write::flush(&mut writer).map_err(|e| adit_core::Error::io(&path, e))
}

/// Every file under the paths (directories recursively), sorted.
fn collect_files(paths: &[PathBuf]) -> adit_core::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).map_err(|e| adit_core::Error::io(&path, e))?;
            for entry in entries {
                stack.push(entry.map_err(|e| adit_core::Error::io(&path, e))?.path());
            }
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Stores the files over one association: a first pass reads each file's meta to build the
/// proposal, the second sends them one at a time (memory holds one instance).
async fn store(
    peer: &PeerAddress,
    options: &DimseOptions,
    paths: &[PathBuf],
) -> adit_core::Result<()> {
    let files = collect_files(paths)?;
    let mut pairs = std::collections::BTreeSet::new();
    let mut dicom_files = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| adit_core::Error::io(&file, e))?;
        match Instance::from_part10(bytes) {
            Ok(instance) => {
                pairs.insert((
                    instance.sop_class_uid().to_owned(),
                    instance.transfer_syntax().to_owned(),
                ));
                dicom_files.push(file);
            }
            Err(e) => eprintln!("skipping {}: {e}", file.display()),
        }
    }
    let proposal =
        StoreSession::proposal_for(pairs.iter().map(|(c, t)| (c.as_str(), t.as_str())), 0);
    let mut session = StoreSession::open(peer, options, proposal).await?;
    let (mut stored, mut failed) = (0usize, 0usize);
    for file in &dicom_files {
        let bytes = std::fs::read(file).map_err(|e| adit_core::Error::io(file, e))?;
        let instance = Instance::from_part10(bytes)?;
        match session.store(&instance).await {
            Ok(StoreOutcome::Stored) => stored += 1,
            Ok(StoreOutcome::Warning(w)) => {
                stored += 1;
                eprintln!("{}: warning: {w}", file.display());
            }
            Ok(StoreOutcome::Failed(reason)) => {
                failed += 1;
                eprintln!("{}: failed: {reason}", file.display());
            }
            Err(e) => {
                session.abort().await;
                return Err(e.into());
            }
        }
    }
    session.release().await?;
    println!("C-STORE to {peer}: {stored} stored, {failed} failed");
    if failed > 0 {
        return Err(adit_core::Error::Peer {
            peer: peer.to_string(),
            operation: "C-STORE".into(),
            retriable: false,
            source: format!("{failed} of {} instances were refused", dicom_files.len()).into(),
        });
    }
    Ok(())
}
