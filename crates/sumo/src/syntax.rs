//! The Sumo Logic search language: a scope (keyword expression) before the first `|`, then
//! operators separated by `|`; `// line` and `/* block */` comments anywhere between tokens.
//! A hand-written parser over the text, as crates/cwl's: a `*` is a wildcard in the scope and
//! a multiplication in an expression, and `/.../` is a regular expression only where a value
//! stands, which a separate lexer would have to guess.
//!
//! Syntax as Sumo Logic documents it:
//! - scope: https://www.sumologic.com/help/docs/search/get-started-with-search/build-search/keyword-search-expressions/
//! - operators: https://www.sumologic.com/help/docs/search/search-query-language/search-operators/
//! - expressions: https://www.sumologic.com/help/docs/search/search-query-language/field-expressions/
//! - comments: https://www.sumologic.com/help/docs/search/get-started-with-search/search-basics/comments-search-queries/

use spoor_core::cursor::{Cursor, span};
use spoor_core::{Diagnostic, Span};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub scope: Scope,
    pub operators: Vec<Operator>,
}

/// The keyword expression before the first `|`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub kind: ScopeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScopeKind {
    /// `*`, or no scope at all: every message.
    All,
    /// `_sourceCategory=*Windows/Sysmon*` (a metadata field, `=` or `!=`, a value).
    Metadata {
        field: String,
        field_span: Span,
        value: String,
        /// A quoted value is literal: "Quotes and wildcards cannot be used together"
        /// (built-in-metadata page).
        quoted: bool,
        negated: bool,
    },
    /// `Field=value` on a field that is not built-in metadata (an indexed field in Sumo).
    FieldTerm {
        field: String,
        value: String,
    },
    /// A bare keyword (`error`, `nmap*`) or a quoted phrase: full-text search of the message.
    Keyword(String),
    Not(Box<Scope>),
    And(Box<Scope>, Box<Scope>),
    Or(Box<Scope>, Box<Scope>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub kind: OperatorKind,
    /// The operator and everything up to the next `|`.
    pub span: Span,
}

/// A name with where it is written.
pub type Name = (String, Span);

