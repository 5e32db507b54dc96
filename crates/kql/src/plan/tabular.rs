//! Tabular expressions: table names, `let` tables, user functions, pipelines and the operators
//! that produce rows by themselves (union, print, range, datatable).

use std::sync::Arc;

use datafusion::common::{Column, JoinType, ScalarValue};
use datafusion::logical_expr::builder::LogicalTableSource;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, cast, lit};
use spoor_catalog::{KqlType, catalog};
use spoor_core::{Diagnostic, Span};

use super::scalar::{convert_to, null_of};
use super::{
    Binding, Either, Planner, Tab, bare_call, df_error, did_you_mean, project_plan, unsupported,
};
use crate::syntax::ast::{self, ExprKind, OperatorKind};

impl Planner {
    /// Plans an expression that denotes a table.
    pub(crate) fn tabular(&mut self, e: &ast::Expr) -> Result<Tab, Diagnostic> {
        match &e.kind {
            ExprKind::Name(id) => self.named_table(&id.name, id.span),
            ExprKind::Pipe { source, operators } => {
                let mut tab = match source {
                    Some(s) => Some(self.tabular(s)?),
                    None => None,
                };
                for op in operators {
                    tab = Some(self.operator(tab, op)?);
                }
                tab.ok_or_else(|| Diagnostic::new("an empty pipeline", e.span))
            }
            ExprKind::Call(c) => match c.func.name.as_str() {
                "materialize" => match c.args.as_slice() {
                    [one] => self.tabular(one),
                    _ => Err(Diagnostic::new("materialize() takes one tabular argument", e.span)),
                },
                "_GetWatchlist" => {
                    let alias = match c.args.as_slice() {
                        [arg] => match self.scalar(arg, None).map(|v| v.expr) {
                            Ok(Expr::Literal(ScalarValue::Utf8(Some(a)), _)) => a,
                            _ => return Err(Diagnostic::new("_GetWatchlist takes the watchlist alias as a string", arg.span)),
                        },
                        _ => return Err(Diagnostic::new("_GetWatchlist takes one argument, the watchlist alias", e.span)),
                    };
                    self.watchlist(&alias, e.span)
                }
                "table" => {
                    // The name is a string literal or a `let` bound to one.
                    let name = match c.args.as_slice() {
                        [arg] => match self.scalar(arg, None).map(|v| v.expr) {
                            Ok(Expr::Literal(ScalarValue::Utf8(Some(name)), _)) => Some((name, arg.span)),
                            _ => None,
                        },
                        _ => None,
                    };
                    match name {
                        Some((name, span)) => self.named_table(&name, span),
                        None => Err(Diagnostic::new("table() takes a table name: a string or a let bound to one", e.span)),
                    }
                }
                name => match self.lookup(name).cloned() {
                    Some(Binding::Function(def)) => match self.call_function(&def, c, e.span, None)? {
                        Either::Tabular(t) => Ok(t),
                        Either::Scalar(_) => Err(Diagnostic::new(format!("`{name}` returns a value, not a table"), e.span)),
                    },
                    _ => Err(Diagnostic::new(format!("unknown tabular function `{name}`"), c.func.span).with_hint(
                        "workspace functions and parsers (such as ASIM's im* functions) are not loaded yet",
                    )),
                },
            },
            _ => Err(Diagnostic::new("expected a table here", e.span)
                .with_hint("a pipeline starts with a table name, e.g. `AWSCloudTrail | take 10`")),
        }
    }

