//! Real DICOM peers (and a TLS terminator for HTTPS tests) for tests, started on free loopback ports with throw-away storage.

pub mod dcmqrscp;
pub mod orthanc;
pub mod storescp;
pub mod tls_proxy;

pub use dcmqrscp::{Dcmqrscp, DcmqrscpBuilder};
pub use orthanc::{Orthanc, OrthancBuilder, OrthancCounts};
pub use storescp::{StoreScp, StoreScpBuilder};
pub use tls_proxy::TlsProxy;
