//! The spool directory: each received instance is written as a Part-10 file under a folder per
//! association, atomically: a hidden `.part` temp file, fsync, rename to `<SOPInstanceUID>.dcm`,
//! fsync of the folder. Only then is the C-STORE acknowledged, so a crash never loses an
//! instance the peer was told we have, and a file named `*.dcm` is always complete.
//!
//! Layout: `<spool>/<association folder>/<SOPInstanceUID>.dcm`; the association folder is
//! `<unix ms>-<sequence>-<calling AE>` (AE characters other than letters, digits, `-` and `_`
//! are written as `_`). Readers in other processes list `*.dcm` files and ignore the rest
//! (see [`scan`]); folders whose name starts with `.` (the claims of workers, see
//! [`super::claim`]) are not part of the spool.
//!
//! Correlation metadata travels inside the file, so it is renamed into place atomically with
//! the data: the file meta's Source/Sending AE Title is the calling AE, Receiving AE Title the
//! called AE, and Private Information (0002,0102) under the creator
//! [`PROVENANCE_CREATOR_UID`] holds a small `key=value` text with the Move Originator AE title
//! and Message ID of the C-STORE-RQ ([`Provenance`]). [`read_provenance`] gets it back.

use std::path::{Path, PathBuf};

use adit_core::instance::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME};
use dicom_object::meta::FileMetaTableBuilder;
use tokio::io::AsyncWriteExt;

/// Extension of complete spool files.
pub const SPOOL_EXTENSION: &str = "dcm";

/// Extension of files still being written (or left by a crash): never complete.
pub const PARTIAL_EXTENSION: &str = "part";

/// Private Information Creator UID (0002,0100) of the [`Provenance`] we write into the file
/// meta (a sub-arc of our implementation class UID).
pub const PROVENANCE_CREATOR_UID: &str = "2.25.2514375697046365153949329515400068319.1";

/// The most bytes a UID may have (PS3.5 9.1).
const MAX_UID_LEN: usize = 64;

/// An instance being written to the spool.
#[derive(Debug)]
pub struct SpoolFile {
    file: tokio::fs::File,
    temp: PathBuf,
    target: PathBuf,
    written: u64,
    /// Whether everything written is durable (no write since the last sync).
    synced: bool,
}

impl SpoolFile {
    /// Creates `dir` if needed and a temp file in it holding the preamble and the file meta.
    /// `sop_instance_uid` must be a valid UID (checked: it becomes a file name).
    pub async fn create(
        dir: &Path,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
        provenance: &Provenance,
    ) -> std::io::Result<Self> {
        if !is_valid_uid(sop_instance_uid) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{sop_instance_uid}` is not a valid SOP Instance UID"),
            ));
        }
        let head = part10_head(sop_class_uid, sop_instance_uid, transfer_syntax, provenance)?;
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
            synced: false,
        })
    }

    /// Appends data set bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        self.synced = false;
        Ok(())
    }

    /// Data set bytes written so far.
    pub fn data_set_len(&self) -> u64 {
        self.written
    }

    /// Makes the written bytes durable under the temporary name, which [`SpoolFile::temp_path`]
    /// gives: the receiver reads the header back from there before [`SpoolFile::commit`]
    /// publishes the file (once published, a worker may claim it at any moment).
    pub async fn sync(&mut self) -> std::io::Result<()> {
        if !self.synced {
            self.file.flush().await?;
            self.file.sync_all().await?;
            self.synced = true;
        }
        Ok(())
    }

    /// The temporary (unpublished) name of the file.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Makes the file durable and visible under its final name; returns that name.
    pub async fn commit(mut self) -> std::io::Result<PathBuf> {
        self.sync().await?;
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

/// Who sent an instance, and for which C-MOVE: stored in the spool file's meta.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The calling AE title of the association.
    pub calling_ae: String,
    /// The called AE title (ours).
    pub called_ae: String,
    /// Move Originator AE title and Message ID, when the store is a C-MOVE sub-operation.
    pub move_originator: Option<(String, u16)>,
}

impl Provenance {
    /// The Private Information text: `key=value` lines (AE titles cannot hold line breaks;
    /// any that do are replaced), padded to an even length.
    fn encode(&self) -> Vec<u8> {
        let clean = |s: &str| s.trim().replace(['\n', '\r', '='], "_");
        let mut text = format!(
            "calling-ae={}\ncalled-ae={}\n",
            clean(&self.calling_ae),
            clean(&self.called_ae)
        );
        if let Some((ae, id)) = &self.move_originator {
            text.push_str(&format!(
                "move-originator-ae={}\nmove-originator-message-id={id}\n",
                clean(ae)
            ));
        }
        if text.len() % 2 == 1 {
            text.push('\n');
        }
        text.into_bytes()
    }

    /// Parses [`Provenance::encode`]'s text; unknown keys are ignored, a malformed Message ID
    /// drops the originator.
    fn decode(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let mut out = Self::default();
        let (mut move_ae, mut move_id) = (None, None);
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "calling-ae" => out.calling_ae = value.to_owned(),
                "called-ae" => out.called_ae = value.to_owned(),
                "move-originator-ae" => move_ae = Some(value.to_owned()),
                "move-originator-message-id" => move_id = value.trim().parse::<u16>().ok(),
                _ => {}
            }
        }
        out.move_originator = move_ae.zip(move_id);
        out
    }
}

/// The [`Provenance`] in a spool file's meta: from our Private Information when present,
/// else the calling and called AE titles of the standard meta (a file from elsewhere).
pub fn read_provenance(meta: &dicom_object::meta::FileMetaTable) -> Provenance {
    let ours = meta
        .private_information_creator_uid()
        .is_some_and(|uid| uid.trim_end_matches(['\0', ' ']) == PROVENANCE_CREATOR_UID);
    match (&meta.private_information, ours) {
        (Some(bytes), true) => Provenance::decode(bytes),
        _ => Provenance {
            calling_ae: meta
                .source_application_entity_title()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            called_ae: meta
                .receiving_application_entity_title()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            move_originator: None,
        },
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
/// directly in `root`), sorted. Partial files, hidden folders (claims) and anything else are
/// ignored. A folder that disappears during the scan (taken away) is skipped.
pub fn scan(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if kind.is_dir() && !hidden {
            let inner_entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for inner in inner_entries {
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
    provenance: &Provenance,
) -> std::io::Result<Vec<u8>> {
    let mut builder = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .private_information_creator_uid(PROVENANCE_CREATOR_UID)
        .private_information(provenance.encode());
    let (calling_ae, called_ae) = (&provenance.calling_ae, &provenance.called_ae);
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
            &Provenance {
                calling_ae: "SENDER".into(),
                called_ae: "ADIT".into(),
                move_originator: Some(("MOVER 1".into(), 0x4242)),
            },
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
        assert_eq!(
            read_provenance(obj.meta()),
            Provenance {
                calling_ae: "SENDER".into(),
                called_ae: "ADIT".into(),
                move_originator: Some(("MOVER 1".into(), 0x4242)),
            }
        );

        let none = Provenance::default();
        let g = SpoolFile::create(dir.path(), "1.2", "1.2.4", "1.2.840.10008.1.2", &none)
            .await
            .unwrap();
        g.discard().await;
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(
            SpoolFile::create(dir.path(), "1.2", "../evil", "1.2.840.10008.1.2", &none)
                .await
                .is_err()
        );
    }
}
