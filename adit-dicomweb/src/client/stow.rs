//! STOW-RS: store instances in batches and read the per-instance outcome (PS3.18 §10.5).

use adit_core::instance::Instance;
use adit_core::sink::StoreOutcome;
use bytes::Bytes;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::stream;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};

use super::{DICOM_JSON, DicomWebClient, Service};
use crate::codec::json::from_json;
use crate::codec::multipart::{MultipartWriter, Part};
use crate::error::{Error, Result};

/// How many instances go into one STOW-RS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StowBatch {
    /// At most this many instances per request (at least 1).
    pub max_instances: usize,
    /// At most about this many bytes per request; a single larger instance goes alone.
    pub max_bytes: u64,
}

impl Default for StowBatch {
    fn default() -> Self {
        Self {
            max_instances: 50,
            max_bytes: 64 << 20,
        }
    }
}

impl StowBatch {
    /// Whether an instance of `size` bytes still fits into a batch holding `count` instances
    /// and `bytes` bytes.
    pub fn fits(&self, count: usize, bytes: u64, size: u64) -> bool {
        count == 0 || (count < self.max_instances.max(1) && bytes + size <= self.max_bytes)
    }

    /// Cuts instances into batches, keeping their order.
    pub fn split(&self, instances: Vec<Instance>) -> Vec<Vec<Instance>> {
        let mut batches: Vec<Vec<Instance>> = Vec::new();
        let mut bytes = 0;
        for instance in instances {
            let size = instance.size_hint();
            match batches.last_mut() {
                Some(batch) if self.fits(batch.len(), bytes, size) => {
                    bytes += size;
                    batch.push(instance);
                }
                _ => {
                    bytes = size;
                    batches.push(vec![instance]);
                }
            }
        }
        batches
    }
}

/// The answer to one STOW-RS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StowResponse {
    /// HTTP status (200 all stored, 202 some failed or with warnings, 409 none stored).
    pub status: u16,
    /// Each instance sent, by SOP Instance UID, in the order sent.
    pub outcomes: Vec<(String, StoreOutcome)>,
}

impl StowResponse {
    /// How many instances were stored (with or without warning).
    pub fn stored(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| !matches!(o, StoreOutcome::Failed(_)))
            .count()
    }
}

impl DicomWebClient {
    /// Stores instances, cutting them into requests as [`super::ClientConfig::stow_batch`]
    /// says. With `study`, they are posted to `/studies/{study}`, where the server rejects
    /// instances of other studies.
    pub async fn store(
        &self,
        study: Option<&str>,
        instances: Vec<Instance>,
    ) -> Result<StowResponse> {
        let mut all = StowResponse {
            status: 200,
            outcomes: Vec::with_capacity(instances.len()),
        };
        for batch in self.config().stow_batch.split(instances) {
            let response = self.store_batch(study, &batch).await?;
            all.status = all.status.max(response.status);
            all.outcomes.extend(response.outcomes);
        }
        Ok(all)
    }

    /// Stores instances in one request.
    ///
    /// The body is streamed from the instances' encoded bytes with an exact
    /// `Content-Length` and without `Expect: 100-continue` (which some servers, Orthanc
    /// among them, make the client wait a second for).
    pub async fn store_batch(
        &self,
        study: Option<&str>,
        batch: &[Instance],
    ) -> Result<StowResponse> {
        let mut segments = vec!["studies"];
        if let Some(study) = study {
            segments.push(study);
        }
        let url = self.url(Service::Stow, &segments);
        let operation = "STOW-RS";
        let writer = MultipartWriter::new();
        let mut chunks: Vec<Bytes> = Vec::with_capacity(batch.len() * 3 + 1);
        for instance in batch {
            let part10 = instance.to_part10().map_err(|e| Error::Dicom {
                what: format!("instance {}", instance.sop_instance_uid()),
                reason: e.to_string(),
            })?;
            let part = Part::new("application/dicom", part10);
            chunks.push(writer.part_header(&part));
            chunks.push(part.into_body());
            chunks.push(Bytes::from_static(b"\r\n"));
        }
        chunks.push(writer.closing());
        let length: usize = chunks.iter().map(Bytes::len).sum();
        let content_type = writer.content_type("application/dicom");
        let timeout = self.config().request_timeout;
        let response = self
            .send(
                operation,
                &url,
                |s| s.is_success() || s.as_u16() == 409,
                || {
                    let body =
                        stream::iter(chunks.clone().into_iter().map(Ok::<_, std::io::Error>));
                    self.http()
                        .post(url.clone())
                        .header(CONTENT_TYPE, content_type.as_str())
                        .header(CONTENT_LENGTH, length)
                        .header(ACCEPT, DICOM_JSON)
                        .timeout(timeout)
                        .body(reqwest::Body::wrap_stream(body))
                },
            )
            .await?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(operation, url.as_str(), e))?;
        let uids: Vec<&str> = batch.iter().map(Instance::sop_instance_uid).collect();
        let outcomes = parse_stow_response(status, &body, &uids)
            .map_err(|e| e.in_response(operation, url.as_str()))?;
        Ok(StowResponse { status, outcomes })
    }
}

