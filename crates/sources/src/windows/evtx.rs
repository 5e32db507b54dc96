//! Windows event log files (EVTX), damaged ones included.
//!
//! An EVTX file is a 4 KiB file header followed by 64 KiB chunks, each self-contained (its own
//! string and template tables). The file is read as a stream, chunk by chunk: memory stays at a
//! few chunks whatever the file's size. The `evtx` crate parses each chunk and renders each record
//! as JSON (its fast compiled-template path), and the record is read by the same code as the evtx
//! JSON rendering found in evidence ([`super::json`]), so an EVTX file and its JSON dump give the
//! same rows.
//!
//! A long file's rendering runs on a thread of its own, a few chunks ahead of the reading of
//! rows, so that the two stages use two cores ([`EvtxUnits`]).
//!
//! Damage: a chunk that cannot be read (bad magic, bad string table, a truncated file's last
//! chunk...) becomes a bad record at the chunk's byte offset, a record that cannot be read or
//! rendered a bad record at its offset or EventRecordID; the records around them are kept.
//! All-zero chunks (preallocated space) are skipped silently. Checksums are not required: a
//! chunk whose CRC does not match is still read, as Windows' own tools do, since its records
//! parse or fail one by one.
//!
//! Chunks are read in file order; a log that wrapped around (its oldest chunk in the middle of
//! the file) gives its rows in that order, not by EventRecordID.

use std::io::{self, BufRead, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxFileHeader, ParserSettings};
use memchr::memmem;
use spoor_catalog::TableDef;

use super::json::EventDecoder;
use super::{ChannelFilter, Mapper, TABLES};
use crate::batch::{Batcher, Decoding, Unit, Units};
use crate::{Batches, Format, Position, SourceError, check_table};

/// The EVTX format.
pub struct Evtx;

/// The file header's magic.
const MAGIC: &[u8; 8] = b"ElfFile\0";
const HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
/// Rendered chunks waiting for the reader: bounds memory, keeps the renderer busy.
const CHUNKS_AHEAD: usize = 4;

impl Format for Evtx {
    fn name(&self) -> &'static str {
        "evtx"
    }

    fn description(&self) -> &'static str {
        "Windows event logs (.evtx, any channel), damaged files included: bad chunks and records \
         are reported and skipped"
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(MAGIC)
    }

    fn magic(&self) -> Option<&'static [u8]> {
        Some(MAGIC)
    }

    fn decode(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batches, SourceError> {
        check_table(self, table)?;
        let batcher = Batcher::new(table, projection, batch_size)?;
        let mapper = Mapper::new(table, projection);
        let needle = match ChannelFilter::of(&table.name) {
            ChannelFilter::All => None,
            ChannelFilter::Only(channel) => Some(ChannelNeedle::new(channel)),
        };
        let units = EvtxUnits {
            source: Source::Inline(Box::new(ChunkRenderer::new(input, needle))),
            path: file.to_path_buf(),
            items: Vec::new().into_iter(),
            current: Vec::new(),
        };
        Ok(Box::new(Decoding::new(
            units,
            EventDecoder::evtx(mapper),
            batcher,
            file,
        )))
    }
}

/// What the renderer hands to the reader.
enum Item {
    /// A record rendered as JSON.
    Record(Position, Vec<u8>),
    /// A chunk or record that was skipped, and why.
    Lost(Position, String),
    /// Reading the file failed; ends it.
    Failed(Position, io::Error),
}

/// The records of a file, one rendered chunk at a time. The first chunks are rendered on the
/// reading thread; a file that goes on past [`INLINE_CHUNKS`] chunks of records gets a renderer
/// thread of its own, a few chunks ahead of the reading of rows, so that the two stages use two
/// cores. (Most logs in evidence folders are a few chunks: a thread each would cost more than
/// it saves, and the engine already reads several files at once.)
struct EvtxUnits {
    source: Source,
    path: std::path::PathBuf,
    items: std::vec::IntoIter<Item>,
    /// The record handed out last.
    current: Vec<u8>,
}

