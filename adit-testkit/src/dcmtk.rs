//! dcmtk command-line tools as independent clients: load data into peers and check what they
//! hold with an implementation that is not ours.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dicom_object::{InMemDicomObject, open_file};

use crate::error::{Error, Result};
use crate::net::DicomAddress;
use crate::process::require_binary;

/// The calling AE title the helpers use unless told otherwise.
pub const DEFAULT_CALLING_AE: &str = "ADIT";

/// Query/Retrieve information model for [`findscu`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrModel {
    /// Patient Root (`-P`).
    PatientRoot,
    /// Study Root (`-S`).
    StudyRoot,
}

impl QrModel {
    fn flag(self) -> &'static str {
        match self {
            QrModel::PatientRoot => "-P",
            QrModel::StudyRoot => "-S",
        }
    }
}

/// Sends files to a peer with `storescu` over one association.
pub fn storescu(peer: &DicomAddress, calling_ae: &str, files: &[PathBuf]) -> Result<()> {
    for chunk in files.chunks(1000) {
        let mut command = tool("storescu")?;
        command
            .args(["-aet", calling_ae, "-aec", &peer.ae_title])
            .arg(&peer.host)
            .arg(peer.port.to_string())
            .args(chunk);
        run(command, "storescu")?;
    }
    Ok(())
}

/// Sends every `*.dcm` file under `dir` (recursively) to a peer with `storescu`.
pub fn storescu_dir(peer: &DicomAddress, calling_ae: &str, dir: &Path) -> Result<()> {
    let mut command = tool("storescu")?;
    // `+sp '*.dcm'`: without the pattern storescu also sends manifest.json and aborts on it.
    command
        .args([
            "-aet",
            calling_ae,
            "-aec",
            &peer.ae_title,
            "+sd",
            "+r",
            "+sp",
            "*.dcm",
        ])
        .arg(&peer.host)
        .arg(peer.port.to_string())
        .arg(dir);
    run(command, "storescu")?;
    Ok(())
}

/// Verifies a peer with `echoscu`.
pub fn echoscu(peer: &DicomAddress, calling_ae: &str) -> Result<()> {
    let mut command = tool("echoscu")?;
    command
        .args(["-aet", calling_ae, "-aec", &peer.ae_title])
        .arg(&peer.host)
        .arg(peer.port.to_string());
    run(command, "echoscu")?;
    Ok(())
}

/// Runs a C-FIND with `findscu` and returns every response identifier, in arrival order.
///
/// `keys` are findscu `-k` arguments such as `QueryRetrieveLevel=STUDY`, `PatientID` (a return
/// key) or `PatientName=SMITH*`. They are passed as raw bytes, so a key can carry text in the
/// character set the query declares (e.g. Latin-1 with `SpecificCharacterSet=ISO_IR 100`).
pub fn findscu<K: AsRef<OsStr>>(
    peer: &DicomAddress,
    calling_ae: &str,
    model: QrModel,
    keys: &[K],
) -> Result<Vec<InMemDicomObject>> {
    let out = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let mut command = tool("findscu")?;
    command
        .arg(model.flag())
        .args(["-aet", calling_ae, "-aec", &peer.ae_title, "-X", "-od"])
        .arg(out.path());
    for key in keys {
        command.arg("-k").arg(key);
    }
    command.arg(&peer.host).arg(peer.port.to_string());
    run(command, "findscu")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.path())
        .map_err(|e| Error::io(out.path(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    // rsp0001.dcm, rsp0002.dcm, ... sort to keep arrival order.
    files.sort();
    files
        .iter()
        .map(|f| {
            open_file(f)
                .map(|obj| obj.into_inner())
                .map_err(|e| Error::Dicom {
                    what: f.display().to_string(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

/// Asks `peer` to C-MOVE a study to the AE title `destination` with `movescu`.
pub fn movescu_study(
    peer: &DicomAddress,
    calling_ae: &str,
    destination: &str,
    study_instance_uid: &str,
) -> Result<()> {
    let mut command = tool("movescu")?;
    command
        .args([
            "-S",
            "-aet",
            calling_ae,
            "-aec",
            &peer.ae_title,
            "-aem",
            destination,
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
        ])
        .arg(format!("StudyInstanceUID={study_instance_uid}"))
        .arg(&peer.host)
        .arg(peer.port.to_string());
    run(command, "movescu")?;
    Ok(())
}

/// Retrieves a study with `getscu` into `out_dir`.
pub fn getscu_study(
    peer: &DicomAddress,
    calling_ae: &str,
    study_instance_uid: &str,
    out_dir: &Path,
) -> Result<()> {
    let mut command = tool("getscu")?;
    command
        .args([
            "-S",
            "-aet",
            calling_ae,
            "-aec",
            &peer.ae_title,
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
        ])
        .arg(format!("StudyInstanceUID={study_instance_uid}"))
        .arg("-od")
        .arg(out_dir)
        .arg(&peer.host)
        .arg(peer.port.to_string());
    run(command, "getscu")?;
    Ok(())
}

/// A dcmtk tool from `/usr/bin`, with `TCP_NODELAY=1` (dcmtk keeps Nagle on without it).
fn tool(name: &str) -> Result<Command> {
    let path = Path::new("/usr/bin").join(name);
    require_binary(&path, "dcmtk")?;
    let mut command = Command::new(path);
    command.env("TCP_NODELAY", "1");
    Ok(command)
}

/// Runs a tool to completion; a non-zero exit becomes [`Error::Tool`] with its stderr.
pub(crate) fn run(mut command: Command, name: &str) -> Result<Output> {
    let output = command.output().map_err(|e| Error::io(name, e))?;
    if output.status.success() {
        Ok(output)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let text = format!("{stderr}{stdout}");
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        Err(Error::Tool {
            tool: name.to_owned(),
            status: output.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        })
    }
}

/// Studies, series and instances a Q/R peer holds, counted over DIMSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerCounts {
    /// Number of studies.
    pub studies: usize,
    /// Number of series.
    pub series: usize,
    /// Number of instances.
    pub instances: usize,
}

/// Counts what a Query/Retrieve peer holds with study-root C-FINDs walking the hierarchy
/// (study → series → image), which every peer supports, including dcmqrscp's strict hierarchy.
pub fn count(peer: &DicomAddress, calling_ae: &str) -> Result<PeerCounts> {
    let uid = |obj: &InMemDicomObject, tag| {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .unwrap_or_default()
    };
    use dicom_dictionary_std::tags::{SERIES_INSTANCE_UID, STUDY_INSTANCE_UID};
    let mut counts = PeerCounts::default();
    let studies = findscu(
        peer,
        calling_ae,
        QrModel::StudyRoot,
        &["QueryRetrieveLevel=STUDY", "StudyInstanceUID"],
    )?;
    for study in &studies {
        let study_key = format!("StudyInstanceUID={}", uid(study, STUDY_INSTANCE_UID));
        let series = findscu(
            peer,
            calling_ae,
            QrModel::StudyRoot,
            &[
                "QueryRetrieveLevel=SERIES",
                study_key.as_str(),
                "SeriesInstanceUID",
            ],
        )?;
        for s in &series {
            let series_key = format!("SeriesInstanceUID={}", uid(s, SERIES_INSTANCE_UID));
            counts.instances += findscu(
                peer,
                calling_ae,
                QrModel::StudyRoot,
                &[
                    "QueryRetrieveLevel=IMAGE",
                    study_key.as_str(),
                    series_key.as_str(),
                    "SOPInstanceUID",
                ],
            )?
            .len();
        }
        counts.series += series.len();
    }
    counts.studies = studies.len();
    Ok(counts)
}
