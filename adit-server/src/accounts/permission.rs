//! Permissions, by ADIT's Django codenames (adit-reference §8), granted to groups.
//!
//! A user has the permissions of their **active** group; superusers have all. ADIT scopes
//! `can_process_urgently` and `can_transfer_unpseudonymized` per app; here each is one
//! permission for every app that uses it.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::Error;

macro_rules! permissions {
    ($($(#[$doc:meta])* $variant:ident = $codename:literal,)+) => {
        /// A permission a group can be granted.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Permission {
            $($(#[$doc])* $variant,)+
        }

        impl Permission {
            /// Every permission, in declaration order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)+];

            /// ADIT's codename, e.g. `can_process_urgently`.
            pub fn codename(self) -> &'static str {
                match self {
                    $(Permission::$variant => $codename,)+
                }
            }
        }

        impl FromStr for Permission {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($codename => Ok(Permission::$variant),)+
                    other => Err(Error::Invalid {
                        what: "permission",
                        reason: format!(
                            "`{other}` is not one of: {}",
                            [$($codename),+].join(", ")
                        ),
                    }),
                }
            }
        }
    };
}

permissions! {
    /// Start selective transfer jobs (the page and its WebSocket need it).
    AddSelectiveTransferJob = "add_selectivetransferjob",
    /// See selective transfer jobs.
    ViewSelectiveTransferJob = "view_selectivetransferjob",
    /// Start batch query jobs.
    AddBatchQueryJob = "add_batchqueryjob",
    /// See batch query jobs.
    ViewBatchQueryJob = "view_batchqueryjob",
    /// Start batch transfer jobs.
    AddBatchTransferJob = "add_batchtransferjob",
    /// See batch transfer jobs.
    ViewBatchTransferJob = "view_batchtransferjob",
    /// Start mass transfer jobs.
    AddMassTransferJob = "add_masstransferjob",
    /// See mass transfer jobs.
    ViewMassTransferJob = "view_masstransferjob",
    /// Mark jobs urgent (they run at the urgent priority).
    CanProcessUrgently = "can_process_urgently",
    /// Transfer without pseudonymization.
    CanTransferUnpseudonymized = "can_transfer_unpseudonymized",
    /// Download a study to the browser (selective transfer).
    CanDownloadStudy = "can_download_study",
    /// Upload data from the browser.
    CanUploadData = "can_upload_data",
    /// Use the DICOM explorer's resource views.
    QueryDicomServer = "query_dicom_server",
    /// DICOMweb QIDO-RS through ADIT (enforced, unlike ADIT).
    CanQuery = "can_query",
    /// DICOMweb WADO-RS through ADIT (enforced, unlike ADIT).
    CanRetrieve = "can_retrieve",
    /// DICOMweb STOW-RS through ADIT (enforced, unlike ADIT).
    CanStore = "can_store",
    /// See one's API tokens.
    ViewToken = "view_token",
    /// Create API tokens.
    AddToken = "add_token",
    /// Delete API tokens.
    DeleteToken = "delete_token",
    /// Create tokens without expiry.
    CanGenerateNeverExpiringToken = "can_generate_never_expiring_token",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.codename())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.codename())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codenames_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.codename().parse::<Permission>().unwrap(), *p);
        }
        assert!(Permission::ALL.contains(&Permission::CanProcessUrgently));
        let err = "can_fly".parse::<Permission>().unwrap_err().to_string();
        assert!(
            err.contains("can_fly") && err.contains("can_query"),
            "{err}"
        );
    }
}
