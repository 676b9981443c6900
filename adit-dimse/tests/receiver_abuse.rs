//! The receiver against senders that misbehave: garbage bytes, malformed PDUs and command
//! sets, and senders that die in the middle of an instance. Each must end that association
//! (abort or close), leave nothing that looks complete, and the receiver must serve the next.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use adit_dimse::message::{CStoreRq, Command, Priority};
use adit_dimse::scp::{Receiver, ReceiverOptions, spool};
use common::*;
use dicom_dictionary_std::uids;
use dicom_ul::ClientAssociationOptions;
use dicom_ul::association::AsyncClientAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const AE: &str = "ADIT-RCV";

async fn receiver(spool: &Path) -> Receiver {
    let mut options = ReceiverOptions::new(AE, spool);
    options.idle_timeout = Duration::from_secs(3);
    options.association_timeout = Duration::from_secs(3);
    Receiver::bind("127.0.0.1:0", options).await.unwrap()
}

async fn associate(receiver: &Receiver) -> AsyncClientAssociation<TcpStream> {
    ClientAssociationOptions::new()
        .calling_ae_title("ABUSER")
        .called_ae_title(AE)
        .with_presentation_context(
            uids::CT_IMAGE_STORAGE,
            vec![uids::EXPLICIT_VR_LITTLE_ENDIAN],
        )
        .read_timeout(Duration::from_secs(10))
        .establish_async(receiver.local_addr())
        .await
        .unwrap()
}

/// The receiver still answers a proper C-ECHO.
async fn still_serves(receiver: &Receiver) {
    let address = adit_dimse::PeerAddress::new(AE, "127.0.0.1", receiver.local_addr().port());
    adit_dimse::scu::echo(&address, &options()).await.unwrap();
}

/// Reads until the receiver aborts or closes; panics if it keeps the association open.
async fn expect_end(association: &mut AsyncClientAssociation<TcpStream>) {
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        match association.receive().await {
            Ok(Pdu::AbortRQ { .. }) | Err(_) => {}
            Ok(other) => panic!("expected an abort, got {other:?}"),
        }
    })
    .await;
    assert!(ended.is_ok(), "the receiver kept a broken association open");
}

fn store_command(uid: &str) -> Vec<u8> {
    Command::StoreRq(CStoreRq {
        message_id: 1,
        affected_sop_class_uid: uids::CT_IMAGE_STORAGE.into(),
        affected_sop_instance_uid: uid.into(),
        priority: Priority::Medium,
        move_originator: None,
    })
    .encode()
}

