//! Sources: decoders from evidence files to Arrow record batches.
//!
//! A [`Format`] recognises a kind of log from its first bytes ([`Format::sniff`]) and decodes it
//! into the tables of the catalog it fills ([`Format::decode`]). [`FORMATS`] lists every format;
//! adding one is a module, one line in that list and a fixture folder in `tests/fixtures/`.
//!
//! [`discover`] walks files and folders and assigns each file to the first format that claims it
//! (recognises it and finds at least one table in it: [`Format::tables_in`], kept in
//! [`EvidenceFile::tables`]); [`read`] decodes one file into batches of one table. Batches carry exactly
//! `table.schema().project(projection)`, so they can go to DataFusion as they are, and only the
//! projected columns are built. A record that cannot be decoded becomes a [`Decoded::Bad`] (file,
//! line or record number, reason) and the rest of the file is still read; a [`SourceError`] ends
//! the file (what was decoded before it stands).
//!
//! Compressed files (`.gz`, `.zst`) are read through, and zip archives are transparent: each member
//! is a file of its own, named `archive.zip!member` in reports ([`EvidenceFile::member`]). UTF-16
//! text with a byte order mark is read as UTF-8.
//!
//! Evidence is only ever read: nothing is written next to it.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use spoor_catalog::TableDef;

pub mod access_log;
pub mod alb_access;
pub mod auditd;
mod batch;
pub mod cef;
pub mod cloudtrail;
mod encoding;
pub mod events;
pub mod la_export;
mod lines;
mod ranges;
pub mod s3_access;
mod spaced;
pub mod syslog;
pub mod vpcflow;
pub mod w3c;
pub mod windows;
pub mod zeek;
mod zip;

pub use zip::ArchiveMember;

/// Where in a file a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line number.
    Line(u64),
    /// 1-based record number (elements of a JSON array).
    Record(u64),
    /// 0-based byte offset in the (decompressed) content.
    Byte(u64),
    /// The record whose EventRecordID this is (Windows event logs).
    EventRecord(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Record(n) => write!(f, "record {n}"),
            Position::Byte(n) => write!(f, "byte {n}"),
            Position::EventRecord(n) => write!(f, "event record {n}"),
        }
    }
}

/// A record that could not be decoded; it is skipped and the rest of the file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub file: PathBuf,
    pub position: Position,
    pub reason: String,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.file.display(),
            self.position,
            self.reason
        )
    }
}

/// What ends the reading of a file (records decoded before it stand).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {}: {source}; check that it exists and that spoor may read it", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "reading {} failed after {position}: {source}; the file may be truncated or its compression damaged, \
         the records before that point were kept",
        path.display()
    )]
    Read {
        path: PathBuf,
        position: Position,
        source: io::Error,
    },
    #[error("{}: {position}: {reason}", path.display())]
    Malformed {
        path: PathBuf,
        position: Position,
        reason: String,
    },
    #[error("format {format} does not fill table {table}; it fills {}", fills.join(", "))]
    Table {
        format: &'static str,
        table: String,
        fills: Vec<&'static str>,
    },
    #[error(
        "column {index} is not in table {table}, which has {columns} columns; pass indices of the catalog's columns"
    )]
    Projection {
        table: String,
        index: usize,
        columns: usize,
    },
}

/// One decoded item: a batch of rows, or a record that was skipped.
#[derive(Debug)]
pub enum Decoded {
    Batch(RecordBatch),
    Bad(BadRecord),
}

/// The stream of decoded items of one file.
pub type Batches = Box<dyn Iterator<Item = Result<Decoded, SourceError>> + Send>;

