//! Descriptions of the places instances come from and go to: DIMSE servers, DICOMweb servers
//! and folders. The server stores these as JSON (serde).
//!
//! A PACS reachable over both DIMSE and DICOMweb is described as two nodes. The choice of
//! method within a node follows ADIT (adit-reference 5.1): for retrieve WADO-RS before C-GET
//! before C-MOVE, for store C-STORE before STOW-RS; see [`Node::retrieve_method`].

use std::fmt;
use std::num::{NonZeroU16, NonZeroU32};
use std::path::PathBuf;
use std::str::FromStr;

use dicom_dictionary_std::uids;
use serde::{Deserialize, Serialize};

use super::level::QueryLevel;
use super::query::Query;
use super::wildcard::has_wildcards;
use crate::error::{Error, Result};
use dicom_dictionary_std::tags;

/// A named place to find, retrieve or store instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Unique display name, e.g. `ORTHANC1` or `Downloads`.
    pub name: String,
    /// What kind of node it is and how to reach it.
    pub kind: NodeKind,
}

/// The kinds of node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeKind {
    /// A DIMSE peer (C-FIND/C-GET/C-MOVE/C-STORE).
    Dimse(DimseServer),
    /// A DICOMweb server (QIDO-RS/WADO-RS/STOW-RS).
    #[serde(rename = "dicomweb")]
    DicomWeb(DicomWebServer),
    /// A directory on this machine.
    Folder(FolderNode),
}

/// How a node answers a find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindMethod {
    /// DIMSE C-FIND.
    CFind,
    /// DICOMweb QIDO-RS.
    QidoRs,
    /// Reading the headers of the files in a folder.
    FolderScan,
}

/// How instances are fetched from a node, in ADIT's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetrieveMethod {
    /// DICOMweb WADO-RS (preferred: plain HTTP, streams well).
    WadoRs,
    /// DIMSE C-GET (instances come back on the same association).
    CGet,
    /// DIMSE C-MOVE (instances come back to our receiver on separate associations).
    CMove,
    /// Reading files from a folder.
    FolderRead,
}

/// How instances are sent to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMethod {
    /// DIMSE C-STORE.
    CStore,
    /// DICOMweb STOW-RS.
    StowRs,
    /// Writing files into a folder.
    FolderWrite,
}

impl Node {
    /// A DIMSE node.
    pub fn dimse(name: impl Into<String>, server: DimseServer) -> Self {
        Self {
            name: name.into(),
            kind: NodeKind::Dimse(server),
        }
    }

    /// A DICOMweb node.
    pub fn dicomweb(name: impl Into<String>, server: DicomWebServer) -> Self {
        Self {
            name: name.into(),
            kind: NodeKind::DicomWeb(server),
        }
    }

    /// A folder node.
    pub fn folder(name: impl Into<String>, folder: FolderNode) -> Self {
        Self {
            name: name.into(),
            kind: NodeKind::Folder(folder),
        }
    }

    /// How this node can be searched, if at all.
    pub fn find_method(&self) -> Option<FindMethod> {
        match &self.kind {
            NodeKind::Dimse(s) => s.capabilities.can_find().then_some(FindMethod::CFind),
            NodeKind::DicomWeb(s) => s.qido.then_some(FindMethod::QidoRs),
            NodeKind::Folder(_) => Some(FindMethod::FolderScan),
        }
    }

    /// The preferred way to retrieve from this node: WADO-RS, then C-GET, then C-MOVE.
    pub fn retrieve_method(&self) -> Option<RetrieveMethod> {
        self.retrieve_methods().into_iter().next()
    }

    /// Every way to retrieve from this node, best first (a caller may fall back to the next
    /// one when the first fails permanently).
    pub fn retrieve_methods(&self) -> Vec<RetrieveMethod> {
        match &self.kind {
            NodeKind::Dimse(s) => {
                let c = &s.capabilities;
                let mut methods = Vec::with_capacity(2);
                if c.patient_root_get || c.study_root_get {
                    methods.push(RetrieveMethod::CGet);
                }
                if c.patient_root_move || c.study_root_move {
                    methods.push(RetrieveMethod::CMove);
                }
                methods
            }
            NodeKind::DicomWeb(s) if s.wado => vec![RetrieveMethod::WadoRs],
            NodeKind::DicomWeb(_) => Vec::new(),
            NodeKind::Folder(_) => vec![RetrieveMethod::FolderRead],
        }
    }

