use super::*;

fn planned(q: &str) -> PlannedEsql {
    match compile(q, &EsqlOptions::default()) {
        Ok(p) => p,
        Err(ds) => panic!("{q}: {}", ds[0].render(q, "<q>")),
    }
}

fn columns(q: &str) -> Vec<String> {
    planned(q)
        .plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

fn error(q: &str) -> String {
    match compile(q, &EsqlOptions::default()) {
        Ok(p) => panic!("{q} planned: {}", p.plan.display_indent()),
        Err(ds) => ds.iter().map(|d| d.render(q, "<q>")).collect(),
    }
}

/// The tables a plan scans.
fn scanned(q: &str) -> Vec<String> {
    let text = planned(q).plan.display_indent().to_string();
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("TableScan: "))
        .map(|t| t.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

const SYSMON: &str = "FROM logs-windows.sysmon_operational-*";

#[test]
fn from_names_data_streams() {
    assert_eq!(scanned(SYSMON), ["Sysmon"]);
    assert_eq!(
        scanned("from logs-windows.sysmon_operational-*, logs-system.security-default"),
        ["SecurityEvent", "Sysmon"]
    );
    assert_eq!(
        scanned("FROM logs-*"),
        ["SecurityEvent", "Sysmon", "WindowsEvent", "cloudtrail"]
    );
    let e = error("FROM logs-*, metrics-* | LIMIT 1");
    assert!(e.contains("`metrics-*` names no data stream"), "{e}");
    assert!(e.contains("<q>:1:14"), "{e}");
    assert!(e.contains("logs-aws.cloudtrail-*"), "{e}");
}

#[test]
fn tables_with_data_are_preferred() {
    let options = EsqlOptions {
        tables_with_data: ["Sysmon".to_string()].into_iter().collect(),
        ..Default::default()
    };
    let p = compile("FROM logs-*", &options).unwrap();
    let text = p.plan.display_indent().to_string();
    assert!(text.contains("TableScan: Sysmon"), "{text}");
    assert!(!text.contains("TableScan: cloudtrail"), "{text}");
    // None of the selected has data: still planned, over them.
    let p = compile("FROM logs-aws.cloudtrail-*", &options).unwrap();
    assert!(
        p.plan
            .display_indent()
            .to_string()
            .contains("TableScan: cloudtrail")
    );
}

#[test]
fn default_columns_are_timestamp_and_the_fields_read() {
    assert_eq!(
        columns(&format!(
            "{SYSMON} | WHERE process.executable LIKE \"*\\\\whoami.exe\" | SORT process.pid"
        )),
        ["@timestamp", "process.executable", "process.pid"]
    );
    // EVAL appends; an existing name is dropped and appended (EVAL page).
    assert_eq!(
        columns(&format!(
            "{SYSMON} | EVAL n = LENGTH(process.command_line), process.command_line = TO_LOWER(process.command_line)"
        )),
        ["@timestamp", "n", "process.command_line"]
    );
    // Unnamed: named by the text.
    assert_eq!(
        columns(&format!(
            "{SYSMON} | EVAL LENGTH(process.command_line) | KEEP LENGTH*"
        )),
        ["LENGTH(process.command_line)"]
    );
}

#[test]
fn stats_puts_aggregates_before_groups() {
    assert_eq!(
        columns(&format!(
            "{SYSMON} | STATS c = COUNT(*), COUNT_DISTINCT(process.executable), VALUES(process.pid) BY host = winlog.computer_name, event.code"
        )),
        [
            "c",
            "COUNT_DISTINCT(process.executable)",
            "VALUES(process.pid)",
            "host",
            "event.code"
        ]
    );
    assert_eq!(
        columns(&format!(
            "{SYSMON} | STATS n = COUNT(*) BY h = BUCKET(@timestamp, 1 hour) | SORT h"
        )),
        ["n", "h"]
    );
    columns(&format!(
        "{SYSMON} | STATS BY d = DATE_TRUNC(1 month, @timestamp), DATE_TRUNC(5min, @timestamp)"
    ));
    let e = error(&format!("{SYSMON} | STATS c = COUNT(*) | KEEP process.pid"));
    assert!(e.contains("no field `process.pid` here"), "{e}");
    let e = error(&format!("{SYSMON} | STATS c = MEDIAN(process.pid)"));
    assert!(e.contains("`MEDIAN` is not an aggregate spoor runs"), "{e}");
}

#[test]
fn keep_drop_rename_with_wildcards() {
    let kept = columns(&format!("{SYSMON} | KEEP process.parent.*, @timestamp"));
    assert!(
        kept.contains(&"process.parent.executable".to_string()),
        "{kept:?}"
    );
    assert_eq!(kept.last().unwrap(), "@timestamp");
    assert!(
        kept.iter()
            .all(|k| k.starts_with("process.parent.") || k == "@timestamp")
    );
    assert_eq!(
        columns(&format!(
            "{SYSMON} | KEEP process.executable, process.pid | DROP process.p* | RENAME process.executable AS exe"
        )),
        ["exe"]
    );
    let e = error(&format!(
        "{SYSMON} | KEEP process.executable | DROP process.pid"
    ));
    assert!(e.contains("no field `process.pid` here"), "{e}");
}

#[test]
fn missing_fields_are_null_with_a_note() {
    let p = planned(&format!("{SYSMON} | WHERE process.executabl IS NULL"));
    assert_eq!(p.notes.len(), 1);
    let note = p.notes[0].render("x", "<q>");
    assert!(
        note.contains("no selected data stream has a field `process.executabl`"),
        "{note}"
    );
    assert!(
        note.contains("did you mean `process.executable`?"),
        "{note}"
    );
    // A name the query makes is not read from the events.
    let p = planned(&format!(
        "{SYSMON} | EVAL x = 1 | WHERE x > 0 | RENAME x AS y | KEEP y"
    ));
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

#[test]
fn parse_errors_are_at_their_position() {
    let e = error("FROM logs-* | WHER x == 1");
    assert!(e.contains("did you mean `WHERE`?"), "{e}");
    assert!(e.contains("<q>:1:15"), "{e}");
    let e = error("FROM logs-* | DISSECT process.command_line \"%{a}\"");
    assert!(
        e.contains("ES|QL's `DISSECT` is not supported by spoor yet"),
        "{e}"
    );
    let e = error("FROM logs-* | lookup join threats ON source.ip");
    assert!(
        e.contains("ES|QL's `LOOKUP` is not supported by spoor yet"),
        "{e}"
    );
    let e = error("ROW a = 1");
    assert!(e.contains("ES|QL's `ROW` is not supported"), "{e}");
    let e = error("FROM logs-* | WHERE process.executable == \"open");
    assert!(e.contains("unclosed string"), "{e}");
    assert!(e.contains("<q>:1:43"), "{e}");
    let e = error("FROM logs-* /* never closed");
    assert!(e.contains("unclosed comment"), "{e}");
    let e = error("FROM logs-* | WHERE process.pid = 1");
    assert!(e.contains("compare with `==`"), "{e}");
    let e = error("FROM logs-* | WHERE process.executable == 'x'");
    assert!(e.contains("double quotes"), "{e}");
    let e = error("FROM logs-* | WHERE FOO(process.pid)");
    assert!(
        e.contains("the function `FOO` is not supported by spoor yet"),
        "{e}"
    );
    assert!(e.contains("<q>:1:21"), "{e}");
    let e = error("FROM logs-* | WHERE process.executable RLIKE \"a&b\"");
    assert!(e.contains("optional regular expression operators"), "{e}");
    assert!(e.contains("<q>:1:46"), "{e}");
    let e = error("FROM logs-* | EVAL x = \"a\\qb\"");
    assert!(e.contains("`\\q` is not an escape"), "{e}");
    let e = error("FROM logs-* | WHERE process.pid > 1 |");
    assert!(e.contains("expected a command after `|`"), "{e}");
    let e = error("FROM logs-* METADATA _id");
    assert!(e.contains("METADATA"), "{e}");
}

#[test]
fn literals_names_and_comments() {
    let q = syntax::parse(
        "// hunt\nfrom logs-* /* all */ | where `process.executable` == \"\"\"C:\\x\"\"\" and @timestamp > now() - 1 day\n| eval s = \"a\\\"b\\n\", t = true, n = null, f = 1.5e3",
    )
    .unwrap();
    assert_eq!(q.commands.len(), 2);
    let syntax::CommandKind::Eval(a) = &q.commands[1].kind else {
        panic!()
    };
    assert_eq!(a[0].expr.kind, syntax::ExprKind::Str("a\"b\n".into()));
    assert_eq!(a[3].expr.kind, syntax::ExprKind::Float(1500.0));
    let syntax::CommandKind::Where(w) = &q.commands[0].kind else {
        panic!()
    };
    let syntax::ExprKind::Binary(_, l, _) = &w.kind else {
        panic!()
    };
    let syntax::ExprKind::Binary(_, _, r) = &l.kind else {
        panic!()
    };
    assert_eq!(r.kind, syntax::ExprKind::Str("C:\\x".into()));
}

#[test]
fn functions_and_operators_plan() {
    planned(&format!(
        "{SYSMON} | EVAL a = CONCAT(TO_UPPER(process.executable), \"-\", TO_STRING(process.pid)), \
         b = SUBSTRING(process.command_line, -3, 2), c = CASE(process.pid > 10, \"big\", \"small\"), \
         d = ROUND(process.pid / 3), e = COALESCE(process.parent.executable, \"none\"), \
         f = CIDR_MATCH(destination.ip, \"10.0.0.0/8\", \"fd00::/8\"), g = TO_INTEGER(event.code) + 1, \
         h = process.pid::long, i = STARTS_WITH(process.executable, \"C:\"), j = TRIM(process.command_line), \
         k = TO_BOOLEAN(file.code_signature.signed), l = ABS(-process.pid) % 7 \
         | WHERE event.code IN (\"1\", \"3\") AND NOT process.executable RLIKE \".*\\\\\\\\cmd\\\\.exe\" \
         AND process.pid NOT IN (4) AND process.parent.executable IS NOT NULL \
         | SORT process.pid DESC NULLS LAST, a | LIMIT 5"
    ));
    // Text and numbers meet as numbers.
    planned(&format!(
        "{SYSMON} | WHERE event.code == 1 OR process.pid == \"4\""
    ));
    let e = error(&format!("{SYSMON} | WHERE process.executable"));
    assert!(e.contains("expected a condition"), "{e}");
    let e = error(&format!("{SYSMON} | EVAL x = COUNT(*)"));
    assert!(e.contains("is an aggregate: it stands in STATS"), "{e}");
}

#[test]
fn like_patterns() {
    let re = |p: &str| regex::Regex::new(&plan::like_regex(p)).unwrap();
    assert!(re("*\\\\whoami.exe").is_match("C:\\Windows\\whoami.exe"));
    assert!(!re("*\\\\whoami.exe").is_match("C:\\Windows\\whoamiXexe"));
    assert!(re("a?c").is_match("abc"));
    assert!(!re("a?c").is_match("abbc"));
    assert!(re("a\\*").is_match("a*"));
    assert!(!re("a\\*").is_match("ab"));
    assert!(!re("ABC").is_match("abc"));
}

#[test]
fn cloudtrail_fields() {
    let cols = columns(
        "FROM logs-aws.cloudtrail-* | WHERE event.action == \"ConsoleLogin\" | KEEP @timestamp, aws.cloudtrail.user_identity.arn, source.address",
    );
    assert_eq!(
        cols,
        [
            "@timestamp",
            "aws.cloudtrail.user_identity.arn",
            "source.address"
        ]
    );
}

#[test]
fn times_compare_with_spans_and_text() {
    planned(&format!(
        "{SYSMON} | WHERE @timestamp > NOW() - 7 days AND @timestamp >= \"2023-08-09T10:00:00Z\" \
         | EVAL later = @timestamp + 90 minutes, day = DATE_TRUNC(1 day, @timestamp)"
    ));
}
