//! A throw-away dcmtk `storescp`: a C-STORE sink on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::net::{DicomAddress, free_port, poll_until, port_is_open};
use crate::process::{PeerProcess, require_binary};

/// Debian's storescp binary (package `dcmtk`).
pub const STORESCP_BINARY: &str = "/usr/bin/storescp";

const START_TIMEOUT: Duration = Duration::from_secs(30);
const START_ATTEMPTS: usize = 3;

/// Configures a storescp before it starts. Obtain one with [`StoreScp::builder`].
#[derive(Debug, Clone)]
pub struct StoreScpBuilder {
    ae_title: String,
    port: Option<u16>,
    ignore: bool,
    fork: bool,
    max_pdu: Option<u32>,
    sleep_after: u32,
}

impl StoreScpBuilder {
    /// The AE title (default `STORESCP`).
    pub fn ae_title(mut self, ae_title: impl Into<String>) -> Self {
        self.ae_title = ae_title.into();
        self
    }

    /// Listens on this port instead of a fresh free one (e.g. one reserved earlier with
    /// [`crate::free_port`] so that a Q/R peer could be told about it).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Receive and acknowledge but do not store (`--ignore`): the fastest possible sink.
    pub fn ignore(mut self, ignore: bool) -> Self {
        self.ignore = ignore;
        self
    }

    /// One process per association (`--fork`), for parallel associations.
    pub fn fork(mut self, fork: bool) -> Self {
        self.fork = fork;
        self
    }

    /// The maximum PDU size storescp receives (`-pdu`; dcmtk's default is 16384).
    pub fn max_pdu(mut self, max_pdu: u32) -> Self {
        self.max_pdu = Some(max_pdu);
        self
    }

    /// Sleeps this many seconds after each store (`--sleep-after`): a slow archive, so that
    /// a transfer to it is still running when a test cancels it, however fast the machine.
    pub fn sleep_after(mut self, seconds: u32) -> Self {
        self.sleep_after = seconds;
        self
    }

    /// Starts storescp and waits until it accepts connections.
    pub fn start(self) -> Result<StoreScp> {
        require_binary(Path::new(STORESCP_BINARY), "dcmtk")?;
        let attempts = if self.port.is_some() {
            1
        } else {
            START_ATTEMPTS
        };
        let mut last_error = None;
        for _ in 0..attempts {
            match self.try_start() {
                Ok(peer) => return Ok(peer),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::PeerStart {
            peer: format!("storescp {}", self.ae_title),
            reason: "no attempt was made".into(),
            log_tail: String::new(),
        }))
    }

    fn try_start(&self) -> Result<StoreScp> {
        let port = match self.port {
            Some(p) => p,
            None => free_port().map_err(|e| Error::io("127.0.0.1:0", e))?,
        };
        let dir = PeerProcess::tempdir("adit-storescp-")?;
        let received = dir.path().join("received");
        std::fs::create_dir(&received).map_err(|e| Error::io(&received, e))?;

        let mut command = Command::new(STORESCP_BINARY);
        command.arg("-aet").arg(&self.ae_title);
        // Accept every transfer syntax the peer proposes, so tests see what was sent.
        command.arg("+xa");
        if self.ignore {
            command.arg("--ignore");
        }
        if self.fork {
            command.arg("--fork");
        }
        if let Some(pdu) = self.max_pdu {
            command.arg("-pdu").arg(pdu.to_string());
        }
        if self.sleep_after > 0 {
            command
                .arg("--sleep-after")
                .arg(self.sleep_after.to_string());
        }
        command.arg("-od").arg(&received).arg(port.to_string());
        let mut process = PeerProcess::spawn(command, dir, "storescp.log")?;
        let ready = poll_until(START_TIMEOUT, || {
            process.exited().is_some() || port_is_open(port)
        });
        if let Some(status) = process.exited() {
            return Err(Error::PeerStart {
                peer: format!("storescp {}", self.ae_title),
                reason: format!("exited with {status}"),
                log_tail: process.log_tail(),
            });
        }
        if !ready {
            return Err(Error::PeerStart {
                peer: format!("storescp {}", self.ae_title),
                reason: format!("not listening after {START_TIMEOUT:?}"),
                log_tail: process.log_tail(),
            });
        }
        Ok(StoreScp {
            address: DicomAddress::loopback(&self.ae_title, port),
            received,
            process,
        })
    }
}

/// A running throw-away storescp. Killed and its files deleted when dropped.
#[derive(Debug)]
pub struct StoreScp {
    address: DicomAddress,
    received: PathBuf,
    process: PeerProcess,
}

impl StoreScp {
    /// A builder with AE title `STORESCP`, storing files, single process.
    pub fn builder() -> StoreScpBuilder {
        StoreScpBuilder {
            ae_title: "STORESCP".into(),
            port: None,
            ignore: false,
            fork: false,
            max_pdu: None,
            sleep_after: 0,
        }
    }

    /// Starts a storing storescp with the given AE title.
    pub fn start(ae_title: &str) -> Result<StoreScp> {
        StoreScp::builder().ae_title(ae_title).start()
    }

    /// The DICOM address.
    pub fn address(&self) -> &DicomAddress {
        &self.address
    }

    /// The directory received files are written to (`<Modality>.<SOPInstanceUID>` names).
    pub fn received_dir(&self) -> &Path {
        &self.received
    }

    /// The process id of the listening process.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The files received so far, sorted by name.
    pub fn received_files(&self) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.received)
            .map_err(|e| Error::io(&self.received, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        Ok(files)
    }

    /// Waits until at least `count` files have arrived.
    pub fn wait_for_files(&self, count: usize, timeout: Duration) -> Result<Vec<PathBuf>> {
        let arrived = poll_until(timeout, || {
            self.received_files().map(|f| f.len()).unwrap_or(0) >= count
        });
        let files = self.received_files()?;
        if arrived {
            Ok(files)
        } else {
            Err(Error::Timeout {
                what: format!(
                    "{count} files at storescp {} (got {})",
                    self.address,
                    files.len()
                ),
                seconds: timeout.as_secs_f64(),
            })
        }
    }
}