/// A log format: recognises its files and decodes them into catalog tables.
pub trait Format: Send + Sync {
    /// Short name, e.g. `cloudtrail`.
    fn name(&self) -> &'static str;
    /// What the format recognises (for `spoor sources`).
    fn description(&self) -> &'static str;
    /// The catalog tables this format fills.
    fn tables(&self) -> &'static [&'static str];
    /// The tables that one file of this format fills, from its head (what `sniff` saw) and its
    /// path. A format whose tables depend on the content (an export naming its table in a
    /// column) overrides it; an empty list means that the file is not claimed after all.
    fn tables_in(&self, head: &[u8], path: &Path) -> Vec<&'static str> {
        let _ = (head, path);
        self.tables().to_vec()
    }
    /// Remarks about how a claimed file will be read (columns left out, times read in a zone),
    /// shown by `spoor tables`. None by default.
    /// `tables` is what [`Format::tables_in`] found.
    fn notes(&self, head: &[u8], path: &Path, tables: &[&'static str]) -> Vec<String> {
        let _ = (head, path, tables);
        Vec::new()
    }
    /// Whether the file is of this format, judged from its first bytes (decompressed). Never
    /// looks at the file name. `head` may end in the middle of a line or a multi-byte character.
    fn sniff(&self, head: &[u8]) -> bool;

    /// The bytes every file of this format starts with, when that alone decides: discovery then
    /// reads no more of such a file than its first [`MAGIC_BYTES`] (EVTX folders hold thousands
    /// of files, each a megabyte of mostly empty chunks).
    fn magic(&self) -> Option<&'static [u8]> {
        None
    }
    /// Decodes `input` into batches of `table` with the columns `projection` (indices into
    /// `table.columns`), at most `batch_size` rows each.
    fn decode(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batches, SourceError>;

    /// Whether a file of this format, with this head, is a sequence of self-contained lines: any
    /// line can be decoded without the lines before it (no header, no state), so the file can be
    /// read in byte ranges at once ([`read_range`]). False by default.
    fn splittable(&self, head: &[u8]) -> bool {
        let _ = head;
        false
    }

    /// For a file whose first lines are a header that the lines after it need (Zeek's `#fields`),
    /// and whose other lines stand alone: the header's length in bytes. Such a file is read in
    /// byte ranges too, each range after the header. None by default.
    fn split_header(&self, head: &[u8], path: &Path) -> Option<u64> {
        let _ = (head, path);
        None
    }

    /// Like [`Format::decode`], with equality conditions the query puts on text columns. A
    /// format may use them to skip records that cannot match before decoding them (a superset
    /// filter: the query still applies its own predicate). The default ignores them.
    #[allow(clippy::too_many_arguments)]
    fn decode_prefiltered(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
        equals: &[ColumnEquals],
    ) -> Result<Batches, SourceError> {
        let _ = equals;
        self.decode(input, file, table, projection, batch_size)
    }
}

/// `column == value` on a text column of the table being read (a hint for
/// [`Format::decode_prefiltered`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnEquals {
    /// Index into the table's columns.
    pub column: usize,
    /// The value the column must equal.
    pub value: String,
}

/// Every format, in the order `discover` asks them (the first that claims a file gets it).
pub static FORMATS: &[&dyn Format] = &[
    // First: its magic decides at once, and EVTX folders hold thousands of files.
    &windows::evtx::Evtx,
    &cloudtrail::CloudTrail,
    &vpcflow::VpcFlow,
    &w3c::W3cIis,
    &windows::json::WindowsJson,
    &events::kube::KUBE_AUDIT_LOG,
    &events::suricata::SURICATA,
    &events::guardduty::GUARD_DUTY,
    &events::cloudwatch::CLOUDWATCH,
    &events::azure::AZURE_DIAGNOSTIC_RECORDS,
    &events::products::PRODUCTS,
    // Zeek before la-export: a JSON conn log has enough of Zeek_conn's columns to pass for an
    // export of that table.
    &zeek::Zeek,
    &la_export::LaExport,
    &s3_access::S3Access,
    &alb_access::AlbAccess,
    &access_log::AccessLog,
    &auditd::Auditd,
    // CEF before syslog: a CEF line with a syslog header is CEF.
    &cef::Cef,
    &syslog::Syslog,
    // Last: any other table-shaped file defines a table of its own.
    &la_export::DefinedRows,
];

/// The format with this name.
pub fn format(name: &str) -> Option<&'static dyn Format> {
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// How a file is compressed (found from its magic bytes, never its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    /// A member of a zip archive (stored or deflated).
    Zip,
    /// UTF-16 text (with its byte order mark), read as UTF-8.
    Utf16,
}

