//! A Sigma detection compiled to a DataFusion predicate over one table.
//!
//! Semantics follow the Sigma specification (v2.1): values match case-insensitively unless
//! `cased`; `*` and `?` are wildcards and `\` escapes them; a list of values is any of them (all
//! of them with `all`); the items of a map are all required; a list of maps is any of them. A
//! field the event does not have matches nothing, so `not` is written `IS NOT TRUE` (a missing
//! field makes `not selection` true, as Sigma means it, where SQL's `NOT NULL` would drop the
//! event).
//! Spec: https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-rules-specification.md

use std::collections::HashMap;

use base64::Engine as _;
use datafusion::arrow::datatypes::DataType;
use datafusion::functions::expr_fn::{
    date_part, ends_with, lower, regexp_like, starts_with, strpos,
};
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{Expr, cast, col, lit, try_cast};
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaString,
    SigmaValue, SpecialChar, StringPart,
};
use spoor_catalog::{KqlType, TableDef};

use crate::mapping::{TableFields, Target};

/// Why a detection cannot be compiled for a table.
#[derive(Debug, Clone, PartialEq)]
pub enum CompileError {
    /// Fields the table has no column for (the table cannot run the rule).
    MissingFields(Vec<String>),
    /// Anything else: the rule asks for something spoor does not do, or is malformed.
    Unsupported(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::MissingFields(fields) => {
                write!(f, "no column for field")?;
                if fields.len() > 1 {
                    write!(f, "s")?;
                }
                write!(f, " {}", fields.join(", "))
            }
            CompileError::Unsupported(s) => f.write_str(s),
        }
    }
}

type Compiled<T> = Result<T, CompileError>;

fn unsupported<T>(what: impl Into<String>) -> Compiled<T> {
    Err(CompileError::Unsupported(what.into()))
}

/// Values for `%name%` placeholders (the `expand` modifier).
pub type Placeholders = HashMap<String, Vec<String>>;

/// Compiles detections against one table: resolves Sigma field names to columns.
pub(crate) struct Compiler<'a> {
    pub def: &'a TableDef,
    pub target: &'a Target,
    pub table: Option<&'a TableFields>,
    pub placeholders: &'a Placeholders,
}

/// A field read from the table: the expression and its type.
struct FieldRef {
    expr: Expr,
    ty: KqlType,
}

