//! Typed queries: a level, ordered keys with parsed values, and an optional result limit.

use std::fmt;

use dicom_core::value::C;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::attribute::Attribute;
use super::level::QueryLevel;
use super::value::QueryValue;
use crate::error::{Error, Result};

/// A query at one level: which records to match and which attributes to return.
///
/// Keys keep the order in which they were added; setting a key twice replaces its value.
/// Build one with [`Query::builder`], parse one from `Keyword=value` strings with
/// [`Query::parse`] (CLI `-k`) or [`Query::from_params`] (REST and QIDO parameters), or decode
/// a C-FIND identifier with [`Query::from_identifier`].
///
/// ```
/// use adit_core::model::{Query, QueryLevel, QueryValue};
///
/// let query = Query::builder(QueryLevel::Study)
///     .key("PatientID", "1001")
///     .key("StudyDate", "20190101-")
///     .key("ModalitiesInStudy", "CT,MR")
///     .return_key("StudyDescription")
///     .limit(100)
///     .build()?;
/// assert_eq!(
///     query.get("StudyDate"),
///     Some(&QueryValue::Range { from: Some("20190101".into()), to: None })
/// );
/// assert_eq!(query.to_string(), "STUDY PatientID=1001 StudyDate=20190101- \
///     ModalitiesInStudy=CT\\MR StudyDescription= limit=100");
/// # Ok::<(), adit_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    level: QueryLevel,
    keys: Vec<(Attribute, QueryValue)>,
    limit: Option<u32>,
}

impl Query {
    /// An empty query at `level` (matches everything, returns nothing extra).
    pub fn new(level: QueryLevel) -> Self {
        Self {
            level,
            keys: Vec::new(),
            limit: None,
        }
    }

    /// Starts a [`QueryBuilder`].
    pub fn builder(level: QueryLevel) -> QueryBuilder {
        QueryBuilder {
            query: Self::new(level),
            error: None,
        }
    }

    /// Parses `Keyword=value` arguments (a bare `Keyword` or `Keyword=` is a return key).
    ///
    /// `QueryRetrieveLevel=SERIES` changes the level and `limit=N` sets the limit; any other
    /// name must be a standard keyword or tag, or the error names it.
    pub fn parse<I, S>(level: QueryLevel, args: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut query = Self::new(level);
        for arg in args {
            let arg = arg.as_ref();
            let (key, value) = arg.split_once('=').unwrap_or((arg, ""));
            query.set_param(key, value)?;
        }
        Ok(query)
    }

    /// Builds a query from name/value pairs as they arrive in a URL query string.
    ///
    /// Understands `limit=N`, `includefield=A,B` (return keys; `all` is accepted and adds the
    /// level's default return keys) and `QueryRetrieveLevel`; every other name must be a
    /// standard keyword or tag. Unknown names (including QIDO's `offset` and `fuzzymatching`,
    /// which callers must handle before) give [`Error::InvalidQuery`] naming them.
    pub fn from_params<I, K, V>(level: QueryLevel, params: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut query = Self::new(level);
        for (key, value) in params {
            query.set_param(key.as_ref(), value.as_ref())?;
        }
        Ok(query)
    }

    /// Decodes a C-FIND identifier: the level from QueryRetrieveLevel, every other element as
    /// a key. Sequences and attributes outside the standard dictionary are rejected.
    pub fn from_identifier(identifier: &InMemDicomObject) -> Result<Self> {
        let level_elem = identifier.get(tags::QUERY_RETRIEVE_LEVEL).ok_or_else(|| {
            Error::invalid_query("QueryRetrieveLevel", "missing from the identifier")
        })?;
        let level_str = level_elem
            .value()
            .to_str()
            .map_err(|e| Error::invalid_query("QueryRetrieveLevel", e.to_string()))?;
        let mut query = Self::new(level_str.parse()?);
        for elem in identifier.iter() {
            let tag = elem.header().tag;
            if tag == tags::QUERY_RETRIEVE_LEVEL
                || tag == tags::SPECIFIC_CHARACTER_SET
                || tag.element() == 0x0000
            {
                continue;
            }
            let attribute = Attribute::from_tag(tag)?;
            let raw = elem.value().to_str().map_err(|_| {
                Error::invalid_query(attribute.keyword(), "sequence matching is not supported")
            })?;
            query.set_value(attribute, QueryValue::parse(&attribute, &raw)?);
        }
        Ok(query)
    }

