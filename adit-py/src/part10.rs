//! A header walk over a Part-10 file: where its file meta elements and its top-level data set
//! elements are, without decoding any value. The result is what pydicom's `dcmread` would
//! read as `RawDataElement`s, so that the Python side can build a `FileDataset` that pydicom
//! converts lazily, element by element, on access (see `raw`).
//!
//! The walk mirrors pydicom 3's reader (`filereader.read_partial` and
//! `data_element_generator`) for well-formed files. Whatever it would handle differently or
//! only with a warning (no preamble, no transfer syntax, deflate, command set elements,
//! implicit/explicit VR switches, unknown VRs, truncated values, implicit-VR non-sequence
//! elements of undefined length) gives `None`: the caller then reads the file with
//! `dcmread` itself, so the result is never different from pydicom's.

use std::ops::Range;

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

/// The layout of a Part-10 file.
pub(crate) struct Layout {
    /// The file meta elements (group 0002), always explicit VR little endian.
    pub(crate) meta: Vec<Element>,
    /// Whether the data set is implicit VR.
    pub(crate) implicit: bool,
    /// Whether the data set is little endian.
    pub(crate) little: bool,
    /// The top-level elements of the data set, in file order.
    pub(crate) elements: Vec<Element>,
}

/// One element: its header as read and where its value is.
pub(crate) struct Element {
    /// Group << 16 | element.
    pub(crate) tag: u32,
    /// The VR as written (explicit VR), or the VR an undefined-length sequence is read as;
    /// `None` for implicit VR.
    pub(crate) vr: Option<[u8; 2]>,
    /// The length field (`UNDEFINED` for an undefined length).
    pub(crate) length: u32,
    /// The value's bytes in the file, without a sequence delimitation item; `start` is
    /// pydicom's `value_tell`.
    pub(crate) value: Range<usize>,
}

/// The length of undefined-length values.
pub(crate) const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Where the 128-byte preamble ends and the `DICM` prefix starts.
pub(crate) const PREAMBLE: usize = 128;

const ITEM: u32 = 0xFFFE_E000;
const ITEM_DELIMITATION: u32 = 0xFFFE_E00D;
const SEQUENCE_DELIMITATION: u32 = 0xFFFE_E0DD;
const PIXEL_DATA: u32 = 0x7FE0_0010;
const TRANSFER_SYNTAX: u32 = 0x0002_0010;

/// Explicit VRs pydicom reads as such (`filereader.ENCODED_VR`, the standard ones).
const KNOWN_VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

/// Explicit VRs with a reserved field and a 4-byte length (`valuerep.EXPLICIT_VR_LENGTH_32`).
const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];

/// The bytes of a file as the walk reads them: one slice, or the segments a part arrived in
/// (`segments::Segments`), which are not joined into one buffer first.
pub(crate) trait Data {
    /// The number of bytes.
    fn len(&self) -> usize;

    /// Calls `f` with the consecutive slices that make up `range`, which must lie within
    /// `0..self.len()`.
    fn for_each_slice(&self, range: Range<usize>, f: impl FnMut(&[u8]));

    /// The `N` bytes at `at`, if all are there.
    fn array<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        let end = at.checked_add(N).filter(|end| *end <= self.len())?;
        let mut out = [0; N];
        let mut filled = 0;
        self.for_each_slice(at..end, |slice| {
            out[filled..filled + slice.len()].copy_from_slice(slice);
            filled += slice.len();
        });
        Some(out)
    }

    /// The bytes in `range` as a new vector, if all are there.
    fn to_vec(&self, range: Range<usize>) -> Option<Vec<u8>> {
        if range.start > range.end || range.end > self.len() {
            return None;
        }
        let mut out = Vec::with_capacity(range.len());
        self.for_each_slice(range, |slice| out.extend_from_slice(slice));
        Some(out)
    }
}

impl Data for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn for_each_slice(&self, range: Range<usize>, mut f: impl FnMut(&[u8])) {
        f(&self[range]);
    }
}

/// The layout of `data`, or `None` where pydicom's own reader must decide.
pub(crate) fn split<D: Data + ?Sized>(data: &D) -> Option<Layout> {
    if &data.array::<4>(PREAMBLE)? != b"DICM" {
        return None;
    }
    let mut reader = Reader {
        data,
        pos: PREAMBLE + 4,
        implicit: false,
        little: true,
    };
    // pydicom checks the first meta element for an implicit VR and switches (with a warning).
    if !reader.next_looks_explicit() {
        return None;
    }
    let mut meta = Vec::new();
    while reader.remaining() >= 8 && reader.u16_at(reader.pos)? == 0x0002 {
        let element = reader.element()?;
        if element.length == UNDEFINED {
            return None;
        }
        meta.push(element);
    }
    let remaining = reader.remaining();
    // Command set elements (group 0000) are read as implicit VR by pydicom; rare in files.
    if remaining >= 2 && u16::from_le_bytes(data.array(reader.pos)?) == 0 {
        return None;
    }
    let (implicit, little) = if remaining == 0 {
        // pydicom's choice for a file without a data set.
        (true, true)
    } else {
        let syntax = meta.iter().find(|e| e.tag == TRANSFER_SYNTAX)?;
        encoding(&data.to_vec(syntax.value.clone())?)?
    };
    reader.implicit = implicit;
    reader.little = little;
    if remaining >= 6 && reader.next_looks_explicit() == implicit {
        return None;
    }
    let mut elements = Vec::new();
    // pydicom stops silently at fewer than 8 bytes left.
    while reader.remaining() >= 8 {
        let start = reader.pos;
        let mut element = reader.element()?;
        if element.tag >> 16 == 0xFFFE {
            return None;
        }
        if element.length == UNDEFINED {
            if implicit {
                // pydicom reads a sequence where the dictionary says SQ or, for tags it does
                // not know, where an item follows; anything else is left to it.
                let sequence = match StandardDataDictionary.by_tag(tag(element.tag)) {
                    Some(entry) => matches!(entry.vr, VirtualVr::Exact(VR::SQ)),
                    None => reader.tag_at(reader.pos) == Some(ITEM),
                };
                if !sequence || element.tag == PIXEL_DATA {
                    return None;
                }
                element.vr = Some(*b"SQ");
            } else if element.vr == Some(*b"UN") {
                // PS3.5 6.2.2: an undefined-length UN is a sequence (pydicom's default).
                element.vr = Some(*b"SQ");
            }
            let end = reader.items()?;
            element.value = element.value.start..end;
        }
        debug_assert!(reader.pos > start);
        elements.push(element);
    }
    Some(Layout {
        meta,
        implicit,
        little,
        elements,
    })
}

