//! `adit serve` and `adit web`: start-up (migrations, first admin, secret key) and the HTTP
//! server with graceful shutdown on SIGINT/SIGTERM.
//!
//! Long-running parts run as tasks of one [`JoinSet`] sharing one [`CancellationToken`]:
//! the web server, and in `adit serve` the DICOM receiver and the workers (see
//! [`spawn_services`]). The process ends when the token is cancelled (by a signal) and every
//! task has returned, or as soon as one task fails.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adit_dimse::scp::MoveCoordinator;
use adit_queue::WorkerConfig;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::accounts::{self, NewUser};
use crate::config::{Config, Secret};
use crate::db::{Db, migrate};
use crate::db_dispatch;
use crate::error::{Error, Result, db as db_err};
use crate::jobs::kind::DICOM_QUEUE;
use crate::receiver::InProcess;
use crate::receiver::liveness::{InProcessFlag, ReceiverCheck};
use crate::web::{self, AppState};

/// Which parts of the product this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything in one process: web, DICOM receiver, workers and periodic tasks.
    Serve,
    /// Only the web server (scaled deployments run workers and receivers separately).
    Web,
}

/// Name of the account created on first start.
pub const ADMIN_USERNAME: &str = "admin";

/// How long running tasks may take to stop (C-CANCEL, the peer's grace, giving the task back
/// to the queue) once the workers' stop grace is over.
pub const TASK_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// How long services may take to stop after SIGINT/SIGTERM before they are aborted, besides
/// `worker_stop_grace` (running tasks may go on that long first).
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// How often `adit web`'s DICOMweb facade looks for C-MOVE instances in the receiver's spool.
const FACADE_SPOOL_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// The queue of non-DICOM tasks (mails, periodic housekeeping), which `adit worker` also
/// serves by default.
const OTHER_QUEUE: &str = "default";

/// File in the data directory holding the generated pseudonymization secret.
pub const SECRET_KEY_FILE: &str = "secret_key";

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(config: Config, mode: Mode) -> Result<()> {
    let shutdown = CancellationToken::new();
    let signals = tokio::spawn(wait_for_signal(shutdown.clone()));
    let result = run_until(config, mode, shutdown).await;
    signals.abort();
    result
}

