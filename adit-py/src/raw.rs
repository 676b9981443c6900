//! `split_part10`: Part-10 files as pydicom `RawDataElement` dicts, so that `adit_rs._data`
//! builds each `FileDataset` without `dcmread`'s Python-level parsing loop.
//!
//! The header walk ([`crate::part10`]) runs with the GIL released; with the GIL, each element
//! becomes a `RawDataElement` (tag, VR, length, value bytes, value_tell, implicit VR, little
//! endian) exactly as pydicom's reader yields it, keyed by its `BaseTag`. pydicom converts
//! the values lazily on access, as for a file it read itself.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyBytes, PyDict, PyString, PyTuple, PyType};

use crate::part10::{Element, Layout, PREAMBLE, UNDEFINED, split};

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
    let layouts: Vec<Option<Layout>> = py.detach(|| parts.iter().map(|p| split(p)).collect());
    let mut builder = Builder {
        py,
        base_tag,
        raw_element,
        tuple_new: py.get_type::<PyTuple>().getattr("__new__")?,
        tail: tail.iter().collect(),
        none_as_empty_text,
        tags: HashMap::new(),
        vrs: HashMap::new(),
    };
    parts
        .iter()
        .zip(layouts)
        .map(|(part, layout)| layout.map(|layout| builder.file(part, &layout)).transpose())
        .collect()
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

impl<'py> Builder<'_, 'py> {
    fn file(&mut self, data: &[u8], layout: &Layout) -> PyResult<Bound<'py, PyTuple>> {
        let py = self.py;
        let preamble = PyBytes::new(py, &data[..PREAMBLE]);
        let meta = self.dict(data, &layout.meta, false, true)?;
        let elements = self.dict(data, &layout.elements, layout.implicit, layout.little)?;
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

    fn dict(
        &mut self,
        data: &[u8],
        elements: &[Element],
        implicit: bool,
        little: bool,
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
                PyBytes::new(py, &data[element.value.clone()]).into_any()
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
