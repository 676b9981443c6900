//! P-DATA handling without I/O: [`Assembler`] turns received PDVs into whole [`Message`]s,
//! [`fragment`] splits an outgoing message into P-DATA-TF PDUs for the peer's max PDU length.
//!
//! Rules (PS3.8 Annex E): a message is its command PDVs (until one flagged last), then, if the
//! command says so, its data PDVs (until one flagged last), all on one presentation context,
//! never interleaved with another message. PDVs of one message may come in one PDU or many.

use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};

use super::command::Command;
use crate::error::{Error, Result};

/// Size of a PDV item header inside a P-DATA-TF PDU (length u32, context id, control byte).
pub const PDV_HEADER_LEN: u32 = 6;

/// Largest fragment we put into one PDV, whatever the peer allows: keeps each send small
/// enough to stay responsive and memory bounded when a peer announces "unlimited" (0).
pub const MAX_FRAGMENT_LEN: u32 = 4 * 1024 * 1024;

/// Smallest max PDU length the standard lets a peer announce that we honour as given.
const MIN_PEER_MAX_PDU: u32 = 1024;

/// One complete DIMSE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The presentation context it travelled on.
    pub presentation_context_id: u8,
    /// The decoded command.
    pub command: Command,
    /// The data set bytes in the context's transfer syntax, when the command has one.
    pub data: Option<Vec<u8>>,
}

#[derive(Debug)]
enum State {
    Idle,
    Command {
        pc: u8,
        bytes: Vec<u8>,
    },
    Data {
        pc: u8,
        command: Command,
        bytes: Vec<u8>,
    },
}

/// Collects PDVs into messages. Feed every PDV of every received P-DATA-TF in order.
#[derive(Debug)]
pub struct Assembler {
    state: State,
    max_data_len: usize,
}

impl Assembler {
    /// An assembler that refuses data sets larger than `max_data_len` bytes (the memory bound
    /// for one message).
    pub fn new(max_data_len: usize) -> Self {
        Self {
            state: State::Idle,
            max_data_len,
        }
    }

    /// Whether a message is partly received.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// Takes one PDV; returns a message when this PDV completed one.
    pub fn push(&mut self, pdv: PDataValue) -> Result<Option<Message>> {
        let state = std::mem::replace(&mut self.state, State::Idle);
        let PDataValue {
            presentation_context_id: pc,
            value_type,
            is_last,
            data,
        } = pdv;
        match (state, value_type) {
            (State::Idle, PDataValueType::Command) => self.command_part(pc, data, is_last),
            (
                State::Command {
                    pc: open,
                    mut bytes,
                },
                PDataValueType::Command,
            ) => {
                check_same_context(open, pc)?;
                if bytes.len() + data.len() > super::command_set::MAX_COMMAND_SET_LEN {
                    return Err(Error::malformed("command set larger than 64 KiB"));
                }
                bytes.extend_from_slice(&data);
                self.command_part(pc, bytes, is_last)
            }
            (
                State::Data {
                    pc: open,
                    command,
                    mut bytes,
                },
                PDataValueType::Data,
            ) => {
                check_same_context(open, pc)?;
                if bytes.len() + data.len() > self.max_data_len {
                    return Err(Error::malformed(format!(
                        "data set larger than the limit of {} bytes",
                        self.max_data_len
                    )));
                }
                if bytes.is_empty() {
                    bytes = data;
                } else {
                    bytes.extend_from_slice(&data);
                }
                if is_last {
                    Ok(Some(Message {
                        presentation_context_id: pc,
                        command,
                        data: Some(bytes),
                    }))
                } else {
                    self.state = State::Data { pc, command, bytes };
                    Ok(None)
                }
            }
            (State::Idle, PDataValueType::Data) => {
                Err(Error::malformed("data PDV without a command before it"))
            }
            (State::Command { .. }, PDataValueType::Data) => Err(Error::malformed(
                "data PDV before the command's last fragment",
            )),
            (State::Data { .. }, PDataValueType::Command) => Err(Error::malformed(
                "command PDV while the previous message's data set was incomplete",
            )),
        }
    }

    fn command_part(&mut self, pc: u8, bytes: Vec<u8>, is_last: bool) -> Result<Option<Message>> {
        if !is_last {
            self.state = State::Command { pc, bytes };
            return Ok(None);
        }
        let command = Command::decode(&bytes)?;
        if command.has_data_set() {
            self.state = State::Data {
                pc,
                command,
                bytes: Vec::new(),
            };
            Ok(None)
        } else {
            Ok(Some(Message {
                presentation_context_id: pc,
                command,
                data: None,
            }))
        }
    }
}

