//! [`Receiver`]: the async C-STORE (and C-ECHO) SCP. One task per association, bounded by
//! [`ReceiverOptions::max_associations`]; each instance is streamed PDV by PDV into the spool
//! ([`super::spool`]), made durable, acknowledged, then announced as a [`ReceivedInstance`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dicom_dictionary_std::{tags, uids};
use dicom_ul::association::server::DefaultNegotiation;
use dicom_ul::association::{Association as _, AsyncServerAssociation};
use dicom_ul::pdu::PDataValueType;
use dicom_ul::{Pdu, ServerAssociationOptions};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::machine::{ScpMachine, Step};
use super::options::{AePolicy, ReceiverOptions};
use super::spool::{Provenance, SpoolFile, association_folder};
use crate::association::trim_uid;
use crate::error::{Error, Result};
use crate::message::{CEchoRsp, CStoreRq, CStoreRsp, Command, Status, fragment};
use crate::storage::{COMMON_STORAGE_CLASSES, RETRIEVE_TRANSFER_SYNTAXES};

/// Announcements a slow subscriber may lag behind before it misses some (the files stay in
/// the spool; a lagging subscriber can [`super::spool::scan`] it).
const EVENT_CAPACITY: usize = 4096;

/// C-STORE status: out of resources (we could not write the instance).
const OUT_OF_RESOURCES: Status = Status(0xA700);
/// C-STORE status: cannot understand (the data set or its UID is unreadable).
const CANNOT_UNDERSTAND: Status = Status(0xC000);
/// C-STORE status: the data set does not match the SOP class of its context.
const DATA_SET_DOES_NOT_MATCH: Status = Status(0xA900);

/// One instance the receiver wrote to its spool and acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedInstance {
    /// The complete Part-10 file.
    pub path: PathBuf,
    /// SOP Class UID (from the C-STORE-RQ).
    pub sop_class_uid: String,
    /// SOP Instance UID (from the C-STORE-RQ; it names the file).
    pub sop_instance_uid: String,
    /// Study Instance UID of the data set, if it has one.
    pub study_instance_uid: Option<String>,
    /// Series Instance UID of the data set, if it has one.
    pub series_instance_uid: Option<String>,
    /// The transfer syntax of the data set.
    pub transfer_syntax: String,
    /// Data set size in bytes.
    pub data_set_len: u64,
    /// The AE title that sent it.
    pub calling_ae: String,
    /// Move Originator AE title, when this store is a C-MOVE sub-operation.
    pub move_originator_ae: Option<String>,
    /// Move Originator Message ID, when this store is a C-MOVE sub-operation.
    pub move_originator_message_id: Option<u16>,
}

/// A running C-STORE SCP. Dropping it does not stop it; call [`Receiver::shutdown`].
#[derive(Debug)]
pub struct Receiver {
    local_addr: SocketAddr,
    ae_title: String,
    spool_dir: PathBuf,
    events: broadcast::Sender<ReceivedInstance>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Listens on `addr` and serves associations until shut down.
    pub async fn bind(addr: impl ToSocketAddrs, options: ReceiverOptions) -> Result<Self> {
        if options.ae_title.trim().is_empty() || options.ae_title.len() > 16 {
            return Err(Error::Config {
                field: "receiver AE title".into(),
                reason: format!("`{}` must have 1 to 16 characters", options.ae_title),
            });
        }
        std::fs::create_dir_all(&options.spool_dir).map_err(|e| Error::Config {
            field: "spool directory".into(),
            reason: format!("{}: {e}", options.spool_dir.display()),
        })?;
        let listener = TcpListener::bind(addr).await.map_err(|e| Error::Config {
            field: "receiver address".into(),
            reason: format!("cannot listen: {e}"),
        })?;
        let local_addr = listener.local_addr().map_err(|e| Error::Config {
            field: "receiver address".into(),
            reason: e.to_string(),
        })?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared::new(&options, events.clone()));
        let task = tokio::spawn(accept_loop(listener, shared, cancel.clone()));
        tracing::info!(ae = %options.ae_title, %local_addr, "C-STORE SCP listening");
        Ok(Self {
            local_addr,
            ae_title: options.ae_title,
            spool_dir: options.spool_dir,
            events,
            cancel,
            task,
        })
    }

    /// The address it listens on (the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Our AE title.
    pub fn ae_title(&self) -> &str {
        &self.ae_title
    }

    /// The spool directory.
    pub fn spool_dir(&self) -> &Path {
        &self.spool_dir
    }

    /// Announcements of instances received from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ReceivedInstance> {
        self.events.subscribe()
    }

    /// The token that stops the receiver (for wiring into a process-wide shutdown).
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops accepting, lets every association finish the instance it is receiving, aborts
    /// them and waits for their tasks.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        if let Err(e) = self.task.await {
            tracing::warn!("receiver accept loop ended badly: {e}");
        }
    }
}

