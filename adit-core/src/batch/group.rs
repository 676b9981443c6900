//! ADIT's study grouping rule for batch transfer: all rows of one StudyInstanceUID become one
//! task, so one worker pseudonymizes the whole study consistently (ADIT issue #15).

use std::collections::HashMap;

use serde::Serialize;

use super::transfer::BatchTransferRow;
use crate::source::Selection;

/// One transfer task: a study, or some of its series, of one patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchTransferTask {
    /// Every line of the file that contributed, in file order.
    pub lines: Vec<u32>,
    /// PatientID (the same on every contributing row; checked by the parser).
    pub patient_id: String,
    /// StudyInstanceUID.
    pub study_uid: String,
    /// The series to transfer, de-duplicated in file order; empty means the whole study.
    pub series_uids: Vec<String>,
    /// The pseudonym (the same on every contributing row; checked by the parser).
    pub pseudonym: Option<String>,
}

impl BatchTransferTask {
    /// Whether the whole study is transferred.
    pub fn is_whole_study(&self) -> bool {
        self.series_uids.is_empty()
    }

    /// What to retrieve from the source.
    pub fn selection(&self) -> Selection {
        if self.series_uids.is_empty() {
            Selection::study(Some(&self.patient_id), &self.study_uid)
        } else {
            Selection::series(
                Some(&self.patient_id),
                &self.study_uid,
                self.series_uids.iter().cloned(),
            )
        }
    }
}

/// Groups rows by StudyInstanceUID, in order of first appearance.
///
/// A study becomes a whole-study task if any of its rows has no SeriesInstanceUID; otherwise
/// the task gets the union of the rows' series, without duplicates, in file order. Patient
/// and pseudonym come from the study's first row.
pub fn group_studies(rows: Vec<BatchTransferRow>) -> Vec<BatchTransferTask> {
    let mut tasks: Vec<BatchTransferTask> = Vec::new();
    // Per task: whether a row asked for the whole study.
    let mut whole: Vec<bool> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let position = *index.entry(row.study_uid.clone()).or_insert_with(|| {
            tasks.push(BatchTransferTask {
                lines: Vec::new(),
                patient_id: row.patient_id.clone(),
                study_uid: row.study_uid.clone(),
                series_uids: Vec::new(),
                pseudonym: row.pseudonym.clone(),
            });
            whole.push(false);
            tasks.len() - 1
        });
        let (Some(task), Some(whole)) = (tasks.get_mut(position), whole.get_mut(position)) else {
            continue;
        };
        task.lines.push(row.line);
        match row.series_uid {
            None => *whole = true,
            Some(uid) if !task.series_uids.contains(&uid) => task.series_uids.push(uid),
            Some(_) => {}
        }
    }
    for (task, whole) in tasks.iter_mut().zip(whole) {
        if whole {
            task.series_uids.clear();
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u32, patient: &str, study: &str, series: Option<&str>) -> BatchTransferRow {
        BatchTransferRow {
            line,
            patient_id: patient.into(),
            study_uid: study.into(),
            series_uid: series.map(Into::into),
            pseudonym: Some(format!("P-{patient}")),
        }
    }

    #[test]
    fn rows_of_one_study_become_one_task() {
        let tasks = group_studies(vec![
            row(2, "111", "1.2.3", Some("1.2.3.1")),
            row(3, "222", "1.2.4", Some("1.2.4.1")),
            row(4, "222", "1.2.4", Some("1.2.4.2")),
            row(5, "222", "1.2.4", Some("1.2.4.1")),
        ]);
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].lines, [2]);
        assert_eq!(tasks[0].series_uids, ["1.2.3.1"]);
        assert_eq!(tasks[1].lines, [3, 4, 5]);
        assert_eq!(tasks[1].series_uids, ["1.2.4.1", "1.2.4.2"]);
        assert_eq!(tasks[1].pseudonym.as_deref(), Some("P-222"));
        assert_eq!(
            tasks[1].selection(),
            Selection::series(Some("222"), "1.2.4", ["1.2.4.1", "1.2.4.2"])
        );
    }

    #[test]
    fn one_row_without_series_makes_it_the_whole_study() {
        let tasks = group_studies(vec![
            row(2, "111", "1.2.3", Some("1.2.3.1")),
            row(3, "333", "1.2.9", None),
            row(4, "111", "1.2.3", None),
            row(5, "111", "1.2.3", Some("1.2.3.2")),
        ]);
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].lines, [2, 4, 5]);
        assert!(tasks[0].is_whole_study());
        assert_eq!(tasks[0].selection(), Selection::study(Some("111"), "1.2.3"));
        assert_eq!(tasks[1].study_uid, "1.2.9");
        assert!(tasks[1].is_whole_study());
    }
}