    /// How instances are stored to this node, if at all.
    pub fn store_method(&self) -> Option<StoreMethod> {
        match &self.kind {
            NodeKind::Dimse(s) => s.capabilities.store.then_some(StoreMethod::CStore),
            NodeKind::DicomWeb(s) => s.stow.then_some(StoreMethod::StowRs),
            NodeKind::Folder(_) => Some(StoreMethod::FolderWrite),
        }
    }
}

/// An Application Entity title: 1 to 16 characters of printable ASCII without backslash, not
/// all spaces; surrounding spaces are not significant and are removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AeTitle(String);

impl AeTitle {
    /// Checks and wraps an AE title.
    pub fn new(title: impl AsRef<str>) -> Result<Self> {
        let raw = title.as_ref();
        let title = raw.trim_matches(' ');
        if title.is_empty() {
            return Err(Error::invalid_config("ae_title", "must not be empty"));
        }
        if title.len() > 16 {
            return Err(Error::invalid_config(
                "ae_title",
                format!("`{raw}` is longer than 16 characters"),
            ));
        }
        if let Some(c) = title
            .chars()
            .find(|c| !(' '..='~').contains(c) || *c == '\\')
        {
            return Err(Error::invalid_config(
                "ae_title",
                format!("`{raw}` contains the character {c:?}"),
            ));
        }
        Ok(Self(title.to_owned()))
    }

    /// The title without padding.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AeTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AeTitle {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<String> for AeTitle {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<AeTitle> for String {
    fn from(title: AeTitle) -> Self {
        title.0
    }
}

/// A DIMSE peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimseServer {
    /// The peer's AE title (the called AE title; C-MOVE sources also call us with it).
    pub ae_title: AeTitle,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: NonZeroU16,
    /// Which services the peer offers.
    #[serde(default)]
    pub capabilities: DimseCapabilities,
    /// How many associations we may open to it at once.
    #[serde(default = "default_max_associations")]
    pub max_associations: NonZeroU16,
    /// Above this many results a find is considered truncated by the peer (ADIT's mass
    /// transfer then splits its time window).
    #[serde(default = "default_max_search_results")]
    pub max_search_results: NonZeroU32,
    /// DICOM TLS to this peer; absent means plain TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<DimseTls>,
}

/// DICOM TLS settings for a DIMSE peer: PEM files readable by the workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimseTls {
    /// CA certificates (PEM) the peer's certificate must chain to.
    pub ca_bundle: std::path::PathBuf,
    /// Our client certificate chain (PEM), for peers that require one (with `client_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of `client_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<std::path::PathBuf>,
    /// The name the peer's certificate must carry, when it is not `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// Services a DIMSE peer offers; all off by default, as in ADIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DimseCapabilities {
    /// Patient Root Query/Retrieve Information Model - FIND.
    pub patient_root_find: bool,
    /// Patient Root Query/Retrieve Information Model - GET.
    pub patient_root_get: bool,
    /// Patient Root Query/Retrieve Information Model - MOVE.
    pub patient_root_move: bool,
    /// Study Root Query/Retrieve Information Model - FIND.
    pub study_root_find: bool,
    /// Study Root Query/Retrieve Information Model - GET.
    pub study_root_get: bool,
    /// Study Root Query/Retrieve Information Model - MOVE.
    pub study_root_move: bool,
    /// Storage SCP (accepts C-STORE).
    pub store: bool,
}

impl DimseCapabilities {
    /// Every service on: a full Q/R and storage SCP such as Orthanc or dcmqrscp.
    pub fn all() -> Self {
        Self {
            patient_root_find: true,
            patient_root_get: true,
            patient_root_move: true,
            study_root_find: true,
            study_root_get: true,
            study_root_move: true,
            store: true,
        }
    }

    /// Whether any FIND model is offered.
    pub fn can_find(&self) -> bool {
        self.patient_root_find || self.study_root_find
    }
}

/// A Query/Retrieve information model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryModel {
    /// Patient Root (PATIENT at the top).
    PatientRoot,
    /// Study Root (no PATIENT level).
    StudyRoot,
}

impl QueryModel {
    /// The SOP class UID of C-FIND in this model.
    pub fn find_sop_class(self) -> &'static str {
        match self {
            Self::PatientRoot => uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND,
            Self::StudyRoot => uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND,
        }
    }

    /// The SOP class UID of C-GET in this model.
    pub fn get_sop_class(self) -> &'static str {
        match self {
            Self::PatientRoot => uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET,
            Self::StudyRoot => uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET,
        }
    }

    /// The SOP class UID of C-MOVE in this model.
    pub fn move_sop_class(self) -> &'static str {
        match self {
            Self::PatientRoot => uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE,
            Self::StudyRoot => uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE,
        }
    }
}

