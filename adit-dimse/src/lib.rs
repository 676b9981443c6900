//! # adit-dimse
//!
//! DIMSE networking on `dicom-ul`: a typed message codec and async drivers for C-ECHO,
//! C-FIND, C-GET, C-MOVE and C-STORE as SCU. It implements the `adit-core` `Source` and
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
//! | [`source`] | [`DimseSource`]: `adit-core` `Source` (C-FIND with ADIT's model choice, patient-level emulation and client-side matching; C-GET retrieval) |
//! | [`sink`] | [`DimseSink`]: `adit-core` `Sink` over up to N parallel associations |
//! | [`storage`] | Storage SOP classes and transfer syntaxes to propose |
//! | [`error`] | [`Error`], naming peer and operation; converts into [`adit_core::Error`] |

pub mod association;
pub mod error;
pub mod limit;
pub mod message;
pub mod options;
pub mod scu;
pub mod sink;
pub mod source;
pub mod storage;

pub use error::{Error, Result};
pub use options::{DimseOptions, PeerAddress};
pub use sink::DimseSink;
pub use source::DimseSource;
