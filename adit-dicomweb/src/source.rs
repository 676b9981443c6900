//! [`DicomWebSource`]: a DICOMweb server as an adit-core [`Source`] (QIDO-RS find, WADO-RS
//! retrieve).
//!
//! A retrieve first asks QIDO-RS only for the selected series' instance counts (a
//! series-level search, far cheaper than listing every instance), so that the engine knows
//! how many to expect. Only when WADO-RS delivers fewer are the instances listed, and each
//! listed one that did not arrive is reported as [`Retrieved::Missing`] by its SOP Instance
//! UID.

use adit_core::model::DicomWebServer;
use std::collections::BTreeSet;

use adit_core::model::{Query, QueryLevel, QueryResult};
use adit_core::source::{ResultStream, RetrieveStream, Retrieved, Selection, Source};
use async_trait::async_trait;
use futures::FutureExt;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::client::{ClientConfig, DicomWebClient, WadoTarget};
use crate::error::Error;

mod check;
use check::{Check, report_undelivered};

/// Searches with QIDO-RS and retrieves with WADO-RS.
#[derive(Debug, Clone)]
pub struct DicomWebSource {
    name: String,
    client: DicomWebClient,
}

impl DicomWebSource {
    /// A source named `name` (for reports) using `client`.
    pub fn new(name: impl Into<String>, client: DicomWebClient) -> Self {
        Self {
            name: name.into(),
            client,
        }
    }

    /// A source for a configured node, with default timeouts and retries.
    pub fn from_server(name: impl Into<String>, server: &DicomWebServer) -> crate::Result<Self> {
        Ok(Self::new(
            name,
            DicomWebClient::new(ClientConfig::from_server(server))?,
        ))
    }

    /// The client.
    pub fn client(&self) -> &DicomWebClient {
        &self.client
    }
}

#[async_trait]
impl Source for DicomWebSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn find(&self, query: &adit_core::model::Query) -> adit_core::Result<ResultStream> {
        let results = self.client.search(query).await?;
        Ok(results.map_err(adit_core::Error::from).boxed())
    }

    async fn retrieve(
        &self,
        selection: &Selection,
        cancel: CancellationToken,
    ) -> adit_core::Result<RetrieveStream> {
        let study = selection.study_uid().to_owned();
        let targets: Vec<WadoTarget> = match selection {
            Selection::Instance {
                series_uid,
                sop_instance_uid,
                ..
            } => vec![WadoTarget::Instance {
                study,
                series: series_uid.clone(),
                instance: sop_instance_uid.clone(),
            }],
            _ if selection.series_uids().is_empty() => vec![WadoTarget::Study { study }],
            _ => selection
                .series_uids()
                .iter()
                .map(|series| WadoTarget::Series {
                    study: study.clone(),
                    series: series.clone(),
                })
                .collect(),
        };
        let mut targets = targets.into_iter();
        let Some(first_target) = targets.next() else {
            return Ok(RetrieveStream {
                expected: None,
                items: stream::empty().boxed(),
            });
        };
        // Counted before the first response is open, so that a slow fallback listing cannot
        // leave that response unread long enough for a timeout.
        let check = self.check(selection).await?;
        // The first request goes out now so that a refused connection or a 404 is returned
        // from here, before the engine starts.
        let first = self.client.retrieve(&first_target).await?;
        let client = self.client.clone();
        let rest = stream::iter(targets)
            .then(move |target| {
                let client = client.clone();
                async move { client.retrieve(&target).await }
            })
            .try_flatten();
        let instances: BoxStream<'static, crate::Result<_>> = first.chain(rest).boxed();
        let expected = check.expected();
        let items = instances
            .map_ok(Retrieved::Instance)
            .map_err(adit_core::Error::from)
            .boxed();
        let items = report_undelivered(items, check, self.client.root_url().to_owned());
        Ok(RetrieveStream {
            expected,
            items: until_cancelled(items, cancel),
        })
    }
}

impl DicomWebSource {
    /// What the retrieve of `selection` is checked against. A single instance needs no
    /// question; otherwise one series-level QIDO-RS asks for the series' instance counts,
    /// and only where a count is missing are all instances listed (slow on many servers).
    /// Connection failures and timeouts are returned: WADO-RS would only meet them again
    /// after another round of retries.
    async fn check(&self, selection: &Selection) -> adit_core::Result<Check> {
        if let Selection::Instance {
            sop_instance_uid, ..
        } = selection
        {
            return Ok(Check::Listed(BTreeSet::from([sop_instance_uid.clone()])));
        }
        let query = Query::builder(QueryLevel::Series)
            .key("StudyInstanceUID", selection.study_uid())
            .return_key("SeriesInstanceUID")
            .return_key("NumberOfSeriesRelatedInstances")
            .build()?;
        match self.count_instances(&query, selection.series_uids()).await {
            Ok(Some(instances)) => {
                let source = self.clone();
                let queries = instance_queries(selection)?;
                Ok(Check::Counted {
                    instances,
                    listing: async move { source.list_uids(&queries).await }.boxed(),
                })
            }
            Ok(None) | Err(Error::Status { .. } | Error::InvalidResponse { .. }) => Ok(self
                .list_instances(selection)
                .await?
                .map_or(Check::Unknown, Check::Listed)),
            Err(error) => Err(error.into()),
        }
    }

