//! Claims: how a worker takes spool files for itself so that no two workers (in this process or
//! any other sharing the spool directory) ever take the same file, and nothing is lost when a
//! worker dies holding some.
//!
//! Each worker owns a claim folder `<spool>/.claims/<claimant>/` and claims a file by renaming
//! `<spool>/<association>/<uid>.dcm` to `<spool>/.claims/<claimant>/<association>+<uid>.dcm`.
//! `rename` is atomic within a file system, so exactly one claimant wins; the others see the
//! file gone. The claimant deletes a claimed file once its consumer is done with it
//! ([`ClaimDir::release`]).
//!
//! Liveness: the claimant touches its `lease` file at least every [`LEASE_REFRESH`]. A claim
//! folder whose lease is older than the stale age (a crashed worker, on any machine) is given
//! back by [`recover_stale`]: its files are renamed to their association folders in the spool,
//! where the next move that wants them finds them.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::spool::{self, SPOOL_EXTENSION};

/// The folder of all claim folders, inside the spool (hidden, so [`spool::scan`] skips it).
pub const CLAIMS_FOLDER: &str = ".claims";

/// How often a live claimant refreshes its lease.
pub const LEASE_REFRESH: Duration = Duration::from_secs(10);

/// Default age of a lease after which its claims are given back (many missed refreshes).
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(300);

/// The lease file in a claim folder.
const LEASE_FILE: &str = "lease";

/// Separates the association folder from the file name in a claimed file's name; it appears in
/// neither (see [`spool::association_folder`] and [`spool::is_valid_uid`]).
const SEPARATOR: char = '+';

/// One worker's claim folder.
#[derive(Debug)]
pub struct ClaimDir {
    spool_dir: PathBuf,
    dir: PathBuf,
}

impl ClaimDir {
    /// Creates the claim folder of `claimant` (letters, digits, `-`, `_`; others become `_`)
    /// and its lease.
    pub fn create(spool_dir: &Path, claimant: &str) -> std::io::Result<Self> {
        let name: String = claimant
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = spool_dir.join(CLAIMS_FOLDER).join(name);
        std::fs::create_dir_all(&dir)?;
        let this = Self {
            spool_dir: spool_dir.to_owned(),
            dir,
        };
        this.refresh_lease()?;
        Ok(this)
    }

    /// A claimant name unique to this process and moment: `<pid>-<unix ms>`, prefixed by the
    /// host name when known (`HOSTNAME`, else `/etc/hostname`), so workers on machines sharing
    /// the spool can be told apart.
    pub fn unique_claimant() -> String {
        let millis = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let pid = std::process::id();
        if host.is_empty() {
            format!("{pid}-{millis}")
        } else {
            format!("{host}-{pid}-{millis}")
        }
    }

    /// The claim folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Marks this claimant alive (rewrites the lease, which updates its modification time).
    pub fn refresh_lease(&self) -> std::io::Result<()> {
        std::fs::write(self.dir.join(LEASE_FILE), std::process::id().to_string())
    }

