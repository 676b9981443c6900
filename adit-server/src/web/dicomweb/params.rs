//! Query-string rules of the facade.
//!
//! - QIDO: every parameter but `includefield` (repeatable) and `limit` must be a DICOM
//!   **keyword** (hex tags, `offset`, `fuzzymatching` are refused): 400 naming the key, where
//!   ADIT answers 500.
//! - WADO: `pseudonym`, `trial_protocol_id` and `trial_protocol_name`, each at most 64
//!   characters without backslash, control characters or wildcards (`*`, `?`): else 400.

use adit_core::instance::Instance;
use adit_core::model::{Attribute, Query, QueryLevel};
use adit_core::pseudonymize::{Pseudonymizer, PseudonymizerConfig, Secret};
use axum::http::StatusCode;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;

use crate::web::error::ApiError;

/// Checks a UID taken from the URL path (1 to 64 characters of digits and dots), so nothing
/// else reaches a PACS or an upstream URL; 400 naming `what` otherwise.
pub fn check_uid(what: &str, uid: &str) -> Result<(), ApiError> {
    let valid = !uid.is_empty()
        && uid.len() <= 64
        && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !uid.starts_with('.')
        && !uid.ends_with('.')
        && !uid.contains("..");
    if valid {
        Ok(())
    } else {
        Err(bad_request(format!(
            "Invalid {what} `{uid}`: not a DICOM UID."
        )))
    }
}

/// Longest accepted pseudonym or trial value (PatientID is LO: 64 characters).
pub const MAX_VALUE_LEN: usize = 64;

fn bad_request(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, detail)
}

/// Builds the query at `level` from the request's parameters, with `fixed` keys (the UIDs from
/// the path) set after them.
pub fn qido_query(
    level: QueryLevel,
    params: &[(String, String)],
    fixed: &[(&str, &str)],
) -> Result<Query, ApiError> {
    for (key, _) in params {
        if key == "includefield" || key == "limit" {
            continue;
        }
        match Attribute::parse(key) {
            Ok(attribute) if attribute.keyword() == key => {}
            _ => {
                return Err(bad_request(format!(
                    "Invalid query parameter `{key}`: not a DICOM keyword."
                )));
            }
        }
    }
    let mut query = Query::from_params(level, params.iter().map(|(k, v)| (k, v)))
        .map_err(|e| bad_request(format!("Invalid query: {e}.")))?;
    for (key, value) in fixed {
        check_uid(key, value)?;
        query
            .set(key, value)
            .map_err(|e| bad_request(format!("Invalid {key}: {e}.")))?;
    }
    Ok(query)
}

/// The pseudonymization a WADO request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pseudonymization {
    /// `pseudonym`: PatientID and PatientName become it, and the ADIT preset is applied.
    pub pseudonym: Option<String>,
    /// `trial_protocol_id`: ClinicalTrialProtocolID.
    pub trial_id: Option<String>,
    /// `trial_protocol_name`: ClinicalTrialProtocolName.
    pub trial_name: Option<String>,
}

impl Pseudonymization {
    /// Reads and validates the three parameters (empty values count as absent; others are
    /// ignored, as in ADIT).
    pub fn from_params(params: &[(String, String)]) -> Result<Self, ApiError> {
        let mut out = Self::default();
        for (key, value) in params {
            let slot = match key.as_str() {
                "pseudonym" => &mut out.pseudonym,
                "trial_protocol_id" => &mut out.trial_id,
                "trial_protocol_name" => &mut out.trial_name,
                _ => continue,
            };
            if value.is_empty() {
                continue;
            }
            if let Some(reason) = invalid_reason(value) {
                return Err(bad_request(format!("Invalid {key}: {reason}.")));
            }
            *slot = Some(value.clone());
        }
        Ok(out)
    }

    /// Whether nothing is to be changed.
    pub fn is_none(&self) -> bool {
        self.pseudonym.is_none() && self.trial_id.is_none() && self.trial_name.is_none()
    }

    /// What applies this to instances, with the server's `secret`.
    pub fn transform(&self, secret: Option<&str>) -> Result<Transform, ApiError> {
        let Some(pseudonym) = &self.pseudonym else {
            return Ok(Transform::Trial {
                id: self.trial_id.clone(),
                name: self.trial_name.clone(),
            });
        };
        let secret = secret.ok_or_else(|| {
            ApiError::internal(&"no pseudonymization secret (ADIT_SECRET_KEY) is configured")
        })?;
        let secret = Secret::new(secret).map_err(|e| ApiError::internal(&e))?;
        let config = PseudonymizerConfig::adit(secret)
            .with_pseudonym(pseudonym.clone())
            .with_trial(self.trial_id.clone(), self.trial_name.clone());
        let pseudonymizer = Pseudonymizer::new(config).map_err(|e| bad_request(e.to_string()))?;
        Ok(Transform::Pseudonymize(Box::new(pseudonymizer)))
    }
}