    fn named_table(&mut self, name: &str, span: Span) -> Result<Tab, Diagnostic> {
        match self.lookup(name).cloned() {
            Some(Binding::Tabular(t)) => return Ok(t),
            Some(Binding::Function(def)) if def.params.iter().all(|p| p.default.is_some()) => {
                let call = bare_call(name, span);
                return match self.call_function(&def, &call, span, None)? {
                    Either::Tabular(t) => Ok(t),
                    Either::Scalar(_) => Err(Diagnostic::new(
                        format!("`{name}` is a value, not a table"),
                        span,
                    )),
                };
            }
            Some(Binding::Scalar { .. }) => {
                return Err(Diagnostic::new(
                    format!("`{name}` is a scalar value, not a table"),
                    span,
                ));
            }
            _ => {}
        }
        scan(name).ok_or_else(|| {
            let mut d = Diagnostic::new(format!("unknown table `{name}`"), span);
            if let Some(s) = did_you_mean(name, catalog().all_tables().iter().map(|t| t.name.as_str())) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            } else {
                d = d.with_hint("`spoor tables` lists the tables the evidence fills; the catalog knows the documented Log Analytics tables");
            }
            d
        })
    }

    /// Applies one pipe operator (or starts a pipeline with a source operator).
    pub(crate) fn operator(
        &mut self,
        input: Option<Tab>,
        op: &ast::Operator,
    ) -> Result<Tab, Diagnostic> {
        let span = op.span;
        // Operators that produce rows by themselves.
        match &op.kind {
            OperatorKind::Union { params, tables } => {
                return self.union(input, params, tables, span);
            }
            OperatorKind::Print { columns } => {
                if input.is_some() {
                    return Err(Diagnostic::new(
                        "print starts a query; it cannot follow `|`",
                        span,
                    ));
                }
                let one_row = LogicalPlanBuilder::empty(true)
                    .build()
                    .map_err(|e| df_error(e, span))?;
                let tab = Tab::new(one_row, vec![]);
                return self.project(&tab, columns, span, true);
            }
            OperatorKind::Datatable {
                columns, values, ..
            } => {
                if input.is_some() {
                    return Err(Diagnostic::new(
                        "datatable starts a query; it cannot follow `|`",
                        span,
                    ));
                }
                return self.datatable(columns, values, span);
            }
            OperatorKind::Range {
                column,
                from,
                to,
                step,
            } => {
                if input.is_some() {
                    return Err(Diagnostic::new(
                        "range starts a query; it cannot follow `|`",
                        span,
                    ));
                }
                return self.range(column, from, to, step, span);
            }
            OperatorKind::ExternalData {
                columns,
                uris,
                properties,
            } => {
                if input.is_some() {
                    return Err(Diagnostic::new(
                        "externaldata starts a query; it cannot follow `|`",
                        span,
                    ));
                }
                return self.externaldata(columns, uris, properties, span);
            }
            OperatorKind::Search { .. } => return Err(unsupported("search", span)),
            OperatorKind::Find { .. } => return Err(unsupported("find", span)),
            _ => {}
        }
        let Some(tab) = input else {
            return Err(Diagnostic::new("this operator needs an input table", span)
                .with_hint("start the pipeline with a table, e.g. `SigninLogs | ...`"));
        };
        self.pipe_operator(tab, op)
    }

    fn union(
        &mut self,
        input: Option<Tab>,
        params: &[ast::NamedArg],
        tables: &[ast::Expr],
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        let mut fuzzy = false;
        let mut source_column: Option<String> = None;
        for p in params {
            match p.name.name.as_str() {
                "isfuzzy" => {
                    fuzzy = matches!(p.value.kind, ExprKind::Literal(ast::Literal::Bool(true)))
                }
                "withsource" | "source" => match &p.value.kind {
                    ExprKind::Name(n) => source_column = Some(n.name.clone()),
                    _ => return Err(Diagnostic::new("withsource= takes a column name", p.span)),
                },
                "kind" => match &p.value.kind {
                    ExprKind::Name(n) if n.name == "outer" => {}
                    _ => return Err(unsupported("union kind=inner", p.span)),
                },
                n if n.starts_with("hint.") => {}
                n => {
                    return Err(Diagnostic::new(
                        format!("unknown union parameter `{n}`"),
                        p.span,
                    ));
                }
            }
        }
        // (label, table) for each operand.
        let mut parts: Vec<(String, Tab)> = Vec::new();
        let piped = input.is_some();
        if let Some(t) = input {
            parts.push(("union_arg0".to_string(), t));
        }
        for (position, t) in tables.iter().enumerate() {
            // Kusto names an operand that is not a table `union_arg<position>`.
            let position = position + usize::from(piped);
            match &t.kind {
                ExprKind::NamePattern(p) => {
                    let re = glob(p);
                    for def in catalog()
                        .all_tables()
                        .into_iter()
                        .filter(|d| re.is_match(&d.name))
                    {
                        parts.push((def.name.clone(), scan(&def.name).expect("catalog table")));
                    }
                }
                ExprKind::Name(n) => match self.tabular(t) {
                    Ok(tab) => parts.push((n.name.clone(), tab)),
                    Err(e) if fuzzy => {
                        // isfuzzy=true: an operand that does not resolve is skipped, as Kusto does.
                        let _ = e;
                    }
                    Err(e) => return Err(e),
                },
                _ => match self.tabular(t) {
                    Ok(tab) => parts.push((format!("union_arg{position}"), tab)),
                    Err(e) if fuzzy && is_unknown_table(&e) => {}
                    Err(e) => return Err(e),
                },
            }
        }
        if parts.is_empty() {
            return Err(
                Diagnostic::new("union has no table to read", span).with_hint(
                    "none of the operands exists (isfuzzy=true skips the ones that do not)",
                ),
            );
        }
        if fuzzy {
            // A leg over tables the evidence does not fill does not exist, as in a workspace.
            let (with_data, empty): (Vec<_>, Vec<_>) = parts
                .into_iter()
                .partition(|(_, t)| reads_data(&t.plan, &self.options.tables_with_data));
            if !with_data.is_empty() {
                return union_tabs(with_data, source_column, span, false);
            }
            // Every leg is empty: so is the result. Keep one column per name so that the rest
            // of the query plans (and `spoor check` can check it).
            return union_tabs(empty, source_column, span, true);
        }
        union_tabs(parts, source_column, span, false)
    }

    fn datatable(
        &mut self,
        columns: &[ast::ColumnDecl],
        values: &[ast::Expr],
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        if columns.is_empty() {
            return Err(Diagnostic::new("datatable needs at least one column", span));
        }
        if !values.len().is_multiple_of(columns.len()) {
            return Err(Diagnostic::new(
                format!(
                    "datatable has {} columns but {} values (not a whole number of rows)",
                    columns.len(),
                    values.len()
                ),
                span,
            ));
        }
        let types: Vec<KqlType> = columns
            .iter()
            .map(|c| super::scalar::scalar_type(c.ty.ty))
            .collect();
        let mut rows = Vec::new();
        for chunk in values.chunks(columns.len()) {
            let mut row = Vec::new();
            for (v, ty) in chunk.iter().zip(&types) {
                let planned = self.scalar(v, None)?;
                let converted = if *ty == KqlType::Dynamic && planned.ty == KqlType::Dynamic {
                    planned
                } else {
                    convert_to(planned, *ty)
                };
                row.push(cast(converted.expr, ty.arrow()));
            }
            rows.push(row);
        }
        let plan = if rows.is_empty() {
            // An empty datatable still has its columns.
            let schema = declared_schema(columns, &types);
            // No rows: an empty relation with the declared columns (not a scan, which the
            // engine would try to bind to evidence).
            let schema = datafusion::common::DFSchema::try_from(schema.as_ref().clone())
                .map_err(|e| df_error(e, span))?;
            let plan = LogicalPlan::EmptyRelation(datafusion::logical_expr::EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(schema),
            });
            return Ok(Tab::new(plan, types));
        } else {
            LogicalPlanBuilder::values(rows)
                .and_then(|b| b.build())
                .map_err(|e| df_error(e, span))?
        };
        let tab = Tab::new(plan, types.clone());
        let exprs: Vec<Expr> = (0..columns.len())
            .map(|i| tab.column_at(i).alias(columns[i].name.name.clone()))
            .collect();
        let plan = project_plan(tab.plan, exprs, span)?;
        Ok(Tab::new(plan, types))
    }

    /// `_GetWatchlist('alias')`: the watchlist's CSV columns (text) and `SearchKey` (its first
    /// column, standing for the key the watchlist was created with), read by the engine as
    /// `externaldata` of the local file.
    fn watchlist(&mut self, alias: &str, span: Span) -> Result<Tab, Diagnostic> {
        let Some(w) = self.options.workspace.watchlists.get(alias).cloned() else {
            if self.options.probe.is_none() {
                // Checking without data: a watchlist is data, like the evidence; its
                // columns are known once it is loaded (the plan is for checking only).
                self.needs_data
                    .get_or_insert_with(|| format!("watchlist `{alias}` is not loaded"));
                let plan = datafusion::logical_expr::LogicalPlanBuilder::empty(false)
                    .project(vec![
                        super::scalar::null_of(KqlType::String).alias("SearchKey"),
                    ])
                    .and_then(|b| b.build())
                    .map_err(|e| df_error(e, span))?;
                return Ok(Tab::new(plan, vec![KqlType::String]));
            }
            let mut d = Diagnostic::new(format!("no watchlist `{alias}`"), span);
            let known: Vec<&str> = self
                .options
                .workspace
                .watchlists
                .keys()
                .map(String::as_str)
                .collect();
            d = match did_you_mean(alias, known.iter().copied()) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d.with_hint("watchlists are CSV files named ALIAS.csv in a folder given with --watchlists DIR"),
            };
            return Err(d);
        };
        let columns: Vec<ast::ColumnDecl> = w
            .columns
            .iter()
            .map(|c| ast::ColumnDecl {
                name: ast::Ident {
                    name: c.clone(),
                    span,
                },
                ty: ast::TypeRef {
                    ty: ast::ScalarType::String,
                    span,
                },
                span,
            })
            .collect();
        let uri = ast::Expr {
            kind: ExprKind::Literal(ast::Literal::String(format!("file://{}", w.path.display()))),
            span,
        };
        let skip_header = ast::NamedArg {
            name: ast::Ident {
                name: "ignoreFirstRecord".into(),
                span,
            },
            value: ast::Expr {
                kind: ExprKind::Literal(ast::Literal::Bool(true)),
                span,
            },
            span,
        };
        let tab = self.externaldata(&columns, &[uri], &[skip_header], span)?;
        let Some(first) = w.columns.first() else {
            return Ok(tab);
        };
        let mut exprs: Vec<Expr> = (0..tab.types.len()).map(|i| tab.column_at(i)).collect();
        exprs.push(tab.column(first).expect("first column").alias("SearchKey"));
        let mut types = tab.types.clone();
        types.push(KqlType::String);
        Ok(Tab::new(project_plan(tab.plan, exprs, span)?, types))
    }

    /// `externaldata(cols)[uris] with (format=...)`: a scan of a table the engine binds to a
    /// local copy of each URI (see [`EXTERNALDATA_PREFIX`]), with the declared schema.
    fn externaldata(
        &mut self,
        columns: &[ast::ColumnDecl],
        uris: &[ast::Expr],
        properties: &[ast::NamedArg],
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        let mut format = "csv".to_string();
        let mut skip_first = false;
        for p in properties {
            let value = self.scalar(&p.value, None)?.expr;
            let text = match &value {
                Expr::Literal(ScalarValue::Utf8(Some(v)), _) => v.clone(),
                Expr::Literal(ScalarValue::Boolean(Some(b)), _) => b.to_string(),
                _ => match &p.value.kind {
                    ExprKind::Name(n) => n.name.clone(),
                    _ => {
                        return Err(Diagnostic::new(
                            "externaldata properties take literal values",
                            p.span,
                        ));
                    }
                },
            };
            match p.name.name.to_ascii_lowercase().as_str() {
                "format" => format = text.to_ascii_lowercase(),
                "ignorefirstrecord" => skip_first = text.eq_ignore_ascii_case("true"),
                // Compression, credentials and ingestion hints do not change local reading.
                _ => {}
            }
        }
        if !matches!(
            format.as_str(),
            "csv" | "tsv" | "scsv" | "psv" | "txt" | "json" | "multijson"
        ) {
            return Err(unsupported(format!("externaldata format `{format}`"), span));
        }
        let types: Vec<KqlType> = columns
            .iter()
            .map(|c| super::scalar::scalar_type(c.ty.ty))
            .collect();
        let schema = declared_schema(columns, &types);
        let mut parts = Vec::new();
        for (i, u) in uris.iter().enumerate() {
            let uri = match self.scalar(u, None)?.expr {
                Expr::Literal(ScalarValue::Utf8(Some(v)), _) => v,
                _ => {
                    return Err(Diagnostic::new(
                        "externaldata takes its URIs as string literals",
                        u.span,
                    ));
                }
            };
            let name = format!(
                "{EXTERNALDATA_PREFIX}{format}:{}:{uri}",
                u8::from(skip_first)
            );
            let source = Arc::new(LogicalTableSource::new(Arc::clone(&schema)));
            let plan = LogicalPlanBuilder::scan(
                datafusion::common::TableReference::bare(name),
                source,
                None,
            )
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, u.span))?;
            parts.push((
                format!("union_arg{i}"),
                Tab::new(plan, types.clone()).unqualified(span)?,
            ));
        }
        if parts.is_empty() {
            return Err(Diagnostic::new("externaldata needs at least one URI", span));
        }
        if parts.len() == 1 {
            return Ok(parts.pop().expect("one part").1);
        }
        union_tabs(parts, None, span, false)
    }

    fn range(
        &mut self,
        column: &ast::Ident,
        from: &ast::Expr,
        to: &ast::Expr,
        step: &ast::Expr,
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        let from = self.scalar(from, None)?;
        let to = self.scalar(to, None)?;
        let step = self.scalar(step, None)?;
        let as_i64 = |e: &Expr| -> Option<i64> {
            match e {
                Expr::Literal(ScalarValue::Int64(Some(v)), _) => Some(*v),
                Expr::Literal(ScalarValue::Int32(Some(v)), _) => Some(i64::from(*v)),
                Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _) => Some(*v),
                Expr::Literal(ScalarValue::DurationNanosecond(Some(v)), _) => Some(*v),
                _ => None,
            }
        };
        let (Some(a), Some(b), Some(s)) =
            (as_i64(&from.expr), as_i64(&to.expr), as_i64(&step.expr))
        else {
            return Err(unsupported(
                "range with bounds that are not constants",
                span,
            ));
        };
        if s == 0 {
            return Err(Diagnostic::new("range step cannot be zero", span));
        }
        let ty = match (from.ty, step.ty) {
            (KqlType::DateTime, KqlType::TimeSpan) => KqlType::DateTime,
            (KqlType::TimeSpan, KqlType::TimeSpan) => KqlType::TimeSpan,
            (KqlType::Int | KqlType::Long, KqlType::Int | KqlType::Long) => KqlType::Long,
            (f, st) => {
                return Err(unsupported(
                    format!("range from a {f} by a {st} step"),
                    span,
                ));
            }
        };
        let count = if (s > 0 && b < a) || (s < 0 && b > a) {
            0
        } else {
            (b - a) / s + 1
        };
        if count > 10_000_000 {
            return Err(Diagnostic::new(
                format!("range would produce {count} rows; the limit is 10,000,000"),
                span,
            ));
        }
        let rows: Vec<Vec<Expr>> = (0..count).map(|i| vec![lit(a + i * s)]).collect();
        let plan = if rows.is_empty() {
            LogicalPlanBuilder::values(vec![vec![lit(0i64)]])
                .and_then(|b| b.limit(0, Some(0)))
                .and_then(|b| b.build())
        } else {
            LogicalPlanBuilder::values(rows).and_then(|b| b.build())
        }
        .map_err(|e| df_error(e, span))?;
        let value = Expr::Column(Column::new_unqualified("column1"));
        let value = match ty {
            KqlType::Long => value,
            other => cast(value, other.arrow()),
        };
        let plan = project_plan(plan, vec![value.alias(column.name.clone())], span)?;
        Ok(Tab::new(plan, vec![ty]))
    }
}

