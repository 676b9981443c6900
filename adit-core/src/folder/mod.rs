//! Sources and sinks without network: folders of DICOM files and ZIP archives.

mod archive;
mod atomic;
mod layout;
mod sanitize;
mod sink;
mod source;

pub use archive::{INDEX_ENTRY, ZipCompression, ZipOptions, ZipSink};
pub use layout::{FolderLayout, job_dir_name};
pub use sanitize::sanitize_filename;
pub use sink::FolderSink;
pub use source::FolderSource;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::instance::Instance;
use crate::model::element_string;

/// The header of an instance about to be written, or why it is not worth writing: unreadable,
/// or without a SOP Instance UID (not a composite object at all).
fn checked_header(instance: &Instance) -> std::result::Result<InMemDicomObject, String> {
    let header = instance.header().map_err(|e| e.to_string())?;
    if element_string(&header, tags::SOP_INSTANCE_UID).is_none() {
        return Err(format!(
            "instance {}: the data set has no SOP Instance UID",
            instance.sop_instance_uid()
        ));
    }
    Ok(header)
}
