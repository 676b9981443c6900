//! Streaming `multipart/related` (RFC 2046 §5.1, RFC 2387): a reader that yields each part as
//! soon as its closing delimiter has arrived, and a writer that frames a stream of parts.
//!
//! The reader holds at most one part plus one incoming chunk in memory, so a WADO-RS study
//! streams instance by instance. Delimiters split across chunks are found because the search
//! resumes a delimiter's length before the end of what was already scanned. Inside a body,
//! long chunks are kept as they arrived (segments of the body) rather than copied into the
//! reader's buffer: a caller that copies each body anyway (into a Python `bytes`, a file)
//! takes the segments ([`MultipartReader::next_segmented`]) and copies it only once.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use futures::stream::{self, Stream, StreamExt};
use memchr::memmem;

use super::media_type::{MAX_READ_BOUNDARY, check_boundary};
use crate::error::{Error, Result};

/// Default limit of one part's body: larger parts are an error, not an allocation.
pub const DEFAULT_MAX_PART_SIZE: usize = 4 << 30;

/// Limit of one part's header block.
const MAX_HEADER_SIZE: usize = 16 << 10;

/// Chunks at least this long are kept as they arrived while they hold part of a body, not
/// copied into the reader's buffer: a body then costs one copy, where the caller wants it.
const MIN_SEGMENT: usize = 256;

/// Outside bodies (preamble, delimiters, headers), how much of a chunk is copied into the
/// buffer at a time; the rest waits, so that the body after the headers is not copied.
const HEAD_STEP: usize = 8 << 10;

/// Header name/value pairs of a part, in order.
type Headers = Vec<(String, String)>;

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Part {
    /// A part with a `Content-Type` header.
    pub fn new(content_type: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            headers: vec![("Content-Type".to_owned(), content_type.into())],
            body: body.into(),
        }
    }

    /// The headers in order, names as sent.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body, giving up the headers.
    pub fn into_body(self) -> Bytes {
        self.body
    }
}

/// The value of the header `name` (case-insensitive) among `headers`.
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A part whose body is still in the pieces it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentedPart {
    headers: Headers,
    body: Vec<Bytes>,
}

impl SegmentedPart {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// The body's pieces in order.
    pub fn segments(&self) -> &[Bytes] {
        &self.body
    }

    /// The body's pieces, giving up the headers.
    pub fn into_segments(self) -> Vec<Bytes> {
        self.body
    }

    /// The body's length.
    pub fn len(&self) -> usize {
        self.body.iter().map(Bytes::len).sum()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(Bytes::is_empty)
    }

    /// The part with its body in one piece (copied unless it arrived in one).
    pub fn into_part(self) -> Part {
        let body = match self.body.len() {
            0 => Bytes::new(),
            1 => self.body.into_iter().next().unwrap_or_default(),
            _ => {
                let mut whole = BytesMut::with_capacity(self.len());
                for segment in &self.body {
                    whole.extend_from_slice(segment);
                }
                whole.freeze()
            }
        };
        Part {
            headers: self.headers,
            body,
        }
    }
}

/// Reads parts from a byte stream as they arrive.
pub struct MultipartReader<S> {
    stream: S,
    /// Bytes being parsed; inside a body, its tail that follows `segments`.
    buf: BytesMut,
    /// Input taken from the stream but not yet looked at.
    pending: Option<Bytes>,
    /// The current body's start, as received: ends where `buf` begins.
    segments: Vec<Bytes>,
    /// Total length of `segments`.
    segments_len: usize,
    /// `--boundary`.
    delimiter: Vec<u8>,
    /// `\n--boundary`: a delimiter inside the data follows a line break.
    body_finder: memmem::Finder<'static>,
    state: State,
    /// Where the next delimiter search starts: everything before was scanned.
    scan_from: usize,
    eof: bool,
    parts: usize,
    max_part_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    Headers,
    Body,
    Done,
}

enum AfterDelimiter {
    NeedMore,
    Close,
    /// The next part's headers start this many bytes after the delimiter.
    Next(usize),
}

