//! DICOM JSON (PS3.18 Annex F.2) to and from dicom-object data sets.
//!
//! - Keys are eight upper-case hex digits; every attribute carries its `vr`.
//! - PN values are objects with `Alphabetic`, `Ideographic` and `Phonetic` component groups.
//! - IS and DS are written as JSON numbers; strings are accepted on input, because servers
//!   differ. Values that are not valid numbers are passed on as strings rather than lost.
//! - Binary values (OB, OW, OF, OD, OL, OV, UN) are written inline (base64), as a
//!   `BulkDataURI`, or left out, as [`BinaryMode`] says; `BulkDataURI`s read are reported in
//!   [`Decoded::bulk_data`] and their attribute is kept with an empty value.
//! - An empty value is an attribute without `Value`; an empty item of a multi-valued string is
//!   `null`.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::{C, DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::InMemDicomObject;
use serde_json::{Map, Number, Value as Json};

use crate::error::{Error, Result};

/// How binary attributes are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BinaryMode {
    /// As `InlineBinary` (base64).
    #[default]
    Inline,
    /// Left out (WADO-RS metadata without bulk data).
    Omit,
    /// As `BulkDataURI`: the base URL (e.g. the instance's WADO-RS URL) followed by
    /// `/bulkdata/<tag path>`.
    BulkDataUri(String),
}

/// A `BulkDataURI` met while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkDataRef {
    /// Where in the data set, e.g. `7FE00010` or `00540016[0].00181078`.
    pub path: String,
    /// The attribute's tag.
    pub tag: Tag,
    /// The attribute's VR.
    pub vr: VR,
    /// The URI to fetch its value from.
    pub uri: String,
}

/// A decoded data set and the bulk data it refers to.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The data set; attributes given by `BulkDataURI` are present with an empty value.
    pub object: InMemDicomObject,
    /// The `BulkDataURI`s, in document order.
    pub bulk_data: Vec<BulkDataRef>,
}

/// Encodes a data set as a DICOM JSON object.
pub fn to_json(object: &InMemDicomObject, binary: &BinaryMode) -> Json {
    Json::Object(encode_object(object, binary, ""))
}

/// Encodes data sets as a DICOM JSON array (a QIDO-RS or metadata response).
pub fn to_json_array<'a>(
    objects: impl IntoIterator<Item = &'a InMemDicomObject>,
    binary: &BinaryMode,
) -> Json {
    Json::Array(objects.into_iter().map(|o| to_json(o, binary)).collect())
}

/// Decodes one DICOM JSON object.
pub fn from_json(value: &Json) -> Result<Decoded> {
    let mut bulk_data = Vec::new();
    let object = decode_object(value, "", &mut bulk_data)?;
    Ok(Decoded { object, bulk_data })
}

/// Decodes a DICOM JSON array (QIDO-RS results, WADO-RS metadata).
pub fn from_json_array(value: &Json) -> Result<Vec<Decoded>> {
    let items = value
        .as_array()
        .ok_or_else(|| Error::json("$", format!("expected an array, found {}", kind(value))))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut bulk_data = Vec::new();
            let object = decode_object(item, &format!("[{i}]"), &mut bulk_data)?;
            Ok(Decoded { object, bulk_data })
        })
        .collect()
}

/// Decodes a DICOM JSON array from bytes.
pub fn from_json_slice(bytes: &[u8]) -> Result<Vec<Decoded>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // Some servers answer an empty search with an empty body instead of `[]`.
        return Ok(Vec::new());
    }
    let value: Json =
        serde_json::from_slice(bytes).map_err(|e| Error::json("$", format!("not JSON: {e}")))?;
    from_json_array(&value)
}

// ---------------------------------------------------------------------------------------
// Encoding

