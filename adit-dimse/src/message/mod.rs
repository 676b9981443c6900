//! The DIMSE message layer, without I/O: typed commands, their Implicit VR Little Endian
//! command sets, status codes, and P-DATA assembly and fragmentation. Everything here is
//! deterministic and tested without sockets; the drivers in [`crate::association`] put it on
//! the wire.

mod command;
mod command_set;
mod pdv;
mod status;

pub use command::{
    CCancelRq, CEchoRq, CEchoRsp, CFindRsp, CMoveRq, CStoreRq, CStoreRsp, Command, CommandField,
    MoveOriginator, Priority, QueryRq, RetrieveRsp, SubOperations,
};
pub use command_set::{CommandSet, DATA_SET_PRESENT, MAX_COMMAND_SET_LEN, NO_DATA_SET, field};
pub use pdv::{Assembler, MAX_FRAGMENT_LEN, Message, PDV_HEADER_LEN, fragment, fragment_len};
pub use status::{Status, StatusClass};
