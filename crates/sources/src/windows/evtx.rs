//! Windows event log files (EVTX), damaged ones included.
//!
//! An EVTX file is a 4 KiB file header followed by 64 KiB chunks, each self-contained (its own
//! string and template tables). The file is read as a stream, chunk by chunk: memory stays at a
//! few chunks whatever the file's size. The `evtx` crate parses each chunk and renders each record
//! as JSON (its fast compiled-template path), and the record is read by the same code as the evtx
//! JSON rendering found in evidence ([`super::json`]), so an EVTX file and its JSON dump give the
//! same rows.
//!
//! Rendering runs on a thread of its own, a few chunks ahead of the reading of rows, so that the
//! two stages use both cores.
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

use std::io::{self, BufRead, ErrorKind, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

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
        let (tx, rx) = sync_channel(CHUNKS_AHEAD);
        std::thread::Builder::new()
            .name("spoor-evtx".into())
            .spawn(move || render_file(input, needle, tx))
            .map_err(|source| SourceError::Io {
                path: file.to_path_buf(),
                source,
            })?;
        let units = EvtxUnits {
            rx,
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

/// The records of a file, one rendered chunk at a time.
struct EvtxUnits {
    rx: Receiver<Vec<Item>>,
    items: std::vec::IntoIter<Item>,
    /// The record handed out last.
    current: Vec<u8>,
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
                None => match self.rx.recv() {
                    Ok(items) => self.items = items.into_iter(),
                    // The renderer is done (it reports its own failures before it stops).
                    Err(_) => return Unit::End,
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

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The renderer: reads the file chunk by chunk and sends each chunk's rendered records.
fn render_file(
    mut input: Box<dyn BufRead + Send>,
    mut needle: Option<ChannelNeedle>,
    tx: SyncSender<Vec<Item>>,
) {
    let settings = Arc::new(ParserSettings::new().indent(false));
    let mut header = vec![0u8; HEADER_SIZE];
    let got = match read_full(&mut input, &mut header) {
        Ok(n) => n,
        Err(e) => {
            let _ = tx.send(vec![Item::Failed(Position::Byte(0), e)]);
            return;
        }
    };
    if got < HEADER_SIZE {
        let _ = tx.send(vec![Item::Lost(
            Position::Byte(0),
            format!(
                "the file ends inside its {HEADER_SIZE}-byte header ({got} bytes): it holds no chunk"
            ),
        )]);
        return;
    }
    if let Err(e) = EvtxFileHeader::from_bytes(&header) {
        // The chunks do not need the header: report it and read them.
        let _ = tx.send(vec![Item::Lost(
            Position::Byte(0),
            format!("the file header is damaged ({e}); its chunks are read anyway"),
        )]);
    }
    for number in 0u64.. {
        let offset = HEADER_SIZE as u64 + number * CHUNK_SIZE as u64;
        let mut data = vec![0u8; CHUNK_SIZE];
        let got = match read_full(&mut input, &mut data) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(vec![Item::Failed(Position::Byte(offset), e)]);
                return;
            }
        };
        if got == 0 || data[..got].iter().all(|&b| b == 0) {
            if got < CHUNK_SIZE {
                return;
            }
            // Preallocated, never written.
            continue;
        }
        let mut items = Vec::new();
        if got < CHUNK_SIZE {
            // The records written before the cut are still whole: read the chunk as if the rest
            // were zeros (free space).
            items.push(Item::Lost(
                Position::Byte(offset + got as u64),
                format!(
                    "the file ends {got} bytes into chunk {number} (truncated?); the records \
                     after the cut are lost"
                ),
            ));
        }
        match catch_unwind(AssertUnwindSafe(|| {
            render_chunk(data, number, offset, &settings, needle.as_mut())
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
        if tx.send(items).is_err() || got < CHUNK_SIZE {
            return;
        }
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
    fn a_file_shorter_than_its_header_is_reported() {
        let (tx, rx) = sync_channel(4);
        let mut short = MAGIC.to_vec();
        short.extend([0u8; 100]);
        render_file(Box::new(io::Cursor::new(short)), None, tx);
        let items: Vec<Item> = rx.into_iter().flatten().collect();
        assert!(matches!(&items[..], [Item::Lost(Position::Byte(0), r)] if r.contains("header")));
    }
}
