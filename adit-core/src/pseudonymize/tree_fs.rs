//! The file system side of [`super::pseudonymize_tree`]: opening inputs, reading their first
//! bytes, and writing outputs that appear under their final names only once complete.
//!
//! Per file the folder pseudonymizer does little besides system calls, so they are kept few
//! and cheap on Linux:
//!
//! - files are opened relative to a descriptor of their folder, kept open while a thread
//!   stays in that folder, instead of walking the whole path each time;
//! - an output file is created unnamed in its folder (`O_TMPFILE`) and linked to its name once
//!   written (`linkat`). That is one change to the folder per file where a temporary name
//!   needs two (create, rename), and the costly part, allocating the inode, happens without
//!   the folder's lock, so threads writing into one folder do not queue behind each other. A
//!   crash leaves nothing: the unnamed inode is freed.
//!
//! Where `O_TMPFILE` is refused (file systems without it) the file gets a temporary name next
//! to its target (`.NAME.adit-tmp`) and is renamed, as on other systems.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The temporary name of an output file that is written under a name before its rename.
pub(super) fn temporary_name(name: &OsStr) -> OsString {
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(".adit-tmp");
    temp
}

/// The folder and the file name of `path` (`.` for a bare name).
fn split(path: &Path) -> std::io::Result<(&Path, &OsStr)> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name")
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((parent, name))
}

/// A thread's read buffer, reused from file to file. Its bytes stay initialised between
/// files, so reading into it never zeroes memory again (only growing it does).
#[derive(Default)]
pub(super) struct ReadBuffer {
    bytes: Vec<u8>,
    filled: usize,
}

impl ReadBuffer {
    /// The bytes read since the last [`ReadBuffer::clear`].
    pub(super) fn filled(&self) -> &[u8] {
        &self.bytes[..self.filled]
    }

    /// Forgets what was read.
    pub(super) fn clear(&mut self) {
        self.filled = 0;
    }

