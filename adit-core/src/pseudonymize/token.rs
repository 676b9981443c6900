//! The token-level pass: pseudonymizes the head of an Explicit VR Little Endian data set
//! (the elements before Pixel Data) straight from its bytes into the output bytes, element by
//! element, without building an in-memory object.
//!
//! It writes exactly what the object path writes (the head decoded into an
//! `InMemDicomObject`, [`super::apply`] and the marks applied, then encoded by dicom-rs): the
//! same rules and dummies, every sequence and item re-encoded with undefined length, group
//! lengths dropped, odd text values padded as dicom-rs pads them. Kept values are copied as
//! they are, which is what decoding and re-encoding does to them.
//!
//! Whatever it would not reproduce exactly makes it give up (`None`), and the caller takes the
//! object path: text that is not plain ASCII (a character set might need transcoding), tags
//! out of order, kept undefined-length values that are not sequences, odd-length or ragged
//! binary values, unknown VRs, a De-identification Method already present (its values are
//! merged with ours), a pseudonym or trial text that is not ASCII, an attribute dicom-rs
//! would re-type as SS because the pixel data is signed, nesting deeper than
//! [`MAX_DEPTH`], values too long for their header, and anything malformed.

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;

use super::clean::{self, Identifiers};
use super::config::{DateHandling, Profile};
use super::dates::{shift_date, shift_datetime};
use super::rules::Rule;
use super::split::{element_end_at, long_header};
use super::{Pseudonymizer, apply, marks};

/// What the token pass produced.
pub(super) struct TokenOutput {
    /// The pseudonymized head, encoded.
    pub bytes: Vec<u8>,
    /// The pseudonymized values folder names are made of (Patient ID, study date and time,
    /// modality, series number, UID and description), as a small object.
    pub header: InMemDicomObject,
    /// SOP Class UID of the result, if it has one.
    pub sop_class: Option<String>,
    /// SOP Instance UID of the result, if it has one.
    pub sop_instance: Option<String>,
}

/// Pseudonymizes `head`, the Explicit VR Little Endian elements before Pixel Data (all of
/// them, whole). `None` when the object path must do it (see the module documentation).
pub(super) fn rewrite(p: &Pseudonymizer, head: &[u8]) -> Option<TokenOutput> {
    let found = Prescan::run(head)?;
    let patient_id = found.patient_id.map(trimmed).unwrap_or_default();
    let pseudonym = p.pseudonym_for(patient_id);
    let study_date = found.study_date.map(trimmed).unwrap_or_default();
    let study_time = found.study_time.map(trimmed).unwrap_or_default();
    let puts = puts(p, &pseudonym, study_date, study_time)?;
    let identifiers = Identifiers::from_values(found.identifying.iter().map(|v| v.as_str()));
    let mut pass = Pass {
        p,
        shift_days: p.keyed.date_shift_days(patient_id),
        identifiers: &identifiers,
        signed: false,
        out: Vec::with_capacity(head.len() + 1024),
    };
    pass.data_set(head, 0, Some(&puts))?;
    let bytes = pass.out;
    let (header, sop_class, sop_instance) = summary(&bytes)?;
    Some(TokenOutput {
        bytes,
        header,
        sop_class,
        sop_instance,
    })
}

/// Deeper nesting than this is left to the object path (which empties sequences below its
/// own, deeper, limit).
const MAX_DEPTH: usize = 16;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: u32 = 0xFFFE_E000;
const ITEM_END: u32 = 0xFFFE_E00D;
const SEQUENCE_END: u32 = 0xFFFE_E0DD;
/// Pixel Representation: a non-zero value makes dicom-rs read `US or SS` attributes as SS.
const PIXEL_REPRESENTATION: u32 = 0x0028_0103;

/// The top-level values the pass needs before it starts writing.
#[derive(Default)]
struct Prescan<'a> {
    patient_id: Option<&'a [u8]>,
    study_date: Option<&'a [u8]>,
    study_time: Option<&'a [u8]>,
    /// Values of the attributes text cleaning looks for, trimmed, empty ones left out.
    identifying: Vec<String>,
}