impl Compression {
    fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A file that a format claimed.
#[derive(Clone)]
pub struct EvidenceFile {
    pub path: PathBuf,
    pub format: &'static dyn Format,
    /// The tables this file fills (`format.tables_in`).
    pub tables: Vec<&'static str>,
    /// What the format remarks about this file (`format.notes`).
    pub notes: Vec<String>,
    /// Size on disk (compressed size for compressed files and zip members).
    pub size: u64,
    pub compression: Compression,
    /// For a member of a zip archive: where it is (`path` is then `archive.zip!member`).
    pub member: Option<std::sync::Arc<ArchiveMember>>,
    /// Whether the file can be read in byte ranges ([`read_range`]): an uncompressed file whose
    /// format says its lines stand alone ([`Format::splittable`]), or stand alone after a header
    /// ([`Format::split_header`]).
    pub splittable: bool,
    /// The length of that header in bytes (0: none), read before every range.
    pub header_bytes: u64,
}

impl fmt::Debug for EvidenceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceFile")
            .field("path", &self.path)
            .field("format", &self.format.name())
            .field("tables", &self.tables)
            .field("size", &self.size)
            .field("compression", &self.compression)
            .field("member", &self.member.is_some())
            .finish()
    }
}

/// What `discover` found.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Claimed files, sorted by path.
    pub files: Vec<EvidenceFile>,
    /// Files no format claims (including empty files), sorted by path.
    pub unclaimed: Vec<PathBuf>,
    /// Paths that could not be read.
    pub errors: Vec<SourceError>,
}

/// How many decompressed bytes `discover` hands to `sniff`.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// How much of a file discovery reads first: enough for any format's [`Format::magic`].
pub const MAGIC_BYTES: usize = 4096;

/// Finds the evidence under `paths` (files, and folders walked recursively in name order).
/// Symbolic links given as arguments are followed; links met inside folders are followed to
/// files but not to folders (no cycles).
pub fn discover(paths: &[PathBuf]) -> Inventory {
    discover_as(paths, None)
}

/// Like [`discover`], with every file read as `forced` when it is given: no format is asked
/// whether it recognises the file (`spoor --source-format NAME`). Such a file fills the tables
/// the format finds in it, or every table of the format; what does not decode is reported as
/// bad records by the reads.
pub fn discover_as(paths: &[PathBuf], forced: Option<&'static dyn Format>) -> Inventory {
    let mut inv = Inventory::default();
    let mut candidates: Vec<(PathBuf, u64)> = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut candidates, &mut inv.errors),
            Ok(m) => candidates.push((path.clone(), m.len())),
            Err(source) => inv.errors.push(SourceError::Io {
                path: path.clone(),
                source,
            }),
        }
    }
    candidates.sort();
    candidates.dedup();
    for (path, size) in candidates {
        match zip::is_archive(&path) {
            Ok(true) => {
                discover_archive(&path, &mut inv, forced);
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                inv.errors.push(e);
                continue;
            }
        }
        match open_path(&path)
            .and_then(|(reader, compression)| classify(reader, compression, &path, forced))
        {
            Ok(Some(claim)) => inv.files.push(EvidenceFile {
                path,
                format: claim.format,
                tables: claim.tables,
                notes: claim.notes,
                size,
                compression: claim.compression,
                member: None,
                splittable: claim.splittable,
                header_bytes: claim.header_bytes,
            }),
            Ok(None) => inv.unclaimed.push(path),
            Err(e) => inv.errors.push(e),
        }
    }
    inv.files.sort_by(|a, b| a.path.cmp(&b.path));
    inv.unclaimed.sort();
    inv
}

