//! `spoor rules`: list, show, lint and test the detection pack.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use crate::args::{RulesArgs, RulesCommand, TablesFormat};
use crate::commands::hunt::load_rules;
use crate::{EXIT_QUERY_ERROR, Failure};

pub fn run(args: RulesArgs) -> Result<ExitCode, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut w = |s: String| writeln!(out, "{s}").map_err(|e| Failure::Other(e.into()));
    match args.command {
        RulesCommand::List { pack, format } => {
            let rules = load_rules(&pack)?;
            for r in &rules {
                let d = &r.detection;
                match format {
                    TablesFormat::Json => w(json!({"id": d.id, "title": d.title,
                        "severity": d.severity.as_str(), "score": d.risk.score,
                        "techniques": d.techniques, "tables": d.tables,
                        "language": d.query.language.as_str(),
                        "path": r.path.display().to_string()})
                    .to_string())?,
                    TablesFormat::Table => w(format!(
                        "{:<44} {:<8} {:<22} {:<28} {}",
                        d.id,
                        d.severity.as_str(),
                        d.techniques.join(","),
                        d.tables.join(","),
                        d.title
                    ))?,
                }
            }
            if format == TablesFormat::Table {
                w(format!("{} rules", rules.len()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Show { id, pack } => {
            let rules = load_rules(&pack)?;
            let Some(rule) = rules.iter().find(|r| r.detection.id == id) else {
                return Err(Failure::Usage(format!(
                    "no rule has the id {id} (`spoor rules list` lists them)"
                )));
            };
            let (attack, _) = spoor_detections::attack::current_table();
            w(format!("# {}", rule.path.display()))?;
            for t in &rule.detection.techniques {
                if let Some(name) = attack.full_name(t) {
                    w(format!("# {t}: {name}"))?;
                }
            }
            let text = match rule.path.strip_prefix("rules") {
                Ok(rel) if !pack.no_builtin => {
                    spoor_detections::built_in_file(&rel.to_string_lossy().replace('\\', "/"))
                        .map(str::to_string)
                }
                _ => None,
            };
            let text = match text {
                Some(t) => t,
                None => std::fs::read_to_string(&rule.path)?,
            };
            w(text.trim_end().to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Lint { paths } => {
            let (rules, mut errors) = if paths.is_empty() {
                spoor_detections::built_in_pack()
            } else {
                spoor_detections::load_pack(&paths)
            };
            let (attack, _) = spoor_detections::attack::current_table();
            errors.extend(spoor_detections::lint::lint(&rules, &attack));
            for e in &errors {
                w(format!("error: {e}"))?;
            }
            w(format!(
                "{} rule(s) checked, {} problem(s)",
                rules.len(),
                errors.len()
            ))?;
            Ok(if errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_QUERY_ERROR)
            })
        }
        RulesCommand::Export { to, ids, pack } => {
            let target = spoor_export::Target::parse(&to).ok_or_else(|| {
                Failure::Usage(format!(
                    "--to {to}: not a language spoor knows (sql, athena, kql, cwl, spl, sumo, esql)"
                ))
            })?;
            let rules = load_rules(&pack)?;
            for id in &ids {
                if !rules.iter().any(|r| &r.detection.id == id) {
                    return Err(Failure::Usage(format!("no rule has the id {id}")));
                }
            }
            let mut failed = 0;
            for rule in &rules {
                let d = &rule.detection;
                if !ids.is_empty() && !ids.contains(&d.id) {
                    continue;
                }
                // A Sigma block plans once per table its log source maps to: one query each.
                let written: Result<Vec<(String, String)>, String> =
                    if d.query.language == spoor_detections::model::Language::Sigma {
                        spoor_detections::run::load_sigma_block(d).and_then(|loaded| {
                            loaded.rules[0]
                                .targets
                                .iter()
                                .map(|t| {
                                    let plan = t.plan()?;
                                    let text = spoor_export::export(&plan, target)
                                        .map_err(|e| format!("{} ({}): {e}", d.id, t.table))?;
                                    Ok((format!("{} ({})", d.id, t.table), text))
                                })
                                .collect()
                        })
                    } else {
                        spoor_detections::run::parameter_literals(d, &Default::default())
                            .and_then(|params| spoor_detections::lint::plan_text(d, &params, &[]))
                            .and_then(|plan| {
                                spoor_export::export(&plan, target).map_err(|e| e.to_string())
                            })
                            .map(|text| vec![(d.id.clone(), text)])
                    };
                match written {
                    Ok(queries) => {
                        for (label, text) in queries {
                            w(format!(
                                "{}\n{text}{}\n",
                                target.comment(&format!("{label}: {}", d.title)),
                                target.terminator()
                            ))?;
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("error: {}: {e}", d.id);
                    }
                }
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!("{failed} rule(s) not written");
                ExitCode::from(EXIT_QUERY_ERROR)
            })
        }
        RulesCommand::Test { ids, pack } => {
            let rules = load_rules(&pack)?;
            for id in &ids {
                if !rules.iter().any(|r| &r.detection.id == id) {
                    return Err(Failure::Usage(format!("no rule has the id {id}")));
                }
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let mut failed = 0;
            let mut total = 0;
            w(format!(
                "{:<6} {:<44} {:>4} {:>4}  test",
                "result", "rule", "want", "got"
            ))?;
            for rule in &rules {
                let d = &rule.detection;
                if !ids.is_empty() && !ids.contains(&d.id) {
                    continue;
                }
                if d.tests.is_empty() {
                    failed += 1;
                    w(format!(
                        "{:<6} {:<44} {:>4} {:>4}  (the rule has no tests)",
                        "FAIL", d.id, "-", "-"
                    ))?;
                }
                for test in &d.tests {
                    total += 1;
                    let outcome = runtime.block_on(spoor_detections::testing::run_test(d, test));
                    let verdict = if outcome.failure.is_none() {
                        "pass"
                    } else {
                        "FAIL"
                    };
                    w(format!(
                        "{verdict:<6} {:<44} {:>4} {:>4}  {}",
                        d.id, test.hits, outcome.hits, test.name
                    ))?;
                    if let Some(why) = outcome.failure {
                        failed += 1;
                        for line in why.lines() {
                            w(format!("         {line}"))?;
                        }
                    }
                }
            }
            w(format!(
                "{total} test(s), {} passed, {failed} failed",
                total - failed.min(total)
            ))?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_QUERY_ERROR)
            })
        }
    }
}