impl Tab {
    /// Re-projects every column under its bare name, dropping qualifiers.
    pub(crate) fn unqualified(self, span: Span) -> Result<Tab, Diagnostic> {
        let exprs: Vec<Expr> = (0..self.types.len())
            .map(|i| {
                let name = self.schema().field(i).name().clone();
                self.column_at(i).alias(name)
            })
            .collect();
        let plan = project_plan(self.plan, exprs, span)?;
        Ok(Tab {
            plan,
            types: self.types,
            render: self.render,
            order: self.order,
        })
    }
}

/// Table names starting with this are `externaldata` sources: `externaldata:<format>:<skip
/// first record 0|1>:<uri>`, bound by the engine to a local copy of the URI.
pub const EXTERNALDATA_PREFIX: &str = "externaldata:";

/// The Arrow schema of declared columns (`datatable`, `externaldata`), KQL types in the
/// fields' metadata as for catalog tables.
fn declared_schema(
    columns: &[ast::ColumnDecl],
    types: &[KqlType],
) -> datafusion::arrow::datatypes::SchemaRef {
    let columns = columns
        .iter()
        .zip(types)
        .map(|(c, t)| spoor_catalog::Column {
            name: c.name.name.clone(),
            ty: *t,
            description: String::new(),
        })
        .collect();
    spoor_catalog::TableDef::new("declared", "", columns).schema()
}

