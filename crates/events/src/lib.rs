//! What the search languages (CloudWatch Logs Insights, Splunk SPL, Sumo Logic) share when they
//! plan over spoor's catalog:
//! - **event streams**: several catalog tables read as one stream of events under the
//!   language's field names ([`union`]), a field being null where a source's events lack it;
//! - **loose values** ([`Loose`]): these languages compare text with numbers by reading the text
//!   as a number, and take a number as a condition when it is not 0;
//! - DataFusion's and spoor's functions by name ([`df`], [`df_aggregate`], [`spoor`]).
//!
//! Front-ends build plans with these and never execute them: the engine binds the scans.

use std::ops::RangeInclusive;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, DFSchema, ScalarValue, TableReference};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::expr::{ScalarFunction, WindowFunction};
use datafusion::logical_expr::{
    Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, WindowFunctionDefinition, cast, lit,
    try_cast,
};
use spoor_core::{Diagnostic, Span};

/// DataFusion's own functions, looked up by name.
fn functions() -> &'static SessionState {
    static STATE: OnceLock<SessionState> = OnceLock::new();
    STATE.get_or_init(|| SessionStateBuilder::new().with_default_features().build())
}

/// A call of DataFusion's scalar function `name` (`strpos`, `regexp_like`, `date_bin`...).
pub fn df(name: &str, args: Vec<Expr>) -> Expr {
    let udf = functions()
        .scalar_functions()
        .get(name)
        .unwrap_or_else(|| panic!("DataFusion has {name}"));
    Expr::ScalarFunction(ScalarFunction::new_udf(Arc::clone(udf), args))
}

/// A call of DataFusion's aggregate `name` (`count`, `sum`, `first_value`...).
pub fn df_aggregate(name: &str, args: Vec<Expr>) -> Expr {
    functions()
        .aggregate_functions()
        .get(name)
        .unwrap_or_else(|| panic!("DataFusion has {name}"))
        .call(args)
}

/// A call of DataFusion's window function `name` (`row_number`...), to be given its
/// partitioning and order with `ExprFunctionExt`.
pub fn df_window(name: &str, args: Vec<Expr>) -> Expr {
    let udwf = functions()
        .window_functions()
        .get(name)
        .unwrap_or_else(|| panic!("DataFusion has {name}"));
    Expr::WindowFunction(Box::new(WindowFunction::new(
        WindowFunctionDefinition::WindowUDF(Arc::clone(udwf)),
        args,
    )))
}

/// An aggregate call as the window function over each event's group (`eventstats`), to be
/// given its partitioning with `ExprFunctionExt`; `None` when `agg` is not an aggregate call.
pub fn as_window(agg: Expr) -> Option<Expr> {
    let Expr::AggregateFunction(f) = agg else {
        return None;
    };
    let mut w = WindowFunction::new(
        WindowFunctionDefinition::AggregateUDF(f.func),
        f.params.args,
    );
    w.params.distinct = f.params.distinct;
    Some(Expr::WindowFunction(Box::new(w)))
}

/// A call of spoor's scalar function `name` (`kql_json_text`, `kql_extract`...).
pub fn spoor(name: &str, args: Vec<Expr>) -> Expr {
    let udf = spoor_functions::scalar(name).unwrap_or_else(|| panic!("spoor has {name}"));
    Expr::ScalarFunction(ScalarFunction::new_udf(udf, args))
}

/// A call of spoor's aggregate `name` (`kql_percentile`...).
pub fn spoor_aggregate(name: &str, args: Vec<Expr>) -> Expr {
    spoor_functions::aggregate(name)
        .unwrap_or_else(|| panic!("spoor has {name}"))
        .call(args)
}

