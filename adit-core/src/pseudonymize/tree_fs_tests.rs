//! Output files appear under their names only once complete, whichever way they are named,
//! and leave nothing behind when they fail; reads fill the buffer as asked.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::tree_fs::{Folders, ReadBuffer, temporary_name};

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes `bytes` to `target` through `folders`, checking the folder while the file is open.
fn write(folders: &mut Folders, target: &Path, bytes: &[u8]) -> Vec<String> {
    let mut new = folders.create(target).unwrap();
    new.file.write_all(bytes).unwrap();
    let while_writing = names(target.parent().unwrap());
    folders.publish(new, target).unwrap();
    while_writing
}

#[test]
fn unnamed_files_are_invisible_until_complete() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.dcm");
    let mut folders = Folders::default();
    let while_writing = write(&mut folders, &target, b"first");
    if cfg!(target_os = "linux") {
        // O_TMPFILE: not even a temporary name in the folder.
        assert!(while_writing.is_empty(), "{while_writing:?}");
    } else {
        assert_eq!(while_writing, [".a.dcm.adit-tmp"]);
    }
    assert_eq!(fs::read(&target).unwrap(), b"first");
    assert_eq!(names(dir.path()), ["a.dcm"]);
}

#[test]
fn temporary_names_are_renamed_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.dcm");
    let mut folders = Folders::with_temporary_names();
    let while_writing = write(&mut folders, &target, b"first");
    assert_eq!(while_writing, [".a.dcm.adit-tmp"]);
    assert_eq!(fs::read(&target).unwrap(), b"first");
    assert_eq!(names(dir.path()), ["a.dcm"]);
}

#[test]
fn existing_files_are_replaced_whole() {
    for mut folders in [Folders::default(), Folders::with_temporary_names()] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.dcm");
        fs::write(&target, b"old contents, longer").unwrap();
        // A temporary file left by an interrupted run does not stand in the way.
        fs::write(dir.path().join(temporary_name("a.dcm".as_ref())), b"stale").unwrap();
        let while_writing = write(&mut folders, &target, b"new");
        assert!(while_writing.contains(&"a.dcm".to_owned()));
        assert_eq!(
            fs::read(&target).unwrap(),
            b"new",
            "the old file stays until the new one is complete"
        );
        assert_eq!(names(dir.path()), ["a.dcm"]);
    }
}

#[test]
fn discarded_files_leave_nothing() {
    for mut folders in [Folders::default(), Folders::with_temporary_names()] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.dcm");
        let mut new = folders.create(&target).unwrap();
        new.file.write_all(b"half").unwrap();
        folders.discard(new);
        assert!(names(dir.path()).is_empty());
    }
}

#[test]
fn files_in_several_folders_land_in_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut folders = Folders::default();
    for (i, sub) in ["x", "y", "x"].iter().enumerate() {
        let folder = dir.path().join(sub);
        fs::create_dir_all(&folder).unwrap();
        write(
            &mut folders,
            &folder.join(format!("{i}.dcm")),
            sub.as_bytes(),
        );
    }
    assert_eq!(names(&dir.path().join("x")), ["0.dcm", "2.dcm"]);
    assert_eq!(names(&dir.path().join("y")), ["1.dcm"]);
    assert_eq!(fs::read(dir.path().join("y/1.dcm")).unwrap(), b"y");
    // Inputs are opened relative to their folder the same way.
    let mut read = String::new();
    for name in ["x/0.dcm", "y/1.dcm", "x/2.dcm"] {
        let file = folders.open(&dir.path().join(name)).unwrap();
        std::io::Read::read_to_string(&mut &file, &mut read).unwrap();
    }
    assert_eq!(read, "xyx");
}

#[test]
fn a_missing_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut folders = Folders::default();
    assert!(folders.create(&dir.path().join("no/a.dcm")).is_err());
    assert!(folders.open(&dir.path().join("no/a.dcm")).is_err());
}

#[test]
fn read_buffers_fill_to_the_length_asked_or_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    let data: Vec<u8> = (0..100_000_u32).map(|i| i as u8).collect();
    fs::write(&path, &data).unwrap();
    let file = fs::File::open(&path).unwrap();
    let mut buffer = ReadBuffer::default();
    buffer.fill_to(&file, 16 * 1024).unwrap();
    assert_eq!(buffer.filled(), &data[..16 * 1024]);
    buffer.fill_to(&file, 64 * 1024).unwrap();
    assert_eq!(buffer.filled(), &data[..64 * 1024]);
    buffer.fill_to(&file, 1 << 20).unwrap();
    assert_eq!(buffer.filled(), &data[..]);
    // Reused for a shorter file: only its bytes.
    buffer.clear();
    fs::write(&path, b"short").unwrap();
    buffer
        .fill_to(&fs::File::open(&path).unwrap(), 1024)
        .unwrap();
    assert_eq!(buffer.filled(), b"short");
}
