//! Pseudonymizing a folder of synthetic 512×512 CT files: ADIT-RS against `dicognito` (what
//! ADIT uses) and `cp -r` as the floor.
//!
//! ```text
//! cargo run --release -p adit-benches --bin pseudonymize -- [--files 1000] [--runs 3] [--work DIR]
//!     [--size 512] [--series 10] [--threads 0] [--keep-paths] [--basic]
//! ```
//!
//! Each tool runs as its own process under `/usr/bin/time` (wall time, peak RSS, CPU use),
//! on the same input folder, writing a fresh output folder; `sync` runs before each
//! measurement so earlier runs' dirty pages are not charged to the next. dicognito 0.19.0 is
//! installed into a venv under `target/` on first use. `--work` puts input and outputs elsewhere
//! (default `target/bench-pseudonymize`), e.g. on tmpfs to take the disk out of the figures.
//! `--size` (image rows and columns) and `--series` shape the corpus (it is written again when
//! they change); `--threads`, `--keep-paths` (the input's relative paths instead of ADIT's
//! layout) and `--basic` (the Basic Profile without a fixed pseudonym, as the Python module's
//! `Pseudonymizer(secret)`) shape the ADIT-RS run, e.g. `--size 128 --series 1 --keep-paths
//! --basic --threads 1` for the Python module's small-file benchmark.
//! Figures go to `docs/benchmarks.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use adit_core::pseudonymize::{
    Pseudonymizer, PseudonymizerConfig, Secret, TreeLayout, TreeOptions, pseudonymize_tree,
};
use adit_testkit::corpus::{Corpus, CorpusSpec};

/// The allocator of the `adit` binary, so `ours` measures what `adit pseudonymize` runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DICOGNITO: &str = "dicognito==0.19.0";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("ours") {
        ours(&args[1..])
    } else if args.first().map(String::as_str) == Some("cpu") {
        cpu(&args[1..])
    } else {
        bench(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pseudonymize bench: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Builds a tool's command line for an output folder.
type CommandFor<'a> = Box<dyn Fn(&Path) -> Command + 'a>;

/// Child mode: what `adit pseudonymize IN OUT --profile adit --pseudonym BENCH --secret ...`
/// runs, without the CLI parsing.
fn ours(args: &[String]) -> Res<()> {
    let [input, output, options @ ..] = args else {
        return Err(
            "usage: pseudonymize ours IN OUT [--threads N] [--keep-paths] [--basic]".into(),
        );
    };
    let secret = Secret::new("benchmark secret")?;
    let config = if options.iter().any(|a| a == "--basic") {
        PseudonymizerConfig::basic(secret)
    } else {
        PseudonymizerConfig::adit(secret)
            .with_pseudonym("BENCH")
            .with_trial(Some("TRIAL".into()), Some("Benchmark".into()))
    };
    let p = Pseudonymizer::new(config)?;
    let tree = TreeOptions {
        layout: if options.iter().any(|a| a == "--keep-paths") {
            TreeLayout::Mirror
        } else {
            TreeLayout::Adit
        },
        threads: option(options, "--threads", 0)?,
    };
    let report = pseudonymize_tree(Path::new(input), Path::new(output), &p, &tree)?;
    if !report.failed.is_empty() || !report.skipped.is_empty() {
        return Err(format!("not clean: {}", report.summary()).into());
    }
    Ok(())
}

/// In-process, one thread, no file I/O: the CPU cost per file of each step.
fn cpu(args: &[String]) -> Res<()> {
    let dir = PathBuf::from(args.first().ok_or("usage: pseudonymize cpu DIR")?);
    let mut files = Vec::new();
    walk(&dir, &mut |p| files.push(p.to_owned()))?;
    let data: Vec<bytes::Bytes> = files
        .iter()
        .map(|f| std::fs::read(f).map(bytes::Bytes::from))
        .collect::<Result<_, _>>()?;
    let p = Pseudonymizer::new(
        PseudonymizerConfig::adit(Secret::new("benchmark secret")?).with_pseudonym("BENCH"),
    )?;
    let n = data.len() as f64;
    let t = std::time::Instant::now();
    let mut instances = Vec::with_capacity(data.len());
    for d in &data {
        instances.push(adit_core::instance::Instance::from_part10(d.clone())?);
    }
    let parse = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    for i in &mut instances {
        p.pseudonymize(i)?;
    }
    let pseudo = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let mut total = 0;
    for i in &instances {
        let mut sink = std::io::sink();
        i.write_part10(&mut sink)?;
        total += i.size_hint();
    }
    let write = t.elapsed().as_secs_f64();
    println!(
        "per file: meta parse {:.1} us, pseudonymize {:.1} us, encode {:.1} us ({:.0} MB)",
        parse / n * 1e6,
        pseudo / n * 1e6,
        write / n * 1e6,
        total as f64 / 1e6
    );
    Ok(())
}

fn option(args: &[String], name: &str, default: usize) -> Res<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).ok_or("missing value")?.parse()?),
        None => Ok(default),
    }
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Run {
    seconds: f64,
    peak_rss_kb: u64,
    cpu_percent: f64,
    /// User plus system CPU time.
    cpu_seconds: f64,
}

