//! A row-at-a-time Sigma evaluator: the reference that tests and the benchmark hold compiled
//! plans against. It walks the rule's parsed detection for one event at a time, matching text
//! with hand-written wildcard matching as the specification describes it, with none of the
//! compiler's machinery (no LIKE patterns, no SQL null logic). Only the rewriting of values
//! (expand, windash, base64...) and the mapping of fields are shared, as they are data, not
//! matching.

use std::collections::HashMap;

use datafusion::arrow::array::Array;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaRule,
    SigmaString, SigmaValue, SpecialChar, StringPart,
};

use crate::compile::{Kind, Mods, Placeholders, glob_match, rewrite_values};
use crate::mapping::{TableFields, Target};

/// One event: its columns as text (null when absent), and the fields of its dynamic bag.
#[derive(Debug, Default)]
pub struct Event {
    columns: HashMap<String, Option<String>>,
    /// Lower-cased column name → column name.
    folded: HashMap<String, String>,
    raw_json: HashMap<String, serde_json::Value>,
}

impl Event {
    /// Row `row` of a batch, every column as text.
    pub fn from_batch(batch: &RecordBatch, row: usize) -> Event {
        let mut e = Event::default();
        for (i, field) in batch.schema().fields().iter().enumerate() {
            let col = batch.column(i);
            let value = if col.is_null(row) {
                None
            } else {
                array_value_to_string(col, row).ok()
            };
            e.folded
                .insert(field.name().to_lowercase(), field.name().clone());
            e.columns.insert(field.name().clone(), value);
        }
        e
    }

    fn column(&self, name: &str) -> Option<Option<&str>> {
        let key = match self.columns.contains_key(name) {
            true => name.to_string(),
            false => self.folded.get(&name.to_lowercase())?.clone(),
        };
        Some(self.columns.get(&key)?.as_deref())
    }

    fn json(&mut self, column: &str) -> Option<&serde_json::Value> {
        if !self.raw_json.contains_key(column) {
            let text = self.column(column).flatten()?;
            let v: serde_json::Value = serde_json::from_str(text).ok()?;
            self.raw_json.insert(column.to_string(), v);
        }
        self.raw_json.get(column)
    }
}

/// A field's value: absent, or text.
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The value at a path of keys (a number indexes an array), as the engine's JSON functions
/// walk it.
fn path<'v, 'p>(
    mut v: &'v serde_json::Value,
    steps: impl Iterator<Item = &'p str>,
) -> Option<&'v serde_json::Value> {
    for step in steps {
        v = match v {
            serde_json::Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
            other => other.get(step)?,
        };
    }
    Some(v)
}

/// Evaluates rules against one table's events.
pub struct Reference<'a> {
    pub def: &'a spoor_catalog::TableDef,
    pub target: &'a Target,
    pub table: Option<&'a TableFields>,
    pub placeholders: &'a Placeholders,
}

