//! [`ZipSink`]: one ZIP archive per job, optionally AES-256 encrypted.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use dicom_core::chrono::{Datelike, Timelike, Utc};
use zip::write::{FileOptions, SimpleFileOptions};
use zip::{AesMode, CompressionMethod, ZipWriter};

use super::layout::FolderLayout;
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::sink::{Sink, StoreOutcome};

/// Name of the index entry written last into every archive.
pub const INDEX_ENTRY: &str = "INDEX.txt";

/// Instances above this size get ZIP64 headers (the 4 GiB limit of plain ZIP, with margin).
const ZIP64_THRESHOLD: u64 = 0xF000_0000;

/// How archive entries are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZipCompression {
    /// No compression (fastest; compressed transfer syntaxes gain nothing anyway).
    Stored,
    /// Deflate at the fastest level, like ADIT's `7z -mx1`.
    #[default]
    Deflate,
}

/// How to write an archive.
#[derive(Clone, Default)]
pub struct ZipOptions {
    /// Encrypts every entry with WinZip AES-256 when set. Entry names (the folder layout) are
    /// not encrypted by the ZIP format; use pseudonyms in the layout when names are sensitive.
    pub password: Option<String>,
    /// Entry compression.
    pub compression: ZipCompression,
    /// Who created the archive, for the first line of `INDEX.txt` (e.g. `job 12 of jdoe`).
    pub created_by: Option<String>,
}

impl fmt::Debug for ZipOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZipOptions")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("compression", &self.compression)
            .field("created_by", &self.created_by)
            .finish()
    }
}

/// Writes instances into one ZIP archive, entry by entry, in the layout of a
/// [`FolderLayout`] (the layout's job folder becomes the top folder inside the archive).
///
/// The archive is written to `<path>.partial` and renamed to `<path>` by
/// [`Sink::finish`], after the central directory and `INDEX.txt` are written and flushed to
/// disk; an unfinished archive is deleted when the sink is dropped. Memory use is one entry's
/// compression buffer, whatever the archive's size. Concurrency is one.
#[derive(Debug, Clone)]
pub struct ZipSink {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    path: PathBuf,
    partial: PathBuf,
    layout: FolderLayout,
    options: ZipOptions,
    state: Mutex<Option<State>>,
}

struct State {
    writer: ZipWriter<BufWriter<File>>,
    names: HashSet<String>,
    entries: Vec<String>,
}

impl ZipSink {
    /// Starts an archive that will appear at `path` once finished.
    pub fn create(
        path: impl Into<PathBuf>,
        layout: FolderLayout,
        options: ZipOptions,
    ) -> Result<Self> {
        let path = path.into();
        if options.password.as_deref().is_some_and(str::is_empty) {
            return Err(Error::invalid_config("password", "must not be empty"));
        }
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        if let Some(dir) = partial.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let file = File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let writer = ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
        Ok(Self {
            inner: Arc::new(Inner {
                name: path.display().to_string(),
                path,
                partial,
                layout,
                options,
                state: Mutex::new(Some(State {
                    writer,
                    names: HashSet::new(),
                    entries: Vec::new(),
                })),
            }),
        })
    }

    /// The archive's final path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

#[async_trait]
impl Sink for ZipSink {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn store(&self, instance: Instance) -> Result<StoreOutcome> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.add(&instance))
            .await
            .map_err(|e| Error::Task(format!("archive write: {e}")))?
    }

    async fn finish(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.finish())
            .await
            .map_err(|e| Error::Task(format!("archive finish: {e}")))?
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Option<State>> {
        // A panic while holding the lock leaves a writer mid-entry; `add` then fails on it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn archive_error(&self, reason: impl fmt::Display) -> Error {
        Error::Archive {
            path: self.partial.clone(),
            reason: reason.to_string(),
        }
    }

    fn entry_options(&self, size: u64) -> FileOptions<'_, 'static, ()> {
        let (method, level) = match self.options.compression {
            ZipCompression::Stored => (CompressionMethod::Stored, None),
            ZipCompression::Deflate => (CompressionMethod::Deflated, Some(1)),
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(level)
            .last_modified_time(now_for_zip())
            .unix_permissions(0o644)
            .large_file(size > ZIP64_THRESHOLD);
        match &self.options.password {
            Some(password) => options.with_aes_encryption(AesMode::Aes256, password),
            None => options,
        }
    }

    fn add(&self, instance: &Instance) -> Result<StoreOutcome> {
        let header = match super::checked_header(instance) {
            Ok(header) => header,
            // This instance is unreadable; the next one may be fine.
            Err(reason) => return Ok(StoreOutcome::Failed(reason)),
        };
        let name = self
            .layout
            .components(&header, instance.sop_instance_uid())
            .join("/");
        let mut guard = self.lock();
        let state = guard.as_mut().ok_or_else(|| Error::SinkClosed {
            sink: self.name.clone(),
            reason: "the archive is already finished".into(),
        })?;
        if state.names.contains(&name) {
            return Ok(StoreOutcome::Warning(format!(
                "{name} is already in the archive; the second copy was not added"
            )));
        }
        state
            .writer
            .start_file(name.as_str(), self.entry_options(instance.size_hint()))
            .map_err(|e| self.archive_error(format!("starting {name}: {e}")))?;
        match instance.write_part10(&mut state.writer) {
            Ok(()) => {}
            Err(e @ Error::InvalidDicom { .. }) => {
                state
                    .writer
                    .abort_file()
                    .map_err(|e| self.archive_error(format!("removing {name}: {e}")))?;
                return Ok(StoreOutcome::Failed(e.to_string()));
            }
            Err(e) => return Err(self.archive_error(format!("writing {name}: {e}"))),
        }
        state.names.insert(name.clone());
        state.entries.push(name);
        Ok(StoreOutcome::Stored)
    }

    fn finish(&self) -> Result<()> {
        let Some(mut state) = self.lock().take() else {
            return Ok(());
        };
        let index = self.index_text(&state.entries);
        state
            .writer
            .start_file(INDEX_ENTRY, self.entry_options(index.len() as u64))
            .and_then(|()| Ok(state.writer.write_all(index.as_bytes())?))
            .map_err(|e| self.archive_error(format!("writing {INDEX_ENTRY}: {e}")))?;
        let buffered = state
            .writer
            .finish()
            .map_err(|e| self.archive_error(format!("writing the central directory: {e}")))?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io(&self.partial, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.partial, e))?;
        drop(file);
        fs::rename(&self.partial, &self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok(())
    }

    fn index_text(&self, entries: &[String]) -> String {
        let created_by = self.options.created_by.as_deref().unwrap_or("ADIT-RS");
        let now = Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
        let mut text = format!(
            "Archive created by {created_by} at {now}\n\n{} instances:\n",
            entries.len()
        );
        for entry in entries {
            text.push_str(entry);
            text.push('\n');
        }
        text
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = match self.state.get_mut() {
            Ok(state) => state.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(state) = state {
            // Never leave an archive behind that was not completed.
            drop(state);
            let _ = fs::remove_file(&self.partial);
        }
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZipSink")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The current UTC time as a ZIP (DOS) timestamp.
fn now_for_zip() -> zip::DateTime {
    let now = Utc::now();
    let narrow = |v: u32| u8::try_from(v).unwrap_or(0);
    u16::try_from(now.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                narrow(now.month()),
                narrow(now.day()),
                narrow(now.hour()),
                narrow(now.minute()),
                narrow(now.second()),
            )
            .ok()
        })
        .unwrap_or_default()
}
