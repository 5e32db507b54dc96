//! Sumo Logic. A table is the `_sourceCategory` its Windows Event Log Source is given by
//! convention (the first name `spoor_sumo::sources` knows it by: `OS/Windows/Sysmon`,
//! `OS/Windows/Security`); fields are the event's own names.
//!
//! `matches` must match the whole value and is case-sensitive
//! (https://www.sumologic.com/help/docs/search/search-query-language/search-operators/matches/),
//! so KQL's string operators are whole-value regular expressions: `contains "x"` is
//! `matches /(?is).*x.*/`. A condition on a missing field is false in Sumo, and `!` of it true,
//! as KQL reads a missing text as "".

use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{InList, ScalarFunction};
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, Operator, TryCast};
use spoor_sumo::sources::TABLES;

use crate::literal::regex_escape;
use crate::pipeline::{
    Pipeline, Source, Stage, WINDOW, column_name, computed, plain_aggregate, unalias,
};

/// The pipeline as a Sumo Logic query.
pub(crate) fn write(p: &Pipeline) -> Result<String, String> {
    let Source::Table(table) = &p.source else {
        return Err("a union or join".into());
    };
    let scope = TABLES
        .iter()
        .find(|t| t.table == table && !t.event_data_bag)
        .ok_or_else(|| {
            format!("events of {table} (no Sumo Logic source category is mapped to it)")
        })?;
    let mut lines = vec![format!("_sourceCategory={}", scope.categories[0])];
    for (stage, _) in &p.stages {
        lines.push(stage_text(stage)?);
    }
    Ok(lines.join("\n| "))
}

fn name(n: &str) -> Result<String, String> {
    if n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !n.is_empty() {
        Ok(n.to_string())
    } else {
        Err(format!("the field name {n:?}"))
    }
}