/// How to run a C-FIND against a particular peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindPlan {
    /// The information model to use.
    pub model: QueryModel,
    /// The level to put on the wire.
    pub level: QueryLevel,
    /// The query asked for PATIENT, but the peer has only study root: send a STUDY query and
    /// de-duplicate the results by PatientID.
    pub emulate_patient_level: bool,
}

/// The DIMSE retrieve operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DimseRetrieve {
    /// C-GET: instances come back on the same association.
    CGet,
    /// C-MOVE: instances are sent to a move destination.
    CMove,
}

/// How to run a retrieve against a particular peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrievePlan {
    /// C-GET or C-MOVE.
    pub operation: DimseRetrieve,
    /// The information model to use.
    pub model: QueryModel,
}

impl DimseServer {
    /// A server at `host:port` with no capabilities yet.
    pub fn new(ae_title: AeTitle, host: impl Into<String>, port: NonZeroU16) -> Self {
        Self {
            ae_title,
            host: host.into(),
            port,
            capabilities: DimseCapabilities::default(),
            max_associations: default_max_associations(),
            max_search_results: default_max_search_results(),
            tls: None,
        }
    }

    /// Sets the capabilities.
    pub fn with_capabilities(mut self, capabilities: DimseCapabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// `AE@host:port`, the way errors name this peer.
    pub fn peer_name(&self) -> String {
        format!("{}@{}:{}", self.ae_title, self.host, self.port)
    }

    /// Chooses the information model for a C-FIND, as ADIT does.
    ///
    /// Study root when offered and the level is below PATIENT; otherwise patient root when
    /// offered and either the level is PATIENT or the query has a PatientID without
    /// wildcards. A PATIENT query against a study-root-only peer is emulated at STUDY level.
    pub fn find_plan(&self, query: &Query) -> Result<FindPlan> {
        let c = &self.capabilities;
        let level = query.level();
        let plan = |model, level, emulate_patient_level| FindPlan {
            model,
            level,
            emulate_patient_level,
        };
        if level == QueryLevel::Patient {
            if c.patient_root_find {
                return Ok(plan(QueryModel::PatientRoot, level, false));
            }
            if c.study_root_find {
                return Ok(plan(QueryModel::StudyRoot, QueryLevel::Study, true));
            }
        } else {
            if c.study_root_find {
                return Ok(plan(QueryModel::StudyRoot, level, false));
            }
            if c.patient_root_find {
                let has_patient_id = query
                    .single(tags::PATIENT_ID)
                    .is_some_and(|id| !has_wildcards(id));
                if has_patient_id {
                    return Ok(plan(QueryModel::PatientRoot, level, false));
                }
                return Err(Error::Unsupported {
                    peer: self.peer_name(),
                    operation: format!(
                        "C-FIND {level} without a PatientID (it only offers patient root)"
                    ),
                });
            }
        }
        Err(Error::Unsupported {
            peer: self.peer_name(),
            operation: "C-FIND".into(),
        })
    }

    /// Chooses C-GET (preferred) or C-MOVE and the model for retrieving a study or part of
    /// it: study root when offered, otherwise patient root when a PatientID is known.
    pub fn retrieve_plan(&self, patient_id: Option<&str>) -> Result<RetrievePlan> {
        let c = &self.capabilities;
        let has_patient_id = patient_id.is_some_and(|id| !id.is_empty() && !has_wildcards(id));
        let candidates = [
            (DimseRetrieve::CGet, c.study_root_get, c.patient_root_get),
            (DimseRetrieve::CMove, c.study_root_move, c.patient_root_move),
        ];
        for (operation, study_root, patient_root) in candidates {
            if study_root {
                return Ok(RetrievePlan {
                    operation,
                    model: QueryModel::StudyRoot,
                });
            }
            if patient_root && has_patient_id {
                return Ok(RetrievePlan {
                    operation,
                    model: QueryModel::PatientRoot,
                });
            }
        }
        Err(Error::Unsupported {
            peer: self.peer_name(),
            operation: if has_patient_id {
                "C-GET or C-MOVE".into()
            } else {
                "C-GET or C-MOVE without a PatientID".into()
            },
        })
    }
}

/// A DICOMweb server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DicomWebServer {
    /// Base URL, e.g. `http://127.0.0.1:8042/dicom-web`.
    pub root_url: String,
    /// Sent verbatim as the `Authorization` header (`Bearer ...`, `Basic ...`). Redacted in
    /// `Debug` output.
    #[serde(default)]
    pub authorization: Option<String>,
    /// Path segment between the root URL and QIDO-RS resources (empty for most servers).
    #[serde(default)]
    pub qido_prefix: String,
    /// Path segment between the root URL and WADO-RS resources.
    #[serde(default)]
    pub wado_prefix: String,
    /// Path segment between the root URL and STOW-RS resources.
    #[serde(default)]
    pub stow_prefix: String,
    /// Whether the server answers QIDO-RS.
    #[serde(default)]
    pub qido: bool,
    /// Whether the server answers WADO-RS.
    #[serde(default)]
    pub wado: bool,
    /// Whether the server accepts STOW-RS.
    #[serde(default)]
    pub stow: bool,
    /// Above this many results a search is considered truncated by the server.
    #[serde(default = "default_max_search_results")]
    pub max_search_results: NonZeroU32,
}

