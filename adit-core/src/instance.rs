//! [`Instance`]: one composite object (image, SR, ...) flowing through the engine.
//!
//! Decoding is lazy. An instance received as bytes (C-STORE data set, WADO-RS part, file) stays
//! bytes until something asks for its content, and if nothing modifies it, the same bytes go out
//! again: a pure passthrough (C-GET → C-STORE, WADO-RS → STOW-RS) never re-encodes. Reading the
//! header for a folder name parses only the elements before Pixel Data.

use std::fmt;
use std::io::{Cursor, Read, Write};
use std::ops::{Deref, DerefMut};

use bytes::{Buf, Bytes};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::file::ReadPreamble;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, FileMetaTable, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{Error, Result};
use crate::model::element_string;

/// Implementation Class UID written into the file meta of every Part-10 stream we produce.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.2514375697046365153949329515400068319";

/// Implementation Version Name written next to [`IMPLEMENTATION_CLASS_UID`].
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("ADIT-RS ", env!("CARGO_PKG_VERSION"));

const PREAMBLE_LEN: usize = 128;
const MAGIC: &[u8; 4] = b"DICM";

/// A DICOM object with its identity always at hand and its content decoded on demand.
#[derive(Clone)]
pub struct Instance {
    identity: Identity,
    /// The data set in `identity.transfer_syntax`, without preamble or meta. `None` once the
    /// object was modified, because then these bytes are stale.
    encoded: Option<Bytes>,
    /// The decoded object, once someone asked for it.
    decoded: Option<Box<FileDicomObject<InMemDicomObject>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    sop_class_uid: String,
    sop_instance_uid: String,
    transfer_syntax: String,
}

impl Instance {
    /// Reads a Part-10 stream (with or without the 128-byte preamble). Only the file meta is
    /// parsed; the data set stays as bytes, sharing `bytes`' buffer.
    pub fn from_part10(bytes: impl Into<Bytes>) -> Result<Self> {
        let bytes = bytes.into();
        let start = if bytes.get(PREAMBLE_LEN..PREAMBLE_LEN + 4) == Some(MAGIC.as_slice()) {
            PREAMBLE_LEN
        } else if bytes.starts_with(MAGIC) {
            0
        } else {
            return Err(Error::invalid_dicom(
                "Part-10 stream",
                "no DICM magic code (not a DICOM file)",
            ));
        };
        let mut cursor = Cursor::new(&bytes[start..]);
        let meta = FileMetaTable::from_reader(&mut cursor)
            .map_err(|e| Error::invalid_dicom("Part-10 file meta", e))?;
        let dataset_start = start + usize::try_from(cursor.position()).unwrap_or(usize::MAX);
        if dataset_start > bytes.len() {
            return Err(Error::invalid_dicom(
                "Part-10 file meta",
                "group length past the end",
            ));
        }
        let identity = Identity {
            sop_class_uid: meta.media_storage_sop_class_uid().to_owned(),
            sop_instance_uid: meta.media_storage_sop_instance_uid().to_owned(),
            transfer_syntax: meta.transfer_syntax().to_owned(),
        };
        if identity.sop_instance_uid.is_empty() {
            return Err(Error::invalid_dicom(
                "Part-10 file meta",
                "no Media Storage SOP Instance UID",
            ));
        }
        Ok(Self {
            identity,
            encoded: Some(bytes.slice(dataset_start..)),
            decoded: None,
        })
    }

    /// Wraps data set bytes as they arrive in a C-STORE (no preamble, no meta), with the
    /// identity from the command set and the presentation context.
    pub fn from_dataset(
        dataset: impl Into<Bytes>,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
    ) -> Self {
        Self {
            identity: Identity {
                sop_class_uid: trim_uid(sop_class_uid).to_owned(),
                sop_instance_uid: trim_uid(sop_instance_uid).to_owned(),
                transfer_syntax: trim_uid(transfer_syntax).to_owned(),
            },
            encoded: Some(dataset.into()),
            decoded: None,
        }
    }

    /// Wraps a decoded object. SOP Class and Instance UID come from the data set (falling back
    /// to the meta), the transfer syntax from the meta.
    pub fn from_object(object: FileDicomObject<InMemDicomObject>) -> Result<Self> {
        let meta = object.meta();
        let identity = Identity {
            sop_class_uid: element_string(&object, tags::SOP_CLASS_UID)
                .unwrap_or_else(|| meta.media_storage_sop_class_uid().to_owned()),
            sop_instance_uid: element_string(&object, tags::SOP_INSTANCE_UID)
                .unwrap_or_else(|| meta.media_storage_sop_instance_uid().to_owned()),
            transfer_syntax: meta.transfer_syntax().to_owned(),
        };
        if identity.sop_instance_uid.is_empty() {
            return Err(Error::invalid_dicom("object", "no SOP Instance UID"));
        }
        let mut instance = Self {
            identity,
            encoded: None,
            decoded: Some(Box::new(object)),
        };
        // Make the meta agree with the data set.
        drop(instance.object_mut()?);
        Ok(instance)
    }

