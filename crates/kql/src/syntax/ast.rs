//! The KQL abstract syntax tree.
//!
//! Every node carries a [`Span`] (byte range into the query text). Scalar and tabular
//! expressions share one [`Expr`] type: a bare name may be a table, a `let` name or a
//! column, and the planner decides which. A pipeline is [`ExprKind::Pipe`]: an optional
//! source followed by [`Operator`]s; the source is `None` when the pipeline starts with an
//! operator that produces rows by itself (`union`, `print`, `range`, `datatable`,
//! `externaldata`, `evaluate`, `search`, `find`), and in sub-pipelines that start with an
//! operator (`mv-apply ... on (...)`, `fork (...)`, `facet ... with (...)`).
//!
//! Stability: this module is consumed by the planner. Changes are additive only.

use spoor_core::Span;

/// An identifier: a column, table, function, parameter or option name, as written
/// (bracketed names `['a b']` are unquoted; `$left`/`$right` keep their `$`).
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A whole query text: statements separated by `;`.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The statements in order; usually `let`s followed by one query statement.
    pub statements: Vec<Statement>,
    /// The whole text.
    pub span: Span,
}

/// One statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// What kind of statement.
    pub kind: StatementKind,
    /// Where it is written (without the `;`).
    pub span: Span,
}

/// The kinds of statements.
#[derive(Clone, Debug, PartialEq)]
pub enum StatementKind {
    /// `let name = value`.
    Let(LetStmt),
    /// `set name [= value]`.
    Set(SetStmt),
    /// `declare query_parameters(name:type [= default], ...)`.
    DeclareQueryParameters(Vec<Param>),
    /// A tabular (or scalar) expression whose result is the query's output.
    Query(Expr),
}

/// `let name = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct LetStmt {
    /// The bound name.
    pub name: Ident,
    /// What it is bound to.
    pub value: LetValue,
}

/// What a `let` binds.
#[derive(Clone, Debug, PartialEq)]
pub enum LetValue {
    /// A scalar or tabular expression (`let x = 5;`, `let T = Table | where ...;`,
    /// `let L = dynamic([...]);`, `let M = materialize(...);`).
    Expr(Expr),
    /// A function `(params) { body }` or a view `view (params) { body }`.
    Function(FunctionDef),
}

/// A user-defined function (or view).
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDef {
    /// True for `view (...) { ... }`.
    pub is_view: bool,
    /// The parameters.
    pub params: Vec<Param>,
    /// The body: `let` statements and a final expression statement.
    pub body: Vec<Statement>,
    /// From `view` or `(` to the closing `}`.
    pub span: Span,
}

/// A function or query parameter: `name:type [= default]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: ParamType,
    /// Its default value, if any.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// The type of a parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamType {
    /// A scalar type (`a:string`).
    Scalar(TypeRef),
    /// A tabular parameter: `T:(*)` (any schema, `columns` empty, `open` true),
    /// `T:(a:string, b:long)` (at least those columns; `open` if `*` is listed too).
    Tabular {
        /// The columns the table must have.
        columns: Vec<ColumnDecl>,
        /// Whether other columns are allowed (`*`).
        open: bool,
        /// The parenthesised schema.
        span: Span,
    },
}

/// `set name [= value]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetStmt {
    /// The option name (may contain dots, e.g. `query_now`).
    pub name: Ident,
    /// The value, if any (a literal, or a bare name for `true`/`false`-like options).
    pub value: Option<Expr>,
}

/// A column declaration `name:type` (datatable, externaldata, parse-kv, tabular params).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDecl {
    /// Column name.
    pub name: Ident,
    /// Column type.
    pub ty: TypeRef,
    /// `name:type`.
    pub span: Span,
}

/// A written scalar type name.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeRef {
    /// The type (aliases such as `double`, `boolean`, `date`, `time` are resolved).
    pub ty: ScalarType,
    /// Where it is written.
    pub span: Span,
}

