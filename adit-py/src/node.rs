//! `Node`: a DIMSE or DICOMweb peer used directly, without a server: echo, find, retrieve
//! (as an iterator of Part-10 bytes) and store.

use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Instant;

use adit_core::instance::Instance;
use adit_core::model::{
    AeTitle, DicomWebServer, DimseCapabilities, DimseServer, Query, QueryLevel,
};
use adit_core::sink::{Sink, StoreOutcome};
use adit_core::source::{Retrieved, Selection, Source};
use adit_dicomweb::codec::{BinaryMode, to_json};
use adit_dicomweb::{ClientConfig, DicomWebClient, DicomWebSink, DicomWebSource};
use adit_dimse::{DimseOptions, DimseSink, DimseSource, PeerAddress};
use futures::{StreamExt, TryStreamExt};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio_util::sync::CancellationToken;

use crate::errors::{from_core, from_dicomweb, from_dimse, invalid};
use crate::runtime::wait;
use crate::stream::PartStream;

/// How a node is reached.
enum Kind {
    Dimse {
        peer: PeerAddress,
        options: DimseOptions,
    },
    DicomWeb {
        client: DicomWebClient,
    },
}

/// A PACS or DICOMweb server.
#[pyclass(module = "adit_rs._native", frozen)]
pub struct Node {
    name: String,
    kind: Kind,
    source: Arc<dyn Source>,
    sink: Arc<dyn Sink>,
}

impl Node {
    /// The node as a transfer source.
    pub(crate) fn source(&self) -> Arc<dyn Source> {
        Arc::clone(&self.source)
    }

    /// The node as a transfer destination.
    pub(crate) fn sink(&self) -> Arc<dyn Sink> {
        Arc::clone(&self.sink)
    }
}

#[pymethods]
impl Node {
    /// A DIMSE node (C-ECHO, C-FIND, C-GET, C-STORE) at `ae_title@host:port`; we call
    /// ourselves `calling_ae_title` and store over up to `parallel` associations.
    #[staticmethod]
    #[pyo3(signature = (ae_title, host, port, calling_ae_title="ADIT", parallel=2))]
    fn dimse(
        ae_title: &str,
        host: &str,
        port: u16,
        calling_ae_title: &str,
        parallel: usize,
    ) -> PyResult<Self> {
        let ae = AeTitle::new(ae_title).map_err(|e| from_core(&e))?;
        AeTitle::new(calling_ae_title).map_err(|e| from_core(&e))?;
        let port = NonZeroU16::new(port).ok_or_else(|| invalid("port must not be 0"))?;
        let mut server = DimseServer::new(ae, host, port);
        // Used directly, a node is trusted with every service; the peer refuses what it lacks.
        server.capabilities = DimseCapabilities::all();
        let options = DimseOptions::with_calling_ae(calling_ae_title);
        let name = format!("{ae_title}@{host}:{port}");
        let source = DimseSource::new(name.clone(), server.clone(), options.clone());
        let sink = DimseSink::new(name.clone(), &server, options.clone(), parallel);
        Ok(Self {
            name,
            kind: Kind::Dimse {
                peer: PeerAddress::from(&server),
                options,
            },
            source: Arc::new(source),
            sink: Arc::new(sink),
        })
    }

    /// A DICOMweb node at `root_url` (e.g. `http://host:8042/dicom-web`); `authorization`
    /// is sent as the `Authorization` header (e.g. `"Token abc"` or `"Basic ..."`).
    #[staticmethod]
    #[pyo3(signature = (root_url, authorization=None, ca_bundle=None))]
    fn dicomweb(
        root_url: &str,
        authorization: Option<String>,
        ca_bundle: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        let mut server = DicomWebServer::new(root_url);
        server.authorization = authorization;
        let mut config = ClientConfig::from_server(&server);
        config.ca_bundle = ca_bundle;
        let client = DicomWebClient::new(config).map_err(|e| from_dicomweb(&e))?;
        let name = root_url.to_owned();
        Ok(Self {
            source: Arc::new(DicomWebSource::new(name.clone(), client.clone())),
            sink: Arc::new(DicomWebSink::new(name.clone(), client.clone())),
            name,
            kind: Kind::DicomWeb { client },
        })
    }

    /// The node's name in messages (`AE@host:port` or the root URL).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Checks that the node answers: C-ECHO for DIMSE, a one-result study search for
    /// DICOMweb. Returns the round trip in seconds.
    fn echo(&self, py: Python<'_>) -> PyResult<f64> {
        match &self.kind {
            Kind::Dimse { peer, options } => {
                let (peer, options) = (peer.clone(), options.clone());
                wait(py, async move {
                    adit_dimse::scu::echo(&peer, &options)
                        .await
                        .map(|d| d.as_secs_f64())
                        .map_err(|e| from_dimse(&e))
                })
            }
            Kind::DicomWeb { client } => {
                let client = client.clone();
                wait(py, async move {
                    let started = Instant::now();
                    let mut query = Query::new(QueryLevel::Study);
                    query.set_limit(Some(1));
                    let results = client.search(&query).await.map_err(|e| from_dicomweb(&e))?;
                    results
                        .try_collect::<Vec<_>>()
                        .await
                        .map_err(|e| from_dicomweb(&e))?;
                    Ok(started.elapsed().as_secs_f64())
                })
            }
        }
    }

