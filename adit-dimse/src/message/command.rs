//! Typed DIMSE commands ([`Command`]) for C-ECHO, C-STORE, C-FIND, C-GET, C-MOVE and C-CANCEL,
//! converted to and from a [`CommandSet`].

use std::fmt;

use super::command_set::{CommandSet, DATA_SET_PRESENT, NO_DATA_SET, field};
use super::status::Status;
use crate::error::{Error, Result};

/// The CommandField (0000,0100) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandField(pub u16);

impl CommandField {
    /// C-STORE-RQ.
    pub const C_STORE_RQ: Self = Self(0x0001);
    /// C-STORE-RSP.
    pub const C_STORE_RSP: Self = Self(0x8001);
    /// C-GET-RQ.
    pub const C_GET_RQ: Self = Self(0x0010);
    /// C-GET-RSP.
    pub const C_GET_RSP: Self = Self(0x8010);
    /// C-FIND-RQ.
    pub const C_FIND_RQ: Self = Self(0x0020);
    /// C-FIND-RSP.
    pub const C_FIND_RSP: Self = Self(0x8020);
    /// C-MOVE-RQ.
    pub const C_MOVE_RQ: Self = Self(0x0021);
    /// C-MOVE-RSP.
    pub const C_MOVE_RSP: Self = Self(0x8021);
    /// C-ECHO-RQ.
    pub const C_ECHO_RQ: Self = Self(0x0030);
    /// C-ECHO-RSP.
    pub const C_ECHO_RSP: Self = Self(0x8030);
    /// C-CANCEL-RQ.
    pub const C_CANCEL_RQ: Self = Self(0x0FFF);
}

/// Priority (0000,0700).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Priority {
    /// 0x0000.
    #[default]
    Medium,
    /// 0x0001.
    High,
    /// 0x0002.
    Low,
}

impl Priority {
    fn code(self) -> u16 {
        match self {
            Self::Medium => 0x0000,
            Self::High => 0x0001,
            Self::Low => 0x0002,
        }
    }

    fn from_code(code: u16) -> Self {
        match code {
            0x0001 => Self::High,
            0x0002 => Self::Low,
            _ => Self::Medium,
        }
    }
}

/// C-ECHO-RQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CEchoRq {
    /// MessageID.
    pub message_id: u16,
    /// AffectedSOPClassUID (Verification).
    pub affected_sop_class_uid: String,
}

/// C-ECHO-RSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CEchoRsp {
    /// MessageIDBeingRespondedTo.
    pub message_id_being_responded_to: u16,
    /// AffectedSOPClassUID, if sent.
    pub affected_sop_class_uid: Option<String>,
    /// Status.
    pub status: Status,
}

/// Where a C-STORE sub-operation of a C-MOVE comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveOriginator {
    /// MoveOriginatorApplicationEntityTitle.
    pub ae_title: String,
    /// MoveOriginatorMessageID.
    pub message_id: u16,
}

/// C-STORE-RQ (a data set follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CStoreRq {
    /// MessageID.
    pub message_id: u16,
    /// AffectedSOPClassUID.
    pub affected_sop_class_uid: String,
    /// AffectedSOPInstanceUID.
    pub affected_sop_instance_uid: String,
    /// Priority.
    pub priority: Priority,
    /// Set when this store is a sub-operation of a C-MOVE.
    pub move_originator: Option<MoveOriginator>,
}

/// C-STORE-RSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CStoreRsp {
    /// MessageIDBeingRespondedTo.
    pub message_id_being_responded_to: u16,
    /// AffectedSOPClassUID, if sent.
    pub affected_sop_class_uid: Option<String>,
    /// AffectedSOPInstanceUID, if sent.
    pub affected_sop_instance_uid: Option<String>,
    /// Status.
    pub status: Status,
    /// ErrorComment, if sent.
    pub error_comment: Option<String>,
}

/// C-FIND-RQ, C-GET-RQ (an identifier follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRq {
    /// MessageID.
    pub message_id: u16,
    /// AffectedSOPClassUID (the information model).
    pub affected_sop_class_uid: String,
    /// Priority.
    pub priority: Priority,
}

