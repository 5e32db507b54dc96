//! Pipe operators: one `parse_*` per operator, dispatched by name in [`Parser::parse_operator`].

use spoor_core::{Diagnostic, Span};

use super::ast::{
    ExpandItem, Expr, ExprKind, ForkBranch, Ident, Operator, OperatorKind, ParseOp, ParseSegment,
    Rename, ReorderColumn, SeriesAggregate, SeriesRange, SortKey, TopNestedLevel,
};
use super::lexer::TokenKind;
use super::parser::{PResult, Parser};

/// Operators the parser knows, for dispatch and for error messages.
const OPERATORS: &[&str] = &[
    "where",
    "filter",
    "extend",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "summarize",
    "sort",
    "order",
    "take",
    "limit",
    "top",
    "top-nested",
    "top-hitters",
    "count",
    "distinct",
    "union",
    "join",
    "lookup",
    "mv-expand",
    "mvexpand",
    "mv-apply",
    "mvapply",
    "parse",
    "parse-where",
    "parse-kv",
    "serialize",
    "make-series",
    "evaluate",
    "render",
    "as",
    "invoke",
    "getschema",
    "sample",
    "sample-distinct",
    "fork",
    "facet",
    "consume",
    "reduce",
    "print",
    "range",
    "datatable",
    "externaldata",
    "search",
    "find",
];

/// Operators that exist in KQL but that spoor does not parse.
const UNSUPPORTED: &[&str] = &[
    "scan",
    "partition",
    "make-graph",
    "graph-match",
    "graph-to-table",
    "graph-shortest-paths",
    "graph-mark-components",
    "macro-expand",
    "project-smart",
    "assert-schema",
    "execute-show-command",
];

/// Whether `word` names a pipe operator (supported or not).
pub(crate) fn is_operator_name(word: &str) -> bool {
    OPERATORS.contains(&word) || UNSUPPORTED.contains(&word)
}

