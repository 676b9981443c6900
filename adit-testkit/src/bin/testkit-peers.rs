//! `testkit-peers`: starts Orthanc peers on free loopback ports for tests written in other
//! languages (the Python module's pytest suite), loads a synthetic corpus into the first one,
//! optionally writes a second corpus as files, prints one JSON line describing everything,
//! and keeps the peers running until its standard input closes.
//!
//! ```text
//! testkit-peers [ae=ORTHANCA]... [seed=S] [patients=N] [studies=N] [series=N] [instances=N]
//!               [size=PIXELS] [files=DIR] [file-instances=N]
//! ```
//!
//! Closing stdin (or the parent dying, which closes it) stops and deletes the peers.

use std::io::Read;
use std::path::PathBuf;

use adit_testkit::Orthanc;
use adit_testkit::corpus::{Corpus, CorpusSpec};

fn main() {
    if let Err(e) = run() {
        eprintln!("testkit-peers: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut aes = Vec::new();
    let mut seed = "python".to_owned();
    let (mut patients, mut studies, mut series, mut instances) = (1, 1, 2, 2);
    let mut files: Option<PathBuf> = None;
    let mut file_instances = 3;
    let mut size: u16 = 32;
    for arg in std::env::args().skip(1) {
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| format!("argument `{arg}` is not KEY=VALUE"))?;
        match key {
            "ae" => aes.push(value.to_owned()),
            "seed" => value.clone_into(&mut seed),
            "patients" => patients = value.parse()?,
            "studies" => studies = value.parse()?,
            "series" => series = value.parse()?,
            "instances" => instances = value.parse()?,
            "files" => files = Some(PathBuf::from(value)),
            "file-instances" => file_instances = value.parse()?,
            "size" => size = value.parse()?,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if aes.is_empty() {
        aes.push("ORTHANCA".to_owned());
    }
    let peers = aes
        .iter()
        .map(|ae| Orthanc::start(ae))
        .collect::<Result<Vec<_>, _>>()?;
    let corpus = Corpus::new(
        CorpusSpec::new(seed.clone())
            .patients(patients)
            .studies_per_patient(studies)
            .series_per_study(series)
            .instances_per_series(instances)
            .image_size(size, size),
    );
    if let Some(first) = peers.first() {
        first.upload_corpus(&corpus)?;
    }
    let files_manifest = match &files {
        Some(dir) => {
            let upload = Corpus::new(
                CorpusSpec::new(format!("{seed}-files"))
                    .patients(1)
                    .studies_per_patient(1)
                    .series_per_study(1)
                    .instances_per_series(file_instances)
                    .image_size(size, size),
            );
            upload.write_to(dir)?;
            Some(upload.manifest().clone())
        }
        None => None,
    };
    let described: Vec<_> = peers
        .iter()
        .map(|p| {
            serde_json::json!({
                "ae_title": p.address().ae_title,
                "dicom_port": p.dicom_port(),
                "http_port": p.http_port(),
                "base_url": p.base_url(),
                "dicomweb_root": p.dicomweb_root(),
            })
        })
        .collect();
    let line = serde_json::json!({
        "peers": described,
        "manifest": corpus.manifest(),
        "files": files,
        "files_manifest": files_manifest,
    });
    println!("{line}");
    // Hold the peers until the parent closes our stdin (or dies).
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    drop(peers);
    Ok(())
}
