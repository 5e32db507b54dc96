//! Decodes evidence and prints rows, bad records and speed:
//! `cargo run --release -p spoor-sources --example decode -- PATH TABLE [COLUMN,COLUMN...]`
//! (no columns: all of them; `-` for none).

use std::path::PathBuf;
use std::time::Instant;

use spoor_sources::{Decoded, discover, read};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, table, rest @ ..] = args.as_slice() else {
        eprintln!("usage: decode PATH TABLE [COLUMN,COLUMN...|-]");
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
    let start = Instant::now();
    let (mut rows, mut bad, mut bytes) = (0usize, 0usize, 0u64);
    for file in inv
        .files
        .iter()
        .filter(|f| f.tables.contains(&table.name.as_str()))
    {
        bytes += file.size;
        for item in read(file, table, projection.as_deref(), 8192).unwrap() {
            match item {
                Ok(Decoded::Batch(b)) => rows += b.num_rows(),
                Ok(Decoded::Bad(b)) => {
                    bad += 1;
                    if bad <= 5 {
                        eprintln!("bad: {b}");
                    }
                }
                Err(e) => eprintln!("error: {e}"),
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let columns = projection.as_ref().map_or(table.columns.len(), Vec::len);
    println!(
        "{rows} rows, {bad} bad, {columns} columns, {:.1} MB on disk in {secs:.2} s: {:.0} MB/s, {:.0} K rows/s",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        rows as f64 / 1e3 / secs
    );
}