fn encode_object(object: &InMemDicomObject, binary: &BinaryMode, path: &str) -> Map<String, Json> {
    let mut map = Map::new();
    for elem in object.iter() {
        let tag = elem.header().tag;
        // Group lengths are meaningless outside a binary encoding.
        if tag.element() == 0x0000 {
            continue;
        }
        let key = tag_key(tag);
        let elem_path = join_path(path, &key);
        let vr = elem.vr();
        let mut attr = Map::new();
        attr.insert("vr".into(), Json::String(vr.to_string().to_owned()));
        match elem.value() {
            Value::Sequence(seq) => {
                let items: Vec<Json> = seq
                    .items()
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Json::Object(encode_object(item, binary, &format!("{elem_path}[{i}]")))
                    })
                    .collect();
                if !items.is_empty() {
                    attr.insert("Value".into(), Json::Array(items));
                }
            }
            Value::PixelSequence(_) => {
                // Encapsulated fragments have no inline form here; only a URI can point at them.
                if let BinaryMode::BulkDataUri(base) = binary {
                    attr.insert(
                        "BulkDataURI".into(),
                        Json::String(format!("{base}/bulkdata/{elem_path}")),
                    );
                } else {
                    continue;
                }
            }
            Value::Primitive(p) => {
                if is_binary(vr) {
                    match binary {
                        BinaryMode::Omit => continue,
                        BinaryMode::Inline => {
                            if !is_empty_value(p) {
                                attr.insert(
                                    "InlineBinary".into(),
                                    Json::String(BASE64.encode(le_bytes(p))),
                                );
                            }
                        }
                        BinaryMode::BulkDataUri(base) => {
                            attr.insert(
                                "BulkDataURI".into(),
                                Json::String(format!("{base}/bulkdata/{elem_path}")),
                            );
                        }
                    }
                } else {
                    let values = encode_primitive(vr, p);
                    if !values.is_empty() && !values.iter().all(Json::is_null) {
                        attr.insert("Value".into(), Json::Array(values));
                    }
                }
            }
        }
        map.insert(key, Json::Object(attr));
    }
    map
}

fn is_empty_value(p: &PrimitiveValue) -> bool {
    matches!(p, PrimitiveValue::Empty) || p.to_bytes().is_empty()
}

fn encode_primitive(vr: VR, p: &PrimitiveValue) -> Vec<Json> {
    if is_empty_value(p) {
        return Vec::new();
    }
    match vr {
        VR::AT => match p {
            PrimitiveValue::Tags(tags) => tags.iter().map(|t| Json::String(tag_key(*t))).collect(),
            other => strings(vr, other).into_iter().map(Json::String).collect(),
        },
        VR::US | VR::UL | VR::UV => match p.to_multi_int::<u64>() {
            Ok(values) => values.into_iter().map(Json::from).collect(),
            Err(_) => string_values(vr, p),
        },
        VR::SS | VR::SL | VR::SV => match p.to_multi_int::<i64>() {
            Ok(values) => values.into_iter().map(Json::from).collect(),
            Err(_) => string_values(vr, p),
        },
        VR::FL | VR::FD => match p.to_multi_float64() {
            Ok(values) => values
                .into_iter()
                .map(|v| {
                    Number::from_f64(v).map_or_else(|| Json::String(v.to_string()), Json::Number)
                })
                .collect(),
            Err(_) => string_values(vr, p),
        },
        VR::IS => strings(vr, p)
            .into_iter()
            .map(|s| match s.parse::<i64>() {
                Ok(n) => Json::from(n),
                Err(_) if s.is_empty() => Json::Null,
                // Invalid IS: pass the text on rather than lose it.
                Err(_) => Json::String(s),
            })
            .collect(),
        VR::DS => strings(vr, p)
            .into_iter()
            .map(|s| match s.parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) => Json::Number(n),
                None if s.is_empty() => Json::Null,
                None => Json::String(s),
            })
            .collect(),
        VR::PN => strings(vr, p).into_iter().map(|s| encode_pn(&s)).collect(),
        _ => string_values(vr, p),
    }
}

fn string_values(vr: VR, p: &PrimitiveValue) -> Vec<Json> {
    strings(vr, p)
        .into_iter()
        .map(|s| {
            if s.is_empty() {
                Json::Null
            } else {
                Json::String(s)
            }
        })
        .collect()
}

/// The values of a string attribute, split at backslashes (except for the VRs that cannot
/// be multi-valued) and with their padding removed.
fn strings(vr: VR, p: &PrimitiveValue) -> Vec<String> {
    let single_valued = matches!(vr, VR::LT | VR::ST | VR::UT | VR::UR);
    let raw: Cow<'_, [String]> = p.to_multi_str();
    let mut out = Vec::with_capacity(raw.len());
    for value in raw.iter() {
        if single_valued {
            out.push(value.trim_end_matches([' ', '\0']).to_owned());
        } else {
            out.extend(
                value
                    .split('\\')
                    .map(|v| v.trim_matches([' ', '\0']).to_owned()),
            );
        }
    }
    out
}

