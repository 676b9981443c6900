//! Part-10 files as pydicom `RawDataElement` dicts, so that `adit_rs._data` builds each
//! `FileDataset` without `dcmread`'s Python-level parsing loop: [`split_part10`] for files
//! given as `bytes`, [`split_received`] for instances as a `PartStream` received them (each
//! value copied once from the network buffers, the file kept as a [`PartBuffer`]).
//!
//! The header walk ([`crate::part10`]) runs with the GIL released; with the GIL, each element
//! becomes a `RawDataElement` (tag, VR, length, value bytes, value_tell, implicit VR, little
//! endian) exactly as pydicom's reader yields it, keyed by its `BaseTag`. pydicom converts
//! the values lazily on access, as for a file it read itself.

use std::collections::HashMap;
use std::ops::Range;

use bytes::Bytes;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyBytes, PyDict, PyString, PyTuple, PyType};

use crate::buffer::{PartBuffer, SHARED_VALUE};
use crate::part10::{Data, Element, Layout, PREAMBLE, UNDEFINED, split};
use crate::segments::{Segments, new_bytes};
use crate::stream::Received;

/// Text VRs whose empty raw value is `b""` (`valuerep.STR_VR` without DS and IS, which
/// pydicom treats as numbers), unless `config.use_none_as_empty_text_VR_value` is set.
const EMPTY_BYTES_VRS: [&[u8; 2]; 15] = [
    b"AE", b"AS", b"CS", b"DA", b"DT", b"LO", b"LT", b"PN", b"SH", b"ST", b"TM", b"UC", b"UI",
    b"UR", b"UT",
];

/// For each of `parts`, `None` if pydicom must read it itself, or
/// `(preamble, file_meta_dict, dataset_dict, is_implicit_VR, is_little_endian)`.
///
/// `base_tag` is pydicom's `BaseTag`, `raw_element` its `RawDataElement` and `tail` the values
/// of its fields after `is_little_endian` (their defaults); `none_as_empty_text` mirrors
/// `config.use_none_as_empty_text_VR_value`.
#[pyfunction]
pub(crate) fn split_part10<'py>(
    py: Python<'py>,
    parts: Vec<PyBackedBytes>,
    base_tag: &Bound<'py, PyAny>,
    raw_element: &Bound<'py, PyType>,
    tail: &Bound<'py, PyTuple>,
    none_as_empty_text: bool,
) -> PyResult<Vec<Option<Bound<'py, PyTuple>>>> {
    let layouts: Vec<Option<Layout>> =
        py.detach(|| parts.iter().map(|p| split::<[u8]>(p)).collect());
    let mut builder = Builder::new(py, base_tag, raw_element, tail, none_as_empty_text)?;
    parts
        .iter()
        .zip(layouts)
        .map(|(part, layout)| {
            layout
                .map(|layout| builder.file(&**part, &layout, None))
                .transpose()
        })
        .collect()
}

/// What a `PartStream` answers for one item that arrived as `pieces`: `(PartBuffer, split)`,
/// or `(bytes, None)` if pydicom must read it itself. For files that come in pieces from
/// elsewhere, and to check the walk over piece boundaries.
#[pyfunction]
pub(crate) fn split_pieces<'py>(
    py: Python<'py>,
    pieces: Vec<PyBackedBytes>,
    base_tag: &Bound<'py, PyAny>,
    raw_element: &Bound<'py, PyType>,
    tail: &Bound<'py, PyTuple>,
    none_as_empty_text: bool,
) -> PyResult<SplitItem<'py>> {
    let segments = Segments::from(
        pieces
            .iter()
            .map(|piece| Bytes::copy_from_slice(piece))
            .collect::<Vec<_>>(),
    );
    let layout = split(&segments);
    let mut builder = Builder::new(py, base_tag, raw_element, tail, none_as_empty_text)?;
    builder.item(Received { segments, layout })
}

/// One split item: `(PartBuffer, split)`, or `(bytes, None)` where pydicom reads the file.
pub(crate) type SplitItem<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyTuple>>);

/// Like [`split_part10`], for items as they arrived, with their layouts found on arrival:
/// for each, `(PartBuffer, split)`, or `(bytes, None)` if pydicom must read it itself.
pub(crate) fn split_received<'py>(
    py: Python<'py>,
    items: Vec<Received>,
    base_tag: &Bound<'py, PyAny>,
    raw_element: &Bound<'py, PyType>,
    tail: &Bound<'py, PyTuple>,
    none_as_empty_text: bool,
) -> PyResult<Vec<SplitItem<'py>>> {
    let mut builder = Builder::new(py, base_tag, raw_element, tail, none_as_empty_text)?;
    items.into_iter().map(|item| builder.item(item)).collect()
}

/// Turns layouts into Python objects, sharing the tag and VR objects between elements.
struct Builder<'a, 'py> {
    py: Python<'py>,
    base_tag: &'a Bound<'py, PyAny>,
    raw_element: &'a Bound<'py, PyType>,
    /// `tuple.__new__`: builds the named tuple without a Python-level `__new__` call.
    tuple_new: Bound<'py, PyAny>,
    tail: Vec<Bound<'py, PyAny>>,
    none_as_empty_text: bool,
    tags: HashMap<u32, Bound<'py, PyAny>>,
    vrs: HashMap<[u8; 2], Bound<'py, PyString>>,
}

