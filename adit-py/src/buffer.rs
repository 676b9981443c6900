//! [`PartBuffer`]: the file a `FileDataset` was read from, as its `buffer` attribute.
//!
//! `dcmread(BytesIO(part))` keeps the whole file next to the values it read from it, so a
//! study is held twice. A `PartBuffer` instead shares the large values (pixel data) with the
//! dataset's elements, and holds only the bytes between them itself. It reads like the
//! `BytesIO` it stands for (`read`, `seek`, `tell`, `getvalue`), and pickles and deep-copies
//! as one.

use std::ops::Range;

use bytes::Bytes;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::part10::Data;
use crate::segments::{for_each_piece_slice, new_bytes};

/// Values at least this long are shared with the dataset instead of copied into the buffer.
pub(crate) const SHARED_VALUE: usize = 64 * 1024;

/// A read-only, seekable file over a Part-10 file's bytes.
#[pyclass(module = "adit_rs._native")]
pub struct PartBuffer {
    pieces: Vec<Piece>,
    /// Where each piece starts within the file.
    starts: Vec<usize>,
    len: usize,
    pos: usize,
    closed: bool,
}

/// A stretch of the file.
enum Piece {
    /// Bytes between shared values, owned here.
    Own(Bytes),
    /// A value the dataset's element holds as well.
    Shared(Py<PyBytes>),
}

impl PartBuffer {
    /// The file `data`, with the values in `shared` (in file order, not overlapping, each
    /// exactly `data[range]`) taken over instead of copied.
    pub(crate) fn new<D: Data + ?Sized>(
        data: &D,
        shared: Vec<(Range<usize>, Bound<'_, PyBytes>)>,
    ) -> Self {
        let mut pieces = Vec::with_capacity(2 * shared.len() + 1);
        let mut starts = Vec::with_capacity(2 * shared.len() + 1);
        let mut at = 0;
        for (range, bytes) in shared {
            if range.start > at {
                starts.push(at);
                pieces.push(Piece::Own(own(data, at..range.start)));
            }
            starts.push(range.start);
            pieces.push(Piece::Shared(bytes.unbind()));
            at = range.end;
        }
        if data.len() > at {
            starts.push(at);
            pieces.push(Piece::Own(own(data, at..data.len())));
        }
        Self {
            pieces,
            starts,
            len: data.len(),
            pos: 0,
            closed: false,
        }
    }

    fn check_open(&self) -> PyResult<()> {
        if self.closed {
            return Err(PyValueError::new_err("I/O operation on closed file."));
        }
        Ok(())
    }
}

#[pymethods]
impl PartBuffer {
    /// Reads up to `size` bytes from the current position (all that is left if `size` is
    /// negative or omitted).
    #[pyo3(signature = (size=-1))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        self.check_open()?;
        let left = self.len.saturating_sub(self.pos);
        let n = match size {
            Some(size) if size >= 0 => left.min(size.unsigned_abs()),
            _ => left,
        };
        let range = self.pos..self.pos + n;
        self.pos += n;
        new_bytes(py, &View { buffer: self, py }, range)
    }

    /// Moves the position: relative to the start (`whence` 0), the current position (1) or
    /// the end (2); answers the new position.
    #[pyo3(signature = (offset, whence=0))]
    fn seek(&mut self, offset: isize, whence: i32) -> PyResult<usize> {
        self.check_open()?;
        let base = match whence {
            0 => 0,
            1 => self.pos,
            2 => self.len,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid whence ({whence}, should be 0, 1 or 2)"
                )));
            }
        };
        if whence == 0 && offset < 0 {
            return Err(PyValueError::new_err(format!(
                "negative seek value {offset}"
            )));
        }
        // Like BytesIO: a relative seek before the start stops at the start.
        self.pos = base.checked_add_signed(offset).unwrap_or(0);
        Ok(self.pos)
    }

    /// The current position.
    fn tell(&self) -> PyResult<usize> {
        self.check_open()?;
        Ok(self.pos)
    }

    /// The whole file as `bytes`.
    fn getvalue<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.check_open()?;
        new_bytes(py, &View { buffer: self, py }, 0..self.len)
    }

    /// Always true.
    fn readable(&self) -> bool {
        true
    }

    /// Always true.
    fn seekable(&self) -> bool {
        true
    }

    /// Always false: the buffer is read-only.
    fn writable(&self) -> bool {
        false
    }

    /// Whether [`close`](Self::close) was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed
    }

    /// Releases the bytes; later reads fail as on a closed `BytesIO`.
    fn close(&mut self) {
        self.closed = true;
        self.pieces.clear();
        self.starts.clear();
        self.len = 0;
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &mut self,
        _kind: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) {
        self.close();
    }

    /// Pickles as the `io.BytesIO` it stands for.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let bytes_io = py.import("io")?.getattr("BytesIO")?;
        let value = self.getvalue(py)?;
        PyTuple::new(py, [bytes_io, PyTuple::new(py, [value])?.into_any()])
    }

    /// The values are immutable, so a copy shares them.
    fn __copy__(&self, py: Python<'_>) -> Self {
        Self {
            pieces: self
                .pieces
                .iter()
                .map(|piece| match piece {
                    Piece::Own(bytes) => Piece::Own(bytes.clone()),
                    Piece::Shared(bytes) => Piece::Shared(bytes.clone_ref(py)),
                })
                .collect(),
            starts: self.starts.clone(),
            len: self.len,
            pos: self.pos,
            closed: self.closed,
        }
    }

    fn __deepcopy__(&self, py: Python<'_>, _memo: &Bound<'_, PyDict>) -> Self {
        self.__copy__(py)
    }

    fn __repr__(&self) -> String {
        format!("<PartBuffer of {} bytes at {}>", self.len, self.pos)
    }
}

/// `data[range]` copied into owned bytes.
fn own<D: Data + ?Sized>(data: &D, range: Range<usize>) -> Bytes {
    data.to_vec(range).map(Bytes::from).unwrap_or_default()
}

/// A [`PartBuffer`] read through the GIL.
struct View<'a, 'py> {
    buffer: &'a PartBuffer,
    py: Python<'py>,
}

impl Data for View<'_, '_> {
    fn len(&self) -> usize {
        self.buffer.len
    }

    fn for_each_slice(&self, range: Range<usize>, f: impl FnMut(&[u8])) {
        let buffer = self.buffer;
        for_each_piece_slice(&buffer.starts, range, f, |index| {
            match &buffer.pieces[index] {
                Piece::Own(bytes) => bytes,
                Piece::Shared(bytes) => bytes.bind(self.py).as_bytes(),
            }
        });
    }
}