/// Runs the server until `shutdown` is cancelled (tests and embedding).
pub async fn run_until(mut config: Config, mode: Mode, shutdown: CancellationToken) -> Result<()> {
    let db = Db::connect(&config).await?;
    migrate::run(&db).await?;
    ensure_admin(&db, &config).await?;
    if config.secret_key.is_none() {
        if !config.is_sqlite() {
            tracing::warn!(
                "ADIT_SECRET_KEY is not set: using {}/{SECRET_KEY_FILE}; every process of a \
                 PostgreSQL deployment needs the same secret, or pseudonyms differ",
                config.data_dir.display()
            );
        }
        config.secret_key = Some(load_or_create_secret(&config.data_dir)?);
    }
    let listener = TcpListener::bind(config.http_addr)
        .await
        .map_err(|source| Error::Http {
            addr: config.http_addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Http {
        addr: config.http_addr,
        source,
    })?;
    // Read the certificate before anything runs: a bad file fails the start.
    let tls = tls_config(&config)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "adit {} listening on {scheme}://{addr}/",
        env!("CARGO_PKG_VERSION")
    );

    // The receiver binds before anything runs, so a taken port fails the start.
    let alive = InProcessFlag::default();
    // It counts as running from its bind on, so `/health/` never races its task's start.
    let (receiver, check) = match mode {
        Mode::Serve => {
            let receiver = crate::receiver::start(&config).await?;
            alive.set(true);
            (Some(receiver), ReceiverCheck::InProcess(alive.clone()))
        }
        Mode::Web => (
            None,
            ReceiverCheck::Shared {
                data_dir: config.data_dir.clone(),
            },
        ),
    };
    let grace_period = SHUTDOWN_GRACE + config.worker_stop_grace;
    let mut state = AppState::new(db.clone(), config).with_receiver_check(check);
    // The DICOMweb facade retrieves from C-MOVE-only nodes through the receiver, as the
    // workers do: in `serve` through the in-process receiver's coordinator, in `web` through
    // the shared spool that a separate `adit receiver` fills.
    // (`web` polls the spool: a LISTEN connection would hold a pool connection past shutdown.)
    let facade_coordinator = match &receiver {
        Some(in_process) => Ok(Arc::clone(&in_process.coordinator)),
        None => {
            let spool = crate::worker::receiver_spool_dir(&state.config.data_dir);
            MoveCoordinator::watch_spool(
                state.config.receiver_ae.clone(),
                &spool,
                FACADE_SPOOL_POLL,
            )
            .map_err(|source| Error::Io {
                path: spool,
                source,
            })
        }
    };
    match facade_coordinator {
        Ok(coordinator) => state = state.with_move_coordinator(coordinator),
        Err(e) => tracing::warn!("DICOMweb facade: no C-MOVE retrieves through the receiver: {e}"),
    }
    let mut services = JoinSet::new();
    let router = web::app(state.clone());
    let web_shutdown = shutdown.clone();
    // Connect info gives handlers the client address (audit log, per-IP rate limits).
    match tls {
        None => {
            services.spawn(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(web_shutdown.cancelled_owned())
                .await
                .map_err(|source| Error::Http { addr, source })
            });
        }
        Some(tls) => {
            let listener = listener
                .into_std()
                .map_err(|source| Error::Http { addr, source })?;
            let server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(|source| Error::Http { addr, source })?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            services.spawn(async move {
                web_shutdown.cancelled().await;
                // As axum::serve: stop accepting, let open requests finish (the service
                // grace period bounds the wait).
                stopper.graceful_shutdown(None);
                Ok(())
            });
            services.spawn(async move {
                server
                    .handle(handle)
                    .serve(router.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                    .map_err(|source| Error::Http { addr, source })
            });
        }
    }
    spawn_services(&mut services, &state, mode, &shutdown, receiver, alive);

    let mut outcome = Ok(());
    // After a shutdown request, services get the grace period to finish, then are aborted.
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(grace_period).await;
    };
    tokio::pin!(grace);
    loop {
        let joined = tokio::select! {
            joined = services.join_next() => joined,
            () = &mut grace => {
                tracing::warn!("services did not stop within {grace_period:?}; aborting them");
                services.abort_all();
                while services.join_next().await.is_some() {}
                break;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let result = joined.unwrap_or_else(|e| {
            Err(Error::Invalid {
                what: "service task",
                reason: e.to_string(),
            })
        });
        if let Err(e) = result {
            tracing::error!("a service stopped: {e}");
            if outcome.is_ok() {
                outcome = Err(e);
            }
            shutdown.cancel();
        }
    }
    db.close().await;
    println!("adit stopped");
    outcome
}

/// Starts the services of `mode` besides the web server, each stopping when `shutdown` is
/// cancelled: in `Mode::Serve` the DICOM receiver (see [`crate::receiver`]) and the queue
/// workers (`worker_concurrency` tasks at once, with the periodic tasks the queue fires);
/// `Mode::Web` starts nothing. Workers stopped by the shutdown give their in-flight tasks
/// back to the queue.
fn spawn_services(
    services: &mut JoinSet<Result<()>>,
    state: &AppState,
    mode: Mode,
    shutdown: &CancellationToken,
    receiver: Option<InProcess>,
    alive: InProcessFlag,
) {
    if mode == Mode::Web {
        return;
    }
    let Some(InProcess {
        receiver,
        coordinator,
    }) = receiver
    else {
        return;
    };
    services.spawn(crate::receiver::serve(
        receiver,
        alive,
        shutdown.child_token(),
    ));
    let state = state.clone();
    let worker_shutdown = shutdown.child_token();
    services.spawn(async move {
        let config = &state.config;
        let mut env = crate::worker::env_for(config, &state.db, coordinator).await?;
        // One registry per process: the web server's /metrics shows the workers' transfers.
        env.metrics = state.metrics.clone();
        let mut worker_config = WorkerConfig::new([DICOM_QUEUE, OTHER_QUEUE])
            .with_concurrency(config.worker_concurrency);
        worker_config.shutdown_timeout = config.worker_stop_grace;
        worker_config.stop_timeout = TASK_STOP_TIMEOUT;
        let worker = crate::worker::worker(Arc::new(env), worker_config);
        tracing::info!(id = %worker.id().0, concurrency = config.worker_concurrency, "worker starting");
        worker.run(worker_shutdown).await?;
        Ok(())
    });
}

/// The HTTPS configuration when `ADIT_TLS_CERT`/`ADIT_TLS_KEY` are set: rustls with
/// aws-lc-rs (the provider of the whole workspace), offering HTTP/2 and HTTP/1.1 by ALPN.
pub fn tls_config(config: &Config) -> Result<Option<RustlsConfig>> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let server = adit_dimse::tls::ServerTls::from_pem_files(cert, key, None).map_err(|e| {
        Error::Invalid {
            what: "ADIT_TLS_CERT/ADIT_TLS_KEY",
            reason: e.to_string(),
        }
    })?;
    let mut rustls_config = (*server.config()).clone();
    rustls_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(RustlsConfig::from_config(Arc::new(rustls_config))))
}