fn bench(args: &[String]) -> Res<()> {
    let files = option(args, "--files", 1000)?;
    let runs = option(args, "--runs", 3)?.max(1);
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let work = match args.iter().position(|a| a == "--work") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or("missing value for --work")?),
        None => target.join("bench-pseudonymize"),
    };
    let input = work.join("input");
    let size = u16::try_from(option(args, "--size", 512)?)?;
    let series = option(args, "--series", 10)?.max(1);
    let (count, bytes) = ensure_corpus(&input, files, series, size)?;
    // What the ADIT-RS child is told besides its folders.
    let mut ours_options = vec![
        "--threads".to_owned(),
        option(args, "--threads", 0)?.to_string(),
    ];
    for flag in ["--keep-paths", "--basic"] {
        if args.iter().any(|a| a == flag) {
            ours_options.push(flag.to_owned());
        }
    }
    let python = ensure_dicognito(&target)?;
    let me = std::env::current_exe()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "input: {count} files in {series} series, {:.1} MB, {size}x{size} 16-bit CT; {cores} cores; \
         median of {runs} runs; adit-rs {}",
        bytes as f64 / 1e6,
        ours_options.join(" ")
    );

    let tools: [(&str, CommandFor); 3] = [
        (
            "cp -r",
            Box::new(|out: &Path| {
                let mut c = Command::new("cp");
                c.arg("-r").arg(&input).arg(out);
                c
            }),
        ),
        (
            "adit-rs",
            Box::new(|out: &Path| {
                let mut c = Command::new(&me);
                c.arg("ours").arg(&input).arg(out).args(&ours_options);
                c
            }),
        ),
        (
            "dicognito",
            Box::new(|out: &Path| {
                let mut c = Command::new(&python);
                c.args(["-m", "dicognito", "--quiet", "--output-directory"])
                    .arg(out)
                    .arg(&input);
                c
            }),
        ),
    ];
    let mut results: Vec<Vec<Run>> = vec![Vec::new(); tools.len()];
    for _ in 0..runs {
        for (i, (name, command)) in tools.iter().enumerate() {
            let out = work.join(format!("out-{i}"));
            if out.exists() {
                std::fs::remove_dir_all(&out)?;
            }
            let mut cmd = command(&out);
            let run = measure(&mut cmd).map_err(|e| format!("{name}: {e}"))?;
            let written = count_files(&out)?;
            if written != count {
                return Err(format!("{name} wrote {written} of {count} files").into());
            }
            results[i].push(run);
        }
    }

    let median = |runs: &[Run]| -> Run {
        let mut sorted = runs.to_vec();
        sorted.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        sorted[sorted.len() / 2]
    };
    let medians: Vec<Run> = results.iter().map(|r| median(r)).collect();
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>10} {:>6} {:>12}",
        "tool", "seconds", "files/s", "MB/s", "peak RSS", "CPU", "CPU ms/file"
    );
    for ((name, _), run) in tools.iter().zip(&medians) {
        println!(
            "{:<10} {:>9.3} {:>9.0} {:>9.0} {:>7.1} MB {:>5.0}% {:>12.2}",
            name,
            run.seconds,
            count as f64 / run.seconds,
            bytes as f64 / 1e6 / run.seconds,
            run.peak_rss_kb as f64 / 1024.0,
            run.cpu_percent,
            run.cpu_seconds * 1000.0 / count as f64
        );
    }
    let (cp, ours, dicognito) = (medians[0], medians[1], medians[2]);
    println!(
        "adit-rs is {:.1}x faster than dicognito (target >= 30x) and takes {:.2}x the time of cp -r (target <= 2x)",
        dicognito.seconds / ours.seconds,
        ours.seconds / cp.seconds
    );
    println!(
        "in CPU time: dicognito uses {:.1}x, cp -r {:.2}x of adit-rs; load average now {}",
        dicognito.cpu_seconds / ours.cpu_seconds,
        cp.cpu_seconds / ours.cpu_seconds,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?")
    );
    Ok(())
}