impl<'a> Prescan<'a> {
    fn run(head: &'a [u8]) -> Option<Self> {
        let mut found = Self::default();
        // Past the last identifying attribute (and the tags below) there is nothing to find.
        let last = clean::last_identifying();
        let last = ((u32::from(last.group()) << 16) | u32::from(last.element())).max(0x0012_0064);
        let mut pos = 0;
        while pos < head.len() {
            let (tag, end) = element_end_at(head, pos)?;
            if tag > last {
                break;
            }
            let wanted = match tag {
                0x0010_0020 => Some(&mut found.patient_id),
                0x0008_0020 => Some(&mut found.study_date),
                0x0008_0030 => Some(&mut found.study_time),
                // An earlier De-identification Method is merged with ours: object path.
                0x0012_0063 | 0x0012_0064 => return None,
                _ => None,
            };
            let identifying = clean::is_identifying(u32_tag(tag));
            if wanted.is_some() || identifying {
                let element = Element::parse(head, pos)?;
                if !element.is_text() || !plain(element.value) {
                    return None;
                }
                if let Some(slot) = wanted {
                    *slot = Some(element.value);
                }
                if identifying {
                    found.identifying.extend(
                        values(element.vr, element.value)
                            .map(|v| trimmed(v.as_bytes()))
                            .filter(|v| !v.is_empty())
                            .map(str::to_owned),
                    );
                }
            }
            pos = end;
        }
        Some(found)
    }
}

/// One element's header and value.
struct Element<'a> {
    tag: u32,
    vr: [u8; 2],
    /// The value (empty for undefined length).
    value: &'a [u8],
    /// Start of the value.
    start: usize,
    /// Position just after the element.
    end: usize,
    undefined: bool,
}

impl<'a> Element<'a> {
    fn parse(bytes: &'a [u8], pos: usize) -> Option<Self> {
        let (tag, end) = element_end_at(bytes, pos)?;
        if tag >> 16 == 0xFFFE {
            return None;
        }
        let vr: [u8; 2] = bytes.get(pos + 4..pos + 6)?.try_into().ok()?;
        // A VR dicom-rs does not know: object path.
        VR::from_binary(vr)?;
        let (start, len) = if long_header(&vr) {
            (pos + 12, u32_at(bytes, pos + 8)?)
        } else {
            (pos + 8, u32::from(u16_at(bytes, pos + 6)?))
        };
        let undefined = len == UNDEFINED;
        let value = if undefined {
            &[][..]
        } else {
            bytes.get(start..end)?
        };
        Some(Self {
            tag,
            vr,
            value,
            start,
            end,
            undefined,
        })
    }

    /// Whether dicom-rs reads the value as text.
    fn is_text(&self) -> bool {
        is_text_vr(self.vr)
    }
}

/// The writing pass over one instance.
struct Pass<'a> {
    p: &'a Pseudonymizer,
    shift_days: i64,
    identifiers: &'a Identifiers,
    /// Pixel Representation was non-zero (dicom-rs's decoder state, in stream order).
    signed: bool,
    out: Vec<u8>,
}

