//! Selective transfer: pick a source and a destination (only those the active group may use),
//! search with ADIT's fields, watch the results arrive while the C-FIND runs, tick studies,
//! set the advanced options and start the job.
//!
//! The search is a server-sent event stream (`/selective-transfer/search`): each study the
//! source returns is sent as a rendered table row (`row` events), then `done` with the count,
//! or `failed` with the reason. Closing the page drops the stream and with it the C-FIND.

use std::convert::Infallible;

use adit_core::model::{NodeKind, Query, QueryLevel, matches};
use axum::Form;
use axum::Router;
use axum::extract::{Query as UrlQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use minijinja::{Value, context};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::audit_trail;
use super::auth::UiUser;
use super::jobs::{internal, is_staff};
use super::templates::{self, redirect_with_flash};
use crate::accounts::Permission;
use crate::audit::{Action, Event as AuditEvent};
use crate::jobs::{JobKind, NewJob, NewTask};
use crate::nodes::{self, Access, NodeId, StoredNode};
use crate::web::AppState;
use crate::web::address::ClientAddress;
use crate::web::dicomweb::node as dicom_node;

/// Studies a search returns at most (ADIT stops there too and says so).
const MAX_RESULTS: u32 = 500;

/// The routes of the selective transfer pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/selective-transfer/", get(form_page).post(submit))
        .route("/selective-transfer/search", get(search))
        .route(
            "/selective-transfer/download",
            get(super::download::download),
        )
}

/// `GET /selective-transfer/`: the search and transfer form.
pub async fn form_page(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require(Permission::AddSelectiveTransferJob) {
        return *refused;
    }
    let (sources, destinations) = match pickers(&state, &user).await {
        Ok(found) => found,
        Err(e) => return internal(&user, &e),
    };
    templates::page(
        &user,
        "selective_transfer.html",
        context! {
            sources,
            destinations,
            can_urgent => user.can(Permission::CanProcessUrgently),
            can_unpseudonymized => user.can(Permission::CanTransferUnpseudonymized),
            has_email => !user.user.email.is_empty(),
        },
    )
}

/// The search fields (ADIT's selective transfer form).
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    /// Source node id.
    #[serde(default)]
    pub source: String,
    /// PatientID.
    #[serde(default)]
    pub patient_id: String,
    /// PatientName (wildcards `*` and `?`).
    #[serde(default)]
    pub patient_name: String,
    /// PatientBirthDate, `YYYY-MM-DD` from a date input.
    #[serde(default)]
    pub patient_birth_date: String,
    /// AccessionNumber.
    #[serde(default)]
    pub accession_number: String,
    /// First study date, `YYYY-MM-DD`.
    #[serde(default)]
    pub study_date_from: String,
    /// Last study date, `YYYY-MM-DD`.
    #[serde(default)]
    pub study_date_to: String,
    /// Modality.
    #[serde(default)]
    pub modality: String,
    /// StudyDescription.
    #[serde(default)]
    pub study_description: String,
}

impl SearchForm {
    /// The study-level C-FIND of these fields.
    pub fn query(&self) -> Result<Query, String> {
        let mut builder = Query::builder(QueryLevel::Study).default_return_keys();
        let date = |text: &str, what: &str| -> Result<String, String> {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if digits.len() == 8 {
                Ok(digits)
            } else {
                Err(format!("{what}: expected a date like 2024-01-31."))
            }
        };
        for (key, value) in [
            ("PatientID", self.patient_id.trim()),
            ("PatientName", self.patient_name.trim()),
            ("AccessionNumber", self.accession_number.trim()),
            ("ModalitiesInStudy", self.modality.trim()),
            ("StudyDescription", self.study_description.trim()),
        ] {
            if !value.is_empty() {
                builder = builder.key(key, value);
            }
        }
        if !self.patient_birth_date.trim().is_empty() {
            builder = builder.key(
                "PatientBirthDate",
                &date(self.patient_birth_date.trim(), "Birth date")?,
            );
        }
        let from = self.study_date_from.trim();
        let to = self.study_date_to.trim();
        if !from.is_empty() || !to.is_empty() {
            let from = if from.is_empty() {
                String::new()
            } else {
                date(from, "Study date from")?
            };
            let to = if to.is_empty() {
                String::new()
            } else {
                date(to, "Study date to")?
            };
            builder = builder.key("StudyDate", &format!("{from}-{to}"));
        }
        builder
            .limit(MAX_RESULTS)
            .build()
            .map_err(|e| e.to_string())
    }
}