/// A table's row as the JSON object of its columns (the raw event of a JSON source): dynamic
/// columns as the JSON they hold, datetimes as ISO 8601 text, the rest as JSON values. Columns
/// in `skip` are left out.
pub fn record_json(table: &str, skip: &[&str]) -> Option<Expr> {
    let def = spoor_catalog::catalog().table(table)?;
    let mut args = Vec::new();
    for c in def
        .columns
        .iter()
        .filter(|c| !skip.contains(&c.name.as_str()))
    {
        args.push(lit(c.name.clone()));
        let column = field(&c.name);
        args.push(match c.ty {
            spoor_catalog::KqlType::Dynamic => column,
            spoor_catalog::KqlType::DateTime => spoor(
                "kql_to_json",
                vec![df("to_char", vec![column, lit("%Y-%m-%dT%H:%M:%S%.fZ")])],
            ),
            _ => spoor("kql_to_json", vec![column]),
        });
    }
    Some(spoor("kql_bag_pack", args))
}

/// A column by its exact name (names hold `@`, `.` and `{}`, which `col()` would parse).
pub fn field(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

/// One source of a stream: a catalog table, an optional filter on it, and for each field of the
/// stream its expression over the table (`None`: the source's events never have it) and whether
/// that expression is text read from JSON (typed by whichever source has a schema for it).
pub struct Branch {
    pub table: String,
    pub filter: Option<Expr>,
    pub fields: Vec<Option<Expr>>,
    pub from_json: Vec<bool>,
}

/// The events of all branches as one stream with the columns `names`. A field gets the type the
/// sources with a schema give it; text from JSON is read as that type; sources that disagree
/// meet as text.
pub fn union(branches: Vec<Branch>, names: &[String]) -> Result<LogicalPlan> {
    let mut scans = Vec::new();
    for b in &branches {
        let def = spoor_catalog::catalog()
            .table(&b.table)
            .ok_or_else(|| DataFusionError::Plan(format!("no table {}", b.table)))?;
        let mut scan = LogicalPlanBuilder::scan(
            TableReference::bare(b.table.as_str()),
            provider_as_source(Arc::new(EmptyTable::new(def.schema()))),
            None,
        )?;
        if let Some(f) = &b.filter {
            scan = scan.filter(f.clone())?;
        }
        scans.push(scan.build()?);
    }
    let mut types: Vec<Option<DataType>> = vec![None; names.len()];
    let mut conflict = vec![false; names.len()];
    for (b, scan) in branches.iter().zip(&scans) {
        for (i, e) in b.fields.iter().enumerate() {
            let Some(e) = e else { continue };
            if b.from_json[i] {
                continue;
            }
            let t = e.get_type(scan.schema())?;
            match &types[i] {
                None => types[i] = Some(t),
                Some(prev) if *prev != t => conflict[i] = true,
                _ => {}
            }
        }
    }
    let mut out: Option<LogicalPlanBuilder> = None;
    for (b, scan) in branches.into_iter().zip(scans) {
        let projected: Vec<Expr> = b
            .fields
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let target = if conflict[i] {
                    DataType::Utf8
                } else {
                    types[i].clone().unwrap_or(DataType::Utf8)
                };
                let e = match e {
                    None => cast(lit(ScalarValue::Null), target),
                    Some(e) if b.from_json[i] && target != DataType::Utf8 => try_cast(e, target),
                    Some(e) => cast(e, target),
                };
                e.alias(names[i].as_str())
            })
            .collect();
        let branch = LogicalPlanBuilder::from(scan).project(projected)?.build()?;
        out = Some(match out {
            None => LogicalPlanBuilder::from(branch),
            Some(u) => u.union(branch)?,
        });
    }
    out.ok_or_else(|| DataFusionError::Plan("no source to read".into()))?
        .build()
}

/// `plan` with column `name` set to `e` (added at the end, or replacing the column of that
/// name in place of it at the end).
pub fn with_column(plan: LogicalPlan, name: &str, e: Expr) -> Result<LogicalPlan> {
    let mut exprs: Vec<Expr> = plan
        .schema()
        .fields()
        .iter()
        .filter(|f| f.name() != name)
        .map(|f| field(f.name()))
        .collect();
    exprs.push(e.alias(name));
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}

/// Values as the search languages read them, over a plan's schema.
pub struct Loose<'a>(pub &'a DFSchema);

