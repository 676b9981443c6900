//! [`DicomWebSource`]: a DICOMweb server as an adit-core [`Source`] (QIDO-RS find, WADO-RS
//! retrieve).
//!
//! A retrieve first lists the selected instances with QIDO-RS, so that the engine knows how
//! many to expect and every listed instance that WADO-RS did not deliver is reported as
//! [`Retrieved::Missing`] by its SOP Instance UID (a WADO-RS response has no failure list,
//! unlike a C-GET's final status).

use adit_core::model::DicomWebServer;
use std::collections::BTreeSet;

use adit_core::model::{Query, QueryLevel};
use adit_core::source::{Expected, ResultStream, RetrieveStream, Retrieved, Selection, Source};
use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::client::{ClientConfig, DicomWebClient, WadoTarget};
use crate::error::Error;

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
        let listed = self.list_instances(selection).await?;
        let mut targets = targets.into_iter();
        // The first request goes out now so that a refused connection or a 404 is returned
        // from here, before the engine starts.
        let Some(first_target) = targets.next() else {
            return Ok(RetrieveStream {
                expected: None,
                items: stream::empty().boxed(),
            });
        };
        let first = self.client.retrieve(&first_target).await?;
        let client = self.client.clone();
        let rest = stream::iter(targets)
            .then(move |target| {
                let client = client.clone();
                async move { client.retrieve(&target).await }
            })
            .try_flatten();
        let instances: BoxStream<'static, crate::Result<_>> = first.chain(rest).boxed();
        let expected = listed.as_ref().map(|uids| Expected {
            instances: uids.len() as u64,
            bytes: None,
        });
        let items = instances
            .map_ok(Retrieved::Instance)
            .map_err(adit_core::Error::from)
            .boxed();
        let items = match listed {
            Some(uids) => report_missing(items, uids, self.client.root_url().to_owned()),
            None => items,
        };
        Ok(RetrieveStream {
            expected,
            items: until_cancelled(items, cancel),
        })
    }
}

impl DicomWebSource {
    /// The SOP Instance UIDs QIDO-RS lists for `selection`, or `None` when the server answers
    /// but cannot say (no QIDO-RS, an unusable answer): the retrieve then goes ahead without
    /// an expectation. Connection failures and timeouts are returned: WADO-RS would only
    /// meet them again after another round of retries.
    async fn list_instances(
        &self,
        selection: &Selection,
    ) -> adit_core::Result<Option<BTreeSet<String>>> {
        let study = selection.study_uid();
        let series: Vec<Option<&str>> = match selection {
            Selection::Study { .. } => vec![None],
            _ => selection
                .series_uids()
                .iter()
                .map(|s| Some(s.as_str()))
                .collect(),
        };
        let mut uids = BTreeSet::new();
        for series in series {
            let mut query = Query::builder(QueryLevel::Image)
                .key("StudyInstanceUID", study)
                .return_key("SOPInstanceUID");
            if let Some(series) = series {
                query = query.key("SeriesInstanceUID", series);
            }
            if let Selection::Instance {
                sop_instance_uid, ..
            } = selection
            {
                query = query.key("SOPInstanceUID", sop_instance_uid);
            }
            match self.search_uids(&query.build()?).await {
                Ok(listed) => uids.extend(listed),
                Err(error @ (Error::Status { .. } | Error::InvalidResponse { .. })) => {
                    tracing::warn!(
                        source = %self.name, %error,
                        "QIDO-RS cannot list the instances to retrieve; missing instances \
                         will not be named"
                    );
                    return Ok(None);
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Some(uids))
    }

    async fn search_uids(&self, query: &Query) -> crate::Result<Vec<String>> {
        let results: Vec<_> = self.client.search(query).await?.try_collect().await?;
        Ok(results
            .iter()
            .filter_map(adit_core::model::QueryResult::sop_instance_uid)
            .collect())
    }
}

/// Passes `items` on, and after their end reports each of `listed` that did not arrive as
/// [`Retrieved::Missing`]. After an error nothing more is reported: the error ends the
/// retrieve anyway.
fn report_missing(
    items: BoxStream<'static, adit_core::Result<Retrieved>>,
    listed: BTreeSet<String>,
    server: String,
) -> BoxStream<'static, adit_core::Result<Retrieved>> {
    enum State {
        Streaming {
            items: BoxStream<'static, adit_core::Result<Retrieved>>,
            waiting: BTreeSet<String>,
        },
        Missing(std::collections::btree_set::IntoIter<String>),
    }
    let reason = format!("listed by QIDO-RS but not delivered by WADO-RS from {server}");
    stream::unfold(
        Some(State::Streaming {
            items,
            waiting: listed,
        }),
        move |state| {
            let reason = reason.clone();
            async move {
                match state? {
                    State::Streaming {
                        mut items,
                        mut waiting,
                    } => match items.next().await {
                        Some(Ok(Retrieved::Instance(instance))) => {
                            waiting.remove(instance.sop_instance_uid());
                            Some((
                                Ok(Retrieved::Instance(instance)),
                                Some(State::Streaming { items, waiting }),
                            ))
                        }
                        Some(Err(e)) => Some((Err(e), None)),
                        Some(Ok(other)) => {
                            Some((Ok(other), Some(State::Streaming { items, waiting })))
                        }
                        None => {
                            let mut missing = waiting.into_iter();
                            let first = missing.next()?;
                            Some((
                                Ok(Retrieved::Missing {
                                    sop_instance_uid: Some(first),
                                    reason,
                                }),
                                Some(State::Missing(missing)),
                            ))
                        }
                    },
                    State::Missing(mut missing) => {
                        let uid = missing.next()?;
                        Some((
                            Ok(Retrieved::Missing {
                                sop_instance_uid: Some(uid),
                                reason,
                            }),
                            Some(State::Missing(missing)),
                        ))
                    }
                }
            }
        },
    )
    .boxed()
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
