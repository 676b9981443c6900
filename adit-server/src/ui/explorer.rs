//! The DICOM explorer: the servers the active group may search, their patients (from a
//! study-level search, so servers without patient-level C-FIND work too) with their studies,
//! and a study's attributes with its series.

use std::collections::BTreeMap;
use std::time::Duration;

use adit_core::model::{NodeKind, Query, QueryLevel, QueryResult, matches};
use axum::Router;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use futures::StreamExt;
use minijinja::{Value, context};
use serde::Deserialize;

use super::auth::UiUser;
use super::jobs::internal;
use super::templates::{self, error_page};
use super::transfer::usable_node;
use crate::accounts::Permission;
use crate::nodes::{self, Access, StoredNode};
use crate::web::AppState;
use crate::web::dicomweb::node as dicom_node;

/// Results one explorer page shows at most.
const LIMIT: u32 = 200;
/// How long one explorer search may take before the page gives up.
const SEARCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The routes of the explorer.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dicom-explorer/", get(servers))
        .route("/dicom-explorer/{node}/", get(patients))
        .route("/dicom-explorer/{node}/studies/{study}/", get(study))
}

/// `GET /dicom-explorer/`: the servers.
pub async fn servers(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require(Permission::QueryDicomServer) {
        return *refused;
    }
    match nodes::accessible(&state.db, &user.user, Access::Source).await {
        Ok(list) => {
            let servers: Vec<Value> = list
                .iter()
                .filter(|n| !matches!(n.node.kind, NodeKind::Folder(_)))
                .map(|n| context! { id => n.id.0, name => &n.node.name, kind => nodes::kind_name(&n.node) })
                .collect();
            templates::page(
                &user,
                "explorer.html",
                context! { view => "servers", servers },
            )
        }
        Err(e) => internal(&user, &e),
    }
}

/// Filters of the patient view.
#[derive(Debug, Default, Deserialize)]
pub struct PatientFilter {
    /// PatientID.
    #[serde(default)]
    pub patient_id: String,
    /// PatientName (wildcards allowed).
    #[serde(default)]
    pub patient_name: String,
}

/// `GET /dicom-explorer/{node}/`: patients with their studies.
pub async fn patients(
    State(state): State<AppState>,
    user: UiUser,
    Path(node): Path<String>,
    UrlQuery(filter): UrlQuery<PatientFilter>,
) -> Response {
    let server = match explorer_node(&state, &user, &node).await {
        Ok(server) => server,
        Err(response) => return response,
    };
    let mut builder = Query::builder(QueryLevel::Study).default_return_keys();
    if !filter.patient_id.trim().is_empty() {
        builder = builder.key("PatientID", filter.patient_id.trim());
    }
    if !filter.patient_name.trim().is_empty() {
        builder = builder.key("PatientName", filter.patient_name.trim());
    }
    let searched = !filter.patient_id.trim().is_empty() || !filter.patient_name.trim().is_empty();
    let mut groups: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
    let mut error = None;
    if searched {
        match builder.limit(LIMIT).build() {
            Ok(query) => match search(&state, &server, &query).await {
                Ok(results) => {
                    for r in &results {
                        let id = r.patient_id().unwrap_or_default();
                        let entry = groups.entry(id.clone()).or_insert_with(|| {
                            (
                                context! {
                                    patient_id => &id,
                                    name => r.patient_name().unwrap_or_default(),
                                    birth_date => r.patient_birth_date().unwrap_or_default(),
                                    sex => r.patient_sex().unwrap_or_default(),
                                },
                                Vec::new(),
                            )
                        });
                        entry.1.push(context! {
                            study_uid => r.study_instance_uid().unwrap_or_default(),
                            date => r.study_date().unwrap_or_default(),
                            description => r.study_description().unwrap_or_default(),
                            modalities => r.modalities().join(", "),
                            accession => r.accession_number().unwrap_or_default(),
                            series => r.number_of_study_related_series(),
                            images => r.number_of_study_related_instances(),
                        });
                    }
                }
                Err(message) => error = Some(message),
            },
            Err(e) => error = Some(e.to_string()),
        }
    }
    let patients: Vec<Value> = groups
        .into_values()
        .map(|(patient, studies)| context! { ..patient, ..context! { studies } })
        .collect();
    templates::page(
        &user,
        "explorer.html",
        context! {
            view => "patients",
            server => context! { id => server.id.0, name => &server.node.name },
            patient_id => filter.patient_id, patient_name => filter.patient_name,
            searched, patients, error,
        },
    )
}

