//! What a [`super::Pseudonymizer`] does: profile, options, secret, pseudonym and trial tags.

use std::fmt;

use crate::error::{Error, Result};

/// The project secret that keys every derived value (UIDs, date shift, pseudonyms).
///
/// The same secret gives the same results on every machine and in every run; without it the
/// results cannot be reversed. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret from text (e.g. a command-line argument or a configuration value).
    ///
    /// Refuses an empty secret: it would make every "keyed" value guessable.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self> {
        let bytes = secret.as_ref();
        if bytes.is_empty() {
            return Err(Error::invalid_config("secret", "must not be empty"));
        }
        Ok(Self(bytes.to_vec()))
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which rule set is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile with the options in
    /// [`ProfileOptions`].
    #[default]
    Basic,
    /// ADIT's behaviour on top of the Basic Profile: study, series, acquisition and content
    /// dates and times are kept (other dates follow [`ProfileOptions::dates`]),
    /// PatientComments carries ADIT's XNAT line when a trial ID is given.
    Adit,
}

impl Profile {
    /// The name used on the command line and in reports (`basic`, `adit`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Adit => "adit",
        }
    }
}

/// What happens to dates and times (the Retain Longitudinal Temporal Information options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateHandling {
    /// Remove or blank them as the Basic Profile says (no option).
    #[default]
    Remove,
    /// Keep them unchanged (Retain Longitudinal Temporal Information with Full Dates).
    Keep,
    /// Move every date of a patient by the same number of days, derived from the secret and
    /// the patient (Retain Longitudinal Temporal Information with Modified Dates). Times stay.
    Shift,
}

/// The PS3.15 options that can be switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileOptions {
    /// Dates and times.
    pub dates: DateHandling,
    /// Keep sex, age, size, weight, ethnic group, smoking and pregnancy status (Retain
    /// Patient Characteristics).
    pub retain_patient_characteristics: bool,
    /// Keep station name, device serial numbers and the like (Retain Device Identity).
    pub retain_device_identity: bool,
    /// Keep institution names and addresses (Retain Institution Identity).
    pub retain_institution_identity: bool,
    /// Keep every UID unchanged (Retain UIDs).
    pub retain_uids: bool,
    /// Keep descriptions and comments, with known identifying values (names, IDs, birth date,
    /// accession number, institution) taken out (Clean Descriptors).
    pub clean_descriptors: bool,
}

impl ProfileOptions {
    /// The options of ADIT's preset: dates shifted (the study, series, acquisition and content
    /// dates are kept by [`Profile::Adit`] itself), patient characteristics kept, descriptors
    /// cleaned and kept.
    pub fn adit() -> Self {
        Self {
            dates: DateHandling::Shift,
            retain_patient_characteristics: true,
            clean_descriptors: true,
            ..Self::default()
        }
    }
}

/// Everything a [`super::Pseudonymizer`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PseudonymizerConfig {
    /// Keys UIDs, date shifts and derived pseudonyms.
    pub secret: Secret,
    /// PatientID and PatientName of every output instance; `None` derives one per patient
    /// from the secret and the original PatientID ([`super::derive_pseudonym`]).
    pub pseudonym: Option<String>,
    /// The rule set.
    pub profile: Profile,
    /// The PS3.15 options.
    pub options: ProfileOptions,
    /// ClinicalTrialProtocolID to set.
    pub trial_id: Option<String>,
    /// ClinicalTrialProtocolName to set.
    pub trial_name: Option<String>,
}

impl PseudonymizerConfig {
    /// The Basic Profile without options, a derived pseudonym and no trial tags.
    pub fn basic(secret: Secret) -> Self {
        Self {
            secret,
            pseudonym: None,
            profile: Profile::Basic,
            options: ProfileOptions::default(),
            trial_id: None,
            trial_name: None,
        }
    }

    /// ADIT's preset ([`Profile::Adit`] with [`ProfileOptions::adit`]).
    pub fn adit(secret: Secret) -> Self {
        Self {
            profile: Profile::Adit,
            options: ProfileOptions::adit(),
            ..Self::basic(secret)
        }
    }

    /// Sets a fixed pseudonym.
    pub fn with_pseudonym(mut self, pseudonym: impl Into<String>) -> Self {
        self.pseudonym = Some(pseudonym.into());
        self
    }

    /// Sets the options.
    pub fn with_options(mut self, options: ProfileOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the date handling.
    pub fn with_dates(mut self, dates: DateHandling) -> Self {
        self.options.dates = dates;
        self
    }

    /// Sets ClinicalTrialProtocolID and ClinicalTrialProtocolName (each when given).
    pub fn with_trial(mut self, id: Option<String>, name: Option<String>) -> Self {
        self.trial_id = id;
        self.trial_name = name;
        self
    }

    /// Checks values that end up in the data set: a pseudonym must fit PatientID (LO, 64
    /// characters) and neither it nor the trial values may contain `\` or control characters.
    pub fn validate(&self) -> Result<()> {
        let check = |field: &str, value: &Option<String>, max: usize| -> Result<()> {
            let Some(value) = value else { return Ok(()) };
            if value.trim().is_empty() {
                return Err(Error::invalid_config(field, "must not be blank"));
            }
            if value.chars().count() > max {
                return Err(Error::invalid_config(
                    field,
                    format!("longer than {max} characters"),
                ));
            }
            if value.contains('\\') || value.chars().any(char::is_control) {
                return Err(Error::invalid_config(
                    field,
                    "contains a backslash or a control character",
                ));
            }
            Ok(())
        };
        check("pseudonym", &self.pseudonym, 64)?;
        check("trial_id", &self.trial_id, 64)?;
        check("trial_name", &self.trial_name, 64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed() {
        let secret = Secret::new("hunter2").unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        let config = PseudonymizerConfig::basic(secret);
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(Secret::new("").is_err());
    }

    #[test]
    fn presets_and_validation() {
        let secret = Secret::new("s").unwrap();
        let adit = PseudonymizerConfig::adit(secret.clone());
        assert_eq!(adit.profile, Profile::Adit);
        assert_eq!(adit.options.dates, DateHandling::Shift);
        assert!(adit.options.clean_descriptors);
        let ok = PseudonymizerConfig::basic(secret.clone()).with_pseudonym("PSEUDO-1");
        assert!(ok.validate().is_ok());
        for bad in ["", " ", "a\\b", "line\nbreak", &"x".repeat(65)] {
            let config = PseudonymizerConfig::basic(secret.clone()).with_pseudonym(bad);
            assert!(config.validate().is_err(), "{bad:?} must be rejected");
        }
        let trial = PseudonymizerConfig::basic(secret).with_trial(Some("T\\1".into()), None);
        assert!(trial.validate().is_err());
    }
}