fn encode_pn(value: &str) -> Json {
    let mut groups = Map::new();
    for (name, group) in ["Alphabetic", "Ideographic", "Phonetic"]
        .into_iter()
        .zip(value.split('='))
    {
        let group = group.trim_end_matches('^');
        if !group.is_empty() {
            groups.insert(name.into(), Json::String(group.to_owned()));
        }
    }
    if groups.is_empty() {
        Json::Null
    } else {
        Json::Object(groups)
    }
}

/// The bytes of a binary value in little endian, independent of the host.
fn le_bytes(p: &PrimitiveValue) -> Vec<u8> {
    fn flat<T, const N: usize>(values: &[T], f: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
        values.iter().flat_map(f).collect()
    }
    match p {
        PrimitiveValue::U16(v) => flat(v, |x| x.to_le_bytes()),
        PrimitiveValue::I16(v) => flat(v, |x| x.to_le_bytes()),
        PrimitiveValue::U32(v) => flat(v, |x| x.to_le_bytes()),
        PrimitiveValue::I32(v) => flat(v, |x| x.to_le_bytes()),
        PrimitiveValue::U64(v) => flat(v, |x| x.to_le_bytes()),
        PrimitiveValue::I64(v) => flat(v, |x| x.to_le_bytes()),
        PrimitiveValue::F32(v) => flat(v, |x| x.to_le_bytes()),
        PrimitiveValue::F64(v) => flat(v, |x| x.to_le_bytes()),
        other => other.to_bytes().into_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Decoding

fn decode_object(
    value: &Json,
    path: &str,
    bulk: &mut Vec<BulkDataRef>,
) -> Result<InMemDicomObject> {
    let map = value.as_object().ok_or_else(|| {
        Error::json(
            or_root(path),
            format!("expected a data set object, found {}", kind(value)),
        )
    })?;
    let mut object = InMemDicomObject::new_empty();
    for (key, attr) in map {
        let elem_path = join_path(path, key);
        let tag = parse_tag_key(key).ok_or_else(|| {
            Error::json(or_root(path), format!("`{key}` is not an 8-digit hex tag"))
        })?;
        let attr = attr.as_object().ok_or_else(|| {
            Error::json(
                &elem_path,
                format!("expected an attribute object, found {}", kind(attr)),
            )
        })?;
        let vr = match attr.get("vr") {
            Some(Json::String(vr)) => vr
                .parse::<VR>()
                .map_err(|_| Error::json(&elem_path, format!("unknown VR `{vr}`")))?,
            Some(other) => {
                return Err(Error::json(&elem_path, format!("`vr` is {}", kind(other))));
            }
            None => StandardDataDictionary
                .by_tag(tag)
                .and_then(|e| e.vr().exact())
                .ok_or_else(|| Error::json(&elem_path, "no `vr` and not in the dictionary"))?,
        };
        let element = if let Some(uri) = attr.get("BulkDataURI") {
            let uri = uri
                .as_str()
                .ok_or_else(|| Error::json(&elem_path, "`BulkDataURI` is not a string"))?;
            bulk.push(BulkDataRef {
                path: elem_path.clone(),
                tag,
                vr,
                uri: uri.to_owned(),
            });
            DataElement::new(tag, vr, PrimitiveValue::Empty)
        } else if let Some(inline) = attr.get("InlineBinary") {
            let text = inline
                .as_str()
                .ok_or_else(|| Error::json(&elem_path, "`InlineBinary` is not a string"))?;
            let bytes = BASE64.decode(text.trim()).map_err(|e| {
                Error::json(&elem_path, format!("`InlineBinary` is not base64: {e}"))
            })?;
            DataElement::new(tag, vr, binary_value(vr, bytes, &elem_path)?)
        } else {
            match attr.get("Value") {
                None | Some(Json::Null) if vr == VR::SQ => DataElement::new(
                    tag,
                    vr,
                    DataSetSequence::from(Vec::<InMemDicomObject>::new()),
                ),
                None | Some(Json::Null) => DataElement::new(tag, vr, PrimitiveValue::Empty),
                Some(Json::Array(values)) if vr == VR::SQ => {
                    let items = values
                        .iter()
                        .enumerate()
                        .map(|(i, item)| decode_object(item, &format!("{elem_path}[{i}]"), bulk))
                        .collect::<Result<Vec<_>>>()?;
                    DataElement::new(tag, vr, DataSetSequence::from(items))
                }
                Some(Json::Array(values)) => {
                    DataElement::new(tag, vr, decode_values(vr, values, &elem_path)?)
                }
                Some(other) => {
                    return Err(Error::json(
                        &elem_path,
                        format!("`Value` must be an array, found {}", kind(other)),
                    ));
                }
            }
        };
        object.put(element);
    }
    Ok(object)
}

fn decode_values(vr: VR, values: &[Json], path: &str) -> Result<PrimitiveValue> {
    if values.is_empty() {
        return Ok(PrimitiveValue::Empty);
    }
    let at = |i: usize| format!("{path}[{i}]");
    match vr {
        VR::US => ints::<u16>(values, path).map(|v| PrimitiveValue::U16(v.into())),
        VR::UL => ints::<u32>(values, path).map(|v| PrimitiveValue::U32(v.into())),
        VR::UV => ints::<u64>(values, path).map(|v| PrimitiveValue::U64(v.into())),
        VR::SS => ints::<i16>(values, path).map(|v| PrimitiveValue::I16(v.into())),
        VR::SL => ints::<i32>(values, path).map(|v| PrimitiveValue::I32(v.into())),
        VR::SV => ints::<i64>(values, path).map(|v| PrimitiveValue::I64(v.into())),
        VR::FL => floats(values, path).map(|v| {
            // Narrowing is the VR's precision: FL values are 32-bit on the wire.
            #[allow(clippy::cast_possible_truncation)]
            let v: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
            PrimitiveValue::F32(v.into())
        }),
        VR::FD => floats(values, path).map(|v| PrimitiveValue::F64(v.into())),
        VR::AT => values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .and_then(parse_tag_key)
                    .ok_or_else(|| Error::json(at(i), "AT value is not an 8-digit hex tag"))
            })
            .collect::<Result<C<Tag>>>()
            .map(PrimitiveValue::Tags),
        VR::PN => values
            .iter()
            .enumerate()
            .map(|(i, v)| decode_pn(v, &at(i)))
            .collect::<Result<C<String>>>()
            .map(PrimitiveValue::Strs),
        _ => values
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Json::Null => Ok(String::new()),
                Json::String(s) => {
                    if s.contains('\\') && !matches!(vr, VR::LT | VR::ST | VR::UT | VR::UR) {
                        Err(Error::json(at(i), "a value contains the delimiter `\\`"))
                    } else {
                        Ok(s.clone())
                    }
                }
                Json::Number(n) if matches!(vr, VR::IS | VR::DS) => Ok(number_text(n)),
                other => Err(Error::json(
                    at(i),
                    format!("expected a {vr} string, found {}", kind(other)),
                )),
            })
            .collect::<Result<C<String>>>()
            .map(PrimitiveValue::Strs),
    }
}

