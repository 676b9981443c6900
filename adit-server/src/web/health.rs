//! `GET /health/`: whether this process can serve. 200 with `{"status": "ok", "database":
//! "ok", "receiver": "ok"}`, or 503 naming what is down.
//!
//! The receiver is reported as `"ok"` or `"down"`: in `adit serve` it is part of the process,
//! so down is a 503; in `adit web` receivers are other processes, so down is reported with
//! 200 (the web server itself works). Without a receiver check the key is left out.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// How long the database may take to answer the check.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

/// The health check handler.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let problem = match tokio::time::timeout(DATABASE_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("database: no answer within {DATABASE_TIMEOUT:?}")),
    };
    let receiver = match problem {
        // Without the database, a receiver found through it cannot be checked.
        Some(_) if !state.receiver.is_essential() => None,
        _ => state.receiver.alive(&state.db).await,
    };
    let receiver_down = receiver == Some(false);
    let mut body = match &problem {
        None => json!({"status": "ok", "database": "ok"}),
        Some(problem) => {
            tracing::warn!("health check: {problem}");
            json!({"status": "error", "database": problem})
        }
    };
    if let Some(alive) = receiver {
        body["receiver"] = json!(if alive { "ok" } else { "down" });
    }
    let essential_down = receiver_down && state.receiver.is_essential();
    if essential_down {
        tracing::warn!("health check: the in-process DICOM receiver is down");
        body["status"] = json!("error");
    }
    let status = if problem.is_some() || essential_down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(body))
}
