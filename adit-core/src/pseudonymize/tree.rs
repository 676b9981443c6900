//! Pseudonymizing files and folders to a folder, on all cores: what `adit pseudonymize` runs.
//!
//! Of every file only the start is read (all of a small one; of a larger one enough to find
//! Pixel Data), the elements before Pixel Data are pseudonymized, and the output is the new
//! head followed by the pixel bytes, copied file to file by the kernel, never decoded. Files
//! the fast path cannot take are read whole and go through the object model. Each output
//! appears under its name only once complete ([`tree_fs`](super::tree_fs)), so a crash never
//! leaves a half file under a final name.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use dicom_dictionary_std::uids;
use dicom_object::FileMetaTable;

use super::Pseudonymizer;
use super::tree_fs::{Folders, ReadBuffer, copy_range};
use crate::error::{Error, Result};
use crate::folder::FolderLayout;
use crate::instance::Instance;

/// Where output files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TreeLayout {
    /// ADIT's layout from the pseudonymized values:
    /// `<pseudonym>/<StudyDate>-<StudyTime>-<Modality>/<SeriesNumber>-<SeriesDescription>/<SOPInstanceUID>.dcm`.
    /// Nothing of the input's (possibly identifying) paths survives.
    #[default]
    Adit,
    /// The input's relative paths. File and folder names are kept as they are, so they must
    /// not contain identifying values.
    Mirror,
}

/// How [`pseudonymize_tree`] works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeOptions {
    /// Output layout.
    pub layout: TreeLayout,
    /// Worker threads; 0 uses every core.
    pub threads: usize,
}

/// A file that was not written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The input file.
    pub path: PathBuf,
    /// Why it was skipped or failed.
    pub reason: String,
}

/// What [`pseudonymize_tree`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeReport {
    /// Input files looked at.
    pub files: usize,
    /// Instances written.
    pub written: usize,
    /// Bytes read from written instances' inputs.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Files left out on purpose: not DICOM, DICOMDIR, duplicates.
    pub skipped: Vec<FileOutcome>,
    /// Files that could not be read, pseudonymized or written.
    pub failed: Vec<FileOutcome>,
}

impl TreeReport {
    /// One line: `written 90, skipped 1, failed 0 (47.3 MB in, 47.3 MB out)`.
    pub fn summary(&self) -> String {
        format!(
            "written {}, skipped {}, failed {} ({:.1} MB in, {:.1} MB out)",
            self.written,
            self.skipped.len(),
            self.failed.len(),
            self.bytes_in as f64 / 1e6,
            self.bytes_out as f64 / 1e6
        )
    }
}

