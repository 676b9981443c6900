//! The module's tokio runtime and the bridge that waits for it with the GIL released.
//!
//! One multi-thread runtime serves the whole process; it is created on first use. Python
//! threads block in [`wait`], which releases the GIL and wakes every 100 ms to let Python
//! deliver signals: Ctrl-C cancels the operation (its future is dropped, which closes its
//! connections) and raises `KeyboardInterrupt`.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::errors::AditError;

/// How often a waiting thread looks at Python's pending signals.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("adit-rs")
        .build()
        .map_err(|e| AditError::new_err(format!("cannot start the I/O runtime: {e}")))?;
    // Another thread may have won the race; its runtime is used and ours dropped.
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Runs `future` on the runtime and waits for it with the GIL released.
pub(crate) fn wait<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = PyResult<T>> + Send + 'static,
{
    wait_cancellable(py, CancellationToken::new(), future)
}

/// Like [`wait`], and cancels `token` as well when Python raises (Ctrl-C), so that an
/// engine operation can wind down in order before its future is dropped.
pub(crate) fn wait_cancellable<T, F>(
    py: Python<'_>,
    token: CancellationToken,
    future: F,
) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = PyResult<T>> + Send + 'static,
{
    let rt = runtime()?;
    let (tx, rx) = sync_channel(1);
    // `detach` needs `Sync` captures; the mutex is never contended.
    let rx = std::sync::Mutex::new(rx);
    let stop = token.clone();
    let handle = rt.spawn(async move {
        tokio::select! {
            result = future => { let _ = tx.send(result); }
            () = stop.cancelled() => {}
        }
    });
    loop {
        let received = py.detach(|| match rx.lock() {
            Ok(rx) => rx.recv_timeout(SIGNAL_POLL),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match received {
            Ok(result) => return result,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(AditError::new_err(
                    "the operation ended without a result (cancelled)",
                ));
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    token.cancel();
                    handle.abort();
                    return Err(e);
                }
            }
        }
    }
}
