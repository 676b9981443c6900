//! `Content-Type` values: a media type with parameters (RFC 9110 §8.3), and the parameters of
//! `multipart/related` (RFC 2387) that DICOMweb uses.

use crate::error::{Error, Result};

/// A parsed media type: the lower-cased `type/subtype` and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    essence: String,
    params: Vec<(String, String)>,
}

impl MediaType {
    /// Parses `type/subtype; name=value; name="quoted \"value\""`.
    ///
    /// Parameter names are case-insensitive (kept lower-cased); values keep their case.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let end = text.find(';').unwrap_or(text.len());
        let essence = text[..end].trim().to_ascii_lowercase();
        let (kind, subtype) = essence
            .split_once('/')
            .ok_or_else(|| Error::Multipart(format!("media type `{essence}` has no `/`")))?;
        if !is_token(kind) || !is_token(subtype) {
            return Err(Error::Multipart(format!(
                "media type `{essence}` is not `type/subtype`"
            )));
        }
        let params = parse_params(&text[end..])?;
        Ok(Self { essence, params })
    }

    /// The lower-cased `type/subtype`.
    pub fn essence(&self) -> &str {
        &self.essence
    }

    /// The value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All parameters in order, names lower-cased.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

/// The parameters of a `multipart/related` content type as DICOMweb uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartRelated {
    /// The boundary delimiting the parts.
    pub boundary: String,
    /// The `type` parameter (the media type of the root part, e.g. `application/dicom`).
    pub part_type: Option<MediaType>,
    /// The transfer syntax, from a `transfer-syntax` parameter of the multipart type or,
    /// as Orthanc sends it, inside the quoted `type` parameter.
    pub transfer_syntax: Option<String>,
}

impl MultipartRelated {
    /// Reads a `Content-Type` header value; it must be `multipart/related` with a boundary.
    pub fn from_content_type(text: &str) -> Result<Self> {
        let media = MediaType::parse(text)?;
        if media.essence() != "multipart/related" {
            return Err(Error::Multipart(format!(
                "content type is `{}`, not multipart/related",
                media.essence()
            )));
        }
        let boundary = media
            .param("boundary")
            .ok_or_else(|| Error::Multipart("content type has no boundary parameter".into()))?
            .to_owned();
        check_boundary(&boundary, MAX_READ_BOUNDARY)?;
        let part_type = media.param("type").map(MediaType::parse).transpose()?;
        let transfer_syntax = media
            .param("transfer-syntax")
            .or_else(|| part_type.as_ref().and_then(|t| t.param("transfer-syntax")))
            .map(str::to_owned);
        Ok(Self {
            boundary,
            part_type,
            transfer_syntax,
        })
    }

    /// The header value for a body of `part_type` parts (`application/dicom`) with `boundary`.
    pub fn content_type(part_type: &str, boundary: &str) -> String {
        format!("multipart/related; type=\"{part_type}\"; boundary={boundary}")
    }
}

/// Longest boundary accepted when reading. RFC 2046 allows 70 (and the writer keeps to
/// that); readers are lenient because some servers generate longer ones.
pub(crate) const MAX_READ_BOUNDARY: usize = 200;

/// Checks a boundary against RFC 2046: 1 to `max` characters, no trailing space, and only
/// characters that need no escaping inside a quoted parameter.
pub(crate) fn check_boundary(boundary: &str, max: usize) -> Result<()> {
    if boundary.is_empty() || boundary.len() > max {
        return Err(Error::Multipart(format!(
            "boundary must have 1 to {max} characters, has {}",
            boundary.len()
        )));
    }
    if boundary.ends_with(' ')
        || boundary
            .bytes()
            .any(|b| !(b.is_ascii_graphic() || b == b' ') || b == b'"' || b == b'\\')
    {
        return Err(Error::Multipart(format!(
            "boundary `{}` contains characters RFC 2046 does not allow",
            boundary.escape_debug()
        )));
    }
    Ok(())
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_params(mut rest: &str) -> Result<Vec<(String, String)>> {
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(params);
        }
        rest = rest
            .strip_prefix(';')
            .ok_or_else(|| Error::Multipart(format!("expected `;` before `{rest}`")))?
            .trim_start();
        if rest.is_empty() {
            // A trailing `;` is common and harmless.
            return Ok(params);
        }
        let eq = rest
            .find('=')
            .ok_or_else(|| Error::Multipart(format!("parameter `{rest}` has no `=`")))?;
        let name = rest[..eq].trim();
        if !is_token(name) {
            return Err(Error::Multipart(format!(
                "parameter name `{name}` is not a token"
            )));
        }
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let (v, after) = parse_quoted(quoted).ok_or_else(|| {
                Error::Multipart(format!("parameter `{name}`: unterminated quote"))
            })?;
            value = v;
            rest = after;
        } else {
            let end = rest.find([';', ' ', '\t']).unwrap_or(rest.len());
            value = rest[..end].to_owned();
            rest = &rest[end..];
        }
        params.push((name.to_ascii_lowercase(), value));
    }
}

/// Reads a quoted string after its opening quote; returns the value and the rest after the
/// closing quote.
fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_syntax_is_found_inside_the_quoted_type() {
        let ct = "multipart/related; type=\"application/octet-stream; \
                  transfer-syntax=1.2.840.10008.1.2.1\"; boundary=abc-123";
        let m = MultipartRelated::from_content_type(ct).unwrap();
        assert_eq!(m.boundary, "abc-123");
        assert_eq!(
            m.part_type.as_ref().map(MediaType::essence),
            Some("application/octet-stream")
        );
        assert_eq!(m.transfer_syntax.as_deref(), Some("1.2.840.10008.1.2.1"));
    }

    #[test]
    fn quoted_boundary_and_case_insensitive_names() {
        let m = MultipartRelated::from_content_type(
            "Multipart/Related;Type=application/dicom;BOUNDARY=\"a b:c\";",
        )
        .unwrap();
        assert_eq!(m.boundary, "a b:c");
        assert_eq!(
            m.part_type.as_ref().map(MediaType::essence),
            Some("application/dicom")
        );
        assert_eq!(m.transfer_syntax, None);
        let escaped = MediaType::parse(r#"a/b; x="q\"uote""#).unwrap();
        assert_eq!(escaped.param("X"), Some("q\"uote"));
    }

    #[test]
    fn malformed_content_types_are_named() {
        let err = |s: &str| {
            MultipartRelated::from_content_type(s)
                .unwrap_err()
                .to_string()
        };
        assert!(err("application/dicom+json").contains("not multipart/related"));
        assert!(err("multipart/related; type=\"application/dicom\"").contains("no boundary"));
        assert!(err("multipart/related; boundary=\"abc").contains("unterminated quote"));
        assert!(err("multipart/related; boundary").contains("has no `=`"));
        assert!(err("multipart").contains("no `/`"));
        assert!(
            err(&format!("multipart/related; boundary={}", "x".repeat(201))).contains("1 to 200")
        );
    }
}
