//! # adit-server
//!
//! The `adit` binary's library: everything behind the command line, so integration tests can
//! drive it in-process.
//!
//! | module | job |
//! |---|---|
//! | [`cli`] | command-line tools (`adit dicom ...`, `adit pseudonymize ...`) |
//! | [`config`] | defaults → TOML file → `ADIT_*` environment, masked printing |
//! | [`error`] | the server's error type |

pub mod cli;
pub mod config;
pub mod error;

pub use config::Config;
pub use error::{Error, Result};
