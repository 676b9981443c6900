//! Python virtual environments that several tests share: built once under the target
//! directory, reused by later runs.
//!
//! Two tests of one binary, or two test binaries, may ask for the same venv at the same time.
//! The build is therefore serialized by an exclusive lock on `<dir>.lock` (which also covers
//! threads of one process, as each call opens its own handle), and a venv counts as built only
//! once its marker file exists. A half-built venv left by an interrupted run has no marker and
//! is deleted before building again, because `python3 -m venv` over leftovers can fail.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Answers the venv at `dir`, first building it if `dir/<marker>` is missing: a fresh
/// `python3 -m venv`, then `install(python)` with the venv's interpreter, then the marker.
///
/// Panics (it is test support) when Python, pip or `install` fail, with their output.
pub fn shared_venv(dir: &Path, marker: &str, install: impl FnOnce(&Path)) -> PathBuf {
    let python = dir.join("bin/python");
    let ready = dir.join(marker);
    let mut lock_name = dir.file_name().unwrap_or_default().to_os_string();
    lock_name.push(".lock");
    let lock_path = dir.with_file_name(lock_name);
    if let Some(parent) = lock_path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {parent:?}: {e}"));
    }
    let lock =
        File::create(&lock_path).unwrap_or_else(|e| panic!("cannot open {lock_path:?}: {e}"));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {lock_path:?}: {e}"));
    if ready.exists() {
        return python;
    }
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("cannot remove stale {dir:?}: {e}"));
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(dir));
    install(&python);
    fs::write(&ready, b"").unwrap_or_else(|e| panic!("cannot write {ready:?}: {e}"));
    python
}

/// Runs `command` and panics with its output unless it succeeds.
pub fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Two threads asking at once get one build; a leftover without marker is rebuilt.
    #[test]
    fn concurrent_callers_share_one_build_and_stale_dirs_are_rebuilt() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let builds = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    shared_venv(&dir, ".ok", |_| {
                        builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    })
                });
            }
        });
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 1);
        fs::remove_file(dir.join(".ok")).unwrap();
        fs::write(dir.join("leftover"), b"x").unwrap();
        let python = shared_venv(&dir, ".ok", |p| assert!(p.exists()));
        assert!(python.exists());
        assert!(!dir.join("leftover").exists());
    }
}
