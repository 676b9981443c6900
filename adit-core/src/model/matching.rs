//! Client-side matching of results against a query.
//!
//! Real PACS match differently (case, wildcards, integer strings, multi-valued attributes), so
//! ADIT checks every result again on its side. The rules here follow ADIT and PS3.4 C.2.2.2:
//!
//! - every key with a value must match; return keys (empty values) always match;
//! - wildcards `*` and `?` match the whole value, case-sensitively, except for person names,
//!   which match case-insensitively and ignore trailing empty name components;
//! - integer strings (SeriesNumber, InstanceNumber, ...) compare as integers, so `4` equals
//!   `+4`; decimal strings compare as numbers;
//! - code strings compare without regard to case;
//! - a list in the query matches if any of its values matches; a multi-valued attribute in the
//!   result (ModalitiesInStudy `CT\SR`) matches if any of its values matches;
//! - dates, times and date-times match ranges inclusively; a partial time such as `12` spans
//!   its whole precision (12:00:00 to 12:59:59.999999).

use dicom_core::VR;

use super::attribute::Attribute;
use super::query::Query;
use super::result::QueryResult;
use super::value::{QueryValue, range_key};
use super::wildcard::{has_wildcards, wildcard_match};

/// What to do with a key whose attribute the result does not carry (absent or empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingAttribute {
    /// Count it as a match: the peer already matched it, or does not support the key and
    /// returned it empty. Right for results from a PACS.
    #[default]
    Accept,
    /// Count it as a mismatch (only a pure `*` matches a missing value). Right for records
    /// built from files, where nothing else has matched yet.
    Reject,
}

/// Whether `result` matches every key of `query`, accepting attributes the peer did not return.
pub fn matches(query: &Query, result: &QueryResult) -> bool {
    matches_with(query, result, MissingAttribute::Accept)
}

/// Whether `result` matches every key of `query`, with a choice for missing attributes.
pub fn matches_with(query: &Query, result: &QueryResult, missing: MissingAttribute) -> bool {
    query
        .keys()
        .all(|(attribute, value)| key_matches(attribute, value, result, missing))
}

fn key_matches(
    attribute: &Attribute,
    query: &QueryValue,
    result: &QueryResult,
    missing: MissingAttribute,
) -> bool {
    if query.is_empty() {
        return true;
    }
    let values = result.strings(attribute.tag());
    if values.is_empty() {
        let universal = query
            .as_single()
            .is_some_and(|q| q.chars().all(|c| c == '*'));
        return universal || missing == MissingAttribute::Accept;
    }
    let vr = attribute.vr();
    match query {
        QueryValue::Empty => true,
        QueryValue::Single(q) => values.iter().any(|v| value_matches(vr, q, v)),
        QueryValue::Multi(qs) => qs
            .iter()
            .any(|q| values.iter().any(|v| value_matches(vr, q, v))),
        QueryValue::Range { from, to } => values
            .iter()
            .any(|v| in_range(vr, from.as_deref(), to.as_deref(), v)),
    }
}

/// One query value against one result value.
fn value_matches(vr: VR, query: &str, value: &str) -> bool {
    match vr {
        VR::PN => wildcard_match(person_name(query), person_name(value), true),
        VR::IS => match (query.parse::<i64>(), value.trim().parse::<i64>()) {
            (Ok(q), Ok(v)) => q == v,
            _ => false,
        },
        VR::DS => match (query.parse::<f64>(), value.trim().parse::<f64>()) {
            (Ok(q), Ok(v)) => q == v,
            _ => false,
        },
        VR::DA | VR::TM | VR::DT => in_range(vr, Some(query), Some(query), value),
        VR::CS if has_wildcards(query) => wildcard_match(query, value, true),
        VR::CS => query.eq_ignore_ascii_case(value),
        VR::UI => query == value,
        _ if has_wildcards(query) => wildcard_match(query, value, false),
        _ => query == value,
    }
}

/// Inclusive range check on the comparable forms of dates and times.
fn in_range(vr: VR, from: Option<&str>, to: Option<&str>, value: &str) -> bool {
    let (Some(low), Some(high)) = (range_key(vr, value, false), range_key(vr, value, true)) else {
        return false;
    };
    let after_start = from
        .and_then(|f| range_key(vr, f, false))
        .is_none_or(|f| high >= f);
    let before_end = to
        .and_then(|t| range_key(vr, t, true))
        .is_none_or(|t| low <= t);
    after_start && before_end
}

