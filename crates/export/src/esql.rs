//! Elastic ES|QL. A table is the data stream Elastic's integrations fill with its events, and
//! a column is its ECS field (`Image` is `process.executable`): the mapping of
//! `spoor_esql::datastreams`, which spoor's ES|QL front-end reads in the other direction.
//!
//! ES|QL compares text case-sensitively and its `LIKE` and `RLIKE` match whole values, so
//! KQL's case-insensitive string operators are written on `TO_LOWER(COALESCE(x, ""))` with the
//! value in lower case: a missing field reads as "", as KQL reads it, and `NOT` keeps the
//! events without it. Regular expressions are written in Lucene's syntax ([`crate::lucene`]).
//! KQL's `has` is refused: its term boundaries are any character that is not a Unicode letter
//! or digit, which Lucene's classes cannot say.
//!
//! ES|QL returns at most 1,000 rows unless the query sets a `LIMIT` (up to 10,000); the
//! written query keeps the plan's own limit, if any.

use std::collections::HashMap;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{Case, InList, Like, ScalarFunction};
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, Operator, TryCast};
use spoor_esql::datastreams::{CLOUDTRAIL_IDENTITY, Conversion, DataStream};

use crate::literal::{self, in_largest_unit};
use crate::lucene::search_as_lucene;
use crate::pipeline::{
    Pipeline, Source, Stage, WINDOW, column_name, literal_str, plain_aggregate,
    text_under_empty_coalesce, unalias,
};

/// The pipeline as ES|QL text.
pub(crate) fn write(p: &Pipeline) -> Result<String, String> {
    let Source::Table(table) = &p.source else {
        return Err("a union or join (ES|QL's FROM of several data streams is not written)".into());
    };
    let stream = DataStream::of_table(table)
        .ok_or_else(|| format!("events of {table} (no Elastic data stream is mapped to it)"))?;
    let mut w = Writer {
        stream,
        names: HashMap::new(),
        table_columns: true,
    };
    let mut out = format!("FROM {}", stream.pattern);
    for (stage, schema) in &p.stages {
        for command in w.stage(stage, schema)? {
            out.push_str("\n| ");
            out.push_str(&command);
        }
    }
    Ok(out)
}

/// A string literal: a value with backslashes (Windows paths, escaped patterns) in triple
/// quotes, where ES|QL reads no escapes; others in double quotes.
fn quote(s: &str) -> String {
    if s.contains('\\') && !s.contains("\"\"\"") && !s.ends_with('"') && !s.contains('\n') {
        return format!("\"\"\"{s}\"\"\"");
    }
    literal::c_escaped(s)
}

/// A name as ES|QL reads it: plain when made of letters, digits, `_`, `@` and dots, else in
/// backquotes.
fn name(n: &str) -> String {
    let plain = n
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '@')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '.'));
    if plain {
        n.to_string()
    } else {
        format!("`{}`", n.replace('`', "``"))
    }
}

/// Text taken literally by `LIKE`: its wildcards `*` and `?` and the escape `\` escaped.
fn like_literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// SQL's LIKE pattern (`%`, `_`, the escape character) as ES|QL's (`*`, `?`, `\`).
fn like_pattern(pattern: &str, escape: Option<char>) -> String {
    let escape = escape.unwrap_or('\\');
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == escape => {
                let next = chars.next().unwrap_or(c);
                out.push_str(&like_literal(&next.to_string()));
            }
            '%' => out.push('*'),
            '_' => out.push('?'),
            c => out.push_str(&like_literal(&c.to_string())),
        }
    }
    out
}

struct Writer {
    stream: &'static DataStream,
    /// How each column made by the query so far is written.
    names: HashMap<String, String>,
    /// Whether the table's own columns are still there (before a STATS or KEEP).
    table_columns: bool,
}

