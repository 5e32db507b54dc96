//! Data-driven parser tests (like Ruff's parser fixtures): every file in
//! `tests/parser/valid/` must parse, and its AST is snapshotted; every file in
//! `tests/parser/invalid/` must fail, and its rendered diagnostics are snapshotted.
//! Every AST also passes the span invariant (children inside parents).
//!
//! Add a case: drop a `.kql` file in the right folder and run
//! `INSTA_UPDATE=always cargo test -p spoor-kql --test parser` (or `cargo insta review`).

mod common;

use spoor_kql::syntax::parse;

fn read(path: &std::path::Path) -> (String, String) {
    let text = std::fs::read_to_string(path).expect("read fixture");
    let name = path
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    (text, name)
}

#[test]
fn valid_fixtures() {
    insta::glob!("parser/valid/*.kql", |path| {
        let (text, name) = read(path);
        let query = match parse(&text) {
            Ok(q) => q,
            Err(errors) => {
                let rendered: Vec<String> = errors.iter().map(|e| e.render(&text, &name)).collect();
                panic!("{name} should parse:\n{}", rendered.join("\n"));
            }
        };
        let violations = common::span_violations(&query);
        assert!(violations.is_empty(), "{name}: {violations:#?}");
        insta::assert_snapshot!(format!("{query:#?}"));
    });
}

#[test]
fn invalid_fixtures() {
    insta::glob!("parser/invalid/*.kql", |path| {
        let (text, name) = read(path);
        let Err(errors) = parse(&text) else {
            panic!("{name} should not parse");
        };
        let rendered: Vec<String> = errors.iter().map(|e| e.render(&text, &name)).collect();
        insta::assert_snapshot!(rendered.join("\n"));
    });
}

#[test]
fn span_checker_detects_violations() {
    let mut query = parse("T | where x == 1").expect("parses");
    query.statements[0].span = spoor_core::Span::new(0, 3);
    assert!(!common::span_violations(&query).is_empty());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 5000;
    for (open, close) in [("(", ")"), ("f(", ")"), ("-", ""), ("[", "]")] {
        let mut text = format!("print x = {}1{}", open.repeat(depth), close.repeat(depth));
        if open == "[" {
            text = format!(
                "print x = dynamic({}1{})",
                open.repeat(depth),
                close.repeat(depth)
            );
        }
        let errors = parse(&text).expect_err("too deep");
        assert!(
            errors[0].message.contains("nested too deeply"),
            "{open}: {}",
            errors[0].message
        );
    }
    // Reasonable nesting is fine.
    let text = format!("print x = {}1{}", "(".repeat(40), ")".repeat(40));
    assert!(parse(&text).is_ok());
}

#[test]
fn garbage_does_not_hang() {
    for text in [
        "| | | ,,, ))) ]]]",
        "let let let = = =",
        "T | where (((",
        "T | join on",
        "datatable(",
        "T | parse x with",
    ] {
        assert!(parse(text).is_err(), "{text}");
    }
}
