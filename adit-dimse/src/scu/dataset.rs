//! Encoding identifiers and decoding responses in a presentation context's transfer syntax.

use dicom_dictionary_std::tags;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_object::InMemDicomObject;

use crate::association::transfer_syntax;
use crate::error::{Error, Result};

/// Encodes a data set (an identifier) in the transfer syntax `ts_uid`, with the character set
/// its Specific Character Set names (dicom-rs would otherwise write the default repertoire).
pub fn encode(object: &InMemDicomObject, ts_uid: &str) -> Result<Vec<u8>> {
    let ts = transfer_syntax(ts_uid)?;
    let charset = object
        .get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.to_str().ok())
        .and_then(|code| SpecificCharacterSet::from_code(code.trim()))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(512);
    object
        .write_dataset_with_ts_cs(&mut out, ts, charset)
        .map_err(|e| Error::dicom("identifier", e))?;
    Ok(out)
}

/// Decodes a data set received in the transfer syntax `ts_uid`; text is decoded with the
/// Specific Character Set it carries.
pub fn decode(bytes: &[u8], ts_uid: &str, what: &str) -> Result<InMemDicomObject> {
    let ts = transfer_syntax(ts_uid)?;
    InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| Error::dicom(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::uids;

    #[test]
    fn latin1_identifiers_round_trip_in_both_little_endian_syntaxes() {
        let object = InMemDicomObject::from_element_iter([
            DataElement::new(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
            DataElement::new(tags::QUERY_RETRIEVE_LEVEL, VR::CS, "PATIENT"),
            DataElement::new(tags::PATIENT_NAME, VR::PN, "MÜLLER^ANNA"),
        ]);
        for ts in [
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ] {
            let bytes = encode(&object, ts).unwrap();
            // Latin-1: Ü is one byte 0xDC.
            assert!(bytes.windows(2).any(|w| w == [b'M', 0xDC]), "{ts}");
            let back = decode(&bytes, ts, "test").unwrap();
            let name = back.get(tags::PATIENT_NAME).unwrap().to_str().unwrap();
            assert_eq!(name, "MÜLLER^ANNA");
        }
        let truncated = [0x10, 0, 0x10, 0, b'P', b'N', 100, 0, b'X'];
        assert!(decode(&truncated, uids::EXPLICIT_VR_LITTLE_ENDIAN, "junk").is_err());
    }
}
