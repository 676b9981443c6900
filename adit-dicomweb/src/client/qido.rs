//! QIDO-RS: search for studies, series and instances (PS3.18 §10.6).

use std::collections::HashSet;

use adit_core::model::{Query, QueryLevel, QueryResult, QueryValue};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use super::{DicomWebClient, Service};
use crate::codec::json::from_json_slice;
use crate::error::Result;

/// The resource path and parameters a query is sent as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QidoPath {
    /// Path segments after the QIDO prefix, e.g. `["studies", "1.2", "series"]`.
    pub segments: Vec<String>,
    /// Query parameters: the matching keys, then `includefield`, without paging.
    pub params: Vec<(String, String)>,
}

impl QidoPath {
    /// Maps a query onto QIDO-RS.
    ///
    /// A single StudyInstanceUID (and SeriesInstanceUID for instances) moves into the path
    /// (`/studies/{uid}/series`); other keys with a value become matching parameters (dates
    /// and times as ranges, UID lists comma-separated); every key becomes an `includefield`,
    /// as ADIT does. PATIENT level is searched as studies (QIDO has no patient resource).
    pub fn from_query(query: &Query) -> Self {
        let study = query.single(tags::STUDY_INSTANCE_UID).map(str::to_owned);
        let series = query.single(tags::SERIES_INSTANCE_UID).map(str::to_owned);
        let mut in_path = Vec::new();
        let segments: Vec<String> = match (query.level(), &study, &series) {
            (QueryLevel::Patient | QueryLevel::Study, _, _) => vec!["studies".into()],
            (QueryLevel::Series, Some(st), _) => {
                in_path.push(tags::STUDY_INSTANCE_UID);
                vec!["studies".into(), st.clone(), "series".into()]
            }
            (QueryLevel::Series, None, _) => vec!["series".into()],
            (QueryLevel::Image, Some(st), Some(se)) => {
                in_path.extend([tags::STUDY_INSTANCE_UID, tags::SERIES_INSTANCE_UID]);
                vec![
                    "studies".into(),
                    st.clone(),
                    "series".into(),
                    se.clone(),
                    "instances".into(),
                ]
            }
            (QueryLevel::Image, Some(st), None) => {
                in_path.push(tags::STUDY_INSTANCE_UID);
                vec!["studies".into(), st.clone(), "instances".into()]
            }
            (QueryLevel::Image, None, _) => vec!["instances".into()],
        };
        let mut params = Vec::new();
        let mut include = Vec::new();
        for (attribute, value) in query.keys() {
            if in_path.contains(&attribute.tag()) {
                continue;
            }
            include.push(attribute.keyword());
            let text = match value {
                QueryValue::Empty => continue,
                QueryValue::Multi(values) if attribute.vr() == VR::UI => values.join(","),
                other => other.to_dicom_string(),
            };
            params.push((attribute.keyword().to_owned(), text));
        }
        // One parameter per field: the standard allows a comma-separated list too, but
        // Orthanc's plugin (1.7) only honours repeated parameters.
        params.extend(
            include
                .into_iter()
                .map(|keyword| ("includefield".to_owned(), keyword.to_owned())),
        );
        Self { segments, params }
    }
}

impl DicomWebClient {
    /// Searches at `query.level()`, streaming results page by page.
    ///
    /// With [`super::ClientConfig::page_size`] set, pages are fetched with `limit`/`offset`
    /// until a short page; `query.limit()` caps the total either way. PATIENT queries are
    /// sent as study searches and de-duplicated by PatientID. Each result carries
    /// QueryRetrieveLevel.
    pub async fn search(&self, query: &Query) -> Result<BoxStream<'static, Result<QueryResult>>> {
        let path = QidoPath::from_query(query);
        let total = query.limit().map(u64::from);
        let page_size = self
            .config()
            .page_size
            .map(u64::from)
            .map(|p| total.map_or(p, |t| p.min(t)));
        let level = query.level();
        let client = self.clone();

