//! Log source and field mappings: where a rule's events live in spoor's tables, and what its
//! field names are called there. Kept as data (`mappings/logsources.yml`, and the files a user
//! adds with `--sigma-mapping`), read here.

use std::collections::HashMap;

use rsigma_parser::LogSource;
use serde::Deserialize;

/// The mapping spoor carries.
const BUILT_IN: &str = include_str!("../mappings/logsources.yml");

/// A mapping file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    logsources: Vec<LogsourceEntry>,
    #[serde(default)]
    tables: HashMap<String, TableFields>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct LogsourceEntry {
    logsource: LogsourceKeys,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct LogsourceKeys {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
}

/// One table a log source's events live in.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The table (a catalog name).
    pub table: String,
    /// Column → the values it must hold (any of them) for an event of this log source.
    #[serde(default, rename = "where")]
    pub conditions: ordered::OrderedMap,
    /// Sigma field name → column name, for this log source only.
    #[serde(default)]
    pub fields: HashMap<String, String>,
    /// A text column of `key=value` pairs (FortiGate's syslog messages, sudo's `USER=...`):
    /// fields no column has are read from it.
    #[serde(default)]
    pub pairs: Option<String>,
    /// Sigma fields these events do not carry in a form spoor can read (a rule naming one does
    /// not run on this target, though the table's dynamic column would take any name).
    #[serde(default)]
    pub absent: Vec<String>,
    /// Used only when none of the targets before it can run the rule (the same events, read
    /// from a table that has more of their fields).
    #[serde(default)]
    pub fallback: bool,
}

impl Target {
    /// The name a Sigma field has in this target's table: the log source's own mapping, then
    /// the table's, else the field's own name (keys compared exactly, then ignoring ASCII case).
    pub fn column_name(&self, table: Option<&TableFields>, name: &str) -> String {
        let lookup = |map: &HashMap<String, String>| -> Option<String> {
            map.get(name).cloned().or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            })
        };
        lookup(&self.fields)
            .or_else(|| table.and_then(|t| lookup(&t.fields)))
            .unwrap_or_else(|| name.to_string())
    }
}

/// A part of a column a mapped name may stand for: `url_extension(RequestURL)` is the
/// extension of the URL's path (Sigma's `c-uri-extension`); also `url_path` and `url_query`.
pub fn url_part(mapped: &str) -> Option<(&'static str, &str)> {
    let (function, rest) = mapped.split_once('(')?;
    let column = rest.strip_suffix(')')?;
    let part = match function {
        "url_path" => "path",
        "url_query" => "query",
        "url_extension" => "extension",
        _ => return None,
    };
    Some((part, column))
}

/// Sigma's names for a table's columns.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TableFields {
    /// Sigma field name → column name.
    #[serde(default)]
    pub fields: HashMap<String, String>,
    /// A dynamic (JSON) column that holds the fields no column has (Windows EventData).
    #[serde(default)]
    pub dynamic: Option<String>,
    /// Whether a dotted field name is a path into `dynamic` (`actor.alternateId` in a JSON
    /// event) rather than one key (EventData names have no dots).
    #[serde(default)]
    pub nested: bool,
    /// The columns a keyword (a value without a field) is searched in; every text column when
    /// not given.
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
}

/// A `where` map that keeps its order (so that plans and their text are stable).
mod ordered {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

    /// Column → values, in file order.
    #[derive(Debug, Clone, Default)]
    pub struct OrderedMap(pub Vec<(String, Vec<yaml_serde::Value>)>);

    impl<'de> Deserialize<'de> for OrderedMap {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OrderedMap;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of column to a list of values")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedMap, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = m.next_entry::<String, Vec<yaml_serde::Value>>()? {
                        out.push((k, v));
                    }
                    Ok(OrderedMap(out))
                }
            }
            d.deserialize_map(V)
        }
    }
}

/// Every mapping in force: the user's files first, then spoor's.
#[derive(Debug, Default)]
pub struct Mappings {
    logsources: Vec<LogsourceEntry>,
    tables: HashMap<String, TableFields>,
}

impl Mappings {
    /// spoor's own mapping.
    pub fn built_in() -> Mappings {
        let mut m = Mappings::default();
        m.add("the built-in mapping", BUILT_IN)
            .expect("the built-in mapping is valid (tested)");
        m
    }

    /// Adds a mapping file's entries, ahead of those already there (a user's file overrides
    /// spoor's). `origin` names the file in errors.
    pub fn add(&mut self, origin: &str, text: &str) -> Result<(), String> {
        let file: MappingFile = yaml_serde::from_str(text)
            .map_err(|e| format!("{origin}: not a Sigma mapping file: {e}"))?;
        let mut logsources = file.logsources;
        logsources.append(&mut self.logsources);
        self.logsources = logsources;
        for (table, fields) in file.tables {
            let entry = self.tables.entry(table).or_default();
            let mut merged = fields.fields;
            for (k, v) in std::mem::take(&mut entry.fields) {
                merged.entry(k).or_insert(v);
            }
            entry.fields = merged;
            if fields.dynamic.is_some() {
                entry.dynamic = fields.dynamic;
                entry.nested = fields.nested;
            }
            if fields.keywords.is_some() {
                entry.keywords = fields.keywords;
            }
        }
        Ok(())
    }

