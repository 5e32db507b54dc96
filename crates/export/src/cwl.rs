//! CloudWatch Logs Insights. The query has no source: it runs on the log group it is given
//! (CloudTrail's, or a VPC flow log group). Fields are the ones Logs Insights discovers:
//! CloudTrail's JSON names with dotted paths (`userIdentity.arn`), the flow log fields
//! (`srcAddr`, `dstPort`), and `@timestamp`
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html).
//!
//! KQL's string operators become `like` with a regular expression (`(?i)` for the
//! case-insensitive ones). A query that makes columns ends with `display` of its columns, so
//! the result has the plan's columns in the plan's order.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{InList, Like, ScalarFunction};
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, Operator, TryCast};
use spoor_cwl::groups::VPC_FIELDS;

use crate::literal::{self, regex_escape};
use crate::pipeline::{
    Pipeline, Source, Stage, WINDOW, column_name, computed, literal_str, plain_aggregate,
    text_under_empty_coalesce, unalias,
};

/// The pipeline as a Logs Insights query.
pub(crate) fn write(p: &Pipeline) -> Result<String, String> {
    let Source::Table(table) = &p.source else {
        return Err("a union or join (Logs Insights queries one set of log groups)".into());
    };
    let group = match table.as_str() {
        "cloudtrail" => Group::CloudTrail,
        "vpc_flow_logs" => Group::VpcFlow,
        other => {
            return Err(format!(
                "events of {other} (no CloudWatch log group holds them; CloudTrail and VPC flow \
                 logs do)"
            ));
        }
    };
    let w = Writer { group };
    let mut lines = Vec::new();
    let mut makes_columns = false;
    for (stage, _) in &p.stages {
        makes_columns |= matches!(
            stage,
            Stage::Extend(_) | Stage::Project(_) | Stage::Summarize { .. }
        );
        lines.push(w.stage(stage)?);
    }
    if makes_columns {
        let names = p
            .columns
            .iter()
            .map(|c| w.name(c))
            .collect::<Result<Vec<_>, _>>()?;
        lines.push(format!("display {}", names.join(", ")));
    }
    if lines.is_empty() {
        lines.push("fields @timestamp, @message".into());
    }
    Ok(lines.join("\n| "))
}

#[derive(Clone, Copy, PartialEq)]
enum Group {
    CloudTrail,
    VpcFlow,
}

struct Writer {
    group: Group,
}

