//! What C-GET and C-MOVE report: sub-operation counters and the final summary.

use dicom_dictionary_std::tags;

use super::dataset;
use crate::message::{RetrieveRsp, Status, SubOperations};

/// The outcome of one C-GET or C-MOVE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrieveSummary {
    /// The final status.
    pub status: Status,
    /// The final counters.
    pub sub_operations: SubOperations,
    /// Failed SOP Instance UID List (0008,0058) of the final response's identifier, if sent.
    pub failed_sop_instance_uids: Vec<String>,
    /// The peer's Error Comment, if any.
    pub error_comment: Option<String>,
}

impl RetrieveSummary {
    /// Builds the summary from the final response and its optional identifier.
    pub(crate) fn from_final(rsp: RetrieveRsp, data: Option<&[u8]>, ts: &str) -> Self {
        let failed_sop_instance_uids = data
            .and_then(|d| dataset::decode(d, ts, "final response identifier").ok())
            .and_then(|obj| {
                obj.get(tags::FAILED_SOP_INSTANCE_UID_LIST)
                    .and_then(|e| e.to_multi_str().ok())
                    .map(|list| {
                        list.iter()
                            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
            })
            .unwrap_or_default();
        Self {
            status: rsp.status,
            sub_operations: rsp.sub_operations,
            failed_sop_instance_uids,
            error_comment: rsp.error_comment,
        }
    }

    /// ADIT's rule: failed sub-operations and none completed means the retrieve failed, even
    /// when the peer says success (GE and Synapse do).
    pub fn all_failed(&self) -> bool {
        self.sub_operations.completed == 0
            && (self.sub_operations.failed > 0 || !self.status.is_good())
    }
}
