//! C-STORE and C-GET throughput of adit-dimse next to dcmtk's `storescu` and `getscu`, on the
//! same synthetic study, on loopback.
//!
//! `cargo run --release -p adit-benches --bin dimse -- [instances] [image-size] [parallel]`
//! (defaults 200, 512, 4). Each figure is the median of 3 runs; peak RSS is this process's
//! high-water mark during our own runs (reset before each).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use adit_core::instance::Instance;
use adit_core::model::{AeTitle, DimseCapabilities, DimseServer, QueryModel};
use adit_core::sink::Sink;
use adit_dimse::scu::{self, GetEvent};
use adit_dimse::{DimseOptions, DimseSink, PeerAddress};
use adit_testkit::corpus::{Corpus, CorpusSpec};
use adit_testkit::{DicomAddress, Orthanc, StoreScp, dcmtk};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

const CALLING: &str = "ADIT-BENCH";
const RUNS: usize = 3;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dimse bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn run() -> BenchResult<()> {
    let instances = arg(1, 200).max(4);
    let size = u16::try_from(arg(2, 512)).unwrap_or(512);
    let parallel = arg(3, 4).max(1);
    let corpus = Corpus::new(
        CorpusSpec::new("bench-dimse")
            .patients(1)
            .studies_per_patient(1)
            .series_per_study(4)
            .instances_per_series(instances / 4)
            .image_size(size, size),
    );
    let dir = tempfile::tempdir()?;
    let written = corpus.write_to(dir.path())?;
    let count = written.files.len();
    let mb = written.bytes as f64 / 1e6;
    let study_uid = corpus
        .manifest()
        .studies()
        .next()
        .map(|(_, s)| s.study_instance_uid.clone())
        .ok_or("empty corpus")?;
    println!("{count} instances, {mb:.1} MB, {size}x{size}, parallel {parallel}, median of {RUNS}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    // C-STORE into storescp --fork --ignore (max PDU 128 KiB, dcmtk's largest).
    let scp = StoreScp::builder()
        .ae_title("BENCHSCP")
        .ignore(true)
        .fork(true)
        .max_pdu(131_072)
        .start()?;
    let store_dcmtk = median(|| {
        let t = Instant::now();
        dcmtk::storescu_dir(scp.address(), CALLING, &written.root)?;
        Ok(t.elapsed())
    })?;
    let (store_one, rss_one) =
        median_rss(|| runtime.block_on(store_ours(scp.address(), &written.files, 1)))?;
    let (store_par, rss_par) =
        median_rss(|| runtime.block_on(store_ours(scp.address(), &written.files, parallel)))?;

    // C-GET from Orthanc.
    let orthanc = Orthanc::start("BENCHPACS")?;
    orthanc.upload_corpus(&corpus)?;
    let get_dcmtk = median(|| {
        let out = tempfile::tempdir()?;
        let t = Instant::now();
        dcmtk::getscu_study(orthanc.address(), CALLING, &study_uid, out.path())?;
        Ok(t.elapsed())
    })?;
    let (get_discard, rss_get) =
        median_rss(|| runtime.block_on(get_ours(orthanc.address(), &study_uid, None, count)))?;
    let (get_files, _) = median_rss(|| {
        let out = tempfile::tempdir()?;
        runtime.block_on(get_ours(
            orthanc.address(),
            &study_uid,
            Some(out.path()),
            count,
        ))
    })?;

    let line = |name: &str, d: Duration, reference: Duration, rss: Option<u64>| {
        let s = d.as_secs_f64();
        println!(
            "{name:<44} {s:>7.3} s {:>8.0} inst/s {:>7.1} MB/s  x{:.2} vs dcmtk{}",
            count as f64 / s,
            mb / s,
            reference.as_secs_f64() / s,
            rss.map(|r| format!("  peak RSS {:.0} MB", r as f64 / 1e6))
                .unwrap_or_default()
        );
    };
    println!("C-STORE -> storescp --fork --ignore");
    line("  dcmtk storescu", store_dcmtk, store_dcmtk, None);
    line(
        "  adit-dimse, 1 association",
        store_one,
        store_dcmtk,
        Some(rss_one),
    );
    line(
        &format!("  adit-dimse, {parallel} associations"),
        store_par,
        store_dcmtk,
        Some(rss_par),
    );
    println!("C-GET <- Orthanc");
    line("  dcmtk getscu (writes files)", get_dcmtk, get_dcmtk, None);
    line(
        "  adit-dimse, discarding",
        get_discard,
        get_dcmtk,
        Some(rss_get),
    );
    line("  adit-dimse, writing files", get_files, get_dcmtk, None);
    Ok(())
}

async fn store_ours(
    scp: &DicomAddress,
    files: &[std::path::PathBuf],
    parallel: usize,
) -> BenchResult<Duration> {
    let mut server = DimseServer::new(
        AeTitle::new(&scp.ae_title)?,
        scp.host.clone(),
        scp.port.try_into()?,
    )
    .with_capabilities(DimseCapabilities::all());
    server.max_associations = u16::try_from(parallel)?.try_into()?;
    let options = DimseOptions::with_calling_ae(CALLING);
    let started = Instant::now();
    let sink = DimseSink::new("bench", &server, options, parallel);
    let results: Vec<_> = futures::stream::iter(files)
        .map(|file| {
            let sink = &sink;
            async move {
                let bytes = tokio::fs::read(file).await?;
                let instance = Instance::from_part10(bytes)?;
                sink.store(instance).await?;
                Ok::<(), Box<dyn std::error::Error>>(())
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    sink.finish().await?;
    let elapsed = started.elapsed();
    for r in results {
        r?;
    }
    Ok(elapsed)
}

async fn get_ours(
    pacs: &DicomAddress,
    study_uid: &str,
    out: Option<&Path>,
    want: usize,
) -> BenchResult<Duration> {
    let peer = PeerAddress::new(&pacs.ae_title, &pacs.host, pacs.port);
    let mut id = InMemDicomObject::new_empty();
    id.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from("STUDY"),
    ));
    id.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(study_uid),
    ));
    let started = Instant::now();
    let options = DimseOptions::with_calling_ae(CALLING);
    let mut events = scu::get(
        &peer,
        &options,
        QueryModel::StudyRoot,
        vec![id],
        CancellationToken::new(),
    )
    .await?;
    let mut received = 0;
    while let Some(event) = events.next().await {
        if let GetEvent::Instance(instance) = event? {
            received += 1;
            if let Some(dir) = out {
                let path = dir.join(format!("{}.dcm", instance.sop_instance_uid()));
                let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
                instance.write_part10(&mut file)?;
                std::io::Write::flush(&mut file)?;
            }
        }
    }
    if received != want {
        return Err(format!("C-GET delivered {received} of {want} instances").into());
    }
    Ok(started.elapsed())
}

fn median(mut f: impl FnMut() -> BenchResult<Duration>) -> BenchResult<Duration> {
    let mut runs = (0..RUNS).map(|_| f()).collect::<BenchResult<Vec<_>>>()?;
    runs.sort_unstable();
    Ok(runs[RUNS / 2])
}

/// Median time and the highest peak RSS over the runs.
fn median_rss(mut f: impl FnMut() -> BenchResult<Duration>) -> BenchResult<(Duration, u64)> {
    let mut peak = 0;
    let time = median(|| {
        // Writing 5 resets the high-water mark (Linux).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let d = f()?;
        peak = peak.max(peak_rss());
        Ok(d)
    })?;
    Ok((time, peak))
}

fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}