impl Parser<'_> {
    /// The operator name at the current position, joining `project-away` style names.
    fn operator_name(&mut self) -> PResult<Ident> {
        if !self.at(&TokenKind::Ident) {
            let found = self.found();
            let mut d = self.err_here(format!("expected an operator after `|`, found {found}"));
            d = d.with_hint("e.g. `| where ...`, `| project ...`, `| summarize ...`");
            return Err(d);
        }
        let mut id = self.ident("an operator")?;
        while self.at(&TokenKind::Minus)
            && self.nth(0).span.start == id.span.end
            && self.nth_kind_is(1, &TokenKind::Ident)
            && self.adjacent(0)
        {
            self.bump();
            let t = self.bump();
            id.name.push('-');
            id.name.push_str(self.text(t.span));
            id.span = id.span.to(t.span);
        }
        Ok(id)
    }

    /// One operator (after `|`, or first in a pipeline).
    pub(crate) fn parse_operator(&mut self) -> PResult<Operator> {
        let name = self.operator_name()?;
        let start = name.span;
        let kind = match name.name.as_str() {
            "where" | "filter" => {
                if !self.at_expression_start_pub() {
                    return Err(self
                        .expected(&format!("a condition after `{}`", name.name))
                        .with_hint("e.g. `| where EventName == \"StopLogging\"`"));
                }
                OperatorKind::Where {
                    predicate: self.parse_expr()?,
                }
            }
            "extend" => OperatorKind::Extend {
                columns: self.parse_assignments()?,
            },
            "project" => OperatorKind::Project {
                columns: self.parse_assignments()?,
            },
            "project-away" => OperatorKind::ProjectAway {
                columns: self.comma_list(Self::parse_name_or_pattern)?,
            },
            "project-keep" => OperatorKind::ProjectKeep {
                columns: self.comma_list(Self::parse_name_or_pattern)?,
            },
            "project-rename" => OperatorKind::ProjectRename {
                renames: self.comma_list(Self::parse_rename)?,
            },
            "project-reorder" => OperatorKind::ProjectReorder {
                columns: self.comma_list(Self::parse_reorder_column)?,
            },
            "summarize" => self.parse_summarize()?,
            "sort" | "order" => {
                let params = self.parse_op_params(&[])?;
                self.expect_word("by", &format!("after `{}`", name.name))
                    .map_err(|d| {
                        d.with_hint(format!("e.g. `| {} by TimeGenerated desc`", name.name))
                    })?;
                OperatorKind::Sort {
                    params,
                    keys: self.comma_list(Self::parse_sort_key)?,
                }
            }
            "take" | "limit" => {
                let _ = self.parse_op_params(&[])?;
                OperatorKind::Take {
                    count: self.parse_expr()?,
                }
            }
            "top" => {
                let count = self.parse_expr()?;
                self.expect_word("by", "after the row count of `top`")
                    .map_err(|d| d.with_hint("e.g. `| top 10 by Count desc`"))?;
                OperatorKind::Top {
                    count,
                    by: self.parse_sort_key()?,
                }
            }
            "top-nested" => self.parse_top_nested(start)?,
            "top-hitters" => {
                let count = self.parse_expr()?;
                self.expect_word("of", "after the count of `top-hitters`")?;
                let of = self.parse_expr()?;
                let by = if self.eat_word("by").is_some() {
                    Some(self.parse_expr()?)
                } else {
                    None
                };
                OperatorKind::TopHitters { count, of, by }
            }
            "count" => OperatorKind::Count,
            "distinct" => {
                let params = self.parse_op_params(&[])?;
                OperatorKind::Distinct {
                    params,
                    columns: self.comma_list(Self::parse_expr)?,
                }
            }
            "union" => {
                let params = self.parse_op_params(&["kind", "isfuzzy", "withsource", "source"])?;
                OperatorKind::Union {
                    params,
                    tables: self.comma_list(Self::parse_table_operand)?,
                }
            }
            "join" | "lookup" => self.parse_join(name.name == "join")?,
            "mv-expand" | "mvexpand" => {
                let params = self.parse_op_params(&["kind", "bagexpansion", "with_itemindex"])?;
                let items = self.comma_list(Self::parse_expand_item)?;
                let limit = if self.eat_word("limit").is_some() {
                    Some(self.parse_expr()?)
                } else {
                    None
                };
                OperatorKind::MvExpand {
                    params,
                    items,
                    limit,
                }
            }
            "mv-apply" | "mvapply" => self.parse_mv_apply()?,
            "parse" => OperatorKind::Parse(self.parse_parse()?),
            "parse-where" => OperatorKind::ParseWhere(self.parse_parse()?),
            "parse-kv" => {
                let source = self.parse_expr()?;
                self.expect_word("as", "after the parse-kv source")?;
                let open = self.expect(&TokenKind::LParen, "to start the column list")?;
                let (columns, _, _) = self.parse_schema(open, false)?;
                let params = if self.eat_word("with").is_some() {
                    let open = self.expect(&TokenKind::LParen, "after `with`")?;
                    self.parse_named_list(open)?
                } else {
                    Vec::new()
                };
                OperatorKind::ParseKv {
                    source,
                    columns,
                    params,
                }
            }
            "serialize" => OperatorKind::Serialize {
                columns: if self.at_expression_start_pub() {
                    self.parse_assignments()?
                } else {
                    Vec::new()
                },
            },
            "make-series" => self.parse_make_series()?,
            "evaluate" => {
                let params = self.parse_op_params(&[])?;
                if !self.at(&TokenKind::Ident) || !self.nth_kind_is(1, &TokenKind::LParen) {
                    return Err(self
                        .expected("a plugin call after `evaluate`")
                        .with_hint("e.g. `| evaluate bag_unpack(Properties)`"));
                }
                OperatorKind::Evaluate {
                    params,
                    plugin: self.parse_call()?,
                }
            }
            "render" => {
                let chart = self.ident("a chart type after `render`")?;
                let properties = if self.eat_word("with").is_some() {
                    let open = self.expect(&TokenKind::LParen, "after `with`")?;
                    self.parse_named_list(open)?
                } else {
                    self.parse_op_params(&[
                        "kind", "title", "xcolumn", "ycolumns", "series", "xtitle", "ytitle",
                    ])?
                };
                OperatorKind::Render { chart, properties }
            }
            "as" => {
                let params = self.parse_op_params(&[])?;
                OperatorKind::As {
                    params,
                    name: self.ident("a name after `as`")?,
                }
            }
            "invoke" => OperatorKind::Invoke {
                call: self.parse_call()?,
            },
            "getschema" => OperatorKind::GetSchema,
            "sample" => OperatorKind::Sample {
                count: self.parse_expr()?,
            },
            "sample-distinct" => {
                let count = self.parse_expr()?;
                self.expect_word("of", "after the count of `sample-distinct`")?;
                OperatorKind::SampleDistinct {
                    count,
                    of: self.parse_expr()?,
                }
            }
            "fork" => {
                let mut branches = Vec::new();
                loop {
                    let bstart = self.span();
                    let bname = if self.at_name_assign() {
                        let n = self.ident("a branch name")?;
                        self.bump();
                        Some(n)
                    } else {
                        None
                    };
                    let Some(open) = self.eat(&TokenKind::LParen) else {
                        if branches.is_empty() || bname.is_some() {
                            return Err(self.expected("`(` to start a fork branch"));
                        }
                        break;
                    };
                    let pipeline = self.parse_operator_pipeline()?;
                    let close = self.expect_close(open, &TokenKind::RParen)?;
                    branches.push(ForkBranch {
                        name: bname,
                        pipeline,
                        span: bstart.to(close),
                    });
                }
                OperatorKind::Fork { branches }
            }
            "facet" => {
                self.expect_word("by", "after `facet`")?;
                let columns = self.comma_list(Self::parse_name_or_pattern)?;
                let with = if self.eat_word("with").is_some() {
                    let open = self.expect(&TokenKind::LParen, "after `with`")?;
                    let p = self.parse_operator_pipeline()?;
                    self.expect_close(open, &TokenKind::RParen)?;
                    Some(Box::new(p))
                } else {
                    None
                };
                OperatorKind::Facet { columns, with }
            }
            "consume" => OperatorKind::Consume {
                params: self.parse_op_params(&["decodeblocks"])?,
            },
            "reduce" => {
                let params = self.parse_op_params(&["kind"])?;
                self.expect_word("by", "after `reduce`")?;
                let by = self.parse_expr()?;
                let mut with = Vec::new();
                if self.eat_word("with").is_some() {
                    loop {
                        let n = self.ident("a parameter name")?;
                        self.expect(&TokenKind::Assign, "after the parameter name")?;
                        let v = self.parse_param_value()?;
                        with.push(super::ast::NamedArg {
                            span: n.span.to(v.span),
                            name: n,
                            value: v,
                        });
                        if self.eat(&TokenKind::Comma).is_none() {
                            break;
                        }
                    }
                }
                OperatorKind::Reduce { params, by, with }
            }
            "print" => OperatorKind::Print {
                columns: self.parse_assignments()?,
            },
            "range" => {
                let column = self.ident("a column name after `range`")?;
                self.expect_word("from", "after the range column")
                    .map_err(|d| d.with_hint("e.g. `range x from 1 to 10 step 1`"))?;
                let from = self.parse_expr()?;
                self.expect_word("to", "after the start of the range")?;
                let to = self.parse_expr()?;
                self.expect_word("step", "after the end of the range")?;
                let step = self.parse_expr()?;
                OperatorKind::Range {
                    column,
                    from,
                    to,
                    step,
                }
            }
            "datatable" => {
                let params = self.parse_op_params(&[])?;
                let open = self.expect(&TokenKind::LParen, "to start the datatable schema")?;
                let (columns, _, _) = self.parse_schema(open, false)?;
                let open = self.expect(&TokenKind::LBracket, "to start the datatable values")?;
                let values = self.bracket_values(open)?;
                OperatorKind::Datatable {
                    params,
                    columns,
                    values,
                }
            }
            "externaldata" | "external_data" => {
                let open = self.expect(&TokenKind::LParen, "to start the externaldata schema")?;
                let (columns, _, _) = self.parse_schema(open, false)?;
                let open = self.expect(&TokenKind::LBracket, "to start the storage URIs")?;
                let uris = self.bracket_values(open)?;
                let properties = if self.eat_word("with").is_some() {
                    let open = self.expect(&TokenKind::LParen, "after `with`")?;
                    self.parse_named_list(open)?
                } else {
                    Vec::new()
                };
                OperatorKind::ExternalData {
                    columns,
                    uris,
                    properties,
                }
            }
            "search" => {
                let params = self.parse_op_params(&["kind"])?;
                let tables = self.parse_in_tables()?;
                OperatorKind::Search {
                    params,
                    tables,
                    predicate: self.parse_expr()?,
                }
            }
            "find" => {
                let params = self.parse_op_params(&["withsource", "datascope"])?;
                let tables = self.parse_in_tables()?;
                self.expect_word("where", "before the `find` condition")?;
                let predicate = self.parse_expr()?;
                let project = if self.at_word("project") {
                    self.bump();
                    Some(self.comma_list(Self::parse_name_or_pattern)?)
                } else if self.at_word("project") || self.at_project_smart() {
                    self.bump();
                    self.bump();
                    self.bump();
                    None
                } else {
                    None
                };
                OperatorKind::Find {
                    params,
                    tables,
                    predicate,
                    project,
                }
            }
            other if UNSUPPORTED.contains(&other) => {
                return Err(Diagnostic::new(
                    format!("operator `{other}` is not supported"),
                    name.span,
                )
                .with_hint(
                    "spoor does not implement this operator yet; rewrite the query without it",
                ));
            }
            other => {
                let mut d = Diagnostic::new(format!("unknown operator `{other}`"), name.span);
                if let Some(s) = suggest(other) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                } else {
                    d = d.with_hint("operators include where, extend, project, summarize, sort, take, top, join, union, mv-expand, parse");
                }
                return Err(d);
            }
        };
        Ok(Operator {
            kind,
            span: start.to(Span::empty(self.prev_end())),
        })
    }

    pub(crate) fn at_expression_start_pub(&mut self) -> bool {
        match self.kind() {
            TokenKind::Ident
            | TokenKind::Long(_)
            | TokenKind::Real(_)
            | TokenKind::TimeSpan(_)
            | TokenKind::String(_)
            | TokenKind::TypedLiteral { .. }
            | TokenKind::LParen
            | TokenKind::Minus
            | TokenKind::Plus
            | TokenKind::Star => true,
            TokenKind::LBracket => matches!(self.nth(1).kind, TokenKind::String(_)),
            _ => false,
        }
    }

    fn at_project_smart(&mut self) -> bool {
        self.at_word("project")
            && self.nth_kind_is(1, &TokenKind::Minus)
            && self.nth_word(2, "smart")
    }

    /// `item, item, ...` (at least one).
    fn comma_list<T>(&mut self, mut f: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        let mut items = vec![f(self)?];
        while self.eat(&TokenKind::Comma).is_some() {
            items.push(f(self)?);
        }
        Ok(items)
    }

    /// Values up to the `]` closing `open`; a trailing comma is allowed.
    fn bracket_values(&mut self, open: Span) -> PResult<Vec<Expr>> {
        let mut values = Vec::new();
        while !self.at(&TokenKind::RBracket) {
            values.push(self.parse_expr()?);
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect_close(open, &TokenKind::RBracket)?;
        Ok(values)
    }

    /// `in (T1, T2*, ...)` for search/find; empty when absent.
    fn parse_in_tables(&mut self) -> PResult<Vec<Expr>> {
        if !(self.at_word("in") && self.nth_kind_is(1, &TokenKind::LParen)) {
            return Ok(Vec::new());
        }
        self.bump();
        let open = self.bump().span;
        let tables = self.comma_list(Self::parse_table_operand)?;
        self.expect_close(open, &TokenKind::RParen)?;
        Ok(tables)
    }

    fn parse_rename(&mut self) -> PResult<Rename> {
        let new = self.ident("a new column name")?;
        self.expect(&TokenKind::Assign, "after the new name")
            .map_err(|d| d.with_hint(format!("project-rename reads `{} = OldName`", new.name)))?;
        let old = self.ident("the column to rename")?;
        Ok(Rename {
            span: new.span.to(old.span),
            new,
            old,
        })
    }

    fn parse_reorder_column(&mut self) -> PResult<ReorderColumn> {
        let column = self.parse_name_or_pattern()?;
        let mut span = column.span;
        let mut descending = None;
        if let Some(w) = self.nth_ident(0) {
            let d = match w {
                "asc" => Some(false),
                "desc" => Some(true),
                "granny" if self.nth_kind_is(1, &TokenKind::Minus) => {
                    let dir = self.nth_ident(2);
                    match dir {
                        Some("asc") => Some(false),
                        Some("desc") => Some(true),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(d) = d {
                let n = if w == "granny" { 3 } else { 1 };
                for _ in 0..n {
                    span = span.to(self.bump().span);
                }
                descending = Some(d);
            }
        }
        Ok(ReorderColumn {
            column,
            descending,
            span,
        })
    }

    pub(crate) fn parse_sort_key(&mut self) -> PResult<SortKey> {
        let expr = self.parse_expr()?;
        let mut span = expr.span;
        let mut descending = true;
        if let Some(s) = self.eat_word("asc") {
            descending = false;
            span = span.to(s);
        } else if let Some(s) = self.eat_word("desc") {
            span = span.to(s);
        }
        let mut nulls_first = None;
        if self.at_word("nulls") {
            span = span.to(self.bump().span);
            if let Some(s) = self.eat_word("first") {
                nulls_first = Some(true);
                span = span.to(s);
            } else if let Some(s) = self.eat_word("last") {
                nulls_first = Some(false);
                span = span.to(s);
            } else {
                return Err(self.expected("`first` or `last` after `nulls`"));
            }
        }
        Ok(SortKey {
            expr,
            descending,
            nulls_first,
            span,
        })
    }

    fn parse_summarize(&mut self) -> PResult<OperatorKind> {
        let params = self.parse_op_params(&[])?;
        let aggregates = if self.at_word("by") && !self.nth_kind_is(1, &TokenKind::Assign) {
            Vec::new()
        } else {
            self.parse_assignments()?
        };
        let by = if self.eat_word("by").is_some() {
            self.parse_assignments()?
        } else {
            Vec::new()
        };
        Ok(OperatorKind::Summarize {
            params,
            aggregates,
            by,
        })
    }

    fn parse_join(&mut self, is_join: bool) -> PResult<OperatorKind> {
        let mut params = self.parse_op_params(&["kind", "withsource"])?;
        let kind = params
            .iter()
            .position(|p| p.name.name == "kind")
            .map(|i| params.remove(i))
            .map(|p| match p.value.kind {
                ExprKind::Name(id) => id,
                _ => Ident {
                    name: self.text(p.value.span).to_string(),
                    span: p.value.span,
                },
            });
        let op = if is_join { "join" } else { "lookup" };
        if !(self.at(&TokenKind::LParen)
            || self.at(&TokenKind::Ident)
            || self.at(&TokenKind::LBracket))
        {
            return Err(self
                .expected(&format!("the right side of `{op}`"))
                .with_hint(format!(
                    "e.g. `| {op} kind=inner (OtherTable | where ...) on Key`"
                )));
        }
        let right = self.parse_table_operand()?;
        if !self.at_word("on") {
            return Err(self
                .expected(&format!("`on` after the right side of `{op}`"))
                .with_hint(format!(
                    "name the key columns, e.g. `| {op} (T) on Key` or `on $left.A == $right.B`"
                )));
        }
        self.bump();
        let mut on = Vec::new();
        for e in self.comma_list(Self::parse_expr)? {
            split_and(e, &mut on);
        }
        Ok(if is_join {
            OperatorKind::Join {
                kind,
                params,
                right,
                on,
            }
        } else {
            OperatorKind::Lookup {
                kind,
                params,
                right,
                on,
            }
        })
    }

    fn parse_expand_item(&mut self) -> PResult<ExpandItem> {
        let start = self.span();
        let name = if self.at_name_assign() {
            let n = self.ident("a column name")?;
            self.bump();
            Some(n)
        } else {
            None
        };
        let expr = self.parse_expr()?;
        let to_type = if self.at_word("to") && self.nth_word(1, "typeof") {
            self.bump();
            self.bump();
            let open = self.expect(&TokenKind::LParen, "after `typeof`")?;
            let ty = self.parse_type()?;
            self.expect_close(open, &TokenKind::RParen)?;
            Some(ty)
        } else {
            None
        };
        Ok(ExpandItem {
            name,
            expr,
            to_type,
            span: start.to(Span::empty(self.prev_end())),
        })
    }

    fn parse_mv_apply(&mut self) -> PResult<OperatorKind> {
        let mut params = self.parse_op_params(&["with_itemindex", "kind"])?;
        let items = self.comma_list(Self::parse_expand_item)?;
        let limit = if self.eat_word("limit").is_some() {
            Some(self.parse_expr()?)
        } else {
            None
        };
        params.extend(self.parse_op_params(&["id"])?);
        if !self.at_word("on") {
            return Err(self
                .expected("`on` and a subquery after the `mv-apply` columns")
                .with_hint(
                    "e.g. `| mv-apply x = Items to typeof(string) on (where x startswith \"a\")`",
                ));
        }
        self.bump();
        let open = self.expect(&TokenKind::LParen, "to start the `mv-apply` subquery")?;
        let subquery = self.parse_operator_pipeline()?;
        self.expect_close(open, &TokenKind::RParen)?;
        Ok(OperatorKind::MvApply {
            params,
            items,
            limit,
            subquery: Box::new(subquery),
        })
    }

    fn parse_parse(&mut self) -> PResult<ParseOp> {
        let params = self.parse_op_params(&["kind", "flags"])?;
        let source = self.parse_expr()?;
        self.expect_word("with", "after the parsed expression")
            .map_err(|d| d.with_hint("e.g. `| parse Message with \"user=\" User \" \" *`"))?;
        let mut pattern = Vec::new();
        loop {
            let t = self.tok().clone();
            match t.kind {
                TokenKind::Star => {
                    self.bump();
                    pattern.push(ParseSegment::Wildcard(t.span));
                }
                TokenKind::String(value) => {
                    self.bump();
                    pattern.push(ParseSegment::Literal {
                        value,
                        span: t.span,
                    });
                }
                TokenKind::Ident | TokenKind::LBracket => {
                    if self.at(&TokenKind::LBracket)
                        && !matches!(self.nth(1).kind, TokenKind::String(_))
                    {
                        break;
                    }
                    let name = self.ident("a column name")?;
                    let ty = if self.eat(&TokenKind::Colon).is_some() {
                        Some(self.parse_type()?)
                    } else {
                        None
                    };
                    let span = name.span.to(Span::empty(self.prev_end()));
                    pattern.push(ParseSegment::Column { name, ty, span });
                }
                TokenKind::Comma => {
                    self.bump();
                }
                _ => break,
            }
        }
        if pattern.is_empty() {
            return Err(self.expected("a pattern after `with`"));
        }
        Ok(ParseOp {
            params,
            source,
            pattern,
        })
    }

    fn parse_make_series(&mut self) -> PResult<OperatorKind> {
        let params = self.parse_op_params(&["kind"])?;
        let mut aggregates = Vec::new();
        loop {
            let assignment = self.parse_assignment()?;
            let mut span = assignment.span;
            let default = if self.at_word("default") && self.nth_kind_is(1, &TokenKind::Assign) {
                self.bump();
                self.bump();
                let d = self.parse_expr()?;
                span = span.to(d.span);
                Some(d)
            } else {
                None
            };
            aggregates.push(SeriesAggregate {
                assignment,
                default,
                span,
            });
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect_word("on", "after the make-series aggregates")
            .map_err(|d| {
                d.with_hint("e.g. `| make-series Count=count() on TimeGenerated step 1h`")
            })?;
        let on = self.parse_postfix()?;
        let range = if self.at_word("in") && self.nth_word(1, "range") {
            self.bump();
            self.bump();
            let open = self.expect(&TokenKind::LParen, "after `range`")?;
            let start = self.parse_expr()?;
            self.expect(&TokenKind::Comma, "after the start of the range")?;
            let stop = self.parse_expr()?;
            self.expect(&TokenKind::Comma, "after the end of the range")?;
            let step = self.parse_expr()?;
            self.expect_close(open, &TokenKind::RParen)?;
            SeriesRange::InRange { start, stop, step }
        } else {
            let from = if self.eat_word("from").is_some() {
                Some(self.parse_expr()?)
            } else {
                None
            };
            let to = if self.eat_word("to").is_some() {
                Some(self.parse_expr()?)
            } else {
                None
            };
            self.expect_word("step", "in make-series")
                .map_err(|d| d.with_hint("give the bin size, e.g. `step 1h`"))?;
            SeriesRange::FromTo {
                from,
                to,
                step: self.parse_expr()?,
            }
        };
        let by = if self.eat_word("by").is_some() {
            self.parse_assignments()?
        } else {
            Vec::new()
        };
        Ok(OperatorKind::MakeSeries {
            params,
            aggregates,
            on,
            range,
            by,
        })
    }

    fn parse_top_nested(&mut self, first: Span) -> PResult<OperatorKind> {
        let mut levels = Vec::new();
        let mut lstart = first;
        loop {
            let count = if self.at_word("of") {
                None
            } else {
                Some(self.parse_expr()?)
            };
            self.expect_word("of", "in `top-nested`")?;
            let of = self.parse_assignment()?;
            let with_others = if self.at_word("with") && self.nth_word(1, "others") {
                self.bump();
                self.bump();
                self.expect(&TokenKind::Assign, "after `with others`")?;
                Some(self.parse_expr()?)
            } else {
                None
            };
            self.expect_word("by", "in `top-nested`")?;
            let by = self.parse_assignment()?;
            let mut descending = true;
            if self.eat_word("asc").is_some() {
                descending = false;
            } else {
                self.eat_word("desc");
            }
            levels.push(TopNestedLevel {
                count,
                of,
                with_others,
                by,
                descending,
                span: lstart.to(Span::empty(self.prev_end())),
            });
            if self.at(&TokenKind::Comma) && self.nth_word(1, "top") {
                self.bump();
                let name = self.operator_name()?;
                if name.name != "top-nested" {
                    return Err(Diagnostic::new("expected `top-nested`", name.span));
                }
                lstart = name.span;
            } else {
                break;
            }
        }
        Ok(OperatorKind::TopNested { levels })
    }
}

/// Split `a and b and c` into its conjuncts (join keys).
fn split_and(e: Expr, out: &mut Vec<Expr>) {
    match e.kind {
        ExprKind::Binary {
            op: super::ast::BinaryOp::And,
            left,
            right,
        } => {
            split_and(*left, out);
            split_and(*right, out);
        }
        kind => out.push(Expr { kind, span: e.span }),
    }
}

/// The known operator closest to `word`, if close enough.
fn suggest(word: &str) -> Option<&'static str> {
    let mut best: Option<(&str, usize)> = None;
    for &op in OPERATORS {
        let d = spoor_core::edit_distance(word, op);
        if d <= 2 && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((op, d));
        }
    }
    best.map(|(op, _)| op)
}
