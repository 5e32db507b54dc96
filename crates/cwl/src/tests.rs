use super::*;

fn plan_text(q: &str) -> String {
    match compile(q, &CwlOptions::default()) {
        Ok(p) => p.plan.display_indent().to_string(),
        Err(ds) => panic!("{q}: {}", ds[0].render(q, "<q>")),
    }
}

fn error(q: &str) -> String {
    match compile(q, &CwlOptions::default()) {
        Ok(p) => panic!("{q} planned: {}", p.plan.display_indent()),
        Err(ds) => ds.iter().map(|d| d.render(q, "<q>")).collect(),
    }
}

#[test]
fn queries_of_every_shape_plan() {
    for q in [
        "fields eventSource, userIdentity.sessionContext.sessionIssuer.arn as role | sort @timestamp asc | filter eventSource = \"iam.amazonaws.com\"",
        "filter dstPort=3389 | stats count(*) as hits by srcAddr as client | sort hits desc | limit 5",
        "filter action=\"ACCEPT\" and dstPort > 1023 | stats sum(bytes) by dstAddr | display dstAddr",
        "filter strcontains(dstAddr, \"192.0.2.\") | stats count(*) by srcAddr, action",
        "display @message, @logStream",
        "fields log | filter kubernetes.pod_name like /^miner/ and log ~= \"xmrig\" and log =~ /pool/",
    ] {
        plan_text(q);
    }
}

#[test]
fn malformed_queries_are_errors_at_their_position() {
    let e =
        error("fields x | filter x ~= \"a\" and y == \"'[IP]'\"' --log-group-name g --query 'q");
    assert!(e.contains("a quote closes a string"), "{e}");
    assert!(e.contains("<q>:1:45"), "{e}");
    let e = error("fields eventID | filter eventName=\\\"ListBuckets\\\"");
    assert!(e.contains("remove the shell's escaping"), "{e}");
    let e = error("fitler x = 1");
    assert!(e.contains("did you mean `filter`?"), "{e}");
    let e = error("pattern @message");
    assert!(e.contains("`pattern` command is not supported"), "{e}");
    let e = error("filter x = \"open");
    assert!(e.contains("unclosed string"), "{e}");
    let e = error("stats count(*) by bin(5q)");
    assert!(e.contains("unknown time unit `q`"), "{e}");
}

#[test]
fn comments_and_keywords_in_any_case() {
    plan_text("# the SSH hunt\nFILTER dstPort = 22 # port\n| STATS count(*) BY srcAddr");
}

#[test]
fn unknown_fields_are_null_and_noted() {
    let p = compile(
        "filter dstport = 22",
        &CwlOptions {
            log_groups: vec!["vpcflow".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(p.notes.len(), 1);
    assert!(
        p.notes[0].hint.as_deref() == Some("did you mean `dstPort`?"),
        "{:?}",
        p.notes
    );
}

#[test]
fn stats_names_unnamed_results_as_written() {
    let p = compile(
        "stats count(*), sum(bytes) by bin(5m)",
        &CwlOptions::default(),
    )
    .unwrap();
    let names: Vec<String> = p
        .plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["bin(5m)", "count(*)", "sum(bytes)"]);
}

#[test]
fn parse_makes_fields() {
    let p = compile(
        "parse @message \"* - - [*]\" as host, time | display host, time",
        &CwlOptions::default(),
    )
    .unwrap();
    assert_eq!(p.plan.schema().fields().len(), 2);
    let p = compile(
        "parse @message /user=(?<user>\\w+)/ | stats count(*) by user",
        &CwlOptions::default(),
    )
    .unwrap();
    assert_eq!(p.plan.schema().fields().len(), 2);
    let e = error("parse @message \"a * b *\" as one");
    assert!(e.contains("captures 2 value(s) but `as` names 1"), "{e}");
}
