//! Splunk SPL. A table is the sourcetype and source that Splunk's add-ons give its events
//! (the table `spoor_spl::sourcetypes` maps, read in the other direction); Windows event ids
//! are `EventCode`, as the Windows add-on names them.
//!
//! A filter right after the source is written as search terms when every part of it is one
//! (`Image="*\\rundll32.exe" EventCode=1`): values ignore case and `*` is the only wildcard, as
//! Splunk's search reads them. Anything else is `| where` with eval functions: `match()` for
//! KQL's string operators (case-insensitive regexes of the escaped value), `like()` for SQL's.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{Case, InList, Like, ScalarFunction};
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, Operator, TryCast};
use spoor_spl::sourcetypes::{SOURCETYPES, Shape};

use crate::literal::{self, regex_escape};
use crate::pipeline::{
    Pipeline, Source, Stage, WINDOW, column_name, computed, literal_str, plain_aggregate,
    text_under_empty_coalesce, unalias,
};

/// The pipeline as SPL text.
pub(crate) fn write(p: &Pipeline) -> Result<String, String> {
    let Source::Table(table) = &p.source else {
        return Err("a union or join (SPL's append and join are not written)".into());
    };
    let st = SOURCETYPES
        .iter()
        .find(|s| s.table == table && s.shape == Shape::Columns)
        .ok_or_else(|| format!("events of {table} (no Splunk sourcetype is mapped to it)"))?;
    let windows = st.host.is_some();
    let mut out = format!(
        "sourcetype={} source={}",
        quote(st.sourcetype),
        quote(st.source)
    );
    let mut stages = p.stages.iter().peekable();
    if let Some((Stage::Where(e), _)) = stages.peek()
        && let Some(terms) = search(e, windows)
    {
        out.push(' ');
        out.push_str(&terms);
        stages.next();
    }
    for (stage, schema) in stages {
        let w = Writer { schema, windows };
        out.push_str("\n| ");
        out.push_str(&w.stage(stage)?);
    }
    Ok(out)
}

/// A string in double quotes, with `\` and `"` escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A field name as the add-on names it.
fn field(name: &str, windows: bool) -> Result<String, String> {
    if windows && name == "EventID" {
        return Ok("EventCode".into());
    }
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !name.is_empty()
    {
        Ok(name.to_string())
    } else {
        Err(format!("the field name {name:?}"))
    }
}

