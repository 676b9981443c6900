//! # adit-dimse
//!
//! DIMSE networking on `dicom-ul`: a typed message codec and async drivers for C-ECHO,
//! C-FIND, C-GET, C-MOVE and C-STORE as SCU, and a C-STORE SCP (the receiver). It implements the `adit-core` `Source` and
//! `Sink` traits for DIMSE servers.
//!
//! ## Module map
//!
//! | module | what it holds |
//! |---|---|
//! | [`message`] | No I/O: typed commands ([`message::Command`]), command-set codec, [`message::Status`], PDV [`message::Assembler`] and [`message::fragment`] |
//! | [`association`] | [`association::Association`]: connect with TCP_NODELAY and timeouts, send fragmented, receive assembled, release/abort |
//! | [`options`] | [`DimseOptions`] (timeouts, max PDU, calling AE) and [`PeerAddress`] (`AE@host:port`) |
//! | [`limit`] | Process-wide per-peer association limits |
//! | [`scu`] | SCU operations: [`scu::echo`], [`scu::find`] (streamed, C-CANCEL on drop), [`scu::get`] (instances streamed with back-pressure), [`scu::move_to`], [`scu::StoreSession`] (transcoding fallback) |
//! | [`scp`] | The receiver: [`scp::Receiver`] (C-STORE/C-ECHO SCP writing atomically to a spool), [`scp::MoveCoordinator`] (C-MOVE correlation, in-process or over a shared spool directory) |
//! | [`source`] | [`DimseSource`]: `adit-core` `Source` (C-FIND with ADIT's model choice, patient-level emulation and client-side matching; C-GET retrieval, a study over parallel associations one series each, or C-MOVE into the receiver) |
//! | [`sink`] | [`DimseSink`]: `adit-core` `Sink` over up to N parallel associations |
//! | [`storage`] | Storage SOP classes and transfer syntaxes to propose |
//! | [`tls`] | DICOM TLS settings: [`tls::ClientTls`] (CA bundle, optional client certificate), [`tls::ServerTls`] (receiver certificate, optional client verification) |
//! | [`error`] | [`Error`], naming peer and operation; converts into [`adit_core::Error`] |

//! ## Example: echo, then the studies of a patient
//!
//! ```no_run
//! use adit_core::model::{Query, QueryLevel, QueryModel};
//! use adit_dimse::{DimseOptions, PeerAddress, scu};
//! use futures::StreamExt;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pacs: PeerAddress = "ORTHANC@127.0.0.1:4242".parse()?;
//! let options = DimseOptions::with_calling_ae("ADIT");
//! scu::echo(&pacs, &options).await?;
//!
//! let query = Query::parse(QueryLevel::Study, ["PatientID=12345"])?.with_default_return_keys();
//! let mut studies = scu::find(&pacs, &options, QueryModel::StudyRoot, &query.to_identifier(), None).await?;
//! while let Some(study) = studies.next().await {
//!     println!("{:?}", study?.get(dicom_dictionary_std::tags::STUDY_INSTANCE_UID));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! User documentation: `docs/dimse.md`.

pub mod association;
pub mod error;
pub mod limit;
mod link;
pub mod message;
pub mod options;
pub mod scp;
pub mod scu;
pub mod sink;
pub mod source;
mod source_get;
mod source_move;
pub mod stats;
pub mod storage;
pub mod tls;

pub use error::{Error, Result};
pub use options::{DimseOptions, PeerAddress};
pub use sink::DimseSink;
pub use source::{DEFAULT_SPARE_SLOTS, DimseSource};
pub use source_get::MAX_PARALLEL_GETS;
