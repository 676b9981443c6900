//! [`CommandSet`]: the raw group-0000 elements of a DIMSE command, encoded in Implicit VR Little
//! Endian (PS3.7 section 6.3.1). A small hand-written codec: command sets have a fixed, tiny
//! vocabulary, and a parser of our own can promise never to panic on a peer's bytes.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Element numbers (group 0000) of the command fields we read or write.
pub mod field {
    /// (0000,0000) CommandGroupLength, UL.
    pub const GROUP_LENGTH: u16 = 0x0000;
    /// (0000,0002) AffectedSOPClassUID, UI.
    pub const AFFECTED_SOP_CLASS_UID: u16 = 0x0002;
    /// (0000,0100) CommandField, US.
    pub const COMMAND_FIELD: u16 = 0x0100;
    /// (0000,0110) MessageID, US.
    pub const MESSAGE_ID: u16 = 0x0110;
    /// (0000,0120) MessageIDBeingRespondedTo, US.
    pub const MESSAGE_ID_BEING_RESPONDED_TO: u16 = 0x0120;
    /// (0000,0600) MoveDestination, AE.
    pub const MOVE_DESTINATION: u16 = 0x0600;
    /// (0000,0700) Priority, US.
    pub const PRIORITY: u16 = 0x0700;
    /// (0000,0800) CommandDataSetType, US.
    pub const COMMAND_DATA_SET_TYPE: u16 = 0x0800;
    /// (0000,0900) Status, US.
    pub const STATUS: u16 = 0x0900;
    /// (0000,0901) OffendingElement, AT.
    pub const OFFENDING_ELEMENT: u16 = 0x0901;
    /// (0000,0902) ErrorComment, LO.
    pub const ERROR_COMMENT: u16 = 0x0902;
    /// (0000,0903) ErrorID, US.
    pub const ERROR_ID: u16 = 0x0903;
    /// (0000,1000) AffectedSOPInstanceUID, UI.
    pub const AFFECTED_SOP_INSTANCE_UID: u16 = 0x1000;
    /// (0000,1020) NumberOfRemainingSuboperations, US.
    pub const REMAINING: u16 = 0x1020;
    /// (0000,1021) NumberOfCompletedSuboperations, US.
    pub const COMPLETED: u16 = 0x1021;
    /// (0000,1022) NumberOfFailedSuboperations, US.
    pub const FAILED: u16 = 0x1022;
    /// (0000,1023) NumberOfWarningSuboperations, US.
    pub const WARNING: u16 = 0x1023;
    /// (0000,1030) MoveOriginatorApplicationEntityTitle, AE.
    pub const MOVE_ORIGINATOR_AE: u16 = 0x1030;
    /// (0000,1031) MoveOriginatorMessageID, US.
    pub const MOVE_ORIGINATOR_MESSAGE_ID: u16 = 0x1031;
}

/// CommandDataSetType value meaning "no data set follows".
pub const NO_DATA_SET: u16 = 0x0101;
/// CommandDataSetType value we write when a data set follows (any other value means the same).
pub const DATA_SET_PRESENT: u16 = 0x0001;

/// A command set larger than this is refused: real ones are a few hundred bytes.
pub const MAX_COMMAND_SET_LEN: usize = 64 * 1024;

/// The elements of one command set, keyed by element number (group 0000), values as encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandSet {
    elements: BTreeMap<u16, Vec<u8>>,
}

