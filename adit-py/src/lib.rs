//! # adit-py
//!
//! Python bindings (PyO3, built with maturin): a drop-in replacement for the Python
//! `adit-client` plus direct access to the ADIT-RS engine.