    /// Wraps a decoded data set that is to be encoded in `transfer_syntax`.
    pub fn from_dataset_object(object: InMemDicomObject, transfer_syntax: &str) -> Result<Self> {
        let sop_class_uid = element_string(&object, tags::SOP_CLASS_UID).unwrap_or_default();
        let sop_instance_uid = element_string(&object, tags::SOP_INSTANCE_UID)
            .ok_or_else(|| Error::invalid_dicom("data set", "no SOP Instance UID"))?;
        let identity = Identity {
            sop_class_uid,
            sop_instance_uid,
            transfer_syntax: trim_uid(transfer_syntax).to_owned(),
        };
        let meta = build_meta(&identity)?;
        Ok(Self {
            identity,
            encoded: None,
            decoded: Some(Box::new(object.with_exact_meta(meta))),
        })
    }

    /// SOP Class UID.
    pub fn sop_class_uid(&self) -> &str {
        &self.identity.sop_class_uid
    }

    /// SOP Instance UID.
    pub fn sop_instance_uid(&self) -> &str {
        &self.identity.sop_instance_uid
    }

    /// Transfer syntax UID of the data set.
    pub fn transfer_syntax(&self) -> &str {
        &self.identity.transfer_syntax
    }

    /// Whether the content has been decoded.
    pub fn is_decoded(&self) -> bool {
        self.decoded.is_some()
    }

    /// Whether the content was changed since it was received (its original bytes are gone).
    pub fn is_modified(&self) -> bool {
        self.encoded.is_none()
    }

    /// The decoded object; decodes on first use and keeps the original bytes for output.
    pub fn object(&mut self) -> Result<&FileDicomObject<InMemDicomObject>> {
        let object = match &mut self.decoded {
            Some(object) => object,
            slot @ None => slot.insert(Box::new(decode(&self.identity, self.encoded.as_ref())?)),
        };
        Ok(object)
    }

