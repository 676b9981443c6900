//! WADO-RS: retrieve instances as `multipart/related` part by part, and metadata as DICOM
//! JSON (PS3.18 §10.4).

use adit_core::instance::Instance;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{DicomWebClient, Service};
use crate::codec::json::{Decoded, from_json_slice};
use crate::codec::media_type::MultipartRelated;
use crate::codec::multipart::{MultipartReader, Part};
use crate::error::{Error, Result};

/// What to retrieve.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WadoTarget {
    /// A whole study.
    Study {
        /// StudyInstanceUID.
        study: String,
    },
    /// One series.
    Series {
        /// StudyInstanceUID.
        study: String,
        /// SeriesInstanceUID.
        series: String,
    },
    /// One instance.
    Instance {
        /// StudyInstanceUID.
        study: String,
        /// SeriesInstanceUID.
        series: String,
        /// SOPInstanceUID.
        instance: String,
    },
}

impl WadoTarget {
    /// The resource path segments.
    pub fn segments(&self) -> Vec<&str> {
        match self {
            Self::Study { study } => vec!["studies", study],
            Self::Series { study, series } => vec!["studies", study, "series", series],
            Self::Instance {
                study,
                series,
                instance,
            } => vec!["studies", study, "series", series, "instances", instance],
        }
    }
}

/// The transfer syntax asked for in the `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WadoTransferSyntax {
    /// No `transfer-syntax` parameter: the standard default (Explicit VR Little Endian), or
    /// what the server stores, depending on the server.
    Default,
    /// `transfer-syntax=*`: as stored, no transcoding (the fastest; ADIT's passthrough).
    #[default]
    AsStored,
    /// A specific transfer syntax UID.
    Uid(String),
}

impl WadoTransferSyntax {
    fn accept(&self) -> String {
        match self {
            Self::Default => "multipart/related; type=\"application/dicom\"".to_owned(),
            Self::AsStored => {
                "multipart/related; type=\"application/dicom\"; transfer-syntax=*".to_owned()
            }
            Self::Uid(uid) => {
                format!("multipart/related; type=\"application/dicom\"; transfer-syntax={uid}")
            }
        }
    }
}

impl DicomWebClient {
    /// Retrieves `target`, yielding the parts of the multipart response as they arrive.
    ///
    /// Memory stays at about one part: dropping the stream closes the connection.
    pub async fn retrieve_parts(
        &self,
        target: &WadoTarget,
    ) -> Result<BoxStream<'static, Result<Part>>> {
        let url = self.url(Service::Wado, &target.segments());
        let operation = "WADO-RS retrieve";
        let accept = self.config().wado_transfer_syntax.accept();
        let response = self
            .send(
                operation,
                &url,
                |s| s.is_success(),
                || self.http().get(url.clone()).header(ACCEPT, accept.as_str()),
            )
            .await?;
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let related = MultipartRelated::from_content_type(&content_type)
            .map_err(|e| e.in_response(operation, url.as_str()))?;
        let url_text = url.to_string();
        let err_url = url_text.clone();
        let body = response
            .bytes_stream()
            .map_err(move |e| Error::from_reqwest(operation, &err_url, e));
        let reader = MultipartReader::new(Box::pin(body), &related.boundary)
            .map_err(|e| e.in_response(operation, &url_text))?
            .with_max_part_size(self.config().max_part_size);
        Ok(reader
            .into_stream()
            .map_err(move |e| e.in_response(operation, &url_text))
            .boxed())
    }

    /// Retrieves `target` as instances, one per `application/dicom` part.
    ///
    /// A part that is not DICOM (a server's error note appended mid-stream, as ADIT's own
    /// API does) ends the stream with [`Error::InvalidResponse`] naming its content.
    pub async fn retrieve(
        &self,
        target: &WadoTarget,
    ) -> Result<BoxStream<'static, Result<Instance>>> {
        let parts = self.retrieve_parts(target).await?;
        let url = self.url(Service::Wado, &target.segments()).to_string();
        Ok(parts
            .and_then(move |part| {
                let result = part_to_instance(part, &url);
                async move { result }
            })
            .boxed())
    }

    /// The metadata of `target`: one data set per instance, bulk data as URIs.
    pub async fn metadata(&self, target: &WadoTarget) -> Result<Vec<Decoded>> {
        let mut segments = target.segments();
        segments.push("metadata");
        let url = self.url(Service::Wado, &segments);
        let operation = "WADO-RS metadata";
        let body = self.get_json(operation, &url).await?;
        from_json_slice(&body).map_err(|e| e.in_response(operation, url.as_str()))
    }
}

fn part_to_instance(part: Part, url: &str) -> Result<Instance> {
    let operation = "WADO-RS retrieve";
    let content_type = part.content_type().unwrap_or("application/dicom");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/dicom")
    {
        let preview: String = String::from_utf8_lossy(&part.body()[..part.body().len().min(200)])
            .chars()
            .collect();
        return Err(Error::InvalidResponse {
            operation: operation.into(),
            url: url.into(),
            reason: format!("part of type `{content_type}` instead of DICOM: {preview}"),
        });
    }
    Instance::from_part10(part.into_body()).map_err(|e| Error::InvalidResponse {
        operation: operation.into(),
        url: url.into(),
        reason: e.to_string(),
    })
}