/// The predicate as search terms, when every part of it is one.
fn search(e: &Expr, windows: bool) -> Option<String> {
    match unalias(e) {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => Some(format!(
                "{} {}",
                grouped(left, windows)?,
                grouped(right, windows)?
            )),
            Operator::Or => Some(format!(
                "{} OR {}",
                grouped(left, windows)?,
                grouped(right, windows)?
            )),
            Operator::Eq => {
                let name = field(&search_column(left)?, windows).ok()?;
                match unalias(right) {
                    Expr::Literal(v, _) if v.data_type().is_integer() && !v.is_null() => {
                        Some(format!("{name}={v}"))
                    }
                    _ => None,
                }
            }
            _ => None,
        },
        // Search terms are true or false, never null.
        Expr::Not(x) | Expr::IsNotTrue(x) => Some(format!("NOT {}", grouped(x, windows)?)),
        Expr::IsTrue(x) => search(x, windows),
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) => {
            let name = field(&search_column(expr)?, windows).ok()?;
            let values = list
                .iter()
                .map(|v| match unalias(v) {
                    Expr::Literal(v, _) if v.data_type().is_integer() && !v.is_null() => {
                        Some(v.to_string())
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(format!("{name} IN ({})", values.join(", ")))
        }
        Expr::ScalarFunction(f) if f.args.len() >= 2 => {
            let name = field(&search_column(&f.args[0])?, windows).ok()?;
            let values: Vec<String> = f.args[1..]
                .iter()
                .map(literal_str)
                .collect::<Option<Vec<_>>>()?;
            let one = |pattern: String| Some(format!("{name}={}", quote(&pattern)));
            match (f.func.name(), values.as_slice()) {
                ("kql_contains", [v]) => one(format!("*{}*", wildcard_value(v)?)),
                ("kql_startswith", [v]) => one(format!("{}*", wildcard_value(v)?)),
                ("kql_endswith", [v]) => one(format!("*{}", wildcard_value(v)?)),
                ("kql_equals_ci", [v]) => one(wildcard_value(v)?.to_string()),
                ("kql_in_ci", vs) => {
                    let vs = vs
                        .iter()
                        .map(|v| wildcard_value(v).map(quote))
                        .collect::<Option<Vec<_>>>()?;
                    Some(format!("{name} IN ({})", vs.join(", ")))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A value a search term can hold: not empty, and without `*` (which would be a wildcard).
fn wildcard_value(v: &str) -> Option<&str> {
    (!v.contains('*') && !v.is_empty()).then_some(v)
}

/// A search term, in parentheses when it is an OR or AND of terms.
fn grouped(e: &Expr, windows: bool) -> Option<String> {
    let text = search(e, windows)?;
    Some(match unalias(e) {
        Expr::BinaryExpr(BinaryExpr {
            op: Operator::And | Operator::Or,
            ..
        }) => format!("({text})"),
        _ => text,
    })
}

/// The column a search term tests: a plain column (KQL's string operators read null as "",
/// which is what a search term does with a missing field).
fn search_column(e: &Expr) -> Option<String> {
    match unalias(e) {
        Expr::Cast(Cast { expr, .. }) | Expr::TryCast(TryCast { expr, .. }) => {
            column_name(expr).map(str::to_string)
        }
        // A field inside a JSON field, by its dotted name.
        Expr::ScalarFunction(f) if f.func.name() == "kql_json_text" && f.args.len() >= 2 => {
            let mut path = column_name(&f.args[0])?.to_string();
            for a in &f.args[1..] {
                path.push('.');
                path.push_str(&literal_str(a)?);
            }
            Some(path)
        }
        other => column_name(other).map(str::to_string),
    }
}

struct Writer<'a> {
    schema: &'a DFSchema,
    windows: bool,
}

impl Writer<'_> {
    fn field(&self, name: &str) -> Result<String, String> {
        field(name, self.windows)
    }

    /// A field read in an eval expression: a dotted name in single quotes, as eval reads it.
    fn value_field(&self, name: &str) -> Result<String, String> {
        let f = self.field(name)?;
        Ok(if f.contains('.') { format!("'{f}'") } else { f })
    }

    fn stage(&self, stage: &Stage) -> Result<String, String> {
        Ok(match stage {
            Stage::Where(e) => format!("where {}", self.expr(e)?),
            Stage::Extend(items) => format!("eval {}", self.assignments(items)?),
            Stage::Project(items) => {
                let computed = computed(items);
                let names = items
                    .iter()
                    .map(|(n, _)| self.field(n))
                    .collect::<Result<Vec<_>, _>>()?;
                let table = format!("table {}", names.join(", "));
                if computed.is_empty() {
                    table
                } else {
                    format!("eval {}\n| {table}", self.assignments(&computed)?)
                }
            }
            Stage::Summarize { aggregates, by } => {
                // Computed group keys are made by an eval first: BY takes fields.
                let evals = computed(by);
                let groups = by
                    .iter()
                    .map(|(n, _)| self.field(n))
                    .collect::<Result<Vec<_>, _>>()?;
                let aggs = aggregates
                    .iter()
                    .map(|(n, e)| Ok(format!("{} AS {}", self.aggregate(e)?, self.field(n)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                let mut text = String::new();
                if !evals.is_empty() {
                    text = format!("eval {}\n| ", self.assignments(&evals)?);
                }
                text.push_str(&format!("stats {}", aggs.join(", ")));
                if !groups.is_empty() {
                    text.push_str(&format!(" BY {}", groups.join(", ")));
                }
                text
            }
            Stage::Sort(keys) => {
                let keys = keys
                    .iter()
                    .map(|k| {
                        let name = column_name(&k.expr)
                            .ok_or_else(|| "sorting by an expression".to_string())?;
                        Ok(format!(
                            "{}{}",
                            if k.asc { "+" } else { "-" },
                            self.field(name)?
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                format!("sort 0 {}", keys.join(", "))
            }
            Stage::Take(n) => format!("head {n}"),
            Stage::MvExpand { .. } => return Err("mv-expand (mvexpand is not written)".into()),
            Stage::Window { .. } => return Err(WINDOW.into()),
            Stage::Distinct => {
                return Err("distinct rows (dedup drops events that lack a field)".into());
            }
        })
    }

    fn assignments(&self, items: &[(String, Expr)]) -> Result<String, String> {
        Ok(items
            .iter()
            .map(|(n, e)| Ok(format!("{}={}", self.field(n)?, self.expr(e)?)))
            .collect::<Result<Vec<_>, String>>()?
            .join(", "))
    }

    fn aggregate(&self, e: &Expr) -> Result<String, String> {
        let (name, args, distinct) = plain_aggregate(e)?;
        let arg = |i: usize| -> Result<String, String> {
            let field = args
                .get(i)
                .and_then(column_name)
                .ok_or_else(|| format!("an aggregate over an expression ({e})"))?;
            self.field(field)
        };
        Ok(match (name, distinct) {
            ("count", false) => match args.first().map(unalias) {
                Some(Expr::Literal(v, _)) if !v.is_null() => "count".into(),
                _ => format!("count({})", arg(0)?),
            },
            ("count", true) | ("kql_dcount", false) => format!("dc({})", arg(0)?),
            ("sum" | "min" | "max" | "avg", false) => format!("{name}({})", arg(0)?),
            (other, _) => return Err(format!("the aggregate {other}() in SPL")),
        })
    }

    fn expr(&self, e: &Expr) -> Result<String, String> {
        Ok(match e {
            Expr::Alias(a) => self.expr(&a.expr)?,
            Expr::Column(c) => self.value_field(&c.name)?,
            Expr::Literal(v, _) => literal_text(v)?,
            Expr::BinaryExpr(b) => self.binary(b)?,
            Expr::Not(x) => format!("NOT {}", self.operand(x)?),
            Expr::IsTrue(x) => format!("coalesce({}, false())", self.expr(x)?),
            Expr::IsNotTrue(x) => format!("NOT coalesce({}, false())", self.expr(x)?),
            Expr::IsFalse(x) => format!("NOT coalesce({}, true())", self.expr(x)?),
            Expr::IsNotFalse(x) => format!("coalesce({}, true())", self.expr(x)?),
            Expr::IsNull(x) => format!("isnull({})", self.expr(x)?),
            Expr::IsNotNull(x) => format!("isnotnull({})", self.expr(x)?),
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => {
                let test = format!("in({}, {})", self.expr(expr)?, self.list(list)?);
                if *negated {
                    format!("NOT {test}")
                } else {
                    test
                }
            }
            Expr::Like(like) => self.like(like)?,
            Expr::Case(case) => self.case(case)?,
            Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
                let from = expr.get_type(self.schema).map_err(|e| e.to_string())?;
                let to = field.data_type();
                if from == *to || (from.is_integer() && to.is_integer()) {
                    self.expr(expr)?
                } else if matches!(to, DataType::Utf8 | DataType::LargeUtf8) {
                    format!("tostring({})", self.expr(expr)?)
                } else if to.is_numeric() {
                    format!("tonumber({})", self.expr(expr)?)
                } else {
                    return Err(format!("a cast to {to}"));
                }
            }
            Expr::ScalarFunction(f) => self.function(f)?,
            other => return Err(format!("the expression {other}")),
        })
    }

    fn operand(&self, e: &Expr) -> Result<String, String> {
        let text = self.expr(e)?;
        Ok(match unalias(e) {
            Expr::Column(_) | Expr::Literal(..) | Expr::ScalarFunction(_) => text,
            Expr::IsNull(_) | Expr::IsNotNull(_) | Expr::Case(_) | Expr::Like(_) => text,
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
            Operator::And => "AND",
            Operator::Or => "OR",
            Operator::StringConcat => ".",
            Operator::RegexMatch => return Ok(format!("match({l}, {r})")),
            other => return Err(format!("the operator {other}")),
        };
        Ok(format!("{l} {op} {r}"))
    }

    fn like(&self, like: &Like) -> Result<String, String> {
        let pattern = literal_str(&like.pattern)
            .ok_or_else(|| "LIKE with a pattern that is not a literal".to_string())?;
        let regex = literal::like_to_regex(&pattern, like.escape_char, like.case_insensitive);
        let test = format!("match({}, {})", self.expr(&like.expr)?, quote(&regex));
        Ok(if like.negated {
            format!("NOT {test}")
        } else {
            test
        })
    }

    fn case(&self, case: &Case) -> Result<String, String> {
        let mut parts = Vec::new();
        for (when, then) in &case.when_then_expr {
            parts.push(match &case.expr {
                Some(base) => format!("{} == {}", self.operand(base)?, self.operand(when)?),
                None => self.expr(when)?,
            });
            parts.push(self.expr(then)?);
        }
        if let Some(e) = &case.else_expr {
            parts.push("true()".into());
            parts.push(self.expr(e)?);
        }
        Ok(format!("case({})", parts.join(", ")))
    }

    /// A regex test of a text, where a missing text is "".
    fn matches(&self, text: &Expr, regex: String) -> Result<String, String> {
        // Splunk's eval functions give null for a missing field, and NOT null drops the event;
        // KQL reads a missing text as "", so `not(x contains "a")` keeps it.
        Ok(format!(
            "match(coalesce({}, \"\"), {})",
            self.expr(text)?,
            quote(&regex)
        ))
    }

    fn function(&self, f: &ScalarFunction) -> Result<String, String> {
        let name = f.func.name();
        let args = &f.args;
        let value = |i: usize| {
            literal_str(&args[i])
                .ok_or_else(|| format!("{name}() with a value that is not a literal string"))
        };
        let term = |ci: bool, pre: &str, post: &str| -> Result<String, String> {
            let v = regex_escape(&value(1)?);
            self.matches(
                &args[0],
                format!("{}{pre}{v}{post}", if ci { "(?i)" } else { "" }),
            )
        };
        Ok(match (name, args.len()) {
            ("kql_contains", 2) => term(true, "", "")?,
            ("kql_contains_cs", 2) => term(false, "", "")?,
            ("kql_startswith", 2) => term(true, "^", "")?,
            ("kql_startswith_cs", 2) => term(false, "^", "")?,
            ("kql_endswith", 2) => term(true, "", "$")?,
            ("kql_endswith_cs", 2) => term(false, "", "$")?,
            ("kql_equals_ci", 2) => term(true, "^", "$")?,
            ("kql_has" | "kql_has_cs", 2) => {
                self.matches(&args[0], literal::has_regex(&value(1)?, name == "kql_has"))?
            }
            ("kql_in_ci", n) if n >= 2 => {
                let values = (1..n)
                    .map(|i| value(i).map(|v| regex_escape(&v)))
                    .collect::<Result<Vec<_>, _>>()?;
                self.matches(&args[0], format!("(?i)^({})$", values.join("|")))?
            }
            ("kql_in", n) if n >= 2 => format!("in({})", self.list(args)?),
            // A field inside a JSON field: the add-on's dotted name (`userIdentity.arn`).
            ("kql_json_text" | "kql_json_text_ignore_case", n) if n >= 2 => {
                let column = column_name(&args[0])
                    .ok_or_else(|| "a JSON path into an expression".to_string())?;
                let mut path = self.field(column)?;
                for i in 1..n {
                    path.push('.');
                    path.push_str(&value(i)?);
                }
                self.value_field(&path)?
            }
            ("regexp_like", 2) => self.matches(text_under_empty_coalesce(&args[0]), value(1)?)?,
            ("lower" | "upper" | "abs" | "round" | "coalesce" | "ln" | "exp" | "sqrt", _) => {
                format!("{name}({})", self.list(args)?)
            }
            ("character_length" | "char_length" | "length", 1) => {
                format!("len({})", self.expr(&args[0])?)
            }
            ("floor" | "ceil", 1) => format!("{name}({})", self.expr(&args[0])?),
            (other, _) => return Err(format!("the function {other}() in SPL")),
        })
    }
}

fn literal_text(v: &ScalarValue) -> Result<String, String> {
    use ScalarValue as V;
    Ok(match v {
        V::Utf8(Some(s)) | V::LargeUtf8(Some(s)) | V::Utf8View(Some(s)) => quote(s),
        V::Boolean(Some(b)) => format!("{b}()"),
        v if v.is_null() => "null()".into(),
        v if v.data_type().is_integer() => v.to_string(),
        V::Float64(Some(f)) => format!("{f:?}"),
        other => return Err(format!("the literal {other} in SPL")),
    })
}
