//! KQL, as Microsoft Sentinel and Azure Data Explorer read it. spoor's tables are Sentinel's
//! (Log Analytics) tables, so names are written as they are; spoor's `kql_*` functions are
//! KQL's own functions and operators.
//!
//! Differences the writer settles:
//! - a string that is null in the plan is `""`: Kusto's strings are never null;
//! - SQL's `LIKE` is `matches regex` (anchored), `IS NULL` is `isnull()`;
//! - an aggregate with a FILTER clause is `countif` (only `count` has one).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{AggregateFunction, Case, InList, Like, ScalarFunction};
use datafusion::logical_expr::{Between, BinaryExpr, Cast, Expr, ExprSchemable, Operator, TryCast};

use crate::literal;
use crate::pipeline::{Pipeline, Source, Stage, column_name, literal_str, unalias};

/// The pipeline as KQL text.
pub(crate) fn write(p: &Pipeline) -> Result<String, String> {
    let mut out = match &p.source {
        Source::Table(t) => ident(t),
        Source::Union(branches) => {
            let parts = branches
                .iter()
                .map(|b| write(b).map(|t| format!("    ({})", t.replace('\n', "\n    "))))
                .collect::<Result<Vec<_>, _>>()?;
            format!("union\n{}", parts.join(",\n"))
        }
        Source::Join {
            left,
            right,
            kind,
            on,
        } => {
            let on = on
                .iter()
                .map(|(l, r)| {
                    if l == r {
                        ident(l)
                    } else {
                        format!("$left.{} == $right.{}", ident(l), ident(r))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{}\n| join kind={} (\n    {}\n) on {on}",
                write(left)?,
                kind.kusto(),
                write(right)?.replace('\n', "\n    ")
            )
        }
    };
    for (stage, schema) in &p.stages {
        let w = Writer { schema };
        out.push_str("\n| ");
        out.push_str(&w.stage(stage)?);
    }
    Ok(out)
}

/// A name as KQL reads it: bare when it is an identifier and not a keyword, else `['...']`.
pub(crate) fn ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "not",
        "by",
        "in",
        "has",
        "between",
        "contains",
        "startswith",
        "endswith",
        "matches",
        "regex",
        "true",
        "false",
        "null",
        "let",
        "where",
        "project",
        "extend",
        "summarize",
        "sort",
        "order",
        "take",
        "limit",
        "top",
        "on",
        "kind",
        "with",
        "as",
        "of",
        "to",
        "typeof",
        "datetime",
        "timespan",
        "dynamic",
        "long",
        "int",
        "real",
        "string",
        "bool",
        "guid",
        "decimal",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "union",
        "join",
        "distinct",
        "count",
        "print",
        "range",
        "parse",
        "evaluate",
        "invoke",
        "render",
    ];
    let simple = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if simple && !KEYWORDS.contains(&name) {
        name.to_string()
    } else {
        format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// A string literal: verbatim (`@"C:\Windows"`) when it holds backslashes and no control
/// characters, else with escapes.
pub(crate) fn string(s: &str) -> String {
    if s.contains('\\') && !s.chars().any(char::is_control) {
        return format!("@\"{}\"", s.replace('"', "\"\""));
    }
    literal::c_escaped(s)
}

struct Writer<'a> {
    /// The schema of the stage's input.
    schema: &'a DFSchema,
}

impl Writer<'_> {
    fn stage(&self, stage: &Stage) -> Result<String, String> {
        Ok(match stage {
            Stage::Where(e) => format!("where {}", self.expr(e)?),
            Stage::Extend(items) => format!("extend {}", self.assignments(items)?),
            Stage::Project(items) => match self.extend_and_away(items)? {
                Some(text) => text,
                None => format!("project {}", self.assignments(items)?),
            },
            Stage::Summarize { aggregates, by } => self.summarize(aggregates, by)?,
            Stage::Sort(keys) => {
                let keys = keys
                    .iter()
                    .map(|k| {
                        Ok(format!(
                            "{} {} nulls {}",
                            self.expr(&k.expr)?,
                            if k.asc { "asc" } else { "desc" },
                            if k.nulls_first { "first" } else { "last" }
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                format!("sort by {}", keys.join(", "))
            }
            Stage::Take(n) => format!("take {n}"),
            Stage::Distinct => "distinct *".to_string(),
            Stage::MvExpand { columns, kind } => {
                let columns: Vec<String> = columns.iter().map(|c| ident(c)).collect();
                format!("mv-expand kind={kind} {}", columns.join(", "))
            }
            // prev() and its kin read the row set in the order a sort gave it (Kusto's
            // serialized rows), so the window's order is sorted by first.
            Stage::Window { items, order } => format!(
                "{}\n| extend {}",
                self.stage(&Stage::Sort(order.clone()))?,
                self.assignments(items)?
            ),
        })
    }

    /// A projection that keeps the input's columns in order but some, then adds new ones, as
    /// `extend` and `project-away` (rather than a `project` naming every column kept).
    fn extend_and_away(&self, items: &[(String, Expr)]) -> Result<Option<String>, String> {
        let input: Vec<&String> = self.schema.fields().iter().map(|f| f.name()).collect();
        let kept = items
            .iter()
            .take_while(|(n, e)| column_name(e) == Some(n.as_str()));
        let kept: Vec<&String> = kept.map(|(n, _)| n).collect();
        let added = &items[kept.len()..];
        let mut remaining = input.iter().copied().filter(|c| kept.contains(c));
        let in_order = kept.iter().all(|k| remaining.next() == Some(*k));
        let dropped: Vec<&String> = input
            .iter()
            .copied()
            .filter(|c| !kept.contains(c))
            .collect();
        if !in_order
            || added.is_empty()
            || dropped.is_empty()
            || kept.len() < dropped.len()
            || added.iter().any(|(n, _)| input.contains(&n))
        {
            return Ok(None);
        }
        let away: Vec<String> = dropped.iter().map(|c| ident(c)).collect();
        let mut text = String::new();
        if !added.is_empty() {
            text = format!("extend {}\n| ", self.assignments(added)?);
        }
        text.push_str(&format!("project-away {}", away.join(", ")));
        Ok(Some(text))
    }

    /// A row-order function as KQL's: `prev`/`next` for lag/lead, `row_number`,
    /// `row_window_session`.
    fn window_function(
        &self,
        f: &datafusion::logical_expr::expr::WindowFunction,
    ) -> Result<String, String> {
        let args = f
            .params
            .args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>, String>>()?;
        let mut args = args;
        if matches!(f.fun.name(), "lag" | "lead") {
            // prev(x) and prev(x, n): a null default and an offset of 1 are KQL's own.
            let null_default = matches!(f.params.args.get(2).map(unalias), Some(Expr::Literal(v, _)) if v.is_null());
            if args.len() == 3 && null_default {
                args.pop();
            }
            if args.len() == 2 && args[1] == "1" {
                args.pop();
            }
        }
        let name = match f.fun.name() {
            "lag" => "prev",
            "lead" => "next",
            "row_number" => "row_number",
            "kql_row_number_restart" => "row_number",
            "kql_row_window_session" => "row_window_session",
            other => return Err(format!("the window function {other}()")),
        };
        Ok(format!("{name}({})", args.join(", ")))
    }

    fn assignments(&self, items: &[(String, Expr)]) -> Result<String, String> {
        let parts = items
            .iter()
            .map(|(n, e)| {
                if column_name(e) == Some(n.as_str()) {
                    Ok(ident(n))
                } else {
                    Ok(format!("{} = {}", ident(n), self.expr(e)?))
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(parts.join(", "))
    }

    fn summarize(
        &self,
        aggregates: &[(String, Expr)],
        by: &[(String, Expr)],
    ) -> Result<String, String> {
        let by_text = if by.is_empty() {
            String::new()
        } else {
            format!(" by {}", self.assignments(by)?)
        };
        if let Some(text) = self.arg_extreme(aggregates, by, &by_text)? {
            return Ok(text);
        }
        let aggs = aggregates
            .iter()
            .map(|(n, e)| Ok(format!("{} = {}", ident(n), self.aggregate(e)?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(format!("summarize {}{by_text}", aggs.join(", ")))
    }

    /// `arg_max(T, *)` (or `arg_min`), which spoor plans as one aggregate per returned column:
    /// written back as one `arg_max(T, c1, c2...)`, then a `project` naming its columns.
    fn arg_extreme(
        &self,
        aggregates: &[(String, Expr)],
        by: &[(String, Expr)],
        by_text: &str,
    ) -> Result<Option<String>, String> {
        let arg = |e: &Expr| -> Option<(String, Vec<Expr>)> {
            match unalias(e) {
                Expr::AggregateFunction(a)
                    if matches!(a.func.name(), "kql_arg_max" | "kql_arg_min") =>
                {
                    Some((a.func.name().to_string(), a.params.args.clone()))
                }
                _ => None,
            }
        };
        let args: Vec<_> = aggregates.iter().map(|(_, e)| arg(e)).collect();
        if args.iter().all(Option::is_none) {
            return Ok(None);
        }
        let refuse = || {
            "arg_max/arg_min beside other aggregates, or over expressions rather than columns"
                .to_string()
        };
        let mut function = None;
        let mut by_column: Option<String> = None;
        let mut returned: Vec<String> = Vec::new();
        let mut names = Vec::new();
        for ((name, _), a) in aggregates.iter().zip(&args) {
            let (f, a) = a.clone().ok_or_else(refuse)?;
            if function.get_or_insert(f.clone()) != &f || a.len() != 2 {
                return Err(refuse());
            }
            let t = column_name(&a[0]).ok_or_else(refuse)?.to_string();
            if by_column.get_or_insert(t.clone()) != &t {
                return Err(refuse());
            }
            let c = column_name(&a[1]).ok_or_else(refuse)?.to_string();
            // A group column is not returned again (Kusto would name the copy `c1`); its value
            // is the group's.
            let group = by.iter().find(|(g, _)| *g == c);
            match group {
                Some((_, ge)) if column_name(ge) != Some(c.as_str()) => return Err(refuse()),
                Some(_) => {}
                None if !returned.contains(&c) => returned.push(c.clone()),
                None => {}
            }
            names.push(if name == &c {
                ident(name)
            } else {
                format!("{} = {}", ident(name), ident(&c))
            });
        }
        let function = function.unwrap_or_default();
        let t = by_column.unwrap_or_default();
        let mut list = vec![ident(&t)];
        list.extend(returned.iter().filter(|c| **c != t).map(|c| ident(c)));
        let groups: Vec<String> = by.iter().map(|(g, _)| ident(g)).collect();
        let mut project = groups;
        project.extend(names);
        Ok(Some(format!(
            "summarize {}({}){by_text}\n| project {}",
            function.trim_start_matches("kql_"),
            list.join(", "),
            project.join(", ")
        )))
    }

    fn aggregate(&self, e: &Expr) -> Result<String, String> {
        let Expr::AggregateFunction(AggregateFunction { func, params }) = unalias(e) else {
            return Err(format!("the aggregate {e}"));
        };
        if !params.order_by.is_empty() {
            return Err(format!("an ordered aggregate ({e})"));
        }
        let name = func.name();
        let args = &params.args;
        if let Some(filter) = &params.filter {
            return match (name, args.as_slice()) {
                ("count", [a]) if is_count_star(a) => {
                    Ok(format!("countif({})", self.expr(filter)?))
                }
                _ => Err(format!("an aggregate with a FILTER clause ({e})")),
            };
        }
        // `CASE WHEN c THEN x END` as an aggregate's argument is Kusto's conditional form:
        // `dcountif(x, c)`, `make_set_if(x, c, n)`.
        let conditional = args.first().and_then(|a| when_then_only(a));
        if params.distinct {
            let plain = match (name, args.as_slice()) {
                ("count", [_]) => ("count_distinct", "dcountif"),
                ("array_agg", [_]) => ("make_set", "make_set_if"),
                _ => return Err(format!("a DISTINCT aggregate other than count ({e})")),
            };
            return Ok(match conditional {
                Some((when, then)) => {
                    format!("{}({}, {})", plain.1, self.expr(then)?, self.expr(when)?)
                }
                None => format!("{}({})", plain.0, self.expr(&args[0])?),
            });
        }
        if let Some((when, then)) = conditional {
            let conditional = match name {
                "count" => Some("countif"),
                "sum" => Some("sumif"),
                "avg" | "mean" => Some("avgif"),
                "min" => Some("minif"),
                "max" => Some("maxif"),
                "kql_dcount" => Some("dcountif"),
                "kql_take_any" => Some("take_anyif"),
                "kql_make_set" => Some("make_set_if"),
                "kql_make_list" => Some("make_list_if"),
                "kql_make_bag" => Some("make_bag_if"),
                _ => None,
            };
            if let Some(conditional) = conditional {
                let mut parts = Vec::new();
                if conditional != "countif" {
                    parts.push(self.expr(unwrap_to_json(then))?);
                }
                parts.push(self.expr(when)?);
                for a in &args[1..] {
                    parts.push(self.expr(a)?);
                }
                return Ok(format!("{conditional}({})", parts.join(", ")));
            }
        }
        let call = |kql: &str| -> Result<String, String> {
            let a = args
                .iter()
                .map(|a| self.expr(unwrap_to_json(a)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!("{kql}({})", a.join(", ")))
        };
        match name {
            "count" => match args.as_slice() {
                [a] if is_count_star(a) => Ok("count()".into()),
                [a] => Ok(format!("countif(isnotnull({}))", self.expr(a)?)),
                _ => Err(format!("count with {} arguments", args.len())),
            },
            "sum" | "min" | "max" | "avg" => call(name),
            "mean" => call("avg"),
            "array_agg" => call("make_list"),
            "approx_distinct" => call("dcount"),
            "stddev" => call("stdev"),
            "stddev_pop" => call("stdevp"),
            "var" | "var_samp" => call("variance"),
            "var_pop" => call("variancep"),
            kql if kql.starts_with("kql_") => call(&kql["kql_".len()..]),
            other => Err(format!("the aggregate {other}() in KQL")),
        }
    }

    fn expr(&self, e: &Expr) -> Result<String, String> {
        Ok(match e {
            Expr::Alias(a) => self.expr(&a.expr)?,
            Expr::Column(c) => ident(&c.name),
            Expr::Literal(v, _) => literal_text(v)?,
            Expr::BinaryExpr(b) => self.binary(b)?,
            Expr::WindowFunction(f) => self.window_function(f)?,
            Expr::Not(x) => format!("not({})", self.expr(x)?),
            Expr::IsNull(x) => format!("isnull({})", self.expr(x)?),
            Expr::IsNotNull(x) => format!("isnotnull({})", self.expr(x)?),
            Expr::IsTrue(x) => format!("({} == true)", self.operand(x)?),
            Expr::IsFalse(x) => format!("({} == false)", self.operand(x)?),
            Expr::IsNotTrue(x) => format!("not({} == true)", self.operand(x)?),
            Expr::IsNotFalse(x) => format!("not({} == false)", self.operand(x)?),
            Expr::Negative(x) => format!("-{}", self.operand(x)?),
            Expr::Between(Between {
                expr,
                negated,
                low,
                high,
            }) => format!(
                "{} {}between ({} .. {})",
                self.operand(expr)?,
                if *negated { "!" } else { "" },
                self.expr(low)?,
                self.expr(high)?
            ),
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => format!(
                "{} {}in ({})",
                self.operand(expr)?,
                if *negated { "!" } else { "" },
                self.list(list)?
            ),
            Expr::Like(like) => self.like(like)?,
            Expr::Case(case) => self.case(case, e)?,
            Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
                self.cast(expr, field.data_type())?
            }
            Expr::ScalarFunction(f) => self.function(f)?,
            Expr::AggregateFunction(_) => self.aggregate(e)?,
            other => return Err(format!("the expression {other}")),
        })
    }

    /// An operand of an operator: in parentheses unless it is a name, literal or call.
    fn operand(&self, e: &Expr) -> Result<String, String> {
        let text = self.expr(e)?;
        Ok(match unalias(e) {
            // spoor's string operators are written infix (`a contains b`).
            Expr::ScalarFunction(_) if text.contains(' ') && !text.ends_with(')') => {
                format!("({text})")
            }
            Expr::Column(_) | Expr::Literal(..) | Expr::ScalarFunction(_) | Expr::Not(_) => text,
            Expr::IsNull(_) | Expr::IsNotNull(_) | Expr::Case(_) => text,
            Expr::Cast(_) | Expr::TryCast(_) if !text.contains(' ') => text,
            _ => format!("({text})"),
        })
    }

    fn list(&self, items: &[Expr]) -> Result<String, String> {
        Ok(items
            .iter()
            .map(|i| self.expr(i))
            .collect::<Result<Vec<_>, _>>()?
            .join(", "))
    }

    fn binary(&self, b: &BinaryExpr) -> Result<String, String> {
        let (l, r) = (self.operand(&b.left)?, self.operand(&b.right)?);
        if let Some(op) = literal::c_like_infix(b.op) {
            return Ok(format!("{l} {op} {r}"));
        }
        let op = match b.op {
            Operator::And => "and",
            Operator::Or => "or",
            Operator::RegexMatch => "matches regex",
            Operator::RegexIMatch => {
                return Ok(format!("{l} matches regex strcat(\"(?i)\", {r})"));
            }
            Operator::RegexNotMatch => return Ok(format!("not({l} matches regex {r})")),
            Operator::RegexNotIMatch => {
                return Ok(format!("not({l} matches regex strcat(\"(?i)\", {r}))"));
            }
            Operator::StringConcat => return Ok(format!("strcat({l}, {r})")),
            Operator::BitwiseAnd => return Ok(format!("binary_and({l}, {r})")),
            Operator::BitwiseOr => return Ok(format!("binary_or({l}, {r})")),
            other => return Err(format!("the operator {other}")),
        };
        Ok(format!("{l} {op} {r}"))
    }

    fn like(&self, like: &Like) -> Result<String, String> {
        let pattern = match unalias(&like.pattern) {
            Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_string),
            _ => None,
        }
        .ok_or_else(|| "LIKE with a pattern that is not a literal".to_string())?;
        let regex = literal::like_to_regex(&pattern, like.escape_char, like.case_insensitive);
        let test = format!(
            "{} matches regex {}",
            self.operand(&like.expr)?,
            string(&regex)
        );
        Ok(if like.negated {
            format!("not({test})")
        } else {
            test
        })
    }

    fn case(&self, case: &Case, whole: &Expr) -> Result<String, String> {
        let mut parts = Vec::new();
        for (when, then) in &case.when_then_expr {
            let condition = match &case.expr {
                Some(base) => format!("{} == {}", self.operand(base)?, self.operand(when)?),
                None => self.expr(when)?,
            };
            parts.push(condition);
            parts.push(self.expr(then)?);
        }
        parts.push(match &case.else_expr {
            Some(e) => self.expr(e)?,
            None => {
                let ty = whole.get_type(self.schema).map_err(|e| e.to_string())?;
                literal_text(&ScalarValue::try_from(&ty).map_err(|e| e.to_string())?)?
            }
        });
        Ok(if parts.len() == 3 {
            format!("iff({})", parts.join(", "))
        } else {
            format!("case({})", parts.join(", "))
        })
    }

    fn cast(&self, expr: &Expr, to: &DataType) -> Result<String, String> {
        let from = expr.get_type(self.schema).map_err(|e| e.to_string())?;
        if from == *to || (from.is_integer() && to.is_integer() && literal::widens(&from, to)) {
            return self.expr(expr);
        }
        if from == DataType::Boolean && to.is_integer() {
            let (one, zero) = if *to == DataType::Int64 {
                ("1", "0")
            } else {
                ("int(1)", "int(0)")
            };
            return Ok(format!("iff({}, {one}, {zero})", self.expr(expr)?));
        }
        let function = match to {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "tostring",
            DataType::Int64 => "tolong",
            DataType::Int32 | DataType::Int16 | DataType::Int8 => "toint",
            DataType::Float64 | DataType::Float32 => "todouble",
            DataType::Boolean => "tobool",
            DataType::Timestamp(..) => "todatetime",
            DataType::Duration(_) => "totimespan",
            other => return Err(format!("a cast to {other}")),
        };
        Ok(format!("{function}({})", self.expr(expr)?))
    }

    fn function(&self, f: &ScalarFunction) -> Result<String, String> {
        let name = f.func.name();
        let args = &f.args;
        let arg = |i: usize| self.expr(&args[i]);
        let all = || self.list(args);
        let infix = |op: &str| -> Result<String, String> {
            Ok(format!(
                "{} {op} {}",
                self.operand(&args[0])?,
                self.operand(&args[1])?
            ))
        };
        Ok(match (name, args.len()) {
            (
                "kql_contains" | "kql_contains_cs" | "kql_has" | "kql_has_cs" | "kql_startswith"
                | "kql_startswith_cs" | "kql_endswith" | "kql_endswith_cs",
                2,
            ) => infix(&name["kql_".len()..])?,
            ("kql_equals_ci", 2) => infix("=~")?,
            ("kql_in" | "kql_in_ci" | "kql_has_any" | "kql_has_all", n) if n >= 1 => {
                let op = match name {
                    "kql_in" => "in",
                    "kql_in_ci" => "in~",
                    "kql_has_any" => "has_any",
                    _ => "has_all",
                };
                format!(
                    "{} {op} ({})",
                    self.operand(&args[0])?,
                    self.list(&args[1..])?
                )
            }
            ("kql_json_get", n) if n >= 2 => self.path(&args[0], &args[1..])?,
            ("kql_json_text", n) if n >= 2 => {
                format!("tostring({})", self.path(&args[0], &args[1..])?)
            }
            ("kql_to_json", 1) => arg(0)?,
            // The value an `mv-expand` stage expands (the kind is the stage's).
            ("kql_mv_expand_elements", 2) => arg(0)?,
            ("kql_dyn_to_string", 1) => format!("tostring({})", arg(0)?),
            ("kql_dyn_to_long", 1) => format!("tolong({})", arg(0)?),
            ("kql_dyn_to_int", 1) => format!("toint({})", arg(0)?),
            ("kql_dyn_to_double", 1) => format!("todouble({})", arg(0)?),
            ("kql_dyn_to_bool", 1) => format!("tobool({})", arg(0)?),
            ("kql_dyn_to_datetime", 1) => format!("todatetime({})", arg(0)?),
            ("kql_dyn_to_timespan", 1) => format!("totimespan({})", arg(0)?),
            ("kql_json_text_ignore_case", _) => {
                return Err("a JSON path matched ignoring case (SQL's dotted paths)".into());
            }
            (kql, _) if kql.starts_with("kql_") => format!("{}({})", &kql[4..], all()?),
            ("regexp_like", 2) => infix("matches regex")?,
            ("regexp_like", 3) if literal_str(&args[2]).as_deref() == Some("i") => format!(
                "{} matches regex {}",
                self.operand(&args[0])?,
                match literal_str(&args[1]) {
                    Some(r) => string(&format!("(?i){r}")),
                    None => format!("strcat(\"(?i)\", {})", arg(1)?),
                }
            ),
            ("regexp_replace", 4) if literal_str(&args[3]).as_deref() == Some("g") => {
                let rewrite = match literal_str(&args[2]) {
                    Some(r) => string(&literal::rewrite_as_backslashes(&r)),
                    None => return Err("a regex replacement that is not a literal".into()),
                };
                format!("replace_regex({}, {}, {rewrite})", arg(0)?, arg(1)?)
            }
            ("lower", 1) => format!("tolower({})", arg(0)?),
            ("upper", 1) => format!("toupper({})", arg(0)?),
            ("character_length" | "char_length" | "length", 1) => format!("strlen({})", arg(0)?),
            ("concat", _) => format!("strcat({})", all()?),
            // spoor's KQL skips empty strings in coalesce with `nullif(x, "")`, as Kusto does.
            ("coalesce", _) => format!(
                "coalesce({})",
                args.iter()
                    .map(|a| match literal_str(a).as_deref() {
                        // spoor fills the sets of empty groups with JSON text; Kusto's sets
                        // are dynamic (and never null).
                        Some("[]") => Ok("dynamic([])".to_string()),
                        Some("{}") => Ok("dynamic({})".to_string()),
                        _ => self.expr(unwrap_nullif_empty(a)),
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", ")
            ),
            ("replace", 3) => format!("replace_string({})", all()?),
            ("abs" | "floor" | "sqrt" | "exp" | "log10" | "log2" | "pow" | "power", _) => {
                format!("{name}({})", all()?)
            }
            ("ln", 1) => format!("log({})", arg(0)?),
            ("ceil", 1) => format!("ceiling({})", arg(0)?),
            ("round", 1 | 2) => format!("round({})", all()?),
            ("now", 0) => "now()".into(),
            ("to_unixtime", 1) => {
                format!("datetime_diff('second', {}, datetime(1970-01-01))", arg(0)?)
            }
            // SQL's to_timestamp reads numbers as unix seconds and text as a time.
            ("to_timestamp", 1) => match args[0].get_type(self.schema) {
                Ok(t) if t.is_numeric() => {
                    format!("unixtime_seconds_todatetime({})", arg(0)?)
                }
                Ok(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
                    format!("todatetime({})", arg(0)?)
                }
                _ => return Err("to_timestamp() of something other than a number or text".into()),
            },
            ("starts_with", 2) => infix("startswith_cs")?,
            ("ends_with", 2) => infix("endswith_cs")?,
            ("contains", 2) => infix("contains_cs")?,
            ("strpos", 2) => format!("(indexof({}, {}) + 1)", arg(0)?, arg(1)?),
            ("substr", 3) => format!(
                "substring({}, {} - 1, {})",
                arg(0)?,
                self.operand(&args[1])?,
                arg(2)?
            ),
            ("substr", 2) => format!("substring({}, {} - 1)", arg(0)?, self.operand(&args[1])?),
            ("greatest", _) => format!("max_of({})", all()?),
            ("least", _) => format!("min_of({})", all()?),
            ("to_hex", 1) => format!("tohex({})", arg(0)?),
            ("reverse", 1) => format!("reverse({})", arg(0)?),
            (other, _) => return Err(format!("the function {other}() in KQL")),
        })
    }

    /// `json.key[0].key` for a path into a dynamic value.
    fn path(&self, root: &Expr, steps: &[Expr]) -> Result<String, String> {
        let mut out = self.operand(root)?;
        for step in steps {
            match unalias(step) {
                Expr::Literal(ScalarValue::Utf8(Some(k)), _) => {
                    let key = ident(k);
                    if key == *k {
                        out.push('.');
                        out.push_str(k);
                    } else {
                        out.push_str(&format!("[{}]", string(k)));
                    }
                }
                Expr::Literal(v, _) if v.data_type().is_integer() => {
                    out.push_str(&format!("[{v}]"));
                }
                other => out.push_str(&format!("[{}]", self.expr(other)?)),
            }
        }
        Ok(out)
    }
}

fn is_count_star(e: &Expr) -> bool {
    #[allow(deprecated)]
    let wildcard = matches!(e, Expr::Wildcard { .. });
    wildcard || matches!(e, Expr::Literal(v, _) if !v.is_null())
}

/// spoor wraps the arguments of `make_set` and friends in `kql_to_json`; KQL takes the value.
fn unwrap_to_json(e: &Expr) -> &Expr {
    match unalias(e) {
        Expr::ScalarFunction(f) if f.func.name() == "kql_to_json" && f.args.len() == 1 => {
            &f.args[0]
        }
        other => other,
    }
}

/// `CASE WHEN c THEN x END` (no ELSE, or ELSE NULL) as its condition and value.
fn when_then_only(e: &Expr) -> Option<(&Expr, &Expr)> {
    match unalias(e) {
        Expr::Case(Case {
            expr: None,
            when_then_expr,
            else_expr,
        }) if when_then_expr.len() == 1 && else_expr.as_deref().is_none_or(is_null_literal) => {
            let (when, then) = &when_then_expr[0];
            Some((when.as_ref(), then.as_ref()))
        }
        _ => None,
    }
}

fn is_null_literal(e: &Expr) -> bool {
    matches!(unalias(e), Expr::Literal(v, _) if v.is_null())
}

fn unwrap_nullif_empty(e: &Expr) -> &Expr {
    match unalias(e) {
        Expr::ScalarFunction(f)
            if f.func.name() == "nullif"
                && f.args.len() == 2
                && literal_str(&f.args[1]).as_deref() == Some("") =>
        {
            &f.args[0]
        }
        other => other,
    }
}

/// A literal as KQL writes it; typed nulls as `long(null)`, strings' null as `""`.
fn literal_text(v: &ScalarValue) -> Result<String, String> {
    use ScalarValue as V;
    Ok(match v {
        V::Utf8(s) | V::LargeUtf8(s) | V::Utf8View(s) => string(s.as_deref().unwrap_or("")),
        V::Boolean(Some(b)) => b.to_string(),
        V::Int64(Some(n)) => n.to_string(),
        V::Int32(Some(n)) => format!("int({n})"),
        V::Int16(Some(n)) => format!("int({n})"),
        V::Int8(Some(n)) => format!("int({n})"),
        V::UInt8(Some(n)) => format!("int({n})"),
        V::UInt16(Some(n)) => format!("int({n})"),
        V::UInt32(Some(n)) => format!("long({n})"),
        V::UInt64(Some(n)) if i64::try_from(*n).is_ok() => format!("long({n})"),
        V::Float64(Some(f)) => literal::real(*f),
        V::Float32(Some(f)) => literal::real(f64::from(*f)),
        V::TimestampNanosecond(Some(ns), _) => format!("datetime({})", literal::datetime(*ns)),
        V::TimestampMicrosecond(Some(us), _) => {
            format!("datetime({})", literal::datetime(us * 1000))
        }
        V::TimestampMillisecond(Some(ms), _) => {
            format!("datetime({})", literal::datetime(ms * 1_000_000))
        }
        V::TimestampSecond(Some(s), _) => {
            format!("datetime({})", literal::datetime(s * 1_000_000_000))
        }
        V::DurationNanosecond(Some(ns)) => literal::timespan(*ns)?,
        V::IntervalMonthDayNano(Some(i)) if i.months == 0 => {
            literal::timespan(i64::from(i.days) * 86_400_000_000_000 + i.nanoseconds)?
        }
        V::IntervalDayTime(Some(i)) => literal::timespan(
            i64::from(i.days) * 86_400_000_000_000 + i64::from(i.milliseconds) * 1_000_000,
        )?,
        V::Null => "dynamic(null)".into(),
        v if v.is_null() => {
            let ty = match v.data_type() {
                DataType::Boolean => "bool",
                DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "long",
                t if t.is_integer() => "int",
                t if t.is_floating() => "real",
                DataType::Timestamp(..) => "datetime",
                DataType::Duration(_) | DataType::Interval(_) => "timespan",
                other => return Err(format!("a null of type {other}")),
            };
            format!("{ty}(null)")
        }
        other => return Err(format!("the literal {other} ({})", other.data_type())),
    })
}