impl Pass<'_> {
    /// The elements of `bytes` (a whole data set or item), with the rules applied; `puts`
    /// (top level only) are written in tag order, replacing elements of the same tag.
    fn data_set(&mut self, bytes: &[u8], depth: usize, puts: Option<&[Put]>) -> Option<()> {
        let puts = puts.unwrap_or_default();
        let mut next_put = 0;
        let mut last: Option<u32> = None;
        let mut pos = 0;
        while pos < bytes.len() {
            let element = Element::parse(bytes, pos)?;
            if last.is_some_and(|last| element.tag <= last) {
                return None;
            }
            last = Some(element.tag);
            pos = element.end;
            let mut replaced = false;
            while let Some(put) = puts.get(next_put).filter(|put| put.tag <= element.tag) {
                self.out.extend_from_slice(&put.bytes);
                next_put += 1;
                replaced |= put.tag == element.tag;
            }
            if replaced {
                // The element still counts for the decoder's state.
                self.track(&element)?;
                continue;
            }
            if element.tag & 0xFFFF == 0 {
                // Group lengths would be stale.
                self.track(&element)?;
                continue;
            }
            self.element(&element, bytes, depth)?;
        }
        for put in &puts[next_put..] {
            self.out.extend_from_slice(&put.bytes);
        }
        Some(())
    }

    /// Follows what dicom-rs's decoder would do with this element's header and value.
    fn track(&mut self, element: &Element<'_>) -> Option<()> {
        if self.signed
            && &element.vr != b"SS"
            && StandardDataDictionary
                .by_tag(u32_tag(element.tag))
                .is_some_and(|e| e.vr == VirtualVr::Xs)
        {
            // dicom-rs would re-type it as SS.
            return None;
        }
        if element.tag == PIXEL_REPRESENTATION
            && matches!(&element.vr, b"US" | b"OW")
            && let Some(first) = element.value.get(..2)
        {
            self.signed = first != [0, 0];
        }
        Some(())
    }

    /// One element with its rule applied (`apply::Walk::element`). `scrub` cleans every
    /// text value too (inside sequences that are dummied or cleaned as a whole).
    fn element(&mut self, element: &Element<'_>, bytes: &[u8], depth: usize) -> Option<()> {
        self.element_scrubbed(element, bytes, false, depth)
    }

    fn element_scrubbed(
        &mut self,
        e: &Element<'_>,
        bytes: &[u8],
        scrub: bool,
        depth: usize,
    ) -> Option<()> {
        self.track(e)?;
        let rule = self.p.rules.for_tag(u32_tag(e.tag));
        if &e.vr == b"SQ" || e.undefined {
            if &e.vr != b"SQ" && rule != Rule::Remove {
                // An undefined-length UN (or worse) that stays: object path.
                return None;
            }
            return match rule {
                Rule::Remove => Some(()),
                Rule::Empty | Rule::DummyOrEmpty => {
                    self.empty_sequence(e.tag);
                    Some(())
                }
                Rule::Keep | Rule::MapUid | Rule::MapReferences => {
                    self.sequence(e, bytes, scrub, depth)
                }
                Rule::Dummy | Rule::Clean => self.sequence(e, bytes, true, depth),
            };
        }
        match rule {
            Rule::Remove => Some(()),
            Rule::Empty | Rule::MapReferences => self.header(e.tag, e.vr, 0),
            Rule::Dummy | Rule::DummyOrEmpty => self.dummy(e),
            Rule::MapUid => self.map_uid(e),
            Rule::Keep if scrub => self.scrub(e),
            Rule::Keep => self.keep(e),
            Rule::Clean => match &e.vr {
                b"DA" | b"DT" => self.shift(e),
                _ => self.scrub(e),
            },
        }
    }

    /// A sequence, item by item, re-encoded with undefined lengths.
    fn sequence(&mut self, e: &Element<'_>, bytes: &[u8], scrub: bool, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.header(e.tag, *b"SQ", UNDEFINED)?;
        let mut pos = e.start;
        loop {
            if !e.undefined && pos == e.end {
                break;
            }
            let tag = tag_at(bytes, pos)?;
            if e.undefined && tag == SEQUENCE_END {
                break;
            }
            if tag != ITEM {
                return None;
            }
            let len = u32_at(bytes, pos + 4)?;
            let start = pos + 8;
            let (content_end, next) = if len == UNDEFINED {
                let mut at = start;
                while tag_at(bytes, at)? != ITEM_END {
                    at = element_end_at(bytes, at)?.1;
                }
                (at, at + 8)
            } else {
                let end = start.checked_add(usize::try_from(len).ok()?)?;
                (end, end)
            };
            let content = bytes.get(start..content_end)?;
            self.out
                .extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
            self.items(content, scrub, depth + 1)?;
            self.out
                .extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0x00, 0x00, 0x00, 0x00]);
            pos = next;
            if !e.undefined && pos > e.end {
                return None;
            }
        }
        self.out
            .extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00]);
        Some(())
    }

    /// The elements of one item (`apply::Walk::items`).
    fn items(&mut self, bytes: &[u8], scrub: bool, depth: usize) -> Option<()> {
        let mut last: Option<u32> = None;
        let mut pos = 0;
        while pos < bytes.len() {
            let element = Element::parse(bytes, pos)?;
            if last.is_some_and(|last| element.tag <= last) {
                return None;
            }
            last = Some(element.tag);
            pos = element.end;
            if element.tag & 0xFFFF == 0 {
                self.track(&element)?;
                continue;
            }
            self.element_scrubbed(&element, bytes, scrub, depth)?;
        }
        Some(())
    }

    fn empty_sequence(&mut self, tag: u32) {
        // Cannot fail: SQ has a 4-byte length.
        let _ = self.header(tag, *b"SQ", UNDEFINED);
        self.out
            .extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00]);
    }

    /// The value as it is: what decoding and re-encoding it gives.
    fn keep(&mut self, e: &Element<'_>) -> Option<()> {
        if e.is_text() {
            if !plain(e.value) {
                return None;
            }
            return self.text(e.tag, e.vr, [e.value]);
        }
        let unit = match &e.vr {
            b"OB" | b"UN" => 2,
            b"US" | b"SS" | b"OW" => 2,
            b"UL" | b"SL" | b"FL" | b"OL" | b"OF" | b"AT" => 4,
            b"FD" | b"OD" | b"SV" | b"UV" | b"OV" => 8,
            _ => return None,
        };
        if !e.value.len().is_multiple_of(unit) {
            return None;
        }
        self.header(e.tag, e.vr, u32::try_from(e.value.len()).ok()?)?;
        self.out.extend_from_slice(e.value);
        Some(())
    }

    /// `apply::Walk::dummy`.
    fn dummy(&mut self, e: &Element<'_>) -> Option<()> {
        let text = match &e.vr {
            b"AE" | b"CS" | b"LO" | b"LT" | b"PN" | b"SH" | b"ST" | b"UC" | b"UT" => {
                apply::DUMMY_TEXT
            }
            b"DA" => apply::DUMMY_DATE,
            b"TM" => apply::DUMMY_TIME,
            b"DT" => apply::DUMMY_DATETIME,
            b"AS" => "000D",
            b"DS" | b"IS" => "0",
            b"UI" => return self.map_uid(e),
            b"US" | b"SS" => return self.binary_zero(e, 2),
            b"UL" | b"SL" | b"FL" => return self.binary_zero(e, 4),
            b"FD" => return self.binary_zero(e, 8),
            _ => return self.header(e.tag, e.vr, 0),
        };
        self.text(e.tag, e.vr, [text.as_bytes()])
    }

    fn binary_zero(&mut self, e: &Element<'_>, len: u8) -> Option<()> {
        self.header(e.tag, e.vr, u32::from(len))?;
        self.out.extend(std::iter::repeat_n(0, usize::from(len)));
        Some(())
    }

    /// `apply::Walk::map_uid`.
    fn map_uid(&mut self, e: &Element<'_>) -> Option<()> {
        if !e.is_text() {
            return self.header(e.tag, e.vr, 0);
        }
        if !plain(e.value) {
            return None;
        }
        let mapped: Vec<String> = values(e.vr, e.value)
            .map(|v| v.trim_matches(|c: char| c == '\0' || c == ' '))
            .filter(|v| !v.is_empty())
            .map(|v| self.p.keyed.uid(v))
            .collect();
        if mapped.is_empty() {
            return self.header(e.tag, e.vr, 0);
        }
        self.text(e.tag, e.vr, mapped.iter().map(String::as_bytes))
    }

    /// `apply::Walk::shift`.
    fn shift(&mut self, e: &Element<'_>) -> Option<()> {
        if !e.is_text() {
            return self.header(e.tag, e.vr, 0);
        }
        if !plain(e.value) {
            return None;
        }
        let datetime = &e.vr == b"DT";
        let shifted: Vec<String> = values(e.vr, e.value)
            .filter(|v| !v.trim().is_empty())
            .filter_map(|v| {
                if datetime {
                    shift_datetime(v, self.shift_days)
                } else {
                    shift_date(v, self.shift_days)
                }
            })
            .collect();
        if shifted.is_empty() {
            return self.header(e.tag, e.vr, 0);
        }
        self.text(e.tag, e.vr, shifted.iter().map(String::as_bytes))
    }

    /// `apply::Walk::scrub`.
    fn scrub(&mut self, e: &Element<'_>) -> Option<()> {
        let cleanable = matches!(&e.vr, b"LO" | b"LT" | b"PN" | b"SH" | b"ST" | b"UC" | b"UT");
        if !cleanable || self.identifiers.is_empty() {
            return self.keep(e);
        }
        if !plain(e.value) {
            return None;
        }
        let cleaned: Vec<Option<String>> = values(e.vr, e.value)
            .map(|v| self.identifiers.scrub(v))
            .collect();
        if cleaned.iter().all(Option::is_none) {
            return self.keep(e);
        }
        let parts: Vec<&[u8]> = values(e.vr, e.value)
            .zip(&cleaned)
            .map(|(v, c)| c.as_deref().unwrap_or(v).as_bytes())
            .collect();
        self.text(e.tag, e.vr, parts)
    }

    /// A text element: `parts` joined with `\`, padded to even length as dicom-rs pads.
    fn text<'b>(
        &mut self,
        tag: u32,
        vr: [u8; 2],
        parts: impl IntoIterator<Item = &'b [u8]>,
    ) -> Option<()> {
        let header_at = self.out.len();
        self.header(tag, vr, 0)?;
        let start = self.out.len();
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                self.out.push(b'\\');
            }
            self.out.extend_from_slice(part);
        }
        if (self.out.len() - start) % 2 == 1 {
            self.out.push(if &vr == b"UI" { 0 } else { b' ' });
        }
        let len = self.out.len() - start;
        if long_header(&vr) {
            let len = u32::try_from(len).ok()?;
            self.out[header_at + 8..header_at + 12].copy_from_slice(&len.to_le_bytes());
        } else {
            let len = u16::try_from(len).ok()?;
            self.out[header_at + 6..header_at + 8].copy_from_slice(&len.to_le_bytes());
        }
        Some(())
    }

    /// An element header; `None` if the length does not fit the VR's length field.
    fn header(&mut self, tag: u32, vr: [u8; 2], len: u32) -> Option<()> {
        write_header(&mut self.out, tag, vr, len)
    }
}