/// What every association task needs.
struct Shared {
    ul: ServerAssociationOptions<'static, AePolicy, DefaultNegotiation>,
    ae_title: String,
    spool_dir: PathBuf,
    association_timeout: Duration,
    idle_timeout: Duration,
    write_timeout: Duration,
    max_associations: usize,
    events: broadcast::Sender<ReceivedInstance>,
    sequence: AtomicU64,
    tls: bool,
}

impl Shared {
    fn new(options: &ReceiverOptions, events: broadcast::Sender<ReceivedInstance>) -> Self {
        let mut ul = ServerAssociationOptions::new()
            .ae_access_control(AePolicy {
                allowed: options.allowed_calling_aes.clone(),
                check_called: options.check_called_ae,
            })
            .ae_title(options.ae_title.clone())
            .max_pdu_length(
                options
                    .max_pdu_length
                    .max(crate::options::MIN_MAX_PDU_LENGTH),
            )
            .read_timeout(options.idle_timeout)
            .write_timeout(options.write_timeout)
            .with_abstract_syntax(uids::VERIFICATION);
        for class in COMMON_STORAGE_CLASSES {
            ul = ul.with_abstract_syntax(*class);
        }
        for ts in RETRIEVE_TRANSFER_SYNTAXES {
            ul = ul.with_transfer_syntax(*ts);
        }
        if let Some(tls) = &options.tls {
            ul = ul.tls_config(tls.config());
        }
        Self {
            ul,
            ae_title: options.ae_title.clone(),
            spool_dir: options.spool_dir.clone(),
            association_timeout: options.association_timeout,
            idle_timeout: options.idle_timeout,
            write_timeout: options.write_timeout,
            max_associations: options.max_associations.max(1),
            events,
            sequence: AtomicU64::new(0),
            tls: options.tls.is_some(),
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, cancel: CancellationToken) {
    let slots = Arc::new(Semaphore::new(shared.max_associations));
    let tracker = TaskTracker::new();
    loop {
        // Take a slot first: beyond the limit, callers wait in the backlog instead of being
        // served half.
        let permit = tokio::select! {
            () = cancel.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (socket, peer) = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Without it every C-STORE-RSP waits for a delayed ACK (~40 ms).
        if let Err(e) = socket.set_nodelay(true) {
            tracing::warn!(%peer, "cannot set TCP_NODELAY: {e}");
        }
        let shared = shared.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            serve(socket, peer, &shared, &cancel).await;
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
}

/// Serves one association from negotiation to release or abort. Never panics on peer input.
async fn serve(socket: TcpStream, peer: SocketAddr, shared: &Shared, cancel: &CancellationToken) {
    let within = shared.association_timeout;
    if shared.tls {
        let established = tokio::time::timeout(within, shared.ul.establish_tls_async(socket)).await;
        if let Some(association) = accepted(established, peer, within) {
            run_association(association, peer, shared, cancel).await;
        }
    } else {
        let established = tokio::time::timeout(within, shared.ul.establish_async(socket)).await;
        if let Some(association) = accepted(established, peer, within) {
            run_association(association, peer, shared, cancel).await;
        }
    }
}

/// The association, or `None` after logging why there is none.
fn accepted<A>(
    established: std::result::Result<
        std::result::Result<A, dicom_ul::association::Error>,
        tokio::time::error::Elapsed,
    >,
    peer: SocketAddr,
    within: Duration,
) -> Option<A> {
    match established {
        Err(_) => {
            tracing::info!(%peer, "no association request within {within:?}");
            None
        }
        Ok(Err(e)) => {
            tracing::info!(%peer, "association refused: {}", crate::association::ul_reason(&e));
            None
        }
        Ok(Ok(association)) => Some(association),
    }
}

async fn run_association<S>(
    association: AsyncServerAssociation<S>,
    peer: SocketAddr,
    shared: &Shared,
    cancel: &CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let calling_ae = association.peer_ae_title().trim().to_owned();
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let sequence = shared.sequence.fetch_add(1, Ordering::Relaxed);
    let folder = shared
        .spool_dir
        .join(association_folder(millis, sequence, &calling_ae));
    tracing::debug!(%peer, calling_ae, "association accepted");
    let mut conn = Connection {
        association,
        machine: ScpMachine::new(),
        open: None,
        calling_ae,
        peer,
        folder,
        shared,
        tally: Tally::default(),
        started: std::time::Instant::now(),
    };
    conn.run(cancel).await;
}

/// The instance currently being received.
enum Open {
    Writing {
        pc: u8,
        request: CStoreRq,
        transfer_syntax: String,
        file: SpoolFile,
    },
    /// Its data is read and dropped; the C-STORE is answered with this status.
    Refusing {
        pc: u8,
        request: CStoreRq,
        status: Status,
        comment: String,
    },
}

/// How a served association ends.
enum End {
    Released,
    Aborted(String),
    Closed(String),
}

struct Connection<'a, S> {
    association: AsyncServerAssociation<S>,
    machine: ScpMachine,
    open: Option<Open>,
    calling_ae: String,
    peer: SocketAddr,
    folder: PathBuf,
    shared: &'a Shared,
    tally: Tally,
    started: std::time::Instant,
}

/// What one association delivered, for its log line.
#[derive(Debug, Default)]
struct Tally {
    stored: u64,
    refused: u64,
    bytes: u64,
}

impl<S> Connection<'_, S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    async fn run(&mut self, cancel: &CancellationToken) {
        let end = self.receive_loop(cancel).await;
        if let Some(open) = self.open.take()
            && let Open::Writing { file, .. } = open
        {
            file.discard().await;
        }
        // One line per association: who, how it ended, what it delivered.
        let summary = format!(
            "{} stored ({} bytes), {} refused in {:.1} s",
            self.tally.stored,
            self.tally.bytes,
            self.tally.refused,
            self.started.elapsed().as_secs_f64()
        );
        match end {
            End::Released => {
                tracing::info!(peer = %self.peer, calling_ae = self.calling_ae, "association released: {summary}");
            }
            End::Closed(reason) => {
                tracing::info!(peer = %self.peer, calling_ae = self.calling_ae, "association ended ({reason}): {summary}");
            }
            End::Aborted(reason) => {
                tracing::warn!(peer = %self.peer, calling_ae = self.calling_ae, "aborting association ({reason}): {summary}");
                let abort = Pdu::AbortRQ {
                    source: dicom_ul::pdu::AbortRQSource::ServiceProvider(
                        dicom_ul::pdu::AbortRQServiceProviderReason::ReasonNotSpecified,
                    ),
                };
                let _ =
                    tokio::time::timeout(self.shared.write_timeout, self.association.send(&abort))
                        .await;
            }
        }
    }

    async fn receive_loop(&mut self, cancel: &CancellationToken) -> End {
        let idle = self.shared.idle_timeout;
        let mut stopping = false;
        loop {
            if stopping && self.machine.is_idle() {
                return End::Aborted("the receiver is shutting down".into());
            }
            let received = tokio::select! {
                biased;
                () = cancel.cancelled(), if !stopping => {
                    stopping = true;
                    continue;
                }
                received = tokio::time::timeout(idle, self.association.receive()) => received,
            };
            let pdu = match received {
                Err(_) => return End::Aborted(format!("no PDU for {idle:?}")),
                Ok(Err(e)) => return End::Closed(format!("receive failed: {e}")),
                Ok(Ok(pdu)) => pdu,
            };
            match pdu {
                Pdu::PData { data } => {
                    for pdv in data {
                        let step = match self.machine.push(pdv) {
                            Ok(step) => step,
                            Err(e) => return End::Aborted(e.to_string()),
                        };
                        if let Some(step) = step
                            && let Err(reason) = self.step(step).await
                        {
                            return End::Aborted(reason);
                        }
                    }
                }
                Pdu::ReleaseRQ => {
                    if !self.machine.is_idle() {
                        tracing::warn!(peer = %self.peer, "release in the middle of a message");
                    }
                    let _ = tokio::time::timeout(
                        self.shared.write_timeout,
                        self.association.send(&Pdu::ReleaseRP),
                    )
                    .await;
                    return End::Released;
                }
                Pdu::AbortRQ { source } => {
                    return End::Closed(format!("the peer aborted ({source:?})"));
                }
                other => {
                    return End::Aborted(format!("unexpected PDU {}", pdu_name(&other)));
                }
            }
        }
    }

    /// Acts on one machine step; `Err` aborts the association.
    async fn step(&mut self, step: Step) -> std::result::Result<(), String> {
        match step {
            Step::Echo {
                presentation_context_id,
                message_id,
            } => {
                let rsp = Command::EchoRsp(CEchoRsp {
                    message_id_being_responded_to: message_id,
                    affected_sop_class_uid: Some(uids::VERIFICATION.to_owned()),
                    status: Status::SUCCESS,
                });
                self.send(presentation_context_id, &rsp).await
            }
            Step::StoreStart {
                presentation_context_id,
                request,
            } => {
                self.open = Some(self.start(presentation_context_id, request).await?);
                Ok(())
            }
            Step::StoreData { bytes, last } => {
                let Some(open) = self.open.take() else {
                    return Err("data without an open C-STORE".into());
                };
                let open = match open {
                    Open::Writing {
                        pc,
                        request,
                        transfer_syntax,
                        mut file,
                    } => match file.write(&bytes).await {
                        Ok(()) => Open::Writing {
                            pc,
                            request,
                            transfer_syntax,
                            file,
                        },
                        Err(e) => {
                            file.discard().await;
                            refuse(pc, request, OUT_OF_RESOURCES, format!("cannot write: {e}"))
                        }
                    },
                    refusing => refusing,
                };
                if last {
                    self.finish(open).await
                } else {
                    self.open = Some(open);
                    Ok(())
                }
            }
        }
    }

    async fn start(&self, pc: u8, request: CStoreRq) -> std::result::Result<Open, String> {
        let Some(context) = self.association.presentation_contexts().iter().find(|c| {
            c.id == pc && c.reason == dicom_ul::pdu::PresentationContextResultReason::Acceptance
        }) else {
            return Err(format!(
                "C-STORE-RQ on presentation context {pc}, which is not accepted"
            ));
        };
        let abstract_syntax = trim_uid(&context.abstract_syntax).to_owned();
        let transfer_syntax = trim_uid(&context.transfer_syntax).to_owned();
        if abstract_syntax != trim_uid(&request.affected_sop_class_uid) {
            let comment = format!(
                "SOP class {} sent on the context of {abstract_syntax}",
                request.affected_sop_class_uid
            );
            return Ok(refuse(pc, request, DATA_SET_DOES_NOT_MATCH, comment));
        }
        let provenance = Provenance {
            calling_ae: self.calling_ae.clone(),
            called_ae: self.shared.ae_title.clone(),
            move_originator: request
                .move_originator
                .as_ref()
                .map(|m| (m.ae_title.trim().to_owned(), m.message_id)),
        };
        let created = SpoolFile::create(
            &self.folder,
            trim_uid(&request.affected_sop_class_uid),
            trim_uid(&request.affected_sop_instance_uid),
            &transfer_syntax,
            &provenance,
        )
        .await;
        Ok(match created {
            Ok(file) => Open::Writing {
                pc,
                request,
                transfer_syntax,
                file,
            },
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                refuse(pc, request, CANNOT_UNDERSTAND, e.to_string())
            }
            Err(e) => refuse(
                pc,
                request,
                OUT_OF_RESOURCES,
                format!("cannot create the spool file: {e}"),
            ),
        })
    }

