//! ES|QL's syntax: a source command (`FROM`) then processing commands separated by `|`;
//! `// line` and `/* block */` comments between tokens; keywords in any case.
//! A hand-written parser over the text, as crates/sumo's: an index pattern in `FROM` holds `*`
//! and `-`, which a separate lexer would read as operators.
//!
//! As Elastic documents it:
//! - syntax: https://www.elastic.co/docs/reference/query-languages/esql/esql-syntax
//! - commands: https://www.elastic.co/docs/reference/query-languages/esql/esql-commands
//! - operators: https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/operators

use spoor_core::cursor::{Cursor, span};
use spoor_core::{Diagnostic, Span};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The index patterns of `FROM`.
    pub from: Vec<Name>,
    pub from_span: Span,
    pub commands: Vec<Command>,
}

/// A name with where it is written.
pub type Name = (String, Span);

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    /// The command's keyword and everything up to the next `|`.
    pub span: Span,
}

/// `[name =] expr`: an EVAL assignment, a STATS aggregate or group.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    pub name: Option<Name>,
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortItem {
    pub expr: Expr,
    pub descending: bool,
    /// `NULLS FIRST` (true) or `NULLS LAST` (false), when written.
    pub nulls_first: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    Where(Expr),
    Eval(Vec<Assign>),
    Stats {
        aggregates: Vec<Assign>,
        by: Vec<Assign>,
    },
    Sort(Vec<SortItem>),
    Limit(u64),
    /// Names, `*` wildcards allowed.
    Keep(Vec<Name>),
    Drop(Vec<Name>),
    /// `old AS new`, ...
    Rename(Vec<(Name, Name)>),
}

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
    Null,
    /// A time span literal (`1 hour`, `5m`): how many, and the unit as written.
    TimeSpan(i64, String),
    /// `*` (only as COUNT's argument).
    Star,
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `x [NOT] LIKE "pattern"` (regex false) or `x [NOT] RLIKE "pattern"` (regex true).
    Like {
        expr: Box<Expr>,
        pattern: String,
        pattern_span: Span,
        negated: bool,
        regex: bool,
    },
    /// `x::type`.
    Cast(Box<Expr>, Name),
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

/// The time units of span literals, each with its length in nanoseconds (0: a calendar unit).
/// "Timespan literals are a combination of a number and a temporal unit ... not whitespace
/// sensitive" (syntax page, Timespan literals).
pub const TIME_UNITS: &[(&[&str], i64)] = &[
    (&["millisecond", "milliseconds", "ms"], 1_000_000),
    (&["second", "seconds", "sec", "s"], 1_000_000_000),
    (&["minute", "minutes", "min"], 60_000_000_000),
    (&["hour", "hours", "h"], 3_600_000_000_000),
    (&["day", "days", "d"], 86_400_000_000_000),
    (&["week", "weeks", "w"], 604_800_000_000_000),
    (&["month", "months", "mo"], 0),
    (&["quarter", "quarters", "q"], 0),
    (&["year", "years", "yr", "y"], 0),
];

/// The processing commands spoor runs.
const COMMANDS: &[&str] = &[
    "where", "eval", "stats", "sort", "limit", "keep", "drop", "rename",
];

/// ES|QL's other commands, refused by name.
const UNSUPPORTED: &[&str] = &[
    "dissect",
    "grok",
    "enrich",
    "lookup",
    "mv_expand",
    "inlinestats",
    "inline",
    "change_point",
    "completion",
    "fork",
    "fuse",
    "rerank",
    "sample",
    "join",
    "left",
    "rrf",
    "row",
    "show",
    "metrics",
    "ts",
    "explain",
];

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, Vec<Diagnostic>> {
    let mut p = Parser {
        cursor: Cursor::new(text, is_name_char),
    };
    p.query().map_err(|d| vec![d])
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

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '@'
}