/// An element the pass writes at the top level (pseudonym, trial, marks), encoded.
struct Put {
    tag: u32,
    bytes: Vec<u8>,
}

/// What `Pseudonymizer::pseudonymize_data_set` puts after the walk, in tag order. `None` if
/// any of it is not ASCII (the object path then converts the data set to UTF-8).
fn puts(
    p: &Pseudonymizer,
    pseudonym: &str,
    study_date: &str,
    study_time: &str,
) -> Option<Vec<Put>> {
    let config = &p.config;
    let mut texts: Vec<(u32, [u8; 2], String)> = vec![
        (0x0010_0010, *b"PN", pseudonym.to_owned()),
        (0x0010_0020, *b"LO", pseudonym.to_owned()),
    ];
    if let (Profile::Adit, Some(trial_id)) = (config.profile, &config.trial_id) {
        texts.push((
            0x0010_4000,
            *b"LT",
            format!(
                "Project:{trial_id} Subject:{pseudonym} Session:{pseudonym}_{study_date}-{study_time}"
            ),
        ));
    }
    if let Some(id) = &config.trial_id {
        texts.push((0x0012_0020, *b"LO", id.clone()));
    }
    if let Some(name) = &config.trial_name {
        texts.push((0x0012_0021, *b"LO", name.clone()));
    }
    texts.push((0x0012_0062, *b"CS", "YES".to_owned()));
    texts.push((
        0x0012_0063,
        *b"LO",
        marks::method_text(config.profile, &config.options),
    ));
    let temporal = match (config.options.dates, config.profile) {
        (DateHandling::Keep, _) => "UNMODIFIED",
        (DateHandling::Shift, _) | (DateHandling::Remove, Profile::Adit) => "MODIFIED",
        (DateHandling::Remove, Profile::Basic) => "REMOVED",
    };
    texts.push((0x0028_0303, *b"CS", temporal.to_owned()));
    if !texts
        .iter()
        .all(|(_, _, t)| plain(t.as_bytes()) && t.is_ascii())
    {
        return None;
    }
    let mut puts = Vec::with_capacity(texts.len() + 1);
    for (tag, vr, text) in &texts {
        let mut bytes = Vec::with_capacity(text.len() + 12);
        write_text(&mut bytes, *tag, *vr, text.as_bytes())?;
        puts.push(Put { tag: *tag, bytes });
    }
    let mut codes = Vec::with_capacity(512);
    write_header(&mut codes, 0x0012_0064, *b"SQ", UNDEFINED)?;
    for code in marks::method_codes(config.profile, &config.options) {
        codes.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        write_text(&mut codes, 0x0008_0100, *b"SH", code.value.as_bytes())?;
        write_text(&mut codes, 0x0008_0102, *b"SH", b"DCM")?;
        write_text(&mut codes, 0x0008_0104, *b"LO", code.meaning.as_bytes())?;
        codes.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0x00, 0x00, 0x00, 0x00]);
    }
    codes.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00]);
    puts.push(Put {
        tag: 0x0012_0064,
        bytes: codes,
    });
    puts.sort_by_key(|put| put.tag);
    Some(puts)
}

