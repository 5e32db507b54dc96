//! KQL parser: recursive descent for statements and operators, Pratt parsing for
//! expressions.
//!
//! Errors: the first error in a statement ends that statement; the parser then skips to
//! the next top-level `;` and goes on, so one run reports one error per broken statement.
//! A recursion limit guards against deeply nested input and a fuel counter against
//! loops that stop making progress.

use spoor_core::{Diagnostic, LineIndex, Span};

use super::ast::{
    Assignment, BinaryOp, Call, ColumnDecl, Expr, ExprKind, FunctionDef, Ident, JoinSideKind,
    LetStmt, LetValue, ListOp, Literal, NamedArg, Param, ParamType, Query, ScalarType, SetStmt,
    Statement, StatementKind, StrOp, TypeRef, UnaryOp,
};
use super::lexer::{Token, TokenKind, tokenize};

/// Parse a KQL query text.
///
/// # Errors
/// Every syntax error found (at least one), in source order; render them with
/// [`Diagnostic::render`].
pub fn parse(source: &str) -> Result<Query, Vec<Diagnostic>> {
    let (tokens, lex_errors) = tokenize(source);
    let mut p = Parser::new(source, tokens);
    let query = p.parse_query();
    let mut errors = lex_errors;
    errors.extend(p.errors);
    if errors.is_empty() {
        Ok(query)
    } else {
        errors.sort_by_key(|d| d.span.start);
        // A lexer error and the parse error it causes usually share a place: keep one.
        errors.dedup_by(|b, a| a.span.start <= b.span.start && b.span.start <= a.span.end);
        Err(errors)
    }
}

/// Maximum nesting depth of expressions/pipelines.
const MAX_DEPTH: u32 = 96;

pub(crate) type PResult<T> = Result<T, Diagnostic>;

pub(crate) struct Parser<'a> {
    pub(crate) src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    pub(crate) errors: Vec<Diagnostic>,
    depth: u32,
    fuel: u64,
    lines: Option<LineIndex>,
}

/// Binding powers (higher binds tighter).
const BP_OR: u8 = 1;
const BP_AND: u8 = 2;
const BP_CMP: u8 = 3;
const BP_ADD: u8 = 4;
const BP_MUL: u8 = 5;