/// Adds the members of a zip archive: each is classified like a file of its own.
fn discover_archive(archive: &Path, inv: &mut Inventory, forced: Option<&'static dyn Format>) {
    let members = match zip::members(archive) {
        Ok(m) => m,
        Err(e) => {
            inv.errors.push(e);
            return;
        }
    };
    for member in members {
        let path = member.display_path();
        if let Err(reason) = member.readable() {
            inv.errors.push(SourceError::Malformed {
                path,
                position: Position::Byte(0),
                reason,
            });
            continue;
        }
        let member = std::sync::Arc::new(member);
        let claim = zip::open_member(&member)
            .and_then(decompress)
            .and_then(|(reader, inner)| {
                // A compressed member is reported by its inner compression; a plain one as a zip member.
                let compression = if inner == Compression::None {
                    Compression::Zip
                } else {
                    inner
                };
                classify(reader, compression, &path, forced)
            });
        match claim {
            Ok(Some(claim)) => inv.files.push(EvidenceFile {
                path,
                format: claim.format,
                tables: claim.tables,
                notes: claim.notes,
                size: member.compressed_size(),
                compression: claim.compression,
                member: Some(member),
                splittable: false,
                header_bytes: 0,
            }),
            Ok(None) => inv.unclaimed.push(path),
            Err(e) => inv.errors.push(e),
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>, errors: &mut Vec<SourceError>) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(SourceError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => paths.push(e.path()),
            Err(source) => errors.push(SourceError::Io {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }
    paths.sort();
    for path in paths {
        let link = fs::symlink_metadata(&path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                if !link {
                    walk(&path, out, errors);
                }
            }
            Ok(m) if m.is_file() => out.push((path, m.len())),
            Ok(_) => {} // sockets, fifos, devices: not evidence files
            Err(source) => errors.push(SourceError::Io { path, source }),
        }
    }
}

/// What `classify` found about a file that a format claims.
struct Claim {
    format: &'static dyn Format,
    tables: Vec<&'static str>,
    notes: Vec<String>,
    compression: Compression,
    splittable: bool,
    header_bytes: u64,
}

/// Reads the head of a file and asks every format: the first that recognises the content and
/// finds at least one table in it claims the file.
fn classify(
    mut reader: Box<dyn BufRead + Send>,
    compression: Compression,
    path: &Path,
    forced: Option<&'static dyn Format>,
) -> Result<Option<Claim>, SourceError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    // A damaged gzip stream still gets its readable head sniffed; reading reports the damage.
    let _ = (&mut reader)
        .take(MAGIC_BYTES as u64)
        .read_to_end(&mut head);
    let by_magic = FORMATS
        .iter()
        .copied()
        .find(|f| f.magic().is_some_and(|m| head.starts_with(m)));
    if forced.is_some() || by_magic.is_none() {
        let _ = (&mut reader)
            .take((SNIFF_BYTES - MAGIC_BYTES) as u64)
            .read_to_end(&mut head);
    }
    if head.is_empty() {
        return Ok(None);
    }
    let (format, tables) = match forced {
        Some(format) => {
            let mut tables = format.tables_in(&head, path);
            if tables.is_empty() {
                tables = format.tables().to_vec();
            }
            (format, tables)
        }
        None => {
            let found = FORMATS.iter().find_map(|&format| {
                format
                    .sniff(&head)
                    .then(|| (format, format.tables_in(&head, path)))
                    .filter(|(_, tables)| !tables.is_empty())
            });
            match found {
                Some(claim) => claim,
                None => return Ok(None),
            }
        }
    };
    if tables.is_empty() {
        // Nothing a forced format could fill (a `table-rows` file that is not a table): listed
        // as unclaimed rather than claimed for nothing.
        return Ok(None);
    }
    let notes = format.notes(&head, path, &tables);
    // Whether the file can be read in byte ranges, and after which header.
    let plain = compression == Compression::None;
    let header = if plain {
        format.split_header(&head, path)
    } else {
        None
    };
    Ok(Some(Claim {
        format,
        tables,
        notes,
        compression,
        splittable: plain && (header.is_some() || format.splittable(&head)),
        header_bytes: header.unwrap_or(0),
    }))
}

pub(crate) fn open_path(
    path: &Path,
) -> Result<(Box<dyn BufRead + Send>, Compression), SourceError> {
    let io_err = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        // `archive.zip!member`, the name reports give a zip member: formats that read a file
        // again by its path (to scan it whole) reach the member through it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => match zip::find_member(path) {
            Some(member) => {
                return zip::open_member(&member).and_then(decompress);
            }
            None => return Err(io_err(e)),
        },
        Err(e) => return Err(io_err(e)),
    };
    let raw: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(64 * 1024, file));
    decompress(raw).map_err(|e| match e {
        SourceError::Io { source, .. } => io_err(source),
        other => other,
    })
}

