//! Queue throughput: adit-queue on PostgreSQL and SQLite vs Procrastinate on the same
//! PostgreSQL, no-op jobs.
//!
//! `cargo run --release -p adit-benches --bin queue -- [JOBS] [PG_ADMIN_URL]`
//! (defaults: 5000 jobs, `postgres://postgres@127.0.0.1:5432/test`).
//!
//! For each of 1, 4 and 16 worker tasks: enqueue JOBS jobs one per transaction from that many
//! concurrent producer tasks, then let one worker with that concurrency claim and complete them
//! all. Last, enqueue JOBS jobs in batches of [`BATCH`] (one statement and one commit per
//! batch) from one task. Each backend gets a fresh database. Procrastinate runs from a venv
//! under `target/` (created with pip on first use) with the same steps (`defer_async` from as
//! many producers, a worker with `wait=False`, then `batch_defer_async`). Prints a Markdown
//! table of jobs/s.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adit_core::queue::{JobSpec, JobStatus, Queue};
use adit_queue::{JobQueue, Worker, WorkerConfig};
use sqlx::{Connection, Executor, PgConnection};
use tokio_util::sync::CancellationToken;

type Res<T> = Result<T, Box<dyn Error>>;

const CONCURRENCIES: [usize; 3] = [1, 4, 16];
/// Jobs per batch of the batch-enqueue phase.
const BATCH: usize = 100;
const PROCRASTINATE: &str = "procrastinate==3.10.0";
const PSYCOPG: &str = "psycopg[binary]==3.3.9";

/// One measured phase.
struct Figure {
    system: &'static str,
    phase: &'static str,
    tasks: usize,
    jobs: usize,
    secs: f64,
}

#[tokio::main]
async fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let jobs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5000);
    let admin = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .ok_or("admin URL needs a database")?;
    preflight(&admin).await?;
    let mut figures = Vec::new();

    let pg_db = format!("adit_queue_bench_{}", std::process::id());
    recreate(&admin, &pg_db).await?;
    let pg = JobQueue::connect(&format!("{base}/{pg_db}")).await?;
    figures.extend(run_adit("adit-queue PostgreSQL", &pg, jobs).await?);
    drop(pg);
    drop_db(&admin, &pg_db).await?;

    let dir = std::env::temp_dir().join(format!("adit-queue-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = JobQueue::connect(&format!("sqlite://{}", dir.join("q.db").display())).await?;
    figures.extend(run_adit("adit-queue SQLite", &sqlite, jobs).await?);
    drop(sqlite);
    std::fs::remove_dir_all(&dir)?;

    let proc_db = format!("adit_queue_bench_procrastinate_{}", std::process::id());
    recreate(&admin, &proc_db).await?;
    let conninfo = format!("{base}/{proc_db}");
    let result = run_procrastinate(&conninfo, jobs);
    drop_db(&admin, &proc_db).await?;
    figures.extend(result?);

    print_table(&figures);
    Ok(())
}

async fn run_adit(system: &'static str, queue: &JobQueue, jobs: usize) -> Res<Vec<Figure>> {
    let mut figures = Vec::new();
    let mut finished = 0usize;
    for tasks in CONCURRENCIES {
        let start = Instant::now();
        let mut producers = tokio::task::JoinSet::new();
        for producer in 0..tasks {
            let queue = queue.clone();
            producers.spawn(async move {
                for i in (producer..jobs).step_by(tasks) {
                    queue
                        .enqueue(&JobSpec::new(
                            "noop",
                            "bench",
                            serde_json::json!({ "i": i }),
                        ))
                        .await?;
                }
                Ok::<_, adit_queue::Error>(())
            });
        }
        while let Some(done) = producers.join_next().await {
            done??;
        }
        figures.push(Figure {
            system,
            phase: "enqueue",
            tasks,
            jobs,
            secs: start.elapsed().as_secs_f64(),
        });

        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        let worker = Worker::new(
            queue.clone(),
            WorkerConfig::new(["bench"]).with_concurrency(tasks),
        )
        .handle("noop", move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            async { Ok(()) }
        });
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        let running = tokio::spawn(worker.run(shutdown.clone()));
        while ran.load(Ordering::Relaxed) < jobs {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        finished += jobs;
        // Done means recorded as succeeded, not just run.
        loop {
            let counts = queue.counts().await?;
            if counts.get(&JobStatus::Succeeded).copied().unwrap_or(0) >= i64::try_from(finished)? {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        figures.push(Figure {
            system,
            phase: "claim+complete",
            tasks,
            jobs,
            secs: start.elapsed().as_secs_f64(),
        });
        shutdown.cancel();
        running.await??;
    }

    let specs: Vec<JobSpec> = (0..jobs)
        .map(|i| JobSpec::new("noop", "bench", serde_json::json!({ "i": i })))
        .collect();
    let start = Instant::now();
    for batch in specs.chunks(BATCH) {
        queue.enqueue_many(batch).await?;
    }
    figures.push(Figure {
        system,
        phase: "batch enqueue",
        tasks: 1,
        jobs,
        secs: start.elapsed().as_secs_f64(),
    });
    Ok(figures)
}

fn run_procrastinate(conninfo: &str, jobs: usize) -> Res<Vec<Figure>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = root.join("target/procrastinate-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv))?;
    }
    run(std::process::Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        PROCRASTINATE,
        PSYCOPG,
    ]))?;
    let concurrencies = CONCURRENCIES.map(|c| c.to_string()).join(",");
    let output = std::process::Command::new(python)
        .arg(root.join("benches/python/procrastinate_bench.py"))
        .args([conninfo, &jobs.to_string(), &concurrencies])
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "procrastinate benchmark failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let mut figures = Vec::new();
    for line in String::from_utf8(output.stdout)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        figures.push(Figure {
            system: "Procrastinate 3.10 PostgreSQL",
            phase: match v["what"].as_str() {
                Some("enqueue") => "enqueue",
                Some("batch") => "batch enqueue",
                _ => "claim+complete",
            },
            tasks: usize::try_from(v["tasks"].as_u64().ok_or("tasks")?)?,
            jobs: usize::try_from(v["jobs"].as_u64().ok_or("jobs")?)?,
            secs: v["secs"].as_f64().ok_or("secs")?,
        });
    }
    Ok(figures)
}

