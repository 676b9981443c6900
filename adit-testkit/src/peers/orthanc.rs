//! A throw-away Orthanc (with the DICOMweb plugin) on free loopback ports.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::net::{DicomAddress, LOOPBACK, free_port, poll_until, port_is_open};
use crate::process::{PeerProcess, require_binary};

/// Debian's Orthanc server binary.
pub const ORTHANC_BINARY: &str = "/usr/sbin/Orthanc";
/// Debian's DICOMweb plugin for Orthanc.
pub const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

const START_TIMEOUT: Duration = Duration::from_secs(60);
const START_ATTEMPTS: usize = 3;

/// Configures an Orthanc before it starts. Obtain one with [`Orthanc::builder`].
#[derive(Debug, Clone)]
pub struct OrthancBuilder {
    ae_title: String,
    modalities: Vec<(String, DicomAddress)>,
    strict: bool,
    binary: PathBuf,
    users: Vec<(String, String)>,
}

impl OrthancBuilder {
    /// The AE title Orthanc answers as (default `ORTHANC`).
    pub fn ae_title(mut self, ae_title: impl Into<String>) -> Self {
        self.ae_title = ae_title.into();
        self
    }

    /// Registers a DICOM modality (a C-MOVE destination, and an allowed caller in strict mode).
    pub fn modality(mut self, name: impl Into<String>, address: DicomAddress) -> Self {
        self.modalities.push((name.into(), address));
        self
    }

    /// Strict mode: only registered modalities may C-FIND/C-GET/C-MOVE (Orthanc then aborts
    /// associations from unknown AE titles). Off by default.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Turns HTTP Basic authentication on and registers a user (`AuthenticationEnabled`,
    /// `RegisteredUsers`). The first user registered is the one this handle's own REST calls
    /// (readiness, uploads, checks) authenticate as.
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// Uses another Orthanc executable (tests of the missing-binary message use this).
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = binary.into();
        self
    }

    /// Starts Orthanc and waits until both its HTTP API and its DICOM port answer.
    pub fn start(self) -> Result<Orthanc> {
        require_binary(&self.binary, "orthanc")?;
        require_binary(Path::new(DICOMWEB_PLUGIN), "orthanc-dicomweb")?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match self.try_start() {
                Ok(orthanc) => return Ok(orthanc),
                // Most likely a port was taken between choosing and binding it: try new ports.
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::PeerStart {
            peer: format!("Orthanc {}", self.ae_title),
            reason: "no attempt was made".into(),
            log_tail: String::new(),
        }))
    }

    fn try_start(&self) -> Result<Orthanc> {
        let dicom_port = free_port().map_err(|e| Error::io("127.0.0.1:0", e))?;
        let http_port = free_port().map_err(|e| Error::io("127.0.0.1:0", e))?;
        let dir = PeerProcess::tempdir("adit-orthanc-")?;
        let config_path = dir.path().join("orthanc.json");
        let config = self.config(dir.path(), dicom_port, http_port);
        let text = serde_json::to_string_pretty(&config).map_err(|e| Error::Dicom {
            what: "Orthanc configuration".into(),
            reason: e.to_string(),
        })?;
        std::fs::write(&config_path, text).map_err(|e| Error::io(&config_path, e))?;

        let mut command = Command::new(&self.binary);
        command.arg(format!(
            "--logfile={}",
            dir.path().join("orthanc.log").display()
        ));
        command.arg(&config_path);
        let mut process = PeerProcess::spawn(command, dir, "stdout.log")?;

        let orthanc_name = format!("Orthanc {}", self.ae_title);
        let base_url = format!("http://{LOOPBACK}:{http_port}");
        let agent = Agent {
            http: http_agent(),
            authorization: self
                .users
                .first()
                .map(|(user, password)| basic_authorization(user, password)),
        };
        let ready = poll_until(START_TIMEOUT, || {
            if process.exited().is_some() {
                return true;
            }
            let system: Option<Value> = get_json(&agent, &format!("{base_url}/system")).ok();
            let ours = system.is_some_and(|s| {
                s["DicomAet"] == self.ae_title.as_str() && s["DicomPort"] == dicom_port
            });
            ours && port_is_open(dicom_port)
        });
        if let Some(status) = process.exited() {
            let orthanc_log = crate::process::log_tail(&process.dir().join("orthanc.log"), 30);
            return Err(Error::PeerStart {
                peer: orthanc_name,
                reason: format!("exited with {status}"),
                log_tail: format!("{}\n{orthanc_log}", process.log_tail()),
            });
        }
        if !ready {
            return Err(Error::PeerStart {
                peer: orthanc_name,
                reason: format!("not ready after {START_TIMEOUT:?}"),
                log_tail: process.log_tail(),
            });
        }
        Ok(Orthanc {
            address: DicomAddress::loopback(&self.ae_title, dicom_port),
            http_port,
            base_url,
            agent,
            process,
        })
    }

    fn config(&self, dir: &Path, dicom_port: u16, http_port: u16) -> Value {
        let modalities: serde_json::Map<String, Value> = self
            .modalities
            .iter()
            .map(|(name, a)| (name.clone(), modality_json(a)))
            .collect();
        let db = dir.join("db");
        let users: serde_json::Map<String, Value> = self
            .users
            .iter()
            .map(|(name, password)| (name.clone(), Value::from(password.as_str())))
            .collect();
        json!({
            "Name": self.ae_title,
            "StorageDirectory": db,
            "IndexDirectory": db,
            "StorageCompression": false,
            "Plugins": [DICOMWEB_PLUGIN],
            "HttpServerEnabled": true,
            "HttpPort": http_port,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": !users.is_empty(),
            "RegisteredUsers": users,
            "OrthancExplorerEnabled": false,
            "WebDavEnabled": false,
            "HttpCompressionEnabled": false,
            "DicomServerEnabled": true,
            "DicomAet": self.ae_title,
            "DicomPort": dicom_port,
            "DicomCheckCalledAet": false,
            "DicomAlwaysAllowEcho": true,
            "DicomAlwaysAllowStore": true,
            "DicomAlwaysAllowFind": !self.strict,
            "DicomAlwaysAllowGet": !self.strict,
            "DicomAlwaysAllowMove": !self.strict,
            "DicomCheckModalityHost": false,
            "UnknownSopClassAccepted": true,
            "DicomModalities": modalities,
            "DicomModalitiesInDatabase": false,
            "DicomScpTimeout": 30,
            "DicomScuTimeout": 10,
            "DicomAssociationCloseDelay": 0,
            "SaveJobs": false,
            "SyncStorageArea": false,
            "OverwriteInstances": true,
            "StableAge": 5,
            "DeidentifyLogs": false,
            "DicomWeb": {
                "Enable": true,
                "Root": "/dicom-web/",
                "EnableWado": true,
                "WadoRoot": "/wado",
                "Host": format!("{LOOPBACK}:{http_port}"),
                "Ssl": false
            }
        })
    }
}

