//! The streaming transfer engine: source → transforms → sink with bounded memory.
//!
//! ```text
//!  Source::retrieve ──► producer task ──► bounded channel ──► up to N in flight:
//!                       (reserves a slot    (capacity C)        transforms (blocking pool),
//!                        before pulling)                        then Sink::store (at most
//!                                                               max_concurrency at once)
//! ```
//!
//! At most `C + N` instances are alive at any time, where `C` is
//! [`TransferOptions::channel_capacity`] and `N` is the number in flight: the sink's
//! [`crate::sink::Sink::max_concurrency`], or, when there are transforms, the larger of that
//! and [`TransferOptions::transform_concurrency`], so CPU-bound transforms (pseudonymization)
//! use every core even for a sink that stores one instance at a time. The producer reserves a
//! channel slot before it asks the source for the next item, so it never holds an instance
//! while waiting.
//!
//! Every item gets an outcome in the [`TransferReport`]; nothing is dropped silently. A
//! cancelled token stops the source (its token is a child of the transfer's) and abandons the
//! stores in flight; a broken sink stops the source and lets the stores in flight finish; a
//! failing source lets what was already retrieved be stored. [`crate::sink::Sink::finish`] is
//! always called.

mod report;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::{BoxStream, FuturesUnordered};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use report::{
    InstanceOutcome, OutcomeCounts, OutcomeStatus, Progress, TransferReport, TransferStatus,
};

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::sink::{Sink, StoreOutcome};
use crate::source::{Expected, Retrieved, Selection, Source};
use crate::transform::{Transform, TransformOutcome};

/// Default capacity of the channel between retrieve and store.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 8;

/// How to run a transfer.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Instances buffered between retrieve and store (at least 1).
    pub channel_capacity: usize,
    /// Cancels the transfer: the source stops on the wire, stores in flight are abandoned.
    pub cancel: CancellationToken,
    /// Receives a [`Progress`] snapshot after every outcome.
    pub progress: Option<watch::Sender<Progress>>,
    /// How many instances may be transformed at once; `None` means one per core.
    pub transform_concurrency: Option<usize>,
}

impl Default for TransferOptions {
    fn default() -> Self {
        Self {
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            cancel: CancellationToken::new(),
            progress: None,
            transform_concurrency: None,
        }
    }
}