/// Pseudonymizes `input` (a file or a folder, recursively) into the folder `output` (for a
/// single file with [`TreeLayout::Mirror`], `output` may name the output file).
///
/// Non-DICOM files and DICOMDIRs are skipped, unreadable instances fail; both are listed in the
/// report and never stop the run. Errors are returned only for problems with the folders
/// themselves (unreadable input, output inside input).
pub fn pseudonymize_tree(
    input: &Path,
    output: &Path,
    pseudonymizer: &Pseudonymizer,
    options: &TreeOptions,
) -> Result<TreeReport> {
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
    let (files, root_for_mirror) = if meta.is_dir() {
        let input_abs = std::fs::canonicalize(input).map_err(|e| Error::io(input, e))?;
        if let Some(out_abs) = canonical_prefix(output)
            && out_abs.starts_with(&input_abs)
        {
            return Err(Error::invalid_config(
                "output",
                format!(
                    "{} is inside the input folder {}",
                    output.display(),
                    input.display()
                ),
            ));
        }
        let mut files = Vec::new();
        collect_files(input, &mut files)?;
        files.sort();
        (files, input.to_owned())
    } else {
        let parent = input.parent().unwrap_or(Path::new("")).to_owned();
        (vec![input.to_owned()], parent)
    };
    let single_file_target =
        (!meta.is_dir() && options.layout == TreeLayout::Mirror && !output.is_dir())
            .then(|| output.to_owned());

    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
    .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let targets = Mutex::new(HashSet::new());
    let dirs = Mutex::new(HashSet::new());
    let job = Job {
        pseudonymizer,
        output,
        root: &root_for_mirror,
        layout: options.layout,
        single_file_target: single_file_target.as_deref(),
        targets: &targets,
        dirs: &dirs,
    };
    let mut results: Vec<(usize, Result<Done, Skip>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    // One read and one write buffer per thread, reused: no fresh pages to
                    // fault in per file.
                    let mut buffers = Buffers::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        done.push((i, job.file(path, &mut buffers)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);

    let mut report = TreeReport {
        files: files.len(),
        ..TreeReport::default()
    };
    if results.len() != files.len() {
        return Err(Error::Task("a pseudonymizing thread panicked".into()));
    }
    for (i, result) in results {
        let path = files[i].clone();
        match result {
            Ok(done) => {
                report.written += 1;
                report.bytes_in += done.bytes_in;
                report.bytes_out += done.bytes_out;
            }
            Err(Skip::Skipped(reason)) => report.skipped.push(FileOutcome { path, reason }),
            Err(Skip::Failed(reason)) => report.failed.push(FileOutcome { path, reason }),
        }
    }
    Ok(report)
}

struct Job<'a> {
    pseudonymizer: &'a Pseudonymizer,
    output: &'a Path,
    root: &'a Path,
    layout: TreeLayout,
    single_file_target: Option<&'a Path>,
    targets: &'a Mutex<HashSet<PathBuf>>,
    /// Output folders already created: one `mkdir` per folder, not per file.
    dirs: &'a Mutex<HashSet<PathBuf>>,
}

/// A thread's reusable buffers and open folders.
#[derive(Default)]
struct Buffers {
    /// The input file (its first bytes, or all of it).
    input: ReadBuffer,
    /// The output's head and the pixel bytes already read, written in one call.
    output: Vec<u8>,
    folders: Folders,
}

struct Done {
    bytes_in: u64,
    bytes_out: u64,
}

enum Skip {
    Skipped(String),
    Failed(String),
}

impl Job<'_> {
    fn file(&self, path: &Path, buffers: &mut Buffers) -> Result<Done, Skip> {
        let cannot_read = |e: std::io::Error| Skip::Failed(format!("cannot read: {e}"));
        let file = buffers.folders.open(path).map_err(cannot_read)?;
        let total = usize::try_from(file.metadata().map_err(cannot_read)?.len())
            .map_err(|_| Skip::Failed("too large".into()))?;
        let buffer = &mut buffers.input;
        // Headers come first: read the start, and more only while the fast path needs it.
        buffer.clear();
        let read_up_to = |buffer: &mut ReadBuffer, len: usize| {
            buffer.fill_to(&file, len).map_err(cannot_read)?;
            if buffer.filled().len() < len {
                return Err(Skip::Failed(
                    "cannot read: file shrank while reading".into(),
                ));
            }
            Ok(())
        };
        read_up_to(buffer, first_read(total))?;
        let more = |buffer: &ReadBuffer| {
            (buffer.filled().len() < total).then(|| next_read(buffer.filled().len(), total))
        };
        let meta = loop {
            let Some(meta) = Meta::parse(buffer.filled()) else {
                return Err(Skip::Skipped("not a DICOM file (no DICM magic)".into()));
            };
            match (meta, more(buffer)) {
                (Ok(meta), _) => break meta,
                // A file meta longer than the first read.
                (Err(_), Some(len)) => read_up_to(buffer, len)?,
                (Err(e), None) => return Err(Skip::Failed(e)),
            }
        };
        let bytes_in = total as u64;
        if meta.sop_class == uids::MEDIA_STORAGE_DIRECTORY_STORAGE {
            return Err(Skip::Skipped(
                "DICOMDIR (its paths would not match the output)".into(),
            ));
        }
        let failed = |e: Error| Skip::Failed(e.to_string());
        let dataset_len = total.saturating_sub(meta.dataset_start);
        let try_fast = |buffer: &ReadBuffer| {
            self.pseudonymizer.pseudonymize_split(
                &buffer.filled()[meta.dataset_start..],
                dataset_len,
                &meta.sop_class,
                &meta.sop_instance,
                &meta.ts,
            )
        };
        let mut split = try_fast(buffer).map_err(failed)?;
        // A head longer than what was read: read on, growing, rather than all of a file that
        // may be large.
        while split.is_none()
            && let Some(len) = more(buffer)
        {
            read_up_to(buffer, len)?;
            split = try_fast(buffer).map_err(failed)?;
        }
        // Fast path: write the new head, then the pixel bytes from the buffer or, past it,
        // straight from the input file (copy_file_range: the kernel copies, like `cp`).
        let (output, header, tail) = match split {
            Some(fast) => {
                let head = Instance::from_dataset(
                    fast.head_bytes,
                    &fast.sop_class,
                    &fast.sop_instance,
                    &meta.ts,
                );
                (head, Some(fast.head), fast.tail)
            }
            None => {
                // The loop above read the whole file.
                let mut instance =
                    Instance::from_part10(buffer.filled().to_vec()).map_err(failed)?;
                let header = self
                    .pseudonymizer
                    .pseudonymize_returning_header(&mut instance)
                    .map_err(failed)?;
                (instance, header, Vec::new())
            }
        };
        let target = match (self.single_file_target, self.layout) {
            (Some(target), _) => target.to_owned(),
            (None, TreeLayout::Mirror) => {
                let relative = path.strip_prefix(self.root).unwrap_or(path);
                self.output.join(relative)
            }
            (None, TreeLayout::Adit) => {
                let header = match header {
                    Some(header) => header,
                    None => output.header().map_err(failed)?,
                };
                self.output
                    .join(FolderLayout::new().relative_path(&header, output.sop_instance_uid()))
            }
        };
        let fresh = self
            .targets
            .lock()
            .map_err(|_| Skip::Failed("internal lock poisoned".into()))?
            .insert(target.clone());
        if !fresh {
            return Err(Skip::Skipped(format!(
                "duplicate: another input already became {}",
                target.display()
            )));
        }
        let read = buffer.filled();
        let tail: Vec<Tail<'_>> = tail
            .into_iter()
            .map(|r| {
                let (start, end) = (meta.dataset_start + r.start, meta.dataset_start + r.end);
                match read.get(start..end) {
                    Some(bytes) => Tail::Bytes(bytes),
                    None => Tail::File {
                        file: &file,
                        start: start as u64,
                        len: (end - start) as u64,
                    },
                }
            })
            .collect();
        self.create_parent(&target).map_err(failed)?;
        let bytes_out = write_atomically(
            &target,
            &output,
            &tail,
            &mut buffers.output,
            &mut buffers.folders,
        )
        .map_err(failed)?;
        Ok(Done {
            bytes_in,
            bytes_out,
        })
    }
}