/// Runs `cmd` under `/usr/bin/time` after a `sync`.
fn measure(cmd: &mut Command) -> Res<Run> {
    Command::new("sync").status()?;
    let mut timed = Command::new("/usr/bin/time");
    adit_benches::as_users_run(&mut timed)
        .args(["-f", "TIME %e %M %P %U %S"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    let out = timed.output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("failed: {stderr}").into());
    }
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("TIME "))
        .ok_or("no timing line")?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    Ok(Run {
        seconds: fields.get(1).ok_or("no time")?.parse()?,
        peak_rss_kb: fields.get(2).ok_or("no rss")?.parse()?,
        cpu_percent: fields
            .get(3)
            .ok_or("no cpu")?
            .trim_end_matches('%')
            .parse()?,
        cpu_seconds: fields.get(4).ok_or("no user time")?.parse::<f64>()?
            + fields.get(5).ok_or("no system time")?.parse::<f64>()?,
    })
}

/// Writes the corpus once per shape (the same seed always gives the same files). The shape is
/// noted next to the input folder, not in it, so every tool sees only DICOM files.
fn ensure_corpus(input: &Path, files: usize, series: usize, size: u16) -> Res<(usize, u64)> {
    let per_series = files.div_ceil(series);
    let shape = format!("{series} series x {per_series} instances, {size}x{size}\n");
    let shape_file = input.with_extension("shape");
    let same_shape = std::fs::read_to_string(&shape_file).is_ok_and(|s| s == shape);
    if !same_shape || count_files(input).unwrap_or(0) != series * per_series {
        if input.exists() {
            std::fs::remove_dir_all(input)?;
        }
        let corpus = Corpus::new(
            CorpusSpec::new("bench-pseudonymize")
                .patients(1)
                .studies_per_patient(1)
                .series_per_study(series)
                .instances_per_series(per_series)
                .image_size(size, size),
        );
        corpus.write_to(input)?;
        // Only DICOM files, so every tool sees the same input.
        std::fs::remove_file(input.join("manifest.json"))?;
        std::fs::write(&shape_file, shape)?;
    }
    let mut bytes = 0;
    let mut count = 0;
    walk(input, &mut |p| {
        bytes += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        count += 1;
    })?;
    Ok((count, bytes))
}

/// A Python with dicognito, in a venv under `target/` (installed on first use).
fn ensure_dicognito(target: &Path) -> Res<PathBuf> {
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    let has = |python: &Path| {
        Command::new(python)
            .args(["-c", "import dicognito"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has(&python) {
        println!("installing {DICOGNITO} into {}", venv.display());
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()?
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", DICOGNITO])
                .status()?
                .success();
        if !ok || !has(&python) {
            return Err("could not install dicognito".into());
        }
    }
    Ok(python)
}

fn count_files(dir: &Path) -> Res<usize> {
    let mut n = 0;
    walk(dir, &mut |_| n += 1)?;
    Ok(n)
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) -> Res<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, f)?;
        } else {
            f(&path);
        }
    }
    Ok(())
}
