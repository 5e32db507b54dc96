//! Names as Athena resolves them, before DataFusion plans the query:
//! - a table or column written in another case than the catalog's is the catalog's
//!   (`eventname` is `eventName`; Athena ignores case, and spoor's catalog keeps the case of
//!   each source's documented schema);
//! - `column.key.key` on a JSON (dynamic) column reads the value at that path as text, as
//!   Athena's struct fields read (`useridentity.sessioncontext.sessionissuer.username`);
//! - an unknown table is an error at its name, with the closest catalog table;
//! - Trino's `json_parse`, `json_extract_scalar(json, '$.path')`,
//!   `regexp_extract(text, regex, group)` and `from_iso8601_timestamp` are spoor's functions of
//!   the same meaning ([`TRINO_FUNCTIONS`]).
//!
//! Names the query itself defines (CTEs, table and column aliases) are never rewritten.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser;
use spoor_catalog::{KqlType, TableDef, catalog};
use spoor_core::{Diagnostic, did_you_mean};
use sqlparser::ast::{
    Expr, Ident, ObjectNamePart, Query, Select, SelectItem, SetExpr, Statement, TableFactor, Visit,
    VisitMut, Visitor, VisitorMut,
};

use crate::dialect::span_of;

/// Rewrites `statement`'s table and column names to the catalog's (see the module docs).
pub fn resolve(statement: &mut Statement, text: &str) -> Result<(), Diagnostic> {
    let mut local = LocalNames::default();
    let _ = Visit::visit(&*statement, &mut local);
    let mut tables = TableResolver {
        local: &local,
        text,
        tables: Vec::new(),
        error: None,
    };
    let _ = VisitMut::visit(statement, &mut tables);
    if let Some(e) = tables.error {
        return Err(e);
    }
    let columns = Columns::of(&tables.tables);
    let mut rewriter = ColumnResolver {
        local: &local,
        columns: &columns,
        error: None,
    };
    let _ = VisitMut::visit(statement, &mut rewriter);
    match rewriter.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Names the query defines: CTEs (lower-cased), and table and column aliases (lower-cased, to
/// the spelling that defined them).
#[derive(Default)]
struct LocalNames {
    ctes: BTreeSet<String>,
    aliases: BTreeMap<String, String>,
}

impl LocalNames {
    fn is_cte(&self, name: &str) -> bool {
        self.ctes.contains(&name.to_lowercase())
    }

    fn defines(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        self.ctes.contains(&lower) || self.aliases.contains_key(&lower)
    }

    /// The alias `name` refers to ignoring case, as it was spelled where it was defined.
    fn alias(&self, name: &str) -> Option<&String> {
        self.aliases.get(&name.to_lowercase())
    }

    fn add_alias(&mut self, alias: &Ident) {
        self.aliases
            .entry(alias.value.to_lowercase())
            .or_insert_with(|| alias.value.clone());
    }
}

impl Visitor for LocalNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
                for c in &cte.alias.columns {
                    self.add_alias(&c.name);
                }
            }
        }
        collect_select_aliases(&query.body, self);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let alias = match factor {
            TableFactor::Table { alias, .. }
            | TableFactor::Derived { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::Function { alias, .. } => alias.as_ref(),
            _ => None,
        };
        if let Some(a) = alias {
            self.add_alias(&a.name);
            for c in &a.columns {
                self.add_alias(&c.name);
            }
        }
        ControlFlow::Continue(())
    }
}

fn collect_select_aliases(body: &SetExpr, out: &mut LocalNames) {
    match body {
        SetExpr::Select(select) => collect_projection_aliases(select, out),
        SetExpr::SetOperation { left, right, .. } => {
            collect_select_aliases(left, out);
            collect_select_aliases(right, out);
        }
        SetExpr::Query(q) => collect_select_aliases(&q.body, out),
        _ => {}
    }
}

fn collect_projection_aliases(select: &Select, out: &mut LocalNames) {
    for item in &select.projection {
        if let SelectItem::ExprWithAlias { alias, .. } = item {
            out.add_alias(alias);
        }
    }
}

/// Matches table names to the catalog's and records the tables the query reads.
struct TableResolver<'a> {
    local: &'a LocalNames,
    text: &'a str,
    tables: Vec<&'static TableDef>,
    error: Option<Diagnostic>,
}

impl VisitorMut for TableResolver<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name, args: None, ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        // The table is the last part; a database or schema before it is ignored.
        let parts = name.0.len();
        let Some(ObjectNamePart::Identifier(ident)) = name.0.last_mut() else {
            return ControlFlow::Continue(());
        };
        if parts == 1 && self.local.is_cte(&ident.value) {
            return ControlFlow::Continue(());
        }
        let found = catalog()
            .table(&ident.value)
            .or_else(|| catalog().table_ignore_case(&ident.value));
        match found {
            Some(def) => {
                ident.value = def.name.clone();
                self.tables.push(def);
                // Drop the qualifier: DataFusion would look for that database.
                name.0.drain(..parts - 1);
                ControlFlow::Continue(())
            }
            None => {
                let mut d = Diagnostic::new(
                    format!("unknown table `{}`", ident.value),
                    span_of(ident.span, self.text),
                );
                let names = catalog().all_tables();
                d = match did_you_mean(&ident.value, names.iter().map(|t| t.name.as_str())) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint(
                        "`spoor tables` lists the tables the evidence fills; Athena's names \
                         `vpc_flow_logs` and `cloudtrail` are there too",
                    ),
                };
                self.error = Some(d);
                ControlFlow::Break(())
            }
        }
    }
}