    /// Searches at `level` (`PATIENT`, `STUDY`, `SERIES`, `IMAGE`) with `query` (keyword →
    /// value, ADIT's matching syntax) and returns the results as one DICOM JSON array.
    #[pyo3(signature = (level, query=None, limit=None))]
    fn find_json(
        &self,
        py: Python<'_>,
        level: &str,
        query: Option<Vec<(String, String)>>,
        limit: Option<u32>,
    ) -> PyResult<String> {
        let level: QueryLevel = level.parse().map_err(|e: adit_core::Error| from_core(&e))?;
        let mut q = Query::new(level);
        for (key, value) in query.unwrap_or_default() {
            q.set(&key, &value).map_err(|e| from_core(&e))?;
        }
        let mut q = q.with_default_return_keys();
        q.set_limit(limit);
        let source = self.source();
        wait(py, async move {
            let results = source.find(&q).await.map_err(|e| from_core(&e))?;
            let results: Vec<_> = results.try_collect().await.map_err(|e| from_core(&e))?;
            let json: Vec<_> = results
                .iter()
                .map(|r| to_json(r.as_object(), &BinaryMode::Inline))
                .collect();
            serde_json::to_string(&json).map_err(|e| invalid(e.to_string()))
        })
    }

    /// Retrieves a study (or some of its series, or one instance) and returns an iterator
    /// over the instances' Part-10 bytes as they arrive (C-GET for DIMSE, WADO-RS for
    /// DICOMweb). Closing the iterator stops the retrieve on the wire.
    #[pyo3(signature = (study_uid, series_uids=None, sop_instance_uid=None, patient_id=None))]
    fn retrieve(
        &self,
        study_uid: String,
        series_uids: Option<Vec<String>>,
        sop_instance_uid: Option<String>,
        patient_id: Option<String>,
    ) -> PyResult<PartStream> {
        let selection = selection(study_uid, series_uids, sop_instance_uid, patient_id)?;
        let source = self.source();
        PartStream::spawn(crate::stream::AHEAD, async move {
            let cancel = CancellationToken::new();
            let stream = source
                .retrieve(&selection, cancel.clone())
                .await
                .map_err(|e| from_core(&e))?;
            let guard = cancel.drop_guard();
            Ok(stream.items.filter_map(move |item| {
                let _keep = &guard;
                let out = match item {
                    Ok(Retrieved::Instance(instance)) => {
                        Some(instance.to_part10().map_err(|e| from_core(&e)))
                    }
                    Ok(_) => None,
                    Err(e) => Some(Err(from_core(&e))),
                };
                async move { out }
            }))
        })
    }

    /// Stores Part-10 files; returns counts of `stored`, `warnings` and `failed` and the
    /// failures' reasons.
    fn store<'py>(&self, py: Python<'py>, files: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyDict>> {
        let instances = files
            .into_iter()
            .map(Instance::from_part10)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| from_core(&e))?;
        let sink = self.sink();
        let (stored, warnings, failures) = wait(py, async move {
            let outcomes = futures::stream::iter(instances)
                .map(|i| sink.store(i))
                .buffered(4)
                .collect::<Vec<_>>()
                .await;
            let finished = sink.finish().await;
            let (mut stored, mut warnings, mut failures) = (0u64, 0u64, Vec::new());
            for outcome in outcomes {
                match outcome {
                    Ok(StoreOutcome::Stored) => stored += 1,
                    Ok(StoreOutcome::Warning(_)) => warnings += 1,
                    Ok(StoreOutcome::Failed(reason)) => failures.push(reason),
                    Err(e) => return Err(from_core(&e)),
                }
            }
            finished.map_err(|e| from_core(&e))?;
            Ok((stored, warnings, failures))
        })?;
        let dict = PyDict::new(py);
        dict.set_item("stored", stored)?;
        dict.set_item("warnings", warnings)?;
        dict.set_item("failed", failures.len())?;
        dict.set_item("failures", failures)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!("Node({})", self.name)
    }
}

/// What to retrieve, from the Python arguments.
pub(crate) fn selection(
    study_uid: String,
    series_uids: Option<Vec<String>>,
    sop_instance_uid: Option<String>,
    patient_id: Option<String>,
) -> PyResult<Selection> {
    if study_uid.trim().is_empty() {
        return Err(invalid("study_uid must not be empty"));
    }
    Ok(match (series_uids, sop_instance_uid) {
        (None, None) => Selection::Study {
            patient_id,
            study_uid,
        },
        (Some(series_uids), None) => Selection::Series {
            patient_id,
            study_uid,
            series_uids,
        },
        (Some(mut series), Some(sop_instance_uid)) if series.len() == 1 => Selection::Instance {
            patient_id,
            study_uid,
            series_uid: series.remove(0),
            sop_instance_uid,
        },
        _ => {
            return Err(invalid(
                "an instance is selected with exactly one series UID and its SOP Instance UID",
            ));
        }
    })
}
