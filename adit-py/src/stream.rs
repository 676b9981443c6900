//! [`PartStream`]: a Python iterator over items produced by a task on the runtime.
//!
//! The task runs ahead by a few items (bounded channel: back-pressure keeps memory at a few
//! instances); dropping the iterator drops the receiver, which ends the task and closes its
//! connection.

use std::future::Future;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple, PyType};
use tokio::sync::{Mutex, mpsc};

use crate::part10::{Layout, split};
use crate::raw::{SplitItem, split_received};
use crate::runtime::{runtime, wait};
use crate::segments::Segments;

/// Items buffered ahead of the Python consumer of an iterator.
pub(crate) const AHEAD: usize = 4;

/// One item as it arrived, with its layout found by the producer task, off the Python
/// thread (`None`: not a file the walk reads, see [`crate::part10`]).
pub(crate) struct Received {
    pub(crate) segments: Segments,
    pub(crate) layout: Option<Layout>,
}

/// An iterator over byte strings (Part-10 files) arriving from a peer.
#[pyclass(module = "adit_rs._native")]
pub struct PartStream {
    rx: Arc<Mutex<mpsc::Receiver<PyResult<Received>>>>,
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
                let item = item.map(|item| {
                    let segments: Segments = item.into();
                    let layout = split(&segments);
                    Received { segments, layout }
                });
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

impl PartStream {
    /// The items that have arrived, waiting (GIL released) for at least one; none at the
    /// end. The stream ends at its first error; what came before it is dropped.
    fn receive_batch(&mut self, py: Python<'_>) -> PyResult<Vec<Received>> {
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
                Ok(item) => batch.push(item),
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        Ok(batch)
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
            Some(Ok(item)) => Ok(Some(item.segments.to_py(py)?)),
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
        self.receive_batch(py)?
            .iter()
            .map(|item| item.segments.to_py(py))
            .collect()
    }

    /// Like `next_batch`, with each item split for pydicom: `(PartBuffer, split)` as
    /// `split_part10` answers for a file, or `(bytes, None)` where pydicom must read it.
    fn next_split_batch<'py>(
        &mut self,
        py: Python<'py>,
        base_tag: &Bound<'py, PyAny>,
        raw_element: &Bound<'py, PyType>,
        tail: &Bound<'py, PyTuple>,
        none_as_empty_text: bool,
    ) -> PyResult<Vec<SplitItem<'py>>> {
        let items = self.receive_batch(py)?;
        split_received(py, items, base_tag, raw_element, tail, none_as_empty_text)
    }

    /// Stops the transfer and closes the connection.
    fn close(&mut self) {
        self.done = true;
        if let Ok(mut rx) = self.rx.try_lock() {
            rx.close();
        }
    }
}
