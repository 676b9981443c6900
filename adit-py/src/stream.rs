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

use crate::runtime::{runtime, wait};

/// Items buffered ahead of the Python consumer of an iterator.
pub(crate) const AHEAD: usize = 4;

/// An iterator over byte strings (Part-10 files) arriving from a peer.
#[pyclass(module = "adit_rs._native")]
pub struct PartStream {
    rx: Arc<Mutex<mpsc::Receiver<PyResult<Bytes>>>>,
    done: bool,
}

impl PartStream {
    /// Starts `open` on the runtime and forwards the items of the stream it returns, at most
    /// `ahead` of them buffered for the consumer.
    pub(crate) fn spawn<F, S>(ahead: usize, open: F) -> PyResult<Self>
    where
        F: Future<Output = PyResult<S>> + Send + 'static,
        S: Stream<Item = PyResult<Bytes>> + Send + 'static,
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
            Some(Ok(bytes)) => Ok(Some(PyBytes::new(py, &bytes))),
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
                Ok(bytes) => batch.push(PyBytes::new(py, &bytes)),
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