fn run(cmd: &mut std::process::Command) -> Res<()> {
    let status = cmd.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}").into())
    }
}

/// Drops bench databases an interrupted run left behind and warns about sessions that slow
/// every PostgreSQL commit down for both systems (open transactions hold back vacuum; a
/// listener that never reads holds the notification queue's tail).
async fn preflight(admin: &str) -> Res<()> {
    let mut conn = PgConnection::connect(admin).await?;
    let leftovers: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'adit\\_queue\\_bench\\_%'",
    )
    .fetch_all(&mut conn)
    .await?;
    for name in leftovers {
        eprintln!("dropping leftover bench database {name}");
        drop_db(admin, &name).await?;
    }
    let busy: Vec<(Option<String>, Option<String>, i64)> = sqlx::query_as(
        "SELECT datname, state, COUNT(*) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await?;
    for (db, state, n) in busy {
        eprintln!("other sessions: {n} {state:?} on {db:?}");
    }
    let usage: f64 = sqlx::query_scalar("SELECT pg_notification_queue_usage()")
        .fetch_one(&mut conn)
        .await?;
    if usage > 0.0 {
        eprintln!("notification queue {:.1} % full", usage * 100.0);
    }
    Ok(())
}

async fn recreate(admin: &str, name: &str) -> Res<()> {
    drop_db(admin, name).await?;
    let mut conn = PgConnection::connect(admin).await?;
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await?;
    Ok(())
}

async fn drop_db(admin: &str, name: &str) -> Res<()> {
    let mut conn = PgConnection::connect(admin).await?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .await?;
    Ok(())
}

fn print_table(figures: &[Figure]) {
    println!("| system | phase | worker tasks | jobs | seconds | jobs/s |");
    println!("|---|---|---:|---:|---:|---:|");
    for f in figures {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.0} |",
            f.system,
            f.phase,
            f.tasks,
            f.jobs,
            f.secs,
            f.jobs as f64 / f.secs
        );
    }
    let rate = |system: &str, phase: &str, tasks: usize| {
        figures
            .iter()
            .find(|f| f.system.starts_with(system) && f.phase == phase && f.tasks == tasks)
            .map(|f| f.jobs as f64 / f.secs)
    };
    println!();
    for tasks in CONCURRENCIES {
        if let (Some(ours), Some(theirs)) = (
            rate("adit-queue PostgreSQL", "claim+complete", tasks),
            rate("Procrastinate", "claim+complete", tasks),
        ) {
            println!(
                "claim+complete, {tasks} worker tasks: adit-queue/Procrastinate = {:.1}×",
                ours / theirs
            );
        }
    }
    for tasks in CONCURRENCIES {
        if let (Some(ours), Some(theirs)) = (
            rate("adit-queue PostgreSQL", "enqueue", tasks),
            rate("Procrastinate", "enqueue", tasks),
        ) {
            println!(
                "enqueue, {tasks} producer tasks: adit-queue/Procrastinate = {:.1}×",
                ours / theirs
            );
        }
    }
    // A job's way through the queue: enqueued (one per transaction, as many producers as
    // workers), then claimed and completed. Jobs per second of both phases together.
    let through = |system: &str, tasks: usize| -> Option<f64> {
        let enqueue = rate(system, "enqueue", tasks)?;
        let process = rate(system, "claim+complete", tasks)?;
        Some(1.0 / (1.0 / enqueue + 1.0 / process))
    };
    for tasks in CONCURRENCIES {
        if let (Some(ours), Some(theirs)) = (
            through("adit-queue PostgreSQL", tasks),
            through("Procrastinate", tasks),
        ) {
            println!(
                "enqueue then claim+complete, {tasks} tasks: {ours:.0} vs {theirs:.0} jobs/s, adit-queue/Procrastinate = {:.1}×",
                ours / theirs
            );
        }
    }
    if let (Some(ours), Some(theirs)) = (
        rate("adit-queue PostgreSQL", "batch enqueue", 1),
        rate("Procrastinate", "batch enqueue", 1),
    ) {
        println!(
            "batch enqueue ({BATCH} per batch): adit-queue/Procrastinate = {:.1}×",
            ours / theirs
        );
    }
}