fn stage_text(stage: &Stage) -> Result<String, String> {
    Ok(match stage {
        Stage::Where(e) => format!("where {}", expr(e)?),
        Stage::Extend(items) => assignments(items)?,
        Stage::Project(items) => {
            let computed = computed(items);
            let names = items
                .iter()
                .map(|(n, _)| name(n))
                .collect::<Result<Vec<_>, _>>()?;
            let fields = format!("fields {}", names.join(", "));
            if computed.is_empty() {
                fields
            } else {
                format!("{}\n| {fields}", assignments(&computed)?)
            }
        }
        Stage::Summarize { aggregates, by } => {
            let aggs = aggregates
                .iter()
                .map(|(n, e)| Ok(format!("{} as {}", aggregate(e)?, name(n)?)))
                .collect::<Result<Vec<_>, String>>()?;
            let groups = by
                .iter()
                .map(|(n, e)| match column_name(e) {
                    Some(c) if c == n => name(n),
                    _ => Err("grouping by an expression".to_string()),
                })
                .collect::<Result<Vec<_>, String>>()?;
            let mut text = aggs.join(", ");
            if !groups.is_empty() {
                text.push_str(&format!(" by {}", groups.join(", ")));
            }
            text
        }
        Stage::Sort(keys) => {
            let keys = keys
                .iter()
                .map(|k| {
                    let n = column_name(&k.expr)
                        .ok_or_else(|| "sorting by an expression".to_string())?;
                    Ok(format!(
                        "{} {}",
                        name(n)?,
                        if k.asc { "asc" } else { "desc" }
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?;
            format!("sort by {}", keys.join(", "))
        }
        Stage::Take(n) => format!("limit {n}"),
        Stage::Distinct => return Err("distinct rows".into()),
        Stage::MvExpand { .. } => return Err("mv-expand".into()),
        Stage::Window { .. } => return Err(WINDOW.into()),
    })
}

fn assignments(items: &[(String, Expr)]) -> Result<String, String> {
    Ok(items
        .iter()
        .map(|(n, e)| Ok(format!("eval {} = {}", name(n)?, expr(e)?)))
        .collect::<Result<Vec<_>, String>>()?
        .join("\n| "))
}

fn aggregate(e: &Expr) -> Result<String, String> {
    let (function, args, distinct) = plain_aggregate(e)?;
    let arg = || -> Result<String, String> {
        args.first()
            .and_then(column_name)
            .ok_or_else(|| format!("an aggregate over an expression ({e})"))
            .and_then(name)
    };
    Ok(match (function, distinct) {
        ("count", false) => match args.first().map(unalias) {
            Some(Expr::Literal(v, _)) if !v.is_null() => "count".into(),
            _ => return Err("count of a field (Sumo counts messages)".into()),
        },
        ("count", true) | ("kql_dcount", false) => format!("count_distinct({})", arg()?),
        ("sum" | "min" | "max" | "avg", false) => format!("{function}({})", arg()?),
        (other, _) => return Err(format!("the aggregate {other}() in Sumo Logic")),
    })
}

fn expr(e: &Expr) -> Result<String, String> {
    Ok(match e {
        Expr::Alias(a) => expr(&a.expr)?,
        Expr::Column(c) => name(&c.name)?,
        Expr::Literal(v, _) => literal_text(v)?,
        Expr::BinaryExpr(b) => binary(b)?,
        Expr::Not(x) | Expr::IsNotTrue(x) => format!("!{}", operand(x)?),
        Expr::IsTrue(x) => expr(x)?,
        Expr::IsNull(x) => format!("isNull({})", expr(x)?),
        Expr::IsNotNull(x) => format!("!isNull({})", expr(x)?),
        Expr::InList(InList {
            expr: x,
            list,
            negated,
        }) => {
            let items = list.iter().map(expr).collect::<Result<Vec<_>, _>>()?;
            let test = format!("{} in ({})", operand(x)?, items.join(", "));
            if *negated { format!("!({test})") } else { test }
        }
        Expr::Cast(Cast { expr: x, field }) | Expr::TryCast(TryCast { expr: x, field })
            if field.data_type().is_integer() =>
        {
            // Sumo reads text as a number where a number is needed.
            expr(x)?
        }
        Expr::ScalarFunction(f) => function(f)?,
        other => return Err(format!("the expression {other}")),
    })
}

fn operand(e: &Expr) -> Result<String, String> {
    let text = expr(e)?;
    Ok(match unalias(e) {
        Expr::Column(_) | Expr::Literal(..) => text,
        Expr::Cast(_) | Expr::TryCast(_) if !text.contains(' ') => text,
        Expr::ScalarFunction(_) if !text.contains(' ') => text,
        _ => format!("({text})"),
    })
}

fn binary(b: &BinaryExpr) -> Result<String, String> {
    let (l, r) = (operand(&b.left)?, operand(&b.right)?);
    let op = match b.op {
        Operator::Eq => "=",
        Operator::NotEq => "!=",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        Operator::GtEq => ">=",
        Operator::Plus => "+",
        Operator::Minus => "-",
        Operator::Multiply => "*",
        Operator::Divide => "/",
        Operator::And => "and",
        Operator::Or => "or",
        other => return Err(format!("the operator {other}")),
    };
    Ok(format!("{l} {op} {r}"))
}

fn function(f: &ScalarFunction) -> Result<String, String> {
    let fname = f.func.name();
    let args = &f.args;
    let value = |i: usize| {
        match unalias(&args[i]) {
            Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_string),
            _ => None,
        }
        .ok_or_else(|| format!("{fname}() with a value that is not a literal string"))
    };
    // A whole-value regular expression.
    let matches = |flags: &str, pre: &str, post: &str| -> Result<String, String> {
        Ok(format!(
            "{} matches /{flags}{pre}{}{post}/",
            operand(&args[0])?,
            regex_escape(&value(1)?).replace('/', "\\/")
        ))
    };
    Ok(match (fname, args.len()) {
        ("kql_contains", 2) => matches("(?is)", ".*", ".*")?,
        ("kql_contains_cs", 2) => matches("(?s)", ".*", ".*")?,
        ("kql_startswith", 2) => matches("(?is)", "", ".*")?,
        ("kql_startswith_cs", 2) => matches("(?s)", "", ".*")?,
        ("kql_endswith", 2) => matches("(?is)", ".*", "")?,
        ("kql_endswith_cs", 2) => matches("(?s)", ".*", "")?,
        ("kql_equals_ci", 2) => matches("(?i)", "", "")?,
        ("kql_in_ci", n) if n >= 2 => {
            let values = (1..n)
                .map(|i| value(i).map(|v| regex_escape(&v).replace('/', "\\/")))
                .collect::<Result<Vec<_>, _>>()?;
            format!(
                "{} matches /(?i)({})/",
                operand(&args[0])?,
                values.join("|")
            )
        }
        ("kql_in", n) if n >= 2 => {
            let items = args[1..].iter().map(expr).collect::<Result<Vec<_>, _>>()?;
            format!("{} in ({})", operand(&args[0])?, items.join(", "))
        }
        ("lower", 1) => format!("toLowerCase({})", expr(&args[0])?),
        ("upper", 1) => format!("toUpperCase({})", expr(&args[0])?),
        (other, _) => return Err(format!("the function {other}() in Sumo Logic")),
    })
}

fn literal_text(v: &ScalarValue) -> Result<String, String> {
    use ScalarValue as V;
    Ok(match v {
        V::Utf8(Some(s)) | V::LargeUtf8(Some(s)) | V::Utf8View(Some(s)) => {
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        }
        v if !v.is_null() && v.data_type().is_integer() => v.to_string(),
        V::Float64(Some(f)) => format!("{f:?}"),
        V::Boolean(Some(b)) => b.to_string(),
        other => return Err(format!("the literal {other} in Sumo Logic")),
    })
}
