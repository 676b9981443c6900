//! [`Source`]: where instances come from (a PACS over DIMSE or DICOMweb, a folder).

use async_trait::async_trait;
use futures::stream::BoxStream;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::instance::Instance;
use crate::model::{Query, QueryResult};

/// Results of a find, streamed as the peer sends them.
///
/// Dropping the stream before its end means "stop": implementors must then stop the search
/// on the wire (abort the association, close the HTTP response) instead of draining it.
pub type ResultStream = BoxStream<'static, Result<QueryResult>>;

/// Something that can be searched and retrieved from.
///
/// Object-safe: the server holds sources as `Arc<dyn Source>`.
#[async_trait]
pub trait Source: Send + Sync {
    /// A name for messages and reports, e.g. the node name.
    fn name(&self) -> &str;

    /// Searches at `query.level()`. Results are streamed; honour `query.limit()`.
    ///
    /// Errors before the first result (cannot connect, unsupported level) are returned here;
    /// errors after that come as an `Err` item and end the stream.
    async fn find(&self, query: &Query) -> Result<ResultStream>;

    /// Retrieves a study, some series of it or one instance.
    ///
    /// Items are produced as instances arrive; instances that cannot be delivered are reported
    /// as [`Retrieved::Missing`], not left out. When `cancel` fires, or the stream is dropped,
    /// the retrieve must stop on the wire promptly.
    async fn retrieve(
        &self,
        selection: &Selection,
        cancel: CancellationToken,
    ) -> Result<RetrieveStream>;
}

/// What to retrieve. ADIT never retrieves above study level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Selection {
    /// A whole study.
    Study {
        /// The patient, when known (needed for patient-root retrieves).
        patient_id: Option<String>,
        /// StudyInstanceUID.
        study_uid: String,
    },
    /// Some series of one study.
    Series {
        /// The patient, when known.
        patient_id: Option<String>,
        /// StudyInstanceUID.
        study_uid: String,
        /// SeriesInstanceUIDs, at least one.
        series_uids: Vec<String>,
    },
    /// One instance.
    Instance {
        /// The patient, when known.
        patient_id: Option<String>,
        /// StudyInstanceUID.
        study_uid: String,
        /// SeriesInstanceUID.
        series_uid: String,
        /// SOPInstanceUID.
        sop_instance_uid: String,
    },
}

impl Selection {
    /// A whole study.
    pub fn study(patient_id: Option<&str>, study_uid: &str) -> Self {
        Self::Study {
            patient_id: patient_id.map(str::to_owned),
            study_uid: study_uid.to_owned(),
        }
    }

    /// Some series of a study.
    pub fn series<I, S>(patient_id: Option<&str>, study_uid: &str, series_uids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::Series {
            patient_id: patient_id.map(str::to_owned),
            study_uid: study_uid.to_owned(),
            series_uids: series_uids.into_iter().map(Into::into).collect(),
        }
    }

    /// The patient, when known.
    pub fn patient_id(&self) -> Option<&str> {
        match self {
            Self::Study { patient_id, .. }
            | Self::Series { patient_id, .. }
            | Self::Instance { patient_id, .. } => patient_id.as_deref(),
        }
    }

    /// The study every selection lies in.
    pub fn study_uid(&self) -> &str {
        match self {
            Self::Study { study_uid, .. }
            | Self::Series { study_uid, .. }
            | Self::Instance { study_uid, .. } => study_uid,
        }
    }

    /// The selected series, empty for a whole study.
    pub fn series_uids(&self) -> &[String] {
        match self {
            Self::Study { .. } => &[],
            Self::Series { series_uids, .. } => series_uids,
            Self::Instance { series_uid, .. } => std::slice::from_ref(series_uid),
        }
    }

    /// Whether an instance with these UIDs lies in the selection.
    pub fn contains(&self, study_uid: &str, series_uid: &str, sop_instance_uid: &str) -> bool {
        match self {
            Self::Study { study_uid: s, .. } => s == study_uid,
            Self::Series {
                study_uid: s,
                series_uids,
                ..
            } => s == study_uid && series_uids.iter().any(|u| u == series_uid),
            Self::Instance {
                study_uid: s,
                series_uid: se,
                sop_instance_uid: i,
                ..
            } => s == study_uid && se == series_uid && i == sop_instance_uid,
        }
    }
}

/// How much a retrieve is expected to deliver, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expected {
    /// Number of instances.
    pub instances: u64,
    /// Total bytes, when the source knows them.
    pub bytes: Option<u64>,
}

/// The result of [`Source::retrieve`].
pub struct RetrieveStream {
    /// What the source expects to deliver, if it knows before starting.
    pub expected: Option<Expected>,
    /// The instances and problems, in arrival order. An `Err` item ends the retrieve.
    pub items: BoxStream<'static, Result<Retrieved>>,
}

impl std::fmt::Debug for RetrieveStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetrieveStream")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

/// One item of a retrieve.
#[derive(Debug)]
#[non_exhaustive]
pub enum Retrieved {
    /// An instance arrived.
    Instance(Instance),
    /// An instance the source should have delivered but could not (C-MOVE sub-operation
    /// never arrived, C-GET Failed SOP Instance UID List, WADO part missing).
    Missing {
        /// Its SOP Instance UID, when the source knows it.
        sop_instance_uid: Option<String>,
        /// Why it is missing.
        reason: String,
    },
    /// Something was passed over on purpose (a non-DICOM file in a folder).
    Skipped {
        /// What was skipped, e.g. a file path.
        what: String,
        /// Why.
        reason: String,
    },
    /// The source learned (or revised) how much it will deliver, e.g. from the first C-GET
    /// pending response.
    Expected(Expected),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_contains_what_it_selects() {
        let study = Selection::study(Some("1001"), "1.2");
        assert!(study.contains("1.2", "1.2.1", "1.2.1.1"));
        assert!(!study.contains("1.3", "1.2.1", "1.2.1.1"));
        assert_eq!(study.patient_id(), Some("1001"));
        assert!(study.series_uids().is_empty());

        let series = Selection::series(None, "1.2", ["1.2.1", "1.2.2"]);
        assert!(series.contains("1.2", "1.2.2", "x"));
        assert!(!series.contains("1.2", "1.2.3", "x"));
        assert_eq!(series.series_uids().len(), 2);

        let instance = Selection::Instance {
            patient_id: None,
            study_uid: "1.2".into(),
            series_uid: "1.2.1".into(),
            sop_instance_uid: "1.2.1.7".into(),
        };
        assert!(instance.contains("1.2", "1.2.1", "1.2.1.7"));
        assert!(!instance.contains("1.2", "1.2.1", "1.2.1.8"));
        assert_eq!(instance.series_uids(), ["1.2.1"]);
        assert_eq!(instance.study_uid(), "1.2");
    }
}
