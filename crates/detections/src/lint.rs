//! `spoor rules lint`: a pack's rules checked beyond their YAML shape: ids, ATT&CK ids and
//! tactics, tables, that the query plans, parameters, tuning filters and tests.

use std::collections::{BTreeSet, HashMap};

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;

use crate::attack::AttackTable;
use crate::model::{Detection, Language, PackError, PackRule};
use crate::run::{checking_options, parameter_literals};

/// Every problem of every rule (an empty list: the pack is clean).
pub fn lint(rules: &[PackRule], attack: &AttackTable) -> Vec<PackError> {
    let mut errors = Vec::new();
    let mut ids: HashMap<&str, &std::path::Path> = HashMap::new();
    for rule in rules {
        let mut report = |field: &str, message: String| {
            errors.push(PackError {
                path: rule.path.clone(),
                position: None,
                field: Some(field.to_string()),
                message,
            })
        };
        let d = &rule.detection;
        if let Some(first) = ids.insert(&d.id, &rule.path) {
            report(
                "id",
                format!("{} is also the id of {}", d.id, first.display()),
            );
        }
        lint_rule(d, attack, &mut report);
    }
    let known: BTreeSet<&str> = rules.iter().map(|r| r.detection.id.as_str()).collect();
    for rule in rules {
        for (i, r) in rule.detection.related.iter().enumerate() {
            if !known.contains(r.as_str()) {
                errors.push(PackError {
                    path: rule.path.clone(),
                    position: None,
                    field: Some(format!("related[{i}]")),
                    message: format!("no rule of the pack has the id {r}"),
                });
            }
        }
    }
    errors
}

