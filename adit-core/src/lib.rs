//! # adit-core
//!
//! The library every ADIT-RS frontend consumes. It holds no network code: protocol crates
//! (`adit-dimse`, `adit-dicomweb`) implement its traits, and the server and Python module are
//! thin layers on top.
//!
//! Modules are added by the core issue: the DICOM model and queries, the `Source`, `Sink`,
//! `Transform` and `Queue` traits, the streaming transfer engine, the pseudonymizer, the
//! folder and archive sinks, and batch-file parsing.