impl<S, E> MultipartReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Error>,
{
    /// A reader of a body delimited by `boundary` (without the leading `--`).
    pub fn new(stream: S, boundary: &str) -> Result<Self> {
        check_boundary(boundary, MAX_READ_BOUNDARY)?;
        let delimiter = format!("--{boundary}").into_bytes();
        let mut needle = Vec::with_capacity(delimiter.len() + 1);
        needle.push(b'\n');
        needle.extend_from_slice(&delimiter);
        Ok(Self {
            stream,
            buf: BytesMut::with_capacity(64 << 10),
            pending: None,
            segments: Vec::new(),
            segments_len: 0,
            delimiter,
            body_finder: memmem::Finder::new(&needle).into_owned(),
            state: State::Preamble,
            scan_from: 0,
            eof: false,
            parts: 0,
            max_part_size: DEFAULT_MAX_PART_SIZE,
        })
    }

    /// Sets the largest part body accepted (default [`DEFAULT_MAX_PART_SIZE`]).
    pub fn with_max_part_size(mut self, max: usize) -> Self {
        self.max_part_size = max;
        self
    }

    /// The next part, or `None` after the closing delimiter.
    ///
    /// Anything after the closing delimiter (the epilogue) is not read.
    pub async fn next_part(&mut self) -> Result<Option<Part>> {
        Ok(self.next_segmented().await?.map(SegmentedPart::into_part))
    }

