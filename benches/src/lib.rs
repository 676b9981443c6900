//! Benchmarks of ADIT-RS. Each benchmark is a binary under `src/bin/` that runs ADIT-RS and the
//! reference tool side by side on the same data and prints its figures; `docs/benchmarks.md`
//! records them with the command that reproduces them.

use std::process::Command;

/// Prepares a measured tool's command to run in the environment users run it in: without
/// `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE`. Developer shells often set them, and then every error
/// *value* dicom-rs creates captures a backtrace, including the one its parser uses to notice
/// the end of a data set, once per file (measured: 5 % of pseudonymizing's CPU time).
pub fn as_users_run(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
}
