//! [`DimseSource`]: the `adit-core` [`Source`] for a DIMSE server, choosing the information
//! model and C-GET or C-MOVE from the node's capabilities as ADIT does. A study by C-GET is
//! retrieved one series per association, over several at once where the node allows it.

use std::collections::HashSet;
use std::sync::Arc;

use adit_core::model::{
    DimseRetrieve, DimseServer, Query, QueryLevel, QueryModel, QueryResult, matches,
};
use adit_core::source::{ResultStream, RetrieveStream, Selection, Source};
use async_trait::async_trait;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::options::{DimseOptions, PeerAddress};
use crate::scp::MoveCoordinator;
use crate::scu;

/// Free association slots of a node a retrieve leaves to others by default; see
/// [`DimseSource::with_spare_slots`].
pub const DEFAULT_SPARE_SLOTS: usize = 1;

/// A DIMSE server as a place to find and retrieve from.
#[derive(Debug, Clone)]
pub struct DimseSource {
    name: String,
    server: DimseServer,
    peer: PeerAddress,
    options: DimseOptions,
    coordinator: Option<Arc<MoveCoordinator>>,
    spare_slots: usize,
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
            spare_slots: DEFAULT_SPARE_SLOTS,
        }
    }

    /// Lets this source retrieve by C-MOVE: the coordinator's receiver is the move
    /// destination. Without one, a node that offers only C-MOVE cannot be retrieved from.
    pub fn with_move_coordinator(mut self, coordinator: Arc<MoveCoordinator>) -> Self {
        self.coordinator = Some(coordinator);
        self
    }

    /// How many free association slots of the node a C-GET retrieve leaves to others when it
    /// opens extra associations (default [`DEFAULT_SPARE_SLOTS`]). Leaving one keeps a consumer
    /// that itself needs the node, or a node the other way round, from waiting on slots this
    /// retrieve holds while it waits on that consumer: a transfer to the same node, or two
    /// transfers in opposite directions. A consumer that needs no DIMSE slot to take the
    /// instances (an HTTP response) may use 0.
    pub fn with_spare_slots(mut self, spare_slots: usize) -> Self {
        self.spare_slots = spare_slots;
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
        crate::source_get::retrieve(
            &self.peer,
            &self.options,
            plan.model,
            selection,
            self.spare_slots,
            cancel,
        )
        .await
    }
}

/// An identifier at `level` for the selection's study: the level, the Patient ID under the
/// patient root model, and the Study Instance UID.
pub(crate) fn study_identifier(
    level: QueryLevel,
    model: QueryModel,
    selection: &Selection,
) -> InMemDicomObject {
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
}

/// The C-GET identifiers for a selection: level and unique keys only (Orthanc answers 0xC000
/// to a C-GET whose identifier carries empty return keys). One identifier per series.
pub(crate) fn retrieve_identifiers(
    selection: &Selection,
    model: QueryModel,
) -> Vec<InMemDicomObject> {
    let base = |level: QueryLevel| study_identifier(level, model, selection);
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
}