impl Compiler<'_> {
    /// The predicate of a detection section: `condition` over the named detections.
    pub fn detections(
        &self,
        named: &HashMap<String, Detection>,
        conditions: &[ConditionExpr],
    ) -> Compiled<Expr> {
        // Several conditions (a deprecated list) are alternatives.
        let parts = conditions
            .iter()
            .map(|c| self.condition(c, named))
            .collect::<Compiled<_>>()?;
        balanced(parts, Expr::or)
            .ok_or_else(|| CompileError::Unsupported("the detection has no condition".into()))
    }

    /// The conditions that pick the target's events out of its table (`where` in the mapping).
    pub fn target_conditions(&self) -> Compiled<Option<Expr>> {
        let mut columns = Vec::new();
        for (column, values) in &self.target.conditions.0 {
            let Some(c) = self.def.column(column) else {
                return unsupported(format!(
                    "the mapping names column {column}, which {} does not have",
                    self.def.name
                ));
            };
            let field = FieldRef {
                expr: col_expr(&c.name),
                ty: c.ty,
            };
            let mut any_value = Vec::with_capacity(values.len());
            for v in values {
                let v = match v {
                    yaml_serde::Value::Number(n) if n.is_i64() => {
                        SigmaValue::Integer(n.as_i64().unwrap_or_default())
                    }
                    yaml_serde::Value::String(s) => SigmaValue::String(SigmaString::from_raw(s)),
                    other => SigmaValue::String(SigmaString::from_raw(
                        &yaml_serde::to_string(other).unwrap_or_default(),
                    )),
                };
                any_value.push(self.equals(&field, &v, Kind::Exact, false)?);
            }
            columns.extend(balanced(any_value, Expr::or));
        }
        Ok(balanced(columns, Expr::and))
    }

    fn condition(&self, c: &ConditionExpr, named: &HashMap<String, Detection>) -> Compiled<Expr> {
        Ok(match c {
            ConditionExpr::And(parts) => all(parts
                .iter()
                .map(|p| self.condition(p, named))
                .collect::<Compiled<_>>()?),
            ConditionExpr::Or(parts) => any(parts
                .iter()
                .map(|p| self.condition(p, named))
                .collect::<Compiled<_>>()?),
            ConditionExpr::Not(inner) => self.condition(inner, named)?.is_not_true(),
            ConditionExpr::Identifier(name) => match named.get(name) {
                Some(d) => self.detection(d)?,
                None => {
                    return unsupported(format!(
                        "the condition names `{name}`, which the detection does not define"
                    ));
                }
            },
            ConditionExpr::Selector {
                quantifier,
                pattern,
            } => {
                let mut names: Vec<&String> = match pattern {
                    // `them`: every search identifier except those starting with an underscore.
                    SelectorPattern::Them => named.keys().filter(|n| !n.starts_with('_')).collect(),
                    SelectorPattern::Pattern(p) => {
                        named.keys().filter(|n| glob_match(p, n)).collect()
                    }
                };
                names.sort();
                if names.is_empty() {
                    return unsupported(format!(
                        "the condition's `{quantifier} of {pattern}` matches no search identifier"
                    ));
                }
                let parts = names
                    .iter()
                    .map(|n| self.detection(&named[*n]))
                    .collect::<Compiled<Vec<Expr>>>()?;
                match quantifier {
                    Quantifier::Any => any(parts),
                    Quantifier::All => all(parts),
                    Quantifier::Count(n) => {
                        let ones = parts.into_iter().map(|p| {
                            datafusion::logical_expr::when(p.is_true(), lit(1i64))
                                .otherwise(lit(0i64))
                                .expect("a CASE with one branch")
                        });
                        ones.reduce(|a, b| a + b)
                            .unwrap_or(lit(0i64))
                            .gt_eq(lit(*n as i64))
                    }
                }
            }
        })
    }

    fn detection(&self, d: &Detection) -> Compiled<Expr> {
        match d {
            Detection::AllOf(items) => {
                // An empty map matches every event.
                let parts = collect_missing(items.iter().map(|item| self.item(item)))?;
                Ok(all(parts))
            }
            Detection::AnyOf(ds) => {
                let parts = collect_missing(ds.iter().map(|d| self.detection(d)))?;
                Ok(any(parts))
            }
            Detection::Keywords(values) => {
                let item = DetectionItem {
                    field: rsigma_parser::FieldSpec::new(None, vec![]),
                    values: values.clone(),
                };
                self.item(&item)
            }
            Detection::And(ds) => {
                let parts = ds
                    .iter()
                    .map(|d| self.detection(d))
                    .collect::<Compiled<Vec<_>>>()?;
                Ok(all(parts))
            }
            Detection::ArrayMatch { field, .. } => unsupported(format!(
                "array matching (`{field}[any]`/`[all]`, a proposed Sigma extension) is not supported"
            )),
            Detection::Conditional { .. } => unsupported(
                "element-scoped conditions inside array matching (a proposed Sigma extension) are not supported",
            ),
        }
    }

    /// One `field|modifiers: values` item.
    fn item(&self, item: &DetectionItem) -> Compiled<Expr> {
        let mut mods = Mods::of(&item.field.modifiers)?;
        if mods.exists.is_some() {
            // `field|exists: true|false`: the value says which.
            mods.exists = Some(match item.values.as_slice() {
                [SigmaValue::Bool(b)] => *b,
                [SigmaValue::String(s)] if s.original.eq_ignore_ascii_case("true") => true,
                [SigmaValue::String(s)] if s.original.eq_ignore_ascii_case("false") => false,
                _ => return unsupported("exists: the value must be true or false"),
            });
        }
        let values = rewrite_values(&item.values, &mods, self.placeholders)?;
        let Some(name) = &item.field.name else {
            return self.keywords(&values, &mods);
        };
        let field = match self.field(name) {
            Some(f) => f,
            None => {
                // A field the table does not have: it is absent from every event.
                if let Some(exists) = mods.exists {
                    return Ok(lit(!exists));
                }
                if values.iter().all(|v| matches!(v, SigmaValue::Null)) && !values.is_empty() {
                    return Ok(lit(true));
                }
                return Err(CompileError::MissingFields(vec![name.clone()]));
            }
        };
        if let Some(exists) = mods.exists {
            return Ok(if exists {
                field.expr.is_not_null()
            } else {
                field.expr.is_null()
            });
        }
        let mut parts = Vec::with_capacity(values.len());
        for v in &values {
            parts.push(self.value(&field, v, &mods)?);
        }
        if parts.is_empty() {
            return unsupported(format!("field {name} has an empty list of values"));
        }
        Ok(if mods.all { all(parts) } else { any(parts) })
    }

    /// Values without a field: searched in the table's keyword columns.
    fn keywords(&self, values: &[SigmaValue], mods: &Mods) -> Compiled<Expr> {
        let columns: Vec<FieldRef> = match self.table.and_then(|t| t.keywords.as_ref()) {
            Some(cols) => cols
                .iter()
                .filter_map(|c| self.def.column(c))
                .map(|c| FieldRef {
                    expr: col_expr(&c.name),
                    ty: c.ty,
                })
                .collect(),
            None => self
                .def
                .columns
                .iter()
                .filter(|c| c.ty == KqlType::String)
                .map(|c| FieldRef {
                    expr: col_expr(&c.name),
                    ty: c.ty,
                })
                .collect(),
        };
        if columns.is_empty() {
            return unsupported(format!(
                "keyword search: {} has no text column to search",
                self.def.name
            ));
        }
        // A keyword is found anywhere in a value unless its modifiers say otherwise.
        let mut mods = mods.clone();
        if mods.kind == Kind::Exact {
            mods.kind = Kind::Contains;
        }
        let mut parts = Vec::new();
        for v in values {
            let mut any = Vec::new();
            for c in &columns {
                any.push(self.value(c, v, &mods)?);
            }
            parts.push(self::any(any));
        }
        Ok(if mods.all { all(parts) } else { any(parts) })
    }

    /// One value against a field.
    fn value(&self, field: &FieldRef, v: &SigmaValue, mods: &Mods) -> Compiled<Expr> {
        if mods.fieldref {
            let SigmaValue::String(s) = v else {
                return unsupported("fieldref: the value must name a field");
            };
            let other = match self.field(&s.original) {
                Some(f) => f,
                None => return Err(CompileError::MissingFields(vec![s.original.clone()])),
            };
            let (a, b) = if mods.cased {
                (as_text(field), as_text(&other))
            } else {
                (lower(as_text(field)), lower(as_text(&other)))
            };
            let e = match mods.kind {
                Kind::Exact => a.eq(b),
                Kind::Contains => strpos(a, b).gt(lit(0i64)),
                Kind::StartsWith => starts_with(a, b),
                Kind::EndsWith => ends_with(a, b),
            };
            return Ok(negate_if(field, e, mods.neq));
        }
        if let Some(op) = mods.compare {
            let n = match v {
                SigmaValue::Integer(i) => *i as f64,
                SigmaValue::Float(f) => *f,
                SigmaValue::String(s) => match s.original.trim().parse::<f64>() {
                    Ok(n) => n,
                    Err(_) => {
                        return unsupported(format!("{op:?}: {:?} is not a number", s.original));
                    }
                },
                other => return unsupported(format!("{op:?}: {other:?} is not a number")),
            };
            let x = match mods.time_part {
                Some(part) => self.time_part(field, part)?,
                None => try_cast(field.expr.clone(), DataType::Float64),
            };
            let n = lit(n);
            return Ok(match op {
                Modifier::Lt => x.lt(n),
                Modifier::Lte => x.lt_eq(n),
                Modifier::Gt => x.gt(n),
                _ => x.gt_eq(n),
            });
        }
        if let Some(part) = mods.time_part {
            let n = match v {
                SigmaValue::Integer(i) => *i,
                SigmaValue::String(s) => s.original.trim().parse::<i64>().map_err(|_| {
                    CompileError::Unsupported(format!("{part}: {:?} is not a number", s.original))
                })?,
                other => return unsupported(format!("{part}: {other:?} is not a number")),
            };
            let e = self.time_part(field, part)?.eq(lit(n as f64));
            return Ok(negate_if(field, e, mods.neq));
        }
        if mods.re {
            let SigmaValue::String(s) = v else {
                return unsupported("re: the value must be a regular expression");
            };
            let pattern = mods.regex(&s.original);
            // Parsed, not compiled: the engine compiles it when it runs.
            if let Err(e) = regex_syntax::Parser::new().parse(&pattern) {
                return unsupported(format!(
                    "re: {:?} is not a regular expression spoor's engine reads ({})",
                    s.original,
                    last_line(&e.to_string())
                ));
            }
            let e = regexp_like(as_text(field), lit(pattern), None);
            return Ok(negate_if(field, e, mods.neq));
        }
        if mods.cidr {
            let SigmaValue::String(s) = v else {
                return unsupported("cidr: the value must be a network (10.0.0.0/8, fe80::/10)");
            };
            let net = s.original.trim();
            let function = if net.contains(':') {
                "kql_ipv6_is_in_range"
            } else {
                "kql_ipv4_is_in_range"
            };
            if !valid_cidr(net) {
                return unsupported(format!("cidr: {net:?} is not a network in CIDR notation"));
            }
            let udf = spoor_functions::scalar(function).expect("a spoor function");
            let e = udf.call(vec![as_text(field), lit(net.to_string())]);
            return Ok(negate_if(field, e, mods.neq));
        }
        let e = self.equals(field, v, mods.kind, mods.cased)?;
        Ok(negate_if(field, e, mods.neq))
    }

    fn time_part(&self, field: &FieldRef, part: &'static str) -> Compiled<Expr> {
        if field.ty != KqlType::DateTime {
            return unsupported(format!(
                "the {part} modifier needs a date and time field; this one holds {}",
                field.ty.name()
            ));
        }
        Ok(cast(
            date_part(lit(part), field.expr.clone()),
            DataType::Float64,
        ))
    }

    /// A value compared as Sigma compares: wildcards, case-insensitive unless `cased`.
    fn equals(&self, field: &FieldRef, v: &SigmaValue, kind: Kind, cased: bool) -> Compiled<Expr> {
        let numeric = matches!(field.ty, KqlType::Int | KqlType::Long | KqlType::Real);
        match v {
            SigmaValue::Null => Ok(field.expr.clone().is_null()),
            SigmaValue::Integer(i) if numeric && kind == Kind::Exact => {
                Ok(number_eq(field, *i as f64, Some(*i)))
            }
            SigmaValue::Float(f) if numeric && kind == Kind::Exact => {
                Ok(number_eq(field, *f, None))
            }
            SigmaValue::Bool(b) if field.ty == KqlType::Bool && kind == Kind::Exact => {
                Ok(field.expr.clone().eq(lit(*b)))
            }
            SigmaValue::Integer(i) => {
                self.pattern(field, &SigmaString::from_raw(&i.to_string()), kind, cased)
            }
            SigmaValue::Float(f) => {
                self.pattern(field, &SigmaString::from_raw(&f.to_string()), kind, cased)
            }
            SigmaValue::Bool(b) => {
                self.pattern(field, &SigmaString::from_raw(&b.to_string()), kind, cased)
            }
            SigmaValue::String(s) => {
                if numeric && kind == Kind::Exact && s.is_plain() {
                    // `EventID: '4688'` on an int column compares numbers.
                    if let Some(n) = s.as_plain().and_then(|p| p.trim().parse::<i64>().ok()) {
                        return Ok(number_eq(field, n as f64, Some(n)));
                    }
                }
                self.pattern(field, s, kind, cased)
            }
        }
    }

    /// A string pattern as LIKE (ILIKE unless cased).
    fn pattern(
        &self,
        field: &FieldRef,
        s: &SigmaString,
        kind: Kind,
        cased: bool,
    ) -> Compiled<Expr> {
        let mut p = String::new();
        if matches!(kind, Kind::Contains | Kind::EndsWith) {
            p.push('%');
        }
        for part in &s.parts {
            match part {
                StringPart::Plain(t) => {
                    for c in t.chars() {
                        if matches!(c, '%' | '_' | '\\') {
                            p.push('\\');
                        }
                        p.push(c);
                    }
                }
                StringPart::Special(SpecialChar::WildcardMulti) => p.push('%'),
                StringPart::Special(SpecialChar::WildcardSingle) => p.push('_'),
            }
        }
        if matches!(kind, Kind::Contains | Kind::StartsWith) {
            p.push('%');
        }
        let text = as_text(field);
        if let Some(plain) = s.as_plain() {
            // No wildcard: a substring or equality test with a prepared needle (a LIKE pattern
            // becomes a regular expression compiled again for every batch).
            if plain.is_empty() {
                // The functions read a missing value as "": keep absent fields out.
                return Ok(match kind {
                    Kind::Exact => text.eq(lit("")),
                    _ => text.is_not_null(),
                });
            }
            let function = match (kind, cased) {
                (Kind::Exact, true) => return Ok(text.eq(lit(plain))),
                (Kind::Exact, false) => "kql_equals_ci",
                (Kind::Contains, true) => "kql_contains_cs",
                (Kind::Contains, false) => "kql_contains",
                (Kind::StartsWith, true) => "kql_startswith_cs",
                (Kind::StartsWith, false) => "kql_startswith",
                (Kind::EndsWith, true) => "kql_endswith_cs",
                (Kind::EndsWith, false) => "kql_endswith",
            };
            let udf = spoor_functions::scalar(function).expect("a spoor function");
            return Ok(udf.call(vec![text, lit(plain)]));
        }
        Ok(Expr::Like(Like::new(
            false,
            Box::new(text),
            Box::new(lit(p)),
            None,
            !cased,
        )))
    }

    /// A Sigma field as text (what a correlation groups by and counts); `None` when the table
    /// has no such field.
    pub(crate) fn field_text(&self, name: &str) -> Option<Expr> {
        self.field(name).map(|f| as_text(&f))
    }

    /// The column (or JSON path) a Sigma field name reads; `None` when the table has none.
    fn field(&self, name: &str) -> Option<FieldRef> {
        if self
            .target
            .absent
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
        {
            return None;
        }
        let mapped = self.target.column_name(self.table, name);
        let column = |n: &str| {
            self.def.column(n).or_else(|| {
                self.def
                    .columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(n))
            })
        };
        // Tables that flatten nested names write `id.orig_h` as `id_orig_h` (Zeek).
        if let Some(c) = column(&mapped).or_else(|| column(&mapped.replace('.', "_"))) {
            return Some(FieldRef {
                expr: col_expr(&c.name),
                ty: c.ty,
            });
        }
        // Part of a URL column: `url_extension(RequestURL)`.
        if let Some((part, name)) = crate::mapping::url_part(&mapped) {
            let c = column(name)?;
            let udf = spoor_functions::scalar("kql_url_part").expect("a spoor function");
            return Some(FieldRef {
                expr: udf.call(vec![col_expr(&c.name), lit(part)]),
                ty: KqlType::String,
            });
        }
        // A dotted path into a dynamic column: `requestParameters.bucketName`.
        if let Some((head, rest)) = mapped.split_once('.')
            && let Some(c) = column(head)
            && matches!(c.ty, KqlType::Dynamic | KqlType::String)
        {
            return Some(json_field(&c.name, rest.split('.').collect()));
        }
        // A text of key=value pairs.
        if let Some(pairs) = &self.target.pairs {
            let c = column(pairs)?;
            let udf = spoor_functions::scalar("kql_kv_text").expect("a spoor function");
            return Some(FieldRef {
                expr: udf.call(vec![col_expr(&c.name), lit(mapped)]),
                ty: KqlType::String,
            });
        }
        // The table's bag of other fields (Windows EventData).
        let table = self.table?;
        let c = column(table.dynamic.as_deref()?)?;
        let path = if table.nested {
            mapped.split('.').collect()
        } else {
            vec![mapped.as_str()]
        };
        Some(json_field(&c.name, path))
    }
}