    /// Takes a complete spool file: `Ok(Some(new path))` if it is ours now, `Ok(None)` if
    /// someone else took it first (or it is gone).
    pub fn claim(&self, spool_file: &Path) -> std::io::Result<Option<PathBuf>> {
        let Some(file_name) = spool_file.file_name().and_then(|n| n.to_str()) else {
            return Ok(None);
        };
        let folder = spool_file
            .parent()
            .filter(|p| *p != self.spool_dir)
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str());
        let claimed_name = match folder {
            Some(folder) => format!("{folder}{SEPARATOR}{file_name}"),
            None => file_name.to_owned(),
        };
        let target = self.dir.join(claimed_name);
        match std::fs::rename(spool_file, &target) {
            Ok(()) => Ok(Some(target)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !spool_file.exists() {
                    return Ok(None);
                }
                // Our folder went (given back as stale after a long stall): make it again.
                std::fs::create_dir_all(&self.dir)?;
                self.refresh_lease()?;
                match std::fs::rename(spool_file, &target) {
                    Ok(()) => Ok(Some(target)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes a claimed file: its consumer is done with it.
    pub fn release(&self, claimed: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(claimed) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Gives one claimed file back to the spool, where the next move that wants it finds it.
    pub fn give_back(&self, claimed: &Path) -> std::io::Result<()> {
        give_back_file(&self.spool_dir, claimed).map(|_| ())
    }

    /// Gives every file still claimed back to the spool.
    pub fn give_back_all(&self) -> std::io::Result<usize> {
        give_back(&self.spool_dir, &self.dir)
    }
}

impl Drop for ClaimDir {
    fn drop(&mut self) {
        // Files still claimed go back to the spool; the folder goes when it is empty.
        match self.give_back_all() {
            Ok(_) => {
                let _ = std::fs::remove_file(self.dir.join(LEASE_FILE));
                let _ = std::fs::remove_dir(&self.dir);
            }
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), "cannot give claims back: {e}");
            }
        }
    }
}

/// Gives back the files of every claim folder whose lease is older than `stale_after` (or
/// missing); returns how many files went back to the spool.
pub fn recover_stale(spool_dir: &Path, stale_after: Duration) -> std::io::Result<usize> {
    let claims = spool_dir.join(CLAIMS_FOLDER);
    let entries = match std::fs::read_dir(&claims) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    let mut recovered = 0;
    for entry in entries {
        let dir = entry?.path();
        if !dir.is_dir() {
            continue;
        }
        let age = std::fs::metadata(dir.join(LEASE_FILE))
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default())
            .unwrap_or(Duration::MAX);
        if age < stale_after {
            continue;
        }
        let n = give_back(spool_dir, &dir)?;
        if n > 0 {
            tracing::warn!(dir = %dir.display(), "gave {n} claimed files of a dead worker back to the spool");
        }
        recovered += n;
        let _ = std::fs::remove_file(dir.join(LEASE_FILE));
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(recovered)
}

/// Renames the complete files of a claim folder back to `<spool>/<association>/<name>`.
fn give_back(spool_dir: &Path, dir: &Path) -> std::io::Result<usize> {
    let mut count = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if spool::is_complete(&path) && give_back_file(spool_dir, &path)? {
            count += 1;
        }
    }
    Ok(count)
}

/// Renames one claimed file back to `<spool>/<association>/<name>`; false if it is gone.
fn give_back_file(spool_dir: &Path, path: &Path) -> std::io::Result<bool> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(false);
    };
    let target = match name.split_once(SEPARATOR) {
        Some((folder, file)) => {
            let folder = spool_dir.join(folder);
            std::fs::create_dir_all(&folder)?;
            folder.join(file)
        }
        None => spool_dir.join(name),
    };
    match std::fs::rename(path, &target) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether a path is a claimed spool file (in some claim folder).
pub fn is_claimed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == SPOOL_EXTENSION)
        && path
            .ancestors()
            .any(|a| a.file_name().is_some_and(|n| n == CLAIMS_FOLDER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_claimant_gets_a_file_and_dead_claims_come_back() {
        let spool_dir = tempfile::tempdir().unwrap();
        let assoc = spool_dir.path().join("1-000001-PACS");
        std::fs::create_dir_all(&assoc).unwrap();
        let file = assoc.join("1.2.3.dcm");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(spool::scan(spool_dir.path()).unwrap(), vec![file.clone()]);

        let a = ClaimDir::create(spool_dir.path(), "worker a").unwrap();
        let b = ClaimDir::create(spool_dir.path(), "worker-b").unwrap();
        let claimed = a.claim(&file).unwrap().unwrap();
        assert!(is_claimed(&claimed));
        assert_eq!(b.claim(&file).unwrap(), None);
        // Claimed files are not in the spool any more.
        assert!(spool::scan(spool_dir.path()).unwrap().is_empty());

        // A live lease keeps its claims.
        assert_eq!(
            recover_stale(spool_dir.path(), Duration::from_secs(60)).unwrap(),
            0
        );
        // A dead worker's claims (here: any lease counts as stale) go back where they were.
        std::mem::forget(a);
        assert_eq!(recover_stale(spool_dir.path(), Duration::ZERO).unwrap(), 1);
        assert_eq!(spool::scan(spool_dir.path()).unwrap(), vec![file.clone()]);

        // Released files are gone; a dropped claim dir gives the rest back.
        let claimed = b.claim(&file).unwrap().unwrap();
        b.release(&claimed).unwrap();
        assert!(!claimed.exists());
        std::fs::write(&file, b"x").unwrap();
        let c = ClaimDir::create(spool_dir.path(), "c").unwrap();
        c.claim(&file).unwrap().unwrap();
        drop(c);
        assert_eq!(spool::scan(spool_dir.path()).unwrap(), vec![file]);
    }
}