impl Job<'_> {
    /// Creates `target`'s folder unless this run already did.
    fn create_parent(&self, target: &Path) -> Result<()> {
        let parent = target.parent().unwrap_or(Path::new("."));
        let known = |dirs: &HashSet<PathBuf>| dirs.contains(parent);
        if self.dirs.lock().is_ok_and(|dirs| known(&dirs)) {
            return Ok(());
        }
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        if let Ok(mut dirs) = self.dirs.lock() {
            dirs.insert(parent.to_owned());
        }
        Ok(())
    }
}

/// The identity of a Part-10 file, read from its meta.
struct Meta {
    sop_class: String,
    sop_instance: String,
    ts: String,
    dataset_start: usize,
}

impl Meta {
    /// `None` if there is no `DICM` magic; `Some(Err)` if the meta is broken.
    fn parse(bytes: &[u8]) -> Option<Result<Self, String>> {
        let start = if bytes.get(128..132) == Some(b"DICM") {
            128
        } else if bytes.starts_with(b"DICM") {
            0
        } else {
            return None;
        };
        let mut cursor = std::io::Cursor::new(&bytes[start..]);
        Some(match FileMetaTable::from_reader(&mut cursor) {
            Ok(meta) => {
                let dataset_start =
                    start + usize::try_from(cursor.position()).unwrap_or(usize::MAX);
                if dataset_start > bytes.len() {
                    Err("file meta group length past the end".to_owned())
                } else {
                    let trim = |s: &str| s.trim_end_matches(['\0', ' ']).to_owned();
                    Ok(Self {
                        sop_class: trim(meta.media_storage_sop_class_uid()),
                        sop_instance: trim(meta.media_storage_sop_instance_uid()),
                        ts: trim(meta.transfer_syntax()),
                        dataset_start,
                    })
                }
            }
            Err(e) => Err(format!("invalid DICOM file meta: {e}")),
        })
    }
}

