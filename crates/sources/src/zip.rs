//! Zip archives: each member is an evidence file of its own.
//!
//! The `zip` crate reads the central directory (zip64, name encodings, where each member's data
//! starts); the data itself is read here, from a fresh handle on the archive, so that a member is
//! an owned stream like any file: stored members as they are, deflated ones through flate2.
//! Other compression methods and encrypted members are reported, not guessed at.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::{Position, SourceError};

/// Local file header and end-of-central-directory signatures: the only ways a zip file starts.
const LOCAL_HEADER: &[u8; 4] = b"PK\x03\x04";
const EMPTY_ARCHIVE: &[u8; 4] = b"PK\x05\x06";

/// How a member's bytes are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    Stored,
    Deflated,
    /// Any other method, by its name.
    Other(String),
}

/// A member of a zip archive.
#[derive(Debug, Clone)]
pub struct ArchiveMember {
    archive: PathBuf,
    name: String,
    data_start: u64,
    compressed_size: u64,
    method: Method,
    encrypted: bool,
}

impl ArchiveMember {
    /// The archive that holds the member.
    pub fn archive(&self) -> &Path {
        &self.archive
    }

    /// The member's name inside the archive.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its size inside the archive.
    pub fn compressed_size(&self) -> u64 {
        self.compressed_size
    }

    /// How reports name it: `archive.zip!member`.
    pub(crate) fn display_path(&self) -> PathBuf {
        let mut s = self.archive.clone().into_os_string();
        s.push("!");
        s.push(&self.name);
        PathBuf::from(s)
    }

    /// Why spoor cannot read it, if it cannot.
    pub(crate) fn readable(&self) -> Result<(), String> {
        if self.encrypted {
            return Err(
                "the zip member is encrypted; decrypt it and pass the extracted file".into(),
            );
        }
        match &self.method {
            Method::Stored | Method::Deflated => Ok(()),
            Method::Other(m) => Err(format!(
                "the zip member is compressed with {m}, which spoor does not read (stored and \
                 deflated members are read); extract it and pass the extracted file"
            )),
        }
    }
}

/// Whether the file is a zip archive (from its first bytes).
pub(crate) fn is_archive(path: &Path) -> Result<bool, SourceError> {
    let mut magic = [0u8; 4];
    let mut f = File::open(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut got = 0;
    while got < magic.len() {
        match f.read(&mut magic[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(SourceError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(&magic == LOCAL_HEADER || &magic == EMPTY_ARCHIVE)
}

/// The file members of an archive (directories left out), in the archive's order.
pub(crate) fn members(archive: &Path) -> Result<Vec<ArchiveMember>, SourceError> {
    let bad = |reason: String| SourceError::Malformed {
        path: archive.to_path_buf(),
        position: Position::Byte(0),
        reason,
    };
    let file = File::open(archive).map_err(|source| SourceError::Io {
        path: archive.to_path_buf(),
        source,
    })?;
    let mut zip = ::zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        bad(format!(
            "not a readable zip archive ({e}); the archive may be truncated, extract what can be \
             extracted and pass the files"
        ))
    })?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| {
            bad(format!(
                "member {} of the zip archive is unreadable: {e}",
                i + 1
            ))
        })?;
        if !entry.is_file() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned());
        // The constants stand for the methods whether or not the crate's decoders are built.
        let method = match entry.compression() {
            m if m == ::zip::CompressionMethod::STORE => Method::Stored,
            m if m == ::zip::CompressionMethod::DEFLATE => Method::Deflated,
            other => Method::Other(other.to_string()),
        };
        let Some(data_start) = entry.data_start() else {
            return Err(bad(format!("cannot find the data of zip member {name}")));
        };
        out.push(ArchiveMember {
            archive: archive.to_path_buf(),
            name,
            data_start,
            compressed_size: entry.compressed_size(),
            method,
            encrypted: entry.encrypted(),
        });
    }
    Ok(out)
}

/// The member that a report path (`archive.zip!member`) names, if the archive holds it.
pub(crate) fn find_member(path: &Path) -> Option<ArchiveMember> {
    let text = path.to_str()?;
    // The archive is the longest prefix before a `!` that is a zip file (names may hold `!`).
    for (i, _) in text
        .match_indices('!')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let archive = Path::new(&text[..i]);
        if archive.is_file() && is_archive(archive).unwrap_or(false) {
            let name = &text[i + 1..];
            return members(archive).ok()?.into_iter().find(|m| m.name == name);
        }
    }
    None
}

/// Opens a member's content as a stream.
pub(crate) fn open_member(member: &ArchiveMember) -> Result<Box<dyn BufRead + Send>, SourceError> {
    let io_err = |source| SourceError::Io {
        path: member.display_path(),
        source,
    };
    if let Err(reason) = member.readable() {
        return Err(SourceError::Malformed {
            path: member.display_path(),
            position: Position::Byte(0),
            reason,
        });
    }
    let mut file = File::open(&member.archive).map_err(io_err)?;
    file.seek(SeekFrom::Start(member.data_start))
        .map_err(io_err)?;
    let raw = BufReader::with_capacity(64 * 1024, file.take(member.compressed_size));
    Ok(match member.method {
        Method::Deflated => Box::new(BufReader::with_capacity(
            64 * 1024,
            flate2::bufread::DeflateDecoder::new(raw),
        )),
        _ => Box::new(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_path_reaches_its_member() {
        let archive = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/windows-json/otrf-style.zip");
        let mut path = archive.clone().into_os_string();
        path.push("!host/agent_2023-08-09.json");
        let member = find_member(Path::new(&path)).unwrap();
        let mut text = String::new();
        open_member(&member)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("net group"));
        let mut missing = archive.into_os_string();
        missing.push("!host/none.json");
        assert!(find_member(Path::new(&missing)).is_none());
    }
}
