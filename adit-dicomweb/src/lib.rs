//! # adit-dicomweb
//!
//! DICOMweb for ADIT-RS: a streaming QIDO-RS / WADO-RS / STOW-RS client and the
//! `multipart/related` and DICOM JSON codecs shared with the server's DICOMweb facade.
//!
//! ## Module map
//!
//! | module | what it holds |
//! |---|---|
//! | [`codec`] | DICOM JSON both ways, `includefield`, `Content-Type` parsing, streaming multipart reader and writer |
//! | [`client`] | [`DicomWebClient`]: QIDO-RS search (paged stream), WADO-RS retrieve (part by part) and metadata, STOW-RS in batches; prefixes, authorization, CA bundle, timeouts, retries |
//! | [`source`] | [`DicomWebSource`], the adit-core `Source` over QIDO-RS and WADO-RS |
//! | [`sink`] | [`DicomWebSink`], the adit-core `Sink` over STOW-RS with batching |
//! | [`error`] | The crate's [`Error`] (URL and operation, [`Error::is_retriable`]), convertible into [`adit_core::Error`] |

pub mod client;
pub mod codec;
pub mod error;
pub mod sink;
pub mod source;

pub use client::{ClientConfig, DicomWebClient, RetryPolicy};
pub use error::{Error, Result};
pub use sink::DicomWebSink;
pub use source::DicomWebSource;