impl CommandSet {
    /// An empty command set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes Implicit VR Little Endian bytes. Group lengths are checked loosely (some
    /// peers get them wrong); anything outside group 0000, undefined lengths and values
    /// running past the end are errors.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_COMMAND_SET_LEN {
            return Err(Error::malformed(format!(
                "command set of {} bytes is larger than {MAX_COMMAND_SET_LEN}",
                bytes.len()
            )));
        }
        let mut elements = BTreeMap::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let Some((header, tail)) = rest.split_first_chunk::<8>() else {
                return Err(Error::malformed(format!(
                    "{} trailing bytes in the command set",
                    rest.len()
                )));
            };
            let group = u16::from_le_bytes([header[0], header[1]]);
            let element = u16::from_le_bytes([header[2], header[3]]);
            let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if group != 0x0000 {
                return Err(Error::malformed(format!(
                    "element ({group:04X},{element:04X}) outside the command group"
                )));
            }
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > tail.len() {
                return Err(Error::malformed(format!(
                    "element (0000,{element:04X}) of length {len} runs past the end"
                )));
            }
            let (value, after) = tail.split_at(len);
            elements.insert(element, value.to_vec());
            rest = after;
        }
        Ok(Self { elements })
    }

    /// Encodes in Implicit VR Little Endian, CommandGroupLength first, elements ascending.
    pub fn encode(&self) -> Vec<u8> {
        let body_len: usize = self
            .elements
            .iter()
            .filter(|(e, _)| **e != field::GROUP_LENGTH)
            .map(|(_, v)| 8 + v.len())
            .sum();
        let mut out = Vec::with_capacity(12 + body_len);
        let group_len = u32::try_from(body_len).unwrap_or(u32::MAX);
        put_header(&mut out, field::GROUP_LENGTH, 4);
        out.extend_from_slice(&group_len.to_le_bytes());
        for (element, value) in &self.elements {
            if *element == field::GROUP_LENGTH {
                continue;
            }
            put_header(&mut out, *element, value.len());
            out.extend_from_slice(value);
        }
        out
    }

    /// Whether the element is present.
    pub fn contains(&self, element: u16) -> bool {
        self.elements.contains_key(&element)
    }

    /// A raw value.
    pub fn raw(&self, element: u16) -> Option<&[u8]> {
        self.elements.get(&element).map(Vec::as_slice)
    }

    /// Sets a US value.
    pub fn set_u16(&mut self, element: u16, value: u16) {
        self.elements.insert(element, value.to_le_bytes().to_vec());
    }

    /// Reads a US value; `None` when absent, an error when not two bytes.
    pub fn u16(&self, element: u16) -> Result<Option<u16>> {
        match self.raw(element) {
            None => Ok(None),
            Some([a, b]) => Ok(Some(u16::from_le_bytes([*a, *b]))),
            Some(other) => Err(Error::malformed(format!(
                "(0000,{element:04X}) should be US (2 bytes), has {} bytes",
                other.len()
            ))),
        }
    }

    /// Reads a required US value.
    pub fn required_u16(&self, element: u16) -> Result<u16> {
        self.u16(element)?
            .ok_or_else(|| Error::malformed(format!("(0000,{element:04X}) is missing")))
    }

    /// Sets a UI value, padded to even length with NUL.
    pub fn set_uid(&mut self, element: u16, uid: &str) {
        self.elements.insert(element, padded(uid, 0x00));
    }

    /// Sets a text value (AE, LO), padded to even length with a space.
    pub fn set_text(&mut self, element: u16, text: &str) {
        self.elements.insert(element, padded(text, b' '));
    }

    /// Sets a multi-valued UI/text value, joined with `\`.
    pub fn set_uid_list(&mut self, element: u16, uids: &[String]) {
        self.elements
            .insert(element, padded(&uids.join("\\"), 0x00));
    }

    /// Reads a string value with padding (NUL, space) trimmed; invalid UTF-8 is replaced.
    pub fn string(&self, element: u16) -> Option<String> {
        self.raw(element).map(|raw| {
            String::from_utf8_lossy(raw)
                .trim_end_matches(['\0', ' '])
                .trim_start()
                .to_owned()
        })
    }

    /// Reads a required string value.
    pub fn required_string(&self, element: u16) -> Result<String> {
        self.string(element)
            .ok_or_else(|| Error::malformed(format!("(0000,{element:04X}) is missing")))
    }
}

fn put_header(out: &mut Vec<u8>, element: u16, len: usize) {
    out.extend_from_slice(&0x0000_u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn padded(text: &str, pad: u8) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    if bytes.len() % 2 == 1 {
        bytes.push(pad);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_group_length_first_and_pads_values() {
        let mut set = CommandSet::new();
        set.set_u16(field::COMMAND_FIELD, 0x0030);
        set.set_uid(field::AFFECTED_SOP_CLASS_UID, "1.2.840.10008.1.1");
        let bytes = set.encode();
        // Group length element: (0000,0000) UL 4 = total of the rest.
        assert_eq!(&bytes[..8], &[0, 0, 0, 0, 4, 0, 0, 0]);
        let group_len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        assert_eq!(group_len as usize, bytes.len() - 12);
        // The odd-length UID (17 chars) is padded with NUL to 18.
        assert_eq!(&bytes[12..20], &[0, 0, 2, 0, 18, 0, 0, 0]);
        assert_eq!(bytes[20 + 17], 0);

        let back = CommandSet::decode(&bytes).unwrap();
        assert_eq!(back.u16(field::COMMAND_FIELD).unwrap(), Some(0x0030));
        assert_eq!(
            back.string(field::AFFECTED_SOP_CLASS_UID).as_deref(),
            Some("1.2.840.10008.1.1")
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        // Truncated header, value past the end, foreign group, wrong US size.
        assert!(CommandSet::decode(&[0, 0, 0]).is_err());
        assert!(CommandSet::decode(&[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2]).is_err());
        assert!(CommandSet::decode(&[8, 0, 0x18, 0, 0, 0, 0, 0]).is_err());
        let set = CommandSet::decode(&[0, 0, 0, 1, 3, 0, 0, 0, 1, 2, 3]).unwrap();
        assert!(set.u16(field::COMMAND_FIELD).is_err());
        assert!(CommandSet::decode(&vec![0; MAX_COMMAND_SET_LEN + 2]).is_err());
        // Empty is a valid (if useless) set.
        assert!(
            CommandSet::decode(&[])
                .unwrap()
                .raw(field::STATUS)
                .is_none()
        );
    }

    #[test]
    fn every_byte_prefix_of_a_valid_set_decodes_or_errs() {
        let mut set = CommandSet::new();
        set.set_u16(field::COMMAND_FIELD, 0x0020);
        set.set_text(field::MOVE_DESTINATION, "DEST");
        set.set_uid_list(field::AFFECTED_SOP_CLASS_UID, &["1.2".into(), "1.3".into()]);
        let bytes = set.encode();
        for end in 0..bytes.len() {
            let _ = CommandSet::decode(&bytes[..end]);
        }
        assert_eq!(
            CommandSet::decode(&bytes)
                .unwrap()
                .string(field::AFFECTED_SOP_CLASS_UID)
                .as_deref(),
            Some("1.2\\1.3")
        );
    }
}