/// A numeric column equal to a number, with both sides of one type (the plan needs no type
/// coercion: whole numbers compare as Int64 unless the column holds reals).
fn number_eq(field: &FieldRef, value: f64, whole: Option<i64>) -> Expr {
    match whole {
        Some(i) if field.ty != KqlType::Real => {
            cast(field.expr.clone(), DataType::Int64).eq(lit(i))
        }
        _ => cast(field.expr.clone(), DataType::Float64).eq(lit(value)),
    }
}

/// A field inside a dynamic (JSON text) column, as text; null when the path is not there.
fn json_field(column: &str, path: Vec<&str>) -> FieldRef {
    let text = spoor_functions::scalar("kql_json_text").expect("a spoor function");
    let mut args = vec![col_expr(column)];
    args.extend(path.into_iter().map(|p| lit(p.to_string())));
    FieldRef {
        expr: text.call(args),
        ty: KqlType::String,
    }
}

/// A column by its exact name (names with dots or dashes are not paths).
fn col_expr(name: &str) -> Expr {
    col(datafusion::common::Column::from_name(name))
}

/// A field as text: string columns as they are, others cast.
fn as_text(field: &FieldRef) -> Expr {
    match field.ty {
        KqlType::String | KqlType::Dynamic | KqlType::Guid => field.expr.clone(),
        _ => cast(field.expr.clone(), DataType::Utf8),
    }
}

