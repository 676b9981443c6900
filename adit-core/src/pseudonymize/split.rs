//! Finding where Pixel Data starts in encoded data set bytes, without decoding them.
//!
//! Pseudonymization never changes pixel data, so the fast path decodes only the elements
//! before it, re-encodes them, and appends the original Pixel Data bytes. This walks the
//! element headers of Little Endian data sets (explicit or implicit VR) to find the split.
//! Anything it does not understand makes it give up, and the caller decodes everything.

use std::ops::Range;

/// `(7FE0,0010)` Pixel Data as one number.
const PIXEL_DATA: u32 = 0x7FE0_0010;
/// Item, item delimitation and sequence delimitation tags.
const ITEM: u32 = 0xFFFE_E000;
const ITEM_END: u32 = 0xFFFE_E00D;
const SEQUENCE_END: u32 = 0xFFFE_E0DD;
/// Elements after Pixel Data that the Basic Profile removes (X): Digital Signatures Sequence
/// and Data Set Trailing Padding.
const REMOVED_AFTER_PIXELS: [u32; 2] = [0xFFFA_FFFA, 0xFFFC_FFFC];
const UNDEFINED: u32 = 0xFFFF_FFFF;
/// Deeper nesting than this is refused (the full decoder then decides).
const MAX_DEPTH: usize = 32;

/// Where a data set splits into a head to pseudonymize and pixel bytes to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Split {
    /// The elements before Pixel Data: `bytes[..head_end]`.
    pub head_end: usize,
    /// Byte ranges after the head to copy unchanged (the Pixel Data element). Private
    /// elements and elements the Basic Profile removes are left out.
    pub tail: Vec<Range<usize>>,
}

/// Splits a Little Endian data set before Pixel Data. `None` if the bytes are malformed or
/// anything other than Pixel Data, private elements, Digital Signatures or trailing padding
/// follows Pixel Data.
#[cfg(test)]
pub(super) fn split_before_pixel_data(bytes: &[u8], explicit_vr: bool) -> Option<Split> {
    split_prefix(bytes, bytes.len(), explicit_vr)
}

/// [`split_before_pixel_data`] on the first bytes of a data set of `total` bytes: element
/// values past the prefix are skipped by their length, never read. `None` also when a header
/// lies past the prefix (e.g. encapsulated pixel data): then read everything and try again.
pub(super) fn split_prefix(bytes: &[u8], total: usize, explicit_vr: bool) -> Option<Split> {
    let bytes = Prefix { bytes, total };
    let mut pos = 0;
    while pos < total {
        let (tag, end) = element_end(&bytes, pos, explicit_vr, 0)?;
        if tag >= PIXEL_DATA {
            break;
        }
        pos = end;
    }
    let head_end = pos;
    let mut tail = Vec::new();
    while pos < total {
        let (tag, end) = element_end(&bytes, pos, explicit_vr, 0)?;
        let private = (tag >> 16) % 2 == 1;
        if tag == PIXEL_DATA {
            tail.push(pos..end);
        } else if !(private || REMOVED_AFTER_PIXELS.contains(&tag)) {
            return None;
        }
        pos = end;
    }
    Some(Split { head_end, tail })
}

/// The tag of the Explicit VR Little Endian element at `pos` of `bytes` and the position just
/// after it (past the end of its items for undefined lengths). `None` if it is malformed or
/// does not end within `bytes`.
pub(super) fn element_end_at(bytes: &[u8], pos: usize) -> Option<(u32, usize)> {
    let prefix = Prefix {
        bytes,
        total: bytes.len(),
    };
    element_end(&prefix, pos, true, 0)
}

/// The bytes at hand and the length of the whole data set.
struct Prefix<'a> {
    bytes: &'a [u8],
    total: usize,
}

impl Prefix<'_> {
    fn get(&self, range: Range<usize>) -> Option<&[u8]> {
        self.bytes.get(range)
    }
}