fn check_same_context(open: u8, got: u8) -> Result<()> {
    if open == got {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "PDV on presentation context {got} interleaved with a message on context {open}"
        )))
    }
}

/// The largest PDV payload to send to a peer that announced `peer_max_pdu` (0 = no limit):
/// the PDU length minus the PDV header, even, and at most [`MAX_FRAGMENT_LEN`].
pub fn fragment_len(peer_max_pdu: u32) -> usize {
    let max = if peer_max_pdu == 0 {
        MAX_FRAGMENT_LEN
    } else {
        peer_max_pdu.clamp(MIN_PEER_MAX_PDU, MAX_FRAGMENT_LEN)
    };
    ((max - PDV_HEADER_LEN) & !1) as usize
}

/// Splits `bytes` into P-DATA-TF PDUs of one PDV each, the last flagged last. Command and data
/// never share a PDU (some SCPs choke on that). An empty value still gives one (empty) PDV.
pub fn fragment(
    presentation_context_id: u8,
    value_type: PDataValueType,
    bytes: &[u8],
    peer_max_pdu: u32,
) -> impl Iterator<Item = Pdu> + '_ {
    let len = fragment_len(peer_max_pdu);
    let count = bytes.len().div_ceil(len).max(1);
    (0..count).map(move |i| {
        let start = (i * len).min(bytes.len());
        let end = ((i + 1) * len).min(bytes.len());
        Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id,
                value_type: value_type.clone(),
                is_last: i + 1 == count,
                data: bytes[start..end].to_vec(),
            }],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{CEchoRsp, CFindRsp, CStoreRq, Priority, Status};

    fn pdvs(pdus: impl Iterator<Item = Pdu>) -> Vec<PDataValue> {
        pdus.flat_map(|p| match p {
            Pdu::PData { data } => data,
            other => panic!("not P-DATA: {other:?}"),
        })
        .collect()
    }

    fn store_rq() -> Command {
        Command::StoreRq(CStoreRq {
            message_id: 9,
            affected_sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            affected_sop_instance_uid: "2.25.99".into(),
            priority: Priority::Medium,
            move_originator: None,
        })
    }

    #[test]
    fn fragments_respect_the_peer_max_and_are_even() {
        assert_eq!(fragment_len(16384), 16378);
        assert_eq!(fragment_len(0), (MAX_FRAGMENT_LEN - 6) as usize);
        assert_eq!(fragment_len(u32::MAX), (MAX_FRAGMENT_LEN - 6) as usize);
        // A nonsense tiny max still leaves room for progress.
        assert_eq!(fragment_len(10), 1018);
        let data: Vec<u8> = (0..50_000_u32).map(|i| i as u8).collect();
        let out = pdvs(fragment(3, PDataValueType::Data, &data, 16384));
        assert_eq!(out.len(), 4);
        assert!(
            out.iter()
                .all(|p| p.data.len() <= 16378 && p.data.len() % 2 == 0)
        );
        assert_eq!(
            out.iter().map(|p| p.is_last).collect::<Vec<_>>(),
            [false, false, false, true]
        );
        let joined: Vec<u8> = out.iter().flat_map(|p| p.data.clone()).collect();
        assert_eq!(joined, data);
        // Empty value: one empty last PDV.
        let empty = pdvs(fragment(1, PDataValueType::Command, &[], 16384));
        assert_eq!(empty.len(), 1);
        assert!(empty[0].is_last && empty[0].data.is_empty());
    }

    #[test]
    fn reassembles_split_command_and_data() {
        let command = store_rq();
        let data: Vec<u8> = (0..40_000_u32).map(|i| (i % 251) as u8).collect();
        let encoded = command.encode();
        let mut assembler = Assembler::new(1 << 20);
        let mut done = Vec::new();
        // Command split into 1018-byte pieces is impossible (it is smaller), so split the
        // command by hand into two PDVs and the data by the fragmenter.
        let (a, b) = encoded.split_at(10);
        for (part, last) in [(a, false), (b, true)] {
            let pdv = PDataValue {
                presentation_context_id: 5,
                value_type: PDataValueType::Command,
                is_last: last,
                data: part.to_vec(),
            };
            assert!(assembler.push(pdv).unwrap().is_none());
        }
        for pdv in pdvs(fragment(5, PDataValueType::Data, &data, 4096)) {
            done.extend(assembler.push(pdv).unwrap());
        }
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].presentation_context_id, 5);
        assert_eq!(done[0].command, command);
        assert_eq!(done[0].data.as_deref(), Some(data.as_slice()));
        assert!(assembler.is_idle());
    }

    #[test]
    fn command_and_data_in_one_pdu_and_back_to_back_messages() {
        // One PDU carrying a command without data, then a command + data (as some SCPs send).
        let echo = Command::EchoRsp(CEchoRsp {
            message_id_being_responded_to: 1,
            affected_sop_class_uid: None,
            status: Status::SUCCESS,
        });
        let find = Command::FindRsp(CFindRsp {
            message_id_being_responded_to: 2,
            affected_sop_class_uid: None,
            status: Status::PENDING,
            has_data_set: true,
            error_comment: None,
        });
        let pdv = |value_type, is_last, data: Vec<u8>| PDataValue {
            presentation_context_id: 1,
            value_type,
            is_last,
            data,
        };
        let mut assembler = Assembler::new(1024);
        let mut out = Vec::new();
        for p in [
            pdv(PDataValueType::Command, true, echo.encode()),
            pdv(PDataValueType::Command, true, find.encode()),
            pdv(PDataValueType::Data, true, vec![8, 0, 0x52, 0, 0, 0, 0, 0]),
        ] {
            out.extend(assembler.push(p).unwrap());
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].command, echo);
        assert!(out[0].data.is_none());
        assert_eq!(out[1].command, find);
        assert_eq!(out[1].data.as_ref().map(Vec::len), Some(8));
    }

    #[test]
    fn protocol_violations_are_errors() {
        let data = |pc, last| PDataValue {
            presentation_context_id: pc,
            value_type: PDataValueType::Data,
            is_last: last,
            data: vec![0; 4],
        };
        let command = |pc, last, bytes: Vec<u8>| PDataValue {
            presentation_context_id: pc,
            value_type: PDataValueType::Command,
            is_last: last,
            data: bytes,
        };
        // Data without a command.
        assert!(Assembler::new(64).push(data(1, true)).is_err());
        // Data before the command's last fragment.
        let mut a = Assembler::new(64);
        a.push(command(1, false, vec![0, 0])).unwrap();
        assert!(a.push(data(1, true)).is_err());
        // Interleaved contexts.
        let mut a = Assembler::new(64);
        a.push(command(1, true, store_rq().encode())).unwrap();
        assert!(a.push(data(3, true)).is_err());
        // Command while data incomplete.
        let mut a = Assembler::new(64);
        a.push(command(1, true, store_rq().encode())).unwrap();
        a.push(data(1, false)).unwrap();
        assert!(a.push(command(1, true, store_rq().encode())).is_err());
        // Data set over the limit.
        let mut a = Assembler::new(6);
        a.push(command(1, true, store_rq().encode())).unwrap();
        a.push(data(1, false)).unwrap();
        assert!(a.push(data(1, true)).is_err());
        // A garbage command set.
        assert!(
            Assembler::new(64)
                .push(command(1, true, vec![1, 2, 3, 4, 5, 6, 7, 8, 9]))
                .is_err()
        );
    }

    #[test]
    fn arbitrary_pdv_sequences_never_panic() {
        // A cheap deterministic fuzz: a xorshift stream of PDV shapes and byte soups.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let valid = store_rq().encode();
        for _ in 0..2000 {
            let mut a = Assembler::new(256);
            for _ in 0..8 {
                let r = next();
                let data = if r % 3 == 0 {
                    let cut = (r as usize >> 8) % (valid.len() + 1);
                    valid[..cut].to_vec()
                } else {
                    (0..(r >> 16) % 40).map(|_| next() as u8).collect()
                };
                let pdv = PDataValue {
                    presentation_context_id: (r >> 4) as u8 % 3,
                    value_type: if r & 1 == 0 {
                        PDataValueType::Command
                    } else {
                        PDataValueType::Data
                    },
                    is_last: r & 2 == 0,
                    data,
                };
                if a.push(pdv).is_err() {
                    a = Assembler::new(256);
                }
            }
        }
    }
}