impl<'a> Parser<'a> {
    /// Runs `f` one level deeper, or fails when the query nests too deeply.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.enter()?;
        let out = f(self);
        self.leave();
        out
    }

    fn unsupported(&self, word: &str, at: Span) -> Diagnostic {
        Diagnostic::new(
            format!(
                "ES|QL's `{}` is not supported by spoor yet",
                word.to_ascii_uppercase()
            ),
            at,
        )
        .with_hint(format!(
            "spoor runs FROM, then {}",
            COMMANDS
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    fn query(&mut self) -> PResult<Query> {
        self.skip_trivia()?;
        let start = self.pos;
        let at = self.word_span();
        let word = self.peek_word();
        if !word.eq_ignore_ascii_case("from") {
            if UNSUPPORTED.iter().any(|u| u.eq_ignore_ascii_case(word)) {
                return Err(self.unsupported(word, at));
            }
            return Err(self
                .expected("FROM and an index pattern")
                .with_hint("an ES|QL query starts with FROM logs-*"));
        }
        self.pos += word.len();
        self.skip_trivia()?;
        let mut from = Vec::new();
        loop {
            from.push(self.index_pattern()?);
            if !self.eat_comma()? {
                break;
            }
        }
        if self.peek_keyword("metadata") {
            return Err(Diagnostic::new(
                "FROM ... METADATA is not supported by spoor yet: spoor's events have no _id or _index",
                self.word_span(),
            ));
        }
        if !self.at_pipe() {
            return Err(self.expected("`,`, `|` or the end of the query"));
        }
        let from_span = span(start, self.pos);
        let mut commands = Vec::new();
        while !self.at_end() {
            if !self.eat("|") {
                return Err(self.expected("`|`"));
            }
            self.skip_trivia()?;
            if self.at_pipe() {
                return Err(Diagnostic::new(
                    "expected a command after `|`",
                    span(self.pos, self.pos),
                ));
            }
            commands.push(self.command()?);
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
                .with_hint("commands are separated by `|`"));
            }
        }
        Ok(Query {
            from,
            from_span,
            commands,
        })
    }

    /// An index pattern: quoted, or the text up to whitespace, `,` or `|`.
    fn index_pattern(&mut self) -> PResult<Name> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.peek() == Some('"') {
            let s = self.string()?;
            return Ok((s, span(start, self.pos)));
        }
        let rest = self.rest();
        let len = rest
            .find(|c: char| c.is_whitespace() || c == ',' || c == '|')
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.expected("an index pattern"));
        }
        self.pos += len;
        let name = rest[..len].to_string();
        let at = span(start, self.pos);
        self.skip_trivia()?;
        Ok((name, at))
    }

    fn command(&mut self) -> PResult<Command> {
        let start = self.pos;
        let at = self.word_span();
        let word = self.peek_word().to_ascii_lowercase();
        if !COMMANDS.contains(&word.as_str()) {
            if UNSUPPORTED.contains(&word.as_str()) || word == "from" {
                return Err(self.unsupported(&word, at));
            }
            let mut d = Diagnostic::new(
                format!(
                    "`{}` is not an ES|QL command",
                    self.describe(at).trim_matches('`')
                ),
                at,
            );
            if let Some(s) = spoor_core::did_you_mean(&word, COMMANDS.iter().copied()) {
                d = d.with_hint(format!("did you mean `{}`?", s.to_ascii_uppercase()));
            }
            return Err(d);
        }
        self.pos += word.len();
        self.skip_trivia()?;
        let kind = match word.as_str() {
            "where" => CommandKind::Where(self.expr()?),
            "eval" => CommandKind::Eval(self.assigns()?),
            "stats" => {
                let aggregates = if self.peek_keyword("by") {
                    vec![]
                } else {
                    self.assigns()?
                };
                let by = if self.eat_keyword("by")? {
                    self.assigns()?
                } else {
                    vec![]
                };
                if aggregates.is_empty() && by.is_empty() {
                    return Err(self.expected("an aggregate or BY"));
                }
                CommandKind::Stats { aggregates, by }
            }
            "sort" => {
                let mut items = Vec::new();
                loop {
                    let expr = self.expr()?;
                    self.skip_trivia()?;
                    let descending = if self.eat_keyword("desc")? {
                        true
                    } else {
                        self.eat_keyword("asc")?;
                        false
                    };
                    let nulls_first = if self.eat_keyword("nulls")? {
                        if self.eat_keyword("first")? {
                            Some(true)
                        } else if self.eat_keyword("last")? {
                            Some(false)
                        } else {
                            return Err(self.expected("FIRST or LAST"));
                        }
                    } else {
                        None
                    };
                    items.push(SortItem {
                        expr,
                        descending,
                        nulls_first,
                    });
                    if !self.eat_comma()? {
                        break;
                    }
                }
                CommandKind::Sort(items)
            }
            "limit" => {
                let rest = self.rest();
                let len = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                let n = rest[..len]
                    .parse::<u64>()
                    .map_err(|_| self.expected("the number of rows"))?;
                self.pos += len;
                CommandKind::Limit(n)
            }
            "keep" | "drop" => {
                let mut names = Vec::new();
                loop {
                    names.push(self.name_pattern()?);
                    if !self.eat_comma()? {
                        break;
                    }
                }
                if word == "keep" {
                    CommandKind::Keep(names)
                } else {
                    CommandKind::Drop(names)
                }
            }
            _ => {
                let mut pairs = Vec::new();
                loop {
                    let old = self.name_pattern()?;
                    self.skip_trivia()?;
                    if !self.eat_keyword("as")? {
                        return Err(self.expected("AS"));
                    }
                    let new = self.name_pattern()?;
                    pairs.push((old, new));
                    if !self.eat_comma()? {
                        break;
                    }
                }
                CommandKind::Rename(pairs)
            }
        };
        Ok(Command {
            kind,
            span: span(start, self.pos),
        })
    }

    fn assigns(&mut self) -> PResult<Vec<Assign>> {
        let mut out = Vec::new();
        loop {
            self.skip_trivia()?;
            // `name = expr`: a name followed by `=` (not `==`).
            let save = self.pos;
            let mut name = None;
            if self.peek().is_some_and(|c| is_name_start(c) || c == '`') {
                let n = self.name()?;
                self.skip_trivia()?;
                if self.rest().starts_with('=') && !self.rest().starts_with("==") {
                    self.pos += 1;
                    name = Some(n);
                } else {
                    self.pos = save;
                }
            }
            let expr = self.expr()?;
            out.push(Assign { name, expr });
            if !self.eat_comma()? {
                return Ok(out);
            }
        }
    }

    /// A field name: dotted parts, each a word or `` `quoted` `` (`` `` `` is a backquote).
    fn name(&mut self) -> PResult<Name> {
        self.skip_trivia()?;
        let start = self.pos;
        let mut out = String::new();
        loop {
            if self.eat("`") {
                loop {
                    let Some(c) = self.peek() else {
                        return Err(Diagnostic::new(
                            "unclosed `quoted name`",
                            span(start, self.pos),
                        ));
                    };
                    self.pos += c.len_utf8();
                    if c == '`' {
                        if self.eat("`") {
                            out.push('`');
                        } else {
                            break;
                        }
                    } else {
                        out.push(c);
                    }
                }
            } else {
                let w = self.peek_word();
                if w.is_empty() || !w.starts_with(is_name_start) {
                    return Err(self.expected("a field name"));
                }
                self.pos += w.len();
                out.push_str(w);
            }
            // `.part` continues the name.
            let rest = self.rest();
            if rest.starts_with('.')
                && rest[1..]
                    .chars()
                    .next()
                    .is_some_and(|c| is_name_char(c) || c == '`')
            {
                self.pos += 1;
                out.push('.');
            } else {
                break;
            }
        }
        Ok((out, span(start, self.pos)))
    }

    /// A name in KEEP, DROP, RENAME: dotted words with `*` wildcards, or `` `quoted` ``.
    fn name_pattern(&mut self) -> PResult<Name> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.peek() == Some('`') {
            return self.name();
        }
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(is_name_char(c) || c == '.' || c == '*'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.expected("a field name"));
        }
        self.pos += len;
        Ok((rest[..len].to_string(), span(start, self.pos)))
    }

    fn string(&mut self) -> PResult<String> {
        let start = self.pos;
        if self.eat("\"\"\"") {
            let Some(end) = self.rest().find("\"\"\"") else {
                return Err(Diagnostic::new("unclosed string", span(start, start + 3))
                    .with_hint("close it with \"\"\""));
            };
            let s = self.rest()[..end].to_string();
            self.pos += end + 3;
            return Ok(s);
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(Diagnostic::new("unclosed string", span(start, start + 1))
                    .with_hint("close it with \""));
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let esc_start = self.pos - 1;
                    let Some(e) = self.peek() else {
                        return Err(Diagnostic::new("unclosed string", span(start, start + 1)));
                    };
                    self.pos += e.len_utf8();
                    out.push(match e {
                        '"' => '"',
                        '\\' => '\\',
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => {
                            return Err(Diagnostic::new(
                                format!("`\\{other}` is not an escape ES|QL knows"),
                                span(esc_start, self.pos),
                            )
                            .with_hint(
                                "the escapes are \\\" \\\\ \\n \\t \\r; a \"\"\"triple-quoted\"\"\" string takes \\ as it is",
                            ));
                        }
                    });
                }
                c => out.push(c),
            }
        }
    }

    // Precedence, loosest first: OR, AND, NOT, then IS NULL / IN / LIKE / RLIKE, comparisons,
    // + -, * / %, unary -, `::` casts (the grammar's booleanExpression, valueExpression and
    // operatorExpression).

    fn expr(&mut self) -> PResult<Expr> {
        self.nested(Self::or)
    }

    fn binary(op: BinOp, l: Expr, r: Expr) -> Expr {
        let s = l.span.to(r.span);
        Expr {
            kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
            span: s,
        }
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut left = self.and()?;
        loop {
            self.skip_trivia()?;
            if !self.eat_keyword("or")? {
                return Ok(left);
            }
            let right = self.and()?;
            left = Self::binary(BinOp::Or, left, right);
        }
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut left = self.not()?;
        loop {
            self.skip_trivia()?;
            if !self.eat_keyword("and")? {
                return Ok(left);
            }
            let right = self.not()?;
            left = Self::binary(BinOp::And, left, right);
        }
    }

    fn not(&mut self) -> PResult<Expr> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.eat_keyword("not")? {
            let inner = self.nested(Self::not)?;
            return Ok(Expr {
                span: span(start, inner.span.end as usize),
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        self.predicate()
    }

    fn predicate(&mut self) -> PResult<Expr> {
        let left = self.comparison()?;
        self.skip_trivia()?;
        let save = self.pos;
        if self.eat_keyword("is")? {
            let negated = self.eat_keyword("not")?;
            if !self.eat_keyword("null")? {
                return Err(self.expected("NULL"));
            }
            let s = span(left.span.start as usize, self.pos);
            return Ok(Expr {
                kind: ExprKind::IsNull {
                    expr: Box::new(left),
                    negated,
                },
                span: s,
            });
        }
        let negated = self.eat_keyword("not")?;
        if self.eat_keyword("in")? {
            self.expect("(", "`(` and the values")?;
            let mut list = Vec::new();
            loop {
                list.push(self.expr()?);
                if !self.eat_comma()? {
                    break;
                }
            }
            self.skip_trivia()?;
            if !self.eat(")") {
                return Err(self.expected("`)`"));
            }
            let s = span(left.span.start as usize, self.pos);
            return Ok(Expr {
                kind: ExprKind::In {
                    expr: Box::new(left),
                    list,
                    negated,
                },
                span: s,
            });
        }
        for (word, regex) in [("like", false), ("rlike", true)] {
            if self.eat_keyword(word)? {
                let pstart = self.pos;
                if self.peek() != Some('"') {
                    return Err(self.expected("the pattern, a \"string\""));
                }
                let pattern = self.string()?;
                let pattern_span = span(pstart, self.pos);
                let s = span(left.span.start as usize, self.pos);
                return Ok(Expr {
                    kind: ExprKind::Like {
                        expr: Box::new(left),
                        pattern,
                        pattern_span,
                        negated,
                        regex,
                    },
                    span: s,
                });
            }
        }
        if negated {
            // `a NOT b`: not ours to read; the caller reports what follows.
            self.pos = save;
        }
        Ok(left)
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        self.skip_trivia()?;
        let op = if self.eat("==") {
            BinOp::Eq
        } else if self.eat("!=") {
            BinOp::Ne
        } else if self.eat("<=") {
            BinOp::Le
        } else if self.eat(">=") {
            BinOp::Ge
        } else if self.eat("<") {
            BinOp::Lt
        } else if self.eat(">") {
            BinOp::Gt
        } else {
            if self.rest().starts_with('=') {
                return Err(Diagnostic::new(
                    "`=` assigns; compare with `==`",
                    span(self.pos, self.pos + 1),
                ));
            }
            return Ok(left);
        };
        let right = self.additive()?;
        Ok(Self::binary(op, left, right))
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            self.skip_trivia()?;
            let op = if self.eat("+") {
                BinOp::Add
            } else if self.eat("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.multiplicative()?;
            left = Self::binary(op, left, right);
        }
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        loop {
            self.skip_trivia()?;
            // `//` and `/*` start comments, which skip_trivia has taken.
            let op = if self.eat("*") {
                BinOp::Mul
            } else if self.eat("/") {
                BinOp::Div
            } else if self.eat("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Self::binary(op, left, right);
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.skip_trivia()?;
        let start = self.pos;
        if self.eat("-") {
            let inner = self.nested(Self::unary)?;
            return Ok(Expr {
                span: span(start, inner.span.end as usize),
                kind: ExprKind::Neg(Box::new(inner)),
            });
        }
        if self.eat("+") {
            return self.nested(Self::unary);
        }
        let mut e = self.primary()?;
        while self.rest().starts_with("::") {
            self.pos += 2;
            let ty = self.name()?;
            e = Expr {
                span: span(start, self.pos),
                kind: ExprKind::Cast(Box::new(e), ty),
            };
        }
        Ok(e)
    }

    fn primary(&mut self) -> PResult<Expr> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.expected("a value"));
        };
        let kind = if c == '"' {
            ExprKind::Str(self.string()?)
        } else if c.is_ascii_digit() {
            return self.number();
        } else if c == '(' {
            self.pos += 1;
            let inner = self.expr()?;
            self.skip_trivia()?;
            if !self.eat(")") {
                return Err(self.expected("`)`"));
            }
            return Ok(Expr {
                kind: inner.kind,
                span: span(start, self.pos),
            });
        } else if c == '*' {
            self.pos += 1;
            ExprKind::Star
        } else if c == '\'' {
            return Err(Diagnostic::new(
                "ES|QL strings are written in double quotes",
                self.word_span(),
            ));
        } else if c == '?' {
            return Err(Diagnostic::new(
                "query parameters (?) are not supported by spoor: write the value",
                self.word_span(),
            ));
        } else if is_name_start(c) || c == '`' {
            let word = self.peek_word();
            let after = &self.rest()[word.len()..];
            if c != '`' && after.trim_start().starts_with('(') && !after.starts_with('.') {
                let name_span = span(self.pos, self.pos + word.len());
                let name = word.to_string();
                self.pos += word.len();
                self.skip_trivia()?;
                self.pos += 1;
                self.skip_trivia()?;
                let mut args = Vec::new();
                if !self.eat(")") {
                    loop {
                        args.push(self.expr()?);
                        if !self.eat_comma()? {
                            break;
                        }
                    }
                    self.skip_trivia()?;
                    if !self.eat(")") {
                        return Err(self.expected("`,` or `)`"));
                    }
                }
                ExprKind::Call {
                    name,
                    name_span,
                    args,
                }
            } else if c != '`' && word.eq_ignore_ascii_case("true") {
                self.pos += 4;
                ExprKind::Bool(true)
            } else if c != '`' && word.eq_ignore_ascii_case("false") {
                self.pos += 5;
                ExprKind::Bool(false)
            } else if c != '`' && word.eq_ignore_ascii_case("null") {
                self.pos += 4;
                ExprKind::Null
            } else {
                let (name, at) = self.name()?;
                return Ok(Expr {
                    kind: ExprKind::Field(name),
                    span: at,
                });
            }
        } else {
            return Err(self.expected("a value"));
        };
        Ok(Expr {
            kind,
            span: span(start, self.pos),
        })
    }

    /// A number, or a time span (a whole number and a unit).
    fn number(&mut self) -> PResult<Expr> {
        let start = self.pos;
        let rest = self.rest();
        let mut len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mut float = false;
        if rest[len..].starts_with('.') && rest[len + 1..].starts_with(|c: char| c.is_ascii_digit())
        {
            float = true;
            len += 1;
            len += rest[len..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - len);
        }
        if rest[len..].starts_with(['e', 'E']) {
            let exp = &rest[len + 1..];
            let sign = usize::from(exp.starts_with(['+', '-']));
            let digits = exp[sign..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(exp.len() - sign);
            if digits > 0 {
                float = true;
                len += 1 + sign + digits;
            }
        }
        let text = &rest[..len];
        self.pos += len;
        let at = span(start, self.pos);
        if float {
            let f = text
                .parse::<f64>()
                .map_err(|_| Diagnostic::new("not a number", at))?;
            return Ok(Expr {
                kind: ExprKind::Float(f),
                span: at,
            });
        }
        let n = text
            .parse::<i64>()
            .map_err(|_| Diagnostic::new("the number is too large", at))?;
        // A time span: the number and a unit, with or without space between.
        let save = self.pos;
        self.skip_trivia()?;
        let unit = self.peek_word();
        if !unit.is_empty()
            && TIME_UNITS
                .iter()
                .any(|(names, _)| names.iter().any(|u| u.eq_ignore_ascii_case(unit)))
        {
            let unit = unit.to_ascii_lowercase();
            self.pos += unit.len();
            return Ok(Expr {
                kind: ExprKind::TimeSpan(n, unit),
                span: span(start, self.pos),
            });
        }
        self.pos = save;
        Ok(Expr {
            kind: ExprKind::Int(n),
            span: at,
        })
    }
}
