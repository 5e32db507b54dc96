//! String tests shared by a rule set: thousands of predicates that test the same few fields
//! against literal needles (`kql_contains(CommandLine, 'mimikatz')`, `kql_endswith(Image,
//! '\whoami.exe')`) are answered by one multi-pattern search per field and batch instead of one
//! pass per needle.
//!
//! [`SharedTests::share`] rewrites each compiled predicate's literal tests into references to
//! boolean test columns (`__shared_test_N`, after the batch's own); [`SharedTests::columns`] computes those columns for a batch:
//! per field, one Aho-Corasick automaton of its case-insensitive ASCII needles and one of its
//! case-sensitive needles, searched with overlapping matches, so that a match at the start is
//! `startswith`, one ending at the end `endswith`, and both `=~`. Semantics are the functions'
//! own (`spoor_functions::string_ops`): ASCII case folding, a null text read as "" (so never a
//! match for a non-empty needle), and Unicode lower-casing of both sides for a case-insensitive
//! needle that is not ASCII (the text is lower-cased once per row for all such needles). An
//! empty needle keeps its function call.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Contains,
    StartsWith,
    EndsWith,
    Equals,
}

/// The test a spoor string function makes, and whether it is case-sensitive.
fn op_of(function: &str) -> Option<(Op, bool)> {
    Some(match function {
        "kql_contains" => (Op::Contains, false),
        "kql_contains_cs" => (Op::Contains, true),
        "kql_startswith" => (Op::StartsWith, false),
        "kql_startswith_cs" => (Op::StartsWith, true),
        "kql_endswith" => (Op::EndsWith, false),
        "kql_endswith_cs" => (Op::EndsWith, true),
        "kql_equals_ci" => (Op::Equals, false),
        _ => return None,
    })
}

/// The name of test column `i`.
fn column_name(i: usize) -> String {
    format!("__shared_test_{i}")
}

/// A compiled predicate.
type Predicate = Arc<dyn PhysicalExpr>;

/// A needle as searched, the test made of it, and the test's column.
type Needle = (String, Op, usize);

/// How a search compares text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Case {
    /// ASCII letters folded (case-insensitive ASCII needles).
    Ascii,
    /// Exact bytes (case-sensitive needles).
    Exact,
    /// The text lower-cased (Unicode) against lower-cased needles: case-insensitive needles
    /// that are not ASCII, as the functions compare them.
    Lowered,
}

/// One automaton over a field's needles, and the test columns each needle feeds.
struct Search {
    case: Case,
    automaton: AhoCorasick,
    /// Per pattern: (test, column index among the test columns).
    outputs: Vec<Vec<(Op, usize)>>,
}

/// The tests of one field.
struct FieldTests {
    field: Arc<dyn PhysicalExpr>,
    searches: Vec<Search>,
}

/// The shared tests of a set of predicates over one schema.
pub(crate) struct SharedTests {
    fields: Vec<FieldTests>,
    count: usize,
    /// The scan's schema with the test columns after its own.
    schema: SchemaRef,
}

/// While collecting: the fields (by their text: one schema, so equal text is the same
/// expression) and the distinct tests.
#[derive(Default)]
struct Registry {
    fields: Vec<Arc<dyn PhysicalExpr>>,
    field_index: HashMap<String, usize>,
    /// (field, op, case, needle as searched) → test column.
    tests: HashMap<(usize, Op, Case, String), usize>,
}

impl Registry {
    fn test(&mut self, field: &Arc<dyn PhysicalExpr>, op: Op, case: Case, needle: String) -> usize {
        let f = *self
            .field_index
            .entry(field.to_string())
            .or_insert_with(|| {
                self.fields.push(Arc::clone(field));
                self.fields.len() - 1
            });
        let next = self.tests.len();
        *self.tests.entry((f, op, case, needle)).or_insert(next)
    }
}