/// KQL scalar types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    /// `bool`, `boolean`.
    Bool,
    /// `datetime`, `date`.
    DateTime,
    /// `decimal`.
    Decimal,
    /// `dynamic`.
    Dynamic,
    /// `guid`, `uniqueid`.
    Guid,
    /// `int` (32-bit).
    Int,
    /// `long` (64-bit).
    Long,
    /// `real`, `double`.
    Real,
    /// `string`.
    String,
    /// `timespan`, `time`.
    TimeSpan,
}

/// An expression (scalar or tabular).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it is written (parentheses around it belong to the parent's span).
    pub span: Span,
}

/// The kinds of expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A bare name: column, table, `let` name or parameter (`['a b']` and `["x"]` too).
    Name(Ident),
    /// `*` (in `arg_max(x, *)`, `distinct *`, `project-away *`, `count(*)`...).
    Star,
    /// A name with `*` wildcards (`Device*`, `*Events`, `Col*Suffix`) in `union`,
    /// `project-away`, `project-keep`, `project-reorder`, `search in (...)`.
    NamePattern(String),
    /// `$left.col` / `$right.col` in a join condition.
    JoinSide {
        /// Which side.
        side: JoinSideKind,
        /// The column.
        column: Ident,
    },
    /// `target.member` (dynamic property access, also `target.['key']`).
    Member {
        /// The object.
        target: Box<Expr>,
        /// The property.
        member: Ident,
    },
    /// `target[index]` (array element or dynamic property).
    Index {
        /// The array or object.
        target: Box<Expr>,
        /// The index or key.
        index: Box<Expr>,
    },
    /// A function call `f(args)` (scalar, aggregate, or tabular such as
    /// `materialize(x)`, `table("X")`, `imAuthentication(starttime=ago(1d))`).
    Call(Call),
    /// A unary operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// A binary operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `expr in (...)`, `!in`, `in~`, `!in~`, `has_any (...)`, `has_all (...)`.
    /// Items may be scalars, a tabular subquery (one item, `ExprKind::Pipe` or a name),
    /// or a name bound to a dynamic array.
    InList {
        /// The operator.
        op: ListOp,
        /// The tested value.
        expr: Box<Expr>,
        /// The list.
        items: Vec<Expr>,
    },
    /// `expr between (low .. high)` / `!between`.
    Between {
        /// True for `!between`.
        negated: bool,
        /// The tested value.
        expr: Box<Expr>,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
    },
    /// A pipeline: `source | op | op ...`.
    Pipe {
        /// The input; `None` when the first operator produces rows itself (`union`,
        /// `print`, `range`, `datatable`...) or in operator-first sub-pipelines.
        source: Option<Box<Expr>>,
        /// The operators, in order (at least one).
        operators: Vec<Operator>,
    },
}

/// A function call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function name (for `toscalar`, `materialize`, `table` too).
    pub func: Ident,
    /// Positional arguments.
    pub args: Vec<Expr>,
    /// Named arguments `name = value` (user functions, ASIM parsers, plugins).
    pub named_args: Vec<NamedArg>,
}

/// `name = value` as a call argument or an operator parameter (`kind=inner`,
/// `hint.strategy=shuffle`, `isfuzzy=true`, `withsource=Source`, render `with (title="x")`).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedArg {
    /// The name; dotted names such as `hint.strategy` are kept whole.
    pub name: Ident,
    /// The value (bare words such as `inner` or `shuffle` are [`ExprKind::Name`]).
    pub value: Expr,
    /// `name = value`.
    pub span: Span,
}

/// `$left` or `$right`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinSideKind {
    /// `$left`.
    Left,
    /// `$right`.
    Right,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Plus,
}

/// Binary operators. `not(x)` is a function call, not an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `==`.
    Eq,
    /// `!=` or `<>`.
    NotEq,
    /// `=~` (case-insensitive equality).
    EqCi,
    /// `!~`.
    NotEqCi,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// A string operator: `has`, `!has_cs`, `startswith`, `matches regex`...
    Str {
        /// Which test.
        op: StrOp,
        /// `!` form (`!has`, `!contains_cs`).
        negated: bool,
        /// `_cs` form (`has_cs`, `startswith_cs`); `matches regex` is case-sensitive.
        case_sensitive: bool,
    },
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
}