/// A running throw-away Orthanc: DICOM and HTTP on loopback, its own temporary storage.
/// Killed and deleted when dropped.
#[derive(Debug)]
pub struct Orthanc {
    address: DicomAddress,
    http_port: u16,
    base_url: String,
    agent: Agent,
    process: PeerProcess,
}

/// The REST client of the harness, authenticating as the first registered user if any.
#[derive(Debug, Clone)]
struct Agent {
    http: ureq::Agent,
    authorization: Option<String>,
}

impl Agent {
    fn get(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let request = self.http.get(url);
        match &self.authorization {
            Some(auth) => request.header("Authorization", auth),
            None => request,
        }
    }

    fn post(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let request = self.http.post(url);
        match &self.authorization {
            Some(auth) => request.header("Authorization", auth),
            None => request,
        }
    }

    fn put(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let request = self.http.put(url);
        match &self.authorization {
            Some(auth) => request.header("Authorization", auth),
            None => request,
        }
    }
}

/// The value of an HTTP Basic `Authorization` header (RFC 7617).
pub fn basic_authorization(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// Instance, series, study and patient counts reported by Orthanc's `/statistics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrthancCounts {
    /// Number of patients.
    pub patients: u64,
    /// Number of studies.
    pub studies: u64,
    /// Number of series.
    pub series: u64,
    /// Number of instances.
    pub instances: u64,
}

impl Orthanc {
    /// A builder with AE title `ORTHANC`, no modalities and permissive access.
    pub fn builder() -> OrthancBuilder {
        OrthancBuilder {
            ae_title: "ORTHANC".into(),
            modalities: Vec::new(),
            strict: false,
            binary: PathBuf::from(ORTHANC_BINARY),
            users: Vec::new(),
        }
    }

    /// Starts an Orthanc with the default settings and the given AE title.
    pub fn start(ae_title: &str) -> Result<Orthanc> {
        Orthanc::builder().ae_title(ae_title).start()
    }

    /// The DICOM address (AE title, loopback, port).
    pub fn address(&self) -> &DicomAddress {
        &self.address
    }

    /// The DICOM port.
    pub fn dicom_port(&self) -> u16 {
        self.address.port
    }

    /// The HTTP port of the REST API and DICOMweb.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Base URL of the REST API, e.g. `http://127.0.0.1:6501`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Root URL of the DICOMweb service, e.g. `http://127.0.0.1:6501/dicom-web`.
    pub fn dicomweb_root(&self) -> String {
        format!("{}/dicom-web", self.base_url)
    }

