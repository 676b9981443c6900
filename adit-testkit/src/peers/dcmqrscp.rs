//! A throw-away dcmtk `dcmqrscp`: an independent Query/Retrieve SCP (C-FIND, C-GET, C-MOVE,
//! C-STORE) on a free loopback port.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::net::{DicomAddress, free_port, poll_until, port_is_open};
use crate::process::{PeerProcess, require_binary};

/// Debian's dcmqrscp binary (package `dcmtk`).
pub const DCMQRSCP_BINARY: &str = "/usr/bin/dcmqrscp";
/// Debian's dcmqridx binary (package `dcmtk`).
pub const DCMQRIDX_BINARY: &str = "/usr/bin/dcmqridx";

const START_TIMEOUT: Duration = Duration::from_secs(30);
const START_ATTEMPTS: usize = 3;

/// Configures a dcmqrscp before it starts. Obtain one with [`Dcmqrscp::builder`].
#[derive(Debug, Clone)]
pub struct DcmqrscpBuilder {
    ae_title: String,
    destinations: Vec<DicomAddress>,
    max_pdu: u32,
}

impl DcmqrscpBuilder {
    /// The AE title (default `DCMQRSCP`).
    pub fn ae_title(mut self, ae_title: impl Into<String>) -> Self {
        self.ae_title = ae_title.into();
        self
    }

    /// Adds a C-MOVE destination. dcmqrscp reads its host table only at start, so destinations
    /// must be known before; reserve the port with [`crate::free_port`] if needed.
    pub fn move_destination(mut self, address: DicomAddress) -> Self {
        self.destinations.push(address);
        self
    }

    /// The maximum PDU size dcmqrscp receives (default 16384, dcmtk's default).
    pub fn max_pdu(mut self, max_pdu: u32) -> Self {
        self.max_pdu = max_pdu;
        self
    }

    /// Starts dcmqrscp and waits until it accepts connections.
    pub fn start(self) -> Result<Dcmqrscp> {
        require_binary(Path::new(DCMQRSCP_BINARY), "dcmtk")?;
        require_binary(Path::new(DCMQRIDX_BINARY), "dcmtk")?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match self.try_start() {
                Ok(peer) => return Ok(peer),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::PeerStart {
            peer: format!("dcmqrscp {}", self.ae_title),
            reason: "no attempt was made".into(),
            log_tail: String::new(),
        }))
    }

    fn try_start(&self) -> Result<Dcmqrscp> {
        let port = free_port().map_err(|e| Error::io("127.0.0.1:0", e))?;
        let dir = PeerProcess::tempdir("adit-dcmqrscp-")?;
        let storage = dir.path().join("db");
        std::fs::create_dir(&storage).map_err(|e| Error::io(&storage, e))?;
        let config_path = dir.path().join("dcmqrscp.cfg");
        std::fs::write(&config_path, self.config(port, &storage))
            .map_err(|e| Error::io(&config_path, e))?;

        let mut command = Command::new(DCMQRSCP_BINARY);
        // The default (fork per association) mode: Debian's 3.6.7 crashes in single-process -s mode.
        command.arg("-c").arg(&config_path);
        let mut process = PeerProcess::spawn(command, dir, "dcmqrscp.log")?;
        let ready = poll_until(START_TIMEOUT, || {
            process.exited().is_some() || port_is_open(port)
        });
        if let Some(status) = process.exited() {
            return Err(Error::PeerStart {
                peer: format!("dcmqrscp {}", self.ae_title),
                reason: format!("exited with {status}"),
                log_tail: process.log_tail(),
            });
        }
        if !ready {
            return Err(Error::PeerStart {
                peer: format!("dcmqrscp {}", self.ae_title),
                reason: format!("not listening after {START_TIMEOUT:?}"),
                log_tail: process.log_tail(),
            });
        }
        Ok(Dcmqrscp {
            address: DicomAddress::loopback(&self.ae_title, port),
            storage,
            process,
        })
    }

    fn config(&self, port: u16, storage: &Path) -> String {
        let mut text = format!(
            "NetworkTCPPort  = {port}\nMaxPDUSize      = {}\nMaxAssociations = 16\n\nHostTable BEGIN\n",
            self.max_pdu
        );
        // Host *names*, not IP addresses: dcmqrscp's host table expects names.
        for (i, d) in self.destinations.iter().enumerate() {
            let _ = writeln!(text, "dest{i} = ({}, localhost, {})", d.ae_title, d.port);
        }
        text.push_str("HostTable END\n\nVendorTable BEGIN\nVendorTable END\n\nAETable BEGIN\n");
        let _ = writeln!(
            text,
            "{}  {}  RW  (500, 1024mb)  ANY",
            self.ae_title,
            storage.display()
        );
        text.push_str("AETable END\n");
        text
    }
}

/// A running throw-away dcmqrscp. Killed (with its per-association children) and its storage
/// deleted when dropped.
#[derive(Debug)]
pub struct Dcmqrscp {
    address: DicomAddress,
    storage: PathBuf,
    process: PeerProcess,
}

impl Dcmqrscp {
    /// A builder with AE title `DCMQRSCP` and no move destinations.
    pub fn builder() -> DcmqrscpBuilder {
        DcmqrscpBuilder {
            ae_title: "DCMQRSCP".into(),
            destinations: Vec::new(),
            max_pdu: 16384,
        }
    }

    /// Starts a dcmqrscp with default settings and the given AE title.
    pub fn start(ae_title: &str) -> Result<Dcmqrscp> {
        Dcmqrscp::builder().ae_title(ae_title).start()
    }

    /// The DICOM address.
    pub fn address(&self) -> &DicomAddress {
        &self.address
    }

    /// The storage directory (holds `index.dat` and received files).
    pub fn storage_dir(&self) -> &Path {
        &self.storage
    }

    /// The process id of the listening process.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Adds files to dcmqrscp's index in place with `dcmqridx` (fast; the files must outlive
    /// this peer). Paths are made absolute because dcmqrscp resolves them from its own cwd.
    pub fn index_files(&self, files: &[PathBuf]) -> Result<()> {
        for chunk in files.chunks(500) {
            let mut command = Command::new(DCMQRIDX_BINARY);
            command.arg(&self.storage);
            for f in chunk {
                command.arg(std::path::absolute(f).map_err(|e| Error::io(f, e))?);
            }
            crate::dcmtk::run(command, "dcmqridx")?;
        }
        Ok(())
    }
}
