//! WADO-RS retrieval of one large study from Orthanc: adit-dicomweb against `curl` fetching the
//! same multipart response, in the same run.
//!
//! ```text
//! cargo run --release -p adit-benches --bin wado -- [INSTANCES] [ROWS] [RUNS]
//! ```
//! Defaults: 1000 instances of 256×256 (one study, 4 series), 3 runs of each tool,
//! interleaved. Each fetch runs in its own process (this binary with `--fetch`), so its peak
//! RSS (`VmHWM`) is its own; curl writes to `/dev/null`.

use std::process::{Command, ExitCode};
use std::time::Instant;

use adit_dicomweb::client::{WadoTarget, WadoTransferSyntax};
use adit_dicomweb::{ClientConfig, DicomWebClient};
use adit_testkit::Orthanc;
use adit_testkit::corpus::{Corpus, CorpusSpec};
use futures::TryStreamExt;

type BoxError = Box<dyn std::error::Error>;

const ACCEPT: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = if args.get(1).map(String::as_str) == Some("--fetch") {
        fetch(&args[2..])
    } else {
        bench(&args[1..])
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wado bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Child mode: fetch the study, print `instances bytes seconds peak_rss_kb`.
fn fetch(args: &[String]) -> Result<(), BoxError> {
    let [root, study] = args else {
        return Err("usage: wado --fetch ROOT STUDY".into());
    };
    // One thread, like curl: a single stream gains nothing from a second worker.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let (instances, bytes) = runtime.block_on(async {
        let mut config = ClientConfig::new(root.clone());
        config.wado_transfer_syntax = WadoTransferSyntax::AsStored;
        let client = DicomWebClient::new(config)?;
        let target = WadoTarget::Study {
            study: study.clone(),
        };
        let (mut n, mut bytes) = (0u64, 0u64);
        // WADO_BENCH_MODE=parts stops after the multipart reader (no Part-10 meta parsing),
        // to tell the reader's cost from the instance's.
        if std::env::var("WADO_BENCH_MODE").as_deref() == Ok("parts") {
            let mut parts = client.retrieve_parts(&target).await?;
            while let Some(part) = parts.try_next().await? {
                n += 1;
                bytes += part.body().len() as u64;
            }
        } else {
            let mut stream = client.retrieve(&target).await?;
            while let Some(instance) = stream.try_next().await? {
                n += 1;
                bytes += instance.size_hint();
            }
        }
        Ok::<_, adit_dicomweb::Error>((n, bytes))
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!("{instances} {bytes} {seconds} {}", peak_rss_kb());
    Ok(())
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn bench(args: &[String]) -> Result<(), BoxError> {
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let instances = arg(0, 1000);
    let rows = u16::try_from(arg(1, 256))?;
    let runs = arg(2, 3);
    let series = 4;
    let spec = CorpusSpec::new("bench-wado")
        .patients(1)
        .studies_per_patient(1)
        .series_per_study(series)
        .instances_per_series(instances.div_ceil(series))
        .image_size(rows, rows);
    let corpus = Corpus::new(spec);
    let study = corpus.manifest().patients[0].studies[0]
        .study_instance_uid
        .clone();
    let orthanc = Orthanc::start("BENCHWADO")?;
    let loading = Instant::now();
    let stored = orthanc.upload_corpus(&corpus)?;
    eprintln!(
        "loaded {stored} instances of {rows}x{rows} into Orthanc in {:.1} s",
        loading.elapsed().as_secs_f64()
    );
    let root = orthanc.dicomweb_root();
    let url = format!("{root}/studies/{study}");
    let me = std::env::current_exe()?;

    // One warm-up of each, so that Orthanc's caches are equally warm for both.
    run_ours(&me, &root, &study)?;
    run_curl(&url)?;
    let mut ours = Vec::new();
    let mut curl = Vec::new();
    for _ in 0..runs {
        ours.push(run_ours(&me, &root, &study)?);
        curl.push(run_curl(&url)?);
    }
    let median = |v: &mut Vec<Sample>| {
        v.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        v[v.len() / 2]
    };
    let (o, c) = (median(&mut ours), median(&mut curl));
    println!("| tool | instances | MB | median s | inst/s | MB/s | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|");
    for (name, s) in [("adit-dicomweb", o), ("curl", c)] {
        println!(
            "| {name} | {} | {:.1} | {:.3} | {:.0} | {:.0} | {} |",
            s.instances,
            s.bytes as f64 / 1e6,
            s.seconds,
            stored as f64 / s.seconds,
            s.bytes as f64 / 1e6 / s.seconds,
            s.rss_kb
                .map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
        );
    }
    println!(
        "ratio adit-dicomweb/curl time: {:.2}; ours without process start-up {:.3} s \
         (runs: ours {:?}, curl {:?})",
        o.seconds / c.seconds,
        o.inner,
        ours.iter()
            .map(|s| (s.seconds * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>(),
        curl.iter()
            .map(|s| (s.seconds * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>(),
    );
    if o.instances != stored as u64 {
        return Err(format!(
            "adit-dicomweb fetched {} of {stored} instances",
            o.instances
        )
        .into());
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    instances: u64,
    bytes: u64,
    seconds: f64,
    rss_kb: Option<u64>,
    /// Seconds inside the process, without start-up (ours only).
    inner: f64,
}

fn run_ours(me: &std::path::Path, root: &str, study: &str) -> Result<Sample, BoxError> {
    let started = Instant::now();
    let out = adit_benches::as_users_run(&mut Command::new(me))
        .args(["--fetch", root, study])
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("fetch failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let text = String::from_utf8(out.stdout)?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [n, bytes, inner, rss] = fields[..] else {
        return Err(format!("unexpected fetch output `{text}`").into());
    };
    Ok(Sample {
        instances: n.parse()?,
        bytes: bytes.parse()?,
        // Whole process, like curl's, including start-up.
        seconds,
        rss_kb: Some(rss.parse()?),
        inner: inner.parse()?,
    })
}

fn run_curl(url: &str) -> Result<Sample, BoxError> {
    let started = Instant::now();
    let out = Command::new("curl")
        .args([
            "-s",
            "-f",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            "-H",
        ])
        .arg(format!("Accept: {ACCEPT}"))
        .arg(url)
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("curl failed: {}", out.status).into());
    }
    let bytes: f64 = String::from_utf8(out.stdout)?.trim().parse()?;
    Ok(Sample {
        instances: 0,
        // curl counts the multipart framing too; it is a few hundred bytes per instance.
        bytes: bytes as u64,
        seconds,
        rss_kb: None,
        inner: seconds,
    })
}