/// On the first start (no users yet), creates the superuser `admin` with
/// `ADIT_ADMIN_PASSWORD`, or a generated password that is printed once.
pub async fn ensure_admin(db: &Db, config: &Config) -> Result<()> {
    let backend = db.backend();
    let users: i64 = db_dispatch!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await
        .map_err(db_err(backend, "count users"))?);
    if users > 0 {
        return Ok(());
    }
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.expose().to_owned(), false),
        None => (random_hex(12), true),
    };
    let created = accounts::users::create(
        db,
        &NewUser {
            username: ADMIN_USERNAME.into(),
            password: password.clone(),
            is_staff: true,
            is_superuser: true,
            ..NewUser::default()
        },
    )
    .await;
    match created {
        Ok(_) => {}
        // Another process starting at the same time won.
        Err(Error::AlreadyExists { .. }) => return Ok(()),
        Err(e) => return Err(e),
    }
    println!("created the superuser `{ADMIN_USERNAME}` (first start)");
    if generated {
        println!("  password: {password}");
        println!("  (set ADIT_ADMIN_PASSWORD before the first start to choose it)");
    } else {
        println!("  password: the value of ADIT_ADMIN_PASSWORD");
    }
    println!(
        "  API token: adit admin create-token --username {ADMIN_USERNAME}, then send \
         `Authorization: Token <token>`"
    );
    Ok(())
}

/// Reads `<data_dir>/secret_key`, or creates it (64 hex characters, mode 0600). Processes
/// starting at the same time agree on one secret: the file is written under a temporary name
/// and linked into place only if no other process was first.
pub fn load_or_create_secret(data_dir: &Path) -> Result<Secret> {
    let path: PathBuf = data_dir.join(SECRET_KEY_FILE);
    if let Some(secret) = read_secret(&path)? {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
        path: data_dir.to_owned(),
        source,
    })?;
    let secret = random_hex(32);
    let temp = data_dir.join(format!(".{SECRET_KEY_FILE}.{}.tmp", random_hex(8)));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp).map_err(io(&temp))?;
    file.write_all(secret.as_bytes()).map_err(io(&temp))?;
    file.write_all(b"\n").map_err(io(&temp))?;
    file.sync_all().map_err(io(&temp))?;
    drop(file);
    // A hard link never replaces an existing file: the first process wins.
    let linked = std::fs::hard_link(&temp, &path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            println!(
                "generated the pseudonymization secret in {}",
                path.display()
            );
            Ok(Secret::new(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_secret(&path)?.ok_or_else(|| empty_secret(&path))
        }
        Err(e) => Err(io(&path)(e)),
    }
}

/// The secret in `path`, `None` when the file does not exist; an empty file is an error.
fn read_secret(path: &Path) -> Result<Option<Secret>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(Secret::new(text.trim()))),
        Ok(_) => Err(empty_secret(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn empty_secret(path: &Path) -> Error {
    Error::Invalid {
        what: "secret key file",
        reason: format!(
            "{} is empty; restore it from a backup or set ADIT_SECRET_KEY",
            path.display()
        ),
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
pub(crate) async fn wait_for_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    println!("shutting down");
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_created_once_private_and_shared_by_concurrent_starters() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let secrets: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create_secret(&data).unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().expose().to_owned())
                .collect()
        });
        assert!(secrets.iter().all(|s| s == &secrets[0]), "{secrets:?}");
        assert_eq!(secrets[0].len(), 64);
        let again = load_or_create_secret(&data).unwrap();
        assert_eq!(again.expose(), secrets[0]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join(SECRET_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(&data).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files are removed");

        std::fs::write(data.join(SECRET_KEY_FILE), "").unwrap();
        let err = load_or_create_secret(&data).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