/// C-MOVE-RQ (an identifier follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CMoveRq {
    /// MessageID.
    pub message_id: u16,
    /// AffectedSOPClassUID (the information model).
    pub affected_sop_class_uid: String,
    /// Priority.
    pub priority: Priority,
    /// MoveDestination AE title.
    pub move_destination: String,
}

/// C-FIND-RSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CFindRsp {
    /// MessageIDBeingRespondedTo.
    pub message_id_being_responded_to: u16,
    /// AffectedSOPClassUID, if sent.
    pub affected_sop_class_uid: Option<String>,
    /// Status.
    pub status: Status,
    /// Whether an identifier follows (pending responses).
    pub has_data_set: bool,
    /// ErrorComment, if sent.
    pub error_comment: Option<String>,
}

/// Sub-operation counters of a C-GET/C-MOVE response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubOperations {
    /// NumberOfRemainingSuboperations (absent in most final responses).
    pub remaining: Option<u16>,
    /// NumberOfCompletedSuboperations.
    pub completed: u16,
    /// NumberOfFailedSuboperations.
    pub failed: u16,
    /// NumberOfWarningSuboperations.
    pub warning: u16,
}

/// C-GET-RSP and C-MOVE-RSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrieveRsp {
    /// MessageIDBeingRespondedTo.
    pub message_id_being_responded_to: u16,
    /// AffectedSOPClassUID, if sent.
    pub affected_sop_class_uid: Option<String>,
    /// Status.
    pub status: Status,
    /// The counters.
    pub sub_operations: SubOperations,
    /// Whether an identifier follows (with Failed SOP Instance UID List).
    pub has_data_set: bool,
    /// ErrorComment, if sent.
    pub error_comment: Option<String>,
}

/// C-CANCEL-RQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CCancelRq {
    /// The MessageID of the C-FIND/C-GET/C-MOVE to cancel.
    pub message_id_being_responded_to: u16,
}

/// Any command this crate speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// C-ECHO-RQ.
    EchoRq(CEchoRq),
    /// C-ECHO-RSP.
    EchoRsp(CEchoRsp),
    /// C-STORE-RQ.
    StoreRq(CStoreRq),
    /// C-STORE-RSP.
    StoreRsp(CStoreRsp),
    /// C-FIND-RQ.
    FindRq(QueryRq),
    /// C-FIND-RSP.
    FindRsp(CFindRsp),
    /// C-GET-RQ.
    GetRq(QueryRq),
    /// C-GET-RSP.
    GetRsp(RetrieveRsp),
    /// C-MOVE-RQ.
    MoveRq(CMoveRq),
    /// C-MOVE-RSP.
    MoveRsp(RetrieveRsp),
    /// C-CANCEL-RQ.
    CancelRq(CCancelRq),
}

impl Command {
    /// The command field.
    pub fn field(&self) -> CommandField {
        match self {
            Self::EchoRq(_) => CommandField::C_ECHO_RQ,
            Self::EchoRsp(_) => CommandField::C_ECHO_RSP,
            Self::StoreRq(_) => CommandField::C_STORE_RQ,
            Self::StoreRsp(_) => CommandField::C_STORE_RSP,
            Self::FindRq(_) => CommandField::C_FIND_RQ,
            Self::FindRsp(_) => CommandField::C_FIND_RSP,
            Self::GetRq(_) => CommandField::C_GET_RQ,
            Self::GetRsp(_) => CommandField::C_GET_RSP,
            Self::MoveRq(_) => CommandField::C_MOVE_RQ,
            Self::MoveRsp(_) => CommandField::C_MOVE_RSP,
            Self::CancelRq(_) => CommandField::C_CANCEL_RQ,
        }
    }

    /// Whether a data set follows this command.
    pub fn has_data_set(&self) -> bool {
        match self {
            Self::StoreRq(_) | Self::FindRq(_) | Self::GetRq(_) | Self::MoveRq(_) => true,
            Self::FindRsp(r) => r.has_data_set,
            Self::GetRsp(r) | Self::MoveRsp(r) => r.has_data_set,
            Self::EchoRq(_) | Self::EchoRsp(_) | Self::StoreRsp(_) | Self::CancelRq(_) => false,
        }
    }

