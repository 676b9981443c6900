//! What an Orthanc holds, as the end-to-end tests compare it.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use adit_testkit::Orthanc;

/// Instances at `orthanc` per PatientID.
pub fn instances_per_patient(orthanc: &Orthanc) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for patient in orthanc
        .get_json("/patients?expand")
        .unwrap()
        .as_array()
        .unwrap()
    {
        let id = patient["ID"].as_str().unwrap();
        let patient_id = patient["MainDicomTags"]["PatientID"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let instances = orthanc
            .get_json(&format!("/patients/{id}/instances"))
            .unwrap();
        *counts.entry(patient_id).or_insert(0) += instances.as_array().unwrap().len();
    }
    counts
}
