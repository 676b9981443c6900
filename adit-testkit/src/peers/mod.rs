//! Real DICOM peers for tests, started on free loopback ports with throw-away storage.

pub mod dcmqrscp;
pub mod orthanc;
pub mod storescp;

pub use dcmqrscp::{Dcmqrscp, DcmqrscpBuilder};
pub use orthanc::{Orthanc, OrthancBuilder, OrthancCounts};
pub use storescp::{StoreScp, StoreScpBuilder};
