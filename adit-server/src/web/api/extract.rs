//! Extractors that answer malformed requests with the API's JSON error ([`ApiError`]) instead
//! of axum's plain-text rejections, so every answer matches the OpenAPI document.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::web::error::ApiError;

/// [`axum::extract::Query`] with a JSON 400 on bad parameters.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

/// [`axum::extract::Path`] with a JSON 400/404 on a bad path parameter.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

/// [`axum::Json`] with a JSON 400/415/422 on a bad body.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e: QueryRejection| ApiError::invalid(e.body_text()))
    }
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            // A path that does not parse names nothing that exists.
            .map_err(|e: PathRejection| ApiError::not_found(e.body_text()))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(v)| Json(v))
            .map_err(|e: JsonRejection| match e {
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    e.body_text(),
                ),
                other => ApiError::invalid(other.body_text()),
            })
    }
}