impl SharedTests {
    /// Rewrites `predicates` (physical expressions over `schema`) to read shared test columns,
    /// appended after the schema's own, and prepares the searches that compute them. The
    /// predicates are returned unchanged, with None, when none has a test worth sharing.
    pub(crate) fn share(
        predicates: Vec<Predicate>,
        schema: &Schema,
    ) -> Result<(Option<SharedTests>, Vec<Predicate>)> {
        let base = schema.fields().len();
        let mut registry = Registry::default();
        let rewritten = predicates
            .iter()
            .map(|p| {
                Arc::clone(p)
                    .transform_up(|e| {
                        let Some(f) = e.downcast_ref::<ScalarFunctionExpr>() else {
                            return Ok(Transformed::no(e));
                        };
                        let Some((op, case_sensitive)) = op_of(f.name()) else {
                            return Ok(Transformed::no(e));
                        };
                        let [field, needle] = f.args() else {
                            return Ok(Transformed::no(e));
                        };
                        let Some(ScalarValue::Utf8(Some(needle))) =
                            needle.downcast_ref::<Literal>().map(Literal::value)
                        else {
                            return Ok(Transformed::no(e));
                        };
                        if needle.is_empty() {
                            return Ok(Transformed::no(e));
                        }
                        let (case, needle) = if case_sensitive {
                            (Case::Exact, needle.clone())
                        } else if needle.is_ascii() {
                            (Case::Ascii, needle.clone())
                        } else {
                            (Case::Lowered, needle.to_lowercase())
                        };
                        let i = registry.test(field, op, case, needle);
                        let column: Arc<dyn PhysicalExpr> =
                            Arc::new(Column::new(&column_name(i), base + i));
                        Ok(Transformed::yes(column))
                    })
                    .map(|t| t.data)
            })
            .collect::<Result<Vec<_>>>()?;
        if registry.tests.is_empty() {
            return Ok((None, predicates));
        }
        let count = registry.tests.len();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend((0..count).map(|i| Field::new(column_name(i), DataType::Boolean, false)));
        // Per field, its needles by how they compare.
        let mut by_field: Vec<HashMap<Case, Vec<Needle>>> =
            (0..registry.fields.len()).map(|_| HashMap::new()).collect();
        for ((f, op, case, needle), column) in registry.tests {
            by_field[f]
                .entry(case)
                .or_default()
                .push((needle, op, column));
        }
        let mut field_tests = Vec::new();
        for (field, mut by_case) in registry.fields.into_iter().zip(by_field) {
            let mut searches = Vec::new();
            for case in [Case::Ascii, Case::Exact, Case::Lowered] {
                if let Some(tests) = by_case.remove(&case) {
                    searches.push(search(tests, case)?);
                }
            }
            field_tests.push(FieldTests { field, searches });
        }
        Ok((
            Some(SharedTests {
                fields: field_tests,
                count,
                schema: Arc::new(Schema::new(fields)),
            }),
            rewritten,
        ))
    }

