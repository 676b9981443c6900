//! API errors as JSON `{"code": "...", "message": "...", "detail": "..."}`: `code` is a stable
//! snake_case word clients can branch on ([`ErrorCode`]), `message` says what went wrong, and
//! `detail` repeats it in the shape Django REST framework gives ADIT's clients. 401 answers
//! carry `WWW-Authenticate: Token`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The stable error codes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400 or 422: the request is malformed or its content invalid.
    InvalidInput,
    /// 401: no or invalid credentials.
    Unauthorized,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 404: no such resource (or not visible to the user).
    NotFound,
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 409: the resource is in a state where the action is not possible.
    Conflict,
    /// 413: the upload is too large.
    PayloadTooLarge,
    /// 415: the body's media type is not accepted.
    UnsupportedMediaType,
    /// 429: too many requests (or concurrent retrieves); see `Retry-After`.
    RateLimited,
    /// 502: a DICOM peer failed.
    BadGateway,
    /// 503: a dependency is down; try again later.
    Unavailable,
    /// 500: a server-side failure.
    Internal,
}

impl ErrorCode {
    /// The code that fits `status` when nothing more specific is known.
    pub fn for_status(status: StatusCode) -> ErrorCode {
        match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
            StatusCode::BAD_GATEWAY => ErrorCode::BadGateway,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => ErrorCode::Unavailable,
            s if s.is_client_error() => ErrorCode::InvalidInput,
            _ => ErrorCode::Internal,
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable error code.
    pub code: ErrorCode,
    /// What went wrong.
    pub message: String,
    /// The same text as `message` (the field ADIT's clients read).
    pub detail: String,
}

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable error code.
    pub code: ErrorCode,
    /// Human-readable reason, sent as `message` and `detail`.
    pub detail: String,
    /// Seconds sent as `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, its usual code, and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: ErrorCode::for_status(status),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400 `invalid_input`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409 `conflict`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 429 with `Retry-After: secs` (at least 1).
    pub fn too_many_requests(detail: impl Into<String>, secs: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, detail);
        e.retry_after = Some(secs.max(1));
        e
    }

    /// 401: the request did not authenticate.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 500 for a server-side failure; the cause is logged, not sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!("request failed: {cause}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::NotFound { .. } => Self::not_found(e.to_string()),
            crate::Error::Invalid { .. } => Self::invalid(e.to_string()),
            crate::Error::AlreadyExists { .. } => Self::conflict(e.to_string()),
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.detail.clone(),
            detail: self.detail,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
        }
        response
    }
}

/// JSON 404 for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::not_found("Not found.")
}

/// Gives the body-limit layer's plain-text 413 the API's JSON shape (handlers' own 413s are
/// JSON already and pass unchanged).
pub async fn json_payload_too_large(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.")
            .into_response();
    }
    response
}