/// What is done to each retrieved instance.
#[derive(Debug)]
pub enum Transform {
    /// Only the trial tags that were given are set (ADIT: no pseudonym, no pseudonymization).
    Trial {
        /// ClinicalTrialProtocolID.
        id: Option<String>,
        /// ClinicalTrialProtocolName.
        name: Option<String>,
    },
    /// Pseudonymized with the ADIT preset (also sets the trial tags).
    Pseudonymize(Box<Pseudonymizer>),
}

impl Transform {
    /// Whether [`Transform::apply`] leaves every instance as it is (no pseudonym, no trial
    /// tags): then instances pass through without decoding or a blocking-thread round trip.
    pub fn is_noop(&self) -> bool {
        matches!(
            self,
            Self::Trial {
                id: None,
                name: None
            }
        )
    }

    /// Applies this to `instance` in place.
    pub fn apply(&self, instance: &mut Instance) -> adit_core::Result<()> {
        match self {
            Self::Pseudonymize(p) => p.pseudonymize(instance),
            Self::Trial {
                id: None,
                name: None,
            } => Ok(()),
            Self::Trial { id, name } => {
                let mut object = instance.object_mut()?;
                if let Some(id) = id {
                    object.put(DataElement::new(
                        tags::CLINICAL_TRIAL_PROTOCOL_ID,
                        VR::LO,
                        id.as_str(),
                    ));
                }
                if let Some(name) = name {
                    object.put(DataElement::new(
                        tags::CLINICAL_TRIAL_PROTOCOL_NAME,
                        VR::LO,
                        name.as_str(),
                    ));
                }
                Ok(())
            }
        }
    }
}

fn invalid_reason(value: &str) -> Option<&'static str> {
    if value.chars().count() > MAX_VALUE_LEN {
        Some("longer than 64 characters")
    } else if value.contains('\\') {
        Some("contains a backslash")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character")
    } else if value.contains(['*', '?']) {
        Some("contains a wildcard")
    } else if value.trim().is_empty() {
        Some("is blank")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn qido_keys_must_be_keywords() {
        let q = qido_query(
            QueryLevel::Study,
            &p(&[
                ("PatientID", "1001"),
                ("includefield", "StudyDescription"),
                ("includefield", "ModalitiesInStudy"),
                ("limit", "5"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(q.limit(), Some(5));
        assert!(q.get("StudyDescription").is_some());
        for bad in ["00100020", "offset", "fuzzymatching", "patientid", "Foo"] {
            let e = qido_query(QueryLevel::Study, &p(&[(bad, "1")]), &[]).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.detail.contains(bad), "{}", e.detail);
        }
        let e = qido_query(QueryLevel::Study, &p(&[("limit", "x")]), &[]).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn uids_from_the_path() {
        assert!(check_uid("StudyInstanceUID", "1.2.840.10008.1").is_ok());
        for bad in ["", "1..2", ".1", "1.", "1.2a", "../x", &"1".repeat(65)] {
            let e = check_uid("StudyInstanceUID", bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn pseudonym_rules() {
        let ok = Pseudonymization::from_params(&p(&[
            ("pseudonym", "SUBJ-01"),
            ("trial_protocol_id", "T1"),
            ("other", "x"),
        ]))
        .unwrap();
        assert_eq!(ok.pseudonym.as_deref(), Some("SUBJ-01"));
        assert_eq!(ok.trial_id.as_deref(), Some("T1"));
        assert!(
            Pseudonymization::from_params(&p(&[("pseudonym", "")]))
                .unwrap()
                .is_none()
        );
        let long = "x".repeat(65);
        for bad in [long.as_str(), "A\\B", "A*", "A?", "A\nB", "  "] {
            for key in ["pseudonym", "trial_protocol_id", "trial_protocol_name"] {
                let e = Pseudonymization::from_params(&p(&[(key, bad)])).unwrap_err();
                assert_eq!(e.status, StatusCode::BAD_REQUEST, "{key}={bad:?}");
                assert!(e.detail.contains(key));
            }
        }
    }
}