    /// Renders the query as a C-FIND identifier with the dictionary VRs.
    ///
    /// Adds QueryRetrieveLevel, and SpecificCharacterSet `ISO_IR 192` (UTF-8) when a value is
    /// not plain ASCII.
    pub fn to_identifier(&self) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from(self.level.as_str()),
        ));
        let mut ascii = true;
        for (attribute, value) in &self.keys {
            ascii &= value.to_dicom_string().is_ascii();
            let primitive = match value {
                QueryValue::Empty => PrimitiveValue::Empty,
                QueryValue::Multi(values) => {
                    PrimitiveValue::Strs(values.iter().cloned().collect::<C<String>>())
                }
                single_or_range => PrimitiveValue::from(single_or_range.to_dicom_string()),
            };
            obj.put(DataElement::new(attribute.tag(), attribute.vr(), primitive));
        }
        if !ascii {
            obj.put(DataElement::new(
                tags::SPECIFIC_CHARACTER_SET,
                VR::CS,
                PrimitiveValue::from("ISO_IR 192"),
            ));
        }
        obj
    }

    /// The query level.
    pub fn level(&self) -> QueryLevel {
        self.level
    }

    /// Changes the level, keeping the keys (e.g. to emulate a PATIENT query at STUDY level).
    pub fn set_level(&mut self, level: QueryLevel) {
        self.level = level;
    }

    /// The maximum number of results wanted, if any.
    pub fn limit(&self) -> Option<u32> {
        self.limit
    }

    /// Sets or clears the result limit.
    pub fn set_limit(&mut self, limit: Option<u32>) {
        self.limit = limit;
    }

    /// Sets a key from a keyword (or tag) and a raw value; see [`QueryValue::parse`].
    pub fn set(&mut self, key: &str, raw: &str) -> Result<()> {
        let attribute = Attribute::parse(key)?;
        let value = QueryValue::parse(&attribute, raw)?;
        self.set_value(attribute, value);
        Ok(())
    }

    /// Sets a key to an already parsed value, replacing any earlier value of that key.
    pub fn set_value(&mut self, attribute: Attribute, value: QueryValue) {
        match self.keys.iter_mut().find(|(a, _)| *a == attribute) {
            Some((_, existing)) => *existing = value,
            None => self.keys.push((attribute, value)),
        }
    }

    /// Adds `keyword` as a return key unless it is already a key.
    pub fn add_return_key(&mut self, attribute: Attribute) {
        if self.get_tag(attribute.tag()).is_none() {
            self.keys.push((attribute, QueryValue::Empty));
        }
    }

    /// The value of a key, by keyword. Unknown keywords give `None`.
    pub fn get(&self, keyword: &str) -> Option<&QueryValue> {
        let attribute = Attribute::parse(keyword).ok()?;
        self.get_tag(attribute.tag())
    }

    /// The value of a key, by tag.
    pub fn get_tag(&self, tag: Tag) -> Option<&QueryValue> {
        self.keys
            .iter()
            .find(|(a, _)| a.tag() == tag)
            .map(|(_, v)| v)
    }

    /// The single (non-empty, non-range, non-list) value of a key, by tag.
    pub fn single(&self, tag: Tag) -> Option<&str> {
        self.get_tag(tag).and_then(QueryValue::as_single)
    }

    /// Removes a key, returning its value.
    pub fn remove(&mut self, tag: Tag) -> Option<QueryValue> {
        let index = self.keys.iter().position(|(a, _)| a.tag() == tag)?;
        Some(self.keys.remove(index).1)
    }

    /// The keys in the order they were added.
    pub fn keys(&self) -> impl Iterator<Item = (&Attribute, &QueryValue)> + '_ {
        self.keys.iter().map(|(a, v)| (a, v))
    }

    /// Adds ADIT's return keys for this level ([`QueryLevel::default_return_keys`]) that are
    /// not keys yet.
    pub fn with_default_return_keys(mut self) -> Self {
        self.add_default_return_keys();
        self
    }

    /// The query as `Keyword=value` parameters (the inverse of [`Query::parse`] without
    /// the level); `limit` comes last if set.
    pub fn to_params(&self) -> Vec<String> {
        let mut params: Vec<String> = self
            .keys
            .iter()
            .map(|(a, v)| format!("{}={}", a.keyword(), v))
            .collect();
        if let Some(limit) = self.limit {
            params.push(format!("limit={limit}"));
        }
        params
    }

    fn add_default_return_keys(&mut self) {
        for keyword in self.level.default_return_keys() {
            // The table is static and every entry is a standard keyword (tested).
            if let Ok(attribute) = Attribute::parse(keyword) {
                self.add_return_key(attribute);
            }
        }
    }

    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        match key.trim() {
            "limit" => {
                let limit = value.trim().parse::<u32>().map_err(|_| {
                    Error::invalid_query("limit", format!("`{value}` is not a positive integer"))
                })?;
                self.limit = Some(limit);
            }
            "includefield" => {
                for field in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    if field == "all" {
                        self.add_default_return_keys();
                    } else {
                        self.add_return_key(Attribute::parse(field)?);
                    }
                }
            }
            "QueryRetrieveLevel" => self.level = value.parse()?,
            "" => return Err(Error::invalid_query(key, "empty key name")),
            key => self.set(key, value)?,
        }
        Ok(())
    }
}

