//! Scalar expressions: literals, columns, operators and functions, with KQL's typing rules.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::functions::expr_fn as f;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Expr, Operator, ScalarUDF, binary_expr, cast, lit, when};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use super::{Binding, Either, Planner, TExpr, Tab, bare_call, did_you_mean, unsupported};
use crate::syntax::ast::{self, BinaryOp, ExprKind, ListOp, Literal, StrOp};

/// The DataFusion UDF that implements a KQL function. Panics only if the functions crate and
/// the planner disagree on a name, which the planner's tests catch.
pub(crate) fn udf(name: &str) -> Arc<ScalarUDF> {
    spoor_functions::scalar(name)
        .unwrap_or_else(|| panic!("spoor-functions has no scalar function {name}"))
}

pub(crate) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(udf(name), args))
}

pub(crate) fn scalar_type(t: ast::ScalarType) -> KqlType {
    match t {
        ast::ScalarType::Bool => KqlType::Bool,
        ast::ScalarType::DateTime => KqlType::DateTime,
        ast::ScalarType::Decimal => KqlType::Decimal,
        ast::ScalarType::Dynamic => KqlType::Dynamic,
        ast::ScalarType::Guid => KqlType::Guid,
        ast::ScalarType::Int => KqlType::Int,
        ast::ScalarType::Long => KqlType::Long,
        ast::ScalarType::Real => KqlType::Real,
        ast::ScalarType::String => KqlType::String,
        ast::ScalarType::TimeSpan => KqlType::TimeSpan,
    }
}

/// A typed null.
pub(crate) fn null_of(ty: KqlType) -> Expr {
    Expr::Literal(
        ScalarValue::try_from(&ty.arrow()).unwrap_or(ScalarValue::Null),
        None,
    )
}

pub(crate) fn datetime_lit(ns: i64) -> Expr {
    lit(ScalarValue::TimestampNanosecond(Some(ns), None))
}

pub(crate) fn timespan_lit(ns: i64) -> Expr {
    lit(ScalarValue::DurationNanosecond(Some(ns)))
}

fn is_numeric(t: KqlType) -> bool {
    matches!(
        t,
        KqlType::Int | KqlType::Long | KqlType::Real | KqlType::Decimal
    )
}

fn is_stringish(t: KqlType) -> bool {
    matches!(t, KqlType::String | KqlType::Guid)
}

