//! # adit-core
//!
//! The library every ADIT-RS frontend consumes. It holds no network code: protocol crates
//! (`adit-dimse`, `adit-dicomweb`) implement its traits, and the server and Python module are
//! thin layers on top.
//!
//! ## Module map
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | Query levels, typed [`model::Query`] (keys by keyword, ranges, wildcards, lists), [`model::QueryResult`], client-side [`model::matches`], node descriptions ([`model::Node`]) and ADIT's method preference |
//! | [`instance`] | [`instance::Instance`], the unit flowing through the engine, decoded lazily so a passthrough never re-encodes |
//! | [`source`] | The [`source::Source`] trait (find and retrieve as streams), [`source::Selection`], [`source::Retrieved`] |
//! | [`sink`] | The [`sink::Sink`] trait (concurrent stores, finish) and [`sink::StoreOutcome`] |
//! | [`transform`] | The [`transform::Transform`] trait and two transforms: [`transform::ExcludeModalities`], [`transform::SetTags`] (the pseudonymizer is a third) |
//! | [`engine`] | [`engine::transfer`]: source → transforms → sink with bounded memory, cancellation, progress and a per-instance [`engine::TransferReport`] |
//! | [`pseudonymize`] | [`pseudonymize::Pseudonymizer`]: PS3.15 Basic Profile (table as data) with options, keyed UIDs, date shifts and pseudonyms, ADIT's preset; [`pseudonymize::pseudonymize_tree`] for folders |
//! | [`folder`] | [`folder::FolderSource`], [`folder::FolderSink`] (ADIT's layout, atomic writes) and [`folder::ZipSink`] (AES-256) |
//! | [`batch`] | ADIT's batch-query and batch-transfer files (`.xlsx`, `.csv`): parsing with every problem located by line and column, study grouping, result export, sample files |
//! | [`queue`] | The [`queue::Queue`] trait (enqueue, claim, complete, fail, retry, cancel, abort) and its plain types: [`queue::JobSpec`], [`queue::Job`], [`queue::RetryPolicy`], [`queue::TaskError`] |
//! | [`error`] | The crate's [`Error`], with [`Error::is_retriable`] |
//!
//! ## Example: a pseudonymizing folder-to-folder transfer
//!
//! ```
//! use std::sync::Arc;
//!
//! use adit_core::engine::{transfer, TransferOptions, TransferStatus};
//! use adit_core::folder::{FolderLayout, FolderSink, FolderSource};
//! use adit_core::instance::Instance;
//! use adit_core::pseudonymize::{Pseudonymizer, PseudonymizerConfig, Secret};
//! use adit_core::source::Selection;
//! use adit_core::transform::Transform;
//! use dicom_core::{DataElement, VR};
//! use dicom_dictionary_std::{tags, uids};
//! use dicom_object::InMemDicomObject;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A source folder with one synthetic CT instance.
//! let input = tempfile::tempdir()?;
//! let output = tempfile::tempdir()?;
//! let ct = InMemDicomObject::from_element_iter([
//!     DataElement::new(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
//!     DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1001.1.1"),
//!     DataElement::new(tags::PATIENT_NAME, VR::PN, "DOE^JOHN"),
//!     DataElement::new(tags::PATIENT_ID, VR::LO, "SYN-1"),
//!     DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.1001"),
//!     DataElement::new(tags::STUDY_DATE, VR::DA, "20240102"),
//!     DataElement::new(tags::STUDY_TIME, VR::TM, "093000"),
//!     DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.1001.1"),
//!     DataElement::new(tags::SERIES_NUMBER, VR::IS, "1"),
//!     DataElement::new(tags::SERIES_DESCRIPTION, VR::LO, "Head"),
//!     DataElement::new(tags::MODALITY, VR::CS, "CT"),
//! ]);
//! let file = Instance::from_dataset_object(ct, uids::EXPLICIT_VR_LITTLE_ENDIAN)?.to_part10()?;
//! std::fs::write(input.path().join("ct.dcm"), file)?;
//!
//! // ADIT's preset: PatientID = PatientName = the pseudonym, keyed UIDs, study dates kept,
//! // other dates shifted, the trial protocol set.
//! let secret = Secret::new("project secret")?;
//! let pseudonymizer = Pseudonymizer::new(
//!     PseudonymizerConfig::adit(secret)
//!         .with_pseudonym("SUBJ-01")
//!         .with_trial(Some("TRIAL-1".into()), None),
//! )?;
//! let new_uid = pseudonymizer.map_uid("2.25.1001.1.1");
//! let transforms: Vec<Arc<dyn Transform>> = vec![Arc::new(pseudonymizer)];
//! let report = transfer(
//!     &FolderSource::new(input.path()),
//!     &Selection::study(Some("SYN-1"), "2.25.1001"),
//!     &transforms,
//!     &FolderSink::new(output.path(), FolderLayout::new().with_job_dir("adit_demo_1")),
//!     TransferOptions::default(),
//! )
//! .await?;
//!
//! assert_eq!(report.status(), TransferStatus::Success);
//! assert_eq!(report.counts.stored, 1);
//! let written = output
//!     .path()
//!     .join(format!("adit_demo_1/SUBJ-01/20240102-093000-CT/1-Head/{new_uid}.dcm"));
//! let mut copy = Instance::from_part10(std::fs::read(written)?)?;
//! let object = copy.object()?;
//! assert_eq!(object.get(tags::PATIENT_NAME).map(|e| e.to_str()).transpose()?.as_deref(), Some("SUBJ-01"));
//! assert_eq!(object.get(tags::CLINICAL_TRIAL_PROTOCOL_ID).map(|e| e.to_str()).transpose()?.as_deref(), Some("TRIAL-1"));
//! # Ok(())
//! # }
//! ```

pub mod batch;
pub mod engine;
pub mod error;
pub mod folder;
pub mod instance;
pub mod model;
pub mod pseudonymize;
pub mod queue;
pub mod sink;
pub mod source;
pub mod transform;

pub use error::{Error, Result};
