//! Attributes of the standard data dictionary, named by keyword or tag.

use std::fmt;
use std::str::FromStr;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A standard DICOM attribute: its tag, its value representation and its keyword.
///
/// Parsed from a keyword (`PatientID`, case-sensitive as in the standard) or a tag
/// (`00100020`, `0010,0020`, `(0010,0020)`), looked up in the standard data dictionary.
/// Private and unknown attributes are rejected, because neither a VR nor a keyword is known
/// for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attribute {
    tag: Tag,
    vr: VR,
    keyword: &'static str,
}

impl Attribute {
    /// Looks up a keyword or a tag in the standard dictionary.
    pub fn parse(key: &str) -> Result<Self> {
        let key = key.trim();
        if let Some(tag) = parse_tag(key) {
            return Self::from_tag(tag).map_err(|_| {
                Error::invalid_query(key, "not an attribute of the standard data dictionary")
            });
        }
        let entry = StandardDataDictionary
            .by_name(key)
            .ok_or_else(|| Error::invalid_query(key, "unknown DICOM keyword"))?;
        Ok(Self {
            tag: entry.tag(),
            vr: entry.vr().relaxed(),
            keyword: entry.alias,
        })
    }

    /// Looks up a tag in the standard dictionary.
    pub fn from_tag(tag: Tag) -> Result<Self> {
        let entry = StandardDataDictionary.by_tag(tag).ok_or_else(|| {
            Error::invalid_query(
                tag.to_string(),
                "not an attribute of the standard data dictionary",
            )
        })?;
        Ok(Self {
            tag,
            vr: entry.vr().relaxed(),
            keyword: entry.alias,
        })
    }

    /// The attribute's tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The attribute's value representation from the dictionary.
    pub fn vr(&self) -> VR {
        self.vr
    }

    /// The attribute's keyword, e.g. `StudyInstanceUID`.
    pub fn keyword(&self) -> &'static str {
        self.keyword
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword)
    }
}

impl FromStr for Attribute {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Attribute {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.keyword)
    }
}

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        Self::parse(&key).map_err(serde::de::Error::custom)
    }
}

/// Parses `ggggeeee`, `gggg,eeee` and `(gggg,eeee)`; anything else is not a tag.
fn parse_tag(key: &str) -> Option<Tag> {
    let hex = |s: &str| {
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u16::from_str_radix(s, 16).ok())
            .flatten()
    };
    let inner = key
        .strip_prefix('(')
        .and_then(|k| k.strip_suffix(')'))
        .unwrap_or(key);
    let (group, element) = match inner.split_once(',') {
        Some(parts) => parts,
        None if inner.len() == 8 && inner.is_ascii() => inner.split_at(4),
        None => return None,
    };
    Some(Tag(hex(group)?, hex(element)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::tags;

    #[test]
    fn parses_keywords_with_their_dictionary_vr() {
        let a = Attribute::parse("PatientID").unwrap();
        assert_eq!(a.tag(), tags::PATIENT_ID);
        assert_eq!(a.vr(), VR::LO);
        assert_eq!(a.keyword(), "PatientID");
        assert_eq!(Attribute::parse("ModalitiesInStudy").unwrap().vr(), VR::CS);
        assert_eq!(Attribute::parse("StudyDate").unwrap().vr(), VR::DA);
    }

    #[test]
    fn parses_tags_in_every_usual_spelling() {
        for key in ["00100020", "0010,0020", "(0010,0020)", "(0010,0020) "] {
            let a = Attribute::parse(key).unwrap();
            assert_eq!(a.keyword(), "PatientID", "{key}");
        }
    }

    #[test]
    fn rejects_unknown_keywords_and_private_tags_naming_them() {
        let err = Attribute::parse("PatientNam").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery { key, .. } if key == "PatientNam"),
            "{err}"
        );
        assert!(Attribute::parse("patientid").is_err());
        assert!(Attribute::parse("(0009,1001)").is_err());
        assert!(Attribute::parse("").is_err());
        assert!(Attribute::parse("0010002G").is_err());
    }

    #[test]
    fn round_trips_through_serde_as_keyword() {
        let a = Attribute::parse("SeriesNumber").unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"SeriesNumber\"");
        assert_eq!(serde_json::from_str::<Attribute>(&json).unwrap(), a);
        assert!(serde_json::from_str::<Attribute>("\"Nope\"").is_err());
    }
}
