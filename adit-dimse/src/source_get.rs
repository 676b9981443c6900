//! Retrieval by C-GET for [`crate::DimseSource`]. A study of several series is fetched over as
//! many associations as the node's limit has free now (up to [`MAX_PARALLEL_GETS`]): a
//! series-level C-FIND lists the series, each association takes its next series from a shared
//! [`GetQueue`], and their instances are merged into one stream. Each association's channel
//! holds at most a few instances, so memory stays bounded by the number of associations; a
//! cancel or a dropped stream reaches every association (C-CANCEL, then A-ABORT).
//!
//! Extra associations leave [`crate::source::DEFAULT_SPARE_SLOTS`] (or what the source was
//! given) of the node's free slots to others. A node limited to one association, a study with
//! one series, or a failed series listing gets the single study-level C-GET as before.

use adit_core::model::{QueryLevel, QueryModel, QueryResult};
use adit_core::source::{Expected, RetrieveStream, Retrieved, Selection};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::limit;
use crate::options::{DimseOptions, PeerAddress};
use crate::scu::{self, GetEvent, GetQueue, GetStream, RetrieveSummary};
use crate::source::{retrieve_identifiers, study_identifier};

/// The most associations one retrieve opens, whatever the node allows: beyond a few, a PACS
/// mostly splits the same disk and CPU among them, and other users want slots too.
pub const MAX_PARALLEL_GETS: u16 = 4;

/// Starts a C-GET retrieve of `selection` and returns its stream. Extra associations leave
/// `spare_slots` of the node's free slots to others.
pub(crate) async fn retrieve(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    selection: &Selection,
    spare_slots: usize,
    cancel: CancellationToken,
) -> adit_core::Result<RetrieveStream> {
    // The first association takes one slot, extras must leave the spare ones.
    let width = peer
        .max_associations
        .map_or(usize::MAX, |max| {
            usize::from(max.get()).saturating_sub(spare_slots).max(1)
        })
        .min(usize::from(MAX_PARALLEL_GETS));
    let (identifiers, split) = plan(peer, options, model, selection, width).await;
    let queue = GetQueue::new(identifiers);
    // The first association waits for a slot like any other user of the node.
    let first =
        scu::get_from_queue(peer, options, model, queue.clone(), None, cancel.clone()).await?;
    let mut streams = vec![first];
    while streams.len() < width && !queue.is_empty() {
        // More only from slots free now: waiting for them could hold up other users (and,
        // taken in turn by several retrieves, deadlock), while the first one alone finishes.
        let permit = match peer.max_associations {
            Some(max) => {
                let key = peer.limit_key();
                if limit::available(&key).unwrap_or(0) <= spare_slots {
                    break;
                }
                match limit::try_acquire(&key, max) {
                    Some(permit) => Some(permit),
                    None => break,
                }
            }
            None => None,
        };
        match scu::get_from_queue(peer, options, model, queue.clone(), permit, cancel.clone()).await
        {
            Ok(stream) => streams.push(stream),
            Err(e) => {
                // The associations already open take every series; this one only adds speed.
                tracing::debug!(peer = %peer, "extra C-GET association not opened: {e}");
                break;
            }
        }
    }
    Ok(RetrieveStream {
        expected: None,
        items: merge(streams, split, peer.to_string()),
    })
}

/// The C-GET identifiers for `selection`, and whether a study was split into its series.
async fn plan(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    selection: &Selection,
    width: usize,
) -> (Vec<InMemDicomObject>, bool) {
    if width < 2 || !matches!(selection, Selection::Study { .. }) {
        return (retrieve_identifiers(selection, model), false);
    }
    match list_series(peer, options, model, selection).await {
        Ok(series) if series.len() > 1 => {
            let split = Selection::series(selection.patient_id(), selection.study_uid(), series);
            (retrieve_identifiers(&split, model), true)
        }
        Ok(_) => (retrieve_identifiers(selection, model), false),
        Err(e) => {
            tracing::info!(peer = %peer, "series-level C-FIND before C-GET failed: {e}");
            (retrieve_identifiers(selection, model), false)
        }
    }
}

/// The Series Instance UIDs of the selected study, by a series-level C-FIND.
async fn list_series(
    peer: &PeerAddress,
    options: &DimseOptions,
    model: QueryModel,
    selection: &Selection,
) -> crate::Result<Vec<String>> {
    let mut identifier = study_identifier(QueryLevel::Series, model, selection);
    identifier.put(DataElement::new(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::Empty,
    ));
    let mut results = scu::find(peer, options, model, &identifier, None).await?;
    let mut series = Vec::new();
    while let Some(result) = results.next().await {
        let uid = QueryResult::new(result?).series_instance_uid();
        // A peer may answer a series twice (or without UID); each is retrieved once.
        if let Some(uid) = uid
            && !series.contains(&uid)
        {
            series.push(uid);
        }
    }
    Ok(series)
}

