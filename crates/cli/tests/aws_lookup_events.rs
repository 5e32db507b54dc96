//! `spoor aws cloudtrail lookup-events`: the seed playbook's `aws cloudtrail lookup-events`
//! commands (languages aws-cli+jmespath and aws-cli+jq) run as written over the fixture logs,
//! with `aws` replaced by spoor, `| jq [-r] 'X'` by `--jq 'X'` [`--raw-output`] and the
//! evidence named; and the command's own shapes and errors.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn fixture() -> PathBuf {
    support::repo_root().join("crates/cli/tests/fixtures/lookup-events")
}

fn spoor(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args(args)
        .env_remove("SPOOR_EVIDENCE")
        .current_dir(support::repo_root())
        .output()
        .expect("spoor runs")
}

fn lookup(args: &[&str]) -> Output {
    let mut all: Vec<String> = ["aws", "cloudtrail", "lookup-events", "-q", "--evidence"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.push(fixture().display().to_string());
    all.extend(args.iter().map(|s| s.to_string()));
    spoor(&all)
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "spoor failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// Every event id of the fixture.
const IDS: [&str; 11] = [
    "lb-alice",
    "lb-eu-alice",
    "lb-instance-ok",
    "lb-instance-denied",
    "cb-instance",
    "cb-alice",
    "di-instance",
    "gci-mallory",
    "ut-mallory",
    "sl-mallory",
    "dt-mallory",
];

/// The fixture's event ids in the order the output first names them.
fn ids_in(text: &str) -> Vec<&'static str> {
    let mut found: Vec<(usize, &'static str)> = IDS
        .iter()
        .filter_map(|id| {
            // `lb-instance-ok` must not be found inside a longer id: ids end at a non-id char.
            text.match_indices(id)
                .find(|(i, _)| {
                    !text[i + id.len()..]
                        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
                })
                .map(|(i, _)| (i, *id))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, id)| id).collect()
}

/// What a seed command must print over the fixture: the events (newest first) and the shape.
struct Expected {
    /// A part of the seed's text that identifies it.
    marker: &'static str,
    ids: &'static [&'static str],
    shape: fn(&str) -> Result<(), String>,
}

/// The AWS CLI's table of `Events[].{EventId,EventName,EventTime,Username}`: the title, then
/// the sorted column titles (or, for one row wider than 80 columns, the names down the side).
fn event_table(out: &str) -> Result<(), String> {
    let lines: Vec<&str> = out.lines().collect();
    let ok = lines.first().is_some_and(|l| l.chars().all(|c| c == '-'))
        && lines
            .get(1)
            .is_some_and(|l| l.trim_matches(['|', ' ']) == "LookupEvents")
        && ["EventId", "EventName", "EventTime", "Username"]
            .iter()
            .all(|h| out.contains(h))
        && out.contains("+00:00");
    if ok {
        Ok(())
    } else {
        Err("not the AWS CLI's table of EventId, EventName, EventTime, Username".into())
    }
}

fn json_lines(out: &str) -> Result<Vec<Value>, String> {
    out.lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("not JSON: {l}: {e}")))
        .collect()
}

/// `-r '[.Events[] | select(...) | {EventId, Username, CloudTrailEvent: (.CloudTrailEvent|fromjson)}]'`.
fn picked_events(out: &str) -> Result<(), String> {
    let values = json_lines(out)?;
    let [Value::Array(events)] = values.as_slice() else {
        return Err(format!("expected one array, found {values:?}"));
    };
    for e in events {
        let keys: Vec<&String> = e
            .as_object()
            .ok_or("an event is not an object")?
            .keys()
            .collect();
        if keys != ["EventId", "Username", "CloudTrailEvent"] {
            return Err(format!("keys {keys:?}"));
        }
        if !e["Username"].as_str().is_some_and(|u| u.starts_with("i-")) {
            return Err(format!("Username {}", e["Username"]));
        }
        if e["CloudTrailEvent"]["eventID"] != e["EventId"] {
            return Err("CloudTrailEvent is not the event's record".into());
        }
    }
    Ok(())
}

/// `.Events[] | select(...)`: whole events, CloudTrailEvent a JSON string.
fn whole_events(out: &str) -> Result<(), String> {
    for e in json_lines(out)? {
        let record: Value = e["CloudTrailEvent"]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or("CloudTrailEvent is not a JSON string")?;
        if record["errorCode"] != "AccessDenied" || e["ReadOnly"] != "true" {
            return Err(format!("not a denied read: {e}"));
        }
    }
    Ok(())
}

/// `[.Events[].EventName] | unique[]`: the names, sorted, one JSON string a line.
fn mallory_event_names(out: &str) -> Result<(), String> {
    let names = json_lines(out)?;
    let expected = [
        "DeleteTrail",
        "GetCallerIdentity",
        "StopLogging",
        "UpdateTrail",
    ];
    if names == expected.map(Value::from) {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, found {names:?}"))
    }
}