impl Writer {
    /// A field of the query's own making, in backticks unless it is a plain name.
    fn name(&self, name: &str) -> Result<String, String> {
        if name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '@')
        {
            Ok(name.to_string())
        } else if !name.contains('`') {
            Ok(format!("`{name}`"))
        } else {
            Err(format!("the field name {name:?}"))
        }
    }

    /// A column: the log group's field for the platform table's columns, else the query's own.
    fn column(&self, name: &str) -> Result<String, String> {
        if self.group == Group::VpcFlow
            && let Some((field, _)) = VPC_FIELDS.iter().find(|(_, c)| *c == name)
        {
            return Ok(field.to_string());
        }
        self.name(name)
    }

    fn stage(&self, stage: &Stage) -> Result<String, String> {
        Ok(match stage {
            Stage::Where(e) => format!("filter {}", self.expr(e)?),
            Stage::Extend(items) | Stage::Project(items) => {
                let computed: Vec<String> = computed(items)
                    .iter()
                    .map(|(n, e)| Ok(format!("{} as {}", self.expr(e)?, self.name(n)?)))
                    .collect::<Result<_, String>>()?;
                if computed.is_empty() {
                    // Only drops or reorders columns: the final display does that.
                    return Ok(format!(
                        "fields {}",
                        items
                            .iter()
                            .map(|(n, _)| self.column(n))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(", ")
                    ));
                }
                format!("fields {}", computed.join(", "))
            }
            Stage::Summarize { aggregates, by } => {
                let aggs = aggregates
                    .iter()
                    .map(|(n, e)| Ok(format!("{} as {}", self.aggregate(e)?, self.name(n)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                let mut text = format!("stats {}", aggs.join(", "));
                if !by.is_empty() {
                    let groups = by
                        .iter()
                        .map(|(n, e)| Ok(format!("{} as {}", self.expr(e)?, self.name(n)?)))
                        .collect::<Result<Vec<_>, String>>()?;
                    text.push_str(&format!(" by {}", groups.join(", ")));
                }
                text
            }
            Stage::Sort(keys) => {
                // Logs Insights sorts missing values last either way.
                let keys = keys
                    .iter()
                    .map(|k| {
                        if k.nulls_first {
                            return Err("sorting missing values first".to_string());
                        }
                        Ok(format!(
                            "{} {}",
                            self.expr(&k.expr)?,
                            if k.asc { "asc" } else { "desc" }
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                format!("sort {}", keys.join(", "))
            }
            Stage::Take(n) => format!("limit {n}"),
            Stage::Distinct => return Err("distinct rows".into()),
            Stage::MvExpand { .. } => return Err("mv-expand (unnest)".into()),
            Stage::Window { .. } => return Err(WINDOW.into()),
        })
    }

    fn aggregate(&self, e: &Expr) -> Result<String, String> {
        let (name, args, distinct) = plain_aggregate(e)?;
        let arg = |i: usize| -> Result<String, String> {
            args.get(i)
                .ok_or_else(|| format!("{e}"))
                .and_then(|a| self.expr(a))
        };
        Ok(match (name, distinct) {
            ("count", false) => match args.first().map(unalias) {
                Some(Expr::Literal(v, _)) if !v.is_null() => "count(*)".into(),
                _ => format!("count({})", arg(0)?),
            },
            ("count", true) | ("kql_dcount", false) => format!("count_distinct({})", arg(0)?),
            ("sum" | "min" | "max" | "avg", false) => format!("{name}({})", arg(0)?),
            (other, _) => return Err(format!("the aggregate {other}() in Logs Insights")),
        })
    }

    fn expr(&self, e: &Expr) -> Result<String, String> {
        Ok(match e {
            Expr::Alias(a) => self.expr(&a.expr)?,
            Expr::Column(c) => self.column(&c.name)?,
            Expr::Literal(v, _) => literal_text(v)?,
            Expr::BinaryExpr(b) => self.binary(b)?,
            Expr::Not(x) => format!("not {}", self.operand(x)?),
            Expr::IsNull(x) => format!("not ispresent({})", self.expr(x)?),
            Expr::IsNotNull(x) => format!("ispresent({})", self.expr(x)?),
            Expr::IsNotTrue(x) => format!("not {}", self.operand(x)?),
            Expr::IsTrue(x) => self.expr(x)?,
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => {
                let items = list
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let test = format!("{} in [{}]", self.operand(expr)?, items.join(", "));
                if *negated {
                    format!("not {test}")
                } else {
                    test
                }
            }
            Expr::Like(Like {
                negated,
                expr,
                pattern,
                escape_char,
                case_insensitive,
            }) => {
                let pattern = literal_str(pattern)
                    .ok_or_else(|| "LIKE with a pattern that is not a literal".to_string())?;
                let regex = literal::like_to_regex(&pattern, *escape_char, *case_insensitive);
                let test = format!("{} like {}", self.operand(expr)?, regex_literal(&regex));
                if *negated {
                    format!("not {test}")
                } else {
                    test
                }
            }
            Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field })
                if field.data_type().is_integer() || field.data_type().is_floating() =>
            {
                // Logs Insights compares numbers loosely.
                self.expr(expr)?
            }
            Expr::ScalarFunction(f) => self.function(f)?,
            other => return Err(format!("the expression {other}")),
        })
    }

    fn operand(&self, e: &Expr) -> Result<String, String> {
        let text = self.expr(e)?;
        Ok(match unalias(e) {
            Expr::Column(_) | Expr::Literal(..) => text,
            Expr::Cast(_) | Expr::TryCast(_) if !text.contains(' ') => text,
            Expr::ScalarFunction(_) if !text.contains(' ') => text,
            _ => format!("({text})"),
        })
    }

    fn binary(&self, b: &BinaryExpr) -> Result<String, String> {
        let (l, r) = (self.operand(&b.left)?, self.operand(&b.right)?);
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
            Operator::Modulo => "%",
            Operator::And => "and",
            Operator::Or => "or",
            other => return Err(format!("the operator {other}")),
        };
        Ok(format!("{l} {op} {r}"))
    }

    fn function(&self, f: &ScalarFunction) -> Result<String, String> {
        let name = f.func.name();
        let args = &f.args;
        let value = |i: usize| {
            literal_str(&args[i])
                .ok_or_else(|| format!("{name}() with a value that is not a literal string"))
        };
        let like = |ci: bool, pre: &str, post: &str| -> Result<String, String> {
            let regex = format!(
                "{}{pre}{}{post}",
                if ci { "(?i)" } else { "" },
                regex_escape(&value(1)?)
            );
            Ok(format!(
                "{} like {}",
                self.operand(&args[0])?,
                regex_literal(&regex)
            ))
        };
        Ok(match (name, args.len()) {
            ("kql_json_text" | "kql_json_text_ignore_case", n) if n >= 2 => {
                let column = column_name(&args[0])
                    .ok_or_else(|| "a JSON path into an expression".to_string())?;
                let mut path = self.column(column)?;
                for i in 1..n {
                    path.push('.');
                    path.push_str(&value(i)?);
                }
                path
            }
            ("kql_unixtime_seconds_todatetime", 1)
                if self.group == Group::VpcFlow && column_name(&args[0]) == Some("starttime") =>
            {
                "@timestamp".into()
            }
            ("kql_bin", 2) if self.is_time(&args[0]) => match unalias(&args[1]) {
                Expr::Literal(ScalarValue::DurationNanosecond(Some(ns)), _) => {
                    format!("bin({})", duration(*ns)?)
                }
                _ => return Err("bin() by a span that is not a literal".into()),
            },
            ("kql_contains", 2) => like(true, "", "")?,
            ("kql_contains_cs", 2) => like(false, "", "")?,
            ("kql_startswith", 2) => like(true, "^", "")?,
            ("kql_startswith_cs", 2) => like(false, "^", "")?,
            ("kql_endswith", 2) => like(true, "", "$")?,
            ("kql_endswith_cs", 2) => like(false, "", "$")?,
            ("kql_equals_ci", 2) => like(true, "^", "$")?,
            ("kql_has" | "kql_has_cs", 2) => format!(
                "{} like {}",
                self.operand(&args[0])?,
                regex_literal(&literal::has_regex(&value(1)?, name == "kql_has"))
            ),
            ("kql_in_ci", n) if n >= 2 => {
                let values = (1..n)
                    .map(|i| value(i).map(|v| regex_escape(&v)))
                    .collect::<Result<Vec<_>, _>>()?;
                format!(
                    "{} like {}",
                    self.operand(&args[0])?,
                    regex_literal(&format!("(?i)^({})$", values.join("|")))
                )
            }
            ("kql_in", n) if n >= 2 => {
                let items = args[1..]
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{} in [{}]", self.operand(&args[0])?, items.join(", "))
            }
            ("regexp_like", 2) => {
                format!(
                    "{} like {}",
                    self.operand(text_under_empty_coalesce(&args[0]))?,
                    regex_literal(&value(1)?)
                )
            }
            ("lower" | "upper", 1) => format!("to{name}({})", self.expr(&args[0])?),
            ("character_length" | "char_length" | "length", 1) => {
                format!("strlen({})", self.expr(&args[0])?)
            }
            ("abs" | "ceil" | "floor" | "coalesce" | "concat", _) => format!(
                "{name}({})",
                args.iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", ")
            ),
            (other, _) => return Err(format!("the function {other}() in Logs Insights")),
        })
    }

    /// Whether `e` is the log group's event time (what `bin()` bins).
    fn is_time(&self, e: &Expr) -> bool {
        match (self.group, unalias(e)) {
            (Group::CloudTrail, Expr::Column(c)) => c.name == "eventTime",
            (Group::VpcFlow, Expr::ScalarFunction(f)) => {
                f.func.name() == "kql_unixtime_seconds_todatetime"
                    && column_name(&f.args[0]) == Some("starttime")
            }
            _ => false,
        }
    }
}

/// A span as Logs Insights writes it (`5m`, `1h`, `1d`).
fn duration(ns: i64) -> Result<String, String> {
    const UNITS: &[(i64, &str)] = &[
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
    ];
    (ns > 0)
        .then(|| literal::in_largest_unit(ns, UNITS))
        .flatten()
        .ok_or_else(|| format!("a span of {ns} ns"))
}

/// A regular expression literal, `/.../` with `/` escaped.
fn regex_literal(regex: &str) -> String {
    format!("/{}/", regex.replace('/', "\\/"))
}

fn literal_text(v: &ScalarValue) -> Result<String, String> {
    use ScalarValue as V;
    Ok(match v {
        V::Utf8(Some(s)) | V::LargeUtf8(Some(s)) | V::Utf8View(Some(s)) => {
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        }
        v if !v.is_null() && v.data_type().is_integer() => v.to_string(),
        V::Float64(Some(f)) => format!("{f:?}"),
        V::Boolean(Some(b)) => if *b { "1" } else { "0" }.into(),
        other => return Err(format!("the literal {other} in Logs Insights")),
    })
}