impl Planner {
    /// Plans a scalar expression over the columns of `input` (None: no row context, as in a
    /// `let` of a constant).
    pub(crate) fn scalar(
        &mut self,
        e: &ast::Expr,
        input: Option<&Tab>,
    ) -> Result<TExpr, Diagnostic> {
        match &e.kind {
            ExprKind::Literal(l) => self.literal(l, e.span),
            ExprKind::Name(id) => self.name(&id.name, id.span, input),
            ExprKind::Member { .. } | ExprKind::Index { .. } => self.path(e, input),
            ExprKind::Call(c) => self.call(c, e.span, input),
            ExprKind::Unary { op, operand } => {
                let v = self.scalar(operand, input)?;
                if !is_numeric(v.ty) && v.ty != KqlType::TimeSpan {
                    return Err(Diagnostic::new(
                        format!("cannot negate a {} value", v.ty),
                        e.span,
                    ));
                }
                Ok(match op {
                    ast::UnaryOp::Neg => TExpr::new(Expr::Negative(Box::new(v.expr)), v.ty),
                    ast::UnaryOp::Plus => v,
                })
            }
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right, e.span, input),
            ExprKind::InList { op, expr, items } => self.in_list(*op, expr, items, e.span, input),
            ExprKind::Between {
                negated,
                expr,
                low,
                high,
            } => {
                let v = self.scalar(expr, input)?;
                let lo = self.scalar(low, input)?;
                let mut hi = self.scalar(high, input)?;
                // `t between (t0 .. 1d)`: a timespan upper bound is measured from the lower one.
                if v.ty == KqlType::DateTime && hi.ty == KqlType::TimeSpan {
                    hi = TExpr::new(lo.expr.clone() + hi.expr, KqlType::DateTime);
                }
                let (v, lo) = coerce_pair(v, lo);
                let (v2, hi) = coerce_pair(v.clone(), hi);
                let b = v.expr.clone().gt_eq(lo.expr).and(v2.expr.lt_eq(hi.expr));
                Ok(TExpr::new(
                    if *negated { Expr::Not(Box::new(b)) } else { b },
                    KqlType::Bool,
                ))
            }
            ExprKind::Star => Err(Diagnostic::new("`*` is not a value here", e.span)),
            ExprKind::NamePattern(p) => Err(Diagnostic::new(
                format!("the pattern `{p}` is not a value"),
                e.span,
            )),
            ExprKind::JoinSide { .. } => Err(Diagnostic::new(
                "`$left`/`$right` can only be used in a join's `on` clause",
                e.span,
            )),
            ExprKind::Pipe { .. } => Err(Diagnostic::new(
                "a tabular expression is not a scalar value",
                e.span,
            )
            .with_hint("wrap it in toscalar(...) to use its first value")),
        }
    }

    fn literal(&self, l: &Literal, span: Span) -> Result<TExpr, Diagnostic> {
        Ok(match l {
            Literal::Null(t) => {
                let ty = t.map(scalar_type).unwrap_or(KqlType::Dynamic);
                TExpr::new(null_of(ty), ty)
            }
            Literal::Bool(b) => TExpr::new(lit(*b), KqlType::Bool),
            Literal::Int(i) => TExpr::new(lit(*i), KqlType::Int),
            Literal::Long(i) => TExpr::new(lit(*i), KqlType::Long),
            Literal::Real(r) => TExpr::new(lit(*r), KqlType::Real),
            Literal::Decimal(d) => {
                let v: f64 = d
                    .trim()
                    .parse()
                    .map_err(|_| Diagnostic::new(format!("`{d}` is not a decimal"), span))?;
                TExpr::new(lit(v), KqlType::Decimal)
            }
            Literal::String(s) => TExpr::new(lit(s.clone()), KqlType::String),
            Literal::DateTime(raw) => {
                let ns = spoor_functions::datetime::parse_kql_datetime(raw.trim()).ok_or_else(|| {
                    Diagnostic::new(format!("`{raw}` is not a datetime that Kusto accepts"), span)
                        .with_hint("use ISO 8601 (2023-08-09T10:00:00Z) or a form such as 8/9/2023 10:00:00")
                })?;
                TExpr::new(datetime_lit(ns), KqlType::DateTime)
            }
            Literal::TimeSpan(ns) => TExpr::new(timespan_lit(*ns), KqlType::TimeSpan),
            Literal::Guid(g) => TExpr::new(lit(g.trim().to_lowercase()), KqlType::Guid),
            Literal::Dynamic(v) => TExpr::new(
                if v.is_null() {
                    null_of(KqlType::Dynamic)
                } else {
                    lit(v.to_string())
                },
                KqlType::Dynamic,
            ),
        })
    }

    fn name(&mut self, name: &str, span: Span, input: Option<&Tab>) -> Result<TExpr, Diagnostic> {
        if let Some(tab) = input
            && let Some(c) = tab.column(name)
        {
            return Ok(TExpr::new(c, tab.type_of(name).expect("column exists")));
        }
        match self.lookup(name).cloned() {
            Some(Binding::Scalar { value, .. }) => return Ok(value),
            Some(Binding::Tabular(_)) => {
                return Err(
                    Diagnostic::new(format!("`{name}` is a table, not a value"), span)
                        .with_hint(format!("use toscalar({name}) to take its first value")),
                );
            }
            Some(Binding::Function(def)) if def.params.is_empty() => {
                let call = bare_call(name, span);
                if let Either::Scalar(v) = self.call_function(&def, &call, span, input)? {
                    return Ok(v);
                }
                return Err(Diagnostic::new(
                    format!("`{name}` returns a table, not a value"),
                    span,
                ));
            }
            _ => {}
        }
        if input.is_some() && self.needs_data.is_some() {
            // Checking without data after bag_unpack/pivot: the name may be one of the
            // columns that the data would have given (the plan is for checking only).
            return Ok(TExpr::new(null_of(KqlType::Dynamic), KqlType::Dynamic));
        }
        let mut d = Diagnostic::new(format!("unknown column or name `{name}`"), span);
        if let Some(tab) = input {
            let names = tab.names();
            if let Some(s) = did_you_mean(name, names.iter().map(String::as_str)) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            } else {
                let mut shown: Vec<&str> = names.iter().map(String::as_str).take(12).collect();
                if names.len() > 12 {
                    shown.push("...");
                }
                d = d.with_note(format!("the input has: {}", shown.join(", ")));
            }
        }
        Err(d)
    }

    /// `x.a.b`, `x["a"]`, `x[0]`: one `kql_json_get` over the base dynamic value.
    fn path(&mut self, e: &ast::Expr, input: Option<&Tab>) -> Result<TExpr, Diagnostic> {
        let mut keys = Vec::new();
        let mut cur = e;
        loop {
            match &cur.kind {
                ExprKind::Member { target, member } => {
                    keys.push(lit(member.name.clone()));
                    cur = target;
                }
                ExprKind::Index { target, index } => {
                    let k = self.scalar(index, input)?;
                    let k = match k.ty {
                        KqlType::Int | KqlType::Long => cast(k.expr, DataType::Int64),
                        t if is_stringish(t) => k.expr,
                        t => {
                            return Err(Diagnostic::new(
                                format!("an index must be a number or a string, not {t}"),
                                index.span,
                            ));
                        }
                    };
                    keys.push(k);
                    cur = target;
                }
                _ => break,
            }
        }
        keys.reverse();
        let base = self.scalar(cur, input)?;
        let base = match base.ty {
            KqlType::Dynamic => base.expr,
            // A string holding JSON is read as dynamic (Kusto requires parse_json first, but
            // real content often relies on columns that are dynamic in Kusto and text here).
            KqlType::String => call("kql_parse_json", vec![base.expr]),
            t => {
                return Err(Diagnostic::new(
                    format!("cannot access a property of a {t} value"),
                    cur.span,
                )
                .with_hint("property access needs a dynamic value; use parse_json() first"));
            }
        };
        let mut args = vec![base];
        args.extend(keys);
        Ok(TExpr::new(call("kql_json_get", args), KqlType::Dynamic))
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        left: &ast::Expr,
        right: &ast::Expr,
        span: Span,
        input: Option<&Tab>,
    ) -> Result<TExpr, Diagnostic> {
        let l = self.scalar(left, input)?;
        let r = self.scalar(right, input)?;
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let (l, r) = (to_bool(l, left.span)?, to_bool(r, right.span)?);
                let e = if op == BinaryOp::And {
                    l.and(r)
                } else {
                    l.or(r)
                };
                Ok(TExpr::new(e, KqlType::Bool))
            }
            BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq => {
                let (l, r) = coerce_pair(l, r);
                check_comparable(&l, &r, span)?;
                let o = match op {
                    BinaryOp::Eq => Operator::Eq,
                    BinaryOp::NotEq => Operator::NotEq,
                    BinaryOp::Lt => Operator::Lt,
                    BinaryOp::LtEq => Operator::LtEq,
                    BinaryOp::Gt => Operator::Gt,
                    _ => Operator::GtEq,
                };
                let (l, r) = if is_stringish(l.ty)
                    && is_stringish(r.ty)
                    && !(o == Operator::Eq
                        && (is_text_literal(&l.expr) || is_text_literal(&r.expr)))
                {
                    // Kusto strings are never null: an absent value is "". `x != "a"` keeps the
                    // rows without x and `x == ""` matches them. (`x == "a"` needs no rewrite,
                    // and stays plain so that the decoders can prefilter on the literal.)
                    (
                        TExpr::new(empty_if_null(l.expr), l.ty),
                        TExpr::new(empty_if_null(r.expr), r.ty),
                    )
                } else {
                    (l, r)
                };
                Ok(TExpr::new(binary_expr(l.expr, o, r.expr), KqlType::Bool))
            }
            BinaryOp::EqCi | BinaryOp::NotEqCi => {
                let e = call("kql_equals_ci", vec![as_string(l), as_string(r)]);
                Ok(TExpr::new(
                    if op == BinaryOp::NotEqCi {
                        Expr::Not(Box::new(e))
                    } else {
                        e
                    },
                    KqlType::Bool,
                ))
            }
            BinaryOp::Str {
                op,
                negated,
                case_sensitive,
            } => {
                let e = string_test(op, case_sensitive, as_string(l), r, right.span)?;
                Ok(TExpr::new(
                    if negated { Expr::Not(Box::new(e)) } else { e },
                    KqlType::Bool,
                ))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                arithmetic(op, l, r, span)
            }
        }
    }

    fn in_list(
        &mut self,
        op: ListOp,
        expr: &ast::Expr,
        items: &[ast::Expr],
        span: Span,
        input: Option<&Tab>,
    ) -> Result<TExpr, Diagnostic> {
        let v = self.scalar(expr, input)?;
        // A tabular operand: `x in (T | project y)`: its first column.
        if let [one] = items
            && self.is_tabular(one)
        {
            let sub = self.tabular(one)?;
            if sub.types.is_empty() {
                return Err(Diagnostic::new("the subquery has no columns", one.span));
            }
            let first = sub.column_at(0);
            let first_ty = sub.types[0];
            let subquery = |plan| datafusion::logical_expr::Subquery {
                subquery: Arc::new(plan),
                outer_ref_columns: vec![],
                spans: Default::default(),
            };
            let e = match op {
                ListOp::In | ListOp::NotIn => {
                    // The column's non-null values as one list (a scalar subquery, so that it
                    // works in extend as in where), then membership.
                    let plan = datafusion::logical_expr::LogicalPlanBuilder::from(sub.plan)
                        .filter(first.clone().is_not_null())
                        .and_then(|b| {
                            b.aggregate(
                                Vec::<Expr>::new(),
                                vec![
                                    datafusion::functions_aggregate::expr_fn::array_agg(first)
                                        .alias("list"),
                                ],
                            )
                        })
                        .and_then(|b| b.build())
                        .map_err(|e| super::df_error(e, one.span))?;
                    let (v, _) = coerce_pair(v, TExpr::new(null_of(first_ty), first_ty));
                    let v = if is_stringish(v.ty) {
                        empty_if_null(v.expr)
                    } else {
                        v.expr
                    };
                    let list = Expr::ScalarSubquery(subquery(plan));
                    // An empty subquery gives a null list: nothing is in it.
                    let found = f::coalesce(vec![
                        datafusion::functions_nested::expr_fn::array_has(list, v),
                        lit(false),
                    ]);
                    if op == ListOp::NotIn {
                        Expr::Not(Box::new(found))
                    } else {
                        found
                    }
                }
                _ => {
                    // in~ / has_any / has_all take the column's values as one JSON array.
                    let set = Expr::AggregateFunction(
                        datafusion::logical_expr::expr::AggregateFunction::new_udf(
                            spoor_functions::aggregate("kql_make_set").expect("kql_make_set"),
                            vec![to_dynamic(TExpr::new(first, first_ty)), lit(1_048_576i64)],
                            false,
                            None,
                            vec![],
                            None,
                        ),
                    );
                    let plan = datafusion::logical_expr::LogicalPlanBuilder::from(sub.plan)
                        .aggregate(Vec::<Expr>::new(), vec![set.alias("list")])
                        .and_then(|b| b.build())
                        .map_err(|e| super::df_error(e, one.span))?;
                    let list = Expr::ScalarSubquery(subquery(plan));
                    let name = match op {
                        ListOp::HasAny => "kql_has_any",
                        ListOp::HasAll => "kql_has_all",
                        _ => "kql_in_ci",
                    };
                    let e = call(name, vec![as_string(v), list]);
                    if op == ListOp::NotInCi {
                        Expr::Not(Box::new(e))
                    } else {
                        e
                    }
                }
            };
            return Ok(TExpr::new(e, KqlType::Bool));
        }
        let mut values: Vec<TExpr> = Vec::new();
        // A dynamic value known only when the query runs (a function parameter, `toscalar`...):
        // its elements are expanded then.
        let mut runtime_dynamic = false;
        for item in items {
            // A dynamic array (literal or let-bound) contributes its elements.
            let literal = match &item.kind {
                ExprKind::Literal(Literal::Dynamic(v)) => Some(v.clone()),
                ExprKind::Name(n) => match self.lookup(&n.name) {
                    Some(Binding::Scalar {
                        literal: Some(v), ..
                    }) => Some(v.clone()),
                    _ => None,
                },
                _ => None,
            };
            match literal {
                Some(serde_json::Value::Array(elems)) => {
                    for el in elems {
                        values.push(json_scalar(&el));
                    }
                }
                Some(other) => values.push(json_scalar(&other)),
                None => {
                    let value = self.scalar(item, input)?;
                    runtime_dynamic |= value.ty == KqlType::Dynamic;
                    values.push(value);
                }
            }
        }
        if runtime_dynamic && matches!(op, ListOp::In | ListOp::NotIn) {
            let mut args = vec![as_string(v)];
            args.extend(values.into_iter().map(as_string));
            let e = call("kql_in", args);
            return Ok(TExpr::new(
                if op == ListOp::NotIn {
                    Expr::Not(Box::new(e))
                } else {
                    e
                },
                KqlType::Bool,
            ));
        }
        match op {
            ListOp::In | ListOp::NotIn => {
                if values.is_empty() {
                    return Ok(TExpr::new(lit(matches!(op, ListOp::NotIn)), KqlType::Bool));
                }
                let target = if v.ty == KqlType::Dynamic {
                    values[0].ty
                } else {
                    v.ty
                };
                let v = convert_to(v, target);
                // `x !in ("a")` keeps rows without x (an absent string is "" in Kusto).
                let v = if op == ListOp::NotIn && is_stringish(target) {
                    TExpr::new(empty_if_null(v.expr), v.ty)
                } else {
                    v
                };
                let list: Vec<Expr> = values
                    .into_iter()
                    .map(|x| convert_to(x, target).expr)
                    .collect();
                Ok(TExpr::new(
                    Expr::InList(datafusion::logical_expr::expr::InList::new(
                        Box::new(v.expr),
                        list,
                        op == ListOp::NotIn,
                    )),
                    KqlType::Bool,
                ))
            }
            ListOp::InCi | ListOp::NotInCi => {
                let mut args = vec![as_string(v)];
                args.extend(values.into_iter().map(as_string));
                let e = call("kql_in_ci", args);
                Ok(TExpr::new(
                    if op == ListOp::NotInCi {
                        Expr::Not(Box::new(e))
                    } else {
                        e
                    },
                    KqlType::Bool,
                ))
            }
            ListOp::HasAny | ListOp::HasAll => {
                if values.is_empty() {
                    // Kusto: has_any of an empty list is false; has_all of an empty list is true.
                    return Ok(TExpr::new(lit(op == ListOp::HasAll), KqlType::Bool));
                }
                let mut args = vec![as_string(v)];
                args.extend(values.into_iter().map(as_string));
                let name = if op == ListOp::HasAny {
                    "kql_has_any"
                } else {
                    "kql_has_all"
                };
                let _ = span;
                Ok(TExpr::new(call(name, args), KqlType::Bool))
            }
        }
    }

    fn call(
        &mut self,
        c: &ast::Call,
        span: Span,
        input: Option<&Tab>,
    ) -> Result<TExpr, Diagnostic> {
        let name = c.func.name.as_str();
        if let Some(Binding::Function(def)) = self.lookup(name).cloned() {
            return match self.call_function(&def, c, span, input)? {
                Either::Scalar(v) => Ok(v),
                Either::Tabular(_) => Err(Diagnostic::new(
                    format!("`{name}` returns a table, not a value"),
                    span,
                )),
            };
        }
        if super::aggregate::is_aggregate(name) {
            return Err(Diagnostic::new(format!("`{name}` is an aggregation function"), span)
                .with_hint("aggregations are used in summarize (and make-series), e.g. `summarize count() by X`"));
        }
        let argc = c.args.len();
        let arity = |min: usize, max: usize| -> Result<(), Diagnostic> {
            if argc < min || argc > max {
                let want = if min == max {
                    format!("{min}")
                } else {
                    format!("{min} to {max}")
                };
                Err(Diagnostic::new(
                    format!("{name}() takes {want} argument(s), got {argc}"),
                    span,
                ))
            } else {
                Ok(())
            }
        };
        macro_rules! arg {
            ($i:expr) => {
                self.scalar(&c.args[$i], input)?
            };
        }
        let s = |e: Expr| TExpr::new(e, KqlType::String);
        let b = |e: Expr| TExpr::new(e, KqlType::Bool);
        let l = |e: Expr| TExpr::new(e, KqlType::Long);
        let d = |e: Expr| TExpr::new(e, KqlType::Dynamic);
        let now = self.options.now_ns;
        Ok(match name {
            "now" => {
                arity(0, 1)?;
                if argc == 1 {
                    let off = arg!(0);
                    TExpr::new(datetime_lit(now) + off.expr, KqlType::DateTime)
                } else {
                    TExpr::new(datetime_lit(now), KqlType::DateTime)
                }
            }
            "ago" => {
                arity(1, 1)?;
                let a = arg!(0);
                expect_type(&a, KqlType::TimeSpan, c.args[0].span, name)?;
                match const_duration(&a.expr) {
                    Some(ns) => TExpr::new(datetime_lit(now - ns), KqlType::DateTime),
                    None => TExpr::new(datetime_lit(now) - a.expr, KqlType::DateTime),
                }
            }
            "todatetime" | "todate" => {
                arity(1, 1)?;
                let a = arg!(0);
                TExpr::new(
                    match a.ty {
                        KqlType::DateTime => a.expr,
                        KqlType::Dynamic => call("kql_dyn_to_datetime", vec![a.expr]),
                        _ => call("kql_todatetime", vec![as_string(a)]),
                    },
                    KqlType::DateTime,
                )
            }
            "totimespan" | "totime" => {
                arity(1, 1)?;
                let a = arg!(0);
                TExpr::new(
                    match a.ty {
                        KqlType::TimeSpan => a.expr,
                        KqlType::Dynamic => call("kql_dyn_to_timespan", vec![a.expr]),
                        _ => call("kql_totimespan", vec![as_string(a)]),
                    },
                    KqlType::TimeSpan,
                )
            }
            "tostring" => {
                arity(1, 1)?;
                s(as_string(arg!(0)))
            }
            "toint" | "tolong" | "todouble" | "toreal" | "tobool" | "toboolean" | "todecimal" => {
                arity(1, 1)?;
                let a = arg!(0);
                let target = match name {
                    "toint" => KqlType::Int,
                    "tolong" => KqlType::Long,
                    "tobool" | "toboolean" => KqlType::Bool,
                    "todecimal" => KqlType::Decimal,
                    _ => KqlType::Real,
                };
                convert_to(a, target)
            }
            "toupper" => {
                arity(1, 1)?;
                s(f::upper(as_string(arg!(0))))
            }
            "tolower" => {
                arity(1, 1)?;
                s(f::lower(as_string(arg!(0))))
            }
            "strlen" => {
                arity(1, 1)?;
                // An absent string is "" in Kusto: its length is 0.
                l(cast(
                    f::character_length(empty_if_null(as_string(arg!(0)))),
                    DataType::Int64,
                ))
            }
            "strcat" => {
                if argc == 0 {
                    return Err(Diagnostic::new(
                        "strcat() needs at least one argument",
                        span,
                    ));
                }
                let mut parts = Vec::new();
                for i in 0..argc {
                    parts.push(f::coalesce(vec![as_string(arg!(i)), lit("")]));
                }
                s(f::concat(parts))
            }
            "substring" => {
                arity(2, 3)?;
                let mut args = vec![as_string(arg!(0)), cast(arg!(1).expr, DataType::Int64)];
                if argc == 3 {
                    args.push(cast(arg!(2).expr, DataType::Int64));
                }
                s(call("kql_substring", args))
            }
            "split" => {
                arity(2, 3)?;
                let mut args = vec![as_string(arg!(0)), as_string(arg!(1))];
                if argc == 3 {
                    args.push(cast(arg!(2).expr, DataType::Int64));
                }
                d(call("kql_split", args))
            }
            "trim" | "trim_start" | "trim_end" => {
                arity(2, 2)?;
                // trim(regex, text): the first argument is a regex.
                s(call(
                    &format!("kql_{name}"),
                    vec![regex_pattern(as_string(arg!(0))), as_string(arg!(1))],
                ))
            }
            "replace_string" => {
                arity(3, 3)?;
                s(f::replace(
                    as_string(arg!(0)),
                    as_string(arg!(1)),
                    as_string(arg!(2)),
                ))
            }
            "replace" => {
                // The legacy form: replace(regex, rewrite, text), every match replaced.
                arity(3, 3)?;
                let re = regex_pattern(as_string(arg!(0)));
                let rewrite = regex_rewrite(&c.args[1], as_string(arg!(1)));
                let text = as_string(arg!(2));
                s(datafusion::functions::expr_fn::regexp_replace(
                    text,
                    re,
                    rewrite,
                    Some(lit("g")),
                ))
            }
            "replace_regex" => {
                arity(3, 3)?;
                let text = as_string(arg!(0));
                let re = regex_pattern(as_string(arg!(1)));
                let rewrite = regex_rewrite(&c.args[2], as_string(arg!(2)));
                s(datafusion::functions::expr_fn::regexp_replace(
                    text,
                    re,
                    rewrite,
                    Some(lit("g")),
                ))
            }
            "extract" => {
                arity(3, 4)?;
                let mut e = call(
                    "kql_extract",
                    vec![
                        regex_pattern(as_string(arg!(0))),
                        cast(arg!(1).expr, DataType::Int64),
                        as_string(arg!(2)),
                    ],
                );
                let mut ty = KqlType::String;
                if argc == 4 {
                    let target = typeof_arg(&c.args[3])?;
                    let conv = convert_to(TExpr::new(e, KqlType::String), target);
                    e = conv.expr;
                    ty = target;
                }
                TExpr::new(e, ty)
            }
            "extract_all" => {
                arity(2, 3)?;
                // extract_all(regex, [captureGroups,] source)
                let args = if argc == 3 {
                    vec![
                        regex_pattern(as_string(arg!(0))),
                        to_dynamic(arg!(1)),
                        as_string(arg!(2)),
                    ]
                } else {
                    vec![regex_pattern(as_string(arg!(0))), as_string(arg!(1))]
                };
                d(call("kql_extract_all", args))
            }
            "extract_json" | "extractjson" => {
                arity(2, 3)?;
                let json = arg!(1);
                let json = if json.ty == KqlType::Dynamic {
                    json.expr
                } else {
                    as_string(json)
                };
                let e = call("kql_extract_json", vec![as_string(arg!(0)), json]);
                if argc == 3 {
                    let target = typeof_arg(&c.args[2])?;
                    convert_to(TExpr::new(e, KqlType::String), target)
                } else {
                    s(e)
                }
            }
            "parse_json" | "todynamic" | "toobject" | "parsejson" => {
                arity(1, 1)?;
                let a = arg!(0);
                match a.ty {
                    KqlType::Dynamic => a,
                    t if is_stringish(t) => d(call("kql_parse_json", vec![a.expr])),
                    _ => d(call("kql_to_json", vec![a.expr])),
                }
            }
            "array_length" | "arraylength" => {
                arity(1, 1)?;
                l(call("kql_array_length", vec![to_dynamic(arg!(0))]))
            }
            "pack_array" => {
                let mut args = Vec::new();
                for i in 0..argc {
                    args.push(to_dynamic(arg!(i)));
                }
                d(call("kql_pack_array", args))
            }
            "bag_pack" | "pack" | "pack_dictionary" => {
                if !argc.is_multiple_of(2) {
                    return Err(Diagnostic::new(
                        format!("{name}() takes key, value pairs"),
                        span,
                    ));
                }
                let mut args = Vec::new();
                for i in 0..argc {
                    let a = arg!(i);
                    args.push(if i % 2 == 0 {
                        as_string(a)
                    } else {
                        to_dynamic(a)
                    });
                }
                d(call("kql_bag_pack", args))
            }
            "parse_url" | "parseurl" => {
                arity(1, 1)?;
                d(call("kql_parse_url", vec![as_string(arg!(0))]))
            }
            "typeof" | "gettype" => {
                arity(1, 1)?;
                let a = arg!(0);
                if a.ty == KqlType::Dynamic {
                    // The value's own type, read from its JSON text as Kusto names it
                    // (https://learn.microsoft.com/kusto/query/gettype-function): a whole
                    // number is `int` in 32 bits, else `long`.
                    let text = f::btrim(vec![a.expr]);
                    let first = f::left(text.clone(), lit(1i64));
                    let whole = text
                        .clone()
                        .not_like(lit("%.%"))
                        .and(f::strpos(f::lower(text.clone()), lit("e")).eq(lit(0i64)));
                    let small = datafusion::logical_expr::try_cast(text.clone(), DataType::Int64)
                        .between(lit(i64::from(i32::MIN)), lit(i64::from(i32::MAX)));
                    let e = when(text.clone().is_null(), lit("null"))
                        .when(text.clone().eq(lit("")), lit("null"))
                        .when(text.clone().eq(lit("null")), lit("null"))
                        .when(first.clone().eq(lit("{")), lit("dictionary"))
                        .when(first.clone().eq(lit("[")), lit("array"))
                        .when(first.clone().eq(lit("\"")), lit("string"))
                        .when(
                            text.clone().in_list(vec![lit("true"), lit("false")], false),
                            lit("bool"),
                        )
                        .when(whole.clone().and(small), lit("int"))
                        .when(whole, lit("long"))
                        .otherwise(lit("real"))
                        .map_err(|e| super::df_error(e, span))?;
                    return Ok(TExpr::new(e, KqlType::String));
                }
                s(lit(a.ty.name()))
            }
            "ipv4_is_private" => {
                arity(1, 1)?;
                b(call("kql_ipv4_is_private", vec![as_string(arg!(0))]))
            }
            "ipv4_is_match" => {
                arity(2, 3)?;
                let mut args = vec![as_string(arg!(0)), as_string(arg!(1))];
                if argc == 3 {
                    args.push(cast(arg!(2).expr, DataType::Int64));
                }
                b(call("kql_ipv4_is_match", args))
            }
            "ipv4_is_in_range" | "ipv6_is_in_range" => {
                arity(2, 2)?;
                b(call(
                    &format!("kql_{name}"),
                    vec![as_string(arg!(0)), as_string(arg!(1))],
                ))
            }
            "isempty" | "isnotempty" => {
                arity(1, 1)?;
                let a = arg!(0);
                let empty = if is_stringish(a.ty) || a.ty == KqlType::Dynamic {
                    a.expr.clone().is_null().or(a.expr.eq(lit("")))
                } else {
                    a.expr.is_null()
                };
                b(if name == "isempty" {
                    empty
                } else {
                    Expr::Not(Box::new(empty))
                })
            }
            "isnull" | "isnotnull" => {
                arity(1, 1)?;
                let a = arg!(0);
                // Kusto strings are never null (an absent string is ""): isnull(string) is false.
                let is_null = if is_stringish(a.ty) {
                    lit(false)
                } else {
                    a.expr.is_null()
                };
                b(if name == "isnull" {
                    is_null
                } else {
                    Expr::Not(Box::new(is_null))
                })
            }
            "not" => {
                arity(1, 1)?;
                let inner = to_bool(arg!(0), c.args[0].span)?;
                // `x == "a"` is left plain (null when x is absent) so that decoders can
                // prefilter on the literal; negated, an absent string is "" as in Kusto, which
                // is not "a": `not(x == "a")` keeps the rows without x.
                let negated = match inner {
                    Expr::BinaryExpr(datafusion::logical_expr::BinaryExpr {
                        left,
                        op: Operator::Eq,
                        right,
                    }) if is_text_literal(&left) || is_text_literal(&right) => {
                        binary_expr(empty_if_null(*left), Operator::NotEq, empty_if_null(*right))
                    }
                    other => Expr::Not(Box::new(other)),
                };
                b(negated)
            }
            "iff" | "iif" => {
                arity(3, 3)?;
                let cond = to_bool(arg!(0), c.args[0].span)?;
                let (t, e) = coerce_pair(arg!(1), arg!(2));
                let ty = t.ty;
                TExpr::new(
                    when(cond, t.expr)
                        .otherwise(e.expr)
                        .map_err(|e| super::df_error(e, span))?,
                    ty,
                )
            }
            "case" => {
                if argc < 3 || argc.is_multiple_of(2) {
                    return Err(Diagnostic::new(
                        "case() takes condition, value pairs and an else value",
                        span,
                    ));
                }
                let mut values = Vec::new();
                let mut conds = Vec::new();
                for i in (0..argc - 1).step_by(2) {
                    conds.push(to_bool(arg!(i), c.args[i].span)?);
                    values.push(arg!(i + 1));
                }
                let otherwise = arg!(argc - 1);
                let ty = unify(
                    values
                        .iter()
                        .chain(std::iter::once(&otherwise))
                        .map(|v| v.ty),
                );
                let mut builder: Option<
                    datafusion::logical_expr::conditional_expressions::CaseBuilder,
                > = None;
                for (cnd, v) in conds.into_iter().zip(values) {
                    let v = convert_to(v, ty).expr;
                    builder = Some(match builder {
                        None => when(cnd, v),
                        Some(mut bld) => bld.when(cnd, v),
                    });
                }
                let mut bld = builder.expect("at least one pair");
                TExpr::new(
                    bld.otherwise(convert_to(otherwise, ty).expr)
                        .map_err(|e| super::df_error(e, span))?,
                    ty,
                )
            }
            "coalesce" => {
                if argc < 2 {
                    return Err(Diagnostic::new(
                        "coalesce() takes at least two arguments",
                        span,
                    ));
                }
                let mut vals = Vec::new();
                for i in 0..argc {
                    vals.push(arg!(i));
                }
                let ty = unify(vals.iter().map(|v| v.ty));
                // Kusto: the first value that is not null, and for strings not empty.
                let args = vals
                    .into_iter()
                    .map(|v| {
                        let e = convert_to(v, ty).expr;
                        if is_stringish(ty) {
                            f::nullif(e, lit(""))
                        } else {
                            e
                        }
                    })
                    .collect();
                TExpr::new(f::coalesce(args), ty)
            }
            "bin" | "floor" => {
                arity(2, 2)?;
                let v = arg!(0);
                let size = arg!(1);
                match (v.ty, size.ty) {
                    (KqlType::DateTime, KqlType::TimeSpan)
                    | (KqlType::TimeSpan, KqlType::TimeSpan) => {}
                    (a, b2) if is_numeric(a) && is_numeric(b2) => {}
                    (a, b2) => {
                        return Err(Diagnostic::new(format!("bin() cannot round a {a} value by a {b2} size"), span)
                            .with_hint("use bin(datetime, timespan), e.g. bin(TimeGenerated, 1h), or bin(number, number)"));
                    }
                }
                let ty = v.ty;
                TExpr::new(call("kql_bin", vec![v.expr, size.expr]), ty)
            }
            "datetime_diff" => {
                arity(3, 3)?;
                l(call(
                    "kql_datetime_diff",
                    vec![as_string(arg!(0)), arg!(1).expr, arg!(2).expr],
                ))
            }
            "format_datetime" => {
                arity(2, 2)?;
                s(call(
                    "kql_format_datetime",
                    vec![arg!(0).expr, as_string(arg!(1))],
                ))
            }
            // Local evidence is ingested when spoor reads it, at the query's now: a scheduled
            // rule's `where ingestion_time() > ago(lookback)` keeps every record, as it would
            // for records that just arrived in a workspace. (Kusto returns null only for tables
            // without an ingestion-time policy, which a workspace's tables always have.)
            "ingestion_time" => {
                arity(0, 0)?;
                TExpr::new(datetime_lit(now), KqlType::DateTime)
            }
            "cursor_after" | "cursor_before_or_at" | "cursor_current" => {
                return Err(Diagnostic::new(format!("{name}() has no meaning for local evidence"), span).with_hint(
                    "it reads Log Analytics ingestion metadata, which files do not carry; filter on TimeGenerated instead",
                ));
            }
            "column_ifexists" | "columnifexists" => {
                arity(2, 2)?;
                let ExprKind::Literal(Literal::String(column)) = &c.args[0].kind else {
                    return Err(Diagnostic::new(
                        format!("{name}() takes the column name as a string literal"),
                        c.args[0].span,
                    ));
                };
                match input.and_then(|t| {
                    t.column(column)
                        .map(|e| (e, t.type_of(column).expect("column exists")))
                }) {
                    Some((e, ty)) => TExpr::new(e, ty),
                    None => arg!(1),
                }
            }
            "toscalar" => {
                arity(1, 1)?;
                if !self.is_tabular(&c.args[0]) {
                    // toscalar() of a value is that value (content writes toscalar(ListName)
                    // of a `let` that already holds a dynamic array).
                    return self.scalar(&c.args[0], input);
                }
                let sub = self.tabular(&c.args[0])?;
                if sub.types.is_empty() {
                    return Err(Diagnostic::new(
                        "toscalar() of a table with no columns",
                        span,
                    ));
                }
                let ty = sub.types[0];
                let first = sub.column_at(0);
                let plan = datafusion::logical_expr::LogicalPlanBuilder::from(sub.plan)
                    .project(vec![first])
                    .and_then(|bld| bld.limit(0, Some(1)))
                    .and_then(|bld| bld.build())
                    .map_err(|e| super::df_error(e, span))?;
                TExpr::new(
                    Expr::ScalarSubquery(datafusion::logical_expr::Subquery {
                        subquery: Arc::new(plan),
                        outer_ref_columns: vec![],
                        spans: Default::default(),
                    }),
                    ty,
                )
            }
            name if SIMPLE_FUNCTIONS.iter().any(|f| f.0 == name) => {
                let (_, udf_name, kinds, returns_dynamic) = *SIMPLE_FUNCTIONS
                    .iter()
                    .find(|f| f.0 == name)
                    .expect("listed");
                let mut args = Vec::new();
                for i in 0..argc {
                    // The last kind repeats for variadic functions.
                    let kind = kinds.get(i).or(kinds.last()).copied().unwrap_or(Arg::Pass);
                    let a = arg!(i);
                    args.push(match kind {
                        Arg::Text => as_string(a),
                        Arg::Dyn => to_dynamic(a),
                        Arg::Pass => a.expr,
                    });
                }
                let e = call(udf_name, args);
                let ty = if returns_dynamic {
                    KqlType::Dynamic
                } else {
                    let schema = input
                        .map(|t| Arc::clone(t.schema()))
                        .unwrap_or_else(|| Arc::new(datafusion::common::DFSchema::empty()));
                    let dt = datafusion::logical_expr::ExprSchemable::get_type(&e, &schema)
                        .map_err(|err| super::df_error(err, span))?;
                    KqlType::from_arrow(&dt).unwrap_or(KqlType::String)
                };
                TExpr::new(e, ty)
            }
            _ => {
                if let Some(r) = self.series_function(c, span, input) {
                    return r;
                }
                let mut d = Diagnostic::new(format!("unknown function `{name}`"), c.func.span);
                let known = KNOWN_FUNCTIONS
                    .iter()
                    .copied()
                    .chain(SIMPLE_FUNCTIONS.iter().map(|f| f.0));
                if let Some(sugg) = did_you_mean(name, known) {
                    d = d.with_hint(format!("did you mean `{sugg}`?"));
                } else if spoor_catalog::catalog().table(name).is_some() {
                    d = d.with_hint(format!(
                        "`{name}` is a table; use it as the source of a pipeline"
                    ));
                } else {
                    d = d.with_hint(
                        "Kusto functions that spoor does not implement yet are reported this way",
                    );
                }
                return Err(d);
            }
        })
    }
}