fn pdata(value_type: PDataValueType, is_last: bool, data: Vec<u8>) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: 1,
            value_type,
            is_last,
            data,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_instead_of_an_association_request_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = receiver(dir.path()).await;
    for garbage in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00],
        (0..5000_u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ] {
        let mut socket = TcpStream::connect(receiver.local_addr()).await.unwrap();
        let _ = socket.write_all(&garbage).await;
        let mut buf = vec![0_u8; 1024];
        // The receiver answers with an abort or reject PDU or just closes; it never hangs.
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(read.is_ok(), "connection left open after garbage");
        still_serves(&receiver).await;
    }
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_command_set_and_a_malformed_pdu_abort_the_association() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = receiver(dir.path()).await;

    // A command set that is not one.
    let mut a = associate(&receiver).await;
    a.send(&pdata(
        PDataValueType::Command,
        true,
        vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3],
    ))
    .await
    .unwrap();
    expect_end(&mut a).await;
    still_serves(&receiver).await;

    // A data PDV with no command before it.
    let mut a = associate(&receiver).await;
    a.send(&pdata(PDataValueType::Data, true, vec![0; 16]))
        .await
        .unwrap();
    expect_end(&mut a).await;
    still_serves(&receiver).await;

    // A C-FIND to a store SCP.
    let mut a = associate(&receiver).await;
    let find = Command::FindRq(adit_dimse::message::QueryRq {
        message_id: 1,
        affected_sop_class_uid: uids::CT_IMAGE_STORAGE.into(),
        priority: Priority::Medium,
    });
    a.send(&pdata(PDataValueType::Command, true, find.encode()))
        .await
        .unwrap();
    expect_end(&mut a).await;
    still_serves(&receiver).await;

    // A PDU header announcing more than we accept, then junk, on an open association.
    let mut a = associate(&receiver).await;
    a.inner_stream()
        .write_all(&[0x04, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4])
        .await
        .unwrap();
    expect_end(&mut a).await;
    still_serves(&receiver).await;

    // A path in place of a SOP Instance UID: refused, never written outside the spool.
    let mut a = associate(&receiver).await;
    a.send(&pdata(
        PDataValueType::Command,
        true,
        store_command("../../escape"),
    ))
    .await
    .unwrap();
    a.send(&pdata(
        PDataValueType::Data,
        true,
        vec![0x08, 0x00, 0x18, 0x00, b'U', b'I', 2, 0, b'1', 0],
    ))
    .await
    .unwrap();
    match tokio::time::timeout(Duration::from_secs(10), a.receive())
        .await
        .unwrap()
        .unwrap()
    {
        Pdu::PData { data } => {
            let rsp = Command::decode(&data[0].data).unwrap();
            let status = rsp.status().unwrap();
            assert!(!status.is_good(), "{status}");
        }
        other => panic!("expected a C-STORE-RSP, got {other:?}"),
    }
    a.release().await.unwrap();
    assert!(!dir.path().parent().unwrap().join("escape.dcm").exists());
    assert_eq!(walk(dir.path()).len(), 0, "{:?}", walk(dir.path()));
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_dying_mid_instance_leaves_no_file_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = receiver(dir.path()).await;
    let corpus = corpus("receiver-abuse");
    let instance = corpus.instances().next().unwrap();
    let part10 = instance.to_part10().unwrap();
    let parsed = adit_core::instance::Instance::from_part10(part10).unwrap();
    let data = parsed.dataset_bytes().unwrap().to_vec();
    let uid = parsed.sop_instance_uid().to_owned();

    let mut a = associate(&receiver).await;
    a.send(&pdata(PDataValueType::Command, true, store_command(&uid)))
        .await
        .unwrap();
    a.send(&pdata(
        PDataValueType::Data,
        false,
        data[..data.len() / 2].to_vec(),
    ))
    .await
    .unwrap();
    // Let the receiver write the first half.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(a); // the sender dies: the TCP connection closes without release or abort
    // The receiver notices, removes the partial file and keeps serving.
    let clean = tokio::time::timeout(Duration::from_secs(10), async {
        while !walk(dir.path()).is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(clean.is_ok(), "left behind: {:?}", walk(dir.path()));
    assert!(spool::scan(dir.path()).unwrap().is_empty());
    still_serves(&receiver).await;

    // The same instance sent completely afterwards is stored and acknowledged.
    let mut events = receiver.subscribe();
    let mut a = associate(&receiver).await;
    a.send(&pdata(PDataValueType::Command, true, store_command(&uid)))
        .await
        .unwrap();
    a.send(&pdata(PDataValueType::Data, true, data.clone()))
        .await
        .unwrap();
    match tokio::time::timeout(Duration::from_secs(10), a.receive())
        .await
        .unwrap()
        .unwrap()
    {
        Pdu::PData { data } => {
            let rsp = Command::decode(&data[0].data).unwrap();
            assert!(rsp.status().unwrap().is_good());
        }
        other => panic!("expected a C-STORE-RSP, got {other:?}"),
    }
    a.release().await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    let stored =
        adit_core::instance::Instance::from_part10(std::fs::read(&got.path).unwrap()).unwrap();
    assert_eq!(stored.dataset_bytes().unwrap().to_vec(), data);
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_association_is_aborted_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = receiver(dir.path()).await;
    let mut a = associate(&receiver).await;
    let started = std::time::Instant::now();
    expect_end(&mut a).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    still_serves(&receiver).await;
    receiver.shutdown().await;
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
