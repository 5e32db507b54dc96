//! Dumps EVTX files as JSON with the evtx crate's own `records_json` iterator, into a sink, and
//! prints what it read: `evtx-ref [--threads N] PATH...` (folders are walked for `*.evtx`).
//! The output line is `files F bytes B records R errors E seconds S`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use evtx::{EvtxParser, ParserSettings};

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, out);
        }
    } else if path.extension().is_some_and(|x| x.eq_ignore_ascii_case("evtx")) {
        out.push(path.to_path_buf());
    }
}

fn main() {
    let mut threads = 1usize;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--threads" {
            threads = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--threads N");
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let mut files = Vec::new();
    for p in &paths {
        walk(p, &mut files);
    }
    let start = Instant::now();
    let (mut bytes, mut records, mut errors) = (0u64, 0u64, 0u64);
    let mut sink = std::io::sink();
    for f in &files {
        bytes += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        let Ok(parser) = EvtxParser::from_path(f) else {
            errors += 1;
            continue;
        };
        let mut parser =
            parser.with_configuration(ParserSettings::new().num_threads(threads));
        for r in parser.records_json() {
            match r {
                Ok(r) => {
                    records += 1;
                    let _ = sink.write_all(r.data.as_bytes());
                }
                Err(_) => errors += 1,
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "files {} bytes {bytes} records {records} errors {errors} seconds {secs:.3}",
        files.len()
    );
}
