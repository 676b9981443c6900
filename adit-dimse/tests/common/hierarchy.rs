//! The same C-FIND walk down patient → study → series → image against any Q/R peer, so
//! every peer is held to one expectation.

use std::collections::BTreeSet;

use adit_core::model::{QueryLevel, QueryModel};
use adit_dimse::PeerAddress;
use adit_testkit::corpus::Manifest;
use dicom_dictionary_std::tags;

use super::{find_all, identifier, strings};

/// Checks that `peer`, loaded with the corpus of `manifest`, answers every level with exactly
/// the corpus' entries: all patients in patient root, then (in both models) the studies of the
/// patient owning study number `study`, that study's series, and the images of its series
/// number `series`.
pub async fn assert_finds_hierarchy(
    peer: &PeerAddress,
    manifest: &Manifest,
    study: usize,
    series: usize,
) {
    let (patient, study) = manifest.studies().nth(study).unwrap();
    let series = &study.series[series];

    let patients = find_all(
        peer,
        QueryModel::PatientRoot,
        &identifier(QueryLevel::Patient, &["PatientID=*"]),
    )
    .await;
    let want: BTreeSet<String> = manifest
        .patients
        .iter()
        .map(|p| p.patient_id.clone())
        .collect();
    assert_eq!(strings(&patients, tags::PATIENT_ID), want);

    for model in [QueryModel::StudyRoot, QueryModel::PatientRoot] {
        let pid = format!("PatientID={}", patient.patient_id);
        let studies = find_all(peer, model, &identifier(QueryLevel::Study, &[&pid])).await;
        let want: BTreeSet<String> = patient
            .studies
            .iter()
            .map(|s| s.study_instance_uid.clone())
            .collect();
        assert_eq!(
            strings(&studies, tags::STUDY_INSTANCE_UID),
            want,
            "{model:?}"
        );

        let suid = format!("StudyInstanceUID={}", study.study_instance_uid);
        let all_series =
            find_all(peer, model, &identifier(QueryLevel::Series, &[&pid, &suid])).await;
        let want: BTreeSet<String> = study
            .series
            .iter()
            .map(|s| s.series_instance_uid.clone())
            .collect();
        assert_eq!(
            strings(&all_series, tags::SERIES_INSTANCE_UID),
            want,
            "{model:?}"
        );

        let seuid = format!("SeriesInstanceUID={}", series.series_instance_uid);
        let images = find_all(
            peer,
            model,
            &identifier(QueryLevel::Image, &[&pid, &suid, &seuid]),
        )
        .await;
        let want: BTreeSet<String> = series.sop_instance_uids.iter().cloned().collect();
        assert_eq!(strings(&images, tags::SOP_INSTANCE_UID), want, "{model:?}");
    }
}