    /// Commits (or refuses) the finished instance, answers, then announces it.
    async fn finish(&mut self, open: Open) -> std::result::Result<(), String> {
        let (pc, request, outcome) = match open {
            Open::Refusing {
                pc,
                request,
                status,
                comment,
            } => (pc, request, Err((status, comment))),
            Open::Writing {
                pc,
                request,
                transfer_syntax,
                file,
            } => {
                let len = file.data_set_len();
                let outcome = self.publish(file, &request, transfer_syntax, len).await;
                (pc, request, outcome)
            }
        };
        let (status, comment, event) = match outcome {
            Ok(event) => {
                self.tally.stored += 1;
                self.tally.bytes += event.data_set_len;
                (Status::SUCCESS, None, Some(event))
            }
            Err((status, comment)) => {
                self.tally.refused += 1;
                tracing::warn!(
                    peer = %self.peer,
                    sop_instance_uid = request.affected_sop_instance_uid,
                    "C-STORE refused ({status}): {comment}"
                );
                (status, Some(comment), None)
            }
        };
        let rsp = Command::StoreRsp(CStoreRsp {
            message_id_being_responded_to: request.message_id,
            affected_sop_class_uid: Some(request.affected_sop_class_uid),
            affected_sop_instance_uid: Some(request.affected_sop_instance_uid),
            status,
            error_comment: comment,
        });
        self.send(pc, &rsp).await?;
        if let Some(event) = event {
            // No subscriber is fine: the file is in the spool.
            let _ = self.shared.events.send(event);
        }
        Ok(())
    }

