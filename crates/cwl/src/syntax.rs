//! The Logs Insights query language: commands separated by `|`, `#` comments to the end of the
//! line. A hand-written parser over the text (regex literals `/.../` and durations `5m` depend on
//! where they stand, which a separate lexer would have to guess).
//!
//! Syntax as AWS documents it: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html

use spoor_core::{Diagnostic, Span};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    /// The command word and everything up to the next `|`.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    /// `fields expr [as name], ...`: computes fields and shows them.
    Fields(Vec<NamedExpr>),
    /// `display field, ...`: the fields shown, in order.
    Display(Vec<NamedExpr>),
    /// `filter condition`.
    Filter(Expr),
    /// `stats agg(...) [as name], ... [by expr [as name], ...]`.
    Stats {
        aggregates: Vec<NamedExpr>,
        by: Vec<NamedExpr>,
    },
    /// `sort expr [asc|desc], ...` (true = descending).
    Sort(Vec<(Expr, bool)>),
    /// `limit n`.
    Limit(u64),
    /// `parse field "glob * pattern" as a, b` or `parse field /(?<a>re)/`.
    Parse {
        field: Expr,
        pattern: ParsePattern,
        names: Vec<(String, Span)>,
    },
    /// `dedup field, ...`: the first event of each combination.
    Dedup(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParsePattern {
    /// `*` captures, everything else is literal.
    Glob(String, Span),
    /// A regular expression whose named groups are the new fields.
    Regex(String, Span),
}

/// An expression with its `as` name and its source text (the name of an unnamed result
/// column, as Logs Insights shows it: `count(*)`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedExpr {
    pub expr: Expr,
    pub alias: Option<(String, Span)>,
    pub text: String,
}

