//! Atomic file creation: write a temporary file in the target directory, then rename it.
//!
//! A reader (or a crash) never sees a half-written file under the final name: until the rename
//! the data lives in `.<name>.<random>.partial`, which is deleted again when writing fails.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `path` atomically with `write`; with `durable`, the file and the directory entry
/// are flushed to disk (fsync) before this returns.
pub(crate) fn write_atomic<F>(path: &Path, durable: bool, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> Result<()>,
{
    let dir = path.parent().ok_or_else(|| {
        Error::invalid_config("path", format!("{} has no parent", path.display()))
    })?;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    {
        let mut out = BufWriter::with_capacity(256 * 1024, temp.as_file_mut());
        write(&mut out)?;
        out.flush().map_err(|e| Error::io(path, e))?;
    }
    if durable {
        temp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    }
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if durable {
        // Make the rename itself durable.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file.dcm");
        write_atomic(&path, true, |w| {
            w.write_all(b"hello").map_err(|e| Error::io("x", e))
        })
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        assert_eq!(entries(path.parent().unwrap()), ["file.dcm"]);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.dcm");
        let err = write_atomic(&path, false, |w| {
            w.write_all(&[0; 100_000]).map_err(|e| Error::io("x", e))?;
            Err(Error::invalid_dicom(
                "instance 1.2",
                "encoding failed halfway",
            ))
        })
        .unwrap_err();
        assert!(err.to_string().contains("halfway"));
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    #[test]
    fn replaces_an_existing_file_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.dcm");
        fs::write(&path, b"old").unwrap();
        write_atomic(&path, false, |w| {
            w.write_all(b"new").map_err(|e| Error::io("x", e))
        })
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["file.dcm"]);
    }
}
