//! [`Segments`]: one received item (a Part-10 file) in the pieces it arrived in, and
//! [`new_bytes`], which copies bytes into a new Python `bytes` without zeroing it first.
//!
//! A multipart body is not joined in Rust. Each value that Python needs is copied once,
//! straight from the network buffers into its own `bytes`; the buffers are then dropped and
//! reused for what arrives next.

use std::ops::Range;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::AditError;
use crate::part10::Data;

/// One item's bytes in the pieces they arrived in.
pub(crate) struct Segments {
    pieces: Vec<Bytes>,
    /// Where each piece starts within the item.
    starts: Vec<usize>,
    len: usize,
}

impl From<Bytes> for Segments {
    fn from(bytes: Bytes) -> Self {
        vec![bytes].into()
    }
}

impl From<Vec<Bytes>> for Segments {
    fn from(pieces: Vec<Bytes>) -> Self {
        let mut starts = Vec::with_capacity(pieces.len());
        let mut len = 0;
        for piece in &pieces {
            starts.push(len);
            len += piece.len();
        }
        Self {
            pieces,
            starts,
            len,
        }
    }
}

impl Data for Segments {
    fn len(&self) -> usize {
        self.len
    }

    fn for_each_slice(&self, range: Range<usize>, f: impl FnMut(&[u8])) {
        for_each_piece_slice(&self.starts, range, f, |index| &self.pieces[index]);
    }
}

/// Calls `f` with the slices of the pieces that make up `range` of an item stored as
/// consecutive pieces: `starts` holds where each piece starts, `piece(i)` is piece `i`.
/// `range` must lie within the item.
pub(crate) fn for_each_piece_slice<'a>(
    starts: &[usize],
    range: Range<usize>,
    mut f: impl FnMut(&[u8]),
    piece: impl Fn(usize) -> &'a [u8],
) {
    if range.is_empty() {
        return;
    }
    // The last piece that starts at or before `range.start` (an empty piece shares its start
    // with the next one and is skipped).
    let mut index = starts.partition_point(|s| *s <= range.start) - 1;
    let mut at = range.start;
    while at < range.end {
        let start = starts[index];
        let bytes = piece(index);
        let end = (start + bytes.len()).min(range.end);
        f(&bytes[at - start..end - start]);
        at = end;
        index += 1;
    }
}

impl Segments {
    /// The bytes as a Python `bytes`, made on the calling (runtime) thread, which takes the
    /// GIL for the copy; fails once the interpreter is shutting down.
    pub(crate) fn to_owned_py(&self) -> PyResult<Py<PyBytes>> {
        Python::try_attach(|py| self.to_py(py).map(Bound::unbind)).unwrap_or_else(|| {
            Err(AditError::new_err(
                "the Python interpreter is shutting down: transfer stopped",
            ))
        })
    }

    /// The bytes as one Python `bytes`.
    pub(crate) fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        new_bytes(py, self, 0..self.len)
    }
}

/// The bytes of `data` in `range` (within its length) as a new Python `bytes`.
///
/// PyO3's `PyBytes::new_with` zeroes the new object before filling it; for the pixel data of
/// a study that is one more pass over hundreds of megabytes, so the object is allocated
/// uninitialized here and filled once.
#[allow(unsafe_code)]
pub(crate) fn new_bytes<'py, D: Data + ?Sized>(
    py: Python<'py>,
    data: &D,
    range: Range<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let len = range.len();
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| AditError::new_err("a value is too large for a Python bytes object"))?;
    // SAFETY: `PyBytes_FromStringAndSize(NULL, size)` returns a new, unshared bytes object
    // with `size` writable bytes (or NULL with an exception set, which `from_owned_ptr_or_err`
    // turns into an error); its buffer is completely written below before the object is
    // handed to anyone, as the CPython documentation requires.
    unsafe {
        let object = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size);
        let bytes = Bound::from_owned_ptr_or_err(py, object)?.cast_into_unchecked::<PyBytes>();
        let out = pyo3::ffi::PyBytes_AsString(bytes.as_ptr()).cast::<u8>();
        let mut filled = 0;
        data.for_each_slice(range, |slice| {
            std::ptr::copy_nonoverlapping(slice.as_ptr(), out.add(filled), slice.len());
            filled += slice.len();
        });
        debug_assert_eq!(filled, len);
        Ok(bytes)
    }
}