/// The checks of one rule that need no other rule.
pub fn lint_rule(d: &Detection, attack: &AttackTable, report: &mut dyn FnMut(&str, String)) {
    if d.id.is_empty()
        || !d
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        report(
            "id",
            format!("{:?}: use lower-case letters, digits and dashes", d.id),
        );
    }
    for (field, text) in [("title", &d.title), ("description", &d.description)] {
        if text.trim().is_empty() {
            report(field, "must not be empty".into());
        }
    }
    let mut technique_tactics = BTreeSet::new();
    for (i, t) in d.techniques.iter().enumerate() {
        match attack.technique(t) {
            Some(tech) => {
                technique_tactics.extend(tech.tactics.iter().cloned());
                if tech.id != *t {
                    report(
                        &format!("techniques[{i}]"),
                        format!("write {t} as {}", tech.id),
                    );
                }
            }
            None => report(
                &format!("techniques[{i}]"),
                format!("{t} is not an ATT&CK technique (see `spoor attack show`)"),
            ),
        }
    }
    for (i, t) in d.tactics.iter().enumerate() {
        match attack.tactic(t) {
            Some(tac) if tac.short_name != *t => report(
                &format!("tactics[{i}]"),
                format!("write {t} as {}", tac.short_name),
            ),
            Some(_) if !d.techniques.is_empty() && !technique_tactics.contains(t) => report(
                &format!("tactics[{i}]"),
                format!(
                    "{t} is not a tactic of the rule's techniques ({})",
                    technique_tactics
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(_) => {}
            None => report(
                &format!("tactics[{i}]"),
                format!("{t} is not an ATT&CK tactic"),
            ),
        }
    }
    if d.techniques.is_empty() && d.tactics.is_empty() {
        report(
            "techniques",
            "name at least one ATT&CK technique, or the tactics the rule serves".into(),
        );
    }
    if d.tables.is_empty() {
        report("tables", "name the tables the query reads".into());
    }
    for (i, t) in d.tables.iter().enumerate() {
        if spoor_catalog::catalog().table(t).is_none() {
            report(
                &format!("tables[{i}]"),
                format!("{t} is not a table of the catalog (`spoor tables` lists them)"),
            );
        }
    }
    if d.risk.score > 100 {
        report("risk.score", format!("{} is above 100", d.risk.score));
    }
    if d.validation.is_empty() {
        report(
            "validation",
            "say how to exercise the rule: at least one procedure and its telemetry".into(),
        );
    }
    lint_parameters(d, report);
    lint_query(d, report);
    lint_tests(d, report);
}

fn lint_parameters(d: &Detection, report: &mut dyn FnMut(&str, String)) {
    let text = d.query.text.as_deref().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (i, p) in d.parameters.iter().enumerate() {
        let field = format!("parameters[{i}]");
        if p.name.is_empty()
            || !p
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || p.name.starts_with(|c: char| c.is_ascii_digit())
        {
            report(
                &field,
                format!("{:?} is not a name (letters, digits, _)", p.name),
            );
        }
        if !seen.insert(p.name.as_str()) {
            report(&field, format!("{} is declared twice", p.name));
        }
        let used = match d.query.language {
            Language::Sql => text.contains(&format!("${}", p.name)),
            _ => contains_word(text, &p.name),
        };
        if !used {
            report(
                &field,
                format!(
                    "{} is not used by the query{}",
                    p.name,
                    if d.query.language == Language::Sql {
                        " (write it as $NAME)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

fn lint_query(d: &Detection, report: &mut dyn FnMut(&str, String)) {
    let params = match parameter_literals(d, &Default::default()) {
        Ok(p) => p,
        Err(e) => {
            report("parameters", e);
            return;
        }
    };
    let declared: BTreeSet<&str> = d.tables.iter().map(String::as_str).collect();
    let check_tables = |read: BTreeSet<String>, report: &mut dyn FnMut(&str, String)| {
        for t in &read {
            if !declared.contains(t.as_str()) {
                report(
                    "tables",
                    format!("the query reads {t}, which `tables` does not list"),
                );
            }
        }
        for t in &declared {
            if !read.contains(*t) {
                report(
                    "tables",
                    format!("{t} is listed but the query does not read it"),
                );
            }
        }
    };
    match d.query.language {
        Language::Kql | Language::Sql => {
            if d.query.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                report(
                    "query.text",
                    format!("a {} query needs `text`", d.query.language.as_str()),
                );
                return;
            }
            if d.query.detection.is_some() || d.query.logsource.is_some() {
                report(
                    "query",
                    "`logsource` and `detection` belong to Sigma queries".into(),
                );
            }
            match plan_text(d, &params, &[]) {
                Ok(plan) => check_tables(scanned_tables(&plan), report),
                Err(e) => report("query.text", e),
            }
            for (i, fp) in d.false_positives.iter().enumerate() {
                if let Some(t) = &fp.tuning
                    && let Err(e) = plan_text(d, &params, std::slice::from_ref(t))
                {
                    report(
                        &format!("false_positives[{i}].tuning"),
                        format!("does not plan with the query: {e}"),
                    );
                }
            }
        }
        Language::Sigma => {
            if d.query.text.is_some() {
                report(
                    "query.text",
                    "a Sigma query has `logsource` and `detection`, not text".into(),
                );
            }
            match crate::run::load_sigma_block(d) {
                Ok(loaded) => {
                    let rule = &loaded.rules[0];
                    check_tables(
                        rule.targets.iter().map(|t| t.table.clone()).collect(),
                        report,
                    );
                    for (i, fp) in d.false_positives.iter().enumerate() {
                        let Some(t) = &fp.tuning else { continue };
                        for target in &rule.targets {
                            if let Err(e) = crate::run::kql_predicate(&target.table, t) {
                                report(&format!("false_positives[{i}].tuning"), e);
                            }
                        }
                    }
                }
                Err(e) => report("query", e),
            }
        }
    }
}

/// Plans a KQL or SQL rule without evidence.
pub fn plan_text(
    d: &Detection,
    params: &[(String, String)],
    exclusions: &[String],
) -> Result<LogicalPlan, String> {
    match d.query.language {
        Language::Kql => {
            crate::run::compile_kql(d, params, exclusions, &checking_options()).map(|p| p.plan)
        }
        Language::Sql => crate::run::compile_sql(d, params, exclusions, 0).map(|p| p.plan),
        Language::Sigma => Err("not a text query".into()),
    }
}

/// The catalog tables a plan scans.
pub fn scanned_tables(plan: &LogicalPlan) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let name = scan.table_name.table().to_string();
            if spoor_catalog::catalog().table(&name).is_some() {
                out.insert(name);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    out
}

fn lint_tests(d: &Detection, report: &mut dyn FnMut(&str, String)) {
    if !d.tests.iter().any(|t| t.hits > 0) {
        report(
            "tests",
            "add a test whose events must match (hits above 0)".into(),
        );
    }
    if !d.tests.iter().any(|t| t.hits == 0) {
        report(
            "tests",
            "add a test whose events must not match (hits: 0)".into(),
        );
    }
    for (i, t) in d.tests.iter().enumerate() {
        let field = format!("tests[{i}]");
        if t.rows.is_empty() && t.evidence.is_none() {
            report(&field, "give `rows` (with `table`) or `evidence`".into());
        }
        if !t.rows.is_empty() {
            match t
                .table
                .as_deref()
                .map(|n| (n, spoor_catalog::catalog().table(n)))
            {
                None => report(
                    &format!("{field}.table"),
                    "rows need the table they are rows of".into(),
                ),
                Some((n, None)) => report(
                    &format!("{field}.table"),
                    format!("{n} is not a table of the catalog"),
                ),
                Some((n, Some(def))) => {
                    for (r, row) in t.rows.iter().enumerate() {
                        for column in row.keys() {
                            if def.column(column).is_none() {
                                report(
                                    &format!("{field}.rows[{r}]"),
                                    format!("{n} has no column {column}"),
                                );
                            }
                        }
                    }
                }
            }
        }
        for name in t.params.keys() {
            if !d.parameters.iter().any(|p| &p.name == name) {
                report(
                    &format!("{field}.params"),
                    format!("{name} is not a parameter of the rule"),
                );
            }
        }
    }
}