    /// The status of a response, `None` for requests.
    pub fn status(&self) -> Option<Status> {
        match self {
            Self::EchoRsp(r) => Some(r.status),
            Self::StoreRsp(r) => Some(r.status),
            Self::FindRsp(r) => Some(r.status),
            Self::GetRsp(r) | Self::MoveRsp(r) => Some(r.status),
            _ => None,
        }
    }

    /// Encodes to Implicit VR Little Endian command set bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_command_set().encode()
    }

    /// Decodes command set bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Self::from_command_set(&CommandSet::decode(bytes)?)
    }

    /// Builds the command set.
    pub fn to_command_set(&self) -> CommandSet {
        let mut s = CommandSet::new();
        s.set_u16(field::COMMAND_FIELD, self.field().0);
        s.set_u16(
            field::COMMAND_DATA_SET_TYPE,
            if self.has_data_set() {
                DATA_SET_PRESENT
            } else {
                NO_DATA_SET
            },
        );
        let opt_uid = |s: &mut CommandSet, element, uid: &Option<String>| {
            if let Some(uid) = uid {
                s.set_uid(element, uid);
            }
        };
        let opt_text = |s: &mut CommandSet, element, text: &Option<String>| {
            if let Some(text) = text {
                s.set_text(element, text);
            }
        };
        match self {
            Self::EchoRq(r) => {
                s.set_u16(field::MESSAGE_ID, r.message_id);
                s.set_uid(field::AFFECTED_SOP_CLASS_UID, &r.affected_sop_class_uid);
            }
            Self::EchoRsp(r) => {
                s.set_u16(
                    field::MESSAGE_ID_BEING_RESPONDED_TO,
                    r.message_id_being_responded_to,
                );
                opt_uid(
                    &mut s,
                    field::AFFECTED_SOP_CLASS_UID,
                    &r.affected_sop_class_uid,
                );
                s.set_u16(field::STATUS, r.status.0);
            }
            Self::StoreRq(r) => {
                s.set_u16(field::MESSAGE_ID, r.message_id);
                s.set_uid(field::AFFECTED_SOP_CLASS_UID, &r.affected_sop_class_uid);
                s.set_uid(
                    field::AFFECTED_SOP_INSTANCE_UID,
                    &r.affected_sop_instance_uid,
                );
                s.set_u16(field::PRIORITY, r.priority.code());
                if let Some(origin) = &r.move_originator {
                    s.set_text(field::MOVE_ORIGINATOR_AE, &origin.ae_title);
                    s.set_u16(field::MOVE_ORIGINATOR_MESSAGE_ID, origin.message_id);
                }
            }
            Self::StoreRsp(r) => {
                s.set_u16(
                    field::MESSAGE_ID_BEING_RESPONDED_TO,
                    r.message_id_being_responded_to,
                );
                opt_uid(
                    &mut s,
                    field::AFFECTED_SOP_CLASS_UID,
                    &r.affected_sop_class_uid,
                );
                opt_uid(
                    &mut s,
                    field::AFFECTED_SOP_INSTANCE_UID,
                    &r.affected_sop_instance_uid,
                );
                s.set_u16(field::STATUS, r.status.0);
                opt_text(&mut s, field::ERROR_COMMENT, &r.error_comment);
            }
            Self::FindRq(r) | Self::GetRq(r) => {
                s.set_u16(field::MESSAGE_ID, r.message_id);
                s.set_uid(field::AFFECTED_SOP_CLASS_UID, &r.affected_sop_class_uid);
                s.set_u16(field::PRIORITY, r.priority.code());
            }
            Self::FindRsp(r) => {
                s.set_u16(
                    field::MESSAGE_ID_BEING_RESPONDED_TO,
                    r.message_id_being_responded_to,
                );
                opt_uid(
                    &mut s,
                    field::AFFECTED_SOP_CLASS_UID,
                    &r.affected_sop_class_uid,
                );
                s.set_u16(field::STATUS, r.status.0);
                opt_text(&mut s, field::ERROR_COMMENT, &r.error_comment);
            }
            Self::GetRsp(r) | Self::MoveRsp(r) => {
                s.set_u16(
                    field::MESSAGE_ID_BEING_RESPONDED_TO,
                    r.message_id_being_responded_to,
                );
                opt_uid(
                    &mut s,
                    field::AFFECTED_SOP_CLASS_UID,
                    &r.affected_sop_class_uid,
                );
                s.set_u16(field::STATUS, r.status.0);
                let c = r.sub_operations;
                if let Some(remaining) = c.remaining {
                    s.set_u16(field::REMAINING, remaining);
                }
                s.set_u16(field::COMPLETED, c.completed);
                s.set_u16(field::FAILED, c.failed);
                s.set_u16(field::WARNING, c.warning);
                opt_text(&mut s, field::ERROR_COMMENT, &r.error_comment);
            }
            Self::MoveRq(r) => {
                s.set_u16(field::MESSAGE_ID, r.message_id);
                s.set_uid(field::AFFECTED_SOP_CLASS_UID, &r.affected_sop_class_uid);
                s.set_u16(field::PRIORITY, r.priority.code());
                s.set_text(field::MOVE_DESTINATION, &r.move_destination);
            }
            Self::CancelRq(r) => {
                s.set_u16(
                    field::MESSAGE_ID_BEING_RESPONDED_TO,
                    r.message_id_being_responded_to,
                );
            }
        }
        s
    }

    /// Reads a command from its command set.
    pub fn from_command_set(s: &CommandSet) -> Result<Self> {
        let field_value = CommandField(s.required_u16(field::COMMAND_FIELD)?);
        // 0x0101 means "no data set"; every other value means one follows (peers differ).
        let has_data_set = s
            .u16(field::COMMAND_DATA_SET_TYPE)?
            .is_some_and(|t| t != NO_DATA_SET);
        let message_id = || s.required_u16(field::MESSAGE_ID);
        let responded_to = || s.required_u16(field::MESSAGE_ID_BEING_RESPONDED_TO);
        let status = || s.required_u16(field::STATUS).map(Status);
        let sop_class = || s.required_string(field::AFFECTED_SOP_CLASS_UID);
        let opt_sop_class = || s.string(field::AFFECTED_SOP_CLASS_UID);
        let priority = || -> Result<Priority> {
            Ok(Priority::from_code(s.u16(field::PRIORITY)?.unwrap_or(0)))
        };
        let comment = || s.string(field::ERROR_COMMENT);
        let command = match field_value {
            CommandField::C_ECHO_RQ => Self::EchoRq(CEchoRq {
                message_id: message_id()?,
                affected_sop_class_uid: sop_class()?,
            }),
            CommandField::C_ECHO_RSP => Self::EchoRsp(CEchoRsp {
                message_id_being_responded_to: responded_to()?,
                affected_sop_class_uid: opt_sop_class(),
                status: status()?,
            }),
            CommandField::C_STORE_RQ => {
                let move_originator = match s.string(field::MOVE_ORIGINATOR_AE) {
                    Some(ae_title) if !ae_title.is_empty() => Some(MoveOriginator {
                        ae_title,
                        message_id: s.u16(field::MOVE_ORIGINATOR_MESSAGE_ID)?.unwrap_or(0),
                    }),
                    _ => None,
                };
                Self::StoreRq(CStoreRq {
                    message_id: message_id()?,
                    affected_sop_class_uid: sop_class()?,
                    affected_sop_instance_uid: s
                        .required_string(field::AFFECTED_SOP_INSTANCE_UID)?,
                    priority: priority()?,
                    move_originator,
                })
            }
            CommandField::C_STORE_RSP => Self::StoreRsp(CStoreRsp {
                message_id_being_responded_to: responded_to()?,
                affected_sop_class_uid: opt_sop_class(),
                affected_sop_instance_uid: s.string(field::AFFECTED_SOP_INSTANCE_UID),
                status: status()?,
                error_comment: comment(),
            }),
            CommandField::C_FIND_RQ | CommandField::C_GET_RQ => {
                let rq = QueryRq {
                    message_id: message_id()?,
                    affected_sop_class_uid: sop_class()?,
                    priority: priority()?,
                };
                if field_value == CommandField::C_FIND_RQ {
                    Self::FindRq(rq)
                } else {
                    Self::GetRq(rq)
                }
            }
            CommandField::C_FIND_RSP => Self::FindRsp(CFindRsp {
                message_id_being_responded_to: responded_to()?,
                affected_sop_class_uid: opt_sop_class(),
                status: status()?,
                has_data_set,
                error_comment: comment(),
            }),
            CommandField::C_GET_RSP | CommandField::C_MOVE_RSP => {
                let rsp = RetrieveRsp {
                    message_id_being_responded_to: responded_to()?,
                    affected_sop_class_uid: opt_sop_class(),
                    status: status()?,
                    sub_operations: SubOperations {
                        remaining: s.u16(field::REMAINING)?,
                        completed: s.u16(field::COMPLETED)?.unwrap_or(0),
                        failed: s.u16(field::FAILED)?.unwrap_or(0),
                        warning: s.u16(field::WARNING)?.unwrap_or(0),
                    },
                    has_data_set,
                    error_comment: comment(),
                };
                if field_value == CommandField::C_GET_RSP {
                    Self::GetRsp(rsp)
                } else {
                    Self::MoveRsp(rsp)
                }
            }
            CommandField::C_MOVE_RQ => Self::MoveRq(CMoveRq {
                message_id: message_id()?,
                affected_sop_class_uid: sop_class()?,
                priority: priority()?,
                move_destination: s.required_string(field::MOVE_DESTINATION)?,
            }),
            CommandField::C_CANCEL_RQ => Self::CancelRq(CCancelRq {
                message_id_being_responded_to: responded_to()?,
            }),
            CommandField(other) => {
                return Err(Error::malformed(format!(
                    "unsupported command field 0x{other:04X}"
                )));
            }
        };
        Ok(command)
    }
}