    /// Reads the header back from the synced temporary file, then publishes the file in the
    /// spool. The header is read BEFORE publishing: once in the spool, a worker's coordinator
    /// may claim (move) the file at any moment. An unreadable data set is removed and refused.
    async fn publish(
        &self,
        mut file: SpoolFile,
        request: &CStoreRq,
        transfer_syntax: String,
        data_set_len: u64,
    ) -> std::result::Result<ReceivedInstance, (Status, String)> {
        if let Err(e) = file.sync().await {
            file.discard().await;
            return Err((OUT_OF_RESOURCES, format!("cannot store: {e}")));
        }
        let read_path = file.temp_path().to_owned();
        let header = tokio::task::spawn_blocking(move || read_header(&read_path))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        let (study, series) = match header {
            Ok(uids) => uids,
            Err(reason) => {
                file.discard().await;
                return Err((CANNOT_UNDERSTAND, format!("unreadable data set: {reason}")));
            }
        };
        let path = file
            .commit()
            .await
            .map_err(|e| (OUT_OF_RESOURCES, format!("cannot store: {e}")))?;
        Ok(ReceivedInstance {
            path,
            sop_class_uid: trim_uid(&request.affected_sop_class_uid).to_owned(),
            sop_instance_uid: trim_uid(&request.affected_sop_instance_uid).to_owned(),
            study_instance_uid: study,
            series_instance_uid: series,
            transfer_syntax,
            data_set_len,
            calling_ae: self.calling_ae.clone(),
            move_originator_ae: request
                .move_originator
                .as_ref()
                .map(|m| m.ae_title.trim().to_owned()),
            move_originator_message_id: request.move_originator.as_ref().map(|m| m.message_id),
        })
    }