    /// The decoded object for changing it. The instance counts as modified from now on, and
    /// when the returned guard is dropped, the identity (SOP UIDs, transfer syntax) and the file
    /// meta are brought in line with the data set, e.g. after the pseudonymizer replaced UIDs.
    pub fn object_mut(&mut self) -> Result<ObjectMut<'_>> {
        let object = match &mut self.decoded {
            Some(object) => object,
            slot @ None => slot.insert(Box::new(decode(&self.identity, self.encoded.as_ref())?)),
        };
        self.encoded = None;
        Ok(ObjectMut {
            object,
            identity: &mut self.identity,
        })
    }

    /// The decoded object, consuming the instance.
    pub fn into_object(self) -> Result<FileDicomObject<InMemDicomObject>> {
        match self.decoded {
            Some(object) => Ok(*object),
            None => decode(&self.identity, self.encoded.as_ref()),
        }
    }

    /// The elements before Pixel Data (patient, study, series attributes), without decoding
    /// or copying the pixel data.
    pub fn header(&self) -> Result<InMemDicomObject> {
        if let Some(object) = &self.decoded {
            return Ok(InMemDicomObject::from_element_iter(
                object
                    .iter()
                    .filter(|e| e.header().tag < tags::PIXEL_DATA)
                    .cloned(),
            ));
        }
        let encoded = self.encoded_or_internal_error()?;
        let mut meta_bytes = Vec::with_capacity(256);
        meta_bytes.extend_from_slice(MAGIC);
        build_meta(&self.identity)?
            .write(&mut meta_bytes)
            .map_err(|e| Error::invalid_dicom(self.what(), e))?;
        let reader = Read::chain(meta_bytes.as_slice(), encoded.clone().reader());
        let object = OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .read_until(tags::PIXEL_DATA)
            .from_reader(reader)
            .map_err(|e| Error::invalid_dicom(self.what(), e))?;
        Ok(object.into_inner())
    }

    /// The data set bytes in [`Instance::transfer_syntax`]: the received bytes if unmodified,
    /// otherwise freshly encoded.
    pub fn dataset_bytes(&self) -> Result<Bytes> {
        if let Some(encoded) = &self.encoded {
            return Ok(encoded.clone());
        }
        let object = self.decoded_or_internal_error()?;
        let mut out = Vec::with_capacity(self.size_hint_usize());
        object
            .write_dataset(&mut out)
            .map_err(|e| Error::invalid_dicom(self.what(), e))?;
        Ok(Bytes::from(out))
    }

    /// Writes a Part-10 stream: preamble, `DICM`, file meta (ours, matching the identity) and
    /// the data set.
    ///
    /// Encoding problems are [`Error::InvalidDicom`]; failures of `out` itself are
    /// [`Error::Write`].
    pub fn write_part10(&self, mut out: impl Write) -> Result<()> {
        let head = self.part10_head()?;
        let dataset = self.dataset_bytes()?;
        let write = |e: std::io::Error| Error::Write {
            what: self.what(),
            source: e,
        };
        out.write_all(&head).map_err(write)?;
        out.write_all(&dataset).map_err(write)?;
        Ok(())
    }

    /// What a Part-10 stream puts before the data set: preamble, `DICM` and the file meta (ours,
    /// matching the identity). Followed by [`Instance::dataset_bytes`], it is
    /// [`Instance::to_part10`] without copying the data set (a few hundred bytes of work, fine
    /// on an async thread).
    pub fn part10_head(&self) -> Result<Bytes> {
        let mut head = Vec::with_capacity(PREAMBLE_LEN + 256);
        head.extend_from_slice(&[0; PREAMBLE_LEN]);
        head.extend_from_slice(MAGIC);
        build_meta(&self.identity)?
            .write(&mut head)
            .map_err(|e| Error::invalid_dicom(self.what(), e))?;
        Ok(Bytes::from(head))
    }

    /// The instance as a Part-10 byte buffer.
    pub fn to_part10(&self) -> Result<Bytes> {
        let mut out = Vec::with_capacity(self.size_hint_usize() + 512);
        self.write_part10(&mut out)?;
        Ok(Bytes::from(out))
    }

    /// Size of the data set in bytes: exact while unmodified, estimated from the element
    /// values after a modification.
    pub fn size_hint(&self) -> u64 {
        if let Some(encoded) = &self.encoded {
            return encoded.len() as u64;
        }
        self.decoded
            .as_deref()
            .map_or(0, |object| estimate_len(object))
    }

    fn size_hint_usize(&self) -> usize {
        usize::try_from(self.size_hint()).unwrap_or(0)
    }

    fn what(&self) -> String {
        format!("instance {}", self.identity.sop_instance_uid)
    }

    fn encoded_or_internal_error(&self) -> Result<&Bytes> {
        self.encoded
            .as_ref()
            .ok_or_else(|| Error::Task(format!("{} has neither bytes nor object", self.what())))
    }

    fn decoded_or_internal_error(&self) -> Result<&FileDicomObject<InMemDicomObject>> {
        self.decoded
            .as_deref()
            .ok_or_else(|| Error::Task(format!("{} has neither bytes nor object", self.what())))
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("sop_class_uid", &self.identity.sop_class_uid)
            .field("sop_instance_uid", &self.identity.sop_instance_uid)
            .field("transfer_syntax", &self.identity.transfer_syntax)
            .field("size", &self.size_hint())
            .field("decoded", &self.is_decoded())
            .field("modified", &self.is_modified())
            .finish()
    }
}

/// Mutable access to an [`Instance`]'s object; re-syncs the identity when dropped.
pub struct ObjectMut<'a> {
    object: &'a mut FileDicomObject<InMemDicomObject>,
    identity: &'a mut Identity,
}

impl Deref for ObjectMut<'_> {
    type Target = FileDicomObject<InMemDicomObject>;

    fn deref(&self) -> &Self::Target {
        self.object
    }
}

impl DerefMut for ObjectMut<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.object
    }
}

impl Drop for ObjectMut<'_> {
    fn drop(&mut self) {
        if let Some(uid) = element_string(self.object, tags::SOP_INSTANCE_UID) {
            self.identity.sop_instance_uid = uid;
        }
        if let Some(uid) = element_string(self.object, tags::SOP_CLASS_UID) {
            self.identity.sop_class_uid = uid;
        }
        self.identity.transfer_syntax = self.object.meta().transfer_syntax().to_owned();
        let identity = &*self.identity;
        self.object.update_meta(|meta| {
            meta.media_storage_sop_instance_uid = identity.sop_instance_uid.clone();
            meta.media_storage_sop_class_uid = identity.sop_class_uid.clone();
        });
    }
}

/// Our file meta for an identity.
fn build_meta(identity: &Identity) -> Result<FileMetaTable> {
    FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(identity.sop_class_uid.as_str())
        .media_storage_sop_instance_uid(identity.sop_instance_uid.as_str())
        .transfer_syntax(identity.transfer_syntax.as_str())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| Error::invalid_dicom(format!("file meta of {}", identity.sop_instance_uid), e))
}

