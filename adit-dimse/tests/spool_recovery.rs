//! The durable hand-off without peers: spool files with a Move Originator written by the
//! receiver's own writer, claimed by a worker that then "dies" (lease never refreshed), come
//! back to the spool and are delivered to the next move of the same study, even though their
//! Move Originator names the dead worker's move.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use adit_core::instance::Instance;
use adit_dimse::scp::claim::{self, ClaimDir};
use adit_dimse::scp::spool::{self, Provenance, SpoolFile};
use adit_dimse::scp::{Expectation, MoveCoordinator};
use common::*;

/// Makes a file look written an hour ago.
fn age(path: &Path) {
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_of_a_dead_worker_come_back_and_reach_the_next_move() {
    let corpus = corpus("spool-recovery");
    let (_, study) = corpus.manifest().studies().next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let association = spool_dir.join(spool::association_folder(1, 1, "ORTHANC"));

    // The receiver wrote the study for move 0x1111 of worker ADIT-TEST.
    let mut uids = BTreeSet::new();
    for generated in corpus.study_instances(&study.study_instance_uid) {
        let instance = Instance::from_part10(generated.to_part10().unwrap()).unwrap();
        let mut file = SpoolFile::create(
            &association,
            instance.sop_class_uid(),
            instance.sop_instance_uid(),
            instance.transfer_syntax(),
            &Provenance {
                calling_ae: "ORTHANC".into(),
                called_ae: "ADIT-RCV".into(),
                move_originator: Some((CALLING.into(), 0x1111)),
            },
        )
        .await
        .unwrap();
        file.write(&instance.dataset_bytes().unwrap())
            .await
            .unwrap();
        file.commit().await.unwrap();
        uids.insert(instance.sop_instance_uid().to_owned());
    }
    assert_eq!(spool::scan(&spool_dir).unwrap().len(), uids.len());

    // That worker claimed them all and died: its lease and the files are an hour old.
    let dead = ClaimDir::create(&spool_dir, "dead-worker").unwrap();
    for path in spool::scan(&spool_dir).unwrap() {
        let claimed = dead.claim(&path).unwrap().unwrap();
        age(&claimed);
    }
    age(&dead.path().join("lease"));
    let dead_dir = dead.path().to_owned();
    std::mem::forget(dead);
    assert!(spool::scan(&spool_dir).unwrap().is_empty());

    // A worker (another process in real life) watches the spool; the job's retry registers a
    // new move (another Message ID) for the same study.
    let coordinator =
        MoveCoordinator::watch_spool("ADIT-RCV", &spool_dir, Duration::from_millis(100))
            .unwrap()
            .with_stale_claims_after(Duration::from_secs(60));
    let mut waiter = coordinator.register(Expectation {
        originator_ae: CALLING.into(),
        message_id: 0x2222,
        study_instance_uid: study.study_instance_uid.clone(),
        series_instance_uids: Vec::new(),
        sop_instance_uids: Some(uids.clone()),
    });
    let mut got = BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while got.len() < uids.len() {
            let instance = waiter.next().await.unwrap();
            assert_eq!(instance.move_originator_message_id, None, "offered by UIDs");
            let claimed = coordinator.claim(&instance).unwrap().unwrap();
            let bytes = std::fs::read(&claimed).unwrap();
            assert_same_as_corpus(Instance::from_part10(bytes).unwrap(), &corpus);
            coordinator.release(&claimed).unwrap();
            got.insert(instance.sop_instance_uid);
        }
    })
    .await
    .expect("the recovered instances reached the new move");
    assert_eq!(got, uids);
    assert!(!dead_dir.exists(), "the dead worker's claim folder is gone");
    assert!(spool::scan(&spool_dir).unwrap().is_empty());
    assert!(claim::recover_stale(&spool_dir, Duration::ZERO).unwrap() == 0);
}
