//! A deterministic synthetic DICOM corpus: N patients × studies × series × instances, CT and MR,
//! realistic tags and 16-bit pixel data, unique `2.25` UIDs derived from a seed.
//!
//! The same [`CorpusSpec`] always gives byte-identical instances, so tests can compare what a
//! peer returns against what was generated, and two corpora with different seeds never share a
//! patient, study or UID. Nothing here resembles real patient data: names come from a short
//! list of common surnames, all values are derived from hashes of the seed.
//!
//! ```
//! use adit_testkit::corpus::{Corpus, CorpusSpec};
//!
//! let corpus = Corpus::new(CorpusSpec::new("doc").patients(1).instances_per_series(2));
//! assert_eq!(corpus.manifest().total_instances(), 1 * 2 * 3 * 2);
//! let first = corpus.instances().next().unwrap();
//! assert!(first.to_part10().unwrap().len() > 128 * 128 * 2);
//! ```

mod build;
mod manifest;
mod pixels;
mod plan;

use std::path::{Path, PathBuf};

use dicom_object::{FileDicomObject, InMemDicomObject};

pub use manifest::{Manifest, PatientEntry, SeriesEntry, StudyEntry};

use crate::error::{Error, Result};

/// What to generate. Build with [`CorpusSpec::new`] and the setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSpec {
    /// Seed all values and UIDs derive from.
    pub seed: String,
    /// Number of patients.
    pub patients: usize,
    /// Studies per patient (they alternate CT and MR across the corpus).
    pub studies_per_patient: usize,
    /// Series per study.
    pub series_per_study: usize,
    /// Instances (slices) per series.
    pub instances_per_series: usize,
    /// Image rows.
    pub rows: u16,
    /// Image columns.
    pub columns: u16,
}

impl CorpusSpec {
    /// 3 patients × 2 studies × 3 series × 5 instances (90 instances) of 128×128 pixels.
    pub fn new(seed: impl Into<String>) -> Self {
        CorpusSpec {
            seed: seed.into(),
            patients: 3,
            studies_per_patient: 2,
            series_per_study: 3,
            instances_per_series: 5,
            rows: 128,
            columns: 128,
        }
    }

    /// Sets the number of patients.
    pub fn patients(mut self, n: usize) -> Self {
        self.patients = n;
        self
    }

    /// Sets the number of studies per patient.
    pub fn studies_per_patient(mut self, n: usize) -> Self {
        self.studies_per_patient = n;
        self
    }

    /// Sets the number of series per study.
    pub fn series_per_study(mut self, n: usize) -> Self {
        self.series_per_study = n;
        self
    }

    /// Sets the number of instances per series.
    pub fn instances_per_series(mut self, n: usize) -> Self {
        self.instances_per_series = n;
        self
    }

    /// Sets the image size (a 512×512 instance is about 525 KB).
    pub fn image_size(mut self, rows: u16, columns: u16) -> Self {
        self.rows = rows;
        self.columns = columns;
        self
    }
}

/// A planned corpus: its manifest is computed up front, instances are built on demand.
#[derive(Debug, Clone)]
pub struct Corpus {
    spec: CorpusSpec,
    manifest: Manifest,
}

/// One generated instance with where it sits in the corpus.
#[derive(Debug, Clone)]
pub struct GeneratedInstance {
    /// Path relative to the corpus root: `<PatientID>/ST<k>/SE<k>/IM<nnnn>.dcm`.
    pub relative_path: PathBuf,
    /// The complete Part-10 object (file meta + data set, Explicit VR Little Endian).
    pub object: FileDicomObject<InMemDicomObject>,
}

