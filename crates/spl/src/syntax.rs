//! Splunk's Search Processing Language: search terms first, then `|`-separated commands. A
//! hand-written parser over the (macro-expanded) text, with spans.
//! (Reference: https://docs.splunk.com/Documentation/Splunk/latest/SearchReference)

use spoor_core::{Diagnostic, Span};

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    pub span: Span,
}

/// A field name with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    Search(Search),
    Where(Expr),
    Eval(Vec<(Name, Expr)>),
    /// `stats` (or `eventstats` when `keep_events`).
    Stats {
        aggregates: Vec<Aggregate>,
        by: Vec<Name>,
        keep_events: bool,
    },
    Table(Vec<Name>),
    Fields {
        remove: bool,
        names: Vec<Name>,
    },
    /// `sort [N] [+|-]field ...` (true = descending).
    Sort {
        limit: Option<u64>,
        keys: Vec<(Name, bool)>,
    },
    Head(u64),
    Tail(u64),
    Dedup(Vec<Name>),
    Rex {
        field: Name,
        regex: String,
        regex_span: Span,
    },
    Spath {
        input: Name,
        output: Option<Name>,
        path: Option<String>,
    },
    Rename(Vec<(Name, Name)>),
    /// `top` / `rare` (`rare` = least common first).
    Top {
        limit: u64,
        fields: Vec<Name>,
        by: Vec<Name>,
        rare: bool,
    },
    /// `bin` / `bucket`: `span` in nanoseconds.
    Bin {
        field: Name,
        span_ns: i64,
        alias: Option<Name>,
    },
}

/// `func(arg) [as name]` in stats.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub func: String,
    pub func_span: Span,
    pub arg: Option<Expr>,
    /// The result column: the alias, else the call as written (`count`, `dc(user)`).
    pub name: String,
}

/// Search terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    All,
    And(Vec<Search>),
    Or(Vec<Search>),
    Not(Box<Search>),
    /// `field=value`, `field!=value`, `field>5`; values may hold `*` wildcards.
    Compare {
        field: Name,
        op: CompareOp,
        value: String,
        span: Span,
    },
    /// `field IN (a, b)`.
    In {
        field: Name,
        values: Vec<String>,
        span: Span,
    },
    /// A word or phrase searched for in the raw event.
    Term {
        text: String,
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
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
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    Xor,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
}

const COMMANDS: &[&str] = &[
    "search",
    "where",
    "eval",
    "stats",
    "eventstats",
    "table",
    "fields",
    "sort",
    "head",
    "tail",
    "dedup",
    "rex",
    "spath",
    "rename",
    "top",
    "rare",
    "bin",
    "bucket",
    "regex",
];

/// Commands spoor does not run yet, said as such.
const UNSUPPORTED: &[&str] = &[
    "tstats",
    "lookup",
    "inputlookup",
    "outputlookup",
    "join",
    "append",
    "appendcols",
    "transaction",
    "streamstats",
    "timechart",
    "chart",
    "makeresults",
    "collect",
    "sendemail",
    "map",
    "foreach",
    "mvexpand",
    "fillnull",
    "convert",
    "iplocation",
    "datamodel",
    "from",
    "multisearch",
    "union",
    "xyseries",
    "untable",
    "addtotals",
    "delete",
    "outputcsv",
];

