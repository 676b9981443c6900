//! [`DimseSource`]: the `adit-core` [`Source`] for a DIMSE server, choosing the information
//! model and C-GET or C-MOVE from the node's capabilities as ADIT does.

use std::collections::HashSet;
use std::sync::Arc;

use adit_core::model::{
    DimseRetrieve, DimseServer, Query, QueryLevel, QueryModel, QueryResult, matches,
};
use adit_core::source::{Expected, ResultStream, RetrieveStream, Retrieved, Selection, Source};
use async_trait::async_trait;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::options::{DimseOptions, PeerAddress};
use crate::scp::MoveCoordinator;
use crate::scu::{self, GetEvent};

/// A DIMSE server as a place to find and retrieve from.
#[derive(Debug, Clone)]
pub struct DimseSource {
    name: String,
    server: DimseServer,
    peer: PeerAddress,
    options: DimseOptions,
    coordinator: Option<Arc<MoveCoordinator>>,
}

impl DimseSource {
    /// A source for `server`, named `name` in reports. Associations to it count against the
    /// server's `max_associations`, shared with every other user in this process.
    pub fn new(name: impl Into<String>, server: DimseServer, options: DimseOptions) -> Self {
        let peer = PeerAddress::from(&server);
        Self {
            name: name.into(),
            server,
            peer,
            options,
            coordinator: None,
        }
    }

    /// Lets this source retrieve by C-MOVE: the coordinator's receiver is the move
    /// destination. Without one, a node that offers only C-MOVE cannot be retrieved from.
    pub fn with_move_coordinator(mut self, coordinator: Arc<MoveCoordinator>) -> Self {
        self.coordinator = Some(coordinator);
        self
    }

    /// The peer address.
    pub fn peer(&self) -> &PeerAddress {
        &self.peer
    }
}

#[async_trait]
impl Source for DimseSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn find(&self, query: &Query) -> adit_core::Result<ResultStream> {
        let plan = self.server.find_plan(query)?;
        let mut wire = query.clone();
        wire.set_level(plan.level);
        let wire = wire.with_default_return_keys();
        let emulate = plan.emulate_patient_level;
        // With emulation, results are de-duplicated, so the peer cannot stop at the limit.
        let wire_limit = if emulate { None } else { query.limit() };
        let stream = scu::find(
            &self.peer,
            &self.options,
            plan.model,
            &wire.to_identifier(),
            wire_limit,
        )
        .await?;
        let limit = query
            .limit()
            .map(|l| usize::try_from(l).unwrap_or(usize::MAX));
        let query = query.clone();
        let mut seen_patients = HashSet::new();
        let results = stream.filter_map(move |item| {
            let out = match item {
                Err(e) => Some(Err(adit_core::Error::from(e))),
                Ok(object) => {
                    let mut result = QueryResult::new(object);
                    if emulate {
                        result = patient_from_study(&result);
                        let id = result.patient_id().unwrap_or_default();
                        if !seen_patients.insert(id) {
                            return futures::future::ready(None);
                        }
                    }
                    // Peers match loosely (case, wildcards, multi-values): check again here.
                    matches(&query, &result).then_some(Ok(result))
                }
            };
            futures::future::ready(out)
        });
        // The caller's limit counts results after client-side filtering and de-duplication.
        Ok(match limit {
            Some(limit) => results.take(limit).boxed(),
            None => results.boxed(),
        })
    }

    async fn retrieve(
        &self,
        selection: &Selection,
        cancel: CancellationToken,
    ) -> adit_core::Result<RetrieveStream> {
        let plan = self.server.retrieve_plan(selection.patient_id())?;
        if plan.operation == DimseRetrieve::CMove {
            let Some(coordinator) = &self.coordinator else {
                return Err(adit_core::Error::Unsupported {
                    peer: self.peer.to_string(),
                    operation: "retrieval by C-MOVE without a C-STORE receiver; configure the \
                                receiver or enable C-GET for this node"
                        .into(),
                });
            };
            let identifiers = retrieve_identifiers(selection, plan.model);
            return crate::source_move::retrieve(
                &self.peer,
                &self.options,
                coordinator,
                plan.model,
                identifiers,
                selection,
                cancel,
            )
            .await;
        }
        let identifiers = retrieve_identifiers(selection, plan.model);
        let events = scu::get(&self.peer, &self.options, plan.model, identifiers, cancel).await?;
        let peer = self.peer.to_string();
        let mut state = Progress::default();
        let items = events
            .flat_map(move |event| futures::stream::iter(state.map(event, &peer)))
            .boxed();
        Ok(RetrieveStream {
            expected: None,
            items,
        })
    }
}