/// The columns of the tables a query reads: exact names, and lower-cased names to the exact
/// ones (with whether the column is dynamic).
struct Columns {
    exact: BTreeSet<String>,
    by_lower: BTreeMap<String, BTreeSet<(String, bool)>>,
    table_names: BTreeSet<String>,
}

impl Columns {
    fn of(tables: &[&TableDef]) -> Columns {
        let mut exact = BTreeSet::new();
        let mut by_lower: BTreeMap<String, BTreeSet<(String, bool)>> = BTreeMap::new();
        for t in tables {
            for c in &t.columns {
                exact.insert(c.name.clone());
                by_lower
                    .entry(c.name.to_lowercase())
                    .or_default()
                    .insert((c.name.clone(), c.ty == KqlType::Dynamic));
            }
        }
        Columns {
            exact,
            by_lower,
            table_names: tables.iter().map(|t| t.name.to_lowercase()).collect(),
        }
    }

    /// The catalog's name for `name` and whether it is dynamic: the exact name, or the one
    /// column that matches ignoring case.
    fn resolve(&self, name: &str) -> Option<(String, bool)> {
        let matches = self.by_lower.get(&name.to_lowercase())?;
        if self.exact.contains(name) {
            return matches.iter().find(|(n, _)| n == name).cloned();
        }
        match matches.len() {
            1 => matches.first().cloned(),
            _ => None,
        }
    }
}

/// Rewrites column references to the catalog's names and JSON paths to value reads.
struct ColumnResolver<'a> {
    local: &'a LocalNames,
    columns: &'a Columns,
    error: Option<Diagnostic>,
}

impl VisitorMut for ColumnResolver<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) => {
                // A name spelled as an alias is the alias; otherwise a table's column comes
                // before an alias that matches only ignoring case (Trino resolves names in
                // WHERE and SELECT against the FROM tables, and a subquery's column must not
                // become an outer query's alias).
                match self.local.alias(&ident.value) {
                    Some(alias) if *alias == ident.value => {}
                    alias => {
                        if let Some((name, _)) = self.columns.resolve(&ident.value) {
                            ident.value = name;
                        } else if let Some(alias) = alias {
                            ident.value.clone_from(alias);
                        }
                    }
                }
            }
            Expr::CompoundIdentifier(parts) => {
                // `t.col...` when the first part names a table or alias, else `col...`.
                let first = &parts[0].value;
                let qualified = parts.len() > 1
                    && (self.local.defines(first)
                        || self.columns.table_names.contains(&first.to_lowercase()))
                    && self.columns.resolve(first).is_none();
                let at = usize::from(qualified);
                let Some((name, dynamic)) = self.columns.resolve(&parts[at].value) else {
                    return ControlFlow::Continue(());
                };
                // `l."EventName"` spelled as a subquery's alias is that alias, not a table's
                // `eventName` (as for a bare name above).
                if name != parts[at].value
                    && self.local.alias(&parts[at].value) == Some(&parts[at].value)
                {
                    return ControlFlow::Continue(());
                }
                parts[at].value = name;
                if dynamic && parts.len() > at + 1 {
                    match json_path_read(&parts[..=at], &parts[at + 1..]) {
                        Ok(read) => *expr = read,
                        Err(e) => {
                            self.error = Some(e);
                            return ControlFlow::Break(());
                        }
                    }
                }
            }
            Expr::Function(f) => {
                let name = f.name.to_string();
                if let Some((_, spoor, order)) = TRINO_FUNCTIONS
                    .iter()
                    .find(|(trino, _, _)| trino.eq_ignore_ascii_case(&name))
                    && let sqlparser::ast::FunctionArguments::List(list) = &mut f.args
                    && list.args.len() == order.len()
                {
                    list.args = order.iter().map(|&i| list.args[i].clone()).collect();
                    f.name = sqlparser::ast::ObjectName::from(vec![Ident::new(*spoor)]);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Trino's functions that Athena queries use, as spoor's functions of the same meaning: the
/// Trino name, spoor's, and which of Trino's arguments each of spoor's is.
const TRINO_FUNCTIONS: &[(&str, &str, &[usize])] = &[
    // json_extract_scalar(json, '$.path') is kql_extract_json('$.path', json).
    ("json_extract_scalar", "kql_extract_json", &[1, 0]),
    // json_parse(text): JSON, which spoor keeps as text.
    ("json_parse", "kql_parse_json", &[0]),
    // regexp_extract(text, regex, group) is kql_extract(regex, group, text); null where
    // nothing matches, in both.
    ("regexp_extract", "kql_extract", &[1, 2, 0]),
    ("from_iso8601_timestamp", "to_timestamp", &[0]),
];

/// `kql_json_text_ignore_case(column, 'key', ...)`: the text at `path` in a JSON column, keys
/// matched ignoring case as Athena does.
fn json_path_read(column: &[Ident], path: &[Ident]) -> Result<Expr, Diagnostic> {
    let quote_ident = |i: &Ident| format!("\"{}\"", i.value.replace('"', "\"\""));
    let quote_key = |i: &Ident| format!("'{}'", i.value.replace('\'', "''"));
    let text = format!(
        "kql_json_text_ignore_case({}, {})",
        column.iter().map(quote_ident).collect::<Vec<_>>().join("."),
        path.iter().map(quote_key).collect::<Vec<_>>().join(", ")
    );
    sqlparser::parser::Parser::new(&sqlparser::dialect::GenericDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| {
            Diagnostic::new(
                format!("cannot read the path {text}: {e}"),
                spoor_core::Span::empty(0),
            )
        })
}