    /// The schema of [`SharedTests::columns`]' batches.
    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    /// `batch` with the test columns after its own.
    pub(crate) fn columns(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let n = batch.num_rows();
        // Most tests match no row of a batch: they share one all-false column, and only the
        // rows that match are recorded.
        let mut hits: Vec<Vec<u32>> = vec![Vec::new(); self.count];
        for f in &self.fields {
            let values = f.field.evaluate(batch)?.into_array(n)?;
            let values = cast(&values, &DataType::Utf8)?;
            let text = values.as_string::<i32>();
            for row in 0..n {
                if text.is_null(row) {
                    continue;
                }
                let raw = text.value(row);
                let mut lowered: Option<String> = None;
                for s in &f.searches {
                    let hay = match s.case {
                        Case::Lowered => lowered.get_or_insert_with(|| raw.to_lowercase()).as_str(),
                        Case::Ascii | Case::Exact => raw,
                    };
                    for m in s.automaton.find_overlapping_iter(hay) {
                        for &(op, column) in &s.outputs[m.pattern().as_usize()] {
                            let holds = match op {
                                Op::Contains => true,
                                Op::StartsWith => m.start() == 0,
                                Op::EndsWith => m.end() == hay.len(),
                                Op::Equals => m.start() == 0 && m.end() == hay.len(),
                            };
                            let rows = &mut hits[column];
                            if holds && rows.last() != Some(&(row as u32)) {
                                rows.push(row as u32);
                            }
                        }
                    }
                }
            }
        }
        let none: ArrayRef = Arc::new(BooleanArray::from(vec![false; n]));
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for rows in hits {
            if rows.is_empty() {
                columns.push(Arc::clone(&none));
                continue;
            }
            let mut bits = BooleanBufferBuilder::new(n);
            bits.append_n(n, false);
            for r in rows {
                bits.set_bit(r as usize, true);
            }
            columns.push(Arc::new(BooleanArray::new(bits.finish(), None)));
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

/// One automaton over needles (one pattern per distinct needle, feeding each test made of it).
fn search(tests: Vec<Needle>, case: Case) -> Result<Search> {
    let mut patterns: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut outputs: Vec<Vec<(Op, usize)>> = Vec::new();
    for (needle, op, column) in tests {
        let p = *index.entry(needle.clone()).or_insert_with(|| {
            patterns.push(needle);
            outputs.push(Vec::new());
            patterns.len() - 1
        });
        outputs[p].push((op, column));
    }
    // A contiguous NFA: built in a fraction of a DFA's time (an automaton serves a few batches),
    // searched nearly as fast.
    let automaton = AhoCorasickBuilder::new()
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .ascii_case_insensitive(case == Case::Ascii)
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .map_err(|e| {
            datafusion::error::DataFusionError::Execution(format!(
                "building a multi-pattern search: {e}"
            ))
        })?;
    Ok(Search {
        case,
        automaton,
        outputs,
    })
}

/// A predicate compiled over only the columns it reads: evaluated on a batch of those columns,
/// so that DataFusion's short-circuiting `AND`, which filters its input batch down to the rows
/// the left side keeps, copies a few columns instead of a wide table and its test columns.
pub(crate) struct Narrow {
    expr: Arc<dyn PhysicalExpr>,
    columns: Vec<usize>,
    schema: SchemaRef,
}

impl Narrow {
    pub(crate) fn new(expr: Arc<dyn PhysicalExpr>, schema: &Schema) -> Result<Narrow> {
        let mut used = std::collections::BTreeSet::new();
        expr.apply(|e| {
            if let Some(c) = e.downcast_ref::<Column>() {
                used.insert(c.index());
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let columns: Vec<usize> = used.into_iter().collect();
        let position: HashMap<usize, usize> =
            columns.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        let expr = expr
            .transform_up(|e| {
                let Some(c) = e.downcast_ref::<Column>() else {
                    return Ok(Transformed::no(e));
                };
                let narrowed: Arc<dyn PhysicalExpr> =
                    Arc::new(Column::new(c.name(), position[&c.index()]));
                Ok(Transformed::yes(narrowed))
            })?
            .data;
        let fields: Vec<Field> = columns.iter().map(|&i| schema.field(i).clone()).collect();
        Ok(Narrow {
            expr,
            columns,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// The predicate's value for each row of `batch` (a batch of the schema it was made with).
    pub(crate) fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        let columns = self
            .columns
            .iter()
            .map(|&i| Arc::clone(batch.column(i)))
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let narrow =
            RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options)?;
        self.expr.evaluate(&narrow)?.into_array(batch.num_rows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::common::DFSchema;
    use datafusion::logical_expr::{col, lit};
    use datafusion::prelude::SessionContext;

    /// Every test function, with needles that fold in ASCII, in Unicode and not at all, gives
    /// the same answers shared as the function gives on its own.
    #[test]
    fn shared_tests_answer_as_the_functions_do() {
        let texts = vec![
            Some("C:\\Windows\\System32\\WHOAMI.EXE /all"),
            Some("whoami"),
            Some("ÄRGER über Straße"),
            Some("İstanbul"),
            Some(""),
            None,
            Some("abcabc"),
        ];
        let schema = Arc::new(Schema::new(vec![Field::new("t", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(StringArray::from(texts.clone())) as ArrayRef],
        )
        .unwrap();
        let df_schema = DFSchema::try_from(schema.as_ref().clone()).unwrap();
        let state = SessionContext::new().state();
        let needles = [
            "whoami",
            "WHOAMI.exe",
            "c:\\windows",
            "/ALL",
            "ärger",
            "STRASSE",
            "straße",
            "i̇stanbul",
            "abc",
            "bca",
            "x",
        ];
        let functions = [
            "kql_contains",
            "kql_contains_cs",
            "kql_startswith",
            "kql_startswith_cs",
            "kql_endswith",
            "kql_endswith_cs",
            "kql_equals_ci",
        ];
        let mut predicates = Vec::new();
        for f in functions {
            let udf = spoor_functions::scalar(f).unwrap();
            for n in needles {
                predicates.push(udf.call(vec![col("t"), lit(n)]));
            }
        }
        let physical: Vec<Predicate> = predicates
            .iter()
            .map(|p| state.create_physical_expr(p.clone(), &df_schema).unwrap())
            .collect();
        let (shared, rewritten) = SharedTests::share(physical.clone(), &schema).unwrap();
        let shared = shared.expect("tests to share");
        let over = shared.columns(&batch).unwrap();
        for (i, (alone, via)) in physical.iter().zip(&rewritten).enumerate() {
            let want = alone.evaluate(&batch).unwrap().into_array(7).unwrap();
            let got = via.evaluate(&over).unwrap().into_array(7).unwrap();
            assert_eq!(
                want.as_boolean(),
                got.as_boolean(),
                "{} ({})",
                predicates[i],
                i
            );
        }
    }

    #[test]
    fn a_narrow_predicate_reads_only_its_columns() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
            Field::new("c", DataType::Int64, true),
        ]);
        let df_schema = DFSchema::try_from(schema.clone()).unwrap();
        let state = SessionContext::new().state();
        let p = state
            .create_physical_expr(col("c").gt(col("a")), &df_schema)
            .unwrap();
        let narrow = Narrow::new(p, &schema).unwrap();
        assert_eq!(narrow.columns, vec![0, 2]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(datafusion::arrow::array::Int64Array::from(vec![1, 5])) as ArrayRef,
                Arc::new(datafusion::arrow::array::Int64Array::from(vec![0, 0])),
                Arc::new(datafusion::arrow::array::Int64Array::from(vec![2, 2])),
            ],
        )
        .unwrap();
        let mask = narrow.evaluate(&batch).unwrap();
        assert_eq!(mask.as_boolean(), &BooleanArray::from(vec![true, false]));
    }
}