enum Infix {
    Binary(BinaryOp),
    List(ListOp),
    Between { negated: bool },
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, tokens: Vec<Token>) -> Self {
        let fuel = 1000 + 64 * tokens.len() as u64;
        Self {
            src,
            tokens,
            pos: 0,
            errors: Vec::new(),
            depth: 0,
            fuel,
            lines: None,
        }
    }

    // ----- token access -------------------------------------------------------------

    pub(crate) fn tok(&mut self) -> &Token {
        self.nth(0)
    }

    pub(crate) fn nth(&mut self, n: usize) -> &Token {
        if self.fuel == 0 {
            return self.tokens.last().expect("eof token");
        }
        self.fuel -= 1;
        let i = (self.pos + n).min(self.tokens.len() - 1);
        &self.tokens[i]
    }

    pub(crate) fn kind(&mut self) -> TokenKind {
        self.tok().kind.clone()
    }

    pub(crate) fn nth_kind_is(&mut self, n: usize, k: &TokenKind) -> bool {
        &self.nth(n).kind == k
    }

    pub(crate) fn at(&mut self, k: &TokenKind) -> bool {
        self.nth_kind_is(0, k)
    }

    pub(crate) fn span(&mut self) -> Span {
        self.tok().span
    }

    /// End of the previous token.
    pub(crate) fn prev_end(&self) -> u32 {
        if self.pos == 0 {
            0
        } else {
            self.tokens[self.pos - 1].span.end
        }
    }

    pub(crate) fn text(&self, span: Span) -> &'a str {
        span.slice(self.src)
    }

    /// The text of the `n`th token if it is an identifier.
    pub(crate) fn nth_ident(&mut self, n: usize) -> Option<&'a str> {
        let t = self.nth(n);
        if t.kind == TokenKind::Ident {
            let span = t.span;
            Some(self.text(span))
        } else {
            None
        }
    }

    pub(crate) fn at_word(&mut self, word: &str) -> bool {
        self.nth_ident(0) == Some(word)
    }

    pub(crate) fn nth_word(&mut self, n: usize, word: &str) -> bool {
        self.nth_ident(n) == Some(word)
    }

    /// Whether tokens `n` and `n+1` touch (no space between them).
    pub(crate) fn adjacent(&mut self, n: usize) -> bool {
        let a = self.nth(n).span.end;
        let b = self.nth(n + 1).span.start;
        a == b
    }

    pub(crate) fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos.min(self.tokens.len() - 1)].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn eat(&mut self, k: &TokenKind) -> Option<Span> {
        if self.at(k) {
            Some(self.bump().span)
        } else {
            None
        }
    }

    pub(crate) fn eat_word(&mut self, word: &str) -> Option<Span> {
        if self.at_word(word) {
            Some(self.bump().span)
        } else {
            None
        }
    }

    pub(crate) fn line_col(&mut self, offset: u32) -> String {
        let src = self.src;
        let idx = self.lines.get_or_insert_with(|| LineIndex::new(src));
        let lc = idx.line_col(offset, src);
        format!("{}:{}", lc.line, lc.col)
    }

    /// A description of the current token for messages: `` `where` ``, `a string`...
    pub(crate) fn found(&mut self) -> String {
        let t = self.tok().clone();
        match t.kind {
            TokenKind::Ident => format!("`{}`", self.text(t.span)),
            TokenKind::Long(_) | TokenKind::Real(_) | TokenKind::TimeSpan(_) => {
                format!("`{}`", self.text(t.span))
            }
            TokenKind::TypedLiteral { .. } => format!("`{}`", self.text(t.span)),
            k => k.describe().to_string(),
        }
    }

    pub(crate) fn err_here(&mut self, message: impl Into<String>) -> Diagnostic {
        let span = self.span();
        Diagnostic::new(message, span)
    }

    /// `expected {what}, found {current token}`.
    pub(crate) fn expected(&mut self, what: &str) -> Diagnostic {
        let found = self.found();
        self.err_here(format!("expected {what}, found {found}"))
    }

    pub(crate) fn expect(&mut self, k: &TokenKind, context: &str) -> PResult<Span> {
        if let Some(s) = self.eat(k) {
            return Ok(s);
        }
        Err(self.expected(&format!("{} {context}", k.describe())))
    }

    pub(crate) fn expect_word(&mut self, word: &str, context: &str) -> PResult<Span> {
        if let Some(s) = self.eat_word(word) {
            return Ok(s);
        }
        Err(self.expected(&format!("`{word}` {context}")))
    }

    /// Expect the `)` closing the `(` at `open`.
    pub(crate) fn expect_close(&mut self, open: Span, close: &TokenKind) -> PResult<Span> {
        if let Some(s) = self.eat(close) {
            return Ok(s);
        }
        let opener = match close {
            TokenKind::RBracket => "`[`",
            TokenKind::RBrace => "`{`",
            _ => "`(`",
        };
        let at = self.line_col(open.start);
        let mut d = self.expected(close.describe());
        d = d.with_note(format!("to close the {opener} at {at}"));
        if self.at(&TokenKind::Comma) || self.tok().kind == TokenKind::Ident {
            d = d.with_hint("separate the items of a list with `,`".to_string());
        }
        Err(d)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self
                .err_here("the query is nested too deeply")
                .with_hint(format!(
                    "at most {MAX_DEPTH} levels of nested parentheses and pipelines are supported"
                )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    pub(crate) fn ident(&mut self, what: &str) -> PResult<Ident> {
        if self.at(&TokenKind::Ident) {
            let t = self.bump();
            return Ok(Ident {
                name: self.text(t.span).to_string(),
                span: t.span,
            });
        }
        if let Some(id) = self.bracket_name() {
            return Ok(id);
        }
        Err(self.expected(what))
    }

    /// `['name']` / `["name"]`.
    pub(crate) fn bracket_name(&mut self) -> Option<Ident> {
        if self.at(&TokenKind::LBracket)
            && matches!(self.nth(1).kind, TokenKind::String(_))
            && self.nth_kind_is(2, &TokenKind::RBracket)
        {
            let open = self.bump().span;
            let TokenKind::String(name) = self.bump().kind else {
                unreachable!()
            };
            let close = self.bump().span;
            return Some(Ident {
                name,
                span: open.to(close),
            });
        }
        None
    }

    /// Whether a name (`Ident` or `['x']`) followed by `=` (not `==`) starts here.
    pub(crate) fn at_name_assign(&mut self) -> bool {
        if self.at(&TokenKind::Ident) {
            return self.nth_kind_is(1, &TokenKind::Assign);
        }
        self.at(&TokenKind::LBracket)
            && matches!(self.nth(1).kind, TokenKind::String(_))
            && self.nth_kind_is(2, &TokenKind::RBracket)
            && self.nth_kind_is(3, &TokenKind::Assign)
    }

    // ----- statements ---------------------------------------------------------------

    fn parse_query(&mut self) -> Query {
        let mut statements = Vec::new();
        loop {
            while self.eat(&TokenKind::Semi).is_some() {}
            if self.at(&TokenKind::Eof) {
                break;
            }
            let before = self.pos;
            match self.parse_statement() {
                Ok(stmt) => {
                    let is_query = matches!(stmt.kind, StatementKind::Query(_));
                    statements.push(stmt);
                    if !self.at(&TokenKind::Semi) && !self.at(&TokenKind::Eof) {
                        let d = self.after_statement_error(is_query);
                        self.errors.push(d);
                        self.recover();
                    }
                }
                Err(d) => {
                    self.errors.push(d);
                    self.recover();
                }
            }
            if self.pos == before && !self.at(&TokenKind::Eof) {
                self.bump();
            }
            if self.fuel == 0 {
                let d = self.err_here("internal error: the parser stopped making progress");
                self.errors.push(d);
                break;
            }
        }
        Query {
            statements,
            span: Span::new(0, u32::try_from(self.src.len()).unwrap_or(u32::MAX)),
        }
    }

    /// The error for a token that cannot continue a finished statement.
    fn after_statement_error(&mut self, is_query: bool) -> Diagnostic {
        let found = self.found();
        let word = self.nth_ident(0);
        if let Some(w) = word
            && super::operators::is_operator_name(w)
        {
            return self
                .err_here(format!("expected `|` before `{w}`"))
                .with_hint(format!("operators are separated by `|`, e.g. `| {w} ...`"));
        }
        match self.kind() {
            TokenKind::RParen => self
                .err_here("unexpected `)`")
                .with_hint("this `)` has no matching `(`"),
            TokenKind::RBracket => self
                .err_here("unexpected `]`")
                .with_hint("this `]` has no matching `[`"),
            _ if !is_query => self
                .err_here(format!(
                    "expected `;` after the `let` statement, found {found}"
                ))
                .with_hint("end each `let` statement with `;`"),
            _ => self
                .err_here(format!("unexpected {found} after the end of the query"))
                .with_hint("operators are chained with `|`, and statements are separated by `;`"),
        }
    }

    /// Skip to the next top-level `;` (or the end).
    fn recover(&mut self) {
        let mut depth = 0i32;
        loop {
            match self.tokens[self.pos].kind {
                TokenKind::Eof => return,
                TokenKind::Semi if depth <= 0 => return,
                TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => depth += 1,
                TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => depth -= 1,
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn parse_statement(&mut self) -> PResult<Statement> {
        let start = self.span();
        let kind = if self.at_word("let") && self.nth_kind_is(1, &TokenKind::Ident) {
            self.bump();
            let name = self.ident("a name after `let`")?;
            if !self.at(&TokenKind::Assign) {
                return Err(self.expected("`=` after the `let` name").with_hint(format!(
                    "a let statement reads `let {} = value;`",
                    name.name
                )));
            }
            self.bump();
            let value = self.parse_let_value()?;
            StatementKind::Let(LetStmt { name, value })
        } else if self.at_word("set") && self.nth_kind_is(1, &TokenKind::Ident) {
            self.bump();
            let name = self.dotted_name("an option name after `set`")?;
            let value = if self.eat(&TokenKind::Assign).is_some() {
                Some(self.parse_expr()?)
            } else {
                None
            };
            StatementKind::Set(SetStmt { name, value })
        } else if self.at_word("declare") && self.nth_word(1, "query_parameters") {
            self.bump();
            self.bump();
            let open = self.expect(&TokenKind::LParen, "after `query_parameters`")?;
            let params = self.parse_params_list(open)?;
            StatementKind::DeclareQueryParameters(params)
        } else {
            StatementKind::Query(self.parse_pipeline()?)
        };
        Ok(Statement {
            kind,
            span: start.to(Span::empty(self.prev_end())),
        })
    }

    /// `a.b.c` as one identifier.
    pub(crate) fn dotted_name(&mut self, what: &str) -> PResult<Ident> {
        let mut id = self.ident(what)?;
        while self.at(&TokenKind::Dot) && self.nth_kind_is(1, &TokenKind::Ident) {
            self.bump();
            let next = self.bump();
            id.name.push('.');
            id.name.push_str(self.text(next.span));
            id.span = id.span.to(next.span);
        }
        Ok(id)
    }

    fn parse_let_value(&mut self) -> PResult<LetValue> {
        let start = self.span();
        if self.at_word("view") && self.nth_kind_is(1, &TokenKind::LParen) {
            self.bump();
            return self.parse_function(start, true).map(LetValue::Function);
        }
        if self.at(&TokenKind::LParen) && self.paren_followed_by_brace() {
            return self.parse_function(start, false).map(LetValue::Function);
        }
        Ok(LetValue::Expr(self.parse_pipeline()?))
    }

    /// Whether the `(` here is closed by a `)` directly followed by `{`.
    fn paren_followed_by_brace(&mut self) -> bool {
        let mut depth = 0usize;
        let mut i = self.pos;
        while i < self.tokens.len() {
            match self.tokens[i].kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return self
                            .tokens
                            .get(i + 1)
                            .is_some_and(|t| t.kind == TokenKind::LBrace);
                    }
                }
                TokenKind::Eof | TokenKind::Semi | TokenKind::Pipe => return false,
                _ => {}
            }
            i += 1;
        }
        false
    }

    fn parse_function(&mut self, start: Span, is_view: bool) -> PResult<FunctionDef> {
        let open = self.expect(&TokenKind::LParen, "to start the parameter list")?;
        let params = self.parse_params_list(open)?;
        let brace = self.expect(&TokenKind::LBrace, "to start the function body")?;
        let mut body = Vec::new();
        loop {
            while self.eat(&TokenKind::Semi).is_some() {}
            if self.at(&TokenKind::RBrace) || self.at(&TokenKind::Eof) {
                break;
            }
            let before = self.pos;
            body.push(self.parse_statement()?);
            if !self.at(&TokenKind::Semi) && !self.at(&TokenKind::RBrace) {
                break;
            }
            if self.pos == before {
                break;
            }
        }
        let end = self.expect_close(brace, &TokenKind::RBrace)?;
        if body.is_empty() {
            return Err(Diagnostic::new("the function body is empty", brace.to(end))
                .with_hint("a function body ends with an expression, e.g. `{ T | take 10 }`"));
        }
        Ok(FunctionDef {
            is_view,
            params,
            body,
            span: start.to(end),
        })
    }

    /// Parameters after `(` up to and including `)`.
    fn parse_params_list(&mut self, open: Span) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        while !self.at(&TokenKind::RParen) {
            let name = self.ident("a parameter name")?;
            self.expect(&TokenKind::Colon, "and a type after the parameter name")
                .map_err(|d| {
                    d.with_hint(format!(
                        "a parameter reads `{}:string` or `{}:(*)`",
                        name.name, name.name
                    ))
                })?;
            let ty = if let Some(open) = self.eat(&TokenKind::LParen) {
                let (columns, open_schema, close) = self.parse_schema(open, true)?;
                ParamType::Tabular {
                    columns,
                    open: open_schema,
                    span: open.to(close),
                }
            } else {
                ParamType::Scalar(self.parse_type()?)
            };
            let default = if self.eat(&TokenKind::Assign).is_some() {
                Some(self.parse_expr()?)
            } else {
                None
            };
            let end = self.prev_end();
            params.push(Param {
                span: name.span.to(Span::empty(end)),
                name,
                ty,
                default,
            });
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect_close(open, &TokenKind::RParen)?;
        Ok(params)
    }

    /// `name:type, ...` after `(` up to `)` (returned). `*` allowed if `allow_star`.
    pub(crate) fn parse_schema(
        &mut self,
        open: Span,
        allow_star: bool,
    ) -> PResult<(Vec<ColumnDecl>, bool, Span)> {
        let mut columns = Vec::new();
        let mut star = false;
        while !self.at(&TokenKind::RParen) {
            if allow_star && self.eat(&TokenKind::Star).is_some() {
                star = true;
            } else {
                let name = self.ident("a column name")?;
                self.expect(&TokenKind::Colon, "and a type after the column name")?;
                let ty = self.parse_type()?;
                columns.push(ColumnDecl {
                    span: name.span.to(ty.span),
                    name,
                    ty,
                });
            }
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        let close = self.expect_close(open, &TokenKind::RParen)?;
        Ok((columns, star, close))
    }

    pub(crate) fn parse_type(&mut self) -> PResult<TypeRef> {
        let found = self.found();
        let Some(word) = self.nth_ident(0) else {
            return Err(self.expected("a type name"));
        };
        let Some(ty) = scalar_type(word) else {
            return Err(self.err_here(format!("unknown type {found}")).with_hint(
                "the types are bool, datetime, decimal, dynamic, guid, int, long, real, string, timespan",
            ));
        };
        let span = self.bump().span;
        Ok(TypeRef { ty, span })
    }

    // ----- pipelines ----------------------------------------------------------------

    /// A tabular-capable expression: `expr (| operator)*`, or a source operator
    /// (`union`, `print`, `range`, `datatable`...) followed by `| operator`s.
    pub(crate) fn parse_pipeline(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_pipeline_inner();
        self.leave();
        r
    }

    fn parse_pipeline_inner(&mut self) -> PResult<Expr> {
        let start = self.span();
        let mut operators = Vec::new();
        let source = if self.at_source_operator() {
            operators.push(self.parse_operator()?);
            None
        } else {
            Some(Box::new(self.parse_expr()?))
        };
        while self.at(&TokenKind::Pipe) {
            self.bump();
            operators.push(self.parse_operator()?);
        }
        if operators.is_empty() {
            return Ok(*source.expect("source"));
        }
        Ok(Expr {
            kind: ExprKind::Pipe { source, operators },
            span: start.to(Span::empty(self.prev_end())),
        })
    }

    /// A sub-pipeline that starts with an operator: `where x | take 1`
    /// (`mv-apply ... on (...)`, `fork (...)`, `facet ... with (...)`); a leading `|` is allowed.
    pub(crate) fn parse_operator_pipeline(&mut self) -> PResult<Expr> {
        self.enter()?;
        let start = self.span();
        self.eat(&TokenKind::Pipe);
        let mut operators = vec![];
        let r = (|| {
            operators.push(self.parse_operator()?);
            while self.eat(&TokenKind::Pipe).is_some() {
                operators.push(self.parse_operator()?);
            }
            Ok(())
        })();
        self.leave();
        r?;
        Ok(Expr {
            kind: ExprKind::Pipe {
                source: None,
                operators,
            },
            span: start.to(Span::empty(self.prev_end())),
        })
    }

    /// Whether a pipeline-starting operator (`union`, `print`, `datatable`...) begins here.
    fn at_source_operator(&mut self) -> bool {
        let Some(word) = self.nth_ident(0) else {
            return false;
        };
        let next = self.nth(1).kind.clone();
        let continues_expr = matches!(
            next,
            TokenKind::RParen
                | TokenKind::Comma
                | TokenKind::Pipe
                | TokenKind::Semi
                | TokenKind::Eof
                | TokenKind::Dot
                | TokenKind::LBracket
                | TokenKind::EqEq
                | TokenKind::NotEq
                | TokenKind::LtGt
                | TokenKind::Lt
                | TokenKind::LtEq
                | TokenKind::Gt
                | TokenKind::GtEq
                | TokenKind::EqTilde
                | TokenKind::BangTilde
                | TokenKind::Plus
                | TokenKind::Minus
                | TokenKind::Slash
                | TokenKind::Percent
                | TokenKind::Assign
        );
        match word {
            "datatable" | "externaldata" | "external_data" => {
                next == TokenKind::LParen || (next == TokenKind::Ident && !continues_expr)
            }
            "range" => self.nth(1).kind == TokenKind::Ident && self.nth_word(2, "from"),
            "evaluate" => next == TokenKind::Ident,
            "search" | "find" if self.nth_word(1, "in") => self.nth_kind_is(2, &TokenKind::LParen),
            "union" | "print" | "search" | "find" => !continues_expr && !self.nth_is_binary_word(1),
            _ => false,
        }
    }

    fn nth_is_binary_word(&mut self, n: usize) -> bool {
        self.nth_ident(n).is_some_and(|w| {
            matches!(
                w,
                "and"
                    | "or"
                    | "in"
                    | "has"
                    | "contains"
                    | "startswith"
                    | "endswith"
                    | "between"
                    | "has_any"
                    | "has_all"
            )
        })
    }

    // ----- expressions ----------------------------------------------------------------

    /// A scalar expression (no pipes at the top level).
    pub(crate) fn parse_expr(&mut self) -> PResult<Expr> {
        self.parse_bp(0)
    }

    fn parse_bp(&mut self, min_bp: u8) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_bp_inner(min_bp);
        self.leave();
        r
    }

    fn parse_bp_inner(&mut self, min_bp: u8) -> PResult<Expr> {
        let mut left = self.parse_unary()?;
        while let Some((infix, bp, len)) = self.peek_infix() {
            if bp <= min_bp {
                break;
            }
            let op_span = self.span();
            let op_text = {
                let end = self.nth(len - 1).span.end;
                self.text(Span::new(op_span.start, end)).to_string()
            };
            for _ in 0..len {
                self.bump();
            }
            left = match infix {
                Infix::Binary(op) => {
                    let right = self.parse_operand(bp, &op_text, op)?;
                    let span = left.span.to(right.span);
                    Expr {
                        kind: ExprKind::Binary {
                            op,
                            left: Box::new(left),
                            right: Box::new(right),
                        },
                        span,
                    }
                }
                Infix::List(op) => {
                    let (items, end) = self.parse_list_operand(&op_text)?;
                    let span = left.span.to(end);
                    Expr {
                        kind: ExprKind::InList {
                            op,
                            expr: Box::new(left),
                            items,
                        },
                        span,
                    }
                }
                Infix::Between { negated } => {
                    let open = self
                        .expect(&TokenKind::LParen, &format!("after `{op_text}`"))
                        .map_err(|d| d.with_hint("write the range as `between (low .. high)`"))?;
                    let low = self.parse_expr()?;
                    self.expect(&TokenKind::DotDot, "between the bounds of `between`")
                        .map_err(|d| d.with_hint("write the range as `between (low .. high)`"))?;
                    let high = self.parse_expr()?;
                    let end = self.expect_close(open, &TokenKind::RParen)?;
                    let span = left.span.to(end);
                    Expr {
                        kind: ExprKind::Between {
                            negated,
                            expr: Box::new(left),
                            low: Box::new(low),
                            high: Box::new(high),
                        },
                        span,
                    }
                }
            };
        }
        Ok(left)
    }

    /// The right operand of a binary operator, with a helpful error when missing.
    fn parse_operand(&mut self, bp: u8, op_text: &str, op: BinaryOp) -> PResult<Expr> {
        if self.at_expression_start() {
            return self.parse_bp(bp);
        }
        let found = self.found();
        let at_end = matches!(
            self.kind(),
            TokenKind::Eof
                | TokenKind::Pipe
                | TokenKind::Semi
                | TokenKind::RParen
                | TokenKind::Comma
        );
        let mut d = if at_end {
            // Point just after the operator, where the operand is missing.
            let at = self.prev_end() + 1;
            let at = at.min(u32::try_from(self.src.len()).unwrap_or(u32::MAX));
            Diagnostic::new(
                format!("expected an expression after `{op_text}`"),
                Span::empty(at),
            )
        } else {
            self.err_here(format!(
                "expected an expression after `{op_text}`, found {found}"
            ))
        };
        d = match op {
            BinaryOp::And | BinaryOp::Or => {
                d.with_hint(format!("`{op_text}` needs a condition on both sides"))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                d.with_hint(format!("`{op_text}` needs a value on both sides"))
            }
            _ => d.with_hint(format!(
                "a comparison needs a value on both sides, e.g. EventName {op_text} \"StopLogging\""
            )),
        };
        if self.at(&TokenKind::LBracket) {
            let t = self.nth(1).clone();
            if t.kind == TokenKind::Ident && self.nth_kind_is(2, &TokenKind::RBracket) {
                let name = self.text(t.span);
                d = d.with_hint(format!(
                    "`[{name}]` looks like a placeholder to fill in: replace it with a value, e.g. \"{name}\" (a column with an unusual name is written ['{name}'])"
                ));
            }
        }
        Err(d)
    }

    fn at_expression_start(&mut self) -> bool {
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

    /// `( items )` after `in`, `has_any`...; a single non-parenthesised operand is allowed.
    fn parse_list_operand(&mut self, op_text: &str) -> PResult<(Vec<Expr>, Span)> {
        let Some(open) = self.eat(&TokenKind::LParen) else {
            if self.at_expression_start() {
                let e = self.parse_bp(BP_ADD)?;
                let span = e.span;
                return Ok((vec![e], span));
            }
            return Err(self
                .expected(&format!("`(` after `{op_text}`"))
                .with_hint(format!(
                    "write the list in parentheses, e.g. x {op_text} (\"a\", \"b\")"
                )));
        };
        let mut items = Vec::new();
        while !self.at(&TokenKind::RParen) {
            items.push(self.parse_pipeline()?);
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        let close = self.expect_close(open, &TokenKind::RParen)?;
        Ok((items, close))
    }

    /// The infix operator at the current position: (operator, binding power, token count).
    fn peek_infix(&mut self) -> Option<(Infix, u8, usize)> {
        use BinaryOp as B;
        let k = self.kind();
        let bin = |op, bp| Some((Infix::Binary(op), bp, 1));
        match k {
            TokenKind::EqEq => bin(B::Eq, BP_CMP),
            TokenKind::NotEq | TokenKind::LtGt => bin(B::NotEq, BP_CMP),
            TokenKind::EqTilde => bin(B::EqCi, BP_CMP),
            TokenKind::BangTilde => bin(B::NotEqCi, BP_CMP),
            TokenKind::Lt => bin(B::Lt, BP_CMP),
            TokenKind::LtEq => bin(B::LtEq, BP_CMP),
            TokenKind::Gt => bin(B::Gt, BP_CMP),
            TokenKind::GtEq => bin(B::GtEq, BP_CMP),
            TokenKind::Plus => bin(B::Add, BP_ADD),
            TokenKind::Minus => bin(B::Sub, BP_ADD),
            TokenKind::Star => bin(B::Mul, BP_MUL),
            TokenKind::Slash => bin(B::Div, BP_MUL),
            TokenKind::Percent => bin(B::Mod, BP_MUL),
            TokenKind::Bang if self.adjacent(0) => {
                let word = self.nth_ident(1)?;
                let tilde = self.nth_kind_is(2, &TokenKind::Tilde) && self.adjacent(1);
                match word {
                    "in" if tilde => Some((Infix::List(ListOp::NotInCi), BP_CMP, 3)),
                    "in" => Some((Infix::List(ListOp::NotIn), BP_CMP, 2)),
                    "between" => Some((Infix::Between { negated: true }, BP_CMP, 2)),
                    w => {
                        let (op, cs) = string_op(w)?;
                        Some((
                            Infix::Binary(B::Str {
                                op,
                                negated: true,
                                case_sensitive: cs,
                            }),
                            BP_CMP,
                            2,
                        ))
                    }
                }
            }
            TokenKind::Ident => {
                let word = self.nth_ident(0)?;
                match word {
                    "or" => bin(B::Or, BP_OR),
                    "and" => bin(B::And, BP_AND),
                    "in" if self.nth_kind_is(1, &TokenKind::Tilde) && self.adjacent(0) => {
                        Some((Infix::List(ListOp::InCi), BP_CMP, 2))
                    }
                    "in" => Some((Infix::List(ListOp::In), BP_CMP, 1)),
                    "has_any" => Some((Infix::List(ListOp::HasAny), BP_CMP, 1)),
                    "has_all" => Some((Infix::List(ListOp::HasAll), BP_CMP, 1)),
                    "between" => Some((Infix::Between { negated: false }, BP_CMP, 1)),
                    "matches" if self.nth_word(1, "regex") => Some((
                        Infix::Binary(B::Str {
                            op: StrOp::MatchesRegex,
                            negated: false,
                            case_sensitive: true,
                        }),
                        BP_CMP,
                        2,
                    )),
                    "notcontains" | "notcontainscs" | "nothas" | "nothascs" => {
                        let (op, cs) = match word {
                            "notcontains" => (StrOp::Contains, false),
                            "notcontainscs" => (StrOp::Contains, true),
                            "nothas" => (StrOp::Has, false),
                            _ => (StrOp::Has, true),
                        };
                        Some((
                            Infix::Binary(B::Str {
                                op,
                                negated: true,
                                case_sensitive: cs,
                            }),
                            BP_CMP,
                            1,
                        ))
                    }
                    w => {
                        let (op, cs) = string_op(w)?;
                        Some((
                            Infix::Binary(B::Str {
                                op,
                                negated: false,
                                case_sensitive: cs,
                            }),
                            BP_CMP,
                            1,
                        ))
                    }
                }
            }
            _ => None,
        }
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        let op = match self.kind() {
            TokenKind::Minus => UnaryOp::Neg,
            TokenKind::Plus => UnaryOp::Plus,
            _ => return self.parse_postfix(),
        };
        let start = self.bump().span;
        self.enter()?;
        let operand = self.parse_unary();
        self.leave();
        let operand = operand?;
        let span = start.to(operand.span);
        // Fold signs into numeric literals: `-1` is a literal.
        if let ExprKind::Literal(lit) = &operand.kind {
            let folded = match (op, lit) {
                (UnaryOp::Plus, Literal::Long(_) | Literal::Real(_) | Literal::TimeSpan(_)) => {
                    Some(lit.clone())
                }
                (UnaryOp::Neg, Literal::Long(v)) => Some(Literal::Long(v.wrapping_neg())),
                (UnaryOp::Neg, Literal::Real(v)) => Some(Literal::Real(-v)),
                (UnaryOp::Neg, Literal::TimeSpan(v)) => Some(Literal::TimeSpan(-v)),
                _ => None,
            };
            if let Some(lit) = folded {
                return Ok(Expr {
                    kind: ExprKind::Literal(lit),
                    span,
                });
            }
        }
        Ok(Expr {
            kind: ExprKind::Unary {
                op,
                operand: Box::new(operand),
            },
            span,
        })
    }

    pub(crate) fn parse_postfix(&mut self) -> PResult<Expr> {
        let mut e = self.parse_primary()?;
        loop {
            match self.kind() {
                TokenKind::Dot
                    if self.nth_kind_is(1, &TokenKind::LBracket)
                        && !matches!(self.nth(2).kind, TokenKind::String(_)) =>
                {
                    // `x.[0]`: an index written after a dot.
                    self.bump();
                    let open = self.bump().span;
                    let index = self.parse_expr()?;
                    let close = self.expect_close(open, &TokenKind::RBracket)?;
                    let span = e.span.to(close);
                    e = Expr {
                        kind: ExprKind::Index {
                            target: Box::new(e),
                            index: Box::new(index),
                        },
                        span,
                    };
                }
                TokenKind::Dot => {
                    self.bump();
                    let member = if let Some(id) = self.bracket_name() {
                        id
                    } else if self.at(&TokenKind::Ident) {
                        self.ident("a property name")?
                    } else if let TokenKind::Long(_) = self.kind() {
                        // `x.0` style keys
                        let t = self.bump();
                        Ident {
                            name: self.text(t.span).to_string(),
                            span: t.span,
                        }
                    } else {
                        return Err(self.expected("a property name after `.`"));
                    };
                    let span = e.span.to(member.span);
                    e = Expr {
                        kind: ExprKind::Member {
                            target: Box::new(e),
                            member,
                        },
                        span,
                    };
                }
                TokenKind::LBracket => {
                    let open = self.bump().span;
                    let index = self.parse_expr()?;
                    let close = self.expect_close(open, &TokenKind::RBracket)?;
                    let span = e.span.to(close);
                    e = Expr {
                        kind: ExprKind::Index {
                            target: Box::new(e),
                            index: Box::new(index),
                        },
                        span,
                    };
                }
                _ => break,
            }
        }
        Ok(e)
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let t = self.tok().clone();
        let lit = |lit, span| {
            Ok(Expr {
                kind: ExprKind::Literal(lit),
                span,
            })
        };
        match t.kind {
            TokenKind::Long(v) => {
                self.bump();
                lit(Literal::Long(v), t.span)
            }
            TokenKind::Real(v) => {
                self.bump();
                lit(Literal::Real(v), t.span)
            }
            TokenKind::TimeSpan(v) => {
                self.bump();
                lit(Literal::TimeSpan(v), t.span)
            }
            TokenKind::String(s) => {
                self.bump();
                let mut value = s;
                let mut span = t.span;
                // Adjacent string literals concatenate.
                while let TokenKind::String(more) = self.kind() {
                    value.push_str(&more);
                    span = span.to(self.bump().span);
                }
                lit(Literal::String(value), span)
            }
            TokenKind::TypedLiteral { type_name, raw } => {
                self.bump();
                let value = super::literals::typed_literal(&type_name, &raw)
                    .map_err(|msg| Diagnostic::new(msg, t.span))?;
                lit(value, t.span)
            }
            TokenKind::Star => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Star,
                    span: t.span,
                })
            }
            TokenKind::LParen => {
                let open = self.bump().span;
                let inner = self.parse_pipeline()?;
                let close = self.expect_close(open, &TokenKind::RParen)?;
                // Keep the inner node; widen a bare name's span is not needed.
                let _ = close;
                Ok(inner)
            }
            TokenKind::LBracket => {
                if let Some(id) = self.bracket_name() {
                    return Ok(Expr {
                        span: id.span,
                        kind: ExprKind::Name(id),
                    });
                }
                Err(self.expected("an expression").with_hint(
                    "a bracketed column name is written ['name']; a list is written (a, b) or dynamic([a, b])",
                ))
            }
            TokenKind::Ident => self.parse_ident_expr(),
            _ => {
                let mut d = self.expected("an expression");
                if self.at(&TokenKind::Eof) {
                    d = d.with_hint("the query ends too early");
                }
                Err(d)
            }
        }
    }

    fn parse_ident_expr(&mut self) -> PResult<Expr> {
        let t = self.tok().clone();
        let word = self.text(t.span);
        let next = self.nth(1).kind.clone();
        if next != TokenKind::LParen {
            if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
                self.bump();
                return Ok(Expr {
                    kind: ExprKind::Literal(Literal::Bool(word.eq_ignore_ascii_case("true"))),
                    span: t.span,
                });
            }
            if word == "null" {
                self.bump();
                return Ok(Expr {
                    kind: ExprKind::Literal(Literal::Null(None)),
                    span: t.span,
                });
            }
            if (word == "$left" || word == "$right") && next == TokenKind::Dot {
                self.bump();
                self.bump();
                let column = self.ident("a column name after `.`")?;
                let side = if word == "$left" {
                    JoinSideKind::Left
                } else {
                    JoinSideKind::Right
                };
                return Ok(Expr {
                    span: t.span.to(column.span),
                    kind: ExprKind::JoinSide { side, column },
                });
            }
            let id = self.ident("a name")?;
            return Ok(Expr {
                span: id.span,
                kind: ExprKind::Name(id),
            });
        }
        if word == "dynamic" {
            self.bump();
            let open = self.bump().span;
            let value = super::literals::parse_dynamic(self)?;
            let close = self.expect_close(open, &TokenKind::RParen)?;
            return Ok(Expr {
                kind: ExprKind::Literal(Literal::Dynamic(value)),
                span: t.span.to(close),
            });
        }
        let call = self.parse_call()?;
        let span = call.func.span.to(Span::empty(self.prev_end()));
        Ok(Expr {
            kind: ExprKind::Call(call),
            span,
        })
    }

    /// `name(args)`: positional arguments may be pipelines; `name = value` are named.
    pub(crate) fn parse_call(&mut self) -> PResult<Call> {
        let func = self.ident("a function name")?;
        let open = self.expect(&TokenKind::LParen, &format!("after `{}`", func.name))?;
        let mut args = Vec::new();
        let mut named_args = Vec::new();
        while !self.at(&TokenKind::RParen) {
            if self.at_name_assign() {
                let name = self.ident("an argument name")?;
                self.bump();
                let value = self.parse_pipeline()?;
                named_args.push(NamedArg {
                    span: name.span.to(value.span),
                    name,
                    value,
                });
            } else {
                args.push(self.parse_pipeline()?);
            }
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect_close(open, &TokenKind::RParen)?;
        Ok(Call {
            func,
            args,
            named_args,
        })
    }

    // ----- shared pieces for operators -------------------------------------------------

    /// `[name =] expr` or `(a, b) = expr`.
    pub(crate) fn parse_assignment(&mut self) -> PResult<Assignment> {
        let start = self.span();
        let mut names = Vec::new();
        if self.at_name_assign() {
            names.push(self.ident("a column name")?);
            self.bump();
        } else if self.at(&TokenKind::LParen) && self.at_tuple_assign() {
            self.bump();
            loop {
                names.push(self.ident("a column name")?);
                if self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
            self.expect(&TokenKind::RParen, "after the column names")?;
            self.expect(&TokenKind::Assign, "after the column names")?;
        }
        if !self.at_expression_start() {
            let what = if names.is_empty() {
                "an expression".to_string()
            } else {
                "an expression after `=`".to_string()
            };
            return Err(self.expected(&what));
        }
        let expr = self.parse_expr()?;
        Ok(Assignment {
            names,
            span: start.to(expr.span),
            expr,
        })
    }

    fn at_tuple_assign(&mut self) -> bool {
        let mut i = 1;
        loop {
            if self.nth(i).kind != TokenKind::Ident {
                return false;
            }
            i += 1;
            match self.nth(i).kind {
                TokenKind::Comma => i += 1,
                TokenKind::RParen => return self.nth_kind_is(i + 1, &TokenKind::Assign),
                _ => return false,
            }
        }
    }

    /// Comma-separated assignments (at least one).
    pub(crate) fn parse_assignments(&mut self) -> PResult<Vec<Assignment>> {
        let mut items = vec![self.parse_assignment()?];
        while self.eat(&TokenKind::Comma).is_some() {
            items.push(self.parse_assignment()?);
        }
        Ok(items)
    }

    /// Operator parameters `name=value` whose name is in `allowed` (or starts `hint.`).
    pub(crate) fn parse_op_params(&mut self, allowed: &[&str]) -> PResult<Vec<NamedArg>> {
        let mut params = Vec::new();
        while let Some(word) = self.nth_ident(0) {
            let is_hint = word == "hint" && self.nth_kind_is(1, &TokenKind::Dot);
            let is_allowed = allowed.contains(&word) && self.nth_kind_is(1, &TokenKind::Assign);
            if !is_hint && !is_allowed {
                break;
            }
            let name = self.dotted_name("a parameter name")?;
            self.expect(&TokenKind::Assign, &format!("after `{}`", name.name))?;
            let value = self.parse_param_value()?;
            params.push(NamedArg {
                span: name.span.to(value.span),
                name,
                value,
            });
        }
        Ok(params)
    }

    /// A parameter value: a bare word (a [`ExprKind::Name`], `true`/`false` as booleans)
    /// or a literal.
    pub(crate) fn parse_param_value(&mut self) -> PResult<Expr> {
        if self.at(&TokenKind::Ident) {
            let id = self.ident("a value")?;
            let kind =
                if id.name.eq_ignore_ascii_case("true") || id.name.eq_ignore_ascii_case("false") {
                    ExprKind::Literal(Literal::Bool(id.name.eq_ignore_ascii_case("true")))
                } else {
                    ExprKind::Name(id.clone())
                };
            return Ok(Expr {
                kind,
                span: id.span,
            });
        }
        self.parse_unary()
    }

    /// `name = value, ...` inside parentheses after `open` (render/externaldata `with (...)`).
    pub(crate) fn parse_named_list(&mut self, open: Span) -> PResult<Vec<NamedArg>> {
        let mut items = Vec::new();
        while !self.at(&TokenKind::RParen) {
            let name = self.dotted_name("a property name")?;
            self.expect(&TokenKind::Assign, &format!("after `{}`", name.name))?;
            let value = if self.at(&TokenKind::Ident) && !self.nth_kind_is(1, &TokenKind::LParen) {
                self.parse_param_value()?
            } else {
                self.parse_expr()?
            };
            items.push(NamedArg {
                span: name.span.to(value.span),
                name,
                value,
            });
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect_close(open, &TokenKind::RParen)?;
        Ok(items)
    }

    /// A column name, `*`, or a name pattern with `*` wildcards (`Device*`, `*Id`).
    pub(crate) fn parse_name_or_pattern(&mut self) -> PResult<Expr> {
        if let Some(id) = self.bracket_name() {
            return Ok(Expr {
                span: id.span,
                kind: ExprKind::Name(id),
            });
        }
        let start = self.span();
        if !matches!(self.kind(), TokenKind::Ident | TokenKind::Star) {
            return Err(self.expected("a column name"));
        }
        let mut end = self.bump().span;
        while self.tokens[self.pos].span.start == end.end
            && matches!(
                self.tokens[self.pos].kind,
                TokenKind::Ident | TokenKind::Star | TokenKind::Long(_)
            )
        {
            end = self.bump().span;
        }
        let span = start.to(end);
        let text = self.text(span).to_string();
        let kind = if text == "*" {
            ExprKind::Star
        } else if text.contains('*') {
            ExprKind::NamePattern(text)
        } else {
            ExprKind::Name(Ident { name: text, span })
        };
        Ok(Expr { kind, span })
    }

    /// A table operand: a parenthesised pipeline, a call, a name or a name pattern.
    pub(crate) fn parse_table_operand(&mut self) -> PResult<Expr> {
        if self.at(&TokenKind::LParen) {
            return self.parse_postfix();
        }
        if self.at(&TokenKind::Star)
            || (self.at(&TokenKind::Ident)
                && self.nth_kind_is(1, &TokenKind::Star)
                && self.adjacent(0))
        {
            return self.parse_name_or_pattern();
        }
        if !matches!(self.kind(), TokenKind::Ident | TokenKind::LBracket) {
            return Err(self.expected("a table name or a parenthesised query"));
        }
        self.parse_postfix()
    }
}

/// The string operator named `word`, and whether it is case-sensitive.
fn string_op(word: &str) -> Option<(StrOp, bool)> {
    let (base, cs) = match word.strip_suffix("_cs") {
        Some(b) => (b, true),
        None => (word, false),
    };
    let op = match base {
        "has" => StrOp::Has,
        "hasprefix" => StrOp::HasPrefix,
        "hassuffix" => StrOp::HasSuffix,
        "contains" => StrOp::Contains,
        "containscs" if !cs => return Some((StrOp::Contains, true)),
        "startswith" => StrOp::StartsWith,
        "endswith" => StrOp::EndsWith,
        _ => return None,
    };
    Some((op, cs))
}

/// The scalar type named `word` (with aliases).
pub(crate) fn scalar_type(word: &str) -> Option<ScalarType> {
    Some(match word {
        "bool" | "boolean" => ScalarType::Bool,
        "datetime" | "date" => ScalarType::DateTime,
        "decimal" => ScalarType::Decimal,
        "dynamic" => ScalarType::Dynamic,
        "guid" | "uniqueid" => ScalarType::Guid,
        "int" | "int32" => ScalarType::Int,
        "long" | "int64" => ScalarType::Long,
        "real" | "double" | "float" => ScalarType::Real,
        "string" => ScalarType::String,
        "timespan" | "time" => ScalarType::TimeSpan,
        _ => return None,
    })
}