impl fmt::Display for CommandField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::C_STORE_RQ => "C-STORE-RQ",
            Self::C_STORE_RSP => "C-STORE-RSP",
            Self::C_GET_RQ => "C-GET-RQ",
            Self::C_GET_RSP => "C-GET-RSP",
            Self::C_FIND_RQ => "C-FIND-RQ",
            Self::C_FIND_RSP => "C-FIND-RSP",
            Self::C_MOVE_RQ => "C-MOVE-RQ",
            Self::C_MOVE_RSP => "C-MOVE-RSP",
            Self::C_ECHO_RQ => "C-ECHO-RQ",
            Self::C_ECHO_RSP => "C-ECHO-RSP",
            Self::C_CANCEL_RQ => "C-CANCEL-RQ",
            Self(other) => return write!(f, "command 0x{other:04X}"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
    const STUDY_GET: &str = "1.2.840.10008.5.1.4.1.2.2.3";

    fn all_commands() -> Vec<Command> {
        let counters = SubOperations {
            remaining: Some(14),
            completed: 1,
            failed: 0,
            warning: 2,
        };
        vec![
            Command::EchoRq(CEchoRq {
                message_id: 1,
                affected_sop_class_uid: "1.2.840.10008.1.1".into(),
            }),
            Command::EchoRsp(CEchoRsp {
                message_id_being_responded_to: 1,
                affected_sop_class_uid: Some("1.2.840.10008.1.1".into()),
                status: Status::SUCCESS,
            }),
            Command::StoreRq(CStoreRq {
                message_id: 7,
                affected_sop_class_uid: CT.into(),
                affected_sop_instance_uid: "2.25.1.2.3".into(),
                priority: Priority::High,
                move_originator: Some(MoveOriginator {
                    ae_title: "ADIT".into(),
                    message_id: 3,
                }),
            }),
            Command::StoreRsp(CStoreRsp {
                message_id_being_responded_to: 7,
                affected_sop_class_uid: Some(CT.into()),
                affected_sop_instance_uid: Some("2.25.1.2.3".into()),
                status: Status(0xA702),
                error_comment: Some("disk full".into()),
            }),
            Command::FindRq(QueryRq {
                message_id: 2,
                affected_sop_class_uid: "1.2.840.10008.5.1.4.1.2.2.1".into(),
                priority: Priority::Low,
            }),
            Command::FindRsp(CFindRsp {
                message_id_being_responded_to: 2,
                affected_sop_class_uid: None,
                status: Status::PENDING,
                has_data_set: true,
                error_comment: None,
            }),
            Command::GetRq(QueryRq {
                message_id: 3,
                affected_sop_class_uid: STUDY_GET.into(),
                priority: Priority::Medium,
            }),
            Command::GetRsp(RetrieveRsp {
                message_id_being_responded_to: 3,
                affected_sop_class_uid: Some(STUDY_GET.into()),
                status: Status::PENDING,
                sub_operations: counters,
                has_data_set: false,
                error_comment: None,
            }),
            Command::MoveRq(CMoveRq {
                message_id: 4,
                affected_sop_class_uid: "1.2.840.10008.5.1.4.1.2.2.2".into(),
                priority: Priority::Medium,
                move_destination: "RECEIVER".into(),
            }),
            Command::MoveRsp(RetrieveRsp {
                message_id_being_responded_to: 4,
                affected_sop_class_uid: None,
                status: Status(0xB000),
                sub_operations: SubOperations {
                    remaining: None,
                    ..counters
                },
                has_data_set: true,
                error_comment: Some("some failed".into()),
            }),
            Command::CancelRq(CCancelRq {
                message_id_being_responded_to: 4,
            }),
        ]
    }

    #[test]
    fn every_command_round_trips() {
        for command in all_commands() {
            let bytes = command.encode();
            assert_eq!(bytes.len() % 2, 0, "{}", command.field());
            let back = Command::decode(&bytes).unwrap();
            assert_eq!(back, command, "{}", command.field());
        }
    }

    #[test]
    fn reads_data_set_type_as_peers_write_it() {
        for (value, present) in [
            (0x0101, false),
            (0x0000, true),
            (0x0001, true),
            (0x0102, true),
        ] {
            let mut s = Command::FindRsp(CFindRsp {
                message_id_being_responded_to: 1,
                affected_sop_class_uid: None,
                status: Status::PENDING,
                has_data_set: false,
                error_comment: None,
            })
            .to_command_set();
            s.set_u16(field::COMMAND_DATA_SET_TYPE, value);
            let cmd = Command::from_command_set(&s).unwrap();
            assert_eq!(cmd.has_data_set(), present, "0x{value:04X}");
        }
    }

    #[test]
    fn missing_required_fields_and_unknown_commands_are_errors() {
        let mut s = CommandSet::new();
        assert!(Command::from_command_set(&s).is_err());
        s.set_u16(field::COMMAND_FIELD, 0x8020);
        let e = Command::from_command_set(&s).unwrap_err();
        assert!(e.to_string().contains("(0000,0120) is missing"), "{e}");
        s.set_u16(field::COMMAND_FIELD, 0x0130);
        assert!(Command::from_command_set(&s).is_err());
    }

    #[test]
    fn a_dcmtk_style_echo_rsp_decodes() {
        // C-ECHO-RSP as dcmtk sends it: group length, class UID, 0x8030, responded-to, 0x0101, status.
        let mut bytes = Vec::new();
        let mut put = |element: u16, value: &[u8]| {
            bytes.extend_from_slice(&[0, 0]);
            bytes.extend_from_slice(&element.to_le_bytes());
            bytes.extend_from_slice(&(value.len() as u32).to_le_bytes());
            bytes.extend_from_slice(value);
        };
        put(0x0000, &66_u32.to_le_bytes());
        put(0x0002, b"1.2.840.10008.1.1\0");
        put(0x0100, &0x8030_u16.to_le_bytes());
        put(0x0120, &1_u16.to_le_bytes());
        put(0x0800, &0x0101_u16.to_le_bytes());
        put(0x0900, &0_u16.to_le_bytes());
        let Command::EchoRsp(rsp) = Command::decode(&bytes).unwrap() else {
            panic!("not an echo response");
        };
        assert_eq!(rsp.status, Status::SUCCESS);
        assert_eq!(rsp.message_id_being_responded_to, 1);
        assert_eq!(
            rsp.affected_sop_class_uid.as_deref(),
            Some("1.2.840.10008.1.1")
        );
    }
}