    /// Reads `file` on from where the last read stopped until the buffer holds `len` bytes or
    /// the file ends. One `read` call for bytes the file has (`read_to_end` would grow its
    /// read size from 8 KiB, in four calls for 64 KiB).
    pub(super) fn fill_to(&mut self, mut file: &File, len: usize) -> std::io::Result<()> {
        if self.bytes.len() < len {
            self.bytes.resize(len, 0);
        }
        while self.filled < len {
            match file.read(&mut self.bytes[self.filled..len]) {
                Ok(0) => break,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A thread's open folders: the input and the output folder it last used, kept open so files
/// in them are opened relative to a descriptor (no walk of the whole path per file), and
/// whether unnamed output files still work here.
pub(super) struct Folders {
    input: LastFolder,
    // Elsewhere outputs are created by path (temporary name, rename).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    output: LastFolder,
    /// `O_TMPFILE` and linking the result are still worth trying.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    unnamed: bool,
}

impl Default for Folders {
    fn default() -> Self {
        Self {
            input: LastFolder::default(),
            output: LastFolder::default(),
            unnamed: cfg!(target_os = "linux"),
        }
    }
}

/// An output file being written: not yet under its name.
pub(super) struct NewFile {
    /// Write the contents here.
    pub(super) file: File,
    naming: Naming,
}

/// How a [`NewFile`] gets its name.
enum Naming {
    /// Created with `O_TMPFILE` in the target's folder; linked when complete.
    #[cfg(target_os = "linux")]
    Unnamed(folder::Fd),
    /// Written under [`temporary_name`] next to the target; renamed when complete.
    Temporary(std::path::PathBuf),
}

impl Folders {
    /// Folders that write output files under temporary names, as where `O_TMPFILE` is not
    /// available (to test that way on Linux too).
    #[cfg(test)]
    pub(super) fn with_temporary_names() -> Self {
        Self {
            unnamed: false,
            ..Self::default()
        }
    }

    /// Opens an input file for reading.
    pub(super) fn open(&mut self, path: &Path) -> std::io::Result<File> {
        let (parent, name) = split(path)?;
        self.input.open(parent)?.open_file(name)
    }

    /// Starts writing `target`, whose folder exists. Nothing appears under the name `target`
    /// until [`Folders::publish`].
    pub(super) fn create(&mut self, target: &Path) -> std::io::Result<NewFile> {
        let (parent, name) = split(target)?;
        #[cfg(target_os = "linux")]
        if self.unnamed {
            let folder = self.output.open(parent)?;
            match folder.unnamed_file() {
                Ok(file) => {
                    return Ok(NewFile {
                        file,
                        naming: Naming::Unnamed(folder),
                    });
                }
                // A file system without O_TMPFILE: temporary names from now on.
                Err(e) if folder::unnamed_unsupported(&e) => self.unnamed = false,
                Err(e) => return Err(e),
            }
        }
        let temp = parent.join(temporary_name(name));
        let file = File::create(&temp)?;
        Ok(NewFile {
            file,
            naming: Naming::Temporary(temp),
        })
    }

    /// Puts a complete `new` file under the name `target` (replacing a file of that name).
    /// On error nothing is left behind.
    pub(super) fn publish(&mut self, new: NewFile, target: &Path) -> std::io::Result<()> {
        match new.naming {
            #[cfg(target_os = "linux")]
            Naming::Unnamed(folder) => {
                let (_, name) = split(target)?;
                let linked = folder.link(&new.file, name);
                if linked.as_ref().is_err_and(folder::cannot_link) {
                    // A kernel that links unnamed files only for privileged processes, and
                    // no /proc to link through: copy this one, temporary names from now on.
                    self.unnamed = false;
                    return folder.copy_to_name(&new.file, name);
                }
                linked
            }
            Naming::Temporary(temp) => {
                drop(new.file);
                std::fs::rename(&temp, target).inspect_err(|_| {
                    let _ = std::fs::remove_file(&temp);
                })
            }
        }
    }

    /// Drops a file that will not be completed.
    pub(super) fn discard(&mut self, new: NewFile) {
        match new.naming {
            #[cfg(target_os = "linux")]
            Naming::Unnamed(_) => {}
            Naming::Temporary(temp) => {
                drop(new.file);
                let _ = std::fs::remove_file(temp);
            }
        }
    }
}

/// The folder a thread used last, open.
#[derive(Default)]
struct LastFolder {
    #[cfg(target_os = "linux")]
    open: Option<(std::path::PathBuf, folder::Fd)>,
}

impl LastFolder {
    /// A descriptor of `path`, opened again only when it is not the last one.
    #[cfg(target_os = "linux")]
    fn open(&mut self, path: &Path) -> std::io::Result<folder::Fd> {
        if let Some((last, fd)) = &self.open
            && last == path
        {
            return Ok(fd.clone());
        }
        let fd = folder::Fd::open(path)?;
        self.open = Some((path.to_owned(), fd.clone()));
        Ok(fd)
    }

    /// Elsewhere: the folder's path, files are opened by their whole path.
    #[cfg(not(target_os = "linux"))]
    fn open(&mut self, path: &Path) -> std::io::Result<folder::Fd> {
        Ok(folder::Fd(path.to_owned()))
    }
}

#[cfg(target_os = "linux")]
mod folder {
    //! Folder descriptors and unnamed files through `rustix`.

    use std::ffi::OsStr;
    use std::fs::File;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::rc::Rc;

    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use rustix::io::Errno;

    /// An open folder (`O_PATH`: only for looking names up in it).
    #[derive(Clone)]
    pub(super) struct Fd(Rc<OwnedFd>);

    impl Fd {
        pub(super) fn open(path: &std::path::Path) -> std::io::Result<Self> {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(path, flags, Mode::empty())?;
            Ok(Self(Rc::new(fd)))
        }

        /// Opens the file `name` in this folder for reading.
        pub(super) fn open_file(&self, name: &OsStr) -> std::io::Result<File> {
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            Ok(rustix::fs::openat(&*self.0, name, flags, Mode::empty())?.into())
        }

        /// A new file in this folder without a name. Read-write, so that it can still be
        /// copied should linking it fail.
        pub(super) fn unnamed_file(&self) -> std::io::Result<File> {
            let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC;
            let mode = Mode::from_raw_mode(0o666);
            Ok(rustix::fs::openat(&*self.0, ".", flags, mode)?.into())
        }

        /// Gives the unnamed `file` the name `name` in this folder, replacing a file of that
        /// name.
        pub(super) fn link(&self, file: &File, name: &OsStr) -> std::io::Result<()> {
            match link(file, &self.0, name) {
                // `linkat` never replaces: link under the temporary name, then rename over.
                Err(Errno::EXIST) => {}
                other => return other.map_err(Into::into),
            }
            let temp = super::temporary_name(name);
            match link(file, &self.0, &temp) {
                // Left over from an interrupted run.
                Err(Errno::EXIST) => {
                    rustix::fs::unlinkat(&*self.0, &temp, AtFlags::empty())?;
                    link(file, &self.0, &temp)?;
                }
                other => other?,
            }
            self.rename_over(&temp, name)
        }

        /// Copies the unnamed `file` to a temporary name and renames that to `name`: for
        /// when the file cannot be linked.
        pub(super) fn copy_to_name(&self, file: &File, name: &OsStr) -> std::io::Result<()> {
            let temp = super::temporary_name(name);
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
            let mode = Mode::from_raw_mode(0o666);
            let copied = (|| {
                let mut copy = File::from(rustix::fs::openat(&*self.0, &temp, flags, mode)?);
                let mut source = file;
                std::io::Seek::seek(&mut source, std::io::SeekFrom::Start(0))?;
                std::io::copy(&mut source, &mut copy)?;
                Ok(())
            })();
            match copied {
                Ok(()) => self.rename_over(&temp, name),
                Err(e) => {
                    let _ = rustix::fs::unlinkat(&*self.0, &temp, AtFlags::empty());
                    Err(e)
                }
            }
        }

        fn rename_over(&self, temp: &OsStr, name: &OsStr) -> std::io::Result<()> {
            rustix::fs::renameat(&*self.0, temp, &*self.0, name).map_err(|e| {
                let _ = rustix::fs::unlinkat(&*self.0, temp, AtFlags::empty());
                e.into()
            })
        }
    }

    /// `linkat` of an unnamed file: by its descriptor (`AT_EMPTY_PATH`: Linux 6.10 allows it
    /// for the process that opened the file, older kernels only with CAP_DAC_READ_SEARCH),
    /// else through `/proc/self/fd`.
    fn link(file: &File, folder: &OwnedFd, name: &OsStr) -> rustix::io::Result<()> {
        match rustix::fs::linkat(file, "", folder, name, AtFlags::EMPTY_PATH) {
            Err(Errno::NOENT | Errno::PERM) => {
                let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
                rustix::fs::linkat(CWD, proc.as_str(), folder, name, AtFlags::SYMLINK_FOLLOW)
            }
            other => other,
        }
    }

    /// The file system (or kernel) has no `O_TMPFILE`.
    pub(super) fn unnamed_unsupported(e: &std::io::Error) -> bool {
        [Errno::OPNOTSUPP, Errno::ISDIR, Errno::INVAL]
            .iter()
            .any(|errno| e.raw_os_error() == Some(errno.raw_os_error()))
    }

    /// Linking failed for want of privilege or of /proc, not because of the target.
    pub(super) fn cannot_link(e: &std::io::Error) -> bool {
        [Errno::NOENT, Errno::PERM]
            .iter()
            .any(|errno| e.raw_os_error() == Some(errno.raw_os_error()))
    }
}

#[cfg(not(target_os = "linux"))]
mod folder {
    //! Without descriptors: files are opened by their whole path.

    use std::ffi::OsStr;
    use std::fs::File;

    /// A folder's path.
    pub(super) struct Fd(pub(super) std::path::PathBuf);

    impl Fd {
        pub(super) fn open_file(&self, name: &OsStr) -> std::io::Result<File> {
            File::open(self.0.join(name))
        }
    }
}

/// Appends `len` bytes of `input` from `start` to `output`. An input shorter than that is an
/// `UnexpectedEof` error.
#[cfg(target_os = "linux")]
pub(super) fn copy_range(
    input: &File,
    start: u64,
    len: u64,
    output: &mut File,
) -> std::io::Result<()> {
    // copy_file_range with an explicit input offset: no seek, and none of the probing
    // `std::io::copy` does per call; the kernel copies (or shares) the pages.
    let mut offset = start;
    let end = start + len;
    while offset < end {
        let chunk = usize::try_from(end - offset).unwrap_or(usize::MAX);
        match rustix::fs::copy_file_range(input, Some(&mut offset), &*output, None, chunk) {
            Ok(0) => return Err(shorter_than_its_pixel_data()),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            // Not supported between these file systems (or by this kernel): copy by hand.
            Err(rustix::io::Errno::XDEV | rustix::io::Errno::NOSYS | rustix::io::Errno::INVAL) => {
                return copy_range_portably(input, offset, end - offset, output);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Appends `len` bytes of `input` from `start` to `output`.
#[cfg(not(target_os = "linux"))]
pub(super) fn copy_range(
    input: &File,
    start: u64,
    len: u64,
    output: &mut File,
) -> std::io::Result<()> {
    copy_range_portably(input, start, len, output)
}

/// [`copy_range`] through user space.
fn copy_range_portably(
    mut input: &File,
    start: u64,
    len: u64,
    output: &mut File,
) -> std::io::Result<()> {
    input.seek(SeekFrom::Start(start))?;
    if std::io::copy(&mut input.take(len), output)? != len {
        return Err(shorter_than_its_pixel_data());
    }
    Ok(())
}

fn shorter_than_its_pixel_data() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "input file shorter than its pixel data",
    )
}
