//! A TLS terminator (socat) in front of a plain-HTTP peer, so that HTTPS clients can be tested
//! against a real server with a certificate the test made itself.
//!
//! Why not Orthanc's own `SslEnabled`: Debian 12's Orthanc 1.10.1 links the system
//! `libcivetweb1` 1.15, whose worker thread jumps to a null pointer on the first HTTPS request
//! (segfault after the handshake; checked on 2026-11-23). socat with OpenSSL terminates TLS
//! instead and forwards each connection to the peer's HTTP port on loopback.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::net::{LOOPBACK, free_port, poll_until, port_is_open};
use crate::process::{PeerProcess, require_binary};

/// Debian's socat.
pub const SOCAT_BINARY: &str = "/usr/bin/socat";

const START_TIMEOUT: Duration = Duration::from_secs(10);
const START_ATTEMPTS: usize = 3;

/// A running TLS terminator on a free loopback port; killed when dropped.
#[derive(Debug)]
pub struct TlsProxy {
    port: u16,
    process: PeerProcess,
}

impl TlsProxy {
    /// Listens for TLS on a free loopback port with `cert_and_key_pem` (PEM: the server
    /// certificate, its chain, and its private key) and forwards every connection to
    /// `127.0.0.1:upstream_port` in plain TCP.
    pub fn start(cert_and_key_pem: &[u8], upstream_port: u16) -> Result<Self> {
        require_binary(Path::new(SOCAT_BINARY), "socat")?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(cert_and_key_pem, upstream_port) {
                Ok(proxy) => return Ok(proxy),
                // Most likely the port was taken between choosing and binding it.
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::PeerStart {
            peer: "socat TLS proxy".into(),
            reason: "no attempt was made".into(),
            log_tail: String::new(),
        }))
    }

    fn try_start(cert_and_key_pem: &[u8], upstream_port: u16) -> Result<Self> {
        let port = free_port().map_err(|e| Error::io("127.0.0.1:0", e))?;
        let dir = PeerProcess::tempdir("adit-tls-proxy-")?;
        let pem = dir.path().join("server.pem");
        std::fs::write(&pem, cert_and_key_pem).map_err(|e| Error::io(&pem, e))?;
        let mut command = Command::new(SOCAT_BINARY);
        command.arg("-d").arg(format!(
            "OPENSSL-LISTEN:{port},bind={LOOPBACK},reuseaddr,fork,nodelay,verify=0,cert={}",
            pem.display()
        ));
        command.arg(format!("TCP:{LOOPBACK}:{upstream_port},nodelay"));
        let mut process = PeerProcess::spawn(command, dir, "socat.log")?;
        let peer = format!("socat TLS proxy {LOOPBACK}:{port}");
        let ready = poll_until(START_TIMEOUT, || {
            process.exited().is_some() || port_is_open(port)
        });
        if let Some(status) = process.exited() {
            return Err(Error::PeerStart {
                peer,
                reason: format!("exited with {status}"),
                log_tail: process.log_tail(),
            });
        }
        if !ready {
            return Err(Error::PeerStart {
                peer,
                reason: format!("not listening after {START_TIMEOUT:?}"),
                log_tail: process.log_tail(),
            });
        }
        Ok(Self { port, process })
    }

    /// The TLS port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("https://{LOOPBACK}:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}