/// (implicit VR, little endian) of a transfer syntax UID value, as pydicom reads it.
fn encoding(value: &[u8]) -> Option<(bool, bool)> {
    let end = value
        .iter()
        .rposition(|b| *b != 0 && *b != b' ')
        .map_or(0, |i| i + 1);
    let uid = &value[..end];
    if uid.is_empty() || !uid.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return None;
    }
    match uid {
        b"1.2.840.10008.1.2" => Some((true, true)),
        b"1.2.840.10008.1.2.2" => Some((false, false)),
        // Deflated: pydicom inflates the data set first.
        b"1.2.840.10008.1.2.1.99" => None,
        // Explicit VR little endian and every encapsulated syntax.
        _ => Some((false, true)),
    }
}

fn tag(tag: u32) -> Tag {
    // Truncation intended: the two halves of the tag.
    Tag((tag >> 16) as u16, (tag & 0xFFFF) as u16)
}

/// A cursor over the file in one encoding.
struct Reader<'a, D: ?Sized> {
    data: &'a D,
    pos: usize,
    implicit: bool,
    little: bool,
}

impl<D: Data + ?Sized> Reader<'_, D> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let bytes = self.data.array(at)?;
        Some(if self.little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let bytes = self.data.array(at)?;
        Some(if self.little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    }

    fn tag_at(&self, at: usize) -> Option<u32> {
        Some((u32::from(self.u16_at(at)?) << 16) | u32::from(self.u16_at(at + 2)?))
    }

    /// pydicom's test for an explicit VR: two bytes in `A..=Z` after the next tag.
    fn next_looks_explicit(&self) -> bool {
        self.data
            .array::<2>(self.pos + 4)
            .is_some_and(|vr| vr.iter().all(u8::is_ascii_uppercase))
    }

    /// Reads the next element's header and skips its value if the length is defined; an
    /// undefined length leaves the cursor at the value's start.
    fn element(&mut self) -> Option<Element> {
        let tag = self.tag_at(self.pos)?;
        let (vr, length, header) = if self.implicit {
            (None, self.u32_at(self.pos + 4)?, 8)
        } else {
            let vr: [u8; 2] = self.data.array(self.pos + 4)?;
            if !KNOWN_VRS.contains(&&vr) {
                return None;
            }
            if LONG_VRS.contains(&&vr) {
                (Some(vr), self.u32_at(self.pos + 8)?, 12)
            } else {
                (Some(vr), u32::from(self.u16_at(self.pos + 6)?), 8)
            }
        };
        let start = self.pos + header;
        let end = if length == UNDEFINED {
            start
        } else {
            start.checked_add(usize::try_from(length).ok()?)?
        };
        if end > self.data.len() {
            return None;
        }
        self.pos = end;
        Some(Element {
            tag,
            vr,
            length,
            value: start..end,
        })
    }

    /// Skips the items of an undefined-length value (sequence items or encapsulated
    /// fragments) up to and including its sequence delimitation item; returns where that
    /// delimiter starts.
    fn items(&mut self) -> Option<usize> {
        loop {
            let at = self.pos;
            let tag = self.tag_at(at)?;
            let length = self.u32_at(at + 4)?;
            self.pos = at + 8;
            match tag {
                SEQUENCE_DELIMITATION => return Some(at),
                ITEM if length == UNDEFINED => self.item_elements()?,
                ITEM => {
                    let end = self.pos.checked_add(usize::try_from(length).ok()?)?;
                    if end > self.data.len() {
                        return None;
                    }
                    self.pos = end;
                }
                _ => return None,
            }
        }
    }

    /// Skips the elements of an undefined-length item up to and including its item
    /// delimitation item. Like pydicom, an item of an explicit VR data set may be implicit.
    fn item_elements(&mut self) -> Option<()> {
        let outer = self.implicit;
        self.implicit = outer || !self.next_looks_explicit();
        let result = loop {
            if self.tag_at(self.pos)? == ITEM_DELIMITATION {
                self.pos += 8;
                break Some(());
            }
            let Some(element) = self.element() else {
                break None;
            };
            if element.length == UNDEFINED && self.items().is_none() {
                break None;
            }
        };
        self.implicit = outer;
        result
    }
}