/// The alphabetic component group of a person name without trailing empty components.
fn person_name(name: &str) -> &str {
    let alphabetic = name.split('=').next().unwrap_or(name);
    alphabetic.trim_end_matches(['^', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QueryLevel;
    use dicom_core::value::C;
    use dicom_core::{DataElement, PrimitiveValue, Tag};
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;

    fn result(elements: &[(Tag, VR, &str)]) -> QueryResult {
        let mut obj = InMemDicomObject::new_empty();
        for (tag, vr, value) in elements {
            let values: C<String> = value.split('\\').map(str::to_owned).collect();
            obj.put(DataElement::new(*tag, *vr, PrimitiveValue::Strs(values)));
        }
        QueryResult::new(obj)
    }

    fn query(level: QueryLevel, keys: &[&str]) -> Query {
        Query::parse(level, keys).unwrap()
    }

    #[test]
    fn patient_name_wildcards_ignore_case_and_trailing_components() {
        let r = result(&[(tags::PATIENT_NAME, VR::PN, "APPLE^ANNIE^^^")]);
        assert!(matches(
            &query(QueryLevel::Patient, &["PatientName=apple*"]),
            &r
        ));
        assert!(matches(
            &query(QueryLevel::Patient, &["PatientName=Apple*^Ann*"]),
            &r
        ));
        assert!(matches(
            &query(QueryLevel::Patient, &["PatientName=apple^annie"]),
            &r
        ));
        assert!(!matches(
            &query(QueryLevel::Patient, &["PatientName=Annie*"]),
            &r
        ));
        let ideographic = result(&[(tags::PATIENT_NAME, VR::PN, "Yamada^Tarou=山田^太郎")]);
        assert!(matches(
            &query(QueryLevel::Patient, &["PatientName=YAMADA*"]),
            &ideographic
        ));
    }

    #[test]
    fn description_wildcards_are_whole_value_and_case_sensitive() {
        let r = result(&[(tags::SERIES_DESCRIPTION, VR::LO, "t2_tse_tra 5mm")]);
        let q = |v: &str| query(QueryLevel::Series, &[&format!("SeriesDescription={v}")]);
        assert!(matches(&q("t2*"), &r));
        assert!(matches(&q("*tse*"), &r));
        assert!(
            !matches(&q("tse"), &r),
            "no substring match without wildcards"
        );
        assert!(!matches(&q("T2*"), &r), "case-sensitive like ADIT");
        assert!(matches(&q("t2_tse_tra 5mm"), &r));
    }

    #[test]
    fn series_number_compares_as_integer() {
        let r = result(&[(tags::SERIES_NUMBER, VR::IS, "+4")]);
        assert!(matches(&query(QueryLevel::Series, &["SeriesNumber=4"]), &r));
        assert!(matches(
            &query(QueryLevel::Series, &["SeriesNumber=004"]),
            &r
        ));
        assert!(!matches(
            &query(QueryLevel::Series, &["SeriesNumber=40"]),
            &r
        ));
        let garbage = result(&[(tags::SERIES_NUMBER, VR::IS, "x")]);
        assert!(!matches(
            &query(QueryLevel::Series, &["SeriesNumber=4"]),
            &garbage
        ));
    }

    #[test]
    fn modalities_in_study_match_any_value_against_any_query_value() {
        let r = result(&[(tags::MODALITIES_IN_STUDY, VR::CS, "CT\\SR")]);
        let q = |v: &str| query(QueryLevel::Study, &[&format!("ModalitiesInStudy={v}")]);
        assert!(matches(&q("SR"), &r));
        assert!(matches(&q("MR,CT"), &r));
        assert!(matches(&q("ct"), &r));
        assert!(!matches(&q("MR"), &r));
        assert!(!matches(&q("MR,PT"), &r));
    }

    #[test]
    fn date_ranges_are_inclusive_with_open_ends() {
        let r = result(&[(tags::STUDY_DATE, VR::DA, "20190604")]);
        let q = |v: &str| query(QueryLevel::Study, &[&format!("StudyDate={v}")]);
        assert!(matches(&q("20190604"), &r));
        assert!(matches(&q("20190604-20190604"), &r));
        assert!(matches(&q("20190101-"), &r));
        assert!(matches(&q("-20190604"), &r));
        assert!(!matches(&q("20190605-"), &r));
        assert!(!matches(&q("-20190603"), &r));
        assert!(!matches(&q("20190603"), &r));
    }

    #[test]
    fn times_match_at_their_precision() {
        let r = result(&[(tags::STUDY_TIME, VR::TM, "182823.123")]);
        let q = |v: &str| query(QueryLevel::Study, &[&format!("StudyTime={v}")]);
        assert!(matches(&q("18"), &r));
        assert!(matches(&q("1828"), &r));
        assert!(matches(&q("1800-1830"), &r));
        assert!(matches(&q("-18"), &r));
        assert!(!matches(&q("1829-"), &r));
        assert!(!matches(&q("17"), &r));
    }

    #[test]
    fn uid_lists_match_any() {
        let r = result(&[(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4")]);
        let q = |v: &str| query(QueryLevel::Series, &[&format!("SeriesInstanceUID={v}")]);
        assert!(matches(&q("1.2.3.4"), &r));
        assert!(matches(&q("1.2.3.5\\1.2.3.4"), &r));
        assert!(!matches(&q("1.2.3"), &r));
    }

    #[test]
    fn every_key_must_match_and_return_keys_always_do() {
        let r = result(&[
            (tags::PATIENT_ID, VR::LO, "1001"),
            (tags::MODALITY, VR::CS, "CT"),
        ]);
        let both = query(
            QueryLevel::Series,
            &["PatientID=1001", "Modality=CT", "SeriesDescription"],
        );
        assert!(matches(&both, &r));
        let one_wrong = query(QueryLevel::Series, &["PatientID=1001", "Modality=MR"]);
        assert!(!matches(&one_wrong, &r));
    }

    #[test]
    fn missing_attributes_are_accepted_from_peers_and_rejected_for_files() {
        let r = result(&[(tags::PATIENT_ID, VR::LO, "1001")]);
        let q = query(QueryLevel::Study, &["StudyDescription=Kopf*"]);
        assert!(matches(&q, &r));
        assert!(!matches_with(&q, &r, MissingAttribute::Reject));
        let star = query(QueryLevel::Study, &["StudyDescription=*"]);
        assert!(matches_with(&star, &r, MissingAttribute::Reject));
        let empty_value = result(&[(tags::STUDY_DESCRIPTION, VR::LO, "")]);
        assert!(!matches_with(&q, &empty_value, MissingAttribute::Reject));
    }

    #[test]
    fn accession_numbers_keep_leading_zeros() {
        let r = result(&[(tags::ACCESSION_NUMBER, VR::SH, "0062115936")]);
        assert!(matches(
            &query(QueryLevel::Study, &["AccessionNumber=0062115936"]),
            &r
        ));
        assert!(!matches(
            &query(QueryLevel::Study, &["AccessionNumber=62115936"]),
            &r
        ));
    }
}