impl fmt::Display for Query {
    /// `STUDY PatientID=1001 StudyDate=20190101- limit=10`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.level.as_str())?;
        for param in self.to_params() {
            write!(f, " {param}")?;
        }
        Ok(())
    }
}

/// Serialized as `{"level": "STUDY", "keys": ["PatientID=1001", ...], "limit": 10}`.
impl Serialize for Query {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SerdeQuery {
            level: self.level,
            keys: self
                .keys
                .iter()
                .map(|(a, v)| format!("{}={}", a.keyword(), v))
                .collect(),
            limit: self.limit,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = SerdeQuery::deserialize(deserializer)?;
        let mut query = Query::parse(raw.level, &raw.keys).map_err(serde::de::Error::custom)?;
        query.limit = raw.limit;
        Ok(query)
    }
}

#[derive(Serialize, Deserialize)]
struct SerdeQuery {
    level: QueryLevel,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

/// Builds a [`Query`]; the first invalid key is reported by [`QueryBuilder::build`].
#[derive(Debug)]
#[must_use]
pub struct QueryBuilder {
    query: Query,
    error: Option<Error>,
}

impl QueryBuilder {
    /// Adds a key by keyword (or tag) with a raw value, as [`QueryValue::parse`] reads it.
    pub fn key(mut self, key: &str, raw: &str) -> Self {
        if self.error.is_none()
            && let Err(e) = self.query.set(key, raw)
        {
            self.error = Some(e);
        }
        self
    }

    /// Adds a key with a value built in code; it is checked against the attribute's VR.
    pub fn value(mut self, key: &str, value: QueryValue) -> Self {
        if self.error.is_none() {
            let result = Attribute::parse(key)
                .and_then(|a| value.normalized(&a).map(|v| self.query.set_value(a, v)));
            if let Err(e) = result {
                self.error = Some(e);
            }
        }
        self
    }

    /// Adds a return key (universal matching).
    pub fn return_key(self, key: &str) -> Self {
        self.value(key, QueryValue::Empty)
    }

    /// Adds the level's default return keys.
    pub fn default_return_keys(mut self) -> Self {
        self.query.add_default_return_keys();
        self
    }

    /// Limits the number of results.
    pub fn limit(mut self, limit: u32) -> Self {
        self.query.limit = Some(limit);
        self
    }

    /// Finishes the query, or returns the first invalid key.
    pub fn build(self) -> Result<Query> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.query),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_style_arguments() {
        let q = Query::parse(
            QueryLevel::Study,
            [
                "PatientID=1001",
                "StudyDate=20190101-20191231",
                "StudyDescription",
                "limit=5",
            ],
        )
        .unwrap();
        assert_eq!(q.level(), QueryLevel::Study);
        assert_eq!(q.single(tags::PATIENT_ID), Some("1001"));
        assert_eq!(q.get("StudyDescription"), Some(&QueryValue::Empty));
        assert_eq!(q.limit(), Some(5));
        assert_eq!(
            q.keys().map(|(a, _)| a.keyword()).collect::<Vec<_>>(),
            ["PatientID", "StudyDate", "StudyDescription"]
        );
    }

    #[test]
    fn unknown_keys_are_named_in_the_error() {
        let err = Query::parse(QueryLevel::Study, ["PatientId=1"]).unwrap_err();
        assert!(matches!(&err, Error::InvalidQuery { key, .. } if key == "PatientId"));
        let err = Query::from_params(QueryLevel::Study, [("offset", "10")]).unwrap_err();
        assert!(matches!(&err, Error::InvalidQuery { key, .. } if key == "offset"));
        let err = Query::from_params(QueryLevel::Study, [("limit", "-1")]).unwrap_err();
        assert!(matches!(&err, Error::InvalidQuery { key, .. } if key == "limit"));
        let err = Query::builder(QueryLevel::Study)
            .key("PatientID", "1")
            .key("Bogus", "x")
            .key("AlsoBogus", "y")
            .build()
            .unwrap_err();
        assert!(matches!(&err, Error::InvalidQuery { key, .. } if key == "Bogus"));
    }

    #[test]
    fn qido_params_understand_limit_and_includefield() {
        let q = Query::from_params(
            QueryLevel::Series,
            [
                ("StudyInstanceUID", "1.2.3"),
                ("includefield", "SeriesDescription,Modality"),
                ("includefield", "00200011"),
                ("limit", "10"),
            ],
        )
        .unwrap();
        assert_eq!(q.get("SeriesDescription"), Some(&QueryValue::Empty));
        assert_eq!(q.get("SeriesNumber"), Some(&QueryValue::Empty));
        assert_eq!(q.limit(), Some(10));
        let all = Query::from_params(QueryLevel::Series, [("includefield", "all")]).unwrap();
        assert!(all.get("NumberOfSeriesRelatedInstances").is_some());
    }

