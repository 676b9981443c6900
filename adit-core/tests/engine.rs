//! The transfer engine against scripted sources and sinks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adit_core::engine::{OutcomeStatus, Progress, TransferOptions, TransferStatus, transfer};
use adit_core::error::{Error, Result};
use adit_core::instance::Instance;
use adit_core::model::{Query, QueryResult};
use adit_core::sink::{Sink, StoreOutcome};
use adit_core::source::{Expected, RetrieveStream, Retrieved, Selection, Source};
use adit_core::transform::{ExcludeModalities, Transform, TransformOutcome};
use async_trait::async_trait;
use common::{Alive, Spec};
use futures::StreamExt;
use futures::stream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One scripted item of a source.
#[derive(Clone)]
enum Step {
    Instance(Spec),
    Missing(&'static str),
    Skipped(&'static str),
    Fail(bool),
}

/// A source that plays a script, optionally slowly, and records how it was stopped.
struct ScriptedSource {
    steps: Vec<Step>,
    delay: Duration,
    expected: Option<Expected>,
    alive: Alive,
    refuse: bool,
    token_seen_cancelled: Arc<AtomicBool>,
    stream_dropped: Arc<AtomicBool>,
    token: Mutex<Option<CancellationToken>>,
}

impl ScriptedSource {
    fn new(steps: Vec<Step>) -> Self {
        Self {
            steps,
            delay: Duration::ZERO,
            expected: None,
            alive: Alive::default(),
            refuse: false,
            token_seen_cancelled: Arc::default(),
            stream_dropped: Arc::default(),
            token: Mutex::new(None),
        }
    }

    fn instances(n: usize) -> Self {
        Self::new((0..n).map(|i| Step::Instance(Spec::new(i))).collect())
    }

    fn token_cancelled(&self) -> bool {
        self.token
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
    }
}

/// Sets a flag when the retrieve stream is dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Source for ScriptedSource {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn find(&self, _query: &Query) -> Result<adit_core::source::ResultStream> {
        Ok(stream::empty::<Result<QueryResult>>().boxed())
    }

    async fn retrieve(
        &self,
        _selection: &Selection,
        cancel: CancellationToken,
    ) -> Result<RetrieveStream> {
        if self.refuse {
            return Err(Error::Peer {
                peer: "scripted".into(),
                operation: "retrieve".into(),
                retriable: true,
                source: "connection refused".into(),
            });
        }
        *self.token.lock().unwrap() = Some(cancel.clone());
        let steps = self.steps.clone();
        let delay = self.delay;
        let alive = self.alive.clone();
        let seen = self.token_seen_cancelled.clone();
        let items = stream::iter(steps).then(move |step| {
            let alive = alive.clone();
            let cancel = cancel.clone();
            let seen = seen.clone();
            async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                if cancel.is_cancelled() {
                    seen.store(true, Ordering::SeqCst);
                }
                match step {
                    Step::Instance(spec) => Ok(Retrieved::Instance(spec.tracked_instance(&alive))),
                    Step::Missing(uid) => Ok(Retrieved::Missing {
                        sop_instance_uid: Some(uid.into()),
                        reason: "sub-operation failed".into(),
                    }),
                    Step::Skipped(what) => Ok(Retrieved::Skipped {
                        what: what.into(),
                        reason: "not DICOM".into(),
                    }),
                    Step::Fail(retriable) => Err(Error::Peer {
                        peer: "scripted".into(),
                        operation: "C-GET".into(),
                        retriable,
                        source: "association aborted".into(),
                    }),
                }
            }
        });
        // Keep the drop flag alive exactly as long as the stream.
        let flag = DropFlag(self.stream_dropped.clone());
        let items = items.map(move |item| {
            let _keep = &flag;
            item
        });
        Ok(RetrieveStream {
            expected: self.expected,
            items: items.boxed(),
        })
    }
}

/// A sink that stores into memory, slowly if asked, failing chosen instances.
#[derive(Default)]
struct TestSink {
    delay: Duration,
    concurrency: usize,
    refuse: HashSet<String>,
    break_on: Option<String>,
    stored: Mutex<Vec<String>>,
    in_store: AtomicUsize,
    peak_in_store: AtomicUsize,
    finished: AtomicUsize,
    alive: Option<Alive>,
    peak_alive_seen: AtomicUsize,
}

#[async_trait]
impl Sink for TestSink {
    fn name(&self) -> &str {
        "test-sink"
    }

    fn max_concurrency(&self) -> usize {
        self.concurrency.max(1)
    }

