//! [`DicomWebSink`]: a DICOMweb server as an adit-core [`Sink`] (STOW-RS in batches).
//!
//! `store` hands the instance to a batching task and waits for its own outcome. The task
//! sends a request when the batch is full ([`StowBatch`]) or when no further instance arrived
//! for `linger`, so the engine's concurrent stores fill batches without any caller knowing
//! about them.

use std::sync::Mutex;
use std::time::Duration;

use adit_core::instance::Instance;
use adit_core::model::DicomWebServer;
use adit_core::sink::{Sink, StoreOutcome};
use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::{ClientConfig, DicomWebClient, StowBatch};

type Reply = oneshot::Sender<adit_core::Result<StoreOutcome>>;

/// Stores with STOW-RS, several instances per request.
#[derive(Debug)]
pub struct DicomWebSink {
    name: String,
    client: DicomWebClient,
    batch: StowBatch,
    linger: Duration,
    worker: Mutex<Worker>,
}

#[derive(Debug, Default)]
struct Worker {
    tx: Option<mpsc::Sender<(Instance, Reply)>>,
    task: Option<JoinHandle<()>>,
    finished: bool,
}

impl DicomWebSink {
    /// A sink named `name` using `client`, batching as its configuration says.
    pub fn new(name: impl Into<String>, client: DicomWebClient) -> Self {
        Self {
            name: name.into(),
            batch: client.config().stow_batch,
            client,
            linger: Duration::from_millis(20),
            worker: Mutex::new(Worker::default()),
        }
    }

    /// A sink for a configured node, with default timeouts, retries and batches.
    pub fn from_server(name: impl Into<String>, server: &DicomWebServer) -> crate::Result<Self> {
        Ok(Self::new(
            name,
            DicomWebClient::new(ClientConfig::from_server(server))?,
        ))
    }

    /// How long a partial batch waits for more instances before it is sent.
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    fn sender(&self) -> adit_core::Result<mpsc::Sender<(Instance, Reply)>> {
        let mut worker = self
            .worker
            .lock()
            .map_err(|_| adit_core::Error::Task("DICOMweb sink state poisoned".into()))?;
        if worker.finished {
            return Err(adit_core::Error::SinkClosed {
                sink: self.name.clone(),
                reason: "finish() was called".into(),
            });
        }
        if let Some(tx) = &worker.tx {
            return Ok(tx.clone());
        }
        let (tx, rx) = mpsc::channel(self.batch.max_instances.max(1));
        let task = tokio::spawn(run_batches(
            self.client.clone(),
            self.batch,
            self.linger,
            rx,
        ));
        worker.tx = Some(tx.clone());
        worker.task = Some(task);
        Ok(tx)
    }
}

#[async_trait]
impl Sink for DicomWebSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_concurrency(&self) -> usize {
        self.batch.max_instances.max(1)
    }

    async fn store(&self, instance: Instance) -> adit_core::Result<StoreOutcome> {
        let tx = self.sender()?;
        let (reply, outcome) = oneshot::channel();
        let closed = || adit_core::Error::SinkClosed {
            sink: self.name.clone(),
            reason: "the STOW-RS batching task ended".into(),
        };
        tx.send((instance, reply)).await.map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }

    async fn finish(&self) -> adit_core::Result<()> {
        let task = {
            let mut worker = self
                .worker
                .lock()
                .map_err(|_| adit_core::Error::Task("DICOMweb sink state poisoned".into()))?;
            worker.finished = true;
            worker.tx = None;
            worker.task.take()
        };
        if let Some(task) = task {
            task.await
                .map_err(|e| adit_core::Error::Task(format!("STOW-RS batching task: {e}")))?;
        }
        Ok(())
    }
}

/// Collects instances into batches and sends each; runs until every sender is gone.
async fn run_batches(
    client: DicomWebClient,
    limits: StowBatch,
    linger: Duration,
    mut rx: mpsc::Receiver<(Instance, Reply)>,
) {
    let mut carry = None;
    loop {
        let first = match carry.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut bytes = first.0.size_hint();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + linger;
        while batch.len() < limits.max_instances.max(1) {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(job) => {
                        let size = job.0.size_hint();
                        if limits.fits(batch.len(), bytes, size) {
                            bytes += size;
                            batch.push(job);
                        } else {
                            // Too big for this batch: it opens the next one.
                            carry = Some(job);
                            break;
                        }
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        send_batch(&client, batch).await;
    }
}

async fn send_batch(client: &DicomWebClient, batch: Vec<(Instance, Reply)>) {
    let (instances, replies): (Vec<Instance>, Vec<Reply>) = batch.into_iter().unzip();
    match client.store_batch(None, &instances).await {
        Ok(response) => {
            for (reply, (_, outcome)) in replies.into_iter().zip(response.outcomes) {
                // The caller may have been cancelled; then nobody waits for the outcome.
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            let retriable = e.is_retriable();
            let message = e.to_string();
            let mut first = Some(adit_core::Error::from(e));
            for reply in replies {
                let error = first.take().unwrap_or_else(|| adit_core::Error::Peer {
                    peer: client.root_url().to_owned(),
                    operation: "STOW-RS".into(),
                    retriable,
                    source: message.clone().into(),
                });
                let _ = reply.send(Err(error));
            }
        }
    }
}