    /// The next part with its body as the pieces it arrived in, or `None` after the closing
    /// delimiter: for a caller that copies the body once into memory of its own.
    pub async fn next_segmented(&mut self) -> Result<Option<SegmentedPart>> {
        let mut headers = Vec::new();
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Preamble => self.skip_preamble().await?,
                State::Headers => {
                    if let Some((parsed, len)) = self.parse_headers()? {
                        headers = parsed;
                        let _ = self.buf.split_to(len);
                        self.scan_from = 0;
                        self.state = State::Body;
                    } else {
                        self.fill("the headers of").await?;
                    }
                }
                State::Body => {
                    if let Some(body) = self.take_body()? {
                        self.parts += 1;
                        return Ok(Some(SegmentedPart {
                            headers: std::mem::take(&mut headers),
                            body,
                        }));
                    }
                    let held = self.segments_len + self.buf.len();
                    if held > self.max_part_size.saturating_add(self.delimiter.len() + 4) {
                        return Err(Error::Multipart(format!(
                            "part {} is larger than the limit of {} bytes",
                            self.parts + 1,
                            self.max_part_size
                        )));
                    }
                    self.fill("the body of").await?;
                }
            }
        }
    }

    /// Turns the reader into a stream of parts that ends after the closing delimiter or at
    /// the first error.
    pub fn into_stream(self) -> impl Stream<Item = Result<Part>>
    where
        S: Send,
    {
        self.into_segmented_stream()
            .map(|part| part.map(SegmentedPart::into_part))
    }

    /// Like [`into_stream`](Self::into_stream), with each body as the pieces it arrived in.
    pub fn into_segmented_stream(self) -> impl Stream<Item = Result<SegmentedPart>>
    where
        S: Send,
    {
        stream::unfold(Some(self), |reader| async move {
            let mut reader = reader?;
            match reader.next_segmented().await {
                Ok(Some(part)) => Some((Ok(part), Some(reader))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// The next input: what an earlier step left over, else the next chunk of the stream.
    async fn next_input(&mut self) -> Option<Result<Bytes>> {
        if let Some(chunk) = self.pending.take() {
            return Some(Ok(chunk));
        }
        match self.stream.next().await {
            Some(Ok(chunk)) => Some(Ok(chunk)),
            Some(Err(e)) => Some(Err(e.into())),
            None => None,
        }
    }

    /// Reads one more chunk; at the end of the stream it is an error to still need data.
    async fn fill(&mut self, what: &str) -> Result<()> {
        if self.eof {
            let where_ = match self.state {
                State::Preamble => "before the first boundary".to_owned(),
                _ => format!("inside {what} part {}", self.parts + 1),
            };
            return Err(Error::Multipart(format!(
                "body ended {where_} (no closing `{}--`)",
                String::from_utf8_lossy(&self.delimiter)
            )));
        }
        match self.next_input().await {
            Some(Ok(chunk)) if self.state == State::Body => self.fill_body(chunk),
            Some(Ok(mut chunk)) => {
                if chunk.len() > HEAD_STEP {
                    self.pending = Some(chunk.split_off(HEAD_STEP));
                }
                self.buf.extend_from_slice(&chunk);
            }
            Some(Err(e)) => return Err(e),
            None => self.eof = true,
        }
        Ok(())
    }

    /// Adds `chunk` to the current body, after [`take_body`](Self::take_body) has found no
    /// complete delimiter in `buf`. A long chunk is not copied: the scanned part of `buf`
    /// and the chunk up to where a delimiter may start become segments, and only the bytes
    /// where a delimiter may straddle two chunks go through `buf`.
    fn fill_body(&mut self, mut chunk: Bytes) {
        let needle_len = self.delimiter.len() + 1;
        // Enough to complete a delimiter begun in `buf`, with a CR before it.
        let seam = needle_len + 2;
        if chunk.len() < MIN_SEGMENT.max(2 * seam) {
            self.buf.extend_from_slice(&chunk);
            return;
        }
        // Everything before `scan_from` holds no delimiter; its last byte may be the CR of
        // one, so it stays.
        let scanned = self.scan_from.saturating_sub(1).min(self.buf.len());
        if scanned > 0 {
            let segment = self.buf.split_to(scanned).freeze();
            self.push_segment(segment);
            self.scan_from -= scanned;
        }
        let old_len = self.buf.len();
        self.buf.extend_from_slice(&chunk[..seam]);
        // An empty body: the delimiter right after the headers, no line break before it.
        let at_start = self.segments.is_empty() && self.buf.starts_with(&self.delimiter);
        if at_start
            || self
                .body_finder
                .find(&self.buf[self.scan_from.min(old_len)..])
                .is_some()
        {
            // A delimiter across the seam (or one waiting for what follows it): take_body
            // finds it, the rest of the chunk comes after.
            self.pending = Some(chunk.split_off(seam));
            return;
        }
        self.buf.truncate(old_len);
        // No delimiter starts in `buf` or the chunk's first bytes: one in the chunk starts
        // later, so the CR before it is in the chunk as well.
        let keep = match self.body_finder.find(&chunk) {
            Some(at) => {
                // The body ends in this chunk: what follows the delimiter waits in `pending`
                // so that only the delimiter and the next headers are copied.
                let start = at - 1;
                let mut rest = chunk.split_off(start);
                let rest_len = rest.len().min(seam + HEAD_STEP);
                let later = rest.split_off(rest_len);
                if !later.is_empty() {
                    self.pending = Some(later);
                }
                rest
            }
            // A delimiter may begin in the last bytes, which stay in `buf` for the next seam.
            None => chunk.split_off(chunk.len() - (needle_len + 1)),
        };
        let head = self.buf.split().freeze();
        self.push_segment(head);
        self.push_segment(chunk);
        self.buf.extend_from_slice(&keep);
        self.scan_from = 0;
    }

    fn push_segment(&mut self, segment: Bytes) {
        if !segment.is_empty() {
            self.segments_len += segment.len();
            self.segments.push(segment);
        }
    }

    async fn skip_preamble(&mut self) -> Result<()> {
        loop {
            let finder = memmem::Finder::new(&self.delimiter).into_owned();
            let mut from = self.scan_from;
            while let Some(pos) = finder.find(&self.buf[from..]).map(|p| p + from) {
                if pos == 0 || self.buf[pos - 1] == b'\n' {
                    match self.after_delimiter(pos + self.delimiter.len())? {
                        AfterDelimiter::NeedMore => {
                            // Keep the delimiter (and the line break before it) for the next try.
                            let _ = self.buf.split_to(pos.saturating_sub(1));
                            self.scan_from = 0;
                            self.fill("").await?;
                            from = 0;
                            continue;
                        }
                        AfterDelimiter::Close => {
                            self.state = State::Done;
                            return Ok(());
                        }
                        AfterDelimiter::Next(skip) => {
                            let _ = self.buf.split_to(pos + self.delimiter.len() + skip);
                            self.scan_from = 0;
                            self.state = State::Headers;
                            return Ok(());
                        }
                    }
                }
                from = pos + 1;
            }
            // Drop scanned preamble but keep a possible partial delimiter (and its line break).
            let keep = self.delimiter.len() + 1;
            if self.buf.len() > keep {
                let drop = self.buf.len() - keep;
                let _ = self.buf.split_to(drop);
            }
            self.scan_from = 0;
            self.fill("").await?;
        }
    }

    /// What follows a delimiter that ends at `at`: `--` (close) or optional transport padding
    /// and a line break.
    fn after_delimiter(&self, at: usize) -> Result<AfterDelimiter> {
        let rest = &self.buf[at..];
        if rest.len() < 2 {
            return if self.eof && rest.is_empty() {
                Err(Error::Multipart(format!(
                    "body ended right after a boundary after part {}",
                    self.parts
                )))
            } else if self.eof && rest == b"-" {
                Err(Error::Multipart(
                    "body ended inside the closing boundary".into(),
                ))
            } else if self.eof && rest == b"\n" {
                Ok(AfterDelimiter::Next(1))
            } else {
                Ok(AfterDelimiter::NeedMore)
            };
        }
        if rest.starts_with(b"--") {
            return Ok(AfterDelimiter::Close);
        }
        let padding = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if padding > MAX_HEADER_SIZE {
            return Err(Error::Multipart(format!(
                "more than {MAX_HEADER_SIZE} bytes of padding after a boundary"
            )));
        }
        match &rest[padding..] {
            [b'\r', b'\n', ..] => Ok(AfterDelimiter::Next(padding + 2)),
            [b'\n', ..] => Ok(AfterDelimiter::Next(padding + 1)),
            [] | [b'\r'] if !self.eof => Ok(AfterDelimiter::NeedMore),
            [b, ..] => Err(Error::Multipart(format!(
                "unexpected byte 0x{b:02X} after the boundary before part {}",
                self.parts + 1
            ))),
            [] => Err(Error::Multipart(format!(
                "body ended after the boundary before part {}",
                self.parts + 1
            ))),
        }
    }

    /// Parses the header block at the start of the buffer; `None` if it is not complete yet.
    fn parse_headers(&self) -> Result<Option<(Headers, usize)>> {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut pos = 0;
        loop {
            let Some(nl) = memchr::memchr(b'\n', &self.buf[pos..]).map(|p| p + pos) else {
                if self.buf.len() > MAX_HEADER_SIZE {
                    return Err(Error::Multipart(format!(
                        "headers of part {} are longer than {MAX_HEADER_SIZE} bytes",
                        self.parts + 1
                    )));
                }
                return Ok(None);
            };
            let line = &self.buf[pos..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            pos = nl + 1;
            if line.is_empty() {
                return Ok(Some((headers, pos)));
            }
            let line = std::str::from_utf8(line).map_err(|_| {
                Error::Multipart(format!("a header of part {} is not UTF-8", self.parts + 1))
            })?;
            if line.starts_with([' ', '\t']) {
                // Obsolete line folding: continues the previous header.
                let Some((_, value)) = headers.last_mut() else {
                    return Err(Error::Multipart(format!(
                        "part {} starts with a folded header line",
                        self.parts + 1
                    )));
                };
                value.push(' ');
                value.push_str(line.trim());
                continue;
            }
            let (name, value) = line.split_once(':').ok_or_else(|| {
                Error::Multipart(format!(
                    "header line `{}` of part {} has no `:`",
                    line.escape_debug(),
                    self.parts + 1
                ))
            })?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }

    /// Splits off the body if its closing delimiter has arrived.
    fn take_body(&mut self) -> Result<Option<Vec<Bytes>>> {
        let needle_len = self.delimiter.len() + 1;
        let mut from = self.scan_from;
        // The body may be empty: then the delimiter follows the header block directly.
        if from == 0 && self.segments.is_empty() && self.buf.starts_with(&self.delimiter) {
            if let Some(body) = self.finish_body(0, 0)? {
                return Ok(Some(body));
            }
            return Ok(None);
        }
        while let Some(pos) = self.body_finder.find(&self.buf[from..]).map(|p| p + from) {
            let body_end = if pos > 0 && self.buf[pos - 1] == b'\r' {
                pos - 1
            } else {
                pos
            };
            if let Some(body) = self.finish_body(body_end, pos + 1)? {
                return Ok(Some(body));
            }
            if self.state == State::Body {
                // The delimiter is there but what follows has not arrived yet.
                self.scan_from = pos;
                return Ok(None);
            }
            from = pos + 1;
        }
        self.scan_from = self.buf.len().saturating_sub(needle_len);
        Ok(None)
    }

    /// Given a delimiter at `delim_at`, takes the body `..body_end` and moves past the
    /// delimiter. `None` if the bytes after the delimiter have not arrived.
    fn finish_body(&mut self, body_end: usize, delim_at: usize) -> Result<Option<Vec<Bytes>>> {
        let after = delim_at + self.delimiter.len();
        match self.after_delimiter(after)? {
            AfterDelimiter::NeedMore => Ok(None),
            AfterDelimiter::Close => {
                let body = self.take_segments(body_end);
                self.buf.clear();
                self.pending = None;
                self.state = State::Done;
                Ok(Some(body))
            }
            AfterDelimiter::Next(skip) => {
                let body = self.take_segments(body_end);
                let _ = self.buf.split_to(after - body_end + skip);
                self.scan_from = 0;
                self.state = State::Headers;
                Ok(Some(body))
            }
        }
    }

    /// The body: the segments so far and the first `end` bytes of `buf`.
    fn take_segments(&mut self, end: usize) -> Vec<Bytes> {
        let last = self.buf.split_to(end).freeze();
        self.push_segment(last);
        self.segments_len = 0;
        std::mem::take(&mut self.segments)
    }
}

/// Frames parts as `multipart/related`.
#[derive(Debug, Clone)]
pub struct MultipartWriter {
    boundary: String,
}

impl Default for MultipartWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl MultipartWriter {
    /// A writer with a fresh random boundary.
    pub fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // RandomState is seeded from the OS once per process and perturbed per instance:
        // enough to make a boundary that no DICOM payload will contain by accident.
        let a = RandomState::new().hash_one(n);
        let b = RandomState::new().hash_one(a);
        Self {
            boundary: format!("adit-{a:016x}{b:016x}"),
        }
    }

    /// A writer with a given boundary (1 to 70 characters of RFC 2046).
    pub fn with_boundary(boundary: impl Into<String>) -> Result<Self> {
        let boundary = boundary.into();
        check_boundary(&boundary, 70)?;
        Ok(Self { boundary })
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The `Content-Type` of the whole body for parts of `part_type`.
    pub fn content_type(&self, part_type: &str) -> String {
        super::media_type::MultipartRelated::content_type(part_type, &self.boundary)
    }

    /// The delimiter and headers that open a part.
    pub fn part_header(&self, part: &Part) -> Bytes {
        let mut head = format!("--{}\r\n", self.boundary);
        for (name, value) in &part.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        Bytes::from(head)
    }

    /// The closing delimiter.
    pub fn closing(&self) -> Bytes {
        Bytes::from(format!("--{}--\r\n", self.boundary))
    }

    /// Frames a stream of parts into body chunks; the part bodies are passed on without
    /// copying. An error item is passed on and ends the body.
    pub fn encode<S, E>(self, parts: S) -> impl Stream<Item = Result<Bytes, E>>
    where
        S: Stream<Item = Result<Part, E>>,
    {
        let closing = self.closing();
        parts
            .map(move |part| match part {
                Ok(part) => {
                    let head = self.part_header(&part);
                    stream::iter(vec![
                        Ok(head),
                        Ok(part.body),
                        Ok(Bytes::from_static(b"\r\n")),
                    ])
                }
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .flatten()
            .chain(stream::once(async move { Ok(closing) }))
    }

    /// Encodes parts into one buffer (tests, small bodies).
    pub fn encode_to_vec(&self, parts: &[Part]) -> Vec<u8> {
        let mut out = Vec::new();
        for part in parts {
            out.extend_from_slice(&self.part_header(part));
            out.extend_from_slice(&part.body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&self.closing());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use proptest::prelude::*;

    fn read_chunked(body: &[u8], boundary: &str, chunk: usize) -> Result<Vec<Part>> {
        let chunks: Vec<Result<Bytes, Error>> = body
            .chunks(chunk.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut reader = MultipartReader::new(stream::iter(chunks), boundary)?;
        block_on(async {
            let mut parts = Vec::new();
            while let Some(part) = reader.next_part().await? {
                parts.push(part);
            }
            Ok(parts)
        })
    }

    #[test]
    fn reads_what_curl_and_orthanc_send() {
        let body = b"preamble\r\n--b1\r\nContent-Type: application/dicom\r\n\
                     Content-Length: 5\r\n\r\nhello\r\n--b1  \r\nContent-Type: text/plain\r\n\r\n\
                     \r\n--b1--\r\nepilogue";
        for chunk in [1, 2, 3, 7, 1000] {
            let parts = read_chunked(body, "b1", chunk).unwrap();
            assert_eq!(parts.len(), 2, "chunk {chunk}");
            assert_eq!(parts[0].content_type(), Some("application/dicom"));
            assert_eq!(parts[0].header("content-length"), Some("5"));
            assert_eq!(parts[0].body().as_ref(), b"hello");
            assert_eq!(parts[1].body().as_ref(), b"", "empty body");
        }
    }

    #[test]
    fn bare_line_feeds_and_no_preamble_are_accepted() {
        let body = b"--x\nA: 1\n\nbody\n--x--";
        let parts = read_chunked(body, "x", 2).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body().as_ref(), b"body");
        assert_eq!(parts[0].header("a"), Some("1"));
    }

    #[test]
    fn malformed_bodies_give_errors_naming_the_problem() {
        let err = |body: &[u8]| read_chunked(body, "b", 3).unwrap_err().to_string();
        assert!(err(b"no boundary here").contains("before the first boundary"));
        assert!(err(b"--b\r\nX: 1\r\n\r\ntruncated").contains("inside the body of part 1"));
        assert!(err(b"--b\r\nX: 1\r\n").contains("inside the headers of part 1"));
        assert!(err(b"--b\r\nbad header\r\n\r\nx\r\n--b--").contains("has no `:`"));
        assert!(err(b"--bX\r\n").contains("unexpected byte 0x58"));
        assert!(err(b"--b?\r\n\r\n").contains("unexpected byte 0x3F"));
        let big = read_chunked(b"--b\r\n\r\n0123456789\r\n--b--", "b", 4);
        assert!(big.is_ok());
        let chunks: Vec<Result<Bytes, Error>> = vec![Ok(Bytes::from_static(
            b"--b\r\n\r\n0123456789abcdef0123456789",
        ))];
        let mut small = MultipartReader::new(stream::iter(chunks), "b")
            .unwrap()
            .with_max_part_size(4);
        let e = block_on(small.next_part()).unwrap_err().to_string();
        assert!(e.contains("larger than the limit"), "{e}");
    }

    #[test]
    fn stream_errors_are_passed_on() {
        let chunks: Vec<Result<Bytes, Error>> = vec![
            Ok(Bytes::from_static(b"--b\r\n\r\nab")),
            Err(Error::Multipart("connection reset".into())),
        ];
        let mut reader = MultipartReader::new(stream::iter(chunks), "b").unwrap();
        let e = block_on(reader.next_part()).unwrap_err().to_string();
        assert!(e.contains("connection reset"), "{e}");
    }

    #[test]
    fn writer_stream_matches_writer_buffer() {
        let writer = MultipartWriter::with_boundary("bnd").unwrap();
        let parts = vec![
            Part::new("application/dicom", Bytes::from_static(b"one")),
            Part::new("application/dicom", Bytes::from_static(b"two\r\n")),
        ];
        let expected = writer.encode_to_vec(&parts);
        let streamed: Vec<Bytes> = block_on(
            writer
                .clone()
                .encode(stream::iter(parts.into_iter().map(Ok::<_, Error>)))
                .map(|c| c.unwrap())
                .collect(),
        );
        assert_eq!(streamed.concat(), expected);
        assert!(expected.starts_with(b"--bnd\r\nContent-Type: application/dicom\r\n\r\none\r\n"));
        assert!(expected.ends_with(b"two\r\n\r\n--bnd--\r\n"));
        assert_ne!(
            MultipartWriter::new().boundary(),
            MultipartWriter::new().boundary()
        );
    }

    #[test]
    fn long_chunks_of_a_body_are_not_copied() {
        let writer = MultipartWriter::with_boundary("bnd").unwrap();
        let parts: Vec<Part> = (0u8..3)
            .map(|i| Part::new("application/dicom", vec![i; 100_000]))
            .collect();
        let body = Bytes::from(writer.encode_to_vec(&parts));
        let chunks: Vec<Result<Bytes, Error>> = (0..body.len())
            .step_by(30_000)
            .map(|at| Ok(body.slice(at..body.len().min(at + 30_000))))
            .collect();
        let reader = MultipartReader::new(stream::iter(chunks), "bnd").unwrap();
        let read: Vec<SegmentedPart> =
            block_on(reader.into_segmented_stream().map(|p| p.unwrap()).collect());
        assert_eq!(read.len(), 3);
        let range = body.as_ptr_range();
        for (part, expected) in read.iter().zip(&parts) {
            assert_eq!(part.len(), expected.body().len());
            assert_eq!(part.clone().into_part(), *expected);
            let shared: usize = part
                .segments()
                .iter()
                .filter(|s| range.contains(&s.as_ptr()))
                .map(Bytes::len)
                .sum();
            // Only the bytes around delimiters and headers go through the reader's buffer.
            assert!(shared > 90_000, "{shared} of 100000 bytes shared");
        }
    }

    proptest! {
        #[test]
        fn boundary_like_bytes_in_long_bodies_survive(
            pieces in proptest::collection::vec(prop_oneof![
                Just(b"--bn".to_vec()), Just(b"\r\n".to_vec()), Just(b"-".to_vec()),
                Just(b"bnd".to_vec()), Just(b"x".to_vec())], 0..400),
            chunk in 1usize..1200,
        ) {
            let data = pieces.concat();
            prop_assume!(memmem::find(&data, b"\n--bnd").is_none() && !data.starts_with(b"--bnd"));
            let writer = MultipartWriter::with_boundary("bnd").unwrap();
            let parts = vec![
                Part::new("a/b", data.clone()),
                Part::new("a/b", Vec::new()),
                Part::new("a/b", data),
            ];
            let read = read_chunked(&writer.encode_to_vec(&parts), "bnd", chunk).unwrap();
            prop_assert_eq!(read, parts);
        }

        /// Short parts in small chunks, and long parts in chunks up to a few parts long.
        #[test]
        fn round_trip_any_parts_any_chunking(
            (bodies, chunk) in prop_oneof![
                (proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..6), 1usize..64),
                (proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..5), 1usize..2000),
            ],
        ) {
            let writer = MultipartWriter::new();
            let parts: Vec<Part> = bodies
                .iter()
                .map(|b| Part::new("application/dicom", b.clone()))
                .collect();
            let body = writer.encode_to_vec(&parts);
            let read = read_chunked(&body, writer.boundary(), chunk).unwrap();
            prop_assert_eq!(read, parts);
        }

        #[test]
        fn arbitrary_long_input_never_panics(
            pieces in proptest::collection::vec(prop_oneof![
                Just(b"\r\n--b".to_vec()), Just(b"--".to_vec()), Just(b"\r\n".to_vec()),
                Just(b"Content-Type: a/b\r\n\r\n".to_vec()), Just(vec![b'x'; 300])], 0..60),
            chunk in 1usize..1500,
        ) {
            let _ = read_chunked(&pieces.concat(), "b", chunk);
        }

        #[test]
        fn arbitrary_input_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..400),
            chunk in 1usize..32,
        ) {
            let _ = read_chunked(&body, "b", chunk);
        }

        #[test]
        fn boundary_like_bytes_in_bodies_survive(
            pieces in proptest::collection::vec(prop_oneof![
                Just(b"--bn".to_vec()), Just(b"\r\n".to_vec()), Just(b"-".to_vec()),
                Just(b"bnd".to_vec()), Just(b"x".to_vec())], 0..40),
            chunk in 1usize..16,
        ) {
            let data = pieces.concat();
            // A body must not contain the delimiter itself (RFC 2046); everything else goes.
            prop_assume!(memmem::find(&data, b"\n--bnd").is_none() && !data.starts_with(b"--bnd"));
            let writer = MultipartWriter::with_boundary("bnd").unwrap();
            let parts = vec![Part::new("a/b", data.clone()), Part::new("a/b", data)];
            let read = read_chunked(&writer.encode_to_vec(&parts), "bnd", chunk).unwrap();
            prop_assert_eq!(read, parts);
        }
    }
}