const EXPECTED: &[Expected] = &[
    Expected {
        marker: "AttributeValue=ListBuckets --query",
        ids: &[
            "lb-eu-alice",
            "lb-instance-denied",
            "lb-instance-ok",
            "lb-alice",
        ],
        shape: event_table,
    },
    Expected {
        marker: "AttributeValue=ListBuckets | jq -r",
        ids: &["lb-instance-denied", "lb-instance-ok"],
        shape: picked_events,
    },
    Expected {
        marker: "errorCode==\"AccessDenied\"",
        ids: &["lb-instance-denied"],
        shape: whole_events,
    },
    Expected {
        marker: "AttributeValue=CreateBucket",
        ids: &["cb-instance"],
        shape: event_table,
    },
    Expected {
        marker: "AttributeValue=DescribeInstances",
        ids: &["di-instance"],
        shape: event_table,
    },
    Expected {
        marker: "AttributeValue=StopLogging",
        ids: &["sl-mallory"],
        shape: event_table,
    },
    Expected {
        marker: "AttributeValue=DeleteTrail",
        ids: &["dt-mallory"],
        shape: event_table,
    },
    Expected {
        marker: "AttributeValue=UpdateTrail",
        ids: &["ut-mallory"],
        shape: event_table,
    },
    Expected {
        marker: "AttributeKey=AccessKeyId",
        ids: &[],
        shape: mallory_event_names,
    },
];

/// The shell variables seeds use, with the fixture's values.
const VARIABLES: [(&str, &str); 1] = [("$KEY_ID", "AKIAMALLORY00001")];

