//! Deterministic values for a corpus: every value is a function of the seed and a label.

use sha2::{Digest, Sha256};

use super::CorpusSpec;
use super::manifest::{Manifest, PatientEntry, SeriesEntry, StudyEntry};

/// Family names for synthetic patients (common surnames, no real people).
const FAMILY_NAMES: &[&str] = &[
    "SMITH",
    "GARCIA",
    "NGUYEN",
    "JOHANSSON",
    "ROSSI",
    "DUBOIS",
    "KOWALSKI",
    "TANAKA",
    "OKAFOR",
    "SILVA",
    "JANSEN",
    "NOVAK",
];
const GIVEN_NAMES: &[&str] = &[
    "JOHN", "MARIA", "LENA", "OMAR", "GRACE", "PAUL", "SOFIA", "KENJI", "AMARA", "LUCAS",
];
/// The one patient per corpus whose name needs Latin-1 (ISO_IR 100).
const LATIN1_NAME: &str = "MÜLLER^ANNA";

const CT_STUDIES: &[(&str, &str)] = &[
    ("CT HEAD WITHOUT CONTRAST", "HEAD"),
    ("CT CHEST WITH CONTRAST", "CHEST"),
    ("CT ABDOMEN PELVIS", "ABDOMEN"),
];
const MR_STUDIES: &[(&str, &str)] = &[
    ("MR BRAIN", "BRAIN"),
    ("MR KNEE LEFT", "KNEE"),
    ("MR LUMBAR SPINE", "LSPINE"),
];
const CT_SERIES: &[&str] = &[
    "Topogram 0.6 T20s",
    "Axial 5.0 Br40 soft tissue",
    "Axial 1.0 Br64 bone",
    "Coronal MPR 3.0",
];
const MR_SERIES: &[&str] = &[
    "t1_mprage_sag",
    "t2_tse_tra 5mm",
    "flair_tra",
    "dwi_tra b1000",
];

/// SHA-256 of `seed/label`.
pub(super) fn hash(seed: &str, label: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(b"/");
    h.update(label.as_bytes());
    h.finalize().into()
}

/// A number in `0..n` derived from `seed/label`.
pub(super) fn pick(seed: &str, label: &str, n: usize) -> usize {
    let h = hash(seed, label);
    let v = u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
    // n is small; the modulo bias is irrelevant for test data.
    (v % n.max(1) as u64) as usize
}

/// A `2.25.<decimal>` UID from the first 128 bits of `seed/label` (at most 44 characters).
pub(super) fn uid(seed: &str, label: &str) -> String {
    let h = hash(seed, label);
    let mut first = [0u8; 16];
    first.copy_from_slice(&h[..16]);
    format!("2.25.{}", u128::from_be_bytes(first))
}

/// Four upper-case hex digits identifying the seed.
pub(super) fn seed_tag(seed: &str) -> String {
    let h = hash(seed, "tag");
    format!("{:02X}{:02X}", h[0], h[1])
}

/// A date `YYYYMMDD` with the year in `years` (day ≤ 28 keeps every month valid).
fn date(seed: &str, label: &str, years: std::ops::Range<usize>) -> String {
    let year = years.start + pick(seed, &format!("{label}/y"), years.len());
    let month = 1 + pick(seed, &format!("{label}/m"), 12);
    let day = 1 + pick(seed, &format!("{label}/d"), 28);
    format!("{year:04}{month:02}{day:02}")
}

pub(super) fn plan(spec: &CorpusSpec) -> Manifest {
    let seed = spec.seed.as_str();
    let tag = seed_tag(seed);
    let mut study_counter = 0usize;
    let patients = (0..spec.patients)
        .map(|p| {
            let patient_name = if p == 1 {
                LATIN1_NAME.to_owned()
            } else {
                format!(
                    "{}^{}",
                    FAMILY_NAMES[pick(seed, &format!("p{p}/family"), FAMILY_NAMES.len())],
                    GIVEN_NAMES[pick(seed, &format!("p{p}/given"), GIVEN_NAMES.len())]
                )
            };
            let sex = ["F", "M", "F", "M", "O"][pick(seed, &format!("p{p}/sex"), 5)].to_owned();
            let studies = (0..spec.studies_per_patient)
                .map(|k| {
                    let global = study_counter;
                    study_counter += 1;
                    plan_study(spec, &tag, p, k, global)
                })
                .collect();
            PatientEntry {
                patient_id: format!("GC{tag}{:04}", p + 1),
                patient_name,
                sex,
                birth_date: date(seed, &format!("p{p}/birth"), 1935..2000),
                studies,
            }
        })
        .collect();
    Manifest {
        seed: spec.seed.clone(),
        tag,
        patients,
    }
}

fn plan_study(spec: &CorpusSpec, tag: &str, p: usize, k: usize, global: usize) -> StudyEntry {
    let seed = spec.seed.as_str();
    let label = format!("p{p}/st{k}");
    let ct = global.is_multiple_of(2);
    let (modality, studies, series_names) = if ct {
        ("CT", CT_STUDIES, CT_SERIES)
    } else {
        ("MR", MR_STUDIES, MR_SERIES)
    };
    let (description, body_part) = studies[pick(seed, &format!("{label}/desc"), studies.len())];
    let study_date = date(seed, &format!("{label}/date"), 2015..2025);
    let hour = 7 + pick(seed, &format!("{label}/h"), 12);
    let minute = pick(seed, &format!("{label}/min"), 60);
    let second = pick(seed, &format!("{label}/s"), 60);
    let study_uid = uid(seed, &label);
    let series = (0..spec.series_per_study)
        .map(|s| {
            let series_label = format!("{label}/se{s}");
            SeriesEntry {
                series_instance_uid: uid(seed, &series_label),
                series_number: s as u32 + 1,
                description: series_names[s % series_names.len()].to_owned(),
                body_part: body_part.to_owned(),
                modality: modality.to_owned(),
                sop_instance_uids: (0..spec.instances_per_series)
                    .map(|i| uid(seed, &format!("{series_label}/im{i}")))
                    .collect(),
            }
        })
        .collect();
    StudyEntry {
        accession_number: format!("A{tag}{}{:04}", &study_date[2..8], global + 1),
        study_id: format!("{}", 1000 + global),
        study_date,
        study_time: format!("{hour:02}{minute:02}{second:02}"),
        description: description.to_owned(),
        modality: modality.to_owned(),
        frame_of_reference_uid: uid(seed, &format!("{label}/for")),
        institution_name: format!("Synthetic General Hospital {tag}"),
        study_instance_uid: study_uid,
        series,
    }
}