/// The expressions, or every missing field among them (so that a rule's report names them all),
/// or the first other error.
fn collect_missing(results: impl Iterator<Item = Compiled<Expr>>) -> Compiled<Vec<Expr>> {
    let mut parts = Vec::new();
    let mut missing = Vec::new();
    for r in results {
        match r {
            Ok(e) => parts.push(e),
            Err(CompileError::MissingFields(f)) => missing.extend(f),
            Err(e) => return Err(e),
        }
    }
    if missing.is_empty() {
        Ok(parts)
    } else {
        Err(CompileError::MissingFields(missing))
    }
}

/// Any of `parts` (false for none), as a balanced tree: a long flat chain of ORs (a keyword
/// searched in ninety columns) nests deep enough to overflow the optimizer's recursion.
fn any(parts: Vec<Expr>) -> Expr {
    balanced(parts, Expr::or).unwrap_or_else(|| lit(false))
}

/// All of `parts` (true for none), as a balanced tree.
fn all(parts: Vec<Expr>) -> Expr {
    balanced(parts, Expr::and).unwrap_or_else(|| lit(true))
}

fn balanced(mut parts: Vec<Expr>, join: fn(Expr, Expr) -> Expr) -> Option<Expr> {
    while parts.len() > 1 {
        let mut next = Vec::with_capacity(parts.len().div_ceil(2));
        let mut it = parts.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => join(a, b),
                None => a,
            });
        }
        parts = next;
    }
    parts.pop()
}