impl Writer {
    /// A column as an ES|QL expression: a column the query made by its name, a table column as
    /// its ECS field (converted to the column's values where Elastic holds them otherwise).
    fn column(&self, c: &str) -> Result<String, String> {
        if let Some(text) = self.names.get(c) {
            return Ok(text.clone());
        }
        if !self.table_columns {
            return Err(format!("the column {c}"));
        }
        let w = self.stream.written(c)?;
        let field = name(&w.ecs);
        Ok(match w.conversion {
            Conversion::Same => field,
            Conversion::NumberAsText => format!("TO_LONG({field})"),
            Conversion::Ip | Conversion::BoolAsText => format!("TO_STRING({field})"),
            Conversion::Or(other) => format!("COALESCE({field}, {})", name(other)),
            // user.domain and user.name hold DOMAIN\user split at its backslash.
            Conversion::UserName | Conversion::UserDomain => {
                format!("CONCAT(user.domain, \"\\\\\", {field})")
            }
            Conversion::Direction => format!(
                "CASE({field} == \"egress\", \"true\", {field} == \"ingress\", \"false\", null)"
            ),
        })
    }

    fn stage(&mut self, stage: &Stage, schema: &DFSchema) -> Result<Vec<String>, String> {
        Ok(match stage {
            Stage::Where(e) => vec![format!("WHERE {}", self.expr(e, schema)?)],
            Stage::Extend(items) => {
                let text = self.assignments(items, schema)?;
                for (n, _) in items {
                    self.names.insert(n.clone(), name(n));
                }
                vec![format!("EVAL {text}")]
            }
            Stage::Project(items) => {
                let mut evals = Vec::new();
                let mut keep = Vec::new();
                let mut names = HashMap::new();
                for (n, e) in items {
                    let text = self.expr(e, schema)?;
                    // A column kept as its field stays under the field's name.
                    if column_name(e) == Some(n.as_str()) && is_name(&text) {
                        // Sysmon's TargetFilename and ImageLoaded are both file.path: kept
                        // side by side they would both read whichever the event has.
                        if keep.contains(&text) {
                            return Err(format!(
                                "two columns that Elastic holds in one field ({text})"
                            ));
                        }
                        keep.push(text.clone());
                        names.insert(n.clone(), text);
                    } else {
                        evals.push(format!("{} = {text}", name(n)));
                        keep.push(name(n));
                        names.insert(n.clone(), name(n));
                    }
                }
                self.names = names;
                self.table_columns = false;
                let mut out = Vec::new();
                if !evals.is_empty() {
                    out.push(format!("EVAL {}", evals.join(", ")));
                }
                out.push(format!("KEEP {}", keep.join(", ")));
                out
            }
            Stage::Summarize { aggregates, by } => {
                let mut groups = Vec::new();
                let mut names = HashMap::new();
                let mut order = Vec::new();
                for (n, e) in by {
                    let text = self.expr(e, schema)?;
                    if column_name(e) == Some(n.as_str()) && is_name(&text) {
                        groups.push(text.clone());
                        order.push(text.clone());
                        names.insert(n.clone(), text);
                    } else {
                        groups.push(format!("{} = {text}", name(n)));
                        order.push(name(n));
                        names.insert(n.clone(), name(n));
                    }
                }
                let mut aggs = Vec::new();
                let mut agg_names = Vec::new();
                for (n, e) in aggregates {
                    aggs.push(format!("{} = {}", name(n), self.aggregate(e, schema)?));
                    agg_names.push(name(n));
                    names.insert(n.clone(), name(n));
                }
                let mut text = format!("STATS {}", aggs.join(", "));
                if !groups.is_empty() {
                    text.push_str(&format!(" BY {}", groups.join(", ")));
                }
                self.names = names;
                self.table_columns = false;
                // STATS gives its aggregates first, then its groups; the plan, groups first.
                if !groups.is_empty() && !aggs.is_empty() {
                    order.extend(agg_names);
                    vec![text, format!("KEEP {}", order.join(", "))]
                } else {
                    vec![text]
                }
            }
            Stage::Sort(keys) => {
                let keys = keys
                    .iter()
                    .map(|k| {
                        let text = self.expr(&k.expr, schema)?;
                        if !is_name(&text) {
                            return Err(format!("sorting by an expression ({text})"));
                        }
                        Ok(format!(
                            "{text} {} NULLS {}",
                            if k.asc { "ASC" } else { "DESC" },
                            if k.nulls_first { "FIRST" } else { "LAST" }
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                vec![format!("SORT {}", keys.join(", "))]
            }
            Stage::Take(n) => vec![format!("LIMIT {n}")],
            Stage::MvExpand { .. } => {
                return Err("mv-expand (MV_EXPAND of dynamic arrays is not written)".into());
            }
            Stage::Distinct => return Err("distinct rows".into()),
            Stage::Window { .. } => return Err(WINDOW.into()),
        })
    }

    fn assignments(&self, items: &[(String, Expr)], schema: &DFSchema) -> Result<String, String> {
        Ok(items
            .iter()
            .map(|(n, e)| Ok(format!("{} = {}", name(n), self.expr(e, schema)?)))
            .collect::<Result<Vec<_>, String>>()?
            .join(", "))
    }

    fn aggregate(&self, e: &Expr, schema: &DFSchema) -> Result<String, String> {
        let (func, args, distinct) = plain_aggregate(e)?;
        let arg = |i: usize| -> Result<String, String> {
            let a = args
                .get(i)
                .ok_or_else(|| format!("the aggregate {func}() without an argument"))?;
            self.expr(a, schema)
        };
        Ok(match (func, distinct) {
            ("count", false) => match args.first().map(unalias) {
                Some(Expr::Literal(v, _)) if !v.is_null() => "COUNT(*)".into(),
                _ => format!("COUNT({})", arg(0)?),
            },
            // Elasticsearch counts distinct values exactly up to its precision threshold
            // (3,000 by default), then approximately, as KQL's dcount() does.
            ("count", true) | ("kql_dcount", false) => format!("COUNT_DISTINCT({})", arg(0)?),
            ("sum" | "min" | "max" | "avg", false) => {
                format!("{}({})", func.to_uppercase(), arg(0)?)
            }
            (other, _) => return Err(format!("the aggregate {other}() in ES|QL")),
        })
    }

    fn expr(&self, e: &Expr, schema: &DFSchema) -> Result<String, String> {
        let x = |e: &Expr| self.expr(e, schema);
        Ok(match e {
            Expr::Alias(a) => x(&a.expr)?,
            Expr::Column(c) => self.column(&c.name)?,
            Expr::Literal(v, _) => literal_text(v)?,
            Expr::BinaryExpr(b) => self.binary(b, schema)?,
            Expr::Not(e) => format!("NOT {}", self.operand(e, schema)?),
            Expr::IsTrue(e) => format!("COALESCE({}, false)", x(e)?),
            Expr::IsNotTrue(e) => format!("NOT COALESCE({}, false)", x(e)?),
            Expr::IsFalse(e) => format!("NOT COALESCE({}, true)", x(e)?),
            Expr::IsNotFalse(e) => format!("COALESCE({}, true)", x(e)?),
            Expr::IsNull(e) => format!("{} IS NULL", self.operand(e, schema)?),
            Expr::IsNotNull(e) => format!("{} IS NOT NULL", self.operand(e, schema)?),
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => format!(
                "{} {}IN ({})",
                self.operand(expr, schema)?,
                if *negated { "NOT " } else { "" },
                self.list(list, schema)?
            ),
            Expr::Like(like) => self.like(like, schema)?,
            Expr::Case(case) => self.case(case, schema)?,
            Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
                let from = expr.get_type(schema).map_err(|e| e.to_string())?;
                let to = field.data_type();
                if from == *to || (from.is_integer() && to.is_integer()) {
                    x(expr)?
                } else if matches!(
                    to,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) {
                    format!("TO_STRING({})", x(expr)?)
                } else if to.is_integer() {
                    format!("TO_LONG({})", x(expr)?)
                } else if to.is_floating() {
                    format!("TO_DOUBLE({})", x(expr)?)
                } else if *to == DataType::Boolean {
                    format!("TO_BOOLEAN({})", x(expr)?)
                } else {
                    return Err(format!("a cast to {to}"));
                }
            }
            Expr::ScalarFunction(f) => self.function(f, schema)?,
            other => return Err(format!("the expression {other}")),
        })
    }

    fn operand(&self, e: &Expr, schema: &DFSchema) -> Result<String, String> {
        let text = self.expr(e, schema)?;
        Ok(match unalias(e) {
            Expr::Column(_) | Expr::Literal(..) | Expr::ScalarFunction(_) => text,
            Expr::Cast(_) | Expr::TryCast(_) => text,
            _ => format!("({text})"),
        })
    }

    fn list(&self, items: &[Expr], schema: &DFSchema) -> Result<String, String> {
        Ok(items
            .iter()
            .map(|i| self.expr(i, schema))
            .collect::<Result<Vec<_>, _>>()?
            .join(", "))
    }

    fn binary(&self, b: &BinaryExpr, schema: &DFSchema) -> Result<String, String> {
        let (l, r) = (
            self.operand(&b.left, schema)?,
            self.operand(&b.right, schema)?,
        );
        if let Some(op) = literal::c_like_infix(b.op) {
            return Ok(format!("{l} {op} {r}"));
        }
        let op = match b.op {
            Operator::And => "AND",
            Operator::Or => "OR",
            Operator::StringConcat => return Ok(format!("CONCAT({l}, {r})")),
            other => return Err(format!("the operator {other}")),
        };
        Ok(format!("{l} {op} {r}"))
    }

    fn like(&self, like: &Like, schema: &DFSchema) -> Result<String, String> {
        let pattern = literal_str(&like.pattern)
            .ok_or_else(|| "LIKE with a pattern that is not a literal".to_string())?;
        let mut text = self.operand(&like.expr, schema)?;
        let mut pattern = like_pattern(&pattern, like.escape_char);
        if like.case_insensitive {
            text = format!("TO_LOWER({text})");
            pattern = pattern.to_lowercase();
        }
        Ok(format!(
            "{text} {}LIKE {}",
            if like.negated { "NOT " } else { "" },
            quote(&pattern)
        ))
    }

    fn case(&self, case: &Case, schema: &DFSchema) -> Result<String, String> {
        let mut parts = Vec::new();
        for (when, then) in &case.when_then_expr {
            parts.push(match &case.expr {
                Some(base) => format!(
                    "{} == {}",
                    self.operand(base, schema)?,
                    self.operand(when, schema)?
                ),
                None => self.expr(when, schema)?,
            });
            parts.push(self.expr(then, schema)?);
        }
        parts.push(match &case.else_expr {
            Some(e) => self.expr(e, schema)?,
            None => "null".into(),
        });
        Ok(format!("CASE({})", parts.join(", ")))
    }

    fn function(&self, f: &ScalarFunction, schema: &DFSchema) -> Result<String, String> {
        let name = f.func.name();
        let args = &f.args;
        let value = |i: usize| {
            literal_str(&args[i])
                .ok_or_else(|| format!("{name}() with a value that is not a literal string"))
        };
        // KQL's string operators: a missing text is "", case folded unless `_cs`.
        let text = |ci: bool| -> Result<String, String> {
            let t = format!(
                "COALESCE({}, \"\")",
                self.expr(text_under_empty_coalesce(&args[0]), schema)?
            );
            Ok(if ci { format!("TO_LOWER({t})") } else { t })
        };
        let fold = |ci: bool, v: String| if ci { v.to_lowercase() } else { v };
        let like = |ci: bool, pre: &str, post: &str| -> Result<String, String> {
            let v = like_literal(&fold(ci, value(1)?));
            Ok(format!(
                "({} LIKE {})",
                text(ci)?,
                quote(&format!("{pre}{v}{post}"))
            ))
        };
        Ok(match (name, args.len()) {
            ("kql_contains", 2) => like(true, "*", "*")?,
            ("kql_contains_cs", 2) => like(false, "*", "*")?,
            ("kql_startswith", 2) => like(true, "", "*")?,
            ("kql_startswith_cs", 2) => like(false, "", "*")?,
            ("kql_endswith", 2) => like(true, "*", "")?,
            ("kql_endswith_cs", 2) => like(false, "*", "")?,
            ("kql_equals_ci", 2) => {
                format!("({} == {})", text(true)?, quote(&fold(true, value(1)?)))
            }
            ("kql_in_ci", n) if n >= 2 => {
                let values = (1..n)
                    .map(|i| value(i).map(|v| quote(&fold(true, v))))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({} IN ({}))", text(true)?, values.join(", "))
            }
            ("kql_in", n) if n >= 2 => format!(
                "({} IN ({}))",
                self.operand(&args[0], schema)?,
                self.list(&args[1..], schema)?
            ),
            ("kql_has" | "kql_has_cs", 2) => {
                return Err(
                    "KQL's has (its term boundaries are any character that is not a Unicode \
                     letter or digit, which Lucene's regular expressions cannot say)"
                        .into(),
                );
            }
            ("regexp_like", 2) => format!(
                "({} RLIKE {})",
                text(false)?,
                quote(&search_as_lucene(&value(1)?)?)
            ),
            // A field of a bag column (WindowsEvent's EventData): winlog.event_data.<key>.
            ("kql_json_text" | "kql_json_text_ignore_case", 2)
                if self.table_columns
                    && column_name(&args[0])
                        .and_then(|c| self.stream.bag_field(c, &value(1).ok()?))
                        .is_some() =>
            {
                let column = column_name(&args[0]).unwrap_or_default();
                let field = self
                    .stream
                    .bag_field(column, &value(1)?)
                    .unwrap_or_default();
                self::name(&field)
            }
            // CloudTrail's identity members that the AWS integration names.
            ("kql_json_text" | "kql_json_text_ignore_case", 2)
                if column_name(&args[0]) == Some("userIdentity")
                    && self.table_columns
                    && self.stream.table == "cloudtrail" =>
            {
                let member = value(1)?;
                let ecs = CLOUDTRAIL_IDENTITY
                    .iter()
                    .find(|(m, _)| *m == member)
                    .ok_or_else(|| {
                        format!("userIdentity.{member} (the AWS integration has no field for it)")
                    })?;
                ecs.1.to_string()
            }
            ("lower" | "upper", 1) => format!(
                "TO_{}({})",
                name.to_uppercase(),
                self.expr(&args[0], schema)?
            ),
            ("coalesce" | "abs" | "round" | "floor" | "ceil" | "concat", _) => {
                format!("{}({})", name.to_uppercase(), self.list(args, schema)?)
            }
            ("character_length" | "char_length" | "length", 1) => {
                format!("LENGTH({})", self.expr(&args[0], schema)?)
            }
            ("starts_with" | "ends_with", 2) => {
                format!("{}({})", name.to_uppercase(), self.list(args, schema)?)
            }
            // bin() of a time: DATE_TRUNC, which rounds down to a multiple of a fixed span
            // since the epoch, as bin() does.
            ("kql_bin", 2) => {
                let span = match unalias(&args[1]) {
                    Expr::Literal(ScalarValue::DurationNanosecond(Some(ns)), _) if *ns > 0 => {
                        in_largest_unit(
                            *ns,
                            &[
                                (86_400_000_000_000, " days"),
                                (3_600_000_000_000, " hours"),
                                (60_000_000_000, " minutes"),
                                (1_000_000_000, " seconds"),
                            ],
                        )
                        .ok_or_else(|| "bin() by a span of a fraction of a second".to_string())?
                    }
                    _ => return Err("bin() of something other than a time".into()),
                };
                // ES|QL's time spans: `1 hour`, `15 minutes`.
                let span = span
                    .strip_suffix('s')
                    .filter(|s| s.starts_with("1 "))
                    .map_or(span.clone(), str::to_string);
                format!("DATE_TRUNC({span}, {})", self.expr(&args[0], schema)?)
            }
            (other, _) => return Err(format!("the function {other}() in ES|QL")),
        })
    }
}

/// Whether written text is a bare name (a field or a column the query made).
fn is_name(text: &str) -> bool {
    name(text) == text || (text.starts_with('`') && text.ends_with('`'))
}

fn literal_text(v: &ScalarValue) -> Result<String, String> {
    use ScalarValue as V;
    Ok(match v {
        V::Utf8(Some(s)) | V::LargeUtf8(Some(s)) | V::Utf8View(Some(s)) => quote(s),
        V::Boolean(Some(b)) => b.to_string(),
        v if v.is_null() => "null".into(),
        v if v.data_type().is_integer() => v.to_string(),
        V::Float64(Some(f)) if f.is_finite() => format!("{f:?}"),
        V::TimestampNanosecond(Some(ns), _) => {
            format!("TO_DATETIME({})", quote(&literal::datetime(*ns)))
        }
        other => return Err(format!("the literal {other} in ES|QL")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kql_as_esql(q: &str) -> Result<String, crate::ExportError> {
        let options = spoor_kql::PlanOptions::without_data(1_691_625_600_000_000_000);
        let plan = spoor_kql::compile(q, &options).expect("plans").plan;
        crate::export(&plan, crate::Target::Esql)
    }

    #[test]
    fn sysmon_is_written_with_ecs_fields() {
        let text = kql_as_esql(
            r#"Sysmon | where EventID == 1 and Image endswith @"\whoami.exe" and not(CommandLine contains "/ALL") | project Computer, CommandLine"#,
        )
        .unwrap();
        assert_eq!(
            text,
            r#"FROM logs-windows.sysmon_operational-*
| WHERE ((TO_LONG(event.code) == 1) AND (TO_LOWER(COALESCE(process.executable, "")) LIKE """*\\whoami.exe""")) AND (NOT (TO_LOWER(COALESCE(process.command_line, "")) LIKE "*/all*"))
| KEEP winlog.computer_name, process.command_line"#
        );
    }

    #[test]
    fn columns_sharing_one_field_are_not_kept_side_by_side() {
        let e = kql_as_esql("Sysmon | project TargetFilename, ImageLoaded").unwrap_err();
        assert!(e.message.contains("one field (file.path)"), "{e}");
    }

    #[test]
    fn stats_keep_the_plans_column_order() {
        let text = kql_as_esql(
            "SecurityEvent | where EventID == 4625 | summarize n = count() by TargetUserName, bin(TimeGenerated, 1h) | top 5 by n",
        )
        .unwrap();
        assert!(text.contains("| STATS n = COUNT(*) BY winlog.event_data.TargetUserName, TimeGenerated = DATE_TRUNC(1 hour, @timestamp)\n| KEEP winlog.event_data.TargetUserName, TimeGenerated, n"), "{text}");
        assert!(text.contains("| SORT n DESC NULLS"), "{text}");
        assert!(text.ends_with("| LIMIT 5"), "{text}");
    }

    #[test]
    fn cloudtrail_identity_and_refusals_are_named() {
        let text = kql_as_esql(
            r#"AWSCloudTrail | where EventName == "StopLogging" | project UserIdentityArn"#,
        )
        .unwrap();
        assert!(
            text.starts_with("FROM logs-aws.cloudtrail-*\n| WHERE event.action == \"StopLogging\""),
            "{text}"
        );
        assert!(text.contains("aws.cloudtrail.user_identity.arn"), "{text}");
        let e = kql_as_esql(r#"SecurityEvent | where CommandLine has "mimikatz""#).unwrap_err();
        assert!(e.message.contains("has"), "{e}");
        let e = kql_as_esql("Sysmon | where Hashes contains 'abc'").unwrap_err();
        assert!(e.message.contains("process.hash"), "{e}");
        // Values Elastic's pipeline rewrites are written back to the logged form.
        let text =
            kql_as_esql(r#"Sysmon | where User == @"NT AUTHORITY\SYSTEM" and Initiated == "true""#)
                .unwrap();
        assert!(
            text.contains(r#"CONCAT(user.domain, "\\", user.name) == """NT AUTHORITY\SYSTEM""""#),
            "{text}"
        );
        assert!(
            text.contains(r#"CASE(network.direction == "egress", "true""#),
            "{text}"
        );
    }

    #[test]
    fn like_patterns_use_es_wildcards() {
        assert_eq!(like_pattern("%\\\\cmd.exe", None), "*\\\\cmd.exe");
        assert_eq!(like_pattern("a_b*c%", None), "a?b\\*c*");
        assert_eq!(like_pattern("50!%", Some('!')), "50%");
    }

    #[test]
    fn names_are_quoted_when_they_must_be() {
        assert_eq!(name("process.executable"), "process.executable");
        assert_eq!(name("@timestamp"), "@timestamp");
        assert_eq!(name("count(*)"), "`count(*)`");
        assert_eq!(quote("a\"c"), "\"a\\\"c\"");
        assert_eq!(quote("C:\\x"), "\"\"\"C:\\x\"\"\"");
    }
}
