//! Amazon Athena (Trino/Presto SQL) over Athena's tables for AWS logs: CloudTrail's table
//! (`eventname`, `useridentity.arn`; https://docs.aws.amazon.com/athena/latest/ug/cloudtrail-logs.html)
//! and the VPC flow log table (`sourceaddress`, `starttime` in unix seconds;
//! https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs.html). Other tables keep spoor's
//! names (a lake of spoor's Parquet files read by Athena).
//!
//! Each stage of the pipeline narrows one SELECT; a stage that cannot join the SELECT before it
//! (a filter after a GROUP BY, a projection after a LIMIT) reads it as a subquery. Athena's
//! CloudTrail table keeps `eventtime` as ISO 8601 text, read with `from_iso8601_timestamp`;
//! KQL's string operators are `strpos`/`regexp_like` on `lower()` text.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{AggregateFunction, Case, InList, Like, ScalarFunction};
use datafusion::logical_expr::{Between, BinaryExpr, Cast, Expr, Operator, TryCast};

use crate::literal::{self, regex_escape};
use crate::pipeline::{JoinKind, Pipeline, Source, Stage, column_name, literal_str, unalias};

/// One SELECT being built.
#[derive(Default)]
struct Select {
    distinct: bool,
    /// (expression, name); empty: `*`.
    columns: Vec<(String, String)>,
    from: String,
    filters: Vec<String>,
    group_by: usize,
    order_by: Vec<String>,
    limit: Option<usize>,
}

impl Select {
    fn from(from: String) -> Select {
        Select {
            from,
            ..Default::default()
        }
    }

