//! # adit-testkit
//!
//! Test support for ADIT-RS (dev-dependency only): real, independent DICOM peers on loopback
//! and a deterministic synthetic corpus to feed them.
//!
//! | module | what it gives a test |
//! |---|---|
//! | [`peers`] | [`Orthanc`] (with DICOMweb), [`Dcmqrscp`] (dcmtk Q/R SCP) and [`StoreScp`] (dcmtk C-STORE sink), each on free loopback ports with its own temp storage, ready when returned, killed and deleted on drop (also when the test panics); Orthanc optionally with HTTP Basic users; [`TlsProxy`] (socat) puts HTTPS with a test-made certificate in front of any of them |
//! | [`corpus`] | N patients × studies × series × instances of CT/MR with realistic tags and pixel data, byte-identical for the same seed, as files or streamed to a peer |
//! | [`dcmtk`] | dcmtk's `storescu`, `findscu`, `echoscu`, `movescu`, `getscu` as independent clients to load peers and check what they hold |
//! | [`net`] | free loopback ports and [`DicomAddress`] |
//! | [`venv`] | Python venvs (schemathesis, adit-client) built once per target directory, safe when tests ask at the same time |
//!
//! Peers need Debian's `orthanc`, `orthanc-dicomweb` and `dcmtk`. When one is missing, starting
//! it fails with [`Error::MissingBinary`] naming the package: tests fail loudly, they never skip.
//!
//! ```no_run
//! use adit_testkit::{Orthanc, corpus::{Corpus, CorpusSpec}};
//!
//! let orthanc = Orthanc::start("ORTHANC1")?;
//! let corpus = Corpus::new(CorpusSpec::new("example"));
//! orthanc.upload_corpus(&corpus)?;
//! assert_eq!(orthanc.counts()?.instances, corpus.manifest().total_instances() as u64);
//! # Ok::<(), adit_testkit::Error>(())
//! ```

pub mod corpus;
pub mod dcmtk;
mod error;
pub mod net;
pub mod peers;
mod process;
pub mod venv;

pub use error::{Error, Result};
pub use net::{DicomAddress, free_port};
pub use peers::{Dcmqrscp, Orthanc, StoreScp, TlsProxy};
pub use process::require_binary;