/// How a simple function's argument is passed to its UDF.
#[derive(Debug, Clone, Copy)]
enum Arg {
    /// As text (tostring of dynamic and other types).
    Text,
    /// As dynamic JSON text (scalars wrapped as JSON values).
    Dyn,
    /// As it is; the UDF coerces it.
    Pass,
}

/// Kusto functions that map one-to-one onto a UDF: (Kusto name, UDF, argument kinds (the last
/// one repeats), returns dynamic). The result type of the others is the UDF's Arrow type.
#[rustfmt::skip]
const SIMPLE_FUNCTIONS: &[(&str, &str, &[Arg], bool)] = {
    use Arg::*;
    &[
        ("parse_xml", "kql_parse_xml", &[Text], true),
        ("round", "kql_round", &[Pass], false),
        ("abs", "kql_abs", &[Pass], false),
        ("max_of", "kql_max_of", &[Pass], false),
        ("min_of", "kql_min_of", &[Pass], false),
        ("binary_and", "kql_binary_and", &[Pass], false),
        ("binary_or", "kql_binary_or", &[Pass], false),
        ("dayofweek", "kql_dayofweek", &[Pass], false),
        ("dayofmonth", "kql_dayofmonth", &[Pass], false),
        ("hourofday", "kql_hourofday", &[Pass], false),
        ("getmonth", "kql_getmonth", &[Pass], false),
        ("monthofyear", "kql_getmonth", &[Pass], false),
        ("getyear", "kql_getyear", &[Pass], false),
        ("startofday", "kql_startofday", &[Pass], false),
        ("startofweek", "kql_startofweek", &[Pass], false),
        ("startofmonth", "kql_startofmonth", &[Pass], false),
        ("startofyear", "kql_startofyear", &[Pass], false),
        ("endofday", "kql_endofday", &[Pass], false),
        ("endofweek", "kql_endofweek", &[Pass], false),
        ("endofmonth", "kql_endofmonth", &[Pass], false),
        ("endofyear", "kql_endofyear", &[Pass], false),
        ("make_datetime", "kql_make_datetime", &[Pass], false),
        (
            "unixtime_seconds_todatetime",
            "kql_unixtime_seconds_todatetime",
            &[Pass],
            false,
        ),
        (
            "unixtime_milliseconds_todatetime",
            "kql_unixtime_milliseconds_todatetime",
            &[Pass],
            false,
        ),
        ("array_concat", "kql_array_concat", &[Dyn], true),
        ("array_slice", "kql_array_slice", &[Dyn, Pass], true),
        ("array_index_of", "kql_array_index_of", &[Dyn, Dyn], false),
        ("array_sort_asc", "kql_array_sort_asc", &[Dyn, Pass], true),
        ("array_sort_desc", "kql_array_sort_desc", &[Dyn, Pass], true),
        ("set_difference", "kql_set_difference", &[Dyn], true),
        ("set_union", "kql_set_union", &[Dyn], true),
        ("set_intersect", "kql_set_intersect", &[Dyn], true),
        ("set_has_element", "kql_set_has_element", &[Dyn, Dyn], false),
        ("bag_keys", "kql_bag_keys", &[Dyn], true),
        ("bag_merge", "kql_bag_merge", &[Dyn], true),
        ("zip", "kql_zip", &[Dyn], true),
        ("repeat", "kql_repeat", &[Dyn, Pass], true),
        ("strcat_array", "kql_strcat_array", &[Dyn, Text], false),
        // The older name, still accepted by Kusto and used by Microsoft's own content.
        ("array_strcat", "kql_strcat_array", &[Dyn, Text], false),
        ("dynamic_to_json", "kql_dynamic_to_json", &[Dyn], false),
        ("countof", "kql_countof", &[Text], false),
        ("indexof", "kql_indexof", &[Text, Text, Pass], false),
        (
            "indexof_regex",
            "kql_indexof_regex",
            &[Text, Text, Pass],
            false,
        ),
        ("reverse", "kql_reverse", &[Text], false),
        ("translate", "kql_translate", &[Text], false),
        // The range() function (a dynamic array), not the range operator.
        ("range", "kql_range", &[Pass], true),
        (
            "unicode_codepoints_to_string",
            "kql_unicode_codepoints_to_string",
            &[Dyn],
            false,
        ),
        // The deprecated name of unicode_codepoints_to_string.
        ("make_string", "kql_unicode_codepoints_to_string", &[Dyn], false),
        ("isascii", "kql_isascii", &[Text], false),
        ("isutf8", "kql_isutf8", &[Text], false),
        ("string_size", "kql_string_size", &[Text], false),
        ("url_encode", "kql_url_encode", &[Text], false),
        ("url_encode_component", "kql_url_encode", &[Text], false),
        ("url_decode", "kql_url_decode", &[Text], false),
        (
            "base64_encode_tostring",
            "kql_base64_encode_tostring",
            &[Text],
            false,
        ),
        (
            "base64_encodestring",
            "kql_base64_encode_tostring",
            &[Text],
            false,
        ),
        (
            "base64_decode_tostring",
            "kql_base64_decode_tostring",
            &[Text],
            false,
        ),
        (
            "base64_decodestring",
            "kql_base64_decode_tostring",
            &[Text],
            false,
        ),
        (
            "base64_decode_toarray",
            "kql_base64_decode_toarray",
            &[Text],
            true,
        ),
        ("tohex", "kql_tohex", &[Pass], false),
        ("hash_sha256", "kql_hash_sha256", &[Text], false),
        ("hash_md5", "kql_hash_md5", &[Text], false),
        (
            "ipv4_compare",
            "kql_ipv4_compare",
            &[Text, Text, Pass],
            false,
        ),
        ("parse_ipv4", "kql_parse_ipv4", &[Text], false),
        ("has_any_ipv4", "kql_has_any_ipv4", &[Text, Pass], false),
        ("has_ipv4", "kql_has_any_ipv4", &[Text, Text], false),
        (
            "has_any_ipv4_prefix",
            "kql_has_any_ipv4_prefix",
            &[Text, Pass],
            false,
        ),
        (
            "has_ipv4_prefix",
            "kql_has_any_ipv4_prefix",
            &[Text, Text],
            false,
        ),
        // spoor carries no geo database: the bag is always empty (see the UDF).
        ("geo_info_from_ip_address", "kql_geo_info_from_ip_address", &[Text], true),
    ]
};