/// `GET /dicom-explorer/{node}/studies/{study}/`: a study's attributes and its series.
pub async fn study(
    State(state): State<AppState>,
    user: UiUser,
    Path((node, study_uid)): Path<(String, String)>,
) -> Response {
    let server = match explorer_node(&state, &user, &node).await {
        Ok(server) => server,
        Err(response) => return response,
    };
    let studies = Query::builder(QueryLevel::Study)
        .default_return_keys()
        .key("StudyInstanceUID", &study_uid)
        .limit(1)
        .build();
    let series = Query::builder(QueryLevel::Series)
        .default_return_keys()
        .key("StudyInstanceUID", &study_uid)
        .limit(LIMIT)
        .build();
    let (Ok(studies), Ok(series)) = (studies, series) else {
        return error_page(
            &user,
            StatusCode::BAD_REQUEST,
            "Not a valid StudyInstanceUID.",
        );
    };
    let found = match search(&state, &server, &studies).await {
        Ok(found) => found,
        Err(message) => return error_page(&user, StatusCode::BAD_GATEWAY, &message),
    };
    let Some(found) = found.first() else {
        return error_page(
            &user,
            StatusCode::NOT_FOUND,
            "The server does not know this study.",
        );
    };
    let series = match search(&state, &server, &series).await {
        Ok(series) => series,
        Err(message) => return error_page(&user, StatusCode::BAD_GATEWAY, &message),
    };
    templates::page(
        &user,
        "explorer.html",
        context! {
            view => "study",
            server => context! { id => server.id.0, name => &server.node.name },
            attributes => attributes(found),
            series => series.iter().map(|s| context! {
                number => s.series_number(),
                modality => s.modality().unwrap_or_default(),
                description => s.series_description().unwrap_or_default(),
                images => s.number_of_series_related_instances(),
                uid => s.series_instance_uid().unwrap_or_default(),
            }).collect::<Vec<_>>(),
        },
    )
}

/// The named attributes of a result, in the order a person reads them.
fn attributes(r: &QueryResult) -> Vec<Value> {
    [
        ("Patient ID", r.patient_id()),
        ("Patient name", r.patient_name()),
        ("Birth date", r.patient_birth_date()),
        ("Sex", r.patient_sex()),
        ("Study Instance UID", r.study_instance_uid()),
        ("Accession number", r.accession_number()),
        ("Study date", r.study_date()),
        ("Study time", r.study_time()),
        ("Study description", r.study_description()),
        ("Modalities", Some(r.modalities().join(", "))),
        (
            "Series",
            r.number_of_study_related_series().map(|n| n.to_string()),
        ),
        (
            "Images",
            r.number_of_study_related_instances().map(|n| n.to_string()),
        ),
    ]
    .into_iter()
    .map(|(name, value)| context! { name, value => value.unwrap_or_default() })
    .collect()
}

async fn explorer_node(
    state: &AppState,
    user: &UiUser,
    node: &str,
) -> Result<StoredNode, Response> {
    user.require(Permission::QueryDicomServer)
        .map_err(|refused| *refused)?;
    let server = usable_node(state, user, node, Access::Source)
        .await
        .map_err(|message| error_page(user, StatusCode::NOT_FOUND, &message))?;
    if matches!(server.node.kind, NodeKind::Folder(_)) {
        return Err(error_page(
            user,
            StatusCode::NOT_FOUND,
            "Not a DICOM server.",
        ));
    }
    Ok(server)
}

/// Runs `query` on the server and collects the results that really match.
async fn search(
    state: &AppState,
    server: &StoredNode,
    query: &Query,
) -> Result<Vec<QueryResult>, String> {
    let source = dicom_node::source(state, &server.node).map_err(|e| e.detail)?;
    let run = async {
        let mut stream = source
            .find(query)
            .await
            .map_err(|e| format!("The search failed: {e}"))?;
        let mut out = Vec::new();
        while let Some(result) = stream.next().await {
            let result = result.map_err(|e| format!("The search failed: {e}"))?;
            if matches(query, &result) {
                out.push(result);
            }
        }
        Ok(out)
    };
    tokio::time::timeout(SEARCH_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| Err("The server did not answer in time.".into()))
}