/// Files up to this size are read whole, with one `read`, and written with one `write`.
const WHOLE: usize = 64 * 1024;

/// Of a larger file, this much is read first: enough for the header of most images (a longer
/// header costs more reads). Pixel Data that does not end within what was read is copied by the
/// kernel from the input file, so the pixel bytes read along with the header are read for
/// nothing: 16 KiB of a 525 KB CT image where a 64 KiB first read took 62 KiB of them.
const FIRST_READ: usize = 16 * 1024;

/// How much of a `total`-byte file to read first.
fn first_read(total: usize) -> usize {
    if total <= WHOLE { total } else { FIRST_READ }
}

/// How much to hold after `held` bytes were not enough: four times as much, so a head of any
/// length takes few reads, and never the whole of a large file just for its head.
fn next_read(held: usize, total: usize) -> usize {
    held.saturating_mul(4).max(WHOLE).min(total)
}

/// A piece of the output after the new head.
enum Tail<'a> {
    /// Bytes already read.
    Bytes(&'a [u8]),
    /// A range of the input file not read yet.
    File {
        file: &'a std::fs::File,
        start: u64,
        len: u64,
    },
}

/// Writes the instance followed by `tail` to `target` (whose folder exists) so that nothing
/// appears under that name before the file is complete (see [`Folders::create`]). The head and
/// the bytes already in memory go out in one `write` (through `staging`), the rest of the
/// pixel data is copied by the kernel.
fn write_atomically(
    target: &Path,
    instance: &Instance,
    tail: &[Tail<'_>],
    staging: &mut Vec<u8>,
    folders: &mut Folders,
) -> Result<u64> {
    let io = |e| Error::io(target, e);
    let mut new = folders.create(target).map_err(io)?;
    let written = (|| -> Result<u64> {
        let file = &mut new.file;
        staging.clear();
        instance.write_part10(&mut *staging)?;
        let mut count = 0;
        for part in tail {
            match part {
                Tail::Bytes(bytes) => staging.extend_from_slice(bytes),
                &Tail::File {
                    file: input,
                    start,
                    len,
                } => {
                    file.write_all(staging).map_err(io)?;
                    count += staging.len() as u64;
                    staging.clear();
                    copy_range(input, start, len, file).map_err(io)?;
                    count += len;
                }
            }
        }
        file.write_all(staging).map_err(io)?;
        Ok(count + staging.len() as u64)
    })();
    match written {
        Ok(written) => {
            folders.publish(new, target).map_err(io)?;
            Ok(written)
        }
        Err(e) => {
            folders.discard(new);
            Err(e)
        }
    }
}

/// Every file below `dir`, following symlinks to files but not to folders (no loops).
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            collect_files(&path, out)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

/// The canonical form of `path` or of its nearest existing ancestor (the output folder may
/// not exist yet).
fn canonical_prefix(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            return Some(rest.iter().rev().fold(canonical, |p, c| p.join(c)));
        }
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    }
}
