//! The receiver's protocol logic without I/O: [`ScpMachine`] turns the PDVs of one association
//! into [`Step`]s for the driver. Data PDVs are passed on as they come, so the driver can
//! stream an instance to disk without assembling it in memory.

use dicom_ul::pdu::{PDataValue, PDataValueType};

use crate::error::{Error, Result};
use crate::message::{CStoreRq, Command, MAX_COMMAND_SET_LEN};

/// What the driver has to do after one PDV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A C-ECHO-RQ arrived: answer it.
    Echo {
        /// The context it came on.
        presentation_context_id: u8,
        /// Its MessageID.
        message_id: u16,
    },
    /// A C-STORE-RQ command arrived; its data set follows in [`Step::StoreData`] steps.
    StoreStart {
        /// The context it came on.
        presentation_context_id: u8,
        /// The command.
        request: CStoreRq,
    },
    /// A piece of the data set of the open C-STORE.
    StoreData {
        /// The bytes, in the context's transfer syntax.
        bytes: Vec<u8>,
        /// Whether this completes the data set.
        last: bool,
    },
}

#[derive(Debug)]
enum State {
    Idle,
    Command { pc: u8, bytes: Vec<u8> },
    StoreData { pc: u8 },
}

/// Per-association PDV state machine of the C-STORE/C-ECHO SCP.
#[derive(Debug)]
pub struct ScpMachine {
    state: State,
}

impl Default for ScpMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl ScpMachine {
    /// A machine waiting for the first command.
    pub fn new() -> Self {
        Self { state: State::Idle }
    }

    /// Whether no message is half received (a release now loses nothing).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// Takes one PDV. Errors are protocol violations: the association is to be aborted.
    pub fn push(&mut self, pdv: PDataValue) -> Result<Option<Step>> {
        let PDataValue {
            presentation_context_id: pc,
            value_type,
            is_last,
            data,
        } = pdv;
        match (std::mem::replace(&mut self.state, State::Idle), value_type) {
            (State::Idle, PDataValueType::Command) => self.command(pc, data, is_last),
            (
                State::Command {
                    pc: open,
                    mut bytes,
                },
                PDataValueType::Command,
            ) => {
                same_context(open, pc)?;
                if bytes.len() + data.len() > MAX_COMMAND_SET_LEN {
                    return Err(Error::malformed("command set larger than 64 KiB"));
                }
                bytes.extend_from_slice(&data);
                self.command(pc, bytes, is_last)
            }
            (State::StoreData { pc: open }, PDataValueType::Data) => {
                same_context(open, pc)?;
                if !is_last {
                    self.state = State::StoreData { pc };
                }
                Ok(Some(Step::StoreData {
                    bytes: data,
                    last: is_last,
                }))
            }
            (State::Idle, PDataValueType::Data) => {
                Err(Error::malformed("data PDV without a command before it"))
            }
            (State::Command { .. }, PDataValueType::Data) => Err(Error::malformed(
                "data PDV before the command's last fragment",
            )),
            (State::StoreData { .. }, PDataValueType::Command) => Err(Error::malformed(
                "command PDV while a C-STORE data set was incomplete",
            )),
        }
    }

    fn command(&mut self, pc: u8, bytes: Vec<u8>, is_last: bool) -> Result<Option<Step>> {
        if !is_last {
            if bytes.len() > MAX_COMMAND_SET_LEN {
                return Err(Error::malformed("command set larger than 64 KiB"));
            }
            self.state = State::Command { pc, bytes };
            return Ok(None);
        }
        match Command::decode(&bytes)? {
            Command::EchoRq(rq) => Ok(Some(Step::Echo {
                presentation_context_id: pc,
                message_id: rq.message_id,
            })),
            Command::StoreRq(request) => {
                self.state = State::StoreData { pc };
                Ok(Some(Step::StoreStart {
                    presentation_context_id: pc,
                    request,
                }))
            }
            other => Err(Error::malformed(format!(
                "{} is not served by this C-STORE SCP",
                other.field()
            ))),
        }
    }
}

