//! C-FIND matching checks that hold for every Q/R peer: a wildcard on a Latin-1 name and a
//! study date range.

use std::collections::BTreeSet;

use adit_core::model::{QueryLevel, QueryModel};
use adit_dimse::PeerAddress;
use adit_testkit::corpus::{Manifest, PatientEntry};
use dicom_dictionary_std::tags;

use super::{find_all, identifier, strings};

/// Matches the corpus' patient with a Latin-1 name by an ASCII wildcard (its first letter
/// and `*`, which works also where the peer compares bytes without converting character
/// sets), checks the name decodes among the answers, and returns that patient.
pub async fn assert_wildcard_finds_the_latin1_name<'m>(
    peer: &PeerAddress,
    manifest: &'m Manifest,
) -> &'m PatientEntry {
    let latin = manifest
        .patients
        .iter()
        .find(|p| !p.patient_name.is_ascii())
        .unwrap();
    let prefix: String = latin.patient_name.chars().take(1).collect();
    let results = find_all(
        peer,
        QueryModel::PatientRoot,
        &identifier(QueryLevel::Patient, &[&format!("PatientName={prefix}*")]),
    )
    .await;
    assert!(strings(&results, tags::PATIENT_NAME).contains(&latin.patient_name));
    latin
}

/// Checks that a StudyDate range over the middle of the corpus' study dates (all but the
/// earliest and the latest) finds exactly the studies in it.
pub async fn assert_finds_a_study_date_range(peer: &PeerAddress, manifest: &Manifest) {
    let mut dates: Vec<&str> = manifest
        .studies()
        .map(|(_, s)| s.study_date.as_str())
        .collect();
    dates.sort_unstable();
    let (from, to) = (dates[1], dates[dates.len() - 2]);
    let want: BTreeSet<String> = manifest
        .studies()
        .filter(|(_, s)| s.study_date.as_str() >= from && s.study_date.as_str() <= to)
        .map(|(_, s)| s.study_instance_uid.clone())
        .collect();
    let results = find_all(
        peer,
        QueryModel::StudyRoot,
        &identifier(QueryLevel::Study, &[&format!("StudyDate={from}-{to}")]),
    )
    .await;
    assert_eq!(strings(&results, tags::STUDY_INSTANCE_UID), want);
}
