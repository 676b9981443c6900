//! Test support for ADIT-RS.