#[derive(Debug, Clone, PartialEq)]
pub enum OperatorKind {
    /// `parse [field=F] "a=*," as a [nodrop]`, `parse regex [field=F] "(?<a>...)" [nodrop]`,
    /// `extract ...` (parse regex's other name).
    Parse {
        field: Option<Name>,
        pattern: ParsePattern,
        names: Vec<Name>,
        nodrop: bool,
    },
    /// `where condition`.
    Where(Expr),
    /// `eval x = expr, ...`, `expr as x`: new or replaced fields, in order.
    Assign(Vec<(Name, Expr)>),
    /// `fields a, b` (keep these) or `fields - a, b` (drop these).
    Fields { remove: bool, names: Vec<Name> },
    /// `count by x`, `count as n, sum(bytes) as total by host`, `count_distinct(user)`.
    Aggregate {
        aggregates: Vec<Aggregate>,
        by: Vec<Name>,
    },
    /// `sort by x [asc|desc], ...` (true = descending).
    Sort(Vec<(Name, bool)>),
    /// `limit n`.
    Limit(u64),
    /// `top n field, ... [by field]`.
    Top {
        n: u64,
        fields: Vec<Name>,
        by: Option<Name>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParsePattern {
    /// The anchor form: `*` captures, everything else is literal.
    Anchor(String, Span),
    /// A regular expression whose named groups are the new fields.
    Regex(String, Span),
}

/// One aggregate of a group-by operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// Lower case: count, count_distinct, sum, avg, min, max.
    pub function: String,
    pub argument: Option<Expr>,
    pub alias: Option<Name>,
    pub span: Span,
}

impl Aggregate {
    /// The result field: its alias, else Sumo's default (`_count`, `_count_distinct`, `_sum`...).
    pub fn name(&self) -> String {
        match &self.alias {
            Some((a, _)) => a.clone(),
            None => format!("_{}", self.function),
        }
    }
}

/// The aggregates spoor runs (lower case).
pub const AGGREGATES: &[&str] = &["count", "count_distinct", "sum", "avg", "min", "max"];

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Field(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `/pattern/`.
    Regex(String),
    /// `(a, b, ...)` after `in`.
    List(Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x matches "wild*card"` or `x matches /regex/`.
    Matches {
        expr: Box<Expr>,
        pattern: Box<Expr>,
    },
    /// `x in (..)`, `x not in (..)`.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `cond ? a : b`.
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// Operators Sumo Logic has that spoor does not run yet.
const UNSUPPORTED: &[&str] = &[
    "accum",
    "backshift",
    "bin",
    "cat",
    "compare",
    "count_frequent",
    "csv",
    "dedup",
    "diff",
    "fillmissing",
    "filter",
    "first",
    "geoip",
    "geo",
    "join",
    "json",
    "keyvalue",
    "kv",
    "last",
    "least_recent",
    "logcompare",
    "logreduce",
    "lookup",
    "median",
    "merge",
    "most_recent",
    "outlier",
    "pct",
    "predict",
    "rollingstd",
    "save",
    "sessionize",
    "smooth",
    "split",
    "stddev",
    "threatip",
    "timeslice",
    "topk",
    "total",
    "trace",
    "transactionize",
    "transpose",
    "values",
    "xml",
];

const OPERATORS: &[&str] = &[
    "parse",
    "extract",
    "where",
    "eval",
    "fields",
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "sort",
    "order",
    "limit",
    "top",
];

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, Vec<Diagnostic>> {
    let mut p = Parser {
        cursor: Cursor::new(text, is_name_char),
    };
    p.parse_query().map_err(|d| vec![d])
}

struct Parser<'a> {
    cursor: Cursor<'a>,
}

impl<'a> std::ops::Deref for Parser<'a> {
    type Target = Cursor<'a>;
    fn deref(&self) -> &Cursor<'a> {
        &self.cursor
    }
}

impl std::ops::DerefMut for Parser<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.cursor
    }
}

type PResult<T> = Result<T, Diagnostic>;

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl<'a> Parser<'a> {
    /// Runs `f` one level deeper, or fails when the query nests too deeply.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.enter()?;
        let out = f(self);
        self.leave();
        out
    }

    fn parse_query(&mut self) -> PResult<Query> {
        self.skip_trivia()?;
        let scope_start = self.pos;
        let scope = if self.at_pipe() {
            Scope {
                kind: ScopeKind::All,
                span: span(scope_start, scope_start),
            }
        } else {
            let s = self.scope_or()?;
            self.skip_trivia()?;
            if !self.at_pipe() {
                return Err(self.expected("`|` or the end of the scope"));
            }
            s
        };
        let mut operators = Vec::new();
        while !self.at_end() {
            if !self.eat("|") {
                return Err(self.expected("`|`"));
            }
            self.skip_trivia()?;
            if self.at_pipe() {
                return Err(Diagnostic::new(
                    "expected an operator after `|`",
                    span(self.pos, self.pos),
                )
                .with_hint(format!("the operators are {}", OPERATORS.join(", "))));
            }
            operators.push(self.operator()?);
            self.skip_trivia()?;
            if !self.at_pipe() {
                let s = self.word_span();
                return Err(Diagnostic::new(
                    format!(
                        "expected `|` or the end of the query, found {}",
                        self.describe(s)
                    ),
                    s,
                )
                .with_hint("operators are separated by `|`"));
            }
        }
        Ok(Query { scope, operators })
    }

    // The scope: NOT binds tighter than AND, AND (also implicit, by juxtaposition) tighter
    // than OR (keyword-search-expressions page).

    fn scope_or(&mut self) -> PResult<Scope> {
        self.nested(Self::scope_or_inner)
    }

    fn scope_or_inner(&mut self) -> PResult<Scope> {
        let mut left = self.scope_and()?;
        loop {
            self.skip_trivia()?;
            if !self.eat_keyword("or")? {
                return Ok(left);
            }
            let right = self.scope_and()?;
            let s = left.span.to(right.span);
            left = Scope {
                kind: ScopeKind::Or(Box::new(left), Box::new(right)),
                span: s,
            };
        }
    }

    fn scope_and(&mut self) -> PResult<Scope> {
        let mut left = self.scope_not()?;
        loop {
            self.skip_trivia()?;
            if self.at_pipe()
                || self.rest().starts_with(')')
                || self.peek_word().eq_ignore_ascii_case("or")
            {
                return Ok(left);
            }
            self.eat_keyword("and")?;
            let right = self.scope_not()?;
            let s = left.span.to(right.span);
            left = Scope {
                kind: ScopeKind::And(Box::new(left), Box::new(right)),
                span: s,
            };
        }
    }

    fn scope_not(&mut self) -> PResult<Scope> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.eat_keyword("not")? || (self.rest().starts_with('!') && self.eat("!")) {
            let inner = self.nested(Self::scope_not)?;
            return Ok(Scope {
                span: span(start, inner.span.end as usize),
                kind: ScopeKind::Not(Box::new(inner)),
            });
        }
        self.scope_term()
    }

    fn scope_term(&mut self) -> PResult<Scope> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.eat("(") {
            let inner = self.scope_or()?;
            self.expect(")", "`)`")?;
            return Ok(Scope {
                kind: inner.kind,
                span: self.span_from(start),
            });
        }
        if self.peek() == Some('"') {
            let phrase = self.string()?;
            return Ok(Scope {
                kind: ScopeKind::Keyword(phrase),
                span: self.span_from(start),
            });
        }
        let word = self.scope_word();
        if word.is_empty() {
            return Err(self.expected("a keyword or `_sourceCategory=...`"));
        }
        self.pos += word.len();
        let word_span = self.span_from(start);
        let after_word = self.pos;
        self.skip_trivia()?;
        let negated = self.rest().starts_with("!=");
        if !(negated || self.rest().starts_with('=')) || word.contains('*') {
            self.pos = after_word;
            let kind = if word == "*" {
                ScopeKind::All
            } else {
                ScopeKind::Keyword(word.to_string())
            };
            return Ok(Scope {
                kind,
                span: word_span,
            });
        }
        self.pos += if negated { 2 } else { 1 };
        self.skip_trivia()?;
        let (value, quoted) = if self.peek() == Some('"') {
            (self.string()?, true)
        } else {
            let v = self.scope_word();
            if v.is_empty() {
                return Err(self.expected(&format!("a value after `{word}=`")));
            }
            self.pos += v.len();
            (v.to_string(), false)
        };
        let kind = if word.starts_with('_') {
            ScopeKind::Metadata {
                field: word.to_string(),
                field_span: word_span,
                value,
                quoted,
                negated,
            }
        } else {
            let term = ScopeKind::FieldTerm {
                field: word.to_string(),
                value,
            };
            if negated {
                ScopeKind::Not(Box::new(Scope {
                    kind: term,
                    span: self.span_from(start),
                }))
            } else {
                term
            }
        };
        Ok(Scope {
            kind,
            span: self.span_from(start),
        })
    }

    /// A keyword or value of the scope: everything up to whitespace, a parenthesis, `|`, `=`,
    /// `!=` or a quote (punctuation such as `/`, `*`, `.`, `:` or `\` belongs to the word).
    fn scope_word(&self) -> &'a str {
        let rest = self.rest();
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if c.is_whitespace()
                || matches!(c, '(' | ')' | '|' | '=' | '"')
                || rest[i..].starts_with("!=")
                || (i > 0 && (rest[i..].starts_with("//") || rest[i..].starts_with("/*")))
            {
                end = i;
                break;
            }
        }
        &rest[..end]
    }

    fn operator(&mut self) -> PResult<Operator> {
        let start = self.pos;
        let word_span = self.word_span();
        let word = self.peek_word();
        let lower = word.to_ascii_lowercase();
        let after = &self.rest()[word.len()..];
        let is_call = after.trim_start().starts_with('(');
        let kind = match lower.as_str() {
            "parse" | "extract" => {
                self.pos += word.len();
                self.skip_trivia()?;
                self.parse_operator(lower == "extract")?
            }
            "where" => {
                self.pos += word.len();
                self.skip_trivia()?;
                OperatorKind::Where(self.expr()?)
            }
            "eval" => {
                self.pos += word.len();
                self.skip_trivia()?;
                self.eval()?
            }
            "fields" => {
                self.pos += word.len();
                self.skip_trivia()?;
                let remove = self.eat("-");
                self.skip_trivia()?;
                OperatorKind::Fields {
                    remove,
                    names: self.name_list("a field name")?,
                }
            }
            "count" | "count_distinct" | "sum" | "avg" | "min" | "max" => self.aggregate()?,
            "sort" | "order" => {
                self.pos += word.len();
                self.skip_trivia()?;
                self.eat_keyword("by")?;
                self.sort_list()?
            }
            "limit" => {
                self.pos += word.len();
                self.skip_trivia()?;
                OperatorKind::Limit(self.whole_number("`limit` takes a whole number")?)
            }
            "top" => {
                self.pos += word.len();
                self.skip_trivia()?;
                let n = self.whole_number("`top` takes a whole number, then fields")?;
                self.skip_trivia()?;
                let fields = self.name_list("a field name")?;
                self.skip_trivia()?;
                let by = if self.eat_keyword("by")? {
                    Some(self.field_name("a field after `by`")?)
                } else {
                    None
                };
                OperatorKind::Top { n, fields, by }
            }
            _ if !is_call && UNSUPPORTED.contains(&lower.as_str()) => {
                return Err(Diagnostic::new(
                    format!("the `{lower}` operator is not supported yet"),
                    word_span,
                )
                .with_hint(format!(
                    "spoor's Sumo Logic operators are {}, and `expression as field`",
                    OPERATORS.join(", ")
                )));
            }
            _ => self.expression_as()?,
        };
        self.skip_trivia()?;
        Ok(Operator {
            kind,
            span: self.span_from(start),
        })
    }

    /// `expr as name` (Sumo's own way to make a field: field-expressions page), or a cast in
    /// place: `num(x)` (manually-cast-data-string-number page).
    fn expression_as(&mut self) -> PResult<OperatorKind> {
        let word_span = self.word_span();
        let word = self.peek_word();
        let expr = match self.expr() {
            Ok(e) => e,
            Err(d) if !word.is_empty() => {
                let mut hint = format!(
                    "expected an operator ({}) or `expression as field`",
                    OPERATORS.join(", ")
                );
                if let Some(s) = spoor_core::did_you_mean(word, OPERATORS.iter().copied()) {
                    hint = format!("did you mean `{s}`?");
                }
                return Err(Diagnostic::new(
                    format!("`{word}` is not an operator spoor knows"),
                    word_span,
                )
                .with_hint(hint)
                .with_note(d.message));
            }
            Err(d) => return Err(d),
        };
        self.skip_trivia()?;
        if self.eat_keyword("as")? {
            let name = self.field_name("a field name after `as`")?;
            return Ok(OperatorKind::Assign(vec![(name, expr)]));
        }
        if let ExprKind::Call { name, args, .. } = &expr.kind {
            let cast = ["num", "number", "tolong", "tostring"];
            if cast.contains(&name.to_ascii_lowercase().as_str())
                && let [arg] = args.as_slice()
                && let ExprKind::Field(f) = &arg.kind
            {
                let target = (f.clone(), arg.span);
                return Ok(OperatorKind::Assign(vec![(target, expr)]));
            }
        }
        if matches!(expr.kind, ExprKind::Field(_)) && word_span == expr.span {
            let mut d = Diagnostic::new(
                format!("`{word}` is not an operator spoor knows"),
                word_span,
            );
            d = match spoor_core::did_you_mean(word, OPERATORS.iter().copied()) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d.with_hint(format!("the operators are {}", OPERATORS.join(", "))),
            };
            return Err(d);
        }
        Err(self
            .expected("`as` and a field name")
            .with_hint("an expression makes a field with `as`: | if(x > 1, 1, 0) as flag"))
    }

    /// `eval x = expr, y = expr`: `=` after the name assigns (elsewhere it compares).
    fn eval(&mut self) -> PResult<OperatorKind> {
        let mut out = Vec::new();
        loop {
            let name = self.field_name("a field name")?;
            self.skip_trivia()?;
            if self.rest().starts_with("==") || !self.eat("=") {
                return Err(self
                    .expected("`=` after the field name")
                    .with_hint("eval assigns: eval name = expression"));
            }
            self.skip_trivia()?;
            out.push((name, self.expr()?));
            if !self.eat_comma()? {
                return Ok(OperatorKind::Assign(out));
            }
        }
    }

    fn whole_number(&mut self, what: &str) -> PResult<u64> {
        let at = self.pos;
        let digits: String = self
            .rest()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        self.pos += digits.len();
        digits
            .parse::<u64>()
            .map_err(|_| Diagnostic::new(what.to_string(), self.word_span().to(span(at, at))))
    }

    /// A field name: letters, digits and `_`, or `%"any text"`.
    fn field_name(&mut self, what: &str) -> PResult<Name> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.rest().starts_with("%\"") {
            self.pos += 1;
            let name = self.string()?;
            return Ok((name, self.span_from(start)));
        }
        let w = self.peek_word();
        if w.is_empty() {
            return Err(self.expected(what));
        }
        self.pos += w.len();
        Ok((w.to_string(), self.span_from(start)))
    }

    fn name_list(&mut self, what: &str) -> PResult<Vec<Name>> {
        let mut out = vec![self.field_name(what)?];
        while self.eat_comma()? {
            out.push(self.field_name(what)?);
        }
        Ok(out)
    }

    /// `count`, `count(x)`, `count_distinct(x)`, `sum(x)`... each `[as name]`, separated by
    /// commas, then `by` (or `group by`) and the fields (count-count-distinct page). `count x`
    /// without `by` counts by x: "the count function is also an operator in its own right".
    fn aggregate(&mut self) -> PResult<OperatorKind> {
        let mut aggregates = Vec::new();
        let mut by = Vec::new();
        loop {
            let start = self.pos;
            let word_span = self.word_span();
            let function = self.peek_word().to_ascii_lowercase();
            if !AGGREGATES.contains(&function.as_str()) {
                let mut d = Diagnostic::new(
                    format!("expected an aggregate, found {}", self.describe(word_span)),
                    word_span,
                );
                d = d.with_hint(format!(
                    "the aggregates spoor runs are {}",
                    AGGREGATES.join(", ")
                ));
                return Err(d);
            }
            self.pos += function.len();
            self.skip_trivia()?;
            let argument = if self.eat("(") {
                self.skip_trivia()?;
                if self.eat(")") || (self.eat("*") && self.skip_trivia().is_ok() && self.eat(")")) {
                    None
                } else {
                    let e = self.expr()?;
                    self.expect(")", "`)`")?;
                    Some(e)
                }
            } else {
                None
            };
            if argument.is_none() && function != "count" {
                return Err(Diagnostic::new(
                    format!("`{function}` takes a field: {function}(field)"),
                    self.span_from(start),
                ));
            }
            self.skip_trivia()?;
            let alias = if self.eat_keyword("as")? {
                Some(self.field_name("a field name after `as`")?)
            } else {
                None
            };
            aggregates.push(Aggregate {
                function: function.clone(),
                argument,
                alias,
                span: self.span_from(start),
            });
            self.skip_trivia()?;
            if self.eat_keyword("group")? {
                if !self.eat_keyword("by")? {
                    return Err(self.expected("`by` after `group`"));
                }
                by = self.name_list("a field to group by")?;
                break;
            }
            if self.eat_keyword("by")? {
                by = self.name_list("a field to group by")?;
                break;
            }
            if self.eat_comma()? {
                continue;
            }
            if self.at_pipe() {
                break;
            }
            if function == "count" && aggregates.len() == 1 && aggregates[0].alias.is_none() {
                by = self.name_list("a field to count by")?;
                break;
            }
            return Err(self.expected("`,`, `by` or `|`"));
        }
        Ok(OperatorKind::Aggregate { aggregates, by })
    }

    /// `x [asc|desc], +y, ...`: "The default sort order is descending" (sort page).
    fn sort_list(&mut self) -> PResult<OperatorKind> {
        let mut out = Vec::new();
        loop {
            self.skip_trivia()?;
            let ascending_sign = self.eat("+");
            let descending_sign = !ascending_sign && self.eat("-");
            let name = self.field_name("a field to sort by")?;
            self.skip_trivia()?;
            let desc = if self.eat_keyword("asc")? {
                false
            } else if self.eat_keyword("desc")? {
                true
            } else {
                descending_sign || !ascending_sign
            };
            out.push((name, desc));
            if !self.eat_comma()? {
                return Ok(OperatorKind::Sort(out));
            }
        }
    }

    fn parse_operator(&mut self, extract: bool) -> PResult<OperatorKind> {
        let mut regex = extract;
        let mut field = None;
        let mut nodrop = false;
        // Options before the pattern: `regex`, `field=F` (in either order).
        loop {
            self.skip_trivia()?;
            if !regex && self.peek_word().eq_ignore_ascii_case("regex") {
                self.pos += 5;
                regex = true;
                continue;
            }
            if self.peek_word().eq_ignore_ascii_case("field") {
                let save = self.pos;
                self.pos += 5;
                self.skip_trivia()?;
                if self.eat("=") {
                    field = Some(self.field_name("the field to parse after `field=`")?);
                    continue;
                }
                self.pos = save;
            }
            break;
        }
        self.skip_trivia()?;
        let start = self.pos;
        if self.peek() != Some('"') {
            return Err(self.expected("the pattern in double quotes"));
        }
        let text = self.string()?;
        let pattern_span = self.span_from(start);
        self.skip_trivia()?;
        let mut names = Vec::new();
        let pattern = if regex {
            ParsePattern::Regex(text, pattern_span)
        } else {
            if !self.eat_keyword("as")? {
                return Err(self
                    .expected("`as` and the names of the fields")
                    .with_hint("parse \"user=*,\" as user"));
            }
            names = self.name_list("a field name")?;
            ParsePattern::Anchor(text, pattern_span)
        };
        self.skip_trivia()?;
        if self.eat_keyword("nodrop")? {
            nodrop = true;
        }
        if self.peek_word().eq_ignore_ascii_case("multi") {
            return Err(Diagnostic::new(
                "`parse ... multi` is not supported yet",
                self.word_span(),
            ));
        }
        if self.rest().starts_with(',') {
            return Err(Diagnostic::new(
                "several patterns in one parse are not supported yet",
                self.word_span(),
            )
            .with_hint("write one parse per pattern"));
        }
        Ok(OperatorKind::Parse {
            field,
            pattern,
            names,
            nodrop,
        })
    }

    // Expressions, loosest first: ternary, or, and, not, comparison, additive,
    // multiplicative, unary minus, primary.

    pub fn expr(&mut self) -> PResult<Expr> {
        self.nested(Self::expr_inner)
    }

    fn expr_inner(&mut self) -> PResult<Expr> {
        self.skip_trivia()?;
        let cond = self.or()?;
        self.skip_trivia()?;
        if !self.eat("?") {
            return Ok(cond);
        }
        let yes = self.expr()?;
        self.expect(":", "`:` of `condition ? a : b`")?;
        let no = self.expr()?;
        let s = cond.span.to(no.span);
        Ok(Expr {
            kind: ExprKind::Ternary(Box::new(cond), Box::new(yes), Box::new(no)),
            span: s,
        })
    }

    fn binary_chain(
        &mut self,
        next: fn(&mut Self) -> PResult<Expr>,
        ops: &[(&str, BinOp, bool)],
    ) -> PResult<Expr> {
        let mut left = next(self)?;
        'outer: loop {
            self.skip_trivia()?;
            for (word, op, keyword) in ops {
                let matched = if *keyword {
                    self.eat_keyword(word)?
                } else if self.rest().starts_with(word) && !self.rest().starts_with("//") {
                    self.pos += word.len();
                    self.skip_trivia()?;
                    true
                } else {
                    false
                };
                if matched {
                    let right = next(self)?;
                    let s = left.span.to(right.span);
                    left = Expr {
                        kind: ExprKind::Binary(*op, Box::new(left), Box::new(right)),
                        span: s,
                    };
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn or(&mut self) -> PResult<Expr> {
        self.binary_chain(
            Self::and,
            &[("or", BinOp::Or, true), ("||", BinOp::Or, false)],
        )
    }

    fn and(&mut self) -> PResult<Expr> {
        self.binary_chain(
            Self::not,
            &[("and", BinOp::And, true), ("&&", BinOp::And, false)],
        )
    }

    fn not(&mut self) -> PResult<Expr> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.eat_keyword("not")?
            || (self.rest().starts_with('!') && !self.rest().starts_with("!=") && self.eat("!"))
        {
            let inner = self.nested(Self::not)?;
            return Ok(Expr {
                span: span(start, inner.span.end as usize),
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        self.skip_trivia()?;
        let save = self.pos;
        let negated = self.eat_keyword("not")?;
        if negated && !self.peek_word().eq_ignore_ascii_case("in") {
            self.pos = save;
            return Ok(left);
        }
        if self.eat_keyword("in")? {
            let list_start = self.pos;
            if !self.eat("(") {
                return Err(Diagnostic::new(
                    "`in` takes a list in parentheses: x in (\"a\", \"b\")",
                    self.word_span().to(span(list_start, list_start)),
                ));
            }
            let mut list = vec![self.expr()?];
            while self.eat_comma()? {
                list.push(self.expr()?);
            }
            self.expect(")", "`,` or `)`")?;
            let s = left.span.to(self.span_from(list_start));
            return Ok(Expr {
                kind: ExprKind::In {
                    expr: Box::new(left),
                    list,
                    negated,
                },
                span: s,
            });
        }
        if self.eat_keyword("matches")? {
            let pattern = self.additive()?;
            let s = left.span.to(pattern.span);
            return Ok(Expr {
                kind: ExprKind::Matches {
                    expr: Box::new(left),
                    pattern: Box::new(pattern),
                },
                span: s,
            });
        }
        for (s, op) in [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<>", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("=", BinOp::Eq),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ] {
            if self.eat(s) {
                self.skip_trivia()?;
                let right = self.additive()?;
                let sp = left.span.to(right.span);
                return Ok(Expr {
                    kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                    span: sp,
                });
            }
        }
        Ok(left)
    }

    fn additive(&mut self) -> PResult<Expr> {
        self.binary_chain(
            Self::multiplicative,
            &[("+", BinOp::Add, false), ("-", BinOp::Sub, false)],
        )
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        self.binary_chain(
            Self::unary,
            &[
                ("*", BinOp::Mul, false),
                ("/", BinOp::Div, false),
                ("%", BinOp::Mod, false),
            ],
        )
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.rest().starts_with('-') {
            self.pos += 1;
            let inner = self.nested(Self::unary)?;
            return Ok(Expr {
                span: span(start, inner.span.end as usize),
                kind: ExprKind::Neg(Box::new(inner)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(Diagnostic::new(
                "expected a value or a field, found the end of the query",
                span(self.pos, self.pos),
            ));
        };
        let kind = match c {
            '"' => ExprKind::Str(self.string()?),
            '\'' => {
                return Err(Diagnostic::new(
                    "strings are in double quotes in Sumo Logic",
                    span(start, start + 1),
                )
                .with_hint("write \"text\"; single quotes are not string quotes"));
            }
            '/' => ExprKind::Regex(self.regex()?),
            '%' if self.rest().starts_with("%\"") => ExprKind::Field(self.field_name("a field")?.0),
            '(' => {
                self.pos += 1;
                let inner = self.expr()?;
                self.expect(")", "`)`")?;
                return Ok(Expr {
                    kind: inner.kind,
                    span: self.span_from(start),
                });
            }
            c if c.is_ascii_digit() || c == '.' => self.number()?,
            c if is_name_char(c) => {
                let word = self.peek_word();
                self.pos += word.len();
                let after_word = self.pos;
                self.skip_trivia()?;
                if self.peek() == Some('(') {
                    return self.call(word, span(start, after_word), start);
                }
                self.pos = after_word;
                match word.to_ascii_lowercase().as_str() {
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    _ => ExprKind::Field(word.to_string()),
                }
            }
            _ => {
                let s = self.word_span();
                return Err(Diagnostic::new(
                    format!("expected a value or a field, found {}", self.describe(s)),
                    s,
                ));
            }
        };
        Ok(Expr {
            kind,
            span: self.span_from(start),
        })
    }

    fn call(&mut self, name: &str, name_span: Span, start: usize) -> PResult<Expr> {
        self.expect("(", "`(`")?;
        let mut args = Vec::new();
        if self.peek() != Some(')') {
            args.push(self.expr()?);
            while self.eat_comma()? {
                args.push(self.expr()?);
            }
        }
        self.expect(")", "`,` or `)`")?;
        Ok(Expr {
            kind: ExprKind::Call {
                name: name.to_string(),
                name_span,
                args,
            },
            span: self.span_from(start),
        })
    }

    /// A number: digits with an optional decimal point and exponent (field-expressions page).
    fn number(&mut self) -> PResult<ExprKind> {
        let start = self.pos;
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let mut len = 0;
        while len < bytes.len() && (bytes[len].is_ascii_digit() || bytes[len] == b'.') {
            len += 1;
        }
        if len < bytes.len() && (bytes[len] == b'e' || bytes[len] == b'E') {
            let mut e = len + 1;
            if e < bytes.len() && (bytes[e] == b'+' || bytes[e] == b'-') {
                e += 1;
            }
            if e < bytes.len() && bytes[e].is_ascii_digit() {
                while e < bytes.len() && bytes[e].is_ascii_digit() {
                    e += 1;
                }
                len = e;
            }
        }
        let digits = &rest[..len];
        self.pos += len;
        let suffix = self.peek_word();
        if !suffix.is_empty() {
            self.pos += suffix.len();
            return Err(Diagnostic::new(
                format!("number suffixes such as `{digits}{suffix}` are not supported yet"),
                self.span_from(start),
            )
            .with_hint("write the number in full (1k is 1000, 5m is 300000 milliseconds)"));
        }
        if let Ok(i) = digits.parse::<i64>() {
            return Ok(ExprKind::Int(i));
        }
        digits.parse::<f64>().map(ExprKind::Float).map_err(|_| {
            Diagnostic::new(format!("`{digits}` is not a number"), self.span_from(start))
        })
    }

    /// A string in double quotes. `\"` is a quote and `\\` a backslash, `\n`, `\r` and `\t` are
    /// control characters, and any other backslash is kept with the character after it, so that
    /// regular expressions keep their escapes (`"\d+\.\d+"`, as the parse regex page writes
    /// them). The replace page asks for `\\$` to put a `\$` in the string.
    fn string(&mut self) -> PResult<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => break,
                },
                _ => out.push(c),
            }
        }
        Err(Diagnostic::new("unclosed string", span(start, start + 1))
            .with_hint("close it with \""))
    }

    /// `/pattern/`: RE2 syntax (matches page), which Rust's regex reads; `\/` is a slash.
    fn regex(&mut self) -> PResult<String> {
        let start = self.pos;
        self.pos += 1;
        let rest = self.rest();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '/' if !escaped => {
                    end = Some(i);
                    break;
                }
                '\n' => break,
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            return Err(
                Diagnostic::new("unclosed regular expression", span(start, start + 1))
                    .with_hint("close it with /"),
            );
        };
        let pattern = rest[..end].replace("\\/", "/");
        self.pos += end + 1;
        check_regex(&pattern, self.span_from(start))?;
        Ok(pattern)
    }
}

/// A regular expression that compiles, or an error at `at`.
pub fn check_regex(pattern: &str, at: Span) -> PResult<regex::Regex> {
    regex::Regex::new(pattern).map_err(|e| {
        let text = e.to_string();
        let last = text.lines().last().unwrap_or(&text).trim().to_string();
        Diagnostic::new(format!("invalid regular expression: {last}"), at)
    })
}
