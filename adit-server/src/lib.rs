//! # adit-server
//!
//! The `adit` binary's library: everything behind the command line, so integration tests can
//! drive it in-process.
//!
//! | module | job |
//! |---|---|
//! | [`accounts`] | users, groups, permissions, API tokens, password hashing |
//! | [`admin`] | administration shared by `adit admin` and start-up; DIMSE capability probe |
//! | [`audit`] | the append-only audit log: logins, token use, job actions, node changes, data access |
//! | [`cli`] | command-line tools (`adit dicom ...`, `adit pseudonymize ...`) |
//! | [`config`] | defaults → TOML file → `ADIT_*` environment, masked printing |
//! | [`db`] | [`db::Db`]: the PostgreSQL or SQLite pool, [`db_dispatch!`], migrations |
//! | [`error`] | the server's error type |
//! | [`metrics`] | Prometheus metrics: the registry, HTTP latency middleware, database gauges, `/metrics` |
//! | [`nodes`] | DICOM nodes (servers, folders) and per-group source/destination access |
//! | [`receiver`] | the DICOM receiver (`adit receiver`, in-process in `adit serve`), its liveness and PostgreSQL wake-ups |
//! | [`site`] | site settings changed by staff: the announcement and maintenance mode |
//! | [`serve`] | `adit serve` / `adit web`: start-up, first admin, secret key, graceful shutdown |
//! | [`ui`] | the web UI: server-rendered HTML pages, their live updates and embedded assets |
//! | [`web`] | the axum app: `/health/`, token auth, `/api/user/`, the DICOMweb facade `/api/dicom-web/` |
//! | [`jobs`] | jobs and tasks: statuses, derived job status, actions, priorities, storage |
//! | [`worker`] | `adit worker`: the queue worker running transfer and batch query tasks |

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod nodes;
pub mod receiver;
pub mod serve;
pub mod site;
pub mod ui;
pub mod web;
pub mod worker;

pub use config::Config;
pub use error::{Error, Result};
