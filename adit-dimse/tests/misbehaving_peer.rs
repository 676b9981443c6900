//! A scripted SCP on dicom-ul that answers with garbage, goes silent or hangs up, so the error
//! paths of the SCU are exercised against bytes no real PACS would send.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use adit_core::model::{QueryLevel, QueryModel};
use adit_dimse::message::{CFindRsp, Command, Status};
use adit_dimse::scu;
use adit_dimse::{Error, PeerAddress};
use common::*;
use dicom_dictionary_std::uids;
use dicom_ul::ServerAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use futures::StreamExt;

/// How the scripted peer answers the first C-FIND request.
#[derive(Clone, Copy)]
enum Script {
    /// A command PDV of random-looking bytes.
    GarbageCommand,
    /// One valid pending response whose identifier is not a data set, then nothing.
    GarbageIdentifier,
    /// Nothing at all.
    Silent,
    /// Pending responses until the connection breaks, ignoring C-CANCEL.
    Flood,
    /// Closes the TCP connection.
    HangUp,
}

/// Starts the peer; the receiver fires when its script has ended (for the flood: when its
/// sends fail because we closed the association).
async fn scripted_peer_with_end(
    script: Script,
) -> (PeerAddress, tokio::sync::oneshot::Receiver<()>) {
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        play(listener, script).await;
        let _ = ended_tx.send(());
    });
    (PeerAddress::new("SCRIPTED", "127.0.0.1", port), ended_rx)
}

async fn scripted_peer(script: Script) -> PeerAddress {
    scripted_peer_with_end(script).await.0
}

async fn play(listener: tokio::net::TcpListener, script: Script) {
    {
        let (socket, _) = listener.accept().await.unwrap();
        let options = ServerAssociationOptions::new()
            .accept_any()
            .ae_title("SCRIPTED")
            .with_abstract_syntax(uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND)
            .with_transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .with_transfer_syntax(uids::IMPLICIT_VR_LITTLE_ENDIAN);
        let mut association = options.establish_async(socket).await.unwrap();
        // The request: command PDU and identifier PDU.
        let _command = association.receive().await.unwrap();
        let _identifier = association.receive().await.unwrap();
        let pending = |data: Vec<u8>| {
            let command = Command::FindRsp(CFindRsp {
                message_id_being_responded_to: 1,
                affected_sop_class_uid: None,
                status: Status::PENDING,
                has_data_set: true,
                error_comment: None,
            });
            Pdu::PData {
                data: vec![
                    PDataValue {
                        presentation_context_id: 1,
                        value_type: PDataValueType::Command,
                        is_last: true,
                        data: command.encode(),
                    },
                    PDataValue {
                        presentation_context_id: 1,
                        value_type: PDataValueType::Data,
                        is_last: true,
                        data,
                    },
                ],
            }
        };
        match script {
            Script::GarbageCommand => {
                let pdu = Pdu::PData {
                    data: vec![PDataValue {
                        presentation_context_id: 1,
                        value_type: PDataValueType::Command,
                        is_last: true,
                        data: vec![0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 0x05],
                    }],
                };
                association.send(&pdu).await.unwrap();
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Script::GarbageIdentifier => {
                let pdu = pending(vec![0x10, 0, 0x10, 0, b'P', b'N', 0xFF, 0x7F, b'X', b'Y']);
                association.send(&pdu).await.unwrap();
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Script::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
            Script::Flood => {
                let identifier = scu::encode_data_set(
                    &identifier(QueryLevel::Study, &[]),
                    uids::EXPLICIT_VR_LITTLE_ENDIAN,
                )
                .unwrap();
                loop {
                    if association
                        .send(&pending(identifier.clone()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Script::HangUp => drop(association),
        }
    }
}

/// A peer that reads the A-ASSOCIATE-RQ and closes the connection without answering, as a
/// single-process SCP still busy with another association may.
async fn closing_peer() -> PeerAddress {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 64];
        let _ = socket.read(&mut request).await;
    });
    PeerAddress::new("CLOSING", "127.0.0.1", port)
}

async fn first_error(peer: &PeerAddress, opts: &adit_dimse::DimseOptions) -> Error {
    let id = identifier(QueryLevel::Study, &[]);
    let stream = scu::find(peer, opts, QueryModel::StudyRoot, &id, None)
        .await
        .unwrap();
    let items: Vec<_> = tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends");
    items
        .into_iter()
        .find_map(Result::err)
        .expect("an error item")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_command_is_a_protocol_error_naming_the_peer() {
    let peer = scripted_peer(Script::GarbageCommand).await;
    let e = first_error(&peer, &options()).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    assert!(e.to_string().contains("SCRIPTED@127.0.0.1"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_identifier_is_an_error_not_a_panic() {
    let peer = scripted_peer(Script::GarbageIdentifier).await;
    let e = first_error(&peer, &options()).await;
    assert!(matches!(e, Error::Dicom { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_times_out_and_a_hang_up_is_a_lost_association() {
    let opts = adit_dimse::DimseOptions {
        dimse_timeout: Duration::from_millis(500),
        ..options()
    };
    let e = first_error(&scripted_peer(Script::Silent).await, &opts).await;
    assert!(
        matches!(
            e,
            Error::Timeout {
                stage: "response",
                ..
            }
        ),
        "{e}"
    );
    let e = first_error(&scripted_peer(Script::HangUp).await, &opts).await;
    assert!(matches!(e, Error::Association { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_ignoring_cancel_is_aborted_after_the_grace_time() {
    let (peer, ended) = scripted_peer_with_end(Script::Flood).await;
    let opts = adit_dimse::DimseOptions {
        cancel_grace: Duration::from_millis(300),
        ..options()
    };
    let id = identifier(QueryLevel::Study, &[]);
    let started = std::time::Instant::now();
    let stream = scu::find(&peer, &opts, QueryModel::StudyRoot, &id, Some(5))
        .await
        .unwrap();
    let items: Vec<_> = tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
        .await
        .expect("the limit ends the stream although the peer floods");
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(Result::is_ok));
    // The flood stops only when we close the association (C-CANCEL was ignored).
    tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("we aborted the association")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_closing_before_its_association_answer_is_a_lost_association_not_tls() {
    let peer = closing_peer().await;
    let e = tokio::time::timeout(Duration::from_secs(20), scu::echo(&peer, &options()))
        .await
        .expect("the SCU gives up promptly")
        .expect_err("no association without an answer");
    assert!(matches!(e, Error::Association { .. }), "{e}");
    assert!(e.is_retriable(), "{e}");
    let text = e.to_string();
    assert!(text.contains("CLOSING@127.0.0.1"), "{text}");
    assert!(text.contains("closed the connection"), "{text}");
}
