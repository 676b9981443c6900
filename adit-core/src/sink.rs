//! [`Sink`]: where instances go (a PACS over DIMSE or DICOMweb, a folder, an archive).

use async_trait::async_trait;

use crate::error::Result;
use crate::instance::Instance;

/// Something instances can be stored to.
///
/// `store` takes `&self` so the engine can keep up to [`Sink::max_concurrency`] stores in
/// flight (a DIMSE sink spreads them over several associations; the folder sink writes on
/// every core). Object-safe: the server holds sinks as `Arc<dyn Sink>`.
///
/// The engine may drop a `store` future before it completes (the transfer was cancelled);
/// implementors must leave no half-written result that looks complete (abort the association,
/// delete the temporary file).
#[async_trait]
pub trait Sink: Send + Sync {
    /// A name for messages and reports, e.g. the node name.
    fn name(&self) -> &str;

    /// How many `store` calls may run at once. Defaults to one.
    fn max_concurrency(&self) -> usize {
        1
    }

    /// Stores one instance.
    ///
    /// `Ok(StoreOutcome::Failed(..))` means this instance was refused and the next one may
    /// succeed (the PACS rejected the SOP class); `Err` means the sink is broken and the
    /// transfer must stop (disk full, association lost).
    async fn store(&self, instance: Instance) -> Result<StoreOutcome>;

    /// Completes the destination (close the archive, release associations). Called exactly
    /// once by the engine, also after a cancelled or failed transfer.
    async fn finish(&self) -> Result<()>;
}

/// What happened to one stored instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Stored.
    Stored,
    /// Stored, with a warning (C-STORE warning status, coerced elements, duplicate).
    Warning(String),
    /// Not stored; the reason says why.
    Failed(String),
}