/// The associations' events as one stream of `Retrieved` items.
fn merge(
    streams: Vec<GetStream>,
    split: bool,
    peer: String,
) -> futures::stream::BoxStream<'static, adit_core::Result<Retrieved>> {
    let progress = Progress::new(streams.len(), split);
    let merged = futures::stream::select_all(
        streams
            .into_iter()
            .enumerate()
            .map(|(worker, stream)| stream.map(move |event| (worker, event))),
    );
    futures::stream::unfold(Some((merged, progress)), move |state| {
        let peer = peer.clone();
        async move {
            let (mut merged, mut progress) = state?;
            match merged.next().await {
                Some((worker, event)) => {
                    Some((progress.map(worker, event, &peer), Some((merged, progress))))
                }
                None => progress.finish(&peer).map(|items| (items, None)),
            }
        }
    })
    .flat_map(futures::stream::iter)
    .boxed()
}

/// Turns C-GET events into `Retrieved` items, tracking the expected total over several C-GETs
/// (one per series, possibly on several associations at once).
#[derive(Debug)]
struct Progress {
    total: u64,
    /// Per association: whether its current C-GET was counted into `total`.
    counted_this_get: Vec<bool>,
    /// A study split into series: a failed series is reported as missing instances, and only
    /// when no series delivered anything is the retrieve an error, as for the study's C-GET.
    split: bool,
    completed: u64,
    missing: Vec<Retrieved>,
    failure: Option<RetrieveSummary>,
}

impl Progress {
    fn new(associations: usize, split: bool) -> Self {
        Self {
            total: 0,
            counted_this_get: vec![false; associations],
            split,
            completed: 0,
            missing: Vec::new(),
            failure: None,
        }
    }

    fn map(
        &mut self,
        worker: usize,
        event: crate::Result<GetEvent>,
        peer: &str,
    ) -> Vec<adit_core::Result<Retrieved>> {
        match event {
            Err(e) => vec![Err(e.into())],
            Ok(GetEvent::Instance(instance)) => vec![Ok(Retrieved::Instance(instance))],
            Ok(GetEvent::Progress(c)) => {
                let Some(counted) = self.counted_this_get.get_mut(worker) else {
                    return Vec::new();
                };
                if *counted {
                    return Vec::new();
                }
                *counted = true;
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
                if let Some(counted) = self.counted_this_get.get_mut(worker) {
                    *counted = false;
                }
                self.finished(summary, peer)
            }
        }
    }

    fn finished(
        &mut self,
        summary: RetrieveSummary,
        peer: &str,
    ) -> Vec<adit_core::Result<Retrieved>> {
        self.completed +=
            u64::from(summary.sub_operations.completed) + u64::from(summary.sub_operations.warning);
        let all_failed = summary.all_failed();
        if all_failed && !self.split {
            return vec![Err(failed(&summary, peer))];
        }
        let reason = format!(
            "C-GET sub-operation failed (final status {})",
            summary.status
        );
        let mut items: Vec<_> = summary
            .failed_sop_instance_uids
            .iter()
            .map(|uid| Retrieved::Missing {
                sop_instance_uid: Some(uid.clone()),
                reason: reason.clone(),
            })
            .collect();
        let unnamed = usize::from(summary.sub_operations.failed)
            .saturating_sub(summary.failed_sop_instance_uids.len());
        for _ in 0..unnamed {
            items.push(Retrieved::Missing {
                sop_instance_uid: None,
                reason: format!("{reason}; the peer did not name the instance"),
            });
        }
        if !self.split {
            return items.into_iter().map(Ok).collect();
        }
        if all_failed {
            if items.is_empty() {
                // Nothing counted, nothing named: the series as a whole is what is missing.
                items.push(Retrieved::Missing {
                    sop_instance_uid: None,
                    reason: failed(&summary, peer).to_string(),
                });
            }
            self.failure.get_or_insert(summary);
        }
        // Held until the end: only then is it known whether any series delivered.
        self.missing.extend(items);
        Vec::new()
    }