/// The string tests of [`BinaryOp::Str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrOp {
    /// `has` (whole term).
    Has,
    /// `hasprefix` (term prefix).
    HasPrefix,
    /// `hassuffix` (term suffix).
    HasSuffix,
    /// `contains` (substring).
    Contains,
    /// `startswith`.
    StartsWith,
    /// `endswith`.
    EndsWith,
    /// `matches regex` (right side is the pattern).
    MatchesRegex,
}

/// List operators of [`ExprKind::InList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOp {
    /// `in` (case-sensitive).
    In,
    /// `!in`.
    NotIn,
    /// `in~` (case-insensitive).
    InCi,
    /// `!in~`.
    NotInCi,
    /// `has_any`.
    HasAny,
    /// `has_all`.
    HasAll,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `null` (untyped) or a typed null such as `long(null)`, `datetime(null)`.
    Null(Option<ScalarType>),
    /// `true`, `false` (any case), `bool(true)`.
    Bool(bool),
    /// `int(5)`.
    Int(i32),
    /// `5`, `0x1F`, `long(5)`.
    Long(i64),
    /// `1.5`, `1e3`, `real(nan)`, `real(+inf)`.
    Real(f64),
    /// `decimal(1.5)`, raw text.
    Decimal(String),
    /// A string, escapes resolved (`"a\n"`, `'x'`, `@"C:\x"`, `h"secret"`, ```` ```...``` ````;
    /// adjacent string literals are concatenated).
    String(String),
    /// `datetime(...)`: the raw text between the parentheses, quotes removed
    /// (`2023-08-09`, `8/9/2023 00:00:00`); the planner parses it.
    DateTime(String),
    /// A timespan in nanoseconds (`1d`, `30m`, `1.5h`, `100ms`, `10tick`,
    /// `time(1.00:00:00)`, `timespan(1d)`).
    TimeSpan(i64),
    /// `guid(...)`, raw text.
    Guid(String),
    /// `dynamic(...)`: JSON (datetimes, timespans and guids inside become strings).
    Dynamic(serde_json::Value),
}

/// One pipe operator.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// What operator with what arguments.
    pub kind: OperatorKind,
    /// From the operator name to its end (without the leading `|`).
    pub span: Span,
}

/// An assignment `[name =] expr` or `(a, b) = expr` (extend, project, summarize, print...).
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// Output names: empty when unnamed (the planner derives a name), one for `name = expr`,
    /// several for `(a, b) = expr`.
    pub names: Vec<Ident>,
    /// The value.
    pub expr: Expr,
    /// The whole item.
    pub span: Span,
}

impl Assignment {
    /// The single output name, if exactly one was written.
    #[must_use]
    pub fn name(&self) -> Option<&Ident> {
        match self.names.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// A sort key: `expr [asc|desc] [nulls first|last]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    /// What to sort by.
    pub expr: Expr,
    /// `desc` (the default for sort/order/top) or `asc`.
    pub descending: bool,
    /// `nulls first` (`Some(true)`) / `nulls last` (`Some(false)`); `None` when unwritten
    /// (Kusto default: nulls last for desc, first for asc).
    pub nulls_first: Option<bool>,
    /// The whole key.
    pub span: Span,
}

/// `project-rename New = Old`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rename {
    /// New name.
    pub new: Ident,
    /// Existing column.
    pub old: Ident,
    /// The whole item.
    pub span: Span,
}

/// A `project-reorder` item: a column or pattern with an optional order for pattern matches.
#[derive(Clone, Debug, PartialEq)]
pub struct ReorderColumn {
    /// A name or [`ExprKind::NamePattern`].
    pub column: Expr,
    /// `asc`/`desc` (and `granny-asc`/`granny-desc`, kept as asc/desc), if written.
    pub descending: Option<bool>,
    /// The whole item.
    pub span: Span,
}