impl Reference<'_> {
    /// Whether the event belongs to the target's log source and the rule matches it.
    pub fn matches(&self, rule: &SigmaRule, event: &mut Event) -> Result<bool, String> {
        for (column, values) in &self.target.conditions.0 {
            let Some(text) = event.column(column).flatten().map(str::to_string) else {
                return Ok(false);
            };
            let any = values.iter().any(|v| {
                let want = match v {
                    yaml_serde::Value::String(s) => s.clone(),
                    yaml_serde::Value::Number(n) => n.to_string(),
                    other => yaml_serde::to_string(other).unwrap_or_default(),
                };
                text.eq_ignore_ascii_case(want.trim())
            });
            if !any {
                return Ok(false);
            }
        }
        let named = &rule.detection.named;
        for c in &rule.detection.conditions {
            if self.condition(c, named, event)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn condition(
        &self,
        c: &ConditionExpr,
        named: &HashMap<String, Detection>,
        e: &mut Event,
    ) -> Result<bool, String> {
        Ok(match c {
            ConditionExpr::And(parts) => {
                for p in parts {
                    if !self.condition(p, named, e)? {
                        return Ok(false);
                    }
                }
                true
            }
            ConditionExpr::Or(parts) => {
                for p in parts {
                    if self.condition(p, named, e)? {
                        return Ok(true);
                    }
                }
                false
            }
            ConditionExpr::Not(inner) => !self.condition(inner, named, e)?,
            ConditionExpr::Identifier(id) => {
                let d = named.get(id).ok_or_else(|| format!("undefined `{id}`"))?;
                self.detection(d, e)?
            }
            ConditionExpr::Selector {
                quantifier,
                pattern,
            } => {
                let names: Vec<&String> = match pattern {
                    SelectorPattern::Them => named.keys().filter(|n| !n.starts_with('_')).collect(),
                    SelectorPattern::Pattern(p) => {
                        named.keys().filter(|n| glob_match(p, n)).collect()
                    }
                };
                let mut count = 0u64;
                for n in &names {
                    if self.detection(&named[*n], e)? {
                        count += 1;
                    }
                }
                match quantifier {
                    Quantifier::Any => count >= 1,
                    Quantifier::All => count == names.len() as u64,
                    Quantifier::Count(n) => count >= *n,
                }
            }
        })
    }

    fn detection(&self, d: &Detection, e: &mut Event) -> Result<bool, String> {
        match d {
            Detection::AllOf(items) => {
                for item in items {
                    if !self.item(item, e)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Detection::AnyOf(ds) => {
                for d in ds {
                    if self.detection(d, e)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Detection::Keywords(values) => self.item(
                &DetectionItem {
                    field: rsigma_parser::FieldSpec::new(None, vec![]),
                    values: values.clone(),
                },
                e,
            ),
            Detection::And(ds) => {
                for d in ds {
                    if !self.detection(d, e)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            _ => Err("array matching is not supported".into()),
        }
    }

    /// The value of a Sigma field in the event: `None` when the event does not have it.
    fn field(&self, name: &str, e: &mut Event) -> Option<String> {
        let mapped = self.target.column_name(self.table, name);
        if let Some(v) = e
            .column(&mapped)
            .or_else(|| e.column(&mapped.replace('.', "_")))
        {
            return v.map(str::to_string);
        }
        if let Some((part, name)) = crate::mapping::url_part(&mapped) {
            let url = e.column(name)??;
            return spoor_functions::text_fields::url_part(url, part).map(str::to_string);
        }
        if let Some((head, rest)) = mapped.split_once('.')
            && e.column(head).is_some()
        {
            return text_of(path(e.json(head)?, rest.split('.'))?);
        }
        if let Some(pairs) = &self.target.pairs {
            let text = e.column(pairs)??;
            return spoor_functions::text_fields::kv_value(text, &mapped).map(str::to_string);
        }
        let table = self.table?;
        let bag = e.json(table.dynamic.as_deref()?)?;
        if table.nested {
            text_of(path(bag, mapped.split('.'))?)
        } else {
            text_of(bag.get(&mapped)?)
        }
    }

    fn item(&self, item: &DetectionItem, e: &mut Event) -> Result<bool, String> {
        let mut mods = Mods::of(&item.field.modifiers).map_err(|e| e.to_string())?;
        if mods.exists.is_some() {
            let want = matches!(item.values.as_slice(), [SigmaValue::Bool(true)])
                || matches!(item.values.as_slice(), [SigmaValue::String(s)] if s.original.eq_ignore_ascii_case("true"));
            mods.exists = Some(want);
        }
        let values =
            rewrite_values(&item.values, &mods, self.placeholders).map_err(|e| e.to_string())?;
        let Some(name) = &item.field.name else {
            // Keywords: any text column holds the value.
            if mods.kind == Kind::Exact {
                mods.kind = Kind::Contains;
            }
            // The columns the compiler searches: the mapping's keyword columns, else every
            // text column.
            let names: Vec<String> = match self.table.and_then(|t| t.keywords.clone()) {
                Some(k) => k,
                None => self
                    .def
                    .columns
                    .iter()
                    .filter(|c| c.ty == spoor_catalog::KqlType::String)
                    .map(|c| c.name.clone())
                    .collect(),
            };
            let texts: Vec<String> = names
                .iter()
                .filter_map(|n| e.column(n).flatten().map(str::to_string))
                .collect();
            let hit = |v: &SigmaValue| texts.iter().any(|t| value_matches(t, v, &mods));
            return Ok(if mods.all {
                values.iter().all(hit)
            } else {
                values.iter().any(hit)
            });
        };
        let actual = self.field(name, e);
        if let Some(want) = mods.exists {
            return Ok(actual.is_some() == want);
        }
        let Some(actual) = actual else {
            // An absent field matches only `null`.
            return Ok(values.iter().any(|v| matches!(v, SigmaValue::Null)));
        };
        let mut results = Vec::with_capacity(values.len());
        for v in &values {
            let r = if mods.fieldref {
                let SigmaValue::String(s) = v else {
                    return Err("fieldref needs a field name".into());
                };
                match self.field(&s.original, e) {
                    Some(other) => {
                        let (a, b) = if mods.cased {
                            (actual.clone(), other)
                        } else {
                            (actual.to_lowercase(), other.to_lowercase())
                        };
                        match mods.kind {
                            Kind::Exact => a == b,
                            Kind::Contains => a.contains(&b),
                            Kind::StartsWith => a.starts_with(&b),
                            Kind::EndsWith => a.ends_with(&b),
                        }
                    }
                    None => false,
                }
            } else {
                value_matches(&actual, v, &mods)
            };
            results.push(r != mods.neq);
        }
        Ok(if mods.all {
            results.iter().all(|r| *r)
        } else {
            results.iter().any(|r| *r)
        })
    }
}

/// Whether text matches one value under the modifiers.
fn value_matches(actual: &str, v: &SigmaValue, mods: &Mods) -> bool {
    if let Some(op) = mods.compare {
        let want = match v {
            SigmaValue::Integer(i) => *i as f64,
            SigmaValue::Float(f) => *f,
            SigmaValue::String(s) => match s.original.trim().parse() {
                Ok(n) => n,
                Err(_) => return false,
            },
            _ => return false,
        };
        let Ok(x) = actual.trim().parse::<f64>() else {
            return false;
        };
        return match op {
            Modifier::Lt => x < want,
            Modifier::Lte => x <= want,
            Modifier::Gt => x > want,
            _ => x >= want,
        };
    }
    match v {
        SigmaValue::Null => false,
        SigmaValue::Integer(i) => {
            actual.trim().parse::<i64>().ok() == Some(*i)
                || text_match(actual, &i.to_string(), mods)
        }
        SigmaValue::Float(f) => actual.trim().parse::<f64>().ok() == Some(*f),
        SigmaValue::Bool(b) => actual.eq_ignore_ascii_case(&b.to_string()),
        SigmaValue::String(s) => {
            if mods.re {
                return regex::Regex::new(&mods.regex(&s.original))
                    .is_ok_and(|re| re.is_match(actual));
            }
            if mods.cidr {
                return cidr_contains(s.original.trim(), actual.trim());
            }
            pattern_match(actual, s, mods)
        }
    }
}

fn text_match(actual: &str, plain: &str, mods: &Mods) -> bool {
    pattern_match(actual, &SigmaString::from_raw(plain), mods)
}

/// Sigma's string matching: the value's wildcards, contains/startswith/endswith as wildcards
/// around it, case folded unless `cased`.
fn pattern_match(actual: &str, s: &SigmaString, mods: &Mods) -> bool {
    let mut parts: Vec<StringPart> = Vec::new();
    if matches!(mods.kind, Kind::Contains | Kind::EndsWith) {
        parts.push(StringPart::Special(SpecialChar::WildcardMulti));
    }
    parts.extend(s.parts.iter().cloned());
    if matches!(mods.kind, Kind::Contains | Kind::StartsWith) {
        parts.push(StringPart::Special(SpecialChar::WildcardMulti));
    }
    // One token per character: a literal, `*` or `?`.
    let fold = |t: &str| -> Vec<char> {
        if mods.cased {
            t.chars().collect()
        } else {
            t.to_lowercase().chars().collect()
        }
    };
    enum Tok {
        Lit(char),
        Any,
        One,
    }
    let mut toks = Vec::new();
    for p in &parts {
        match p {
            StringPart::Plain(t) => toks.extend(fold(t).into_iter().map(Tok::Lit)),
            StringPart::Special(SpecialChar::WildcardMulti) => toks.push(Tok::Any),
            StringPart::Special(SpecialChar::WildcardSingle) => toks.push(Tok::One),
        }
    }
    let text = fold(actual);
    // Classic wildcard matching with backtracking to the last `*`.
    let (mut t, mut p) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Lit(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Any) => {
                star = Some(p);
                mark = t;
                p += 1;
            }
            _ => match star {
                Some(s) => {
                    p = s + 1;
                    mark += 1;
                    t = mark;
                }
                None => return false,
            },
        }
    }
    while matches!(toks.get(p), Some(Tok::Any)) {
        p += 1;
    }
    p == toks.len()
}

fn cidr_contains(net: &str, ip: &str) -> bool {
    use std::net::IpAddr;
    let (addr, bits) = match net.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (net, None),
    };
    match (addr.parse::<IpAddr>(), ip.parse::<IpAddr>()) {
        (Ok(IpAddr::V4(n)), Ok(IpAddr::V4(x))) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(x) & mask
        }
        (Ok(IpAddr::V6(n)), Ok(IpAddr::V6(x))) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(x) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mods(m: &[Modifier]) -> Mods {
        Mods::of(m).unwrap()
    }

    #[test]
    fn wildcards_case_and_escapes() {
        let m = mods(&[]);
        assert!(pattern_match(
            "C:\\Windows\\cmd.exe",
            // `\\*` is a backslash then a wildcard; `\*` alone would be a literal star.
            &SigmaString::new("c:\\windows\\\\*.EXE"),
            &m
        ));
        assert!(pattern_match("abc", &SigmaString::new("a?c"), &m));
        assert!(!pattern_match("abbc", &SigmaString::new("a?c"), &m));
        assert!(!pattern_match("a*c", &SigmaString::new("a\\*d"), &m));
        assert!(pattern_match("a*c", &SigmaString::new("a\\*c"), &m));
        assert!(pattern_match("x", &SigmaString::new("*"), &m));
        assert!(!pattern_match(
            "ABC",
            &SigmaString::new("abc"),
            &mods(&[Modifier::Cased])
        ));
        assert!(pattern_match(
            "xxabcxx",
            &SigmaString::new("abc"),
            &mods(&[Modifier::Contains])
        ));
        assert!(pattern_match("ab*cd", &SigmaString::new("*b\\*c*"), &m));
    }

    #[test]
    fn cidr() {
        assert!(cidr_contains("10.0.0.0/8", "10.2.3.4"));
        assert!(!cidr_contains("10.0.0.0/8", "11.2.3.4"));
        assert!(cidr_contains("2001:db8::/32", "2001:db8::1"));
        assert!(!cidr_contains("2001:db8::/32", "10.0.0.1"));
    }
}
