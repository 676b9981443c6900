//! Builds the engine's source, sink and transforms of a task from the nodes table and the job.

use std::path::PathBuf;
use std::sync::Arc;

use adit_core::folder::{FolderLayout, FolderSink, FolderSource, ZipOptions, ZipSink};
use adit_core::model::{Node, NodeKind, RetrieveMethod};
use adit_core::pseudonymize::{Pseudonymizer, PseudonymizerConfig};
use adit_core::sink::Sink;
use adit_core::source::{Selection, Source};
use adit_core::transform::{ExcludeModalities, SetTags, Transform};
use adit_dicomweb::{DicomWebSink, DicomWebSource};
use adit_dimse::{DimseSink, DimseSource};
use chrono::Datelike;

use super::WorkerEnv;
use crate::jobs::{Job, Task};

/// Associations a DIMSE sink opens at most per task (further capped by the node's limit).
const DIMSE_STORE_PARALLEL: usize = 2;

/// Why a task cannot be set up (always permanent: the node or job is misconfigured).
pub(crate) type SetupError = String;

/// The source of a task.
pub(crate) fn source(env: &WorkerEnv, node: &Node) -> Result<Box<dyn Source>, SetupError> {
    match &node.kind {
        NodeKind::Dimse(server) => {
            let methods = node.retrieve_methods();
            if methods.is_empty() {
                return Err(format!(
                    "node {} offers neither C-GET nor C-MOVE",
                    node.name
                ));
            }
            let mut source = DimseSource::new(&node.name, server.clone(), env.dimse.clone());
            if !methods.contains(&RetrieveMethod::CGet) {
                let Some(coordinator) = env.move_coordinator.clone() else {
                    return Err(format!(
                        "node {} offers only C-MOVE and this worker has no receiver",
                        node.name
                    ));
                };
                source = source.with_move_coordinator(coordinator);
            }
            Ok(Box::new(source))
        }
        NodeKind::DicomWeb(server) => DicomWebSource::from_server(&node.name, server)
            .map(|s| Box::new(s) as Box<dyn Source>)
            .map_err(|e| format!("node {}: {e}", node.name)),
        NodeKind::Folder(folder) => Ok(Box::new(
            FolderSource::new(&folder.path).with_name(&node.name),
        )),
        _ => Err(format!("node {} cannot be a source", node.name)),
    }
}

/// The sink of a task: a DIMSE or DICOMweb server, a folder in ADIT's layout below the job
/// folder, or, with an archive password, one encrypted ZIP per task next to the job folder.
pub(crate) fn sink(
    node: &Node,
    env: &WorkerEnv,
    job: &Job,
    task: &Task,
    username: &str,
) -> Result<Box<dyn Sink>, SetupError> {
    match &node.kind {
        NodeKind::Dimse(server) => Ok(Box::new(DimseSink::new(
            &node.name,
            server,
            env.dimse.clone(),
            DIMSE_STORE_PARALLEL,
        ))),
        NodeKind::DicomWeb(server) => DicomWebSink::from_server(&node.name, server)
            .map(|s| Box::new(s) as Box<dyn Sink>)
            .map_err(|e| format!("node {}: {e}", node.name)),
        NodeKind::Folder(folder) => {
            let job_dir = job_dir(job, username);
            let mut layout = FolderLayout::new().with_job_dir(&job_dir);
            if let Some(pseudonym) = &task.pseudonym {
                layout = layout.with_patient_dir(pseudonym);
            }
            match &job.archive_password {
                Some(password) => {
                    let path: PathBuf = folder.path.join(format!("{job_dir}_task{}.zip", task.id));
                    let options = ZipOptions {
                        password: Some(password.clone()),
                        created_by: Some(format!("job {} of {username}", job.id)),
                        ..ZipOptions::default()
                    };
                    ZipSink::create(path, layout, options)
                        .map(|s| Box::new(s) as Box<dyn Sink>)
                        .map_err(|e| format!("node {}: {e}", node.name))
                }
                None => Ok(Box::new(
                    FolderSink::new(&folder.path, layout).with_name(&node.name),
                )),
            }
        }
        _ => Err(format!("node {} cannot be a destination", node.name)),
    }
}

/// ADIT's job folder name, `adit_<app>_<id>_<YYYYMMDD>_<user>`.
pub(crate) fn job_dir(job: &Job, username: &str) -> String {
    let created = job.created;
    let date =
        dicom_core::chrono::NaiveDate::from_ymd_opt(created.year(), created.month(), created.day())
            .unwrap_or_default();
    adit_core::folder::job_dir_name(job.kind.as_str(), job.id, date, username)
}

/// The transforms of a task: excluded modalities and the pseudonymizer (with the trial tags)
/// when it has a pseudonym, else only the trial tags, if any.
pub(crate) fn transforms(
    env: &WorkerEnv,
    job: &Job,
    task: &Task,
) -> Result<Vec<Arc<dyn Transform>>, SetupError> {
    let trial_id = non_empty(&job.trial_protocol_id);
    let trial_name = non_empty(&job.trial_protocol_name);
    let mut transforms: Vec<Arc<dyn Transform>> = Vec::new();
    match &task.pseudonym {
        Some(pseudonym) => {
            if !env.exclude_modalities.is_empty() {
                transforms.push(Arc::new(ExcludeModalities::new(&env.exclude_modalities)));
            }
            let config = PseudonymizerConfig::adit(env.secret.clone())
                .with_pseudonym(pseudonym)
                .with_trial(trial_id.map(str::to_owned), trial_name.map(str::to_owned));
            let pseudonymizer =
                Pseudonymizer::new(config).map_err(|e| format!("pseudonymizer: {e}"))?;
            transforms.push(Arc::new(pseudonymizer));
        }
        None if trial_id.is_some() || trial_name.is_some() => {
            let tags = SetTags::trial_protocol(trial_id, trial_name)
                .map_err(|e| format!("trial tags: {e}"))?;
            transforms.push(Arc::new(tags));
        }
        None => {}
    }
    Ok(transforms)
}

/// What a transfer task retrieves.
pub(crate) fn selection(task: &Task) -> Selection {
    let patient_id = non_empty(&task.patient_id);
    if task.series_uids.is_empty() {
        Selection::study(patient_id, &task.study_uid)
    } else {
        Selection::series(patient_id, &task.study_uid, task.series_uids.iter())
    }
}

fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}