/// Puts a decompressor in front of `raw` when its magic bytes say it is gzip or zstd.
fn decompress(
    mut raw: Box<dyn BufRead + Send>,
) -> Result<(Box<dyn BufRead + Send>, Compression), SourceError> {
    let io_err = |source| SourceError::Io {
        path: PathBuf::new(),
        source,
    };
    let compression = Compression::detect(raw.fill_buf().map_err(io_err)?);
    let (mut reader, compression): (Box<dyn BufRead + Send>, Compression) = match compression {
        Compression::None | Compression::Zip | Compression::Utf16 => (raw, compression),
        Compression::Gzip => (
            Box::new(BufReader::with_capacity(
                64 * 1024,
                flate2::bufread::MultiGzDecoder::new(raw),
            )),
            compression,
        ),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(raw).map_err(io_err)?;
            (
                Box::new(BufReader::with_capacity(64 * 1024, decoder)),
                compression,
            )
        }
    };
    // UTF-16 text (also inside a compressed file) is read as UTF-8.
    if let Some(little) = encoding::utf16_bom(reader.fill_buf().map_err(io_err)?) {
        reader = Box::new(encoding::Utf16Reader::new(reader, little));
        if compression == Compression::None {
            return Ok((reader, Compression::Utf16));
        }
    }
    Ok((reader, compression))
}

/// Opens a file (or an archive member) for reading, decompressing it when its magic bytes say it
/// is compressed.
pub fn open(file: &EvidenceFile) -> Result<Box<dyn BufRead + Send>, SourceError> {
    match &file.member {
        None => open_path(&file.path).map(|(r, _)| r),
        Some(member) => {
            let (reader, _) =
                zip::open_member(member)
                    .and_then(decompress)
                    .map_err(|e| match e {
                        SourceError::Io { source, .. } => SourceError::Io {
                            path: file.path.clone(),
                            source,
                        },
                        other => other,
                    })?;
            Ok(reader)
        }
    }
}

/// Decodes a file into batches of `table`. `projection` lists the columns to build (indices into
/// `table.columns`); `None` builds them all. Fails at once when the file does not fill `table`
/// (`file.tables`).
pub fn read(
    file: &EvidenceFile,
    table: &TableDef,
    projection: Option<&[usize]>,
    batch_size: usize,
) -> Result<Batches, SourceError> {
    read_prefiltered(file, table, projection, batch_size, &[])
}

/// [`read`] with equality conditions that the format may use to skip records before decoding
/// them (see [`Format::decode_prefiltered`]). Records skipped this way are not checked, so a
/// damaged one among them is not reported by this read.
pub fn read_prefiltered(
    file: &EvidenceFile,
    table: &TableDef,
    projection: Option<&[usize]>,
    batch_size: usize,
    equals: &[ColumnEquals],
) -> Result<Batches, SourceError> {
    let projection = projection_of(file, table, projection)?;
    let input = open(file)?;
    file.format
        .decode_prefiltered(input, &file.path, table, &projection, batch_size, equals)
}

/// The columns to build: `projection`, or every column of `table`. Fails when the file does not
/// fill `table`.
fn projection_of(
    file: &EvidenceFile,
    table: &TableDef,
    projection: Option<&[usize]>,
) -> Result<Vec<usize>, SourceError> {
    if !file.tables.contains(&table.name.as_str()) {
        return Err(SourceError::Table {
            format: file.format.name(),
            table: table.name.clone(),
            fills: file.tables.clone(),
        });
    }
    Ok(match projection {
        Some(p) => p.to_vec(),
        None => (0..table.columns.len()).collect(),
    })
}