pub fn parse(text: &str) -> Result<Query, Diagnostic> {
    let mut p = Parser { text, pos: 0 };
    p.skip_ws();
    let mut commands = Vec::new();
    let mut first = true;
    loop {
        p.skip_ws();
        if p.at_end() {
            break;
        }
        let start = p.pos;
        if first && !p.rest().starts_with('|') {
            // The leading search, with or without the word `search`.
            if p.word().eq_ignore_ascii_case("search") {
                p.take_word();
            }
            let s = p.search_expr()?;
            commands.push(Command {
                kind: CommandKind::Search(s),
                span: p.span_from(start),
            });
        } else {
            if !p.eat("|") {
                let span = p.token_span();
                return Err(Diagnostic::new(
                    format!(
                        "expected `|` before the next command, found {}",
                        p.describe(span)
                    ),
                    span,
                ));
            }
            p.skip_ws();
            commands.push(p.command()?);
        }
        first = false;
    }
    Ok(Query { commands })
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

type PResult<T> = Result<T, Diagnostic>;

fn is_word_char(c: char) -> bool {
    !(c.is_whitespace() || "()|=<>!,\"'`[]".contains(c))
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn at_pipe_or_end(&self) -> bool {
        self.at_end() || self.rest().starts_with('|')
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start as u32, self.pos as u32)
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// The word at the cursor (up to a space or an operator character), not consumed.
    fn word(&self) -> &'a str {
        let rest = self.rest();
        &rest[..rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len())]
    }

    fn take_word(&mut self) -> (String, Span) {
        let start = self.pos;
        let w = self.word();
        self.pos += w.len();
        let out = (w.to_string(), self.span_from(start));
        self.skip_ws();
        out
    }

    fn token_span(&self) -> Span {
        let w = self.word();
        let len = if w.is_empty() {
            self.rest().chars().next().map_or(0, char::len_utf8)
        } else {
            w.len()
        };
        Span::new(self.pos as u32, (self.pos + len) as u32)
    }

    fn describe(&self, span: Span) -> String {
        if span.start == span.end {
            "the end of the query".into()
        } else {
            format!("`{}`", &self.text[span.start as usize..span.end as usize])
        }
    }

    fn error_here(&self, what: &str) -> Diagnostic {
        let span = self.token_span();
        Diagnostic::new(
            format!("expected {what}, found {}", self.describe(span)),
            span,
        )
    }

    fn keyword(&mut self, k: &str) -> bool {
        if self.word().eq_ignore_ascii_case(k) {
            self.take_word();
            true
        } else {
            false
        }
    }

    /// A double-quoted string (`\"` and `\\` escapes).
    fn quoted(&mut self) -> PResult<String> {
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
                    Some((_, e @ ('"' | '\\'))) => out.push(e),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(
            Diagnostic::new("unclosed string", Span::new(start as u32, start as u32 + 1))
                .with_hint("close it with \""),
        )
    }

    /// A field name: a word, or 'single quoted'.
    fn name(&mut self, what: &str) -> PResult<Name> {
        self.skip_ws();
        let start = self.pos;
        if self.rest().starts_with('\'') {
            self.pos += 1;
            let close = self.rest().find('\'').ok_or_else(|| {
                Diagnostic::new(
                    "unclosed field name",
                    Span::new(start as u32, start as u32 + 1),
                )
            })?;
            let name = self.rest()[..close].to_string();
            self.pos += close + 1;
            let span = self.span_from(start);
            self.skip_ws();
            return Ok(Name { name, span });
        }
        let (w, span) = self.take_word();
        if w.is_empty() {
            self.pos = start;
            return Err(self.error_here(what));
        }
        Ok(Name { name: w, span })
    }

    /// Names separated by commas or spaces, up to `|`, the end, or a keyword in `stop`.
    fn name_list(&mut self, stop: &[&str]) -> PResult<Vec<Name>> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            if self.at_pipe_or_end() || stop.iter().any(|s| self.word().eq_ignore_ascii_case(s)) {
                return Ok(out);
            }
            if self.eat(",") {
                continue;
            }
            out.push(self.name("a field name")?);
        }
    }

    /// `key=value` options at the cursor (`limit=5`, `field=x`), in any order.
    fn options(&mut self, keys: &[&str]) -> PResult<Vec<(String, String, Span)>> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            let w = self.word();
            let Some(k) = keys.iter().find(|k| w.eq_ignore_ascii_case(k)) else {
                return Ok(out);
            };
            let save = self.pos;
            self.pos += w.len();
            self.skip_ws();
            if !self.eat("=") {
                self.pos = save;
                return Ok(out);
            }
            self.skip_ws();
            let start = self.pos;
            let v = if self.rest().starts_with('"') {
                self.quoted()?
            } else {
                self.take_word().0
            };
            out.push((k.to_string(), v, self.span_from(start)));
        }
    }

    fn number_word(&mut self, what: &str) -> PResult<u64> {
        let start = self.pos;
        let (w, span) = self.take_word();
        w.parse().map_err(|_| {
            self.pos = start;
            Diagnostic::new(format!("expected {what}, found `{w}`"), span)
        })
    }

    fn command(&mut self) -> PResult<Command> {
        let start = self.pos;
        let (word, word_span) = self.take_word();
        let lower = word.to_ascii_lowercase();
        if UNSUPPORTED.contains(&lower.as_str()) {
            return Err(Diagnostic::new(
                format!("the `{word}` command is not supported yet"),
                word_span,
            ));
        }
        if !COMMANDS.contains(&lower.as_str()) {
            let mut d = Diagnostic::new(
                format!("expected a command, found {}", self.describe(word_span)),
                word_span,
            );
            if let Some(s) = spoor_core::did_you_mean(&word, COMMANDS.iter().copied()) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            return Err(d);
        }
        let kind = match lower.as_str() {
            "search" => CommandKind::Search(self.search_expr()?),
            "where" => CommandKind::Where(self.expr()?),
            "regex" => CommandKind::Where(self.regex_command()?),
            "eval" => {
                let mut items = Vec::new();
                loop {
                    let n = self.name("a field to set")?;
                    self.skip_ws();
                    if !self.eat("=") {
                        return Err(self.error_here("`=`"));
                    }
                    items.push((n, self.expr()?));
                    self.skip_ws();
                    if !self.eat(",") {
                        break;
                    }
                }
                CommandKind::Eval(items)
            }
            "stats" | "eventstats" => self.stats(lower == "eventstats")?,
            "table" => CommandKind::Table(self.name_list(&[])?),
            "fields" => {
                self.skip_ws();
                let remove = self.eat("-");
                if !remove {
                    self.eat("+");
                }
                CommandKind::Fields {
                    remove,
                    names: self.name_list(&[])?,
                }
            }
            "sort" => {
                self.skip_ws();
                let mut limit = None;
                if self.word().chars().all(|c| c.is_ascii_digit()) && !self.word().is_empty() {
                    limit = Some(self.number_word("a count")?);
                } else if let Some((_, v, span)) = self.options(&["limit"])?.pop() {
                    limit = Some(
                        v.parse()
                            .map_err(|_| Diagnostic::new("limit takes a number", span))?,
                    );
                }
                let mut keys = Vec::new();
                loop {
                    self.skip_ws();
                    if self.at_pipe_or_end() {
                        break;
                    }
                    if self.eat(",") {
                        continue;
                    }
                    let mut desc = false;
                    if self.eat("-") {
                        desc = true;
                    } else {
                        self.eat("+");
                    }
                    let mut n = self.name("a field to sort by")?;
                    // `num(x)`, `str(x)`: the value as a number or text (sorting as-is).
                    for wrap in ["num(", "str(", "ip(", "auto("] {
                        if let Some(inner) = n.name.strip_prefix(wrap) {
                            n.name = inner.trim_end_matches(')').to_string();
                        }
                    }
                    if self.keyword("desc") {
                        desc = true;
                    } else {
                        self.keyword("asc");
                    }
                    keys.push((n, desc));
                }
                if keys.is_empty() {
                    return Err(self.error_here("a field to sort by"));
                }
                CommandKind::Sort { limit, keys }
            }
            "head" | "tail" => {
                self.skip_ws();
                let n = if self.word().is_empty() {
                    10
                } else if let Some((_, v, span)) = self.options(&["limit"])?.pop() {
                    v.parse()
                        .map_err(|_| Diagnostic::new("limit takes a number", span))?
                } else {
                    self.number_word("a number of events")?
                };
                if lower == "head" {
                    CommandKind::Head(n)
                } else {
                    CommandKind::Tail(n)
                }
            }
            "dedup" => {
                self.skip_ws();
                if self.word().chars().all(|c| c.is_ascii_digit()) && !self.word().is_empty() {
                    return Err(Diagnostic::new(
                        "`dedup N` (keep N events per value) is not supported yet; dedup keeps one",
                        self.token_span(),
                    ));
                }
                let names =
                    self.name_list(&["sortby", "keepempty", "consecutive", "keepevents"])?;
                if !self.at_pipe_or_end() {
                    return Err(Diagnostic::new(
                        "dedup's options are not supported yet",
                        self.token_span(),
                    ));
                }
                CommandKind::Dedup(names)
            }
            "rex" => {
                let opts = self.options(&["field", "mode", "max_match"])?;
                if let Some((_, v, span)) = opts.iter().find(|(k, _, _)| k == "mode")
                    && v != "regex"
                {
                    return Err(Diagnostic::new(
                        "`rex mode=sed` is not supported yet",
                        *span,
                    ));
                }
                let field = opts
                    .iter()
                    .find(|(k, _, _)| k == "field")
                    .map(|(_, v, span)| Name {
                        name: v.clone(),
                        span: *span,
                    })
                    .unwrap_or(Name {
                        name: "_raw".into(),
                        span: Span::new(start as u32, start as u32),
                    });
                self.skip_ws();
                if !self.rest().starts_with('"') {
                    return Err(self.error_here("a regular expression in double quotes"));
                }
                let rs = self.pos;
                let regex = self.quoted()?;
                let regex_span = self.span_from(rs);
                regex::Regex::new(&regex).map_err(|e| {
                    Diagnostic::new(
                        format!(
                            "invalid regular expression: {}",
                            e.to_string().lines().last().unwrap_or("")
                        ),
                        regex_span,
                    )
                })?;
                CommandKind::Rex {
                    field,
                    regex,
                    regex_span,
                }
            }
            "spath" => {
                let opts = self.options(&["input", "output", "path"])?;
                self.skip_ws();
                let mut path = opts
                    .iter()
                    .find(|(k, _, _)| k == "path")
                    .map(|(_, v, _)| v.clone());
                if path.is_none() && !self.at_pipe_or_end() {
                    path = Some(self.take_word().0);
                }
                let get = |k: &str| {
                    opts.iter()
                        .find(|(key, _, _)| key == k)
                        .map(|(_, v, span)| Name {
                            name: v.clone(),
                            span: *span,
                        })
                };
                CommandKind::Spath {
                    input: get("input").unwrap_or(Name {
                        name: "_raw".into(),
                        span: Span::new(start as u32, start as u32),
                    }),
                    output: get("output"),
                    path,
                }
            }
            "rename" => {
                let mut pairs = Vec::new();
                loop {
                    let from = self.name("a field to rename")?;
                    if !self.keyword("as") {
                        return Err(self.error_here("`AS`"));
                    }
                    let to = self.name("the new name")?;
                    if from.name.contains('*') {
                        return Err(Diagnostic::new(
                            "renaming with wildcards is not supported yet",
                            from.span,
                        ));
                    }
                    pairs.push((from, to));
                    self.skip_ws();
                    if !self.eat(",") && self.at_pipe_or_end() {
                        break;
                    }
                    self.skip_ws();
                    if self.at_pipe_or_end() {
                        break;
                    }
                }
                CommandKind::Rename(pairs)
            }
            "top" | "rare" => {
                let mut limit = 10;
                for (_, v, span) in self.options(&[
                    "limit",
                    "countfield",
                    "percentfield",
                    "showperc",
                    "showcount",
                ])? {
                    limit = v.parse().map_err(|_| {
                        Diagnostic::new(
                            "`limit` takes a number (other options are not supported yet)",
                            span,
                        )
                    })?;
                }
                let fields = self.name_list(&["by"])?;
                let by = if self.keyword("by") {
                    self.name_list(&[])?
                } else {
                    Vec::new()
                };
                if fields.is_empty() {
                    return Err(self.error_here("a field"));
                }
                CommandKind::Top {
                    limit,
                    fields,
                    by,
                    rare: lower == "rare",
                }
            }
            "bin" | "bucket" => {
                let opts = self.options(&["span", "bins", "minspan", "start", "end"])?;
                let Some((_, v, span)) = opts.iter().find(|(k, _, _)| k == "span") else {
                    return Err(Diagnostic::new(
                        "`bin` needs `span=` (bins= is not supported yet)",
                        self.span_from(start),
                    ));
                };
                let span_ns = period(v).ok_or_else(|| {
                    Diagnostic::new(format!("`{v}` is not a span such as 5m, 1h or 1d"), *span)
                })?;
                let field = self.name("the field to bin")?;
                let alias = if self.keyword("as") {
                    Some(self.name("a name")?)
                } else {
                    None
                };
                CommandKind::Bin {
                    field,
                    span_ns,
                    alias,
                }
            }
            _ => unreachable!("checked against COMMANDS"),
        };
        self.skip_ws();
        if !self.at_pipe_or_end() {
            let span = self.token_span();
            return Err(Diagnostic::new(
                format!("unexpected {} in `{word}`", self.describe(span)),
                span,
            ));
        }
        Ok(Command {
            kind,
            span: self.span_from(start),
        })
    }

    fn stats(&mut self, keep_events: bool) -> PResult<CommandKind> {
        let mut aggregates = Vec::new();
        loop {
            self.skip_ws();
            if self.at_pipe_or_end() || self.word().eq_ignore_ascii_case("by") {
                break;
            }
            if self.eat(",") {
                continue;
            }
            let start = self.pos;
            let func_start = self.pos;
            let func = self.rest()[..self
                .rest()
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(self.rest().len())]
                .to_string();
            if func.is_empty() {
                return Err(self.error_here("an aggregate such as count or sum(x)"));
            }
            self.pos += func.len();
            let func_span = self.span_from(func_start);
            let arg = if self.eat("(") {
                self.skip_ws();
                let arg = if self.rest().starts_with(')') {
                    None
                } else {
                    Some(self.expr()?)
                };
                self.skip_ws();
                if !self.eat(")") {
                    return Err(self.error_here("`)`"));
                }
                arg
            } else {
                None
            };
            let written: String = self.text[start..self.pos].split_whitespace().collect();
            self.skip_ws();
            let name = if self.keyword("as") {
                self.name("a name")?.name
            } else {
                written
            };
            aggregates.push(Aggregate {
                func,
                func_span,
                arg,
                name,
            });
        }
        if aggregates.is_empty() {
            return Err(self.error_here("an aggregate such as count or sum(x)"));
        }
        let by = if self.keyword("by") {
            self.name_list(&[])?
        } else {
            Vec::new()
        };
        Ok(CommandKind::Stats {
            aggregates,
            by,
            keep_events,
        })
    }

    /// `regex field="re"` keeps the events whose field matches (anywhere in the value),
    /// `regex field!="re"` those whose field does not (or is missing), `regex "re"` matches
    /// the raw event: read as `where match(field, "re")`, `where NOT match(...)`.
    fn regex_command(&mut self) -> PResult<Expr> {
        self.skip_ws();
        let start = self.pos;
        let (field, negated) = if self.rest().starts_with('"') {
            (
                Expr {
                    kind: ExprKind::Field("_raw".into()),
                    span: Span::new(start as u32, start as u32),
                },
                false,
            )
        } else {
            let name = self.name("a field or a \"regex\"")?;
            self.skip_ws();
            let negated = self.eat("!=");
            if !negated && !self.eat("=") {
                return Err(self.error_here("`=` or `!=` and a \"regex\""));
            }
            (
                Expr {
                    kind: ExprKind::Field(name.name),
                    span: name.span,
                },
                negated,
            )
        };
        self.skip_ws();
        if !self.rest().starts_with('"') {
            return Err(self.error_here("a \"regex\" in double quotes"));
        }
        let pattern_start = self.pos;
        let pattern = self.quoted()?;
        let span = self.span_from(start);
        let test = Expr {
            kind: ExprKind::Call {
                name: "match".into(),
                name_span: Span::new(start as u32, start as u32),
                args: vec![
                    field,
                    Expr {
                        kind: ExprKind::Str(pattern),
                        span: self.span_from(pattern_start),
                    },
                ],
            },
            span,
        };
        Ok(if negated {
            Expr {
                kind: ExprKind::Not(Box::new(test)),
                span,
            }
        } else {
            test
        })
    }

    // Search terms: AND (written or implied) binds loosest, then OR, then NOT. Splunk's search
    // command evaluates OR before AND: `a OR b c` is `(a OR b) AND c` (Splunk's Search Manual,
    // "Boolean expressions": parentheses, NOT, OR, then AND).

    fn search_expr(&mut self) -> PResult<Search> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.at_pipe_or_end() || self.rest().starts_with(')') {
                break;
            }
            // A leading or doubled operator (pySigma writes `search OR a=1 OR b=2`) joins
            // nothing and is passed over, as Splunk does.
            if self.word() == "AND" || self.word() == "OR" {
                self.take_word();
                continue;
            }
            items.push(self.search_or()?);
        }
        Ok(match items.len() {
            0 => Search::All,
            1 => items.pop().expect("one"),
            _ => Search::And(items),
        })
    }

    fn search_or(&mut self) -> PResult<Search> {
        let mut items = vec![self.search_not()?];
        loop {
            self.skip_ws();
            if self.word() != "OR" {
                break;
            }
            self.take_word();
            self.skip_ws();
            if self.at_pipe_or_end() || self.rest().starts_with(')') {
                break;
            }
            items.push(self.search_not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one")
        } else {
            Search::Or(items)
        })
    }

    fn search_not(&mut self) -> PResult<Search> {
        self.skip_ws();
        if self.word() == "NOT" {
            self.take_word();
            return Ok(Search::Not(Box::new(self.search_not()?)));
        }
        let start = self.pos;
        if self.eat("(") {
            let inner = self.search_expr()?;
            self.skip_ws();
            if !self.eat(")") {
                return Err(self.error_here("`)`"));
            }
            self.skip_ws();
            return Ok(inner);
        }
        if self.rest().starts_with('"') {
            let text = self.quoted()?;
            let span = self.span_from(start);
            self.skip_ws();
            return Ok(Search::Term { text, span });
        }
        let (word, word_span) = self.take_word();
        if word.is_empty() {
            return Err(self.error_here("a search term"));
        }
        // `field=value`, `field!=value`, `field<n`...
        for (s, op) in [
            ("!=", CompareOp::Ne),
            ("<=", CompareOp::Le),
            (">=", CompareOp::Ge),
            ("==", CompareOp::Eq),
            ("=", CompareOp::Eq),
            ("<", CompareOp::Lt),
            (">", CompareOp::Gt),
        ] {
            if self.eat(s) {
                self.skip_ws();
                let value = if self.rest().starts_with('"') {
                    self.quoted()?
                } else {
                    self.take_word().0
                };
                let span = self.span_from(start);
                self.skip_ws();
                return Ok(Search::Compare {
                    field: Name {
                        name: word,
                        span: word_span,
                    },
                    op,
                    value,
                    span,
                });
            }
        }
        if self.word().eq_ignore_ascii_case("IN") {
            let save = self.pos;
            self.take_word();
            if self.eat("(") {
                let mut values = Vec::new();
                loop {
                    self.skip_ws();
                    if self.eat(")") {
                        break;
                    }
                    if self.eat(",") {
                        continue;
                    }
                    if self.at_end() {
                        return Err(self.error_here("`)`"));
                    }
                    values.push(if self.rest().starts_with('"') {
                        self.quoted()?
                    } else {
                        self.take_word().0
                    });
                }
                let span = self.span_from(start);
                self.skip_ws();
                return Ok(Search::In {
                    field: Name {
                        name: word,
                        span: word_span,
                    },
                    values,
                    span,
                });
            }
            self.pos = save;
        }
        Ok(Search::Term {
            text: word,
            span: word_span,
        })
    }

    // Eval expressions: OR, XOR, AND, NOT, comparison, + - ., * / %, unary minus, primary.

    fn expr(&mut self) -> PResult<Expr> {
        self.skip_ws();
        self.binary_level(0)
    }

    fn binary_level(&mut self, level: usize) -> PResult<Expr> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("OR", BinOp::Or), ("||", BinOp::Or)],
            &[("XOR", BinOp::Xor)],
            &[("AND", BinOp::And), ("&&", BinOp::And)],
        ];
        if level == LEVELS.len() {
            return self.not_expr();
        }
        let mut left = self.binary_level(level + 1)?;
        'outer: loop {
            self.skip_ws();
            for (word, op) in LEVELS[level] {
                let matched = if word.chars().all(char::is_alphabetic) {
                    self.keyword(word)
                } else {
                    self.eat(word)
                };
                if matched {
                    let right = self.binary_level(level + 1)?;
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

    fn not_expr(&mut self) -> PResult<Expr> {
        self.skip_ws();
        let start = self.pos;
        if self.keyword("NOT")
            || (self.rest().starts_with('!') && !self.rest().starts_with("!=") && self.eat("!"))
        {
            let inner = self.not_expr()?;
            return Ok(Expr {
                span: self.span_from(start).to(inner.span),
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        self.skip_ws();
        if self.keyword("LIKE") {
            let right = self.additive()?;
            let span = left.span.to(right.span);
            return Ok(Expr {
                kind: ExprKind::Binary(BinOp::Like, Box::new(left), Box::new(right)),
                span,
            });
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
        let mut left = self.multiplicative()?;
        loop {
            self.skip_ws();
            let op = if self.rest().starts_with('+') {
                BinOp::Add
            } else if self.rest().starts_with('-') {
                BinOp::Sub
            } else if self.rest().starts_with('.')
                && !self.rest()[1..].starts_with(|c: char| c.is_ascii_digit())
            {
                BinOp::Concat
            } else {
                return Ok(left);
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                span,
            };
        }
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            let op = match self.rest().chars().next() {
                Some('*') => BinOp::Mul,
                Some('/') => BinOp::Div,
                Some('%') => BinOp::Mod,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary()?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                span,
            };
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.skip_ws();
        let start = self.pos;
        if self.rest().starts_with('-') {
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
        self.skip_ws();
        let start = self.pos;
        let Some(c) = self.rest().chars().next() else {
            return Err(self.error_here("a value or a field"));
        };
        let kind = if c == '"' {
            ExprKind::Str(self.quoted()?)
        } else if c == '\'' {
            ExprKind::Field(self.name("a field")?.name)
        } else if c == '(' {
            self.pos += 1;
            let inner = self.expr()?;
            self.skip_ws();
            if !self.eat(")") {
                return Err(self.error_here("`)`"));
            }
            return Ok(Expr {
                kind: inner.kind,
                span: self.span_from(start),
            });
        } else if c.is_ascii_digit() {
            let rest = self.rest();
            let len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let digits = &rest[..len];
            self.pos += len;
            match digits.parse::<i64>() {
                Ok(i) => ExprKind::Int(i),
                Err(_) => ExprKind::Float(digits.parse().map_err(|_| {
                    Diagnostic::new(format!("`{digits}` is not a number"), self.span_from(start))
                })?),
            }
        } else {
            // A field name or a function call: letters, digits, `_`, `.`, `{}`, `@`.
            let rest = self.rest();
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || "_.{}@:".contains(c)))
                .unwrap_or(rest.len());
            if len == 0 {
                return Err(self.error_here("a value or a field"));
            }
            let word = rest[..len].to_string();
            self.pos += len;
            let name_span = self.span_from(start);
            if self.rest().starts_with('(') {
                self.pos += 1;
                let mut args = Vec::new();
                self.skip_ws();
                if !self.eat(")") {
                    loop {
                        args.push(self.expr()?);
                        self.skip_ws();
                        if self.eat(")") {
                            break;
                        }
                        if !self.eat(",") {
                            return Err(self.error_here("`,` or `)`"));
                        }
                    }
                }
                ExprKind::Call {
                    name: word,
                    name_span,
                    args,
                }
            } else {
                ExprKind::Field(word.trim_end_matches('.').to_string())
            }
        };
        Ok(Expr {
            kind,
            span: self.span_from(start),
        })
    }
}

/// A span such as `5m`, `1h`, `30s`, `1d` in nanoseconds.
pub fn period(text: &str) -> Option<i64> {
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = &text[digits.len()..];
    let n: i64 = if digits.is_empty() {
        1
    } else {
        digits.parse().ok()?
    };
    let per: i64 = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000_000_000,
        "d" | "day" | "days" => 86_400_000_000_000,
        "w" | "week" | "weeks" => 604_800_000_000_000,
        _ => return None,
    };
    (n > 0).then_some(n * per)
}
