//! The pseudonymizer: DICOM PS3.15 Annex E de-identification with keyed, reproducible
//! pseudonyms, UIDs and date shifts, plus ADIT's preset.
//!
//! | module / item | job |
//! |---|---|
//! | [`Pseudonymizer`] | applies a [`PseudonymizerConfig`] to an [`Instance`] or a data set; also a [`Transform`] for [`crate::engine::transfer`] |
//! | [`PseudonymizerConfig`], [`Profile`], [`ProfileOptions`], [`DateHandling`], [`Secret`] | what is done |
//! | [`table`] | PS3.15 Table E.1-1 as data: one [`table::Entry`] per attribute with its Basic Profile action and option overrides |
//! | [`Rule`] | what one attribute gets once profile and options are applied |
//! | [`derive_pseudonym`] | the pseudonym for a patient when none is given |
//! | [`pseudonymize_tree`] | files or folders to a folder, in parallel on all cores (`adit pseudonymize`) |
//!
//! Internals, one job per file: `keyed` (HMAC-SHA256 derivations), `dates` (day shifts),
//! `clean` (identifying words out of text), `rules` (row + options → rule), `apply` (the
//! recursive walk), `marks` (de-identification marks), `split` (find Pixel Data in the bytes
//! so it is copied, never decoded), `token` (the same rules applied to the encoded head
//! element by element, with the object path as the fallback).
//!
//! # What is done to an instance
//!
//! 1. Every attribute named by Table E.1-1 gets its action (see [`Rule`]), recursively inside
//!    sequences; private attributes (odd groups), curves and overlays are removed; attributes
//!    the table does not name are kept.
//! 2. UIDs become `2.25.<decimal of the first 16 bytes of HMAC-SHA256(secret, uid)>`, so the
//!    same UID maps the same way in every instance, study, job and machine with the same
//!    secret, and references (ReferencedSOPInstanceUID in sequences) keep resolving. The file
//!    meta's MediaStorageSOPInstanceUID follows the SOP Instance UID.
//! 3. Shifted dates move by a whole number of days in `-365..=365` (never 0) derived from the
//!    secret and the original PatientID: the same for all of a patient's instances.
//! 4. PatientID and PatientName become the pseudonym (given, or [`derive_pseudonym`]);
//!    ClinicalTrialProtocolID/Name are set when given; [`Profile::Adit`] adds ADIT's
//!    PatientComments line.
//! 5. PatientIdentityRemoved, DeidentificationMethod(CodeSequence) and
//!    LongitudinalTemporalInformationModified record what was done.
//!
//! Pixel data is never changed: burned-in text is not removed (no Clean Pixel Data option).
//!
//! ```
//! use adit_core::pseudonymize::{Pseudonymizer, PseudonymizerConfig, Secret};
//! use dicom_core::{DataElement, VR};
//! use dicom_dictionary_std::tags;
//! use dicom_object::InMemDicomObject;
//!
//! let secret = Secret::new("project secret")?;
//! let pseudonymizer = Pseudonymizer::new(PseudonymizerConfig::basic(secret).with_pseudonym("SUBJ-01"))?;
//! let mut data = InMemDicomObject::from_element_iter([
//!     DataElement::new(tags::PATIENT_NAME, VR::PN, "DOE^JOHN"),
//!     DataElement::new(tags::PATIENT_ID, VR::LO, "12345"),
//!     DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3.4"),
//! ]);
//! pseudonymizer.pseudonymize_data_set(&mut data);
//! assert_eq!(data.get(tags::PATIENT_NAME).unwrap().to_str()?, "SUBJ-01");
//! assert_eq!(data.get(tags::STUDY_INSTANCE_UID).unwrap().to_str()?, pseudonymizer.map_uid("1.2.3.4"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod clean;
mod config;
mod dates;
mod keyed;
mod marks;
mod rules;
mod split;
pub mod table;
mod table_e1_1;
mod token;
mod tree;
mod tree_fs;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::{Codec, TransferSyntaxIndex, transfer_syntax::Endianness};
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

pub use clean::REDACTED;
pub use config::{DateHandling, Profile, ProfileOptions, PseudonymizerConfig, Secret};
pub use keyed::{MAX_SHIFT_DAYS, PSEUDONYM_LEN, derive_pseudonym};
pub use marks::{MethodCode, method_codes};
pub use rules::{ADIT_KEPT_DATES, Rule};
pub use tree::{FileOutcome, TreeLayout, TreeOptions, TreeReport, pseudonymize_tree};

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::model::element_string;
use crate::transform::{Transform, TransformOutcome};