/// Turns C-GET events into `Retrieved` items, tracking the expected total over several
/// C-GETs (one per series).
#[derive(Debug, Default)]
struct Progress {
    total: u64,
    counted_this_get: bool,
}

impl Progress {
    fn map(
        &mut self,
        event: crate::Result<GetEvent>,
        peer: &str,
    ) -> Vec<adit_core::Result<Retrieved>> {
        match event {
            Err(e) => vec![Err(e.into())],
            Ok(GetEvent::Instance(instance)) => vec![Ok(Retrieved::Instance(instance))],
            Ok(GetEvent::Progress(c)) => {
                if self.counted_this_get {
                    return Vec::new();
                }
                self.counted_this_get = true;
                self.total += u64::from(c.remaining.unwrap_or(0))
                    + u64::from(c.completed)
                    + u64::from(c.failed)
                    + u64::from(c.warning);
                vec![Ok(Retrieved::Expected(Expected {
                    instances: self.total,
                    bytes: None,
                }))]
            }
            Ok(GetEvent::Finished(summary)) => {
                self.counted_this_get = false;
                if summary.all_failed() {
                    return vec![Err(Error::Failed {
                        peer: peer.to_owned(),
                        operation: "C-GET".into(),
                        status: summary.status,
                        comment: Some(
                            summary
                                .error_comment
                                .clone()
                                .unwrap_or_else(|| "all sub-operations failed".into()),
                        ),
                    }
                    .into())];
                }
                let reason = format!(
                    "C-GET sub-operation failed (final status {})",
                    summary.status
                );
                let mut items: Vec<_> = summary
                    .failed_sop_instance_uids
                    .iter()
                    .map(|uid| {
                        Ok(Retrieved::Missing {
                            sop_instance_uid: Some(uid.clone()),
                            reason: reason.clone(),
                        })
                    })
                    .collect();
                let unnamed = usize::from(summary.sub_operations.failed)
                    .saturating_sub(summary.failed_sop_instance_uids.len());
                for _ in 0..unnamed {
                    items.push(Ok(Retrieved::Missing {
                        sop_instance_uid: None,
                        reason: format!("{reason}; the peer did not name the instance"),
                    }));
                }
                items
            }
        }
    }
}

/// The C-GET identifiers for a selection: level and unique keys only (Orthanc answers 0xC000
/// to a C-GET whose identifier carries empty return keys). One identifier per series.
pub(crate) fn retrieve_identifiers(
    selection: &Selection,
    model: QueryModel,
) -> Vec<InMemDicomObject> {
    let base = |level: QueryLevel| {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from(level.as_str()),
        ));
        if model == QueryModel::PatientRoot
            && let Some(pid) = selection.patient_id()
        {
            obj.put(DataElement::new(
                tags::PATIENT_ID,
                VR::LO,
                PrimitiveValue::from(pid),
            ));
        }
        obj.put(DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(selection.study_uid()),
        ));
        obj
    };
    match selection {
        Selection::Study { .. } => vec![base(QueryLevel::Study)],
        Selection::Series { series_uids, .. } => series_uids
            .iter()
            .map(|uid| {
                let mut obj = base(QueryLevel::Series);
                obj.put(DataElement::new(
                    tags::SERIES_INSTANCE_UID,
                    VR::UI,
                    PrimitiveValue::from(uid.as_str()),
                ));
                obj
            })
            .collect(),
        Selection::Instance {
            series_uid,
            sop_instance_uid,
            ..
        } => {
            let mut obj = base(QueryLevel::Image);
            obj.put(DataElement::new(
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(series_uid.as_str()),
            ));
            obj.put(DataElement::new(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(sop_instance_uid.as_str()),
            ));
            vec![obj]
        }
        _ => Vec::new(),
    }
}