/// `neq`: the field is there and the value does not match (an event without the field is not
/// one whose field differs, as SQL's `<>` reads it).
fn negate_if(field: &FieldRef, e: Expr, neq: bool) -> Expr {
    if neq {
        field.expr.clone().is_not_null().and(e.is_not_true())
    } else {
        e
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// How a string value is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

/// The encodings applied to a value, in the rule's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf16Le,
    Utf16Be,
    /// UTF-16 little-endian with a byte order mark.
    Utf16Bom,
    Base64,
    Base64Offset,
}

/// An item's modifiers, read once.
#[derive(Debug, Clone)]
pub(crate) struct Mods {
    pub(crate) kind: Kind,
    pub(crate) all: bool,
    pub(crate) cased: bool,
    pub(crate) exists: Option<bool>,
    pub(crate) neq: bool,
    pub(crate) re: bool,
    pub(crate) re_i: bool,
    pub(crate) re_m: bool,
    pub(crate) re_s: bool,
    pub(crate) cidr: bool,
    pub(crate) compare: Option<Modifier>,
    pub(crate) expand: bool,
    pub(crate) fieldref: bool,
    pub(crate) windash: bool,
    pub(crate) encodings: Vec<Encoding>,
    pub(crate) time_part: Option<&'static str>,
}

impl Mods {
    /// A `re` value with the rule's i, m and s flags written into it.
    pub(crate) fn regex(&self, pattern: &str) -> String {
        let flags: String = [(self.re_i, 'i'), (self.re_m, 'm'), (self.re_s, 's')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| *f)
            .collect();
        if flags.is_empty() {
            pattern.to_string()
        } else {
            format!("(?{flags}){pattern}")
        }
    }

    pub(crate) fn of(modifiers: &[Modifier]) -> Compiled<Mods> {
        let mut m = Mods {
            kind: Kind::Exact,
            all: false,
            cased: false,
            exists: None,
            neq: false,
            re: false,
            re_i: false,
            re_m: false,
            re_s: false,
            cidr: false,
            compare: None,
            expand: false,
            fieldref: false,
            windash: false,
            encodings: Vec::new(),
            time_part: None,
        };
        for md in modifiers {
            match md {
                Modifier::Contains => m.kind = Kind::Contains,
                Modifier::StartsWith => m.kind = Kind::StartsWith,
                Modifier::EndsWith => m.kind = Kind::EndsWith,
                Modifier::All => m.all = true,
                Modifier::Cased => m.cased = true,
                Modifier::Exists => m.exists = Some(true),
                Modifier::Neq => m.neq = true,
                Modifier::Re => m.re = true,
                Modifier::IgnoreCase => m.re_i = true,
                Modifier::Multiline => m.re_m = true,
                Modifier::DotAll => m.re_s = true,
                Modifier::Cidr => m.cidr = true,
                Modifier::Gt | Modifier::Gte | Modifier::Lt | Modifier::Lte => {
                    m.compare = Some(*md)
                }
                Modifier::Expand => m.expand = true,
                Modifier::FieldRef => m.fieldref = true,
                Modifier::WindAsh => m.windash = true,
                Modifier::Wide => m.encodings.push(Encoding::Utf16Le),
                Modifier::Utf16be => m.encodings.push(Encoding::Utf16Be),
                Modifier::Utf16 => m.encodings.push(Encoding::Utf16Bom),
                Modifier::Base64 => m.encodings.push(Encoding::Base64),
                Modifier::Base64Offset => m.encodings.push(Encoding::Base64Offset),
                Modifier::Minute => m.time_part = Some("minute"),
                Modifier::Hour => m.time_part = Some("hour"),
                Modifier::Day => m.time_part = Some("day"),
                Modifier::Week => m.time_part = Some("week"),
                Modifier::Month => m.time_part = Some("month"),
                Modifier::Year => m.time_part = Some("year"),
            }
        }
        if (m.re_i || m.re_m || m.re_s) && !m.re {
            return unsupported("the regular expression flags i, m and s need the re modifier");
        }
        if m.encodings.iter().any(|e| {
            matches!(
                e,
                Encoding::Utf16Le | Encoding::Utf16Be | Encoding::Utf16Bom
            )
        }) && !m
            .encodings
            .iter()
            .any(|e| matches!(e, Encoding::Base64 | Encoding::Base64Offset))
        {
            return unsupported(
                "utf16/utf16le/utf16be/wide without base64 or base64offset: text columns hold \
                 UTF-8, so a UTF-16 value could never match",
            );
        }
        Ok(m)
    }
}

/// The values after the modifiers that rewrite them (expand, windash, the encodings).
pub(crate) fn rewrite_values(
    values: &[SigmaValue],
    mods: &Mods,
    placeholders: &Placeholders,
) -> Compiled<Vec<SigmaValue>> {
    let mut out = Vec::new();
    for v in values {
        let SigmaValue::String(s) = v else {
            if mods.expand || mods.windash || !mods.encodings.is_empty() {
                return unsupported(format!(
                    "value {v:?}: expand, windash and the encoding modifiers apply to strings"
                ));
            }
            out.push(v.clone());
            continue;
        };
        let mut texts = vec![s.original.clone()];
        if mods.expand {
            texts = texts
                .iter()
                .map(|t| expand(t, placeholders))
                .collect::<Compiled<Vec<_>>>()?
                .concat();
        }
        if mods.windash {
            texts = texts.iter().flat_map(|t| windash(t)).collect();
        }
        if mods.encodings.is_empty() {
            out.extend(
                texts
                    .iter()
                    .map(|t| SigmaValue::String(SigmaString::new(t))),
            );
            continue;
        }
        for t in texts {
            let parsed = SigmaString::new(&t);
            let Some(plain) = parsed.as_plain() else {
                return unsupported(format!(
                    "value {t:?}: the encoding modifiers need a value without wildcards"
                ));
            };
            for encoded in encode(&plain, &mods.encodings)? {
                out.push(SigmaValue::String(SigmaString::from_raw(&encoded)));
            }
        }
    }
    Ok(out)
}

/// Whether a search identifier matches a condition's `*` pattern (`selection_*`).
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole name.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `%name%` placeholders replaced by each of their values (every combination).
fn expand(text: &str, placeholders: &Placeholders) -> Compiled<Vec<String>> {
    let re = regex::Regex::new(r"%([A-Za-z0-9_.\-]+)%").expect("a valid regex");
    let mut out = vec![String::new()];
    let mut last = 0;
    for m in re.captures_iter(text) {
        let whole = m.get(0).expect("group 0");
        let name = &m[1];
        let Some(values) = placeholders.get(name) else {
            return unsupported(format!(
                "placeholder %{name}% has no values: give them in a placeholder file \
                 (--sigma-placeholders FILE, YAML `{name}: [value, ...]`)"
            ));
        };
        let literal = &text[last..whole.start()];
        out = out
            .iter()
            .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{literal}{v}")))
            .collect();
        last = whole.end();
    }
    for o in &mut out {
        o.push_str(&text[last..]);
    }
    Ok(out)
}

/// The dashes Windows command lines accept for a flag: `-`, `/`, en dash, em dash, horizontal
/// bar (Sigma's windash).
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Every spelling of a command line's flags: each `-` or `/` that starts a flag (at the start or
/// after white space, followed by a letter or digit) in each of the dash forms.
fn windash(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let flags: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            (chars[i] == '-' || chars[i] == '/')
                && (i == 0 || chars[i - 1].is_whitespace())
                && chars.get(i + 1).is_some_and(|c| c.is_alphanumeric())
        })
        .collect();
    let mut out = vec![chars.clone()];
    for &i in &flags {
        out = out
            .into_iter()
            .flat_map(|v| {
                DASHES.iter().map(move |&d| {
                    let mut w = v.clone();
                    w[i] = d;
                    w
                })
            })
            .collect();
    }
    let mut texts: Vec<String> = out.into_iter().map(|v| v.into_iter().collect()).collect();
    texts.dedup();
    texts
}