fn same_context(open: u8, got: u8) -> Result<()> {
    if open == got {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "PDV on presentation context {got} interleaved with a message on context {open}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{CEchoRq, MoveOriginator, Priority};

    fn pdv(value_type: PDataValueType, is_last: bool, data: Vec<u8>) -> PDataValue {
        PDataValue {
            presentation_context_id: 3,
            value_type,
            is_last,
            data,
        }
    }

    fn store_rq() -> CStoreRq {
        CStoreRq {
            message_id: 7,
            affected_sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            affected_sop_instance_uid: "2.25.1".into(),
            priority: Priority::Medium,
            move_originator: Some(MoveOriginator {
                ae_title: "ADIT".into(),
                message_id: 42,
            }),
        }
    }

    #[test]
    fn streams_a_store_piece_by_piece() {
        let mut m = ScpMachine::new();
        let bytes = Command::StoreRq(store_rq()).encode();
        let (a, b) = bytes.split_at(20);
        assert_eq!(
            m.push(pdv(PDataValueType::Command, false, a.to_vec()))
                .unwrap(),
            None
        );
        assert_eq!(
            m.push(pdv(PDataValueType::Command, true, b.to_vec()))
                .unwrap(),
            Some(Step::StoreStart {
                presentation_context_id: 3,
                request: store_rq()
            })
        );
        assert!(!m.is_idle());
        for (i, last) in [(1_u8, false), (2, false), (3, true)] {
            assert_eq!(
                m.push(pdv(PDataValueType::Data, last, vec![i; 4])).unwrap(),
                Some(Step::StoreData {
                    bytes: vec![i; 4],
                    last
                })
            );
        }
        assert!(m.is_idle());
        let echo = Command::EchoRq(CEchoRq {
            message_id: 8,
            affected_sop_class_uid: "1.2.840.10008.1.1".into(),
        });
        assert_eq!(
            m.push(pdv(PDataValueType::Command, true, echo.encode()))
                .unwrap(),
            Some(Step::Echo {
                presentation_context_id: 3,
                message_id: 8
            })
        );
    }

    #[test]
    fn protocol_violations_are_errors() {
        assert!(
            ScpMachine::new()
                .push(pdv(PDataValueType::Data, true, vec![0; 2]))
                .is_err()
        );
        assert!(
            ScpMachine::new()
                .push(pdv(PDataValueType::Command, true, vec![1, 2, 3]))
                .is_err()
        );
        // A C-FIND is not ours.
        let find = Command::FindRq(crate::message::QueryRq {
            message_id: 1,
            affected_sop_class_uid: "1.2.840.10008.5.1.4.1.2.2.1".into(),
            priority: Priority::Medium,
        });
        assert!(
            ScpMachine::new()
                .push(pdv(PDataValueType::Command, true, find.encode()))
                .is_err()
        );
        // A new command while data is open.
        let mut m = ScpMachine::new();
        m.push(pdv(
            PDataValueType::Command,
            true,
            Command::StoreRq(store_rq()).encode(),
        ))
        .unwrap();
        assert!(
            m.push(pdv(PDataValueType::Command, true, vec![0; 8]))
                .is_err()
        );
        // Data on another context.
        let mut m = ScpMachine::new();
        m.push(pdv(
            PDataValueType::Command,
            true,
            Command::StoreRq(store_rq()).encode(),
        ))
        .unwrap();
        let mut other = pdv(PDataValueType::Data, true, vec![0; 2]);
        other.presentation_context_id = 5;
        assert!(m.push(other).is_err());
        // An endless command set.
        let mut m = ScpMachine::new();
        let mut failed = false;
        for _ in 0..20 {
            if m.push(pdv(PDataValueType::Command, false, vec![0; 8192]))
                .is_err()
            {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
