//! [`FolderSource`]: a directory tree of DICOM files as a searchable, retrievable source.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::model::{Attribute, MissingAttribute, Query, QueryResult, element_string, matches_with};
use crate::source::{Expected, ResultStream, RetrieveStream, Retrieved, Selection, Source};

/// Reads a tree of DICOM files: find aggregates their headers into patient, study, series or
/// instance records; retrieve yields the files of a selection as instances.
///
/// Only the elements before Pixel Data are read for matching. Files that are not DICOM
/// Part-10 files are reported as [`Retrieved::Skipped`] by retrieve (and left out of finds).
/// Symbolic links to files are followed, links to directories are not (no cycles).
#[derive(Debug, Clone)]
pub struct FolderSource {
    name: String,
    root: PathBuf,
}

impl FolderSource {
    /// A source reading below `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            name: root.display().to_string(),
            root,
        }
    }

    /// Names the source in reports (defaults to the root path).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn check_root(&self) -> Result<()> {
        match fs::metadata(&self.root) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(Error::io(
                &self.root,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            )),
            Err(e) => Err(Error::io(&self.root, e)),
        }
    }
}

#[async_trait]
impl Source for FolderSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn find(&self, query: &Query) -> Result<ResultStream> {
        self.check_root()?;
        let (tx, rx) = mpsc::channel(16);
        let root = self.root.clone();
        let query = query.clone();
        tokio::task::spawn_blocking(move || find_blocking(&root, &query, &tx));
        Ok(receiver_stream(rx))
    }

    async fn retrieve(
        &self,
        selection: &Selection,
        cancel: CancellationToken,
    ) -> Result<RetrieveStream> {
        self.check_root()?;
        let (tx, rx) = mpsc::channel(4);
        let root = self.root.clone();
        let selection = selection.clone();
        tokio::task::spawn_blocking(move || retrieve_blocking(&root, &selection, &cancel, &tx));
        Ok(RetrieveStream {
            expected: None,
            items: receiver_stream(rx),
        })
    }
}

fn receiver_stream<T: Send + 'static>(rx: mpsc::Receiver<T>) -> BoxStream<'static, T> {
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

/// Reads the elements before Pixel Data of a Part-10 file.
fn read_header(path: &Path) -> std::result::Result<InMemDicomObject, String> {
    OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map(|object| object.into_inner())
        .map_err(|e| format!("not a readable DICOM file: {e}"))
}

/// What the walk found at one path.
enum Entry {
    File(PathBuf),
    Unreadable(PathBuf, String),
}

/// Visits every file below `root` in sorted order until `visit` breaks.
fn walk(root: &Path, visit: &mut dyn FnMut(Entry) -> ControlFlow<()>) {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<_> = match fs::read_dir(&dir) {
            Ok(read) => read.filter_map(std::result::Result::ok).collect(),
            Err(e) => {
                if visit(Entry::Unreadable(dir, e.to_string())).is_break() {
                    return;
                }
                continue;
            }
        };
        entries.sort_by_key(fs::DirEntry::file_name);
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let is_file = if file_type.is_symlink() {
                fs::metadata(&path).is_ok_and(|m| m.is_file())
            } else {
                file_type.is_file()
            };
            if file_type.is_dir() {
                subdirs.push(path);
            } else if is_file && visit(Entry::File(path)).is_break() {
                return;
            }
        }
        // Depth-first, in name order.
        dirs.extend(subdirs.into_iter().rev());
    }
}

/// Whether a file is one of our own temporary files of an unfinished write.
fn is_partial_write(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.ends_with(".partial"))
}