    async fn send(&mut self, pc: u8, command: &Command) -> std::result::Result<(), String> {
        let bytes = command.encode();
        let max = self.association.peer_max_pdu_length();
        for pdu in fragment(pc, PDataValueType::Command, &bytes, max) {
            match tokio::time::timeout(self.shared.write_timeout, self.association.send(&pdu)).await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("cannot send {}: {e}", command.field())),
                Err(_) => return Err(format!("sending {} timed out", command.field())),
            }
        }
        Ok(())
    }
}

fn refuse(pc: u8, request: CStoreRq, status: Status, comment: String) -> Open {
    Open::Refusing {
        pc,
        request,
        status,
        comment,
    }
}

/// Study and Series Instance UID of a spool file, reading nothing past the pixel data.
pub(crate) fn read_header(
    path: &Path,
) -> std::result::Result<(Option<String>, Option<String>), String> {
    let object = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| e.to_string())?;
    let uid = |tag| {
        object
            .get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| trim_uid(&s).to_owned())
            .filter(|s| !s.is_empty())
    };
    Ok((
        uid(tags::STUDY_INSTANCE_UID),
        uid(tags::SERIES_INSTANCE_UID),
    ))
}

fn pdu_name(pdu: &Pdu) -> &'static str {
    match pdu {
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::PData { .. } => "P-DATA-TF",
        Pdu::ReleaseRQ => "A-RELEASE-RQ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        Pdu::AbortRQ { .. } => "A-ABORT",
        _ => "unknown",
    }
}