/// A seed's command as spoor arguments, or why it cannot be run.
fn spoor_args(text: &str) -> Result<Vec<String>, String> {
    let words = shlex::split(text).ok_or("the shell cannot split it (unbalanced quotes)")?;
    let mut words = words.into_iter();
    if words.next().as_deref() != Some("aws") {
        return Err("it does not start with `aws`".into());
    }
    let mut args: Vec<String> = Vec::new();
    let mut jq: Vec<String> = Vec::new();
    let mut piped = false;
    for w in words {
        if w == "|" {
            if piped {
                return Err("more than one pipe".into());
            }
            piped = true;
            continue;
        }
        let mut w = w;
        for (name, value) in VARIABLES {
            w = w.replace(name, value);
        }
        let unset_variable = w
            .split('$')
            .skip(1)
            .any(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'));
        if unset_variable && !piped {
            return Err(format!(
                "{w:?} uses a shell variable the test does not define"
            ));
        }
        if piped { jq.push(w) } else { args.push(w) }
    }
    if piped {
        match jq.as_slice() {
            [cmd, program] if cmd == "jq" => args.extend(["--jq".into(), program.clone()]),
            [cmd, r, program] if cmd == "jq" && r == "-r" => {
                args.extend(["--jq".into(), program.clone(), "--raw-output".into()])
            }
            other => return Err(format!("the pipe is not `jq [-r] PROGRAM`: {other:?}")),
        }
    }
    args.extend([
        "--evidence".into(),
        fixture().display().to_string(),
        "-q".into(),
    ]);
    Ok(args)
}

#[test]
fn the_playbooks_lookup_events_commands_run_as_written() {
    let Some(seeds) = support::shared("SPOOR_SEEDS", "../shared/seeds") else {
        return;
    };
    let path = seeds.join("cloud_threat_hunting.json");
    let hunts: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ran = 0;
    let mut failures: Vec<String> = Vec::new();
    for hunt in hunts.as_array().expect("a list of hunts") {
        let title = hunt["title"].as_str().unwrap_or("?");
        let queries = hunt["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["queries"].as_array().into_iter().flatten());
        for q in queries {
            let language = q["language"].as_str().unwrap_or_default();
            let text = q["text"].as_str().unwrap_or_default().trim();
            if !matches!(language, "aws-cli+jmespath" | "aws-cli+jq")
                || !text.starts_with("aws cloudtrail lookup-events")
            {
                continue;
            }
            let label = format!("{title:?} ({language}): {text}");
            let args = match spoor_args(text) {
                Ok(a) => a,
                Err(why) => {
                    failures.push(format!("malformed seed {label}: {why}"));
                    continue;
                }
            };
            let Some(expected) = EXPECTED.iter().find(|e| text.contains(e.marker)) else {
                failures.push(format!("no expectation written for {label}"));
                continue;
            };
            ran += 1;
            let mut args = args;
            // `aws cloudtrail lookup-events` → `spoor aws cloudtrail lookup-events`.
            args.insert(0, "aws".into());
            let out = spoor(&args);
            if !out.status.success() {
                failures.push(format!(
                    "{label}: exit {:?}: {}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
            let printed = String::from_utf8_lossy(&out.stdout);
            let ids = ids_in(&printed);
            if ids != expected.ids {
                failures.push(format!(
                    "{label}: events {ids:?}, expected {:?}\n{printed}",
                    expected.ids
                ));
            }
            if let Err(why) = (expected.shape)(&printed) {
                failures.push(format!("{label}: {why}\n{printed}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the playbook's lookup-events commands failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        ran >= 9,
        "only {ran} lookup-events commands found in the playbook"
    );
}

#[test]
fn the_response_has_the_aws_shape_newest_first() {
    let out = stdout(&lookup(&[
        "--lookup-attributes",
        "AttributeKey=Username,AttributeValue=i-0abc1234def567890",
    ]));
    assert!(out.starts_with("{\n    \"Events\": [\n"), "{out}");
    let response: Value = serde_json::from_str(&out).unwrap();
    let events = response["Events"].as_array().unwrap();
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e["EventId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "di-instance",
            "cb-instance",
            "lb-instance-denied",
            "lb-instance-ok"
        ]
    );
    let cb = &events[1];
    assert_eq!(
        cb.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "EventId",
            "EventName",
            "ReadOnly",
            "AccessKeyId",
            "EventTime",
            "EventSource",
            "Username",
            "Resources",
            "CloudTrailEvent"
        ]
    );
    assert_eq!(cb["ReadOnly"], "false");
    assert_eq!(cb["EventTime"], "2023-08-09T08:01:13+00:00");
    assert_eq!(cb["AccessKeyId"], "ASIAWEBROLE00001");
    assert_eq!(
        cb["Resources"],
        serde_json::json!([{"ResourceType": "AWS::S3::Bucket", "ResourceName": "exfil-staging-7731"}])
    );
    let record: Value = serde_json::from_str(cb["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(
        record["requestParameters"]["bucketName"],
        "exfil-staging-7731"
    );
    assert_eq!(record["eventTime"], "2023-08-09T08:01:13Z");
}

#[test]
fn attributes_times_regions_and_max_results_narrow_the_lookup() {
    let ids = |args: &[&str]| ids_in(&stdout(&lookup(args)));
    assert_eq!(
        ids(&[
            "--lookup-attributes",
            "AttributeKey=ResourceName,AttributeValue=team-reports-2023"
        ]),
        ["cb-alice"]
    );
    assert_eq!(
        ids(&[
            "--lookup-attributes",
            "AttributeKey=EventSource,AttributeValue=cloudtrail.amazonaws.com",
            "--start-time",
            "2023-08-09T09:12:30Z",
            "--end-time",
            "2023-08-09T09:13:10Z",
        ]),
        ["dt-mallory", "sl-mallory"]
    );
    assert_eq!(
        ids(&[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=ListBuckets",
            "--region",
            "us-east-1",
            "--max-results",
            "2",
        ]),
        ["lb-instance-denied", "lb-instance-ok"]
    );
    assert_eq!(
        ids(&[
            "--lookup-attributes",
            "AttributeKey=ReadOnly,AttributeValue=false"
        ])
        .len(),
        5
    );
}

#[test]
fn text_output_is_tab_separated() {
    let out = stdout(&lookup(&[
        "--lookup-attributes",
        "AttributeKey=EventId,AttributeValue=sl-mallory",
        "--query",
        "Events[].[EventName,Username]",
        "--output",
        "text",
    ]));
    assert_eq!(out, "StopLogging\tmallory\n");
}

#[test]
fn mistakes_are_usage_errors_that_say_what_to_do() {
    let usage = |out: Output, wanted: &str| {
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(wanted), "{err}");
    };
    usage(
        lookup(&[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=A",
            "AttributeKey=Username,AttributeValue=B",
        ]),
        "takes one lookup attribute",
    );
    usage(
        lookup(&["--lookup-attributes", "AttributeKey=User,AttributeValue=B"]),
        "the keys are EventId, EventName",
    );
    usage(
        lookup(&["--query", "Events[?"]),
        "JMESPath expression is not valid",
    );
    usage(
        lookup(&["--jq", ".Events[] |"]),
        "jq expression is not valid",
    );
    usage(lookup(&["--start-time", "last tuesday"]), "ISO 8601");
    usage(
        spoor(&["aws", "cloudtrail", "lookup-events"].map(String::from)),
        "SPOOR_EVIDENCE",
    );
}

#[test]
fn the_evidence_can_come_from_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args([
            "aws",
            "cloudtrail",
            "lookup-events",
            "-q",
            "--lookup-attributes",
            "AttributeKey=EventId,AttributeValue=gci-mallory",
            "--jq",
            ".Events[].Username",
            "-r",
        ])
        .env("SPOOR_EVIDENCE", fixture())
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "mallory\n");
}