    async fn store(&self, instance: Instance) -> Result<StoreOutcome> {
        let now = self.in_store.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_store.fetch_max(now, Ordering::SeqCst);
        if let Some(alive) = &self.alive {
            self.peak_alive_seen
                .fetch_max(alive.now(), Ordering::SeqCst);
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.in_store.fetch_sub(1, Ordering::SeqCst);
        let uid = instance.sop_instance_uid().to_owned();
        if self.break_on.as_deref() == Some(uid.as_str()) {
            return Err(Error::io(
                "/dest",
                std::io::Error::other("no space left on device"),
            ));
        }
        if self.refuse.contains(&uid) {
            return Ok(StoreOutcome::Failed(
                "SOP class not supported (0x0122)".into(),
            ));
        }
        self.stored.lock().unwrap().push(uid);
        Ok(StoreOutcome::Stored)
    }

    async fn finish(&self) -> Result<()> {
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn selection() -> Selection {
    Selection::study(Some("SYN-0001"), "2.25.100")
}

fn uid(n: usize) -> String {
    Spec::new(n).sop_uid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_everything_and_calls_finish_once() {
    let source = ScriptedSource::instances(25);
    let sink = TestSink::default();
    let report = transfer(
        &source,
        &selection(),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.stored, 25);
    assert_eq!(report.status(), TransferStatus::Success);
    assert_eq!(sink.finished.load(Ordering::SeqCst), 1);
    let mut stored = sink.stored.lock().unwrap().clone();
    stored.sort();
    let mut expected: Vec<_> = (0..25).map(uid).collect();
    expected.sort();
    assert_eq!(stored, expected);
    assert!(report.bytes > 25 * 64, "bytes counted: {}", report.bytes);
    assert_eq!(source.alive.now(), 0, "nothing leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_bounded_by_capacity_plus_concurrency() {
    let source = ScriptedSource::instances(200);
    let alive = source.alive.clone();
    let sink = TestSink {
        delay: Duration::from_millis(2),
        concurrency: 3,
        alive: Some(alive.clone()),
        ..TestSink::default()
    };
    let options = TransferOptions::default().with_channel_capacity(4);
    let report = transfer(&source, &selection(), &[], &sink, options)
        .await
        .unwrap();
    assert_eq!(report.counts.stored, 200);
    assert!(
        alive.peak() <= 4 + 3,
        "at most capacity + concurrency alive, saw {}",
        alive.peak()
    );
    assert!(
        alive.peak() >= 4,
        "the channel did fill up (peak {})",
        alive.peak()
    );
    assert_eq!(
        sink.peak_in_store.load(Ordering::SeqCst),
        3,
        "concurrency used"
    );
    assert_eq!(alive.now(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_both_sides_promptly() {
    let mut source = ScriptedSource::instances(10_000);
    source.delay = Duration::from_millis(1);
    let sink = TestSink {
        delay: Duration::from_secs(5),
        concurrency: 2,
        ..TestSink::default()
    };
    let cancel = CancellationToken::new();
    let options = TransferOptions::default().with_cancel(cancel.clone());
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let report = transfer(&source, &selection(), &[], &sink, options)
        .await
        .unwrap();
    let took = started.elapsed();
    // Far below the 5 s an in-flight store would take: the stores were abandoned.
    assert!(took < Duration::from_secs(2), "returned after {took:?}");
    assert!(report.cancelled);
    assert_eq!(report.status(), TransferStatus::Cancelled);
    assert!(source.token_cancelled(), "the source's token was cancelled");
    assert!(
        source.stream_dropped.load(Ordering::SeqCst),
        "the stream was dropped"
    );
    assert_eq!(sink.finished.load(Ordering::SeqCst), 1);
    assert_eq!(report.counts.stored, 0, "the slow stores never completed");
    // The two abandoned stores and the buffered instances are all accounted for.
    assert!(report.counts.not_stored >= 2, "{:?}", report.counts);
    assert_eq!(report.counts.not_stored as usize, report.outcomes.len());
    assert_eq!(
        source.alive.now(),
        0,
        "every retrieved instance was released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_before_start_returns_cancelled_and_finishes_the_sink() {
    let source = ScriptedSource::instances(3);
    let sink = TestSink::default();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = transfer(
        &source,
        &selection(),
        &[],
        &sink,
        TransferOptions::default().with_cancel(cancel),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    assert_eq!(sink.finished.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failures_are_reported_per_sop_instance_uid() {
    let source = ScriptedSource::instances(10);
    let refused: HashSet<String> = [uid(3), uid(7)].into_iter().collect();
    let sink = TestSink {
        refuse: refused.clone(),
        concurrency: 2,
        ..TestSink::default()
    };
    let report = transfer(
        &source,
        &selection(),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.stored, 8);
    assert_eq!(report.counts.failed, 2);
    assert_eq!(report.status(), TransferStatus::Warning);
    let failed: HashSet<String> = report
        .problems()
        .map(|o| o.sop_instance_uid.clone().unwrap())
        .collect();
    assert_eq!(failed, refused);
    for outcome in report.problems() {
        let OutcomeStatus::Failed { reason } = &outcome.status else {
            panic!("expected a failure: {outcome:?}");
        };
        assert!(
            reason.contains("test-sink") && reason.contains("0x0122"),
            "{reason}"
        );
    }
    assert_eq!(report.outcomes.len(), 10, "one outcome per instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_missing_and_skipped_items_are_reported() {
    let source = ScriptedSource::new(vec![
        Step::Instance(Spec::new(0)),
        Step::Instance(Spec::new(1).modality("SR")),
        Step::Missing("2.25.100.1.99"),
        Step::Skipped("/in/README.txt"),
        Step::Instance(Spec::new(2)),
    ]);
    let sink = TestSink::default();
    let exclude: Arc<dyn Transform> = Arc::new(ExcludeModalities::new(["SR", "PR"]));
    let report = transfer(
        &source,
        &selection(),
        &[exclude],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    let c = report.counts;
    assert_eq!((c.stored, c.dropped, c.missing, c.skipped), (2, 1, 1, 1));
    let dropped = report
        .outcomes
        .iter()
        .find(|o| matches!(o.status, OutcomeStatus::Dropped { .. }))
        .unwrap();
    assert_eq!(dropped.sop_instance_uid.as_deref(), Some(uid(1).as_str()));
    assert!(matches!(
        &dropped.status,
        OutcomeStatus::Dropped { transform, reason }
            if transform == "exclude-modalities" && reason.contains("SR")
    ));
    let missing = report
        .outcomes
        .iter()
        .find(|o| matches!(o.status, OutcomeStatus::Missing { .. }))
        .unwrap();
    assert_eq!(missing.sop_instance_uid.as_deref(), Some("2.25.100.1.99"));
    assert_eq!(report.status(), TransferStatus::Warning);
    assert!(!sink.stored.lock().unwrap().contains(&uid(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_done_and_expected() {
    let mut source = ScriptedSource::new(vec![
        Step::Instance(Spec::new(0)),
        Step::Instance(Spec::new(1)),
        Step::Instance(Spec::new(2)),
        Step::Missing("2.25.100.1.9"),
    ]);
    source.expected = Some(Expected {
        instances: 4,
        bytes: None,
    });
    let sink = TestSink {
        delay: Duration::from_millis(5),
        ..TestSink::default()
    };
    let (tx, mut rx) = watch::channel(Progress::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_writer = seen.clone();
    let watcher = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let p = *rx.borrow_and_update();
            seen_writer.lock().unwrap().push(p);
        }
    });
    let report = transfer(
        &source,
        &selection(),
        &[],
        &sink,
        TransferOptions::default().with_progress(tx),
    )
    .await
    .unwrap();
    watcher.await.unwrap();
    let seen = seen.lock().unwrap();
    let last = *seen.last().unwrap();
    assert_eq!(last.instances_done(), 4);
    assert_eq!(last.counts.stored, 3);
    assert_eq!(last.counts.missing, 1);
    assert_eq!(last.bytes_done, report.bytes);
    assert_eq!(last.expected.unwrap().instances, 4);
    assert!(
        seen.len() >= 2,
        "progress published along the way: {}",
        seen.len()
    );
    let done: Vec<u64> = seen.iter().map(Progress::instances_done).collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "monotonic: {done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_still_yields_a_report_of_what_was_done() {
    let mut steps: Vec<Step> = (0..5).map(|i| Step::Instance(Spec::new(i))).collect();
    steps.push(Step::Fail(true));
    steps.push(Step::Instance(Spec::new(99)));
    let source = ScriptedSource::new(steps);
    let sink = TestSink::default();
    let report = transfer(
        &source,
        &selection(),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.counts.stored, 5,
        "everything before the error was stored"
    );
    assert!(matches!(
        report.error,
        Some(Error::Peer {
            retriable: true,
            ..
        })
    ));
    assert!(report.is_retriable());
    assert_eq!(report.status(), TransferStatus::Failure);
    assert!(!sink.stored.lock().unwrap().contains(&uid(99)));
    assert_eq!(sink.finished.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_retrieve_is_an_error_and_the_sink_is_finished() {
    let mut source = ScriptedSource::instances(1);
    source.refuse = true;
    let sink = TestSink::default();
    let err = transfer(
        &source,
        &selection(),
        &[],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_retriable());
    assert_eq!(sink.finished.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_sink_stops_the_transfer_and_accounts_for_everything() {
    let source = ScriptedSource::instances(50);
    let sink = TestSink {
        break_on: Some(uid(4)),
        delay: Duration::from_millis(1),
        ..TestSink::default()
    };
    let report = transfer(
        &source,
        &selection(),
        &[],
        &sink,
        TransferOptions::default().with_channel_capacity(8),
    )
    .await
    .unwrap();
    assert!(matches!(report.error, Some(Error::Io { .. })));
    assert_eq!(report.status(), TransferStatus::Failure);
    assert_eq!(report.counts.stored, 4);
    assert_eq!(report.counts.failed, 1);
    let broken = report
        .outcomes
        .iter()
        .find(|o| matches!(o.status, OutcomeStatus::Failed { .. }))
        .unwrap();
    assert_eq!(broken.sop_instance_uid.as_deref(), Some(uid(4).as_str()));
    assert!(
        report.counts.not_stored >= 1,
        "buffered instances are reported"
    );
    assert!(report.counts.total() < 50, "the source was stopped early");
    let uids: Vec<_> = report
        .outcomes
        .iter()
        .map(|o| o.sop_instance_uid.clone())
        .collect();
    let unique: HashSet<_> = uids.iter().collect();
    assert_eq!(unique.len(), uids.len(), "no instance reported twice");
    assert_eq!(sink.finished.load(Ordering::SeqCst), 1);
    assert_eq!(source.alive.now(), 0);
}

struct Failing;

impl Transform for Failing {
    fn name(&self) -> &str {
        "failing"
    }

    fn apply(&self, instance: Instance) -> Result<TransformOutcome> {
        match instance.sop_instance_uid() {
            u if u.ends_with(".1") => Err(Error::InvalidDicom {
                what: u.into(),
                reason: "cannot pseudonymize".into(),
            }),
            u if u.ends_with(".2") => panic!("transform bug"),
            _ => Ok(TransformOutcome::Keep(instance)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transform_errors_and_panics_fail_only_their_instance() {
    let source = ScriptedSource::instances(4);
    let sink = TestSink::default();
    let failing: Arc<dyn Transform> = Arc::new(Failing);
    let report = transfer(
        &source,
        &selection(),
        &[failing],
        &sink,
        TransferOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.stored, 2);
    assert_eq!(report.counts.failed, 2);
    let reasons: Vec<String> = report
        .problems()
        .map(|o| match &o.status {
            OutcomeStatus::Failed { reason } => reason.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("failing") && r.contains("cannot pseudonymize"))
    );
    assert!(reasons.iter().any(|r| r.contains("panicked")));
    assert!(report.error.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_run_as_spawned_tasks() {
    let source = Arc::new(ScriptedSource::instances(3));
    let sink = Arc::new(TestSink::default());
    let (s, k) = (source.clone(), sink.clone());
    let report = tokio::spawn(async move {
        transfer(&*s, &selection(), &[], &*k, TransferOptions::default()).await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.counts.stored, 3);
}

/// A transform that takes a while, like pseudonymizing a large instance.
struct Slow(Duration);

impl Transform for Slow {
    fn name(&self) -> &str {
        "slow"
    }

    fn apply(&self, instance: Instance) -> Result<TransformOutcome> {
        std::thread::sleep(self.0);
        Ok(TransformOutcome::Keep(instance))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transforms_run_in_parallel_even_for_a_serial_sink() {
    let source = ScriptedSource::instances(40);
    let alive = source.alive.clone();
    let sink = TestSink {
        concurrency: 1,
        alive: Some(alive.clone()),
        ..TestSink::default()
    };
    let slow: Arc<dyn Transform> = Arc::new(Slow(Duration::from_millis(25)));
    let started = Instant::now();
    let report = transfer(
        &source,
        &selection(),
        &[slow],
        &sink,
        TransferOptions::default()
            .with_channel_capacity(2)
            .with_transform_concurrency(4),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(report.counts.stored, 40);
    assert_eq!(
        sink.peak_in_store.load(Ordering::SeqCst),
        1,
        "stores stay serial"
    );
    assert!(
        alive.peak() <= 2 + 4,
        "capacity + in flight, saw {}",
        alive.peak()
    );
    // 40 × 25 ms serially would be 1 s; four at a time takes about 250 ms.
    assert!(took < Duration::from_millis(700), "took {took:?}");
}
