//! [`ReceiverOptions`]: who may send to the receiver, how much, how long, and where it spools.

use std::path::PathBuf;
use std::time::Duration;

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{AssociationRJServiceUserReason, UserIdentity};

use crate::options::DEFAULT_MAX_PDU_LENGTH;

/// How the C-STORE SCP runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverOptions {
    /// Our AE title (the move destination peers send to).
    pub ae_title: String,
    /// Calling AE titles allowed to associate; `None` accepts any.
    pub allowed_calling_aes: Option<Vec<String>>,
    /// Refuse associations whose called AE title is not ours.
    pub check_called_ae: bool,
    /// Max PDU length we announce (what peers may send us).
    pub max_pdu_length: u32,
    /// Time for a peer to send its association request after connecting.
    pub association_timeout: Duration,
    /// Longest silence of an open association before we abort it.
    pub idle_timeout: Duration,
    /// Time for each PDU write to a peer.
    pub write_timeout: Duration,
    /// Associations served at once; further connections wait in the TCP backlog.
    pub max_associations: usize,
    /// Where instances are written (one folder per association).
    pub spool_dir: PathBuf,
    /// DICOM TLS: every association must start with a TLS handshake; `None` is plain TCP.
    pub tls: Option<crate::tls::ServerTls>,
}

impl ReceiverOptions {
    /// Defaults (any caller, 1 MiB PDUs, 30 s association, 60 s idle, 16 associations) for
    /// this AE title and spool directory.
    pub fn new(ae_title: impl Into<String>, spool_dir: impl Into<PathBuf>) -> Self {
        Self {
            ae_title: ae_title.into(),
            allowed_calling_aes: None,
            check_called_ae: false,
            max_pdu_length: DEFAULT_MAX_PDU_LENGTH,
            association_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            max_associations: 16,
            spool_dir: spool_dir.into(),
            tls: None,
        }
    }

    /// Only these calling AE titles may send.
    pub fn allow_only<I, S>(mut self, calling_aes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_calling_aes = Some(calling_aes.into_iter().map(Into::into).collect());
        self
    }
}

/// dicom-ul access control from [`ReceiverOptions`].
#[derive(Debug, Clone)]
pub(crate) struct AePolicy {
    pub(crate) allowed: Option<Vec<String>>,
    pub(crate) check_called: bool,
}

impl AccessControl for AePolicy {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if self.check_called && this_ae_title.trim() != called_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        match &self.allowed {
            Some(list) if !list.iter().any(|ae| ae.trim() == calling_ae_title.trim()) => {
                Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_checks_calling_and_called_titles() {
        let any = AePolicy {
            allowed: None,
            check_called: false,
        };
        assert!(any.check_access("ADIT", "X", "Y", None).is_ok());
        let strict = AePolicy {
            allowed: Some(vec!["ORTHANC".into()]),
            check_called: true,
        };
        assert!(strict.check_access("ADIT", "ORTHANC", "ADIT", None).is_ok());
        assert_eq!(
            strict.check_access("ADIT", "OTHER", "ADIT", None),
            Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized)
        );
        assert_eq!(
            strict.check_access("ADIT", "ORTHANC", "NOTME", None),
            Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized)
        );
    }
}
