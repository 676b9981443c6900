//! [`Transform`]: changes or drops instances on their way from source to sink.
//!
//! Transforms are synchronous CPU work; the engine runs them on the blocking thread pool, so
//! several instances are transformed on different cores at once.

use std::collections::BTreeSet;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::model::{Attribute, element_string};

/// A step that changes or drops instances in flight.
pub trait Transform: Send + Sync {
    /// A name for reports ("dropped by exclude-modalities").
    fn name(&self) -> &str;

    /// Changes the instance and keeps it, or drops it with a reason.
    ///
    /// An `Err` fails this instance only; the transfer goes on with the next one.
    fn apply(&self, instance: Instance) -> Result<TransformOutcome>;
}

/// What a transform did with an instance.
#[derive(Debug)]
pub enum TransformOutcome {
    /// Pass the (possibly changed) instance on.
    Keep(Instance),
    /// Leave the instance out; the reason goes into the report.
    Drop {
        /// Why it was left out.
        reason: String,
    },
}

/// Drops instances whose Modality is in a set (ADIT's `EXCLUDE_MODALITIES`, typically
/// `PR,SR` when pseudonymizing).
#[derive(Debug, Clone)]
pub struct ExcludeModalities {
    modalities: BTreeSet<String>,
}

impl ExcludeModalities {
    /// Excludes the given modalities (compared without regard to case).
    pub fn new<I, S>(modalities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            modalities: modalities
                .into_iter()
                .map(|m| m.as_ref().trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty())
                .collect(),
        }
    }

    /// The excluded modalities, upper case and sorted.
    pub fn modalities(&self) -> impl Iterator<Item = &str> + '_ {
        self.modalities.iter().map(String::as_str)
    }

    /// Whether a modality is excluded.
    pub fn excludes(&self, modality: &str) -> bool {
        self.modalities
            .contains(&modality.trim().to_ascii_uppercase())
    }
}

impl Transform for ExcludeModalities {
    fn name(&self) -> &str {
        "exclude-modalities"
    }

    fn apply(&self, instance: Instance) -> Result<TransformOutcome> {
        let header = instance.header()?;
        match element_string(&header, tags::MODALITY) {
            Some(modality) if self.excludes(&modality) => Ok(TransformOutcome::Drop {
                reason: format!("modality {modality} is excluded"),
            }),
            _ => Ok(TransformOutcome::Keep(instance)),
        }
    }
}

/// Sets attributes to fixed values, e.g. ClinicalTrialProtocolID and ClinicalTrialProtocolName.
#[derive(Debug, Clone, Default)]
pub struct SetTags {
    values: Vec<(Attribute, String)>,
}

impl SetTags {
    /// No attributes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// ADIT's trial tags: ClinicalTrialProtocolID and ClinicalTrialProtocolName, each when given.
    pub fn trial_protocol(id: Option<&str>, name: Option<&str>) -> Result<Self> {
        let mut set = Self::new();
        if let Some(id) = id {
            set = set.set("ClinicalTrialProtocolID", id)?;
        }
        if let Some(name) = name {
            set = set.set("ClinicalTrialProtocolName", name)?;
        }
        Ok(set)
    }