/// A plain value after the encoding modifiers, in order: the strings that can be searched.
fn encode(plain: &str, encodings: &[Encoding]) -> Compiled<Vec<String>> {
    let mut bytes: Vec<Vec<u8>> = vec![plain.as_bytes().to_vec()];
    let mut text: Option<Vec<String>> = None;
    for e in encodings {
        if text.is_some() {
            return unsupported("a value cannot be encoded again after base64");
        }
        match e {
            Encoding::Utf16Le => bytes = bytes.iter().map(|b| utf16(b, false, false)).collect(),
            Encoding::Utf16Be => bytes = bytes.iter().map(|b| utf16(b, true, false)).collect(),
            Encoding::Utf16Bom => bytes = bytes.iter().map(|b| utf16(b, false, true)).collect(),
            Encoding::Base64 => {
                text = Some(
                    bytes
                        .iter()
                        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
                        .collect(),
                )
            }
            Encoding::Base64Offset => {
                text = Some(bytes.iter().flat_map(|b| base64_offsets(b)).collect())
            }
        }
    }
    text.ok_or_else(|| CompileError::Unsupported("an encoding without base64".into()))
}

fn utf16(b: &[u8], big_endian: bool, bom: bool) -> Vec<u8> {
    let s = String::from_utf8_lossy(b);
    let mut out = Vec::with_capacity(b.len() * 2 + 2);
    if bom {
        out.extend([0xFF, 0xFE]);
    }
    for u in s.encode_utf16() {
        if big_endian {
            out.extend(u.to_be_bytes());
        } else {
            out.extend(u.to_le_bytes());
        }
    }
    out
}

