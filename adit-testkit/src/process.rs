//! A peer process that dies with its handle: killed (with its whole process group) and its
//! temporary directory removed on drop, also when the test panics.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::error::{Error, Result};

/// Fails with [`Error::MissingBinary`] naming the Debian package when `binary` does not exist.
pub fn require_binary(binary: &Path, package: &'static str) -> Result<()> {
    if binary.is_file() {
        Ok(())
    } else {
        Err(Error::MissingBinary {
            binary: binary.to_owned(),
            package,
        })
    }
}

/// A running peer process with its own temporary directory.
#[derive(Debug)]
pub(crate) struct PeerProcess {
    child: Child,
    log: PathBuf,
    // Declared last so the directory is removed after the process is gone.
    dir: TempDir,
}

impl PeerProcess {
    /// A fresh temporary directory for a peer that is about to be started.
    pub(crate) fn tempdir(prefix: &str) -> Result<TempDir> {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))
    }

    /// Spawns `command` in its own process group with stdout and stderr sent to `dir/log_name`
    /// and `TCP_NODELAY=1` in its environment (dcmtk-based peers keep Nagle on without it, which
    /// makes every DIMSE exchange wait for the delayed-ACK timer).
    pub(crate) fn spawn(mut command: Command, dir: TempDir, log_name: &str) -> Result<Self> {
        let log = dir.path().join(log_name);
        let out = File::create(&log).map_err(|e| Error::io(&log, e))?;
        let err = out.try_clone().map_err(|e| Error::io(&log, e))?;
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .env("TCP_NODELAY", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .current_dir(dir.path())
            .spawn()
            .map_err(|e| Error::io(command.get_program(), e))?;
        Ok(PeerProcess { child, log, dir })
    }

    /// The peer's temporary directory.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(description)` when the process has exited.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot be waited for: {e}")),
        }
    }

    /// The last lines of the peer's log.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log, 30)
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // The process group includes children forked per association (dcmqrscp, storescp
        // --fork). SIGKILL: the data is throw-away and Orthanc takes seconds to stop cleanly.
        let pgid = i32::try_from(self.child.id()).unwrap_or(i32::MAX);
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of a text file, or a note that it cannot be read.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(log {} unreadable: {e})", path.display()),
    }
}