enum Source {
    Inline(Box<ChunkRenderer>),
    Thread(Receiver<Vec<Item>>),
    Done,
}

/// Chunks of records rendered inline before the rendering moves to a thread of its own.
const INLINE_CHUNKS: u64 = 16;

impl EvtxUnits {
    /// The next rendered chunk; `None` at the end of the file.
    fn next_chunk(&mut self) -> Option<Vec<Item>> {
        match &mut self.source {
            Source::Inline(r) if r.rendered >= INLINE_CHUNKS => {
                let Source::Inline(mut r) = std::mem::replace(&mut self.source, Source::Done)
                else {
                    unreachable!("matched above")
                };
                let (tx, rx) = sync_channel(CHUNKS_AHEAD);
                let spawned =
                    std::thread::Builder::new()
                        .name("spoor-evtx".into())
                        .spawn(move || {
                            while let Some(items) = r.next_chunk() {
                                if tx.send(items).is_err() {
                                    return;
                                }
                            }
                        });
                match spawned {
                    Ok(_) => self.source = Source::Thread(rx),
                    Err(e) => {
                        return Some(vec![Item::Failed(
                            Position::Byte(0),
                            io::Error::other(format!(
                                "{}: cannot start the EVTX renderer thread: {e}",
                                self.path.display()
                            )),
                        )]);
                    }
                }
                self.next_chunk()
            }
            Source::Inline(r) => r.next_chunk(),
            // The renderer ends the channel when the file ends (it reports its own failures).
            Source::Thread(rx) => rx.recv().ok(),
            Source::Done => None,
        }
    }
}

impl Units for EvtxUnits {
    fn next_unit(&mut self) -> Unit<'_> {
        loop {
            match self.items.next() {
                Some(Item::Record(position, json)) => {
                    self.current = json;
                    return Unit::Record(position, &self.current);
                }
                Some(Item::Lost(position, reason)) => {
                    return Unit::Lost {
                        position,
                        reason,
                        fatal: false,
                    };
                }
                Some(Item::Failed(position, e)) => return Unit::Failed(position, e),
                None => match self.next_chunk() {
                    Some(items) => self.items = items.into_iter(),
                    None => return Unit::End,
                },
            }
        }
    }
}

/// Skips chunks that cannot hold a channel's records: the channel's name appears in every chunk
/// that holds one (as a UTF-16 or, rarely, ANSI string), compared without regard to case.
struct ChannelNeedle {
    utf16: memmem::Finder<'static>,
    ansi: memmem::Finder<'static>,
    lower: Vec<u8>,
}

impl ChannelNeedle {
    fn new(channel: &str) -> ChannelNeedle {
        let lower = channel.to_ascii_lowercase();
        let utf16: Vec<u8> = lower.bytes().flat_map(|b| [b, 0]).collect();
        ChannelNeedle {
            utf16: memmem::Finder::new(&utf16).into_owned(),
            ansi: memmem::Finder::new(lower.as_bytes()).into_owned(),
            lower: Vec::with_capacity(CHUNK_SIZE),
        }
    }

    fn admits(&mut self, chunk: &[u8]) -> bool {
        self.lower.clear();
        self.lower
            .extend(chunk.iter().map(|b| b.to_ascii_lowercase()));
        self.utf16.find(&self.lower).is_some() || self.ansi.find(&self.lower).is_some()
    }
}