/// The three base64 forms of `b` at each offset within a longer encoded text, as Sigma's
/// base64offset defines them: the characters that do not depend on the neighbouring bytes.
fn base64_offsets(b: &[u8]) -> Vec<String> {
    let start = [0usize, 2, 3];
    let end = [0usize, 3, 2];
    (0..3)
        .map(|i| {
            let mut shifted = vec![b' '; i];
            shifted.extend_from_slice(b);
            let enc = base64::engine::general_purpose::STANDARD.encode(&shifted);
            let cut_end = end[(b.len() + i) % 3];
            enc[start[i]..enc.len() - cut_end].to_string()
        })
        .collect()
}

/// Whether `s` is an IPv4 or IPv6 network in CIDR notation (a bare address is a /32 or /128).
fn valid_cidr(s: &str) -> bool {
    let (addr, bits) = s
        .split_once('/')
        .unwrap_or((s, if s.contains(':') { "128" } else { "32" }));
    match (addr.parse::<std::net::IpAddr>(), bits.parse::<u8>()) {
        (Ok(std::net::IpAddr::V4(_)), Ok(b)) => b <= 32,
        (Ok(std::net::IpAddr::V6(_)), Ok(b)) => b <= 128,
        _ => false,
    }
}

#[cfg(test)]
mod glob_tests {
    use super::glob_match;

