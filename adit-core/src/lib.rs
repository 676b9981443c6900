//! # adit-core
//!
//! The library every ADIT-RS frontend consumes. It holds no network code: protocol crates
//! (`adit-dimse`, `adit-dicomweb`) implement its traits, and the server and Python module are
//! thin layers on top.

pub mod engine;
pub mod error;
pub mod folder;
pub mod instance;
pub mod model;
pub mod sink;
pub mod source;
pub mod transform;

pub use error::{Error, Result};
