//! Prometheus metrics: one [`Metrics`] registry per process, served as `GET /metrics` in the
//! OpenMetrics text format Prometheus scrapes.
//!
//! The client is `prometheus-client`, the Prometheus project's own Rust client: typed label
//! sets (no label-order mistakes), no process-global registry (tests each own theirs), and it
//! is maintained by the Prometheus organisation.
//!
//! | module | job |
//! |---|---|
//! | [`http`] | the request-latency middleware (by matched route template) and the `/metrics` handler with its access check |
//! | [`db`] | gauges read from the database at scrape time (jobs by type × status, queue depth and age), cached briefly |
//! | [`standalone`] | the `ADIT_METRICS_ADDR` listener of processes that serve no HTTP (`adit worker`) |
//!
//! Counters live in the process that counts them: a worker's transfers show in that worker's
//! `/metrics`, not in the web server's. `docs/operations.md` lists every metric.

pub mod db;
pub mod http;
pub mod standalone;

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How long database gauges are reused before a scrape reads the database again.
pub const DB_GAUGE_TTL: Duration = Duration::from_secs(5);

/// The media type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which side of a transfer a node was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Instances retrieved from the node (the job's source).
    Retrieve,
    /// Instances stored to the node (the job's destination).
    Store,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Retrieve => "retrieve",
            Direction::Store => "store",
        }
    }
}

/// Labels of the per-node transfer counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    /// Node name as configured.
    pub node: String,
    /// `retrieve` or `store`.
    pub direction: String,
}

/// Labels of the transfer error counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// What went wrong (see [`Metrics::transfer_error`]).
    pub kind: String,
}

/// Labels of the DIMSE association counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabels {
    /// The peer as `AE@host:port`.
    pub peer: String,
    /// `established` or `failed`.
    pub outcome: String,
}

/// Labels of the HTTP latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Request method.
    pub method: String,
    /// The route template (`/api/dicom-web/{ae_title}/...`), never the raw path.
    pub route: String,
    /// Response status code.
    pub status: String,
}

/// Labels of the job gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// `selective_transfer`, `batch_query` or `batch_transfer`.
    pub r#type: String,
    /// ADIT's two-letter status (`PE`, `IP`, `SU`, ...).
    pub status: String,
}

/// Labels of the queue gauges.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// Queue name (`dicom`, `default`).
    pub queue: String,
}

type HistogramFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// The metrics of one process. Cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    transfer_instances: Family<NodeLabels, Counter>,
    transfer_bytes: Family<NodeLabels, Counter>,
    transfer_errors: Family<ErrorLabels, Counter>,
    tasks_in_flight: Gauge,
    associations: Family<PeerLabels, Counter>,
    http: HistogramFamily,
    jobs: Family<JobLabels, Gauge>,
    queue_depth: Family<QueueLabels, Gauge>,
    queue_oldest: Family<QueueLabels, Gauge>,
    /// When the database gauges were last read; held across the read so concurrent scrapes
    /// wait for one read instead of each querying.
    db_read: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn latency_histogram() -> Histogram {
    // 5 ms .. ~41 s: DICOMweb retrieves of whole studies take seconds to minutes.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("adit");
        let transfer_instances = Family::<NodeLabels, Counter>::default();
        registry.register(
            "transfer_instances",
            "DICOM instances transferred, by node and direction",
            transfer_instances.clone(),
        );
        let transfer_bytes = Family::<NodeLabels, Counter>::default();
        registry.register(
            "transfer_bytes",
            "Bytes of DICOM instances transferred, by node and direction",
            transfer_bytes.clone(),
        );
        let transfer_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "transfer_errors",
            "Transfer errors by kind (instance failed/missing/not stored, task failure kinds)",
            transfer_errors.clone(),
        );
        let tasks_in_flight = Gauge::default();
        registry.register(
            "tasks_in_flight",
            "Queue tasks this process is running now",
            tasks_in_flight.clone(),
        );
        let associations = Family::<PeerLabels, Counter>::default();
        registry.register(
            "dimse_associations",
            "DIMSE associations this process opened, by peer and outcome",
            associations.clone(),
        );
        let http: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method, route template and status",
            http.clone(),
        );
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register(
            "jobs",
            "Jobs by type and status (from the database)",
            jobs.clone(),
        );
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Queue jobs waiting to run, by queue (from the database)",
            queue_depth.clone(),
        );
        let queue_oldest = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_oldest_age_seconds",
            "Age of the oldest waiting queue job, by queue (from the database)",
            queue_oldest.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                transfer_instances,
                transfer_bytes,
                transfer_errors,
                tasks_in_flight,
                associations,
                http,
                jobs,
                queue_depth,
                queue_oldest,
                db_read: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Counts `instances` instances of `bytes` bytes moved to or from `node`.
    pub fn transferred(&self, node: &str, direction: Direction, instances: u64, bytes: u64) {
        let labels = NodeLabels {
            node: node.to_owned(),
            direction: direction.as_str().to_owned(),
        };
        self.inner
            .transfer_instances
            .get_or_create(&labels)
            .inc_by(instances);
        self.inner
            .transfer_bytes
            .get_or_create(&labels)
            .inc_by(bytes);
    }

    /// Counts `n` transfer errors of `kind` (a fixed word such as `instance_failed`, `timeout`,
    /// `peer`: never free text, which would make unbounded label values).
    pub fn transfer_error(&self, kind: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        self.inner
            .transfer_errors
            .get_or_create(&ErrorLabels {
                kind: kind.to_owned(),
            })
            .inc_by(n);
    }

    /// Marks one task running until the guard is dropped.
    pub fn task_started(&self) -> InFlight {
        self.inner.tasks_in_flight.inc();
        InFlight(self.inner.tasks_in_flight.clone())
    }

    /// Records one HTTP request.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.inner
            .http
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .observe(seconds);
    }

    /// Brings the association counters up to adit-dimse's process-wide totals.
    fn sync_associations(&self) {
        for (peer, totals) in adit_dimse::stats::associations() {
            for (outcome, total) in [
                ("established", totals.established),
                ("failed", totals.failed),
            ] {
                let counter = self.inner.associations.get_or_create(&PeerLabels {
                    peer: peer.clone(),
                    outcome: outcome.to_owned(),
                });
                let seen = counter.get();
                if total > seen {
                    counter.inc_by(total - seen);
                }
            }
        }
    }

    /// The exposition text of the in-process metrics (database gauges as last read).
    pub fn render(&self) -> String {
        self.sync_associations();
        let mut text = String::new();
        if let Err(e) = encode(&mut text, &self.inner.registry) {
            tracing::error!("encoding metrics failed: {e}");
        }
        text
    }
}

/// Keeps [`Metrics::task_started`]'s task counted as in flight while alive.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_their_labels() {
        let m = Metrics::new();
        m.transferred("PACS A", Direction::Retrieve, 3, 300);
        m.transfer_error("instance_failed", 2);
        m.transfer_error("instance_missing", 0);
        let guard = m.task_started();
        m.http_request("GET", "/health/", 200, 0.01);
        let text = m.render();
        assert!(
            text.contains(r#"adit_transfer_instances_total{node="PACS A",direction="retrieve"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"adit_transfer_bytes_total{node="PACS A",direction="retrieve"} 300"#),
            "{text}"
        );
        assert!(text.contains(r#"adit_transfer_errors_total{kind="instance_failed"} 2"#));
        assert!(
            !text.contains("instance_missing"),
            "zero counts add no series"
        );
        assert!(text.contains("adit_tasks_in_flight 1"), "{text}");
        assert!(text.contains(r#"route="/health/""#), "{text}");
        drop(guard);
        assert!(m.render().contains("adit_tasks_in_flight 0"));
    }
}
