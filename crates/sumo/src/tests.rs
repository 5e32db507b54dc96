use super::*;

fn planned(q: &str) -> PlannedSumo {
    match compile(q, &SumoOptions::default()) {
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
    match compile(q, &SumoOptions::default()) {
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

#[test]
fn source_categories_select_tables_ignoring_case() {
    assert_eq!(scanned("_sourceCategory=*Windows/Sysmon*"), ["Sysmon"]);
    assert_eq!(scanned("_sourcecategory=*SYSMON*"), ["Sysmon"]);
    assert_eq!(
        scanned("_sourceCategory=*WinEventLog/Security* OR _sourceCategory=*windows/security*"),
        ["SecurityEvent"]
    );
    assert_eq!(
        scanned("_sourceCategory=*windows* NOT _sourceCategory=*sysmon*"),
        ["SecurityEvent", "WindowsEvent"]
    );
    // Quoted values are literal.
    assert_eq!(
        scanned("_sourceCategory=\"windows/security\""),
        ["SecurityEvent"]
    );
    // No category: every table (none has data here).
    assert_eq!(scanned("*"), ["SecurityEvent", "Sysmon", "WindowsEvent"]);
}

#[test]
fn a_scope_that_selects_nothing_lists_the_categories() {
    let e = error("_sourceCategory=aws/cloudtrail | count");
    assert!(e.contains("the scope selects no table"), "{e}");
    assert!(e.contains("OS/Windows/Sysmon"), "{e}");
    assert!(e.contains("<q>:1:1"), "{e}");
}

#[test]
fn keyword_search_is_an_error_not_a_wrong_match() {
    let e = error("_sourceCategory=*sysmon* nmap | count");
    assert!(
        e.contains("keyword search matches the raw message text"),
        "{e}"
    );
    assert!(e.contains("<q>:1:26"), "{e}");
    let e = error("_sourceCategory=*sysmon* | where _raw matches \"*nmap*\"");
    assert!(e.contains("spoor has no `_raw`"), "{e}");
}

#[test]
fn malformed_queries_are_errors_at_their_position() {
    let e = error("_sourceCategory=*sysmon* | wher EventID = 1");
    assert!(e.contains("did you mean `where`?"), "{e}");
    assert!(e.contains("<q>:1:28"), "{e}");
    let e = error("_sourceCategory=*sysmon* | timeslice 1h");
    assert!(
        e.contains("`timeslice` operator is not supported yet"),
        "{e}"
    );
    let e = error("_sourceCategory=*sysmon* | where Image = \"open");
    assert!(e.contains("unclosed string"), "{e}");
    assert!(e.contains("<q>:1:42"), "{e}");
    let e = error("_sourceCategory=*sysmon* /* never closed");
    assert!(e.contains("unclosed comment"), "{e}");
    let e = error("_sourceCategory=*sysmon* | where Image matches /a(b/");
    assert!(e.contains("invalid regular expression"), "{e}");
    let e = error("_sourceCategory=*sysmon* | where formatDate(Image) = 1");
    assert!(
        e.contains("function `formatDate` is not supported yet"),
        "{e}"
    );
    let e = error("_sourceCategory=*sysmon* | where Image = 'x'");
    assert!(e.contains("double quotes"), "{e}");
    let e = error("_sourceCategory=*sysmon* | parse \"a=*\" as a");
    assert!(e.contains("parse without field="), "{e}");
    let e = error("_sourceCategory=*sysmon* | parse field=Image \"* *\" as a");
    assert!(e.contains("captures 2 value(s) but `as` names 1"), "{e}");
    let e = error("_sourceCategory=*sysmon* | fields Image | count by CommandLine");
    assert!(e.contains("no field `CommandLine` here"), "{e}");
    let e = error("_sourceCategory=*sysmon* | where EventID = 1 |");
    assert!(e.contains("expected an operator after `|`"), "{e}");
}

#[test]
fn comments_anywhere_between_tokens() {
    planned(
        "// process creation\n_sourceCategory=*sysmon* /* Sysmon */\n| where EventID = 1 // only 1\n| /* then */ count by Image",
    );
}

#[test]
fn the_seed_shape_plans_with_its_columns() {
    let q = r#"(_sourceCategory=*Windows/Sysmon* OR _sourceCategory=*WinEventLog/Security*)
| where EventID in ("1", "4688")
| parse field=CommandLine "*" as cmdline nodrop
| parse field=Image "*" as image_path nodrop
| parse field=NewProcessName "*" as image_path2 nodrop
| eval image_path = if(isNull(image_path), image_path2, image_path)
| eval scanner = if(matches(toLowerCase(image_path), ".*(nmap\.exe|masscan\.exe).*"), 1, 0)
| eval user = if(isNull(User), SubjectUserName, User)
| where !matches(user, ".*\$")
| fields _time, host, user, image_path, cmdline, scanner
| sort by _time desc"#;
    assert_eq!(
        columns(q),
        ["_time", "host", "user", "image_path", "cmdline", "scanner"]
    );
    assert_eq!(scanned(q), ["SecurityEvent", "Sysmon"]);
}

#[test]
fn aggregates_are_named_as_sumo_names_them() {
    assert_eq!(
        columns("_sourceCategory=*sysmon* | count by Computer"),
        ["Computer", "_count"]
    );
    assert_eq!(
        columns("_sourceCategory=*sysmon* | count as n, count_distinct(Image) by host"),
        ["host", "n", "_count_distinct"]
    );
    assert_eq!(
        columns("_sourceCategory=*sysmon* | count Image | sort by _count | limit 3"),
        ["Image", "_count"]
    );
    assert_eq!(
        columns("_sourceCategory=*sysmon* | top 5 Image"),
        ["Image", "_count"]
    );
    assert_eq!(
        columns("_sourceCategory=*sysmon* | sum(ProcessId) group by Image"),
        ["Image", "_sum"]
    );
}

#[test]
fn fields_keeps_or_drops() {
    assert_eq!(
        columns("_sourceCategory=*sysmon* | eval x = 1 | fields - x, _sourceCategory"),
        ["_time"]
    );
    // Kept `_` fields stay readable after an allowlist.
    planned("_sourceCategory=*sysmon* | fields Image | sort by _time asc");
    let e = error("_sourceCategory=*sysmon* | fields Image, Image");
    assert!(e.contains("listed twice"), "{e}");
}

#[test]
fn expression_as_and_casts_in_place() {
    assert_eq!(
        columns(
            "_sourceCategory=*sysmon* | if(EventID = 1, \"create\", \"other\") as kind | fields kind"
        ),
        ["kind"]
    );
    planned("_sourceCategory=*sysmon* | num(ProcessId) | where ProcessId > 10");
    planned("_sourceCategory=*sysmon* | EventID = 1 ? 1 : 0 as created | where created = 1");
}

#[test]
fn unknown_fields_are_null_and_noted() {
    let p = planned("_sourceCategory=*sysmon* | where Imgae = \"x\"");
    assert_eq!(p.notes.len(), 1);
    assert_eq!(p.notes[0].hint.as_deref(), Some("did you mean `Image`?"));
}

#[test]
fn bad_input_is_an_error_never_a_panic() {
    // Every prefix of a query that uses most of the syntax, cut anywhere (inside strings,
    // comments, regular expressions, lists, multi-byte characters).
    let q = r#"(_sourceCategory=*Windows/Sysmon* OR NOT _sourceCategory="windows/security") _sourceHost=WS* // scope
| where EventID in ("1", 4688) and !(Image matches "*\\nmap.exe") /* é */
| parse field=CommandLine "* -p *" as tool, ports nodrop
| parse regex field=CommandLine "(?<target>\d+\.\d+)" nodrop
| eval score = if(matches(toLowerCase(tool), ".*(nmap|masscan).*"), 1, 0) + length(ports) * 2
| concat(tool, "→", ports) as label
| EventID = 1 ? "create" : "other" as kind
| count as n, count_distinct(tool) by Computer, kind
| sort by n desc, Computer asc
| top 3 Computer by n
| limit 5"#;
    for (end, _) in q.char_indices() {
        let _ = compile(&q[..end], &SumoOptions::default());
    }
    planned(q);
    for hostile in [
        "(".repeat(10_000),
        format!("* | where {}x", "!".repeat(10_000)),
        format!("* | where {}1", "-".repeat(10_000)),
        format!("* | where {}", "(".repeat(10_000)),
        "* | where x in (".into(),
        "\"".into(),
        "* | parse field=x \"".into(),
        "* | where x matches /".into(),
        "* | limit 99999999999999999999999".into(),
        "* | top".into(),
        "* | sort by".into(),
        "* | fields -".into(),
        "* | count_distinct".into(),
    ] {
        assert!(
            compile(&hostile, &SumoOptions::default()).is_err(),
            "{hostile:.40}"
        );
    }
}