impl DicomWebServer {
    /// A server at `root_url` offering QIDO-RS, WADO-RS and STOW-RS without prefixes.
    pub fn new(root_url: impl Into<String>) -> Self {
        Self {
            root_url: root_url.into(),
            authorization: None,
            qido_prefix: String::new(),
            wado_prefix: String::new(),
            stow_prefix: String::new(),
            qido: true,
            wado: true,
            stow: true,
            max_search_results: default_max_search_results(),
        }
    }
}

impl fmt::Debug for DicomWebServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DicomWebServer")
            .field("root_url", &self.root_url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("qido_prefix", &self.qido_prefix)
            .field("wado_prefix", &self.wado_prefix)
            .field("stow_prefix", &self.stow_prefix)
            .field("qido", &self.qido)
            .field("wado", &self.wado)
            .field("stow", &self.stow)
            .field("max_search_results", &self.max_search_results)
            .finish()
    }
}

/// A directory on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderNode {
    /// The directory.
    pub path: PathBuf,
    /// Size limit in GB, if any.
    #[serde(default)]
    pub quota_gb: Option<u64>,
    /// Size in GB above which administrators are warned, if any.
    #[serde(default)]
    pub warn_size_gb: Option<u64>,
}

impl FolderNode {
    /// A folder without quota.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            quota_gb: None,
            warn_size_gb: None,
        }
    }
}

fn default_max_associations() -> NonZeroU16 {
    NonZeroU16::MIN.saturating_add(1)
}