    /// The number of instances in `series` (all of the study's when empty), summed from
    /// NumberOfSeriesRelatedInstances in the answer to `query`, or `None` when the answer
    /// lacks a count (the attribute is optional for a server) or a selected series.
    async fn count_instances(
        &self,
        query: &Query,
        series: &[String],
    ) -> crate::Result<Option<u64>> {
        let results: Vec<QueryResult> = self.client.search(query).await?.try_collect().await?;
        let count = |r: &QueryResult| {
            r.number_of_series_related_instances()
                .and_then(|n| u64::try_from(n).ok())
        };
        if series.is_empty() {
            if results.is_empty() {
                return Ok(None);
            }
            return Ok(total(results.iter().map(count)));
        }
        Ok(total(series.iter().map(|uid| {
            results
                .iter()
                .find(|r| r.series_instance_uid().as_deref() == Some(uid.as_str()))
                .and_then(count)
        })))
    }

    /// The SOP Instance UIDs QIDO-RS lists for `selection`, or `None` when the server answers
    /// but cannot say (no QIDO-RS, an unusable answer): the retrieve then goes ahead without
    /// an expectation. Connection failures and timeouts are returned.
    async fn list_instances(
        &self,
        selection: &Selection,
    ) -> adit_core::Result<Option<BTreeSet<String>>> {
        match self.list_uids(&instance_queries(selection)?).await {
            Ok(uids) => Ok(Some(uids)),
            Err(error @ (Error::Status { .. } | Error::InvalidResponse { .. })) => {
                tracing::warn!(
                    source = %self.name, %error,
                    "QIDO-RS cannot list the instances to retrieve; missing instances \
                     will not be named"
                );
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The SOP Instance UIDs the instance-level `queries` list.
    async fn list_uids(&self, queries: &[Query]) -> crate::Result<BTreeSet<String>> {
        let mut uids = BTreeSet::new();
        for query in queries {
            uids.extend(self.search_uids(query).await?);
        }
        Ok(uids)
    }

    async fn search_uids(&self, query: &Query) -> crate::Result<Vec<String>> {
        let results: Vec<_> = self.client.search(query).await?.try_collect().await?;
        Ok(results
            .iter()
            .filter_map(adit_core::model::QueryResult::sop_instance_uid)
            .collect())
    }
}

/// The sum of `counts`, `None` if one is missing; saturating, since the counts come from
/// the server.
fn total(mut counts: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    counts.try_fold(0u64, |sum, count| Some(sum.saturating_add(count?)))
}

/// The instance-level QIDO-RS queries that list `selection`, one per selected series. A
/// single instance is never listed: [`DicomWebSource::check`] knows it already.
fn instance_queries(selection: &Selection) -> adit_core::Result<Vec<Query>> {
    let study = selection.study_uid();
    let series: Vec<Option<&str>> = match selection {
        Selection::Study { .. } => vec![None],
        _ => selection
            .series_uids()
            .iter()
            .map(|s| Some(s.as_str()))
            .collect(),
    };
    series
        .into_iter()
        .map(|series| {
            let mut query = Query::builder(QueryLevel::Image)
                .key("StudyInstanceUID", study)
                .return_key("SOPInstanceUID");
            if let Some(series) = series {
                query = query.key("SeriesInstanceUID", series);
            }
            query.build()
        })
        .collect()
}

/// Ends `items` with [`adit_core::Error::Cancelled`] as soon as `cancel` fires; dropping the
/// inner stream closes the HTTP response, which stops the transfer on the wire.
fn until_cancelled(
    items: BoxStream<'static, adit_core::Result<Retrieved>>,
    cancel: CancellationToken,
) -> BoxStream<'static, adit_core::Result<Retrieved>> {
    stream::unfold(Some((items, cancel)), |state| async move {
        let (mut items, cancel) = state?;
        tokio::select! {
            biased;
            () = cancel.cancelled() => Some((Err(adit_core::Error::Cancelled), None)),
            item = items.next() => match item {
                Some(Err(e)) => Some((Err(e), None)),
                Some(ok) => Some((ok, Some((items, cancel)))),
                None => None,
            },
        }
    })
    .boxed()
}
