//! DICOM nodes for the tests: a DIMSE node on a peer's address with the capabilities a test
//! wants the server to use.

use adit_core::model::{AeTitle, DimseCapabilities, DimseServer, Node};
use adit_testkit::DicomAddress;

/// A DIMSE node called `name` on `address`, offering `capabilities`.
pub fn dimse_node(name: &str, address: &DicomAddress, capabilities: DimseCapabilities) -> Node {
    let server = DimseServer::new(
        AeTitle::new(&address.ae_title).unwrap(),
        address.host.clone(),
        address.port.try_into().unwrap(),
    )
    .with_capabilities(capabilities);
    Node::dimse(name, server)
}

/// Study-root C-FIND and C-GET only, so transfers go by C-GET.
pub fn find_get() -> DimseCapabilities {
    DimseCapabilities {
        study_root_find: true,
        study_root_get: true,
        ..DimseCapabilities::default()
    }
}

/// [`find_get`] plus the patient-root models (batch queries by patient).
pub fn find_get_patient_root() -> DimseCapabilities {
    DimseCapabilities {
        patient_root_find: true,
        patient_root_get: true,
        ..find_get()
    }
}

/// Study-root C-FIND and C-MOVE only, so transfers go by C-MOVE to the receiver.
pub fn find_move() -> DimseCapabilities {
    DimseCapabilities {
        study_root_find: true,
        study_root_move: true,
        ..DimseCapabilities::default()
    }
}

/// C-STORE only: a destination.
pub fn store_only() -> DimseCapabilities {
    DimseCapabilities {
        store: true,
        ..DimseCapabilities::default()
    }
}
