//! `Pseudonymizer`: the server's pseudonymizer (ADIT's preset, PS3.15 Basic Profile) for
//! Part-10 bytes, single files and whole folders. The same secret gives the same pseudonyms,
//! UIDs and date shifts as `adit serve` and `adit pseudonymize`.

use std::path::PathBuf;

use adit_core::instance::Instance;
use adit_core::pseudonymize::{
    PseudonymizerConfig, Secret, TreeLayout, TreeOptions, pseudonymize_tree,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::{from_core, invalid};

/// Pseudonymizes instances with a project secret.
#[pyclass(module = "adit_rs._native", frozen)]
pub struct Pseudonymizer {
    inner: std::sync::Arc<adit_core::pseudonymize::Pseudonymizer>,
}

impl Pseudonymizer {
    /// The core pseudonymizer, for transfers.
    pub(crate) fn core(&self) -> std::sync::Arc<adit_core::pseudonymize::Pseudonymizer> {
        std::sync::Arc::clone(&self.inner)
    }
}

#[pymethods]
impl Pseudonymizer {
    /// A pseudonymizer with ADIT's preset (`profile="adit"`) or the plain Basic Profile
    /// (`profile="basic"`). Without `pseudonym`, each patient's pseudonym is derived from the
    /// secret and the PatientID.
    #[new]
    #[pyo3(signature = (secret, pseudonym=None, trial_protocol_id=None, trial_protocol_name=None, profile="adit"))]
    fn new(
        secret: &str,
        pseudonym: Option<String>,
        trial_protocol_id: Option<String>,
        trial_protocol_name: Option<String>,
        profile: &str,
    ) -> PyResult<Self> {
        let secret = Secret::new(secret).map_err(|e| from_core(&e))?;
        let mut config = match profile {
            "adit" => PseudonymizerConfig::adit(secret),
            "basic" => PseudonymizerConfig::basic(secret),
            other => {
                return Err(invalid(format!(
                    "profile `{other}` is neither `adit` nor `basic`"
                )));
            }
        };
        if let Some(pseudonym) = pseudonym {
            config = config.with_pseudonym(pseudonym);
        }
        config = config.with_trial(trial_protocol_id, trial_protocol_name);
        let inner =
            adit_core::pseudonymize::Pseudonymizer::new(config).map_err(|e| from_core(&e))?;
        Ok(Self {
            inner: std::sync::Arc::new(inner),
        })
    }

    /// The pseudonym a patient gets.
    fn pseudonym_for(&self, patient_id: &str) -> String {
        self.inner.pseudonym_for(patient_id)
    }

    /// The UID `uid` is replaced with.
    fn map_uid(&self, uid: &str) -> String {
        self.inner.map_uid(uid)
    }

    /// Pseudonymizes one Part-10 file in memory (GIL released).
    fn pseudonymize_bytes<'py>(
        &self,
        py: Python<'py>,
        data: Vec<u8>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let inner = std::sync::Arc::clone(&self.inner);
        let out = py.detach(move || {
            let mut instance = Instance::from_part10(data)?;
            inner.pseudonymize(&mut instance)?;
            instance.to_part10()
        });
        let out = out.map_err(|e| from_core(&e))?;
        Ok(PyBytes::new(py, &out))
    }

    /// Pseudonymizes a file or a folder (recursively, on all cores) into the folder `output`.
    ///
    /// `layout="adit"` names files after the pseudonymized values; `layout="mirror"` keeps
    /// the input's relative paths. Returns counts and the files skipped or failed.
    #[pyo3(signature = (input, output, layout="adit", threads=0))]
    fn pseudonymize_path<'py>(
        &self,
        py: Python<'py>,
        input: PathBuf,
        output: PathBuf,
        layout: &str,
        threads: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let layout = match layout {
            "adit" => TreeLayout::Adit,
            "mirror" => TreeLayout::Mirror,
            other => {
                return Err(invalid(format!(
                    "layout `{other}` is neither `adit` nor `mirror`"
                )));
            }
        };
        let inner = std::sync::Arc::clone(&self.inner);
        let options = TreeOptions { layout, threads };
        let report = py
            .detach(move || pseudonymize_tree(&input, &output, &inner, &options))
            .map_err(|e| from_core(&e))?;
        let dict = PyDict::new(py);
        dict.set_item("files", report.files)?;
        dict.set_item("written", report.written)?;
        dict.set_item("bytes_in", report.bytes_in)?;
        dict.set_item("bytes_out", report.bytes_out)?;
        let outcomes = |list: &[adit_core::pseudonymize::FileOutcome]| {
            list.iter()
                .map(|o| (o.path.clone(), o.reason.clone()))
                .collect::<Vec<_>>()
        };
        dict.set_item("skipped", outcomes(&report.skipped))?;
        dict.set_item("failed", outcomes(&report.failed))?;
        Ok(dict)
    }
}