    /// The targets of a rule's log source: those of the matching entry that names the most keys
    /// (the first of them on a tie). `None` when no entry matches.
    pub fn targets(&self, ls: &LogSource) -> Option<&[Target]> {
        let same = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        self.logsources
            .iter()
            .filter(|e| {
                same(&e.logsource.product, &ls.product)
                    && same(&e.logsource.category, &ls.category)
                    && same(&e.logsource.service, &ls.service)
            })
            .map(|e| {
                let keys = [
                    &e.logsource.product,
                    &e.logsource.category,
                    &e.logsource.service,
                ]
                .iter()
                .filter(|k| k.is_some())
                .count();
                (keys, e)
            })
            // max_by_key keeps the last maximum: reverse so that the first entry wins a tie.
            .rev()
            .max_by_key(|(keys, _)| *keys)
            .map(|(_, e)| e.targets.as_slice())
    }

    /// A part of a column a mapped name may stand for: `url_extension(RequestURL)` is the
    /// extension of the URL's path (Sigma's `c-uri-extension`); also `url_path` and `url_query`.
    pub fn url_part(mapped: &str) -> Option<(&'static str, &str)> {
        let (function, rest) = mapped.split_once('(')?;
        let column = rest.strip_suffix(')')?;
        let part = match function {
            "url_path" => "path",
            "url_query" => "query",
            "url_extension" => "extension",
            _ => return None,
        };
        Some((part, column))
    }

    /// Sigma's names for a table's columns.
    pub fn table(&self, name: &str) -> Option<&TableFields> {
        self.tables.get(name)
    }
}

/// A log source as rules write it: `product/category/service`, absent keys left out.
pub fn describe(ls: &LogSource) -> String {
    let parts: Vec<String> = [
        ("product", &ls.product),
        ("category", &ls.category),
        ("service", &ls.service),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
    .collect();
    if parts.is_empty() {
        "an empty logsource".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            product: product.map(str::to_string),
            category: category.map(str::to_string),
            service: service.map(str::to_string),
            ..LogSource::default()
        }
    }

    #[test]
    fn the_built_in_mapping_names_catalog_tables_and_columns() {
        let m = Mappings::built_in();
        let catalog = spoor_catalog::catalog();
        for e in &m.logsources {
            for t in &e.targets {
                let def = catalog
                    .table(&t.table)
                    .unwrap_or_else(|| panic!("{} is not a catalog table", t.table));
                for (column, _) in &t.conditions.0 {
                    assert!(def.index_of(column).is_some(), "{}.{column}", t.table);
                }
                for column in t.fields.values() {
                    // A name the table has no column for must be a field of its dynamic bag
                    // or of its key=value text.
                    let bag = m.table(&t.table).and_then(|f| f.dynamic.as_ref());
                    assert!(
                        reads_a_column(def, column) || bag.is_some() || t.pairs.is_some(),
                        "{}.{column}",
                        t.table
                    );
                }
                if let Some(pairs) = &t.pairs {
                    assert!(def.index_of(pairs).is_some(), "{}.{pairs}", t.table);
                }
            }
        }
        for (table, f) in &m.tables {
            let def = catalog.table(table).unwrap_or_else(|| panic!("{table}"));
            for column in f.fields.values() {
                assert!(reads_a_column(def, column), "{table}.{column}");
            }
            for column in f.dynamic.iter().chain(f.keywords.iter().flatten()) {
                assert!(def.index_of(column).is_some(), "{table}.{column}");
            }
        }
    }

    /// A column, part of a URL column (`url_path(uri)`), or a path into a dynamic column
    /// (`objectRef.apiGroup`).
    fn reads_a_column(def: &spoor_catalog::TableDef, mapped: &str) -> bool {
        if def.index_of(mapped).is_some() {
            return true;
        }
        if let Some((_, column)) = url_part(mapped) {
            return def.index_of(column).is_some();
        }
        mapped.split_once('.').is_some_and(|(head, _)| {
            def.column(head)
                .is_some_and(|c| c.ty == spoor_catalog::KqlType::Dynamic)
        })
    }

    #[test]
    fn the_most_specific_entry_wins_and_case_is_ignored() {
        let m = Mappings::built_in();
        let t = m
            .targets(&ls(Some("Windows"), Some("process_creation"), None))
            .unwrap();
        assert_eq!(t[0].table, "Sysmon");
        assert_eq!(t[1].table, "SecurityEvent");
        let t = m
            .targets(&ls(Some("windows"), None, Some("system")))
            .unwrap();
        assert_eq!(t[0].conditions.0[0].0, "Channel");
        let t = m
            .targets(&ls(Some("windows"), None, Some("unknown-channel")))
            .unwrap();
        assert_eq!(
            (t[0].table.as_str(), t[0].conditions.0.len()),
            ("WindowsEvent", 0)
        );
        assert!(
            m.targets(&ls(Some("acme_vpn"), None, Some("audit")))
                .is_none()
        );
    }

    #[test]
    fn a_user_mapping_comes_first() {
        let mut m = Mappings::built_in();
        m.add(
            "mine.yml",
            "logsources:\n  - logsource: {product: okta}\n    targets: [{table: Syslog}]\ntables:\n  Syslog:\n    fields: {msg: SyslogMessage}\n",
        )
        .unwrap();
        assert_eq!(
            m.targets(&ls(Some("okta"), None, None)).unwrap()[0].table,
            "Syslog"
        );
        let f = m.table("Syslog").unwrap();
        assert_eq!(f.fields["msg"], "SyslogMessage");
        assert_eq!(f.fields["message"], "SyslogMessage");
        assert!(
            m.add("bad.yml", "logsources: [{nope: 1}]")
                .unwrap_err()
                .starts_with("bad.yml")
        );
    }
}