/// A scan of a catalog table, columns unqualified.
pub(crate) fn scan(name: &str) -> Option<Tab> {
    let def = catalog().table(name)?;
    let source = Arc::new(LogicalTableSource::new(def.schema()));
    let plan =
        LogicalPlanBuilder::scan(datafusion::common::TableReference::bare(name), source, None)
            .and_then(|b| b.build())
            .ok()?;
    let types = def.columns.iter().map(|c| c.ty).collect();
    Tab::new(plan, types).unqualified(Span::default()).ok()
}

/// Whether a plan reads a table the evidence fills (or reads no table at all: datatable, print).
fn reads_data(plan: &LogicalPlan, tables_with_data: &std::collections::HashSet<String>) -> bool {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let (mut scans, mut filled) = (0, 0);
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            scans += 1;
            let name = scan.table_name.table();
            if name.starts_with(EXTERNALDATA_PREFIX) || tables_with_data.contains(name) {
                filled += 1;
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    scans == 0 || filled > 0
}

fn is_unknown_table(d: &Diagnostic) -> bool {
    d.message.starts_with("unknown table") || d.message.starts_with("unknown tabular function")
}

/// A `*` wildcard pattern as an anchored regex.
pub(crate) fn glob(pattern: &str) -> regex::Regex {
    let body: Vec<String> = pattern.split('*').map(regex::escape).collect();
    regex::Regex::new(&format!("^{}$", body.join(".*"))).expect("escaped pattern")
}

/// Kusto's union: every column of every operand, in order of first appearance, missing ones
/// null; a name that has different types in different operands becomes `name_type` in each.
pub(crate) fn union_tabs(
    parts: Vec<(String, Tab)>,
    source_column: Option<String>,
    span: Span,
    merge_types: bool,
) -> Result<Tab, Diagnostic> {
    let mut names: Vec<String> = Vec::new();
    let mut types_by_name: std::collections::HashMap<String, Vec<KqlType>> = Default::default();
    for (_, t) in &parts {
        for (n, ty) in t.names().into_iter().zip(&t.types) {
            let e = types_by_name.entry(n.clone()).or_default();
            if !e.contains(ty) {
                e.push(*ty);
            }
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    // Output columns: (output name, type, source name).
    let mut out: Vec<(String, KqlType, String)> = Vec::new();
    for n in &names {
        let tys = &types_by_name[n];
        if tys.len() == 1 || merge_types {
            out.push((n.clone(), tys[0], n.clone()));
        } else {
            for t in tys {
                out.push((format!("{n}_{}", t.name()), *t, n.clone()));
            }
        }
    }
    let mut plans: Vec<LogicalPlan> = Vec::new();
    for (label, t) in &parts {
        let mut exprs = Vec::new();
        if let Some(sc) = &source_column {
            exprs.push(lit(label.clone()).alias(sc.clone()));
        }
        for (out_name, ty, src) in &out {
            let e = match t.index_of(src) {
                Some(i) if t.types[i] == *ty => t.column_at(i),
                _ => null_of(*ty),
            };
            exprs.push(e.alias(out_name.clone()));
        }
        let p = project_plan(t.plan.clone(), exprs, span)?;
        plans.push(p);
    }
    let mut it = plans.into_iter();
    let mut b = LogicalPlanBuilder::from(it.next().expect("at least one part"));
    for p in it {
        b = b.union(p).map_err(|e| df_error(e, span))?;
    }
    let plan = b.build().map_err(|e| df_error(e, span))?;
    let mut types = Vec::new();
    if source_column.is_some() {
        types.push(KqlType::String);
    }
    types.extend(out.iter().map(|(_, t, _)| *t));
    let tab = Tab::new(plan, types);
    tab.unqualified(span)
}

/// Maps a KQL join kind to DataFusion's (innerunique is handled by the caller).
pub(crate) fn join_type(kind: &str) -> Option<JoinType> {
    Some(match kind {
        "inner" | "innerunique" => JoinType::Inner,
        "leftouter" => JoinType::Left,
        "rightouter" => JoinType::Right,
        "fullouter" => JoinType::Full,
        "leftsemi" => JoinType::LeftSemi,
        "leftanti" | "anti" | "leftantisemi" => JoinType::LeftAnti,
        "rightsemi" => JoinType::RightSemi,
        "rightanti" | "rightantisemi" => JoinType::RightAnti,
        _ => return None,
    })
}
