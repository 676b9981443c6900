//! The DICOM receiver of the server: the C-STORE SCP (AE `ADIT_RECEIVER_AE` on
//! `ADIT_RECEIVER_ADDR`) writing into the shared spool [`receiver_spool_dir`], from which the
//! workers' `MoveCoordinator`s claim the instances of their C-MOVEs.
//!
//! | module | job |
//! |---|---|
//! | [`liveness`] | whether a receiver runs: in-process flag, PostgreSQL advisory lock, SQLite heartbeat file |
//! | [`signal`] | PostgreSQL `NOTIFY adit_received` after each stored file; workers `LISTEN` and wake early |
//!
//! `adit serve` starts it in process ([`start`]) with a coordinator fed by its announcements;
//! `adit receiver` runs it alone ([`run`]) for scaled deployments.

pub mod liveness;
pub mod signal;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use adit_dimse::scp::{MoveCoordinator, Receiver, ReceiverOptions};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
pub use crate::worker::receiver_spool_dir;

/// Seconds an association may stay silent before the receiver aborts it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Binds the receiver of `config` (spool below the data directory).
pub async fn bind(config: &Config) -> Result<Receiver> {
    let spool = receiver_spool_dir(&config.data_dir);
    std::fs::create_dir_all(&spool).map_err(|source| Error::Io {
        path: spool.clone(),
        source,
    })?;
    let mut options = ReceiverOptions::new(&config.receiver_ae, &spool);
    options.idle_timeout = IDLE_TIMEOUT;
    Receiver::bind(config.receiver_addr, options)
        .await
        .map_err(|e| Error::Receiver {
            addr: config.receiver_addr,
            reason: e.to_string(),
        })
}

/// The in-process receiver of `adit serve`: bound, with a coordinator fed by its
/// announcements.
#[derive(Debug)]
pub struct InProcess {
    /// The running receiver.
    pub receiver: Receiver,
    /// Hands its instances to the workers of this process.
    pub coordinator: Arc<MoveCoordinator>,
}

/// Starts the receiver of `config` in this process (see [`InProcess`]).
pub async fn start(config: &Config) -> Result<InProcess> {
    let receiver = bind(config).await?;
    let coordinator = MoveCoordinator::for_receiver(&receiver).map_err(|source| Error::Io {
        path: receiver.spool_dir().to_owned(),
        source,
    })?;
    println!(
        "DICOM receiver {} listening on {}",
        receiver.ae_title(),
        receiver.local_addr()
    );
    Ok(InProcess {
        receiver,
        coordinator,
    })
}

/// Serves `receiver` until `shutdown`, keeping `alive` up meanwhile; then finishes the
/// instances being received.
pub async fn serve(
    receiver: Receiver,
    alive: liveness::InProcessFlag,
    shutdown: CancellationToken,
) -> Result<()> {
    alive.set(true);
    shutdown.cancelled().await;
    alive.set(false);
    receiver.shutdown().await;
    Ok(())
}

/// Runs `adit receiver` until SIGINT or SIGTERM.
pub fn run(config: &Config) -> ExitCode {
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
    match runtime.block_on(run_alone(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adit receiver: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The receiver as a process of its own: spools, announces itself ([`liveness::present`])
/// and, on PostgreSQL, notifies the workers after each stored file.
async fn run_alone(config: &Config) -> Result<()> {
    let db = Db::connect(config).await?;
    crate::db::migrate::run(&db).await?;
    let receiver = bind(config).await?;
    println!(
        "adit receiver {} listening on {}, spooling to {}",
        receiver.ae_title(),
        receiver.local_addr(),
        receiver.spool_dir().display()
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(crate::serve::wait_for_signal(shutdown.clone()));
    let mut helpers = tokio::task::JoinSet::new();
    helpers.spawn(liveness::present(
        db.clone(),
        config.data_dir.clone(),
        shutdown.clone(),
    ));
    if let Db::Postgres(pool) = &db {
        helpers.spawn(signal::notify_received(
            pool.clone(),
            receiver.subscribe(),
            shutdown.clone(),
        ));
    }
    shutdown.cancelled().await;
    tracing::info!("stopping: finishing the instances being received");
    receiver.shutdown().await;
    while helpers.join_next().await.is_some() {}
    db.close().await;
    println!("adit receiver stopped");
    Ok(())
}

/// The coordinator of a worker whose receiver runs in another process: it watches the shared
/// spool, woken by PostgreSQL notifications when the database is PostgreSQL, else by polling.
pub async fn spool_coordinator(config: &Config, db: &Db) -> Result<Arc<MoveCoordinator>> {
    let spool = receiver_spool_dir(&config.data_dir);
    let io = |source| Error::Io {
        path: spool.clone(),
        source,
    };
    match db {
        Db::Postgres(pool) => {
            let wake = signal::listen(pool.clone()).await?;
            MoveCoordinator::watch_spool_with(
                config.receiver_ae.clone(),
                &spool,
                wake,
                signal::POLL_FALLBACK,
            )
            .map_err(io)
        }
        Db::Sqlite(_) => MoveCoordinator::watch_spool(
            config.receiver_ae.clone(),
            &spool,
            Duration::from_millis(200),
        )
        .map_err(io),
    }
}
