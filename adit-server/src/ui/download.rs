//! Downloading one study as a ZIP archive straight from the search results (permission
//! `can_download_study`). The study is retrieved from the source into a ZIP file in the data
//! directory, which is streamed to the browser and removed. The archive holds the original
//! images, so the download also needs `can_transfer_unpseudonymized`.

use std::sync::Arc;

use adit_core::engine::{TransferOptions, TransferStatus, transfer};
use adit_core::folder::{FolderLayout, ZipOptions, ZipSink};
use adit_core::source::Selection;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::auth::UiUser;
use super::templates::error_page;
use super::transfer::usable_node;
use crate::accounts::Permission;
use crate::nodes::Access;
use crate::web::AppState;
use crate::web::dicomweb::node as dicom_node;

/// Bytes read from the archive per chunk sent.
const CHUNK: usize = 256 * 1024;

/// Which study to download.
#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    /// Source node id.
    pub source: String,
    /// StudyInstanceUID.
    pub study: String,
    /// PatientID.
    #[serde(default)]
    pub patient: String,
}

/// `GET /selective-transfer/download?source=&study=&patient=`.
pub async fn download(
    State(state): State<AppState>,
    user: UiUser,
    Query(query): Query<DownloadQuery>,
) -> Response {
    for permission in [
        Permission::CanDownloadStudy,
        Permission::CanTransferUnpseudonymized,
    ] {
        if let Err(refused) = user.require(permission) {
            return *refused;
        }
    }
    let node = match usable_node(&state, &user, &query.source, Access::Source).await {
        Ok(node) => node,
        Err(message) => return error_page(&user, StatusCode::NOT_FOUND, &message),
    };
    let source = match dicom_node::source(&state, &node.node) {
        Ok(source) => source,
        Err(e) => return error_page(&user, e.status, &e.detail),
    };
    if query.study.is_empty() || !query.study.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return error_page(
            &user,
            StatusCode::BAD_REQUEST,
            "Not a valid StudyInstanceUID.",
        );
    }
    let dir = state.config.data_dir.join("downloads");
    if let Err(e) = tokio::fs::create_dir_all(&dir).await {
        return super::jobs::internal(&user, &e);
    }
    let path = dir.join(format!("{}-{}.zip", user.user.id.0, rand_suffix()));
    let patient = (!query.patient.is_empty()).then_some(query.patient.as_str());
    let sink = match ZipSink::create(&path, FolderLayout::new(), ZipOptions::default()) {
        Ok(sink) => Arc::new(sink),
        Err(e) => return super::jobs::internal(&user, &e),
    };
    let selection = Selection::study(patient, &query.study);
    let report = transfer(
        source.as_ref(),
        &selection,
        &[],
        sink.as_ref(),
        TransferOptions::default(),
    )
    .await;
    let failed = match &report {
        Ok(report) => match report.status() {
            TransferStatus::Success | TransferStatus::Warning => None,
            _ => Some(report.summary()),
        },
        Err(e) => Some(e.to_string()),
    };
    if let Some(reason) = failed {
        let _ = tokio::fs::remove_file(&path).await;
        return error_page(
            &user,
            StatusCode::BAD_GATEWAY,
            &format!("The study could not be downloaded: {reason}"),
        );
    }
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) => return super::jobs::internal(&user, &e),
    };
    // The open file stays readable after its name is gone: nothing is left behind.
    let _ = tokio::fs::remove_file(&path).await;
    let stream = futures::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; CHUNK];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes_of(buffer)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"study_{}.zip\"",
        query.study
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn bytes_of(buffer: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(buffer)
}

/// A number that makes concurrent downloads of one user use different files.
fn rand_suffix() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed) ^ (std::process::id() as usize).rotate_left(16)
}