impl TransferOptions {
    /// Uses `cancel` as the transfer's cancellation token.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Publishes progress to `progress`.
    pub fn with_progress(mut self, progress: watch::Sender<Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Sets how many instances may be transformed at once (clamped to at least 1).
    pub fn with_transform_concurrency(mut self, concurrency: usize) -> Self {
        self.transform_concurrency = Some(concurrency.max(1));
        self
    }

    /// Sets the channel capacity (clamped to at least 1).
    pub fn with_channel_capacity(mut self, capacity: usize) -> Self {
        self.channel_capacity = capacity.max(1);
        self
    }
}

/// Transfers `selection` from `source` through `transforms` (in order) to `sink`.
///
/// Returns `Err` only when the retrieve could not start at all (the source refused it or the
/// transfer was cancelled before); `sink.finish()` has been called then too. Once instances
/// flow, the result is always a [`TransferReport`], whose `error` holds whatever stopped the
/// transfer early, next to the outcomes of everything done until then.
pub async fn transfer(
    source: &dyn Source,
    selection: &Selection,
    transforms: &[Arc<dyn Transform>],
    sink: &dyn Sink,
    options: TransferOptions,
) -> Result<TransferReport> {
    let started = Instant::now();
    let source_cancel = options.cancel.child_token();
    let retrieve = tokio::select! {
        biased;
        () = options.cancel.cancelled() => Err(Error::Cancelled),
        r = source.retrieve(selection, source_cancel.clone()) => r,
    };
    let stream = match retrieve {
        Ok(stream) => stream,
        Err(e) => {
            if let Err(finish) = sink.finish().await {
                tracing::warn!(sink = sink.name(), error = %finish, "finishing the sink failed");
            }
            return Err(e);
        }
    };

    let mut run = Run::new(sink, options.progress, stream.expected);
    let capacity = options.channel_capacity.max(1);
    let (tx, rx) = mpsc::channel(capacity);
    let producer = tokio::spawn(produce(stream.items, tx, source_cancel.clone()));
    let transforms: Arc<[Arc<dyn Transform>]> = transforms.into();

    let store_concurrency = sink.max_concurrency().max(1);
    let max_in_flight = if transforms.is_empty() {
        store_concurrency
    } else {
        let transform_concurrency = options.transform_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        store_concurrency.max(transform_concurrency)
    };
    let stores = Arc::new(Semaphore::new(store_concurrency));
    let pipeline = Pipeline {
        transforms: &transforms,
        stores: &stores,
        max_in_flight,
    };
    run.pump(rx, pipeline, &options.cancel, &source_cancel)
        .await;

    source_cancel.cancel();
    producer.abort();
    // The producer only ends by returning or by this abort; neither is an error worth a report.
    let _ = producer.await;
    let finish_error = sink.finish().await.err();
    Ok(run.into_report(started, finish_error))
}

/// Pulls items from the source and forwards them, reserving a slot before each pull. After the
/// last item the stream is kept (not dropped) until `cancel`, which the engine fires once every
/// instance in flight is processed.
async fn produce(
    mut items: BoxStream<'static, Result<Retrieved>>,
    tx: mpsc::Sender<Result<Retrieved>>,
    cancel: CancellationToken,
) {
    loop {
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            permit = tx.reserve() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let item = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            item = items.next() => item,
        };
        match item {
            None => {
                // Close the channel but keep the source's stream until the transfer is over:
                // a source may tie cleanup to dropping it (the C-MOVE source deletes its spool
                // files then), and that must come after the stores, not before.
                drop(permit);
                drop(tx);
                cancel.cancelled().await;
                return;
            }
            Some(Err(e)) => {
                permit.send(Err(e));
                return;
            }
            Some(Ok(item)) => permit.send(Ok(item)),
        }
    }
}

/// How instances in flight are processed.
struct Pipeline<'a> {
    transforms: &'a Arc<[Arc<dyn Transform>]>,
    /// Permits for concurrent `Sink::store` calls.
    stores: &'a Arc<Semaphore>,
    max_in_flight: usize,
}

type InFlight<'a> = Pin<Box<dyn Future<Output = (u64, Processed)> + Send + 'a>>;

/// What happened to one instance in flight.
enum Processed {
    Stored {
        destination_uid: String,
        bytes: u64,
        outcome: StoreOutcome,
    },
    Dropped {
        transform: String,
        reason: String,
    },
    TransformFailed {
        transform: String,
        reason: String,
    },
    SinkBroken {
        error: Error,
    },
}

/// The state of one transfer: outcomes so far and the instances in flight.
struct Run<'s> {
    sink: &'s dyn Sink,
    progress_tx: Option<watch::Sender<Progress>>,
    progress: Progress,
    outcomes: Vec<InstanceOutcome>,
    /// Source SOP Instance UIDs of the instances in flight, by sequence number.
    in_flight_uids: HashMap<u64, String>,
    next_id: u64,
    cancelled: bool,
    error: Option<Error>,
}

impl<'s> Run<'s> {
    fn new(
        sink: &'s dyn Sink,
        progress_tx: Option<watch::Sender<Progress>>,
        expected: Option<Expected>,
    ) -> Self {
        let run = Self {
            sink,
            progress_tx,
            progress: Progress {
                expected,
                ..Progress::default()
            },
            outcomes: Vec::new(),
            in_flight_uids: HashMap::new(),
            next_id: 0,
            cancelled: false,
            error: None,
        };
        run.publish();
        run
    }