        // Fetch the first page now, so that errors before the first result are returned here.
        let first_limit = page_size.or(total);
        let first = client.search_page(&path, 0, first_limit).await?;
        let state = PageState {
            client,
            path,
            fetched: u64::try_from(first.len()).unwrap_or(u64::MAX),
            done: page_size.is_none_or(|p| (first.len() as u64) < p),
            page_size,
            total,
        };
        let rest = stream::try_unfold(state, |mut st| async move {
            if st.done || st.total.is_some_and(|t| st.fetched >= t) {
                return Ok(None);
            }
            let Some(page_size) = st.page_size else {
                return Ok(None);
            };
            let limit = st
                .total
                .map_or(page_size, |t| page_size.min(t - st.fetched));
            let page = st
                .client
                .search_page(&st.path, st.fetched, Some(limit))
                .await?;
            st.fetched += page.len() as u64;
            st.done = (page.len() as u64) < limit;
            Ok(Some((page, st)))
        });
        let pages = stream::once(async { Ok(first) }).chain(rest);
        let mut results = pages
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed();
        if let Some(total) = total {
            results = results
                .take(usize::try_from(total).unwrap_or(usize::MAX))
                .boxed();
        }
        let results = results.map_ok(move |mut r| {
            r.as_object_mut().put(DataElement::new(
                tags::QUERY_RETRIEVE_LEVEL,
                VR::CS,
                PrimitiveValue::from(level.as_str()),
            ));
            r
        });
        if level == QueryLevel::Patient {
            let mut seen = HashSet::new();
            return Ok(results
                .try_filter(move |r| {
                    let new = seen.insert(r.patient_id().unwrap_or_default());
                    async move { new }
                })
                .boxed());
        }
        Ok(results.boxed())
    }

    /// One QIDO-RS request.
    async fn search_page(
        &self,
        path: &QidoPath,
        offset: u64,
        limit: Option<u64>,
    ) -> Result<Vec<QueryResult>> {
        let segments: Vec<&str> = path.segments.iter().map(String::as_str).collect();
        let mut url = self.url(Service::Qido, &segments);
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &path.params {
                pairs.append_pair(k, v);
            }
            if let Some(limit) = limit {
                pairs.append_pair("limit", &limit.to_string());
            }
            if offset > 0 {
                pairs.append_pair("offset", &offset.to_string());
            }
        }
        let operation = format!(
            "QIDO-RS {}",
            path.segments.last().map_or("", String::as_str)
        );
        let body = self.get_json(&operation, &url).await?;
        let decoded =
            from_json_slice(&body).map_err(|e| e.in_response(&operation, url.as_str()))?;
        Ok(decoded
            .into_iter()
            .map(|d| QueryResult::new(d.object))
            .collect())
    }
}

struct PageState {
    client: DicomWebClient,
    path: QidoPath,
    fetched: u64,
    done: bool,
    page_size: Option<u64>,
    total: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_move_into_the_path_and_keys_become_filters_and_includefields() {
        let q = Query::builder(QueryLevel::Series)
            .key("StudyInstanceUID", "1.2.3")
            .key("Modality", "CT")
            .return_key("SeriesDescription")
            .build()
            .unwrap();
        let p = QidoPath::from_query(&q);
        assert_eq!(p.segments, ["studies", "1.2.3", "series"]);
        assert_eq!(
            p.params,
            [
                ("Modality".to_owned(), "CT".to_owned()),
                ("includefield".to_owned(), "Modality".to_owned()),
                ("includefield".to_owned(), "SeriesDescription".to_owned()),
            ]
        );

        let q = Query::builder(QueryLevel::Study)
            .key("StudyDate", "20200101-")
            .key("StudyInstanceUID", "1.2\\1.3")
            .build()
            .unwrap();
        let p = QidoPath::from_query(&q);
        assert_eq!(p.segments, ["studies"]);
        assert_eq!(p.params[0], ("StudyDate".into(), "20200101-".into()));
        assert_eq!(p.params[1], ("StudyInstanceUID".into(), "1.2,1.3".into()));

        let q = Query::builder(QueryLevel::Image)
            .key("StudyInstanceUID", "1.2")
            .key("SeriesInstanceUID", "1.2.1")
            .build()
            .unwrap();
        assert_eq!(
            QidoPath::from_query(&q).segments,
            ["studies", "1.2", "series", "1.2.1", "instances"]
        );
        assert_eq!(
            QidoPath::from_query(&Query::new(QueryLevel::Image)).segments,
            ["instances"]
        );
    }
}
