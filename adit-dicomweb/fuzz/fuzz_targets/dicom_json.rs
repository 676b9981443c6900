//! Arbitrary bytes as a DICOM JSON array: decoding must fail cleanly or produce data sets
//! that encode again.
#![no_main]

use libfuzzer_sys::fuzz_target;

use adit_dicomweb::codec::{BinaryMode, from_json_slice, to_json};

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = from_json_slice(data) {
        for d in decoded {
            let _ = to_json(&d.object, &BinaryMode::Inline);
        }
    }
});