/// The text of a JSON number as DICOM IS/DS: integers exactly, reals in shortest form.
fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        n.to_string()
    }
}

fn ints<T>(values: &[Json], path: &str) -> Result<Vec<T>>
where
    T: TryFrom<i128>,
{
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let wide: Option<i128> = match v {
                Json::Number(n) => n
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from)),
                // Large SV/UV values may come as strings (JavaScript cannot hold them).
                Json::String(s) => s.trim().parse::<i128>().ok(),
                _ => None,
            };
            wide.and_then(|w| T::try_from(w).ok()).ok_or_else(|| {
                Error::json(
                    format!("{path}[{i}]"),
                    format!("`{v}` is not an integer in the VR's range"),
                )
            })
        })
        .collect()
}

fn floats(values: &[Json], path: &str) -> Result<Vec<f64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            match v {
                Json::Number(n) => n.as_f64(),
                // NaN and infinities have no JSON number; accept their common spellings.
                Json::String(s) => match s.trim() {
                    "NaN" => Some(f64::NAN),
                    "Infinity" | "inf" => Some(f64::INFINITY),
                    "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
                    other => other.parse().ok(),
                },
                _ => None,
            }
            .ok_or_else(|| Error::json(format!("{path}[{i}]"), format!("`{v}` is not a number")))
        })
        .collect()
}