/// `GET /selective-transfer/search`: the results as a server-sent event stream.
pub async fn search(
    State(state): State<AppState>,
    user: UiUser,
    UrlQuery(form): UrlQuery<SearchForm>,
) -> Response {
    if let Err(refused) = user.require(Permission::AddSelectiveTransferJob) {
        return *refused;
    }
    let (sender, receiver) = mpsc::channel::<Event>(16);
    let source = match usable_node(&state, &user, &form.source, Access::Source).await {
        Ok(node) => node,
        Err(message) => return single_event("failed", &message),
    };
    let query = match form.query() {
        Ok(query) => query,
        Err(message) => return single_event("failed", &message),
    };
    let source = match dicom_node::source(&state, &source.node) {
        Ok(source) => source,
        Err(e) => return single_event("failed", &e.detail),
    };
    let can_download =
        user.can(Permission::CanDownloadStudy) && user.can(Permission::CanTransferUnpseudonymized);
    // The id was checked to be a number by `usable_node`.
    let source_id = form.source.trim().to_owned();
    tokio::spawn(async move {
        let failed = |message: String| Event::default().event("failed").data(message);
        let mut results = match source.find(&query).await {
            Ok(results) => results,
            Err(e) => {
                let _ = sender.send(failed(format!("The search failed: {e}"))).await;
                return;
            }
        };
        let mut count = 0u32;
        while let Some(result) = results.next().await {
            let result = match result {
                Ok(result) => result,
                Err(e) => {
                    let _ = sender.send(failed(format!("The search failed: {e}"))).await;
                    return;
                }
            };
            if !matches(&query, &result) {
                continue;
            }
            count += 1;
            let row = templates::render_string(
                "study_row.html",
                context! { study => study_view(&result), can_download, source_id },
            )
            .unwrap_or_default();
            // A closed page drops the receiver: stop searching.
            if sender
                .send(Event::default().event("row").data(row.replace('\n', " ")))
                .await
                .is_err()
            {
                return;
            }
            if count >= MAX_RESULTS {
                break;
            }
        }
        let text = if count >= MAX_RESULTS {
            format!("{count} studies (the limit); narrow the search to see all.")
        } else {
            format!("{} found.", plural(count as usize, "study", "studies"))
        };
        let _ = sender.send(Event::default().event("done").data(text)).await;
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `POST /selective-transfer/`: starts the job with the ticked studies. Sent by htmx, it
/// answers with `HX-Redirect` to the job, or with the errors to show above the form.
pub async fn submit(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    if let Err(refused) = user.check_csrf(Some(get("csrfmiddlewaretoken")), &headers) {
        return *refused;
    }
    let htmx = headers.contains_key("hx-request");
    let fail = |errors: Vec<String>| -> Response {
        if htmx {
            let html = templates::render_string("form_errors.html", context! { errors })
                .unwrap_or_default();
            let mut response = Html(html).into_response();
            // htmx swaps 2xx answers only; the status stays 200 so the errors show.
            response
                .headers_mut()
                .insert("hx-retarget", HeaderValue::from_static("#transfer-errors"));
            response
        } else {
            redirect_with_flash("/selective-transfer/", "danger", &errors.join(" "))
        }
    };
    if let Err(refused) = user.require(Permission::AddSelectiveTransferJob) {
        return *refused;
    }
    let mut errors = Vec::new();
    let source = usable_node(&state, &user, get("source"), Access::Source).await;
    let destination = usable_node(&state, &user, get("destination"), Access::Destination).await;
    let studies: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k == "studies")
        .filter_map(|(_, v)| {
            let (study_uid, patient_id) = v.split_once('\\')?;
            Some((patient_id.to_owned(), study_uid.to_owned()))
        })
        .collect();
    if studies.is_empty() {
        errors.push("Tick at least one study.".to_owned());
    }
    let pseudonym = get("pseudonym").trim().to_owned();
    if pseudonym.is_empty() && !user.can(Permission::CanTransferUnpseudonymized) {
        errors.push("A pseudonym is required: you may only transfer pseudonymized.".to_owned());
    }
    if pseudonym.chars().count() > 64 || pseudonym.contains('\\') {
        errors.push("The pseudonym must be at most 64 characters without a backslash.".into());
    }
    let urgent = get("urgent") == "on";
    if urgent && !user.can(Permission::CanProcessUrgently) {
        errors.push("You may not start urgent jobs.".to_owned());
    }
    let archive_password = get("archive_password").to_owned();
    let (source, destination) = match (source, destination) {
        (Ok(s), Ok(d)) => (Some(s), Some(d)),
        (s, d) => {
            errors.extend(s.err());
            errors.extend(d.err());
            (None, None)
        }
    };
    if let Some(d) = &destination
        && !archive_password.is_empty()
        && !matches!(d.node.kind, NodeKind::Folder(_))
    {
        errors.push("An archive password is only possible for a folder destination.".into());
    }
    let (Some(source), Some(destination)) = (source, destination) else {
        return fail(errors);
    };
    if !errors.is_empty() {
        return fail(errors);
    }
    let mut job = NewJob::new(
        JobKind::SelectiveTransfer,
        user.user.id.0,
        source.id.0,
        Some(destination.id.0),
    );
    job.urgent = urgent;
    job.send_finished_mail = get("send_finished_mail") == "on";
    job.pseudonym = (!pseudonym.is_empty()).then_some(pseudonym);
    job.trial_protocol_id = get("trial_protocol_id").trim().to_owned();
    job.trial_protocol_name = get("trial_protocol_name").trim().to_owned();
    job.archive_password = (!archive_password.is_empty()).then_some(archive_password);
    for (patient_id, study_uid) in &studies {
        job = job.task(NewTask::transfer(patient_id, study_uid, &[]));
    }
    let created = async { state.jobs().await?.create(&job, true).await }.await;
    match created {
        Ok(id) => {
            tracing::info!(job = id, user = %user.user.username, staff = is_staff(&user), "selective transfer started");
            let detail = format!("job {id}: {} with {} tasks", job.kind, job.tasks.len());
            audit_trail::record(
                &state,
                &user,
                &address,
                AuditEvent::new(Action::JobCreate).detail(detail),
            )
            .await;
            let to = format!("/jobs/{id}/");
            let mut response = redirect_with_flash(
                &to,
                "success",
                &format!("Job {id} started with {} studies.", studies.len()),
            );
            if htmx && let Ok(value) = HeaderValue::from_str(&to) {
                *response.status_mut() = StatusCode::OK;
                response.headers_mut().insert("hx-redirect", value);
            }
            response
        }
        Err(crate::jobs::JobError::Invalid(message)) => fail(vec![message]),
        Err(e) => internal(&user, &e),
    }
}

/// The source and destination choices of `user` (DICOM servers as sources; servers and
/// folders as destinations).
pub async fn pickers(
    state: &AppState,
    user: &UiUser,
) -> Result<(Vec<Value>, Vec<Value>), crate::Error> {
    let view = |n: &StoredNode| context! { id => n.id.0, name => &n.node.name, kind => nodes::kind_name(&n.node) };
    let sources = nodes::accessible(&state.db, &user.user, Access::Source)
        .await?
        .iter()
        .filter(|n| !matches!(n.node.kind, NodeKind::Folder(_)))
        .map(view)
        .collect();
    let destinations = nodes::accessible(&state.db, &user.user, Access::Destination)
        .await?
        .iter()
        .map(view)
        .collect();
    Ok((sources, destinations))
}

/// The node of id `id` if `user`'s active group may use it for `access`; the same message
/// for an unknown and a forbidden node, so nodes cannot be probed.
pub async fn usable_node(
    state: &AppState,
    user: &UiUser,
    id: &str,
    access: Access,
) -> Result<StoredNode, String> {
    let what = match access {
        Access::Source => "source",
        Access::Destination => "destination",
    };
    let denied = || format!("Choose a {what} you have access to.");
    let id: i64 = id.trim().parse().map_err(|_| denied())?;
    let allowed = nodes::can_use(&state.db, &user.user, NodeId(id), access)
        .await
        .map_err(|e| {
            tracing::error!("node access: {e}");
            "Internal server error.".to_owned()
        })?;
    if !allowed {
        return Err(denied());
    }
    nodes::list(&state.db)
        .await
        .map_err(|e| {
            tracing::error!("nodes: {e}");
            "Internal server error.".to_owned()
        })?
        .into_iter()
        .find(|n| n.id.0 == id)
        .ok_or_else(denied)
}

fn study_view(result: &adit_core::model::QueryResult) -> Value {
    let study_uid = result.study_instance_uid().unwrap_or_default();
    let patient_id = result.patient_id().unwrap_or_default();
    let download_query = format!(
        "study={}&patient={}",
        super::auth::encode_component(&study_uid),
        super::auth::encode_component(&patient_id)
    );
    context! {
        value => format!("{study_uid}\\{patient_id}"),
        download_query,
        study_uid,
        patient_id,
        patient_name => result.patient_name().unwrap_or_default(),
        birth_date => dicom_date(&result.patient_birth_date().unwrap_or_default()),
        study_date => dicom_date(&result.study_date().unwrap_or_default()),
        modalities => result.modalities().join(", "),
        description => result.study_description().unwrap_or_default(),
        accession => result.accession_number().unwrap_or_default(),
        images => result.number_of_study_related_instances(),
    }
}

/// `1 study`, `2 studies`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `20240131` → `2024-01-31`; anything else unchanged.
fn dicom_date(text: &str) -> String {
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..])
    } else {
        text.to_owned()
    }
}

/// A stream of one event (errors found before searching).
fn single_event(name: &'static str, data: &str) -> Response {
    let event = Event::default().event(name).data(data);
    Sse::new(futures::stream::iter([Ok::<_, Infallible>(event)])).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_fields_become_a_study_query() {
        let form = SearchForm {
            patient_name: "Doe*".into(),
            study_date_from: "2024-01-01".into(),
            modality: "CT".into(),
            ..SearchForm::default()
        };
        let query = form.query().unwrap_or_else(|e| panic!("{e}"));
        let text = query.to_string();
        assert!(text.contains("PatientName=Doe*"), "{text}");
        assert!(text.contains("StudyDate=20240101-"), "{text}");
        assert!(text.contains("ModalitiesInStudy=CT"), "{text}");
        assert!(text.ends_with("limit=500"), "{text}");
    }

    #[test]
    fn bad_dates_are_named() {
        let form = SearchForm {
            patient_birth_date: "31.1.".into(),
            ..SearchForm::default()
        };
        assert_eq!(
            form.query().err().as_deref(),
            Some("Birth date: expected a date like 2024-01-31.")
        );
        assert_eq!(dicom_date("20240131"), "2024-01-31");
    }
}