    /// What comes after the last event: for a split study, the missing instances, or an
    /// error when every series failed. `None` ends the stream.
    fn finish(&mut self, peer: &str) -> Option<Vec<adit_core::Result<Retrieved>>> {
        if let Some(summary) = self.failure.take()
            && self.completed == 0
        {
            self.missing.clear();
            return Some(vec![Err(failed(&summary, peer))]);
        }
        if self.missing.is_empty() {
            return None;
        }
        Some(
            std::mem::take(&mut self.missing)
                .into_iter()
                .map(Ok)
                .collect(),
        )
    }
}

fn failed(summary: &RetrieveSummary, peer: &str) -> adit_core::Error {
    Error::Failed {
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
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Status, SubOperations};

    fn pending(remaining: u16, completed: u16) -> crate::Result<GetEvent> {
        Ok(GetEvent::Progress(SubOperations {
            remaining: Some(remaining),
            completed,
            failed: 0,
            warning: 0,
        }))
    }

    fn finished(
        status: u16,
        completed: u16,
        failed: u16,
        named: &[&str],
    ) -> crate::Result<GetEvent> {
        Ok(GetEvent::Finished(RetrieveSummary {
            status: Status(status),
            sub_operations: SubOperations {
                remaining: None,
                completed,
                failed,
                warning: 0,
            },
            failed_sop_instance_uids: named.iter().map(|s| (*s).to_owned()).collect(),
            error_comment: None,
        }))
    }

    #[test]
    fn progress_counts_each_get_once_and_reports_missing_instances() {
        let mut p = Progress::new(1, false);
        assert!(matches!(
            p.map(0, pending(4, 1), "P")[..],
            [Ok(Retrieved::Expected(Expected { instances: 5, .. }))]
        ));
        assert!(p.map(0, pending(3, 2), "P").is_empty());
        let items = p.map(0, finished(0xB000, 3, 2, &["1.2.3"]), "P");
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
            p.map(0, pending(9, 1), "P")[..],
            [Ok(Retrieved::Expected(Expected { instances: 15, .. }))]
        ));
        // All failed, even with "success": an error (ADIT's rule).
        assert!(matches!(
            p.map(0, finished(0x0000, 0, 10, &[]), "P")[..],
            [Err(_)]
        ));
        assert!(p.finish("P").is_none());
    }

    #[test]
    fn parallel_gets_each_add_their_own_total_once() {
        let mut p = Progress::new(2, true);
        assert!(matches!(
            p.map(0, pending(4, 1), "P")[..],
            [Ok(Retrieved::Expected(Expected { instances: 5, .. }))]
        ));
        assert!(matches!(
            p.map(1, pending(2, 1), "P")[..],
            [Ok(Retrieved::Expected(Expected { instances: 8, .. }))]
        ));
        assert!(p.map(0, pending(3, 2), "P").is_empty());
        assert!(p.map(1, finished(0, 3, 0, &[]), "P").is_empty());
        // The next series on association 1 counts again; association 0 does not.
        assert!(matches!(
            p.map(1, pending(6, 1), "P")[..],
            [Ok(Retrieved::Expected(Expected { instances: 15, .. }))]
        ));
        assert!(p.map(0, pending(2, 3), "P").is_empty());
        assert!(p.finish("P").is_none());
    }

    #[test]
    fn a_failed_series_of_a_split_study_is_missing_while_the_others_count() {
        let mut p = Progress::new(2, true);
        assert!(p.map(0, finished(0, 5, 0, &[]), "P").is_empty());
        // Refused as a whole, nothing named: one missing item naming the failure.
        assert!(p.map(1, finished(0xC000, 0, 0, &[]), "P").is_empty());
        // Partly failed, one instance named.
        assert!(p.map(0, finished(0xB000, 2, 1, &["1.9"]), "P").is_empty());
        let items = p.finish("P").unwrap();
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(matches!(
            &items[0],
            Ok(Retrieved::Missing { sop_instance_uid: None, reason }) if reason.contains("C000")
                || reason.contains("c000") || reason.contains("C-GET")
        ));
        assert!(
            matches!(&items[1], Ok(Retrieved::Missing { sop_instance_uid: Some(u), .. }) if u == "1.9")
        );
        assert!(p.finish("P").is_none());
    }

    #[test]
    fn a_split_study_where_every_series_failed_is_an_error() {
        let mut p = Progress::new(2, true);
        assert!(p.map(0, finished(0xC000, 0, 3, &[]), "P").is_empty());
        assert!(p.map(1, finished(0xC000, 0, 0, &[]), "P").is_empty());
        assert!(matches!(p.finish("P").unwrap()[..], [Err(_)]));
        assert!(p.finish("P").is_none());
    }
}
