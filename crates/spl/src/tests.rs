use super::*;

fn seed_macros() -> Macros {
    let mut m = Macros::default();
    m.read_conf(
        "[kubernetes_azure]\ndefinition = sourcetype=mscs:storage:blob:json\n\
         [kubernetes_azure_scan_fingerprint_filter]\ndefinition = search *\n",
    )
    .unwrap();
    m
}

fn plan_text(q: &str) -> String {
    match compile(q, &seed_macros(), &SplOptions::default()) {
        Ok(p) => p.plan.display_indent().to_string(),
        Err(ds) => panic!("{q}: {}", ds[0].render(q, "<q>")),
    }
}

fn error(q: &str) -> String {
    match compile(q, &seed_macros(), &SplOptions::default()) {
        Ok(p) => panic!("{q} planned: {}", p.plan.display_indent()),
        Err(ds) => ds.iter().map(|d| d.render(q, "<q>")).collect(),
    }
}

#[test]
fn macros_and_spath_plan() {
    let plan = plan_text(
        "`kubernetes_azure` category=kube-audit | spath input=properties.log \
         | search verb=list user.username=system:anonymous | table sourceIPs{} requestURI objectRef.resource \
         | `kubernetes_azure_scan_fingerprint_filter`",
    );
    assert!(plan.contains("KubeAudit"), "{plan}");
}

#[test]
fn commands_plan() {
    for q in [
        "sourcetype=aws:cloudtrail eventName=Delete* NOT errorCode=* | stats count by eventName, userIdentity.arn | sort - count | head 5",
        "sourcetype=XmlWinEventLog EventCode=1 Image=\"*\\\\powershell.exe\" | eval lower_cmd=lower(CommandLine), n=len(CommandLine) | where n > 10 | table _time host Image lower_cmd",
        "source=\"XmlWinEventLog:Security\" EventCode IN (4624, 4625) | top limit=3 TargetUserName by EventID",
        "sourcetype=aws:cloudtrail | rex field=userAgent \"(?<tool>[a-z-]+)/(?<version>[0-9.]+)\" | rare tool",
        "sourcetype=aws:cloudtrail | bin span=1h _time as hour | eventstats count as per_hour by hour | dedup eventName | rename eventName AS api | fields api, per_hour",
        "sourcetype=aws:cloudtrail | spath input=requestParameters path=bucketName output=bucket | where isnotnull(bucket) | tail 2",
    ] {
        plan_text(q);
    }
}

#[test]
fn errors_point_into_the_text_as_written() {
    let e = error("`nope` | head 1");
    assert!(e.contains("macro `nope` is not defined"), "{e}");
    let e = error("`kubernetes_azure` | staats count");
    assert!(e.contains("did you mean `stats`?"), "{e}");
    assert!(e.contains("<q>:1:22"), "{e}");
    let e = error("sourcetype=nothing:here");
    assert!(
        e.contains("spoor has no events for sourcetype=nothing:here"),
        "{e}"
    );
    let e = error("sourcetype=aws:cloudtrail | transaction eventName");
    assert!(
        e.contains("`transaction` command is not supported yet"),
        "{e}"
    );
    let e = error("sourcetype=aws:cloudtrail | eval x = lenn(eventName)");
    assert!(e.contains("did you mean `len`?"), "{e}");
}

/// Splunk's search evaluates OR before AND; a leading OR joins nothing.
#[test]
fn search_reads_or_before_and() {
    let shape = |q: &str| -> String {
        fn show(s: &syntax::Search) -> String {
            match s {
                syntax::Search::And(items) => {
                    format!(
                        "and({})",
                        items.iter().map(show).collect::<Vec<_>>().join(",")
                    )
                }
                syntax::Search::Or(items) => {
                    format!(
                        "or({})",
                        items.iter().map(show).collect::<Vec<_>>().join(",")
                    )
                }
                syntax::Search::Not(x) => format!("not({})", show(x)),
                syntax::Search::Compare { field, .. } => field.name.clone(),
                other => format!("{other:?}"),
            }
        }
        match &syntax::parse(q).unwrap().commands[0].kind {
            syntax::CommandKind::Search(s) => show(s),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(shape("a=1 OR b=2 c=3"), "and(or(a,b),c)");
    assert_eq!(shape("a=1 b=2 OR c=3"), "and(a,or(b,c))");
    assert_eq!(shape("OR a=1 OR b=2"), "or(a,b)");
    assert_eq!(
        shape("(a=1 b=2) OR NOT c=3 AND d=4"),
        "and(or(and(a,b),not(c)),d)"
    );
}

/// `regex field="re"` keeps matching events; `!=` keeps the others, and events without the field.
#[test]
fn regex_command_plans_as_match() {
    let plan = plan_text(
        "sourcetype=XmlWinEventLog source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" \
         | regex CommandLine=\"://[0-9]{1,3}\\\\.[0-9]\" | regex Image!=\"curl\"",
    );
    assert!(plan.contains("regexp_like"), "{plan}");
    assert!(plan.contains("://[0-9]{1,3}\\.[0-9]"), "{plan}");
    let e = error("sourcetype=XmlWinEventLog | regex CommandLine");
    assert!(e.contains("`=` or `!=`"), "{e}");
}