/// PS3.5 7.1.2: the explicit VRs with a 2-byte reserved field and a 4-byte length.
pub(super) fn long_header(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

fn u16_at(bytes: &Prefix<'_>, pos: usize) -> Option<u16> {
    let b = bytes.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &Prefix<'_>, pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn tag_at(bytes: &Prefix<'_>, pos: usize) -> Option<u32> {
    Some((u32::from(u16_at(bytes, pos)?) << 16) | u32::from(u16_at(bytes, pos + 2)?))
}

/// The tag of the element at `pos` and the position just after it.
fn element_end(
    bytes: &Prefix<'_>,
    pos: usize,
    explicit_vr: bool,
    depth: usize,
) -> Option<(u32, usize)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let tag = tag_at(bytes, pos)?;
    let (header, len, nested_explicit) = if tag >> 16 == 0xFFFE || !explicit_vr {
        (8, u32_at(bytes, pos + 4)?, explicit_vr)
    } else {
        let vr = bytes.get(pos + 4..pos + 6)?;
        if !vr.iter().all(u8::is_ascii_uppercase) {
            return None;
        }
        let long = long_header(vr);
        // An undefined-length UN holds Implicit VR Little Endian content (PS3.5 6.2.2).
        let nested_explicit = vr != b"UN";
        if long {
            (12, u32_at(bytes, pos + 8)?, nested_explicit)
        } else {
            (8, u32::from(u16_at(bytes, pos + 6)?), nested_explicit)
        }
    };
    let start = pos.checked_add(header)?;
    if len != UNDEFINED {
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        return (end <= bytes.total).then_some((tag, end));
    }
    Some((tag, items_end(bytes, start, nested_explicit, depth + 1)?))
}