/// Applies a [`PseudonymizerConfig`]. Cheap to share (`Arc`) across threads.
#[derive(Clone)]
pub struct Pseudonymizer {
    config: PseudonymizerConfig,
    keyed: keyed::Keyed,
    rules: rules::Rules,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    /// A pseudonymizer for `config`, after checking it ([`PseudonymizerConfig::validate`]).
    pub fn new(config: PseudonymizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            keyed: keyed::Keyed::new(&config.secret),
            rules: rules::Rules::new(config.profile, config.options),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PseudonymizerConfig {
        &self.config
    }

    /// The pseudonym for a patient: the configured one, else derived from the secret.
    pub fn pseudonym_for(&self, patient_id: &str) -> String {
        self.config
            .pseudonym
            .clone()
            .unwrap_or_else(|| self.keyed.pseudonym(patient_id))
    }

    /// The keyed mapping of a UID (what every UID the profile replaces becomes).
    pub fn map_uid(&self, uid: &str) -> String {
        self.keyed.uid(uid)
    }

    /// The number of days a patient's dates move by with [`DateHandling::Shift`].
    pub fn date_shift_days(&self, patient_id: &str) -> i64 {
        self.keyed.date_shift_days(patient_id)
    }

    /// The rule for an attribute under this configuration.
    pub fn rule_for(&self, tag: dicom_core::Tag) -> Rule {
        self.rules.for_tag(tag)
    }

    /// Pseudonymizes a data set in place (no file meta involved).
    pub fn pseudonymize_data_set(&self, object: &mut InMemDicomObject) {
        let patient_id = element_string(object, tags::PATIENT_ID).unwrap_or_default();
        let pseudonym = self.pseudonym_for(&patient_id);
        let study_date = element_string(object, tags::STUDY_DATE).unwrap_or_default();
        let study_time = element_string(object, tags::STUDY_TIME).unwrap_or_default();
        let identifiers = clean::Identifiers::collect(object);
        let walk = apply::Walk {
            rules: &self.rules,
            keyed: &self.keyed,
            shift_days: self.keyed.date_shift_days(&patient_id),
            identifiers: &identifiers,
        };
        let original = std::mem::replace(object, InMemDicomObject::new_empty());
        *object = walk.data_set(original);

        let mut texts = vec![pseudonym.clone()];
        let mut put = |tag, vr, value: String| {
            object.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        };
        put(tags::PATIENT_ID, VR::LO, pseudonym.clone());
        put(tags::PATIENT_NAME, VR::PN, pseudonym.clone());
        if let Some(id) = &self.config.trial_id {
            put(tags::CLINICAL_TRIAL_PROTOCOL_ID, VR::LO, id.clone());
            texts.push(id.clone());
        }
        if let Some(name) = &self.config.trial_name {
            put(tags::CLINICAL_TRIAL_PROTOCOL_NAME, VR::LO, name.clone());
            texts.push(name.clone());
        }
        if let (Profile::Adit, Some(trial_id)) = (self.config.profile, &self.config.trial_id) {
            // ADIT's line for XNAT (PR #14), from the original study date and time.
            put(
                tags::PATIENT_COMMENTS,
                VR::LT,
                format!(
                    "Project:{trial_id} Subject:{pseudonym} Session:{pseudonym}_{study_date}-{study_time}"
                ),
            );
        }
        marks::add_marks(object, self.config.profile, &self.config.options);
        if texts.iter().any(|t| !t.is_ascii()) {
            // Non-ASCII text needs a character set that can hold it.
            object.convert_to_utf8();
        }
    }

    /// Pseudonymizes an instance in place.
    ///
    /// An instance still in its received bytes takes the fast path when its data set is Little
    /// Endian (every transfer syntax but Deflate and Big Endian): only the elements before
    /// Pixel Data are decoded and re-encoded, the pixel bytes are copied as they are. Otherwise
    /// the whole object is decoded. Either way the identity (SOP Instance UID, file meta)
    /// follows the new UIDs.
    pub fn pseudonymize(&self, instance: &mut Instance) -> Result<()> {
        self.pseudonymize_returning_header(instance).map(drop)
    }

    /// [`Pseudonymizer::pseudonymize`], also returning the pseudonymized elements before
    /// Pixel Data that folder names are made of, when the fast path has them anyway (saves
    /// parsing them again).
    pub(crate) fn pseudonymize_returning_header(
        &self,
        instance: &mut Instance,
    ) -> Result<Option<InMemDicomObject>> {
        if !instance.is_decoded()
            && let Some(head) = self.pseudonymize_bytes(instance)?
        {
            return Ok(Some(head));
        }
        let mut object = instance.object_mut()?;
        self.pseudonymize_data_set(&mut object);
        Ok(None)
    }

    /// The fast path; `Ok(None)` if it does not apply to this instance.
    fn pseudonymize_bytes(&self, instance: &mut Instance) -> Result<Option<InMemDicomObject>> {
        let bytes = instance.dataset_bytes()?;
        let Some(fast) = self.pseudonymize_split(
            &bytes,
            bytes.len(),
            instance.sop_class_uid(),
            instance.sop_instance_uid(),
            instance.transfer_syntax(),
        )?
        else {
            return Ok(None);
        };
        let tail_len: usize = fast.tail.iter().map(|r| r.len()).sum();
        let mut out = Vec::with_capacity(fast.head_bytes.len() + tail_len);
        out.extend_from_slice(&fast.head_bytes);
        for range in fast.tail {
            out.extend_from_slice(&bytes[range]);
        }
        let ts_uid = instance.transfer_syntax().to_owned();
        *instance = Instance::from_dataset(out, &fast.sop_class, &fast.sop_instance, &ts_uid);
        Ok(Some(fast.head))
    }

    /// The fast path on data set bytes (no meta): pseudonymizes and re-encodes the elements
    /// before Pixel Data, and says which byte ranges of the data set follow them unchanged.
    /// `dataset` may be the first bytes of a data set of `dataset_len` bytes. `Ok(None)` if
    /// the transfer syntax or the bytes at hand do not allow it.
    ///
    /// Explicit VR Little Endian heads go through the token pass (`token`), which writes the
    /// output from the input bytes; anything it does not handle is decoded into an object,
    /// pseudonymized and encoded again, with the same result.
    pub(crate) fn pseudonymize_split(
        &self,
        dataset: &[u8],
        dataset_len: usize,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        ts_uid: &str,
    ) -> Result<Option<SplitOutput>> {
        self.pseudonymize_split_via(
            dataset,
            dataset_len,
            (sop_class_uid, sop_instance_uid, ts_uid),
            true,
        )
    }

    /// [`Pseudonymizer::pseudonymize_split`], with the token pass or without it (tests
    /// compare the two).
    fn pseudonymize_split_via(
        &self,
        dataset: &[u8],
        dataset_len: usize,
        (sop_class_uid, sop_instance_uid, ts_uid): (&str, &str, &str),
        tokens: bool,
    ) -> Result<Option<SplitOutput>> {
        let Some(ts) = TransferSyntaxRegistry.get(ts_uid) else {
            return Ok(None);
        };
        if ts.endianness() != Endianness::Little || matches!(ts.codec(), Codec::Dataset(_)) {
            return Ok(None);
        }
        let explicit_vr = ts_uid != uids::IMPLICIT_VR_LITTLE_ENDIAN;
        let Some(split) = split::split_prefix(dataset, dataset_len, explicit_vr)
            .filter(|split| split.head_end <= dataset.len())
        else {
            return Ok(None);
        };
        let fallback_instance_uid = || match self.rules.for_tag(tags::SOP_INSTANCE_UID) {
            Rule::Keep => sop_instance_uid.to_owned(),
            _ => self.keyed.uid(sop_instance_uid),
        };
        if tokens
            && explicit_vr
            && let Some(out) = token::rewrite(self, &dataset[..split.head_end])
        {
            return Ok(Some(SplitOutput {
                head: out.header,
                head_bytes: out.bytes,
                tail: split.tail,
                sop_class: out.sop_class.unwrap_or_else(|| sop_class_uid.to_owned()),
                sop_instance: out.sop_instance.unwrap_or_else(fallback_instance_uid),
            }));
        }
        let what = || format!("instance {sop_instance_uid}");
        let mut head = InMemDicomObject::read_dataset_with_ts(&dataset[..split.head_end], ts)
            .map_err(|e| Error::invalid_dicom(what(), e))?;
        self.pseudonymize_data_set(&mut head);
        let mut head_bytes = Vec::with_capacity(split.head_end + 1024);
        head.write_dataset_with_ts(&mut head_bytes, ts)
            .map_err(|e| Error::invalid_dicom(what(), e))?;
        let sop_class =
            element_string(&head, tags::SOP_CLASS_UID).unwrap_or_else(|| sop_class_uid.to_owned());
        let sop_instance =
            element_string(&head, tags::SOP_INSTANCE_UID).unwrap_or_else(fallback_instance_uid);
        Ok(Some(SplitOutput {
            head,
            head_bytes,
            tail: split.tail,
            sop_class,
            sop_instance,
        }))
    }
}

/// What the fast path produced: the new head and the input ranges to append after it.
pub(crate) struct SplitOutput {
    /// The pseudonymized elements before Pixel Data; from the token pass, only those folder
    /// names are made of (see [`crate::folder::FolderLayout`]).
    pub(crate) head: InMemDicomObject,
    /// `head`, encoded in the input's transfer syntax.
    pub(crate) head_bytes: Vec<u8>,
    /// Byte ranges of the input data set to copy after `head_bytes`.
    pub(crate) tail: Vec<std::ops::Range<usize>>,
    /// SOP Class UID of the result.
    pub(crate) sop_class: String,
    /// SOP Instance UID of the result.
    pub(crate) sop_instance: String,
}

impl Transform for Pseudonymizer {
    fn name(&self) -> &str {
        "pseudonymize"
    }

    fn apply(&self, mut instance: Instance) -> Result<TransformOutcome> {
        self.pseudonymize(&mut instance)?;
        Ok(TransformOutcome::Keep(instance))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod token_tests;
#[cfg(test)]
mod tree_fs_tests;
