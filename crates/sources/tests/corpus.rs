//! Real CloudTrail from the shared corpus (never copied into the project): the rows decoded per
//! file must equal an independent count of the events (serde_json::Value).
//!
//! The corpus is found at `$SPOOR_CORPUS`, else `../../../shared/corpus` from this crate. When it
//! is missing the tests fail under CI (`CI` set) and are skipped otherwise.

use std::path::{Path, PathBuf};

use spoor_catalog::catalog;
use spoor_sources::{Decoded, EvidenceFile, discover, open, read};

fn corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("SPOOR_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "the corpus is missing at {}; set SPOOR_CORPUS to the shared corpus folder",
            dir.display()
        );
    }
    eprintln!("skipped: no corpus at {} (set SPOOR_CORPUS)", dir.display());
    None
}

/// Events in a file counted independently: a JSON array, `{"Records":[...]}`, or JSON lines.
fn count_events(file: &EvidenceFile) -> usize {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open(file).unwrap(), &mut text).unwrap();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(a)) => a.len(),
        Ok(serde_json::Value::Object(o)) if o.contains_key("Records") => {
            o["Records"].as_array().unwrap().len()
        }
        _ => text.lines().filter(|l| !l.trim().is_empty()).count(),
    }
}

fn decode_count(file: &EvidenceFile, table: &str, columns: Option<&[&str]>) -> usize {
    let t = catalog().table(table).unwrap();
    let projection: Option<Vec<usize>> =
        columns.map(|cs| cs.iter().map(|c| t.index_of(c).unwrap()).collect());
    let mut rows = 0;
    for item in read(file, t, projection.as_deref(), 4096).unwrap() {
        match item.unwrap() {
            Decoded::Batch(b) => rows += b.num_rows(),
            Decoded::Bad(bad) => panic!("real data has no bad records: {bad}"),
        }
    }
    rows
}

#[test]
fn stratus_detonation_logs_decode_every_event() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("cloudtrail-stratus/docs/detonation-logs");
    let inv = discover(std::slice::from_ref(&dir));
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    assert!(inv.unclaimed.is_empty(), "unclaimed: {:?}", inv.unclaimed);
    assert!(
        inv.files.len() >= 30,
        "expected the 35 detonation logs in {}",
        dir.display()
    );
    let mut total = 0;
    for file in &inv.files {
        assert_eq!(file.format.name(), "cloudtrail", "{}", file.path.display());
        let expected = count_events(file);
        assert!(expected > 0, "{}", file.path.display());
        let name = file.path.display();
        assert_eq!(
            decode_count(file, "AWSCloudTrail", None),
            expected,
            "AWSCloudTrail, all columns: {name}"
        );
        assert_eq!(
            decode_count(
                file,
                "AWSCloudTrail",
                Some(&["EventName", "SessionIssuerUserName"])
            ),
            expected,
            "{name}"
        );
        assert_eq!(
            decode_count(file, "cloudtrail", None),
            expected,
            "cloudtrail, all columns: {name}"
        );
        assert_eq!(
            decode_count(file, "cloudtrail", Some(&[])),
            expected,
            "no columns: {name}"
        );
        total += expected;
    }
    eprintln!("{} files, {total} events", inv.files.len());
}

#[test]
fn s3_delivery_files_decode_every_event() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("cloudtrail-s3-ransomware");
    let inv = discover(&[dir]);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    // Every file of the S3 layout is a gzipped trail file; a sample keeps debug runs short.
    assert!(
        inv.unclaimed.is_empty(),
        "unclaimed: {:?}",
        &inv.unclaimed[..inv.unclaimed.len().min(5)]
    );
    for file in inv.files.iter().step_by(40) {
        let expected = count_events(file);
        assert_eq!(
            decode_count(file, "AWSCloudTrail", None),
            expected,
            "{}",
            file.path.display()
        );
    }
}