    /// The process id (tests check that drop really kills it).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The temporary directory holding configuration, storage and logs.
    pub fn data_dir(&self) -> &Path {
        self.process.dir()
    }

    /// Registers (or replaces) a modality at run time, e.g. a receiver whose port is only
    /// known after this Orthanc started.
    pub fn add_modality(&self, name: &str, address: &DicomAddress) -> Result<()> {
        let url = format!("{}/modalities/{name}", self.base_url);
        self.agent
            .put(&url)
            .send_json(modality_json(address))
            .map_err(|e| http_error("PUT", &url, e))?;
        Ok(())
    }

    /// Stores one Part-10 file through the REST API (`POST /instances`).
    pub fn upload(&self, part10: &[u8]) -> Result<()> {
        let url = format!("{}/instances", self.base_url);
        let reply: Value = self
            .agent
            .post(&url)
            .content_type("application/dicom")
            .send(part10)
            .map_err(|e| http_error("POST", &url, e))?
            .body_mut()
            .read_json()
            .map_err(|e| http_error("POST", &url, e))?;
        match reply["Status"].as_str() {
            Some("Success" | "AlreadyStored") => Ok(()),
            _ => Err(Error::Http {
                method: "POST",
                url,
                reason: format!("unexpected reply {reply}"),
            }),
        }
    }

    /// Streams a whole corpus into Orthanc through the REST API, instance by instance, without
    /// writing files. Returns the number of instances stored.
    pub fn upload_corpus(&self, corpus: &Corpus) -> Result<usize> {
        let mut count = 0;
        for instance in corpus.instances() {
            self.upload(&instance.to_part10()?)?;
            count += 1;
        }
        Ok(count)
    }

    /// Counts from `/statistics`.
    pub fn counts(&self) -> Result<OrthancCounts> {
        let s = self.get_json("/statistics")?;
        let n = |key: &str| s[key].as_u64().unwrap_or(0);
        Ok(OrthancCounts {
            patients: n("CountPatients"),
            studies: n("CountStudies"),
            series: n("CountSeries"),
            instances: n("CountInstances"),
        })
    }

    /// GET a REST path (e.g. `/studies?expand`) and parse the JSON reply.
    pub fn get_json(&self, path: &str) -> Result<Value> {
        get_json(&self.agent, &format!("{}{path}", self.base_url))
    }

    /// POST JSON to a REST path and parse the JSON reply.
    pub fn post_json(&self, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{}{path}", self.base_url);
        self.agent
            .post(&url)
            .send_json(body)
            .map_err(|e| http_error("POST", &url, e))?
            .body_mut()
            .read_json()
            .map_err(|e| http_error("POST", &url, e))
    }

    /// Orthanc's internal id of the instance with this SOP Instance UID, if it holds it.
    pub fn instance_id(&self, sop_instance_uid: &str) -> Result<Option<String>> {
        let found = self.post_json(
            "/tools/find",
            &json!({"Level": "Instance", "Query": {"SOPInstanceUID": sop_instance_uid}}),
        )?;
        Ok(found
            .as_array()
            .and_then(|ids| ids.first())
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The stored Part-10 file of an instance, byte for byte as Orthanc keeps it.
    pub fn instance_file(&self, sop_instance_uid: &str) -> Result<Option<Vec<u8>>> {
        let Some(id) = self.instance_id(sop_instance_uid)? else {
            return Ok(None);
        };
        let url = format!("{}/instances/{id}/file", self.base_url);
        let bytes = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| http_error("GET", &url, e))?
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| http_error("GET", &url, e))?;
        Ok(Some(bytes))
    }

    /// The tags of an instance as Orthanc's `simplified-tags` (keyword → value) JSON.
    pub fn instance_tags(&self, sop_instance_uid: &str) -> Result<Option<Value>> {
        match self.instance_id(sop_instance_uid)? {
            Some(id) => Ok(Some(
                self.get_json(&format!("/instances/{id}/simplified-tags"))?,
            )),
            None => Ok(None),
        }
    }
}

fn modality_json(address: &DicomAddress) -> Value {
    json!({"AET": address.ae_title, "Host": address.host, "Port": address.port})
}

fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .http_status_as_error(true)
        .build()
        .into()
}

fn get_json(agent: &Agent, url: &str) -> Result<Value> {
    agent
        .get(url)
        .call()
        .map_err(|e| http_error("GET", url, e))?
        .body_mut()
        .with_config()
        .limit(1 << 28)
        .read_json()
        .map_err(|e| http_error("GET", url, e))
}

fn http_error(method: &'static str, url: &str, e: ureq::Error) -> Error {
    Error::Http {
        method,
        url: url.to_owned(),
        reason: e.to_string(),
    }
}
