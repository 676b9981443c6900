//! The spool directory: each received instance is written as a Part-10 file under a folder per
//! association, atomically: a hidden `.part` temp file, fsync, rename to `<SOPInstanceUID>.dcm`,
//! fsync of the folder. Only then is the C-STORE acknowledged, so a crash never loses an
//! instance the peer was told we have, and a file named `*.dcm` is always complete.
//!
//! Layout: `<spool>/<association folder>/<SOPInstanceUID>.dcm`; the association folder is
//! `<unix ms>-<sequence>-<calling AE>` (AE characters other than letters, digits, `-` and `_`
//! are written as `_`). Readers in other processes list `*.dcm` files and ignore the rest
//! (see [`scan`]).

use std::path::{Path, PathBuf};

use adit_core::instance::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME};
use dicom_object::meta::FileMetaTableBuilder;
use tokio::io::AsyncWriteExt;

/// Extension of complete spool files.
pub const SPOOL_EXTENSION: &str = "dcm";

/// Extension of files still being written (or left by a crash): never complete.
pub const PARTIAL_EXTENSION: &str = "part";

/// The most bytes a UID may have (PS3.5 9.1).
const MAX_UID_LEN: usize = 64;

/// An instance being written to the spool.
#[derive(Debug)]
pub struct SpoolFile {
    file: tokio::fs::File,
    temp: PathBuf,
    target: PathBuf,
    written: u64,
}

impl SpoolFile {
    /// Creates `dir` if needed and a temp file in it holding the preamble and the file meta.
    /// `sop_instance_uid` must be a valid UID (checked: it becomes a file name).
    pub async fn create(
        dir: &Path,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
        calling_ae: &str,
        called_ae: &str,
    ) -> std::io::Result<Self> {
        if !is_valid_uid(sop_instance_uid) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{sop_instance_uid}` is not a valid SOP Instance UID"),
            ));
        }
        let head = part10_head(
            sop_class_uid,
            sop_instance_uid,
            transfer_syntax,
            calling_ae,
            called_ae,
        )?;
        tokio::fs::create_dir_all(dir).await?;
        let temp = dir.join(format!(".{sop_instance_uid}.{PARTIAL_EXTENSION}"));
        let target = dir.join(format!("{sop_instance_uid}.{SPOOL_EXTENSION}"));
        let mut file = tokio::fs::File::create(&temp).await?;
        file.write_all(&head).await?;
        Ok(Self {
            file,
            temp,
            target,
            written: 0,
        })
    }

    /// Appends data set bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Data set bytes written so far.
    pub fn data_set_len(&self) -> u64 {
        self.written
    }

    /// Makes the file durable and visible under its final name; returns that name.
    pub async fn commit(mut self) -> std::io::Result<PathBuf> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        drop(self.file);
        tokio::fs::rename(&self.temp, &self.target).await?;
        // The rename itself must survive a crash too.
        let dir = self.target.parent().map(Path::to_path_buf);
        if let Some(dir) = dir {
            tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
                .await
                .map_err(std::io::Error::other)??;
        }
        Ok(self.target)
    }

    /// Removes the temp file (after a failure or an aborted association).
    pub async fn discard(self) {
        drop(self.file);
        if let Err(e) = tokio::fs::remove_file(&self.temp).await {
            tracing::debug!(path = %self.temp.display(), "cannot remove partial spool file: {e}");
        }
    }
}

/// The folder name for an association: sortable by time, unique within the process.
pub fn association_folder(unix_ms: u128, sequence: u64, calling_ae: &str) -> String {
    let ae: String = calling_ae
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{unix_ms}-{sequence:06}-{ae}")
}

/// Whether `uid` is a UID we accept as a file name: 1 to 64 characters, digits and dots,
/// no empty component. This also rules out any path trickery.
pub fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= MAX_UID_LEN
        && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && uid.split('.').all(|part| !part.is_empty())
}

/// Every complete spool file under `root` (one level of association folders, or files
/// directly in `root`), sorted. Partial files and anything else are ignored.
pub fn scan(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            for inner in std::fs::read_dir(&path)? {
                let inner = inner?.path();
                if is_complete(&inner) {
                    out.push(inner);
                }
            }
        } else if is_complete(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a path names a complete spool file (`<uid>.dcm`, not hidden).
pub fn is_complete(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == SPOOL_EXTENSION)
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !n.starts_with('.'))
}

/// Preamble, `DICM` and the file meta group for an instance.
fn part10_head(
    sop_class_uid: &str,
    sop_instance_uid: &str,
    transfer_syntax: &str,
    calling_ae: &str,
    called_ae: &str,
) -> std::io::Result<Vec<u8>> {
    let mut builder = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    if !calling_ae.trim().is_empty() {
        builder = builder
            .source_application_entity_title(calling_ae.trim())
            .sending_application_entity_title(calling_ae.trim());
    }
    if !called_ae.trim().is_empty() {
        builder = builder.receiving_application_entity_title(called_ae.trim());
    }
    let meta = builder.build().map_err(std::io::Error::other)?;
    let mut head = vec![0_u8; 128];
    head.extend_from_slice(b"DICM");
    meta.write(&mut head).map_err(std::io::Error::other)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_that_are_not_uids_are_refused() {
        for good in ["1.2.3", "2.25.123456789", "1"] {
            assert!(is_valid_uid(good), "{good}");
        }
        let long = "1.".repeat(40);
        for bad in [
            "",
            "../x",
            "1..2",
            ".1",
            "1.2.",
            "1/2",
            long.as_str(),
            "1.2\0",
        ] {
            assert!(!is_valid_uid(bad), "{bad:?}");
        }
        assert_eq!(association_folder(5, 7, "A B/../C"), "5-000007-A_B____C");
    }

    #[tokio::test]
    async fn commit_makes_a_readable_part10_file_and_discard_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let data = {
            use dicom_core::{DataElement, VR};
            use dicom_dictionary_std::tags;
            let obj = dicom_object::InMemDicomObject::from_element_iter([
                DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3"),
                DataElement::new(tags::PATIENT_ID, VR::LO, "P1"),
            ]);
            crate::scu::encode_data_set(&obj, "1.2.840.10008.1.2.1").unwrap()
        };
        let mut f = SpoolFile::create(
            dir.path(),
            "1.2.840.10008.5.1.4.1.1.7",
            "1.2.3",
            "1.2.840.10008.1.2.1",
            "SENDER",
            "ADIT",
        )
        .await
        .unwrap();
        let (a, b) = data.split_at(5);
        f.write(a).await.unwrap();
        f.write(b).await.unwrap();
        assert_eq!(f.data_set_len(), data.len() as u64);
        assert_eq!(scan(dir.path()).unwrap(), Vec::<PathBuf>::new());
        let path = f.commit().await.unwrap();
        assert_eq!(path, dir.path().join("1.2.3.dcm"));
        assert_eq!(scan(dir.path()).unwrap(), vec![path.clone()]);
        let obj = dicom_object::open_file(&path).unwrap();
        assert_eq!(obj.meta().media_storage_sop_instance_uid(), "1.2.3");
        assert_eq!(obj.meta().source_application_entity_title(), Some("SENDER"));

        let g = SpoolFile::create(dir.path(), "1.2", "1.2.4", "1.2.840.10008.1.2", "", "")
            .await
            .unwrap();
        g.discard().await;
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(
            SpoolFile::create(dir.path(), "1.2", "../evil", "1.2.840.10008.1.2", "", "")
                .await
                .is_err()
        );
    }
}