    #[test]
    fn selector_patterns_match_as_globs() {
        assert!(glob_match("selection_*", "selection_img"));
        assert!(glob_match("selection_*", "selection_"));
        assert!(!glob_match("selection_*", "selection"));
        assert!(glob_match("*_cli", "sel_cli"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-c-b"));
        assert!(glob_match("filter", "filter"));
        assert!(!glob_match("filter", "filter_x"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64offset_gives_the_three_forms_sigma_lists() {
        // From the Sigma specification's example: `/bin/bash` base64offset.
        assert_eq!(
            base64_offsets(b"/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }

    #[test]
    fn windash_spells_each_flag_five_ways() {
        let v = windash("cmd -a /b x-y");
        assert_eq!(v.len(), 25);
        assert!(v.contains(&"cmd /a -b x-y".to_string()));
        assert!(v.contains(&"cmd \u{2013}a \u{2014}b x-y".to_string()));
        assert_eq!(windash("no flags"), vec!["no flags".to_string()]);
    }

    #[test]
    fn placeholders_expand_to_every_value_or_fail() {
        let mut p = Placeholders::new();
        p.insert("admins".into(), vec!["root".into(), "admin".into()]);
        assert_eq!(
            expand("user %admins%!", &p).unwrap(),
            vec!["user root!".to_string(), "user admin!".to_string()]
        );
        assert!(expand("%missing%", &p).is_err());
        assert_eq!(expand("plain", &p).unwrap(), vec!["plain".to_string()]);
    }

    #[test]
    fn utf16_and_cidr_helpers() {
        assert_eq!(utf16(b"ab", false, false), vec![b'a', 0, b'b', 0]);
        assert_eq!(utf16(b"a", true, true), vec![0xFF, 0xFE, 0, b'a']);
        assert!(valid_cidr("10.0.0.0/8"));
        assert!(valid_cidr("fe80::/10"));
        assert!(valid_cidr("192.168.1.1"));
        assert!(!valid_cidr("10.0.0.0/33"));
        assert!(!valid_cidr("nonsense/8"));
    }
}
