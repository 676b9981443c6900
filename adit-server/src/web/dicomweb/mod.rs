//! ADIT's DICOMweb facade under `/api/dicom-web/{ae_title}/` (adit-reference §6.2): QIDO-RS,
//! WADO-RS (with server-side pseudonymization) and STOW-RS, each passed on to the node's
//! [`Source`](adit_core::source::Source) or [`Sink`](adit_core::sink::Sink), so the Python
//! `adit-client` works against it unchanged.
//!
//! | module | job |
//! |---|---|
//! | [`node`] | `{ae_title}` → node, per-group access (404) and `can_*` permissions (403), its source/sink |
//! | [`params`] | QIDO parameters (keywords only) and the pseudonymization parameters |
//! | [`qido`] | `qidors/studies[/{study}/series[/{series}/instances]]` |
//! | [`wado`] | `wadors/...` instances (streamed multipart) and `/metadata` |
//! | [`stow`] | `stowrs/studies[/{study}]` |

pub mod node;
pub mod params;
pub mod qido;
pub mod stow;
pub mod wado;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

/// Route prefix; `{ae_title}` names the node.
pub const PREFIX: &str = "/api/dicom-web/{ae_title}";

/// The media type of DICOM JSON responses.
pub const DICOM_JSON: &str = "application/dicom+json";

/// The facade's routes (no trailing slashes, as in ADIT).
pub fn routes() -> Router<AppState> {
    read_routes().merge(upload_routes())
}

/// QIDO-RS and WADO-RS: small request bodies.
pub fn read_routes() -> Router<AppState> {
    let r = |path: &str| format!("{PREFIX}/{path}");
    Router::new()
        .route(&r("qidors/studies"), get(qido::studies))
        .route(&r("qidors/studies/{study}/series"), get(qido::series))
        .route(
            &r("qidors/studies/{study}/series/{series}/instances"),
            get(qido::instances),
        )
        .route(&r("wadors/studies/{study}"), get(wado::study))
        .route(
            &r("wadors/studies/{study}/metadata"),
            get(wado::study_metadata),
        )
        .route(
            &r("wadors/studies/{study}/series/{series}"),
            get(wado::series),
        )
        .route(
            &r("wadors/studies/{study}/series/{series}/metadata"),
            get(wado::series_metadata),
        )
        .route(
            &r("wadors/studies/{study}/series/{series}/instances/{sop}"),
            get(wado::instance),
        )
        .route(
            &r("wadors/studies/{study}/series/{series}/instances/{sop}/metadata"),
            get(wado::instance_metadata),
        )
}

/// STOW-RS: the upload routes, which get the larger body allowance (`max_upload_size`).
pub fn upload_routes() -> Router<AppState> {
    let r = |path: &str| format!("{PREFIX}/{path}");
    Router::new()
        .route(&r("stowrs/studies"), post(stow::studies))
        .route(&r("stowrs/studies/{study}"), post(stow::study))
}
