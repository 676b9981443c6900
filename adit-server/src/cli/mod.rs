//! Command-line tools of the `adit` binary, one module per subcommand group.

pub mod admin;
pub mod dicom;
pub mod pseudonymize;
pub mod receive;