fn decode_pn(value: &Json, path: &str) -> Result<String> {
    match value {
        Json::Null => Ok(String::new()),
        // Lenient: some servers send PN as a plain string.
        Json::String(s) => Ok(s.clone()),
        Json::Object(groups) => {
            let mut parts = Vec::with_capacity(3);
            for name in ["Alphabetic", "Ideographic", "Phonetic"] {
                match groups.get(name) {
                    None | Some(Json::Null) => parts.push(""),
                    Some(Json::String(s)) => parts.push(s.as_str()),
                    Some(other) => {
                        return Err(Error::json(
                            format!("{path}.{name}"),
                            format!("expected a string, found {}", kind(other)),
                        ));
                    }
                }
            }
            if let Some(unknown) = groups
                .keys()
                .find(|k| !matches!(k.as_str(), "Alphabetic" | "Ideographic" | "Phonetic"))
            {
                return Err(Error::json(
                    path,
                    format!("unknown person name component group `{unknown}`"),
                ));
            }
            while parts.last() == Some(&"") {
                parts.pop();
            }
            Ok(parts.join("="))
        }
        other => Err(Error::json(
            path,
            format!("expected a person name object, found {}", kind(other)),
        )),
    }
}

fn binary_value(vr: VR, bytes: Vec<u8>, path: &str) -> Result<PrimitiveValue> {
    fn chunks<const N: usize, T>(
        bytes: &[u8],
        path: &str,
        f: impl Fn([u8; N]) -> T,
    ) -> Result<C<T>> {
        if !bytes.len().is_multiple_of(N) {
            return Err(Error::json(
                path,
                format!("{} bytes are not a multiple of {N}", bytes.len()),
            ));
        }
        Ok(bytes
            .chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            })
            .collect())
    }
    Ok(match vr {
        VR::OW => PrimitiveValue::U16(chunks(&bytes, path, u16::from_le_bytes)?),
        VR::OL => PrimitiveValue::U32(chunks(&bytes, path, u32::from_le_bytes)?),
        VR::OV => PrimitiveValue::U64(chunks(&bytes, path, u64::from_le_bytes)?),
        VR::OF => PrimitiveValue::F32(chunks(&bytes, path, f32::from_le_bytes)?),
        VR::OD => PrimitiveValue::F64(chunks(&bytes, path, f64::from_le_bytes)?),
        _ if bytes.is_empty() => PrimitiveValue::Empty,
        _ => PrimitiveValue::U8(bytes.into()),
    })
}

// ---------------------------------------------------------------------------------------
// Helpers

/// Whether a VR's value is written as `InlineBinary`/`BulkDataURI` rather than `Value`.
pub fn is_binary(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
    )
}

/// `GGGGEEEE`, the DICOM JSON key of a tag.
pub fn tag_key(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.group(), tag.element())
}

