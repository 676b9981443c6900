//! The `batch_query_task` handler: runs one batch query row against the job's source and
//! stores one result row per study (or per series, when the row names series).

use std::collections::BTreeMap;
use std::sync::Arc;

use adit_core::model::{Query, QueryLevel, QueryResult};
use adit_core::queue::TaskError;
use adit_core::source::Source;
use adit_queue::{JobContext, TaskResult};
use futures::StreamExt;

use super::transfer::Outcome;
use super::{WorkerEnv, endpoints, task_id};
use crate::jobs::{BatchQuery, BatchQueryResult, Started, TaskStatus};

/// Runs one batch query task.
pub(crate) async fn handle(env: Arc<WorkerEnv>, ctx: JobContext) -> TaskResult {
    let task_id = task_id(&ctx)?;
    let started = match env.jobs.start_task(task_id).await {
        Ok(Some(started)) => started,
        Ok(None) => return Ok(()),
        Err(e) => return Err(TaskError::retriable(format!("start task {task_id}: {e}"))),
    };
    let _in_flight = env.metrics.task_started();
    let last_attempt = ctx.job.attempts >= ctx.job.retry.max_attempts;
    let outcome = tokio::select! {
        outcome = run(&env, &started) => outcome,
        () = ctx.cancel.cancelled() => Outcome::Done {
            status: TaskStatus::Canceled,
            message: "Task was canceled.".into(),
            log: String::new(),
            retriable: false,
        },
    };
    super::conclude(&env, &ctx, task_id, last_attempt, outcome).await
}

async fn run(env: &WorkerEnv, started: &Started) -> Outcome {
    let query = started.task.query.clone().unwrap_or_default();
    let node = match env.jobs.node(started.job.source_id).await {
        Ok(node) => node,
        Err(e) => return Outcome::failed(e.to_string(), false),
    };
    let source = match endpoints::source(env, &node) {
        Ok(source) => source,
        Err(e) => return Outcome::failed(e, false),
    };
    let patients_found = match find_patients(source.as_ref(), &query).await {
        Ok(Ok(found)) => found,
        Ok(Err(problem)) => return Outcome::failed(problem, false),
        Err(e) => {
            let retriable = e.is_retriable();
            return Outcome::failed(e.to_string(), retriable);
        }
    };
    match search(source.as_ref(), &query, &patients_found.ids).await {
        Ok((rows, series_level, patients)) => {
            let patients_found = &patients_found;
            if let Err(e) = env
                .jobs
                .store_results(started.job.id, started.task.id, &rows)
                .await
            {
                return Outcome::failed(format!("storing results: {e}"), true);
            }
            let what = if series_level { "series" } else { "studies" };
            let message = format!("{} {what} found", rows.len());
            if patients > 1 {
                Outcome::Done {
                    status: TaskStatus::Warning,
                    message: format!("{message}; indistinct patients"),
                    log: format!(
                        "The studies found belong to {patients} different patients.{}",
                        patients_log(patients_found, &query)
                    ),
                    retriable: false,
                }
            } else {
                Outcome::Done {
                    status: TaskStatus::Success,
                    message,
                    log: String::new(),
                    retriable: false,
                }
            }
        }
        Err(e) => {
            let retriable = e.is_retriable();
            Outcome::failed(e.to_string(), retriable)
        }
    }
}

/// The patients a batch query row names, found on the source.
#[derive(Debug, Clone, Default)]
struct FoundPatients {
    /// Their PatientIDs (studies are searched per patient).
    ids: Vec<String>,
    /// True when they were found by PatientName and PatientBirthDate (no PatientID given).
    by_name: bool,
}

/// Finds the patients of a row as ADIT does (reference §3.1): with a PatientID exactly one
/// patient must match, and a given name and birth date must agree with it; without one, the
/// patients are searched by PatientName and PatientBirthDate together, and several may match
/// (the task then warns about indistinct patients). `Ok(Err(_))` is the task's failure message.
async fn find_patients(
    source: &dyn Source,
    q: &BatchQuery,
) -> adit_core::Result<Result<FoundPatients, String>> {
    let patient_id = q.patient_id.trim();
    let name = q.patient_name.trim();
    let birth_date = q.patient_birth_date.trim();
    if patient_id.is_empty() {
        if name.is_empty() || birth_date.is_empty() {
            return Ok(Err(
                "Missing PatientID, or PatientName together with PatientBirthDate.".to_owned(),
            ));
        }
        let query = Query::parse(
            QueryLevel::Patient,
            [
                format!("PatientName={name}"),
                format!("PatientBirthDate={birth_date}"),
            ],
        )?
        .with_default_return_keys();
        let ids: std::collections::BTreeSet<String> = collect(source, &query)
            .await?
            .iter()
            .filter_map(QueryResult::patient_id)
            .filter(|id| !id.trim().is_empty())
            .collect();
        if ids.is_empty() {
            return Ok(Err(format!(
                "No patient found with PatientName {name} and PatientBirthDate {birth_date}."
            )));
        }
        return Ok(Ok(FoundPatients {
            ids: ids.into_iter().collect(),
            by_name: true,
        }));
    }
    let query = Query::parse(QueryLevel::Patient, [format!("PatientID={patient_id}")])?
        .with_default_return_keys();
    let patients = collect(source, &query).await?;
    let patient = match patients.as_slice() {
        [] => {
            return Ok(Err(format!(
                "No patient found with PatientID {patient_id}."
            )));
        }
        [one] => one,
        _ => {
            return Ok(Err(format!(
                "Multiple patients found with PatientID {patient_id}."
            )));
        }
    };
    if !name.is_empty() && patient.patient_name().as_deref().map(str::trim) != Some(name) {
        return Ok(Err(format!(
            "PatientName of PatientID {patient_id} does not match."
        )));
    }
    if !birth_date.is_empty() && patient.patient_birth_date().as_deref() != Some(birth_date) {
        return Ok(Err(format!(
            "PatientBirthDate of PatientID {patient_id} does not match."
        )));
    }
    Ok(Ok(FoundPatients {
        ids: vec![patient_id.to_owned()],
        by_name: false,
    }))
}