/// Every scalar function name the planner knows (for suggestions).
const KNOWN_FUNCTIONS: &[&str] = &[
    "now",
    "ago",
    "todatetime",
    "totimespan",
    "tostring",
    "toint",
    "tolong",
    "todouble",
    "toreal",
    "tobool",
    "toupper",
    "tolower",
    "strlen",
    "strcat",
    "substring",
    "split",
    "trim",
    "trim_start",
    "trim_end",
    "replace_string",
    "replace_regex",
    "extract",
    "extract_all",
    "extract_json",
    "extractjson",
    "parse_json",
    "todynamic",
    "array_length",
    "pack_array",
    "bag_pack",
    "pack",
    "parse_url",
    "typeof",
    "ipv4_is_private",
    "ipv4_is_match",
    "ipv4_is_in_range",
    "ipv6_is_in_range",
    "isempty",
    "isnotempty",
    "isnull",
    "isnotnull",
    "not",
    "iff",
    "iif",
    "case",
    "coalesce",
    "bin",
    "floor",
    "startofday",
    "startofweek",
    "startofmonth",
    "startofyear",
    "datetime_diff",
    "format_datetime",
    "toscalar",
];

/// A regex pattern as Kusto reads it (RE2) rewritten for Rust's `regex` crate, which rejects a
/// few things RE2 takes literally: a `{` that starts no repetition (`(\\{|%7B)`), and `[`, `&`
/// or `~` inside a character class (`[[]`; Rust reads `[[`, `&&`, `~~` as nested classes and
/// set operations). Everything else is the same syntax
/// (<https://learn.microsoft.com/kusto/query/re2>).
pub(crate) fn re2_to_rust(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // `]` right after `[` or `[^` is a literal member.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if chars.get(i + 1) == Some(&':') => out.push('['), // [[:alpha:]]
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '{' if !in_class && !starts_repetition(&chars[i..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Whether `{n}`, `{n,}` or `{n,m}` starts here.
fn starts_repetition(chars: &[char]) -> bool {
    let Some(end) = chars.iter().position(|&c| c == '}') else {
        return false;
    };
    let inner: String = chars[1..end].iter().collect();
    let mut parts = inner.splitn(2, ',');
    let low = parts.next().unwrap_or("");
    let high = parts.next();
    !low.is_empty()
        && low.chars().all(|c| c.is_ascii_digit())
        && high.is_none_or(|h| h.chars().all(|c| c.is_ascii_digit()))
}

/// A literal regex pattern rewritten for Rust (see [`re2_to_rust`]); a computed one as is.
pub(crate) fn regex_pattern(e: Expr) -> Expr {
    match e {
        Expr::Literal(ScalarValue::Utf8(Some(p)), _) => lit(re2_to_rust(&p)),
        other => other,
    }
}

/// `replace_regex` rewrite strings use `\1`; Rust's regex uses `${1}`.
fn regex_rewrite(e: &ast::Expr, planned: Expr) -> Expr {
    if let ExprKind::Literal(Literal::String(s)) = &e.kind {
        let re = regex::Regex::new(r"\\(\d)").expect("valid regex");
        return lit(re.replace_all(s, "$${$1}").into_owned());
    }
    planned
}

fn typeof_arg(e: &ast::Expr) -> Result<KqlType, Diagnostic> {
    if let ExprKind::Call(c) = &e.kind
        && c.func.name == "typeof"
        && let [a] = c.args.as_slice()
        && let ExprKind::Name(n) = &a.kind
        && let Some(t) = KqlType::parse(&n.name)
    {
        return Ok(t);
    }
    Err(Diagnostic::new(
        "expected a type such as typeof(long)",
        e.span,
    ))
}

fn expect_type(v: &TExpr, want: KqlType, span: Span, func: &str) -> Result<(), Diagnostic> {
    if v.ty == want || (want == KqlType::TimeSpan && v.ty == KqlType::Dynamic) {
        Ok(())
    } else {
        Err(Diagnostic::new(
            format!("{func}() expects a {want}, got a {}", v.ty),
            span,
        ))
    }
}

fn const_duration(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(ScalarValue::DurationNanosecond(Some(v)), _) => Some(*v),
        _ => None,
    }
}

/// A JSON scalar from a dynamic literal as a typed value (for `in (dynamic([...]))`).
fn json_scalar(v: &serde_json::Value) -> TExpr {
    match v {
        serde_json::Value::String(s) => TExpr::new(lit(s.clone()), KqlType::String),
        serde_json::Value::Bool(b) => TExpr::new(lit(*b), KqlType::Bool),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => TExpr::new(lit(i), KqlType::Long),
            None => TExpr::new(lit(n.as_f64().unwrap_or(f64::NAN)), KqlType::Real),
        },
        serde_json::Value::Null => TExpr::new(null_of(KqlType::Dynamic), KqlType::Dynamic),
        other => TExpr::new(lit(other.to_string()), KqlType::Dynamic),
    }
}

/// A non-empty string literal.
fn is_text_literal(e: &Expr) -> bool {
    matches!(e, Expr::Literal(ScalarValue::Utf8(Some(v)), _) if !v.is_empty())
}

/// Text with null read as "" (Kusto has no null strings).
fn empty_if_null(e: Expr) -> Expr {
    match e {
        Expr::Literal(ScalarValue::Utf8(Some(_)), _) => e,
        other => f::coalesce(vec![other, lit("")]),
    }
}

/// The value as text, the way Kusto's tostring() prints it.
pub(crate) fn as_string(v: TExpr) -> Expr {
    match v.ty {
        KqlType::String | KqlType::Guid => v.expr,
        KqlType::Dynamic => call("kql_dyn_to_string", vec![v.expr]),
        _ => call("kql_tostring", vec![v.expr]),
    }
}

/// The value as dynamic JSON text.
pub(crate) fn to_dynamic(v: TExpr) -> Expr {
    match v.ty {
        KqlType::Dynamic => v.expr,
        _ => call("kql_to_json", vec![v.expr]),
    }
}

pub(crate) fn to_bool(v: TExpr, span: Span) -> Result<Expr, Diagnostic> {
    match v.ty {
        KqlType::Bool => Ok(v.expr),
        KqlType::Dynamic => Ok(call("kql_dyn_to_bool", vec![v.expr])),
        t => Err(
            Diagnostic::new(format!("expected a bool, found a {t} value"), span).with_hint(
                "a condition must be true or false, e.g. a comparison such as X == \"value\"",
            ),
        ),
    }
}

/// Converts a value to a KQL type (tolong(), toint(), tostring()... and implicit conversions).
pub(crate) fn convert_to(v: TExpr, target: KqlType) -> TExpr {
    if v.ty == target {
        return v;
    }
    let e = match (v.ty, target) {
        (_, KqlType::String) | (_, KqlType::Guid) => as_string(v),
        (_, KqlType::Dynamic) => to_dynamic(v),
        (KqlType::Dynamic, KqlType::Long) => call("kql_dyn_to_long", vec![v.expr]),
        (KqlType::Dynamic, KqlType::Int) => call("kql_dyn_to_int", vec![v.expr]),
        (KqlType::Dynamic, KqlType::Real | KqlType::Decimal) => {
            call("kql_dyn_to_double", vec![v.expr])
        }
        (KqlType::Dynamic, KqlType::Bool) => call("kql_dyn_to_bool", vec![v.expr]),
        (KqlType::Dynamic, KqlType::DateTime) => call("kql_dyn_to_datetime", vec![v.expr]),
        (KqlType::Dynamic, KqlType::TimeSpan) => call("kql_dyn_to_timespan", vec![v.expr]),
        (KqlType::String | KqlType::Guid, KqlType::Long) => call("kql_tolong", vec![v.expr]),
        (KqlType::String | KqlType::Guid, KqlType::Int) => call("kql_toint", vec![v.expr]),
        (KqlType::String | KqlType::Guid, KqlType::Real | KqlType::Decimal) => {
            call("kql_todouble", vec![v.expr])
        }
        (KqlType::String | KqlType::Guid, KqlType::Bool) => call("kql_tobool", vec![v.expr]),
        (KqlType::String | KqlType::Guid, KqlType::DateTime) => {
            call("kql_todatetime", vec![v.expr])
        }
        (KqlType::String | KqlType::Guid, KqlType::TimeSpan) => {
            call("kql_totimespan", vec![v.expr])
        }
        (KqlType::Real | KqlType::Decimal, KqlType::Long | KqlType::Int) => {
            // Kusto's tolong(real) truncates toward zero, as a cast does.
            cast(v.expr, target.arrow())
        }
        (KqlType::DateTime, KqlType::Long) => {
            // tolong(datetime) is the number of 100 ns ticks since 0001-01-01.
            cast(v.expr, DataType::Int64) / lit(100i64) + lit(621_355_968_000_000_000i64)
        }
        (KqlType::TimeSpan, KqlType::Long) => cast(v.expr, DataType::Int64) / lit(100i64),
        _ => cast(v.expr, target.arrow()),
    };
    TExpr::new(e, target)
}

/// The common type of several values (for iff/case/coalesce).
fn unify(types: impl Iterator<Item = KqlType>) -> KqlType {
    let mut out: Option<KqlType> = None;
    for t in types {
        out = Some(match out {
            None => t,
            Some(o) if o == t => o,
            Some(o) if is_numeric(o) && is_numeric(t) => {
                if o == KqlType::Real
                    || t == KqlType::Real
                    || o == KqlType::Decimal
                    || t == KqlType::Decimal
                {
                    KqlType::Real
                } else {
                    KqlType::Long
                }
            }
            // An untyped null (dynamic) adopts the other side's type.
            Some(KqlType::Dynamic) => t,
            Some(o) if t == KqlType::Dynamic => o,
            Some(_) => KqlType::String,
        });
    }
    out.unwrap_or(KqlType::String)
}

/// Brings two values to a type they can be compared or combined in.
pub(crate) fn coerce_pair(l: TExpr, r: TExpr) -> (TExpr, TExpr) {
    if l.ty == r.ty {
        return (l, r);
    }
    match (l.ty, r.ty) {
        (KqlType::Dynamic, t) => (convert_to(l, t), r),
        (t, KqlType::Dynamic) => (l, convert_to(r, t)),
        (a, b) if is_numeric(a) && is_numeric(b) => {
            let t = unify([a, b].into_iter());
            (convert_to(l, t), convert_to(r, t))
        }
        (KqlType::String, KqlType::Guid) | (KqlType::Guid, KqlType::String) => (l, r),
        // Real content compares numbers with text (`EventID == '4656'`, a parsed `LogonType ==
        // 10`) and Kusto accepts it: the text side is read as the other side's type.
        (s, t) if is_stringish(s) && (is_numeric(t) || t == KqlType::Bool) => (convert_to(l, t), r),
        (t, s) if is_stringish(s) && (is_numeric(t) || t == KqlType::Bool) => (l, convert_to(r, t)),
        _ => (l, r),
    }
}

fn check_comparable(l: &TExpr, r: &TExpr, span: Span) -> Result<(), Diagnostic> {
    let ok = l.ty == r.ty
        || (is_numeric(l.ty) && is_numeric(r.ty))
        || (is_stringish(l.ty) && is_stringish(r.ty))
        || matches!(&l.expr, Expr::Literal(ScalarValue::Null, _))
        || matches!(&r.expr, Expr::Literal(ScalarValue::Null, _));
    if ok {
        Ok(())
    } else {
        Err(Diagnostic::new(format!("cannot compare a {} value with a {} value", l.ty, r.ty), span).with_hint(
            match (l.ty, r.ty) {
                (KqlType::DateTime, KqlType::String) | (KqlType::String, KqlType::DateTime) => {
                    "write the time as a datetime literal, e.g. datetime(2023-08-09), or convert with todatetime()"
                }
                _ => "convert one side, e.g. with tostring(), tolong() or todatetime()",
            },
        ))
    }
}

fn string_test(
    op: StrOp,
    cs: bool,
    text: Expr,
    needle: TExpr,
    span: Span,
) -> Result<Expr, Diagnostic> {
    let needle_e = as_string(needle.clone());
    Ok(match (op, cs) {
        (StrOp::Has, false) => call("kql_has", vec![text, needle_e]),
        (StrOp::Has, true) => call("kql_has_cs", vec![text, needle_e]),
        (StrOp::Contains, false) => call("kql_contains", vec![text, needle_e]),
        (StrOp::Contains, true) => call("kql_contains_cs", vec![text, needle_e]),
        (StrOp::StartsWith, false) => call("kql_startswith", vec![text, needle_e]),
        (StrOp::StartsWith, true) => call("kql_startswith_cs", vec![text, needle_e]),
        (StrOp::EndsWith, false) => call("kql_endswith", vec![text, needle_e]),
        (StrOp::EndsWith, true) => call("kql_endswith_cs", vec![text, needle_e]),
        // An absent string is "" in Kusto: `x matches regex "^$"` holds for it, `not(...)` of
        // any other pattern too.
        (StrOp::MatchesRegex, _) => {
            f::regexp_like(empty_if_null(text), regex_pattern(needle_e), None)
        }
        (StrOp::HasPrefix | StrOp::HasSuffix, _) => {
            // A term prefix/suffix: the needle must start (or end) at a term boundary. Only a
            // literal needle can be turned into the regex.
            let Expr::Literal(ScalarValue::Utf8(Some(n)), _) = &needle.expr else {
                return Err(unsupported(
                    "hasprefix/hassuffix with a computed needle",
                    span,
                ));
            };
            let body = regex::escape(n);
            let flags = if cs { "" } else { "(?i)" };
            let pattern = if op == StrOp::HasPrefix {
                format!(r"{flags}(?:^|[^\p{{L}}\p{{N}}]){body}")
            } else {
                format!(r"{flags}{body}(?:$|[^\p{{L}}\p{{N}}])")
            };
            f::regexp_like(text, lit(pattern), None)
        }
    })
}

fn arithmetic(op: BinaryOp, l: TExpr, r: TExpr, span: Span) -> Result<TExpr, Diagnostic> {
    use KqlType::*;
    let (l, r) = coerce_pair(l, r);
    let o = match op {
        BinaryOp::Add => Operator::Plus,
        BinaryOp::Sub => Operator::Minus,
        BinaryOp::Mul => Operator::Multiply,
        BinaryOp::Div => Operator::Divide,
        _ => Operator::Modulo,
    };
    let ty = match (l.ty, op, r.ty) {
        (DateTime, BinaryOp::Sub, DateTime) => TimeSpan,
        (DateTime, BinaryOp::Add | BinaryOp::Sub, TimeSpan) => DateTime,
        (TimeSpan, BinaryOp::Add, DateTime) => DateTime,
        (TimeSpan, BinaryOp::Add | BinaryOp::Sub, TimeSpan) => TimeSpan,
        (TimeSpan, BinaryOp::Div, TimeSpan) => {
            // timespan / timespan is a real number (how many of one fit in the other).
            let e = cast(l.expr, DataType::Int64);
            let d = cast(r.expr, DataType::Int64);
            return Ok(TExpr::new(
                cast(e, DataType::Float64) / cast(d, DataType::Float64),
                Real,
            ));
        }
        (TimeSpan, BinaryOp::Mul | BinaryOp::Div, t) | (t, BinaryOp::Mul, TimeSpan)
            if is_numeric(t) =>
        {
            // Scale the duration as a number of nanoseconds.
            let (dur, num) = if l.ty == TimeSpan {
                (l.expr, r.expr)
            } else {
                (r.expr, l.expr)
            };
            let ns = cast(dur, DataType::Int64);
            let scaled = binary_expr(cast(ns, DataType::Float64), o, cast(num, DataType::Float64));
            return Ok(TExpr::new(
                cast(
                    cast(scaled, DataType::Int64),
                    DataType::Duration(TimeUnit::Nanosecond),
                ),
                TimeSpan,
            ));
        }
        (a, _, b) if is_numeric(a) && is_numeric(b) => unify([a, b].into_iter()),
        (a, _, b) => {
            return Err(
                Diagnostic::new(format!("cannot apply `{o}` to a {a} and a {b}"), span).with_hint(
                    if a == String || b == String {
                        "use strcat() to join strings"
                    } else {
                        "convert one side first"
                    },
                ),
            );
        }
    };
    let e = binary_expr(l.expr, o, r.expr);
    // Keep datetimes in the catalog's Arrow type whatever DataFusion's arithmetic returns.
    let e = if ty == DateTime {
        cast(e, DataType::Timestamp(TimeUnit::Nanosecond, None))
    } else {
        e
    };
    Ok(TExpr::new(e, ty))
}

#[cfg(test)]
mod tests {
    use super::re2_to_rust;

    #[test]
    fn re2_patterns_that_rust_rejects_are_rewritten_to_the_same_meaning() {
        // Each rewritten pattern compiles and matches what RE2 matches.
        let cases: &[(&str, &str, bool)] = &[
            // RE2 takes the `{` after an escaped backslash literally.
            (r"(\\$|%24)(\\{|%7B)", r"%24\{", true),
            (r"[[]", "[", true),
            (r"a{2}", "aa", true),
            (r"a{2,}", "aaa", true),
            (r"x{y", "x{y", true),
            (r"[]a]", "]", true),
            (r"[^]a]", "b", true),
            (r"[a&&b]", "&", true),
            (r"[[:digit:]]+", "42", true),
            (r"\[x\]", "[x]", true),
        ];
        for (pattern, text, matches) in cases {
            let rewritten = re2_to_rust(pattern);
            let re = regex::Regex::new(&rewritten)
                .unwrap_or_else(|e| panic!("{pattern} -> {rewritten}: {e}"));
            assert_eq!(
                re.is_match(text),
                *matches,
                "{pattern} -> {rewritten} on {text}"
            );
        }
        assert_eq!(re2_to_rust(r"a{2,3}b\d[a-z]"), r"a{2,3}b\d[a-z]");
    }
}
