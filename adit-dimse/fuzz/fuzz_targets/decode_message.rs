//! Feeds arbitrary bytes to the command-set decoder and, cut into PDVs, to the assembler.
//! Any panic is a bug: peers control these bytes.
#![no_main]

use adit_dimse::message::{Assembler, Command, CommandSet};
use dicom_ul::pdu::{PDataValue, PDataValueType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = CommandSet::decode(data);
    let _ = Command::decode(data);
    // First byte: how to cut the rest into PDVs; each PDV's flags come from its first byte.
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(shape % 61) + 1;
    let mut assembler = Assembler::new(1 << 16);
    for chunk in rest.chunks(step) {
        let flags = chunk[0];
        let pdv = PDataValue {
            presentation_context_id: flags >> 4,
            value_type: if flags & 1 == 0 {
                PDataValueType::Command
            } else {
                PDataValueType::Data
            },
            is_last: flags & 2 == 0,
            data: chunk[1..].to_vec(),
        };
        if assembler.push(pdv).is_err() {
            assembler = Assembler::new(1 << 16);
        }
    }
});