/// The folder-name values and the SOP Class and Instance UIDs of the written head.
fn summary(bytes: &[u8]) -> Option<(InMemDicomObject, Option<String>, Option<String>)> {
    const FOLDER: [Tag; 7] = [
        tags::PATIENT_ID,
        tags::STUDY_DATE,
        tags::STUDY_TIME,
        tags::MODALITY,
        tags::SERIES_NUMBER,
        tags::SERIES_INSTANCE_UID,
        tags::SERIES_DESCRIPTION,
    ];
    let mut header = InMemDicomObject::new_empty();
    let (mut sop_class, mut sop_instance) = (None, None);
    let mut pos = 0;
    while pos < bytes.len() {
        let e = Element::parse(bytes, pos)?;
        pos = e.end;
        let tag = u32_tag(e.tag);
        let interesting =
            FOLDER.contains(&tag) || tag == tags::SOP_CLASS_UID || tag == tags::SOP_INSTANCE_UID;
        if !interesting || !e.is_text() {
            continue;
        }
        // The pass only writes plain ASCII text.
        let value = std::str::from_utf8(e.value).ok()?;
        let uid = || {
            Some(trimmed(e.value))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if tag == tags::SOP_CLASS_UID {
            sop_class = uid();
        } else if tag == tags::SOP_INSTANCE_UID {
            sop_instance = uid();
        } else {
            let vr = VR::from_binary(e.vr)?;
            header.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        }
    }
    Some((header, sop_class, sop_instance))
}

/// The values of a text element as dicom-rs splits them: LT, ST, UT and UR hold one value,
/// the others are split at `\`; an empty value has none. The bytes are plain ASCII.
fn values<'a>(vr: [u8; 2], value: &'a [u8]) -> impl Iterator<Item = &'a str> {
    let text = std::str::from_utf8(value).unwrap_or_default();
    let single = matches!(&vr, b"LT" | b"ST" | b"UT" | b"UR");
    let parts: Box<dyn Iterator<Item = &'a str>> = if text.is_empty() {
        Box::new(std::iter::empty())
    } else if single {
        Box::new(std::iter::once(text))
    } else {
        Box::new(text.split('\\'))
    };
    parts
}