/// A `mv-expand` / `mv-apply` item: `[Name =] expr [to typeof(type)]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpandItem {
    /// Output column name (`Name = expr`).
    pub name: Option<Ident>,
    /// The array or bag to expand.
    pub expr: Expr,
    /// `to typeof(type)`.
    pub to_type: Option<TypeRef>,
    /// The whole item.
    pub span: Span,
}

/// `parse` / `parse-where`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseOp {
    /// `kind=regex|simple|relaxed` (None: the default, simple), `flags=...`.
    pub params: Vec<NamedArg>,
    /// The parsed string expression.
    pub source: Expr,
    /// The pattern after `with`.
    pub pattern: Vec<ParseSegment>,
}

/// A piece of a `parse` pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum ParseSegment {
    /// `*`: skip anything.
    Wildcard(Span),
    /// A string literal to match (a regex fragment for `kind=regex`).
    Literal {
        /// The text (escapes resolved).
        value: String,
        /// Where it is written.
        span: Span,
    },
    /// A column to extract: `Name` or `Name:type`.
    Column {
        /// The new column.
        name: Ident,
        /// Its type, if written (default string).
        ty: Option<TypeRef>,
        /// The whole item.
        span: Span,
    },
}

/// A `make-series` aggregate: `[Name =] agg(...) [default = value]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesAggregate {
    /// The aggregate with its optional name.
    pub assignment: Assignment,
    /// `default = value` (fill for missing bins; 0 when unwritten).
    pub default: Option<Expr>,
    /// The whole item.
    pub span: Span,
}

/// The axis range of `make-series`.
#[derive(Clone, Debug, PartialEq)]
pub enum SeriesRange {
    /// `[from start] [to end] step step`.
    FromTo {
        /// `from`.
        from: Option<Expr>,
        /// `to`.
        to: Option<Expr>,
        /// `step`.
        step: Expr,
    },
    /// `in range(start, stop, step)`.
    InRange {
        /// Start.
        start: Expr,
        /// Stop.
        stop: Expr,
        /// Step.
        step: Expr,
    },
}

/// A `top-nested` level: `top-nested [N] of [Name =] expr [with others = v] by [Name =] agg [asc|desc]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TopNestedLevel {
    /// `N` (None: all values).
    pub count: Option<Expr>,
    /// The grouping expression.
    pub of: Assignment,
    /// `with others = value`.
    pub with_others: Option<Expr>,
    /// The aggregate ranking the groups.
    pub by: Assignment,
    /// `desc` (default) or `asc`.
    pub descending: bool,
    /// The whole level.
    pub span: Span,
}

/// A `fork` branch: `[name =] (operators)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ForkBranch {
    /// `name =`.
    pub name: Option<Ident>,
    /// The sub-pipeline (an [`ExprKind::Pipe`] with no source).
    pub pipeline: Expr,
    /// The whole branch.
    pub span: Span,
}

