use super::*;

const NOW: i64 = 1_691_625_600_000_000_000; // 2023-08-10T00:00:00Z

fn plan_text(sql: &str) -> String {
    match compile(sql, NOW) {
        Ok(p) => p.plan.display_indent().to_string(),
        Err(ds) => panic!("{sql}: {}", ds[0].render(sql, "<q>")),
    }
}

fn error(sql: &str) -> String {
    match compile(sql, NOW) {
        Ok(p) => panic!("{sql} planned: {}", p.plan.display_indent()),
        Err(ds) => ds.iter().map(|d| d.render(sql, "<q>")).collect(),
    }
}

#[test]
fn group_by_distinct_groups_as_group_by() {
    let plan = plan_text(
        "SELECT sourceaddress, count(*) AS hits FROM vpc_flow_logs \
         WHERE destinationport = 3389 GROUP BY DISTINCT sourceaddress ORDER BY hits",
    );
    assert!(
        plan.contains("Aggregate: groupBy=[[vpc_flow_logs.sourceaddress]]"),
        "{plan}"
    );
    // Trino's ALL quantifier before grouping elements, and DataFusion's own GROUP BY ALL.
    let plan = plan_text("SELECT action, count(*) FROM vpc_flow_logs GROUP BY ALL action");
    assert!(plan.contains("groupBy=[[vpc_flow_logs.action]]"), "{plan}");
    let plan = plan_text("SELECT action, count(*) FROM vpc_flow_logs GROUP BY ALL");
    assert!(plan.contains("groupBy=[[vpc_flow_logs.action]]"), "{plan}");
}

#[test]
fn group_by_distinct_with_grouping_sets_is_refused_at_the_word() {
    let e = error("SELECT action FROM vpc_flow_logs GROUP BY DISTINCT ROLLUP (action, protocol)");
    assert!(e.contains("GROUP BY DISTINCT` with ROLLUP"), "{e}");
    assert!(e.contains("<q>:1:52"), "{e}");
}

#[test]
fn only_one_read_only_query_plans() {
    for (sql, says) in [
        ("DROP TABLE vpc_flow_logs", "`DROP TABLE` (DDL)"),
        (
            "INSERT INTO vpc_flow_logs VALUES (1)",
            "`INSERT` (it changes data)",
        ),
        (
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
            "`CREATE`",
        ),
        ("COPY vpc_flow_logs TO '/tmp/x.csv'", "`COPY`"),
        ("SET datafusion.execution.batch_size = 1", "`SET`"),
        ("SELECT 1; SELECT 2", "one query at a time"),
        ("", "no query to run"),
    ] {
        let e = error(sql);
        assert!(e.contains(says), "{sql}: {e}");
    }
}

#[test]
fn files_are_not_read_from_a_query() {
    let e = error("SELECT * FROM '/etc/passwd'");
    assert!(e.contains("unknown table `/etc/passwd`"), "{e}");
    let e = error("SELECT * FROM read_csv('/etc/passwd')");
    assert!(
        e.contains("table function 'read_csv' is not available"),
        "{e}"
    );
    // Functions that only generate rows are there.
    plan_text("SELECT * FROM generate_series(1, 3)");
}

#[test]
fn names_resolve_ignoring_case_as_athena_does() {
    let plan = plan_text("SELECT EVENTNAME, eventsource FROM CloudTrail WHERE eventname = 'x'");
    assert!(plan.contains("cloudtrail.eventName"), "{plan}");
    assert!(plan.contains("cloudtrail.eventSource"), "{plan}");
    // A database before the table is the evidence's one database.
    plan_text("SELECT count(*) FROM \"default\".vpc_flow_logs");
    // An alias is not a column, whatever its case.
    let plan = plan_text("SELECT count(*) AS eventName FROM cloudtrail ORDER BY eventname");
    assert!(plan.contains("Sort: eventName"), "{plan}");
}

#[test]
fn dotted_paths_read_json_columns() {
    let plan = plan_text(
        "SELECT useridentity.sessioncontext.sessionissuer.username AS u FROM cloudtrail ct \
         WHERE ct.useridentity.type = 'AssumedRole'",
    );
    assert!(
        plan.contains(
            r#"kql_json_text_ignore_case(ct.userIdentity, Utf8("sessioncontext"), Utf8("sessionissuer"), Utf8("username"))"#
        ),
        "{plan}"
    );
}

#[test]
fn unknown_names_are_errors_at_their_position() {
    let e = error("SELECT x FROM vpc_flowlogs");
    assert!(e.contains("unknown table `vpc_flowlogs`"), "{e}");
    assert!(e.contains("did you mean `vpc_flow_logs`?"), "{e}");
    assert!(e.contains("<q>:1:15"), "{e}");
    let e = error("SELECT sourceadress FROM vpc_flow_logs");
    assert!(e.contains("<q>:1:8"), "{e}");
    let e = error("SELECT * FROM vpc_flow_logs WHERE");
    assert!(e.contains("SQL does not parse"), "{e}");
}

#[test]
fn now_is_pinned() {
    let plan = plan_text("SELECT now() - INTERVAL '1' DAY AS t");
    assert!(plan.contains("now()"), "{plan}");
    let planned = compile("SELECT now() AS t", NOW).unwrap();
    assert_eq!(planned.types, vec![KqlType::DateTime]);
}

#[test]
fn dynamic_columns_keep_their_type() {
    let planned = compile("SELECT userIdentity, eventName FROM cloudtrail", NOW).unwrap();
    assert_eq!(planned.types, vec![KqlType::Dynamic, KqlType::String]);
}

#[test]
fn like_takes_a_column_pattern() {
    plan_text("SELECT * FROM vpc_flow_logs WHERE sourceaddress LIKE destinationaddress");
    plan_text("SELECT * FROM vpc_flow_logs WHERE sourceaddress LIKE '10.0.%'");
}