/// A value without padding or surrounding white space, as `element_string` trims it.
fn trimmed(value: &[u8]) -> &str {
    std::str::from_utf8(value)
        .unwrap_or_default()
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
}

/// Whether every byte is printable ASCII, a text control character or NUL padding: text any
/// character set decodes and encodes unchanged.
fn plain(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| (0x20..0x7F).contains(&b) || matches!(b, 0 | b'\t' | b'\n' | b'\r' | 0x0C))
}

/// Whether dicom-rs reads values of this VR as text.
fn is_text_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"AE"
            | b"AS"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"ST"
            | b"TM"
            | b"UC"
            | b"UI"
            | b"UR"
            | b"UT"
    )
}

fn write_header(out: &mut Vec<u8>, tag: u32, vr: [u8; 2], len: u32) -> Option<()> {
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(&vr);
    if long_header(&vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        out.extend_from_slice(&u16::try_from(len).ok()?.to_le_bytes());
    }
    Some(())
}

/// A short text element padded with a space (the puts are never UIDs).
fn write_text(out: &mut Vec<u8>, tag: u32, vr: [u8; 2], text: &[u8]) -> Option<()> {
    let padded = text.len() + text.len() % 2;
    write_header(out, tag, vr, u32::try_from(padded).ok()?)?;
    out.extend_from_slice(text);
    if text.len() % 2 == 1 {
        out.push(b' ');
    }
    Some(())
}

fn u32_tag(tag: u32) -> Tag {
    Tag((tag >> 16) as u16, tag as u16)
}

fn u16_at(bytes: &[u8], pos: usize) -> Option<u16> {
    let b = bytes.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn tag_at(bytes: &[u8], pos: usize) -> Option<u32> {
    Some((u32::from(u16_at(bytes, pos)?) << 16) | u32::from(u16_at(bytes, pos.checked_add(2)?)?))
}
