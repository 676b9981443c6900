//! `adit` (any run mode) as a child process on a [`TestDb`]: its stdout echoed and searched
//! for start-up lines, SIGTERM for a clean stop, and a kill when dropped so that a failing
//! test leaves no server behind.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::TestDb;

/// How long a process may take to print an expected line or to stop after SIGTERM; generous
/// because the machine may be busy building.
const WAIT: Duration = Duration::from_secs(60);

/// An `adit` child process; killed on drop (also when the test panics).
pub struct AditProcess {
    name: &'static str,
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl AditProcess {
    /// Starts `adit <args>` on `t`'s database and data directory with `env`. No config file,
    /// secret key or admin password comes from the environment of the test run, so a test
    /// sees first-start behaviour unless `env` sets them. Its stdout is echoed with `[name]`
    /// in front.
    pub fn start(name: &'static str, t: &TestDb, args: &[&str], env: &[(&str, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_adit"))
            .args(args)
            .env_remove("ADIT_CONFIG")
            .env_remove("ADIT_SECRET_KEY")
            .env_remove("ADIT_ADMIN_PASSWORD")
            .envs(t.env())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("[{name}] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            name,
            child: Some(child),
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits until the process printed a line containing `needle` (lines seen by an earlier
    /// wait count too); panics with its output when it exits or a minute passes first.
    pub fn wait_for(&mut self, needle: &str) {
        if self.seen.iter().any(|l| l.contains(needle)) {
            return;
        }
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(needle);
                self.seen.push(line);
                if found {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{} exited ({status}):\n{}", self.name, self.seen.join("\n"));
            }
        }
        panic!(
            "{}: `{needle}` not printed within {WAIT:?}:\n{}",
            self.name,
            self.seen.join("\n")
        );
    }

    /// Everything printed so far that a [`wait_for`](Self::wait_for) has read, one line each.
    pub fn output(&self) -> String {
        self.seen.join("\n")
    }

    /// SIGTERM, then the exit status; kills the process and panics when it has not stopped
    /// within a minute.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop within {WAIT:?} of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for AditProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
