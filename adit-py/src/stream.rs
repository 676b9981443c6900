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

/// Items buffered ahead of the Python consumer.
const AHEAD: usize = 4;

/// An iterator over byte strings (Part-10 files) arriving from a peer.
#[pyclass(module = "adit_rs._native")]
pub struct PartStream {
    rx: Arc<Mutex<mpsc::Receiver<PyResult<Bytes>>>>,
    done: bool,
}

impl PartStream {
    /// Starts `open` on the runtime and forwards the items of the stream it returns.
    pub(crate) fn spawn<F, S>(open: F) -> PyResult<Self>
    where
        F: Future<Output = PyResult<S>> + Send + 'static,
        S: Stream<Item = PyResult<Bytes>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(AHEAD);
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

    /// Stops the transfer and closes the connection.
    fn close(&mut self) {
        self.done = true;
        if let Ok(mut rx) = self.rx.try_lock() {
            rx.close();
        }
    }
}