/// Like [`read_prefiltered`], for the lines of a splittable file ([`EvidenceFile::splittable`])
/// that start in the byte range `range`: the ranges of one split of a file read every line once,
/// and can be read at the same time. Bad records keep the line numbers of the whole file.
pub fn read_range(
    file: &EvidenceFile,
    table: &TableDef,
    projection: Option<&[usize]>,
    batch_size: usize,
    equals: &[ColumnEquals],
    range: std::ops::Range<u64>,
) -> Result<Batches, SourceError> {
    if !file.splittable || file.member.is_some() {
        return Err(SourceError::Malformed {
            path: file.path.clone(),
            position: Position::Byte(range.start),
            reason: "this file cannot be read in byte ranges (compressed, a zip member, or a \
                     format whose lines depend on the lines before them)"
                .into(),
        });
    }
    let projection = projection_of(file, table, projection)?;
    let io_err = |source| SourceError::Io {
        path: file.path.clone(),
        source,
    };
    let mut raw = BufReader::with_capacity(64 * 1024, File::open(&file.path).map_err(io_err)?);
    // A range after the first reads the file's header first (its lines are the header's).
    let header_bytes = if range.start > 0 {
        file.header_bytes
    } else {
        0
    };
    let mut header = Vec::new();
    if header_bytes > 0 {
        (&mut raw)
            .take(header_bytes)
            .read_to_end(&mut header)
            .map_err(io_err)?;
    }
    let header_lines = memchr::memchr_iter(b'\n', &header).count() as u64;
    // The lines before the range are counted (for line numbers) and skipped, with the line that
    // straddles its start: that line belongs to the range before.
    let start = range.start.max(header_bytes);
    let (skipped, first_byte) =
        ranges::skip_to_range(&mut raw, start - header_bytes).map_err(io_err)?;
    let (lines_before, first_byte) = (skipped + header_lines, first_byte + header_bytes);
    let body = ranges::RangeReader::new(raw, first_byte, range.end);
    let input: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(header).chain(body));
    let batches = file.format.decode_prefiltered(
        input,
        &file.path,
        table,
        &projection,
        batch_size,
        equals,
    )?;
    // Positions in the decoded input (the header, then the range) back to the file's.
    Ok(Box::new(batches.map(move |item| match item {
        Ok(Decoded::Bad(mut bad)) => {
            bad.position = match bad.position {
                Position::Line(n) if n > header_lines => {
                    Position::Line(n - header_lines + lines_before)
                }
                Position::Byte(b) if b >= header_bytes => {
                    Position::Byte(b - header_bytes + first_byte)
                }
                other => other,
            };
            Ok(Decoded::Bad(bad))
        }
        other => other,
    })))
}

/// Fails unless `format` fills `table`.
pub(crate) fn check_table(format: &dyn Format, table: &TableDef) -> Result<(), SourceError> {
    if format.tables().contains(&table.name.as_str()) {
        Ok(())
    } else {
        Err(SourceError::Table {
            format: format.name(),
            table: table.name.clone(),
            fills: format.tables().to_vec(),
        })
    }
}

/// Decoding a string in unit tests, shared by the formats' tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::io::BufRead;
    use std::path::Path;

    use arrow::record_batch::RecordBatch;
    use spoor_catalog::catalog;

    use crate::{Decoded, Format};

    /// Decodes `input` as `format` into `table` (the named columns), returning the batches and
    /// the bad records as text.
    pub(crate) fn decode_text(
        format: &dyn Format,
        input: &str,
        file: &str,
        table: &str,
        columns: &[&str],
        batch_size: usize,
    ) -> (Vec<RecordBatch>, Vec<String>) {
        let t = catalog().table(table).unwrap();
        let projection: Vec<usize> = columns.iter().map(|c| t.index_of(c).unwrap()).collect();
        let input: Box<dyn BufRead + Send> =
            Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
        let (mut batches, mut bad) = (Vec::new(), Vec::new());
        for d in format
            .decode(input, Path::new(file), t, &projection, batch_size)
            .unwrap()
        {
            match d.unwrap() {
                Decoded::Batch(b) => batches.push(b),
                Decoded::Bad(b) => bad.push(b.to_string()),
            }
        }
        (batches, bad)
    }
}