/// Decodes data set bytes into an object with our meta.
fn decode(
    identity: &Identity,
    encoded: Option<&Bytes>,
) -> Result<FileDicomObject<InMemDicomObject>> {
    let what = || format!("instance {}", identity.sop_instance_uid);
    let encoded =
        encoded.ok_or_else(|| Error::Task(format!("{} has neither bytes nor object", what())))?;
    let ts = TransferSyntaxRegistry
        .get(&identity.transfer_syntax)
        .ok_or_else(|| {
            Error::invalid_dicom(
                what(),
                format!("unknown transfer syntax {}", identity.transfer_syntax),
            )
        })?;
    let dataset = InMemDicomObject::read_dataset_with_ts(encoded.clone().reader(), ts)
        .map_err(|e| Error::invalid_dicom(what(), e))?;
    Ok(dataset.with_exact_meta(build_meta(identity)?))
}

/// Rough encoded size of an object: value lengths plus 12 bytes of header per element.
fn estimate_len(object: &InMemDicomObject) -> u64 {
    use dicom_core::DicomValue;
    object
        .iter()
        .map(|element| {
            let value = match element.value() {
                DicomValue::Primitive(p) => p.calculate_byte_len() as u64,
                DicomValue::Sequence(seq) => seq.items().iter().map(estimate_len).sum::<u64>(),
                DicomValue::PixelSequence(seq) => seq
                    .fragments()
                    .iter()
                    .map(|f| f.len() as u64 + 8)
                    .sum::<u64>(),
            };
            value + 12
        })
        .sum()
}