/// The pipe operators, one variant each, with structured fields.
#[derive(Clone, Debug, PartialEq)]
pub enum OperatorKind {
    /// `where`/`filter predicate`.
    Where {
        /// The predicate.
        predicate: Expr,
    },
    /// `extend [name =] expr, ...`.
    Extend {
        /// New or replaced columns.
        columns: Vec<Assignment>,
    },
    /// `project [name =] expr, ...`.
    Project {
        /// Output columns.
        columns: Vec<Assignment>,
    },
    /// `project-away col, pattern*, ...`.
    ProjectAway {
        /// Names or patterns.
        columns: Vec<Expr>,
    },
    /// `project-keep col, pattern*, ...`.
    ProjectKeep {
        /// Names or patterns.
        columns: Vec<Expr>,
    },
    /// `project-rename new = old, ...`.
    ProjectRename {
        /// The renames.
        renames: Vec<Rename>,
    },
    /// `project-reorder col [asc|desc], ...`.
    ProjectReorder {
        /// The columns in their new order.
        columns: Vec<ReorderColumn>,
    },
    /// `summarize [hints] [name =] agg, ... [by [name =] expr, ...]`.
    Summarize {
        /// `hint.strategy=shuffle`, `hint.shufflekey=...`, `hint.num_partitions=...`.
        params: Vec<NamedArg>,
        /// The aggregates.
        aggregates: Vec<Assignment>,
        /// The grouping keys.
        by: Vec<Assignment>,
    },
    /// `sort by`/`order by key [asc|desc] [nulls first|last], ...`.
    Sort {
        /// Hints, if any.
        params: Vec<NamedArg>,
        /// The keys.
        keys: Vec<SortKey>,
    },
    /// `take n` / `limit n`.
    Take {
        /// Row count.
        count: Expr,
    },
    /// `top n by key [asc|desc] [nulls first|last]`.
    Top {
        /// Row count.
        count: Expr,
        /// Ranking key.
        by: SortKey,
    },
    /// `top-nested ..., top-nested ...`.
    TopNested {
        /// The levels, outermost first.
        levels: Vec<TopNestedLevel>,
    },
    /// `top-hitters n of expr [by summed]`.
    TopHitters {
        /// How many.
        count: Expr,
        /// The value to count.
        of: Expr,
        /// Weight to sum instead of counting.
        by: Option<Expr>,
    },
    /// `count`.
    Count,
    /// `distinct col, ...` or `distinct *`.
    Distinct {
        /// Hints, if any.
        params: Vec<NamedArg>,
        /// Columns or expressions (a single [`ExprKind::Star`] for `*`).
        columns: Vec<Expr>,
    },
    /// `union [kind=inner|outer] [isfuzzy=true] [withsource=Name] T, (pipeline), Pat*`.
    Union {
        /// `kind`, `isfuzzy`, `withsource`/`source`, hints.
        params: Vec<NamedArg>,
        /// The operands: names, patterns, calls, parenthesised pipelines.
        tables: Vec<Expr>,
    },
    /// `join [kind=...] [hint.*=...] right on keys`.
    Join {
        /// `kind=`, written (None: the Kusto default, innerunique).
        kind: Option<Ident>,
        /// `hint.strategy=...`, `hint.remote=...` and other parameters.
        params: Vec<NamedArg>,
        /// The right side: a name or a parenthesised pipeline.
        right: Expr,
        /// Join keys: a name (same column both sides), or `$left.a == $right.b`
        /// (top-level `and` and `,` both separate keys).
        on: Vec<Expr>,
    },
    /// `lookup [kind=leftouter|inner] right on keys`.
    Lookup {
        /// `kind=`, written (None: leftouter).
        kind: Option<Ident>,
        /// Other parameters.
        params: Vec<NamedArg>,
        /// The dimension table.
        right: Expr,
        /// Keys as for join.
        on: Vec<Expr>,
    },
    /// `mv-expand [kind=] [bagexpansion=] [with_itemindex=Name] items [limit n]`.
    MvExpand {
        /// `kind`, `bagexpansion`, `with_itemindex`.
        params: Vec<NamedArg>,
        /// The expanded columns.
        items: Vec<ExpandItem>,
        /// `limit n`.
        limit: Option<Expr>,
    },
    /// `mv-apply [params] items [limit n] on (subquery)`.
    MvApply {
        /// `with_itemindex`, `id`...
        params: Vec<NamedArg>,
        /// The expanded columns.
        items: Vec<ExpandItem>,
        /// `limit n`.
        limit: Option<Expr>,
        /// The sub-pipeline applied to each row's expansion.
        subquery: Box<Expr>,
    },
    /// `parse ...`.
    Parse(ParseOp),
    /// `parse-where ...` (drops rows that do not match).
    ParseWhere(ParseOp),
    /// `parse-kv expr as (col:type, ...) [with (params)]`.
    ParseKv {
        /// The parsed string.
        source: Expr,
        /// The extracted keys.
        columns: Vec<ColumnDecl>,
        /// `pair_delimiter`, `kv_delimiter`, `quote`, `escape`, `greedy`.
        params: Vec<NamedArg>,
    },
    /// `serialize [name = expr, ...]`.
    Serialize {
        /// Columns to add.
        columns: Vec<Assignment>,
    },
    /// `make-series ...`.
    MakeSeries {
        /// Hints.
        params: Vec<NamedArg>,
        /// The aggregates.
        aggregates: Vec<SeriesAggregate>,
        /// The axis column (`on`).
        on: Expr,
        /// The axis range.
        range: SeriesRange,
        /// Grouping keys.
        by: Vec<Assignment>,
    },
    /// `evaluate [hints] plugin(args)`.
    Evaluate {
        /// Hints.
        params: Vec<NamedArg>,
        /// The plugin call.
        plugin: Call,
    },
    /// `render chart [with (prop = value, ...)]`.
    Render {
        /// Chart type (`timechart`, `columnchart`...).
        chart: Ident,
        /// Properties.
        properties: Vec<NamedArg>,
    },
    /// `as [hints] Name`.
    As {
        /// Hints (`hint.materialized=true`).
        params: Vec<NamedArg>,
        /// The name given to the result.
        name: Ident,
    },
    /// `invoke function(args)`.
    Invoke {
        /// The call (input table is its implicit first argument).
        call: Call,
    },
    /// `getschema`.
    GetSchema,
    /// `sample n`.
    Sample {
        /// Row count.
        count: Expr,
    },
    /// `sample-distinct n of expr`.
    SampleDistinct {
        /// Value count.
        count: Expr,
        /// The column.
        of: Expr,
    },
    /// `fork [name=](ops) ...`.
    Fork {
        /// The branches.
        branches: Vec<ForkBranch>,
    },
    /// `facet by col, ... [with (ops)]`.
    Facet {
        /// The columns.
        columns: Vec<Expr>,
        /// The `with` sub-pipeline.
        with: Option<Box<Expr>>,
    },
    /// `consume [params]`.
    Consume {
        /// Parameters.
        params: Vec<NamedArg>,
    },
    /// `reduce [kind=source] by expr [with params]`.
    Reduce {
        /// Operator parameters before `by`.
        params: Vec<NamedArg>,
        /// The string column to cluster.
        by: Expr,
        /// `with threshold=..., characters=...`.
        with: Vec<NamedArg>,
    },
    /// `print [name =] expr, ...` (pipeline source).
    Print {
        /// The columns of the single row.
        columns: Vec<Assignment>,
    },
    /// `range col from a to b step c` (pipeline source).
    Range {
        /// The column.
        column: Ident,
        /// Start.
        from: Expr,
        /// Stop (inclusive).
        to: Expr,
        /// Step.
        step: Expr,
    },
    /// `datatable(col:type, ...)[values...]` (pipeline source); `values` row-major.
    Datatable {
        /// Hints/parameters before the schema.
        params: Vec<NamedArg>,
        /// The schema.
        columns: Vec<ColumnDecl>,
        /// Values, row after row.
        values: Vec<Expr>,
    },
    /// `externaldata(col:type, ...)[uris] [with (props)]` (pipeline source).
    ExternalData {
        /// The schema.
        columns: Vec<ColumnDecl>,
        /// Storage URIs.
        uris: Vec<Expr>,
        /// `format`, `ignoreFirstRecord`...
        properties: Vec<NamedArg>,
    },
    /// `search [kind=...] [in (tables)] predicate`.
    Search {
        /// `kind=case_sensitive`...
        params: Vec<NamedArg>,
        /// `in (...)` tables.
        tables: Vec<Expr>,
        /// The predicate (a bare string searches every column).
        predicate: Expr,
    },
    /// `find [params] [in (tables)] where predicate [project-smart | project cols]`.
    Find {
        /// `withsource=...`...
        params: Vec<NamedArg>,
        /// `in (...)` tables.
        tables: Vec<Expr>,
        /// The predicate.
        predicate: Expr,
        /// `project cols` (None: project-smart).
        project: Option<Vec<Expr>>,
    },
}
