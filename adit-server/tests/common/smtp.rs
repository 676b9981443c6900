//! An SMTP server for tests: Python 3.11's stdlib `smtpd` debugging server on a loopback
//! port, which prints every mail it takes; [`SmtpSink::wait_for`] polls what it printed.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adit_testkit::net::{free_port, port_is_open};

/// Python's debugging SMTP server on a loopback port; what it prints is collected.
pub struct SmtpSink {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    output: Arc<Mutex<String>>,
}

impl SmtpSink {
    /// Starts the server and waits until its port is open.
    pub fn start() -> SmtpSink {
        let port = free_port().unwrap();
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-W",
                "ignore",
                "-m",
                "smtpd",
                "-n",
                "-c",
                "DebuggingServer",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with the smtpd module (Python 3.11)");
        let mut stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let start = Instant::now();
        while !port_is_open(port) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "smtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink {
            child,
            port,
            output,
        }
    }

    /// Waits until the printed output contains `needle`; returns all of it.
    pub async fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.output.lock().unwrap().clone();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no mail with {needle:?}; smtpd printed:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