/// The patient attributes of a STUDY-level result, as a PATIENT-level result.
fn patient_from_study(study: &QueryResult) -> QueryResult {
    let source = study.as_object();
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from("PATIENT"),
    ));
    for tag in [
        tags::SPECIFIC_CHARACTER_SET,
        tags::PATIENT_ID,
        tags::PATIENT_NAME,
        tags::PATIENT_BIRTH_DATE,
        tags::PATIENT_SEX,
    ] {
        if let Some(element) = source.get(tag) {
            obj.put(element.clone());
        }
    }
    QueryResult::new(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Status, SubOperations};
    use crate::scu::RetrieveSummary;

    #[test]
    fn identifiers_carry_only_the_unique_keys() {
        let series = Selection::series(Some("P1"), "1.2", ["1.2.1", "1.2.2"]);
        let ids = retrieve_identifiers(&series, QueryModel::StudyRoot);
        assert_eq!(ids.len(), 2);
        assert!(ids[0].get(tags::PATIENT_ID).is_none());
        assert_eq!(
            ids[1]
                .get(tags::SERIES_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap(),
            "1.2.2"
        );
        let ids = retrieve_identifiers(
            &Selection::study(Some("P1"), "1.2"),
            QueryModel::PatientRoot,
        );
        assert_eq!(
            ids[0].get(tags::PATIENT_ID).unwrap().to_str().unwrap(),
            "P1"
        );
        assert_eq!(ids[0].iter().count(), 3);
    }

    #[test]
    fn progress_counts_each_get_once_and_reports_missing_instances() {
        let mut p = Progress::default();
        let pending = |remaining, completed| {
            Ok(GetEvent::Progress(SubOperations {
                remaining: Some(remaining),
                completed,
                failed: 0,
                warning: 0,
            }))
        };
        assert!(matches!(
            p.map(pending(4, 1), "P")[..],
            [Ok(Retrieved::Expected(Expected { instances: 5, .. }))]
        ));
        assert!(p.map(pending(3, 2), "P").is_empty());
        let finished = Ok(GetEvent::Finished(RetrieveSummary {
            status: Status(0xB000),
            sub_operations: SubOperations {
                remaining: None,
                completed: 3,
                failed: 2,
                warning: 0,
            },
            failed_sop_instance_uids: vec!["1.2.3".into()],
            error_comment: None,
        }));
        let items = p.map(finished, "P");
        assert_eq!(items.len(), 2);
        assert!(
            matches!(&items[0], Ok(Retrieved::Missing { sop_instance_uid: Some(u), .. }) if u == "1.2.3")
        );
        assert!(matches!(
            &items[1],
            Ok(Retrieved::Missing {
                sop_instance_uid: None,
                ..
            })
        ));
        // A second C-GET adds to the total.
        assert!(matches!(
            p.map(pending(9, 1), "P")[..],
            [Ok(Retrieved::Expected(Expected { instances: 15, .. }))]
        ));
        // All failed, even with "success": an error (ADIT's rule).
        let all_failed = Ok(GetEvent::Finished(RetrieveSummary {
            status: Status::SUCCESS,
            sub_operations: SubOperations {
                remaining: None,
                completed: 0,
                failed: 10,
                warning: 0,
            },
            failed_sop_instance_uids: vec![],
            error_comment: None,
        }));
        assert!(matches!(p.map(all_failed, "P")[..], [Err(_)]));
    }
}