/// Whether a chunk is preallocated space. Most chunks start with their magic and are answered at
/// once; the others are folded block by block, which the compiler vectorises (a byte-at-a-time
/// `all` over the many empty chunks of a preallocated log cost more than rendering its records).
fn all_zero(chunk: &[u8]) -> bool {
    !chunk.starts_with(b"ElfChnk")
        && chunk
            .chunks(4096)
            .all(|block| block.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

/// Reads a file chunk by chunk and renders each chunk's records.
struct ChunkRenderer {
    input: Box<dyn BufRead + Send>,
    needle: Option<ChannelNeedle>,
    settings: Arc<ParserSettings>,
    /// The next chunk's number; `None` before the file header is read.
    number: Option<u64>,
    /// Chunks with records rendered so far.
    rendered: u64,
    done: bool,
}

impl ChunkRenderer {
    fn new(input: Box<dyn BufRead + Send>, needle: Option<ChannelNeedle>) -> ChunkRenderer {
        ChunkRenderer {
            input,
            needle,
            settings: Arc::new(ParserSettings::new().indent(false)),
            number: None,
            rendered: 0,
            done: false,
        }
    }

    /// The items of the next chunk that holds any (the file header's problems first); `None` at
    /// the end of the file. Empty chunks are passed over in a loop (a preallocated log can hold
    /// thousands).
    fn next_chunk(&mut self) -> Option<Vec<Item>> {
        loop {
            if self.done {
                return None;
            }
            let Some(number) = self.number else {
                self.number = Some(0);
                if let Some(items) = self.read_header() {
                    return Some(items);
                }
                continue;
            };
            if let Some(items) = self.read_chunk(number) {
                return Some(items);
            }
        }
    }

    /// Reads chunk `number` and renders its records; `None` when it holds none (the end of the
    /// file, or preallocated space never written).
    fn read_chunk(&mut self, number: u64) -> Option<Vec<Item>> {
        let offset = HEADER_SIZE as u64 + number * CHUNK_SIZE as u64;
        self.number = Some(number + 1);
        // Read into spare capacity: a zero-filled buffer would be written twice.
        let mut data = Vec::with_capacity(CHUNK_SIZE);
        if let Err(e) = (&mut self.input)
            .take(CHUNK_SIZE as u64)
            .read_to_end(&mut data)
        {
            self.done = true;
            return Some(vec![Item::Failed(Position::Byte(offset), e)]);
        }
        let got = data.len();
        if got < CHUNK_SIZE {
            self.done = true;
        }
        if got == 0 || all_zero(&data) {
            return None;
        }
        let mut items = Vec::new();
        if got < CHUNK_SIZE {
            // The records written before the cut are still whole: read the chunk as if the rest
            // were zeros (free space).
            data.resize(CHUNK_SIZE, 0);
            items.push(Item::Lost(
                Position::Byte(offset + got as u64),
                format!(
                    "the file ends {got} bytes into chunk {number} (truncated?); the records \
                     after the cut are lost"
                ),
            ));
        }
        let (settings, needle) = (&self.settings, self.needle.as_mut());
        match catch_unwind(AssertUnwindSafe(|| {
            render_chunk(data, number, offset, settings, needle)
        })) {
            Ok(rendered) => items.extend(rendered),
            Err(panic) => items.push(Item::Lost(
                Position::Byte(offset),
                format!(
                    "chunk {number}: the EVTX decoder failed ({}); the chunk's records are skipped",
                    panic_message(&panic)
                ),
            )),
        }
        self.rendered += 1;
        Some(items)
    }

    /// Reads the file header: the items that report its problems, if any.
    fn read_header(&mut self) -> Option<Vec<Item>> {
        let mut header = Vec::with_capacity(HEADER_SIZE);
        if let Err(e) = (&mut self.input)
            .take(HEADER_SIZE as u64)
            .read_to_end(&mut header)
        {
            self.done = true;
            return Some(vec![Item::Failed(Position::Byte(0), e)]);
        }
        let got = header.len();
        if got < HEADER_SIZE {
            self.done = true;
            return Some(vec![Item::Lost(
                Position::Byte(0),
                format!(
                    "the file ends inside its {HEADER_SIZE}-byte header ({got} bytes): it holds \
                     no chunk"
                ),
            )]);
        }
        // The chunks do not need the header: report it and read them.
        EvtxFileHeader::from_bytes(&header).err().map(|e| {
            vec![Item::Lost(
                Position::Byte(0),
                format!("the file header is damaged ({e}); its chunks are read anyway"),
            )]
        })
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// An error with its causes: `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Where a record error is: its byte offset in the file when the error says, else its
/// EventRecordID, else the chunk.
fn error_position(e: &EvtxError, chunk_offset: u64) -> Position {
    match e {
        EvtxError::FailedToReadRecordAt { offset, .. } => Position::Byte(chunk_offset + offset),
        EvtxError::FailedToParseRecord { record_id, .. } => Position::EventRecord(*record_id),
        _ => Position::Byte(chunk_offset),
    }
}

/// Parses one chunk and renders its records (none when `needle` says the chunk cannot hold
/// the channel read: its header is still checked, so that a damaged chunk is reported whatever
/// the table).
fn render_chunk(
    data: Vec<u8>,
    number: u64,
    offset: u64,
    settings: &Arc<ParserSettings>,
    needle: Option<&mut ChannelNeedle>,
) -> Vec<Item> {
    let lost = |e: &dyn std::error::Error| {
        vec![Item::Lost(
            Position::Byte(offset),
            format!(
                "chunk {number} cannot be read ({}); its records are skipped",
                chain(e)
            ),
        )]
    };
    let mut chunk = match EvtxChunkData::new(data, false) {
        Ok(c) => c,
        Err(e) => return lost(&e),
    };
    chunk.number = Some(number);
    if let Some(n) = needle
        && !n.admits(&chunk.data)
    {
        return Vec::new();
    }
    let mut parsed = match chunk.parse(Arc::clone(settings)) {
        Ok(p) => p,
        Err(e) => return lost(&e),
    };
    let mut items = Vec::with_capacity(256);
    for record in parsed.iter() {
        match record {
            Ok(record) => {
                let id = record.event_record_id;
                match record.into_json_bytes() {
                    Ok(json) => items.push(Item::Record(Position::EventRecord(id), json.data)),
                    Err(e) => items.push(Item::Lost(
                        Position::EventRecord(id),
                        format!("record {id} cannot be rendered: {}", chain(&e)),
                    )),
                }
            }
            Err(e) => items.push(Item::Lost(
                error_position(&e, offset),
                format!("chunk {number}: {}", chain(&e)),
            )),
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_needle_ignores_case_and_width() {
        let mut n = ChannelNeedle::new("Microsoft-Windows-Sysmon/Operational");
        let utf16: Vec<u8> = "xxMICROSOFT-Windows-Sysmon/Operationalyy"
            .bytes()
            .flat_map(|b| [b, 0])
            .collect();
        assert!(n.admits(&utf16));
        assert!(n.admits(b"..microsoft-windows-sysmon/operational.."));
        assert!(!n.admits(b"Microsoft-Windows-Security-Auditing"));
    }

    #[test]
    fn a_long_run_of_empty_chunks_is_passed_over_in_constant_stack() {
        // A header, then a thousand chunks never written: nothing to report. On a small stack,
        // so that passing over chunks by recursion fails.
        let run = || {
            let mut file = MAGIC.to_vec();
            file.resize(HEADER_SIZE, 0);
            let zeros = io::repeat(0).take(1000 * CHUNK_SIZE as u64);
            let input = io::BufReader::new(io::Cursor::new(file).chain(zeros));
            let mut r = ChunkRenderer::new(Box::new(input), None);
            let items: Vec<Item> = std::iter::from_fn(|| r.next_chunk()).flatten().collect();
            assert!(items.is_empty(), "{} items", items.len());
            assert_eq!(r.number, Some(1001));
        };
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn a_file_shorter_than_its_header_is_reported() {
        let mut short = MAGIC.to_vec();
        short.extend([0u8; 100]);
        let mut r = ChunkRenderer::new(Box::new(io::Cursor::new(short)), None);
        let items: Vec<Item> = std::iter::from_fn(|| r.next_chunk()).flatten().collect();
        assert!(matches!(&items[..], [Item::Lost(Position::Byte(0), r)] if r.contains("header")));
    }
}