    /// Moves items from the channel through transforms into the sink until the source is
    /// exhausted, the transfer is cancelled or the sink breaks.
    async fn pump(
        &mut self,
        mut rx: mpsc::Receiver<Result<Retrieved>>,
        pipeline: Pipeline<'_>,
        cancel: &CancellationToken,
        source_cancel: &CancellationToken,
    ) {
        let sink = self.sink;
        let max_in_flight = pipeline.max_in_flight;
        let mut in_flight: FuturesUnordered<InFlight<'s>> = FuturesUnordered::new();
        let mut source_open = true;
        let mut sink_broken = false;

        while source_open || !in_flight.is_empty() {
            tokio::select! {
                biased;
                () = cancel.cancelled() => {
                    self.cancelled = true;
                    break;
                }
                Some((id, processed)) = in_flight.next(), if !in_flight.is_empty() => {
                    if self.record_processed(id, processed) {
                        sink_broken = true;
                        break;
                    }
                }
                item = rx.recv(), if source_open && in_flight.len() < max_in_flight => {
                    match item {
                        None => source_open = false,
                        Some(Ok(Retrieved::Instance(instance))) => {
                            let id = self.next_id;
                            self.next_id += 1;
                            self.in_flight_uids
                                .insert(id, instance.sop_instance_uid().to_owned());
                            in_flight.push(Box::pin(process(
                                id,
                                instance,
                                Arc::clone(pipeline.transforms),
                                Arc::clone(pipeline.stores),
                                sink,
                            )));
                        }
                        Some(Ok(other)) => self.record_retrieved(other),
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "source failed mid-transfer");
                            self.error.get_or_insert(e);
                            source_open = false;
                        }
                    }
                }
            }
        }

        source_cancel.cancel();
        if sink_broken {
            // The sink is broken; the stores still in flight will end quickly on their own,
            // and their outcomes are real.
            while let Some((id, processed)) = in_flight.next().await {
                self.record_processed(id, processed);
            }
        }
        // Cancelled: abandon the stores in flight (dropping them cancels them).
        drop(in_flight);
        let reason = if self.cancelled {
            "transfer cancelled before the instance was stored".to_owned()
        } else {
            format!("transfer stopped because sink {} failed", sink.name())
        };
        let mut abandoned: Vec<_> = self.in_flight_uids.drain().collect();
        abandoned.sort_unstable_by_key(|(id, _)| *id);
        for (_, uid) in abandoned {
            self.record(
                Some(uid),
                None,
                OutcomeStatus::NotStored {
                    reason: "transfer cancelled while the instance was being stored; the \
                         destination may hold a copy"
                        .into(),
                },
            );
        }
        // Whatever the producer already handed over still gets an outcome.
        rx.close();
        while let Some(item) = rx.recv().await {
            match item {
                Ok(Retrieved::Instance(instance)) => {
                    let uid = instance.sop_instance_uid().to_owned();
                    drop(instance);
                    self.record(
                        Some(uid),
                        None,
                        OutcomeStatus::NotStored {
                            reason: reason.clone(),
                        },
                    );
                }
                Ok(other) => self.record_retrieved(other),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }

    /// Records a non-instance item from the source.
    fn record_retrieved(&mut self, item: Retrieved) {
        match item {
            Retrieved::Missing {
                sop_instance_uid,
                reason,
            } => self.record(sop_instance_uid, None, OutcomeStatus::Missing { reason }),
            Retrieved::Skipped { what, reason } => {
                self.record(None, None, OutcomeStatus::Skipped { what, reason });
            }
            Retrieved::Expected(expected) => {
                self.progress.expected = Some(expected);
                self.publish();
            }
            Retrieved::Instance(instance) => {
                // Instances are handled by the caller; keep the invariant visible anyway.
                self.record(
                    Some(instance.sop_instance_uid().to_owned()),
                    None,
                    OutcomeStatus::NotStored {
                        reason: "internal: instance took the wrong path".into(),
                    },
                );
            }
        }
    }

    /// Records the result of an instance in flight; returns whether the sink is broken.
    fn record_processed(&mut self, id: u64, processed: Processed) -> bool {
        let uid = self.in_flight_uids.remove(&id);
        match processed {
            Processed::Stored {
                destination_uid,
                bytes,
                outcome,
            } => {
                let destination_uid = Some(destination_uid).filter(|d| Some(d) != uid.as_ref());
                let status = match outcome {
                    StoreOutcome::Stored => OutcomeStatus::Stored { bytes },
                    StoreOutcome::Warning(warning) => {
                        OutcomeStatus::StoredWithWarning { bytes, warning }
                    }
                    StoreOutcome::Failed(reason) => OutcomeStatus::Failed {
                        reason: format!("{}: {reason}", self.sink.name()),
                    },
                };
                if matches!(
                    status,
                    OutcomeStatus::Stored { .. } | OutcomeStatus::StoredWithWarning { .. }
                ) {
                    self.progress.bytes_done += bytes;
                }
                self.record(uid, destination_uid, status);
                false
            }
            Processed::Dropped { transform, reason } => {
                self.record(uid, None, OutcomeStatus::Dropped { transform, reason });
                false
            }
            Processed::TransformFailed { transform, reason } => {
                self.record(
                    uid,
                    None,
                    OutcomeStatus::Failed {
                        reason: format!("transform {transform}: {reason}"),
                    },
                );
                false
            }
            Processed::SinkBroken { error } => {
                tracing::warn!(sink = self.sink.name(), error = %error, "sink failed");
                self.record(
                    uid,
                    None,
                    OutcomeStatus::Failed {
                        reason: format!("{}: {error}", self.sink.name()),
                    },
                );
                self.error.get_or_insert(error);
                true
            }
        }
    }

    fn record(
        &mut self,
        sop_instance_uid: Option<String>,
        destination_uid: Option<String>,
        status: OutcomeStatus,
    ) {
        self.progress.counts.count(&status);
        self.outcomes.push(InstanceOutcome {
            sop_instance_uid,
            destination_uid,
            status,
        });
        self.publish();
    }

    fn publish(&self) {
        if let Some(tx) = &self.progress_tx {
            tx.send_replace(self.progress);
        }
    }

    fn into_report(self, started: Instant, finish_error: Option<Error>) -> TransferReport {
        if let Some(e) = &finish_error {
            tracing::warn!(sink = self.sink.name(), error = %e, "finishing the sink failed");
        }
        TransferReport {
            outcomes: self.outcomes,
            counts: self.progress.counts,
            bytes: self.progress.bytes_done,
            expected: self.progress.expected,
            duration: started.elapsed(),
            cancelled: self.cancelled,
            error: self.error,
            finish_error,
        }
    }
}