pub fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

impl Loose<'_> {
    pub fn type_of(&self, e: &Expr) -> Result<DataType> {
        e.get_type(self.0)
    }

    /// A condition: Booleans as they are, numbers true when not 0, anything else when present.
    pub fn truthy(&self, x: Expr) -> Result<Expr> {
        Ok(match self.type_of(&x)? {
            DataType::Boolean => x,
            t if t.is_numeric() => x.not_eq(lit(0)),
            DataType::Null => lit(false),
            _ => x.is_not_null(),
        })
    }

    /// A number: text read as a number (null when it is not one).
    pub fn number(&self, x: Expr) -> Result<Expr> {
        Ok(if self.type_of(&x)?.is_numeric() {
            x
        } else {
            try_cast(x, DataType::Float64)
        })
    }

    /// Text: anything else written as text.
    pub fn text(&self, x: Expr) -> Result<Expr> {
        Ok(if is_text(&self.type_of(&x)?) {
            x
        } else {
            cast(x, DataType::Utf8)
        })
    }

    /// Both sides of a comparison read alike: text against a number is read as a number.
    pub fn comparable(&self, l: Expr, r: Expr) -> Result<(Expr, Expr)> {
        let (lt, rt) = (self.type_of(&l)?, self.type_of(&r)?);
        Ok(
            if lt.is_numeric() && is_text(&rt) || is_text(&lt) && rt.is_numeric() {
                (self.number(l)?, self.number(r)?)
            } else {
                (l, r)
            },
        )
    }
}

/// A planning error at `span` (DataFusion's message, without its backtrace).
pub fn plan_error(e: DataFusionError, span: Span) -> Diagnostic {
    Diagnostic::new(format!("cannot plan this: {}", e.strip_backtrace()), span)
}

/// The column `name` of `schema`, or an error at `span` with the closest name (or the list).
pub fn field_here(schema: &DFSchema, name: &str, span: Span) -> Result<Expr, Diagnostic> {
    if schema.has_column_with_unqualified_name(name) {
        return Ok(field(name));
    }
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let d = Diagnostic::new(format!("no field `{name}` here"), span);
    Err(
        match spoor_core::did_you_mean(name, names.iter().copied()) {
            Some(s) => d.with_hint(format!("did you mean `{s}`?")),
            None => d.with_hint(format!("the fields here are {}", names.join(", "))),
        },
    )
}

/// That function `name` was given `given` arguments, where it takes `n`.
pub fn arity(
    name: &str,
    given: usize,
    n: RangeInclusive<usize>,
    span: Span,
) -> Result<(), Diagnostic> {
    if n.contains(&given) {
        return Ok(());
    }
    let want = if n.start() == n.end() {
        n.start().to_string()
    } else {
        format!("{} to {}", n.start(), n.end())
    };
    Err(Diagnostic::new(
        format!("`{name}` takes {want} argument(s), not {given}"),
        span,
    ))
}

/// A period as an interval literal (for `date_bin`).
pub fn interval_ns(ns: i64) -> Expr {
    lit(ScalarValue::IntervalMonthDayNano(Some(
        datafusion::arrow::datatypes::IntervalMonthDayNano::new(0, 0, ns),
    )))
}

/// The start of the epoch-aligned period of `ns` nanoseconds that holds `ts`.
pub fn bin_time(ts: Expr, ns: i64) -> Expr {
    df(
        "date_bin",
        vec![
            interval_ns(ns),
            ts,
            lit(ScalarValue::TimestampNanosecond(Some(0), None)),
        ],
    )
}

/// The column `name` of the plan, when it has one.
pub fn has_field(plan: &LogicalPlan, name: &str) -> bool {
    plan.schema().has_column_with_unqualified_name(name)
}

/// Every column of a plan, by name.
pub fn all_fields(plan: &LogicalPlan) -> Vec<Expr> {
    plan.schema()
        .fields()
        .iter()
        .map(|f| field(f.name()))
        .collect()
}