/// Reads a STOW-RS response body: ReferencedSOPSequence items are stored (with their
/// WarningReason, if any), FailedSOPSequence items failed with their FailureReason. An
/// instance the response does not mention failed, unless the server answered 200 without
/// any sequence (then it stored everything and chose not to say so).
pub fn parse_stow_response(
    status: u16,
    body: &[u8],
    sent: &[&str],
) -> Result<Vec<(String, StoreOutcome)>> {
    let object = if body.iter().all(u8::is_ascii_whitespace) {
        InMemDicomObject::new_empty()
    } else {
        let json: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| Error::json("$", format!("not JSON: {e}")))?;
        // The standard answer is one object; some servers wrap it in an array.
        let json = match json {
            serde_json::Value::Array(mut items) if items.len() == 1 => items.remove(0),
            other => other,
        };
        from_json(&json)?.object
    };
    let items = |tag| {
        object
            .element(tag)
            .ok()
            .and_then(|e| e.items())
            .map(<[InMemDicomObject]>::to_vec)
    };
    let referenced = items(tags::REFERENCED_SOP_SEQUENCE);
    let failed = items(tags::FAILED_SOP_SEQUENCE);
    let uid_of = |item: &InMemDicomObject| {
        item.element(tags::REFERENCED_SOP_INSTANCE_UID)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
    };
    let code_of =
        |item: &InMemDicomObject, tag| item.element(tag).ok().and_then(|e| e.to_int::<u16>().ok());
    let nothing_said = referenced.is_none() && failed.is_none();
    let outcomes = sent
        .iter()
        .map(|uid| {
            let ok = referenced
                .iter()
                .flatten()
                .find(|i| uid_of(i).as_deref() == Some(uid));
            let bad = failed
                .iter()
                .flatten()
                .find(|i| uid_of(i).as_deref() == Some(uid));
            let outcome = if let Some(item) = bad {
                StoreOutcome::Failed(match code_of(item, tags::FAILURE_REASON) {
                    Some(code) => {
                        format!("STOW-RS FailureReason 0x{code:04X} ({})", reason_text(code))
                    }
                    None => "STOW-RS FailedSOPSequence without FailureReason".to_owned(),
                })
            } else if let Some(item) = ok {
                match code_of(item, tags::WARNING_REASON) {
                    Some(code) => StoreOutcome::Warning(format!(
                        "STOW-RS WarningReason 0x{code:04X} ({})",
                        reason_text(code)
                    )),
                    None => StoreOutcome::Stored,
                }
            } else if nothing_said && status == 200 {
                StoreOutcome::Stored
            } else {
                StoreOutcome::Failed(format!(
                    "HTTP {status}: the STOW-RS response does not list this instance"
                ))
            };
            ((*uid).to_owned(), outcome)
        })
        .collect();
    Ok(outcomes)
}

/// Meanings of the FailureReason and WarningReason codes of PS3.4 and PS3.18.
fn reason_text(code: u16) -> &'static str {
    match code {
        0x0110 => "processing failure",
        0x0112 => "no such object instance",
        0x0122 => "SOP class not supported",
        0x0124 => "not authorized",
        0xA700..=0xA7FF => "out of resources",
        0xA900..=0xA9FF => "data set does not match SOP class",
        0xC000..=0xCFFF => "cannot understand",
        0xB000 => "coercion of data elements",
        0xB006 => "elements discarded",
        0xB007 => "data set does not match SOP class (warning)",
        _ => "unknown code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_come_from_referenced_and_failed_sequences() {
        let body = br#"{
            "00081199": {"vr": "SQ", "Value": [
                {"00081155": {"vr": "UI", "Value": ["1.1"]}},
                {"00081155": {"vr": "UI", "Value": ["1.2"]}, "00081196": {"vr": "US", "Value": [45056]}}
            ]},
            "00081198": {"vr": "SQ", "Value": [
                {"00081155": {"vr": "UI", "Value": ["1.3"]}, "00081197": {"vr": "US", "Value": [272]}}
            ]}
        }"#;
        let out = parse_stow_response(202, body, &["1.1", "1.2", "1.3", "1.4"]).unwrap();
        assert_eq!(out[0].1, StoreOutcome::Stored);
        assert!(matches!(&out[1].1, StoreOutcome::Warning(w) if w.contains("0xB000")));
        assert!(matches!(&out[2].1, StoreOutcome::Failed(f) if f.contains("0x0110")));
        assert!(matches!(&out[3].1, StoreOutcome::Failed(f) if f.contains("does not list")));
        let silent = parse_stow_response(200, b"", &["1.1"]).unwrap();
        assert_eq!(silent[0].1, StoreOutcome::Stored);
        assert!(parse_stow_response(200, b"<html>", &["1.1"]).is_err());
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        let b = StowBatch {
            max_instances: 3,
            max_bytes: 100,
        };
        assert!(b.fits(0, 0, 1000), "a large instance goes alone");
        assert!(b.fits(2, 50, 50));
        assert!(!b.fits(3, 10, 10));
        assert!(!b.fits(1, 60, 50));
    }
}