/// Runs the transforms on the blocking pool, then stores the result.
async fn process(
    id: u64,
    instance: Instance,
    transforms: Arc<[Arc<dyn Transform>]>,
    stores: Arc<Semaphore>,
    sink: &dyn Sink,
) -> (u64, Processed) {
    let instance = if transforms.is_empty() {
        instance
    } else {
        let applied = tokio::task::spawn_blocking(move || apply_transforms(instance, &transforms))
            .await
            .unwrap_or_else(|e| {
                Err(Processed::TransformFailed {
                    transform: "(blocking task)".into(),
                    reason: if e.is_panic() {
                        "a transform panicked".into()
                    } else {
                        "the transform task was cancelled".into()
                    },
                })
            });
        match applied {
            Ok(instance) => instance,
            Err(processed) => return (id, processed),
        }
    };
    let destination_uid = instance.sop_instance_uid().to_owned();
    let bytes = instance.size_hint();
    // The semaphore is never closed, so acquiring only waits for a free store slot.
    let _permit = stores.acquire().await.ok();
    let processed = match sink.store(instance).await {
        Ok(outcome) => Processed::Stored {
            destination_uid,
            bytes,
            outcome,
        },
        Err(error) => Processed::SinkBroken { error },
    };
    (id, processed)
}

fn apply_transforms(
    mut instance: Instance,
    transforms: &[Arc<dyn Transform>],
) -> std::result::Result<Instance, Processed> {
    for transform in transforms {
        match transform.apply(instance) {
            Ok(TransformOutcome::Keep(kept)) => instance = kept,
            Ok(TransformOutcome::Drop { reason }) => {
                return Err(Processed::Dropped {
                    transform: transform.name().to_owned(),
                    reason,
                });
            }
            Err(e) => {
                return Err(Processed::TransformFailed {
                    transform: transform.name().to_owned(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(instance)
}