    fn text(&self) -> String {
        let columns = if self.columns.is_empty() {
            "*".to_string()
        } else {
            self.columns
                .iter()
                .map(|(e, n)| {
                    if *e == ident(n) || e == "*" {
                        e.clone()
                    } else {
                        format!("{e} AS {}", ident(n))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "SELECT {}{columns}\nFROM {}",
            if self.distinct { "DISTINCT " } else { "" },
            self.from
        );
        if !self.filters.is_empty() {
            out.push_str(&format!("\nWHERE {}", self.filters.join("\n  AND ")));
        }
        if self.group_by > 0 {
            let positions: Vec<String> = (1..=self.group_by).map(|i| i.to_string()).collect();
            out.push_str(&format!("\nGROUP BY {}", positions.join(", ")));
        }
        if !self.order_by.is_empty() {
            out.push_str(&format!("\nORDER BY {}", self.order_by.join(", ")));
        }
        if let Some(n) = self.limit {
            out.push_str(&format!("\nLIMIT {n}"));
        }
        out
    }

    /// Whether a stage that reads this SELECT's rows needs it as a subquery.
    fn closed(&self) -> bool {
        !self.columns.is_empty()
            || self.group_by > 0
            || self.distinct
            || !self.order_by.is_empty()
            || self.limit.is_some()
    }

    fn wrapped(self) -> Select {
        Select::from(format!("(\n{}\n)", indent(&self.text())))
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A name as Athena reads it: bare when it is a lowercase identifier, else in double quotes.
fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain
        && !matches!(
            name,
            "end"
                | "start"
                | "select"
                | "from"
                | "where"
                | "group"
                | "order"
                | "by"
                | "limit"
                | "type"
                | "action"
        )
    {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The pipeline as one Athena query.
pub(crate) fn write(p: &Pipeline) -> Result<String, String> {
    Ok(select(p)?.text())
}

fn select(p: &Pipeline) -> Result<Select, String> {
    select_rows(p).map(|(q, _, _)| q)
}

/// The pipeline as a SELECT, with the table it reads and whether its rows are still that
/// table's own (so that its names are the table's columns).
fn select_rows(p: &Pipeline) -> Result<(Select, Option<String>, bool), String> {
    // The columns of the rows so far; None: the table's own (`*`) and `added`.
    let mut columns: Option<Vec<String>> = None;
    let (mut q, table) = match &p.source {
        Source::Table(t) => (
            Select::from(ident(&t.to_ascii_lowercase())),
            Some(t.clone()),
        ),
        Source::Union(branches) => {
            let parts = branches
                .iter()
                .map(|b| select(b).map(|s| s.text()))
                .collect::<Result<Vec<_>, _>>()?;
            (
                Select::from(format!("(\n{}\n)", indent(&parts.join("\nUNION ALL\n")))),
                None,
            )
        }
        Source::Join {
            left,
            right,
            kind,
            on,
        } => {
            let (q, names) = join(left, right, *kind, on)?;
            columns = Some(names);
            (q, None)
        }
    };
    let mut raw: Vec<String> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    for (stage, schema) in &p.stages {
        let w = Writer {
            table: table.as_deref(),
            own: columns.is_none(),
            raw: &raw,
            schema,
        };
        // Window functions are columns added to each row, each with its own OVER clause.
        let window_as_extend;
        let stage = match stage {
            Stage::Window { items, .. } => {
                window_as_extend = Stage::Extend(items.clone());
                &window_as_extend
            }
            other => other,
        };
        match stage {
            Stage::Where(e) => {
                if q.closed() {
                    q = q.wrapped();
                }
                q.filters.push(w.expr(e)?);
            }
            Stage::Extend(items) | Stage::Project(items) => {
                if q.closed() {
                    q = q.wrapped();
                }
                let mut out: Vec<(String, String)> = Vec::new();
                if matches!(stage, Stage::Extend(_)) {
                    match &columns {
                        Some(cols) => {
                            for c in cols {
                                let replaced = items.iter().find(|(n, _)| n == c);
                                out.push(match replaced {
                                    Some((n, e)) => (w.expr(e)?, n.clone()),
                                    None => (ident(c), c.clone()),
                                });
                            }
                        }
                        None => {
                            // `*` and the new columns: a column already there cannot be
                            // replaced without listing the table's.
                            if let Some((n, _)) = items
                                .iter()
                                .find(|(n, _)| table_has(&table, n) || added.contains(n))
                            {
                                return Err(format!("replacing the column {n} in place"));
                            }
                            out.push(("*".into(), "*".into()));
                            added.extend(items.iter().map(|(n, _)| n.clone()));
                        }
                    }
                    for (n, e) in items {
                        if !out.iter().any(|(_, on)| on == n) {
                            out.push((w.expr(e)?, n.clone()));
                        }
                    }
                    if columns.is_none() {
                        q.columns = out;
                        continue;
                    }
                } else {
                    for (n, e) in items {
                        out.push((w.expr(e)?, n.clone()));
                    }
                }
                raw = passed_through(stage, columns.is_none(), &raw);
                columns = Some(p_columns_after(&columns, stage));
                q.columns = out;
            }
            Stage::Summarize { aggregates, by } => {
                if q.closed() {
                    q = q.wrapped();
                }
                let mut out = Vec::new();
                for (n, e) in by {
                    out.push((w.expr(e)?, n.clone()));
                }
                for (n, e) in aggregates {
                    out.push((w.aggregate(e)?, n.clone()));
                }
                q.group_by = by.len();
                if by.is_empty() && aggregates.is_empty() {
                    return Err("a summarize of nothing".into());
                }
                q.columns = out;
                raw = passed_through(stage, columns.is_none(), &raw);
                columns = Some(p_columns_after(&columns, stage));
            }
            Stage::Sort(keys) => {
                if q.limit.is_some() || !q.order_by.is_empty() {
                    q = q.wrapped();
                }
                q.order_by = keys
                    .iter()
                    .map(|k| {
                        let e = match column_name(&k.expr) {
                            // An output column by its name.
                            Some(n)
                                if columns.as_ref().map_or(added.iter().any(|c| c == n), |c| {
                                    c.iter().any(|c| c == n)
                                }) =>
                            {
                                ident(n)
                            }
                            _ => w.expr(&k.expr)?,
                        };
                        Ok(format!(
                            "{e} {} NULLS {}",
                            if k.asc { "ASC" } else { "DESC" },
                            if k.nulls_first { "FIRST" } else { "LAST" }
                        ))
                    })
                    .collect::<Result<_, String>>()?;
            }
            Stage::Take(n) => {
                q.limit = Some(q.limit.map_or(*n, |l| l.min(*n)));
            }
            Stage::Distinct => {
                if q.group_by > 0 || !q.order_by.is_empty() || q.limit.is_some() {
                    q = q.wrapped();
                }
                q.distinct = true;
            }
            Stage::MvExpand { .. } => {
                return Err("mv-expand (CROSS JOIN UNNEST is not written)".into());
            }
            Stage::Window { .. } => unreachable!("written as an extend above"),
        }
    }
    let own = columns.is_none();
    Ok((q, table, own))
}

/// Each side as a subquery naming its columns, joined; the output columns as Kusto names
/// them (a right column whose name the left has takes the suffix `1`; semi and anti joins
/// keep one side's).
fn join(
    left: &Pipeline,
    right: &Pipeline,
    kind: JoinKind,
    on: &[(String, String)],
) -> Result<(Select, Vec<String>), String> {
    let side = |b: &Pipeline| -> Result<String, String> {
        let (mut q, table, own) = select_rows(b)?;
        if q.columns.is_empty() {
            let empty = datafusion::common::DFSchema::empty();
            let w = Writer {
                table: table.as_deref(),
                own,
                raw: &[],
                schema: &empty,
            };
            if !own && q.closed() {
                q = q.wrapped();
            }
            q.columns = b.columns.iter().map(|c| (w.column(c), c.clone())).collect();
        }
        Ok(indent(&q.text()))
    };
    let (l, r) = (side(left)?, side(right)?);
    let condition = on
        .iter()
        .map(|(a, b)| format!("l.{} = r.{}", ident(a), ident(b)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let from_l = |c: &String| (format!("l.{}", ident(c)), c.clone());
    let from_r = |c: &String| (format!("r.{}", ident(c)), c.clone());
    let exists = |negated: bool, outer: &str, inner: &str, alias: &str| Select {
        filters: vec![format!(
            "{}EXISTS (\n  SELECT 1\n  FROM (\n{}\n  ) {alias}\n  WHERE {condition}\n)",
            if negated { "NOT " } else { "" },
            indent(inner)
        )],
        ..Select::from(format!(
            "(\n{outer}\n) {}",
            if alias == "r" { "l" } else { "r" }
        ))
    };
    let (mut q, columns): (Select, Vec<(String, String)>) = match kind {
        JoinKind::LeftSemi | JoinKind::LeftAnti => (
            exists(kind == JoinKind::LeftAnti, &l, &r, "r"),
            left.columns.iter().map(from_l).collect(),
        ),
        JoinKind::RightSemi | JoinKind::RightAnti => (
            exists(kind == JoinKind::RightAnti, &r, &l, "l"),
            right.columns.iter().map(from_r).collect(),
        ),
        JoinKind::Inner | JoinKind::LeftOuter | JoinKind::RightOuter | JoinKind::FullOuter => {
            let how = match kind {
                JoinKind::Inner => "JOIN",
                JoinKind::LeftOuter => "LEFT JOIN",
                JoinKind::RightOuter => "RIGHT JOIN",
                _ => "FULL JOIN",
            };
            let mut columns: Vec<(String, String)> = left.columns.iter().map(from_l).collect();
            for c in &right.columns {
                let (e, mut name) = from_r(c);
                if left.columns.contains(c) {
                    name.push('1');
                }
                columns.push((e, name));
            }
            (
                Select::from(format!("(\n{l}\n) l\n{how} (\n{r}\n) r ON {condition}")),
                columns,
            )
        }
    };
    let names = columns.iter().map(|(_, n)| n.clone()).collect();
    q.columns = columns;
    Ok((q, names))
}

/// Whether the platform table has a column (case-insensitively, as Athena reads names).
fn table_has(table: &Option<String>, name: &str) -> bool {
    table
        .as_deref()
        .and_then(|t| spoor_catalog::catalog().table(t))
        .is_some_and(|d| d.columns.iter().any(|c| c.name.eq_ignore_ascii_case(name)))
}

/// The output columns of a projection or summarize that pass a table column through under
/// its own name: read from the table (`own`) or already such a column (`raw`).
fn passed_through(stage: &Stage, own: bool, raw: &[String]) -> Vec<String> {
    let items: Vec<&(String, Expr)> = match stage {
        Stage::Extend(items) | Stage::Project(items) => items.iter().collect(),
        Stage::Summarize { by, .. } => by.iter().collect(),
        _ => return raw.to_vec(),
    };
    let mut out: Vec<String> = items
        .iter()
        .filter(|(n, e)| column_name(e) == Some(n.as_str()) && (own || raw.contains(n)))
        .map(|(n, _)| n.clone())
        .collect();
    if matches!(stage, Stage::Extend(_)) {
        out.extend(
            raw.iter()
                .filter(|r| !items.iter().any(|(n, _)| n == *r))
                .cloned(),
        );
    }
    out
}

fn p_columns_after(before: &Option<Vec<String>>, stage: &Stage) -> Vec<String> {
    match stage {
        Stage::Extend(items) => {
            let mut cols = before.clone().unwrap_or_default();
            for (n, _) in items {
                if !cols.contains(n) {
                    cols.push(n.clone());
                }
            }
            cols
        }
        Stage::Project(items) => items.iter().map(|(n, _)| n.clone()).collect(),
        Stage::Summarize { aggregates, by } => by
            .iter()
            .chain(aggregates.iter())
            .map(|(n, _)| n.clone())
            .collect(),
        _ => before.clone().unwrap_or_default(),
    }
}

struct Writer<'a> {
    /// The table the pipeline reads, when it reads one.
    table: Option<&'a str>,
    /// Whether the rows are still the table's own (its names are its columns, `eventTime` is
    /// from_iso8601_timestamp(eventtime)); after a projection a name is an output column.
    own: bool,
    /// Output columns that are a table column passed through under its own name (the
    /// identity struct stays a struct).
    raw: &'a [String],
    /// The schema of the stage's input.
    schema: &'a datafusion::common::DFSchema,
}

impl Writer<'_> {
    fn column(&self, name: &str) -> String {
        if !self.own {
            return ident(name);
        }
        match (self.table, name) {
            // Athena's CloudTrail table keeps the event time as ISO 8601 text.
            (Some("cloudtrail"), "eventTime") => "from_iso8601_timestamp(eventtime)".into(),
            (Some("cloudtrail" | "vpc_flow_logs"), n)
                if table_has(&self.table.map(str::to_string), n) =>
            {
                n.to_ascii_lowercase()
            }
            _ => ident(name),
        }
    }

    fn aggregate(&self, e: &Expr) -> Result<String, String> {
        let Expr::AggregateFunction(AggregateFunction { func, params }) = unalias(e) else {
            return Err(format!("the aggregate {e}"));
        };
        if !params.order_by.is_empty() {
            return Err(format!("an ordered aggregate ({e})"));
        }
        let args = params
            .args
            .iter()
            .map(|a| match unalias(a) {
                Expr::Literal(v, _) if func.name() == "count" && !v.is_null() => Ok("*".into()),
                a => self.expr(a),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let distinct = if params.distinct { "DISTINCT " } else { "" };
        let name = match func.name() {
            "count" | "sum" | "min" | "max" | "avg" => func.name(),
            "kql_dcount" => {
                return Ok(format!("count(DISTINCT {})", args.join(", ")));
            }
            "approx_distinct" => "approx_distinct",
            "stddev" => "stddev",
            other => return Err(format!("the aggregate {other}() in Athena")),
        };
        let mut text = format!("{name}({distinct}{})", args.join(", "));
        if let Some(f) = &params.filter {
            text.push_str(&format!(" FILTER (WHERE {})", self.expr(f)?));
        }
        Ok(text)
    }

    /// lag, lead and row_number over the rows' order, as Trino writes them.
    fn window_function(
        &self,
        f: &datafusion::logical_expr::expr::WindowFunction,
    ) -> Result<String, String> {
        let name = f.fun.name();
        if !matches!(name, "lag" | "lead" | "row_number") {
            return Err(format!("the window function {name}() in Athena"));
        }
        let args = f
            .params
            .args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>, String>>()?;
        let order = f
            .params
            .order_by
            .iter()
            .map(|k| {
                Ok(format!(
                    "{} {} NULLS {}",
                    self.expr(&k.expr)?,
                    if k.asc { "ASC" } else { "DESC" },
                    if k.nulls_first { "FIRST" } else { "LAST" }
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(format!(
            "{name}({}) OVER (ORDER BY {})",
            args.join(", "),
            order.join(", ")
        ))
    }

    fn expr(&self, e: &Expr) -> Result<String, String> {
        Ok(match e {
            Expr::Alias(a) => self.expr(&a.expr)?,
            Expr::Column(c) => self.column(&c.name),
            Expr::Literal(v, _) => literal_text(v)?,
            Expr::BinaryExpr(b) => self.binary(b)?,
            Expr::WindowFunction(f) => self.window_function(f)?,
            Expr::Not(x) => format!("NOT {}", self.operand(x)?),
            Expr::IsNull(x) => format!("{} IS NULL", self.operand(x)?),
            Expr::IsNotNull(x) => format!("{} IS NOT NULL", self.operand(x)?),
            Expr::IsTrue(x) => format!("{} IS TRUE", self.operand(x)?),
            Expr::IsNotTrue(x) => format!("{} IS NOT TRUE", self.operand(x)?),
            Expr::IsFalse(x) => format!("{} IS FALSE", self.operand(x)?),
            Expr::IsNotFalse(x) => format!("{} IS NOT FALSE", self.operand(x)?),
            Expr::Negative(x) => format!("-{}", self.operand(x)?),
            Expr::Between(Between {
                expr,
                negated,
                low,
                high,
            }) => format!(
                "{} {}BETWEEN {} AND {}",
                self.operand(expr)?,
                if *negated { "NOT " } else { "" },
                self.operand(low)?,
                self.operand(high)?
            ),
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => format!(
                "{} {}IN ({})",
                self.operand(expr)?,
                if *negated { "NOT " } else { "" },
                self.list(list)?
            ),
            Expr::Like(Like {
                negated,
                expr,
                pattern,
                escape_char,
                case_insensitive,
            }) => {
                let text = if *case_insensitive {
                    format!("lower({})", self.expr(expr)?)
                } else {
                    self.operand(expr)?
                };
                let pattern = literal_str(pattern)
                    .ok_or_else(|| "LIKE with a pattern that is not a literal".to_string())?;
                let pattern = if *case_insensitive {
                    pattern.to_lowercase()
                } else {
                    pattern
                };
                let escape = escape_char.unwrap_or('\\');
                format!(
                    "{text} {}LIKE {} ESCAPE {}",
                    if *negated { "NOT " } else { "" },
                    string(&pattern),
                    string(&escape.to_string())
                )
            }
            Expr::Case(Case {
                expr,
                when_then_expr,
                else_expr,
            }) => {
                let mut out = String::from("CASE");
                if let Some(base) = expr {
                    out.push_str(&format!(" {}", self.expr(base)?));
                }
                for (w, t) in when_then_expr {
                    out.push_str(&format!(" WHEN {} THEN {}", self.expr(w)?, self.expr(t)?));
                }
                if let Some(e) = else_expr {
                    out.push_str(&format!(" ELSE {}", self.expr(e)?));
                }
                out.push_str(" END");
                out
            }
            Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field })
                if field.data_type().is_integer()
                    && datafusion::logical_expr::ExprSchemable::get_type(
                        expr.as_ref(),
                        self.schema,
                    )
                    .is_ok_and(|from| {
                        from.is_integer() && literal::widens(&from, field.data_type())
                    }) =>
            {
                // A widening of integers, which Trino does where it needs to.
                self.expr(expr)?
            }
            Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
                let ty = match field.data_type() {
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar",
                    DataType::Int64 => "bigint",
                    DataType::Int32 => "integer",
                    DataType::Float64 => "double",
                    DataType::Boolean => "boolean",
                    DataType::Timestamp(..) => "timestamp",
                    other => return Err(format!("a cast to {other}")),
                };
                let function = if matches!(e, Expr::TryCast(_)) {
                    "try_cast"
                } else {
                    "CAST"
                };
                format!("{function}({} AS {ty})", self.expr(expr)?)
            }
            Expr::ScalarFunction(f) => self.function(f)?,
            Expr::AggregateFunction(_) => self.aggregate(e)?,
            other => return Err(format!("the expression {other}")),
        })
    }

    fn operand(&self, e: &Expr) -> Result<String, String> {
        let text = self.expr(e)?;
        Ok(match unalias(e) {
            Expr::Column(_) | Expr::Literal(..) | Expr::ScalarFunction(_) | Expr::Cast(_) => text,
            Expr::TryCast(_) | Expr::Case(_) => text,
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
        let op = match b.op {
            Operator::Eq => "=",
            Operator::NotEq => "<>",
            Operator::Lt => "<",
            Operator::LtEq => "<=",
            Operator::Gt => ">",
            Operator::GtEq => ">=",
            Operator::Plus => "+",
            Operator::Minus => "-",
            Operator::Multiply => "*",
            Operator::Divide => "/",
            Operator::Modulo => "%",
            Operator::And => "AND",
            Operator::Or => "OR",
            Operator::StringConcat => "||",
            Operator::RegexMatch => return Ok(format!("regexp_like({l}, {r})")),
            other => return Err(format!("the operator {other}")),
        };
        Ok(format!("{l} {op} {r}"))
    }

    fn function(&self, f: &ScalarFunction) -> Result<String, String> {
        let name = f.func.name();
        let args = &f.args;
        let arg = |i: usize| self.expr(&args[i]);
        let value = |i: usize| {
            literal_str(&args[i])
                .ok_or_else(|| format!("{name}() with a value that is not a literal string"))
        };
        // KQL's string operators read a missing text as "" (so `not(x contains "a")` keeps the
        // rows without x, where SQL's NULL would drop them); the case-insensitive ones compare
        // lowercased text.
        let text =
            |i: usize| -> Result<String, String> { Ok(format!("coalesce({}, '')", arg(i)?)) };
        let lower = |i: usize| -> Result<String, String> { Ok(format!("lower({})", text(i)?)) };
        let regex = |ci: bool, pre: &str, post: &str| -> Result<String, String> {
            Ok(format!(
                "regexp_like({}, {})",
                text(0)?,
                string(&format!(
                    "{}{pre}{}{post}",
                    if ci { "(?i)" } else { "" },
                    regex_escape(&value(1)?)
                ))
            ))
        };
        Ok(match (name, args.len()) {
            ("kql_json_text" | "kql_json_text_ignore_case", n) if n >= 2 => {
                let column = column_name(&args[0])
                    .ok_or_else(|| "a JSON path into an expression".to_string())?;
                let keys = (1..n).map(value).collect::<Result<Vec<_>, _>>()?;
                // Athena's CloudTrail table has structs for the identity and TLS details
                // (read with dots) and JSON text for the request, response and the rest.
                let is_struct = self.table == Some("cloudtrail")
                    && matches!(column, "userIdentity" | "tlsDetails")
                    && (self.own || self.raw.iter().any(|r| r == column));
                if is_struct {
                    let mut path = self.column(column);
                    for k in &keys {
                        path.push('.');
                        path.push_str(&k.to_ascii_lowercase());
                    }
                    path
                } else {
                    if keys
                        .iter()
                        .any(|k| !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    {
                        return Err("a JSON key that is not a plain name".into());
                    }
                    format!(
                        "json_extract_scalar({}, {})",
                        self.column(column),
                        string(&format!("$.{}", keys.join(".")))
                    )
                }
            }
            ("kql_unixtime_seconds_todatetime", 1) => format!("from_unixtime({})", arg(0)?),
            // JSON text as a JSON value, which json_extract_scalar reads.
            ("kql_parse_json", 1) => format!("json_parse({})", arg(0)?),
            ("to_timestamp", 1) => format!("from_iso8601_timestamp({})", arg(0)?),
            // bin() by one whole unit is date_trunc; other spans are not written.
            ("kql_bin", 2) => {
                let unit = match unalias(&args[1]) {
                    Expr::Literal(ScalarValue::DurationNanosecond(Some(ns)), _) => match ns {
                        1_000_000_000 => "second",
                        60_000_000_000 => "minute",
                        3_600_000_000_000 => "hour",
                        86_400_000_000_000 => "day",
                        _ => {
                            return Err(
                                "bin() by a span other than one second, minute, hour or day".into(),
                            );
                        }
                    },
                    _ => return Err("bin() of something other than a time".into()),
                };
                format!("date_trunc('{unit}', {})", arg(0)?)
            }
            ("kql_contains", 2) => format!("strpos({}, lower({})) > 0", lower(0)?, arg(1)?),
            ("kql_contains_cs", 2) => format!("strpos({}, {}) > 0", text(0)?, arg(1)?),
            ("kql_startswith", 2) => regex(true, "^", "")?,
            ("kql_startswith_cs", 2) => format!("starts_with({}, {})", text(0)?, arg(1)?),
            ("kql_endswith", 2) => regex(true, "", "$")?,
            ("kql_endswith_cs", 2) => regex(false, "", "$")?,
            ("kql_equals_ci", 2) => format!("{} = lower({})", lower(0)?, arg(1)?),
            ("kql_has" | "kql_has_cs", 2) => format!(
                "regexp_like({}, {})",
                text(0)?,
                string(&literal::has_regex(&value(1)?, name == "kql_has"))
            ),
            // KQL's extract(regex, group, text); Trino's regexp_extract(text, regex, group).
            ("kql_extract", 3) => format!("regexp_extract({}, {}, {})", arg(2)?, arg(0)?, arg(1)?),
            ("kql_in_ci", n) if n >= 2 => {
                let values = (1..n)
                    .map(|i| value(i).map(|v| string(&v.to_lowercase())))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{} IN ({})", lower(0)?, values.join(", "))
            }
            ("kql_in", n) if n >= 2 => format!("{} IN ({})", arg(0)?, self.list(&args[1..])?),
            ("regexp_like", 2) => format!("regexp_like({}, {})", arg(0)?, arg(1)?),
            (
                "lower" | "upper" | "length" | "abs" | "floor" | "ceil" | "round" | "coalesce"
                | "concat" | "strpos" | "substr" | "reverse" | "replace" | "greatest" | "least"
                | "starts_with" | "from_unixtime" | "date_trunc" | "to_hex" | "md5" | "nullif",
                _,
            ) => {
                format!("{name}({})", self.list(args)?)
            }
            ("character_length" | "char_length", 1) => format!("length({})", arg(0)?),
            ("ends_with", 2) => regex(false, "", "$")?,
            ("now", 0) => "current_timestamp".into(),
            (other, _) => return Err(format!("the function {other}() in Athena")),
        })
    }
}

/// A string literal in single quotes.
fn string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn literal_text(v: &ScalarValue) -> Result<String, String> {
    use ScalarValue as V;
    Ok(match v {
        V::Utf8(Some(s)) | V::LargeUtf8(Some(s)) | V::Utf8View(Some(s)) => string(s),
        V::Boolean(Some(b)) => b.to_string().to_uppercase(),
        v if v.is_null() => "NULL".into(),
        v if v.data_type().is_integer() => v.to_string(),
        V::Float64(Some(f)) => format!("{f:?}"),
        V::TimestampNanosecond(Some(ns), _) => {
            let t = literal::datetime(*ns);
            format!("from_iso8601_timestamp({})", string(&t))
        }
        V::DurationNanosecond(Some(ns)) if ns % 1_000_000 == 0 => {
            format!("INTERVAL '{}' SECOND", *ns as f64 / 1e9)
        }
        other => return Err(format!("the literal {other} in Athena")),
    })
}