impl NamedExpr {
    /// The field name this expression produces.
    pub fn name(&self) -> String {
        match (&self.alias, &self.expr.kind) {
            (Some((a, _)), _) => a.clone(),
            (None, ExprKind::Field(f)) => f.clone(),
            (None, _) => self.text.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A field: `eventName`, `@timestamp`, `userIdentity.sessionContext.sessionIssuer.userName`.
    Field(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `/pattern/flags`.
    Regex(String),
    /// A period: `5m`, `1h` (nanoseconds).
    Duration(i64),
    /// `[a, b, ...]`, the right side of `in`.
    List(Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x like pattern`, `x =~ pattern`, `x not like pattern`.
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    /// `x in [..]`, `x not in [..]`.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `name(args)`; `count(*)` has `star`.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
        star: bool,
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
    Pow,
}

/// Commands Logs Insights has that spoor does not run, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "pattern",
        "it clusters events with Logs Insights' own machine learning",
    ),
    (
        "diff",
        "it compares with the previous period of a live log group",
    ),
    ("anomaly", "it uses Logs Insights' own machine learning"),
    (
        "unmask",
        "it reveals data masked by CloudWatch data protection",
    ),
    ("filterIndex", "it selects by CloudWatch field indexes"),
    ("unnest", "not implemented yet"),
    ("lookup", "not implemented yet"),
    ("join", "not implemented yet"),
    ("SOURCE", "name the log groups with --log-group instead"),
];

const COMMANDS: &[&str] = &[
    "fields", "display", "filter", "stats", "sort", "limit", "parse", "dedup",
];

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, Vec<Diagnostic>> {
    let mut p = Parser { text, pos: 0 };
    let mut commands = Vec::new();
    loop {
        p.skip_trivia();
        if p.at_end() {
            if commands.is_empty() {
                return Err(vec![
                    Diagnostic::new("no query to run", Span::empty(p.pos32()))
                        .with_hint("start with a command: fields, filter, stats, ..."),
                ]);
            }
            break;
        }
        let command = p.command().map_err(|d| vec![d])?;
        commands.push(command);
        p.skip_trivia();
        if p.at_end() {
            break;
        }
        if !p.eat("|") {
            let span = p.word_span();
            return Err(vec![
                Diagnostic::new(
                    format!(
                        "expected `|` or the end of the query, found {}",
                        p.describe(span)
                    ),
                    span,
                )
                .with_hint(p.stray_hint(span)),
            ]);
        }
        p.skip_trivia();
        if p.at_end() {
            return Err(vec![Diagnostic::new(
                "expected a command after `|`",
                Span::empty(p.pos32()),
            )]);
        }
    }
    Ok(Query { commands })
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

type PResult<T> = Result<T, Diagnostic>;

impl<'a> Parser<'a> {
    fn pos32(&self) -> u32 {
        u32::try_from(self.pos).unwrap_or(u32::MAX)
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(self.pos).unwrap_or(u32::MAX),
        )
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Skips whitespace and `#` comments.
    fn skip_trivia(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with('#') {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// The word at the cursor (letters, digits, `_`, `@`, `.`), without consuming it.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '@' || c == '.'))
            .unwrap_or(rest.len());
        &rest[..len]
    }

    /// Consumes `word` (ignoring case) when it stands at the cursor as a whole word.
    fn eat_keyword(&mut self, word: &str) -> bool {
        let w = self.peek_word();
        if w.eq_ignore_ascii_case(word) {
            self.pos += w.len();
            self.skip_trivia();
            true
        } else {
            false
        }
    }

    /// The span of the word or character at the cursor.
    fn word_span(&self) -> Span {
        let w = self.peek_word();
        let len = if w.is_empty() {
            self.peek().map_or(0, char::len_utf8)
        } else {
            w.len()
        };
        Span::new(self.pos32(), self.pos32() + u32::try_from(len).unwrap_or(0))
    }

    fn describe(&self, span: Span) -> String {
        if span.start == span.end {
            "the end of the query".into()
        } else {
            format!("`{}`", &self.text[span.start as usize..span.end as usize])
        }
    }

    /// A hint for text that stands where a command should end.
    fn stray_hint(&self, span: Span) -> String {
        let found = &self.text[span.start as usize..];
        if found.starts_with('\\') {
            "a backslash outside a string: if this was copied from a shell command, remove the \
             shell's escaping (\\\" is \")"
                .into()
        } else if found.starts_with('\'') || found.starts_with('"') {
            "a quote closes a string that was already closed; if this was copied from a shell \
             command, the shell's quoting is part of the text"
                .into()
        } else {
            "commands are separated by `|`".into()
        }
    }

    fn expect(&mut self, s: &str, what: &str) -> PResult<()> {
        self.skip_trivia();
        if self.eat(s) {
            self.skip_trivia();
            Ok(())
        } else {
            let span = self.word_span();
            Err(Diagnostic::new(
                format!("expected {what}, found {}", self.describe(span)),
                span,
            ))
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let start = self.pos;
        let word_span = self.word_span();
        let word = self.peek_word();
        let lower = word.to_ascii_lowercase();
        if let Some((name, why)) = UNSUPPORTED
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
        {
            return Err(Diagnostic::new(
                format!("the `{name}` command is not supported: {why}"),
                word_span,
            ));
        }
        if !COMMANDS.contains(&lower.as_str()) {
            let mut d = Diagnostic::new(
                format!("expected a command, found {}", self.describe(word_span)),
                word_span,
            );
            d = match spoor_core::did_you_mean(word, COMMANDS.iter().copied()) {
                Some(s) if !word.is_empty() => d.with_hint(format!("did you mean `{s}`?")),
                _ => d.with_hint(format!("the commands are {}", COMMANDS.join(", "))),
            };
            return Err(d);
        }
        self.pos += word.len();
        self.skip_trivia();
        let kind = match lower.as_str() {
            "fields" => CommandKind::Fields(self.named_list(true)?),
            "display" => CommandKind::Display(self.named_list(false)?),
            "filter" => CommandKind::Filter(self.expr()?),
            "stats" => self.stats()?,
            "sort" => CommandKind::Sort(self.sort_list()?),
            "limit" => {
                let at = self.pos;
                let digits: String = self
                    .rest()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                self.pos += digits.len();
                let n = digits.parse::<u64>().map_err(|_| {
                    Diagnostic::new("`limit` takes a whole number of events", self.span_from(at))
                })?;
                CommandKind::Limit(n)
            }
            "parse" => self.parse_command()?,
            "dedup" => {
                let mut fields = vec![self.expr()?];
                while self.eat_comma() {
                    fields.push(self.expr()?);
                }
                CommandKind::Dedup(fields)
            }
            _ => unreachable!("checked against COMMANDS"),
        };
        self.skip_trivia();
        Ok(Command {
            kind,
            span: self.span_from(start),
        })
    }

    fn eat_comma(&mut self) -> bool {
        self.skip_trivia();
        let yes = self.eat(",");
        self.skip_trivia();
        yes
    }

    /// `expr [as name], ...`.
    fn named_list(&mut self, allow_alias: bool) -> PResult<Vec<NamedExpr>> {
        let mut out = vec![self.named(allow_alias)?];
        while self.eat_comma() {
            out.push(self.named(allow_alias)?);
        }
        Ok(out)
    }

    fn named(&mut self, allow_alias: bool) -> PResult<NamedExpr> {
        let start = self.pos;
        let expr = self.expr()?;
        let text = normalize(&self.text[start..expr.span.end as usize]);
        self.skip_trivia();
        let alias = if allow_alias && self.eat_keyword("as") {
            Some(self.field_name("a name after `as`")?)
        } else {
            None
        };
        Ok(NamedExpr { expr, alias, text })
    }

    /// A field name (plain, `@name`, dotted, or in backticks).
    fn field_name(&mut self, what: &str) -> PResult<(String, Span)> {
        self.skip_trivia();
        let start = self.pos;
        if self.eat("`") {
            let close = self.rest().find('`').ok_or_else(|| {
                Diagnostic::new(
                    "unclosed backtick",
                    Span::new(start as u32, start as u32 + 1),
                )
            })?;
            let name = self.rest()[..close].to_string();
            self.pos += close + 1;
            return Ok((name, self.span_from(start)));
        }
        let w = self.peek_word();
        if w.is_empty() || w.starts_with(|c: char| c.is_ascii_digit()) {
            let span = self.word_span();
            return Err(Diagnostic::new(
                format!("expected {what}, found {}", self.describe(span)),
                span,
            ));
        }
        self.pos += w.len();
        Ok((w.to_string(), self.span_from(start)))
    }

    fn stats(&mut self) -> PResult<CommandKind> {
        let mut aggregates = vec![self.named(true)?];
        loop {
            self.skip_trivia();
            if self.peek_word().eq_ignore_ascii_case("by") {
                break;
            }
            if !self.eat_comma() {
                break;
            }
            aggregates.push(self.named(true)?);
        }
        let by = if self.eat_keyword("by") {
            self.named_list(true)?
        } else {
            Vec::new()
        };
        Ok(CommandKind::Stats { aggregates, by })
    }

    fn sort_list(&mut self) -> PResult<Vec<(Expr, bool)>> {
        let mut out = Vec::new();
        loop {
            let e = self.expr()?;
            self.skip_trivia();
            let desc = if self.eat_keyword("desc") {
                true
            } else {
                self.eat_keyword("asc");
                false
            };
            out.push((e, desc));
            if !self.eat_comma() {
                return Ok(out);
            }
        }
    }

    fn parse_command(&mut self) -> PResult<CommandKind> {
        let field = self.primary()?;
        self.skip_trivia();
        let start = self.pos;
        let pattern = match self.peek() {
            Some('"' | '\'') => {
                let s = self.string()?;
                ParsePattern::Glob(s, self.span_from(start))
            }
            Some('/') => {
                let r = self.regex()?;
                ParsePattern::Regex(r, self.span_from(start))
            }
            _ => {
                let span = self.word_span();
                return Err(Diagnostic::new(
                    format!(
                        "expected a pattern (\"glob with *\" or /regex/), found {}",
                        self.describe(span)
                    ),
                    span,
                ));
            }
        };
        self.skip_trivia();
        let mut names = Vec::new();
        if self.eat_keyword("as") {
            names.push(self.field_name("a field name")?);
            while self.eat_comma() {
                names.push(self.field_name("a field name")?);
            }
        }
        Ok(CommandKind::Parse {
            field,
            pattern,
            names,
        })
    }

    // Expressions, loosest first: or, and, not, comparison, additive, multiplicative, power,
    // unary minus, primary.

    pub fn expr(&mut self) -> PResult<Expr> {
        self.skip_trivia();
        self.or()
    }

    fn binary_chain(
        &mut self,
        next: fn(&mut Self) -> PResult<Expr>,
        ops: &[(&str, BinOp, bool)],
    ) -> PResult<Expr> {
        let mut left = next(self)?;
        'outer: loop {
            self.skip_trivia();
            for (word, op, keyword) in ops {
                let matched = if *keyword {
                    self.eat_keyword(word)
                } else if self.rest().starts_with(word) && !self.rest().starts_with("=~") {
                    self.pos += word.len();
                    self.skip_trivia();
                    true
                } else {
                    false
                };
                if matched {
                    let right = next(self)?;
                    let span = left.span.to(right.span);
                    left = Expr {
                        kind: ExprKind::Binary(*op, Box::new(left), Box::new(right)),
                        span,
                    };
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn or(&mut self) -> PResult<Expr> {
        self.binary_chain(Self::and, &[("or", BinOp::Or, true)])
    }

    fn and(&mut self) -> PResult<Expr> {
        self.binary_chain(Self::not, &[("and", BinOp::And, true)])
    }

    fn not(&mut self) -> PResult<Expr> {
        self.skip_trivia();
        let start = self.pos;
        if self.eat_keyword("not")
            || (self.rest().starts_with('!') && !self.rest().starts_with("!=") && self.eat("!"))
        {
            let inner = self.not()?;
            return Ok(Expr {
                span: self.span_from(start).to(inner.span),
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        self.skip_trivia();
        let negated = {
            let save = self.pos;
            if self.eat_keyword("not") {
                let w = self.peek_word();
                if w.eq_ignore_ascii_case("like") || w.eq_ignore_ascii_case("in") {
                    true
                } else {
                    self.pos = save;
                    false
                }
            } else {
                false
            }
        };
        // `~=` is not in AWS's operator list, but Logs Insights runs it as `=~` (deployed
        // dashboards and the seed playbook use it), so spoor reads it the same way.
        if self.eat_keyword("like") || (!negated && (self.eat("=~") || self.eat("~="))) {
            self.skip_trivia();
            let pattern = self.additive()?;
            let span = left.span.to(pattern.span);
            return Ok(Expr {
                kind: ExprKind::Like {
                    expr: Box::new(left),
                    pattern: Box::new(pattern),
                    negated,
                },
                span,
            });
        }
        if self.eat_keyword("in") {
            let list_start = self.pos;
            let list = self.primary()?;
            let ExprKind::List(items) = list.kind else {
                return Err(Diagnostic::new(
                    "`in` takes a list in brackets: x in [\"a\", \"b\"]",
                    self.span_from(list_start),
                ));
            };
            let span = left.span.to(list.span);
            return Ok(Expr {
                kind: ExprKind::In {
                    expr: Box::new(left),
                    list: items,
                    negated,
                },
                span,
            });
        }
        if negated {
            unreachable!("`not` is only kept before like or in");
        }
        for (s, op) in [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("=", BinOp::Eq),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ] {
            if self.eat(s) {
                self.skip_trivia();
                let right = self.additive()?;
                let span = left.span.to(right.span);
                return Ok(Expr {
                    kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                    span,
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
            Self::power,
            &[
                ("*", BinOp::Mul, false),
                ("/", BinOp::Div, false),
                ("%", BinOp::Mod, false),
            ],
        )
    }

    fn power(&mut self) -> PResult<Expr> {
        self.binary_chain(Self::unary, &[("^", BinOp::Pow, false)])
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.skip_trivia();
        let start = self.pos;
        if self.rest().starts_with('-')
            && !self.rest()[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            self.pos += 1;
            let inner = self.unary()?;
            return Ok(Expr {
                span: self.span_from(start).to(inner.span),
                kind: ExprKind::Neg(Box::new(inner)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        self.skip_trivia();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(Diagnostic::new(
                "expected a value or a field, found the end of the query",
                Span::empty(self.pos32()),
            ));
        };
        let kind = match c {
            '"' | '\'' => ExprKind::Str(self.string()?),
            '/' => ExprKind::Regex(self.regex()?),
            '(' => {
                self.pos += 1;
                let inner = self.expr()?;
                self.expect(")", "`)`")?;
                return Ok(Expr {
                    kind: inner.kind,
                    span: self.span_from(start),
                });
            }
            '[' => {
                self.pos += 1;
                self.skip_trivia();
                let mut items = Vec::new();
                if !self.eat("]") {
                    items.push(self.expr()?);
                    while self.eat_comma() {
                        items.push(self.expr()?);
                    }
                    self.expect("]", "`,` or `]`")?;
                }
                ExprKind::List(items)
            }
            '`' => ExprKind::Field(self.field_name("a field")?.0),
            c if c.is_ascii_digit() || c == '-' => self.number()?,
            c if c.is_alphabetic() || c == '_' || c == '@' => {
                let word = self.peek_word();
                self.pos += word.len();
                let after_word = self.pos;
                self.skip_trivia();
                if self.peek() == Some('(') && !word.contains('.') {
                    return self.call(word, Span::new(start as u32, after_word as u32), start);
                }
                self.pos = after_word;
                match word.to_ascii_lowercase().as_str() {
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    _ => ExprKind::Field(word.trim_end_matches('.').to_string()),
                }
            }
            _ => {
                let span = self.word_span();
                let mut d = Diagnostic::new(
                    format!("expected a value or a field, found {}", self.describe(span)),
                    span,
                );
                if c == '\\' {
                    d = d.with_hint(self.stray_hint(span));
                }
                return Err(d);
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
        let mut star = false;
        if self.eat("*") {
            star = true;
            self.skip_trivia();
        } else if self.peek() != Some(')') {
            args.push(self.expr()?);
            while self.eat_comma() {
                args.push(self.expr()?);
            }
        }
        self.expect(")", "`,` or `)`")?;
        Ok(Expr {
            kind: ExprKind::Call {
                name: name.to_string(),
                name_span,
                args,
                star,
            },
            span: self.span_from(start),
        })
    }

    /// A number, or a period (`5m`, `1h`, `30s`, `100ms`, `1d`, `1w`).
    fn number(&mut self) -> PResult<ExprKind> {
        let start = self.pos;
        let rest = self.rest();
        let mut len = usize::from(rest.starts_with('-'));
        len += rest[len..]
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len() - len);
        let digits = &rest[..len];
        let unit_len = rest[len..]
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len() - len);
        let unit = &rest[len..len + unit_len];
        self.pos += len + unit_len;
        let span = self.span_from(start);
        if !unit.is_empty() {
            let per: i64 = match unit {
                "ms" => 1_000_000,
                "s" | "sec" | "second" | "seconds" => 1_000_000_000,
                "m" | "min" | "minute" | "minutes" => 60_000_000_000,
                "h" | "hr" | "hour" | "hours" => 3_600_000_000_000,
                "d" | "day" | "days" => 86_400_000_000_000,
                "w" | "week" | "weeks" => 604_800_000_000_000,
                _ => {
                    return Err(Diagnostic::new(format!("unknown time unit `{unit}`"), span)
                        .with_hint("periods are written 100ms, 30s, 5m, 1h, 1d or 1w"));
                }
            };
            let n: f64 = digits
                .parse()
                .map_err(|_| Diagnostic::new("not a number", span))?;
            return Ok(ExprKind::Duration((n * per as f64) as i64));
        }
        if let Ok(i) = digits.parse::<i64>() {
            return Ok(ExprKind::Int(i));
        }
        digits
            .parse::<f64>()
            .map(ExprKind::Float)
            .map_err(|_| Diagnostic::new(format!("`{digits}` is not a number"), span))
    }

    /// A string in single or double quotes; `\` escapes the next character.
    fn string(&mut self) -> PResult<String> {
        let start = self.pos;
        let quote = self.peek().expect("a quote");
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + 1;
                return Ok(out);
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, e)) => out.push(e),
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        Err(
            Diagnostic::new("unclosed string", Span::new(start as u32, start as u32 + 1))
                .with_hint(format!("close it with {quote}")),
        )
    }

    /// `/pattern/flags`: the pattern with the flags written inline (`(?i)`), as Rust's regex
    /// reads it. `\/` is a slash inside the pattern.
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
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            return Err(Diagnostic::new(
                "unclosed regular expression",
                Span::new(start as u32, start as u32 + 1),
            )
            .with_hint("close it with /"));
        };
        let pattern = rest[..end].replace("\\/", "/");
        self.pos += end + 1;
        let flags: String = self
            .rest()
            .chars()
            .take_while(|c| matches!(c, 'i' | 'm' | 's' | 'x'))
            .collect();
        self.pos += flags.len();
        let pattern = if flags.is_empty() {
            pattern
        } else {
            format!("(?{flags}){pattern}")
        };
        regex::Regex::new(&pattern).map_err(|e| {
            Diagnostic::new(
                format!("invalid regular expression: {}", first_line(&e.to_string())),
                self.span_from(start),
            )
        })?;
        Ok(pattern)
    }
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

/// Source text with runs of whitespace as one space (the name of an unnamed result column).
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
