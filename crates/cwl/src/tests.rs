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
fn the_playbook_queries_plan() {
    for q in [
        "fields eventID, eventName, eventTime, userIdentity.sessionContext.sessionIssuer.userName as userName | sort @timestamp desc | filter eventName = \"ListBuckets\"",
        "filter dstPort=22 | stats count(*) as total by srcAddr as source | sort total desc | limit 10",
        "filter dstPort < 1024 and action='ACCEPT' | stats count(*) as total by dstPort | sort total desc | limit 50",
        "filter action='REJECT' | stats count(*) by srcAddr, dstAddr | display srcAddr, dstAddr | limit 25",
        "filter action='REJECT' and strcontains(srcAddr, \"10.0.\") | stats count(*) by srcAddr, dstAddr, action | display srcAddr, dstAddr, action| limit 25",
        "display @message",
        "fields @message | filter kubernetes.container_name == \"[ContainerName]\"",
        "fields log | filter kubernetes.container_name == \"kubernetes-dashboard\" and log like /Incoming HTTP/",
        "fields log | filter kubernetes.container_name == \"kubernetes-dashboard\" and log ~= \"Incoming HTTP\" and log ~= \"appdeploymentfromfile\"",
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