/// Parses a `GGGGEEEE` key (either case).
pub fn parse_tag_key(key: &str) -> Option<Tag> {
    if key.len() != 8 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let group = u16::from_str_radix(&key[..4], 16).ok()?;
    let element = u16::from_str_radix(&key[4..], 16).ok()?;
    Some(Tag(group, element))
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn or_root(path: &str) -> &str {
    if path.is_empty() { "$" } else { path }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::tags;
    use proptest::prelude::*;
    use serde_json::json;

    fn elem(tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, vr, value.into())
    }

    #[test]
    fn encodes_the_standard_example_shapes() {
        let item = InMemDicomObject::from_element_iter([elem(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            "1.2.3",
        )]);
        let object = InMemDicomObject::from_element_iter([
            elem(
                tags::PATIENT_NAME,
                VR::PN,
                "Müller^Anna=山田^太郎=やまだ^たろう",
            ),
            elem(tags::PATIENT_ID, VR::LO, "ID1 "),
            elem(tags::SERIES_NUMBER, VR::IS, " 4 "),
            elem(tags::SLICE_THICKNESS, VR::DS, "1.50"),
            elem(tags::ROWS, VR::US, PrimitiveValue::U16(vec![512].into())),
            elem(
                tags::IMAGE_TYPE,
                VR::CS,
                PrimitiveValue::Strs(["ORIGINAL", "", "AXIAL"].map(String::from).to_vec().into()),
            ),
            elem(tags::ACCESSION_NUMBER, VR::SH, PrimitiveValue::Empty),
            elem(
                tags::FRAME_INCREMENT_POINTER,
                VR::AT,
                PrimitiveValue::Tags(vec![tags::FRAME_TIME].into()),
            ),
            elem(
                Tag(0x0009, 0x1001),
                VR::OB,
                PrimitiveValue::U8(vec![1, 2, 3].into()),
            ),
            DataElement::new(
                tags::REFERENCED_SOP_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![item]),
            ),
        ]);
        let json = to_json(&object, &BinaryMode::Inline);
        assert_eq!(
            json["00100010"],
            json!({"vr": "PN", "Value": [{
                "Alphabetic": "Müller^Anna", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"
            }]})
        );
        assert_eq!(json["00100020"], json!({"vr": "LO", "Value": ["ID1"]}));
        assert_eq!(json["00200011"], json!({"vr": "IS", "Value": [4]}));
        assert_eq!(json["00180050"], json!({"vr": "DS", "Value": [1.5]}));
        assert_eq!(json["00280010"], json!({"vr": "US", "Value": [512]}));
        assert_eq!(
            json["00080008"],
            json!({"vr": "CS", "Value": ["ORIGINAL", null, "AXIAL"]})
        );
        assert_eq!(json["00080050"], json!({"vr": "SH"}));
        assert_eq!(json["00280009"], json!({"vr": "AT", "Value": ["00181063"]}));
        assert_eq!(
            json["00091001"],
            json!({"vr": "OB", "InlineBinary": "AQID"})
        );
        assert_eq!(
            json["00081199"],
            json!({"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["1.2.3"]}}]})
        );
        let omitted = to_json(&object, &BinaryMode::Omit);
        assert!(omitted.get("00091001").is_none());
        let uri = to_json(&object, &BinaryMode::BulkDataUri("http://x/i".into()));
        assert_eq!(
            uri["00091001"]["BulkDataURI"],
            "http://x/i/bulkdata/00091001"
        );

        let back = from_json(&uri).unwrap();
        assert_eq!(back.bulk_data.len(), 1);
        assert_eq!(back.bulk_data[0].tag, Tag(0x0009, 0x1001));
        assert_eq!(back.bulk_data[0].uri, "http://x/i/bulkdata/00091001");
    }

    #[test]
    fn decodes_what_servers_send_including_strings_for_numbers() {
        let json = json!({
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^J"}, null]},
            "00200013": {"vr": "IS", "Value": ["7"]},
            "00281050": {"vr": "DS", "Value": [40, "-1.5e2"]},
            "00280100": {"vr": "US", "Value": [16]},
            "00080005": {"vr": "CS"},
            "00101010": {"vr": "AS", "Value": null},
            "0020000D": {"vr": "UI", "Value": ["1.2"]},
            "00081198": {"vr": "SQ", "Value": [{"00081197": {"vr": "US", "Value": [272]}}]},
            "7FE00010": {"vr": "OW", "InlineBinary": "AQACAA=="}
        });
        let obj = from_json(&json).unwrap().object;
        let s = |t| {
            obj.element(t)
                .unwrap()
                .value()
                .to_multi_str()
                .unwrap()
                .into_owned()
        };
        assert_eq!(s(tags::PATIENT_NAME), ["Doe^J", ""]);
        assert_eq!(s(tags::INSTANCE_NUMBER), ["7"]);
        assert_eq!(s(tags::WINDOW_CENTER), ["40", "-1.5e2"]);
        assert_eq!(
            obj.element(tags::BITS_ALLOCATED)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            16
        );
        assert!(matches!(
            obj.element(tags::SPECIFIC_CHARACTER_SET).unwrap().value(),
            Value::Primitive(PrimitiveValue::Empty)
        ));
        let failed = obj.element(tags::FAILED_SOP_SEQUENCE).unwrap();
        let item = &failed.items().unwrap()[0];
        assert_eq!(
            item.element(tags::FAILURE_REASON)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            0x0110
        );
        let pixels = obj.element(tags::PIXEL_DATA).unwrap();
        assert_eq!(pixels.value().to_multi_int::<u16>().unwrap(), [1, 2]);
    }

    #[test]
    fn malformed_json_names_the_place() {
        let err = |v: Json| from_json(&v).unwrap_err().to_string();
        assert!(err(json!([])).contains("at $: expected a data set object"));
        assert!(err(json!({"0010": {"vr": "PN"}})).contains("`0010` is not an 8-digit hex tag"));
        assert!(err(json!({"00100010": {"vr": "XX"}})).contains("unknown VR `XX`"));
        assert!(err(json!({"00280010": {"vr": "US", "Value": [70000]}})).contains("00280010[0]"));
        assert!(
            err(json!({"00100010": {"vr": "PN", "Value": [{"Alphabetic": 1}]}}))
                .contains("00100010[0].Alphabetic")
        );
        assert!(
            err(json!({"00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": [3]}}]}}))
                .contains("00081199[0].00081155[0]")
        );
        assert!(err(json!({"7FE00010": {"vr": "OW", "InlineBinary": "AQA"}})).contains("base64"));
        assert!(
            err(json!({"7FE00010": {"vr": "OW", "InlineBinary": "AQID"}}))
                .contains("multiple of 2")
        );
        assert!(
            from_json_slice(b"{")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        assert!(from_json_slice(b"").unwrap().is_empty());
    }

    fn text_vr() -> impl Strategy<Value = VR> {
        prop_oneof![
            Just(VR::LO),
            Just(VR::SH),
            Just(VR::CS),
            Just(VR::UI),
            Just(VR::LT),
            Just(VR::DA)
        ]
    }

    proptest! {
        /// Any data set of these shapes survives JSON and back value by value.
        #[test]
        fn round_trip(
            names in proptest::collection::vec("[A-Za-z]{1,8}(\\^[A-Za-z]{1,8})?(=[A-Za-z]{1,5})?", 0..3),
            texts in proptest::collection::vec(("[A-Z0-9 ._-]{1,12}", text_vr()), 0..5),
            ints in proptest::collection::vec(any::<i32>(), 0..4),
            us in proptest::collection::vec(any::<u16>(), 0..4),
            floats in proptest::collection::vec(-1.0e6f64..1.0e6, 0..3),
            blob in proptest::collection::vec(any::<u8>(), 0..40),
            nested in proptest::collection::vec("[0-9.]{1,20}", 0..3),
        ) {
            let mut obj = InMemDicomObject::new_empty();
            if !names.is_empty() {
                obj.put(elem(tags::PATIENT_NAME, VR::PN, PrimitiveValue::Strs(names.clone().into())));
            }
            for (i, (text, vr)) in texts.iter().enumerate() {
                let text = text.trim().to_owned();
                prop_assume!(!text.is_empty());
                obj.put(elem(Tag(0x0011, 0x1010 + u16::try_from(i).unwrap()), *vr, text));
            }
            if !ints.is_empty() {
                let v: Vec<String> = ints.iter().map(i32::to_string).collect();
                obj.put(elem(tags::REFERENCED_FRAME_NUMBER, VR::IS, PrimitiveValue::Strs(v.into())));
            }
            if !us.is_empty() {
                obj.put(elem(tags::ROWS, VR::US, PrimitiveValue::U16(us.clone().into())));
            }
            if !floats.is_empty() {
                obj.put(elem(tags::PIXEL_SPACING, VR::FD, PrimitiveValue::F64(floats.clone().into())));
            }
            obj.put(elem(Tag(0x0009, 0x1002), VR::OB, PrimitiveValue::U8(blob.clone().into())));
            let items: Vec<InMemDicomObject> = nested
                .iter()
                .map(|u| InMemDicomObject::from_element_iter([elem(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, u.as_str())]))
                .collect();
            obj.put(DataElement::new(tags::REFERENCED_SOP_SEQUENCE, VR::SQ, DataSetSequence::from(items)));

            let json = to_json(&obj, &BinaryMode::Inline);
            let text = serde_json::to_string(&json).unwrap();
            let back = from_json(&serde_json::from_str(&text).unwrap()).unwrap().object;
            prop_assert_eq!(&to_json(&back, &BinaryMode::Inline), &json);
            for e in obj.iter() {
                let tag = e.header().tag;
                let b = back.element(tag).unwrap();
                prop_assert_eq!(b.vr(), e.vr(), "{}", tag);
                if e.vr() == VR::SQ {
                    prop_assert_eq!(b.items().unwrap().len(), e.items().unwrap().len());
                } else if e.vr() == VR::IS || e.vr() == VR::US {
                    prop_assert_eq!(b.value().to_multi_int::<i64>().unwrap(), e.value().to_multi_int::<i64>().unwrap());
                } else if e.vr() == VR::FD {
                    prop_assert_eq!(b.value().to_multi_float64().unwrap(), e.value().to_multi_float64().unwrap());
                } else {
                    prop_assert_eq!(b.value().to_bytes().unwrap(), e.value().to_bytes().unwrap(), "{}", tag);
                }
            }
        }

        #[test]
        fn arbitrary_json_never_panics(s in "\\PC{0,200}") {
            let _ = from_json_slice(s.as_bytes());
        }
    }
}
