//! Codecs shared by the client and the server's DICOMweb facade.
//!
//! | module | what it holds |
//! |---|---|
//! | [`media_type`] | `Content-Type` parsing; the `boundary`, `type` and `transfer-syntax` of `multipart/related` |
//! | [`multipart`] | Streaming `multipart/related` reader and writer |
//! | [`json`] | DICOM JSON (PS3.18 F.2) to and from dicom-object data sets |
//! | [`include`] | QIDO-RS `includefield` semantics |

pub mod include;
pub mod json;
pub mod media_type;
pub mod multipart;

pub use include::IncludeField;
pub use json::{
    BinaryMode, BulkDataRef, Decoded, from_json, from_json_array, from_json_slice, to_json,
    to_json_array,
};
pub use media_type::{MediaType, MultipartRelated};
pub use multipart::{MultipartReader, MultipartWriter, Part, SegmentedPart};
