//! Static files of the web UI, compiled into the binary so the UI works offline and without a
//! CDN: the vendored front-end packages (see `scripts/vendor-assets`) and our own script and
//! style sheet.
//!
//! Each file is served at `/static/<hash>/<name>`, where `<hash>` is the start of the SHA-256
//! of its contents: a changed file gets a new URL, so browsers may cache every URL forever.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    hash: String,
}

/// Every embedded file, with its content hash computed once.
static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let files: [(&str, &str, &[u8]); 6] = [
        (
            "bootstrap.min.css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/vendor/bootstrap.min.css"),
        ),
        (
            "bootstrap.bundle.min.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/vendor/bootstrap.bundle.min.js"),
        ),
        (
            "htmx.min.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/vendor/htmx.min.js"),
        ),
        (
            "alpine.min.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/vendor/alpine.min.js"),
        ),
        (
            "adit.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/adit.js"),
        ),
        (
            "adit.css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/adit.css"),
        ),
    ];
    files
        .into_iter()
        .map(|(name, content_type, bytes)| Asset {
            name,
            content_type,
            bytes,
            hash: hex::encode(&Sha256::digest(bytes)[..6]),
        })
        .collect()
});

/// The URL of the embedded file `name` (with its content hash), or `/static/missing/<name>`
/// for an unknown name, which answers 404.
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => format!("/static/{}/{}", asset.hash, asset.name),
        None => format!("/static/missing/{name}"),
    }
}

/// `GET /static/{hash}/{name}`: the file, cacheable for a year; 404 for an unknown name or a
/// hash of another version (an old page must not get a new file under an old URL cached).
pub async fn serve(Path((hash, name)): Path<(String, String)>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name && a.hash == hash) else {
        return (StatusCode::NOT_FOUND, "Not found.").into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash() {
        let url = url("htmx.min.js");
        let hash = url.split('/').nth(2).unwrap_or_default();
        assert_eq!(hash.len(), 12, "{url}");
        assert!(url.ends_with("/htmx.min.js"));
        assert_eq!(super::url("nope.js"), "/static/missing/nope.js");
    }
}
