//! `transfer`: the engine's source → pseudonymizer → destination pipeline from Python, with
//! a progress callback called on the Python thread and Ctrl-C cancelling the transfer.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::Duration;

use adit_core::engine::{Progress, TransferOptions, transfer as run_transfer};
use adit_core::folder::{FolderLayout, FolderSink};
use adit_core::sink::Sink;
use adit_core::transform::Transform;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::errors::{AditError, from_core};
use crate::node::{Node, selection};
use crate::pseudonym::Pseudonymizer;
use crate::runtime::runtime;

/// How often progress is reported and signals are checked.
const TICK: Duration = Duration::from_millis(100);

/// Transfers a study (or some series, or one instance) from `source` to `destination` (a
/// `Node` or a folder path), optionally pseudonymizing on the way.
///
/// `progress(done, expected)` is called on the calling thread as instances are stored
/// (`expected` is `None` until the source knows). Ctrl-C cancels the transfer and raises
/// `KeyboardInterrupt`. Returns the counts (`stored`, `warnings`, `failed`, `missing`, ...),
/// `bytes`, `seconds` and `status`.
#[pyfunction]
#[pyo3(signature = (source, destination, study_uid, series_uids=None, sop_instance_uid=None, patient_id=None, pseudonymizer=None, progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn transfer<'py>(
    py: Python<'py>,
    source: &Node,
    destination: &Bound<'py, PyAny>,
    study_uid: String,
    series_uids: Option<Vec<String>>,
    sop_instance_uid: Option<String>,
    patient_id: Option<String>,
    pseudonymizer: Option<&Pseudonymizer>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let selection = selection(study_uid, series_uids, sop_instance_uid, patient_id)?;
    let sink: Arc<dyn Sink> = if let Ok(node) = destination.cast::<Node>() {
        node.get().sink()
    } else {
        let folder: PathBuf = destination.extract()?;
        Arc::new(FolderSink::new(folder, FolderLayout::new()))
    };
    let transforms: Vec<Arc<dyn Transform>> = pseudonymizer
        .map(|p| vec![p.core() as Arc<dyn Transform>])
        .unwrap_or_default();
    let source = source.source();
    let cancel = CancellationToken::new();
    let (progress_tx, progress_rx) = watch::channel(Progress::default());
    let options = TransferOptions::default()
        .with_cancel(cancel.clone())
        .with_progress(progress_tx);
    let (tx, rx) = sync_channel(1);
    runtime()?.spawn(async move {
        let report = run_transfer(&*source, &selection, &transforms, &*sink, options).await;
        let _ = tx.send(report);
    });
    // `detach` needs `Sync` captures; the mutex is never contended.
    let rx = std::sync::Mutex::new(rx);
    let mut last = None;
    let report = loop {
        let received = py.detach(|| match rx.lock() {
            Ok(rx) => rx.recv_timeout(TICK),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match received {
            Ok(report) => break report.map_err(|e| from_core(&e))?,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(AditError::new_err("the transfer ended without a report"));
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    cancel.cancel();
                    return Err(e);
                }
                report_progress(&progress, &progress_rx, &mut last)?;
            }
        }
    };
    report_progress(&progress, &progress_rx, &mut last)?;
    let dict = PyDict::new(py);
    let c = &report.counts;
    dict.set_item("status", format!("{:?}", report.status()))?;
    dict.set_item("stored", c.stored)?;
    dict.set_item("warnings", c.warnings)?;
    dict.set_item("failed", c.failed)?;
    dict.set_item("missing", c.missing)?;
    dict.set_item("skipped", c.skipped)?;
    dict.set_item("dropped", c.dropped)?;
    dict.set_item("bytes", report.bytes)?;
    dict.set_item("seconds", report.duration.as_secs_f64())?;
    dict.set_item("cancelled", report.cancelled)?;
    dict.set_item("error", report.error.as_ref().map(ToString::to_string))?;
    Ok(dict)
}

/// Calls `callback(done, expected)` when the progress changed since the last call.
fn report_progress(
    callback: &Option<Bound<'_, PyAny>>,
    rx: &watch::Receiver<Progress>,
    last: &mut Option<(u64, Option<u64>)>,
) -> PyResult<()> {
    let Some(callback) = callback else {
        return Ok(());
    };
    let now = {
        let p = rx.borrow();
        (p.instances_done(), p.expected.map(|e| e.instances))
    };
    if *last != Some(now) {
        *last = Some(now);
        callback.call1(now)?;
    }
    Ok(())
}