    #[test]
    fn setting_a_key_twice_replaces_it_in_place() {
        let mut q = Query::parse(QueryLevel::Study, ["PatientID=1", "StudyDate"]).unwrap();
        q.set("PatientID", "2").unwrap();
        assert_eq!(q.to_params(), ["PatientID=2", "StudyDate="]);
        q.add_return_key(Attribute::parse("PatientID").unwrap());
        assert_eq!(q.single(tags::PATIENT_ID), Some("2"));
        assert_eq!(
            q.remove(tags::PATIENT_ID),
            Some(QueryValue::Single("2".into()))
        );
        assert_eq!(q.to_params(), ["StudyDate="]);
    }

    #[test]
    fn default_return_keys_are_all_standard_keywords() {
        for level in QueryLevel::ALL {
            let q = Query::new(level).with_default_return_keys();
            assert_eq!(
                q.keys().count(),
                level.default_return_keys().len(),
                "{level}"
            );
        }
    }

    #[test]
    fn renders_identifiers_with_dictionary_vrs() {
        let q = Query::builder(QueryLevel::Study)
            .key("PatientName", "Müller*")
            .key("StudyDate", "20200101-")
            .key("ModalitiesInStudy", "CT,MR")
            .return_key("NumberOfStudyRelatedInstances")
            .build()
            .unwrap();
        let id = q.to_identifier();
        let get = |tag| id.get(tag).unwrap();
        assert_eq!(get(tags::QUERY_RETRIEVE_LEVEL).to_str().unwrap(), "STUDY");
        assert_eq!(get(tags::PATIENT_NAME).vr(), VR::PN);
        assert_eq!(get(tags::STUDY_DATE).to_str().unwrap(), "20200101-");
        assert_eq!(
            get(tags::MODALITIES_IN_STUDY)
                .value()
                .to_multi_str()
                .unwrap()
                .as_ref(),
            ["CT", "MR"]
        );
        assert_eq!(get(tags::NUMBER_OF_STUDY_RELATED_INSTANCES).vr(), VR::IS);
        assert_eq!(
            get(tags::NUMBER_OF_STUDY_RELATED_INSTANCES).header().len.0,
            0
        );
        assert_eq!(
            get(tags::SPECIFIC_CHARACTER_SET).to_str().unwrap(),
            "ISO_IR 192"
        );
    }

    #[test]
    fn identifiers_round_trip() {
        let q = Query::builder(QueryLevel::Series)
            .key("StudyInstanceUID", "1.2.840.1")
            .key("SeriesNumber", "4")
            .key("Modality", "CT\\MR")
            .return_key("SeriesDescription")
            .build()
            .unwrap();
        let back = Query::from_identifier(&q.to_identifier()).unwrap();
        assert_eq!(back.level(), QueryLevel::Series);
        // The identifier is ordered by tag; compare as sets.
        let mut a = q.to_params();
        let mut b = back.to_params();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert!(back.get("SpecificCharacterSet").is_none());
    }

    #[test]
    fn identifiers_without_level_or_with_sequences_are_rejected() {
        let mut id = InMemDicomObject::new_empty();
        id.put(DataElement::new(tags::PATIENT_ID, VR::LO, "1"));
        let err = Query::from_identifier(&id).unwrap_err();
        assert!(matches!(&err, Error::InvalidQuery { key, .. } if key == "QueryRetrieveLevel"));

        id.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            "STUDY",
        ));
        id.put(DataElement::new(
            tags::REFERENCED_STUDY_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::<InMemDicomObject>::empty(),
        ));
        let err = Query::from_identifier(&id).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery { key, .. } if key == "ReferencedStudySequence"),
            "{err}"
        );
    }

    #[test]
    fn serde_uses_the_cli_syntax() {
        let q = Query::parse(
            QueryLevel::Study,
            ["PatientID=1001", "StudyDate=2019-", "limit=3"],
        );
        assert!(q.is_err(), "2019- is not a date");
        let q = Query::parse(
            QueryLevel::Study,
            ["PatientID=1001", "StudyDate=20190101-", "limit=3"],
        )
        .unwrap();
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "level": "STUDY",
                "keys": ["PatientID=1001", "StudyDate=20190101-"],
                "limit": 3
            })
        );
        let back: Query = serde_json::from_value(json).unwrap();
        assert_eq!(back, q);
        let bad = serde_json::json!({"level": "STUDY", "keys": ["Nope=1"]});
        assert!(serde_json::from_value::<Query>(bad).is_err());
    }
}
