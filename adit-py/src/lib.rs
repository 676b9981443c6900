//! # adit-py
//!
//! Python bindings (PyO3, built with maturin): a drop-in replacement for the Python
//! `adit-client` plus direct access to the ADIT-RS engine. The native module is
//! `adit_rs._native`; the Python packages `adit_client` and `adit_rs` (in `python/`) wrap it
//! and build pydicom objects from the bytes it returns.
//!
//! | module | what it holds |
//! |---|---|
//! | `runtime` | the lazily created tokio runtime and the GIL-free, Ctrl-C aware wait |
//! | `errors` | the exception classes and the mapping from the crates' errors |
//! | `http` | `HttpSession`, the HTTP core of the drop-in `AditClient` |
//! | `part10` | the header walk of a Part-10 file: where its meta and top-level elements are |
//! | `raw` | Part-10 files as pydicom `RawDataElement` dicts, built without `dcmread` |
//! | `segments` | a received instance in the pieces it arrived in; `bytes` without zeroing |
//! | `buffer` | `PartBuffer`, the file behind a `FileDataset`, sharing its large values |
//! | `stream` | `PartStream`, a lazy iterator over instances |
//! | `pseudonym` | `Pseudonymizer`, the server's pseudonymizer for bytes, files and folders |
//! | `node` | `Node`: a DIMSE or DICOMweb peer used directly: echo, find, retrieve, store |
//! | `transfer` | `transfer`: source → pseudonymizer → folder or node, with progress |

mod buffer;
mod errors;
mod http;
mod node;
mod part10;
mod pseudonym;
mod raw;
mod runtime;
mod segments;
mod stream;
mod transfer;

use pyo3::prelude::*;

/// Rust's allocations (network buffers, engine state) come from mimalloc; Python's objects
/// keep CPython's allocator. With glibc's malloc, each ~400 KB receive buffer freed after
/// its part was copied went back to the kernel (its trim threshold), and the next one was
/// faulted in afresh: a quarter of a 512×512 study retrieve's page faults.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<http::HttpSession>()?;
    m.add_class::<stream::PartStream>()?;
    m.add_class::<buffer::PartBuffer>()?;
    m.add_class::<node::Node>()?;
    m.add_class::<pseudonym::Pseudonymizer>()?;
    m.add_function(wrap_pyfunction!(transfer::transfer, m)?)?;
    m.add_function(wrap_pyfunction!(raw::split_part10, m)?)?;
    m.add_function(wrap_pyfunction!(raw::split_pieces, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