impl GeneratedInstance {
    /// Encodes the instance as a Part-10 file (preamble, `DICM`, meta, data set).
    pub fn to_part10(&self) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.object
            .write_all(&mut bytes)
            .map_err(|e| Error::Dicom {
                what: self.relative_path.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(bytes)
    }
}

/// What [`Corpus::write_to`] produced.
#[derive(Debug, Clone)]
pub struct WrittenCorpus {
    /// The corpus root directory.
    pub root: PathBuf,
    /// Every instance file, in generation order.
    pub files: Vec<PathBuf>,
    /// Total bytes written (DICOM files only).
    pub bytes: u64,
    /// The manifest (also written to `root/manifest.json`).
    pub manifest: Manifest,
}

impl WrittenCorpus {
    /// The file holding the instance with this SOP Instance UID, if the corpus has one; tests
    /// remove it behind a peer's back to make an instance go missing.
    pub fn file_of(&self, sop_instance_uid: &str) -> Option<&Path> {
        // `files` is in generation order, which is the manifest's order.
        self.manifest
            .sop_instance_uids()
            .position(|uid| uid == sop_instance_uid)
            .and_then(|i| self.files.get(i))
            .map(PathBuf::as_path)
    }
}

impl Corpus {
    /// Plans the corpus described by `spec`.
    pub fn new(spec: CorpusSpec) -> Self {
        let manifest = plan::plan(&spec);
        Corpus { spec, manifest }
    }

    /// The specification this corpus was made from.
    pub fn spec(&self) -> &CorpusSpec {
        &self.spec
    }

    /// Patients, studies, series and SOP Instance UIDs of the corpus.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Builds every instance, one at a time, in patient/study/series/instance order.
    pub fn instances(&self) -> impl Iterator<Item = GeneratedInstance> + '_ {
        self.manifest.patients.iter().flat_map(move |patient| {
            patient
                .studies
                .iter()
                .enumerate()
                .flat_map(move |(k, study)| {
                    study
                        .series
                        .iter()
                        .enumerate()
                        .flat_map(move |(s, series)| {
                            (0..series.sop_instance_uids.len()).map(move |i| GeneratedInstance {
                                relative_path: PathBuf::from(&patient.patient_id)
                                    .join(format!("ST{}", k + 1))
                                    .join(format!("SE{}", s + 1))
                                    .join(format!("IM{:04}.dcm", i + 1)),
                                object: build::instance(&self.spec, patient, study, series, i),
                            })
                        })
                })
        })
    }

    /// Builds only the instances of one study (by Study Instance UID).
    pub fn study_instances<'a>(
        &'a self,
        study_instance_uid: &'a str,
    ) -> impl Iterator<Item = GeneratedInstance> + 'a {
        self.instances().filter(move |i| {
            i.object
                .element(dicom_dictionary_std::tags::STUDY_INSTANCE_UID)
                .ok()
                .and_then(|e| e.to_str().ok())
                .is_some_and(|uid| uid.trim_end_matches('\0') == study_instance_uid)
        })
    }

    /// Writes every instance under `root` (`<PatientID>/ST<k>/SE<k>/IM<nnnn>.dcm`) and the
    /// manifest to `root/manifest.json`.
    pub fn write_to(&self, root: &Path) -> Result<WrittenCorpus> {
        let mut files = Vec::with_capacity(self.manifest.total_instances());
        let mut bytes = 0u64;
        for instance in self.instances() {
            let path = root.join(&instance.relative_path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let data = instance.to_part10()?;
            bytes += data.len() as u64;
            std::fs::write(&path, &data).map_err(|e| Error::io(&path, e))?;
            files.push(path);
        }
        let manifest_path = root.join("manifest.json");
        let text = serde_json::to_string_pretty(&self.manifest).map_err(|e| Error::Dicom {
            what: "manifest".into(),
            reason: e.to_string(),
        })?;
        std::fs::write(&manifest_path, text).map_err(|e| Error::io(&manifest_path, e))?;
        Ok(WrittenCorpus {
            root: root.to_owned(),
            files,
            bytes,
            manifest: self.manifest.clone(),
        })
    }
}
