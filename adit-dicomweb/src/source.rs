//! [`DicomWebSource`]: a DICOMweb server as an adit-core [`Source`] (QIDO-RS find, WADO-RS
//! retrieve).

use adit_core::model::DicomWebServer;
use adit_core::source::{ResultStream, RetrieveStream, Retrieved, Selection, Source};
use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::client::{ClientConfig, DicomWebClient, WadoTarget};

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
        let items = until_cancelled(
            instances
                .map_ok(Retrieved::Instance)
                .map_err(adit_core::Error::from)
                .boxed(),
            cancel,
        );
        Ok(RetrieveStream {
            expected: None,
            items,
        })
    }
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
