//! Decodes evidence and prints rows, bad records and speed:
//! `cargo run --release -p spoor-sources --example decode -- [--threads N] PATH TABLE [COLUMN,COLUMN...]`
//! (no columns: all of them; `-` for none). With `--threads N`, N threads take files from one
//! shared list, as the engine's partitions do (default 1).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use spoor_sources::{Decoded, EvidenceFile, discover, read};

/// Rows, bad records and bytes on disk.
#[derive(Default)]
struct Tally {
    rows: usize,
    bad: usize,
    bytes: u64,
}

fn decode(
    file: &EvidenceFile,
    table: &spoor_catalog::TableDef,
    projection: Option<&[usize]>,
) -> Tally {
    let mut t = Tally {
        bytes: file.size,
        ..Tally::default()
    };
    for item in read(file, table, projection, 8192).unwrap() {
        match item {
            Ok(Decoded::Batch(b)) => t.rows += b.num_rows(),
            Ok(Decoded::Bad(b)) => {
                t.bad += 1;
                if t.bad <= 5 {
                    eprintln!("bad: {b}");
                }
            }
            Err(e) => eprintln!("error: {e}"),
        }
    }
    t
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 1usize;
    if args.first().is_some_and(|a| a == "--threads") {
        threads = args
            .get(1)
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .expect("--threads N (N >= 1)");
        args.drain(..2);
    }
    let [path, table, rest @ ..] = args.as_slice() else {
        eprintln!("usage: decode [--threads N] PATH TABLE [COLUMN,COLUMN...|-]");
        std::process::exit(2);
    };
    let table = spoor_catalog::catalog()
        .table(table)
        .unwrap_or_else(|| panic!("no table {table}"));
    let projection: Option<Vec<usize>> = rest.first().map(|cols| {
        cols.split(',')
            .filter(|c| !c.is_empty() && *c != "-")
            .map(|c| {
                table
                    .index_of(c)
                    .unwrap_or_else(|| panic!("no column {c} in {}", table.name))
            })
            .collect()
    });
    let inv = discover(&[PathBuf::from(path)]);
    for e in &inv.errors {
        eprintln!("error: {e}");
    }
    let files: Vec<&EvidenceFile> = inv
        .files
        .iter()
        .filter(|f| f.tables.contains(&table.name.as_str()))
        .collect();
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut total = Tally::default();
                    while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let t = decode(file, table, projection.as_deref());
                        total.rows += t.rows;
                        total.bad += t.bad;
                        total.bytes += t.bytes;
                    }
                    total
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let rows: usize = tallies.iter().map(|t| t.rows).sum();
    let bad: usize = tallies.iter().map(|t| t.bad).sum();
    let bytes: u64 = tallies.iter().map(|t| t.bytes).sum();
    let columns = projection.as_ref().map_or(table.columns.len(), Vec::len);
    println!(
        "{rows} rows, {bad} bad, {columns} columns, {:.1} MB on disk in {secs:.2} s: {:.0} MB/s, {:.0} K rows/s",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        rows as f64 / 1e3 / secs
    );
}
