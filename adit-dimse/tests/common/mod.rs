//! Helpers shared by the integration tests: peers with a corpus loaded, queries, comparison.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use adit_core::instance::Instance;
use adit_core::model::{Query, QueryLevel};
use adit_dimse::{DimseOptions, PeerAddress};
use adit_testkit::corpus::{Corpus, CorpusSpec, WrittenCorpus};
use adit_testkit::{Dcmqrscp, DicomAddress, Orthanc};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;

mod hierarchy;
mod matching;

// Not every test file runs these checks.
#[allow(unused_imports)]
pub use hierarchy::assert_finds_hierarchy;
#[allow(unused_imports)]
pub use matching::{assert_finds_a_study_date_range, assert_wildcard_finds_the_latin1_name};

/// Our calling AE in tests.
pub const CALLING: &str = "ADIT-TEST";

/// Our address type for a testkit peer.
pub fn peer(address: &DicomAddress) -> PeerAddress {
    PeerAddress::new(&address.ae_title, &address.host, address.port)
}

/// Options with short timeouts for tests.
pub fn options() -> DimseOptions {
    DimseOptions {
        connect_timeout: Duration::from_secs(5),
        association_timeout: Duration::from_secs(10),
        dimse_timeout: Duration::from_secs(20),
        cancel_grace: Duration::from_secs(3),
        ..DimseOptions::with_calling_ae(CALLING)
    }
}

/// An Orthanc holding the corpus.
pub fn orthanc_with(corpus: &Corpus) -> Orthanc {
    let orthanc = Orthanc::start("ORTHANC").unwrap();
    orthanc.upload_corpus(corpus).unwrap();
    orthanc
}

/// A dcmqrscp holding the corpus (files written to `dir`, which must outlive the peer).
pub fn dcmqrscp_with(corpus: &Corpus, dir: &std::path::Path) -> (Dcmqrscp, WrittenCorpus) {
    let qr = Dcmqrscp::start("DCMQRSCP").unwrap();
    let written = corpus.write_to(dir).unwrap();
    qr.index_files(&written.files).unwrap();
    (qr, written)
}

/// A small corpus (64×64 images) for this seed.
pub fn corpus(seed: &str) -> Corpus {
    Corpus::new(CorpusSpec::new(seed).image_size(64, 64))
}

/// A query identifier with ADIT's return keys.
pub fn identifier(level: QueryLevel, keys: &[&str]) -> InMemDicomObject {
    Query::parse(level, keys.iter().copied())
        .unwrap()
        .with_default_return_keys()
        .to_identifier()
}

/// A minimal retrieve identifier: the level and the unique keys only.
pub fn retrieve_identifier(level: QueryLevel, keys: &[&str]) -> InMemDicomObject {
    Query::parse(level, keys.iter().copied())
        .unwrap()
        .to_identifier()
}

/// Runs a find and collects the results (panics on errors).
pub async fn find_all(
    peer: &PeerAddress,
    model: adit_core::model::QueryModel,
    identifier: &InMemDicomObject,
) -> Vec<InMemDicomObject> {
    let stream = adit_dimse::scu::find(peer, &options(), model, identifier, None)
        .await
        .unwrap();
    let results: Vec<_> = tokio::time::timeout(Duration::from_secs(30), stream.collect::<Vec<_>>())
        .await
        .expect("C-FIND finished in time");
    results.into_iter().map(|r| r.unwrap()).collect()
}

/// The trimmed string values of `tag` across results.
pub fn strings(results: &[InMemDicomObject], tag: Tag) -> BTreeSet<String> {
    results
        .iter()
        .filter_map(|r| r.get(tag))
        .map(|e| e.to_str().unwrap().trim_end_matches(['\0', ' ']).to_owned())
        .collect()
}

/// Compares a received instance with the generated one, element by element, naming the tags
/// that differ instead of printing whole objects.
pub fn assert_same_as_corpus(received: Instance, corpus: &Corpus) {
    let uid = received.sop_instance_uid().to_owned();
    let got = received.into_object().unwrap().into_inner();
    let study_uid = got
        .get(tags::STUDY_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .to_owned();
    let generated = corpus
        .study_instances(&study_uid)
        .find(|i| {
            i.object
                .element(tags::SOP_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0')
                == uid
        })
        .expect("instance is in the corpus");
    // Compare parsed with parsed: an object built in memory holds values in other forms.
    let bytes = generated.to_part10().unwrap();
    let expected = dicom_object::from_reader(&bytes[128..])
        .unwrap()
        .into_inner();
    let want: Vec<Tag> = expected.tags().collect();
    let have: Vec<Tag> = got.tags().collect();
    assert_eq!(want, have, "attributes of {uid}");
    let differing: Vec<Tag> = want
        .into_iter()
        .filter(|t| expected.get(*t).unwrap().value() != got.get(*t).unwrap().value())
        .collect();
    assert!(
        differing.is_empty(),
        "{uid}: values differ in {differing:?}"
    );
}