fn default_max_search_results() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(199)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(capabilities: DimseCapabilities) -> DimseServer {
        DimseServer::new(
            AeTitle::new("PACS").unwrap(),
            "127.0.0.1",
            NonZeroU16::new(11112).unwrap(),
        )
        .with_capabilities(capabilities)
    }

    #[test]
    fn ae_titles_are_checked() {
        assert_eq!(AeTitle::new(" ADIT1 ").unwrap().as_str(), "ADIT1");
        assert!(AeTitle::new("").is_err());
        assert!(AeTitle::new("    ").is_err());
        assert!(AeTitle::new("SEVENTEEN_CHARS_X").is_err());
        assert!(AeTitle::new("A\\B").is_err());
        assert!(AeTitle::new("TAB\tX").is_err());
        assert!(AeTitle::new("MÜLLER").is_err());
    }

    #[test]
    fn nodes_round_trip_through_json_with_defaults() {
        let json = serde_json::json!({
            "name": "ORTHANC1",
            "kind": {
                "type": "dimse",
                "ae_title": "ORTHANC1",
                "host": "127.0.0.1",
                "port": 7501,
                "capabilities": {"study_root_find": true, "study_root_get": true}
            }
        });
        let node: Node = serde_json::from_value(json).unwrap();
        let NodeKind::Dimse(s) = &node.kind else {
            panic!("expected a DIMSE node");
        };
        assert!(s.capabilities.study_root_get && !s.capabilities.store);
        assert_eq!(s.max_associations.get(), 2);
        assert_eq!(s.max_search_results.get(), 200);
        assert_eq!(s.tls, None);
        let back: Node = serde_json::from_value(serde_json::to_value(&node).unwrap()).unwrap();
        assert_eq!(back, node);
        assert!(!serde_json::to_string(&node).unwrap().contains("tls"));

        let with_tls = serde_json::json!({
            "name": "PACS", "kind": {"type": "dimse", "ae_title": "PACS", "host": "pacs", "port": 2762,
                "tls": {"ca_bundle": "/etc/adit/ca.pem", "client_cert": "/etc/adit/me.pem",
                        "client_key": "/etc/adit/me.key"}}
        });
        let node: Node = serde_json::from_value(with_tls).unwrap();
        let NodeKind::Dimse(s) = &node.kind else {
            panic!("expected a DIMSE node");
        };
        let tls = s.tls.as_ref().unwrap();
        assert_eq!(tls.ca_bundle, std::path::Path::new("/etc/adit/ca.pem"));
        assert_eq!(tls.server_name, None);
        let back: Node = serde_json::from_value(serde_json::to_value(&node).unwrap()).unwrap();
        assert_eq!(back, node);

        let bad = serde_json::json!({
            "name": "X", "kind": {"type": "dimse", "ae_title": "", "host": "h", "port": 1}
        });
        assert!(serde_json::from_value::<Node>(bad).is_err());
        let bad_port = serde_json::json!({
            "name": "X", "kind": {"type": "dimse", "ae_title": "A", "host": "h", "port": 0}
        });
        assert!(serde_json::from_value::<Node>(bad_port).is_err());
    }

    #[test]
    fn authorization_header_is_redacted_in_debug_output() {
        let mut web = DicomWebServer::new("http://127.0.0.1:8042/dicom-web");
        web.authorization = Some("Bearer s3cr3t".into());
        let debug = format!("{:?}", Node::dicomweb("WEB", web));
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn retrieve_prefers_get_over_move_and_study_root_over_patient_root() {
        let all = server(DimseCapabilities::all());
        assert_eq!(
            all.retrieve_plan(None).unwrap(),
            RetrievePlan {
                operation: DimseRetrieve::CGet,
                model: QueryModel::StudyRoot
            }
        );
        let move_only = server(DimseCapabilities {
            study_root_move: true,
            patient_root_get: true,
            ..Default::default()
        });
        assert_eq!(
            move_only.retrieve_plan(None).unwrap().operation,
            DimseRetrieve::CMove,
            "patient-root GET needs a PatientID"
        );
        assert_eq!(
            move_only.retrieve_plan(Some("1001")).unwrap(),
            RetrievePlan {
                operation: DimseRetrieve::CGet,
                model: QueryModel::PatientRoot
            }
        );
        let none = server(DimseCapabilities::default());
        assert!(matches!(
            none.retrieve_plan(Some("1")),
            Err(Error::Unsupported { .. })
        ));
        let node = Node::dimse("P", all);
        assert_eq!(
            node.retrieve_methods(),
            [RetrieveMethod::CGet, RetrieveMethod::CMove]
        );
    }

    #[test]
    fn find_model_follows_adit() {
        let study = Query::new(QueryLevel::Study);
        let by_patient = Query::parse(QueryLevel::Series, ["PatientID=1001"]).unwrap();
        let wildcard_patient = Query::parse(QueryLevel::Series, ["PatientID=10*"]).unwrap();

        let all = server(DimseCapabilities::all());
        assert_eq!(all.find_plan(&study).unwrap().model, QueryModel::StudyRoot);
        let patients = all.find_plan(&Query::new(QueryLevel::Patient)).unwrap();
        assert_eq!(patients.model, QueryModel::PatientRoot);

        let study_only = server(DimseCapabilities {
            study_root_find: true,
            ..Default::default()
        });
        let emulated = study_only
            .find_plan(&Query::new(QueryLevel::Patient))
            .unwrap();
        assert_eq!(
            emulated,
            FindPlan {
                model: QueryModel::StudyRoot,
                level: QueryLevel::Study,
                emulate_patient_level: true
            }
        );

        let patient_only = server(DimseCapabilities {
            patient_root_find: true,
            ..Default::default()
        });
        assert_eq!(
            patient_only.find_plan(&by_patient).unwrap().model,
            QueryModel::PatientRoot
        );
        assert!(patient_only.find_plan(&wildcard_patient).is_err());
        assert!(patient_only.find_plan(&study).is_err());
        assert_eq!(
            Node::dimse("P", patient_only).find_method(),
            Some(FindMethod::CFind)
        );
    }

    #[test]
    fn method_choice_per_node_kind() {
        let mut web = DicomWebServer::new("http://127.0.0.1:8042/dicom-web");
        web.stow = false;
        let web = Node::dicomweb("WEB", web);
        assert_eq!(web.retrieve_method(), Some(RetrieveMethod::WadoRs));
        assert_eq!(web.store_method(), None);
        let folder = Node::folder("Downloads", FolderNode::new("/tmp/x"));
        assert_eq!(folder.store_method(), Some(StoreMethod::FolderWrite));
        assert_eq!(folder.find_method(), Some(FindMethod::FolderScan));
        assert!(RetrieveMethod::WadoRs < RetrieveMethod::CGet);
        assert!(RetrieveMethod::CGet < RetrieveMethod::CMove);
    }
}
