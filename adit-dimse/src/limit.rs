//! Process-wide limits on concurrent associations per peer, shared by every task.
//!
//! Many PACS refuse or slow down beyond a few associations from one caller; every association
//! this crate opens first takes a permit from the peer's semaphore and holds it until closed.

use std::collections::HashMap;
use std::num::NonZeroU16;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

static LIMITS: LazyLock<Mutex<HashMap<String, Arc<Semaphore>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Waits for a free association slot to the peer `key`. The first caller for a key fixes its
/// limit for the life of the process. `None` only if the semaphore was closed, which this
/// module never does.
pub async fn acquire(key: &str, max: NonZeroU16) -> Option<OwnedSemaphorePermit> {
    let semaphore = {
        let mut limits = LIMITS.lock().unwrap_or_else(PoisonError::into_inner);
        limits
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(usize::from(max.get()))))
            .clone()
    };
    semaphore.acquire_owned().await.ok()
}

/// How many more associations to `key` may be opened now (for tests and status displays).
pub fn available(key: &str) -> Option<usize> {
    let limits = LIMITS.lock().unwrap_or_else(PoisonError::into_inner);
    limits.get(key).map(|s| s.available_permits())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn holds_concurrency_to_the_limit_per_key() {
        let two = NonZeroU16::new(2).unwrap();
        let a = acquire("LIMIT-TEST@h:1", two).await;
        let _b = acquire("LIMIT-TEST@h:1", two).await;
        assert_eq!(available("LIMIT-TEST@h:1"), Some(0));
        // A third waits until one is released.
        let third =
            tokio::time::timeout(Duration::from_millis(50), acquire("LIMIT-TEST@h:1", two)).await;
        assert!(third.is_err());
        // Another peer is independent.
        let _other = acquire("LIMIT-TEST@h:2", two).await;
        drop(a);
        let _c = tokio::time::timeout(Duration::from_secs(1), acquire("LIMIT-TEST@h:1", two))
            .await
            .unwrap();
    }
}
