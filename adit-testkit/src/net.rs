//! Loopback addresses and free ports for test peers.

use std::collections::HashSet;
use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The only host test peers listen on and are dialled at.
pub const LOOPBACK: &str = "127.0.0.1";

/// Where a DICOM peer can be reached: AE title and loopback port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DicomAddress {
    /// The peer's AE title.
    pub ae_title: String,
    /// Host (always [`LOOPBACK`] for test peers).
    pub host: String,
    /// TCP port of the DICOM listener.
    pub port: u16,
}

impl DicomAddress {
    /// An address on loopback.
    pub fn loopback(ae_title: impl Into<String>, port: u16) -> Self {
        DicomAddress {
            ae_title: ae_title.into(),
            host: LOOPBACK.to_owned(),
            port,
        }
    }

    /// The socket address to connect to.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl fmt::Display for DicomAddress {
    /// Formats as `AE@host:port`, the form the `adit dicom` commands take.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.ae_title, self.host, self.port)
    }
}

/// Ports handed out in this process, so parallel tests never get the same one.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A loopback TCP port that is free now and has not been handed out before in this process.
///
/// The kernel picks it (bind to port 0). A peer started right after may still lose a race with
/// another program; the launchers retry with new ports when that happens.
pub fn free_port() -> std::io::Result<u16> {
    loop {
        let port = TcpListener::bind((LOOPBACK, 0))?.local_addr()?.port();
        let mut guard = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.get_or_insert_with(HashSet::new).insert(port) {
            return Ok(port);
        }
    }
}

/// True when something accepts TCP connections on the loopback port.
pub fn port_is_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Polls `check` every 25 ms until it returns true or `timeout` passes.
pub(crate) fn poll_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
