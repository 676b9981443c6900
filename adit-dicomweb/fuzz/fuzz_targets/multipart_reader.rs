//! Feeds arbitrary bytes, cut into arbitrary chunks, to the multipart reader: it must return
//! parts or an error, never panic or loop.
#![no_main]

use bytes::Bytes;
use futures::executor::block_on;
use futures::stream;
use libfuzzer_sys::fuzz_target;

use adit_dicomweb::codec::MultipartReader;

fuzz_target!(|data: &[u8]| {
    // First byte: chunk size; second: boundary length (taken from the data itself so that the
    // fuzzer can find real delimiters).
    let [chunk, blen, rest @ ..] = data else { return };
    let blen = usize::from(*blen % 16) + 1;
    if rest.len() < blen {
        return;
    }
    let (boundary, body) = rest.split_at(blen);
    let Ok(boundary) = std::str::from_utf8(boundary) else { return };
    let chunks: Vec<Result<Bytes, adit_dicomweb::Error>> = body
        .chunks(usize::from(*chunk).max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let Ok(mut reader) = MultipartReader::new(stream::iter(chunks), boundary) else { return };
    block_on(async {
        let mut total = 0usize;
        while let Ok(Some(part)) = reader.next_part().await {
            total += part.body().len();
            assert!(total <= body.len(), "parts can only hold bytes that were sent");
        }
    });
});