/// The log line naming the patients a name search found, when it found several.
fn patients_log(found: &FoundPatients, q: &BatchQuery) -> String {
    if found.by_name && found.ids.len() > 1 {
        format!(
            " Multiple patients found with PatientName {} and PatientBirthDate {}: {}.",
            q.patient_name.trim(),
            q.patient_birth_date.trim(),
            found.ids.join(", ")
        )
    } else {
        String::new()
    }
}

/// The result rows, whether they are series rows, and how many patients the studies belong to.
async fn search(
    source: &dyn Source,
    q: &BatchQuery,
    patient_ids: &[String],
) -> adit_core::Result<(Vec<BatchQueryResult>, bool, usize)> {
    let modalities: Vec<Option<&str>> = if q.modalities.is_empty() {
        vec![None]
    } else {
        q.modalities.iter().map(|m| Some(m.as_str())).collect()
    };
    // One find per patient and modality (ADIT), de-duplicated by StudyInstanceUID.
    let mut studies: BTreeMap<String, QueryResult> = BTreeMap::new();
    let mut finds: Vec<(&str, Option<&str>)> = Vec::new();
    for patient_id in patient_ids {
        for modality in &modalities {
            finds.push((patient_id.as_str(), *modality));
        }
    }
    for (patient_id, modality) in finds {
        let mut keys = Vec::new();
        push(&mut keys, "PatientID", patient_id);
        push(&mut keys, "AccessionNumber", &q.accession_number);
        push(&mut keys, "StudyDescription", &q.study_description);
        if !q.study_date_start.is_empty() || !q.study_date_end.is_empty() {
            keys.push(format!(
                "StudyDate={}-{}",
                q.study_date_start, q.study_date_end
            ));
        }
        if let Some(m) = modality {
            keys.push(format!("ModalitiesInStudy={m}"));
        }
        let query = Query::parse(QueryLevel::Study, keys)?.with_default_return_keys();
        for study in collect(source, &query).await? {
            if let Some(uid) = study.study_instance_uid() {
                studies.entry(uid).or_insert(study);
            }
        }
    }
    let mut studies: Vec<QueryResult> = studies.into_values().collect();
    studies.sort_by_key(|s| (s.study_date(), s.study_time()));
    let patients = studies
        .iter()
        .filter_map(QueryResult::patient_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();

    let series_level = !q.series_description.is_empty() || !q.series_numbers.is_empty();
    let mut rows = Vec::new();
    for study in &studies {
        let base = study_row(study, q);
        if !series_level {
            rows.push(base);
            continue;
        }
        let numbers: Vec<Option<&str>> = if q.series_numbers.is_empty() {
            vec![None]
        } else {
            q.series_numbers.iter().map(|n| Some(n.trim())).collect()
        };
        let mut found: BTreeMap<String, QueryResult> = BTreeMap::new();
        for number in numbers {
            let mut keys = vec![format!("StudyInstanceUID={}", base.study_uid)];
            push(&mut keys, "SeriesDescription", &q.series_description);
            if let Some(n) = number {
                keys.push(format!("SeriesNumber={n}"));
            }
            let query = Query::parse(QueryLevel::Series, keys)?.with_default_return_keys();
            for series in collect(source, &query).await? {
                if let Some(uid) = series.series_instance_uid() {
                    found.entry(uid).or_insert(series);
                }
            }
        }
        let mut series: Vec<QueryResult> = found.into_values().collect();
        series.sort_by_key(QueryResult::series_number);
        for s in series {
            rows.push(BatchQueryResult {
                series_uid: s.series_instance_uid().unwrap_or_default(),
                series_description: s.series_description().unwrap_or_default(),
                series_number: s.series_number().map(|n| n.to_string()).unwrap_or_default(),
                image_count: s.number_of_series_related_instances(),
                ..base.clone()
            });
        }
    }
    Ok((rows, series_level, patients))
}

fn study_row(study: &QueryResult, q: &BatchQuery) -> BatchQueryResult {
    BatchQueryResult {
        patient_id: study.patient_id().unwrap_or_default(),
        patient_name: study.patient_name().unwrap_or_default(),
        patient_birth_date: study.patient_birth_date().unwrap_or_default(),
        accession_number: study.accession_number().unwrap_or_default(),
        study_date: study.study_date().unwrap_or_default(),
        study_time: study.study_time().unwrap_or_default(),
        modalities: study.modalities(),
        image_count: study.number_of_study_related_instances(),
        study_description: study.study_description().unwrap_or_default(),
        pseudonym: q.pseudonym.clone(),
        study_uid: study.study_instance_uid().unwrap_or_default(),
        ..BatchQueryResult::default()
    }
}

fn push(keys: &mut Vec<String>, key: &str, value: &str) {
    let value = value.trim();
    if !value.is_empty() {
        keys.push(format!("{key}={value}"));
    }
}

async fn collect(source: &dyn Source, query: &Query) -> adit_core::Result<Vec<QueryResult>> {
    let mut stream = source.find(query).await?;
    let mut out = Vec::new();
    while let Some(result) = stream.next().await {
        out.push(result?);
    }
    Ok(out)
}