impl<'a, 'py> Builder<'a, 'py> {
    fn new(
        py: Python<'py>,
        base_tag: &'a Bound<'py, PyAny>,
        raw_element: &'a Bound<'py, PyType>,
        tail: &Bound<'py, PyTuple>,
        none_as_empty_text: bool,
    ) -> PyResult<Self> {
        Ok(Self {
            py,
            base_tag,
            raw_element,
            tuple_new: py.get_type::<PyTuple>().getattr("__new__")?,
            tail: tail.iter().collect(),
            none_as_empty_text,
            tags: HashMap::new(),
            vrs: HashMap::new(),
        })
    }

    /// One received item: `(PartBuffer, split)`, or `(bytes, None)` without a layout.
    fn item(&mut self, item: Received) -> PyResult<SplitItem<'py>> {
        let py = self.py;
        let Some(layout) = &item.layout else {
            return Ok((item.segments.to_py(py)?.into_any(), None));
        };
        let mut shared = Vec::new();
        let split = self.file(&item.segments, layout, Some(&mut shared))?;
        let buffer = Bound::new(py, PartBuffer::new(&item.segments, shared))?;
        Ok((buffer.into_any(), Some(split)))
    }

    /// The split of one file; with `shared`, its values of at least [`SHARED_VALUE`] bytes
    /// are added there (in file order) as well.
    fn file<D: Data + ?Sized>(
        &mut self,
        data: &D,
        layout: &Layout,
        mut shared: Option<&mut Vec<(Range<usize>, Bound<'py, PyBytes>)>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = self.py;
        let preamble = new_bytes(py, data, 0..PREAMBLE)?;
        let meta = self.dict(data, &layout.meta, false, true, shared.as_deref_mut())?;
        let elements = self.dict(
            data,
            &layout.elements,
            layout.implicit,
            layout.little,
            shared,
        )?;
        PyTuple::new(
            py,
            [
                preamble.into_any(),
                meta.into_any(),
                elements.into_any(),
                PyBool::new(py, layout.implicit).to_owned().into_any(),
                PyBool::new(py, layout.little).to_owned().into_any(),
            ],
        )
    }

    fn dict<D: Data + ?Sized>(
        &mut self,
        data: &D,
        elements: &[Element],
        implicit: bool,
        little: bool,
        mut shared: Option<&mut Vec<(Range<usize>, Bound<'py, PyBytes>)>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let py = self.py;
        let dict = PyDict::new(py);
        let implicit = PyBool::new(py, implicit).to_owned().into_any();
        let little = PyBool::new(py, little).to_owned().into_any();
        for element in elements {
            let tag = self.tag(element.tag)?;
            let vr = match element.vr {
                Some(vr) => self.vr(vr).into_any(),
                None => py.None().into_bound(py),
            };
            let value = if element.value.is_empty() && element.length != UNDEFINED {
                self.empty_value(element.vr)
            } else {
                let value = new_bytes(py, data, element.value.clone())?;
                if let Some(shared) = shared.as_deref_mut()
                    && element.value.len() >= SHARED_VALUE
                {
                    shared.push((element.value.clone(), value.clone()));
                }
                value.into_any()
            };
            let head = [
                tag.clone(),
                vr,
                element.length.into_pyobject(py)?.into_any(),
                value,
                element.value.start.into_pyobject(py)?.into_any(),
                implicit.clone(),
                little.clone(),
            ];
            let fields = match self.tail.as_slice() {
                // pydicom 3: is_raw and is_buffered; no Vec per element.
                [a, b] => {
                    let [t, v, l, val, tell, i, e] = head;
                    PyTuple::new(py, [t, v, l, val, tell, i, e, a.clone(), b.clone()])?
                }
                tail => PyTuple::new(
                    py,
                    head.into_iter()
                        .chain(tail.iter().cloned())
                        .collect::<Vec<_>>(),
                )?,
            };
            let raw = self.tuple_new.call1((self.raw_element, fields))?;
            dict.set_item(tag, raw)?;
        }
        Ok(dict)
    }

    /// pydicom's `empty_value_for_VR(vr, raw=True)`.
    fn empty_value(&self, vr: Option<[u8; 2]>) -> Bound<'py, PyAny> {
        let py = self.py;
        let bytes = match vr {
            Some(vr) if &vr == b"SQ" => true,
            Some(vr) => !self.none_as_empty_text && EMPTY_BYTES_VRS.contains(&&vr),
            None => false,
        };
        if bytes {
            PyBytes::new(py, b"").into_any()
        } else {
            py.None().into_bound(py)
        }
    }

    fn tag(&mut self, tag: u32) -> PyResult<Bound<'py, PyAny>> {
        if let Some(tag) = self.tags.get(&tag) {
            return Ok(tag.clone());
        }
        let object = self.base_tag.call1((tag,))?;
        self.tags.insert(tag, object.clone());
        Ok(object)
    }

    fn vr(&mut self, vr: [u8; 2]) -> Bound<'py, PyString> {
        let py = self.py;
        self.vrs
            .entry(vr)
            .or_insert_with(|| PyString::intern(py, &String::from_utf8_lossy(&vr)))
            .clone()
    }
}