/// The end of an undefined-length sequence (or encapsulated pixel data) whose items start
/// at `pos`.
fn items_end(bytes: &Prefix<'_>, mut pos: usize, explicit_vr: bool, depth: usize) -> Option<usize> {
    loop {
        match tag_at(bytes, pos)? {
            SEQUENCE_END => return pos.checked_add(8),
            ITEM => {
                let len = u32_at(bytes, pos + 4)?;
                pos = pos.checked_add(8)?;
                if len == UNDEFINED {
                    while tag_at(bytes, pos)? != ITEM_END {
                        pos = element_end(bytes, pos, explicit_vr, depth + 1)?.1;
                    }
                    pos = pos.checked_add(8)?;
                } else {
                    pos = pos.checked_add(usize::try_from(len).ok()?)?;
                }
                if pos > bytes.total {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
    use dicom_core::{DataElement, Length, PrimitiveValue, Tag, VR};
    use dicom_dictionary_std::tags;
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_object::InMemDicomObject;
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

    use super::*;

    fn encode(object: &InMemDicomObject, ts: &str) -> Vec<u8> {
        let ts = TransferSyntaxRegistry.get(ts).unwrap();
        let mut out = Vec::new();
        object.write_dataset_with_ts(&mut out, ts).unwrap();
        out
    }

    fn sample(pixels: DataElement<InMemDicomObject>) -> InMemDicomObject {
        let item = InMemDicomObject::from_element_iter([DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            "1.2.3",
        )]);
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::PATIENT_ID, VR::LO, "P1"),
            DataElement::new(
                tags::REFERENCED_IMAGE_SEQUENCE,
                VR::SQ,
                DataSetSequence::new(vec![item.clone(), item], Length::UNDEFINED),
            ),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2_u16)),
            pixels,
            DataElement::new(Tag(0x7FE1, 0x0010), VR::LO, "VENDOR"),
            DataElement::new(
                Tag(0xFFFC, 0xFFFC),
                VR::OB,
                PrimitiveValue::from(vec![0_u8; 4]),
            ),
        ])
    }

    fn native() -> DataElement<InMemDicomObject> {
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16([1, 2, 3, 4].into_iter().collect()),
        )
    }

    fn check(bytes: &[u8], explicit: bool, ts: &str) {
        let split = split_before_pixel_data(bytes, explicit).unwrap();
        let ts = TransferSyntaxRegistry.get(ts).unwrap();
        let head = InMemDicomObject::read_dataset_with_ts(&bytes[..split.head_end], ts).unwrap();
        assert_eq!(head.tags().count(), 3, "PatientID, sequence, Rows");
        assert_eq!(split.tail.len(), 1, "only Pixel Data is kept");
        let pixels = &bytes[split.tail[0].clone()];
        let reread = InMemDicomObject::read_dataset_with_ts(pixels, ts).unwrap();
        assert!(reread.get(tags::PIXEL_DATA).is_some());
        assert_eq!(reread.tags().count(), 1);
    }

    #[test]
    fn splits_explicit_and_implicit_little_endian() {
        let explicit = dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN;
        let implicit = dicom_dictionary_std::uids::IMPLICIT_VR_LITTLE_ENDIAN;
        check(&encode(&sample(native()), explicit), true, explicit);
        check(&encode(&sample(native()), implicit), false, implicit);
    }

    #[test]
    fn splits_encapsulated_pixel_data() {
        let fragments = PixelFragmentSequence::new(vec![0_u32], vec![vec![0xAB_u8; 10]]);
        let pixels = DataElement::new(tags::PIXEL_DATA, VR::OB, fragments);
        let ts = dicom_dictionary_std::uids::JPEG_BASELINE8_BIT;
        let bytes = encode(&sample(pixels), ts);
        check(&bytes, true, ts);
    }

    #[test]
    fn a_prefix_is_enough_for_native_pixel_data() {
        let explicit = dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN;
        let mut object = sample(native());
        object.remove_element(Tag(0x7FE1, 0x0010));
        object.remove_element(Tag(0xFFFC, 0xFFFC));
        let bytes = encode(&object, explicit);
        let whole = split_before_pixel_data(&bytes, true).unwrap();
        let pixel_header_end = whole.tail[0].start + 12;
        let from_prefix = split_prefix(&bytes[..pixel_header_end], bytes.len(), true).unwrap();
        assert_eq!(from_prefix, whole);
        // Without the pixel data header there is nothing to go on.
        assert!(split_prefix(&bytes[..whole.head_end + 4], bytes.len(), true).is_none());
    }

    #[test]
    fn no_pixel_data_means_all_head() {
        let object =
            InMemDicomObject::from_element_iter([DataElement::new(tags::PATIENT_ID, VR::LO, "P1")]);
        let bytes = encode(
            &object,
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        );
        let split = split_before_pixel_data(&bytes, true).unwrap();
        assert_eq!(split.head_end, bytes.len());
        assert!(split.tail.is_empty());
    }

    #[test]
    fn unknown_elements_after_pixel_data_and_garbage_give_up() {
        let mut object = sample(native());
        object.put(DataElement::new(Tag(0x7FE2, 0x0001), VR::LO, "x"));
        let bytes = encode(
            &object,
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        );
        assert!(split_before_pixel_data(&bytes, true).is_none());
        let good = encode(
            &sample(native()),
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        );
        assert!(split_before_pixel_data(&good[..good.len() - 3], true).is_none());
        assert!(split_before_pixel_data(&[0x08, 0x00, 0x10, 0x00, b'l', b'o'], true).is_none());
        // A length pointing far past the end (the first element is the sequence: 12-byte
        // header with the length at 8..12).
        let mut long = good.clone();
        long[8..12].copy_from_slice(&0x7FFF_0000_u32.to_le_bytes());
        assert!(split_before_pixel_data(&long, true).is_none());
        let mut short_vr = good.clone();
        short_vr[4..6].copy_from_slice(b"LO");
        short_vr[6] = 0xFF;
        short_vr[7] = 0x7F;
        assert!(split_before_pixel_data(&short_vr, true).is_none());
    }
}