    /// Adds an attribute by keyword (or tag) with a string value.
    ///
    /// Only string VRs can be set this way; the value may not contain a backslash or control
    /// characters.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let attribute = Attribute::parse(key).map_err(|_| {
            Error::invalid_config(key, "not an attribute of the standard data dictionary")
        })?;
        let string_vr = matches!(
            attribute.vr(),
            VR::AE
                | VR::AS
                | VR::CS
                | VR::DA
                | VR::DS
                | VR::DT
                | VR::IS
                | VR::LO
                | VR::LT
                | VR::PN
                | VR::SH
                | VR::ST
                | VR::TM
                | VR::UC
                | VR::UI
                | VR::UR
                | VR::UT
        );
        if !string_vr {
            return Err(Error::invalid_config(
                key,
                format!("{:?} attributes cannot be set from text", attribute.vr()),
            ));
        }
        if value.contains('\\') || value.chars().any(char::is_control) {
            return Err(Error::invalid_config(
                key,
                "value contains a backslash or a control character",
            ));
        }
        self.values.retain(|(a, _)| *a != attribute);
        self.values.push((attribute, value.to_owned()));
        Ok(self)
    }

    /// Whether nothing would be set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl Transform for SetTags {
    fn name(&self) -> &str {
        "set-tags"
    }

    fn apply(&self, mut instance: Instance) -> Result<TransformOutcome> {
        if self.values.is_empty() {
            return Ok(TransformOutcome::Keep(instance));
        }
        {
            let mut object = instance.object_mut()?;
            if self.values.iter().any(|(_, v)| !v.is_ascii()) {
                // Non-ASCII text needs a character set that can hold it.
                object.convert_to_utf8();
            }
            for (attribute, value) in &self.values {
                object.put(DataElement::new(
                    attribute.tag(),
                    attribute.vr(),
                    PrimitiveValue::from(value.as_str()),
                ));
            }
        }
        Ok(TransformOutcome::Keep(instance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::uids;
    use dicom_object::InMemDicomObject;

    fn instance(modality: &str) -> Instance {
        let obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3"),
            DataElement::new(tags::MODALITY, VR::CS, modality),
        ]);
        let encoded = Instance::from_dataset_object(obj, uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .unwrap()
            .to_part10()
            .unwrap();
        Instance::from_part10(encoded).unwrap()
    }

    #[test]
    fn exclude_modalities_drops_listed_modalities_only() {
        let exclude = ExcludeModalities::new(["pr", " SR ", ""]);
        assert_eq!(exclude.modalities().collect::<Vec<_>>(), ["PR", "SR"]);
        match exclude.apply(instance("SR")).unwrap() {
            TransformOutcome::Drop { reason } => assert!(reason.contains("SR"), "{reason}"),
            TransformOutcome::Keep(_) => panic!("SR must be dropped"),
        }
        match exclude.apply(instance("CT")).unwrap() {
            TransformOutcome::Keep(i) => assert!(!i.is_modified(), "kept untouched"),
            TransformOutcome::Drop { .. } => panic!("CT must be kept"),
        }
    }

    #[test]
    fn set_tags_writes_trial_tags() {
        let set = SetTags::trial_protocol(Some("TRIAL-1"), Some("Süd study")).unwrap();
        let TransformOutcome::Keep(mut kept) = set.apply(instance("CT")).unwrap() else {
            panic!("set-tags keeps every instance");
        };
        assert!(kept.is_modified());
        let object = kept.object().unwrap();
        assert_eq!(
            element_string(object, tags::CLINICAL_TRIAL_PROTOCOL_ID).as_deref(),
            Some("TRIAL-1")
        );
        assert_eq!(
            element_string(object, tags::SPECIFIC_CHARACTER_SET).as_deref(),
            Some("ISO_IR 192")
        );
        // Survives encoding.
        let reread = Instance::from_part10(kept.to_part10().unwrap()).unwrap();
        let object = reread.into_object().unwrap();
        assert_eq!(
            element_string(&object, tags::CLINICAL_TRIAL_PROTOCOL_NAME).as_deref(),
            Some("Süd study")
        );
    }

    #[test]
    fn set_tags_rejects_bad_keys_and_values() {
        assert!(SetTags::new().set("NoSuchKeyword", "x").is_err());
        assert!(SetTags::new().set("Rows", "1").is_err());
        assert!(SetTags::new().set("PatientComments", "a\\b").is_err());
        let twice = SetTags::new()
            .set("PatientComments", "a")
            .unwrap()
            .set("PatientComments", "b")
            .unwrap();
        assert_eq!(twice.values.len(), 1);
    }
}