fn retrieve_blocking(
    root: &Path,
    selection: &Selection,
    cancel: &CancellationToken,
    tx: &mpsc::Sender<Result<Retrieved>>,
) {
    let stopped = || cancel.is_cancelled() || tx.is_closed();
    let send = |item: Result<Retrieved>| tx.blocking_send(item).is_ok();

    // Pass 1: headers only, to know what to expect.
    let mut selected: Vec<(PathBuf, String, u64)> = Vec::new();
    walk(root, &mut |entry| {
        if stopped() {
            return ControlFlow::Break(());
        }
        let skipped = |what: &Path, reason: String| {
            Ok(Retrieved::Skipped {
                what: what.display().to_string(),
                reason,
            })
        };
        let delivered = match entry {
            Entry::Unreadable(dir, reason) => send(skipped(&dir, reason)),
            Entry::File(path) if is_partial_write(&path) => send(skipped(
                &path,
                "temporary file of an unfinished write".into(),
            )),
            Entry::File(path) => match read_header(&path) {
                Ok(header) => {
                    if let Some(uid) = selects(selection, &header) {
                        let size = fs::metadata(&path).map_or(0, |m| m.len());
                        selected.push((path, uid, size));
                    }
                    true
                }
                Err(reason) => {
                    tracing::warn!(path = %path.display(), %reason, "skipping non-DICOM file");
                    send(skipped(&path, reason))
                }
            },
        };
        if delivered {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    if stopped() {
        return;
    }
    let expected = Expected {
        instances: selected.len() as u64,
        bytes: Some(selected.iter().map(|(_, _, size)| size).sum()),
    };
    if !send(Ok(Retrieved::Expected(expected))) {
        return;
    }

    // Pass 2: read and deliver.
    for (path, uid, _) in selected {
        if stopped() {
            return;
        }
        let item = fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| Instance::from_part10(bytes).map_err(|e| e.to_string()));
        let item = match item {
            Ok(instance) => Retrieved::Instance(instance),
            Err(reason) => Retrieved::Missing {
                sop_instance_uid: Some(uid),
                reason: format!("{}: {reason}", path.display()),
            },
        };
        if !send(Ok(item)) {
            return;
        }
    }
}

/// The SOP Instance UID of a header if it lies in the selection.
fn selects(selection: &Selection, header: &InMemDicomObject) -> Option<String> {
    let study = element_string(header, tags::STUDY_INSTANCE_UID)?;
    let series = element_string(header, tags::SERIES_INSTANCE_UID).unwrap_or_default();
    let sop = element_string(header, tags::SOP_INSTANCE_UID)?;
    if let Some(patient_id) = selection.patient_id()
        && element_string(header, tags::PATIENT_ID).as_deref() != Some(patient_id)
    {
        return None;
    }
    selection.contains(&study, &series, &sop).then_some(sop)
}

/// One patient, study, series or instance record being aggregated from headers.
#[derive(Default)]
struct Aggregate {
    first: Option<InMemDicomObject>,
    studies: BTreeSet<String>,
    series: BTreeSet<String>,
    modalities: BTreeSet<String>,
    instances: u64,
}

impl Aggregate {
    fn add(&mut self, header: InMemDicomObject) {
        if let Some(study) = element_string(&header, tags::STUDY_INSTANCE_UID) {
            self.studies.insert(study);
        }
        if let Some(series) = element_string(&header, tags::SERIES_INSTANCE_UID) {
            self.series.insert(series);
        }
        if let Some(modality) = element_string(&header, tags::MODALITY) {
            self.modalities.insert(modality);
        }
        self.instances += 1;
        if self.first.is_none() {
            self.first = Some(header);
        }
    }

    /// The record as an identifier with the query's keys and the level's return keys.
    fn to_result(&self, query: &Query) -> QueryResult {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from(query.level().as_str()),
        ));
        let wanted = query.keys().map(|(a, _)| *a).chain(
            query
                .level()
                .default_return_keys()
                .iter()
                .filter_map(|k| Attribute::parse(k).ok()),
        );
        for attribute in wanted {
            let tag = attribute.tag();
            let element = self
                .computed(tag)
                .or_else(|| self.first.as_ref().and_then(|h| h.get(tag)).cloned());
            obj.put(
                element.unwrap_or_else(|| {
                    DataElement::new(tag, attribute.vr(), PrimitiveValue::Empty)
                }),
            );
        }
        QueryResult::new(obj)
    }

    fn computed(&self, tag: Tag) -> Option<DataElement<InMemDicomObject>> {
        let count = |n: usize| Some(DataElement::new(tag, VR::IS, n.to_string()));
        match tag {
            tags::MODALITIES_IN_STUDY => Some(DataElement::new(
                tag,
                VR::CS,
                PrimitiveValue::Strs(self.modalities.iter().cloned().collect()),
            )),
            tags::NUMBER_OF_PATIENT_RELATED_STUDIES => count(self.studies.len()),
            tags::NUMBER_OF_PATIENT_RELATED_SERIES | tags::NUMBER_OF_STUDY_RELATED_SERIES => {
                count(self.series.len())
            }
            tags::NUMBER_OF_PATIENT_RELATED_INSTANCES
            | tags::NUMBER_OF_STUDY_RELATED_INSTANCES
            | tags::NUMBER_OF_SERIES_RELATED_INSTANCES => {
                count(usize::try_from(self.instances).unwrap_or(usize::MAX))
            }
            tags::INSTANCE_AVAILABILITY => Some(DataElement::new(tag, VR::CS, "ONLINE")),
            _ => None,
        }
    }
}

fn find_blocking(root: &Path, query: &Query, tx: &mpsc::Sender<Result<QueryResult>>) {
    let level = query.level();
    let mut records: BTreeMap<String, Aggregate> = BTreeMap::new();
    walk(root, &mut |entry| {
        if tx.is_closed() {
            return ControlFlow::Break(());
        }
        let Entry::File(path) = entry else {
            return ControlFlow::Continue(());
        };
        if is_partial_write(&path) {
            return ControlFlow::Continue(());
        }
        match read_header(&path) {
            Ok(header) => {
                if let Some(key) = element_string(&header, level.unique_key()) {
                    records.entry(key).or_default().add(header);
                }
            }
            Err(reason) => {
                tracing::debug!(path = %path.display(), %reason, "not a DICOM file, ignored by find");
            }
        }
        ControlFlow::Continue(())
    });
    let limit = query.limit().map_or(usize::MAX, |l| l as usize);
    let results = records
        .values()
        .map(|record| record.to_result(query))
        .filter(|result| matches_with(query, result, MissingAttribute::Reject))
        .take(limit);
    for result in results {
        if tx.blocking_send(Ok(result)).is_err() {
            return;
        }
    }
}
