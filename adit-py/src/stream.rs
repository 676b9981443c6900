//! [`PartStream`]: a Python iterator over items produced by a task on the runtime.
//!
//! The task runs ahead by a few items (bounded channel: back-pressure keeps memory at a few
//! instances); dropping the iterator drops the receiver, which ends the task and closes its
//! connection.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::sync::{Mutex, mpsc};

use crate::errors::AditError;
use crate::runtime::{runtime, wait};

/// Items buffered ahead of the Python consumer of an iterator.
pub(crate) const AHEAD: usize = 4;

/// One item's bytes in the pieces they arrived in (a multipart body is not joined in Rust:
/// it is copied once, into the Python `bytes`).
pub(crate) struct Segments(Vec<Bytes>);

impl From<Bytes> for Segments {
    fn from(bytes: Bytes) -> Self {
        Self(vec![bytes])
    }
}

impl From<Vec<Bytes>> for Segments {
    fn from(segments: Vec<Bytes>) -> Self {
        Self(segments)
    }
}

impl Segments {
    /// The bytes as a Python `bytes`, made on the calling (runtime) thread, which takes the
    /// GIL for the copy; fails once the interpreter is shutting down.
    ///
    /// `get_parts` uses it as each part arrives. The part streams do not: there the consumer
    /// holds the GIL while it builds Datasets, and taking it from the runtime made no
    /// measurable difference to `retrieve_study` (1000 × 525 KB: 0.77 s either way).
    pub(crate) fn to_owned_py(&self) -> PyResult<Py<PyBytes>> {
        Python::try_attach(|py| self.to_py(py).map(Bound::unbind)).unwrap_or_else(|| {
            Err(AditError::new_err(
                "the Python interpreter is shutting down: transfer stopped",
            ))
        })
    }

    /// The bytes as one Python `bytes`.
    pub(crate) fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        if let [one] = self.0.as_slice() {
            return Ok(PyBytes::new(py, one));
        }
        let len = self.0.iter().map(Bytes::len).sum();
        PyBytes::new_with(py, len, |out| {
            let mut at = 0;
            for segment in &self.0 {
                out[at..at + segment.len()].copy_from_slice(segment);
                at += segment.len();
            }
            Ok(())
        })
    }
}

/// An iterator over byte strings (Part-10 files) arriving from a peer.
#[pyclass(module = "adit_rs._native")]
pub struct PartStream {
    rx: Arc<Mutex<mpsc::Receiver<PyResult<Segments>>>>,
    done: bool,
}

impl PartStream {
    /// Starts `open` on the runtime and forwards the items of the stream it returns, at most
    /// `ahead` of them buffered for the consumer.
    pub(crate) fn spawn<F, S, B>(ahead: usize, open: F) -> PyResult<Self>
    where
        F: Future<Output = PyResult<S>> + Send + 'static,
        S: Stream<Item = PyResult<B>> + Send + 'static,
        B: Into<Segments> + Send,
    {
        let (tx, rx) = mpsc::channel(ahead.max(1));
        runtime()?.spawn(async move {
            let stream = match open.await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let item = item.map(Into::into);
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Self {
            rx: Arc::new(Mutex::new(rx)),
            done: false,
        })
    }
}

#[pymethods]
impl PartStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        if self.done {
            return Ok(None);
        }
        let rx = Arc::clone(&self.rx);
        let item = wait(py, async move { Ok(rx.lock().await.recv().await) })?;
        match item {
            Some(Ok(bytes)) => Ok(Some(bytes.to_py(py)?)),
            Some(Err(e)) => {
                self.done = true;
                Err(e)
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }

    /// The items that have arrived, waiting for at least one; an empty list at the end.
    ///
    /// Lets the consumer work on one batch (e.g. build Datasets) while the next arrives.
    fn next_batch<'py>(&mut self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        if self.done {
            return Ok(Vec::new());
        }
        let rx = Arc::clone(&self.rx);
        let items = wait(py, async move {
            let mut rx = rx.lock().await;
            let mut items = Vec::new();
            if let Some(first) = rx.recv().await {
                items.push(first);
                while let Ok(item) = rx.try_recv() {
                    items.push(item);
                }
            }
            Ok(items)
        })?;
        if items.is_empty() {
            self.done = true;
        }
        let mut batch = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Ok(bytes) => batch.push(bytes.to_py(py)?),
                Err(e) => {
                    // The stream ends at its first error; what came before it is dropped.
                    self.done = true;
                    return Err(e);
                }
            }
        }
        Ok(batch)
    }

    /// Stops the transfer and closes the connection.
    fn close(&mut self) {
        self.done = true;
        if let Ok(mut rx) = self.rx.try_lock() {
            rx.close();
        }
    }
}
