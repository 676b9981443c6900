//! [`FolderSink`]: writes instances as Part-10 files in ADIT's folder layout.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::atomic::write_atomic;
use super::layout::FolderLayout;
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::sink::{Sink, StoreOutcome};

/// Stores instances as files below a root directory, laid out by a [`FolderLayout`].
///
/// Every file is written atomically (temporary file in the same directory, then rename), so
/// a crash or a failed write never leaves a partial file under a `.dcm` name. With
/// [`FolderSink::with_durable`] each file and its directory entry are also flushed to disk.
/// Writes run on the blocking thread pool, as many at once as there are cores.
#[derive(Debug, Clone)]
pub struct FolderSink {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    name: String,
    root: PathBuf,
    layout: FolderLayout,
    durable: bool,
    concurrency: usize,
}

impl FolderSink {
    /// A sink writing below `root` (created on demand).
    pub fn new(root: impl Into<PathBuf>, layout: FolderLayout) -> Self {
        let root = root.into();
        Self {
            inner: Arc::new(Inner {
                name: root.display().to_string(),
                root,
                layout,
                durable: false,
                concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            }),
        }
    }

    /// Names the sink in reports (defaults to the root path).
    pub fn with_name(self, name: impl Into<String>) -> Self {
        self.map(|inner| inner.name = name.into())
    }

    /// Flushes every file and directory entry to disk before reporting it stored.
    pub fn with_durable(self, durable: bool) -> Self {
        self.map(|inner| inner.durable = durable)
    }

    /// Sets how many files are written at once (at least one).
    pub fn with_concurrency(self, concurrency: usize) -> Self {
        self.map(|inner| inner.concurrency = concurrency.max(1))
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The directory the job writes into: the root, plus the layout's job folder if any.
    pub fn job_path(&self) -> PathBuf {
        match &self.inner.layout.job_dir {
            Some(dir) => self
                .inner
                .root
                .join(super::sanitize::sanitize_filename(dir, "job")),
            None => self.inner.root.clone(),
        }
    }

    fn map(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }
}

#[async_trait]
impl Sink for FolderSink {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn max_concurrency(&self) -> usize {
        self.inner.concurrency
    }

    async fn store(&self, instance: Instance) -> Result<StoreOutcome> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.write(&instance))
            .await
            .map_err(|e| Error::Task(format!("folder write: {e}")))?
    }

    async fn finish(&self) -> Result<()> {
        Ok(())
    }
}

impl Inner {
    fn write(&self, instance: &Instance) -> Result<StoreOutcome> {
        let header = match super::checked_header(instance) {
            Ok(header) => header,
            // This instance is unreadable; the next one may be fine.
            Err(reason) => return Ok(StoreOutcome::Failed(reason)),
        };
        let path = self.root.join(
            self.layout
                .relative_path(&header, instance.sop_instance_uid()),
        );
        match write_atomic(&path, self.durable, |out| instance.write_part10(out)) {
            Ok(()) => Ok(StoreOutcome::Stored),
            // Encoding this instance failed: an instance problem, not a broken folder.
            Err(e @ Error::InvalidDicom { .. }) => Ok(StoreOutcome::Failed(e.to_string())),
            Err(Error::Write { source, .. }) => Err(Error::io(path, source)),
            Err(e) => Err(e),
        }
    }
}