fn trim_uid(uid: &str) -> &str {
    uid.trim_matches(|c: char| c == '\0' || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::uids;

    fn sample_object(sop_uid: &str) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, sop_uid),
            DataElement::new(tags::PATIENT_ID, VR::LO, "PAT-1"),
            DataElement::new(tags::MODALITY, VR::CS, "CT"),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2_u16)),
            DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(2_u16)),
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16([1, 2, 3, 4].into_iter().collect()),
            ),
        ])
    }

    fn part10(sop_uid: &str) -> Vec<u8> {
        let instance =
            Instance::from_dataset_object(sample_object(sop_uid), uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .unwrap();
        instance.to_part10().unwrap().to_vec()
    }

    #[test]
    fn part10_reading_parses_only_the_meta() {
        let bytes = part10("1.2.3.4");
        let instance = Instance::from_part10(bytes.clone()).unwrap();
        assert_eq!(instance.sop_instance_uid(), "1.2.3.4");
        assert_eq!(instance.sop_class_uid(), uids::CT_IMAGE_STORAGE);
        assert_eq!(instance.transfer_syntax(), uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert!(!instance.is_decoded());
        assert!(!instance.is_modified());
        // Without the preamble works too.
        let bare = Instance::from_part10(bytes[128..].to_vec()).unwrap();
        assert_eq!(bare.sop_instance_uid(), "1.2.3.4");
    }

    #[test]
    fn part10_head_and_dataset_bytes_make_the_part10_stream() {
        let bytes = part10("1.2.3.4");
        let instance = Instance::from_part10(bytes.clone()).unwrap();
        let mut joined = instance.part10_head().unwrap().to_vec();
        let dataset = instance.dataset_bytes().unwrap();
        joined.extend_from_slice(&dataset);
        assert_eq!(joined, instance.to_part10().unwrap().to_vec());
        assert_eq!(&joined[128..132], b"DICM");
        // The data set is the received buffer itself, not a copy.
        assert_eq!(dataset.as_ptr(), instance.dataset_bytes().unwrap().as_ptr());
    }

    #[test]
    fn unmodified_instances_pass_through_byte_identical() {
        let bytes = part10("1.2.3.4");
        let mut instance = Instance::from_part10(bytes.clone()).unwrap();
        let dataset_before = instance.dataset_bytes().unwrap();
        // Reading (decoding) must not change the output.
        assert_eq!(
            instance
                .object()
                .unwrap()
                .get(tags::PATIENT_ID)
                .unwrap()
                .to_str()
                .unwrap(),
            "PAT-1"
        );
        assert!(instance.is_decoded() && !instance.is_modified());
        assert_eq!(instance.dataset_bytes().unwrap(), dataset_before);
        assert_eq!(instance.to_part10().unwrap().as_ref(), bytes.as_slice());
    }

    #[test]
    fn dataset_bytes_are_shared_not_copied() {
        let bytes = Bytes::from(part10("1.2.3.4"));
        let instance = Instance::from_part10(bytes.clone()).unwrap();
        let dataset = instance.dataset_bytes().unwrap();
        let offset = dataset.as_ptr() as usize - bytes.as_ptr() as usize;
        assert!(
            offset > 128 && offset < bytes.len(),
            "a slice of the input buffer"
        );
    }

    #[test]
    fn modification_re_encodes_and_resyncs_identity() {
        let mut instance = Instance::from_part10(part10("1.2.3.4")).unwrap();
        {
            let mut object = instance.object_mut().unwrap();
            object.put(DataElement::new(tags::PATIENT_ID, VR::LO, "PSEUDO"));
            object.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "2.25.99"));
        }
        assert!(instance.is_modified());
        assert_eq!(instance.sop_instance_uid(), "2.25.99");
        let reread = Instance::from_part10(instance.to_part10().unwrap()).unwrap();
        assert_eq!(
            reread.sop_instance_uid(),
            "2.25.99",
            "meta follows the data set"
        );
        let object = reread.into_object().unwrap();
        assert_eq!(
            object.get(tags::PATIENT_ID).unwrap().to_str().unwrap(),
            "PSEUDO"
        );
        assert_eq!(
            object
                .get(tags::PIXEL_DATA)
                .unwrap()
                .value()
                .to_bytes()
                .unwrap()
                .len(),
            8
        );
    }

    #[test]
    fn header_stops_before_pixel_data() {
        let instance = Instance::from_part10(part10("1.2.3.4")).unwrap();
        let header = instance.header().unwrap();
        assert_eq!(
            element_string(&header, tags::MODALITY).as_deref(),
            Some("CT")
        );
        assert!(header.get(tags::PIXEL_DATA).is_none());
        assert!(
            !instance.is_decoded(),
            "header() does not cache a full decode"
        );
    }

    #[test]
    fn dimse_style_datasets_round_trip() {
        let source = Instance::from_part10(part10("1.2.3.4")).unwrap();
        let dataset = source.dataset_bytes().unwrap();
        let mut received = Instance::from_dataset(
            dataset.clone(),
            &format!("{}\0", uids::CT_IMAGE_STORAGE),
            "1.2.3.4\0",
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        );
        assert_eq!(received.sop_instance_uid(), "1.2.3.4");
        assert_eq!(received.dataset_bytes().unwrap(), dataset);
        assert_eq!(
            element_string(received.object().unwrap(), tags::MODALITY).as_deref(),
            Some("CT")
        );
        assert_eq!(received.size_hint(), dataset.len() as u64);
    }

    #[test]
    fn deflated_data_sets_are_readable_and_pass_through() {
        let deflated = Instance::from_dataset_object(
            sample_object("1.2.3.5"),
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        )
        .unwrap();
        let bytes = deflated.to_part10().unwrap();
        let mut reread = Instance::from_part10(bytes.clone()).unwrap();
        assert_eq!(
            element_string(&reread.header().unwrap(), tags::PATIENT_ID).as_deref(),
            Some("PAT-1")
        );
        assert_eq!(
            element_string(reread.object().unwrap(), tags::MODALITY).as_deref(),
            Some("CT")
        );
        assert_eq!(reread.to_part10().unwrap(), bytes);
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let err = Instance::from_part10(b"hello world".to_vec()).unwrap_err();
        assert!(err.to_string().contains("DICM"), "{err}");
        let mut truncated = part10("1.2.3.4");
        truncated.truncate(140);
        assert!(Instance::from_part10(truncated).is_err());
        let mut unknown_ts = Instance::from_dataset(vec![0_u8; 4], "1.2", "1.2.3", "1.2.3.999");
        let err = unknown_ts.object().unwrap_err();
        assert!(err.to_string().contains("unknown transfer syntax"), "{err}");
    }

    #[test]
    fn from_object_takes_identity_from_the_data_set() {
        let object = sample_object("9.8.7")
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(uids::IMPLICIT_VR_LITTLE_ENDIAN)
                    .media_storage_sop_instance_uid("stale")
                    .media_storage_sop_class_uid("stale"),
            )
            .unwrap();
        let instance = Instance::from_object(object).unwrap();
        assert_eq!(instance.sop_instance_uid(), "9.8.7");
        assert_eq!(instance.transfer_syntax(), uids::IMPLICIT_VR_LITTLE_ENDIAN);
        let reread = Instance::from_part10(instance.to_part10().unwrap()).unwrap();
        assert_eq!(reread.sop_instance_uid(), "9.8.7");
        assert!(instance.size_hint() > 8);
    }
}
